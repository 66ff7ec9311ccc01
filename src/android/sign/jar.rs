//! JAR signing (v1) as apksig's V1SchemeSigner writes it, byte for byte:
//! `META-INF/MANIFEST.MF` (the input manifest's main section, then one section
//! per entry sorted by name), `<NAME>.SF` (`Signature-Version`, `Created-By:
//! 1.0 (Android)`, the manifest digest, `X-Android-APK-Signed` when v2/v3 are
//! made too, one digest per manifest section) and `<NAME>.RSA|.EC`, a DER
//! PKCS#7 SignedData without content, built with the `cms` crate.

use std::collections::BTreeMap;

use base64::Engine;
use cms::cert::x509::Certificate;
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{Any, ObjectIdentifier, OctetString, SetOfVec};
use der::{Decode, Encode};
use spki::AlgorithmIdentifierOwned;

use crate::android::apk::v1::ManifestParser;
use crate::crypto::{Hash, SigAlg};
use crate::keys::PrivateKey;
use crate::signing;

pub const MANIFEST: &str = "META-INF/MANIFEST.MF";
const CREATED_BY: &str = "1.0 (Android)";
const MAX_LINE: usize = 70;

const OID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const OID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const OID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const OID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");

/// The digest v1 uses for entries, the manifest and the signature (apksig's
/// `getSuggestedSignatureDigestAlgorithm`): SHA-1 below API 18, else SHA-256.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum V1Digest {
    Sha1,
    Sha256,
}

impl V1Digest {
    pub fn for_key(key: &PrivateKey, min_sdk: i32) -> Result<V1Digest, String> {
        match key {
            PrivateKey::Rsa(_) if min_sdk < 18 => Ok(V1Digest::Sha1),
            PrivateKey::Rsa(_) => Ok(V1Digest::Sha256),
            PrivateKey::P256(_) | PrivateKey::P384(_) if min_sdk < 18 => Err(format!(
                "ECDSA JAR signatures need API 18 or later, but the APK supports API {min_sdk}; sign with an RSA key, raise --min-sdk, or disable v1 with --v1 false"
            )),
            PrivateKey::P256(_) | PrivateKey::P384(_) => Ok(V1Digest::Sha256),
            PrivateKey::Dsa(_) => Err("DSA keys are not offered for signing (deprecated)".into()),
        }
    }

    pub fn hash(self) -> Hash {
        match self {
            V1Digest::Sha1 => Hash::Sha1,
            V1Digest::Sha256 => Hash::Sha256,
        }
    }

    fn attr(self) -> &'static str {
        match self {
            V1Digest::Sha1 => "SHA1",
            V1Digest::Sha256 => "SHA-256",
        }
    }

    fn oid(self) -> ObjectIdentifier {
        match self {
            V1Digest::Sha1 => OID_SHA1,
            V1Digest::Sha256 => OID_SHA256,
        }
    }
}

/// Whether an entry is listed in MANIFEST.MF (apksig's `isJarEntryDigestNeededInManifest`).
/// Entries that are not are signature files or folders, which re-signing drops.
pub fn needs_digest(name: &str) -> bool {
    if name.ends_with('/') {
        return false;
    }
    let Some(rest) = name.strip_prefix("META-INF/") else {
        return true;
    };
    if rest.contains('/') {
        return true;
    }
    let lower = rest.to_lowercase();
    !(lower == "manifest.mf"
        || lower.ends_with(".sf")
        || lower.ends_with(".rsa")
        || lower.ends_with(".dsa")
        || lower.ends_with(".ec")
        || lower.starts_with("sig-"))
}

