//! Certificate facts shared by every domain (iOS identities, profiles, keystores,
//! APK signers, inventory): names, validity, fingerprints, key, extensions, and
//! issuer/chain verification.

use ::time::OffsetDateTime;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use x509_parser::prelude::*;

use crate::at::{self, Window};
use crate::crypto::{self, KeyKind, SigAlg};
use crate::diag::{Code, Finding};

/// A parsed certificate with the facts checks need. Owns its DER.
#[derive(Clone, Debug)]
pub struct Cert {
    pub der: Vec<u8>,
    pub subject: String,
    pub issuer: String,
    pub common_name: Option<String>,
    pub org_unit: Option<String>,
    pub organization: Option<String>,
    /// The `UID` attribute (0.9.2342.19200300.100.1.1): team id or APNs topic on Apple certs.
    pub uid: Option<String>,
    pub serial_hex: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub sha1: String,
    pub sha256: String,
    /// DER SubjectPublicKeyInfo.
    pub spki: Vec<u8>,
    pub key: KeyKind,
    pub signature_oid: String,
    /// OIDs of every extension present.
    pub extension_oids: Vec<String>,
    /// Extended key usage OIDs.
    pub eku: Vec<String>,
    pub is_ca: bool,
    /// OCSP responder URLs from the Authority Information Access extension.
    pub ocsp_urls: Vec<String>,
    /// KeyUsage bits (bit 0 = digitalSignature, bit 1 = nonRepudiation, ...), when present.
    pub key_usage: Option<u16>,
    /// OIDs of the extensions marked critical.
    pub critical_extension_oids: Vec<String>,
    raw_subject: Vec<u8>,
    raw_issuer: Vec<u8>,
    tbs: Vec<u8>,
    signature: Vec<u8>,
}

const OID_UID: &str = "0.9.2342.19200300.100.1.1";

fn attr(name: &X509Name, oid: &str) -> Option<String> {
    name.iter_attributes()
        .find(|a| a.attr_type().to_id_string() == oid)
        .and_then(|a| a.as_str().ok().map(str::to_string))
}

/// Java's keywords (`sun.security.x509.AVAKeyword`), which keytool and
/// apksigner print; other attributes print as `OID.1.2.3`.
fn java_keyword(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.12" => "T",
        "2.5.4.9" => "STREET",
        "2.5.4.46" => "DNQ",
        "2.5.4.4" => "SURNAME",
        "2.5.4.42" => "GIVENNAME",
        "2.5.4.43" => "INITIALS",
        "2.5.4.44" => "GENERATION",
        "2.5.4.5" => "SERIALNUMBER",
        "1.2.840.113549.1.9.1" => "EMAILADDRESS",
        "0.9.2342.19200300.100.1.25" => "DC",
        OID_UID => "UID",
        "1.3.6.1.4.1.42.2.11.2.1" => "IP",
        _ => return None,
    })
}

/// An attribute value as text, for the string types Java reads as text
/// (`DerValue.getAsString`); `None` for the others, which print as hex.
fn ava_text(v: &x509_parser::asn1_rs::Any) -> Option<String> {
    use x509_parser::asn1_rs::Tag;
    let d = v.data;
    let units = |n: usize| {
        d.chunks(n)
            .map(|c| c.iter().fold(0u32, |a, b| a << 8 | u32::from(*b)))
    };
    Some(match v.tag() {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String => {
            String::from_utf8_lossy(d).into_owned()
        }
        // Java reads T61String as Latin-1 and GeneralString as ASCII.
        Tag::T61String => d.iter().map(|b| char::from(*b)).collect(),
        Tag::GeneralString => d
            .iter()
            .map(|b| {
                if b.is_ascii() {
                    char::from(*b)
                } else {
                    '\u{FFFD}'
                }
            })
            .collect(),
        Tag::BmpString => char::decode_utf16(units(2).map(|u| u as u16))
            .map(|c| c.unwrap_or('\u{FFFD}'))
            .collect(),
        Tag::UniversalString => units(4)
            .map(|u| char::from_u32(u).unwrap_or('\u{FFFD}'))
            .collect(),
        _ => return None,
    })
}

