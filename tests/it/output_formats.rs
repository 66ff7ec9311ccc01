//! Every output format renders the same findings: SARIF with its schema's required
//! fields, JUnit as well-formed XML, GitHub annotations, and `--report FILE`.

use crate::support as common;

use common::run;

const ARGS: &[&str] = &[
    "verify",
    "--at=2026-11-28",
    "--trust-root=signing/ca/test-root-ca.pem",
    "profiles/expired.mobileprovision",
    "profiles/enterprise-app.mobileprovision",
    "profiles/expiring.mobileprovision",
    "--warn-days=60",
];

fn with(format: &str) -> common::Run {
    let mut a = ARGS.to_vec();
    let f = format!("--format={format}");
    a.push(&f);
    let r = run(&a);
    assert_eq!(r.code, 1, "{format}: {}", r.stderr);
    r
}

#[test]
fn sarif_has_required_fields_and_one_result_per_finding() {
    let r = with("sarif");
    let j = r.json();
    // Required by the SARIF 2.1.0 schema: version, runs[].tool.driver.name, results[].message.text.
    assert_eq!(j["version"], "2.1.0");
    let run0 = &j["runs"][0];
    assert_eq!(run0["tool"]["driver"]["name"], "wrapsign");
    let rules = run0["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run0["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for res in results {
        assert!(!res["message"]["text"].as_str().unwrap().is_empty());
        let idx = res["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], res["ruleId"]);
        assert!(["error", "warning", "note"].contains(&res["level"].as_str().unwrap()));
        let uri = res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        assert!(uri.starts_with("profiles/"), "{uri}");
    }
    let levels: Vec<_> = results
        .iter()
        .map(|r| r["level"].as_str().unwrap())
        .collect();
    assert_eq!(levels, ["error", "warning"]);
    assert!(rules
        .iter()
        .all(|r| r["help"]["text"].as_str().is_some_and(|t| !t.is_empty())));
}

#[test]
fn junit_is_well_formed_and_fails_the_failing_file() {
    let r = with("junit");
    let doc = roxmltree::Document::parse(&r.stdout).expect("well-formed XML");
    let suites = doc.root_element();
    assert_eq!(suites.tag_name().name(), "testsuites");
    assert_eq!(suites.attribute("tests"), Some("3"));
    assert_eq!(suites.attribute("failures"), Some("1"));
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 3);
    let failed: Vec<_> = cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
        .map(|c| c.attribute("name").unwrap())
        .collect();
    assert_eq!(failed, ["profiles/expired.mobileprovision"]);
    let failure = doc
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    assert_eq!(failure.attribute("type"), Some("profile-expired"));
    // The warning is reported, not failed.
    assert!(doc.descendants().any(
        |n| n.has_tag_name("system-out") && n.text().unwrap_or("").contains("profile-expiring")
    ));
}

#[test]
fn github_annotations_escape_and_classify() {
    let r = with("github");
    let lines: Vec<_> = r.stdout.lines().collect();
    assert!(
        lines[0].starts_with("::error file=profiles/expired.mobileprovision,title=profile-expired"),
        "{}",
        lines[0]
    );
    assert!(lines[1]
        .starts_with("::warning file=profiles/expiring.mobileprovision,title=profile-expiring"));
    // Properties escape ':' and ','; the title carries the subject in parentheses.
    assert!(!lines[0].split("::").nth(1).unwrap().contains(": "));
}

#[test]
fn output_file_receives_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.sarif");
    let mut a = ARGS.to_vec();
    let o = format!("--report={}", out.display());
    a.extend(["--format=sarif", &o]);
    let r = run(&a);
    assert_eq!(r.code, 1);
    assert!(r.stdout.is_empty());
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(j["runs"][0]["results"].as_array().unwrap().len(), 2);
    // Nothing else is left in the folder (the temporary file was renamed).
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    // The former spellings still write the report on `verify` (never on `sign`,
    // where -o would be taken for the signed app).
    for old in ["--output", "-o"] {
        std::fs::remove_file(&out).unwrap();
        let mut a = ARGS.to_vec();
        let path = out.display().to_string();
        a.extend(["--format=sarif", old, &path]);
        assert_eq!(run(&a).code, 1, "{old}");
        assert!(out.is_file(), "{old}");
    }
}

#[test]
fn quiet_and_verbose_human_output() {
    let mut a = ARGS.to_vec();
    a.push("--quiet");
    let q = run(&a);
    assert_eq!(q.code, 1);
    assert!(!q.stdout.contains("  profile      "), "{}", q.stdout);
    assert!(q.stdout.contains("error[profile-expired]") && q.stdout.contains("FAIL"));
    let mut a = ARGS.to_vec();
    a.push("--verbose");
    let v = run(&a);
    assert!(
        v.stdout
            .contains("  = expiration: \"2023-01-01T00:00:00Z\""),
        "{}",
        v.stdout
    );
    // NO_COLOR (set by the test harness) and a pipe: no escape codes.
    assert!(!v.stdout.contains('\x1b'));
}
