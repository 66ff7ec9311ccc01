//! The v2/v3 content digests over the three protected sections of an APK: the
//! entries (everything before the signing block), the central directory, and
//! the EOCD with its directory offset rewritten to the block's start.
//!
//! Chunked digests cut each section into 1 MiB chunks, digest each as
//! H(0xa5 | u32le len | chunk) and the APK as H(0x5a | u32le count | digests).
//! Chunks are read with positioned reads and hashed on all cores (rayon); each
//! chunk is read once however many algorithms are asked for, and callers ask
//! once for the union of what v2, v3 and v3.1 need. The verity digest is the
//! root of a 4 KiB SHA-256 Merkle tree (fs-verity style, 8 zero bytes of salt).

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;

use crate::crypto::{Hash, Hasher};
use crate::zip::{Source, MAX_IN_MEMORY};

/// A content digest algorithm of the APK signature schemes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ContentDigest {
    ChunkedSha256,
    ChunkedSha512,
    VeritySha256,
}

impl ContentDigest {
    pub fn name(self) -> &'static str {
        match self {
            ContentDigest::ChunkedSha256 => "CHUNKED_SHA256",
            ContentDigest::ChunkedSha512 => "CHUNKED_SHA512",
            ContentDigest::VeritySha256 => "VERITY_CHUNKED_SHA256",
        }
    }

    /// Strength order used to pick among signatures (apksig's comparison).
    pub fn rank(self) -> u8 {
        match self {
            ContentDigest::ChunkedSha256 => 0,
            ContentDigest::VeritySha256 => 1,
            ContentDigest::ChunkedSha512 => 2,
        }
    }
}

const CHUNK: u64 = 1 << 20;
const PAGE: usize = 4096;

/// The protected content of an APK.
pub struct Content<'a> {
    pub src: &'a Source,
    /// Length of the entries section (the signing block's offset).
    pub entries_len: u64,
    /// The signing block's length.
    pub block_len: u64,
    pub cd_offset: u64,
    /// The central directory ends where the EOCD starts.
    pub cd_end: u64,
    /// The EOCD with its central directory offset set to `entries_len`.
    pub eocd: Vec<u8>,
}

impl<'a> Content<'a> {
    pub fn new(
        src: &'a Source,
        block_offset: u64,
        cd_offset: u64,
        eocd_offset: u64,
        eocd: &[u8],
    ) -> Self {
        let mut eocd = eocd.to_vec();
        if let Some(field) = eocd.get_mut(16..20) {
            field.copy_from_slice(&(block_offset as u32).to_le_bytes());
        }
        Content {
            src,
            entries_len: block_offset,
            block_len: cd_offset - block_offset,
            cd_offset,
            cd_end: eocd_offset,
            eocd,
        }
    }

    /// (section, offset, length) of every 1 MiB chunk, in order.
    fn chunks(&self) -> Vec<(u8, u64, u64)> {
        let mut out = Vec::new();
        let sections = [
            (0u8, 0u64, self.entries_len),
            (1, self.cd_offset, self.cd_end - self.cd_offset),
            (2, 0, self.eocd.len() as u64),
        ];
        for (s, start, len) in sections {
            let mut off = 0;
            while off < len {
                let n = CHUNK.min(len - off);
                out.push((s, start + off, n));
                off += n;
            }
        }
        out
    }

    fn read_chunk<'b>(
        &self,
        buf: &'b mut [u8],
        section: u8,
        offset: u64,
        len: u64,
    ) -> std::io::Result<&'b [u8]> {
        let len = len as usize;
        if section == 2 {
            let at = offset as usize;
            buf[..len].copy_from_slice(&self.eocd[at..at + len]);
        } else {
            self.src.read_exact_at(&mut buf[..len], offset)?;
        }
        Ok(&buf[..len])
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    #[error("read error: {0}")]
    Io(std::io::Error),
    /// The layout cannot carry a verity digest (Android refuses it too).
    #[error("{0}")]
    Verity(String),
}

