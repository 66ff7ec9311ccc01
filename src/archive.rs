//! Hostile-archive defences shared by every ZIP reader (IPA verify, IPA sign
//! extraction, the bulk device zip; APK verify uses the name and size checks).
//!
//! [`audit`] reads the End of Central Directory (Zip64 too), every central
//! directory record and every local header with bounded positioned reads, and
//! refuses, with a named finding, what a hostile or damaged archive does:
//!
//! - `archive-unsafe`: names that escape a folder (`..`, absolute, drive
//!   letters, backslashes, NUL), duplicate names (two readers can see two
//!   different files), symbolic links whose target leaves the archive;
//! - `archive-bomb`: declared expansion past `--max-expanded-size`, or past
//!   `--max-expand-ratio` times the compressed size (of one entry or of the file);
//! - `archive-inconsistent`: local headers that contradict the central
//!   directory, overlapping entries (the non-recursive zip bomb), a central
//!   directory with more or fewer records than the end record counts;
//! - `archive-truncated`: the file ends inside an entry or before its central
//!   directory (an interrupted download or copy).
//!
//! Readers then use the `zip` crate on an archive known to be sane; it must see
//! the same entries (it silently merges duplicate names, which is why they are
//! counted here).

use std::collections::HashSet;
use std::path::Path;

use crate::android::apk::zip::Source;
use crate::diag::{Code, Finding};

const EOCD_SIG: u32 = 0x0605_4b50;
const EOCD64_SIG: u32 = 0x0606_4b50;
const EOCD64_LOCATOR_SIG: u32 = 0x0706_4b50;
const CD_SIG: u32 = 0x0201_4b50;
const LFH_SIG: u32 = 0x0403_4b50;
const EOCD_LEN: u64 = 22;
const CD_HEADER: usize = 46;
const LFH_HEADER: usize = 30;
const FLAG_DATA_DESCRIPTOR: u16 = 0x08;
const ZIP64_EXTRA: u16 = 0x0001;
const HOST_UNIX: u8 = 3;
const S_IFMT: u32 = 0o170000;
const S_IFLNK: u32 = 0o120000;

/// More entries than any real app has (a big IPA has tens of thousands).
pub const MAX_ENTRIES: u64 = 2_000_000;
/// The central directory is read into memory; 2 million entries fit.
const MAX_CD_BYTES: u64 = 256 << 20;
/// A symbolic link's target is a path, not content.
pub const MAX_LINK: u64 = 4096;

// The limits are part of every run's context (src/context.rs), which sits below the readers.
pub use crate::context::Limits;

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
    fn new(code: Code, entry: Option<&[u8]>, message: impl Into<String>) -> Problem {
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

/// One central directory record, checked against its local header.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The name as stored.
    pub raw_name: Vec<u8>,
    /// The name as the `zip` crate decodes it (UTF-8, or CP437 when not flagged).
    pub name: String,
    pub flags: u16,
    pub method: u16,
    pub crc32: u32,
    pub compressed_size: u64,
    pub size: u64,
    pub lfh_offset: u64,
    pub data_offset: u64,
    /// Unix mode, for archives made on Unix.
    pub unix_mode: Option<u32>,
    /// For symbolic links: the target, read from the entry.
    pub link_target: Option<String>,
}

impl Entry {
    pub fn is_dir(&self) -> bool {
        self.raw_name.last() == Some(&b'/')
    }

    pub fn is_symlink(&self) -> bool {
        self.unix_mode.is_some_and(|m| m & S_IFMT == S_IFLNK)
    }

    fn data_end(&self) -> u64 {
        self.data_offset.saturating_add(self.compressed_size)
    }
}

/// What [`audit`] learnt about a sane archive.
#[derive(Clone, Debug)]
pub struct Audit {
    /// In central directory order.
    pub entries: Vec<Entry>,
    /// Sum of the declared uncompressed sizes.
    pub expanded: u64,
    pub cd_offset: u64,
}

