//! Reading the APK to re-sign and copying its entries into the output the way
//! apksig's `ApkSigner` does: in local-header order, local header and data
//! copied raw (never recompressed), bytes between entries kept, the central
//! directory records kept byte for byte with only the header offset changed.
//!
//! Alignment uses apksig's scheme: the local header's extra field gets an
//! `0xd935` field (alignment multiple + zero padding) so that an uncompressed
//! entry's data starts on its boundary; stale alignment fields and legacy zero
//! padding are dropped. By default every uncompressed entry is aligned on 4
//! bytes and every uncompressed `.so` on the library page size (16 KiB), as
//! `zipalign -P 16 -p 4` does; `--alignment-preserved` keeps apksig's older
//! rule of only moving entries that were aligned already.

use std::io::{self, Write};
use std::path::Path;

use crate::android::apk::signing_block;
use crate::android::apk::zip::{self, le16, le32, CdRecord, Local, Sections, Source, ZipError};
use crate::archive::{self, Limits};

const CD_SIG: u32 = 0x0201_4b50;
const CD_HEADER: usize = 46;
const LFH_HEADER: u64 = 30;
const ALIGN_FIELD_ID: u16 = 0xd935;
const ALIGN_FIELD_MIN: u64 = 6;
const IO_CHUNK: usize = 1 << 20;

/// Why an input cannot be re-signed.
#[derive(Debug)]
pub enum InputError {
    /// Not readable, or not a ZIP.
    Unreadable(String),
    /// A ZIP that contradicts itself, or one Android would refuse.
    Malformed(String),
    /// What every archive reader refuses: zip slip, duplicates, links, bombs,
    /// a file cut short.
    Archive(crate::archive::Problem),
}

impl From<io::Error> for InputError {
    fn from(e: io::Error) -> Self {
        InputError::Unreadable(format!("read error: {e}"))
    }
}

impl From<ZipError> for InputError {
    fn from(e: ZipError) -> Self {
        match e {
            ZipError::NotZip(m) => InputError::Unreadable(m),
            ZipError::Malformed(m) => InputError::Malformed(m),
            ZipError::Io(e) => InputError::Unreadable(format!("read error: {e}")),
        }
    }
}

/// One entry of the input, directories included.
pub struct Entry {
    pub rec: CdRecord,
    /// The raw central directory record (extra field and comment included).
    cd_raw: std::ops::Range<usize>,
    pub local: Local,
    lfh_name_len: u64,
    /// The local header's extra field.
    extra: Vec<u8>,
    pub mtime: u16,
    pub mdate: u16,
}

impl Entry {
    pub fn name(&self) -> &str {
        &self.rec.name
    }
}

/// The input APK, parsed once.
pub struct Input {
    pub src: Source,
    pub sections: Sections,
    /// Where the local file records end: the old APK Signing Block, else the
    /// central directory.
    pub lfh_end: u64,
    cd: Vec<u8>,
    /// In central directory order.
    pub entries: Vec<Entry>,
}

