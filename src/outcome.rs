//! How a signing run (`wrapsign sign`, APK or IPA) is judged and what it
//! returns: the same policy, baseline and `--fail-on` as `verify`, plus the
//! rule that a run which wrote nothing never succeeds, and what it left on disk.

use std::path::PathBuf;

use time::OffsetDateTime;

pub use crate::atomic::Disk;
use crate::diag::{Baseline, FailOn, Policy, Report};

/// The result: the report (policy applied), the exit code, what was written.
#[derive(Debug)]
pub struct Outcome {
    pub report: Report,
    pub exit_code: i32,
    /// The written output, when signing succeeded.
    pub written: Option<PathBuf>,
    /// What is on disk, in the wording every outcome uses (`Display`).
    pub disk: Disk,
}

/// How the run is judged: `--allow/--warn/--deny`, a baseline, `--fail-on`.
#[derive(Clone, Copy)]
pub struct Judge<'a> {
    pub policy: &'a Policy,
    pub baseline: Option<&'a Baseline>,
    pub fail_on: FailOn,
    pub at: OffsetDateTime,
}

impl Judge<'_> {
    fn apply(&self, report: &mut Report) -> i32 {
        report.apply(self.policy);
        if let Some(b) = self.baseline {
            report.apply_baseline(b, self.at);
        }
        report.exit_code(self.fail_on)
    }

    /// Whether the findings so far already fail the run (the gate).
    pub fn fails(&self, report: &Report) -> bool {
        let mut r = report.clone();
        self.apply(&mut r) != 0
    }

    /// The final outcome. `written` is reported only when the run succeeded.
    pub fn finish(&self, mut report: Report, disk: Disk) -> Outcome {
        let mut exit_code = self.apply(&mut report);
        let written = match &disk {
            Disk::Placed(p) => Some(p.clone()),
            _ => None,
        };
        // Nothing written is never a success, whatever `--fail-on`/`--allow` say.
        if written.is_none() && exit_code == 0 {
            exit_code = 1;
        }
        Outcome {
            report,
            exit_code,
            written: if exit_code == 0 { written } else { None },
            disk,
        }
    }
}