/// One `KEYWORD=value` as Java's `AVA.toString()` writes it: the value in
/// double quotes when it holds `,+=<>#;"\` or a newline, or leading, trailing
/// or doubled spaces (`"` and `\` then escaped); a non-string value as `#` and
/// its DER in hex.
fn java_ava(a: &AttributeTypeAndValue) -> String {
    let oid = a.attr_type().to_id_string();
    let key = java_keyword(&oid).map_or_else(|| format!("OID.{oid}"), str::to_string);
    let Some(text) = ava_text(a.attr_value()) else {
        use x509_parser::asn1_rs::ToDer;
        let der = a.attr_value().to_der_vec().unwrap_or_default();
        return format!("{key}=#{}", hex::encode_upper(der));
    };
    const ESCAPEES: &str = ",+=\n<>#;\\\"";
    let printable = |c: char| c.is_ascii_alphanumeric() || " '()+,-./:=?".contains(c);
    let already_quoted = text.chars().count() > 1 && text.starts_with('"') && text.ends_with('"');
    let n = text.chars().count();
    let (mut quote, mut prev_white) = (false, false);
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if already_quoted && (i == 0 || i == n - 1) {
            out.push(c);
            continue;
        }
        let white = c == ' ' || c == '\n';
        if printable(c) || ESCAPEES.contains(c) {
            if (i == 0 && white) || ESCAPEES.contains(c) || (white && prev_white) {
                quote = true;
            }
            if !white && (c == '"' || c == '\\') {
                out.push('\\');
            }
            prev_white = white;
        } else {
            prev_white = false;
        }
        out.push(c);
    }
    quote |= out.ends_with([' ', '\n']);
    if quote && !already_quoted {
        format!("{key}=\"{out}\"")
    } else {
        format!("{key}={out}")
    }
}

/// A distinguished name as keytool and apksigner print it (Java's
/// `X500Name.toString()`): the last RDN first, so a name made with
/// `keytool -dname "CN=.., O=.., C=.."` reads as it was typed (x509-parser
/// and `openssl x509 -subject` print DER order), and with Java's keywords.
pub fn java_dn(name: &X509Name) -> String {
    let rdns: Vec<String> = name
        .iter_rdn()
        .map(|r| r.iter().map(java_ava).collect::<Vec<_>>().join(" + "))
        .collect();
    rdns.into_iter().rev().collect::<Vec<_>>().join(", ")
}

fn to_time(t: ASN1Time) -> OffsetDateTime {
    t.to_datetime()
}

impl Cert {
    pub fn from_der(der: &[u8]) -> Result<Cert, String> {
        let (rest, c) =
            X509Certificate::from_der(der).map_err(|e| format!("not an X.509 certificate: {e}"))?;
        let used = der.len() - rest.len();
        let der = &der[..used];
        let subject = c.subject();
        let ext_oids = c
            .extensions()
            .iter()
            .map(|e| e.oid.to_id_string())
            .collect();
        let eku = match c.extended_key_usage() {
            Ok(Some(e)) => {
                let v = e.value;
                let mut out = Vec::new();
                if v.any {
                    out.push("2.5.29.37.0".to_string());
                }
                if v.server_auth {
                    out.push("1.3.6.1.5.5.7.3.1".to_string());
                }
                if v.client_auth {
                    out.push("1.3.6.1.5.5.7.3.2".to_string());
                }
                if v.code_signing {
                    out.push("1.3.6.1.5.5.7.3.3".to_string());
                }
                if v.email_protection {
                    out.push("1.3.6.1.5.5.7.3.4".to_string());
                }
                if v.time_stamping {
                    out.push("1.3.6.1.5.5.7.3.8".to_string());
                }
                if v.ocsp_signing {
                    out.push("1.3.6.1.5.5.7.3.9".to_string());
                }
                out.extend(v.other.iter().map(|o| o.to_id_string()));
                out
            }
            _ => Vec::new(),
        };
        let spki = c.public_key().raw.to_vec();
        let mut ocsp_urls = Vec::new();
        for ext in c.extensions() {
            if let ParsedExtension::AuthorityInfoAccess(aia) = ext.parsed_extension() {
                for d in &aia.accessdescs {
                    if d.access_method.to_id_string() == "1.3.6.1.5.5.7.48.1" {
                        if let GeneralName::URI(u) = d.access_location {
                            ocsp_urls.push(u.to_string());
                        }
                    }
                }
            }
        }
        let key_usage = match c.key_usage() {
            Ok(Some(ku)) => Some(ku.value.flags),
            _ => None,
        };
        let critical_extension_oids = c
            .extensions()
            .iter()
            .filter(|e| e.critical)
            .map(|e| e.oid.to_id_string())
            .collect();
        Ok(Cert {
            der: der.to_vec(),
            subject: java_dn(subject),
            issuer: java_dn(c.issuer()),
            common_name: attr(subject, "2.5.4.3"),
            org_unit: attr(subject, "2.5.4.11"),
            organization: attr(subject, "2.5.4.10"),
            uid: attr(subject, OID_UID),
            serial_hex: hex::encode(c.raw_serial()),
            not_before: to_time(c.validity().not_before),
            not_after: to_time(c.validity().not_after),
            sha1: hex::encode(Sha1::digest(der)),
            sha256: hex::encode(Sha256::digest(der)),
            key: crypto::key_kind(&spki),
            spki,
            signature_oid: c.signature_algorithm.algorithm.to_id_string(),
            extension_oids: ext_oids,
            eku,
            is_ca: c.is_ca(),
            ocsp_urls,
            key_usage,
            critical_extension_oids,
            raw_subject: subject.as_raw().to_vec(),
            raw_issuer: c.issuer().as_raw().to_vec(),
            tbs: c.tbs_certificate.as_ref().to_vec(),
            signature: c.signature_value.data.to_vec(),
        })
    }

