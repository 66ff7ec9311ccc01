//! JAR signing (APK signature scheme v1) as Android verifies it, after apksig's
//! V1SchemeVerifier: META-INF/MANIFEST.MF, one `.SF` + `.RSA|.DSA|.EC` pair per
//! signer, the digest attributes each API level reads, PKCS#7 signed-attribute
//! rules per API level, stripping protection (`X-Android-APK-Signed`), every
//! entry outside META-INF covered by the same signers, and at most 10 signers.

use std::collections::{BTreeSet, HashMap, HashSet};

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use rayon::prelude::*;

use super::pkcs7;
use super::v2v3::{StoredCert, MAX_SIGNERS};
use super::Issue;
use crate::crypto::{self, Hash, SigAlg, VerifyError};
use crate::diag::Code;
use crate::x509::Cert;
use crate::zip::android::{read_entry, stream_entry, CdRecord};
use crate::zip::{Source, ZipError};

pub const MANIFEST: &str = "META-INF/MANIFEST.MF";
const SDK_JB_MR2: i32 = 18;
const SDK_KITKAT: i32 = 19;
const SDK_N: i32 = 24;
const OID_CONTENT_TYPE: &str = "1.2.840.113549.1.9.3";
const OID_MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";

// ---------------------------------------------------------------------------
// JAR manifest parsing (apksig's ManifestParser: CR, LF or CRLF line ends,
// continuation lines start with a space, "Name: value" split at ": ").

/// A manifest section: byte range, name and attributes.
#[derive(Clone, Debug)]
pub struct Section {
    pub start: usize,
    pub size: usize,
    pub name: Option<String>,
    attrs: Vec<(String, String)>,
}

impl Section {
    /// Every attribute, in file order.
    pub fn attributes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.attrs.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// The first attribute with this name, compared case-insensitively.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub struct ManifestParser<'a> {
    data: &'a [u8],
    pos: usize,
    /// A line read ahead; `Some(empty)` marks a pending end of section.
    buffered: Option<Vec<u8>>,
}

impl<'a> ManifestParser<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        ManifestParser {
            data,
            pos: 0,
            buffered: None,
        }
    }

    fn read_line(&mut self) -> Option<&'a [u8]> {
        if self.pos >= self.data.len() {
            return None;
        }
        let start = self.pos;
        let rest = &self.data[start..];
        let (line_end, next) = match rest.iter().position(|&b| b == b'\r' || b == b'\n') {
            Some(i) if rest[i] == b'\r' && rest.get(i + 1) == Some(&b'\n') => (i, i + 2),
            Some(i) => (i, i + 1),
            None => (rest.len(), rest.len()),
        };
        self.pos = start + next;
        Some(&rest[..line_end])
    }

    fn read_attribute(&mut self) -> Option<Vec<u8>> {
        if self.buffered.as_ref().is_some_and(Vec::is_empty) {
            self.buffered = None;
            return Some(Vec::new());
        }
        let Some(line) = self.read_line() else {
            return self.buffered.take();
        };
        if line.is_empty() {
            return match self.buffered.take() {
                Some(b) => {
                    self.buffered = Some(Vec::new());
                    Some(b)
                }
                None => Some(Vec::new()),
            };
        }
        let mut attr = match self.buffered.take() {
            None => line.to_vec(),
            Some(b) => {
                if line[0] != b' ' {
                    self.buffered = Some(line.to_vec());
                    return Some(b);
                }
                let mut b = b;
                b.extend_from_slice(&line[1..]);
                b
            }
        };
        loop {
            match self.read_line() {
                None => return Some(attr),
                Some([]) => {
                    self.buffered = Some(Vec::new());
                    return Some(attr);
                }
                Some(l) if l[0] == b' ' => attr.extend_from_slice(&l[1..]),
                Some(l) => {
                    self.buffered = Some(l.to_vec());
                    return Some(attr);
                }
            }
        }
    }

    /// The next section, or `None` at the end.
    pub fn read_section(&mut self) -> Option<Section> {
        let (start, first) = loop {
            let start = self.pos;
            let a = self.read_attribute()?;
            if !a.is_empty() {
                break (start, a);
            }
        };
        let mut attrs = vec![parse_attr(&first)];
        while let Some(a) = self.read_attribute().filter(|a| !a.is_empty()) {
            attrs.push(parse_attr(&a));
        }
        let name = attrs
            .first()
            .filter(|(n, _)| n.eq_ignore_ascii_case("Name"))
            .map(|(_, v)| v.clone());
        Some(Section {
            start,
            size: self.pos - start,
            name,
            attrs,
        })
    }

    pub fn read_all(&mut self) -> Vec<Section> {
        std::iter::from_fn(|| self.read_section()).collect()
    }
}

fn parse_attr(a: &[u8]) -> (String, String) {
    let s = String::from_utf8_lossy(a);
    match s.find(": ") {
        Some(i) => (s[..i].to_string(), s[i + 2..].to_string()),
        None => (s.into_owned(), String::new()),
    }
}

// ---------------------------------------------------------------------------
// Digest attributes per API level.

fn canonical_digest(name: &str) -> Option<(&'static str, Hash)> {
    Some(match name.to_ascii_uppercase().as_str() {
        "MD5" => ("MD5", Hash::Md5),
        "SHA" | "SHA1" | "SHA-1" => ("SHA-1", Hash::Sha1),
        "SHA-256" => ("SHA-256", Hash::Sha256),
        "SHA-384" => ("SHA-384", Hash::Sha384),
        "SHA-512" => ("SHA-512", Hash::Sha512),
        _ => return None,
    })
}

fn base64() -> GeneralPurpose {
    // java.util.Base64's basic decoder: padding optional, trailing bits ignored.
    GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    )
}

