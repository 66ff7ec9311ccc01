//! Signature verification and digests over RustCrypto, in one place, for every
//! format wrapsign reads: X.509 chains, CMS (profiles, JAR signatures) and the APK
//! signature schemes. Nothing here implements a primitive; it only routes an
//! algorithm identifier to the crate that does.

use der::{asn1::ObjectIdentifier as Oid, Decode};
use digest::Digest;
use signature::hazmat::PrehashVerifier;
use spki::{DecodePublicKey, SubjectPublicKeyInfoRef};

/// A digest algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Hash {
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Hash::Md5 => md5::Md5::digest(data).to_vec(),
            Hash::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Hash::Sha224 => sha2::Sha224::digest(data).to_vec(),
            Hash::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Hash::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Hash::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }

    /// An incremental hasher, for data that is streamed rather than held in memory.
    pub fn hasher(self) -> Hasher {
        match self {
            Hash::Md5 => Hasher::Md5(md5::Md5::new()),
            Hash::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
            Hash::Sha224 => Hasher::Sha224(sha2::Sha224::new()),
            Hash::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            Hash::Sha384 => Hasher::Sha384(sha2::Sha384::new()),
            Hash::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Hash::Md5 => "MD5",
            Hash::Sha1 => "SHA-1",
            Hash::Sha224 => "SHA-224",
            Hash::Sha256 => "SHA-256",
            Hash::Sha384 => "SHA-384",
            Hash::Sha512 => "SHA-512",
        }
    }

    /// From a digest AlgorithmIdentifier OID (CMS digestAlgorithm, JAR digests).
    pub fn from_oid(oid: &Oid) -> Option<Hash> {
        Some(match oid.to_string().as_str() {
            "1.2.840.113549.2.5" => Hash::Md5,
            "1.3.14.3.2.26" => Hash::Sha1,
            "2.16.840.1.101.3.4.2.4" => Hash::Sha224,
            "2.16.840.1.101.3.4.2.1" => Hash::Sha256,
            "2.16.840.1.101.3.4.2.2" => Hash::Sha384,
            "2.16.840.1.101.3.4.2.3" => Hash::Sha512,
            _ => return None,
        })
    }
}

/// An incremental digest of one [`Hash`] algorithm.
#[derive(Clone)]
pub enum Hasher {
    Md5(md5::Md5),
    Sha1(sha1::Sha1),
    Sha224(sha2::Sha224),
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
}

impl Hasher {
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Md5(h) => h.update(data),
            Hasher::Sha1(h) => h.update(data),
            Hasher::Sha224(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha384(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    /// Returns the digest and resets the hasher for reuse.
    pub fn finalize_reset(&mut self) -> Vec<u8> {
        match self {
            Hasher::Md5(h) => h.finalize_reset().to_vec(),
            Hasher::Sha1(h) => h.finalize_reset().to_vec(),
            Hasher::Sha224(h) => h.finalize_reset().to_vec(),
            Hasher::Sha256(h) => h.finalize_reset().to_vec(),
            Hasher::Sha384(h) => h.finalize_reset().to_vec(),
            Hasher::Sha512(h) => h.finalize_reset().to_vec(),
        }
    }
}

/// A signature algorithm, independent of how a format names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigAlg {
    RsaPkcs1(Hash),
    /// RSASSA-PSS with MGF1 over the same hash and the given salt length.
    RsaPss {
        hash: Hash,
        salt_len: usize,
    },
    Ecdsa(Hash),
    Dsa(Hash),
}

impl SigAlg {
    pub fn hash(self) -> Hash {
        match self {
            SigAlg::RsaPkcs1(h) | SigAlg::Ecdsa(h) | SigAlg::Dsa(h) => h,
            SigAlg::RsaPss { hash, .. } => hash,
        }
    }

