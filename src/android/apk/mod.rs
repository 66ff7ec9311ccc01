//! APK signature verification with AOSP apksig's rules (`ApkVerifier`): which
//! schemes must verify for the SDK range `[minSdk, maxSdk]`, in which order,
//! how they must agree, and what the manifest demands. [`verify`] gives
//! apksig's verdict with every problem; [`check`] turns it into findings and
//! items, adds ZIP alignment and the expected-signer check.
//!
//! Scheme selection (apksig): v3.1 is checked when maxSdk >= 33, v3 when
//! maxSdk >= 28, v2 when minSdk < 28 or no v3 was found, v1 when minSdk < 24
//! or no v2+ was found. targetSandboxVersion >= 2 and targetSdkVersion >= 30
//! need v2+. v1 and v2 must name the same signers; v3's signer must be the v1/v2
//! signer or descend from it through the proof-of-rotation lineage.

pub mod digest;
pub mod layout;
pub mod lineage;
pub mod pkcs7;
pub mod signers;
pub mod signing_block;
pub mod v1;
pub mod v2v3;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::android::manifest::ManifestInfo;
use crate::at;
use crate::diag::{Code, Finding, Item, ItemKind, Report};
use crate::x509::Cert;
use crate::zip::android::{self as zip, CdRecord};
use crate::zip::{Source, ZipError};
use digest::{Content, ContentDigest, DigestError};
use signing_block::{V2_BLOCK_ID, V31_BLOCK_ID, V3_BLOCK_ID};
use v1::V1Result;
use v2v3::{Lineage, ParseCtx, Scheme, SchemeResult, StoredCert, SDK_P, SDK_T};

const SDK_N: i32 = 24;
const SDK_O: i32 = 26;
const SDK_R: i32 = 30;
const ANDROID_MANIFEST: &str = "AndroidManifest.xml";

/// One problem found while verifying, with the apksig issue it corresponds to.
#[derive(Clone, Debug)]
pub struct Issue {
    pub code: Code,
    /// apksig's `ApkVerifier.Issue` name, for users comparing with apksigner.
    pub apksig: &'static str,
    pub subject: Option<String>,
    pub message: String,
}

impl Issue {
    pub fn new(code: Code, apksig: &'static str, message: impl Into<String>) -> Issue {
        Issue {
            code,
            apksig,
            subject: None,
            message: message.into(),
        }
    }

    pub fn subject(mut self, s: impl Into<String>) -> Issue {
        self.subject = Some(s.into());
        self
    }
}

/// What a verification is asked to do beyond apksig's defaults.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Lowest API level to verify for (default: the manifest's minSdkVersion).
    pub min_sdk: Option<i32>,
    /// Highest API level to verify for (default: all).
    pub max_sdk: Option<i32>,
    /// Certificates the APK must be signed with (`--signer-cert`, or a keystore
    /// alias): an update signed otherwise cannot replace the installed app.
    pub expected_signers: Vec<Cert>,
    /// How far the APK may expand (v1 verification inflates every entry).
    pub archive: crate::zip::Limits,
    /// The verification instant, for the (informational) certificate dates;
    /// `None` skips them.
    pub at: Option<time::OffsetDateTime>,
    /// Google Play's minimum validity date (default 2033-10-22).
    pub play_min_validity: Option<time::OffsetDateTime>,
}

/// Why an APK could not be verified at all.
#[derive(Clone, Debug)]
pub enum Fatal {
    /// Not readable, or not a ZIP.
    Unreadable(String),
    /// A ZIP or manifest that lies (apksig's ApkFormatException).
    Malformed(String),
    /// The SDK range asked for contradicts the APK.
    Usage(String),
    /// A hostile or cut archive (`archive-*`): unsafe names, a zip bomb, truncation.
    Archive(crate::zip::Problem),
}

fn fatal(e: ZipError) -> Fatal {
    match e {
        ZipError::NotZip(m) => Fatal::Unreadable(m),
        ZipError::Malformed(m) => Fatal::Malformed(m),
        ZipError::Io(e) => Fatal::Unreadable(format!("read error: {e}")),
    }
}

