//! All the findings and items of one run.

use time::OffsetDateTime;

use super::code::Code;
use super::finding::Finding;
use super::item::Item;
use super::policy::{Baseline, FailOn, Level, Policy};
use super::severity::Severity;

/// Collects findings and items from every check of one run.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub items: Vec<Item>,
    /// Findings a baseline suppressed in this run.
    pub suppressed: usize,
}

impl Report {
    pub fn push(&mut self, f: Finding) {
        self.findings.push(f);
    }

    pub fn item(&mut self, i: Item) {
        self.items.push(i);
    }

    pub fn extend(&mut self, other: Report) {
        self.findings.extend(other.findings);
        self.items.extend(other.items);
        self.suppressed += other.suppressed;
    }

    /// Drops the findings a baseline accepts (until their `accepted_until` date).
    pub fn apply_baseline(&mut self, baseline: &Baseline, at: OffsetDateTime) {
        let before = self.findings.len();
        self.findings
            .retain_mut(|f| match baseline.entry_for(f).map(|e| e.accepted_until) {
                None => true,
                Some(Some(until)) if until < at => {
                    f.notes.push(format!(
                        "the baseline accepted this until {}; it counts again",
                        crate::at::day(until)
                    ));
                    true
                }
                Some(_) => false,
            });
        self.suppressed += before - self.findings.len();
    }

    /// Files a folder scan skipped (unreadable, or no password opens them).
    pub fn skipped(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.details.get("skipped") == Some(&serde_json::Value::Bool(true)))
            .count()
    }

    pub fn count(&self, sev: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == sev).count()
    }

    pub fn has(&self, code: Code) -> bool {
        self.findings.iter().any(|f| f.code == code)
    }

    /// Applies the per-name levels, then orders findings (errors first, then by file).
    pub fn apply(&mut self, policy: &Policy) {
        self.findings
            .retain_mut(|f| match policy.levels.get(&f.code) {
                Some(Level::Allow) => false,
                Some(Level::Warn) => {
                    f.severity = Severity::Warning;
                    true
                }
                Some(Level::Deny) => {
                    f.severity = Severity::Error;
                    true
                }
                None => true,
            });
        self.findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.file.cmp(&b.file))
                .then_with(|| a.subject.cmp(&b.subject))
                .then_with(|| a.code.name().cmp(b.code.name()))
        });
        self.findings.dedup_by(|a, b| {
            a.code == b.code && a.file == b.file && a.subject == b.subject && a.message == b.message
        });
    }

    /// The process exit code: 2 when an input could not be read at all, 1 when a
    /// finding reaches the failure threshold, 0 otherwise.
    pub fn exit_code(&self, fail_on: FailOn) -> i32 {
        if self
            .findings
            .iter()
            // Nothing could be checked: a missing or unreadable file, an archive
            // cut short, a container no password opens.
            .any(|f| {
                matches!(
                    f.code,
                    Code::InputUnreadable | Code::ArchiveTruncated | Code::PasswordWrong
                ) && f.severity == Severity::Error
            })
        {
            return 2;
        }
        let threshold = match fail_on {
            FailOn::Never => return 0,
            FailOn::Error => Severity::Error,
            FailOn::Warning => Severity::Warning,
        };
        if self.findings.iter().any(|f| f.severity >= threshold) {
            1
        } else {
            0
        }
    }
}

impl Baseline {
    /// A baseline that accepts every finding of `report`.
    pub fn from_report(report: &Report) -> Baseline {
        Baseline::from_findings(&report.findings)
    }
}
