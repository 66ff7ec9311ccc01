//! The ZIP dialect of Android's package manager and of apksig, for APKs:
//! the same records as every other reader ([`super::records`]), read with
//! apksig's tolerance and reported in apksig's words. The End of Central
//! Directory is found as Android finds it, no Zip64; central directory records
//! are taken as the end record counts them (extra bytes ignored); local
//! headers must agree with their records on sizes, CRC, name and the
//! data-descriptor flag (not on the compression method); every method but
//! STORED is deflate; an entry's inflated size must equal the recorded one
//! (Android does not check the CRC). Nothing may run into the central
//! directory, and entries may not overlap or repeat a name.
//!
//! [`open`] also runs the checks every archive reader shares
//! ([`audit::check_apk_entries`]: zip slip, duplicates, links, bombs).

use std::ops::Range;

use super::audit::{self, Declared, Limits, Problem};
use super::read::{DataError, EntryReader};
use super::records::{self, Central, CentralError, DosTime, FLAG_DATA_DESCRIPTOR, LFH_HEADER};
use super::{le32, Source, ZipError, MAX_IN_MEMORY};

const EOCD_MIN: u64 = records::EOCD_LEN;

fn malformed<T>(msg: impl Into<String>) -> Result<T, ZipError> {
    Err(ZipError::Malformed(msg.into()))
}

/// Where the central directory and EOCD are (apksig's `ZipSections`).
#[derive(Clone, Debug)]
pub struct Sections {
    pub cd_offset: u64,
    pub cd_size: u64,
    pub cd_count: u16,
    pub eocd_offset: u64,
    /// The EOCD record including its comment.
    pub eocd: Vec<u8>,
}

/// Finds the EOCD the way Android does: first assuming no comment, then
/// searching backwards for a record whose comment length reaches the end.
pub fn find_sections(src: &Source) -> Result<Sections, ZipError> {
    let len = src.len();
    if len < EOCD_MIN {
        return Err(ZipError::NotZip(format!(
            "not a ZIP archive: {len} bytes is too small for an End of Central Directory record"
        )));
    }
    let Some(end) = records::find_end(src)? else {
        return Err(ZipError::NotZip(
            "not a ZIP archive: no End of Central Directory record".into(),
        ));
    };
    let cd_offset = u64::from(end.cd_offset);
    let cd_size = u64::from(end.cd_size);
    let eocd_offset = end.offset;
    if cd_offset > eocd_offset {
        return malformed(format!(
            "the central directory offset {cd_offset} lies after the End of Central Directory record at {eocd_offset}"
        ));
    }
    if cd_offset + cd_size > eocd_offset {
        return malformed(format!(
            "the central directory ({cd_size} bytes at {cd_offset}) runs into the End of Central Directory record at {eocd_offset}"
        ));
    }
    Ok(Sections {
        cd_offset,
        cd_size,
        cd_count: end.entries,
        eocd_offset,
        eocd: end.record,
    })
}

/// One central directory record.
#[derive(Clone, Debug)]
pub struct CdRecord {
    pub name: String,
    /// Length of the name in bytes, as recorded.
    pub name_len: usize,
    pub gp_flags: u16,
    pub method: u16,
    pub crc32: u32,
    pub compressed_size: u64,
    pub uncompressed_size: u64,
    pub lfh_offset: u64,
    /// Unix mode from the external attributes, for entries made on Unix.
    pub unix_mode: Option<u32>,
    pub time: DosTime,
    /// Where the whole record lies in the central directory's bytes.
    pub raw: Range<usize>,
}

impl CdRecord {
    /// A Unix symbolic link (no APK tool writes one).
    pub fn is_symlink(&self) -> bool {
        self.unix_mode
            .is_some_and(|m| m & records::S_IFMT == records::S_IFLNK)
    }

    pub fn is_dir(&self) -> bool {
        self.name.ends_with('/')
    }