/// A digest to check: algorithm name, algorithm, expected value.
type NamedDigest = (&'static str, Hash, Vec<u8>);

/// The digests Android checks for a section, by API level: before JB MR2 the
/// first usable one of `Digest-Algorithms` (default "SHA SHA1"); from JB MR2
/// the strongest of SHA-512, SHA-384, SHA-256, SHA-1.
fn digests_to_verify(
    section: &Section,
    suffix: &str,
    min: i32,
    max: i32,
) -> Result<Vec<NamedDigest>, String> {
    let b64 = base64();
    let decode = |name: &str, v: &str| {
        b64.decode(v.trim_end())
            .map_err(|e| format!("{name}{suffix} is not valid base64: {e}"))
    };
    let mut out: Vec<NamedDigest> = Vec::new();
    if min < SDK_JB_MR2 {
        let algs = section
            .get("Digest-Algorithms")
            .unwrap_or("SHA SHA1")
            .to_string();
        for alg in algs.split_ascii_whitespace() {
            let Some(v) = section.get(&format!("{alg}{suffix}")) else {
                continue;
            };
            let Some((name, hash)) = canonical_digest(alg) else {
                continue;
            };
            // SHA-384/512 are read from Gingerbread (API 9) on.
            if matches!(hash, Hash::Sha384 | Hash::Sha512) && 9 > min {
                continue;
            }
            out.push((name, hash, decode(alg, v)?));
            break;
        }
        if out.is_empty() {
            return Ok(out);
        }
    }
    if max >= SDK_JB_MR2 {
        for (name, attr, hash) in [
            ("SHA-512", "SHA-512", Hash::Sha512),
            ("SHA-384", "SHA-384", Hash::Sha384),
            ("SHA-256", "SHA-256", Hash::Sha256),
            ("SHA-1", "SHA1", Hash::Sha1),
        ] {
            let Some(v) = section.get(&format!("{attr}{suffix}")) else {
                continue;
            };
            let d = decode(attr, v)?;
            if !out.iter().any(|(n, _, x)| *n == name && *x == d) {
                out.push((name, hash, d));
            }
            break;
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// PKCS#7 signature algorithms Android supports in JAR signatures, by API level.

pub(crate) const MD5: &str = "1.2.840.113549.2.5";
pub(crate) const SHA1: &str = "1.3.14.3.2.26";
const SHA224: &str = "2.16.840.1.101.3.4.2.4";
pub(crate) const SHA256: &str = "2.16.840.1.101.3.4.2.1";
const SHA384: &str = "2.16.840.1.101.3.4.2.2";
const SHA512: &str = "2.16.840.1.101.3.4.2.3";

/// Inclusive API ranges where (digest, signature) OIDs verify (apksig's OidConstants).
#[rustfmt::skip]
pub(crate) fn supported_api_levels(digest: &str, sig: &str) -> Vec<(i32, i32)> {
    const ALL: (i32, i32) = (0, i32::MAX);
    let from = |a: i32| (a, i32::MAX);
    let r2123 = (21, 23);
    let digests = [MD5, SHA1, SHA224, SHA256, SHA384, SHA512];
    let Some(d) = digests.iter().position(|x| *x == digest) else {
        return Vec::new();
    };
    // Columns: digest MD5, SHA-1, SHA-224, SHA-256, SHA-384, SHA-512.
    type Row<'a> = (&'a str, [Vec<(i32, i32)>; 6]);
    let rows: Vec<Row> = vec![
        ("1.2.840.113549.1.1.1", [vec![ALL], vec![ALL], vec![(0, 8), from(21)], vec![(0, 8), from(18)], vec![from(18)], vec![from(18)]]),
        ("1.2.840.113549.1.1.4", [vec![(0, 8), from(21)], vec![r2123], vec![r2123], vec![r2123], vec![r2123], vec![r2123]]),
        ("1.2.840.113549.1.1.5", [vec![r2123], vec![ALL], vec![r2123], vec![(21, 21)], vec![r2123], vec![r2123]]),
        ("1.2.840.113549.1.1.14", [vec![r2123], vec![r2123], vec![(0, 8), from(21)], vec![r2123], vec![r2123], vec![r2123]]),
        ("1.2.840.113549.1.1.11", [vec![r2123], vec![r2123], vec![(21, 21)], vec![(0, 8), from(18)], vec![r2123], vec![r2123]]),
        ("1.2.840.113549.1.1.12", [vec![r2123], vec![r2123], vec![r2123], vec![r2123], vec![from(21)], vec![(21, 21)]]),
        ("1.2.840.113549.1.1.13", [vec![r2123], vec![r2123], vec![r2123], vec![r2123], vec![r2123], vec![from(21)]]),
        ("1.2.840.10040.4.1", [vec![], vec![ALL], vec![from(22)], vec![from(22)], vec![], vec![]]),
        ("1.2.840.10040.4.3", [vec![r2123], vec![from(9)], vec![r2123], vec![r2123], vec![r2123], vec![r2123]]),
        ("2.16.840.1.101.3.4.3.1", [vec![r2123], vec![r2123], vec![from(21)], vec![r2123], vec![r2123], vec![r2123]]),
        ("2.16.840.1.101.3.4.3.2", [vec![r2123], vec![r2123], vec![r2123], vec![from(21)], vec![r2123], vec![r2123]]),
        ("1.2.840.10045.2.1", [vec![], vec![from(18)], vec![from(21)], vec![from(18)], vec![from(18)], vec![from(18)]]),
        ("1.2.840.10045.4.1", [vec![r2123], vec![from(18)], vec![r2123], vec![r2123], vec![r2123], vec![r2123]]),
        ("1.2.840.10045.4.3.1", [vec![r2123], vec![r2123], vec![from(21)], vec![r2123], vec![r2123], vec![r2123]]),
        ("1.2.840.10045.4.3.2", [vec![r2123], vec![r2123], vec![r2123], vec![from(21)], vec![r2123], vec![r2123]]),
        ("1.2.840.10045.4.3.3", [vec![r2123], vec![r2123], vec![r2123], vec![r2123], vec![from(21)], vec![r2123]]),
        ("1.2.840.10045.4.3.4", [vec![r2123], vec![r2123], vec![r2123], vec![r2123], vec![r2123], vec![from(21)]]),
    ];
    rows.into_iter()
        .find(|(s, _)| *s == sig)
        .map(|(_, cols)| cols[d].clone())
        .unwrap_or_default()
}

/// API levels in `[min, max]` not covered by `ranges`, as "a-b, c+" text.
pub(crate) fn unsupported_levels(min: i32, max: i32, ranges: &[(i32, i32)]) -> Option<String> {
    let (mut cur, max) = (i64::from(min), i64::from(max));
    let mut sorted = ranges.to_vec();
    sorted.sort();
    let mut gaps = Vec::new();
    for (a, b) in sorted {
        let (a, b) = (i64::from(a), i64::from(b));
        if b < cur {
            continue;
        }
        if a > max {
            break;
        }
        if a > cur {
            gaps.push((cur, a - 1));
        }
        cur = cur.max(b + 1);
    }
    if cur <= max {
        gaps.push((cur, max));
    }
    fmt_gaps(&gaps)
}

fn fmt_gaps(gaps: &[(i64, i64)]) -> Option<String> {
    if gaps.is_empty() {
        return None;
    }
    Some(
        gaps.iter()
            .map(|(a, b)| match (a, b) {
                (a, b) if a == b => a.to_string(),
                (a, b) if *b == i64::from(i32::MAX) => format!("{a}+"),
                (a, b) => format!("{a}-{b}"),
            })
            .collect::<Vec<_>>()
            .join(", "),
    )
}

// ---------------------------------------------------------------------------
// Signers.

/// One JAR signer (a `.SF` and its signature block).
#[derive(Clone, Debug)]
pub struct V1Signer {
    /// The block file's name under META-INF/, e.g. `CERT.RSA`.
    pub name: String,
    pub block_entry: String,
    pub sf_entry: String,
    /// Signing certificate first, then its issuers found in the block.
    pub chain: Vec<StoredCert>,
    pub digest_alg: String,
    pub sig_alg: String,
    pub errors: Vec<Issue>,
    pub warnings: Vec<Issue>,
    ignored: bool,
    sf: Vec<u8>,
    sf_names: HashSet<String>,
}

impl V1Signer {
    pub fn cert(&self) -> Option<&StoredCert> {
        self.chain.first()
    }
}

#[derive(Clone, Debug, Default)]
pub struct V1Result {
    pub verified: bool,
    pub errors: Vec<Issue>,
    pub warnings: Vec<Issue>,
    /// Signers Android uses.
    pub signers: Vec<V1Signer>,
    /// Signers Android ignores (broken .SF, or not covering the entries).
    pub ignored: Vec<V1Signer>,
}

impl V1Result {
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty() || self.signers.iter().any(|s| !s.errors.is_empty())
    }

    pub fn all_errors(&self) -> impl Iterator<Item = &Issue> {
        self.errors
            .iter()
            .chain(self.signers.iter().flat_map(|s| s.errors.iter()))
    }

    pub fn all_warnings(&self) -> impl Iterator<Item = &Issue> {
        self.warnings
            .iter()
            .chain(self.signers.iter().flat_map(|s| s.warnings.iter()))
    }
}

pub struct V1Ctx<'a> {
    pub src: &'a Source,
    pub cd_offset: u64,
    pub records: &'a [CdRecord],
    /// Scheme ids (2, 3) the platform range knows, for stripping protection.
    pub supported_ids: &'a [u32],
    pub found_ids: &'a BTreeSet<u32>,
    pub min_sdk: i32,
    pub max_sdk: i32,
}

fn issue(code: Code, apksig: &'static str, msg: String) -> Issue {
    Issue::new(code, apksig, msg)
}

/// Verifies the JAR signature. `Err` is a ZIP problem that makes the APK
/// unreadable (apksig's ApkFormatException).
pub fn verify(ctx: &V1Ctx) -> Result<V1Result, ZipError> {
    let mut res = V1Result::default();
    let mut seen = HashSet::new();
    let mut dup = BTreeSet::new();
    for r in ctx.records {
        if !seen.insert(r.name.as_str()) {
            dup.insert(r.name.as_str());
        }
    }
    for d in dup {
        res.errors.push(
            issue(
                Code::ApkMalformed,
                "JAR_SIG_DUPLICATE_ZIP_ENTRY",
                format!("duplicate entry {d}"),
            )
            .subject(d),
        );
    }
    if res.has_errors() {
        return Ok(res);
    }

    let mut manifest_rec = None;
    let mut sf_recs: HashMap<&str, &CdRecord> = HashMap::new();
    let mut block_recs = Vec::new();
    for r in ctx.records {
        let n = r.name.as_str();
        if !n.starts_with("META-INF/") {
            continue;
        }
        if manifest_rec.is_none() && n == MANIFEST {
            manifest_rec = Some(r);
        } else if n.ends_with(".SF") {
            sf_recs.insert(n, r);
        } else if n.ends_with(".RSA") || n.ends_with(".DSA") || n.ends_with(".EC") {
            block_recs.push(r);
        }
    }
    let Some(manifest_rec) = manifest_rec else {
        res.errors.push(issue(
            Code::ApkUnsigned,
            "JAR_SIG_NO_MANIFEST",
            "no JAR signature (META-INF/MANIFEST.MF is missing)".into(),
        ));
        return Ok(res);
    };
    let manifest = read_entry(ctx.src, manifest_rec, ctx.cd_offset)?;

    let mut mp = ManifestParser::new(&manifest);
    let main = mp.read_section();
    let mut sections: HashMap<String, Section> = HashMap::new();
    let names: HashSet<&str> = ctx.records.iter().map(|r| r.name.as_str()).collect();
    for (i, s) in mp.read_all().into_iter().enumerate() {
        let Some(name) = s.name.clone() else {
            res.errors.push(issue(Code::ApkSignatureInvalid, "JAR_SIG_UNNNAMED_MANIFEST_SECTION",
                format!("MANIFEST.MF section #{} has no name (an entry name with CR or LF breaks the manifest)", i + 1)));
            continue;
        };
        if sections.contains_key(&name) {
            res.errors.push(
                issue(
                    Code::ApkSignatureInvalid,
                    "JAR_SIG_DUPLICATE_MANIFEST_SECTION",
                    format!("MANIFEST.MF names {name} twice"),
                )
                .subject(&name),
            );
            continue;
        }
        if !names.contains(name.as_str()) {
            res.errors.push(issue(Code::ApkDigestMismatch, "JAR_SIG_MISSING_ZIP_ENTRY_REFERENCED_IN_MANIFEST",
                format!("MANIFEST.MF lists {name}, which is not in the APK (removed after signing?)")).subject(&name));
        }
        sections.insert(name, s);
    }
    if res.has_errors() {
        return Ok(res);
    }

    let mut signers = Vec::new();
    for b in &block_recs {
        let dot = b.name.rfind('.').unwrap_or(b.name.len());
        let sf_name = format!("{}.SF", &b.name[..dot]);
        let Some(sf) = sf_recs.get(sf_name.as_str()) else {
            res.warnings.push(issue(
                Code::ApkSignatureInvalid,
                "JAR_SIG_MISSING_FILE",
                format!("{} has no matching {sf_name}; ignored", b.name),
            ));
            continue;
        };
        signers.push(V1Signer {
            name: b.name["META-INF/".len()..].to_string(),
            block_entry: b.name.clone(),
            sf_entry: sf.name.clone(),
            chain: Vec::new(),
            digest_alg: String::new(),
            sig_alg: String::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
            ignored: false,
            sf: Vec::new(),
            sf_names: HashSet::new(),
        });
    }
    let sig_rec = |n: &str| ctx.records.iter().find(|r| r.name == n);
    if signers.is_empty() {
        res.errors.push(issue(
            Code::ApkUnsigned,
            "JAR_SIG_NO_SIGNATURES",
            "META-INF/ holds no signature file pair (.SF with .RSA, .DSA or .EC)".into(),
        ));
        return Ok(res);
    }
    if signers.len() > MAX_SIGNERS {
        res.errors.push(issue(
            Code::ApkTooManySigners,
            "JAR_SIG_MAX_SIGNATURES_EXCEEDED",
            format!(
                "the JAR signature has {} signers; Android accepts at most {MAX_SIGNERS}",
                signers.len()
            ),
        ));
        return Ok(res);
    }

    // Each signature block must verify against its .SF file.
    for s in &mut signers {
        let (Some(block), Some(sf)) = (sig_rec(&s.block_entry), sig_rec(&s.sf_entry)) else {
            continue;
        };
        let block = read_entry(ctx.src, block, ctx.cd_offset)?;
        s.sf = read_entry(ctx.src, sf, ctx.cd_offset)?;
        verify_block(s, &block, ctx.min_sdk, ctx.max_sdk);
        if !s.errors.is_empty() {
            res.signers.push(s.clone());
        }
    }
    if res.has_errors() {
        return Ok(res);
    }

    // Each .SF must verify against MANIFEST.MF.
    let mut remaining = Vec::new();
    for mut s in signers {
        verify_sf(&mut s, &manifest, main.as_ref(), &sections, ctx);
        if s.ignored {
            res.ignored.push(s);
        } else if !s.errors.is_empty() {
            res.signers.push(s);
        } else {
            remaining.push(s);
        }
    }
    if res.has_errors() {
        return Ok(res);
    }
    if remaining.is_empty() {
        res.errors.push(issue(
            Code::ApkSignatureInvalid,
            "JAR_SIG_NO_SIGNATURES",
            "no usable JAR signer".into(),
        ));
        return Ok(res);
    }

    let used = verify_entries(ctx, &sections, &remaining, &mut res)?;
    if res.has_errors() {
        return Ok(res);
    }
    let mut protected: HashSet<&str> = HashSet::from([MANIFEST]);
    for &i in &used {
        protected.insert(&remaining[i].block_entry);
        protected.insert(&remaining[i].sf_entry);
    }
    for r in ctx.records {
        if r.name.starts_with("META-INF/") && !protected.contains(r.name.as_str()) {
            res.warnings.push(issue(
                Code::ApkSignatureInvalid,
                "JAR_SIG_UNPROTECTED_ZIP_ENTRY",
                format!("{} is not protected by the JAR signature", r.name),
            ));
        }
    }
    for (i, s) in remaining.into_iter().enumerate() {
        if used.contains(&i) {
            res.signers.push(s);
        } else {
            res.ignored.push(s);
        }
    }
    res.verified = true;
    Ok(res)
}

enum InfoOutcome {
    Verified(usize),
    NotVerified,
}

/// A failure that stops this signer (apksig's exceptions and errors).
struct Stop(&'static str, String);

fn verify_block(s: &mut V1Signer, block: &[u8], min: i32, max: i32) {
    let who = s.block_entry.clone();
    let fail = |s: &mut V1Signer, apksig: &'static str, msg: String| {
        s.errors
            .push(issue(Code::ApkSignatureInvalid, apksig, format!("{who}: {msg}")).subject(&who));
    };
    let sd = match pkcs7::parse(block) {
        Ok(sd) => sd,
        Err(e) => {
            return fail(
                s,
                "JAR_SIG_PARSE_EXCEPTION",
                format!("not a valid PKCS#7 signature block: {e}"),
            )
        }
    };
    if sd.signer_infos.is_empty() {
        return fail(
            s,
            "JAR_SIG_NO_SIGNERS",
            "the signature block has no SignerInfo".into(),
        );
    }
    let mut certs = Vec::new();
    for (i, raw) in sd.certificates.iter().enumerate() {
        match Cert::from_der(raw) {
            Ok(cert) => certs.push(StoredCert {
                raw: raw.to_vec(),
                cert,
            }),
            Err(e) => {
                return fail(
                    s,
                    "JAR_SIG_PARSE_EXCEPTION",
                    format!("certificate #{} cannot be parsed: {e}", i + 1),
                )
            }
        }
    }
    // Before Android 7.0 only the first SignerInfo is tried; then the first that verifies wins.
    let tries = if min < SDK_N {
        &sd.signer_infos[..1]
    } else {
        &sd.signer_infos[..]
    };
    let mut first = None;
    for info in tries {
        match verify_signer_info(&sd, &certs, info, &s.sf, min, max) {
            Ok(InfoOutcome::Verified(c)) => {
                if first.is_none() {
                    first = Some((c, info.digest_alg.clone(), info.sig_alg.clone()));
                }
            }
            Ok(InfoOutcome::NotVerified) => {}
            Err(Stop(apksig, msg)) => return fail(s, apksig, msg),
        }
    }
    let Some((leaf, digest_alg, sig_alg)) = first else {
        let sf = s.sf_entry.clone();
        return fail(
            s,
            "JAR_SIG_DID_NOT_VERIFY",
            format!("the signature over {sf} does not verify"),
        );
    };
    s.digest_alg = digest_alg;
    s.sig_alg = sig_alg;
    // The chain for reports: the signing certificate, then issuers by name.
    let mut unused: Vec<StoredCert> = certs;
    let mut chain = vec![unused.remove(leaf)];
    while let Some(last) = chain.last() {
        if last.cert.subject == last.cert.issuer {
            break;
        }
        let Some(i) = unused
            .iter()
            .position(|c| c.cert.subject == last.cert.issuer)
        else {
            break;
        };
        chain.push(unused.remove(i));
    }
    s.chain = chain;
}

/// Certificate extensions Java knows; any other critical one makes it reject the signer.
const KNOWN_EXTENSIONS: &[&str] = &[
    "2.5.29.9",
    "2.5.29.14",
    "2.5.29.15",
    "2.5.29.16",
    "2.5.29.17",
    "2.5.29.18",
    "2.5.29.19",
    "2.5.29.20",
    "2.5.29.21",
    "2.5.29.24",
    "2.5.29.27",
    "2.5.29.28",
    "2.5.29.30",
    "2.5.29.31",
    "2.5.29.32",
    "2.5.29.33",
    "2.5.29.35",
    "2.5.29.36",
    "2.5.29.37",
    "2.5.29.46",
    "2.5.29.54",
    "1.3.6.1.5.5.7.1.1",
    "1.3.6.1.5.5.7.1.11",
    "1.3.6.1.5.5.7.48.1.5",
    "2.16.840.1.113730.1.1",
];

/// Why Java's JAR verifier (so apksigner, and Android before 7.0) refuses
/// `cert` as a v1 signer, if it does; the APK signer asks before signing.
pub fn java_refuses(cert: &Cert) -> Option<String> {
    if let Some(oid) = cert
        .critical_extension_oids
        .iter()
        .find(|o| !KNOWN_EXTENSIONS.contains(&o.as_str()))
    {
        return Some(format!(
            "the signing certificate has an unsupported critical extension {oid}"
        ));
    }
    if cert.key_usage.is_some_and(|ku| ku & 0b11 == 0) {
        return Some(
            "the signing certificate's keyUsage allows neither digitalSignature nor nonRepudiation"
                .into(),
        );
    }
    None
}

fn verify_signer_info(
    sd: &pkcs7::SignedData,
    certs: &[StoredCert],
    info: &pkcs7::SignerInfo,
    sf: &[u8],
    min: i32,
    max: i32,
) -> Result<InfoOutcome, Stop> {
    let exception = |m: String| Stop("JAR_SIG_VERIFY_EXCEPTION", m);
    let ranges = supported_api_levels(&info.digest_alg, &info.sig_alg);
    if let Some(gaps) = unsupported_levels(min, max, &ranges) {
        return Err(Stop(
            "JAR_SIG_UNSUPPORTED_SIG_ALG",
            format!(
                "digest {} with signature {} does not verify on API level(s) {gaps}",
                info.digest_alg, info.sig_alg
            ),
        ));
    }
    let (issuer, serial) = info.issuer_and_serial.ok_or_else(|| {
        exception("the SignerInfo does not name its certificate by issuer and serial".into())
    })?;
    let serial = pkcs7::normalize_integer(serial);
    let ci = certs
        .iter()
        .position(|c| {
            pkcs7::names_equal(c.cert.raw_issuer(), issuer)
                && hex::decode(&c.cert.serial_hex)
                    .is_ok_and(|s| pkcs7::normalize_integer(&s) == serial)
        })
        .ok_or_else(|| exception("the signing certificate is not in the signature block".into()))?;
    let cert = &certs[ci].cert;
    if let Some(m) = java_refuses(cert) {
        return Err(exception(m));
    }
    let digest = der::asn1::ObjectIdentifier::new(&info.digest_alg)
        .ok()
        .and_then(|o| Hash::from_oid(&o));
    let alg: SigAlg = SigAlg::from_oid(&info.sig_alg, digest)
        .ok_or_else(|| exception(format!("unsupported signature algorithm {}", info.sig_alg)))?;

    let signed: std::borrow::Cow<[u8]> = match info.signed_attrs {
        None => std::borrow::Cow::Borrowed(sf),
        Some(raw) => {
            if min < SDK_KITKAT {
                return Err(exception(format!(
                    "signed attributes are broken on Android before API {SDK_KITKAT} (minSdk {min})"
                )));
            }
            let attrs = pkcs7::attributes(raw)
                .map_err(|e| Stop("JAR_SIG_PARSE_EXCEPTION", format!("signed attributes: {e}")))?;
            let single = |oid: &str| -> Result<Option<pkcs7::Tlv>, Stop> {
                match attrs.iter().find(|(o, _)| o == oid) {
                    None => Ok(None),
                    Some((_, v)) if v.is_empty() => Ok(None),
                    Some((_, v)) if v.len() > 1 => Err(Stop(
                        "JAR_SIG_PARSE_EXCEPTION",
                        format!("attribute {oid} has several values"),
                    )),
                    Some((_, v)) => Ok(Some(v[0])),
                }
            };
            if max >= SDK_N {
                let ct = single(OID_CONTENT_TYPE)?
                    .ok_or_else(|| exception("no content type in the signed attributes".into()))?;
                let ct = ct.oid().map_err(|e| Stop("JAR_SIG_PARSE_EXCEPTION", e))?;
                if ct != sd.econtent_type {
                    return Ok(InfoOutcome::NotVerified);
                }
            }
            let md = single(OID_MESSAGE_DIGEST)?
                .ok_or_else(|| exception("no message digest in the signed attributes".into()))?;
            let md = md
                .octets()
                .map_err(|e| Stop("JAR_SIG_PARSE_EXCEPTION", e))?;
            let hash = digest.ok_or_else(|| {
                exception(format!("unsupported digest algorithm {}", info.digest_alg))
            })?;
            if hash.digest(sf) != md {
                return Ok(InfoOutcome::NotVerified);
            }
            // Android signs over the attributes as encoded, with the [0] tag made a SET.
            let mut v = raw.to_vec();
            v[0] = 0x31;
            std::borrow::Cow::Owned(v)
        }
    };
    match crypto::verify(&cert.spki, alg, &signed, &info.signature) {
        Ok(()) => Ok(InfoOutcome::Verified(ci)),
        Err(VerifyError::Invalid) => Ok(InfoOutcome::NotVerified),
        Err(e) => Err(exception(format!(
            "the signing certificate's key cannot verify {}: {e}",
            info.sig_alg
        ))),
    }
}

fn verify_sf(
    s: &mut V1Signer,
    manifest: &[u8],
    main: Option<&Section>,
    sections: &HashMap<String, Section>,
    ctx: &V1Ctx,
) {
    let sf_name = s.sf_entry.clone();
    let sf_bytes = std::mem::take(&mut s.sf);
    let mut sfp = ManifestParser::new(&sf_bytes);
    let err = |s: &mut V1Signer, code: Code, apksig: &'static str, msg: String| {
        s.errors
            .push(issue(code, apksig, format!("{sf_name}: {msg}")).subject(&sf_name));
    };
    let Some(sf_main) = sfp.read_section() else {
        return err(
            s,
            Code::ApkSignatureInvalid,
            "JAR_SIG_MISSING_VERSION_ATTR_IN_SIG_FILE",
            "empty signature file".into(),
        );
    };
    if sf_main.get("Signature-Version").is_none() {
        err(
            s,
            Code::ApkSignatureInvalid,
            "JAR_SIG_MISSING_VERSION_ATTR_IN_SIG_FILE",
            "no Signature-Version".into(),
        );
        s.ignored = true;
        return;
    }
    if ctx.max_sdk >= SDK_N {
        check_stripping(s, &sf_main, ctx);
        if !s.errors.is_empty() {
            return;
        }
    }
    let signtool = sf_main
        .get("Created-By")
        .is_some_and(|c| c.contains("signtool"));
    let (min, max) = (ctx.min_sdk, ctx.max_sdk);
    let digest_of =
        |h: Hash, range: std::ops::Range<usize>| h.digest(manifest.get(range).unwrap_or(&[]));
    let whole_suffix = if signtool {
        "-Digest"
    } else {
        "-Digest-Manifest"
    };
    let whole_ok = match digests_to_verify(&sf_main, whole_suffix, min, max) {
        Err(e) => return err(s, Code::ApkSignatureInvalid, "JAR_SIG_PARSE_EXCEPTION", e),
        Ok(d) if d.is_empty() => {
            s.warnings.push(issue(
                Code::ApkSignatureInvalid,
                "JAR_SIG_NO_MANIFEST_DIGEST_IN_SIG_FILE",
                format!("{sf_name}: no digest of the whole MANIFEST.MF"),
            ));
            false
        }
        Ok(d) => d
            .iter()
            .all(|(_, h, expected)| digest_of(*h, 0..manifest.len()) == *expected),
    };
    if !signtool {
        match digests_to_verify(&sf_main, "-Digest-Manifest-Main-Attributes", min, max) {
            Err(e) => return err(s, Code::ApkSignatureInvalid, "JAR_SIG_PARSE_EXCEPTION", e),
            Ok(d) if !d.is_empty() => {
                let Some(m) = main else {
                    return err(
                        s,
                        Code::ApkSignatureInvalid,
                        "JAR_SIG_PARSE_EXCEPTION",
                        "MANIFEST.MF is empty".into(),
                    );
                };
                for (name, h, expected) in d {
                    if digest_of(h, m.start..m.start + m.size) != expected {
                        err(
                            s,
                            Code::ApkDigestMismatch,
                            "JAR_SIG_MANIFEST_MAIN_SECTION_DIGEST_DID_NOT_VERIFY",
                            format!(
                                "the {name} digest of MANIFEST.MF's main section does not match"
                            ),
                        );
                    }
                }
            }
            Ok(_) => {}
        }
    }
    if !s.errors.is_empty() {
        return;
    }
    let mut names = HashSet::new();
    for (i, sec) in sfp.read_all().into_iter().enumerate() {
        let Some(name) = sec.name.clone() else {
            err(
                s,
                Code::ApkSignatureInvalid,
                "JAR_SIG_UNNNAMED_SIG_FILE_SECTION",
                format!("section #{} has no name", i + 1),
            );
            s.ignored = true;
            return;
        };
        if !names.insert(name.clone()) {
            err(
                s,
                Code::ApkSignatureInvalid,
                "JAR_SIG_DUPLICATE_SIG_FILE_SECTION",
                format!("names {name} twice"),
            );
            s.ignored = true;
            return;
        }
        if whole_ok {
            continue;
        }
        let Some(ms) = sections.get(&name) else {
            err(
                s,
                Code::ApkDigestMismatch,
                "JAR_SIG_NO_ZIP_ENTRY_DIGEST_IN_SIG_FILE",
                format!("{name} is signed but has no MANIFEST.MF section"),
            );
            s.ignored = true;
            continue;
        };
        let expected = match digests_to_verify(&sec, "-Digest", min, max) {
            Err(e) => {
                err(s, Code::ApkSignatureInvalid, "JAR_SIG_PARSE_EXCEPTION", e);
                continue;
            }
            Ok(d) if d.is_empty() => {
                err(
                    s,
                    Code::ApkDigestMismatch,
                    "JAR_SIG_NO_ZIP_ENTRY_DIGEST_IN_SIG_FILE",
                    format!("no usable digest of {name}'s MANIFEST.MF section"),
                );
                continue;
            }
            Ok(d) => d,
        };
        let mut size = ms.size;
        // signtool digests sections without their second trailing newline.
        if signtool
            && size >= 2
            && manifest.get(ms.start + size - 2..ms.start + size) == Some(b"\n\n")
        {
            size -= 1;
        }
        for (alg, h, want) in expected {
            if digest_of(h, ms.start..ms.start + size) != want {
                err(
                    s,
                    Code::ApkDigestMismatch,
                    "JAR_SIG_MANIFEST_SECTION_DIGEST_DID_NOT_VERIFY",
                    format!("the {alg} digest of {name}'s MANIFEST.MF section does not match"),
                );
            }
        }
    }
    s.sf_names = names;
}

