//! `wrapsign sign app.apk`: re-signs an APK with v1 (JAR), v2 and v3, as
//! apksig's `ApkSigner` does, after the keystore checks of `wrapsign verify`
//! pass for the signing key.
//!
//! Order of work, so that nothing is written unless everything is right:
//! 1. the signing key is loaded and checked (validity, Play's rule, weak key,
//!    debug key with `--release`, key/certificate match, passwords): the gate;
//! 2. the input is parsed and refused if it lies (duplicate names, `..`
//!    names, overlapping entries, truncated directory);
//! 3. one streaming pass copies the kept entries raw into a temporary file
//!    beside the destination, aligning uncompressed ones, while the v1 entry
//!    digests are computed on the other core;
//! 4. the JAR signature files are appended, then the central directory; the
//!    v2/v3 content digest is computed once, in parallel, for both schemes;
//! 5. the APK Signing Block goes in before the central directory, the file is
//!    fsynced and renamed over the destination.

mod blocks;
pub mod jar;
mod lineage;
pub mod zipout;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufWriter, IsTerminal, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::android::apk::digest::{self, Content};
use crate::android::apk::zip::{self, Source};
use crate::android::keystore::{self, EntryKind, StoreType};
use crate::android::manifest;
use crate::android::policy;
use crate::at::Horizon;
pub use crate::atomic::Destination;
use crate::atomic::{self, AtomicFile};
use crate::diag::{Baseline, Code, FailOn, Finding, Item, ItemKind, Policy, Report, Severity};
use crate::keys::PrivateKey;
use crate::outcome::Judge;
pub use crate::outcome::Outcome;
use crate::secret::{self, PasswordSpec, Secret};
use crate::x509::{self, Cert};
use blocks::Algorithm;
use jar::V1Digest;
pub use lineage::{print as print_lineage, rotate, RotateRequest, RotationRequest};
pub use zipout::Alignment;
use zipout::{Counting, InputError};

const SDK_N: i32 = 24;
const SDK_P: i32 = 28;
const SDK_R: i32 = 30;
/// Keystores are small; anything bigger is not one.
const MAX_KEY_FILE: u64 = 16 << 20;
/// Below this size the progress bar would only flicker.
const PROGRESS_MIN_BYTES: u64 = 32 << 20;

/// Where the signing key comes from.
#[derive(Clone, Debug)]
pub enum KeySource {
    Keystore {
        path: PathBuf,
        ks_type: Option<StoreType>,
        store_pass: Option<PasswordSpec>,
        key_pass: Option<PasswordSpec>,
        alias: Option<String>,
    },
    /// apksigner's `--key key.pk8 --cert cert.pem`.
    Files { key: PathBuf, cert: PathBuf },
}

/// Everything a signing run needs, independent of the command line.
#[derive(Clone, Debug)]
pub struct Request {
    pub input: PathBuf,
    pub destination: Destination,
    pub key: KeySource,
    /// apksigner's `--min-sdk-version`: replaces the manifest's minSdkVersion.
    pub min_sdk: Option<i32>,
    /// apksigner's `--max-sdk-version`: without it, every future level.
    pub max_sdk: Option<i32>,
    /// `--v1/--v2/--v3`; `None`: apksigner's default for the SDK range.
    pub v1: Option<bool>,
    pub v2: Option<bool>,
    pub v3: Option<bool>,
    pub alignment: Alignment,
    /// Base name of the JAR signature files (default: the alias or key file name).
    pub v1_signer_name: Option<String>,
    /// A release build: the Android debug key is an error, not a warning.
    pub release: bool,
    pub at: OffsetDateTime,
    pub warn_days: i64,
    pub fail_days: i64,
    pub play_min_validity: OffsetDateTime,
    pub progress: bool,
    /// Limits against zip bombs (`--max-expanded-size`, `--max-expand-ratio`).
    pub archive: crate::archive::Limits,
    /// Key rotation (`--lineage`): sign with the signers of a lineage.
    pub rotation: Option<RotationRequest>,
}

