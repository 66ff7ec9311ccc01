//! The ZIP structures on disk (APPNOTE 6.3.x), parsed without judging them:
//! the End of Central Directory record and its Zip64 counterpart, central
//! directory records, local file headers, the Zip64 extra field and DOS
//! timestamps. The audit and the APK reader word their own verdicts.

use std::io;

use super::{le16, le32, le64, Source};

pub const LFH_SIG: u32 = 0x0403_4b50;
pub const CD_SIG: u32 = 0x0201_4b50;
pub const EOCD_SIG: u32 = 0x0605_4b50;
pub const EOCD64_SIG: u32 = 0x0606_4b50;
pub const EOCD64_LOCATOR_SIG: u32 = 0x0706_4b50;
pub const DATA_DESCRIPTOR_SIG: u32 = 0x0807_4b50;

pub const EOCD_LEN: u64 = 22;
pub const EOCD64_LEN: u64 = 56;
pub const LOCATOR_LEN: u64 = 20;
pub const CD_HEADER: usize = 46;
pub const LFH_HEADER: usize = 30;
/// The central directory is read into memory; 2 million entries fit.
pub const MAX_CD_BYTES: u64 = 256 << 20;
/// The longest comment an end record can carry.
pub const MAX_COMMENT: u64 = 0xffff;

pub const FLAG_ENCRYPTED: u16 = 0x0001;
pub const FLAG_DATA_DESCRIPTOR: u16 = 0x0008;
pub const FLAG_UTF8: u16 = 0x0800;

pub const STORED: u16 = 0;
pub const DEFLATED: u16 = 8;

pub const ZIP64_EXTRA: u16 = 0x0001;
/// A 32-bit field that says "see the Zip64 record".
pub const MAX32: u64 = 0xffff_ffff;
pub const MAX16: u64 = 0xffff;

pub const HOST_UNIX: u8 = 3;
pub const S_IFMT: u32 = 0o170000;
pub const S_IFLNK: u32 = 0o120000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFREG: u32 = 0o100000;

/// The End of Central Directory record, as found (its 16- and 32-bit fields).
#[derive(Clone, Debug)]
pub struct End {
    /// File offset of the record.
    pub offset: u64,
    pub disk: u16,
    pub cd_disk: u16,
    pub entries_on_disk: u16,
    pub entries: u16,
    pub cd_size: u32,
    pub cd_offset: u32,
    /// The record, its comment included.
    pub record: Vec<u8>,
}

impl End {
    fn parse(offset: u64, record: Vec<u8>) -> End {
        End {
            offset,
            disk: le16(&record, 4),
            cd_disk: le16(&record, 6),
            entries_on_disk: le16(&record, 8),
            entries: le16(&record, 10),
            cd_size: le32(&record, 12),
            cd_offset: le32(&record, 16),
            record,
        }
    }

    /// A field is saturated: the real value is in the Zip64 end record.
    pub fn wants_zip64(&self) -> bool {
        u64::from(self.entries) == MAX16
            || u64::from(self.cd_size) == MAX32
            || u64::from(self.cd_offset) == MAX32
    }

    pub fn comment(&self) -> &[u8] {
        self.record.get(EOCD_LEN as usize..).unwrap_or_default()
    }
}

/// Finds the End of Central Directory record as Android and Info-ZIP do: the
/// record nearest the end whose comment reaches exactly to the end of the file
/// (first assuming no comment, the usual case, with a 22-byte read). `None`
/// when the file is too small or has no such record.
pub fn find_end(src: &Source) -> io::Result<Option<End>> {
    let len = src.len();
    if len < EOCD_LEN {
        return Ok(None);
    }
    for max_comment in [0, MAX_COMMENT] {
        let window = (EOCD_LEN + max_comment).min(len);
        let start = len - window;
        let mut buf = vec![0u8; window as usize];
        src.read_exact_at(&mut buf, start)?;
        let last = buf.len() - EOCD_LEN as usize;
        let found = (0..=last.min(max_comment as usize))
            .map(|comment| last - comment)
            .find(|&at| le32(&buf, at) == EOCD_SIG && le16(&buf, at + 20) as usize == last - at);
        if let Some(at) = found {
            buf.drain(..at);
            return Ok(Some(End::parse(start + at as u64, buf)));
        }
    }
    Ok(None)
}