/// Everything verification learnt.
#[derive(Debug)]
pub struct Outcome {
    pub min_sdk: i32,
    pub max_sdk: i32,
    pub manifest: Option<ManifestInfo>,
    /// Problems found outside the schemes (scheme selection, agreement rules).
    pub errors: Vec<Issue>,
    pub v1: Option<V1Result>,
    pub v2: Option<SchemeResult>,
    pub v3: Option<SchemeResult>,
    pub v31: Option<SchemeResult>,
    /// Why no APK Signing Block (or no v2+ block) was visible, if so.
    pub block_note: Option<String>,
    pub block_ids: Vec<u32>,
    /// The key-rotation lineage (v3.1's, else v3's).
    pub lineage: Option<Lineage>,
    /// apksig's verdict.
    pub verified: bool,
    /// The signers Android uses on the newest platform in range (apksig's result signers).
    pub signers: Vec<StoredCert>,
    /// ZIP layout problems (alignment, overlaps): not part of apksig's verdict.
    pub layout: Vec<Finding>,
    /// Bytes before the first entry (the Janus pattern), if any.
    pub prefix: Option<layout::Prefix>,
    pub entries: usize,
    /// Passes over the file for the v2/v3/v3.1 content digests: one for every
    /// scheme and algorithm together (two when a verity digest is needed too).
    pub digest_passes: u32,
}

impl Outcome {
    /// Every error, in verification order.
    pub fn all_errors(&self) -> Vec<&Issue> {
        let mut v: Vec<&Issue> = Vec::new();
        for s in [&self.v31, &self.v3, &self.v2].into_iter().flatten() {
            v.extend(s.all_errors());
        }
        if let Some(r) = &self.v1 {
            v.extend(r.all_errors());
        }
        v.extend(self.errors.iter());
        v
    }

    pub fn all_warnings(&self) -> Vec<&Issue> {
        let mut v: Vec<&Issue> = Vec::new();
        for s in [&self.v31, &self.v3, &self.v2].into_iter().flatten() {
            v.extend(s.all_warnings());
        }
        if let Some(r) = &self.v1 {
            v.extend(r.all_warnings());
        }
        v
    }

    fn has_errors(&self) -> bool {
        !self.all_errors().is_empty()
    }

    /// The schemes that verified, by name.
    pub fn verified_schemes(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.v1.as_ref().is_some_and(|r| r.verified) {
            v.push("v1");
        }
        for s in [&self.v2, &self.v3, &self.v31].into_iter().flatten() {
            if s.verified {
                v.push(s.scheme.name());
            }
        }
        v
    }
}

fn scheme_verified(s: &Option<SchemeResult>) -> bool {
    s.as_ref().is_some_and(|r| r.verified)
}

struct Apk {
    src: Source,
    sections: zip::Sections,
    records: Vec<CdRecord>,
}

impl Apk {
    fn manifest(&self) -> Result<Vec<u8>, Fatal> {
        let rec = self
            .records
            .iter()
            .find(|r| r.name == ANDROID_MANIFEST)
            .ok_or_else(|| Fatal::Malformed("the APK has no AndroidManifest.xml".into()))?;
        zip::read_entry(&self.src, rec, self.sections.cd_offset).map_err(fatal)
    }
}

/// Verifies an APK's signatures as apksig does for `[min_sdk, max_sdk]`.
pub fn verify(path: &Path, opts: &Options) -> Result<Outcome, Fatal> {
    let src = Source::open(path).map_err(|e| Fatal::Unreadable(format!("cannot read it: {e}")))?;
    verify_source(src, opts)
}