/// The signing identity, once it passed the gate.
struct Identity {
    key: PrivateKey,
    chain: Vec<Vec<u8>>,
    leaf: Cert,
    /// Default v1 signer name (alias, or key file name up to its first dot).
    name: String,
    file: String,
}

fn read_small(path: &Path) -> Result<Zeroizing<Vec<u8>>, String> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    if meta.len() > MAX_KEY_FILE {
        return Err(format!(
            "{shown} is {} bytes, too large to be a key",
            meta.len()
        ));
    }
    std::fs::read(path)
        .map(Zeroizing::new)
        .map_err(|e| format!("cannot read {shown}: {e}"))
}

/// Loads the key from a keystore and runs the keystore checks on its alias.
fn load_keystore(
    path: &Path,
    ks_type: Option<StoreType>,
    store_spec: Option<&PasswordSpec>,
    key_spec: Option<&PasswordSpec>,
    alias: Option<&str>,
    ctx: &policy::Ctx,
    report: &mut Report,
) -> Option<Identity> {
    let file = path.display().to_string();
    let data = match read_small(path) {
        Ok(d) => d,
        Err(e) => {
            report.push(Finding::unreadable(&file, e));
            return None;
        }
    };
    let store_pass = match secret::resolve_or_prompt(store_spec, &format!("keystore {file}")) {
        Ok(Some(p)) => p,
        Ok(None) => {
            report.push(
                Finding::new(
                    Code::KeystorePasswordWrong,
                    &file,
                    format!("signing with {file} needs its password; pass --ks-pass env:VAR, file:PATH or stdin"),
                )
                .detail("password", "store"),
            );
            return None;
        }
        Err(e) => {
            report.push(Finding::unreadable(&file, format!("--ks-pass: {e}")));
            return None;
        }
    };
    let key_pass: Option<Secret> = match key_spec.map(PasswordSpec::resolve) {
        None => None,
        Some(Ok(p)) => Some(p),
        Some(Err(e)) => {
            report.push(Finding::unreadable(&file, format!("--key-pass: {e}")));
            return None;
        }
    };
    let store_source = store_spec.map(|s| s.to_string());
    let key_source = key_spec.map(|s| s.to_string());
    let mut open = policy::Open {
        ks_type,
        store_pass: Some(&store_pass),
        store_source: store_source.as_deref(),
        key_pass: key_pass.as_ref(),
        key_source: key_source.as_deref(),
        aliases: &[],
    };
    let opened = ks_type
        .map(Ok)
        .unwrap_or_else(|| keystore::detect(&data))
        .and_then(|t| keystore::open(&data, t, Some(store_pass.expose())));
    let ks = match opened {
        Ok(ks) => ks,
        Err(_) => {
            // The keystore checks say precisely what is wrong (password, format).
            policy::check_bytes(&file, &data, &open, ctx, report);
            if !report
                .findings
                .iter()
                .any(|f| f.severity == Severity::Error)
            {
                report.push(Finding::unreadable(
                    &file,
                    format!("cannot open the keystore {file}"),
                ));
            }
            return None;
        }
    };
    let keys: Vec<&str> = ks
        .entries
        .iter()
        .filter(|e| matches!(e.kind, EntryKind::PrivateKey { .. }))
        .map(|e| e.alias.as_str())
        .collect();
    let chosen = match alias {
        Some(a) => a.to_string(),
        None if keys.len() == 1 => keys[0].to_string(),
        None => {
            report.push(
                Finding::new(
                    Code::KeystoreAliasMissing,
                    &file,
                    if keys.is_empty() {
                        format!("{file} holds no private key to sign with")
                    } else {
                        format!(
                            "{file} holds several keys ({}); say which one signs with --alias",
                            keys.join(", ")
                        )
                    },
                )
                .detail("aliases", keys.clone()),
            );
            return None;
        }
    };
    let aliases = [chosen.clone()];
    open.aliases = &aliases;
    policy::check_keystore(&file, &ks, &open, ctx, report);
    let lower = chosen.to_lowercase();
    let entry = ks.entries.iter().find(|e| {
        e.alias.to_lowercase() == lower && matches!(e.kind, EntryKind::PrivateKey { .. })
    });
    let Some(entry) = entry else {
        if ks.entries.iter().any(|e| e.alias.to_lowercase() == lower) {
            report.push(
                Finding::new(
                    Code::KeystoreAliasMissing,
                    &file,
                    format!("\"{chosen}\" in {file} is not a private key; pass the alias of a key entry ({})", keys.join(", ")),
                )
                .subject(chosen.as_str()),
            );
        }
        return None;
    };
    let EntryKind::PrivateKey { key, chain } = &entry.kind else {
        return None;
    };
    let pw = key_pass.as_ref().unwrap_or(&store_pass);
    // A wrong key password or an unreadable key was reported by the checks.
    let pkcs8 = key.recover(pw.expose()).ok()?;
    let key = PrivateKey::from_pkcs8_der(&pkcs8).ok()?;
    let leaf = Cert::from_der(chain.first()?).ok()?;
    Some(Identity {
        key,
        chain: chain.clone(),
        leaf,
        name: entry.alias.clone(),
        file,
    })
}

