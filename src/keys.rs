//! Private keys from PEM/DER (PKCS#8, PKCS#1 RSA, SEC1 EC), matched against
//! certificates by their public key material, and used for signing.

use pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use zeroize::Zeroizing;

use crate::crypto::KeyKind;
use crate::x509::{pem_blocks, Cert};

/// Certificates from PEM or DER bytes, with the private key a PEM may carry
/// beside them (as apple-codesign's test identities and many exports do), and the
/// index of the certificate that key (or the chain's shape) says is the leaf.
pub struct CertsAndKey {
    pub certs: Vec<Cert>,
    pub key: Option<PrivateKey>,
    pub leaf: usize,
    /// A key was found but matches none of the certificates.
    pub orphan_key: bool,
}

/// Reads [`CertsAndKey`]; errors name what is wrong (the caller names the file).
pub fn certs_and_key(data: &[u8]) -> Result<CertsAndKey, String> {
    let certs = crate::x509::certs_from_pem_or_der(data)
        .iter()
        .map(|d| Cert::from_der(d))
        .collect::<Result<Vec<_>, _>>()?;
    if certs.is_empty() {
        return Err("no certificate found".into());
    }
    let key = match pem_blocks(data) {
        Some(b) if b.iter().any(|(l, _)| l.ends_with("PRIVATE KEY")) => {
            Some(PrivateKey::from_pem_or_der(data)?)
        }
        _ => None,
    };
    let by_key = key
        .as_ref()
        .and_then(|k| certs.iter().position(|c| k.matches(c)));
    let leaf = by_key.or_else(|| crate::x509::leaf_of(&certs)).unwrap_or(0);
    Ok(CertsAndKey {
        orphan_key: key.is_some() && by_key.is_none(),
        certs,
        key,
        leaf,
    })
}

/// Reads a private key file given with `--key`, naming the file in errors.
pub fn read_key_file(path: &std::path::Path) -> Result<PrivateKey, String> {
    let file = path.display();
    let data = Zeroizing::new(std::fs::read(path).map_err(|e| format!("cannot read {file}: {e}"))?);
    PrivateKey::from_pem_or_der(&data).map_err(|e| format!("{file}: {e}"))
}

/// A decoded private key.
#[derive(Clone)]
pub enum PrivateKey {
    Rsa(rsa::RsaPrivateKey),
    P256(p256::SecretKey),
    P384(p384::SecretKey),
    Dsa(dsa::SigningKey),
}

// Never print key material, even in debug output.
impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PrivateKey({})", self.kind())
    }
}