/// [`verify`] over an already opened file or in-memory APK.
pub fn verify_source(src: Source, opts: &Options) -> Result<Outcome, Fatal> {
    let zip::Directory {
        sections, records, ..
    } = zip::open(&src, &opts.archive, false).map_err(|e| match e {
        zip::OpenError::Zip(e) => fatal(e),
        zip::OpenError::Archive(p) => Fatal::Archive(p),
    })?;
    let apk = Apk {
        src,
        sections,
        records,
    };

    let max_sdk = opts.max_sdk.unwrap_or(i32::MAX);
    // Read and parse once; whether a missing manifest is fatal depends on the SDK range.
    let manifest = apk.manifest().map(|m| ManifestInfo::read(&m));
    let min_sdk = match opts.min_sdk {
        Some(m) => m,
        None => manifest.clone()?.min_sdk.map_err(|e| {
            Fatal::Malformed(format!(
                "cannot read minSdkVersion from AndroidManifest.xml: {e}"
            ))
        })?,
    };
    if min_sdk > max_sdk {
        return Err(Fatal::Usage(format!(
            "minSdkVersion {min_sdk} is above --max-sdk {max_sdk}"
        )));
    }

    let layout = layout::findings(
        &apk.src,
        &apk.records,
        apk.sections.cd_offset,
        layout::Manifest {
            target_sdk: manifest.as_ref().map_or(1, |m| m.target_sdk),
            extract_native_libs: manifest.as_ref().ok().and_then(|m| m.extract_native_libs),
        },
    );
    let prefix = layout::prefix(&apk.src, &apk.records, apk.sections.cd_offset).map_err(fatal)?;
    let mut out = Outcome {
        min_sdk,
        max_sdk,
        manifest: manifest.as_ref().ok().cloned(),
        errors: Vec::new(),
        v1: None,
        v2: None,
        v3: None,
        v31: None,
        block_note: None,
        block_ids: Vec::new(),
        lineage: None,
        verified: false,
        signers: Vec::new(),
        layout,
        prefix,
        entries: apk.records.len(),
        digest_passes: 0,
    };

    let block = signing_block::find(&apk.src, &apk.sections).map_err(fatal)?;
    let block = match block {
        Ok(b) => {
            out.block_ids = b.ids();
            Some(b)
        }
        Err(why) => {
            out.block_note = Some(why);
            None
        }
    };
    let supported: &[u32] = if max_sdk >= SDK_P {
        &[2, 3]
    } else if max_sdk >= SDK_N {
        &[2]
    } else {
        &[]
    };
    let mut found: BTreeSet<u32> = BTreeSet::new();

    if max_sdk >= SDK_N {
        let pair = |id: u32| -> Option<&[u8]> { block.as_ref().and_then(|b| b.pair(id).ok()) };
        if let (Some(b), None) = (&block, pair(V2_BLOCK_ID).or(pair(V3_BLOCK_ID))) {
            if let Err(why) = b.pair(V2_BLOCK_ID) {
                out.block_note = Some(why);
            }
        }
        // Parse every scheme that will be checked, then hash the APK once for all.
        let no_found = BTreeSet::new();
        let v31_block = if max_sdk >= SDK_T {
            pair(V31_BLOCK_ID)
        } else {
            None
        };
        let mut v31 = v31_block.map(|b| {
            v2v3::parse(
                b,
                &ParseCtx {
                    scheme: Scheme::V31,
                    min_sdk: max_sdk,
                    max_sdk,
                    supported_ids: supported,
                    found_ids: &no_found,
                    rotation_min_sdk: None,
                },
            )
        });
        if v31.is_some() {
            found.insert(31);
        }
        let rotation_min = v31
            .as_ref()
            .map(|r| r.signers.iter().map(|s| s.min_sdk).min().unwrap_or(0))
            .filter(|&r| r > 0);
        let v3_block = if max_sdk >= SDK_P {
            pair(V3_BLOCK_ID)
        } else {
            None
        };
        let mut v3 = v3_block.map(|b| {
            v2v3::parse(
                b,
                &ParseCtx {
                    scheme: Scheme::V3,
                    min_sdk: min_sdk.max(SDK_P),
                    max_sdk,
                    supported_ids: supported,
                    found_ids: &no_found,
                    rotation_min_sdk: rotation_min,
                },
            )
        });
        if v3.is_some() {
            found.insert(3);
        }
        let v3_missing_under_v31 = max_sdk >= SDK_P && v31.is_some() && v3.is_none();
        let check_v2 = min_sdk < SDK_P || found.is_empty();
        let mut v2 = if check_v2 {
            pair(V2_BLOCK_ID).map(|b| {
                v2v3::parse(
                    b,
                    &ParseCtx {
                        scheme: Scheme::V2,
                        min_sdk: min_sdk.max(SDK_N),
                        max_sdk,
                        supported_ids: supported,
                        found_ids: &found,
                        rotation_min_sdk: None,
                    },
                )
            })
        } else {
            None
        };

        // The digests the schemes that will reach the integrity check need.
        let mut needed: BTreeSet<ContentDigest> = BTreeSet::new();
        for (i, s) in [&v31, &v3, &v2].into_iter().enumerate() {
            if i == 2 && v3_missing_under_v31 {
                break;
            }
            let Some(s) = s else { continue };
            if s.has_errors() {
                break;
            }
            needed.extend(s.digests.iter().copied());
        }
        let computed = match (&block, needed.is_empty()) {
            (Some(b), false) => {
                let content = Content::new(
                    &apk.src,
                    b.offset,
                    apk.sections.cd_offset,
                    apk.sections.eocd_offset,
                    &apk.sections.eocd,
                );
                let mut want = needed.clone();
                let verity = want.remove(&ContentDigest::VeritySha256);
                out.digest_passes += u32::from(!want.is_empty()) + u32::from(verity);
                let mut map = digest::compute(&content, &want).map_err(|e| match e {
                    DigestError::Io(e) => Fatal::Unreadable(format!("read error: {e}")),
                    DigestError::Verity(m) => Fatal::Malformed(m),
                })?;
                if verity {
                    match digest::compute(&content, &BTreeSet::from([ContentDigest::VeritySha256]))
                    {
                        Ok(m) => map.extend(m),
                        Err(DigestError::Io(e)) => {
                            return Err(Fatal::Unreadable(format!("read error: {e}")))
                        }
                        Err(DigestError::Verity(m)) => {
                            for s in [&mut v31, &mut v3, &mut v2].into_iter().flatten() {
                                if s.digests.contains(&ContentDigest::VeritySha256) {
                                    s.errors.push(Issue::new(
                                        Code::ApkSignatureInvalid,
                                        "VERITY_LAYOUT",
                                        format!(
                                            "{} signature uses the verity digest, but {m}",
                                            s.scheme.name()
                                        ),
                                    ));
                                }
                            }
                        }
                    }
                }
                map
            }
            _ => BTreeMap::new(),
        };

        // apksig's order, stopping at the first scheme with errors.
        if let Some(r) = &mut v31 {
            v2v3::finish(r, &computed, max_sdk, max_sdk, None);
        }
        let v31_errors = v31.as_ref().is_some_and(SchemeResult::has_errors);
        out.lineage = v31.as_ref().and_then(|r| r.lineage.clone());
        out.v31 = v31;
        if v31_errors {
            return Ok(out);
        }
        if let Some(r) = &mut v3 {
            v2v3::finish(r, &computed, min_sdk.max(SDK_P), max_sdk, rotation_min);
            if out.lineage.is_none() {
                out.lineage = r.lineage.clone();
            }
        } else if v3_missing_under_v31 {
            out.errors.push(Issue::new(
                Code::ApkSignatureStripped,
                "V31_BLOCK_FOUND_WITHOUT_V3_BLOCK",
                "the APK has a v3.1 signature but no v3 signature (stripped?); Android 9-12 cannot verify it",
            ));
        }
        let v3_errors = v3.as_ref().is_some_and(SchemeResult::has_errors);
        out.v3 = v3;
        if v3_errors || !out.errors.is_empty() {
            return Ok(out);
        }
        if let Some(r) = &mut v2 {
            v2v3::finish(r, &computed, min_sdk.max(SDK_N), max_sdk, None);
            found.insert(2);
        }
        let v2_errors = v2.as_ref().is_some_and(SchemeResult::has_errors);
        out.v2 = v2;
        if v2_errors {
            return Ok(out);
        }
    }

    if max_sdk >= SDK_O {
        let sandbox = manifest.clone()?.target_sandbox;
        if sandbox > 1 && found.is_empty() {
            out.errors.push(Issue::new(
                Code::ApkSchemeRequired,
                "NO_SIG_FOR_TARGET_SANDBOX_VERSION",
                format!("targetSandboxVersion is {sandbox}, which requires an APK Signature Scheme v2 or newer signature on Android 8.0+; sign with v2/v3 enabled"),
            ));
        }
    }

    if min_sdk < SDK_N || found.is_empty() {
        let ctx = v1::V1Ctx {
            src: &apk.src,
            cd_offset: apk.sections.cd_offset,
            records: &apk.records,
            supported_ids: supported,
            found_ids: &found,
            min_sdk,
            max_sdk,
        };
        let mut r = v1::verify(&ctx).map_err(fatal)?;
        // "No JAR signature" means unsigned only when there is no v2+ signature either.
        let has_v2plus = !found.is_empty()
            || block.as_ref().is_some_and(|b| {
                [V2_BLOCK_ID, V3_BLOCK_ID, V31_BLOCK_ID]
                    .iter()
                    .any(|id| b.pair(*id).is_ok())
            });
        for e in &mut r.errors {
            if e.code == Code::ApkUnsigned
                && matches!(e.apksig, "JAR_SIG_NO_MANIFEST" | "JAR_SIG_NO_SIGNATURES")
            {
                if has_v2plus {
                    e.code = Code::ApkSchemeRequired;
                    e.message = format!(
                        "the APK has no v1 (JAR) signature, which Android before 7.0 (API {SDK_N}) requires, and its SDK range starts at {min_sdk}: enable v1 signing or raise minSdkVersion"
                    );
                } else {
                    e.message = match &out.block_note {
                        Some(n) => format!("the APK is not signed ({}; {n})", e.message),
                        None => format!("the APK is not signed ({})", e.message),
                    };
                }
            }
        }
        out.v1 = Some(r);
    }
    if out.has_errors() {
        return Ok(out);
    }

    agreement_checks(&mut out);

    if let Ok(m) = &manifest {
        let target = m.target_sdk;
        if target >= SDK_R
            && max_sdk >= target
            && !(scheme_verified(&out.v2) || scheme_verified(&out.v3) || scheme_verified(&out.v31))
        {
            out.errors.push(Issue::new(
                Code::ApkSchemeRequired,
                "MIN_SIG_SCHEME_FOR_TARGET_SDK_NOT_MET",
                format!("targetSdkVersion {target} requires an APK Signature Scheme v2 or newer signature (Android 11+ refuses v1-only APKs); sign with v2/v3 enabled"),
            ));
        }
    }
    if out.has_errors() {
        return Ok(out);
    }
    out.verified = true;
    out.signers = if let Some(s) = out
        .v31
        .as_ref()
        .filter(|r| r.verified)
        .and_then(|r| r.signers.last())
    {
        s.cert().into_iter().cloned().collect()
    } else if let Some(s) = out
        .v3
        .as_ref()
        .filter(|r| r.verified)
        .and_then(|r| r.signers.last())
    {
        s.cert().into_iter().cloned().collect()
    } else if let Some(r) = out.v2.as_ref().filter(|r| r.verified) {
        r.signers.iter().filter_map(|s| s.cert().cloned()).collect()
    } else if let Some(r) = out.v1.as_ref().filter(|r| r.verified) {
        r.signers.iter().filter_map(|s| s.cert().cloned()).collect()
    } else {
        Vec::new()
    };
    Ok(out)
}

