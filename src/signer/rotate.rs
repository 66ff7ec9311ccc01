//! Key rotation, as apksigner does it and byte for byte with it:
//!
//! - `wrapsign rotate` creates a SigningCertificateLineage (the old key signs
//!   the new certificate) or extends one (`--in`), with apksigner's
//!   capabilities ([`rotate`]);
//! - `wrapsign sign --lineage` signs an APK with the keys of a lineage
//!   ([`prepare`], for [`super::apk`]; the blocks are
//!   [`crate::android::sign::lineage`]'s).
//!
//! The old key is what the app is moving away from: its weaknesses (expired,
//! weak, the debug key, Play's date) are reported as warnings, since they are
//! why it is rotated, while the new key passes the same gate as any signing key.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::Run;
use crate::android::apk::lineage;
use crate::android::sign::lineage::{self as signing, OldKey, Schemes};
use crate::atomic::{self, AtomicFile, Disk};
use crate::context::Context;
use crate::diag::{Baseline, Code, FailOn, Finding, Policy, Report, Severity};
use crate::identity::{self, Identity};
use crate::outcome::{Judge, Outcome};

/// `wrapsign sign --lineage`: which lineage, from which SDK, and the key of the
/// oldest signer (v1/v2 and the pre-rotation v3 range need it).
#[derive(Clone, Debug)]
pub struct RotationRequest {
    /// A lineage file (`wrapsign rotate --out`, `apksigner rotate --out`) or a
    /// signed APK to take the lineage from.
    pub lineage: PathBuf,
    /// First API level that uses the new key (default 33; below 28 means 28).
    pub rotation_min_sdk: Option<i32>,
    /// The original signing key.
    pub old_key: Option<identity::Source>,
}

/// The findings of the old key's checks that describe why it is rotated away
/// from, not whether it can sign: warnings, with the reason.
fn soften_old_key_findings(report: &mut Report, from: usize) {
    for f in &mut report.findings[from..] {
        if matches!(
            f.code,
            Code::KeystoreCertExpired
                | Code::KeystoreCertExpiring
                | Code::KeystoreCertNotYetValid
                | Code::KeystoreValidityTooShort
                | Code::WeakKey
                | Code::WeakDigest
                | Code::DebugCertificate
        ) && f.severity == Severity::Error
        {
            f.severity = Severity::Warning;
            f.notes.push(
                "this is the old key the lineage rotates away from: Android keeps verifying it where the new key does not apply, so it cannot be replaced, only rotated".into(),
            );
        }
    }
}

/// Loads an identity with its material's checks, as the signer pipeline does.
fn load(src: &identity::Source, context: &Context, report: &mut Report) -> Option<Identity> {
    let (ios, android) = (context.ctx("distribution"), context.ctx("keystore"));
    let ctx = identity::Ctx { ios, android };
    let loaded = identity::load(src, &ctx, report)?;
    loaded.check(&ctx, report);
    loaded.into_identity()
}

/// Loads the old (original) key, its checks softened.
fn load_old(src: &identity::Source, context: &Context, report: &mut Report) -> Option<Identity> {
    let from = report.findings.len();
    let id = load(src, context, report);
    soften_old_key_findings(report, from);
    id
}

fn old_key(id: Identity) -> OldKey {
    OldKey {
        name: id.cert.name().to_string(),
        signer_name: id.origin.signer_name(),
        public_key: id.cert.spki.clone(),
        chain: id.chain_der,
        key: id.key,
    }
}

/// Reads the lineage, loads the old key and decides who signs what for an APK
/// whose minSdk is `min_sdk`. `None` when it cannot be done; findings say why.
pub fn prepare(
    run: &mut Run,
    req: &RotationRequest,
    new: &Identity,
    min_sdk: i32,
    schemes: (bool, bool, bool),
) -> Option<Schemes> {
    let label = req.lineage.display().to_string();
    let full = match lineage::read(&req.lineage) {
        Ok(l) => l,
        Err(m) => {
            run.report.push(Finding::unreadable(&label, m));
            return None;
        }
    };
    let old = match &req.old_key {
        Some(src) => {
            let from = run.report.findings.len();
            let id = run.load_identity(src);
            soften_old_key_findings(&mut run.report, from);
            Some(old_key(id?))
        }
        None => None,
    };
    let new_cert = new
        .chain_der
        .first()
        .map(Vec::as_slice)
        .unwrap_or(&new.cert.der);
    match signing::plan(
        &req.lineage,
        &full,
        req.rotation_min_sdk,
        (new_cert, new.cert.name()),
        old,
        min_sdk,
        schemes,
    ) {
        Ok(s) => Some(s),
        Err(m) => {
            run.report.push(Finding::new(Code::SignFailed, &label, m));
            None
        }
    }
}