    /// A short name for messages: the CN, else the whole subject.
    pub fn name(&self) -> &str {
        self.common_name.as_deref().unwrap_or(&self.subject)
    }

    pub fn has_extension(&self, oid: &str) -> bool {
        self.extension_oids.iter().any(|o| o == oid)
    }

    pub fn is_self_issued(&self) -> bool {
        self.raw_subject == self.raw_issuer
    }

    /// Whether `issuer`'s name matches this certificate's issuer name and its key
    /// verifies this certificate's signature.
    pub fn is_issued_by(&self, issuer: &Cert) -> bool {
        self.raw_issuer == issuer.raw_subject && self.signature_verifies_with(&issuer.spki)
    }

    pub fn signature_verifies_with(&self, spki: &[u8]) -> bool {
        match SigAlg::from_oid(&self.signature_oid, None) {
            Some(alg) => crypto::verify(spki, alg, &self.tbs, &self.signature).is_ok(),
            // RSASSA-PSS parameters are not decoded for certificates; Apple and
            // Android material does not use them.
            None => false,
        }
    }

    /// The DER issuer Name, as encoded in the certificate.
    pub fn raw_issuer(&self) -> &[u8] {
        &self.raw_issuer
    }

    pub fn same_key(&self, other: &Cert) -> bool {
        self.spki == other.spki
    }

    /// SHA-256 as keytool prints it, the form the Play Console, Firebase and
    /// `assetlinks.json` take.
    pub fn sha256_fingerprint(&self) -> String {
        colon_hex(&self.sha256)
    }

    /// SHA-1 as Xcode, `security find-identity` and `codesign --sign` take it.
    pub fn sha1_fingerprint(&self) -> String {
        self.sha1.to_uppercase()
    }
}

/// Hex as keytool prints fingerprints: `AB:CD:..`.
pub fn colon_hex(hex: &str) -> String {
    hex.as_bytes()
        .chunks(2)
        .map(|c| String::from_utf8_lossy(c).to_uppercase())
        .collect::<Vec<_>>()
        .join(":")
}

/// The validity-window finding for any certificate at `at`, under the caller's
/// names `(expired, not yet valid, expiring)`, ending with the caller's advice
/// `(when expired, when expiring)`. `None` while comfortably valid. `who` names
/// the certificate in the message and is the finding's subject (iOS: its name;
/// keystores: the alias).
pub fn validity_finding(
    c: &Cert,
    who: &str,
    file: &str,
    at: OffsetDateTime,
    horizon: &at::Horizon,
    names: (Code, Code, Code),
    advice: (&str, &str),
) -> Option<Finding> {
    let (expired, not_yet, expiring) = names;
    match at::window(Some(c.not_before), c.not_after, at, horizon.warn_days) {
        Window::NotYetValid => Some(
            Finding::new(
                not_yet,
                file,
                format!(
                    "\"{who}\" is not valid until {}; check the clock or --at",
                    at::day(c.not_before)
                ),
            )
            .subject(who)
            .detail("not_before", at::rfc3339(c.not_before)),
        ),
        Window::Expired { days_ago } => Some(
            Finding::new(
                expired,
                file,
                format!(
                    "\"{who}\" expired on {} ({days_ago} days ago); {}",
                    at::day(c.not_after),
                    advice.0
                ),
            )
            .subject(who)
            .detail("not_after", at::rfc3339(c.not_after)),
        ),
        Window::Expiring { days_left } => Some({
            let (sev, reminder) = crate::diag::expiring(expiring, horizon, days_left);
            Finding::new(
                expiring,
                file,
                format!(
                    "\"{who}\" expires on {} (in {days_left} days){reminder}; {}",
                    at::day(c.not_after),
                    advice.1
                ),
            )
            .severity(sev)
            .subject(who)
            .detail("not_after", at::rfc3339(c.not_after))
            .detail("days_left", days_left)
        }),
        Window::Valid { .. } => None,
    }
}

