//! The signer pipeline the IPA and APK signers plug into, so that both write
//! nothing unless everything is right, and say the same thing about it:
//!
//! 1. the identity ([`crate::identity`]) is loaded and gets the checks of its
//!    material, then the signer's own rules about it ([`Signer::review`]);
//!    other material (profiles) is checked with it ([`Signer::gather`]), and
//!    the gate (`--allow/--warn/--deny`, baseline, `--fail-on`) judges;
//! 2. the signer checks the rest before anything is written
//!    ([`Signer::check`]: the input, bundles, scheme choices), and the gate
//!    judges again;
//! 3. the destination is checked, and a private work folder made beside it
//!    when the signer needs one;
//! 4. the signer writes the signed output, not yet in place
//!    ([`Signer::write`], with [`Progress`]);
//! 5. self-checks read the finished output back ([`SelfCheck`]): any error
//!    means nothing is written, exit 1, whatever the policy says;
//! 6. the output is renamed into place (atomically, under the signal
//!    handler's lock), the work folder is removed, and the report gets the
//!    signer's items.
//!
//! [`Outcome::disk`] says what is on disk at the end, in the wording a
//! SIGINT/SIGTERM uses too ([`Disk`]).
//!
//! The signers live here, above the platforms they compose: [`ipa`] (iOS
//! apps, with apple-codesign) and [`apk`] (Android, with
//! [`crate::android::sign`]).

pub mod apk;
pub mod ipa;
pub mod rotate;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use time::OffsetDateTime;

use crate::android::policy;
use crate::atomic::{self, AtomicFile, Destination, Disk, WorkDir};
use crate::context::Context;
use crate::diag::{Code, Finding, Report, Severity};
use crate::identity::{self, Identity, Loaded};
use crate::outcome::{Judge, Outcome};

/// What every signing run needs besides the signer's own options: the command
/// line (or `wrapsign.toml`) fills it once for either signer.
#[derive(Clone, Debug)]
pub struct Settings {
    pub input: PathBuf,
    pub destination: Destination,
    pub identity: identity::Source,
    /// The run's context (instant, horizons, trust anchors, `--online`, Play's
    /// date, archive limits), resolved once from the command line and wrapsign.toml.
    pub context: Context,
    /// Show progress on stderr (only honoured when stderr is a terminal).
    pub progress: bool,
}

impl Settings {
    /// Settings for `input` signed with `identity` in `context`, without progress.
    pub fn new(
        input: PathBuf,
        destination: Destination,
        identity: identity::Source,
        context: Context,
    ) -> Settings {
        Settings {
            input,
            destination,
            identity,
            context,
            progress: false,
        }
    }

    /// The verification instant (`--at`).
    pub fn at(&self) -> OffsetDateTime {
        self.context.at()
    }
}

/// Progress bars on stderr, or hidden ones when progress is off or stderr is
/// not a terminal.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    show: bool,
}

impl Progress {
    pub fn shown(&self) -> bool {
        self.show
    }

    /// A byte-count bar of `len` (0: set later) labelled `prefix`.
    pub fn bar(&self, len: u64, prefix: &str) -> ProgressBar {
        if !self.show {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(len);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>10} [{bar:30}] {bytes}/{total_bytes} {wide_msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix(prefix.to_string());
        bar
    }

    /// A spinner counting `what` (e.g. "Mach-O signed"), labelled `prefix`.
    pub fn spinner(&self, prefix: &str, what: &str) -> ProgressBar {
        if !self.show {
            return ProgressBar::hidden();
        }
        let b = ProgressBar::new_spinner();
        b.set_style(
            ProgressStyle::with_template(&format!(
                "{{prefix:>10}} {{spinner}} {{pos}} {what} {{wide_msg}}"
            ))
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        b.set_prefix(prefix.to_string());
        b.enable_steady_tick(std::time::Duration::from_millis(120));
        b
    }
}

/// The state of a run the signer works in.
pub struct Run<'a> {
    pub settings: &'a Settings,
    /// Where the output goes (the input itself with `--in-place`).
    pub dest: PathBuf,
    /// Every finding so far; the signer adds its own.
    pub report: Report,
    /// The contexts of `verify`'s iOS and Android checks, built once.
    pub ios: crate::ios::Ctx,
    pub android: policy::Ctx,
    pub progress: Progress,
    judge: Judge<'a>,
}

impl Run<'_> {
    /// Whether the findings so far fail the run (the gate).
    pub fn fails(&self) -> bool {
        self.judge.fails(&self.report)
    }

