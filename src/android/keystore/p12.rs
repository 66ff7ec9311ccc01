//! PKCS#12 as a keystore, the way Java's `PKCS12KeyStore` sees it: each key bag
//! is a private-key entry named by its friendlyName and linked to its
//! certificate by localKeyId; certificate bags carrying Oracle's trusted-key-usage
//! attribute are trusted-certificate entries; other certificates only complete chains.

use zeroize::Zeroizing;

use super::{Entry, EntryKind, Integrity, Keystore, OpenError, ProtectedKey, SecretKey, StoreType};
use crate::pkcs12::{self, P12Error};
use crate::x509::Cert;

pub(super) fn read(data: &[u8], password: Option<&str>) -> Result<Keystore, OpenError> {
    let archive = pkcs12::open(data, password.unwrap_or("")).map_err(|e| match e {
        P12Error::WrongPassword => OpenError::WrongStorePassword {
            given: password.is_some(),
        },
        P12Error::Unsupported(m) => OpenError::Unsupported(format!("PKCS#12: {m}")),
        other => OpenError::Malformed(other.to_string()),
    })?;
    let certs: Vec<Cert> = archive
        .certs
        .iter()
        .map(|b| Cert::from_der(b.cert.as_der()))
        .collect::<Result<_, _>>()
        .map_err(|e| OpenError::Malformed(format!("PKCS#12 certificate bag: {e}")))?;
    // Java names entries without a friendlyName "1", "2", ...
    let mut unnamed = 0;
    let mut name = |n: &Option<String>| {
        n.clone().unwrap_or_else(|| {
            unnamed += 1;
            unnamed.to_string()
        })
    };
    let mut entries = Vec::new();
    for key in &archive.keys {
        let leaf = key.local_key_id.as_ref().and_then(|id| {
            archive
                .certs
                .iter()
                .position(|c| c.local_key_id.as_deref() == Some(id.as_ref()))
        });
        let chain = match leaf {
            Some(i) => chain_from(i, &certs, &archive.certs),
            None => Vec::new(),
        };
        entries.push(Entry {
            alias: name(&key.friendly_name),
            created: None,
            kind: EntryKind::PrivateKey {
                key: ProtectedKey::Clear(Zeroizing::new(key.key.as_der().to_vec())),
                chain,
            },
        });
    }
    for bag in archive.certs.iter().filter(|b| b.trusted) {
        entries.push(Entry {
            alias: name(&bag.friendly_name),
            created: None,
            kind: EntryKind::TrustedCert {
                cert: bag.cert.as_der().to_vec(),
            },
        });
    }
    for s in &archive.secrets {
        entries.push(Entry {
            alias: name(&s.friendly_name),
            created: None,
            kind: EntryKind::SecretKey(SecretKey::Clear {
                algorithm: java_algorithm(s.key.key_type()),
                key: Zeroizing::new(s.key.key().to_vec()),
            }),
        });
    }
    Ok(Keystore {
        store_type: StoreType::Pkcs12,
        entries,
        integrity: Integrity::Verified,
    })
}

/// The leaf and, issuer by issuer, the non-trusted certificates that signed it.
fn chain_from(leaf: usize, certs: &[Cert], bags: &[p12_keystore::CertificateBag]) -> Vec<Vec<u8>> {
    let mut chain = vec![leaf];
    for _ in 0..8 {
        let Some(cur) = chain.last().and_then(|&i| certs.get(i)) else {
            break;
        };
        if cur.is_self_issued() {
            break;
        }
        let next = certs.iter().enumerate().position(|(j, c)| {
            !chain.contains(&j) && !bags.get(j).is_some_and(|b| b.trusted) && cur.is_issued_by(c)
        });
        match next {
            Some(j) => chain.push(j),
            None => break,
        }
    }
    chain
        .into_iter()
        .filter_map(|i| certs.get(i))
        .map(|c| c.der.clone())
        .collect()
}

/// Java's algorithm name for a PKCS#12 secret key type (what keytool prints).
fn java_algorithm(t: p12_keystore::secret::SecretKeyType) -> String {
    use p12_keystore::secret::SecretKeyType as T;
    match t {
        T::Aes | T::Aes128Cbc | T::Aes192Cbc | T::Aes256Cbc => "AES".into(),
        T::DesCbc => "DES".into(),
        T::DesEde3Cbc => "DESede".into(),
        T::Blowfish => "Blowfish".into(),
        T::Rc2Cbc => "RC2".into(),
        T::Rc4 => "RC4".into(),
        T::Camelia => "Camellia".into(),
        T::HmacSha1 => "HmacSHA1".into(),
        T::HmacSha224 => "HmacSHA224".into(),
        T::HmacSha256 => "HmacSHA256".into(),
        T::HmacSha384 => "HmacSHA384".into(),
        T::HmacSha512 => "HmacSHA512".into(),
        T::Unknown(oid) => oid.to_string(),
    }
}
