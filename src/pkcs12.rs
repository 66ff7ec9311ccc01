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
///
/// An empty password has two encodings: an empty BMPString (two zero bytes,
/// what OpenSSL 3 and keytool write) and no bytes at all (what macOS Keychain
/// and Ruby/OpenSSL 1.x write for "no password"). OpenSSL tries both; so do we.
pub fn open(data: &[u8], password: &str) -> Result<p12_keystore::Pkcs12Archive, P12Error> {
    match open_with(data, password) {
        Err(P12Error::WrongPassword) if password.is_empty() => {
            legacy_without_password(data).ok_or(P12Error::WrongPassword)
        }
        other => other,
    }
}

fn open_with(data: &[u8], password: &str) -> Result<p12_keystore::Pkcs12Archive, P12Error> {
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

/// The same bound p12-keystore puts on key derivation: a hostile file must not
/// make us hash for minutes.
const MAX_ITERATIONS: u64 = 1_000_000;

/// Opens a legacy (SHA-1 MAC, RC2/3DES) PKCS#12 file whose password is "no
/// bytes", with the `p12` crate, which takes the password as raw bytes.
/// `None` when it is not such a file.
fn legacy_without_password(data: &[u8]) -> Option<p12_keystore::Pkcs12Archive> {
    use p12::{AlgorithmIdentifier as Alg, ContentInfo, SafeBag, SafeBagKind};
    const NO_BYTES: &[u8] = &[];
    let pbe_ok = |alg: &Alg| match alg {
        Alg::PbewithSHAAnd40BitRC2CBC(p) | Alg::PbeWithSHAAnd3KeyTripleDESCBC(p) => {
            p.iterations <= MAX_ITERATIONS
        }
        _ => false,
    };
    let pfx = p12::PFX::parse(data).ok()?;
    let ContentInfo::Data(auth_safe) = &pfx.auth_safe else {
        return None;
    };
    // The MAC decides which encoding the file uses, as in OpenSSL; only SHA-1
    // MACs exist in files written that way (p12 verifies nothing else).
    let mac = pfx.mac_data.as_ref()?;
    if mac.mac.digest_algorithm != Alg::Sha1 || u64::from(mac.iterations) > MAX_ITERATIONS {
        return None;
    }
    if !mac.verify_mac(auth_safe, NO_BYTES) {
        return None;
    }
    // The authenticated safe, read by hand so that malformed versions are
    // errors rather than the crate's debug assertions; BER, as Keychain writes.
    let contents: Vec<Vec<u8>> = yasna::parse_ber(auth_safe, |r| {
        r.collect_sequence_of(|r| {
            r.read_sequence(|r| {
                let oid = r.next().read_oid()?;
                let inner = r
                    .next()
                    .read_tagged(yasna::Tag::context(0), |r| r.read_der())?;
                Ok((oid, inner))
            })
        })
    })
    .ok()?
    .into_iter()
    .map(|(oid, inner)| -> Option<Vec<u8>> {
        match oid.components().as_slice() {
            // data
            [1, 2, 840, 113549, 1, 7, 1] => yasna::parse_ber(&inner, |r| r.read_bytes()).ok(),
            // encryptedData: version 0, then the encrypted content info
            [1, 2, 840, 113549, 1, 7, 6] => {
                let eci = yasna::parse_ber(&inner, |r| {
                    r.read_sequence(|r| {
                        let version = r.next().read_u8()?;
                        let eci = r.next().read_der()?;
                        Ok((version, eci))
                    })
                })
                .ok()
                .filter(|(v, _)| *v == 0)?
                .1;
                let eci = yasna::parse_ber(&eci, |r| {
                    r.read_sequence(|r| {
                        let content_type = r.next().read_oid()?;
                        let alg = Alg::parse(r.next())?;
                        let body = r
                            .next()
                            .read_tagged_implicit(yasna::Tag::context(0), |r| r.read_bytes())?;
                        Ok((content_type, alg, body))
                    })
                })
                .ok()?;
                if eci.0.components().as_slice() != [1, 2, 840, 113549, 1, 7, 1] || !pbe_ok(&eci.1)
                {
                    return None;
                }
                eci.1.decrypt_pbe(&eci.2, NO_BYTES)
            }
            _ => None,
        }
    })
    .collect::<Option<_>>()?;
    let mut out = p12_keystore::Pkcs12Archive::default();
    for content in contents {
        let bags = yasna::parse_ber(&content, |r| r.collect_sequence_of(SafeBag::parse)).ok()?;
        for bag in bags {
            let friendly_name = bag.friendly_name();
            let local_key_id = bag.local_key_id();
            match &bag.bag {
                SafeBagKind::CertBag(_) => {
                    let der = bag.bag.get_x509_cert()?;
                    out.certs.push(p12_keystore::CertificateBag {
                        friendly_name,
                        local_key_id,
                        trusted: false,
                        cert: p12_keystore::Certificate::from_der(&der).ok()?,
                    });
                }
                SafeBagKind::Pkcs8ShroudedKeyBag(k) => {
                    if !pbe_ok(&k.encryption_algorithm) {
                        return None;
                    }
                    let der = Zeroizing::new(k.decrypt(NO_BYTES)?);
                    out.keys.push(p12_keystore::PrivateKeyBag {
                        friendly_name,
                        local_key_id: local_key_id.map(p12_keystore::LocalKeyId),
                        key: p12_keystore::PrivateKey::from_der(&der).ok()?,
                    });
                }
                SafeBagKind::OtherBagKind(_) => {}
            }
        }
    }
    Some(out)
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
