//! SARIF 2.1.0, for code-scanning dashboards (GitHub, GitLab, Azure DevOps).

use serde_json::{json, Value};

use super::Meta;
use crate::at;
use crate::diag::{Code, Report, Severity};

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

pub fn render(report: &Report, meta: &Meta) -> String {
    // Rules: every name that occurs, in catalogue order, so ruleIndex is stable.
    let used: Vec<Code> = Code::ALL
        .iter()
        .copied()
        .filter(|c| report.findings.iter().any(|f| f.code == *c))
        .collect();
    let rules: Vec<Value> = used
        .iter()
        .map(|c| {
            json!({
                "id": c.name(),
                "shortDescription": { "text": c.title() },
                "fullDescription": { "text": c.why() },
                "help": { "text": c.fix() },
                "defaultConfiguration": { "level": level(c.default_severity()) },
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let mut loc =
                json!({ "physicalLocation": { "artifactLocation": { "uri": uri(&f.file) } } });
            if let Some(s) = &f.subject {
                loc["logicalLocations"] = json!([{ "name": s }]);
            }
            json!({
                "ruleId": f.code.name(),
                "ruleIndex": used.iter().position(|c| *c == f.code).unwrap_or(0),
                "level": level(f.severity),
                "message": { "text": f.message },
                "locations": [loc],
                "properties": { "details": f.details },
            })
        })
        .collect();
    let v = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "wrapsign",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/wrapsign/wrapsign",
                "rules": rules,
            }},
            "invocations": [{
                "executionSuccessful": meta.exit_code != 2,
                "properties": { "at": at::rfc3339(meta.at), "exitCode": meta.exit_code },
            }],
            "results": results,
        }],
    });
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}

/// A relative URI for the artifact: SARIF wants `/` separators and no `!` suffixes.
fn uri(file: &str) -> String {
    file.split('!').next().unwrap_or(file).replace('\\', "/")
}
