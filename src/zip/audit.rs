//! Hostile-archive defences shared by every ZIP reader. [`audit`] (through
//! [`super::Archive::open`]) reads the End of Central Directory (Zip64 too),
//! every central directory record, every local header and data descriptor with
//! bounded positioned reads, and refuses, with a named finding, what a hostile
//! or damaged archive does:
//!
//! - `archive-unsafe`: names that escape a folder (`..`, absolute, drive
//!   letters, backslashes, NUL), duplicate names (two readers can see two
//!   different files), symbolic links whose target leaves the archive;
//! - `archive-bomb`: declared expansion past `--max-expanded-size`, or past
//!   `--max-expand-ratio` times the compressed size (of one entry or of the file);
//! - `archive-inconsistent`: local headers or data descriptors that contradict
//!   the central directory, overlapping entries (the non-recursive zip bomb), a
//!   central directory with more or fewer records than the end record counts;
//! - `archive-truncated`: the file ends inside an entry or before its central
//!   directory (an interrupted download or copy).
//!
//! The APK reader ([`super::android`]) keeps Android's own structural rules and
//! shares the name, duplicate, link and size checks ([`check_apk_entries`]).

use std::collections::HashSet;

use super::records::{
    self, Central, CentralError, DosTime, End64Error, Local, CD_HEADER, FLAG_DATA_DESCRIPTOR,
    FLAG_ENCRYPTED, LFH_HEADER, LFH_SIG, MAX32, STORED, S_IFLNK, S_IFMT,
};
use super::{le16, le32, Source};
use crate::diag::{Code, Finding};

/// More entries than any real app has (a big IPA has tens of thousands).
pub const MAX_ENTRIES: u64 = 2_000_000;
pub use super::records::MAX_CD_BYTES;
/// A symbolic link's target is a path, not content.
pub const MAX_LINK: u64 = 4096;

/// Expansion limits (`--max-expanded-size`, `--max-expand-ratio`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Refuse archives whose entries declare more than this many bytes in all.
    pub max_expanded: u64,
    /// Refuse an entry, or the whole archive, expanding more than this many
    /// times its compressed size, once it expands past [`Limits::ratio_floor`].
    pub max_ratio: u64,
    /// Below this many expanded bytes the ratio is not checked: small files
    /// (an empty plist, a blank image) compress a thousandfold and harm nobody.
    pub ratio_floor: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            // Apple's and Google's store limits are 4 GB; leave room for enterprise apps.
            max_expanded: 8 << 30,
            // Real IPAs and APKs expand 1-5x in all; deflate tops out near 1032x.
            max_ratio: 100,
            ratio_floor: 16 << 20,
        }
    }
}

/// Parses `8G`, `512M`, `64K`, `100` (bytes) for `--max-expanded-size`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m: u64 = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                'B' => 1,
                _ => return Err(format!("unknown size unit in {s:?} (use K, M, G or T)")),
            };
            (t.get(..i).unwrap_or(""), m)
        }
        _ => (t, 1),
    };
    let n: u64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a size (e.g. 8G, 512M)"))?;
    n.checked_mul(mult)
        .filter(|&v| v > 0)
        .ok_or_else(|| format!("{s:?} is not a usable size"))
}

/// One thing wrong with an archive, as a finding name and a message that says
/// what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub code: Code,
    /// The entry concerned, when there is one (escaped for display).
    pub entry: Option<String>,
    pub message: String,
}

impl Problem {
    pub(crate) fn new(code: Code, entry: Option<&[u8]>, message: impl Into<String>) -> Problem {
        Problem {
            code,
            entry: entry.map(shown),
            message: message.into(),
        }
    }