/// Loads `--key` and `--cert` and runs the same checks as for a keystore alias.
fn load_files(
    key_path: &Path,
    cert_path: &Path,
    ctx: &policy::Ctx,
    report: &mut Report,
) -> Option<Identity> {
    let kfile = key_path.display().to_string();
    let cfile = cert_path.display().to_string();
    let key = match read_small(key_path)
        .and_then(|d| PrivateKey::from_pem_or_der(&d).map_err(|e| format!("{kfile}: {e}")))
    {
        Ok(k) => k,
        Err(e) => {
            report.push(Finding::unreadable(&kfile, e));
            return None;
        }
    };
    let chain = match read_small(cert_path) {
        Ok(d) => x509::certs_from_pem_or_der(&d),
        Err(e) => {
            report.push(Finding::unreadable(&cfile, e));
            return None;
        }
    };
    let leaf = match chain.first().map(|d| Cert::from_der(d)) {
        Some(Ok(c)) => c,
        Some(Err(e)) => {
            report.push(Finding::unreadable(&cfile, format!("{cfile}: {e}")));
            return None;
        }
        None => {
            report.push(Finding::unreadable(
                &cfile,
                format!("{cfile} holds no certificate"),
            ));
            return None;
        }
    };
    let subject = leaf.name().to_string();
    policy::check_signing_identity(&cfile, &subject, &leaf, &key, ctx, report);
    report.item(
        Item::new(ItemKind::SigningKey, &cfile)
            .subject(subject)
            .not_after(leaf.not_after)
            .fact("key", key.kind().to_string())
            .fact("sha256", leaf.sha256.as_str())
            .fact("not_after", crate::at::rfc3339(leaf.not_after)),
    );
    // apksigner names the JAR signature after the key file, up to its first dot.
    let base = key_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "CERT".into());
    let name = base.split('.').next().unwrap_or("CERT").to_string();
    Some(Identity {
        key,
        chain,
        leaf,
        name,
        file: cfile,
    })
}

fn input_finding(file: &str, e: InputError) -> Finding {
    match e {
        InputError::Unreadable(m) => Finding::unreadable(file, format!("{file}: {m}; nothing was written")),
        InputError::Malformed(m) => Finding::new(
            Code::ApkMalformed,
            file,
            format!("{m}: refusing to sign it (nothing was written); rebuild the APK with the standard build tools"),
        ),
        InputError::Archive(p) => {
            let mut f = p.finding(file);
            f.message.push_str("; nothing was written");
            f
        }
    }
}

fn check_destination(input: &Path, dest: &Path, how: &Destination) -> Result<(), String> {
    how.check(input)?;
    if dest.is_dir() {
        return Err(format!(
            "{} is a folder; give a file name for the signed APK",
            dest.display()
        ));
    }
    Ok(())
}