/// The Zip64 End of Central Directory record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct End64 {
    /// File offset of the record.
    pub offset: u64,
    pub disk: u32,
    pub cd_disk: u32,
    pub entries: u64,
    pub cd_size: u64,
    pub cd_offset: u64,
}

/// Why the Zip64 end record could not be read.
#[derive(Debug)]
pub enum End64Error {
    /// The locator points outside the file or past itself.
    OutOfRange,
    /// No record where the locator points.
    Missing,
    Io(io::Error),
}

/// The Zip64 end record, when a locator sits right before the end record.
pub fn find_end64(src: &Source, end: &End) -> Result<Option<End64>, End64Error> {
    if end.offset < LOCATOR_LEN {
        return Ok(None);
    }
    let mut loc = [0u8; LOCATOR_LEN as usize];
    src.read_exact_at(&mut loc, end.offset - LOCATOR_LEN)
        .map_err(End64Error::Io)?;
    if le32(&loc, 0) != EOCD64_LOCATOR_SIG {
        return Ok(None);
    }
    let at = le64(&loc, 8);
    if at
        .checked_add(EOCD64_LEN)
        .is_none_or(|e| e > end.offset - LOCATOR_LEN)
    {
        return Err(End64Error::OutOfRange);
    }
    let mut r = [0u8; EOCD64_LEN as usize];
    src.read_exact_at(&mut r, at).map_err(End64Error::Io)?;
    if le32(&r, 0) != EOCD64_SIG {
        return Err(End64Error::Missing);
    }
    Ok(Some(End64 {
        offset: at,
        disk: le32(&r, 16),
        cd_disk: le32(&r, 20),
        entries: le64(&r, 32),
        cd_size: le64(&r, 40),
        cd_offset: le64(&r, 48),
    }))
}

/// One central directory record, borrowed from the directory's bytes. Sizes
/// and offset are as recorded (see [`Central::zip64`]).
#[derive(Clone, Debug)]
pub struct Central<'a> {
    /// The whole record: header, name, extra field and comment.
    pub raw: &'a [u8],
    pub made_by: u16,
    pub version_needed: u16,
    pub flags: u16,
    pub method: u16,
    pub time: DosTime,
    pub crc32: u32,
    pub compressed_size: u64,
    pub size: u64,
    pub disk: u16,
    pub internal_attrs: u16,
    pub external_attrs: u32,
    pub lfh_offset: u64,
    pub name: &'a [u8],
    pub extra: &'a [u8],
    pub comment: &'a [u8],
}

/// Why the bytes at a position are not a central directory record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CentralError<'a> {
    /// Fewer than 46 bytes left.
    Short {
        left: usize,
    },
    Signature(u32),
    /// The variable parts run past the directory; `name` is set when the name
    /// and extra field fit (only the comment does not).
    Overrun {
        need: usize,
        left: usize,
        name: Option<&'a [u8]>,
    },
}

impl<'a> Central<'a> {
    /// Parses the record at the start of `buf`.
    pub fn parse(buf: &'a [u8]) -> Result<Central<'a>, CentralError<'a>> {
        if buf.len() < CD_HEADER {
            return Err(CentralError::Short { left: buf.len() });
        }
        if le32(buf, 0) != CD_SIG {
            return Err(CentralError::Signature(le32(buf, 0)));
        }
        let name_len = usize::from(le16(buf, 28));
        let extra_len = usize::from(le16(buf, 30));
        let comment_len = usize::from(le16(buf, 32));
        let need = CD_HEADER + name_len + extra_len + comment_len;
        if need > buf.len() {
            let fits = CD_HEADER + name_len + extra_len <= buf.len();
            return Err(CentralError::Overrun {
                need,
                left: buf.len(),
                name: fits.then(|| &buf[CD_HEADER..CD_HEADER + name_len]),
            });
        }
        let name_end = CD_HEADER + name_len;
        let extra_end = name_end + extra_len;
        Ok(Central {
            raw: &buf[..need],
            made_by: le16(buf, 4),
            version_needed: le16(buf, 6),
            flags: le16(buf, 8),
            method: le16(buf, 10),
            time: DosTime {
                time: le16(buf, 12),
                date: le16(buf, 14),
            },
            crc32: le32(buf, 16),
            compressed_size: u64::from(le32(buf, 20)),
            size: u64::from(le32(buf, 24)),
            disk: le16(buf, 34),
            internal_attrs: le16(buf, 36),
            external_attrs: le32(buf, 38),
            lfh_offset: u64::from(le32(buf, 42)),
            name: &buf[CD_HEADER..name_end],
            extra: &buf[name_end..extra_end],
            comment: &buf[extra_end..need],
        })
    }

