//! APK Signature Schemes v2, v3 and v3.1 (the blocks inside the APK Signing
//! Block), following apksig's V2SchemeVerifier and V3SchemeVerifier: signers,
//! signatures over signed-data (the strongest per SDK level), certificate vs
//! public key, signatures vs digests records, stripping protection, v3 SDK
//! ranges and key-rotation lineage (proof-of-rotation).
//!
//! Verification runs in two steps so the content digest is computed once for
//! every scheme: [`parse`] checks everything inside the block and says which
//! content digests it needs; [`finish`] compares them with the computed ones.

use std::collections::{BTreeMap, BTreeSet};

use super::digest::ContentDigest;
use super::signing_block::{Reader, Short};
use super::Issue;
use crate::crypto::{self, Hash, SigAlg, VerifyError};
use crate::diag::Code;
use crate::x509::Cert;

/// Android's limit on v1 and v2 signers.
pub const MAX_SIGNERS: usize = 10;
/// Stripping protection: a v2 signer names the newer schemes it was signed with.
pub const STRIPPING_PROTECTION_ATTR: u32 = 0xbeef_f00d;
pub const PROOF_OF_ROTATION_ATTR: u32 = 0x3ba0_6f8c;
pub const ROTATION_MIN_SDK_ATTR: u32 = 0x559f_8b02;
pub const ROTATION_ON_DEV_RELEASE_ATTR: u32 = 0xc2a6_b3ba;
pub const SDK_P: i32 = 28;
pub const SDK_T: i32 = 33;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scheme {
    V2,
    V3,
    V31,
}

impl Scheme {
    pub fn name(self) -> &'static str {
        match self {
            Scheme::V2 => "v2",
            Scheme::V3 => "v3",
            Scheme::V31 => "v3.1",
        }
    }

    /// The scheme id used in stripping protection attributes.
    pub fn id(self) -> u32 {
        match self {
            Scheme::V2 => 2,
            Scheme::V3 => 3,
            Scheme::V31 => 31,
        }
    }

    fn issue(self, v2: &'static str, v3: &'static str) -> &'static str {
        if self == Scheme::V2 {
            v2
        } else {
            v3
        }
    }
}

/// A signature algorithm of the v2+ schemes.
#[derive(Debug)]
pub struct Algorithm {
    pub id: u32,
    pub name: &'static str,
    pub digest: ContentDigest,
    pub sig: SigAlg,
    /// First Android API level that verifies it in v2+ blocks.
    pub min_sdk: i32,
}

const fn alg(
    id: u32,
    name: &'static str,
    digest: ContentDigest,
    sig: SigAlg,
    min_sdk: i32,
) -> Algorithm {
    Algorithm {
        id,
        name,
        digest,
        sig,
        min_sdk,
    }
}

use ContentDigest::{ChunkedSha256 as C256, ChunkedSha512 as C512, VeritySha256 as V256};

pub static ALGORITHMS: [Algorithm; 10] = [
    alg(
        0x0101,
        "RSASSA-PSS with SHA-256",
        C256,
        SigAlg::RsaPss {
            hash: Hash::Sha256,
            salt_len: 32,
        },
        24,
    ),
    alg(
        0x0102,
        "RSASSA-PSS with SHA-512",
        C512,
        SigAlg::RsaPss {
            hash: Hash::Sha512,
            salt_len: 64,
        },
        24,
    ),
    alg(
        0x0103,
        "RSASSA-PKCS1-v1_5 with SHA-256",
        C256,
        SigAlg::RsaPkcs1(Hash::Sha256),
        24,
    ),
    alg(
        0x0104,
        "RSASSA-PKCS1-v1_5 with SHA-512",
        C512,
        SigAlg::RsaPkcs1(Hash::Sha512),
        24,
    ),
    alg(
        0x0201,
        "ECDSA with SHA-256",
        C256,
        SigAlg::Ecdsa(Hash::Sha256),
        24,
    ),
    alg(
        0x0202,
        "ECDSA with SHA-512",
        C512,
        SigAlg::Ecdsa(Hash::Sha512),
        24,
    ),
    alg(
        0x0301,
        "DSA with SHA-256",
        C256,
        SigAlg::Dsa(Hash::Sha256),
        24,
    ),
    alg(
        0x0421,
        "RSASSA-PKCS1-v1_5 with SHA-256 (verity)",
        V256,
        SigAlg::RsaPkcs1(Hash::Sha256),
        28,
    ),
    alg(
        0x0423,
        "ECDSA with SHA-256 (verity)",
        V256,
        SigAlg::Ecdsa(Hash::Sha256),
        28,
    ),
    alg(
        0x0425,
        "DSA with SHA-256 (verity)",
        V256,
        SigAlg::Dsa(Hash::Sha256),
        28,
    ),
];

