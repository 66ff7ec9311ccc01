//! The diagnostics model: every check emits [`Finding`]s named by a stable [`Code`].
//!
//! Checks decide *what* they saw; [`Policy`] decides how much it matters (per-name
//! overrides, deny-warnings); renderers in [`crate::report`] only print. This keeps
//! policy out of output formats, as cargo-deny does.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

pub use crate::codes::Code;

/// How much a finding matters. Ordered so that `Error > Warning > Info`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A lint level, as in `--allow/--warn/--deny NAME` or `wrapsign.toml`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Drop the finding entirely.
    Allow,
    Warn,
    Deny,
}

impl std::str::FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "allow" => Ok(Level::Allow),
            "warn" | "warning" => Ok(Level::Warn),
            "deny" | "error" => Ok(Level::Deny),
            other => Err(format!(
                "unknown level `{other}` (expected allow, warn or deny)"
            )),
        }
    }
}

/// One thing a check found.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    #[serde(rename = "name", serialize_with = "ser_code")]
    pub code: Code,
    pub severity: Severity,
    /// The file the finding concerns, as the user named it.
    pub file: String,
    /// The part of the file: a bundle path, alias, App ID, entitlement...
    pub subject: Option<String>,
    /// One line that says what is wrong and what to do.
    pub message: String,
    /// Structured facts for machines (dates, fingerprints, team ids).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, Value>,
    /// Extra lines for humans: what was compared, the closest match, candidates.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

fn ser_code<S: serde::Serializer>(c: &Code, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(c.name())
}

impl Finding {
    pub fn new(code: Code, file: impl Into<String>, message: impl Into<String>) -> Self {
        Finding {
            code,
            severity: code.default_severity(),
            file: file.into(),
            subject: None,
            message: message.into(),
            details: BTreeMap::new(),
            notes: Vec::new(),
        }
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// A stable identity for baselines: the name, the file and the subject, never
    /// the message (which carries day counts that change every day).
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(self.code.name());
        h.update([0]);
        h.update(&self.file);
        h.update([0]);
        h.update(self.subject.as_deref().unwrap_or(""));
        hex::encode(&h.finalize()[..16])
    }

    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Checks may pick a severity other than the default (e.g. SHA-1 is a warning
    /// where MD5 is an error under the same name).
    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_string(), value.into());
        self
    }
}

/// Something a check looked at, with the facts worth showing (dates, team, App ID).
#[derive(Clone, Debug, Serialize)]
pub struct Item {
    pub kind: &'static str,
    pub file: String,
    pub subject: Option<String>,
    #[serde(
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub not_after: Option<OffsetDateTime>,
    pub facts: BTreeMap<String, Value>,
}

impl Item {
    pub fn new(kind: &'static str, file: impl Into<String>) -> Self {
        Item {
            kind,
            file: file.into(),
            subject: None,
            not_after: None,
            facts: BTreeMap::new(),
        }
    }

    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    pub fn not_after(mut self, t: OffsetDateTime) -> Self {
        self.not_after = Some(t);
        self
    }

    pub fn fact(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.facts.insert(key.to_string(), value.into());
        self
    }
}

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
        self.findings.retain_mut(|f| {
            let fp = f.fingerprint();
            match baseline
                .entries
                .iter()
                .find(|e| e.name == f.code.name() && e.fingerprint == fp)
            {
                None => true,
                Some(e) => match e.accepted_until {
                    Some(until) if until < at => {
                        f.notes.push(format!(
                            "the baseline accepted this until {}; it counts again",
                            crate::at::day(until)
                        ));
                        true
                    }
                    _ => false,
                },
            }
        });
        self.suppressed += before - self.findings.len();
    }

    /// Files a folder scan skipped (unreadable, or no password opens them).
    pub fn skipped(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.details.get("skipped") == Some(&Value::Bool(true)))
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

/// Accepted findings, so a team adopting wrapsign on an old estate fails only on
/// new problems (`--write-baseline FILE`, then `--baseline FILE`).
#[derive(Clone, Debug, Default, Serialize, serde::Deserialize)]
pub struct Baseline {
    pub version: u32,
    pub entries: Vec<BaselineEntry>,
}

#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct BaselineEntry {
    pub name: String,
    pub fingerprint: String,
    /// For people reading the file; matching uses `name` and `fingerprint` only.
    #[serde(default)]
    pub file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// After this instant the finding counts again.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub accepted_until: Option<OffsetDateTime>,
}

impl Baseline {
    pub fn from_report(report: &Report) -> Baseline {
        Baseline {
            version: 1,
            entries: report
                .findings
                .iter()
                .map(|f| BaselineEntry {
                    name: f.code.name().to_string(),
                    fingerprint: f.fingerprint(),
                    file: f.file.clone(),
                    subject: f.subject.clone(),
                    accepted_until: None,
                })
                .collect(),
        }
    }

    pub fn load(path: &std::path::Path) -> Result<Baseline, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read baseline {}: {e}", path.display()))?;
        let b: Baseline = serde_json::from_str(&text)
            .map_err(|e| format!("baseline {} is not valid: {e}", path.display()))?;
        if b.version != 1 {
            return Err(format!(
                "baseline {} has unsupported version {}",
                path.display(),
                b.version
            ));
        }
        Ok(b)
    }
}

/// What fails the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Never,
}

/// Per-name severity levels; the only place severities change after a check.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    pub levels: BTreeMap<Code, Level>,
}

impl Policy {
    pub fn set(&mut self, name: &str, level: Level) -> Result<(), String> {
        let code = Code::from_name(name).ok_or_else(|| {
            format!("unknown finding name `{name}` (see `wrapsign explain --list`)")
        })?;
        self.levels.insert(code, level);
        Ok(())
    }
}
