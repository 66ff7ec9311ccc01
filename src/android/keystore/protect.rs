//! Sun's key-protection schemes, composed from RustCrypto primitives:
//! - JKS (`sun.security.provider.KeyProtector`, OID 1.3.6.1.4.1.42.2.17.1.1): a
//!   SHA-1 keystream XORed over the PKCS#8 key, then SHA-1(password ‖ key) as a check.
//! - JCEKS (`com.sun.crypto.provider.KeyProtector`, PBEWithMD5AndTripleDES, OID
//!   1.3.6.1.4.1.42.2.19.1): PBES1-like MD5 key derivation feeding 3DES-CBC.
//!
//! Passwords are Java `char[]`: JKS hashes them as UTF-16BE; JCEKS' `PBEKey`
//! only admits printable ASCII and takes one byte per char.

use cbc::cipher::{block_padding::Pkcs7, BlockDecryptMut, KeyIvInit};
use der::{asn1::OctetString, Decode, Reader, SliceReader};
use md5::{Digest, Md5};
use sha1::Sha1;
use zeroize::Zeroizing;

pub const OID_JKS_KEY_PROTECTOR: &str = "1.3.6.1.4.1.42.2.17.1.1";
pub const OID_PBE_MD5_TRIPLE_DES: &str = "1.3.6.1.4.1.42.2.19.1";
pub const PBE_MD5_TRIPLE_DES: &str = "PBEWithMD5AndTripleDES";

/// keytool uses 200 000 iterations; far more than this is a denial of service.
const MAX_ITERATIONS: u32 = 5_000_000;

/// Why a key could not be recovered. Never carries the password.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The integrity check or padding failed: the key password is wrong.
    #[error("wrong key password")]
    WrongPassword,
    /// JCEKS keys can only have printable-ASCII passwords, so this one cannot be right.
    #[error("wrong key password (JCEKS only accepts printable-ASCII key passwords)")]
    NonAsciiPassword,
    #[error("malformed protected key: {0}")]
    Malformed(String),
    #[error("unsupported key protection: {0}")]
    Unsupported(String),
}

/// A Java `char[]` password as big-endian UTF-16 code units (what JKS hashes).
pub fn utf16be(password: &str) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(password.encode_utf16().flat_map(u16::to_be_bytes).collect())
}

/// An `EncryptedPrivateKeyInfo`: algorithm OID, DER parameters, encrypted data.
pub struct EncryptedKeyInfo {
    pub oid: String,
    pub params: Option<Vec<u8>>,
    pub data: Vec<u8>,
}

pub fn parse_encrypted_key_info(der: &[u8]) -> Result<EncryptedKeyInfo, KeyError> {
    let bad = |e: der::Error| KeyError::Malformed(format!("EncryptedPrivateKeyInfo: {e}"));
    let mut r = SliceReader::new(der).map_err(bad)?;
    let (alg, data) = r
        .sequence(|r| {
            let alg = spki::AlgorithmIdentifierOwned::decode(r)?;
            let data = OctetString::decode(r)?;
            Ok((alg, data))
        })
        .map_err(bad)?;
    let params = match alg.parameters {
        Some(p) => Some(der::Encode::to_der(&p).map_err(bad)?),
        None => None,
    };
    Ok(EncryptedKeyInfo {
        oid: alg.oid.to_string(),
        params,
        data: data.into_bytes(),
    })
}

/// PKCS#5 `PBEParameter ::= SEQUENCE { salt OCTET STRING, iterationCount INTEGER }`.
pub fn parse_pbe_params(der: &[u8]) -> Result<(Vec<u8>, u32), KeyError> {
    let bad = |e: der::Error| KeyError::Malformed(format!("PBE parameters: {e}"));
    let mut r = SliceReader::new(der).map_err(bad)?;
    r.sequence(|r| Ok((OctetString::decode(r)?.into_bytes(), u32::decode(r)?)))
        .map_err(bad)
}

/// Recovers a JKS-protected key (the `encryptedData` of its EncryptedPrivateKeyInfo).
pub fn jks_recover(protected: &[u8], password: &str) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    const SALT: usize = 20;
    const CHECK: usize = 20;
    if protected.len() < SALT + CHECK {
        return Err(KeyError::Malformed("JKS protected key is too short".into()));
    }
    let pw = utf16be(password);
    let (salt, rest) = protected.split_at(SALT);
    let (encrypted, check) = rest.split_at(rest.len() - CHECK);
    let mut plain = Zeroizing::new(Vec::with_capacity(encrypted.len()));
    let mut block = Zeroizing::new(salt.to_vec());
    for chunk in encrypted.chunks(20) {
        let d = Sha1::new()
            .chain_update(&*pw)
            .chain_update(&*block)
            .finalize();
        block.copy_from_slice(&d);
        plain.extend(chunk.iter().zip(block.iter()).map(|(c, k)| c ^ k));
    }
    let digest = Sha1::new()
        .chain_update(&*pw)
        .chain_update(&*plain)
        .finalize();
    if digest.as_slice() != check {
        return Err(KeyError::WrongPassword);
    }
    Ok(plain)
}

