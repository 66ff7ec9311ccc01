//! Android keystores read into one model: a list of aliased entries (private key
//! with its certificate chain, trusted certificate, secret key).
//!
//! - JKS and JCEKS share a container format and are read here (`container`),
//!   with Java's rules: UTF-16BE password digests, every duplicate alias kept
//!   (Java silently keeps the last one; we report them).
//! - PKCS#12 goes through [`crate::pkcs12`] (p12-keystore: legacy and AES).
//! - BKS and UBER (Bouncy Castle) are recognised and named, not read.
//!
//! Nothing here decides what is wrong with a keystore: see [`super::policy`].

mod bouncy;
mod bytes;
mod container;
pub mod javaser;
mod p12;
pub mod protect;

use time::OffsetDateTime;
use zeroize::Zeroizing;

pub use protect::KeyError;

use crate::sniff::{self, Kind};

/// The keystore formats wrapsign reads (`--ks-type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum StoreType {
    Jks,
    Jceks,
    Pkcs12,
}

impl StoreType {
    pub fn name(self) -> &'static str {
        match self {
            StoreType::Jks => "JKS",
            StoreType::Jceks => "JCEKS",
            StoreType::Pkcs12 => "PKCS#12",
        }
    }

    /// How a user forces this type.
    pub fn flag(self) -> &'static str {
        match self {
            StoreType::Jks => "--ks-type jks",
            StoreType::Jceks => "--ks-type jceks",
            StoreType::Pkcs12 => "--ks-type pkcs12",
        }
    }
}

/// Why a keystore could not be opened. Never carries a password.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// The store password does not verify the keystore (JKS/JCEKS digest, PKCS#12 MAC).
    /// `given` is false when no password was supplied and the empty one failed.
    #[error("wrong keystore password (or the file was modified)")]
    WrongStorePassword { given: bool },
    #[error("{0}")]
    Malformed(String),
    /// A format recognised but not read (BKS, UBER, a future version).
    #[error("{0}")]
    Unsupported(String),
}

/// Whether the store password verified the keystore.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Integrity {
    Verified,
    /// JKS/JCEKS read without a password (as `keytool -list` does without one):
    /// certificates are readable, nothing is authenticated.
    Unchecked,
}

#[derive(Debug)]
pub struct Keystore {
    pub store_type: StoreType,
    pub entries: Vec<Entry>,
    pub integrity: Integrity,
}

#[derive(Debug)]
pub struct Entry {
    /// As stored (JKS and JCEKS store aliases lower-cased).
    pub alias: String,
    /// JKS/JCEKS record when an entry was added.
    pub created: Option<OffsetDateTime>,
    pub kind: EntryKind,
}

#[derive(Debug)]
pub enum EntryKind {
    /// A private key and its certificate chain (DER), leaf first.
    PrivateKey {
        key: ProtectedKey,
        chain: Vec<Vec<u8>>,
    },
    TrustedCert {
        cert: Vec<u8>,
    },
    SecretKey(SecretKey),
}

impl EntryKind {
    pub fn name(&self) -> &'static str {
        match self {
            EntryKind::PrivateKey { .. } => "private-key",
            EntryKind::TrustedCert { .. } => "trusted-certificate",
            EntryKind::SecretKey(_) => "secret-key",
        }
    }
}

/// A private key as the keystore holds it.
pub enum ProtectedKey {
    /// EncryptedPrivateKeyInfo under Sun's JKS key protector.
    Jks(Vec<u8>),
    /// EncryptedPrivateKeyInfo under PBEWithMD5AndTripleDES.
    Jceks(Vec<u8>),
    /// Already decrypted PKCS#8 (PKCS#12 keys are unlocked by the store password).
    Clear(Zeroizing<Vec<u8>>),
}

impl std::fmt::Debug for ProtectedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ProtectedKey::Jks(_) => "ProtectedKey(JKS)",
            ProtectedKey::Jceks(_) => "ProtectedKey(JCEKS)",
            ProtectedKey::Clear(_) => "ProtectedKey(<redacted>)",
        })
    }
}