fn check_stripping(s: &mut V1Signer, sf_main: &Section, ctx: &V1Ctx) {
    let Some(value) = sf_main.get("X-Android-APK-Signed") else {
        if !ctx.found_ids.is_empty() {
            s.warnings.push(issue(
                Code::ApkSignatureStripped,
                "JAR_SIG_NO_APK_SIG_STRIP_PROTECTION",
                format!(
                    "{}: no X-Android-APK-Signed stripping protection",
                    s.sf_entry
                ),
            ));
        }
        return;
    };
    if ctx.supported_ids.is_empty() {
        return;
    }
    let mut expected = BTreeSet::new();
    for tok in value.split(',') {
        let Ok(id) = tok.trim().parse::<i64>() else {
            continue;
        };
        if ctx.supported_ids.iter().any(|&x| i64::from(x) == id) {
            expected.insert(id as u32);
        } else {
            s.warnings.push(issue(
                Code::ApkSignatureStripped,
                "JAR_SIG_UNKNOWN_APK_SIG_SCHEME_ID",
                format!(
                    "{}: unknown scheme id {id} in X-Android-APK-Signed",
                    s.sf_entry
                ),
            ));
        }
    }
    for id in expected {
        if !ctx.found_ids.contains(&id) {
            let sf = s.sf_entry.clone();
            s.errors.push(issue(Code::ApkSignatureStripped, "JAR_SIG_MISSING_APK_SIG_REFERENCED",
                format!("{sf} says the APK was also signed with APK Signature Scheme v{id}, which is missing (stripped?)"))
                .subject(sf));
        }
    }
}

