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
use crate::zip::android::{self as zip, CdRecord, Local, Sections};
use crate::zip::records::{self, LFH_HEADER};
use crate::zip::write::{copy_range, patch_end_record, Header};
use crate::zip::{le16, Limits, Source, ZipError};

pub use crate::zip::write::Counting;

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
    Archive(crate::zip::Problem),
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
    pub local: Local,
    /// The local header's extra field.
    extra: Vec<u8>,
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
    // The directory, folders included, and the checks every archive reader
    // shares (names, duplicates, links, bombs) before any local header is read.
    let dir = zip::open(&src, limits, true).map_err(|e| match e {
        zip::OpenError::Zip(e) => e.into(),
        zip::OpenError::Archive(p) => InputError::Archive(p),
    })?;
    let sections = dir.sections;
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
    let mut entries = Vec::with_capacity(dir.records.len());
    for rec in dir.records {
        if rec.name.contains(['\r', '\n']) {
            return Err(InputError::Malformed(format!(
                "entry name {:?} contains a line break, which a JAR manifest cannot list",
                rec.name
            )));
        }
        let local = zip::local(&src, &rec, lfh_end, true)?;
        let extra = src.read_vec(
            local.lfh_offset + LFH_HEADER as u64 + u64::from(local.name_len),
            u64::from(local.extra_len),
        )?;
        entries.push(Entry { rec, local, extra });
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
        cd: dir.cd,
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
        let when = (e.rec.time.date, e.rec.time.time);
        if newest.is_none_or(|n| when > n) {
            newest = Some(when);
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
            let name_len = u64::from(e.local.name_len);
            let extra_start = out_start + LFH_HEADER as u64 + name_len;
            let extra = aligning_extra(&e.extra, extra_start, m).map_err(io::Error::other)?;
            let mut head = [0u8; 30];
            src.read_exact_at(&mut head, start)?;
            head[28..30].copy_from_slice(&(extra.len() as u16).to_le_bytes());
            out.write_all(&head)?;
            copy_range(src, start + LFH_HEADER as u64, name_len, out, &mut buf)?;
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
            let mut r = input.cd[e.rec.raw.clone()].to_vec();
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

/// Writes a new deflated entry (local header + data) and returns its CD
/// record, laid out as apksig writes it (UTF-8 flag, version 2.0, no extra
/// field, no attributes).
pub fn write_new_entry<W: Write>(
    out: &mut Counting<W>,
    name: &str,
    data: &[u8],
    (mdate, mtime): (u16, u16),
) -> io::Result<Vec<u8>> {
    let compressed = deflate(data)?;
    let offset = out.pos;
    if offset > u64::from(u32::MAX) {
        return Err(too_big());
    }
    let h = Header {
        made_by: 0x14,
        version_needed: 0x14,
        flags: records::FLAG_UTF8,
        method: records::DEFLATED,
        time: records::DosTime {
            date: mdate,
            time: mtime,
        },
        crc32: crc32fast::hash(data),
        compressed_size: compressed.len() as u64,
        size: data.len() as u64,
        name: name.as_bytes().to_vec(),
        offset,
        ..Header::default()
    };
    out.write_all(&h.local())?;
    out.write_all(&compressed)?;
    Ok(h.central())
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
    patch_end_record(&input.sections.eocd, count as u64, cd_size, cd_offset)
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
