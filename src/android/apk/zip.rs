//! The ZIP container as Android reads an APK: End of Central Directory, central
//! directory records and local file headers, with apksig's consistency checks
//! (LFH vs CD sizes, names and data-descriptor flags; nothing may run into the
//! central directory) plus overlap and duplicate detection.
//!
//! The file is never loaded whole: every read is positioned (`pread`) and
//! bounded, so memory stays flat however large the APK is.

use std::fs::File;
use std::io;
use std::path::Path;

const EOCD_SIG: u32 = 0x0605_4b50;
const CD_SIG: u32 = 0x0201_4b50;
const LFH_SIG: u32 = 0x0403_4b50;
const DATA_DESCRIPTOR_SIG: u32 = 0x0807_4b50;
const EOCD_MIN: u64 = 22;
const CD_HEADER: usize = 46;
const LFH_HEADER: u64 = 30;
const GP_DATA_DESCRIPTOR: u16 = 0x08;

/// Largest central directory or metadata entry read into memory. Real APKs
/// stay far below (a 50 000-entry directory is about 4 MiB).
pub const MAX_IN_MEMORY: u64 = 64 << 20;

#[derive(Debug)]
pub enum ZipError {
    /// Not a ZIP archive at all (no End of Central Directory record).
    NotZip(String),
    /// A ZIP whose structures contradict each other or the file.
    Malformed(String),
    Io(io::Error),
}

impl std::fmt::Display for ZipError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ZipError::NotZip(m) | ZipError::Malformed(m) => f.write_str(m),
            ZipError::Io(e) => write!(f, "read error: {e}"),
        }
    }
}

impl From<io::Error> for ZipError {
    fn from(e: io::Error) -> Self {
        ZipError::Io(e)
    }
}

fn malformed<T>(msg: impl Into<String>) -> Result<T, ZipError> {
    Err(ZipError::Malformed(msg.into()))
}

pub(crate) fn le16(b: &[u8], at: usize) -> u16 {
    b.get(at..at + 2)
        .map_or(0, |s| u16::from_le_bytes([s[0], s[1]]))
}

pub(crate) fn le32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// A file read with positioned reads (shareable across threads), or bytes
/// already in memory (tests and the fuzzers).
pub struct Source {
    inner: Inner,
    len: u64,
}

enum Inner {
    File(File),
    Bytes(Vec<u8>),
}

impl Source {
    pub fn open(path: &Path) -> io::Result<Source> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        Ok(Source {
            inner: Inner::File(file),
            len,
        })
    }

    /// An archive held in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> Source {
        Source {
            len: bytes.len() as u64,
            inner: Inner::Bytes(bytes),
        }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Fills `buf` from `offset`; reading past the end is an error.
    pub fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        if offset
            .checked_add(buf.len() as u64)
            .is_none_or(|end| end > self.len)
        {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "read past the end of the file",
            ));
        }
        let file = match &self.inner {
            Inner::Bytes(b) => {
                let start = offset as usize;
                let src = b
                    .get(start..start + buf.len())
                    .ok_or(io::ErrorKind::UnexpectedEof)?;
                buf.copy_from_slice(src);
                return Ok(());
            }
            Inner::File(f) => f,
        };
        #[cfg(unix)]
        {
            std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
        }
        #[cfg(windows)]
        {
            let mut done = 0;
            while done < buf.len() {
                let n = std::os::windows::fs::FileExt::seek_read(
                    file,
                    &mut buf[done..],
                    offset + done as u64,
                )?;
                if n == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                done += n;
            }
            Ok(())
        }
    }

    /// Reads `len` bytes at `offset` into a new buffer, refusing sizes above
    /// [`MAX_IN_MEMORY`].
    pub fn read_vec(&self, offset: u64, len: u64) -> Result<Vec<u8>, ZipError> {
        if len > MAX_IN_MEMORY {
            return malformed(format!("refusing to read {len} bytes into memory"));
        }
        // A lying length must not cost memory: check it against the file first.
        if offset.checked_add(len).is_none_or(|end| end > self.len) {
            return Err(ZipError::Io(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "read past the end of the file",
            )));
        }
        let mut v = vec![0u8; len as usize];
        self.read_exact_at(&mut v, offset)?;
        Ok(v)
    }
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
    let mut found = None;
    for max_comment in [0u64, 0xffff] {
        let window = (EOCD_MIN + max_comment).min(len);
        let start = len - window;
        let buf = src.read_vec(start, window)?;
        let last = buf.len() - EOCD_MIN as usize;
        for comment in 0..=(last.min(max_comment as usize)) {
            let at = last - comment;
            if le32(&buf, at) == EOCD_SIG && le16(&buf, at + 20) as usize == comment {
                found = Some((start + at as u64, buf[at..].to_vec()));
                break;
            }
        }
        if found.is_some() {
            break;
        }
    }
    let Some((eocd_offset, eocd)) = found else {
        return Err(ZipError::NotZip(
            "not a ZIP archive: no End of Central Directory record".into(),
        ));
    };
    let cd_offset = u64::from(le32(&eocd, 16));
    let cd_size = u64::from(le32(&eocd, 12));
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
        cd_count: le16(&eocd, 10),
        eocd_offset,
        eocd,
    })
}

