//! One thing a check found.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::code::Code;
use super::severity::Severity;

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

    /// `input-unreadable`: `file` could not be opened or decoded, so nothing about
    /// it was checked. `message` says what it really is, or what went wrong.
    pub fn unreadable(file: impl Into<String>, message: impl Into<String>) -> Self {
        Finding::new(Code::InputUnreadable, file, message)
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