    pub fn is_compressed(&self) -> bool {
        // Android treats every method but STORED as deflate.
        self.method != records::STORED
    }

    /// The name as recorded (a lossy [`CdRecord::name`] would hide a NUL or an invalid byte).
    pub fn raw_name<'a>(&self, cd: &'a [u8]) -> &'a [u8] {
        let at = self.raw.start + records::CD_HEADER;
        cd.get(at..at + self.name_len).unwrap_or_default()
    }
}

/// Parses the number of records the EOCD announces; extra bytes are ignored,
/// as on Android. Folders are skipped, as apksig does, unless `dirs`.
pub fn parse_cd(
    cd: &[u8],
    count: u16,
    cd_offset: u64,
    dirs: bool,
) -> Result<Vec<CdRecord>, ZipError> {
    let mut out = Vec::with_capacity((count as usize).min(cd.len() / records::CD_HEADER));
    let mut pos = 0usize;
    for i in 0..count as usize {
        let bad = |why: String| {
            ZipError::Malformed(format!(
                "malformed central directory record #{} at file offset {}: {why}",
                i + 1,
                cd_offset + pos as u64
            ))
        };
        let c = match Central::parse(&cd[pos.min(cd.len())..]) {
            Ok(c) => c,
            Err(CentralError::Short { left }) => {
                return Err(bad(format!(
                    "need {} bytes, {left} left (truncated central directory)",
                    records::CD_HEADER
                )))
            }
            Err(CentralError::Signature(sig)) => {
                return Err(bad(format!(
                    "not a central directory record (signature {sig:#010x})"
                )))
            }
            Err(CentralError::Overrun { need, left, .. }) => {
                return Err(bad(format!("record needs {need} bytes, {left} left")))
            }
        };
        let name = String::from_utf8_lossy(c.name).into_owned();
        let raw = pos..pos + c.len();
        pos = raw.end;
        if !dirs && name.ends_with('/') {
            continue;
        }
        out.push(CdRecord {
            name,
            name_len: c.name.len(),
            gp_flags: c.flags,
            method: c.method,
            crc32: c.crc32,
            compressed_size: c.compressed_size,
            uncompressed_size: c.size,
            lfh_offset: c.lfh_offset,
            unix_mode: c.unix_mode(),
            time: c.time,
            raw,
        });
    }
    Ok(out)
}

/// Why an APK's directory could not be read.
#[derive(Debug)]
pub enum OpenError {
    /// Android's reader refuses it (apksig's wording).
    Zip(ZipError),
    /// A check every archive reader shares: unsafe names, a zip bomb, a file cut short.
    Archive(Problem),
}

impl From<ZipError> for OpenError {
    fn from(e: ZipError) -> Self {
        OpenError::Zip(e)
    }
}

/// An APK's end record and central directory, read as Android reads them.
pub struct Directory {
    pub sections: Sections,
    /// The central directory's bytes.
    pub cd: Vec<u8>,
    /// In central directory order (folders only with `dirs`).
    pub records: Vec<CdRecord>,
}

/// Reads an APK's directory and runs the shared archive checks on the records
/// kept (folders too with `dirs`). A file cut before its end record is
/// `archive-truncated`, naming the entry it ends in.
pub fn open(src: &Source, limits: &Limits, dirs: bool) -> Result<Directory, OpenError> {
    let sections = match find_sections(src) {
        Ok(s) => s,
        Err(ZipError::NotZip(m)) => {
            return Err(match audit::truncation(src) {
                Some(p) => OpenError::Archive(p),
                None => OpenError::Zip(ZipError::NotZip(m)),
            })
        }
        Err(e) => return Err(e.into()),
    };
    let cd = src.read_vec(sections.cd_offset, sections.cd_size)?;
    let records = parse_cd(&cd, sections.cd_count, sections.cd_offset, dirs)?;
    // Android never extracts links or climbs folders, but an APK with such
    // entries was crafted; a bomb would make v1 verification inflate forever.
    audit::check_apk_entries(
        records.iter().map(|r| Declared {
            name: r.raw_name(&cd),
            compressed_size: r.compressed_size,
            size: r.uncompressed_size,
            is_symlink: r.is_symlink(),
        }),
        src.len(),
        limits,
    )
    .map_err(OpenError::Archive)?;
    Ok(Directory {
        sections,
        cd,
        records,
    })
}