/// Signs an APK. Never panics on bad input; every problem is a finding.
pub fn run(
    req: &Request,
    policy_levels: &Policy,
    baseline: Option<&Baseline>,
    fail_on: FailOn,
) -> Outcome {
    atomic::install_signal_cleanup();
    let judge = Judge {
        policy: policy_levels,
        baseline,
        fail_on,
        at: req.at,
    };
    let mut report = Report::default();
    let file = req.input.display().to_string();
    let ctx = policy::Ctx {
        at: req.at,
        horizon: Horizon {
            warn_days: req.warn_days,
            fail_days: req.fail_days,
            ..Horizon::default()
        },
        play_min_validity: req.play_min_validity,
    };

    // 1. The key and the gate.
    let id = match &req.key {
        KeySource::Keystore {
            path,
            ks_type,
            store_pass,
            key_pass,
            alias,
        } => load_keystore(
            path,
            *ks_type,
            store_pass.as_ref(),
            key_pass.as_ref(),
            alias.as_deref(),
            &ctx,
            &mut report,
        ),
        KeySource::Files { key, cert } => load_files(key, cert, &ctx, &mut report),
    };
    if !req.release {
        // The debug key is fine for test builds; `--release` makes it fatal.
        for f in &mut report.findings {
            if f.code == Code::DebugCertificate {
                f.severity = Severity::Warning;
                f.message.push_str(" (an error with --release)");
            }
        }
    }
    let Some(id) = id else {
        return judge.finish(report, None);
    };
    if judge.fails(&report) {
        return judge.finish(report, None);
    }

    // 2. The input.
    let input = match zipout::open(&req.input, &req.archive) {
        Ok(i) => i,
        Err(e) => {
            report.push(input_finding(&file, e));
            return judge.finish(report, None);
        }
    };
    let manifest_xml = input
        .entries
        .iter()
        .find(|e| e.name() == "AndroidManifest.xml")
        .map(|e| zip::read_entry(&input.src, &e.rec, input.lfh_end));
    let manifest_xml = match manifest_xml {
        Some(Ok(m)) => Some(m),
        Some(Err(e)) => {
            report.push(input_finding(&file, e.into()));
            return judge.finish(report, None);
        }
        None => None,
    };
    let min_sdk = match (req.min_sdk, &manifest_xml) {
        (Some(m), _) => m,
        (None, Some(xml)) => match manifest::min_sdk_version(xml) {
            Ok(m) => m,
            Err(e) => {
                report.push(Finding::new(
                    Code::ApkMalformed,
                    &file,
                    format!("cannot read minSdkVersion from AndroidManifest.xml ({}); pass --min-sdk N; nothing was written", e.0),
                ));
                return judge.finish(report, None);
            }
        },
        (None, None) => {
            report.push(Finding::new(
                Code::ApkMalformed,
                &file,
                "the APK has no AndroidManifest.xml, so its minSdkVersion is unknown; pass --min-sdk N (nothing was written)",
            ));
            return judge.finish(report, None);
        }
    };
    let target_sdk = manifest_xml
        .as_deref()
        .map_or(1, manifest::target_sdk_version);
    let v1 = req.v1.unwrap_or(min_sdk < SDK_N);
    // apksigner's defaults: each scheme when some level in range verifies it.
    let max_sdk = req.max_sdk.unwrap_or(i32::MAX);
    let v2 = req.v2.unwrap_or(max_sdk >= SDK_N);
    let v3 = req.v3.unwrap_or(max_sdk >= SDK_P);
    if !(v1 || v2 || v3) {
        report.push(Finding::new(
            Code::SignFailed,
            &file,
            "every signature scheme is disabled (--v1 false --v2 false --v3 false); enable at least one",
        ));
        return judge.finish(report, None);
    }
    if !v1 && min_sdk < SDK_N {
        report.push(
            Finding::new(
                Code::ApkSchemeRequired,
                &file,
                format!("v1 is disabled but the APK supports API {min_sdk}: Android before 7.0 (API 24) will refuse to install it; keep --v1 true or pass --min-sdk 24"),
            )
            .severity(Severity::Warning),
        );
    }
    if !v2
        && !v3
        && (target_sdk >= SDK_R
            || manifest_xml
                .as_deref()
                .is_some_and(|m| manifest::target_sandbox_version(m) >= 2))
    {
        report.push(Finding::new(
            Code::ApkSchemeRequired,
            &file,
            format!("only v1 was asked for, but apps targeting API {target_sdk} need a v2 or v3 signature; enable --v2 or --v3"),
        ));
    }
    // Key rotation: the oldest key signs v1/v2, the lineage decides v3/v3.1.
    let rotation = match &req.rotation {
        None => None,
        Some(r) => {
            let label = r.lineage.display().to_string();
            let full = match crate::android::apk::lineage::read(&r.lineage) {
                Ok(l) => l,
                Err(m) => {
                    report.push(Finding::unreadable(
                        &label,
                        format!("{m}; nothing was written"),
                    ));
                    return judge.finish(report, None);
                }
            };
            let old = match &r.old_key {
                Some(k) => match lineage::load_old(k, &ctx, &mut report) {
                    Some(o) => Some(o),
                    None => return judge.finish(report, None),
                },
                None => None,
            };
            match lineage::plan(
                &r.lineage,
                &full,
                r.rotation_min_sdk,
                &id,
                old,
                min_sdk,
                (v1, v2, v3),
            ) {
                Ok(s) => Some(s),
                Err(m) => {
                    report.push(Finding::new(
                        Code::SignFailed,
                        &label,
                        format!("{m}; nothing was written"),
                    ));
                    return judge.finish(report, None);
                }
            }
        }
    };
    let v1_id = rotation.as_ref().map_or(&id, |r| r.oldest(&id));
    let v1_digest = if v1 {
        match V1Digest::for_key(&v1_id.key, min_sdk) {
            Ok(d) => Some(d),
            Err(m) => {
                report.push(Finding::new(Code::SigningKeyUnsupported, &id.file, m));
                None
            }
        }
    } else {
        None
    };
    let alg = if v2 || v3 {
        match Algorithm::for_key(&v1_id.key) {
            Ok(a) => Some(a),
            Err(m) => {
                report.push(Finding::new(Code::SigningKeyUnsupported, &id.file, m));
                None
            }
        }
    } else {
        None
    };
    if judge.fails(&report) || (v1 && v1_digest.is_none()) || ((v2 || v3) && alg.is_none()) {
        return judge.finish(report, None);
    }

    // 3-5. Write.
    let dest = match &req.destination {
        Destination::InPlace => req.input.clone(),
        Destination::To(p) => p.clone(),
    };
    let out_label = dest.display().to_string();
    if let Err(m) = check_destination(&req.input, &dest, &req.destination) {
        report.push(Finding::new(Code::SignFailed, &out_label, m));
        return judge.finish(report, None);
    }
    let plan = Plan {
        v1: v1_digest,
        v2,
        v3,
        alg,
        alignment: req.alignment,
        signer_name: jar::safe_signer_name(req.v1_signer_name.as_deref().unwrap_or(&v1_id.name)),
        rotation,
    };
    if plan.signer_name.is_empty() {
        report.push(Finding::new(
            Code::SignFailed,
            &file,
            "the v1 signer name is empty; pass --v1-signer-name NAME",
        ));
        return judge.finish(report, None);
    }
    let show =
        req.progress && std::io::stderr().is_terminal() && input.src.len() >= PROGRESS_MIN_BYTES;
    match write_signed(
        &input,
        &id,
        &plan,
        &dest,
        &req.destination,
        &req.input,
        show,
    ) {
        Ok(w) => {
            let mut schemes = Vec::new();
            if v1 {
                schemes.push("v1");
            }
            if v2 {
                schemes.push("v2");
            }
            if v3 {
                schemes.push("v3");
            }
            let misaligned = w
                .stored
                .iter()
                .filter(|(n, off)| {
                    off % 4 != 0
                        || (n.ends_with(".so")
                            && !req.alignment.preserve
                            && off % req.alignment.lib_page != 0)
                })
                .count();
            if plan.rotation.as_ref().is_some_and(|r| r.has_v31()) {
                schemes.push("v3.1");
            }
            let mut item = Item::new(ItemKind::SignedApk, &out_label);
            if let Some(r) = &plan.rotation {
                item = item.fact("rotation", r.describe(&id));
            }
            report.item(
                item.subject(out_label.clone())
                    .fact("input", file.as_str())
                    .fact("schemes", schemes.join("+"))
                    .fact("min_sdk", min_sdk)
                    .fact("signer", id.leaf.name())
                    .fact("signer_sha256", id.leaf.sha256.as_str())
                    .fact(
                        "algorithm",
                        alg.map(|a| format!("{:#06x}", a.id)).unwrap_or_default(),
                    )
                    .fact("v1_files", w.v1_files)
                    .fact("entries", w.entries)
                    .fact("uncompressed_misaligned", misaligned)
                    .fact("bytes", w.size),
            );
            judge.finish(report, Some(dest))
        }
        Err(m) => {
            report.push(Finding::new(
                Code::SignFailed,
                &out_label,
                format!("{m}; nothing was written and the input is unchanged"),
            ));
            judge.finish(report, None)
        }
    }
}