/// Checks every entry outside META-INF against MANIFEST.MF and the signers;
/// returns the indices (into `signers`) of the signers that cover the entries.
fn verify_entries(
    ctx: &V1Ctx,
    sections: &HashMap<String, Section>,
    signers: &[V1Signer],
    res: &mut V1Result,
) -> Result<Vec<usize>, ZipError> {
    let mut order: Vec<&CdRecord> = ctx.records.iter().collect();
    order.sort_by_key(|r| r.lfh_offset);
    let mut first: Option<(Vec<usize>, &str)> = None;
    let mut jobs: Vec<(&CdRecord, Vec<NamedDigest>)> = Vec::new();
    // Errors in file order; digest results are merged in afterwards.
    for r in order {
        let name = r.name.as_str();
        if name.starts_with("META-INF/") {
            continue;
        }
        let Some(section) = sections.get(name) else {
            res.errors.push(
                issue(
                    Code::ApkDigestMismatch,
                    "JAR_SIG_NO_ZIP_ENTRY_DIGEST_IN_MANIFEST",
                    format!("{name} is not listed in MANIFEST.MF (added after signing?)"),
                )
                .subject(name),
            );
            continue;
        };
        let by: Vec<usize> = (0..signers.len())
            .filter(|&i| signers[i].sf_names.contains(name))
            .collect();
        if by.is_empty() {
            res.errors.push(
                issue(
                    Code::ApkDigestMismatch,
                    "JAR_SIG_ZIP_ENTRY_NOT_SIGNED",
                    format!("{name} is not covered by any .SF file"),
                )
                .subject(name),
            );
            continue;
        }
        match &first {
            None => first = Some((by.clone(), name)),
            Some((f, fname)) if *f != by => {
                res.errors.push(
                    issue(
                        Code::ApkSignerMismatch,
                        "JAR_SIG_ZIP_ENTRY_SIGNERS_MISMATCH",
                        format!("{name} and {fname} are signed by different sets of JAR signers"),
                    )
                    .subject(name),
                );
                continue;
            }
            _ => {}
        }
        match digests_to_verify(section, "-Digest", ctx.min_sdk, ctx.max_sdk) {
            Err(e) => res
                .errors
                .push(issue(Code::ApkSignatureInvalid, "JAR_SIG_PARSE_EXCEPTION", e).subject(name)),
            Ok(d) if d.is_empty() => res.errors.push(
                issue(
                    Code::ApkDigestMismatch,
                    "JAR_SIG_NO_ZIP_ENTRY_DIGEST_IN_MANIFEST",
                    format!("{name} has no digest Android can check in MANIFEST.MF"),
                )
                .subject(name),
            ),
            Ok(d) => jobs.push((r, d)),
        }
    }
    // Entries are independent: stream and hash them on all cores.
    let results: Vec<Result<Vec<Vec<u8>>, ZipError>> = jobs
        .par_iter()
        .map(|(r, expected)| {
            let mut hashers: Vec<_> = expected.iter().map(|(_, h, _)| h.hasher()).collect();
            stream_entry(ctx.src, r, ctx.cd_offset, &mut |b| {
                hashers.iter_mut().for_each(|h| h.update(b))
            })?;
            Ok(hashers.iter_mut().map(|h| h.finalize_reset()).collect())
        })
        .collect();
    for ((r, expected), actual) in jobs.iter().zip(results) {
        let actual = actual?;
        for ((alg, _, want), got) in expected.iter().zip(actual) {
            if got != *want {
                res.errors.push(issue(Code::ApkDigestMismatch, "JAR_SIG_ZIP_ENTRY_DIGEST_DID_NOT_VERIFY",
                    format!("the {alg} digest of {} does not match MANIFEST.MF (modified after signing?)", r.name)).subject(&r.name));
            }
        }
    }
    match first {
        None => {
            res.errors.push(issue(
                Code::ApkUnsigned,
                "JAR_SIG_NO_SIGNED_ZIP_ENTRIES",
                "the JAR signature covers no entry".into(),
            ));
            Ok(Vec::new())
        }
        Some((by, _)) => Ok(by),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_sections_and_continuations() {
        let m = b"Manifest-Version: 1.0\r\nCreated-By: test\r\n\r\nName: res/a very long na\r\n me.txt\r\nSHA-256-Digest: AAAA\r\n\r\nName: b\nSHA1-Digest: BBBB\n\n";
        let mut p = ManifestParser::new(m);
        let main = p.read_section().unwrap();
        assert_eq!(main.get("manifest-version"), Some("1.0"));
        assert_eq!(main.start, 0);
        assert_eq!(main.size, 43);
        let rest = p.read_all();
        assert_eq!(rest.len(), 2);
        assert_eq!(rest[0].name.as_deref(), Some("res/a very long name.txt"));
        assert_eq!(rest[0].get("SHA-256-Digest"), Some("AAAA"));
        assert_eq!(rest[1].name.as_deref(), Some("b"));
        assert_eq!(
            &m[rest[1].start..rest[1].start + rest[1].size],
            b"Name: b\nSHA1-Digest: BBBB\n\n"
        );
        // A bare CR ends a line: a name with CR splits its section.
        let cr = b"Manifest-Version: 1.0\n\nName: a\rb\nSHA1-Digest: x\n\n";
        let mut p = ManifestParser::new(cr);
        p.read_section();
        let s = p.read_all();
        assert_eq!(s[0].name.as_deref(), Some("a"));
        assert_eq!(s[0].get("b"), Some(""));
    }

    #[test]
    fn digest_attributes_by_api_level() {
        let sec = ManifestParser::new(b"Name: a\nSHA1-Digest: AAAA\nSHA-256-Digest: BBBB\n\n")
            .read_section()
            .unwrap();
        let d = digests_to_verify(&sec, "-Digest", 1, i32::MAX).unwrap();
        let names: Vec<&str> = d.iter().map(|x| x.0).collect();
        assert_eq!(names, vec!["SHA-1", "SHA-256"]);
        let d = digests_to_verify(&sec, "-Digest", 18, i32::MAX).unwrap();
        assert_eq!(d.iter().map(|x| x.0).collect::<Vec<_>>(), vec!["SHA-256"]);
        let d = digests_to_verify(&sec, "-Digest", 1, 17).unwrap();
        assert_eq!(d.iter().map(|x| x.0).collect::<Vec<_>>(), vec!["SHA-1"]);
        let bad = ManifestParser::new(b"Name: a\nSHA-256-Digest: !!!!\n\n")
            .read_section()
            .unwrap();
        assert!(digests_to_verify(&bad, "-Digest", 24, 30).is_err());
    }

    #[test]
    fn algorithm_support_by_api_level() {
        let rsa = "1.2.840.113549.1.1.1";
        assert_eq!(
            unsupported_levels(1, i32::MAX, &supported_api_levels(SHA1, rsa)),
            None
        );
        assert_eq!(
            unsupported_levels(1, i32::MAX, &supported_api_levels(SHA256, rsa)).as_deref(),
            Some("9-17")
        );
        assert_eq!(
            unsupported_levels(18, i32::MAX, &supported_api_levels(SHA256, rsa)),
            None
        );
        assert_eq!(
            unsupported_levels(1, 30, &supported_api_levels(SHA256, "1.2.840.10045.4.3.2"))
                .as_deref(),
            Some("1-20")
        );
        assert_eq!(
            unsupported_levels(1, 30, &supported_api_levels(SHA256, "1.2.3")).as_deref(),
            Some("1-30")
        );
        assert_eq!(
            unsupported_levels(24, i32::MAX, &[(21, 23)]).as_deref(),
            Some("24+")
        );
    }
}
