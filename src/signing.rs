//! Producing signatures, the counterpart of [`crate::crypto`]'s verification:
//! RSA PKCS#1 v1.5 and ECDSA (P-256, P-384) over RustCrypto, for keys from
//! [`crate::keys::PrivateKey`]. Nothing here implements a primitive. Every
//! signature is checked against the public key before it is returned, as
//! apksig does, so a broken key never yields a signed artefact.

use signature::hazmat::PrehashSigner;

use crate::crypto::{self, Hash, SigAlg};
use crate::keys::PrivateKey;

/// Signs `msg` with `key` using `alg` (the message is hashed here).
///
/// RSA PKCS#1 v1.5 is deterministic; ECDSA uses RFC 6979 nonces, so the same
/// input always gives the same bytes (useful for reproducible builds).
pub fn sign(key: &PrivateKey, alg: SigAlg, msg: &[u8]) -> Result<Vec<u8>, String> {
    let digest = alg.hash().digest(msg);
    let sig = match (key, alg) {
        (PrivateKey::Rsa(k), SigAlg::RsaPkcs1(h)) => {
            let scheme = match h {
                Hash::Sha1 => rsa::Pkcs1v15Sign::new::<sha1::Sha1>(),
                Hash::Sha256 => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                Hash::Sha384 => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
                Hash::Sha512 => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
                other => return Err(format!("RSA signing with {} is not offered", other.name())),
            };
            k.sign(scheme, &digest)
                .map_err(|e| format!("RSA signing failed: {e}"))?
        }
        (PrivateKey::P256(k), SigAlg::Ecdsa(_)) => {
            let sk = p256::ecdsa::SigningKey::from(k);
            let s: p256::ecdsa::Signature = sk
                .sign_prehash(&digest)
                .map_err(|e| format!("ECDSA signing failed: {e}"))?;
            s.to_der().as_bytes().to_vec()
        }
        (PrivateKey::P384(k), SigAlg::Ecdsa(_)) => {
            let sk = p384::ecdsa::SigningKey::from(k);
            let s: p384::ecdsa::Signature = sk
                .sign_prehash(&digest)
                .map_err(|e| format!("ECDSA signing failed: {e}"))?;
            s.to_der().as_bytes().to_vec()
        }
        (k, a) => return Err(format!("a {} key cannot make {a:?} signatures", k.kind())),
    };
    // Sign-then-verify: catches a key whose halves do not belong together.
    crypto::verify_digest(&key.public_spki_der(), alg, &digest, &sig)
        .map_err(|e| format!("the new signature does not verify with the public key: {e}"))?;
    Ok(sig)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_rsa_is_deterministic() {
        let mut rng = rand::thread_rng();
        let rsa = PrivateKey::Rsa(rsa::RsaPrivateKey::new(&mut rng, 1024).unwrap());
        let a = sign(&rsa, SigAlg::RsaPkcs1(Hash::Sha256), b"apk").unwrap();
        let b = sign(&rsa, SigAlg::RsaPkcs1(Hash::Sha256), b"apk").unwrap();
        assert_eq!(a, b);
        let spki = rsa.public_spki_der();
        crypto::verify(&spki, SigAlg::RsaPkcs1(Hash::Sha256), b"apk", &a).unwrap();
        assert!(crypto::verify(&spki, SigAlg::RsaPkcs1(Hash::Sha256), b"apK", &a).is_err());

        for key in [
            PrivateKey::P256(p256::SecretKey::random(&mut rng)),
            PrivateKey::P384(p384::SecretKey::random(&mut rng)),
        ] {
            for h in [Hash::Sha256, Hash::Sha512] {
                let s = sign(&key, SigAlg::Ecdsa(h), b"apk").unwrap();
                crypto::verify(&key.public_spki_der(), SigAlg::Ecdsa(h), b"apk", &s).unwrap();
            }
            assert!(sign(&key, SigAlg::RsaPkcs1(Hash::Sha256), b"apk").is_err());
        }
    }
}