    pub fn input(&self) -> &Path {
        &self.settings.input
    }

    pub fn in_place(&self) -> bool {
        self.settings.destination == Destination::InPlace
    }

    /// Another identity the signer needs (an older signer of a key rotation,
    /// say): loaded and checked by the rule of its material, like the main
    /// one. `None` when it cannot sign; the findings say why.
    pub fn load_identity(&mut self, src: &identity::Source) -> Option<Identity> {
        let ctx = identity::Ctx {
            ios: &self.ios,
            android: &self.android,
        };
        let loaded = identity::load(src, &ctx, &mut self.report)?;
        loaded.check(&ctx, &mut self.report);
        loaded.into_identity()
    }

    /// A new temporary file beside the destination, with the permissions the
    /// output should have (the input's when replacing it in place, else 0644).
    pub fn output_file(&self) -> Result<AtomicFile, Finding> {
        let label = self.dest.display().to_string();
        let fail = |e: std::io::Error| {
            Finding::new(
                Code::SignFailed,
                &label,
                format!("cannot create a temporary file beside {label}: {e}"),
            )
        };
        let mut out = AtomicFile::create(&self.dest).map_err(fail)?;
        if self.in_place() {
            let _ = out.copy_permissions_from(self.input());
        } else {
            out.set_mode(0o644).map_err(fail)?;
        }
        Ok(out)
    }
}

/// A finished output, not yet in place.
pub struct Staged {
    out: StagedOut,
    /// The signed tree the output was made from (an IPA's `.app` folder), for
    /// self-checks that read it rather than the archive.
    pub tree: Option<PathBuf>,
}

enum StagedOut {
    File(AtomicFile),
    Dir(PathBuf),
}

impl Staged {
    /// A complete temporary file (written through [`Run::output_file`]).
    pub fn file(f: AtomicFile) -> Staged {
        Staged {
            out: StagedOut::File(f),
            tree: None,
        }
    }

    /// A complete folder inside the work folder, swapped into place whole.
    pub fn dir(path: PathBuf) -> Staged {
        Staged {
            tree: Some(path.clone()),
            out: StagedOut::Dir(path),
        }
    }

    pub fn with_tree(mut self, tree: PathBuf) -> Staged {
        self.tree = Some(tree);
        self
    }

    /// Where the finished output is now.
    pub fn path(&self) -> &Path {
        match &self.out {
            StagedOut::File(f) => f.path(),
            StagedOut::Dir(p) => p,
        }
    }

    fn commit(self, dest: &Path) -> std::io::Result<()> {
        match self.out {
            StagedOut::File(f) => f.commit(),
            StagedOut::Dir(p) => atomic::replace_dir(&p, dest),
        }
    }
}

/// What a self-check reads: the finished output before it is put in place.
pub struct Output<'a> {
    /// The output now: a temporary file or folder beside the destination.
    pub path: &'a Path,
    /// Where it goes once every check passed.
    pub dest: &'a Path,
    /// The signed tree it was made from (an IPA's `.app` folder), if any.
    pub tree: Option<&'a Path>,
    /// The input it was signed from (unchanged).
    pub input: &'a Path,
    pub identity: &'a Identity,
}

/// A check of the signed output before it is renamed into place. Findings go
/// into `report`; any error stops the run (nothing is written, exit 1),
/// whatever `--allow` says: wrapsign never ships an output it cannot read back.
pub trait SelfCheck {
    fn check(&self, out: &Output, report: &mut Report);
}

/// Why `write` stopped: a finding to report, or findings already in the report.
#[derive(Debug)]
pub enum Stop {
    Finding(Finding),
    Reported,
}

impl From<Finding> for Stop {
    fn from(f: Finding) -> Stop {
        Stop::Finding(f)
    }
}

/// One platform's signer, run by [`run`].
pub trait Signer {
    /// The signer's own rules about the identity (after its material's
    /// checks): the platform it needs, `--release`.
    fn review(&self, _id: &Loaded, _report: &mut Report) {}

    /// Other signing material (provisioning profiles), loaded and checked with
    /// the identity before the first gate, so that one run names every
    /// problem of the material.
    fn gather(&mut self, _run: &mut Run) {}

    /// Everything checked before anything is written; findings into
    /// `run.report`. `false` stops the run.
    fn check(&mut self, run: &mut Run, id: &Identity) -> bool;

