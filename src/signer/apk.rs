//! `wrapsign sign app.apk`: re-signs an APK with v1 (JAR), v2 and v3, as
//! apksig's `ApkSigner` does ([`crate::android::sign`]), in the signer pipeline after
//! the checks of the signing identity pass (the keystore checks of `wrapsign
//! verify` for an Android key, from a keystore alias, a `.p12` or a key and
//! certificate).
//!
//! Order of work, so that nothing is written unless everything is right:
//! 1. the identity and its gate (the pipeline), then `--release`'s rule on
//!    the debug key;
//! 2. the input is parsed and refused if it lies (duplicate names, `..`
//!    names, overlapping entries, truncated directory), and the schemes are
//!    chosen for its SDK range;
//! 3. the signed APK is written into a temporary file beside the destination
//!    in one streaming pass ([`crate::android::sign::write_signed`]);
//! 4. the written file is verified as `wrapsign verify` does (apksig's rules,
//!    for the SDK range it was signed for): an APK that would not verify is
//!    never renamed into place;
//! 5. the pipeline fsyncs the file and renames it over the destination.

use std::path::Path;

use crate::android::apk::{self, v1};
use crate::android::manifest;
use crate::android::sign::blocks::Algorithm;
use crate::android::sign::jar::{self, V1Digest};
use crate::android::sign::zipout::{self, InputError};
pub use crate::android::sign::Alignment;
use crate::android::sign::{write_signed, Key, Plan, Written};
pub use crate::atomic::Destination;
use crate::diag::{Baseline, Code, FailOn, Finding, Item, ItemKind, Policy, Report, Severity};
use crate::identity::{Identity, Loaded};
use crate::outcome::Judge;
pub use crate::outcome::Outcome;
use crate::signer::{self, Output, Run, SelfCheck, Settings, Staged, Stop};
use crate::x509::Cert;
use crate::zip::android as zip;

const SDK_N: i32 = 24;
const SDK_P: i32 = 28;
const SDK_R: i32 = 30;
/// Below this size the progress bar would only flicker.
const PROGRESS_MIN_BYTES: u64 = 32 << 20;

/// Everything an APK signing run needs, independent of the command line:
/// the pipeline's [`Settings`] (input, destination, identity, time, policy
/// dates) and apksigner's options. Build it with [`Request::new`], then set
/// the options that differ from apksigner's defaults.
#[derive(Clone, Debug)]
pub struct Request {
    pub settings: Settings,
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
    /// Key rotation (`--lineage`): sign with the keys of a lineage.
    pub rotation: Option<super::rotate::RotationRequest>,
}

impl Request {
    /// apksigner's defaults: schemes for the SDK range, every uncompressed entry
    /// on 4 bytes and native libraries on 16 KiB pages.
    pub fn new(settings: Settings) -> Request {
        Request {
            settings,
            min_sdk: None,
            max_sdk: None,
            v1: None,
            v2: None,
            v3: None,
            alignment: Alignment {
                preserve: false,
                lib_page: 16384,
            },
            v1_signer_name: None,
            release: false,
            rotation: None,
        }
    }
}

fn input_finding(file: &str, e: InputError) -> Finding {
    match e {
        InputError::Unreadable(m) => Finding::unreadable(file, format!("{file}: {m}")),
        InputError::Malformed(m) => Finding::new(
            Code::ApkMalformed,
            file,
            format!("{m}: refusing to sign it; rebuild the APK with the standard build tools"),
        ),
        InputError::Archive(p) => p.finding(file),
    }
}

/// Signs an APK. Never panics on bad input; every problem is a finding.
pub fn run(
    req: &Request,
    policy_levels: &Policy,
    baseline: Option<&Baseline>,
    fail_on: FailOn,
) -> Outcome {
    let judge = Judge {
        policy: policy_levels,
        baseline,
        fail_on,
        at: req.settings.at(),
    };
    let mut signer = ApkSigner {
        req,
        ready: None,
        written: None,
    };
    signer::run(&mut signer, &req.settings, judge)
}

/// The APK signer, as the pipeline drives it.
struct ApkSigner<'r> {
    req: &'r Request,
    /// The parsed input and the plan, once checked.
    ready: Option<(zipout::Input, Plan)>,
    written: Option<Written>,
}

impl ApkSigner<'_> {
    fn file(&self) -> String {
        self.req.settings.input.display().to_string()
    }
}

