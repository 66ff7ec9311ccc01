//! APK Signature Scheme v2 and v3 blocks and the APK Signing Block around them,
//! laid out as apksig's V2SchemeSigner, V3SchemeSigner and ApkSigningBlockUtils
//! write them: one signer, or (v3, v3.1) the signers of a key rotation with
//! their lineage.

use std::collections::BTreeMap;

use crate::android::apk::digest::ContentDigest;
use crate::android::apk::signing_block::{MAGIC, V2_BLOCK_ID, V3_BLOCK_ID};
use crate::android::apk::v2v3::STRIPPING_PROTECTION_ATTR;
use crate::crypto::{Hash, SigAlg};
use crate::keys::PrivateKey;
use crate::signing;

/// The padding pair apksig adds to make the block a multiple of 4096 bytes.
const VERITY_PADDING_BLOCK_ID: u32 = 0x4272_6577;
const PAGE: usize = 4096;
/// API level of the v2/v3 algorithms apksig picks (RSA PKCS#1, ECDSA): Android 7.0.
pub const V3_ALGORITHM_MIN_SDK: u32 = 24;

/// The v2/v3 signature algorithm for a key (apksig's `getSuggestedSignatureAlgorithms`):
/// RSA up to 3072 bits and EC up to 256 bits sign with SHA-256, larger keys with SHA-512.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Algorithm {
    pub id: u32,
    pub sig: SigAlg,
    pub digest: ContentDigest,
}

impl Algorithm {
    pub fn for_key(key: &PrivateKey) -> Result<Algorithm, String> {
        let (id, sig) = match key {
            PrivateKey::Rsa(k) if rsa::traits::PublicKeyParts::n(k).bits() <= 3072 => {
                (0x0103, SigAlg::RsaPkcs1(Hash::Sha256))
            }
            PrivateKey::Rsa(_) => (0x0104, SigAlg::RsaPkcs1(Hash::Sha512)),
            PrivateKey::P256(_) => (0x0201, SigAlg::Ecdsa(Hash::Sha256)),
            PrivateKey::P384(_) => (0x0202, SigAlg::Ecdsa(Hash::Sha512)),
            PrivateKey::Dsa(_) => {
                return Err("DSA keys are not offered for signing (deprecated)".into())
            }
        };
        let digest = if sig.hash() == Hash::Sha256 {
            ContentDigest::ChunkedSha256
        } else {
            ContentDigest::ChunkedSha512
        };
        Ok(Algorithm { id, sig, digest })
    }
}