/// How the first salt half is rearranged when both halves are equal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EqualHalves {
    /// Current JDKs (checked against JDK 17 in tests/it/keystore_oracle.rs) reverse it.
    Reverse,
    /// Old JDKs' PBECipherCore had a typo (`salt[3-1] = tmp`) turning
    /// [a,b,c,d] into [d,a,b,d]; keystores they wrote still decrypt this way.
    LegacyTypo,
}

/// Key and IV of Sun's PBEWithMD5AndTripleDES: each salt half is hashed
/// `iterations` times as MD5(previous ‖ password); 16 + 16 bytes = 3DES key ‖ IV.
fn derive_md5_triple_des(
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    equal: EqualHalves,
) -> Zeroizing<[u8; 32]> {
    let mut halves = [[0u8; 4]; 2];
    halves[0].copy_from_slice(&salt[..4]);
    halves[1].copy_from_slice(&salt[4..8]);
    if halves[0] == halves[1] {
        let [a, b, c, d] = halves[0];
        halves[0] = match equal {
            EqualHalves::Reverse => [d, c, b, a],
            EqualHalves::LegacyTypo => [d, a, b, d],
        };
    }
    let mut out = Zeroizing::new([0u8; 32]);
    // keytool uses 200 000 rounds per half: no allocation in the loop.
    let mut buf = Zeroizing::new([0u8; 16]);
    let mut md = Md5::new();
    for (i, half) in halves.iter().enumerate() {
        md.update(half);
        md.update(password);
        md.finalize_into_reset((&mut buf[..]).into());
        for _ in 1..iterations {
            md.update(&buf[..]);
            md.update(password);
            md.finalize_into_reset((&mut buf[..]).into());
        }
        out[i * 16..i * 16 + 16].copy_from_slice(&buf[..]);
    }
    out
}

/// Decrypts data sealed with PBEWithMD5AndTripleDES (JCEKS private and secret keys).
pub fn md5_triple_des_decrypt(
    ciphertext: &[u8],
    password: &str,
    salt: &[u8],
    iterations: u32,
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    if !password.chars().all(|c| (' '..='~').contains(&c)) {
        return Err(KeyError::NonAsciiPassword);
    }
    if salt.len() != 8 {
        return Err(KeyError::Malformed(format!(
            "{}-byte salt, expected 8",
            salt.len()
        )));
    }
    if iterations == 0 || iterations > MAX_ITERATIONS {
        return Err(KeyError::Unsupported(format!(
            "{iterations} PBE iterations"
        )));
    }
    if ciphertext.is_empty() || ciphertext.len() % 8 != 0 {
        return Err(KeyError::Malformed(
            "ciphertext is not a whole number of 3DES blocks".into(),
        ));
    }
    let variants: &[EqualHalves] = if salt[..4] == salt[4..8] {
        &[EqualHalves::Reverse, EqualHalves::LegacyTypo]
    } else {
        &[EqualHalves::Reverse]
    };
    for &v in variants {
        let km = derive_md5_triple_des(password.as_bytes(), salt, iterations, v);
        let dec = cbc::Decryptor::<des::TdesEde3>::new_from_slices(&km[..24], &km[24..])
            .map_err(|_| KeyError::Malformed("bad 3DES key length".into()))?;
        let mut buf = Zeroizing::new(ciphertext.to_vec());
        if let Ok(plain) = dec.decrypt_padded_mut::<Pkcs7>(&mut buf) {
            let n = plain.len();
            buf.truncate(n);
            return Ok(buf);
        }
    }
    Err(KeyError::WrongPassword)
}

