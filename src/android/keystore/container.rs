//! The JKS / JCEKS container (`sun.security.provider.JavaKeyStore`,
//! `com.sun.crypto.provider.JceKeyStore`):
//!
//! ```text
//! magic u32 (FEEDFEED | CECECECE), version u32 (1|2), count u32, entries...,
//! SHA-1(password as UTF-16BE ‖ "Mighty Aphrodite" ‖ everything before it)
//! entry: tag u32, alias readUTF, created u64 ms, then
//!   1 private key: u32 len + EncryptedPrivateKeyInfo, u32 n, n × certificate
//!   2 trusted certificate: certificate
//!   3 secret key (JCEKS): a serialized SealedObject, no length prefix
//! certificate: [v2: type readUTF] u32 len + DER
//! ```

use sha1::{Digest, Sha1};
use time::OffsetDateTime;

use super::bytes::Bytes;
use super::javaser::{self, Value};
use super::protect::{self, utf16be};
use super::{Entry, EntryKind, Integrity, Keystore, OpenError, ProtectedKey, SecretKey, StoreType};

const JKS_MAGIC: u32 = 0xfeed_feed;
const JCEKS_MAGIC: u32 = 0xcece_cece;
const WHITENER: &[u8] = b"Mighty Aphrodite";

/// What a truncated read reports: the field, where, and how big the file is.
fn truncated(c: &Bytes<'_>, what: &str) -> OpenError {
    OpenError::Malformed(format!(
        "truncated: {what} at byte {} runs past the end of the file ({} bytes; is it complete?)",
        c.pos(),
        c.len()
    ))
}

fn certificate(c: &mut Bytes<'_>, version: u32, alias: &str) -> Result<Vec<u8>, OpenError> {
    if version == 2 {
        let t = c.utf().ok_or_else(|| truncated(c, "certificate type"))?;
        if t != "X.509" && t != "X509" {
            return Err(OpenError::Unsupported(format!(
                "entry \"{alias}\" holds a {t} certificate; only X.509 is supported"
            )));
        }
    }
    Ok(c.blob()
        .ok_or_else(|| truncated(c, "certificate"))?
        .to_vec())
}