    /// From an X.509/CMS signatureAlgorithm OID. `key_alg` resolves the CMS habit
    /// of writing `rsaEncryption` (or a bare key OID) with a separate digest.
    pub fn from_oid(sig_oid: &str, digest: Option<Hash>) -> Option<SigAlg> {
        use Hash::*;
        Some(match sig_oid {
            "1.2.840.113549.1.1.4" => SigAlg::RsaPkcs1(Md5),
            "1.2.840.113549.1.1.5" | "1.3.14.3.2.29" => SigAlg::RsaPkcs1(Sha1),
            "1.2.840.113549.1.1.14" => SigAlg::RsaPkcs1(Sha224),
            "1.2.840.113549.1.1.11" => SigAlg::RsaPkcs1(Sha256),
            "1.2.840.113549.1.1.12" => SigAlg::RsaPkcs1(Sha384),
            "1.2.840.113549.1.1.13" => SigAlg::RsaPkcs1(Sha512),
            "1.2.840.10045.4.1" => SigAlg::Ecdsa(Sha1),
            "1.2.840.10045.4.3.1" => SigAlg::Ecdsa(Sha224),
            "1.2.840.10045.4.3.2" => SigAlg::Ecdsa(Sha256),
            "1.2.840.10045.4.3.3" => SigAlg::Ecdsa(Sha384),
            "1.2.840.10045.4.3.4" => SigAlg::Ecdsa(Sha512),
            "1.2.840.10040.4.3" => SigAlg::Dsa(Sha1),
            "2.16.840.1.101.3.4.3.1" => SigAlg::Dsa(Sha224),
            "2.16.840.1.101.3.4.3.2" => SigAlg::Dsa(Sha256),
            // Key algorithm OIDs used as signature algorithms (common in PKCS#7).
            "1.2.840.113549.1.1.1" => SigAlg::RsaPkcs1(digest?),
            "1.2.840.10045.2.1" => SigAlg::Ecdsa(digest?),
            "1.2.840.10040.4.1" => SigAlg::Dsa(digest?),
            _ => return None,
        })
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The public key could not be decoded or is of the wrong type.
    #[error("the public key cannot be decoded")]
    BadKey,
    /// The algorithm is not supported for this key.
    #[error("unsupported signature algorithm for this key")]
    Unsupported,
    /// The signature is malformed or does not verify.
    #[error("the signature does not verify")]
    Invalid,
}

const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_EC: &str = "1.2.840.10045.2.1";
const OID_DSA: &str = "1.2.840.10040.4.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const OID_P521: &str = "1.3.132.0.35";

/// Verifies `sig` over `msg` with the key in a DER SubjectPublicKeyInfo.
pub fn verify(spki_der: &[u8], alg: SigAlg, msg: &[u8], sig: &[u8]) -> Result<(), VerifyError> {
    let digest = alg.hash().digest(msg);
    verify_digest(spki_der, alg, &digest, sig)
}

/// Verifies `sig` over an already computed digest of the message.
pub fn verify_digest(
    spki_der: &[u8],
    alg: SigAlg,
    digest: &[u8],
    sig: &[u8],
) -> Result<(), VerifyError> {
    let spki = SubjectPublicKeyInfoRef::from_der(spki_der).map_err(|_| VerifyError::BadKey)?;
    let key_oid = spki.algorithm.oid.to_string();
    match alg {
        SigAlg::RsaPkcs1(h) | SigAlg::RsaPss { hash: h, .. } => {
            if key_oid != OID_RSA && key_oid != "1.2.840.113549.1.1.10" {
                return Err(VerifyError::Unsupported);
            }
            let key = rsa_public_key(spki_der)?;
            let res = match alg {
                SigAlg::RsaPkcs1(_) => key.verify(pkcs1_scheme(h), digest, sig),
                SigAlg::RsaPss { salt_len, .. } => key.verify(pss_scheme(h, salt_len), digest, sig),
                _ => unreachable!(),
            };
            res.map_err(|_| VerifyError::Invalid)
        }
        SigAlg::Ecdsa(_) => {
            if key_oid != OID_EC {
                return Err(VerifyError::Unsupported);
            }
            let curve = spki
                .algorithm
                .parameters
                .and_then(|p| p.decode_as::<Oid>().ok())
                .map(|o| o.to_string())
                .ok_or(VerifyError::BadKey)?;
            let point = spki.subject_public_key.raw_bytes();
            match curve.as_str() {
                OID_P256 => {
                    let k = p256::ecdsa::VerifyingKey::from_sec1_bytes(point)
                        .map_err(|_| VerifyError::BadKey)?;
                    let s =
                        p256::ecdsa::Signature::from_der(sig).map_err(|_| VerifyError::Invalid)?;
                    k.verify_prehash(digest, &s)
                        .map_err(|_| VerifyError::Invalid)
                }
                OID_P384 => {
                    let k = p384::ecdsa::VerifyingKey::from_sec1_bytes(point)
                        .map_err(|_| VerifyError::BadKey)?;
                    let s =
                        p384::ecdsa::Signature::from_der(sig).map_err(|_| VerifyError::Invalid)?;
                    k.verify_prehash(digest, &s)
                        .map_err(|_| VerifyError::Invalid)
                }
                OID_P521 => {
                    let k = p521::ecdsa::VerifyingKey::from_sec1_bytes(point)
                        .map_err(|_| VerifyError::BadKey)?;
                    let s =
                        p521::ecdsa::Signature::from_der(sig).map_err(|_| VerifyError::Invalid)?;
                    // ecdsa refuses prehashes shorter than half the field (SHA-256 on P-521),
                    // which Java and Android accept; left-padding keeps the same integer.
                    let mut padded = [0u8; 66];
                    let digest = if digest.len() < 33 {
                        padded[66 - digest.len()..].copy_from_slice(digest);
                        &padded[..]
                    } else {
                        digest
                    };
                    k.verify_prehash(digest, &s)
                        .map_err(|_| VerifyError::Invalid)
                }
                _ => Err(VerifyError::Unsupported),
            }
        }
        SigAlg::Dsa(_) => {
            if key_oid != OID_DSA {
                return Err(VerifyError::Unsupported);
            }
            let k = dsa::VerifyingKey::from_public_key_der(spki_der)
                .map_err(|_| VerifyError::BadKey)?;
            let s = dsa::Signature::from_der(sig).map_err(|_| VerifyError::Invalid)?;
            k.verify_prehash(digest, &s)
                .map_err(|_| VerifyError::Invalid)
        }
    }
}

/// Largest RSA modulus accepted. The rsa crate's default (4096 bits) would reject
/// the 8192-bit keys Android and Java verify without complaint.
const RSA_MAX_BITS: usize = 16384;

fn rsa_public_key(spki_der: &[u8]) -> Result<rsa::RsaPublicKey, VerifyError> {
    // Both rsaEncryption and RSASSA-PSS (OID 1.1.10) keys carry a PKCS#1 RSAPublicKey.
    let spki = SubjectPublicKeyInfoRef::from_der(spki_der).map_err(|_| VerifyError::BadKey)?;
    let key = pkcs1::RsaPublicKey::from_der(
        spki.subject_public_key
            .as_bytes()
            .ok_or(VerifyError::BadKey)?,
    )
    .map_err(|_| VerifyError::BadKey)?;
    let n = rsa::BigUint::from_bytes_be(key.modulus.as_bytes());
    let e = rsa::BigUint::from_bytes_be(key.public_exponent.as_bytes());
    rsa::RsaPublicKey::new_with_max_size(n, e, RSA_MAX_BITS).map_err(|_| VerifyError::BadKey)
}

fn pkcs1_scheme(h: Hash) -> rsa::Pkcs1v15Sign {
    match h {
        Hash::Md5 => rsa::Pkcs1v15Sign::new::<md5::Md5>(),
        Hash::Sha1 => rsa::Pkcs1v15Sign::new::<sha1::Sha1>(),
        Hash::Sha224 => rsa::Pkcs1v15Sign::new::<sha2::Sha224>(),
        Hash::Sha256 => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
        Hash::Sha384 => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
        Hash::Sha512 => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
    }
}

fn pss_scheme(h: Hash, salt_len: usize) -> rsa::Pss {
    match h {
        Hash::Md5 => rsa::Pss::new_with_salt::<md5::Md5>(salt_len),
        Hash::Sha1 => rsa::Pss::new_with_salt::<sha1::Sha1>(salt_len),
        Hash::Sha224 => rsa::Pss::new_with_salt::<sha2::Sha224>(salt_len),
        Hash::Sha256 => rsa::Pss::new_with_salt::<sha2::Sha256>(salt_len),
        Hash::Sha384 => rsa::Pss::new_with_salt::<sha2::Sha384>(salt_len),
        Hash::Sha512 => rsa::Pss::new_with_salt::<sha2::Sha512>(salt_len),
    }
}

/// Key type and strength, for reports and the weak-key policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Rsa { bits: usize },
    Ec { curve: &'static str },
    Dsa { bits: usize },
    Ed25519,
    Other(String),
}

impl std::fmt::Display for KeyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyKind::Rsa { bits } => write!(f, "RSA {bits}"),
            KeyKind::Ec { curve } => write!(f, "EC {curve}"),
            KeyKind::Dsa { bits } => write!(f, "DSA {bits}"),
            KeyKind::Ed25519 => f.write_str("Ed25519"),
            KeyKind::Other(o) => write!(f, "key {o}"),
        }
    }
}