struct Plan {
    v1: Option<V1Digest>,
    v2: bool,
    v3: bool,
    alg: Option<Algorithm>,
    alignment: Alignment,
    signer_name: String,
    /// Key rotation: who signs which scheme and SDK range.
    rotation: Option<lineage::Schemes>,
}

struct Written {
    stored: Vec<(String, u64)>,
    v1_files: Vec<String>,
    entries: usize,
    size: u64,
}

/// The v1 digests of every kept entry's uncompressed data, on all cores.
fn entry_digests<F: Fn(&zipout::Entry) -> bool + Sync>(
    input: &zipout::Input,
    keep: &F,
    d: V1Digest,
) -> Result<BTreeMap<String, Vec<u8>>, String> {
    input
        .entries
        .par_iter()
        .filter(|e| keep(e))
        .map(|e| {
            let mut h = d.hash().hasher();
            zip::stream_entry(&input.src, &e.rec, input.lfh_end, &mut |b| h.update(b))
                .map_err(|err| format!("{}: {err}", e.name()))?;
            Ok((e.name().to_string(), h.finalize_reset()))
        })
        .collect()
}

fn write_signed(
    input: &zipout::Input,
    id: &Identity,
    plan: &Plan,
    dest: &Path,
    how: &Destination,
    input_path: &Path,
    show: bool,
) -> Result<Written, String> {
    let label = dest.display().to_string();
    let io = |e: std::io::Error| format!("cannot write {label}: {e}");
    let mut out = AtomicFile::create(dest)
        .map_err(|e| format!("cannot create a temporary file beside {label}: {e}"))?;
    if *how == Destination::InPlace {
        let _ = out.copy_permissions_from(input_path);
    } else {
        out.set_mode(0o644).map_err(io)?;
    }
    let tmp_path = out.path().to_path_buf();
    let bar = if show {
        let b = indicatif::ProgressBar::new(input.src.len());
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{prefix:>8} [{bar:30}] {bytes}/{total_bytes} {wide_msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        b.set_prefix("sign");
        Some(b)
    } else {
        None
    };

    let keep = |e: &zipout::Entry| jar::needs_digest(e.name());
    let mut w = Counting {
        inner: BufWriter::with_capacity(1 << 20, out),
        pos: 0,
        progress: bar.clone(),
    };
    // Copy on this thread while the other core digests entries for v1.
    let (copied, digests) = rayon::join(
        || zipout::copy_entries(input, &keep, plan.alignment, &mut w),
        || plan.v1.map(|d| entry_digests(input, &keep, d)),
    );
    let copied = copied.map_err(io)?;
    let mut cd_records = copied.cd_records;
    let mut v1_files = Vec::new();
    if let Some(d) = plan.v1 {
        let digests = digests.unwrap_or_else(|| Ok(BTreeMap::new()))?;
        let source_manifest = input
            .entries
            .iter()
            .find(|e| e.name() == jar::MANIFEST)
            .map(|e| zip::read_entry(&input.src, &e.rec, input.lfh_end))
            .transpose()
            .map_err(|e| format!("{}: {e}", jar::MANIFEST))?;
        let manifest = jar::manifest(source_manifest.as_deref(), d, &digests);
        let mut schemes = Vec::new();
        if plan.v2 {
            schemes.push(2);
        }
        if plan.v3 {
            schemes.push(3);
        }
        let sf = jar::signature_file(&manifest, d, &schemes);
        let v1_id = plan.rotation.as_ref().map_or(id, |r| r.oldest(id));
        let block = jar::signature_block(&v1_id.key, &v1_id.chain, d, &sf)?;
        let when = copied.newest.unwrap_or((0x3a21, 0));
        let files = [
            (format!("META-INF/{}.SF", plan.signer_name), sf),
            (
                format!(
                    "META-INF/{}.{}",
                    plan.signer_name,
                    jar::block_extension(&v1_id.key)
                ),
                block,
            ),
            (jar::MANIFEST.to_string(), manifest.bytes),
        ];
        for (name, data) in files {
            cd_records.push(zipout::write_new_entry(&mut w, &name, &data, when).map_err(io)?);
            v1_files.push(name);
        }
    }
    let entries_end = w.pos;
    let cd: Vec<u8> = cd_records.concat();
    let count = cd_records.len();
    let signing = plan.v2 || plan.v3;
    // The signing block starts on a 4 KiB page, as apksig writes it.
    let block_start = if signing {
        entries_end.div_ceil(4096) * 4096
    } else {
        entries_end
    };
    w.write_all(&vec![0u8; (block_start - entries_end) as usize])
        .map_err(io)?;
    let eocd_for =
        |cd_offset: u64| zipout::eocd(input, count, cd.len() as u64, cd_offset).map_err(io);
    // Without v2/v3 the directory goes right here; with them, it is written
    // here first only so the digest pass can read it, then moved after the block.
    w.write_all(&cd).map_err(io)?;
    w.write_all(&eocd_for(block_start)?).map_err(io)?;
    let mut out = w.inner.into_inner().map_err(|e| io(e.into_error()))?;
    let mut size = block_start + cd.len() as u64 + input.sections.eocd.len() as u64;
    if let (true, Some(alg)) = (signing, plan.alg) {
        if let Some(b) = &bar {
            b.set_message("digest");
        }
        out.flush().map_err(io)?;
        let src = Source::open(&tmp_path).map_err(io)?;
        let eocd = eocd_for(block_start)?;
        let content = Content::new(
            &src,
            block_start,
            block_start,
            block_start + cd.len() as u64,
            &eocd,
        );
        let pairs = match &plan.rotation {
            Some(r) => {
                let digests = lineage::content_digests(&content, &r.digests(id, plan.v2)?)?;
                r.blocks(id, plan.v2, plan.v3, &digests)?
            }
            None => {
                let wanted = BTreeSet::from([alg.digest]);
                let digests = digest::compute(&content, &wanted)
                    .map_err(|e| format!("cannot digest {label}: {e}"))?;
                let cd_digest = digests.get(&alg.digest).ok_or("content digest missing")?;
                let signer = blocks::Signer {
                    key: &id.key,
                    chain: &id.chain,
                    public_key: &id.leaf.spki,
                    alg,
                };
                let mut pairs = Vec::new();
                if plan.v2 {
                    pairs.push((blocks::V2, blocks::v2_block(&signer, cd_digest, plan.v3)?));
                }
                if plan.v3 {
                    pairs.push((blocks::V3, blocks::v3_block(&signer, cd_digest)?));
                }
                pairs
            }
        };
        let block = blocks::signing_block(&pairs);
        let cd_offset = block_start + block.len() as u64;
        if cd_offset > u64::from(u32::MAX) {
            return Err("the signed APK would exceed 4 GiB".into());
        }
        out.seek(SeekFrom::Start(block_start)).map_err(io)?;
        let mut tail = BufWriter::new(&mut out);
        tail.write_all(&block).map_err(io)?;
        tail.write_all(&cd).map_err(io)?;
        tail.write_all(&eocd_for(cd_offset)?).map_err(io)?;
        tail.flush().map_err(io)?;
        drop(tail);
        size = cd_offset + cd.len() as u64 + input.sections.eocd.len() as u64;
        out.file().and_then(|f| f.set_len(size)).map_err(io)?;
    }
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    out.commit().map_err(io)?;
    Ok(Written {
        stored: copied.stored,
        v1_files,
        entries: count,
        size,
    })
}