    /// The finding for `file`; the message names the file.
    pub fn finding(&self, file: &str) -> Finding {
        let f = Finding::new(self.code, file, format!("{file}: {}", self.message));
        match &self.entry {
            Some(e) => f.subject(e.clone()),
            None => f,
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Problem {}

/// An entry name for messages: lossy UTF-8 with control characters escaped.
pub fn shown(name: &[u8]) -> String {
    String::from_utf8_lossy(name).escape_debug().to_string()
}

/// Entry names that could write outside an extraction folder (zip slip).
pub fn unsafe_name(name: &[u8]) -> Option<&'static str> {
    if name.is_empty() {
        return Some("has an empty name");
    }
    if name.contains(&0) {
        return Some("has a NUL byte in its name");
    }
    if name.contains(&b'\\') {
        return Some("has a backslash in its name (a folder separator on Windows)");
    }
    if name.first() == Some(&b'/') {
        return Some("is an absolute path");
    }
    if name.get(1) == Some(&b':') && name.first().is_some_and(u8::is_ascii_alphabetic) {
        return Some("starts with a drive letter");
    }
    if name.split(|&b| b == b'/').any(|c| c == b"..") {
        return Some("climbs out of its folder with \"..\"");
    }
    None
}

/// Where a symbolic link at `name` pointing to `target` ends up, resolved
/// lexically from the archive root; `None` when it climbs above the root or is
/// absolute.
pub fn resolve_link(name: &str, target: &str) -> Option<String> {
    if target.is_empty()
        || target.starts_with('/')
        || target.contains('\\')
        || target.contains('\0')
    {
        return None;
    }
    let dir = name.trim_end_matches('/').rsplit_once('/').map(|(d, _)| d);
    let mut parts: Vec<&str> = dir
        .unwrap_or("")
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    for c in target.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

/// One entry of an audited archive: its central directory record, checked
/// against its local header.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Position in the central directory.
    pub index: usize,
    /// The name as stored.
    pub raw_name: Vec<u8>,
    /// The name decoded (UTF-8, or code page 437 for old archives).
    pub name: String,
    pub made_by: u16,
    pub version_needed: u16,
    pub flags: u16,
    pub method: u16,
    pub time: DosTime,
    pub crc32: u32,
    pub compressed_size: u64,
    pub size: u64,
    pub internal_attrs: u16,
    pub external_attrs: u32,
    pub lfh_offset: u64,
    pub data_offset: u64,
    /// End of the local record: the data and any data descriptor.
    pub record_end: u64,
    /// Unix mode (type and permission bits), for archives made on Unix.
    pub unix_mode: Option<u32>,
    /// For symbolic links: the target, read by the audit.
    pub link_target: Option<String>,
    /// The central record's extra field (without its Zip64 field) and comment,
    /// kept for raw copies.
    pub central_extra: Vec<u8>,
    pub comment: Vec<u8>,
}

impl Entry {
    pub fn is_dir(&self) -> bool {
        self.raw_name.last() == Some(&b'/')
    }

    pub fn is_symlink(&self) -> bool {
        self.unix_mode.is_some_and(|m| m & S_IFMT == S_IFLNK)
    }

    /// A regular file (neither folder nor link).
    pub fn is_file(&self) -> bool {
        !self.is_dir() && !self.is_symlink()
    }

    pub fn data_end(&self) -> u64 {
        self.data_offset.saturating_add(self.compressed_size)
    }
}

/// What [`audit`] learnt about a sane archive.
#[derive(Clone, Debug)]
pub(crate) struct Audited {
    /// In central directory order.
    pub entries: Vec<Entry>,
    /// Sum of the declared uncompressed sizes.
    pub expanded: u64,
    pub cd_offset: u64,
}

fn read(src: &Source, offset: u64, len: u64) -> Result<Vec<u8>, Problem> {
    if len > MAX_CD_BYTES {
        return Err(Problem::new(
            Code::InputUnreadable,
            None,
            format!("a {len}-byte structure is too large to read"),
        ));
    }
    if offset.checked_add(len).is_none_or(|end| end > src.len()) {
        return Err(truncated(src, None));
    }
    let mut v = vec![0u8; len as usize];
    src.read_exact_at(&mut v, offset)
        .map_err(|e| io_problem(src, e))?;
    Ok(v)
}

fn io_problem(src: &Source, e: std::io::Error) -> Problem {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        truncated(src, None)
    } else {
        Problem::new(Code::InputUnreadable, None, format!("read error: {e}"))
    }
}

pub(crate) fn inconsistent(entry: Option<&[u8]>, msg: impl std::fmt::Display) -> Problem {
    Problem::new(
        Code::ArchiveInconsistent,
        entry,
        format!("{msg}; the archive is damaged or crafted to show different files to different tools: rebuild it with a standard tool"),
    )
}

fn truncated(src: &Source, entry: Option<&[u8]>) -> Problem {
    cut(src, entry.map(|e| (e.to_vec(), true)))
}

/// `at`: the entry the file ends in (`true`) or after (`false`), when known.
fn cut(src: &Source, at: Option<(Vec<u8>, bool)>) -> Problem {
    let what = match &at {
        Some((n, true)) => format!("ends inside the entry \"{}\"", shown(n)),
        Some((n, false)) => format!(
            "ends after the entry \"{}\", before its central directory",
            shown(n)
        ),
        None => "ends before its central directory".to_string(),
    };
    Problem::new(
        Code::ArchiveTruncated,
        at.as_ref().map(|(n, _)| &n[..]),
        format!(
            "the archive {what} ({} bytes): it was cut short (an interrupted download or copy); fetch or export it again",
            src.len()
        ),
    )
}

/// Names the entry in (or after) which an archive without an end record was
/// cut, by walking its local headers from the start.
fn cut_entry(src: &Source) -> Option<(Vec<u8>, bool)> {
    let mut pos = 0u64;
    let mut last = None;
    // Each step moves forward by at least a header, so this ends.
    while pos + LFH_HEADER as u64 <= src.len() {
        let mut h = [0u8; LFH_HEADER];
        src.read_exact_at(&mut h, pos).ok()?;
        if le32(&h, 0) != LFH_SIG {
            break;
        }
        let name_len = u64::from(le16(&h, 26));
        let extra_len = u64::from(le16(&h, 28));
        let name_at = pos + LFH_HEADER as u64;
        let avail = src.len().saturating_sub(name_at).min(name_len);
        let mut name = vec![0u8; avail as usize];
        src.read_exact_at(&mut name, name_at).ok()?;
        if le16(&h, 6) & FLAG_DATA_DESCRIPTOR != 0 {
            // The size follows the data: the walk cannot go on.
            return Some((name, true));
        }
        pos = name_at + name_len + extra_len + u64::from(le32(&h, 18));
        last = Some((name, pos > src.len()));
    }
    last
}

fn starts_like_zip(src: &Source) -> bool {
    let mut h = [0u8; 4];
    src.read_exact_at(&mut h, 0).is_ok() && u32::from_le_bytes(h) == LFH_SIG
}

/// When an archive has no end record but starts like a ZIP: it was cut short
/// (named with the entry it ends in).
pub fn truncation(src: &Source) -> Option<Problem> {
    starts_like_zip(src).then(|| cut(src, cut_entry(src)))
}

/// The central directory: `(cd_offset, cd_size, entries)`, Zip64 included.
fn end_record(src: &Source) -> Result<(u64, u64, u64), Problem> {
    let not_zip = || {
        Problem::new(
            Code::InputUnreadable,
            None,
            "not a ZIP archive (no End of Central Directory record)",
        )
    };
    let Some(end) = records::find_end(src).map_err(|e| io_problem(src, e))? else {
        return Err(truncation(src).unwrap_or_else(not_zip));
    };
    if end.disk != 0 || end.cd_disk != 0 {
        return Err(inconsistent(None, "a multi-disk (spanned) archive"));
    }
    let mut entries = u64::from(end.entries);
    let mut cd_size = u64::from(end.cd_size);
    let mut cd_offset = u64::from(end.cd_offset);
    let mut cd_end_at = end.offset;
    if end.wants_zip64() {
        match records::find_end64(src, &end) {
            Ok(Some(z)) => {
                if z.disk != 0 || z.cd_disk != 0 {
                    return Err(inconsistent(None, "a multi-disk (spanned) archive"));
                }
                entries = z.entries;
                cd_size = z.cd_size;
                cd_offset = z.cd_offset;
                cd_end_at = z.offset;
            }
            Ok(None) => {}
            Err(End64Error::OutOfRange) => {
                return Err(inconsistent(
                    None,
                    "the Zip64 end record lies outside the archive",
                ))
            }
            Err(End64Error::Missing) => {
                return Err(inconsistent(
                    None,
                    "no Zip64 end record where its locator points",
                ))
            }
            Err(End64Error::Io(e)) => return Err(io_problem(src, e)),
        }
    }
    let cd_end = cd_offset.checked_add(cd_size);
    if cd_end.is_none_or(|e| e > src.len()) {
        return Err(truncated(src, None));
    }
    if cd_end != Some(cd_end_at) {
        return Err(inconsistent(
            None,
            format!(
                "the central directory ({cd_size} bytes at {cd_offset}) does not end where the end record begins ({cd_end_at})"
            ),
        ));
    }
    Ok((cd_offset, cd_size, entries))
}

/// Audits an archive (see the module documentation).
pub(crate) fn audit(src: &Source, limits: &Limits) -> Result<Audited, Problem> {
    let (cd_offset, cd_size, count) = end_record(src)?;
    if count > MAX_ENTRIES {
        return Err(Problem::new(
            Code::ArchiveBomb,
            None,
            format!("the archive claims {count} entries, over the limit of {MAX_ENTRIES}; refusing to read it"),
        ));
    }
    if count.saturating_mul(CD_HEADER as u64) > cd_size {
        return Err(inconsistent(
            None,
            format!("the end record counts {count} entries, more than its {cd_size}-byte central directory can hold"),
        ));
    }
    let cd = read(src, cd_offset, cd_size)?;
    let mut entries = Vec::with_capacity(count as usize);
    let mut pos = 0usize;
    for i in 0..count {
        let mut c = match Central::parse(cd.get(pos..).unwrap_or_default()) {
            Ok(c) => c,
            Err(CentralError::Short { .. } | CentralError::Signature(_)) => {
                return Err(inconsistent(
                    None,
                    format!(
                        "central directory record {} of {count} is missing or damaged",
                        i + 1
                    ),
                ))
            }
            Err(CentralError::Overrun { name: None, .. }) => {
                return Err(inconsistent(
                    None,
                    format!(
                        "central directory record {} of {count} runs past the directory",
                        i + 1
                    ),
                ))
            }
            Err(CentralError::Overrun { name: Some(n), .. }) => {
                return Err(inconsistent(
                    Some(n),
                    "its central directory record runs past the directory",
                ))
            }
        };
        pos += c.len();
        if !c.zip64() {
            return Err(inconsistent(
                Some(c.name),
                "its Zip64 sizes are missing from the central directory",
            ));
        }
        entries.push(Entry {
            index: entries.len(),
            name: records::decode_name(c.name, c.flags),
            raw_name: c.name.to_vec(),
            made_by: c.made_by,
            version_needed: c.version_needed,
            flags: c.flags,
            method: c.method,
            time: c.time,
            crc32: c.crc32,
            compressed_size: c.compressed_size,
            size: c.size,
            internal_attrs: c.internal_attrs,
            external_attrs: c.external_attrs,
            lfh_offset: c.lfh_offset,
            data_offset: 0,
            record_end: 0,
            unix_mode: c.unix_mode(),
            link_target: None,
            central_extra: records::without_field(c.extra, records::ZIP64_EXTRA),
            comment: c.comment.to_vec(),
        });
    }
    if cd.len() >= pos + 4 && le32(&cd, pos) == records::CD_SIG {
        return Err(inconsistent(
            None,
            format!("the central directory holds more records than the {count} its end record counts (hidden entries)"),
        ));
    }
    drop(cd);
    // Names and sizes first: refusing them needs no further reads.
    check_declared(
        entries.iter().map(|e| Declared {
            name: &e.raw_name,
            compressed_size: e.compressed_size,
            size: e.size,
            is_symlink: false,
        }),
        src.len(),
        limits,
        "rebuild the archive with a standard tool",
    )?;
    let expanded = entries.iter().fold(0u64, |a, e| a.saturating_add(e.size));
    for e in &entries {
        // Encrypted entries carry a 12-byte header in their data.
        if e.method == STORED && e.size != e.compressed_size && e.flags & FLAG_ENCRYPTED == 0 {
            return Err(inconsistent(
                Some(&e.raw_name),
                format!(
                    "the stored (uncompressed) entry \"{}\" declares {} bytes but occupies {}",
                    shown(&e.raw_name),
                    e.size,
                    e.compressed_size
                ),
            ));
        }
    }

    // Local headers (and data descriptors) against the central directory.
    for e in &mut entries {
        local_header(src, e, cd_offset)?;
    }
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by_key(|&i| entries.get(i).map_or(0, |e| e.lfh_offset));
    for w in order.windows(2) {
        if let (Some(a), Some(b)) = (entries.get(w[0]), entries.get(w[1])) {
            if b.lfh_offset < a.record_end {
                return Err(inconsistent(
                    Some(&b.raw_name),
                    format!(
                        "the entries \"{}\" and \"{}\" share bytes (overlapping entries, as in a zip bomb)",
                        shown(&a.raw_name),
                        shown(&b.raw_name)
                    ),
                ));
            }
        }
    }
    for e in &mut entries {
        if e.is_symlink() {
            e.link_target = Some(link_target(src, e)?);
        }
    }
    Ok(Audited {
        entries,
        expanded,
        cd_offset,
    })
}

fn bomb(entry: Option<&[u8]>, msg: String) -> Problem {
    Problem::new(
        Code::ArchiveBomb,
        entry,
        format!("{msg}; refusing to expand it (a zip bomb, or raise the limit if the archive is trusted)"),
    )
}

/// Reads and checks `e`'s local header (and data descriptor); sets where its
/// data and its record end.
fn local_header(src: &Source, e: &mut Entry, cd_offset: u64) -> Result<(), Problem> {
    let name = e.raw_name.clone();
    let header_end = e
        .lfh_offset
        .saturating_add(LFH_HEADER as u64)
        .saturating_add(name.len() as u64);
    if header_end > src.len() {
        return Err(truncated(src, Some(&name)));
    }
    if header_end > cd_offset {
        return Err(inconsistent(
            Some(&name),
            format!(
                "the local header of \"{}\" lies inside the central directory",
                shown(&name)
            ),
        ));
    }
    let Some(h) = Local::read(src, e.lfh_offset, name.len()).map_err(|x| io_problem(src, x))?
    else {
        return Err(inconsistent(
            Some(&name),
            format!(
                "no local header where the central directory puts \"{}\"",
                shown(&name)
            ),
        ));
    };
    if usize::from(h.name_len) != name.len() || h.name() != &name[..] {
        return Err(inconsistent(
            Some(&name),
            format!(
                "the local header names \"{}\" where the central directory says \"{}\"",
                shown(h.name()),
                shown(&name)
            ),
        ));
    }
    if h.flags & FLAG_DATA_DESCRIPTOR != e.flags & FLAG_DATA_DESCRIPTOR {
        return Err(inconsistent(
            Some(&name),
            format!(
                "\"{}\": local header and central directory disagree on the data descriptor",
                shown(&name)
            ),
        ));
    }
    if h.method != e.method {
        return Err(inconsistent(
            Some(&name),
            format!(
                "\"{}\": compression method {} in the local header, {} in the central directory",
                shown(&name),
                h.method,
                e.method
            ),
        ));
    }
    e.data_offset = h.data_offset();
    let data_end = e.data_end();
    if !h.has_descriptor() {
        let (mut lcsize, mut lsize) = (h.compressed_size, h.size);
        if lcsize == MAX32 || lsize == MAX32 {
            let extra = read(
                src,
                header_end,
                u64::from(h.extra_len).min(cd_offset.saturating_sub(header_end)),
            )?;
            match records::zip64_fields(&extra, [lsize == MAX32, lcsize == MAX32, false]) {
                Some(z) => {
                    lsize = z[0].unwrap_or(lsize);
                    lcsize = z[1].unwrap_or(lcsize);
                }
                None => {
                    return Err(inconsistent(
                        Some(&name),
                        format!(
                            "\"{}\": its local header lacks its Zip64 sizes",
                            shown(&name)
                        ),
                    ))
                }
            }
        }
        for (what, l, c) in [
            ("CRC-32", u64::from(h.crc32), u64::from(e.crc32)),
            ("compressed size", lcsize, e.compressed_size),
            ("size", lsize, e.size),
        ] {
            if l != c {
                return Err(inconsistent(
                    Some(&name),
                    format!(
                        "\"{}\": {what} {l} in the local header, {c} in the central directory",
                        shown(&name)
                    ),
                ));
            }
        }
    }
    if data_end > src.len() {
        return Err(truncated(src, Some(&name)));
    }
    if data_end > cd_offset {
        return Err(inconsistent(
            Some(&name),
            format!(
                "the data of \"{}\" runs into the central directory",
                shown(&name)
            ),
        ));
    }
    e.record_end = data_end;
    if h.has_descriptor() {
        // A descriptor that is there must agree; some tools set the flag and
        // fill the local header instead (macOS Archive Utility's __MACOSX).
        let len = records::MAX_DESCRIPTOR.min(cd_offset - data_end);
        let tail = read(src, data_end, len)?;
        let found = records::descriptors(&tail);
        let same = found.iter().find(|d| {
            d.crc32 == e.crc32 && d.compressed_size == e.compressed_size && d.size == e.size
        });
        match same {
            Some(d) => e.record_end = data_end + d.len,
            None if le32(&tail, 0) == records::DATA_DESCRIPTOR_SIG => {
                return Err(inconsistent(
                    Some(&name),
                    format!(
                        "\"{}\": its data descriptor disagrees with the central directory",
                        shown(&name)
                    ),
                ))
            }
            None => {}
        }
    }
    Ok(())
}

/// A symbolic link's target (small, bounded, stored or deflated).
fn link_target(src: &Source, e: &Entry) -> Result<String, Problem> {
    let bad = |why: &str| {
        Problem::new(
            Code::ArchiveUnsafe,
            Some(&e.raw_name),
            format!(
                "the symbolic link \"{}\" {why}; refusing the archive",
                shown(&e.raw_name)
            ),
        )
    };
    if e.size > MAX_LINK || e.compressed_size > MAX_LINK * 2 + 64 {
        return Err(bad("has a target longer than any path"));
    }
    let raw = read(src, e.data_offset, e.compressed_size)?;
    let target = match e.method {
        0 => raw,
        8 => {
            let mut out = Vec::new();
            let mut d = flate2::read::DeflateDecoder::new(&raw[..]);
            std::io::Read::read_to_end(&mut std::io::Read::take(&mut d, MAX_LINK + 1), &mut out)
                .map_err(|_| bad("has a damaged target"))?;
            out
        }
        _ => return Err(bad("uses an unusual compression method")),
    };
    if target.len() as u64 != e.size {
        return Err(bad("has a target whose size differs from the declared one"));
    }
    String::from_utf8(target).map_err(|_| bad("has a target that is not UTF-8"))
}

/// Links must stay inside the archive, and inside `within` when their name is
/// under it (an app bundle must not link to its neighbours). Lexical only:
/// extraction also checks the links once they exist.
pub fn check_links(entries: &[Entry], within: Option<&str>) -> Result<(), Problem> {
    for e in entries {
        let Some(target) = &e.link_target else {
            continue;
        };
        let limit = match within {
            Some(w) if e.name.starts_with(&format!("{w}/")) => w.to_string(),
            _ => e.name.split('/').next().unwrap_or("").to_string(),
        };
        let ok = resolve_link(&e.name, target).is_some_and(|r| {
            r != e.name.trim_end_matches('/')
                && (limit.is_empty() || r == limit || r.starts_with(&format!("{limit}/")))
        });
        if !ok {
            return Err(Problem::new(
                Code::ArchiveUnsafe,
                Some(&e.raw_name),
                format!(
                    "the entry \"{}\" is a symbolic link to \"{}\", which leaves {}; refusing the archive",
                    shown(&e.raw_name),
                    target.escape_debug(),
                    if limit.is_empty() { "the archive" } else { &limit }
                ),
            ));
        }
    }
    Ok(())
}

/// Why a read of an entry from an audited archive failed: its data do not
/// match what the directory declares.
pub fn entry_damaged(file: &str, name: &str, why: impl std::fmt::Display) -> Finding {
    Finding::new(
        Code::ArchiveInconsistent,
        file,
        format!("{file}: the entry \"{}\" cannot be read as declared ({why}); the archive is damaged: rebuild or download it again", name.escape_debug()),
    )
    .subject(name.escape_debug().to_string())
}

/// What a central directory record declares, for the checks every reader shares.
pub struct Declared<'a> {
    pub name: &'a [u8],
    pub compressed_size: u64,
    pub size: u64,
    pub is_symlink: bool,
}