/// One central directory record (directories are skipped, as apksig does).
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
}

impl CdRecord {
    /// A Unix symbolic link (no APK tool writes one).
    pub fn is_symlink(&self) -> bool {
        self.unix_mode.is_some_and(|m| m & 0o170000 == 0o120000)
    }

    pub fn is_compressed(&self) -> bool {
        // Android treats every method but STORED as deflate.
        self.method != 0
    }
}

/// Parses the number of records the EOCD announces; extra bytes are ignored,
/// as on Android.
pub fn parse_cd(cd: &[u8], count: u16, cd_offset: u64) -> Result<Vec<CdRecord>, ZipError> {
    let mut out = Vec::with_capacity((count as usize).min(cd.len() / CD_HEADER));
    let mut pos = 0usize;
    for i in 0..count as usize {
        let rec = &cd[pos.min(cd.len())..];
        let bad = |why: String| {
            ZipError::Malformed(format!(
                "malformed central directory record #{} at file offset {}: {why}",
                i + 1,
                cd_offset + pos as u64
            ))
        };
        if rec.len() < CD_HEADER {
            return Err(bad(format!(
                "need {CD_HEADER} bytes, {} left (truncated central directory)",
                rec.len()
            )));
        }
        if le32(rec, 0) != CD_SIG {
            return Err(bad(format!(
                "not a central directory record (signature {:#010x})",
                le32(rec, 0)
            )));
        }
        let name_len = le16(rec, 28) as usize;
        let size = CD_HEADER + name_len + le16(rec, 30) as usize + le16(rec, 32) as usize;
        if size > rec.len() {
            return Err(bad(format!(
                "record needs {size} bytes, {} left",
                rec.len()
            )));
        }
        let name = String::from_utf8_lossy(&rec[CD_HEADER..CD_HEADER + name_len]).into_owned();
        pos += size;
        if name.ends_with('/') {
            continue;
        }
        out.push(CdRecord {
            name,
            name_len,
            gp_flags: le16(rec, 8),
            method: le16(rec, 10),
            crc32: le32(rec, 16),
            compressed_size: u64::from(le32(rec, 20)),
            uncompressed_size: u64::from(le32(rec, 24)),
            lfh_offset: u64::from(le32(rec, 42)),
            unix_mode: (rec.get(5) == Some(&3)).then(|| le32(rec, 38) >> 16),
        });
    }
    Ok(out)
}

/// Where an entry's data sits, from its local file header.
#[derive(Clone, Copy, Debug)]
pub struct Local {
    pub lfh_offset: u64,
    pub data_offset: u64,
    pub data_size: u64,
    pub compressed: bool,
    /// End of the record, including a data descriptor when asked for.
    pub end: u64,
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
    let header_len = LFH_HEADER + rec.name_len as u64;
    let start = rec.lfh_offset;
    if start + header_len > cd_offset {
        return malformed(format!(
            "the local header of {name} (at {start}) extends beyond the start of the central directory ({cd_offset})"
        ));
    }
    let h = src.read_vec(start, header_len)?;
    if le32(&h, 0) != LFH_SIG {
        return malformed(format!("{name}: no local file header at offset {start}"));
    }
    let lfh_dd = le16(&h, 6) & GP_DATA_DESCRIPTOR != 0;
    if lfh_dd != (rec.gp_flags & GP_DATA_DESCRIPTOR != 0) {
        return malformed(format!(
            "{name}: data descriptor flag differs between local header and central directory"
        ));
    }
    if !lfh_dd {
        let pairs = [
            ("CRC-32", u64::from(le32(&h, 14)), u64::from(rec.crc32)),
            (
                "compressed size",
                u64::from(le32(&h, 18)),
                rec.compressed_size,
            ),
            (
                "uncompressed size",
                u64::from(le32(&h, 22)),
                rec.uncompressed_size,
            ),
        ];
        for (what, l, c) in pairs {
            if l != c {
                return malformed(format!(
                    "{name}: {what} differs between local header ({l}) and central directory ({c})"
                ));
            }
        }
    }
    let lfh_name_len = le16(&h, 26) as usize;
    if lfh_name_len > rec.name_len {
        return malformed(format!(
            "{name}: the local header name is longer than the central directory name"
        ));
    }
    let lfh_name = String::from_utf8_lossy(&h[30..30 + lfh_name_len]);
    if lfh_name != *name {
        return malformed(format!(
            "name differs between local header (\"{lfh_name}\") and central directory (\"{name}\")"
        ));
    }
    let extra_len = u64::from(le16(&h, 28));
    let data_offset = start + LFH_HEADER + lfh_name_len as u64 + extra_len;
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
        if u32::from_le_bytes(sig) == DATA_DESCRIPTOR_SIG {
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
    let loc = local(src, rec, cd_offset, false)?;
    let mut input = vec![0u8; IO_CHUNK.min(loc.data_size.max(1) as usize)];
    let mut offset = loc.data_offset;
    let end = loc.data_offset + loc.data_size;
    if !loc.compressed {
        while offset < end {
            let n = ((end - offset) as usize).min(input.len());
            src.read_exact_at(&mut input[..n], offset)?;
            sink(&input[..n]);
            offset += n as u64;
        }
        return Ok(());
    }
    let expected = rec.uncompressed_size;
    let mut inflater = flate2::Decompress::new(false);
    let mut out = vec![0u8; IO_CHUNK];
    let mut produced = 0u64;
    let too_big = |n: u64| {
        ZipError::Malformed(format!(
            "{}: inflates to more than the recorded {expected} bytes ({n})",
            rec.name
        ))
    };
    'feed: while offset < end {
        let n = ((end - offset) as usize).min(input.len());
        src.read_exact_at(&mut input[..n], offset)?;
        offset += n as u64;
        let mut chunk = &input[..n];
        loop {
            let (before_in, before_out) = (inflater.total_in(), inflater.total_out());
            let status = inflater
                .decompress(chunk, &mut out, flate2::FlushDecompress::None)
                .map_err(|e| {
                    ZipError::Malformed(format!("{}: compressed data is corrupt: {e}", rec.name))
                })?;
            let used = (inflater.total_in() - before_in) as usize;
            let made = (inflater.total_out() - before_out) as usize;
            chunk = &chunk[used..];
            if made > 0 {
                produced += made as u64;
                if produced > expected {
                    return Err(too_big(produced));
                }
                sink(&out[..made]);
            }
            if status == flate2::Status::StreamEnd {
                break 'feed;
            }
            if chunk.is_empty() && made < out.len() {
                break;
            }
            if used == 0 && made == 0 {
                break;
            }
        }
    }
    if produced != expected {
        return malformed(format!(
            "{}: unexpected size of uncompressed data: {produced} bytes, recorded {expected}",
            rec.name
        ));
    }
    Ok(())
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