/// v1 and v2 must name the same signers; v3's signer must be the v1/v2 signer
/// or descend from it by key rotation.
fn agreement_checks(out: &mut Outcome) {
    let v1_ok = out.v1.as_ref().is_some_and(|r| r.verified);
    let v2_ok = scheme_verified(&out.v2);
    let v1_certs: Vec<&StoredCert> = out
        .v1
        .iter()
        .flat_map(|r| r.signers.iter().filter_map(|s| s.cert()))
        .collect();
    let v2_certs: Vec<&StoredCert> = out
        .v2
        .iter()
        .flat_map(|r| r.signers.iter().filter_map(|s| s.cert()))
        .collect();
    if v1_ok && v2_ok {
        if let Some(c) = v1_certs
            .iter()
            .find(|c| !v2_certs.iter().any(|x| x.raw == c.raw))
        {
            out.errors.push(Issue::new(
                Code::ApkSignerMismatch,
                "V2_SIG_MISSING",
                format!("the v1 signer {} has no v2 signature: v1 and v2 must be signed by the same keys", c.cert.name()),
            ));
        }
        if let Some(c) = v2_certs
            .iter()
            .find(|c| !v1_certs.iter().any(|x| x.raw == c.raw))
        {
            out.errors.push(Issue::new(
                Code::ApkSignerMismatch,
                "JAR_SIG_MISSING",
                format!("the v2 signer {} has no v1 signature: v1 and v2 must be signed by the same keys", c.cert.name()),
            ));
        }
    }
    if scheme_verified(&out.v3) && (v1_ok || v2_ok) {
        let past = if v1_ok { &v1_certs } else { &v2_certs };
        if past.len() != 1 {
            out.errors.push(Issue::new(
                Code::ApkSignerMismatch,
                "V3_SIG_MULTIPLE_PAST_SIGNERS",
                "v3 supports one signer, but the older schemes have several",
            ));
        }
        let Some(old) = past.first() else { return };
        let v3_signers: Vec<&StoredCert> = out
            .v3
            .iter()
            .flat_map(|r| r.signers.iter().filter_map(|s| s.cert()))
            .collect();
        match &out.lineage {
            None => {
                if v3_signers.len() != 1 {
                    out.errors.push(Issue::new(
                        Code::ApkSignerMismatch,
                        "V3_SIG_MULTIPLE_SIGNERS",
                        "several v3 signers without a key-rotation lineage",
                    ));
                }
                if v3_signers.first().is_some_and(|c| c.raw != old.raw) {
                    out.errors.push(Issue::new(
                        Code::ApkSignerMismatch,
                        "V3_SIG_PAST_SIGNERS_MISMATCH",
                        format!(
                            "the v3 signer differs from the v1/v2 signer {} and there is no proof-of-rotation linking them",
                            old.cert.name()
                        ),
                    ));
                }
            }
            Some(l) => {
                if l.nodes.first().map(|n| &n.cert.raw) != Some(&old.raw) {
                    out.errors.push(Issue::new(
                        Code::ApkSignerMismatch,
                        "V3_SIG_PAST_SIGNERS_MISMATCH",
                        format!(
                            "the v1/v2 signer {} is not the first certificate of the v3 key-rotation lineage",
                            old.cert.name()
                        ),
                    ));
                }
            }
        }
    }
}