/// Where an entry's data sit, from its local file header.
#[derive(Clone, Debug)]
pub struct Local {
    pub lfh_offset: u64,
    pub data_offset: u64,
    pub data_size: u64,
    pub compressed: bool,
    /// End of the record, including a data descriptor when asked for.
    pub end: u64,
    /// The header's name and extra field lengths.
    pub name_len: u16,
    pub extra_len: u16,
}

/// Reads and checks an entry's local header against its CD record, as apksig's
/// `LocalFileRecord.getRecord` does.
pub fn local(
    src: &Source,
    rec: &CdRecord,
    cd_offset: u64,
    with_descriptor: bool,
) -> Result<Local, ZipError> {
    let name = &rec.name;
    let header_len = (LFH_HEADER + rec.name_len) as u64;
    let start = rec.lfh_offset;
    if start + header_len > cd_offset {
        return malformed(format!(
            "the local header of {name} (at {start}) extends beyond the start of the central directory ({cd_offset})"
        ));
    }
    let Some(h) = records::Local::read(src, start, rec.name_len)? else {
        return malformed(format!("{name}: no local file header at offset {start}"));
    };
    let lfh_dd = h.flags & FLAG_DATA_DESCRIPTOR != 0;
    if lfh_dd != (rec.gp_flags & FLAG_DATA_DESCRIPTOR != 0) {
        return malformed(format!(
            "{name}: data descriptor flag differs between local header and central directory"
        ));
    }
    if !lfh_dd {
        let pairs = [
            ("CRC-32", u64::from(h.crc32), u64::from(rec.crc32)),
            ("compressed size", h.compressed_size, rec.compressed_size),
            ("uncompressed size", h.size, rec.uncompressed_size),
        ];
        for (what, l, c) in pairs {
            if l != c {
                return malformed(format!(
                    "{name}: {what} differs between local header ({l}) and central directory ({c})"
                ));
            }
        }
    }
    if usize::from(h.name_len) > rec.name_len {
        return malformed(format!(
            "{name}: the local header name is longer than the central directory name"
        ));
    }
    let lfh_name = String::from_utf8_lossy(h.name());
    if lfh_name != *name {
        return malformed(format!(
            "name differs between local header (\"{lfh_name}\") and central directory (\"{name}\")"
        ));
    }
    let data_offset = h.data_offset();
    let compressed = rec.is_compressed();
    let data_size = if compressed {
        rec.compressed_size
    } else {
        rec.uncompressed_size
    };
    let data_end = data_offset + data_size;
    if data_end > cd_offset {
        return malformed(format!(
            "the data of {name} ({data_offset}..{data_end}) overlaps the central directory at {cd_offset}"
        ));
    }
    let mut end = data_end;
    if with_descriptor && lfh_dd {
        end += 12;
        if end > cd_offset {
            return malformed(format!(
                "the data descriptor of {name} overlaps the central directory"
            ));
        }
        let mut sig = [0u8; 4];
        src.read_exact_at(&mut sig, data_end)?;
        // The signature is optional; Android, like apksig, trusts one that is there.
        if le32(&sig, 0) == records::DATA_DESCRIPTOR_SIG {
            end += 4;
            if end > cd_offset {
                return malformed(format!(
                    "the data descriptor of {name} overlaps the central directory"
                ));
            }
        }
    }
    Ok(Local {
        lfh_offset: start,
        data_offset,
        data_size,
        compressed,
        end,
        name_len: h.name_len,
        extra_len: h.extra_len,
    })
}

const IO_CHUNK: usize = 64 << 10;