pub fn algorithm(id: u32) -> Option<&'static Algorithm> {
    ALGORITHMS.iter().find(|a| a.id == id)
}

/// A certificate as stored (compared byte for byte, as Android does) and parsed.
#[derive(Clone, Debug)]
pub struct StoredCert {
    pub raw: Vec<u8>,
    pub cert: Cert,
}

/// One node of a proof-of-rotation lineage, kept whole so that it can be
/// written back byte for byte (rotation extends an existing lineage).
#[derive(Clone, Debug)]
pub struct LineageNode {
    pub cert: StoredCert,
    /// Capabilities the platform still grants this (older) certificate.
    pub flags: u32,
    /// The algorithm the previous node's key signed this node with (0 for the first).
    pub parent_sig_alg: u32,
    /// The algorithm this node's key signed the next node with (0 for the last).
    pub sig_alg: u32,
    /// The previous node's signature over this node's signed data (empty for the first).
    pub signature: Vec<u8>,
}

/// A signing certificate lineage, oldest first.
#[derive(Clone, Debug)]
pub struct Lineage {
    pub nodes: Vec<LineageNode>,
}

pub enum LineageError {
    Malformed(String),
    DidNotVerify(String),
    CertMismatch(String),
}

impl Lineage {
    pub fn position(&self, raw: &[u8]) -> Option<usize> {
        self.nodes.iter().position(|n| n.cert.raw == raw)
    }

    pub fn contains(&self, raw: &[u8]) -> bool {
        self.position(raw).is_some()
    }

    /// Reads and verifies a proof-of-rotation attribute, as [`Lineage::read`],
    /// with the reason as text.
    pub fn parse(value: &[u8]) -> Result<Lineage, String> {
        Lineage::read(value).map_err(|e| match e {
            LineageError::Malformed(m)
            | LineageError::DidNotVerify(m)
            | LineageError::CertMismatch(m) => m,
        })
    }

    /// Reads and verifies a proof-of-rotation attribute: each certificate is
    /// signed by its predecessor's key.
    pub fn read(value: &[u8]) -> Result<Lineage, LineageError> {
        let short = |_| LineageError::Malformed("truncated lineage".into());
        let mut r = Reader::new(value);
        if r.is_empty() {
            return Err(LineageError::Malformed("empty lineage".into()));
        }
        let version = r.u32().map_err(short)?;
        if version != 1 {
            return Err(LineageError::CertMismatch(format!(
                "unknown lineage version {version}"
            )));
        }
        let mut nodes: Vec<LineageNode> = Vec::new();
        let mut last_sig_alg = 0u32;
        while !r.is_empty() {
            let n = nodes.len() + 1;
            let mut node = Reader::new(r.prefixed().map_err(short)?);
            let signed = node.prefixed().map_err(short)?;
            let flags = node.u32().map_err(short)?;
            let sig_alg = node.u32().map_err(short)?;
            let signature = node.prefixed().map_err(short)?;
            if let Some(prev) = nodes.last() {
                let alg = algorithm(last_sig_alg).ok_or_else(|| {
                    LineageError::Malformed(format!(
                        "lineage node #{n}: unknown signature algorithm {last_sig_alg:#x}"
                    ))
                })?;
                crypto::verify(&prev.cert.cert.spki, alg.sig, signed, signature).map_err(|e| {
                    LineageError::DidNotVerify(format!(
                        "lineage certificate #{n} is not signed by #{}: {e}",
                        n - 1
                    ))
                })?;
            }
            let mut sd = Reader::new(signed);
            let raw = sd.prefixed().map_err(short)?;
            let parent_alg = sd.u32().map_err(short)?;
            if !nodes.is_empty() && parent_alg != last_sig_alg {
                return Err(LineageError::DidNotVerify(format!(
                    "lineage node #{n}: signature algorithm id mismatch"
                )));
            }
            let cert = Cert::from_der(raw).map_err(|e| {
                LineageError::DidNotVerify(format!("lineage certificate #{n}: {e}"))
            })?;
            if nodes.iter().any(|x| x.cert.raw == raw) {
                return Err(LineageError::DidNotVerify(format!(
                    "lineage certificate #{n} appears twice"
                )));
            }
            nodes.push(LineageNode {
                cert: StoredCert {
                    raw: raw.to_vec(),
                    cert,
                },
                flags,
                parent_sig_alg: parent_alg,
                sig_alg,
                signature: signature.to_vec(),
            });
            last_sig_alg = sig_alg;
        }
        Ok(Lineage { nodes })
    }

