//! Key rotation, as apksigner does it and byte for byte with it:
//!
//! - `wrapsign rotate` creates a SigningCertificateLineage (old key signs the
//!   new certificate) or extends one (`--in`), with apksigner's capabilities;
//! - `wrapsign sign --lineage` signs with the signers of a lineage as apksig's
//!   `DefaultApkSignerEngine` does by default: v1 and v2 with the oldest
//!   signer, v3 (and v3.1) signers cut by SDK range from the newest down, the
//!   lineage attached to the ranges from the rotation SDK up. With a rotation
//!   SDK of 33 (Android 13, apksig's default) and an older minSdk, the v3.0
//!   block keeps the original key for API 24-32 (with the rotation-min-sdk
//!   stripping protection) and the v3.1 block carries the new key and the
//!   lineage from 33.
//!
//! The old key is what the app is moving away from: its weaknesses are
//! reported as warnings here (they are why it is rotated), while the new key
//! passes the same gate as any signing key.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{blocks, Identity, KeySource};
use crate::android::apk::digest::{self, Content, ContentDigest};
use crate::android::apk::lineage;
use crate::android::apk::v2v3::{Lineage, PROOF_OF_ROTATION_ATTR, ROTATION_MIN_SDK_ATTR};
use crate::android::policy;
use crate::atomic::{self, AtomicFile};
use crate::diag::{Baseline, Code, FailOn, Finding, Item, ItemKind, Policy, Report, Severity};
use crate::outcome::{Judge, Outcome};

/// apksig's default first SDK of the rotated key: Android 13, the first
/// release that reads v3.1 blocks (`V3SchemeConstants.DEFAULT_ROTATION_MIN_SDK_VERSION`).
pub const DEFAULT_ROTATION_MIN_SDK: i32 = 33;
const SDK_P: i32 = 28;
const SDK_T: i32 = 33;

/// `wrapsign sign --lineage`: which lineage, from which SDK, and the key of
/// the oldest signer (v1/v2 and the pre-rotation v3 range need it).
#[derive(Clone, Debug)]
pub struct RotationRequest {
    /// A lineage file (`wrapsign rotate --out`, `apksigner rotate --out`) or a
    /// signed APK to take the lineage from.
    pub lineage: PathBuf,
    /// First API level that uses the new key (default 33; below 28 means 28).
    pub rotation_min_sdk: Option<i32>,
    /// The original signing key.
    pub old_key: Option<KeySource>,
}

/// Which of the two keys signs a v3 range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Old,
    New,
}

/// One v3/v3.1 signer: the key, its SDK range, and the lineage it carries.
#[derive(Debug)]
struct V3Config {
    who: Who,
    min_sdk: i32,
    max_sdk: i32,
    lineage: Option<Lineage>,
}

/// What a rotated signing run writes, decided before anything is written.
pub(super) struct Schemes {
    old: Option<Identity>,
    /// Newest first, as apksig lists them.
    v3: Vec<V3Config>,
    v31: Vec<V3Config>,
    /// Set when a v3.1 block rotates the key: the v3.0 signers say so.
    rotation_min_sdk_attr: Option<i32>,
}

impl Schemes {
    /// The signer of v1 and v2: the oldest key given.
    pub(super) fn oldest<'a>(&'a self, new: &'a Identity) -> &'a Identity {
        self.old.as_ref().unwrap_or(new)
    }

    fn identity<'a>(&'a self, who: Who, new: &'a Identity) -> &'a Identity {
        match who {
            Who::Old => self.old.as_ref().unwrap_or(new),
            Who::New => new,
        }
    }

    /// Whether a v3.1 block carries the rotated key.
    pub(super) fn has_v31(&self) -> bool {
        !self.v31.is_empty()
    }

    /// One line per scheme, for the `signed-apk` item.
    pub(super) fn describe(&self, new: &Identity) -> Vec<String> {
        let line = |scheme: &str, c: &V3Config| {
            format!(
                "{scheme}: {} for API {}..{}{}",
                self.identity(c.who, new).leaf.name(),
                c.min_sdk,
                if c.max_sdk == i32::MAX {
                    "latest".to_string()
                } else {
                    c.max_sdk.to_string()
                },
                c.lineage
                    .as_ref()
                    .map(|l| format!(" with a lineage of {}", l.nodes.len()))
                    .unwrap_or_default()
            )
        };
        let mut out = vec![format!("v1/v2: {}", self.oldest(new).leaf.name())];
        out.extend(self.v3.iter().map(|c| line("v3", c)));
        out.extend(self.v31.iter().map(|c| line("v3.1", c)));
        out
    }