/// Result of building a chain from a leaf to a trust anchor.
#[derive(Clone, Debug)]
pub enum ChainResult {
    /// Leaf, intermediates..., anchor.
    Trusted(Vec<Cert>),
    /// The chain as far as it could be built; the last one's issuer was not found.
    Untrusted {
        partial: Vec<Cert>,
        missing_issuer: String,
    },
}

/// Builds a chain from `leaf` through `pool` to one of `anchors`, verifying each
/// signature. Validity periods are not checked here (callers report them at
/// their own instant).
pub fn build_chain(leaf: &Cert, pool: &[Cert], anchors: &[Cert]) -> ChainResult {
    let mut chain = vec![leaf.clone()];
    // A leaf that is itself an anchor is trusted as is.
    if anchors.iter().any(|a| a.der == leaf.der) {
        return ChainResult::Trusted(chain);
    }
    for _ in 0..8 {
        let cur = chain.last().expect("chain is never empty");
        if let Some(a) = anchors.iter().find(|a| cur.is_issued_by(a)) {
            chain.push(a.clone());
            return ChainResult::Trusted(chain);
        }
        if cur.is_self_issued() {
            break;
        }
        match pool
            .iter()
            .find(|c| cur.is_issued_by(c) && !chain.iter().any(|x| x.der == c.der))
        {
            Some(next) => chain.push(next.clone()),
            None => break,
        }
    }
    let last = chain.last().expect("chain is never empty");
    let missing_issuer = if last.is_self_issued() {
        format!("{} (self-signed, not a trust anchor)", last.issuer)
    } else {
        last.issuer.clone()
    };
    ChainResult::Untrusted {
        partial: chain,
        missing_issuer,
    }
}

/// The end-entity certificate of a bundle: one that issued no other certificate
/// in it (whatever its position), else the first non-CA one.
pub fn leaf_of(certs: &[Cert]) -> Option<usize> {
    let issues_none = |i: usize| {
        !certs
            .iter()
            .enumerate()
            .any(|(j, c)| j != i && !c.is_self_issued() && c.is_issued_by(&certs[i]))
    };
    (0..certs.len())
        .find(|&i| !certs[i].is_ca && issues_none(i))
        .or_else(|| (0..certs.len()).find(|&i| issues_none(i)))
}

/// Splits PEM or DER bytes into DER certificates. Non-certificate PEM blocks are skipped.
pub fn certs_from_pem_or_der(data: &[u8]) -> Vec<Vec<u8>> {
    if let Some(blocks) = pem_blocks(data) {
        blocks
            .into_iter()
            .filter(|(label, _)| label == "CERTIFICATE" || label == "TRUSTED CERTIFICATE")
            .map(|(_, der)| der)
            .collect()
    } else if Cert::from_der(data).is_ok() {
        vec![data.to_vec()]
    } else {
        Vec::new()
    }
}

/// Parses every `-----BEGIN X-----` block as (label, DER). `None` when the data is not PEM.
pub fn pem_blocks(data: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    if !data.windows(11).any(|w| w == b"-----BEGIN ") {
        return None;
    }
    Some(
        x509_parser::pem::Pem::iter_from_buffer(data)
            .map_while(Result::ok)
            .map(|p| (p.label, p.contents))
            .collect(),
    )
}

impl Cert {
    /// The raw value (the OCTET STRING's content) of an extension, re-read from
    /// the DER on demand: only the inventory's APNs and host-name checks need it.
    pub fn extension_value(&self, oid: &str) -> Option<Vec<u8>> {
        let (_, c) = X509Certificate::from_der(&self.der).ok()?;
        c.extensions()
            .iter()
            .find(|e| e.oid.to_id_string() == oid)
            .map(|e| e.value.to_vec())
    }

    /// DNS names of the subjectAltName extension (what TLS clients match against).
    pub fn dns_names(&self) -> Vec<String> {
        let Ok((_, c)) = X509Certificate::from_der(&self.der) else {
            return Vec::new();
        };
        match c.subject_alternative_name() {
            Ok(Some(san)) => san
                .value
                .general_names
                .iter()
                .filter_map(|g| match g {
                    GeneralName::DNSName(d) => Some(d.to_string()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}
