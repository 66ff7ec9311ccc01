//! Issue 8's policy surface: thresholds, baselines with expiry, explained findings
//! with notes, chain findings, and profile selection across a folder.

use crate::support as common;

use std::path::Path;

use common::{run, Run};

const TRUST: &str = "--trust-root=signing/ca/test-root-ca.pem";
const PASS: &str = "--cert-pass=file:signing/ios/p12.pass";

fn verify(extra: &[&str]) -> Run {
    let mut a = vec!["verify", TRUST, "--format=json"];
    a.extend_from_slice(extra);
    run(&a)
}

fn finding(r: &Run, name: &str) -> serde_json::Value {
    r.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no {name}: {}", r.stdout))
}

fn copy_profiles(dir: &Path, names: &[&str]) {
    for n in names {
        std::fs::copy(
            common::repo(&format!("profiles/{n}.mobileprovision")),
            dir.join(format!("{n}.mobileprovision")),
        )
        .unwrap();
    }
}

#[test]
fn fail_days_turn_expiring_into_errors_and_ten_days_is_the_final_reminder() {
    // 14 days before the profile expires.
    let r = verify(&["--at=2027-01-01", "profiles/expiring.mobileprovision"]);
    assert_eq!(r.code, 0);
    let f = finding(&r, "profile-expiring");
    assert_eq!(f["severity"], "warning");
    assert!(!f["message"].as_str().unwrap().contains("final reminder"));
    let r = verify(&[
        "--at=2027-01-01",
        "--fail-days=20",
        "profiles/expiring.mobileprovision",
    ]);
    assert_eq!(r.code, 1);
    assert_eq!(finding(&r, "profile-expiring")["severity"], "error");
    // 7 days before: the 10-day reminder, like Apple's mails.
    let r = verify(&["--at=2027-01-08", "profiles/expiring.mobileprovision"]);
    assert!(finding(&r, "profile-expiring")["message"]
        .as_str()
        .unwrap()
        .contains("(final reminder)"));
    // Same rules for certificates.
    let r = verify(&[
        "--at=2044-12-25",
        "--fail-days=30",
        "signing/ios/dist.p12",
        PASS,
    ]);
    assert_eq!(r.code, 1);
    let f = finding(&r, "cert-expiring");
    assert_eq!(f["severity"], "error");
    assert!(f["message"].as_str().unwrap().contains("(final reminder)"));
}

#[test]
fn baseline_suppresses_exactly_the_recorded_findings_until_their_date() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("baseline.json");
    let b = base.to_str().unwrap();
    // Record today's problems.
    let r = verify(&[
        "--at=2026-11-28",
        "profiles/expired.mobileprovision",
        "profiles/wildcard.mobileprovision",
        &format!("--write-baseline={b}"),
    ]);
    assert_eq!(r.code, 1);
    let recorded: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&base).unwrap()).unwrap();
    assert_eq!(recorded["entries"].as_array().unwrap().len(), 2);
    // The same run against the baseline passes; a new problem still fails.
    let r = verify(&[
        "--at=2026-11-29",
        "profiles/expired.mobileprovision",
        "profiles/wildcard.mobileprovision",
        &format!("--baseline={b}"),
    ]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(r.json()["summary"]["suppressed"], 2);
    let r = verify(&[
        "--at=2026-11-29",
        "profiles/expired.mobileprovision",
        "profiles/tampered.mobileprovision",
        &format!("--baseline={b}"),
    ]);
    assert_eq!(r.code, 1);
    assert_eq!(r.names(), ["profile-signature-invalid"]);
    // An acceptance with a date counts again after it.
    let mut edited = recorded.clone();
    for e in edited["entries"].as_array_mut().unwrap() {
        e["accepted_until"] = serde_json::json!("2027-01-01T00:00:00Z");
    }
    std::fs::write(&base, serde_json::to_string(&edited).unwrap()).unwrap();
    let before = verify(&[
        "--at=2026-12-31",
        "profiles/expired.mobileprovision",
        &format!("--baseline={b}"),
    ]);
    assert_eq!(before.code, 0);
    let after = verify(&[
        "--at=2027-01-02",
        "profiles/expired.mobileprovision",
        &format!("--baseline={b}"),
    ]);
    assert_eq!(after.code, 1);
    let f = finding(&after, "profile-expired");
    assert!(
        f["notes"][0]
            .as_str()
            .unwrap()
            .contains("accepted this until 2027-01-01"),
        "{f:#}"
    );
    // A broken baseline is a usage error.
    std::fs::write(&base, "{").unwrap();
    assert_eq!(
        verify(&[
            "--at=2026-11-28",
            "profiles/expired.mobileprovision",
            &format!("--baseline={b}")
        ])
        .code,
        2
    );
}