fn le16(b: &[u8], at: usize) -> u16 {
    b.get(at..at + 2)
        .map_or(0, |s| u16::from_le_bytes([s[0], s[1]]))
}

fn le32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn le64(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8).map_or(0, |s| {
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        u64::from_le_bytes(a)
    })
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
    src.read_exact_at(&mut v, offset).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            truncated(src, None)
        } else {
            Problem::new(Code::InputUnreadable, None, format!("read error: {e}"))
        }
    })?;
    Ok(v)
}

fn inconsistent(entry: Option<&[u8]>, msg: impl std::fmt::Display) -> Problem {
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

/// The End of Central Directory: `(offset of the first end record, cd_offset,
/// cd_size, entries)`, Zip64 included.
fn end_record(src: &Source) -> Result<(u64, u64, u64, u64), Problem> {
    let len = src.len();
    let not_zip = || {
        Problem::new(
            Code::InputUnreadable,
            None,
            "not a ZIP archive (no End of Central Directory record)",
        )
    };
    if len < EOCD_LEN {
        return Err(if starts_like_zip(src) {
            cut(src, cut_entry(src))
        } else {
            not_zip()
        });
    }
    let window = (EOCD_LEN + 0xffff).min(len);
    let tail = read(src, len - window, window)?;
    // The last record whose comment reaches exactly to the end of the file.
    let last = tail.len() - EOCD_LEN as usize;
    let at = (0..=last)
        .rev()
        .find(|&i| le32(&tail, i) == EOCD_SIG && le16(&tail, i + 20) as usize == last - i);
    let Some(at) = at else {
        return Err(if starts_like_zip(src) {
            cut(src, cut_entry(src))
        } else {
            not_zip()
        });
    };
    let eocd_off = len - window + at as u64;
    let e = &tail[at..];
    if le16(e, 4) != 0 || le16(e, 6) != 0 {
        return Err(inconsistent(None, "a multi-disk (spanned) archive"));
    }
    let mut entries = u64::from(le16(e, 10));
    let mut cd_size = u64::from(le32(e, 12));
    let mut cd_offset = u64::from(le32(e, 16));
    let mut cd_end_at = eocd_off;
    if entries == 0xffff || cd_size == 0xffff_ffff || cd_offset == 0xffff_ffff {
        // Zip64: a locator right before the end record points at the Zip64 end record.
        if eocd_off >= 20 {
            let loc = read(src, eocd_off - 20, 20)?;
            if le32(&loc, 0) == EOCD64_LOCATOR_SIG {
                let rec_off = le64(&loc, 8);
                if rec_off.checked_add(56).is_none_or(|e| e > eocd_off - 20) {
                    return Err(inconsistent(
                        None,
                        "the Zip64 end record lies outside the archive",
                    ));
                }
                let r = read(src, rec_off, 56)?;
                if le32(&r, 0) != EOCD64_SIG {
                    return Err(inconsistent(
                        None,
                        "no Zip64 end record where its locator points",
                    ));
                }
                entries = le64(&r, 32);
                cd_size = le64(&r, 40);
                cd_offset = le64(&r, 48);
                cd_end_at = rec_off;
            }
        }
    }
    let cd_end = cd_offset.checked_add(cd_size);
    if cd_end.is_none_or(|e| e > len) {
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
    Ok((eocd_off, cd_offset, cd_size, entries))
}

fn starts_like_zip(src: &Source) -> bool {
    let mut h = [0u8; 4];
    src.read_exact_at(&mut h, 0).is_ok() && u32::from_le_bytes(h) == LFH_SIG
}

/// Decodes a name as the `zip` crate does: UTF-8 when flagged (or plain
/// ASCII), else CP437, whose upper half only matters for display here.
fn decode_name(raw: &[u8], flags: u16) -> String {
    if flags & 0x800 != 0 || raw.is_ascii() {
        String::from_utf8_lossy(raw).into_owned()
    } else {
        raw.iter()
            .map(|&b| if b < 0x80 { b as char } else { '\u{fffd}' })
            .collect()
    }
}

/// Zip64 extended information: the fields that are 0xffffffff in the record,
/// in the order size, compressed size, offset.
fn zip64_fields(extra: &[u8], want: [bool; 3]) -> Option<[Option<u64>; 3]> {
    let mut pos = 0;
    while pos + 4 <= extra.len() {
        let id = le16(extra, pos);
        let len = le16(extra, pos + 2) as usize;
        let body = extra.get(pos + 4..pos + 4 + len)?;
        if id == ZIP64_EXTRA {
            let mut out = [None; 3];
            let mut at = 0;
            for (i, w) in want.iter().enumerate() {
                if *w {
                    out[i] = Some(le64(body, at));
                    if body.len() < at + 8 {
                        return None;
                    }
                    at += 8;
                }
            }
            return Some(out);
        }
        pos += 4 + len;
    }
    None
}

/// Audits the archive at `path` (see the module documentation); errors are
/// findings naming the file.
pub fn audit_path(path: &Path, limits: &Limits) -> Result<Audit, Finding> {
    let file = path.display().to_string();
    let src = Source::open(path)
        .map_err(|e| Finding::unreadable(&file, format!("cannot read {file}: {e}")))?;
    audit(&src, limits).map_err(|p| p.finding(&file))
}

/// Audits an archive (see the module documentation).
pub fn audit(src: &Source, limits: &Limits) -> Result<Audit, Problem> {
    let (_, cd_offset, cd_size, count) = end_record(src)?;
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
        let rec = cd.get(pos..).unwrap_or_default();
        if rec.len() < CD_HEADER || le32(rec, 0) != CD_SIG {
            return Err(inconsistent(
                None,
                format!(
                    "central directory record {} of {count} is missing or damaged",
                    i + 1
                ),
            ));
        }
        let name_len = le16(rec, 28) as usize;
        let extra_len = le16(rec, 30) as usize;
        let comment_len = le16(rec, 32) as usize;
        let size = CD_HEADER + name_len + extra_len + comment_len;
        let (Some(raw_name), Some(extra)) = (
            rec.get(CD_HEADER..CD_HEADER + name_len),
            rec.get(CD_HEADER + name_len..CD_HEADER + name_len + extra_len),
        ) else {
            return Err(inconsistent(
                None,
                format!(
                    "central directory record {} of {count} runs past the directory",
                    i + 1
                ),
            ));
        };
        if rec.len() < size {
            return Err(inconsistent(
                Some(raw_name),
                "its central directory record runs past the directory",
            ));
        }
        pos += size;
        let flags = le16(rec, 8);
        let mut csize = u64::from(le32(rec, 20));
        let mut usize_ = u64::from(le32(rec, 24));
        let mut lfh = u64::from(le32(rec, 42));
        let want = [
            usize_ == 0xffff_ffff,
            csize == 0xffff_ffff,
            lfh == 0xffff_ffff,
        ];
        if want.iter().any(|w| *w) {
            let Some(z) = zip64_fields(extra, want) else {
                return Err(inconsistent(
                    Some(raw_name),
                    "its Zip64 sizes are missing from the central directory",
                ));
            };
            usize_ = z[0].unwrap_or(usize_);
            csize = z[1].unwrap_or(csize);
            lfh = z[2].unwrap_or(lfh);
        }
        let host = (le16(rec, 4) >> 8) as u8;
        let unix_mode = (host == HOST_UNIX).then(|| le32(rec, 38) >> 16);
        entries.push(Entry {
            name: decode_name(raw_name, flags),
            raw_name: raw_name.to_vec(),
            flags,
            method: le16(rec, 10),
            crc32: le32(rec, 16),
            compressed_size: csize,
            size: usize_,
            lfh_offset: lfh,
            data_offset: 0,
            unix_mode,
            link_target: None,
        });
    }
    if cd.len() >= pos + 4 && le32(&cd, pos) == CD_SIG {
        return Err(inconsistent(
            None,
            format!("the central directory holds more records than the {count} its end record counts (hidden entries)"),
        ));
    }
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
        if e.method == 0 && e.size != e.compressed_size && e.flags & 1 == 0 {
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

    // Local headers against the central directory.
    for e in &mut entries {
        local_header(src, e, cd_offset)?;
    }
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by_key(|&i| entries.get(i).map_or(0, |e| e.lfh_offset));
    for w in order.windows(2) {
        if let (Some(a), Some(b)) = (entries.get(w[0]), entries.get(w[1])) {
            if b.lfh_offset < a.data_end() {
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
    Ok(Audit {
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

/// Reads and checks `e`'s local header; sets its data offset.
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
    let h = read(src, e.lfh_offset, LFH_HEADER as u64 + name.len() as u64)?;
    if le32(&h, 0) != LFH_SIG {
        return Err(inconsistent(
            Some(&name),
            format!(
                "no local header where the central directory puts \"{}\"",
                shown(&name)
            ),
        ));
    }
    let lfh_name_len = le16(&h, 26) as usize;
    let extra_len = u64::from(le16(&h, 28));
    if lfh_name_len != name.len() || h.get(LFH_HEADER..) != Some(&name[..]) {
        let end = LFH_HEADER + lfh_name_len.min(name.len());
        let local = h.get(LFH_HEADER..end).unwrap_or_default();
        return Err(inconsistent(
            Some(&name),
            format!(
                "the local header names \"{}\" where the central directory says \"{}\"",
                shown(local),
                shown(&name)
            ),
        ));
    }
    let lflags = le16(&h, 6);
    if lflags & FLAG_DATA_DESCRIPTOR != e.flags & FLAG_DATA_DESCRIPTOR {
        return Err(inconsistent(
            Some(&name),
            format!(
                "\"{}\": local header and central directory disagree on the data descriptor",
                shown(&name)
            ),
        ));
    }
    if le16(&h, 8) != e.method {
        return Err(inconsistent(
            Some(&name),
            format!(
                "\"{}\": compression method {} in the local header, {} in the central directory",
                shown(&name),
                le16(&h, 8),
                e.method
            ),
        ));
    }
    e.data_offset = header_end.saturating_add(extra_len);
    if lflags & FLAG_DATA_DESCRIPTOR == 0 {
        let mut lcsize = u64::from(le32(&h, 18));
        let mut lsize = u64::from(le32(&h, 22));
        if lcsize == 0xffff_ffff || lsize == 0xffff_ffff {
            let extra = read(
                src,
                header_end,
                extra_len.min(cd_offset.saturating_sub(header_end)),
            )?;
            match zip64_fields(&extra, [lsize == 0xffff_ffff, lcsize == 0xffff_ffff, false]) {
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
            ("CRC-32", u64::from(le32(&h, 14)), u64::from(e.crc32)),
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
    let end = e.data_end();
    if end > src.len() {
        return Err(truncated(src, Some(&name)));
    }
    if end > cd_offset {
        return Err(inconsistent(
            Some(&name),
            format!(
                "the data of \"{}\" runs into the central directory",
                shown(&name)
            ),
        ));
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
pub fn check_links(audit: &Audit, within: Option<&str>) -> Result<(), Problem> {
    for e in &audit.entries {
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

/// The `zip` crate must see the entries that were audited, in the same order
/// (it merges duplicate names and picks its own end record).
pub fn same_view<R: std::io::Read + std::io::Seek>(
    audit: &Audit,
    z: &zip::ZipArchive<R>,
) -> Result<(), Problem> {
    let differs = z.len() != audit.entries.len()
        || audit.entries.iter().enumerate().any(|(i, e)| {
            // Only names both sides decode alike (UTF-8) can be compared.
            (e.flags & 0x800 != 0 || e.raw_name.is_ascii())
                && z.name_for_index(i) != Some(e.name.as_str())
        });
    if differs {
        return Err(inconsistent(
            None,
            format!(
                "zip readers disagree about its entries ({} in its central directory, {} as read)",
                audit.entries.len(),
                z.len()
            ),
        ));
    }
    Ok(())
}

/// When an archive has no end record but starts like a ZIP: it was cut short
/// (named with the entry it ends in).
pub fn truncation(src: &Source) -> Option<Problem> {
    starts_like_zip(src).then(|| cut(src, cut_entry(src)))
}

/// What a central directory record declares, for readers with their own ZIP
/// parser (APK verify).
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

/// A minimal ZIP of stored entries (no compression, no data descriptors),
/// for tests and the fuzzers.
#[doc(hidden)]
pub fn stored_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut cd = Vec::new();
    for (name, data) in entries {
        let crc = crc32fast::hash(data);
        let off = out.len() as u32;
        let n = name.len() as u16;
        let len = data.len() as u32;
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0x21, 0]);
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        cd.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        cd.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0x21, 0]);
        cd.extend_from_slice(&crc.to_le_bytes());
        cd.extend_from_slice(&len.to_le_bytes());
        cd.extend_from_slice(&len.to_le_bytes());
        cd.extend_from_slice(&n.to_le_bytes());
        cd.extend_from_slice(&[0; 12]);
        cd.extend_from_slice(&off.to_le_bytes());
        cd.extend_from_slice(name.as_bytes());
    }
    let cd_off = out.len() as u32;
    out.extend_from_slice(&cd);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    let count = entries.len() as u16;
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&(cd.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_off.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audit_bytes(b: &[u8]) -> Result<Audit, Problem> {
        audit(&Source::from_bytes(b.to_vec()), &Limits::default())
    }

    fn code(b: &[u8]) -> Code {
        match audit_bytes(b) {
            Ok(_) => panic!("accepted"),
            Err(p) => p.code,
        }
    }

    #[test]
    fn sane_archives_pass() {
        let z = stored_zip(&[
            ("Payload/A.app/Info.plist", b"<plist/>"),
            ("Payload/A.app/x", b""),
        ]);
        let a = audit_bytes(&z).unwrap();
        assert_eq!(a.entries.len(), 2);
        assert_eq!(a.entries[0].name, "Payload/A.app/Info.plist");
        assert_eq!(a.expanded, 8);
        assert_eq!(
            code(b"not a zip at all, but long enough to look"),
            Code::InputUnreadable
        );
    }

    #[test]
    fn names_that_escape_or_repeat() {
        for bad in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            "C:/x",
            "a\\b",
            "a\0b",
            "",
        ] {
            let z = stored_zip(&[("ok", b"1"), (bad, b"2")]);
            assert_eq!(code(&z), Code::ArchiveUnsafe, "{bad:?}");
        }
        let z = stored_zip(&[("a/b", b"1"), ("a/b", b"2")]);
        assert_eq!(code(&z), Code::ArchiveUnsafe);
        // A folder entry and a file of the same name.
        let z = stored_zip(&[("a/", b""), ("a", b"2")]);
        assert_eq!(code(&z), Code::ArchiveUnsafe);
        assert!(unsafe_name(b"a/..b/c..").is_none());
    }

    #[test]
    fn bombs_by_size_and_ratio() {
        let z = stored_zip(&[("a", &[0u8; 2048])]);
        let small = Limits {
            max_expanded: 1024,
            ..Limits::default()
        };
        let p = audit(&Source::from_bytes(z.clone()), &small).unwrap_err();
        assert_eq!(p.code, Code::ArchiveBomb);
        // A deflated entry declaring 4 GB: the ratio gives it away before anything inflates.
        let mut z = stored_zip(&[("big", b"xx")]);
        let cd = z.len() - 22 - 46 - 3;
        z[cd + 10] = 8; // method: deflate
        z[cd + 24..cd + 28].copy_from_slice(&0xffff_0000u32.to_le_bytes());
        z[8] = 8;
        z[22..26].copy_from_slice(&0xffff_0000u32.to_le_bytes());
        let p = audit_bytes(&z).unwrap_err();
        assert_eq!(p.code, Code::ArchiveBomb, "{p:?}");
        assert_eq!(p.entry.as_deref(), Some("big"));
    }

    #[test]
    fn truncation_names_the_entry() {
        let z = stored_zip(&[("first", &[1u8; 100]), ("second", &[2u8; 100])]);
        let p = audit_bytes(&z[..180]).unwrap_err();
        assert_eq!(p.code, Code::ArchiveTruncated);
        assert_eq!(p.entry.as_deref(), Some("second"));
        assert!(
            p.message.contains("ends inside the entry \"second\""),
            "{}",
            p.message
        );
        // Cut inside the second local header: after the first entry.
        let p = audit_bytes(&z[..150]).unwrap_err();
        assert!(
            p.message.contains("ends after the entry \"first\""),
            "{}",
            p.message
        );
        let p = audit_bytes(&z[..10]).unwrap_err();
        assert_eq!(p.code, Code::ArchiveTruncated);
        // Every cut is an error, never a panic.
        for n in 0..z.len() {
            assert!(audit_bytes(&z[..n]).is_err(), "{n}");
        }
    }

    #[test]
    fn directory_and_headers_must_agree() {
        let z = stored_zip(&[("a.txt", b"hello"), ("b.txt", b"world")]);
        // The local header of b.txt says another name.
        let mut m = z.clone();
        let at = m.windows(5).rposition(|w| w == b"b.txt").unwrap();
        let lfh = m.windows(5).position(|w| w == b"b.txt").unwrap();
        assert!(lfh < at);
        m[lfh] = b'c';
        assert_eq!(code(&m), Code::ArchiveInconsistent);
        // The end record counts one entry: the second is hidden from some readers.
        let mut h = z.clone();
        let n = h.len();
        h[n - 12] = 1;
        h[n - 14] = 1;
        assert_eq!(code(&h), Code::ArchiveInconsistent);
        // Both records point at the same bytes (overlap).
        let mut o = z.clone();
        let cd = n - 22 - (46 + 5) * 2;
        let second = cd + 46 + 5;
        o[second + 42..second + 46].copy_from_slice(&0u32.to_le_bytes());
        o[second + 46] = b'a';
        assert!(audit_bytes(&o).is_err());
        // Every single-byte corruption is an error or a sane archive, never a panic.
        for i in 0..z.len() {
            let mut c = z.clone();
            c[i] ^= 0x5a;
            let _ = audit_bytes(&c);
        }
    }

    #[test]
    fn links_stay_inside() {
        assert_eq!(
            resolve_link("P/A.app/F.framework/Current", "A").as_deref(),
            Some("P/A.app/F.framework/A")
        );
        assert_eq!(resolve_link("P/x", "../../y"), None);
        assert_eq!(resolve_link("P/x", "/etc"), None);
        let mut a = audit_bytes(&stored_zip(&[("Payload/A.app/l", b"x")])).unwrap();
        a.entries[0].link_target = Some("../../../etc".into());
        assert_eq!(
            check_links(&a, Some("Payload/A.app")).unwrap_err().code,
            Code::ArchiveUnsafe
        );
        a.entries[0].link_target = Some("Info.plist".into());
        assert!(check_links(&a, Some("Payload/A.app")).is_ok());
        a.entries[0].link_target = Some("../B.app/x".into());
        assert!(check_links(&a, Some("Payload/A.app")).is_err());
    }

    #[test]
    fn zip64_archives_are_read() {
        // More than 65535 entries: the zip crate writes a Zip64 end record.
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let o = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for i in 0..65_600u32 {
            w.start_file(format!("f{i}"), o).unwrap();
        }
        let z = w.finish().unwrap().into_inner();
        let a = audit_bytes(&z).unwrap();
        assert_eq!(a.entries.len(), 65_600);
        let zr = zip::ZipArchive::new(std::io::Cursor::new(&z)).unwrap();
        assert!(same_view(&a, &zr).is_ok());
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("8G"), Ok(8 << 30));
        assert_eq!(parse_size("512m"), Ok(512 << 20));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("0").is_err());
        assert!(parse_size("lots").is_err());
        assert!(parse_size("99999999999T").is_err());
    }
}