/// Streams an entry's uncompressed data to `sink` in bounded pieces. The
/// inflated size must equal the recorded one (Android does not check the CRC).
pub fn stream_entry(
    src: &Source,
    rec: &CdRecord,
    cd_offset: u64,
    sink: &mut dyn FnMut(&[u8]),
) -> Result<(), ZipError> {
    use std::io::Read;
    let loc = local(src, rec, cd_offset, false)?;
    let expected = rec.uncompressed_size;
    let mut r = EntryReader::new(
        src,
        loc.data_offset,
        loc.data_size,
        loc.compressed,
        if loc.compressed {
            expected
        } else {
            loc.data_size
        },
        None,
    );
    let mut out = vec![0u8; IO_CHUNK.min(expected.max(1) as usize)];
    loop {
        match r.read(&mut out) {
            Ok(0) => return Ok(()),
            Ok(n) => sink(&out[..n]),
            Err(e) => {
                let name = &rec.name;
                return Err(match DataError::of(&e) {
                    Some(DataError::Corrupt(m)) => {
                        ZipError::Malformed(format!("{name}: compressed data is corrupt: {m}"))
                    }
                    Some(DataError::TooLong { .. }) => ZipError::Malformed(format!(
                        "{name}: inflates to more than the recorded {expected} bytes"
                    )),
                    Some(DataError::TooShort { read, .. }) => ZipError::Malformed(format!(
                        "{name}: unexpected size of uncompressed data: {read} bytes, recorded {expected}"
                    )),
                    Some(other) => ZipError::Malformed(format!("{name}: {other}")),
                    None => ZipError::Io(e),
                });
            }
        }
    }
}

/// Reads a whole (small) entry into memory.
pub fn read_entry(src: &Source, rec: &CdRecord, cd_offset: u64) -> Result<Vec<u8>, ZipError> {
    if rec.uncompressed_size > MAX_IN_MEMORY {
        return malformed(format!(
            "{} is {} bytes uncompressed, too large to be a manifest or signature file",
            rec.name, rec.uncompressed_size
        ));
    }
    let mut v = Vec::with_capacity(rec.uncompressed_size as usize);
    stream_entry(src, rec, cd_offset, &mut |b| v.extend_from_slice(b))?;
    Ok(v)
}