impl signer::Signer for ApkSigner<'_> {
    fn review(&self, _id: &Loaded, report: &mut Report) {
        if !self.req.release {
            // The debug key is fine for test builds; `--release` makes it fatal.
            for f in &mut report.findings {
                if f.code == Code::DebugCertificate {
                    f.severity = Severity::Warning;
                    f.message.push_str(" (an error with --release)");
                }
            }
        }
    }

    fn check(&mut self, run: &mut Run, id: &Identity) -> bool {
        let req = self.req;
        let file = self.file();
        let report = &mut run.report;
        let input = match zipout::open(&req.settings.input, &req.settings.context.base().archive) {
            Ok(i) => i,
            Err(e) => {
                report.push(input_finding(&file, e));
                return false;
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
                return false;
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
                        format!("cannot read minSdkVersion from AndroidManifest.xml ({}); pass --min-sdk N", e.0),
                    ));
                    return false;
                }
            },
            (None, None) => {
                report.push(Finding::new(
                    Code::ApkMalformed,
                    &file,
                    "the APK has no AndroidManifest.xml, so its minSdkVersion is unknown; pass --min-sdk N",
                ));
                return false;
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
            return false;
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
            Some(r) => {
                let Some(s) = super::rotate::prepare(run, r, id, min_sdk, (v1, v2, v3)) else {
                    return false;
                };
                Some(s)
            }
            None => None,
        };
        let report = &mut run.report;
        let new_key = Key {
            key: &id.key,
            chain: &id.chain_der,
            public_key: &id.cert.spki,
        };
        let v1_key = rotation.as_ref().map_or(new_key, |r| r.oldest(&new_key));
        let key_file = &id.origin.file;
        // apksigner (and Android before 7.0) would refuse such a v1 signer: never write it.
        let v1_cert = v1_key.chain.first().and_then(|d| Cert::from_der(d).ok());
        if let Some(m) = v1_cert.as_ref().filter(|_| v1).and_then(v1::java_refuses) {
            report.push(Finding::new(
                Code::SigningKeyUnsupported,
                key_file,
                format!("{m}, so Java's JAR verifier (apksigner, Android before 7.0) rejects the v1 signature made with it: sign with another certificate, or --min-sdk 24 (no v1)"),
            ));
            return false;
        }
        let v1_digest = if v1 {
            match V1Digest::for_key(v1_key.key, min_sdk) {
                Ok(d) => Some(d),
                Err(m) => {
                    report.push(Finding::new(Code::SigningKeyUnsupported, key_file, m));
                    return false;
                }
            }
        } else {
            None
        };
        let alg = if v2 || v3 {
            match Algorithm::for_key(v1_key.key) {
                Ok(a) => Some(a),
                Err(m) => {
                    report.push(Finding::new(Code::SigningKeyUnsupported, key_file, m));
                    return false;
                }
            }
        } else {
            None
        };
        let name = req.v1_signer_name.clone().unwrap_or_else(|| {
            rotation
                .as_ref()
                .and_then(|r| r.old_signer_name())
                .map_or_else(|| id.origin.signer_name(), str::to_string)
        });
        let plan = Plan {
            v1: v1_digest,
            v2,
            v3,
            alg,
            alignment: req.alignment,
            signer_name: jar::safe_signer_name(&name),
            min_sdk,
            rotation,
        };
        if plan.signer_name.is_empty() {
            report.push(Finding::new(
                Code::SignFailed,
                &file,
                "the v1 signer name is empty; pass --v1-signer-name NAME",
            ));
            return false;
        }
        self.ready = Some((input, plan));
        true
    }

    fn check_destination(&self, run: &Run) -> Result<(), String> {
        if run.dest.is_dir() {
            return Err(format!(
                "{} is a folder; give a file name for the signed APK",
                run.dest.display()
            ));
        }
        Ok(())
    }

    fn write(
        &mut self,
        run: &mut Run,
        id: &Identity,
        _work: Option<&Path>,
    ) -> Result<Staged, Stop> {
        let Some((input, plan)) = &self.ready else {
            return Err(Stop::Reported);
        };
        let out = run.output_file()?;
        let show = run.progress.shown() && input.src.len() >= PROGRESS_MIN_BYTES;
        let bar = show.then(|| run.progress.bar(input.src.len(), "sign"));
        let label = run.dest.display().to_string();
        let key = Key {
            key: &id.key,
            chain: &id.chain_der,
            public_key: &id.cert.spki,
        };
        match write_signed(input, &key, plan, out, &label, bar) {
            Ok((out, w)) => {
                self.written = Some(w);
                Ok(Staged::file(out))
            }
            Err(m) => Err(Finding::new(Code::SignFailed, &label, m).into()),
        }
    }

    fn self_checks(&self) -> Vec<Box<dyn SelfCheck + '_>> {
        match &self.ready {
            Some((_, plan)) => {
                // A v2/v3 content digest covers every byte written, so the
                // check runs from the level where those schemes decide and
                // does not inflate every entry again for v1 (whose entry
                // digests were taken in the same pass that wrote the bytes,
                // and whose format apksig's goldens pin). A v1-only APK is
                // checked by its v1 signature, entry by entry.
                let min_sdk = if plan.v2 {
                    plan.min_sdk.max(SDK_N)
                } else if plan.v3 {
                    plan.min_sdk.max(SDK_P)
                } else {
                    plan.min_sdk
                };
                // ... unless --max-sdk ends the range before that level.
                let min_sdk = if min_sdk > self.req.max_sdk.unwrap_or(i32::MAX) {
                    plan.min_sdk
                } else {
                    min_sdk
                };
                vec![Box::new(Verifies {
                    req: self.req,
                    min_sdk,
                })]
            }
            None => Vec::new(),
        }
    }

    fn describe(&self, run: &mut Run, id: &Identity) {
        let (Some((_, plan)), Some(w)) = (&self.ready, &self.written) else {
            return;
        };
        let out_label = run.dest.display().to_string();
        let mut schemes = Vec::new();
        if plan.v1.is_some() {
            schemes.push("v1");
        }
        if plan.v2 {
            schemes.push("v2");
        }
        if plan.v3 {
            schemes.push("v3");
        }
        if plan.rotation.as_ref().is_some_and(|r| r.has_v31()) {
            schemes.push("v3.1");
        }
        let misaligned = w
            .stored
            .iter()
            .filter(|(n, off)| {
                off % 4 != 0
                    || (n.ends_with(".so")
                        && !plan.alignment.preserve
                        && off % plan.alignment.lib_page != 0)
            })
            .count();
        let mut item = Item::new(ItemKind::SignedApk, &out_label);
        if let Some(r) = &plan.rotation {
            item = item.fact("rotation", r.describe(id.cert.name()));
        }
        run.report.item(
            item.subject(out_label.clone())
                .fact("input", self.file())
                .fact("schemes", schemes.join("+"))
                .fact("min_sdk", plan.min_sdk)
                .fact("signer", id.cert.name())
                .fact("signer_sha256", id.cert.sha256.as_str())
                .fact(
                    "algorithm",
                    plan.alg
                        .map(|a| format!("{:#06x}", a.id))
                        .unwrap_or_default(),
                )
                .fact("v1_files", w.v1_files.clone())
                .fact("entries", w.entries)
                .fact("uncompressed_misaligned", misaligned)
                .fact("bytes", w.size),
        );
    }
}

