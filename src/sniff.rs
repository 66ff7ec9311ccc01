//! Tells what a file is from its content, not its name (a `.cer` may be PEM, a
//! `.p12` may be a keystore, a `.zip` may be an IPA).

use std::io::Read;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// PKCS#12 / PFX: an identity or a keystore.
    Pkcs12,
    /// PEM with at least one certificate (maybe with a key).
    PemCertificate,
    /// PEM with only a private key.
    PemKey,
    /// DER X.509 certificate.
    DerCertificate,
    /// CMS SignedData (a provisioning profile).
    Cms,
    /// An XML or binary plist (an unsigned profile, an Info.plist).
    Plist,
    /// A zip holding `Payload/*.app`.
    Ipa,
    /// A zip holding `AndroidManifest.xml`.
    Apk,
    /// Another zip.
    Zip,
    /// An `.app` bundle directory.
    AppDir,
    /// Another directory.
    Dir,
    Jks,
    Jceks,
    /// Bouncy Castle BKS or UBER keystores: recognised, not supported.
    Bks,
    /// Nothing at all: an interrupted download or export, a placeholder.
    Empty,
    Unknown,
}

impl Kind {
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Pkcs12 => "PKCS#12",
            Kind::PemCertificate => "PEM certificate",
            Kind::PemKey => "PEM private key",
            Kind::DerCertificate => "DER certificate",
            Kind::Cms => "CMS signed data",
            Kind::Plist => "property list",
            Kind::Ipa => "IPA",
            Kind::Apk => "APK",
            Kind::Zip => "zip archive",
            Kind::AppDir => "app bundle",
            Kind::Dir => "directory",
            Kind::Jks => "JKS keystore",
            Kind::Jceks => "JCEKS keystore",
            Kind::Bks => "BKS/UBER keystore",
            // Reads right after "a" and in parentheses, as callers use it.
            Kind::Empty => "0-byte, empty file",
            Kind::Unknown => "file of unknown type",
        }
    }
}

const OID_SIGNED_DATA: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02,
];
const OID_DATA: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01,
];

/// Sniffs a path: directories by layout, files by their first bytes.
pub fn sniff_path(path: &Path) -> std::io::Result<Kind> {
    let meta = std::fs::metadata(path)?;
    if meta.is_dir() {
        let is_app =
            path.extension().is_some_and(|e| e == "app") || path.join("Info.plist").is_file();
        return Ok(if is_app { Kind::AppDir } else { Kind::Dir });
    }
    let mut head = Vec::with_capacity(4096);
    std::fs::File::open(path)?
        .take(4096)
        .read_to_end(&mut head)?;
    let kind = sniff_bytes(&head);
    if kind == Kind::Zip || kind == Kind::Unknown && head.starts_with(b"PK") {
        return Ok(sniff_zip(path));
    }
    Ok(kind)
}

/// Sniffs the first bytes of a file (zips need [`sniff_path`] to look inside).
pub fn sniff_bytes(head: &[u8]) -> Kind {
    if head.is_empty() {
        return Kind::Empty;
    }
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return Kind::Zip;
    }
    if head.starts_with(&[0xfe, 0xed, 0xfe, 0xed]) {
        return Kind::Jks;
    }
    if head.starts_with(&[0xce, 0xce, 0xce, 0xce]) {
        return Kind::Jceks;
    }
    if head.starts_with(b"bplist") {
        return Kind::Plist;
    }
    if head.first() == Some(&0x30) {
        let window = &head[..head.len().min(64)];
        if contains(window, OID_SIGNED_DATA) {
            return Kind::Cms;
        }
        // PFX ::= SEQUENCE { version INTEGER (3), authSafe ContentInfo, ... }
        if let Some(body) = seq_body(head) {
            if body.starts_with(&[0x02, 0x01, 0x03])
                && contains(&body[..body.len().min(32)], OID_DATA)
            {
                return Kind::Pkcs12;
            }
        }
        if crate::x509::Cert::from_der(head).is_ok() || looks_like_cert(head) {
            return Kind::DerCertificate;
        }
    }
    let text = String::from_utf8_lossy(&head[..head.len().min(4096)]);
    if text.contains("-----BEGIN CERTIFICATE-----")
        || text.contains("-----BEGIN TRUSTED CERTIFICATE-----")
    {
        return Kind::PemCertificate;
    }
    if text.contains("PRIVATE KEY-----") {
        return Kind::PemKey;
    }
    if text.trim_start().starts_with("<?xml") || text.contains("<plist") {
        return Kind::Plist;
    }
    // BKS (version 1 or 2) and UBER (version 1) start with a big-endian version int
    // then a salt length; recognise them loosely so we can name them.
    if head.len() >= 8 && head[..3] == [0, 0, 0] && (head[3] == 1 || head[3] == 2) {
        let salt_len = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
        if (8..=64).contains(&salt_len) {
            return Kind::Bks;
        }
    }
    Kind::Unknown
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The content of an outer DER SEQUENCE (definite or indefinite length).
fn seq_body(b: &[u8]) -> Option<&[u8]> {
    if b.first()? != &0x30 {
        return None;
    }
    let l = *b.get(1)?;
    let skip = match l {
        0x80 => 2,
        0x00..=0x7f => 2,
        0x81..=0x84 => 2 + (l as usize - 0x80),
        _ => return None,
    };
    b.get(skip..)
}