    /// The record's length in the directory.
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The Unix mode, for records made on Unix.
    pub fn unix_mode(&self) -> Option<u32> {
        ((self.made_by >> 8) as u8 == HOST_UNIX).then_some(self.external_attrs >> 16)
    }

    /// Replaces saturated sizes and offset with the Zip64 extra field's values;
    /// `false` when a saturated field has no value there.
    #[must_use]
    pub fn zip64(&mut self) -> bool {
        let want = [
            self.size == MAX32,
            self.compressed_size == MAX32,
            self.lfh_offset == MAX32,
        ];
        if !want.contains(&true) {
            return true;
        }
        let Some(z) = zip64_fields(self.extra, want) else {
            return false;
        };
        self.size = z[0].unwrap_or(self.size);
        self.compressed_size = z[1].unwrap_or(self.compressed_size);
        self.lfh_offset = z[2].unwrap_or(self.lfh_offset);
        true
    }
}

/// The Zip64 extended information field: the values of the fields `want`s
/// (uncompressed size, compressed size, local header offset), in that order.
pub fn zip64_fields(extra: &[u8], want: [bool; 3]) -> Option<[Option<u64>; 3]> {
    let body = extra_field(extra, ZIP64_EXTRA)?;
    let mut out = [None; 3];
    let mut at = 0;
    for (i, w) in want.iter().enumerate() {
        if *w {
            if body.len() < at + 8 {
                return None;
            }
            out[i] = Some(le64(body, at));
            at += 8;
        }
    }
    Some(out)
}

/// The body of the first extra field with `id`, if the fields before it are well formed.
pub fn extra_field(extra: &[u8], id: u16) -> Option<&[u8]> {
    let mut pos = 0;
    while pos + 4 <= extra.len() {
        let len = usize::from(le16(extra, pos + 2));
        let body = extra.get(pos + 4..pos + 4 + len)?;
        if le16(extra, pos) == id {
            return Some(body);
        }
        pos += 4 + len;
    }
    None
}

/// `extra` without any field of `id` (a malformed tail is kept as it is).
pub fn without_field(extra: &[u8], id: u16) -> Vec<u8> {
    let mut out = Vec::with_capacity(extra.len());
    let mut pos = 0;
    while pos + 4 <= extra.len() {
        let len = usize::from(le16(extra, pos + 2));
        let Some(field) = extra.get(pos..pos + 4 + len) else {
            break;
        };
        if le16(extra, pos) != id {
            out.extend_from_slice(field);
        }
        pos += 4 + len;
    }
    out.extend_from_slice(extra.get(pos..).unwrap_or_default());
    out
}

/// A local file header: its fixed part and as much of its name as was asked for.
#[derive(Clone, Debug)]
pub struct Local {
    pub offset: u64,
    pub flags: u16,
    pub method: u16,
    pub time: DosTime,
    pub crc32: u32,
    pub compressed_size: u64,
    pub size: u64,
    /// Name and extra lengths as recorded.
    pub name_len: u16,
    pub extra_len: u16,
    head: Vec<u8>,
}

impl Local {
    /// Reads the header at `offset` with `name_len` bytes after its fixed part
    /// (the central directory's name length: the names are compared after).
    /// `Ok(None)` when there is no local header signature there.
    pub fn read(src: &Source, offset: u64, name_len: usize) -> io::Result<Option<Local>> {
        let mut head = vec![0u8; LFH_HEADER + name_len];
        src.read_exact_at(&mut head, offset)?;
        if le32(&head, 0) != LFH_SIG {
            return Ok(None);
        }
        Ok(Some(Local {
            offset,
            flags: le16(&head, 6),
            method: le16(&head, 8),
            time: DosTime {
                time: le16(&head, 10),
                date: le16(&head, 12),
            },
            crc32: le32(&head, 14),
            compressed_size: u64::from(le32(&head, 18)),
            size: u64::from(le32(&head, 22)),
            name_len: le16(&head, 26),
            extra_len: le16(&head, 28),
            head,
        }))
    }