/// apksig's `getSafeSignerName`: upper case, at most 8 of `A-Z0-9_-`.
pub fn safe_signer_name(name: &str) -> String {
    name.to_uppercase()
        .chars()
        .take(8)
        .map(|c| {
            if c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The file extension of the signature block: the key algorithm, as Java names it.
pub fn block_extension(key: &PrivateKey) -> &'static str {
    match key {
        PrivateKey::Rsa(_) => "RSA",
        PrivateKey::P256(_) | PrivateKey::P384(_) => "EC",
        PrivateKey::Dsa(_) => "DSA",
    }
}

/// One manifest line, wrapped at 70 bytes with continuation lines (Java splits bytes).
fn write_line(out: &mut Vec<u8>, line: &str) {
    let bytes = line.as_bytes();
    let mut first = true;
    let mut rest = bytes;
    while !rest.is_empty() {
        let n = if first {
            rest.len().min(MAX_LINE)
        } else {
            out.extend_from_slice(b"\r\n ");
            rest.len().min(MAX_LINE - 1)
        };
        out.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        first = false;
    }
    out.extend_from_slice(b"\r\n");
}

fn write_attr(out: &mut Vec<u8>, name: &str, value: &str) {
    write_line(out, &format!("{name}: {value}"));
}

/// Java orders `String`s by UTF-16 code units; Rust compares UTF-8 bytes.
fn java_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// Main attributes of the input manifest: names compared case-insensitively,
/// the first spelling kept and the last value wins (java.util.jar.Attributes).
fn main_attributes(source: Option<&[u8]>) -> Vec<(String, String)> {
    let mut attrs: Vec<(String, String)> = Vec::new();
    let section = source.and_then(|s| ManifestParser::new(s).read_section());
    if let Some(sec) = section.filter(|s| s.name.is_none()) {
        for (n, v) in sec.attributes() {
            if n.is_empty() {
                continue;
            }
            match attrs.iter_mut().find(|(x, _)| x.eq_ignore_ascii_case(n)) {
                Some(slot) => slot.1 = v.to_string(),
                None => attrs.push((n.to_string(), v.to_string())),
            }
        }
    }
    if !attrs
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("Manifest-Version"))
    {
        // apksig writes this default when the APK has no manifest (and fails when
        // a manifest lacks it; adding it is the useful reading).
        attrs.push(("Manifest-Version".into(), "1.0".into()));
    }
    attrs
}

/// MANIFEST.MF and the bytes of each per-entry section (for the .SF digests).
pub struct Manifest {
    pub bytes: Vec<u8>,
    sections: Vec<(String, Vec<u8>)>,
}

/// Writes MANIFEST.MF: `Manifest-Version` first, the other main attributes sorted
/// by name, then a `Name:`/digest section per entry in name order.
pub fn manifest(
    source: Option<&[u8]>,
    digest: V1Digest,
    entries: &BTreeMap<String, Vec<u8>>,
) -> Manifest {
    let b64 = base64::engine::general_purpose::STANDARD;
    let attrs = main_attributes(source);
    let mut out = Vec::new();
    let (version, others): (Vec<_>, Vec<_>) = attrs
        .iter()
        .partition(|(n, _)| n.eq_ignore_ascii_case("Manifest-Version"));
    if let Some((_, v)) = version.first() {
        write_attr(&mut out, "Manifest-Version", v);
    }
    let mut others: Vec<&(String, String)> = others;
    others.sort_by(|a, b| java_cmp(&a.0, &b.0));
    for (n, v) in others {
        write_attr(&mut out, n, v);
    }
    out.extend_from_slice(b"\r\n");
    let mut names: Vec<&String> = entries.keys().collect();
    names.sort_by(|a, b| java_cmp(a, b));
    let attr = format!("{}-Digest", digest.attr());
    let mut sections = Vec::with_capacity(names.len());
    for name in names {
        let mut s = Vec::new();
        write_attr(&mut s, "Name", name);
        write_attr(&mut s, &attr, &b64.encode(&entries[name]));
        s.extend_from_slice(b"\r\n");
        out.extend_from_slice(&s);
        sections.push((name.clone(), s));
    }
    Manifest {
        bytes: out,
        sections,
    }
}

/// The signature file (.SF). `schemes` are the v2+ scheme ids also being made.
pub fn signature_file(manifest: &Manifest, digest: V1Digest, schemes: &[u32]) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let h = digest.hash();
    let mut main: Vec<(String, String)> = vec![
        ("Created-By".into(), CREATED_BY.into()),
        (
            format!("{}-Digest-Manifest", digest.attr()),
            b64.encode(h.digest(&manifest.bytes)),
        ),
    ];
    if !schemes.is_empty() {
        let ids: Vec<String> = schemes.iter().map(u32::to_string).collect();
        main.push(("X-Android-APK-Signed".into(), ids.join(", ")));
    }
    main.sort_by(|a, b| java_cmp(&a.0, &b.0));
    let mut out = Vec::new();
    write_attr(&mut out, "Signature-Version", "1.0");
    for (n, v) in &main {
        write_attr(&mut out, n, v);
    }
    out.extend_from_slice(b"\r\n");
    let attr = format!("{}-Digest", digest.attr());
    // apksig iterates a sorted map of the sections: the same order as the manifest.
    for (name, section) in &manifest.sections {
        write_attr(&mut out, "Name", name);
        write_attr(&mut out, &attr, &b64.encode(h.digest(section)));
        out.extend_from_slice(b"\r\n");
    }
    // Android up to 1.6 fails on .SF files whose length is a multiple of 1024.
    if !out.is_empty() && out.len() % 1024 == 0 {
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn alg_id(oid: ObjectIdentifier) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid,
        parameters: Some(Any::null()),
    }
}