/// A DER certificate that may be cut off in `head`: SEQUENCE { SEQUENCE { [0] version ...
fn looks_like_cert(head: &[u8]) -> bool {
    seq_body(head)
        .and_then(seq_body)
        .is_some_and(|tbs| tbs.starts_with(&[0xa0, 0x03, 0x02, 0x01]))
}

/// Looks inside a zip: IPA if it has `Payload/`, APK if it has `AndroidManifest.xml`.
fn sniff_zip(path: &Path) -> Kind {
    let Some(names) = crate::zip::names(path) else {
        return Kind::Zip;
    };
    let mut kind = Kind::Zip;
    for name in &names {
        if name == "AndroidManifest.xml" {
            return Kind::Apk;
        }
        if is_payload_app(name) {
            kind = Kind::Ipa;
        }
    }
    kind
}

/// `Payload/X.app/...`, possibly under one leading folder (some tools zip that way).
pub fn is_payload_app(name: &str) -> bool {
    let mut parts = name.split('/');
    let first = parts.next().unwrap_or("");
    let second = parts.next().unwrap_or("");
    (first == "Payload" && second.ends_with(".app"))
        || (second == "Payload" && parts.next().is_some_and(|s| s.ends_with(".app")))
}

/// The entry names of a zip that look like a device bundle (at least one
/// `.p12`/`.pfx` entry; IPAs and APKs are told apart before this is asked):
/// `(device files, other files)`, or `None`. Reads only the central directory.
pub fn device_bundle(path: &Path) -> Option<(Vec<String>, Vec<String>)> {
    let names = crate::zip::names(path)?;
    let mut p12 = Vec::new();
    let mut others = Vec::new();
    for n in &names {
        if n.ends_with('/') || is_junk(n) {
            continue;
        }
        if is_p12_name(base_name(n)) {
            p12.push(n.to_string());
        } else {
            others.push(n.to_string());
        }
    }
    (!p12.is_empty()).then_some((p12, others))
}

pub fn is_p12_name(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    (l.ends_with(".p12") || l.ends_with(".pfx")) && l.len() > 4
}

pub fn base_name(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// Finder and macOS zip leftovers, never content.
pub fn is_junk(name: &str) -> bool {
    name.starts_with("__MACOSX/")
        || base_name(name).starts_with("._")
        || base_name(name) == ".DS_Store"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_numbers() {
        assert_eq!(
            sniff_bytes(&[0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2]),
            Kind::Jks
        );
        assert_eq!(sniff_bytes(&[0xce, 0xce, 0xce, 0xce]), Kind::Jceks);
        assert_eq!(sniff_bytes(b"bplist00"), Kind::Plist);
        assert_eq!(sniff_bytes(b"-----BEGIN PRIVATE KEY-----\n"), Kind::PemKey);
        assert_eq!(sniff_bytes(b"hello"), Kind::Unknown);
        assert_eq!(sniff_bytes(b""), Kind::Empty);
        assert!(is_payload_app("Payload/A.app/Info.plist"));
        assert!(is_payload_app("Top/Payload/A.app/Info.plist"));
        assert!(!is_payload_app("Payload/readme.txt"));
    }
}