    /// Refuses destinations this signer cannot write (after the shared
    /// checks: the folder exists, `--out` is not the input).
    fn check_destination(&self, _run: &Run) -> Result<(), String> {
        Ok(())
    }

    /// Whether to make a private work folder beside the destination.
    fn needs_work_dir(&self) -> bool {
        false
    }

    /// Writes the signed output (not in place yet): a temporary file from
    /// [`Run::output_file`], or a folder inside `work`.
    fn write(&mut self, run: &mut Run, id: &Identity, work: Option<&Path>) -> Result<Staged, Stop>;

    /// The checks of the finished output, in order (see [`SelfCheck`]).
    fn self_checks(&self) -> Vec<Box<dyn SelfCheck + '_>> {
        Vec::new()
    }

    /// Report items once the output is in place.
    fn describe(&self, run: &mut Run, id: &Identity);
}

/// Runs `signer` through the pipeline. Never panics on bad input; every
/// problem is a finding, and the outcome says what is on disk.
pub fn run<S: Signer>(signer: &mut S, settings: &Settings, judge: Judge) -> Outcome {
    atomic::install_signal_cleanup();
    let dest = settings.destination.path(&settings.input).to_path_buf();
    let in_place = settings.destination == Destination::InPlace;
    atomic::set_target(&settings.input, &dest, in_place);
    let nothing = Disk::Nothing {
        input: settings.input.clone(),
        dest: dest.clone(),
        in_place,
    };
    let report = Report::default();
    // The checks of each kind of identity, with that kind's horizon.
    let ios = settings.context.ctx("distribution").clone();
    let android = settings.context.ctx("keystore").clone();
    let mut run = Run {
        settings,
        dest,
        report,
        ios,
        android,
        progress: Progress {
            show: settings.progress && std::io::stderr().is_terminal(),
        },
        judge,
    };
    let stop = |run: Run| judge.finish(run.report, nothing.clone());

    // 1. The identity and its gate.
    let ctx = identity::Ctx {
        ios: &run.ios,
        android: &run.android,
    };
    let Some(loaded) = identity::load(&settings.identity, &ctx, &mut run.report) else {
        return stop(run);
    };
    loaded.check(&ctx, &mut run.report);
    signer.review(&loaded, &mut run.report);
    signer.gather(&mut run);
    if run.fails() {
        return stop(run);
    }
    let origin = loaded.origin.clone();
    let Some(id) = loaded.into_identity() else {
        // Reported by the checks; should a policy have hidden it, say it again.
        if !run
            .report
            .findings
            .iter()
            .any(|f| f.severity == Severity::Error)
        {
            run.report.push(Finding::new(
                Code::CertKeyMismatch,
                &origin.file,
                format!(
                    "{origin} has no private key that belongs to its certificate; it cannot sign"
                ),
            ));
        }
        return stop(run);
    };

    // 2. The signer's checks, and the gate.
    if !signer.check(&mut run, &id) || run.fails() {
        return stop(run);
    }

    // 3. The destination and the work folder.
    let label = run.dest.display().to_string();
    if let Err(m) = settings
        .destination
        .check(&settings.input)
        .and_then(|()| signer.check_destination(&run))
    {
        run.report.push(Finding::new(Code::SignFailed, &label, m));
        return stop(run);
    }
    let work = if signer.needs_work_dir() {
        match WorkDir::new_in(&atomic::parent_dir(&run.dest), &run.dest) {
            Ok(w) => Some(w),
            Err(e) => {
                run.report.push(Finding::new(
                    Code::SignFailed,
                    &label,
                    format!("cannot create a private work folder beside {label}: {e}"),
                ));
                return stop(run);
            }
        }
    } else {
        None
    };

    // 4. The signed output, not in place yet.
    let staged = match signer.write(&mut run, &id, work.as_ref().map(WorkDir::path)) {
        Ok(s) => s,
        Err(Stop::Finding(f)) => {
            run.report.push(f);
            return stop(run);
        }
        Err(Stop::Reported) => return stop(run),
    };

    // 5. Self-checks: an error stops the run whatever the policy says.
    let mut checks = Report::default();
    let out = Output {
        path: staged.path(),
        dest: &run.dest,
        tree: staged.tree.as_deref(),
        input: &settings.input,
        identity: &id,
    };
    for c in signer.self_checks() {
        c.check(&out, &mut checks);
    }
    let (refusals, rest): (Vec<Finding>, Vec<Finding>) = std::mem::take(&mut checks.findings)
        .into_iter()
        .partition(|f| f.severity == Severity::Error);
    checks.findings = rest;
    run.report.extend(checks);
    if !refusals.is_empty() {
        // The reasons nothing was written are shown whatever the policy says.
        let mut o = stop(run);
        o.report.findings.extend(refusals);
        o.exit_code = o.exit_code.max(1);
        return o;
    }

    // 6. Into place, then clean up.
    if let Err(e) = staged.commit(&run.dest) {
        run.report.push(Finding::new(
            Code::SignFailed,
            &label,
            format!("cannot put the signed output in place at {label}: {e}"),
        ));
        return stop(run);
    }
    drop(work);
    signer.describe(&mut run, &id);
    let placed = Disk::Placed(run.dest.clone());
    judge.finish(run.report, placed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::{FailOn, Level, Policy};
    use std::io::Write;

    /// A signer that writes `data` as its output.
    struct Toy {
        data: &'static [u8],
    }

    impl Signer for Toy {
        fn check(&mut self, _run: &mut Run, _id: &Identity) -> bool {
            true
        }
        fn write(&mut self, run: &mut Run, _: &Identity, _: Option<&Path>) -> Result<Staged, Stop> {
            let mut f = run.output_file()?;
            f.write_all(self.data)
                .and_then(|()| f.flush())
                .map_err(|_| Stop::Reported)?;
            Ok(Staged::file(f))
        }
        fn self_checks(&self) -> Vec<Box<dyn SelfCheck + '_>> {
            vec![Box::new(Reader)]
        }
        fn describe(&self, _run: &mut Run, _id: &Identity) {}
    }

    /// A self-check that refuses outputs other than "good", reading the staged file.
    struct Reader;

    impl SelfCheck for Reader {
        fn check(&self, out: &Output, report: &mut Report) {
            assert_ne!(out.path, out.dest, "checked before it is in place");
            assert!(!out.dest.exists());
            if std::fs::read(out.path).ok().as_deref() != Some(&b"good"[..]) {
                report.push(Finding::new(
                    Code::SignFailed,
                    out.dest.display().to_string(),
                    "the output does not read back",
                ));
            }
        }
    }

    fn settings(dir: &Path) -> Settings {
        let ks = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("signing/android/release.jks");
        let input = dir.join("in.bin");
        std::fs::write(&input, b"input").unwrap();
        Settings::new(
            input,
            Destination::To(dir.join("out.bin")),
            identity::Source::Keystore {
                path: ks,
                ks_type: None,
                store_pass: Some("pass:wrapsign-test".parse().unwrap()),
                key_pass: None,
                alias: None,
            },
            Context::defaults(
                time::macros::datetime!(2026-06-01 0:00 UTC),
                crate::trust::Trust::default(),
            ),
        )
    }

    #[test]
    fn a_failing_self_check_writes_nothing_whatever_the_policy() {
        let d = tempfile::tempdir().unwrap();
        let s = settings(d.path());
        let mut lenient = Policy::default();
        lenient.set("sign-failed", Level::Allow).unwrap();
        for policy in [Policy::default(), lenient] {
            let judge = Judge {
                policy: &policy,
                baseline: None,
                fail_on: FailOn::Error,
                at: s.at(),
            };
            let o = run(&mut Toy { data: b"bad" }, &s, judge);
            assert_eq!(o.exit_code, 1);
            assert!(o.written.is_none());
            assert!(o.report.findings.iter().any(|f| f.code == Code::SignFailed));
            assert_eq!(
                o.disk.to_string(),
                format!(
                    "nothing written to {}; {} is unchanged",
                    d.path().join("out.bin").display(),
                    s.input.display()
                )
            );
            let mut left: Vec<_> = std::fs::read_dir(d.path()).unwrap().flatten().collect();
            left.retain(|e| e.file_name() != "in.bin");
            assert!(left.is_empty(), "{left:?}");
        }
        let policy = Policy::default();
        let judge = Judge {
            policy: &policy,
            baseline: None,
            fail_on: FailOn::Error,
            at: s.at(),
        };
        let o = run(&mut Toy { data: b"good" }, &s, judge);
        assert_eq!(o.exit_code, 0, "{:?}", o.report.findings);
        assert_eq!(
            o.written.as_deref(),
            Some(d.path().join("out.bin").as_path())
        );
        assert_eq!(std::fs::read(d.path().join("out.bin")).unwrap(), b"good");
        assert!(o
            .disk
            .to_string()
            .starts_with("the signed output is complete and in place"));
    }
}
