//! JUnit XML: one test case per examined file, failing when it has error findings,
//! so any CI that shows test results shows wrapsign's.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::Meta;
use crate::at;
use crate::diag::{Finding, Report, Severity};

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            // XML 1.0 forbids most control characters even when escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => o.push('?'),
            c => o.push(c),
        }
    }
    o
}

pub fn render(report: &Report, meta: &Meta) -> String {
    // Group by file (inner paths after `!` belong to their archive).
    let mut files: BTreeMap<String, Vec<&Finding>> = BTreeMap::new();
    for i in &report.items {
        files.entry(outer(&i.file)).or_default();
    }
    for f in &report.findings {
        files.entry(outer(&f.file)).or_default().push(f);
    }
    let failures = files
        .values()
        .filter(|fs| fs.iter().any(|f| f.severity == Severity::Error))
        .count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"wrapsign\" tests=\"{}\" failures=\"{failures}\" errors=\"0\">",
        files.len()
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"wrapsign {}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" timestamp=\"{}\">",
        meta.command,
        files.len(),
        esc(&at::rfc3339(meta.at))
    );
    for (file, fs) in &files {
        let _ = write!(
            out,
            "    <testcase classname=\"wrapsign.{}\" name=\"{}\"",
            meta.command,
            esc(file)
        );
        let errors: Vec<&&Finding> = fs
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .collect();
        let others: Vec<&&Finding> = fs
            .iter()
            .filter(|f| f.severity != Severity::Error)
            .collect();
        if errors.is_empty() && others.is_empty() {
            out.push_str("/>\n");
            continue;
        }
        out.push_str(">\n");
        if let Some(first) = errors.first() {
            let body: Vec<String> = errors.iter().map(|f| line(f)).collect();
            let _ = writeln!(
                out,
                "      <failure type=\"{}\" message=\"{}\">{}</failure>",
                first.code.name(),
                esc(&first.message),
                esc(&body.join("\n"))
            );
        }
        if !others.is_empty() {
            let body: Vec<String> = others.iter().map(|f| line(f)).collect();
            let _ = writeln!(
                out,
                "      <system-out>{}</system-out>",
                esc(&body.join("\n"))
            );
        }
        out.push_str("    </testcase>\n");
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

fn line(f: &Finding) -> String {
    match &f.subject {
        Some(s) => format!("{}[{}] {s}: {}", f.severity, f.code.name(), f.message),
        None => format!("{}[{}] {}", f.severity, f.code.name(), f.message),
    }
}

fn outer(file: &str) -> String {
    file.split('!').next().unwrap_or(file).to_string()
}