fn cert_facts(mut item: Item, c: &Cert) -> Item {
    item = item
        .not_after(c.not_after)
        .fact("sha256", c.sha256.clone())
        .fact("sha1", c.sha1.clone())
        .fact("issuer", c.issuer.clone())
        .fact("serial", c.serial_hex.as_str())
        .fact("not_before", at::rfc3339(c.not_before))
        .fact("not_after", at::rfc3339(c.not_after))
        .fact("key", c.key.to_string());
    item
}

/// Verifies an APK and reports findings and items.
pub fn check(path: &Path, opts: &Options, report: &mut Report) {
    let file = path.display().to_string();
    match Source::open(path) {
        Ok(src) => check_source(&file, src, opts, report),
        Err(e) => report.push(Finding::unreadable(
            &file,
            format!("{file}: cannot read it: {e}"),
        )),
    }
}

/// [`check`] over an opened file or in-memory APK named `file`.
pub fn check_source(file: &str, src: Source, opts: &Options, report: &mut Report) {
    let file = file.to_string();
    let out = match verify_source(src, opts) {
        Ok(o) => o,
        Err(Fatal::Unreadable(m)) => {
            report.push(Finding::unreadable(&file, format!("{file}: {m}")));
            return;
        }
        Err(Fatal::Malformed(m)) => {
            report.push(Finding::new(
                Code::ApkMalformed,
                &file,
                format!("{m}: rebuild the APK with the standard build tools"),
            ));
            return;
        }
        Err(Fatal::Archive(p)) => {
            report.push(p.finding(&file));
            return;
        }
        Err(Fatal::Usage(m)) => {
            report.push(Finding::unreadable(
                &file,
                format!("{file}: {m}: adjust --min-sdk/--max-sdk"),
            ));
            return;
        }
    };
    for mut f in out.layout.iter().cloned() {
        f.file = file.clone();
        report.push(f);
    }
    if let Some(p) = &out.prefix {
        let v2plus = [&out.v2, &out.v3, &out.v31]
            .into_iter()
            .flatten()
            .any(|s| s.verified);
        let mut f = layout::prefix_finding(p, out.min_sdk, v2plus);
        f.file = file.clone();
        report.push(f);
    }
    signers::policy_findings(&out, opts, &file, report);
    for e in out.all_errors() {
        let message = match hint(e.code) {
            Some(h) => format!("{}: {h}", e.message),
            None => e.message.clone(),
        };
        let mut f = Finding::new(e.code, &file, message).detail("apksig", e.apksig);
        if let Some(s) = &e.subject {
            f = f.subject(s.clone());
        }
        report.push(f);
    }
    signers::check_expected(&out, opts, &file, report);

    // The APK itself.
    let sdk = format!("{}..{}", out.min_sdk, v2v3::sdk_label(out.max_sdk));
    let schemes = out.verified_schemes();
    let mut apk_item = Item::new(ItemKind::Apk, &file)
        .subject(
            out.manifest
                .as_ref()
                .and_then(|m| m.package.clone())
                .unwrap_or_else(|| file.clone()),
        )
        .fact("verified", out.verified)
        .fact(
            "schemes",
            if schemes.is_empty() {
                "none".to_string()
            } else {
                schemes.join("+")
            },
        )
        .fact("sdk", sdk)
        .fact("entries", out.entries)
        .fact(
            "signing_block_ids",
            out.block_ids
                .iter()
                .map(|i| format!("{i:#010x}"))
                .collect::<Vec<_>>(),
        )
        .fact(
            "warnings",
            out.all_warnings()
                .iter()
                .map(|w| format!("{}: {}", w.apksig, w.message))
                .collect::<Vec<_>>(),
        );
    if let Some(m) = &out.manifest {
        if let Ok(v) = &m.min_sdk {
            apk_item = apk_item.fact("min_sdk_version", *v);
        }
        apk_item = apk_item
            .fact("target_sdk_version", m.target_sdk)
            .fact("target_sandbox_version", m.target_sandbox);
        if let Some(v) = m.max_sdk {
            apk_item = apk_item.fact("max_sdk_version", v);
        }
        if let Some(d) = m.debuggable {
            apk_item = apk_item.fact("debuggable", d);
        }
    }
    if let Some(n) = &out.block_note {
        apk_item = apk_item.fact("signing_block_note", n.clone());
    }
    report.item(apk_item);

    // One item per distinct signing certificate, with the schemes it signs.
    let mut certs: Vec<(StoredCert, Vec<String>)> = Vec::new();
    let mut add =
        |c: &StoredCert, what: String| match certs.iter_mut().find(|(x, _)| x.raw == c.raw) {
            Some((_, w)) => w.push(what),
            None => certs.push((c.clone(), vec![what])),
        };
    if let Some(r) = &out.v1 {
        for s in &r.signers {
            if let Some(c) = s.cert() {
                add(c, format!("v1 ({})", s.name));
            }
        }
    }
    for r in [&out.v2, &out.v3, &out.v31].into_iter().flatten() {
        for s in &r.signers {
            if let Some(c) = s.cert() {
                let what = if r.scheme == Scheme::V2 {
                    "v2".to_string()
                } else {
                    format!(
                        "{} (API {}..{})",
                        r.scheme.name(),
                        s.min_sdk,
                        v2v3::sdk_label(s.max_sdk)
                    )
                };
                add(c, what);
            }
        }
    }
    if let Some(l) = &out.lineage {
        let n = l.nodes.len();
        for (i, node) in l.nodes.iter().enumerate() {
            add(&node.cert, format!("lineage {}/{n}", i + 1));
        }
    }
    for (c, schemes) in certs {
        let current = out.signers.iter().any(|s| s.raw == c.raw);
        let item = Item::new(ItemKind::ApkSigner, &file)
            .subject(c.cert.subject.clone())
            .fact("schemes", schemes.join(", "))
            .fact("current", current);
        report.item(cert_facts(item, &c.cert));
    }
}

/// What to do, for issues whose message only says what is wrong.
fn hint(code: Code) -> Option<&'static str> {
    Some(match code {
        Code::ApkUnsigned => "sign it with apksigner (keep v1 enabled when minSdk < 24)",
        Code::ApkSignatureInvalid => "re-sign the APK with apksigner",
        Code::ApkDigestMismatch => {
            "the APK was changed after signing; make every change first and sign last"
        }
        Code::ApkSignatureStripped => {
            "re-sign with every scheme in one apksigner run and do not rewrite the APK afterwards"
        }
        Code::ApkTooManySigners => {
            "sign with at most 10 keys (rotate keys with a v3 lineage instead)"
        }
        Code::ApkMalformed => "rebuild the APK with the standard build tools",
        _ => return None,
    })
}
