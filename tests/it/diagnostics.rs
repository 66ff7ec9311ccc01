//! The diagnostics contract: names are documented and explained, JSON has the
//! promised shape, exit codes follow the documented rules.

use crate::support as common;

use common::run;

#[test]
fn every_finding_name_is_explained_and_documented() {
    let r = run(&["explain", "--list"]);
    assert_eq!(r.code, 0);
    let reference = std::fs::read_to_string(common::repo("docs/findings.md")).unwrap();
    let mut n = 0;
    for line in r.stdout.lines() {
        let name = line.split_whitespace().next().unwrap();
        let sev = line.split_whitespace().nth(1).unwrap();
        assert!(["error", "warning", "info"].contains(&sev), "{line}");
        let e = run(&["explain", name]);
        assert_eq!(e.code, 0, "{name}");
        let why = e.stdout.split("Why it matters:").nth(1).unwrap_or("");
        let fix = e.stdout.split("How to fix it:").nth(1).unwrap_or("");
        assert!(
            why.trim().len() > 20 && fix.trim().len() > 20,
            "{name}: {}",
            e.stdout
        );
        assert!(
            reference.contains(&format!("`{name}`")),
            "docs/findings.md does not document `{name}`"
        );
        n += 1;
    }
    assert!(n >= 20, "only {n} names");
}

#[test]
fn json_report_has_the_documented_shape() {
    let r = run(&[
        "verify",
        "--format=json",
        "--at=2026-11-28",
        "--trust-root=signing/ca/test-root-ca.pem",
        "profiles/expired.mobileprovision",
        "profiles/expiring.mobileprovision",
        "--warn-days=60",
    ]);
    assert_eq!(r.code, 1);
    let j = r.json();
    assert_eq!(j["at"], "2026-11-28T00:00:00Z");
    assert_eq!(j["summary"]["errors"], 1);
    assert_eq!(j["summary"]["warnings"], 1);
    assert_eq!(j["summary"]["exit_code"], 1);
    for f in j["findings"].as_array().unwrap() {
        for key in ["name", "severity", "file", "subject", "message"] {
            assert!(f.get(key).is_some(), "{key} missing in {f:#}");
        }
    }
    // Errors come first.
    assert_eq!(j["findings"][0]["name"], "profile-expired");
    assert_eq!(
        j["findings"][0]["details"]["expiration"],
        "2023-01-01T00:00:00Z"
    );
    assert_eq!(j["findings"][1]["details"]["days_left"], 48);
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(run(&["verify", "--no-such-flag"]).code, 2);
    assert_eq!(run(&["frobnicate"]).code, 2);
    assert_eq!(run(&["verify", "--format=yaml", "x"]).code, 2);
    assert_eq!(run(&["--version"]).code, 0);
}

#[test]
fn pkcs12_without_its_private_key() {
    if !common::tool("openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nokey.p12");
    let st = std::process::Command::new("openssl")
        .args(["pkcs12", "-export", "-nokeys", "-in"])
        .arg(common::repo("signing/ios/dist.pem"))
        .arg("-certfile")
        .arg(common::repo("signing/ca/test-wwdr-ca.pem"))
        .arg("-out")
        .arg(&out)
        .args(["-passout", "pass:wrapsign-test"])
        .status()
        .unwrap();
    assert!(st.success());
    let r = run(&[
        "verify",
        "--format=json",
        "--at=2026-11-28",
        "--trust-root=signing/ca/test-root-ca.pem",
        out.to_str().unwrap(),
        "--cert-pass=pass:wrapsign-test",
    ]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_eq!(r.names(), ["cert-key-missing"]);
}

#[test]
fn man_page_and_completions_come_from_the_flag_definitions() {
    let man = run(&["generate", "man"]);
    assert_eq!(man.code, 0);
    assert!(man.stdout.contains(".TH wrapsign 1") && man.stdout.contains(".TH wrapsign-verify 1"));
    let help = run(&["verify", "--help"]);
    // Every long flag in `verify --help` is in the man page and the completions.
    let bash = run(&["generate", "bash"]);
    let zsh = run(&["generate", "zsh"]);
    let flags: Vec<&str> = help
        .stdout
        .split_whitespace()
        .filter(|w| w.starts_with("--") && w.len() > 3)
        .map(|w| w.trim_end_matches(|c: char| !c.is_alphanumeric() && c != '-'))
        .collect();
    assert!(flags.len() >= 15, "{flags:?}");
    for f in flags {
        assert!(
            man.stdout.contains(&f.replace('-', "\\-")),
            "{f} missing from the man page"
        );
        assert!(
            bash.stdout.contains(f) && zsh.stdout.contains(f),
            "{f} missing from completions"
        );
    }
}