/// Appends a u32 length prefix and `bytes`.
fn lp(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

fn u32le(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// A sequence of (id, length-prefixed bytes) pairs, each length-prefixed.
fn id_value_pairs(pairs: &[(u32, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (id, v) in pairs {
        u32le(&mut out, (8 + v.len()) as u32);
        u32le(&mut out, *id);
        lp(&mut out, v);
    }
    out
}

fn certificates(chain: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for c in chain {
        lp(&mut out, c);
    }
    out
}

/// What every scheme block needs from the signer.
#[derive(Clone, Copy)]
pub struct Signer<'a> {
    pub key: &'a PrivateKey,
    /// DER certificates, leaf first.
    pub chain: &'a [Vec<u8>],
    /// The leaf's SubjectPublicKeyInfo as stored in the certificate.
    pub public_key: &'a [u8],
    pub alg: Algorithm,
}

/// The v2 block value. `with_v3` adds the stripping-protection attribute that
/// names v3, so removing the v3 block breaks the v2 signature.
pub fn v2_block(s: &Signer, content_digest: &[u8], with_v3: bool) -> Result<Vec<u8>, String> {
    let mut attrs = Vec::new();
    if with_v3 {
        u32le(&mut attrs, 8);
        u32le(&mut attrs, STRIPPING_PROTECTION_ATTR);
        u32le(&mut attrs, 3);
    }
    let mut signed = Vec::new();
    lp(&mut signed, &id_value_pairs(&[(s.alg.id, content_digest)]));
    lp(&mut signed, &certificates(s.chain));
    lp(&mut signed, &attrs);
    // apksig writes a fourth, empty element.
    lp(&mut signed, &[]);
    let sig = signing::sign(s.key, s.alg.sig, &signed)?;
    let mut signer = Vec::new();
    lp(&mut signer, &signed);
    lp(&mut signer, &id_value_pairs(&[(s.alg.id, &sig)]));
    lp(&mut signer, s.public_key);
    Ok(wrap_signers(&[signer]))
}

/// The v3 block value: one signer for API 24 (the algorithm's level) up, as
/// apksig writes when there is no rotation.
pub fn v3_block(s: &Signer, content_digest: &[u8]) -> Result<Vec<u8>, String> {
    let signer = V3Signer {
        signer: *s,
        min_sdk: V3_ALGORITHM_MIN_SDK,
        max_sdk: i32::MAX as u32,
        attributes: Vec::new(),
    };
    Ok(wrap_signers(&[v3_signer(&signer, content_digest)?]))
}

/// One signer of a v3 or v3.1 block: its SDK range and additional attributes
/// (the proof-of-rotation lineage, or the rotation-min-sdk stripping protection).
pub struct V3Signer<'a> {
    pub signer: Signer<'a>,
    pub min_sdk: u32,
    pub max_sdk: u32,
    /// The encoded sequence of (id, value) attributes, each length-prefixed.
    pub attributes: Vec<u8>,
}

/// One additional attribute: u32 length, u32 id, value (as V3SchemeSigner writes it).
pub fn attribute(id: u32, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 8);
    u32le(&mut out, (4 + value.len()) as u32);
    u32le(&mut out, id);
    out.extend_from_slice(value);
    out
}

fn v3_signer(v: &V3Signer, content_digest: &[u8]) -> Result<Vec<u8>, String> {
    let s = &v.signer;
    let mut signed = Vec::new();
    lp(&mut signed, &id_value_pairs(&[(s.alg.id, content_digest)]));
    lp(&mut signed, &certificates(s.chain));
    u32le(&mut signed, v.min_sdk);
    u32le(&mut signed, v.max_sdk);
    lp(&mut signed, &v.attributes);
    let sig = signing::sign(s.key, s.alg.sig, &signed)?;
    let mut signer = Vec::new();
    lp(&mut signer, &signed);
    u32le(&mut signer, v.min_sdk);
    u32le(&mut signer, v.max_sdk);
    lp(&mut signer, &id_value_pairs(&[(s.alg.id, &sig)]));
    lp(&mut signer, s.public_key);
    Ok(signer)
}

/// A v3 or v3.1 block value with several signers, in the order given (apksig
/// lists them newest first). `digests` holds each algorithm's content digest.
pub fn v3_block_signers(
    signers: &[V3Signer],
    digests: &BTreeMap<ContentDigest, Vec<u8>>,
) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for v in signers {
        let d = digests
            .get(&v.signer.alg.digest)
            .ok_or("content digest missing")?;
        out.push(v3_signer(v, d)?);
    }
    Ok(wrap_signers(&out))
}

/// Length-prefixed sequence of length-prefixed signers.
fn wrap_signers(signers: &[Vec<u8>]) -> Vec<u8> {
    let mut seq = Vec::new();
    for s in signers {
        lp(&mut seq, s);
    }
    let mut out = Vec::new();
    lp(&mut out, &seq);
    out
}

/// The APK Signing Block holding `pairs` (id, value), padded to a multiple of 4096.
pub fn signing_block(pairs: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let blocks: usize = pairs.iter().map(|(_, v)| 12 + v.len()).sum();
    let mut size = 8 + blocks + 8 + 16;
    let mut padding = 0;
    if size % PAGE != 0 {
        padding = PAGE - size % PAGE;
        if padding < 12 {
            padding += PAGE;
        }
        size += padding;
    }
    let mut out = Vec::with_capacity(size);
    let size_field = (size - 8) as u64;
    out.extend_from_slice(&size_field.to_le_bytes());
    for (id, v) in pairs {
        out.extend_from_slice(&(4 + v.len() as u64).to_le_bytes());
        u32le(&mut out, *id);
        out.extend_from_slice(v);
    }
    if padding > 0 {
        out.extend_from_slice(&((padding - 8) as u64).to_le_bytes());
        u32le(&mut out, VERITY_PADDING_BLOCK_ID);
        out.resize(out.len() + padding - 12, 0);
    }
    out.extend_from_slice(&size_field.to_le_bytes());
    out.extend_from_slice(MAGIC);
    out
}

pub const V2: u32 = V2_BLOCK_ID;
pub const V3: u32 = V3_BLOCK_ID;
pub const V31: u32 = crate::android::apk::signing_block::V31_BLOCK_ID;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_is_page_sized_and_readable() {
        for n in [0usize, 1, 4000, 4060, 4061, 4070, 9000] {
            let b = signing_block(&[(V2, vec![7u8; n])]);
            assert_eq!(b.len() % PAGE, 0, "{n}");
            assert_eq!(&b[b.len() - 16..], MAGIC);
            let head = u64::from_le_bytes(b[..8].try_into().unwrap());
            let foot = u64::from_le_bytes(b[b.len() - 24..b.len() - 16].try_into().unwrap());
            assert_eq!(head, foot);
            assert_eq!(head as usize, b.len() - 8);
        }
    }
}