impl ProtectedKey {
    /// The PKCS#8 PrivateKeyInfo DER, zeroed on drop.
    pub fn recover(&self, password: &str) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        match self {
            ProtectedKey::Jks(epki) => {
                let info = protect::parse_encrypted_key_info(epki)?;
                if info.oid != protect::OID_JKS_KEY_PROTECTOR {
                    return Err(KeyError::Unsupported(format!(
                        "key protection algorithm {}",
                        info.oid
                    )));
                }
                protect::jks_recover(&info.data, password)
            }
            ProtectedKey::Jceks(epki) => {
                let info = protect::parse_encrypted_key_info(epki)?;
                protect::jceks_recover(&info, password)
            }
            ProtectedKey::Clear(k) => Ok(k.clone()),
        }
    }
}

/// A secret (symmetric) key entry: JCEKS seals them in a serialized Java object.
pub enum SecretKey {
    /// `SealedObject` fields: PBE parameters (DER) and the encrypted serialized key.
    Sealed { params: Vec<u8>, encrypted: Vec<u8> },
    /// PKCS#12 secret bags, already decrypted.
    Clear {
        algorithm: String,
        key: Zeroizing<Vec<u8>>,
    },
    /// Something keytool cannot read either: the reason.
    Unsupported(String),
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretKey::Sealed { .. } => f.write_str("SecretKey(sealed)"),
            SecretKey::Clear { algorithm, .. } => write!(f, "SecretKey({algorithm}, <redacted>)"),
            SecretKey::Unsupported(why) => write!(f, "SecretKey(unsupported: {why})"),
        }
    }
}

/// An unsealed secret key.
pub struct SecretKeyInfo {
    pub algorithm: String,
    pub key: Zeroizing<Vec<u8>>,
}

impl SecretKey {
    pub fn unseal(&self, password: &str) -> Result<SecretKeyInfo, KeyError> {
        match self {
            SecretKey::Sealed { params, encrypted } => {
                let (salt, iterations) = protect::parse_pbe_params(params)?;
                let plain =
                    protect::md5_triple_des_decrypt(encrypted, password, &salt, iterations)?;
                // A wrong password that happens to pass the padding check yields noise.
                let mut r = javaser::Reader::new(&plain).map_err(|_| KeyError::WrongPassword)?;
                let obj = match r.read_object() {
                    Ok(javaser::Value::Object(o)) => o,
                    Ok(_) => {
                        return Err(KeyError::Unsupported(
                            "the sealed object holds no key".into(),
                        ))
                    }
                    Err(e) => return Err(KeyError::Malformed(format!("sealed key: {e}"))),
                };
                let (algorithm, key) = match obj.class.as_str() {
                    "javax.crypto.spec.SecretKeySpec" => {
                        (obj.string("algorithm"), obj.bytes("key"))
                    }
                    // What PBKDF2 and other provider keys write instead of themselves.
                    "java.security.KeyRep" => (obj.string("algorithm"), obj.bytes("encoded")),
                    other => {
                        return Err(KeyError::Unsupported(format!(
                            "the sealed object is a {other}, not a secret key"
                        )))
                    }
                };
                match (algorithm, key) {
                    (Some(a), Some(k)) => Ok(SecretKeyInfo {
                        algorithm: a.to_string(),
                        key: Zeroizing::new(k.to_vec()),
                    }),
                    _ => Err(KeyError::Malformed(format!(
                        "{} without its algorithm or key",
                        obj.class
                    ))),
                }
            }
            SecretKey::Clear { algorithm, key } => Ok(SecretKeyInfo {
                algorithm: algorithm.clone(),
                key: key.clone(),
            }),
            SecretKey::Unsupported(why) => Err(KeyError::Unsupported(why.clone())),
        }
    }
}

/// The keystore type of some bytes, by content. BKS/UBER and non-keystores are errors.
pub fn detect(data: &[u8]) -> Result<StoreType, OpenError> {
    match sniff::sniff_bytes(data) {
        Kind::Jks => Ok(StoreType::Jks),
        Kind::Jceks => Ok(StoreType::Jceks),
        Kind::Pkcs12 => Ok(StoreType::Pkcs12),
        Kind::Bks => Err(OpenError::Unsupported(unsupported_bouncy(data))),
        Kind::Empty => Err(OpenError::Malformed(
            "the file is empty (0 bytes), not a keystore".into(),
        )),
        other => Err(OpenError::Malformed(format!(
            "not a JKS, JCEKS or PKCS#12 keystore (it looks like a {})",
            other.describe()
        ))),
    }
}