impl PrivateKey {
    /// From DER PKCS#8 PrivateKeyInfo.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<PrivateKey, String> {
        if let Ok(k) = rsa::RsaPrivateKey::from_pkcs8_der(der) {
            return Ok(PrivateKey::Rsa(k));
        }
        if let Ok(k) = p256::SecretKey::from_pkcs8_der(der) {
            return Ok(PrivateKey::P256(k));
        }
        if let Ok(k) = p384::SecretKey::from_pkcs8_der(der) {
            return Ok(PrivateKey::P384(k));
        }
        if let Ok(k) = dsa::SigningKey::from_pkcs8_der(der) {
            return Ok(PrivateKey::Dsa(k));
        }
        Err("unsupported or malformed PKCS#8 private key (RSA, EC P-256/P-384 and DSA are supported)".into())
    }

    /// From PEM (`PRIVATE KEY`, `RSA PRIVATE KEY`, `EC PRIVATE KEY`) or DER.
    pub fn from_pem_or_der(data: &[u8]) -> Result<PrivateKey, String> {
        match pem_blocks(data) {
            Some(blocks) => {
                for (label, der) in blocks {
                    let der = Zeroizing::new(der);
                    match label.as_str() {
                        "PRIVATE KEY" => return Self::from_pkcs8_der(&der),
                        "RSA PRIVATE KEY" => {
                            use pkcs1::DecodeRsaPrivateKey;
                            return rsa::RsaPrivateKey::from_pkcs1_der(&der)
                                .map(PrivateKey::Rsa)
                                .map_err(|e| format!("malformed RSA private key: {e}"));
                        }
                        "EC PRIVATE KEY" => {
                            if let Ok(k) = p256::SecretKey::from_sec1_der(&der) {
                                return Ok(PrivateKey::P256(k));
                            }
                            return p384::SecretKey::from_sec1_der(&der)
                                .map(PrivateKey::P384)
                                .map_err(|_| {
                                    "unsupported or malformed EC private key".to_string()
                                });
                        }
                        "ENCRYPTED PRIVATE KEY" => {
                            return Err(
                                "the private key is encrypted; export it unencrypted or as .p12"
                                    .into(),
                            )
                        }
                        _ => {}
                    }
                }
                Err("no private key found in the PEM file".into())
            }
            None => Self::from_pkcs8_der(data).or_else(|_| {
                use pkcs1::DecodeRsaPrivateKey;
                rsa::RsaPrivateKey::from_pkcs1_der(data)
                    .map(PrivateKey::Rsa)
                    .map_err(|_| {
                        "not a private key (PEM or DER PKCS#8/PKCS#1 expected)".to_string()
                    })
            }),
        }
    }

    pub fn kind(&self) -> KeyKind {
        match self {
            PrivateKey::Rsa(k) => KeyKind::Rsa {
                bits: rsa::traits::PublicKeyParts::n(k).bits(),
            },
            PrivateKey::P256(_) => KeyKind::Ec { curve: "P-256" },
            PrivateKey::P384(_) => KeyKind::Ec { curve: "P-384" },
            PrivateKey::Dsa(k) => KeyKind::Dsa {
                bits: k.verifying_key().components().p().bits(),
            },
        }
    }

    /// DER SubjectPublicKeyInfo of the public half.
    pub fn public_spki_der(&self) -> Vec<u8> {
        let doc = match self {
            PrivateKey::Rsa(k) => k.to_public_key().to_public_key_der(),
            PrivateKey::P256(k) => k.public_key().to_public_key_der(),
            PrivateKey::P384(k) => k.public_key().to_public_key_der(),
            PrivateKey::Dsa(k) => k.verifying_key().to_public_key_der(),
        };
        doc.map(|d| d.as_bytes().to_vec()).unwrap_or_default()
    }

    /// Whether this key is the private half of `cert`'s public key. Compares key
    /// material, not encodings (SPKI parameters are written differently by tools).
    pub fn matches(&self, cert: &Cert) -> bool {
        use spki::DecodePublicKey;
        match self {
            PrivateKey::Rsa(k) => rsa::RsaPublicKey::from_public_key_der(&cert.spki)
                .map(|p| p == k.to_public_key())
                .unwrap_or(false),
            PrivateKey::P256(k) => p256::PublicKey::from_public_key_der(&cert.spki)
                .map(|p| p == k.public_key())
                .unwrap_or(false),
            PrivateKey::P384(k) => p384::PublicKey::from_public_key_der(&cert.spki)
                .map(|p| p == k.public_key())
                .unwrap_or(false),
            PrivateKey::Dsa(k) => dsa::VerifyingKey::from_public_key_der(&cert.spki)
                .map(|p| p.y() == k.verifying_key().y())
                .unwrap_or(false),
        }
    }

    /// PKCS#8 DER, zeroed on drop; for handing to apple-codesign.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, String> {
        let doc = match self {
            PrivateKey::Rsa(k) => k.to_pkcs8_der(),
            PrivateKey::P256(k) => k.to_pkcs8_der(),
            PrivateKey::P384(k) => k.to_pkcs8_der(),
            PrivateKey::Dsa(k) => k.to_pkcs8_der(),
        }
        .map_err(|e| format!("cannot encode private key: {e}"))?;
        Ok(Zeroizing::new(doc.as_bytes().to_vec()))
    }
}