    /// The header's name, as far as it was read.
    pub fn name(&self) -> &[u8] {
        let end = (LFH_HEADER + usize::from(self.name_len)).min(self.head.len());
        self.head.get(LFH_HEADER..end).unwrap_or_default()
    }

    /// The fixed 30 bytes, as stored.
    pub fn fixed(&self) -> &[u8] {
        &self.head[..LFH_HEADER]
    }

    /// Where the extra field starts.
    pub fn extra_offset(&self) -> u64 {
        self.offset + LFH_HEADER as u64 + u64::from(self.name_len)
    }

    /// Where the entry's data starts.
    pub fn data_offset(&self) -> u64 {
        self.extra_offset() + u64::from(self.extra_len)
    }

    pub fn has_descriptor(&self) -> bool {
        self.flags & FLAG_DATA_DESCRIPTOR != 0
    }
}

/// A data descriptor after an entry's data (flag bit 3): the CRC and sizes
/// that the local header left as zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Descriptor {
    /// Its length: 12 bytes, 20 with Zip64 sizes, plus 4 with the optional signature.
    pub len: u64,
    pub crc32: u32,
    pub compressed_size: u64,
    pub size: u64,
}

/// The longest a data descriptor can be.
pub const MAX_DESCRIPTOR: u64 = 24;

/// Every way the bytes after an entry's data can be read as a descriptor:
/// with or without its optional signature, with 4- or 8-byte sizes (8 for
/// Zip64 entries). The caller keeps the one that matches the central directory.
pub fn descriptors(b: &[u8]) -> Vec<Descriptor> {
    let mut out = Vec::new();
    for sig in [true, false] {
        if sig && le32(b, 0) != DATA_DESCRIPTOR_SIG {
            continue;
        }
        let d = &b[usize::from(sig) * 4..];
        for zip64 in [false, true] {
            let body = if zip64 { 20 } else { 12 };
            if d.len() < body {
                continue;
            }
            let (compressed_size, size) = if zip64 {
                (le64(d, 4), le64(d, 12))
            } else {
                (u64::from(le32(d, 4)), u64::from(le32(d, 8)))
            };
            out.push(Descriptor {
                len: (body + usize::from(sig) * 4) as u64,
                crc32: le32(d, 0),
                compressed_size,
                size,
            });
        }
    }
    out
}

/// An MS-DOS date and time, as ZIP stores them (local time, 2-second steps).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DosTime {
    pub date: u16,
    pub time: u16,
}

impl DosTime {
    /// 1980-01-01 00:00, the earliest a ZIP can say.
    pub const EPOCH: DosTime = DosTime {
        date: 0x21,
        time: 0,
    };

    /// The DOS fields for `t`, clamped to 1980..=2107.
    pub fn from_datetime(t: time::OffsetDateTime) -> DosTime {
        let year = t.year().clamp(1980, 2107);
        if year != t.year() {
            return if t.year() < 1980 {
                DosTime::EPOCH
            } else {
                DosTime {
                    date: (127 << 9) | (12 << 5) | 31,
                    time: (23 << 11) | (59 << 5) | 29,
                }
            };
        }
        DosTime {
            date: (((year - 1980) as u16) << 9)
                | (u16::from(u8::from(t.month())) << 5)
                | u16::from(t.day()),
            time: (u16::from(t.hour()) << 11)
                | (u16::from(t.minute()) << 5)
                | (u16::from(t.second()) / 2),
        }
    }

    /// Now, in UTC (ZIP has no time zone; UTC keeps outputs reproducible across zones).
    pub fn now() -> DosTime {
        DosTime::from_datetime(time::OffsetDateTime::now_utc())
    }