/// The signature block (.RSA/.EC): PKCS#7 SignedData over the .SF, detached,
/// with the certificate chain and one SignerInfo without signed attributes.
pub fn signature_block(
    key: &PrivateKey,
    chain_der: &[Vec<u8>],
    digest: V1Digest,
    sf: &[u8],
) -> Result<Vec<u8>, String> {
    let (sig_alg, sig_oid) = match key {
        PrivateKey::Rsa(_) => (SigAlg::RsaPkcs1(digest.hash()), OID_RSA),
        PrivateKey::P256(_) | PrivateKey::P384(_) => (SigAlg::Ecdsa(digest.hash()), OID_EC),
        PrivateKey::Dsa(_) => return Err("DSA keys are not offered for signing".into()),
    };
    let signature = signing::sign(key, sig_alg, sf)?;
    let enc = |e: der::Error| format!("cannot encode the PKCS#7 signature block: {e}");
    let certs: Vec<Certificate> = chain_der
        .iter()
        .map(|d| Certificate::from_der(d).map_err(|e| format!("certificate: {e}")))
        .collect::<Result<_, _>>()?;
    let leaf = certs.first().ok_or("no certificate to sign with")?;
    let signer = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: leaf.tbs_certificate.issuer.clone(),
            serial_number: leaf.tbs_certificate.serial_number.clone(),
        }),
        digest_alg: alg_id(digest.oid()),
        signed_attrs: None,
        signature_algorithm: alg_id(sig_oid),
        signature: OctetString::new(signature).map_err(enc)?,
        unsigned_attrs: None,
    };
    let mut cert_set = SetOfVec::new();
    for c in certs {
        cert_set
            .insert(CertificateChoices::Certificate(c))
            .map_err(enc)?;
    }
    let signed = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::try_from(vec![alg_id(digest.oid())]).map_err(enc)?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: OID_DATA,
            econtent: None,
        },
        certificates: Some(CertificateSet(cert_set)),
        crls: None,
        signer_infos: SignerInfos(SetOfVec::try_from(vec![signer]).map_err(enc)?),
    };
    let info = ContentInfo {
        content_type: OID_SIGNED_DATA,
        content: Any::encode_from(&signed).map_err(enc)?,
    };
    info.to_der().map_err(enc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_lines_follow_apksig() {
        assert_eq!(safe_signer_name("rsa-2048"), "RSA-2048");
        assert_eq!(safe_signer_name("my release key"), "MY_RELEA");
        assert!(needs_digest("classes.dex"));
        assert!(needs_digest("META-INF/services/x"));
        assert!(needs_digest("META-INF/LICENSE"));
        for n in [
            "META-INF/MANIFEST.MF",
            "META-INF/CERT.RSA",
            "META-INF/x.sf",
            "META-INF/SIG-A",
            "res/",
        ] {
            assert!(!needs_digest(n), "{n}");
        }
        let mut out = Vec::new();
        write_line(&mut out, &format!("Name: {}", "a".repeat(140)));
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0].len(), 70);
        assert!(lines[1].starts_with(' ') && lines[1].len() == 70);
        assert_eq!(lines[2].len(), 1 + 146 - 70 - 69);
    }

    #[test]
    fn manifest_keeps_main_attributes_sorted() {
        let src = b"Manifest-Version: 1.0\r\nZed: 1\r\nCreated-By: x\r\ncreated-by: y\r\n\r\nName: a\r\nSHA1-Digest: q\r\n\r\n";
        let mut entries = BTreeMap::new();
        entries.insert("b".to_string(), vec![1u8; 32]);
        entries.insert("a".to_string(), vec![2u8; 32]);
        let m = manifest(Some(src), V1Digest::Sha256, &entries);
        let text = String::from_utf8(m.bytes.clone()).unwrap();
        assert!(text.starts_with(
            "Manifest-Version: 1.0\r\nCreated-By: y\r\nZed: 1\r\n\r\nName: a\r\nSHA-256-Digest: "
        ));
        assert!(text.contains("\r\n\r\nName: b\r\n"));
        let sf = String::from_utf8(signature_file(&m, V1Digest::Sha256, &[2, 3])).unwrap();
        assert!(sf.starts_with(
            "Signature-Version: 1.0\r\nCreated-By: 1.0 (Android)\r\nSHA-256-Digest-Manifest: "
        ));
        assert!(sf.contains("X-Android-APK-Signed: 2, 3\r\n\r\nName: a\r\n"));
    }
}