    /// The content digests every signer needs.
    pub(super) fn digests(&self, new: &Identity, v2: bool) -> Result<Vec<ContentDigest>, String> {
        let mut out = Vec::new();
        if v2 {
            out.push(blocks::Algorithm::for_key(&self.oldest(new).key)?.digest);
        }
        for c in self.v3.iter().chain(&self.v31) {
            out.push(blocks::Algorithm::for_key(&self.identity(c.who, new).key)?.digest);
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// The scheme blocks (id, value) in apksig's order: v2, v3.1, v3.
    pub(super) fn blocks(
        &self,
        new: &Identity,
        v2: bool,
        v3: bool,
        digests: &std::collections::BTreeMap<ContentDigest, Vec<u8>>,
    ) -> Result<Vec<(u32, Vec<u8>)>, String> {
        let mut pairs = Vec::new();
        if v2 {
            let old = self.oldest(new);
            let signer = blocks::Signer {
                key: &old.key,
                chain: &old.chain,
                public_key: &old.leaf.spki,
                alg: blocks::Algorithm::for_key(&old.key)?,
            };
            let d = digests
                .get(&signer.alg.digest)
                .ok_or("content digest missing")?;
            pairs.push((blocks::V2, blocks::v2_block(&signer, d, v3)?));
        }
        if !v3 {
            return Ok(pairs);
        }
        let configs = |list: &[V3Config], rotation_attr: Option<i32>| {
            list.iter()
                .map(|c| {
                    let id = self.identity(c.who, new);
                    let attributes = match (&c.lineage, rotation_attr) {
                        (Some(l), _) => {
                            blocks::attribute(PROOF_OF_ROTATION_ATTR, &lineage::encode(l))
                        }
                        (None, Some(r)) => {
                            blocks::attribute(ROTATION_MIN_SDK_ATTR, &r.to_le_bytes())
                        }
                        (None, None) => Vec::new(),
                    };
                    Ok(blocks::V3Signer {
                        signer: blocks::Signer {
                            key: &id.key,
                            chain: &id.chain,
                            public_key: &id.leaf.spki,
                            alg: blocks::Algorithm::for_key(&id.key)?,
                        },
                        min_sdk: c.min_sdk as u32,
                        max_sdk: c.max_sdk as u32,
                        attributes,
                    })
                })
                .collect::<Result<Vec<_>, String>>()
        };
        if !self.v31.is_empty() {
            let v31 = configs(&self.v31, None)?;
            pairs.push((blocks::V31, blocks::v3_block_signers(&v31, digests)?));
        }
        let v3_signers = configs(&self.v3, self.rotation_min_sdk_attr)?;
        pairs.push((blocks::V3, blocks::v3_block_signers(&v3_signers, digests)?));
        Ok(pairs)
    }
}

/// Computes the content digests a rotated run needs in one pass.
pub(super) fn content_digests(
    content: &Content,
    wanted: &[ContentDigest],
) -> Result<std::collections::BTreeMap<ContentDigest, Vec<u8>>, String> {
    digest::compute(content, &wanted.iter().copied().collect())
        .map_err(|e| format!("cannot digest the signed APK: {e}"))
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

/// Loads a signing key from a keystore alias or key and certificate files,
/// with the signing key checks.
fn load_identity(source: &KeySource, ctx: &policy::Ctx, report: &mut Report) -> Option<Identity> {
    match source {
        KeySource::Keystore {
            path,
            ks_type,
            store_pass,
            key_pass,
            alias,
        } => super::load_keystore(
            path,
            *ks_type,
            store_pass.as_ref(),
            key_pass.as_ref(),
            alias.as_deref(),
            ctx,
            report,
        ),
        KeySource::Files { key, cert } => super::load_files(key, cert, ctx, report),
    }
}

/// Loads the old (original) signing key, its checks softened.
pub(super) fn load_old(
    source: &KeySource,
    ctx: &policy::Ctx,
    report: &mut Report,
) -> Option<Identity> {
    let from = report.findings.len();
    let id = load_identity(source, ctx, report);
    soften_old_key_findings(report, from);
    id
}

/// Decides the signers of every scheme for a rotated run (apksig's
/// `processV3Configs` and `processV31SignerConfigs`), or says why it cannot.
#[allow(clippy::too_many_arguments)]
pub(super) fn plan(
    lineage_path: &Path,
    full: &Lineage,
    rotation_min_sdk: Option<i32>,
    new: &Identity,
    old: Option<Identity>,
    min_sdk: i32,
    (v1, v2, v3): (bool, bool, bool),
) -> Result<Schemes, String> {
    let shown = lineage_path.display();
    let pos = |id: &Identity| full.position(&id.chain[0]);
    let new_pos = pos(new).ok_or_else(|| {
        format!(
            "the signing certificate {} is not in the lineage {shown} ({}); sign with its newest key, or extend it with wrapsign rotate",
            new.leaf.name(),
            names(full)
        )
    })?;
    if let Some(o) = &old {
        let old_pos = pos(o).ok_or_else(|| {
            format!(
                "the old certificate {} is not in the lineage {shown} ({})",
                o.leaf.name(),
                names(full)
            )
        })?;
        if old_pos >= new_pos {
            return Err(format!(
                "the old certificate {} does not come before {} in the lineage {shown}; swap the keys",
                o.leaf.name(),
                new.leaf.name()
            ));
        }
    }
    if !v3 {
        // Several lineage signers and no v3: apksig refuses to guess which one signs.
        return Err(format!(
            "a lineage is only used by APK Signature Scheme v3, which is disabled; enable --v3 or sign without --lineage (with {} only)",
            full.nodes[0].cert.cert.name()
        ));
    }
    let rotation = rotation_min_sdk
        .unwrap_or(DEFAULT_ROTATION_MIN_SDK)
        .max(SDK_P);
    let oldest_pos = old.as_ref().and_then(pos).unwrap_or(new_pos);
    let needs_root = |why: &str| -> Result<(), String> {
        if oldest_pos == 0 {
            return Ok(());
        }
        Err(format!(
            "{why} must be signed with the first certificate of the lineage, {}; pass its key with --old-keystore/--old-alias or --old-key/--old-cert",
            full.nodes[0].cert.cert.name()
        ))
    };
    if v1 || v2 {
        let what = match (v1, v2) {
            (true, true) => "the v1/v2 signatures (what Android before 9 checks)",
            (true, false) => "the v1 signature (what Android before 7.0 checks)",
            _ => "the v2 signature (what Android 7.0-8.1 checks)",
        };
        needs_root(what).map_err(|e| {
            if min_sdk >= SDK_P {
                format!("{e}, or disable them (--v1 false --v2 false): the APK's minSdk {min_sdk} only needs v3")
            } else {
                e
            }
        })?;
    }
    let v31_support = rotation >= SDK_T && min_sdk < rotation;
    if v31_support {
        needs_root(&format!(
            "the v3.0 block (API {}..{}, before the rotation SDK {rotation})",
            blocks::V3_ALGORITHM_MIN_SDK,
            rotation - 1
        ))?;
    }
    // From the newest signer down, each covers the SDKs below the next one.
    let mut signers = vec![(Who::New, new_pos)];
    if let Some(o) = &old {
        if let Some(p) = pos(o) {
            signers.insert(0, (Who::Old, p));
        }
    }
    let mut configs: Vec<V3Config> = Vec::new();
    let mut current_min = i32::MAX;
    for (i, (who, at)) in signers.iter().enumerate().rev() {
        let max_sdk = if i == signers.len() - 1 {
            i32::MAX
        } else {
            current_min - 1
        };
        let mut min_sdk_of = blocks::V3_ALGORITHM_MIN_SDK as i32;
        let mut lineage_of = None;
        if max_sdk >= rotation {
            lineage_of = Some(Lineage {
                nodes: full.nodes[..=*at].to_vec(),
            });
            min_sdk_of = min_sdk_of.max(rotation);
        }
        configs.push(V3Config {
            who: *who,
            min_sdk: min_sdk_of,
            max_sdk,
            lineage: lineage_of,
        });
        current_min = min_sdk_of;
        if current_min <= min_sdk || current_min <= SDK_P {
            break;
        }
    }
    if current_min > SDK_P && current_min > min_sdk {
        return Err(format!(
            "the new key applies from API {current_min}, but the APK supports API {min_sdk}: pass the old key (--old-keystore or --old-key) to sign the earlier levels, or raise --min-sdk"
        ));
    }
    let (v31, v3): (Vec<V3Config>, Vec<V3Config>) = if v31_support {
        configs.into_iter().partition(|c| c.min_sdk >= rotation)
    } else {
        (Vec::new(), configs)
    };
    Ok(Schemes {
        old,
        rotation_min_sdk_attr: (v31_support && !v31.is_empty()).then_some(rotation),
        v3,
        v31,
    })
}

fn names(l: &Lineage) -> String {
    l.nodes
        .iter()
        .map(|n| n.cert.cert.name().to_string())
        .collect::<Vec<_>>()
        .join(" -> ")
}

/// `wrapsign rotate`.
#[derive(Clone, Debug)]
pub struct RotateRequest {
    pub old_key: KeySource,
    pub new_key: KeySource,
    /// An existing lineage (file or APK) to extend; its newest certificate must be the old key's.
    pub input: Option<PathBuf>,
    pub out: PathBuf,
    /// The old certificate's capabilities (default: kept from `input`, else apksig's default).
    pub old_capabilities: Option<u32>,
    /// The new certificate's capabilities (default: apksig's default).
    pub new_capabilities: Option<u32>,
    pub ctx: policy::Ctx,
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
        at: req.ctx.at,
    };
    let mut report = Report::default();
    let out_label = req.out.display().to_string();
    let old = load_old(&req.old_key, &req.ctx, &mut report);
    let new = load_identity(&req.new_key, &req.ctx, &mut report);
    let (Some(old), Some(new)) = (old, new) else {
        return judge.finish(report, None);
    };
    if judge.fails(&report) {
        return judge.finish(report, None);
    }
    let old_signer = lineage::Signer {
        key: &old.key,
        cert: &old.chain[0],
    };
    let new_signer = lineage::Signer {
        key: &new.key,
        cert: &new.chain[0],
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
                .unwrap_or_else(|| old.file.clone());
            report.push(Finding::new(
                Code::SignFailed,
                &file,
                format!("{m}; nothing was written"),
            ));
            return judge.finish(report, None);
        }
    };
    if req.out.is_dir() {
        report.push(Finding::new(
            Code::SignFailed,
            &out_label,
            format!("{out_label} is a folder; give a file name for the lineage"),
        ));
        return judge.finish(report, None);
    }
    let bytes = lineage::to_file_bytes(&made);
    let written = AtomicFile::create(&req.out).and_then(|mut f| {
        f.set_mode(0o644)?;
        f.write_all(&bytes)?;
        f.commit()
    });
    if let Err(e) = written {
        report.push(Finding::new(
            Code::SignFailed,
            &out_label,
            format!("cannot write {out_label}: {e}; nothing was written"),
        ));
        return judge.finish(report, None);
    }
    lineage_items(&out_label, &made, &mut report);
    judge.finish(report, Some(req.out.clone()))
}

/// One `lineage-signer` item per certificate, oldest first.
pub fn lineage_items(file: &str, l: &Lineage, report: &mut Report) {
    let n = l.nodes.len();
    for (i, node) in l.nodes.iter().enumerate() {
        let c = &node.cert.cert;
        report.item(
            Item::new(ItemKind::LineageSigner, file)
                .subject(c.subject.clone())
                .not_after(c.not_after)
                .fact("position", format!("{}/{n}", i + 1))
                .fact("key", c.key.to_string())
                .fact("sha256", c.sha256.clone())
                .fact("sha1", c.sha1.clone())
                .fact(
                    "capabilities",
                    lineage::capability_names(node.flags).join(", "),
                )
                .fact("flags", node.flags),
        );
    }
}

/// `wrapsign lineage FILE|APK`: the lineage's certificates and capabilities.
pub fn print(path: &Path, report: &mut Report) {
    let file = path.display().to_string();
    match lineage::read(path) {
        Ok(l) => lineage_items(&file, &l, report),
        Err(m) => report.push(Finding::new(Code::InputUnreadable, &file, m)),
    }
}
