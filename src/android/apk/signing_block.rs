//! The APK Signing Block: `u64 size | (u64 len, u32 id, value)* | u64 size |
//! "APK Sig Block 42"`, immediately before the central directory. A block that
//! is not exactly there, or whose two sizes differ, does not exist for Android
//! (it falls back to the JAR signature), so "not found" carries the reason.

use crate::zip::android::Sections;
use crate::zip::{Source, ZipError};

pub const MAGIC: &[u8; 16] = b"APK Sig Block 42";
pub const V2_BLOCK_ID: u32 = 0x7109_871a;
pub const V3_BLOCK_ID: u32 = 0xf053_68c0;
pub const V31_BLOCK_ID: u32 = 0x1b93_ad61;
/// Largest signing block read into memory (apksigner writes a few KiB).
pub const MAX_BLOCK: u64 = 64 << 20;

/// A signing block found before the central directory.
pub struct SigningBlock {
    /// File offset of the block's first size field.
    pub offset: u64,
    /// The whole block, both size fields and the magic included.
    pub bytes: Vec<u8>,
}

/// Locates the block. `Ok(Err(reason))` means Android would not see one.
pub fn find(src: &Source, s: &Sections) -> Result<Result<SigningBlock, String>, ZipError> {
    let cd_end = s.cd_offset + s.cd_size;
    if cd_end != s.eocd_offset {
        return Ok(Err(format!(
            "the central directory (ending at {cd_end}) is not immediately followed by the End of Central Directory record (at {})",
            s.eocd_offset
        )));
    }
    if s.cd_offset < 32 {
        return Ok(Err(
            "the APK is too small to hold an APK Signing Block".into()
        ));
    }
    let mut footer = [0u8; 24];
    src.read_exact_at(&mut footer, s.cd_offset - 24)?;
    if &footer[8..] != MAGIC {
        return Ok(Err(
            "no APK Signing Block before the central directory".into()
        ));
    }
    let size = u64::from_le_bytes(footer[..8].try_into().unwrap_or_default());
    if size < 24 || size > i32::MAX as u64 - 8 {
        return Ok(Err(format!("APK Signing Block size out of range: {size}")));
    }
    let total = size + 8;
    if total > s.cd_offset {
        return Ok(Err(format!(
            "APK Signing Block size {size} runs before the start of the file"
        )));
    }
    let offset = s.cd_offset - total;
    let mut header = [0u8; 8];
    src.read_exact_at(&mut header, offset)?;
    let head_size = u64::from_le_bytes(header);
    if head_size != size {
        return Ok(Err(format!(
            "APK Signing Block sizes in header and footer differ: {head_size} vs {size}"
        )));
    }
    if total > MAX_BLOCK {
        return Err(ZipError::Malformed(format!(
            "the APK Signing Block claims {total} bytes, far more than any signer writes"
        )));
    }
    let bytes = src.read_vec(offset, total)?;
    Ok(Ok(SigningBlock { offset, bytes }))
}

impl SigningBlock {
    /// The value of the first ID-value pair with `id`. A malformed pair list
    /// hides every later pair, as on Android.
    pub fn pair(&self, id: u32) -> Result<&[u8], String> {
        let pairs = self
            .bytes
            .get(8..self.bytes.len().saturating_sub(24))
            .unwrap_or(&[]);
        let mut pos = 0usize;
        let mut n = 0;
        while pos < pairs.len() {
            n += 1;
            if pairs.len() - pos < 8 {
                return Err(format!(
                    "insufficient data to read the size of APK Signing Block entry #{n}"
                ));
            }
            let len = u64::from_le_bytes(pairs[pos..pos + 8].try_into().unwrap_or_default());
            pos += 8;
            if !(4..=i32::MAX as u64).contains(&len) || len as usize > pairs.len() - pos {
                return Err(format!(
                    "APK Signing Block entry #{n} size out of range: {len}"
                ));
            }
            let len = len as usize;
            let pair_id = u32::from_le_bytes(pairs[pos..pos + 4].try_into().unwrap_or_default());
            if pair_id == id {
                return Ok(&pairs[pos + 4..pos + len]);
            }
            pos += len;
        }
        Err(format!(
            "no block with ID {id:#010x} in the APK Signing Block"
        ))
    }