pub fn open(path: &Path, limits: &Limits) -> Result<Input, InputError> {
    let src =
        Source::open(path).map_err(|e| InputError::Unreadable(format!("cannot read it: {e}")))?;
    let sections = match zip::find_sections(&src) {
        Ok(s) => s,
        // Cut before its end record: name it, and the entry it ends in.
        Err(ZipError::NotZip(m)) => {
            return Err(match archive::truncation(&src) {
                Some(p) => InputError::Archive(p),
                None => InputError::Unreadable(m),
            })
        }
        Err(e) => return Err(e.into()),
    };
    if sections.cd_offset + sections.cd_size != sections.eocd_offset {
        return Err(InputError::Malformed(format!(
            "{} bytes between the central directory and the End of Central Directory record",
            sections
                .eocd_offset
                .saturating_sub(sections.cd_offset + sections.cd_size)
        )));
    }
    let lfh_end = match signing_block::find(&src, &sections)? {
        Ok(b) => b.offset,
        Err(_) => sections.cd_offset,
    };
    let cd = src.read_vec(sections.cd_offset, sections.cd_size)?;
    // First the central directory alone, so the checks every archive reader
    // shares (names, duplicates, links, bombs) run before any local header is read.
    let mut records = Vec::with_capacity(usize::from(sections.cd_count));
    let mut pos = 0usize;
    for i in 0..usize::from(sections.cd_count) {
        let bad = |why: String| {
            InputError::Malformed(format!(
                "central directory record #{} (file offset {}): {why}",
                i + 1,
                sections.cd_offset + pos as u64
            ))
        };
        let rec = cd.get(pos..).unwrap_or(&[]);
        if rec.len() < CD_HEADER || le32(rec, 0) != CD_SIG {
            return Err(bad("truncated or not a central directory record".into()));
        }
        let name_len = usize::from(le16(rec, 28));
        let size = CD_HEADER + name_len + usize::from(le16(rec, 30)) + usize::from(le16(rec, 32));
        if size > rec.len() {
            return Err(bad(format!(
                "record needs {size} bytes, {} left",
                rec.len()
            )));
        }
        let name = String::from_utf8_lossy(&rec[CD_HEADER..CD_HEADER + name_len]).into_owned();
        let cd_rec = CdRecord {
            name,
            name_len,
            gp_flags: le16(rec, 8),
            method: le16(rec, 10),
            crc32: le32(rec, 16),
            compressed_size: u64::from(le32(rec, 20)),
            uncompressed_size: u64::from(le32(rec, 24)),
            lfh_offset: u64::from(le32(rec, 42)),
            unix_mode: (rec.get(5) == Some(&3)).then(|| le32(rec, 38) >> 16),
        };
        records.push((cd_rec, pos..pos + size, le16(rec, 12), le16(rec, 14)));
        pos += size;
    }
    archive::check_apk_entries(
        records.iter().map(|(r, raw, ..)| archive::Declared {
            // The raw bytes: a lossy name would hide a NUL or an invalid byte.
            name: &cd[raw.start + CD_HEADER..raw.start + CD_HEADER + r.name_len],
            compressed_size: r.compressed_size,
            size: r.uncompressed_size,
            is_symlink: r.is_symlink(),
        }),
        src.len(),
        limits,
    )
    .map_err(InputError::Archive)?;
    let mut entries = Vec::with_capacity(records.len());
    for (cd_rec, cd_raw, mtime, mdate) in records {
        if cd_rec.name.contains(['\r', '\n']) {
            return Err(InputError::Malformed(format!(
                "entry name {:?} contains a line break, which a JAR manifest cannot list",
                cd_rec.name
            )));
        }
        let local = zip::local(&src, &cd_rec, lfh_end, true)?;
        let mut head = [0u8; 30];
        src.read_exact_at(&mut head, local.lfh_offset)?;
        let lfh_name_len = u64::from(le16(&head, 26));
        let extra_len = u64::from(le16(&head, 28));
        let extra = src.read_vec(local.lfh_offset + LFH_HEADER + lfh_name_len, extra_len)?;
        entries.push(Entry {
            mtime,
            mdate,
            rec: cd_rec,
            cd_raw,
            local,
            lfh_name_len,
            extra,
        });
    }
    let mut order: Vec<&Entry> = entries.iter().collect();
    order.sort_by_key(|e| e.local.lfh_offset);
    for w in order.windows(2) {
        if w[1].local.lfh_offset < w[0].local.end {
            return Err(InputError::Malformed(format!(
                "entries {} and {} overlap",
                w[0].name(),
                w[1].name()
            )));
        }
    }
    Ok(Input {
        src,
        sections,
        lfh_end,
        cd,
        entries,
    })
}

/// How uncompressed entries are aligned.
#[derive(Clone, Copy, Debug)]
pub struct Alignment {
    /// apksig's `--alignment-preserved`: only entries aligned in the input move.
    pub preserve: bool,
    /// Boundary for uncompressed `.so` files.
    pub lib_page: u64,
}

/// The alignment an `0xd935` extra field declares, if any.
fn declared_alignment(extra: &[u8]) -> Option<u64> {
    let mut pos = 0;
    while extra.len().saturating_sub(pos) >= 4 {
        let id = le16(extra, pos);
        let size = usize::from(le16(extra, pos + 2));
        pos += 4;
        if size > extra.len() - pos {
            return None;
        }
        if id == ALIGN_FIELD_ID {
            return (size >= 2).then(|| u64::from(le16(extra, pos)));
        }
        pos += size;
    }
    None
}