/// Recovers a JCEKS-protected private key from its EncryptedPrivateKeyInfo.
pub fn jceks_recover(
    info: &EncryptedKeyInfo,
    password: &str,
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    if info.oid != OID_PBE_MD5_TRIPLE_DES {
        return Err(KeyError::Unsupported(format!(
            "key protection algorithm {}",
            info.oid
        )));
    }
    let params = info
        .params
        .as_deref()
        .ok_or_else(|| KeyError::Malformed("PBE parameters missing".into()))?;
    let (salt, iterations) = parse_pbe_params(params)?;
    let plain = md5_triple_des_decrypt(&info.data, password, &salt, iterations)?;
    // A wrong key passes the padding check about once in 256 tries; what comes
    // out then is not a PrivateKeyInfo.
    if !looks_like_der_sequence(&plain) {
        return Err(KeyError::WrongPassword);
    }
    Ok(plain)
}

/// A DER SEQUENCE whose length covers exactly the buffer.
pub fn looks_like_der_sequence(b: &[u8]) -> bool {
    let mut r = match SliceReader::new(b) {
        Ok(r) => r,
        Err(_) => return false,
    };
    r.sequence(|r| r.read_slice(r.remaining_len()).map(|_| ()))
        .is_ok()
        && r.is_finished()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cbc::cipher::BlockEncryptMut;

    #[test]
    fn utf16be_is_what_java_hashes() {
        assert_eq!(&*utf16be("ab"), &[0, b'a', 0, b'b']);
        // 'ä' is U+00E4; '€' is U+20AC: byte-wise encoders get both wrong.
        assert_eq!(&*utf16be("ä€"), &[0x00, 0xe4, 0x20, 0xac]);
    }

    #[test]
    fn jks_round_trip_and_wrong_password() {
        // Protect with the same scheme, written out independently of jks_recover.
        let key = b"0123456789abcdefghijklmnopqrstuvwxyz-0123456789".to_vec();
        let pw = utf16be("pässwörd");
        let salt = [9u8; 20];
        let mut stream = Vec::new();
        let mut cur = salt.to_vec();
        while stream.len() < key.len() {
            let mut h = Sha1::new();
            h.update(&*pw);
            h.update(&cur);
            cur = h.finalize().to_vec();
            stream.extend(&cur);
        }
        let mut protected = salt.to_vec();
        protected.extend(key.iter().zip(&stream).map(|(a, b)| a ^ b));
        let mut h = Sha1::new();
        h.update(&*pw);
        h.update(&key);
        protected.extend(h.finalize());
        assert_eq!(&*jks_recover(&protected, "pässwörd").unwrap(), &key);
        assert_eq!(
            jks_recover(&protected, "passwort"),
            Err(KeyError::WrongPassword)
        );
        assert!(matches!(
            jks_recover(&protected[..30], "x"),
            Err(KeyError::Malformed(_))
        ));
    }

    #[test]
    fn triple_des_round_trip_and_equal_salt_halves() {
        let plain = b"\x30\x03\x02\x01\x00".to_vec();
        let encrypt = |salt: &[u8; 8], v| {
            let km = derive_md5_triple_des(b"secret", salt, 10, v);
            let mut buf = [0u8; 8];
            buf[..plain.len()].copy_from_slice(&plain);
            cbc::Encryptor::<des::TdesEde3>::new_from_slices(&km[..24], &km[24..])
                .unwrap()
                .encrypt_padded_mut::<Pkcs7>(&mut buf, plain.len())
                .unwrap()
                .to_vec()
        };
        for salt in [[1u8, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 1, 2, 3, 4]] {
            // Written by a current JDK, and by an old one.
            for v in [EqualHalves::Reverse, EqualHalves::LegacyTypo] {
                let enc = encrypt(&salt, v);
                assert_eq!(
                    &*md5_triple_des_decrypt(&enc, "secret", &salt, 10).unwrap(),
                    &plain
                );
                assert!(md5_triple_des_decrypt(&enc, "Secret", &salt, 10).is_err());
            }
        }
        // Equal halves: [1,2,3,4] becomes [4,3,2,1], or [4,1,2,4] in old JDKs.
        for (v, first) in [
            (EqualHalves::Reverse, [4u8, 3, 2, 1]),
            (EqualHalves::LegacyTypo, [4, 1, 2, 4]),
        ] {
            let km = derive_md5_triple_des(b"pw", &[1, 2, 3, 4, 1, 2, 3, 4], 1, v);
            let expected = Md5::new()
                .chain_update(first)
                .chain_update(b"pw")
                .finalize();
            assert_eq!(&km[..16], expected.as_slice());
        }
        assert_eq!(
            md5_triple_des_decrypt(&[0u8; 8], "pässwörd", &[0; 8], 1),
            Err(KeyError::NonAsciiPassword)
        );
        assert!(md5_triple_des_decrypt(&[0u8; 8], "pw", &[0; 8], u32::MAX).is_err());
    }
}
