use serde_json::json;

use super::Meta;
use crate::at;
use crate::diag::{Report, Severity};

pub fn render(report: &Report, meta: &Meta) -> String {
    let v = json!({
        "tool": "wrapsign",
        "version": env!("CARGO_PKG_VERSION"),
        "command": meta.command,
        "at": at::rfc3339(meta.at),
        "warn_days": meta.warn_days,
        "findings": report.findings,
        "items": report.items,
        "summary": {
            "errors": report.count(Severity::Error),
            "warnings": report.count(Severity::Warning),
            "infos": report.count(Severity::Info),
            "suppressed": report.suppressed,
            "skipped": report.skipped(),
            "exit_code": meta.exit_code,
        },
    });
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}