/// The name, duplicate, link and size checks of [`audit`] for an APK, whose
/// reader follows Android's own ZIP rules for everything else. Every link is
/// refused: no APK tool writes one.
pub fn check_apk_entries<'a>(
    entries: impl Iterator<Item = Declared<'a>>,
    file_len: u64,
    limits: &Limits,
) -> Result<(), Problem> {
    check_declared(
        entries,
        file_len,
        limits,
        "no APK tool writes such an archive: rebuild the APK",
    )
}

/// Names (zip slip), duplicates, links flagged by the caller, and declared sizes.
fn check_declared<'a>(
    entries: impl Iterator<Item = Declared<'a>>,
    file_len: u64,
    limits: &Limits,
    fix: &str,
) -> Result<(), Problem> {
    let mut seen: HashSet<&[u8]> = HashSet::new();
    let mut expanded = 0u64;
    for e in entries {
        if let Some(why) = unsafe_name(e.name) {
            return Err(Problem::new(
                Code::ArchiveUnsafe,
                Some(e.name),
                format!("the entry \"{}\" {why}, which would write outside the extraction folder (zip slip); {fix}", shown(e.name)),
            ));
        }
        if !seen.insert(e.name.strip_suffix(b"/").unwrap_or(e.name)) {
            return Err(Problem::new(
                Code::ArchiveUnsafe,
                Some(e.name),
                format!("the entry \"{}\" appears twice: tools disagree on which copy counts, so what is checked may not be what is installed; {fix}", shown(e.name)),
            ));
        }
        if e.is_symlink {
            return Err(Problem::new(
                Code::ArchiveUnsafe,
                Some(e.name),
                format!("the entry \"{}\" is a symbolic link; {fix}", shown(e.name)),
            ));
        }
        expanded = expanded.saturating_add(e.size);
        if e.size > limits.ratio_floor && e.size / e.compressed_size.max(1) >= limits.max_ratio {
            return Err(bomb(
                Some(e.name),
                format!(
                    "the entry \"{}\" expands from {} to {} bytes (over {}x, the --max-expand-ratio)",
                    shown(e.name),
                    e.compressed_size,
                    e.size,
                    limits.max_ratio
                ),
            ));
        }
    }
    if expanded > limits.max_expanded {
        return Err(bomb(
            None,
            format!(
                "its entries expand to {expanded} bytes in all, over the --max-expanded-size of {}",
                limits.max_expanded
            ),
        ));
    }
    if expanded > limits.ratio_floor && expanded / file_len.max(1) >= limits.max_ratio {
        return Err(bomb(
            None,
            format!(
                "its {file_len} bytes expand to {expanded} (over {}x, the --max-expand-ratio)",
                limits.max_ratio
            ),
        ));
    }
    Ok(())
}