    /// Merges two lineages where one continues the other (apksig's
    /// `mergeLineageWith`); `None` when they diverge.
    fn merge(&self, other: &Lineage) -> Option<Lineage> {
        let first = &self.nodes.first()?.cert.raw;
        let (ancestor, descendant) = if other.contains(first) {
            (other, self)
        } else {
            (self, other)
        };
        let d0 = &descendant.nodes.first()?.cert.raw;
        let start = ancestor.position(d0)?;
        let mut merged: Vec<LineageNode> = ancestor.nodes[..start].to_vec();
        let (mut a, mut d) = (start, 0);
        while a < ancestor.nodes.len() && d < descendant.nodes.len() {
            if ancestor.nodes[a].cert.raw != descendant.nodes[d].cert.raw {
                return None;
            }
            merged.push(descendant.nodes[d].clone());
            a += 1;
            d += 1;
        }
        merged.extend(ancestor.nodes[a..].iter().cloned());
        merged.extend(descendant.nodes[d..].iter().cloned());
        Some(Lineage { nodes: merged })
    }
}

/// One signer of a v2/v3/v3.1 block.
#[derive(Clone, Debug, Default)]
pub struct Signer {
    pub index: usize,
    pub certs: Vec<StoredCert>,
    pub min_sdk: i32,
    pub max_sdk: i32,
    /// (algorithm id, signature) records, known or not.
    pub signatures: Vec<u32>,
    /// Algorithms whose signature over signed-data verified.
    pub verified_algs: Vec<&'static Algorithm>,
    pub content_digests: Vec<(u32, Vec<u8>)>,
    pub attributes: Vec<(u32, Vec<u8>)>,
    pub lineage: Option<Lineage>,
    pub errors: Vec<Issue>,
    pub warnings: Vec<Issue>,
}

impl Signer {
    pub fn cert(&self) -> Option<&StoredCert> {
        self.certs.first()
    }

    fn targets_dev_release(&self) -> bool {
        self.attributes
            .iter()
            .any(|(id, _)| *id == ROTATION_ON_DEV_RELEASE_ATTR)
    }
}

/// The outcome of one scheme.
#[derive(Clone, Debug)]
pub struct SchemeResult {
    pub scheme: Scheme,
    pub signers: Vec<Signer>,
    pub errors: Vec<Issue>,
    pub warnings: Vec<Issue>,
    /// Content digests whose signatures verified, to be checked by [`finish`].
    pub digests: BTreeSet<ContentDigest>,
    pub lineage: Option<Lineage>,
    pub verified: bool,
}

impl SchemeResult {
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty() || self.signers.iter().any(|s| !s.errors.is_empty())
    }

    /// Every error, scheme-level first, then per signer.
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

/// What parsing needs from the rest of the verification.
pub struct ParseCtx<'a> {
    pub scheme: Scheme,
    /// The scheme's SDK range (v2: max(min, 24); v3: max(min, 28); v3.1: max..max).
    pub min_sdk: i32,
    pub max_sdk: i32,
    /// v2: scheme ids this platform range knows, for stripping protection.
    pub supported_ids: &'a [u32],
    /// v2: schemes found so far.
    pub found_ids: &'a BTreeSet<u32>,
    /// v3: the v3.1 signers' lowest minSdk, when a v3.1 block was found.
    pub rotation_min_sdk: Option<i32>,
}

fn issue(code: Code, apksig: &'static str, msg: String) -> Issue {
    Issue::new(code, apksig, msg)
}