fn created(ms: u64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

pub(super) fn read(
    data: &[u8],
    store_type: StoreType,
    password: Option<&str>,
) -> Result<Keystore, OpenError> {
    let expected = if store_type == StoreType::Jceks {
        JCEKS_MAGIC
    } else {
        JKS_MAGIC
    };
    let mut c = Bytes::new(data, 0);
    let magic = c.u32().ok_or_else(|| truncated(&c, "magic"))?;
    if magic != expected {
        return Err(OpenError::Malformed(format!("bad magic {magic:08x}")));
    }
    let version = c.u32().ok_or_else(|| truncated(&c, "version"))?;
    if version != 1 && version != 2 {
        return Err(OpenError::Unsupported(format!(
            "{} version {version}",
            store_type.name()
        )));
    }
    let count = c.u32().ok_or_else(|| truncated(&c, "entry count"))?;
    let mut entries = Vec::new();
    for i in 0..count {
        let tag = c.u32().ok_or_else(|| truncated(&c, "entry tag"))?;
        let alias = c.utf().ok_or_else(|| truncated(&c, "alias"))?;
        let created = created(c.u64().ok_or_else(|| truncated(&c, "creation date"))?);
        let kind = match tag {
            1 => {
                let key = c
                    .blob()
                    .ok_or_else(|| truncated(&c, "private key"))?
                    .to_vec();
                let n = c.u32().ok_or_else(|| truncated(&c, "certificate count"))?;
                let mut chain = Vec::new();
                for _ in 0..n {
                    chain.push(certificate(&mut c, version, &alias)?);
                }
                let key = if store_type == StoreType::Jks {
                    ProtectedKey::Jks(key)
                } else {
                    ProtectedKey::Jceks(key)
                };
                EntryKind::PrivateKey { key, chain }
            }
            2 => EntryKind::TrustedCert {
                cert: certificate(&mut c, version, &alias)?,
            },
            3 if store_type == StoreType::Jceks => {
                EntryKind::SecretKey(sealed_key(&mut c, &alias)?)
            }
            t => {
                return Err(OpenError::Malformed(format!(
                    "entry {} (\"{alias}\") has unknown type tag {t}",
                    i + 1
                )))
            }
        };
        entries.push(Entry {
            alias,
            created,
            kind,
        });
    }
    let body = c.consumed();
    let stored = c
        .take(20)
        .ok_or_else(|| truncated(&c, "integrity digest"))?;
    let verifies = |pw: &str| {
        let d = Sha1::new()
            .chain_update(&*utf16be(pw))
            .chain_update(WHITENER)
            .chain_update(body)
            .finalize();
        d.as_slice() == stored
    };
    let integrity = match password {
        Some(pw) if verifies(pw) => Integrity::Verified,
        Some(_) => return Err(OpenError::WrongStorePassword { given: true }),
        None if verifies("") => Integrity::Verified,
        None => Integrity::Unchecked,
    };
    Ok(Keystore {
        store_type,
        entries,
        integrity,
    })
}

/// A JCEKS secret-key entry: a serialized `SealedObject` (keytool writes its
/// subclass `com.sun.crypto.provider.SealedObjectForKeyProtector`).
fn sealed_key(c: &mut Bytes<'_>, alias: &str) -> Result<SecretKey, OpenError> {
    let mut r = javaser::Reader::new(c.rest())
        .map_err(|e| OpenError::Malformed(format!("secret key \"{alias}\": {e}")))?;
    let value = r
        .read_object()
        .map_err(|e| OpenError::Malformed(format!("secret key \"{alias}\": {e}")))?;
    c.skip(r.position())
        .ok_or_else(|| truncated(c, "secret key"))?;
    let obj = match value {
        Value::Object(o) if o.classes.iter().any(|k| k == "javax.crypto.SealedObject") => o,
        Value::Object(o) => {
            return Ok(SecretKey::Unsupported(format!(
                "the secret key entry holds a {}, not a sealed key",
                o.class
            )))
        }
        _ => {
            return Ok(SecretKey::Unsupported(
                "the secret key entry holds no object".into(),
            ))
        }
    };
    let seal_alg = obj.string("sealAlg").unwrap_or("");
    if seal_alg != protect::PBE_MD5_TRIPLE_DES {
        return Ok(SecretKey::Unsupported(format!(
            "the secret key is sealed with \"{seal_alg}\", not {}",
            protect::PBE_MD5_TRIPLE_DES
        )));
    }
    match (obj.bytes("encodedParams"), obj.bytes("encryptedContent")) {
        (Some(p), Some(e)) => Ok(SecretKey::Sealed {
            params: p.to_vec(),
            encrypted: e.to_vec(),
        }),
        _ => Ok(SecretKey::Unsupported(
            "the sealed object lacks its parameters or content".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(pw: &str, body: &[u8]) -> Vec<u8> {
        Sha1::new()
            .chain_update(&*utf16be(pw))
            .chain_update(WHITENER)
            .chain_update(body)
            .finalize()
            .to_vec()
    }

    /// A JKS v2 with two trusted-certificate entries whose aliases differ only in case.
    fn two_entries(pw: &str) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend(JKS_MAGIC.to_be_bytes());
        v.extend(2u32.to_be_bytes());
        v.extend(2u32.to_be_bytes());
        for alias in ["Dup", "dup"] {
            v.extend(2u32.to_be_bytes());
            v.extend((alias.len() as u16).to_be_bytes());
            v.extend(alias.as_bytes());
            v.extend(0u64.to_be_bytes());
            v.extend(5u16.to_be_bytes());
            v.extend(b"X.509");
            v.extend(3u32.to_be_bytes());
            v.extend([0x30, 0x01, 0x00]);
        }
        let d = digest(pw, &v);
        v.extend(d);
        v
    }

    #[test]
    fn keeps_duplicates_and_checks_the_utf16_digest() {
        let data = two_entries("pässwörd");
        let ks = read(&data, StoreType::Jks, Some("pässwörd")).unwrap();
        assert_eq!(ks.entries.len(), 2);
        assert_eq!(
            super::super::duplicate_aliases(&ks),
            vec![("dup".to_string(), 2)]
        );
        assert_eq!(ks.integrity, Integrity::Verified);
        assert_eq!(
            read(&data, StoreType::Jks, Some("passwörd")).unwrap_err(),
            OpenError::WrongStorePassword { given: true }
        );
        // Without a password the structure is still readable, unauthenticated.
        assert_eq!(
            read(&data, StoreType::Jks, None).unwrap().integrity,
            Integrity::Unchecked
        );
        assert_eq!(
            read(&two_entries(""), StoreType::Jks, None)
                .unwrap()
                .integrity,
            Integrity::Verified
        );
    }

    #[test]
    fn every_truncation_and_bad_length_is_an_error() {
        let data = two_entries("x");
        for n in 0..data.len() {
            assert!(
                read(&data[..n], StoreType::Jks, Some("x")).is_err(),
                "prefix {n} accepted"
            );
        }
        let mut huge = data.clone();
        // The first certificate's length field: claim 4 GiB.
        let at = 12 + 4 + 2 + 3 + 8 + 2 + 5;
        huge[at..at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            read(&huge, StoreType::Jks, Some("x")),
            Err(OpenError::Malformed(_))
        ));
        let mut count = data;
        count[8..12].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(read(&count, StoreType::Jks, Some("x")).is_err());
    }
}