/// Checks every entry's local header and that no two entries share bytes or a
/// name; returns each entry's layout, in central directory order.
pub fn layout(src: &Source, records: &[CdRecord], cd_offset: u64) -> Result<Vec<Local>, ZipError> {
    let mut names = std::collections::HashSet::with_capacity(records.len());
    for r in records {
        if !names.insert(r.name.as_str()) {
            return malformed(format!("duplicate entry name {}", r.name));
        }
    }
    let locals = records
        .iter()
        .map(|r| local(src, r, cd_offset, true))
        .collect::<Result<Vec<_>, _>>()?;
    let mut order: Vec<usize> = (0..locals.len()).collect();
    order.sort_by_key(|&i| locals[i].lfh_offset);
    for w in order.windows(2) {
        let (a, b) = (&locals[w[0]], &locals[w[1]]);
        if b.lfh_offset < a.end {
            return malformed(format!(
                "entries {} ({}..{}) and {} (from {}) overlap",
                records[w[0]].name, a.lfh_offset, a.end, records[w[1]].name, b.lfh_offset
            ));
        }
    }
    Ok(locals)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    /// Test-only ZIP writer: (name, data, stored?), no alignment.
    pub fn build_zip(entries: &[(&str, &[u8], bool)], comment: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut cd = Vec::new();
        for (name, data, stored) in entries {
            let crc = crc32fast::hash(data);
            let body = if *stored {
                data.to_vec()
            } else {
                let mut e =
                    flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            };
            let method: u16 = if *stored { 0 } else { 8 };
            let off = out.len() as u32;
            let mut h = Vec::new();
            h.extend_from_slice(&records::LFH_SIG.to_le_bytes());
            h.extend_from_slice(&[20, 0, 0, 0]);
            h.extend_from_slice(&method.to_le_bytes());
            h.extend_from_slice(&[0, 0, 0x21, 0]);
            h.extend_from_slice(&crc.to_le_bytes());
            h.extend_from_slice(&(body.len() as u32).to_le_bytes());
            h.extend_from_slice(&(data.len() as u32).to_le_bytes());
            h.extend_from_slice(&(name.len() as u16).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes());
            h.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&h);
            out.extend_from_slice(&body);
            cd.extend_from_slice(&records::CD_SIG.to_le_bytes());
            cd.extend_from_slice(&[20, 0, 20, 0, 0, 0]);
            cd.extend_from_slice(&method.to_le_bytes());
            cd.extend_from_slice(&[0, 0, 0x21, 0]);
            cd.extend_from_slice(&crc.to_le_bytes());
            cd.extend_from_slice(&(body.len() as u32).to_le_bytes());
            cd.extend_from_slice(&(data.len() as u32).to_le_bytes());
            cd.extend_from_slice(&(name.len() as u16).to_le_bytes());
            cd.extend_from_slice(&[0; 12]);
            cd.extend_from_slice(&off.to_le_bytes());
            cd.extend_from_slice(name.as_bytes());
        }
        let cd_off = out.len() as u32;
        out.extend_from_slice(&cd);
        out.extend_from_slice(&records::EOCD_SIG.to_le_bytes());
        out.extend_from_slice(&[0, 0, 0, 0]);
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&(cd.len() as u32).to_le_bytes());
        out.extend_from_slice(&cd_off.to_le_bytes());
        out.extend_from_slice(&(comment.len() as u16).to_le_bytes());
        out.extend_from_slice(comment);
        out
    }

    fn source(bytes: &[u8]) -> (tempfile::NamedTempFile, Source) {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        let s = Source::open(f.path()).unwrap();
        (f, s)
    }

    fn open_all(bytes: &[u8]) -> Result<(Sections, Vec<CdRecord>, Vec<Local>), ZipError> {
        let (_f, src) = source(bytes);
        let s = find_sections(&src)?;
        let cd = src.read_vec(s.cd_offset, s.cd_size)?;
        let recs = parse_cd(&cd, s.cd_count, s.cd_offset, false)?;
        let l = layout(&src, &recs, s.cd_offset)?;
        Ok((s, recs, l))
    }

    #[test]
    fn reads_entries_and_comment() {
        let big = vec![7u8; 300_000];
        let z = build_zip(
            &[
                ("a.txt", b"hello", false),
                ("lib/x.so", &big, true),
                ("dir/", b"", true),
            ],
            b"hi",
        );
        let (_f, src) = source(&z);
        let s = find_sections(&src).unwrap();
        assert_eq!(s.eocd.len(), 24);
        let cd = src.read_vec(s.cd_offset, s.cd_size).unwrap();
        let recs = parse_cd(&cd, s.cd_count, s.cd_offset, false).unwrap();
        assert_eq!(recs.len(), 2, "directories are skipped");
        assert_eq!(
            parse_cd(&cd, s.cd_count, s.cd_offset, true).unwrap().len(),
            3
        );
        assert_eq!(read_entry(&src, &recs[0], s.cd_offset).unwrap(), b"hello");
        assert_eq!(read_entry(&src, &recs[1], s.cd_offset).unwrap(), big);
        assert!(layout(&src, &recs, s.cd_offset).is_ok());
        // A 65535-byte comment is still found.
        let z = build_zip(&[("a", b"x", true)], &vec![b'c'; 0xffff]);
        assert!(open_all(&z).is_ok());
    }

    #[test]
    fn lies_are_malformed_not_panics() {
        let z = build_zip(
            &[
                ("a.txt", b"hello world", false),
                ("b.bin", b"0123456789", true),
            ],
            b"",
        );
        assert!(matches!(
            open_all(b"not a zip at all, just some text"),
            Err(ZipError::NotZip(_))
        ));
        assert!(matches!(open_all(&z[..10]), Err(ZipError::NotZip(_))));
        // Truncated central directory: the EOCD announces more records than fit.
        let mut t = z.clone();
        let n = t.len();
        t[n - 12] = 3;
        assert!(matches!(open_all(&t), Err(ZipError::Malformed(_))));
        // Overlapping entries: the second CD record points at the first local header.
        let (s, _, _) = open_all(&z).unwrap();
        let mut o = z.clone();
        let second_cd = s.cd_offset as usize + 46 + 5;
        o[second_cd + 42..second_cd + 46].copy_from_slice(&0u32.to_le_bytes());
        assert!(open_all(&o).is_err());
        // Every truncation and every byte corruption is handled.
        for cut in 0..z.len() {
            let _ = open_all(&z[..cut]);
        }
        for i in 0..z.len() {
            let mut c = z.clone();
            c[i] ^= 0xff;
            if let Ok((s, recs, _)) = open_all(&c) {
                let (_f, src) = source(&c);
                for r in &recs {
                    let _ = read_entry(&src, r, s.cd_offset);
                }
            }
        }
    }

    #[test]
    fn inflated_size_must_match() {
        let z = build_zip(&[("a.txt", b"hello world hello world", false)], b"");
        let (s, mut recs, _) = open_all(&z).unwrap();
        let (_f, src) = source(&z);
        recs[0].uncompressed_size = 5;
        assert!(read_entry(&src, &recs[0], s.cd_offset).is_err());
        recs[0].uncompressed_size = 500;
        assert!(read_entry(&src, &recs[0], s.cd_offset).is_err());
        // Both headers lie alike: the inflated size gives them away.
        let cd = s.cd_offset as usize;
        for (size, want) in [
            (5u32, "a.txt: inflates to more than the recorded 5 bytes"),
            (
                500,
                "a.txt: unexpected size of uncompressed data: 23 bytes, recorded 500",
            ),
        ] {
            let mut c = z.clone();
            c[22..26].copy_from_slice(&size.to_le_bytes());
            c[cd + 24..cd + 28].copy_from_slice(&size.to_le_bytes());
            let (s, recs, _) = open_all(&c).unwrap();
            let (_f, src) = source(&c);
            let e = read_entry(&src, &recs[0], s.cd_offset).unwrap_err();
            assert_eq!(e.to_string(), want);
        }
        // Android does not check the CRC.
        let mut c = z.clone();
        c[cd + 16] ^= 1;
        c[14] ^= 1;
        let (s, recs, _) = open_all(&c).unwrap();
        let (_f, src) = source(&c);
        assert!(read_entry(&src, &recs[0], s.cd_offset).is_ok());
    }

    #[test]
    fn shared_checks_run_before_anything_is_read() {
        for bad in ["../evil", "/abs", "a\\b"] {
            let z = build_zip(
                &[("AndroidManifest.xml", b"x", true), (bad, b"y", true)],
                b"",
            );
            let (_f, src) = source(&z);
            match open(&src, &Limits::default(), false) {
                Err(OpenError::Archive(p)) => {
                    assert_eq!(p.code, crate::diag::Code::ArchiveUnsafe, "{bad}")
                }
                _ => panic!("{bad} accepted"),
            }
        }
        let z = build_zip(&[("a", b"1", true), ("a", b"2", true)], b"");
        let (_f, src) = source(&z);
        assert!(matches!(
            open(&src, &Limits::default(), false),
            Err(OpenError::Archive(_))
        ));
        // Cut short: archive-truncated, not "not a zip".
        let (_f, src) = source(&z[..40]);
        match open(&src, &Limits::default(), false) {
            Err(OpenError::Archive(p)) => assert_eq!(p.code, crate::diag::Code::ArchiveTruncated),
            _ => panic!("truncation not named"),
        }
    }
}