/// Picks, per minimum SDK level, the strongest supported signature (what the
/// platforms in `[min, max]` verify). `None` if `min` is not covered.
fn signatures_to_verify(
    supported: &[(&'static Algorithm, Vec<u8>)],
    min: i32,
    max: i32,
) -> Option<Vec<(&'static Algorithm, Vec<u8>)>> {
    let mut best: BTreeMap<i32, usize> = BTreeMap::new();
    let mut min_provided = i32::MAX;
    for (i, (a, _)) in supported.iter().enumerate() {
        if a.min_sdk > max {
            continue;
        }
        min_provided = min_provided.min(a.min_sdk);
        match best.get(&a.min_sdk) {
            Some(&j) if supported[j].0.digest.rank() >= a.digest.rank() => {}
            _ => {
                best.insert(a.min_sdk, i);
            }
        }
    }
    if min < min_provided || best.is_empty() {
        return None;
    }
    let mut out: Vec<_> = best.values().map(|&i| supported[i].clone()).collect();
    out.sort_by_key(|(a, _)| a.id);
    Some(out)
}

/// Parses the signers of a scheme block and verifies everything that does not
/// need the content digest.
pub fn parse(block: &[u8], ctx: &ParseCtx) -> SchemeResult {
    let scheme = ctx.scheme;
    let mut res = SchemeResult {
        scheme,
        signers: Vec::new(),
        errors: Vec::new(),
        warnings: Vec::new(),
        digests: BTreeSet::new(),
        lineage: None,
        verified: false,
    };
    let Ok(signers) = Reader::new(block).prefixed() else {
        res.errors.push(issue(
            Code::ApkSignatureInvalid,
            scheme.issue("V2_SIG_MALFORMED_SIGNERS", "V3_SIG_MALFORMED_SIGNERS"),
            format!("{} block: malformed list of signers", scheme.name()),
        ));
        return res;
    };
    if signers.is_empty() {
        res.errors.push(issue(
            Code::ApkSignatureInvalid,
            scheme.issue("V2_SIG_NO_SIGNERS", "V3_SIG_NO_SIGNERS"),
            format!("{} block has no signers", scheme.name()),
        ));
        return res;
    }
    let mut list = Reader::new(signers);
    let mut count = 0;
    while !list.is_empty() {
        let mut signer = Signer {
            index: count,
            ..Signer::default()
        };
        count += 1;
        let parsed = list
            .prefixed()
            .and_then(|bytes| parse_signer(bytes, ctx, &mut signer, &mut res.digests));
        let stop = parsed.is_err();
        if stop {
            signer.errors.push(issue(
                Code::ApkSignatureInvalid,
                scheme.issue("V2_SIG_MALFORMED_SIGNER", "V3_SIG_MALFORMED_SIGNER"),
                format!("{} signer #{count}: malformed signer block", scheme.name()),
            ));
        }
        res.signers.push(signer);
        if stop {
            return res;
        }
    }
    if scheme == Scheme::V2 && count > MAX_SIGNERS {
        res.errors.push(issue(
            Code::ApkTooManySigners,
            "V2_SIG_MAX_SIGNATURES_EXCEEDED",
            format!("the v2 block has {count} signers; Android accepts at most {MAX_SIGNERS}"),
        ));
    }
    res
}

fn parse_signer(
    bytes: &[u8],
    ctx: &ParseCtx,
    s: &mut Signer,
    digests: &mut BTreeSet<ContentDigest>,
) -> Result<(), Short> {
    let scheme = ctx.scheme;
    let who = format!("{} signer #{}", scheme.name(), s.index + 1);
    let err = |s: &mut Signer, code: Code, v2: &'static str, v3: &'static str, msg: String| {
        s.errors
            .push(issue(code, scheme.issue(v2, v3), format!("{who}: {msg}")));
    };
    let mut r = Reader::new(bytes);
    let signed_data = r.prefixed()?;
    let (mut min, mut max) = (ctx.min_sdk, ctx.max_sdk);
    if scheme != Scheme::V2 {
        min = r.i32()?;
        max = r.i32()?;
        s.min_sdk = min;
        s.max_sdk = max;
        if min < 0 || min > max {
            err(
                s,
                Code::ApkSignatureInvalid,
                "",
                "V3_SIG_INVALID_SDK_VERSIONS",
                format!("invalid SDK range {min}..{max}"),
            );
        }
    }
    let signatures = r.prefixed()?;
    let public_key = r.prefixed()?;

    let mut sigs = Reader::new(signatures);
    let mut supported = Vec::new();
    while !sigs.is_empty() {
        let Ok((id, sig)) = id_and_value(&mut sigs) else {
            err(
                s,
                Code::ApkSignatureInvalid,
                "V2_SIG_MALFORMED_SIGNATURE",
                "V3_SIG_MALFORMED_SIGNATURE",
                format!("malformed signature record #{}", s.signatures.len() + 1),
            );
            return Ok(());
        };
        s.signatures.push(id);
        match algorithm(id) {
            Some(a) => supported.push((a, sig)),
            None => s.warnings.push(issue(
                Code::ApkSignatureInvalid,
                scheme.issue(
                    "V2_SIG_UNKNOWN_SIG_ALGORITHM",
                    "V3_SIG_UNKNOWN_SIG_ALGORITHM",
                ),
                format!("{who}: unknown signature algorithm {id:#06x} ignored"),
            )),
        }
    }
    if s.signatures.is_empty() {
        err(
            s,
            Code::ApkSignatureInvalid,
            "V2_SIG_NO_SIGNATURES",
            "V3_SIG_NO_SIGNATURES",
            "no signatures".into(),
        );
        return Ok(());
    }
    let Some(to_verify) = signatures_to_verify(&supported, min, max) else {
        err(
            s,
            Code::ApkSignatureInvalid,
            "V2_SIG_NO_SUPPORTED_SIGNATURES",
            "V3_SIG_NO_SUPPORTED_SIGNATURES",
            format!(
                "no signature algorithm that Android {min}..{} can verify",
                sdk_label(max)
            ),
        );
        return Ok(());
    };
    for (a, sig) in &to_verify {
        match crypto::verify(public_key, a.sig, signed_data, sig) {
            Ok(()) => {
                s.verified_algs.push(a);
                digests.insert(a.digest);
            }
            Err(VerifyError::Invalid) => {
                err(
                    s,
                    Code::ApkSignatureInvalid,
                    "V2_SIG_DID_NOT_VERIFY",
                    "V3_SIG_DID_NOT_VERIFY",
                    format!("the {} signature does not verify", a.name),
                );
                return Ok(());
            }
            Err(e) => {
                err(
                    s,
                    Code::ApkSignatureInvalid,
                    "V2_SIG_MALFORMED_PUBLIC_KEY",
                    "V3_SIG_MALFORMED_PUBLIC_KEY",
                    format!("public key unusable for {}: {e}", a.name),
                );
                return Ok(());
            }
        }
    }

    // The signature over signed-data verified: its contents can be trusted.
    let mut sd = Reader::new(signed_data);
    let digests_rec = sd.prefixed()?;
    let certificates = sd.prefixed()?;
    if scheme != Scheme::V2 {
        let (smin, smax) = (sd.i32()?, sd.i32()?);
        if smin != s.min_sdk {
            err(
                s,
                Code::ApkSignatureInvalid,
                "",
                "V3_MIN_SDK_VERSION_MISMATCH_BETWEEN_SIGNER_AND_SIGNED_DATA_RECORD",
                format!(
                    "minSdk {} outside signed-data differs from {smin} inside",
                    s.min_sdk
                ),
            );
        }
        if smax != s.max_sdk {
            err(
                s,
                Code::ApkSignatureInvalid,
                "",
                "V3_MAX_SDK_VERSION_MISMATCH_BETWEEN_SIGNER_AND_SIGNED_DATA_RECORD",
                format!(
                    "maxSdk {} outside signed-data differs from {smax} inside",
                    s.max_sdk
                ),
            );
        }
    }
    let attributes = sd.prefixed()?;

    let mut certs = Reader::new(certificates);
    while !certs.is_empty() {
        let raw = certs.prefixed()?;
        match Cert::from_der(raw) {
            Ok(cert) => s.certs.push(StoredCert {
                raw: raw.to_vec(),
                cert,
            }),
            Err(e) => {
                err(
                    s,
                    Code::ApkSignatureInvalid,
                    "V2_SIG_MALFORMED_CERTIFICATE",
                    "V3_SIG_MALFORMED_CERTIFICATE",
                    format!("certificate #{} cannot be parsed: {e}", s.certs.len() + 1),
                );
                return Ok(());
            }
        }
    }
    let Some(first) = s.certs.first() else {
        err(
            s,
            Code::ApkSignatureInvalid,
            "V2_SIG_NO_CERTIFICATES",
            "V3_SIG_NO_CERTIFICATES",
            "no certificates".into(),
        );
        return Ok(());
    };
    if first.cert.spki != public_key {
        err(
            s,
            Code::ApkSignatureInvalid,
            "V2_SIG_PUBLIC_KEY_MISMATCH_BETWEEN_CERTIFICATE_AND_SIGNATURES_RECORD",
            "V3_SIG_PUBLIC_KEY_MISMATCH_BETWEEN_CERTIFICATE_AND_SIGNATURES_RECORD",
            "the public key does not match the signer's certificate".into(),
        );
        return Ok(());
    }

    let mut dr = Reader::new(digests_rec);
    while !dr.is_empty() {
        match id_and_value(&mut dr) {
            Ok(d) => s.content_digests.push(d),
            Err(_) => {
                err(
                    s,
                    Code::ApkSignatureInvalid,
                    "V2_SIG_MALFORMED_DIGEST",
                    "V3_SIG_MALFORMED_DIGEST",
                    format!("malformed digest record #{}", s.content_digests.len() + 1),
                );
                return Ok(());
            }
        }
    }
    let digest_ids: Vec<u32> = s.content_digests.iter().map(|(id, _)| *id).collect();
    if s.signatures != digest_ids {
        err(
            s,
            Code::ApkSignatureInvalid,
            "V2_SIG_SIG_ALG_MISMATCH_BETWEEN_SIGNATURES_AND_DIGESTS_RECORDS",
            "V3_SIG_SIG_ALG_MISMATCH_BETWEEN_SIGNATURES_AND_DIGESTS_RECORDS",
            format!(
                "signature algorithms {:x?} differ from digest algorithms {digest_ids:x?}",
                s.signatures
            ),
        );
        return Ok(());
    }

    let mut ar = Reader::new(attributes);
    let mut stripping = BTreeSet::new();
    let mut rotation_attr_found = false;
    while !ar.is_empty() {
        let one = ar.prefixed().and_then(|b| {
            let mut x = Reader::new(b);
            Ok((x.u32()?, x.rest().to_vec()))
        });
        let Ok((id, value)) = one else {
            err(
                s,
                Code::ApkSignatureInvalid,
                "V2_SIG_MALFORMED_ADDITIONAL_ATTRIBUTE",
                "V3_SIG_MALFORMED_ADDITIONAL_ATTRIBUTE",
                format!("malformed additional attribute #{}", s.attributes.len() + 1),
            );
            return Ok(());
        };
        s.attributes.push((id, value.clone()));
        let int_value = || {
            value
                .get(..4)
                .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        };
        match (scheme, id) {
            (Scheme::V2, STRIPPING_PROTECTION_ATTR) => {
                let Some(v) = int_value() else {
                    err(
                        s,
                        Code::ApkSignatureInvalid,
                        "V2_SIG_MALFORMED_ADDITIONAL_ATTRIBUTE",
                        "",
                        "malformed stripping-protection attribute".into(),
                    );
                    return Ok(());
                };
                if ctx.supported_ids.contains(&(v as u32)) {
                    stripping.insert(v as u32);
                } else {
                    s.warnings.push(issue(
                        Code::ApkSignatureInvalid,
                        "V2_SIG_UNKNOWN_APK_SIG_SCHEME_ID",
                        format!("{who}: stripping protection names unknown scheme {v}"),
                    ));
                }
            }
            (Scheme::V3 | Scheme::V31, PROOF_OF_ROTATION_ATTR) => match Lineage::read(&value) {
                Ok(l) => {
                    // The signer's certificate must be the newest in its lineage.
                    if l.position(&first_raw(s)) != Some(l.nodes.len() - 1) {
                        err(s, Code::ApkSignatureInvalid, "", "V3_SIG_POR_CERT_MISMATCH",
                            "the signer's certificate is not the last one of its proof-of-rotation lineage".into());
                    }
                    s.lineage = Some(l);
                }
                Err(LineageError::Malformed(m)) => err(
                    s,
                    Code::ApkSignatureInvalid,
                    "",
                    "V3_SIG_MALFORMED_LINEAGE",
                    format!("malformed lineage: {m}"),
                ),
                Err(LineageError::DidNotVerify(m)) => err(
                    s,
                    Code::ApkSignatureInvalid,
                    "",
                    "V3_SIG_POR_DID_NOT_VERIFY",
                    format!("proof-of-rotation does not verify: {m}"),
                ),
                Err(LineageError::CertMismatch(m)) => err(
                    s,
                    Code::ApkSignatureInvalid,
                    "",
                    "V3_SIG_POR_CERT_MISMATCH",
                    format!("proof-of-rotation: {m}"),
                ),
            },
            (Scheme::V3 | Scheme::V31, ROTATION_MIN_SDK_ATTR) => {
                rotation_attr_found = true;
                if ctx.max_sdk >= SDK_T {
                    let Some(v) = int_value() else {
                        err(
                            s,
                            Code::ApkSignatureInvalid,
                            "",
                            "V3_SIG_MALFORMED_ADDITIONAL_ATTRIBUTE",
                            "malformed rotation-min-sdk attribute".into(),
                        );
                        return Ok(());
                    };
                    match ctx.rotation_min_sdk {
                        Some(r) if r != v => err(s, Code::ApkSignatureStripped, "", "V31_ROTATION_MIN_SDK_MISMATCH",
                            format!("the v3 signer says key rotation starts at API {v}, the v3.1 block says {r}")),
                        Some(_) => {}
                        None => err(s, Code::ApkSignatureStripped, "", "V31_BLOCK_MISSING",
                            format!("the v3 signer says a v3.1 block rotates the key from API {v}, but there is no v3.1 block")),
                    }
                }
            }
            (Scheme::V3 | Scheme::V31, ROTATION_ON_DEV_RELEASE_ATTR) => {
                if scheme != Scheme::V31 {
                    s.warnings.push(issue(
                        Code::ApkSignatureInvalid,
                        "V31_ROTATION_TARGETS_DEV_RELEASE_ATTR_ON_V3_SIGNER",
                        format!("{who}: dev-release rotation attribute on a v3 signer"),
                    ));
                }
            }
            _ => s.warnings.push(issue(
                Code::ApkSignatureInvalid,
                scheme.issue(
                    "V2_SIG_UNKNOWN_ADDITIONAL_ATTRIBUTE",
                    "V3_SIG_UNKNOWN_ADDITIONAL_ATTRIBUTE",
                ),
                format!("{who}: unknown additional attribute {id:#010x} ignored"),
            )),
        }
    }
    if scheme == Scheme::V3 && !rotation_attr_found {
        if let Some(r) = ctx.rotation_min_sdk {
            s.warnings.push(issue(Code::ApkSignatureStripped, "V31_ROTATION_MIN_SDK_ATTR_MISSING",
                format!("{who}: no rotation-min-sdk attribute although the v3.1 block rotates from API {r}")));
        }
    }
    for id in stripping {
        if !ctx.found_ids.contains(&id) {
            err(s, Code::ApkSignatureStripped, "V2_SIG_MISSING_APK_SIG_REFERENCED", "",
                format!("it says the APK was also signed with APK Signature Scheme v{id}, which is missing (stripped?)"));
        }
    }
    Ok(())
}

/// A length-prefixed (u32 algorithm id, length-prefixed bytes) record, the
/// shape of both the signatures and the digests lists.
fn id_and_value(r: &mut Reader) -> Result<(u32, Vec<u8>), Short> {
    let mut x = Reader::new(r.prefixed()?);
    Ok((x.u32()?, x.prefixed()?.to_vec()))
}

fn first_raw(s: &Signer) -> Vec<u8> {
    s.certs.first().map(|c| c.raw.clone()).unwrap_or_default()
}

pub fn sdk_label(v: i32) -> String {
    if v == i32::MAX {
        "latest".into()
    } else {
        v.to_string()
    }
}

/// Compares the signers' content digests with the computed ones, then (v3,
/// v3.1) checks the signers' SDK ranges and merges their lineages.
pub fn finish(
    res: &mut SchemeResult,
    computed: &BTreeMap<ContentDigest, Vec<u8>>,
    min_sdk: i32,
    max_sdk: i32,
    rotation_min_sdk: Option<i32>,
) {
    let scheme = res.scheme;
    for s in &mut res.signers {
        for (id, expected) in &s.content_digests {
            let Some(a) = algorithm(*id) else { continue };
            if !res.digests.contains(&a.digest) {
                continue;
            }
            let Some(actual) = computed.get(&a.digest) else {
                continue;
            };
            if actual != expected {
                s.errors.push(issue(
                    Code::ApkDigestMismatch,
                    scheme.issue(
                        "V2_SIG_APK_DIGEST_DID_NOT_VERIFY",
                        "V3_SIG_APK_DIGEST_DID_NOT_VERIFY",
                    ),
                    format!(
                        "{} signer #{}: the APK's {} digest {} does not match the signed {}",
                        scheme.name(),
                        s.index + 1,
                        a.digest.name(),
                        hex::encode(actual),
                        hex::encode(expected)
                    ),
                ));
            }
        }
    }
    if scheme != Scheme::V2 {
        check_sdk_ranges(res, min_sdk, max_sdk, rotation_min_sdk);
    }
    res.verified = !res.has_errors();
}

fn check_sdk_ranges(
    res: &mut SchemeResult,
    min_sdk: i32,
    max_sdk: i32,
    rotation_min_sdk: Option<i32>,
) {
    // apksig keys the signers by maxSdk; a later signer with the same maxSdk replaces an earlier one.
    let mut sorted: BTreeMap<i32, usize> = BTreeMap::new();
    for (i, s) in res.signers.iter().enumerate() {
        sorted.insert(s.max_sdk, i);
    }
    let (mut first_min, mut last_max, mut last_lineage) = (0i32, 0i32, 0usize);
    let mut lineages = Vec::new();
    for &i in sorted.values() {
        let s = &res.signers[i];
        if first_min == 0 {
            first_min = s.min_sdk;
        } else if s.min_sdk != last_max.saturating_add(1)
            && !(s.min_sdk == last_max && s.targets_dev_release())
        {
            res.errors.push(issue(
                Code::ApkSignatureInvalid,
                "V3_INCONSISTENT_SDK_VERSIONS",
                format!(
                    "{} signers' SDK ranges overlap or leave a gap",
                    res.scheme.name()
                ),
            ));
            break;
        }
        last_max = s.max_sdk;
        if let Some(l) = &s.lineage {
            if l.nodes.len() < last_lineage {
                res.errors.push(issue(
                    Code::ApkSignatureInvalid,
                    "V3_INCONSISTENT_LINEAGES",
                    "a newer SDK range has a shorter rotation lineage than an older one".into(),
                ));
                break;
            }
            last_lineage = l.nodes.len();
            lineages.push(l.clone());
        }
    }
    let needed_max = rotation_min_sdk.map_or(max_sdk, |r| r - 1);
    if first_min > min_sdk || last_max < needed_max {
        res.errors.push(issue(
            Code::ApkSignatureInvalid,
            "V3_MISSING_SDK_VERSIONS",
            format!(
                "{} signers cover API {first_min}..{}, not the required {min_sdk}..{}",
                res.scheme.name(),
                sdk_label(last_max),
                sdk_label(needed_max)
            ),
        ));
    }
    let mut merged: Option<Lineage> = None;
    for l in lineages {
        merged = match merged {
            None => Some(l),
            Some(m) => match m.merge(&l) {
                Some(x) => Some(x),
                None => {
                    res.errors.push(issue(
                        Code::ApkSignatureInvalid,
                        "V3_INCONSISTENT_LINEAGES",
                        "the signers' rotation lineages diverge".into(),
                    ));
                    None
                }
            },
        };
    }
    res.lineage = merged;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strongest_signature_per_sdk_level() {
        let rsa256 = algorithm(0x0103).unwrap();
        let rsa512 = algorithm(0x0104).unwrap();
        let verity = algorithm(0x0421).unwrap();
        let sigs = vec![(rsa256, vec![1]), (rsa512, vec![2]), (verity, vec![3])];
        let picked = signatures_to_verify(&sigs, 24, i32::MAX).unwrap();
        let ids: Vec<u32> = picked.iter().map(|(a, _)| a.id).collect();
        assert_eq!(ids, vec![0x0104, 0x0421]);
        // Only verity signatures cannot serve API 24-27.
        assert!(signatures_to_verify(&[(verity, vec![])], 24, i32::MAX).is_none());
        assert!(signatures_to_verify(&[(verity, vec![])], 28, i32::MAX).is_some());
        assert!(signatures_to_verify(&[], 24, 30).is_none());
    }

    #[test]
    fn malformed_blocks_do_not_panic() {
        let found = BTreeSet::new();
        for scheme in [Scheme::V2, Scheme::V3, Scheme::V31] {
            let ctx = ParseCtx {
                scheme,
                min_sdk: 24,
                max_sdk: i32::MAX,
                supported_ids: &[2, 3],
                found_ids: &found,
                rotation_min_sdk: None,
            };
            for block in [
                &b""[..],
                &[1, 0, 0, 0][..],
                &[0, 0, 0, 0][..],
                &[8, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0][..],
            ] {
                let r = parse(block, &ctx);
                assert!(r.has_errors());
            }
        }
    }
}