/// Computes the requested digests in one parallel pass over the file.
pub fn compute(
    c: &Content,
    algs: &BTreeSet<ContentDigest>,
) -> Result<BTreeMap<ContentDigest, Vec<u8>>, DigestError> {
    let mut out = BTreeMap::new();
    let hashes: Vec<Hash> = algs
        .iter()
        .filter_map(|a| match a {
            ContentDigest::ChunkedSha256 => Some(Hash::Sha256),
            ContentDigest::ChunkedSha512 => Some(Hash::Sha512),
            ContentDigest::VeritySha256 => None,
        })
        .collect();
    if !hashes.is_empty() {
        let chunks = c.chunks();
        let per_chunk: Vec<Vec<Vec<u8>>> = chunks
            .par_iter()
            .map_init(
                || {
                    (
                        vec![0u8; CHUNK as usize],
                        hashes.iter().map(|h| h.hasher()).collect::<Vec<Hasher>>(),
                    )
                },
                |(buf, hashers), &(section, offset, len)| {
                    let data = c.read_chunk(buf, section, offset, len)?;
                    let mut prefix = [0xa5u8, 0, 0, 0, 0];
                    prefix[1..].copy_from_slice(&(len as u32).to_le_bytes());
                    Ok(hashers
                        .iter_mut()
                        .map(|h| {
                            h.update(&prefix);
                            h.update(data);
                            h.finalize_reset()
                        })
                        .collect())
                },
            )
            .collect::<Result<_, std::io::Error>>()
            .map_err(DigestError::Io)?;
        for (i, hash) in hashes.iter().enumerate() {
            let mut top = hash.hasher();
            let mut head = [0x5au8, 0, 0, 0, 0];
            head[1..].copy_from_slice(&(chunks.len() as u32).to_le_bytes());
            top.update(&head);
            for d in &per_chunk {
                top.update(&d[i]);
            }
            let alg = if *hash == Hash::Sha256 {
                ContentDigest::ChunkedSha256
            } else {
                ContentDigest::ChunkedSha512
            };
            out.insert(alg, top.finalize_reset());
        }
    }
    if algs.contains(&ContentDigest::VeritySha256) {
        out.insert(ContentDigest::VeritySha256, verity(c)?);
    }
    Ok(out)
}

fn salted_page(h: &mut Hasher, page: &[u8]) -> Vec<u8> {
    h.update(&[0u8; 8]);
    h.update(page);
    if page.len() < PAGE {
        h.update(&vec![0u8; PAGE - page.len()]);
    }
    h.finalize_reset()
}

/// Root hash of the verity tree over the three sections, followed by the
/// content length (u64 little endian).
fn verity(c: &Content) -> Result<Vec<u8>, DigestError> {
    if c.entries_len % PAGE as u64 != 0 {
        return Err(DigestError::Verity(format!(
            "APK Signing Block is not aligned on a 4 KiB boundary (it starts at {})",
            c.entries_len
        )));
    }
    if c.block_len % PAGE as u64 != 0 {
        return Err(DigestError::Verity(format!(
            "APK Signing Block size {} is not a multiple of 4 KiB",
            c.block_len
        )));
    }
    let cd_len = c.cd_end - c.cd_offset;
    if cd_len > MAX_IN_MEMORY {
        return Err(DigestError::Verity("central directory too large".into()));
    }
    // Leaves over the entries, 256 pages per task.
    let n_chunks = c.entries_len.div_ceil(CHUNK);
    let leaves: Vec<Vec<u8>> = (0..n_chunks)
        .into_par_iter()
        .map_init(
            || (vec![0u8; CHUNK as usize], Hash::Sha256.hasher()),
            |(buf, h), i| {
                let off = i * CHUNK;
                let len = CHUNK.min(c.entries_len - off);
                let data = c.read_chunk(buf, 0, off, len)?;
                Ok(data.chunks(PAGE).flat_map(|p| salted_page(h, p)).collect())
            },
        )
        .collect::<Result<_, std::io::Error>>()
        .map_err(DigestError::Io)?;
    let mut level: Vec<u8> = leaves.concat();
    // Then the central directory and EOCD, contiguous after the entries.
    let mut tail = c
        .src
        .read_vec(c.cd_offset, cd_len)
        .map_err(|e| DigestError::Verity(e.to_string()))?;
    tail.extend_from_slice(&c.eocd);
    let mut h = Hash::Sha256.hasher();
    for p in tail.chunks(PAGE) {
        level.extend(salted_page(&mut h, p));
    }
    while level.len() > PAGE {
        level = level
            .chunks(PAGE)
            .flat_map(|p| salted_page(&mut h, p))
            .collect();
    }
    let mut out = salted_page(&mut h, &level);
    let total = c.entries_len + cd_len + c.eocd.len() as u64;
    out.extend_from_slice(&total.to_le_bytes());
    Ok(out)
}