impl Alignment {
    fn multiple(&self, e: &Entry) -> u64 {
        if e.rec.is_compressed() {
            return 1;
        }
        let declared = declared_alignment(&e.extra);
        let so = e.name().ends_with(".so");
        match (self.preserve, so) {
            (true, _) => declared.unwrap_or(if so { self.lib_page } else { 4 }),
            // A .so is always put on the page size, even if an older tool
            // declared a smaller one (apksig would keep 4 KiB there).
            (false, true) => declared.unwrap_or(0).max(self.lib_page),
            (false, false) => declared.unwrap_or(4),
        }
    }
}

/// The extra field with stale alignment data removed and an alignment field
/// that puts the data (starting right after it) on `multiple`.
fn aligning_extra(original: &[u8], extra_start: u64, multiple: u64) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(original.len() + 6 + multiple as usize);
    let mut pos = 0;
    while original.len().saturating_sub(pos) >= 4 {
        let id = le16(original, pos);
        let size = usize::from(le16(original, pos + 2));
        if size > original.len() - pos - 4 {
            break;
        }
        // Legacy zero padding (id 0, size 0) and old alignment fields go.
        if !((id == 0 && size == 0) || id == ALIGN_FIELD_ID) {
            out.extend_from_slice(&original[pos..pos + 4 + size]);
        }
        pos += 4 + size;
    }
    let min_start = extra_start + out.len() as u64 + ALIGN_FIELD_MIN;
    let padding = (multiple - min_start % multiple) % multiple;
    let field_size = 2 + padding;
    if field_size > u64::from(u16::MAX) || out.len() as u64 + 4 + field_size > u64::from(u16::MAX) {
        return Err(format!(
            "cannot align on {multiple} bytes within a ZIP extra field"
        ));
    }
    out.extend_from_slice(&ALIGN_FIELD_ID.to_le_bytes());
    out.extend_from_slice(&(field_size as u16).to_le_bytes());
    out.extend_from_slice(&(multiple as u16).to_le_bytes());
    out.resize(out.len() + padding as usize, 0);
    Ok(out)
}