    /// Test-only ZIP writer: (name, data, stored?) with optional alignment padding.
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
            h.extend_from_slice(&LFH_SIG.to_le_bytes());
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
            cd.extend_from_slice(&CD_SIG.to_le_bytes());
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
        out.extend_from_slice(&EOCD_SIG.to_le_bytes());
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

    fn open(bytes: &[u8]) -> Result<(Sections, Vec<CdRecord>, Vec<Local>), ZipError> {
        let (_f, src) = source(bytes);
        let s = find_sections(&src)?;
        let cd = src.read_vec(s.cd_offset, s.cd_size)?;
        let recs = parse_cd(&cd, s.cd_count, s.cd_offset)?;
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
        let recs = parse_cd(&cd, s.cd_count, s.cd_offset).unwrap();
        assert_eq!(recs.len(), 2, "directories are skipped");
        assert_eq!(read_entry(&src, &recs[0], s.cd_offset).unwrap(), b"hello");
        assert_eq!(read_entry(&src, &recs[1], s.cd_offset).unwrap(), big);
        assert!(layout(&src, &recs, s.cd_offset).is_ok());
        // A 65535-byte comment is still found.
        let z = build_zip(&[("a", b"x", true)], &vec![b'c'; 0xffff]);
        assert!(open(&z).is_ok());
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
            open(b"not a zip at all, just some text"),
            Err(ZipError::NotZip(_))
        ));
        assert!(matches!(open(&z[..10]), Err(ZipError::NotZip(_))));
        // Truncated central directory: the EOCD announces more records than fit.
        let mut t = z.clone();
        let n = t.len();
        t[n - 12] = 3;
        assert!(matches!(open(&t), Err(ZipError::Malformed(_))));
        // Overlapping entries: the second CD record points at the first local header.
        let (s, _, _) = open(&z).unwrap();
        let mut o = z.clone();
        let second_cd = s.cd_offset as usize + 46 + 5;
        o[second_cd + 42..second_cd + 46].copy_from_slice(&0u32.to_le_bytes());
        assert!(open(&o).is_err());
        // Every truncation and every byte corruption is handled.
        for cut in 0..z.len() {
            let _ = open(&z[..cut]);
        }
        for i in 0..z.len() {
            let mut c = z.clone();
            c[i] ^= 0xff;
            if let Ok((s, recs, _)) = open(&c) {
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
        let (s, mut recs, _) = open(&z).unwrap();
        let (_f, src) = source(&z);
        recs[0].uncompressed_size = 5;
        assert!(read_entry(&src, &recs[0], s.cd_offset).is_err());
        recs[0].uncompressed_size = 500;
        assert!(read_entry(&src, &recs[0], s.cd_offset).is_err());
    }
}