#[test]
fn cert_missing_names_the_certificate_lists_the_profile_and_the_closest_match() {
    let r = verify(&[
        "--at=2026-11-28",
        "signing/ios/dist.p12",
        PASS,
        "profiles/cert-missing.mobileprovision",
    ]);
    let f = finding(&r, "profile-cert-missing");
    let msg = f["message"].as_str().unwrap();
    assert!(
        msg.contains("Apple Distribution: Wrapsign Test Org (WSTEST0001)")
            && msg.contains("serial 2001"),
        "{msg}"
    );
    let listed = f["details"]["profile_certificates"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["serial"], "2005");
    assert_eq!(listed[0]["not_after"], "2023-01-01T00:00:00Z");
    let notes: Vec<_> = f["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("closest match:") && n.contains("serial 2005")),
        "{notes:?}"
    );
    assert_eq!(f["details"]["closest_match_sha1"], listed[0]["sha1"]);
}

#[test]
fn chain_findings_name_the_missing_issuer_and_the_retired_intermediate() {
    // Without the test root, the chain stops at the intermediate shipped in the .p12.
    let r = run(&[
        "verify",
        "--format=json",
        "--at=2026-11-28",
        "signing/ios/dist.p12",
        PASS,
    ]);
    let f = finding(&r, "chain-incomplete");
    assert!(f["details"]["missing_issuer"]
        .as_str()
        .unwrap()
        .contains("WRAPSIGN TEST Root CA"));
    // Self-signed: not a missing intermediate, an untrusted root.
    let r = verify(&["--at=2026-11-28", "signing/ios/rogue-dist.p12", PASS]);
    assert_eq!(r.names(), ["cert-untrusted"]);
    // A real certificate issued by Apple's WWDR G1, which retired on 2023-02-07.
    let Some(dir) = common::conformance("ios/fastlane") else {
        return;
    };
    let cer = dir.join("E7P4EE896K.cer");
    let r = run(&[
        "verify",
        "--format=json",
        "--at=2023-06-01",
        cer.to_str().unwrap(),
    ]);
    let f = finding(&r, "cert-issuer-retired");
    assert_eq!(f["details"]["issuer_not_after"], "2023-02-07T21:48:47Z");
    let r = run(&[
        "verify",
        "--format=json",
        "--at=2016-06-01",
        cer.to_str().unwrap(),
    ]);
    assert!(!r.has("cert-issuer-retired"));
}

#[test]
fn profiles_dir_picks_the_best_profile_per_target_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    copy_profiles(
        dir.path(),
        &[
            "enterprise-app",
            "enterprise-share",
            "wildcard",
            "expired",
            "cert-missing",
            "expiring",
            "wrong-team",
            "untrusted",
        ],
    );
    let d = format!("--profiles-dir={}", dir.path().display());
    let r = verify(&[
        "--at=2026-11-28",
        "--cert=signing/ios/dist.p12",
        PASS,
        &d,
        "--app=samples/WrapDemo.ipa",
    ]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let j = r.json();
    let sel: Vec<_> = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["name"] == "profile-selected")
        .collect();
    assert_eq!(sel.len(), 2);
    let main = sel
        .iter()
        .find(|f| {
            f["subject"]
                .as_str()
                .unwrap()
                .contains("(com.example.wrapdemo)")
        })
        .unwrap();
    assert!(main["details"]["profile"]
        .as_str()
        .unwrap()
        .ends_with("enterprise-app.mobileprovision"));
    let notes = main["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("\n");
    for want in [
        "expired.mobileprovision] not used: expired on 2023-01-01",
        "cert-missing.mobileprovision] not used: does not list the signing certificate",
        "wildcard.mobileprovision] not used: a wildcard App ID (WSTEST0001.*); an explicit one was available",
        "expiring.mobileprovision] not used: expires earlier (2027-01-15 vs 2045-01-01)",
        "wrong-team.mobileprovision] not used",
        "untrusted.mobileprovision] not used: it is not signed through Apple's root",
    ] {
        assert!(notes.contains(want), "missing {want:?} in\n{notes}");
    }
    let share = sel
        .iter()
        .find(|f| f["subject"].as_str().unwrap().contains("wrapdemo.share"))
        .unwrap();
    assert!(share["details"]["profile"]
        .as_str()
        .unwrap()
        .ends_with("enterprise-share.mobileprovision"));
}

#[test]
fn an_extension_left_without_a_profile_is_named() {
    let dir = tempfile::tempdir().unwrap();
    copy_profiles(dir.path(), &["enterprise-app", "expired"]);
    let d = format!("--profiles-dir={}", dir.path().display());
    let r = verify(&[
        "--at=2026-11-28",
        "--cert=signing/ios/dist.p12",
        PASS,
        &d,
        "--app=samples/WrapDemo.ipa",
    ]);
    assert_eq!(r.code, 1);
    let f = finding(&r, "profile-missing");
    assert!(
        f["subject"]
            .as_str()
            .unwrap()
            .contains("PlugIns/WrapShare.appex (com.example.wrapdemo.share)"),
        "{f:#}"
    );
    assert!(f["notes"][0]
        .as_str()
        .unwrap()
        .contains("2 candidate(s) have App IDs that do not cover com.example.wrapdemo.share"));
}