/// A writer that counts what went through it.
pub struct Counting<W: Write> {
    pub inner: W,
    pub pos: u64,
    pub progress: Option<indicatif::ProgressBar>,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.pos += n as u64;
        if let Some(p) = &self.progress {
            p.inc(n as u64);
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn copy_range<W: Write>(
    src: &Source,
    from: u64,
    len: u64,
    out: &mut W,
    buf: &mut [u8],
) -> io::Result<()> {
    let mut off = 0;
    while off < len {
        let n = ((len - off) as usize).min(buf.len());
        src.read_exact_at(&mut buf[..n], from + off)?;
        out.write_all(&buf[..n])?;
        off += n as u64;
    }
    Ok(())
}

/// What copying the kept entries produced.
pub struct Copied {
    /// Central directory records of the kept entries, in input CD order.
    pub cd_records: Vec<Vec<u8>>,
    /// The latest (date, time) of the kept entries, for the new ones.
    pub newest: Option<(u16, u16)>,
    /// Kept uncompressed entries and their output data offsets.
    pub stored: Vec<(String, u64)>,
}

fn too_big() -> io::Error {
    io::Error::other("the signed APK would exceed 4 GiB, which needs ZIP64 (not supported by Android's APK format)")
}

/// Copies the kept entries (and any bytes between them) in local header order.
pub fn copy_entries<W: Write>(
    input: &Input,
    keep: &dyn Fn(&Entry) -> bool,
    align: Alignment,
    out: &mut Counting<W>,
) -> io::Result<Copied> {
    let src = &input.src;
    let mut buf = vec![0u8; IO_CHUNK];
    let mut order: Vec<usize> = (0..input.entries.len()).collect();
    order.sort_by_key(|&i| input.entries[i].local.lfh_offset);
    let mut new_offsets: Vec<Option<u64>> = vec![None; input.entries.len()];
    let mut newest: Option<(u16, u16)> = None;
    let mut stored = Vec::new();
    let mut in_pos = 0u64;
    for i in order {
        let e = &input.entries[i];
        let start = e.local.lfh_offset;
        if start > in_pos {
            // Bytes that belong to no entry are kept, as apksig does.
            copy_range(src, in_pos, start - in_pos, out, &mut buf)?;
        }
        in_pos = e.local.end;
        if !keep(e) {
            continue;
        }
        if newest.is_none_or(|n| (e.mdate, e.mtime) > n) {
            newest = Some((e.mdate, e.mtime));
        }
        let out_start = out.pos;
        if out_start > u64::from(u32::MAX) {
            return Err(too_big());
        }
        new_offsets[i] = Some(out_start);
        let data_in_record = e.local.data_offset - start;
        let m = align.multiple(e);
        let verbatim = if align.preserve {
            start == out_start
                || m <= 1
                || start % m == out_start % m
                || e.local.data_offset % m != 0
        } else {
            m <= 1
        };
        let data_out = if verbatim {
            copy_range(src, start, e.local.end - start, out, &mut buf)?;
            out_start + data_in_record
        } else {
            let extra_start = out_start + LFH_HEADER + e.lfh_name_len;
            let extra = aligning_extra(&e.extra, extra_start, m).map_err(io::Error::other)?;
            let mut head = [0u8; 30];
            src.read_exact_at(&mut head, start)?;
            head[28..30].copy_from_slice(&(extra.len() as u16).to_le_bytes());
            out.write_all(&head)?;
            copy_range(src, start + LFH_HEADER, e.lfh_name_len, out, &mut buf)?;
            out.write_all(&extra)?;
            let data_out = out.pos;
            copy_range(
                src,
                e.local.data_offset,
                e.local.end - e.local.data_offset,
                out,
                &mut buf,
            )?;
            data_out
        };
        if !e.rec.is_compressed() {
            stored.push((e.name().to_string(), data_out));
        }
    }
    if in_pos < input.lfh_end {
        copy_range(src, in_pos, input.lfh_end - in_pos, out, &mut buf)?;
    }
    if out.pos > u64::from(u32::MAX) {
        return Err(too_big());
    }
    let mut cd_records = Vec::new();
    for (e, off) in input.entries.iter().zip(&new_offsets) {
        if let Some(off) = off {
            let mut r = input.cd[e.cd_raw.clone()].to_vec();
            r[42..46].copy_from_slice(&(*off as u32).to_le_bytes());
            cd_records.push(r);
        }
    }
    Ok(Copied {
        cd_records,
        newest,
        stored,
    })
}

/// Writes a new deflated entry (local header + data) and returns its CD record.
pub fn write_new_entry<W: Write>(
    out: &mut Counting<W>,
    name: &str,
    data: &[u8],
    (mdate, mtime): (u16, u16),
) -> io::Result<Vec<u8>> {
    let compressed = deflate(data)?;
    let crc = crc32fast::hash(data);
    let offset = out.pos;
    if offset > u64::from(u32::MAX) {
        return Err(too_big());
    }
    let name_b = name.as_bytes();
    let mut h = Vec::with_capacity(30 + name_b.len());
    h.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    h.extend_from_slice(&0x14u16.to_le_bytes());
    h.extend_from_slice(&0x0800u16.to_le_bytes()); // UTF-8 names
    h.extend_from_slice(&8u16.to_le_bytes());
    h.extend_from_slice(&mtime.to_le_bytes());
    h.extend_from_slice(&mdate.to_le_bytes());
    h.extend_from_slice(&crc.to_le_bytes());
    h.extend_from_slice(&(compressed.len() as u32).to_le_bytes());
    h.extend_from_slice(&(data.len() as u32).to_le_bytes());
    h.extend_from_slice(&(name_b.len() as u16).to_le_bytes());
    h.extend_from_slice(&0u16.to_le_bytes());
    h.extend_from_slice(name_b);
    out.write_all(&h)?;
    out.write_all(&compressed)?;
    let mut c = Vec::with_capacity(46 + name_b.len());
    c.extend_from_slice(&CD_SIG.to_le_bytes());
    c.extend_from_slice(&0x14u16.to_le_bytes());
    c.extend_from_slice(&0x14u16.to_le_bytes());
    c.extend_from_slice(&0x0800u16.to_le_bytes());
    c.extend_from_slice(&8u16.to_le_bytes());
    c.extend_from_slice(&mtime.to_le_bytes());
    c.extend_from_slice(&mdate.to_le_bytes());
    c.extend_from_slice(&crc.to_le_bytes());
    c.extend_from_slice(&(compressed.len() as u32).to_le_bytes());
    c.extend_from_slice(&(data.len() as u32).to_le_bytes());
    c.extend_from_slice(&(name_b.len() as u16).to_le_bytes());
    c.extend_from_slice(&[0u8; 12]); // extra, comment, disk, attributes
    c.extend_from_slice(&(offset as u32).to_le_bytes());
    c.extend_from_slice(name_b);
    Ok(c)
}

/// Raw deflate at level 9 with zlib's algorithm (zlib-rs), as Java's
/// `Deflater(9, true)` in apksig: small signature files come out byte for byte
/// as apksig writes them.
pub fn deflate(data: &[u8]) -> io::Result<Vec<u8>> {
    use zlib_rs::{compress_bound, compress_slice, DeflateConfig, Method, ReturnCode, Strategy};
    let config = DeflateConfig {
        level: 9,
        method: Method::Deflated,
        window_bits: -15,
        mem_level: 8,
        strategy: Strategy::Default,
    };
    let mut out = vec![0u8; compress_bound(data.len()) + 64];
    let (written, rc) = compress_slice(&mut out, data, config);
    if rc != ReturnCode::Ok {
        return Err(io::Error::other(format!("deflate failed: {rc:?}")));
    }
    let n = written.len();
    out.truncate(n);
    Ok(out)
}

/// The End of Central Directory record: the input's (comment included) with
/// the entry count, directory size and offset replaced.
pub fn eocd(input: &Input, count: usize, cd_size: u64, cd_offset: u64) -> io::Result<Vec<u8>> {
    if count > usize::from(u16::MAX) {
        return Err(io::Error::other(format!(
            "{count} entries need ZIP64, which APKs cannot use"
        )));
    }
    let mut e = input.sections.eocd.clone();
    if e.len() < 22 {
        return Err(io::Error::other(
            "End of Central Directory record too short",
        ));
    }
    e[8..10].copy_from_slice(&(count as u16).to_le_bytes());
    e[10..12].copy_from_slice(&(count as u16).to_le_bytes());
    e[12..16].copy_from_slice(&(cd_size as u32).to_le_bytes());
    e[16..20].copy_from_slice(&(cd_offset as u32).to_le_bytes());
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alignment_field_puts_data_on_the_boundary() {
        for start in [0u64, 1, 2, 3, 100, 4095, 16383] {
            for m in [4u64, 4096, 16384] {
                let old = [0x34u8, 0x12, 2, 0, 9, 9, 0, 0, 0, 0];
                let e = aligning_extra(&old, start, m).unwrap();
                assert_eq!((start + e.len() as u64) % m, 0, "start {start} m {m}");
                // Foreign fields are kept, legacy zero padding dropped.
                assert_eq!(&e[..6], &old[..6]);
                assert_eq!(declared_alignment(&e), Some(m));
            }
        }
        // A hostile declared alignment cannot overflow the 16-bit extra field.
        assert!(aligning_extra(&[], 65530, 65535).is_err());
    }

    #[test]
    fn deflate_round_trips() {
        let data = b"Manifest-Version: 1.0\r\nCreated-By: 1.0 (Android)\r\n\r\n".repeat(50);
        let z = deflate(&data).unwrap();
        let mut d = flate2::Decompress::new(false);
        let mut out = Vec::with_capacity(data.len() + 10);
        d.decompress_vec(&z, &mut out, flate2::FlushDecompress::Finish)
            .unwrap();
        assert_eq!(out, data);
        assert!(deflate(&[]).is_ok());
    }
}
