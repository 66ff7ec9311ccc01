//! How much findings count: per-name levels, the failure threshold, accepted
//! findings (baselines) and how close an expiry must be to fail.

use std::collections::BTreeMap;

use serde::Serialize;
use time::OffsetDateTime;

use super::code::Code;
use super::finding::Finding;
use super::severity::Severity;
use crate::at::Horizon;

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

/// The severity of an `expiring` finding (`code`) for something that expires in
/// `days_left` days: an error inside the horizon's fail window, else the name's
/// default; and the wording that marks the final reminder.
pub fn expiring(code: Code, horizon: &Horizon, days_left: i64) -> (Severity, &'static str) {
    let sev = if horizon.fails(days_left) {
        Severity::Error
    } else {
        code.default_severity()
    };
    let reminder = if horizon.final_reminder(days_left) {
        " (final reminder)"
    } else {
        ""
    };
    (sev, reminder)
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
    /// A baseline that accepts every one of `findings`.
    pub fn from_findings(findings: &[Finding]) -> Baseline {
        Baseline {
            version: 1,
            entries: findings
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

    /// The entry that accepts `f`, if any.
    pub fn entry_for(&self, f: &Finding) -> Option<&BaselineEntry> {
        let fp = f.fingerprint();
        self.entries
            .iter()
            .find(|e| e.name == f.code.name() && e.fingerprint == fp)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiring_fails_inside_the_fail_window_and_reminds_late() {
        let h = Horizon {
            warn_days: 30,
            fail_days: 5,
            remind_days: 10,
        };
        let c = Code::CertExpiring;
        assert_eq!(expiring(c, &h, 20), (Severity::Warning, ""));
        assert_eq!(
            expiring(c, &h, 10),
            (Severity::Warning, " (final reminder)")
        );
        assert_eq!(expiring(c, &h, 4), (Severity::Error, " (final reminder)"));
    }
}
