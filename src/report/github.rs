//! GitHub Actions workflow commands: each finding becomes an annotation on the run.

use std::fmt::Write;

use super::Meta;
use crate::diag::{Report, Severity};

/// Escaping from GitHub's toolkit (`command.ts`): data escapes %, CR, LF;
/// properties also escape `:` and `,`.
fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn prop(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

pub fn render(report: &Report, meta: &Meta) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let cmd = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let file = f.file.split('!').next().unwrap_or(&f.file);
        let title = match &f.subject {
            Some(s) => format!("{} ({s})", f.code.name()),
            None => f.code.name().to_string(),
        };
        let _ = writeln!(
            out,
            "::{cmd} file={},title={}::{}",
            prop(file),
            prop(&title),
            data(&f.message)
        );
    }
    let _ = writeln!(
        out,
        "wrapsign {}: {} error(s), {} warning(s), exit {}",
        meta.command,
        report.count(Severity::Error),
        report.count(Severity::Warning),
        meta.exit_code
    );
    out
}