/// `wrapsign rotate`.
#[derive(Clone, Debug)]
pub struct RotateRequest {
    pub old_key: identity::Source,
    pub new_key: identity::Source,
    /// An existing lineage (file or APK) to extend; its newest certificate must be the old key's.
    pub input: Option<PathBuf>,
    pub out: PathBuf,
    /// The old certificate's capabilities (default: kept from `input`, else apksig's default).
    pub old_capabilities: Option<u32>,
    /// The new certificate's capabilities (default: apksig's default).
    pub new_capabilities: Option<u32>,
    pub context: Context,
}

/// Creates or extends a lineage; writes it atomically, only when every check passes.
pub fn rotate(
    req: &RotateRequest,
    levels: &Policy,
    baseline: Option<&Baseline>,
    fail_on: FailOn,
) -> Outcome {
    atomic::install_signal_cleanup();
    let judge = Judge {
        policy: levels,
        baseline,
        fail_on,
        at: req.context.at(),
    };
    // What "unchanged" refers to: the lineage extended, else the old key's file.
    let old_file = match &req.old_key {
        identity::Source::Cert { path, .. } | identity::Source::Keystore { path, .. } => path,
    };
    let nothing = Disk::Nothing {
        input: req.input.clone().unwrap_or_else(|| old_file.clone()),
        dest: req.out.clone(),
        in_place: req.input.as_deref() == Some(req.out.as_path()),
    };
    let mut report = Report::default();
    let out_label = req.out.display().to_string();
    let old = load_old(&req.old_key, &req.context, &mut report);
    let new = load(&req.new_key, &req.context, &mut report);
    let (Some(old), Some(new)) = (old, new) else {
        return judge.finish(report, nothing);
    };
    if judge.fails(&report) {
        return judge.finish(report, nothing);
    }
    let old_signer = lineage::Signer {
        key: &old.key,
        cert: &old.chain_der[0],
    };
    let new_signer = lineage::Signer {
        key: &new.key,
        cert: &new.chain_der[0],
    };
    let made = match &req.input {
        None => lineage::create(
            &old_signer,
            req.old_capabilities
                .unwrap_or(lineage::DEFAULT_CAPABILITIES),
            &new_signer,
            req.new_capabilities
                .unwrap_or(lineage::DEFAULT_CAPABILITIES),
        ),
        Some(path) => lineage::read(path).and_then(|mut l| {
            if let (Some(caps), Some(n)) = (req.old_capabilities, l.nodes.last_mut()) {
                n.flags = caps;
            }
            lineage::spawn(
                &l,
                &old_signer,
                &new_signer,
                req.new_capabilities
                    .unwrap_or(lineage::DEFAULT_CAPABILITIES),
            )
        }),
    };
    let made = match made {
        Ok(l) => l,
        Err(m) => {
            let file = req
                .input
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| old.origin.file.clone());
            report.push(Finding::new(Code::SignFailed, &file, m));
            return judge.finish(report, nothing);
        }
    };
    if req.out.is_dir() {
        report.push(Finding::new(
            Code::SignFailed,
            &out_label,
            format!("{out_label} is a folder; give a file name for the lineage"),
        ));
        return judge.finish(report, nothing);
    }
    if let Err(e) = write(&req.out, &lineage::to_file_bytes(&made)) {
        report.push(Finding::new(
            Code::SignFailed,
            &out_label,
            format!("cannot write {out_label}: {e}"),
        ));
        return judge.finish(report, nothing);
    }
    lineage::report_items(&out_label, &made, &mut report);
    judge.finish(report, Disk::Placed(req.out.clone()))
}

fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = AtomicFile::create(path)?;
    f.set_mode(0o644)?;
    f.write_all(bytes)?;
    f.commit()
}