    /// IDs of the pairs, in order, for reports.
    pub fn ids(&self) -> Vec<u32> {
        let pairs = self
            .bytes
            .get(8..self.bytes.len().saturating_sub(24))
            .unwrap_or(&[]);
        let mut out = Vec::new();
        let mut pos = 0usize;
        while pairs.len().saturating_sub(pos) >= 12 {
            let len = u64::from_le_bytes(pairs[pos..pos + 8].try_into().unwrap_or_default());
            if len < 4 || len > (pairs.len() - pos - 8) as u64 {
                break;
            }
            out.push(u32::from_le_bytes(
                pairs[pos + 8..pos + 12].try_into().unwrap_or_default(),
            ));
            pos += 8 + len as usize;
        }
        out
    }
}

/// A little-endian reader over the length-prefixed structures of the v2/v3
/// blocks. Every read is checked; a short read is `Err(Short)`.
#[derive(Clone, Copy)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

/// A structure ended early or announced a length larger than what is left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Short;

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn u32(&mut self) -> Result<u32, Short> {
        let (head, rest) = self.buf.split_at_checked(4).ok_or(Short)?;
        self.buf = rest;
        Ok(u32::from_le_bytes(head.try_into().map_err(|_| Short)?))
    }

    pub fn i32(&mut self) -> Result<i32, Short> {
        self.u32().map(|v| v as i32)
    }

    /// A `u32` length followed by that many bytes.
    pub fn prefixed(&mut self) -> Result<&'a [u8], Short> {
        let len = self.i32()?;
        if len < 0 {
            return Err(Short);
        }
        let (head, rest) = self.buf.split_at_checked(len as usize).ok_or(Short)?;
        self.buf = rest;
        Ok(head)
    }

    pub fn rest(self) -> &'a [u8] {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(pairs: &[(u32, &[u8])]) -> SigningBlock {
        let mut body = Vec::new();
        for (id, v) in pairs {
            body.extend_from_slice(&((v.len() + 4) as u64).to_le_bytes());
            body.extend_from_slice(&id.to_le_bytes());
            body.extend_from_slice(v);
        }
        let size = (body.len() + 24) as u64;
        let mut b = size.to_le_bytes().to_vec();
        b.extend_from_slice(&body);
        b.extend_from_slice(&size.to_le_bytes());
        b.extend_from_slice(MAGIC);
        SigningBlock {
            offset: 0,
            bytes: b,
        }
    }

    #[test]
    fn finds_pairs_and_stops_at_lies() {
        let b = block(&[(1, b"one"), (V2_BLOCK_ID, b"v2"), (V3_BLOCK_ID, b"")]);
        assert_eq!(b.pair(V2_BLOCK_ID), Ok(&b"v2"[..]));
        assert_eq!(b.pair(V3_BLOCK_ID), Ok(&b""[..]));
        assert!(b.pair(V31_BLOCK_ID).is_err());
        assert_eq!(b.ids(), vec![1, V2_BLOCK_ID, V3_BLOCK_ID]);
        // A pair that claims more than is left hides itself and what follows.
        let mut lying = block(&[(1, b"one"), (V2_BLOCK_ID, b"v2")]);
        lying.bytes[8..16].copy_from_slice(&1_000_000u64.to_le_bytes());
        assert!(lying.pair(V2_BLOCK_ID).is_err());
        lying.bytes[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(lying.pair(V2_BLOCK_ID).is_err());
        assert!(lying.ids().is_empty());
    }

    #[test]
    fn reader_is_bounded() {
        let data = [5u8, 0, 0, 0, b'a', b'b'];
        let mut r = Reader::new(&data);
        assert_eq!(r.prefixed(), Err(Short));
        let neg = [0xff, 0xff, 0xff, 0xff];
        assert_eq!(Reader::new(&neg).prefixed(), Err(Short));
        let ok = [2u8, 0, 0, 0, b'a', b'b', 9, 0, 0, 0];
        let mut r = Reader::new(&ok);
        assert_eq!(r.prefixed(), Ok(&b"ab"[..]));
        assert_eq!(r.u32(), Ok(9));
        assert!(r.is_empty());
        assert_eq!(r.u32(), Err(Short));
    }
}