/// The self-check: the written APK verifies as `wrapsign verify` (apksig)
/// verifies it, for the SDK range it was signed for. One more read of the
/// output, so that a signer bug can never ship an APK a device refuses.
struct Verifies<'a> {
    req: &'a Request,
    min_sdk: i32,
}

impl SelfCheck for Verifies<'_> {
    fn check(&self, out: &Output, report: &mut Report) {
        #[cfg(debug_assertions)]
        damage_for_tests(out.path);
        let opts = apk::Options {
            min_sdk: Some(self.min_sdk),
            max_sdk: self.req.max_sdk,
            expected_signers: Vec::new(),
            archive: self.req.settings.context.base().archive,
            at: None,
            play_min_validity: None,
        };
        let label = out.dest.display().to_string();
        let why = match apk::verify(out.path, &opts) {
            Ok(o) => {
                // Which schemes the range needs was judged before signing, under
                // the policy (a user may drop v1 on purpose, as with apksigner);
                // here only the signatures written must verify.
                let errors: Vec<_> = o
                    .all_errors()
                    .into_iter()
                    .filter(|e| e.code != Code::ApkSchemeRequired)
                    .collect();
                if errors.is_empty() {
                    return;
                }
                let first: Vec<String> = errors.iter().take(3).map(|e| e.message.clone()).collect();
                format!("{} error(s): {}", errors.len(), first.join("; "))
            }
            Err(apk::Fatal::Unreadable(m) | apk::Fatal::Malformed(m) | apk::Fatal::Usage(m)) => m,
            Err(apk::Fatal::Archive(p)) => p.finding(&label).message,
        };
        report.push(Finding::new(
            Code::SignFailed,
            &label,
            format!("the signed APK does not verify ({why}); nothing was written: report this as a wrapsign bug"),
        ));
    }
}

/// Fault injection for the test suite, compiled into debug builds only: with
/// `WRAPSIGN_TEST_DAMAGE_SIGNED=@OFFSET`, flips the byte at OFFSET of the
/// signed APK before the self-check reads it, so its refusal is tested end to end.
#[cfg(debug_assertions)]
fn damage_for_tests(path: &Path) {
    let Some(v) = std::env::var_os("WRAPSIGN_TEST_DAMAGE_SIGNED") else {
        return;
    };
    let Some(at) = v
        .to_str()
        .and_then(|v| v.strip_prefix('@')?.parse::<usize>().ok())
    else {
        return;
    };
    if let Ok(mut d) = std::fs::read(path) {
        if let Some(b) = d.get_mut(at) {
            *b ^= 1;
            let _ = std::fs::write(path, d);
        }
    }
}