fn unsupported_bouncy(data: &[u8]) -> String {
    let what = bouncy::describe(data);
    let src = if what == "UBER" { "UBER" } else { "BKS" };
    format!(
        "a Bouncy Castle {what} keystore, which wrapsign does not read; convert it to PKCS#12 (keytool -importkeystore -srcstoretype {src} -providerpath bcprov.jar -provider org.bouncycastle.jce.provider.BouncyCastleProvider -deststoretype PKCS12 ...)"
    )
}

/// Opens a keystore. `password: None` means none was given: JKS/JCEKS are then
/// read unauthenticated unless the empty password verifies them; PKCS#12 is
/// tried with the empty password.
pub fn open(
    data: &[u8],
    store_type: StoreType,
    password: Option<&str>,
) -> Result<Keystore, OpenError> {
    // A type forced by --ks-type (or `type` in wrapsign.toml) that the content
    // contradicts: say what the file really is, not how the wrong parser failed.
    match detect(data) {
        Ok(actual) if actual != store_type => {
            return Err(OpenError::Malformed(format!(
                "not a {} keystore: it is a {} keystore (its type is read from its content: drop the forced type, or give {})",
                store_type.name(),
                actual.name(),
                actual.flag()
            )))
        }
        Err(e @ OpenError::Unsupported(_)) => return Err(e),
        Err(e) if data.is_empty() => return Err(e),
        _ => {}
    }
    match store_type {
        StoreType::Jks | StoreType::Jceks => {
            container::read(data, store_type, password).map_err(|e| match e {
                OpenError::Malformed(m) if m.starts_with("bad magic") => {
                    OpenError::Malformed(format!("not a {} keystore ({m})", store_type.name()))
                }
                other => other,
            })
        }
        StoreType::Pkcs12 => p12::read(data, password),
    }
}

/// Aliases that occur more than once (case-insensitively, as Java compares
/// them), with their counts, in first-seen order.
pub fn duplicate_aliases(ks: &Keystore) -> Vec<(String, usize)> {
    let mut seen: Vec<(String, usize)> = Vec::new();
    for e in &ks.entries {
        let key = e.alias.to_lowercase();
        match seen.iter_mut().find(|(a, _)| *a == key) {
            Some((_, n)) => *n += 1,
            None => seen.push((key, 1)),
        }
    }
    seen.retain(|(_, n)| *n > 1);
    seen
}

/// Java's `DataInputStream.readUTF` encoding: modified UTF-8 over UTF-16 units
/// (NUL as C0 80, supplementary characters as two 3-byte surrogates).
pub fn modified_utf8(b: &[u8]) -> String {
    let mut units = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i] as u16;
        let cont = |j: usize| {
            b.get(j)
                .filter(|x| *x & 0xc0 == 0x80)
                .map(|x| (*x & 0x3f) as u16)
        };
        if c < 0x80 {
            units.push(c);
            i += 1;
        } else if c & 0xe0 == 0xc0 {
            match cont(i + 1) {
                Some(c1) => {
                    units.push(((c & 0x1f) << 6) | c1);
                    i += 2;
                }
                None => {
                    units.push(0xfffd);
                    i += 1;
                }
            }
        } else if c & 0xf0 == 0xe0 {
            match (cont(i + 1), cont(i + 2)) {
                (Some(c1), Some(c2)) => {
                    units.push(((c & 0x0f) << 12) | (c1 << 6) | c2);
                    i += 3;
                }
                _ => {
                    units.push(0xfffd);
                    i += 1;
                }
            }
        } else {
            units.push(0xfffd);
            i += 1;
        }
    }
    String::from_utf16_lossy(&units)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modified_utf8_decodes_java_strings() {
        assert_eq!(modified_utf8(b"mykey"), "mykey");
        assert_eq!(modified_utf8(&[0xc0, 0x80]), "\0");
        assert_eq!(modified_utf8("ключ".as_bytes()), "ключ");
        // U+1F511 as a surrogate pair, each half in 3 bytes.
        assert_eq!(
            modified_utf8(&[0xed, 0xa0, 0xbd, 0xed, 0xb4, 0x91]),
            "\u{1f511}"
        );
        assert_eq!(modified_utf8(&[0xe2, 0x82]), "\u{fffd}\u{fffd}");
    }

    #[test]
    fn detect_names_what_it_cannot_read() {
        assert_eq!(
            detect(&[0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2]),
            Ok(StoreType::Jks)
        );
        assert!(matches!(detect(b"garbage"), Err(OpenError::Malformed(_))));
    }
}
