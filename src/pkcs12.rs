//! PKCS#12 (.p12/.pfx) identities, read with p12-keystore, which handles both the
//! legacy RC2/3DES + SHA-1 MAC encoding and OpenSSL 3 / keytool 17's
//! PBES2/AES-256 + SHA-256 MAC default (the `p12` crate inside apple-codesign
//! rejects the latter with a misleading "incorrect password").

use zeroize::Zeroizing;

use crate::keys::PrivateKey;
use crate::x509::Cert;

/// One private key with its certificate, plus any other certificates in the file.
#[derive(Debug)]
pub struct Identity {
    /// The certificate whose public key matches the private key, or the first
    /// end-entity certificate when there is no key.
    pub cert: Cert,
    pub key: Option<PrivateKey>,
    /// Whether the file held a private key that matches none of its certificates.
    pub orphan_key: bool,
    /// Every other certificate in the file (chain, CAs).
    pub others: Vec<Cert>,
    pub friendly_name: Option<String>,
}

/// Why a PKCS#12 file could not be opened. Messages never include the password.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum P12Error {
    /// The MAC did not verify: almost always a wrong password.
    #[error("wrong password (the PKCS#12 MAC does not verify)")]
    WrongPassword,
    /// Not a PKCS#12 file, or damaged.
    #[error("not a valid PKCS#12 file: {0}")]
    Malformed(String),
    /// An encryption or MAC scheme this build does not support.
    #[error("unsupported PKCS#12 encryption: {0}")]
    Unsupported(String),
    /// Opened, but holds no certificate.
    #[error("the PKCS#12 file contains no certificate")]
    NoCertificate,
}

/// Decodes every bag of a PKCS#12 file.
pub fn open(data: &[u8], password: &str) -> Result<p12_keystore::Pkcs12Archive, P12Error> {
    use p12_keystore::error::Error as E;
    p12_keystore::Pkcs12Archive::from_pkcs12(data, password).map_err(|e| match e {
        E::MacError(_) => P12Error::WrongPassword,
        // A wrong password without a MAC shows up as bad padding after decryption.
        E::UnpadError => P12Error::WrongPassword,
        E::UnsupportedEncryptionScheme | E::UnsupportedMacAlgorithm => {
            P12Error::Unsupported(e.to_string())
        }
        other => P12Error::Malformed(other.to_string()),
    })
}

/// Reads the signing identity from a PKCS#12 file.
pub fn read_identity(data: &[u8], password: &str) -> Result<Identity, P12Error> {
    let archive = open(data, password)?;
    let mut certs = Vec::new();
    for bag in &archive.certs {
        match Cert::from_der(bag.cert.as_der()) {
            Ok(c) => certs.push((c, bag.friendly_name.clone())),
            Err(e) => return Err(P12Error::Malformed(e)),
        }
    }
    if certs.is_empty() {
        return Err(P12Error::NoCertificate);
    }
    let key_bag = archive.keys.first();
    let key = match key_bag {
        Some(bag) => {
            let der = Zeroizing::new(bag.key.as_der().to_vec());
            Some(PrivateKey::from_pkcs8_der(&der).map_err(P12Error::Unsupported)?)
        }
        None => None,
    };
    let leaf_idx = match &key {
        Some(k) => certs.iter().position(|(c, _)| k.matches(c)),
        None => None,
    };
    let orphan_key = key.is_some() && leaf_idx.is_none();
    let idx = leaf_idx
        .or_else(|| certs.iter().position(|(c, _)| !c.is_ca))
        .unwrap_or(0);
    let (cert, cert_name) = certs.remove(idx);
    Ok(Identity {
        cert,
        key,
        orphan_key,
        others: certs.into_iter().map(|(c, _)| c).collect(),
        friendly_name: key_bag.and_then(|b| b.friendly_name.clone()).or(cert_name),
    })
}
