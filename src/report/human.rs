use std::fmt::Write;

use super::Meta;
use crate::at;
use crate::diag::{Item, ItemKind, Report, Severity};
use crate::x509::colon_hex;

fn paint(color: bool, code: &str, s: &str) -> String {
    if color {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

/// The fingerprints people paste elsewhere: every certificate's SHA-256, and
/// the SHA-1 by which Xcode, `security find-identity`, `codesign --sign` and
/// provisioning profiles name certificate files (uppercase, no separators).
fn fingerprints(i: &Item) -> Vec<String> {
    let text = |k: &str| i.facts.get(k).and_then(|v| v.as_str());
    let mut lines = Vec::new();
    if let Some(h) = text("sha256") {
        lines.push(format!("SHA-256 {}", colon_hex(h)));
    }
    if let Some(h) = text("signer_sha256") {
        lines.push(format!("signer SHA-256 {}", colon_hex(h)));
    }
    if i.kind == ItemKind::Certificate {
        if let Some(h) = text("sha1") {
            lines.push(format!("SHA-1 {}", h.to_uppercase()));
        }
    }
    if let Some(h) = text("signer_sha1") {
        lines.push(format!("signer SHA-1 {}", h.to_uppercase()));
    }
    if let Some(list) = i
        .facts
        .get("developer_certificates_sha1")
        .and_then(|v| v.as_array())
    {
        let all: Vec<String> = list
            .iter()
            .filter_map(|v| v.as_str())
            .map(str::to_uppercase)
            .collect();
        if !all.is_empty() {
            lines.push(format!("certificates SHA-1 {}", all.join(", ")));
        }
    }
    lines
}

pub fn render(report: &Report, meta: &Meta) -> String {
    let c = meta.color;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "wrapsign {} at {} (warning {} days ahead)",
        meta.command,
        at::rfc3339(meta.at),
        meta.warn_days
    );
    if !report.items.is_empty() && meta.verbosity >= 0 {
        out.push('\n');
        for i in &report.items {
            let subject = i.subject.as_deref().unwrap_or("");
            let mut facts = Vec::new();
            for key in [
                "kind",
                "type",
                "team_id",
                "app_id",
                "bundle_id",
                "profile",
                "alias",
                "key",
                "schemes",
                "sdk",
                "position",
                "capabilities",
                "id_type",
                "identity_type",
                "devices",
                "credentials",
            ] {
                if let Some(v) = i.facts.get(key) {
                    match v {
                        serde_json::Value::String(s) => facts.push(format!("{key} {s}")),
                        other => facts.push(format!("{key} {other}")),
                    }
                }
            }
            if let Some(na) = i.not_after {
                let days = at::days_until(meta.at, na);
                facts.push(if days >= 0 {
                    format!("until {} ({days} days)", at::day(na))
                } else {
                    format!("expired {}", at::day(na))
                });
            }
            let _ = writeln!(out, "  {:<12} {subject}", i.kind);
            let _ = writeln!(out, "  {:<12} {}  [{}]", "", facts.join(", "), i.file);
            for line in fingerprints(i) {
                let _ = writeln!(out, "  {:<12} {line}", "");
            }
        }
    }
    if !report.findings.is_empty() {
        out.push('\n');
    }
    for f in &report.findings {
        if meta.verbosity < 0 && f.severity == Severity::Info {
            continue;
        }
        let (label, code) = match f.severity {
            Severity::Error => ("error", "1;31"),
            Severity::Warning => ("warning", "1;33"),
            Severity::Info => ("info", "1;36"),
        };
        let _ = writeln!(
            out,
            "{}: {}",
            paint(c, code, &format!("{label}[{}]", f.code.name())),
            f.message
        );
        match &f.subject {
            Some(s) => {
                let _ = writeln!(out, "  --> {} ({s})", f.file);
            }
            None => {
                let _ = writeln!(out, "  --> {}", f.file);
            }
        }
        for n in &f.notes {
            let _ = writeln!(out, "  = note: {n}");
        }
        if meta.verbosity > 0 {
            for (k, v) in &f.details {
                let _ = writeln!(out, "  = {k}: {v}");
            }
        }
    }
    if report.suppressed > 0 {
        let _ = writeln!(
            out,
            "\n{} finding(s) accepted by the baseline",
            report.suppressed
        );
    }
    let (e, w) = (
        report.count(Severity::Error),
        report.count(Severity::Warning),
    );
    let verdict = match meta.exit_code {
        0 => paint(c, "1;32", "PASS"),
        2 => paint(c, "1;31", "UNREADABLE INPUT"),
        _ => paint(c, "1;31", "FAIL"),
    };
    let skipped = match report.skipped() {
        0 => String::new(),
        n => format!(", {n} file{} skipped", if n == 1 { "" } else { "s" }),
    };
    let _ = writeln!(
        out,
        "\n{verdict}: {e} error{}, {w} warning{}{skipped} (exit {})",
        if e == 1 { "" } else { "s" },
        if w == 1 { "" } else { "s" },
        meta.exit_code
    );
    out
}