    /// `(year, month, day, hour, minute, second)`.
    pub fn parts(self) -> (u16, u8, u8, u8, u8, u8) {
        (
            1980 + (self.date >> 9),
            ((self.date >> 5) & 0xf) as u8,
            (self.date & 0x1f) as u8,
            (self.time >> 11) as u8,
            ((self.time >> 5) & 0x3f) as u8,
            ((self.time & 0x1f) * 2) as u8,
        )
    }
}

/// Decodes a name: UTF-8 when flagged or valid as such (what Info-ZIP and
/// Apple's tools write), else code page 437 (the format's original charset).
pub fn decode_name(raw: &[u8], flags: u16) -> String {
    if flags & FLAG_UTF8 != 0 {
        return String::from_utf8_lossy(raw).into_owned();
    }
    match std::str::from_utf8(raw) {
        Ok(s) => s.to_string(),
        Err(_) => raw.iter().map(|&b| cp437(b)).collect(),
    }
}

fn cp437(b: u8) -> char {
    const HIGH: &str = "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u{a0}";
    if b < 0x80 {
        b as char
    } else {
        HIGH.chars()
            .nth(usize::from(b - 0x80))
            .unwrap_or('\u{fffd}')
    }
}

/// The names in an archive's central directory, read without auditing
/// anything else (to tell an IPA from an APK; every reader of content goes
/// through [`super::Archive::open`] or the APK reader). `None` when the file
/// has no readable directory.
pub fn list_names(src: &Source) -> Option<Vec<String>> {
    let end = find_end(src).ok()??;
    let (count, cd_size, cd_offset) = match find_end64(src, &end) {
        Ok(Some(z)) if end.wants_zip64() => (z.entries, z.cd_size, z.cd_offset),
        _ => (
            u64::from(end.entries),
            u64::from(end.cd_size),
            u64::from(end.cd_offset),
        ),
    };
    if cd_size > MAX_CD_BYTES || cd_offset.checked_add(cd_size).is_none_or(|e| e > src.len()) {
        return None;
    }
    let mut cd = vec![0u8; cd_size as usize];
    src.read_exact_at(&mut cd, cd_offset).ok()?;
    let mut names = Vec::new();
    let mut pos = 0;
    for _ in 0..count {
        let c = Central::parse(cd.get(pos..)?).ok()?;
        names.push(decode_name(c.name, c.flags));
        pos += c.len();
    }
    Some(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dos_times_round_trip() {
        let t = time::macros::datetime!(2026-06-01 13:45:58 UTC);
        let d = DosTime::from_datetime(t);
        assert_eq!(d.parts(), (2026, 6, 1, 13, 45, 58));
        let old = time::macros::datetime!(1970-01-01 0:00 UTC);
        assert_eq!(DosTime::from_datetime(old), DosTime::EPOCH);
        assert_eq!(DosTime::EPOCH.parts(), (1980, 1, 1, 0, 0, 0));
    }

    #[test]
    fn names_decode_as_readers_do() {
        assert_eq!(decode_name(b"a/b.txt", 0), "a/b.txt");
        assert_eq!(decode_name("é".as_bytes(), 0), "é");
        assert_eq!(decode_name(&[0x82, b'x'], 0), "éx");
        assert_eq!(decode_name(&[0xff], FLAG_UTF8), "\u{fffd}");
        assert_eq!(decode_name(&[0xff], 0), "\u{a0}");
    }

    #[test]
    fn extra_fields() {
        let mut extra = Vec::new();
        extra.extend_from_slice(&[0x55, 0x54, 1, 0, 7]);
        extra.extend_from_slice(&[1, 0, 16, 0]);
        extra.extend_from_slice(&5u64.to_le_bytes());
        extra.extend_from_slice(&6u64.to_le_bytes());
        assert_eq!(
            zip64_fields(&extra, [true, true, false]),
            Some([Some(5), Some(6), None])
        );
        assert_eq!(zip64_fields(&extra, [true, true, true]), None);
        assert_eq!(
            without_field(&extra, ZIP64_EXTRA),
            vec![0x55, 0x54, 1, 0, 7]
        );
        // A field that claims more than there is hides what follows.
        assert_eq!(extra_field(&[1, 0, 200, 0, 1], ZIP64_EXTRA), None);
    }
}