/// Describes the key in a SubjectPublicKeyInfo.
pub fn key_kind(spki_der: &[u8]) -> KeyKind {
    let Ok(spki) = SubjectPublicKeyInfoRef::from_der(spki_der) else {
        return KeyKind::Other("undecodable".into());
    };
    let oid = spki.algorithm.oid.to_string();
    match oid.as_str() {
        OID_RSA | "1.2.840.113549.1.1.10" => match rsa_public_key(spki_der) {
            Ok(k) => KeyKind::Rsa {
                bits: rsa::traits::PublicKeyParts::n(&k).bits(),
            },
            Err(_) => KeyKind::Other(oid),
        },
        OID_EC => {
            let curve = spki
                .algorithm
                .parameters
                .and_then(|p| p.decode_as::<Oid>().ok())
                .map(|o| o.to_string());
            KeyKind::Ec {
                curve: match curve.as_deref() {
                    Some(OID_P256) => "P-256",
                    Some(OID_P384) => "P-384",
                    Some(OID_P521) => "P-521",
                    _ => "unknown curve",
                },
            }
        }
        OID_DSA => match dsa::VerifyingKey::from_public_key_der(spki_der) {
            Ok(k) => KeyKind::Dsa {
                bits: k.components().p().bits(),
            },
            Err(_) => KeyKind::Other(oid),
        },
        "1.3.101.112" => KeyKind::Ed25519,
        _ => KeyKind::Other(oid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pkcs8::EncodePublicKey;
    use rsa::signature::{SignatureEncoding, Signer};

    #[test]
    fn rsa_and_ecdsa_roundtrip() {
        let mut rng = rand_core_rng();
        let sk = rsa::RsaPrivateKey::new(&mut rng, 1024).unwrap();
        let spki = sk.to_public_key().to_public_key_der().unwrap();
        let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(sk);
        let sig = signer.sign(b"hello").to_vec();
        verify(
            spki.as_bytes(),
            SigAlg::RsaPkcs1(Hash::Sha256),
            b"hello",
            &sig,
        )
        .unwrap();
        assert_eq!(
            verify(
                spki.as_bytes(),
                SigAlg::RsaPkcs1(Hash::Sha256),
                b"hellO",
                &sig
            ),
            Err(VerifyError::Invalid)
        );
        assert_eq!(key_kind(spki.as_bytes()), KeyKind::Rsa { bits: 1024 });

        let ek = p256::ecdsa::SigningKey::random(&mut rng);
        let spki = ek.verifying_key().to_public_key_der().unwrap();
        let sig: p256::ecdsa::Signature = ek.sign(b"hello");
        let der = sig.to_der();
        verify(
            spki.as_bytes(),
            SigAlg::Ecdsa(Hash::Sha256),
            b"hello",
            der.as_bytes(),
        )
        .unwrap();
        assert!(verify(
            spki.as_bytes(),
            SigAlg::RsaPkcs1(Hash::Sha256),
            b"hello",
            der.as_bytes()
        )
        .is_err());
    }

    #[test]
    fn p521_with_a_sha256_digest() {
        // Java accepts SHA-256 over P-521 (the digest is used as a shorter integer);
        // sign over the zero-padded digest, which is the same integer.
        use signature::hazmat::PrehashSigner;
        let sk = p521::ecdsa::SigningKey::random(&mut rand_core_rng());
        let point = p521::ecdsa::VerifyingKey::from(&sk).to_encoded_point(false);
        // SPKI { { ecPublicKey, secp521r1 }, BIT STRING point }
        let mut spki = hex::decode("30819b301006072a8648ce3d020106052b810400230381860000").unwrap();
        spki.truncate(spki.len() - 1);
        spki.extend_from_slice(point.as_bytes());
        let mut padded = [0u8; 66];
        padded[34..].copy_from_slice(&Hash::Sha256.digest(b"apk"));
        let sig: p521::ecdsa::Signature = sk.sign_prehash(&padded).unwrap();
        let der = sig.to_der();
        verify(&spki, SigAlg::Ecdsa(Hash::Sha256), b"apk", der.as_bytes()).unwrap();
        assert!(verify(&spki, SigAlg::Ecdsa(Hash::Sha256), b"apK", der.as_bytes()).is_err());
    }

    fn rand_core_rng() -> rand::rngs::ThreadRng {
        rand::thread_rng()
    }
}
