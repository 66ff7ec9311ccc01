//! Real-world iOS material from ../shared/conformance/ios (see its MANIFEST.txt):
//! every profile yields its documented facts, Apple's signatures verify, and the
//! expired items fail as expired unless --at puts them back in their window.

use crate::support as common;

use common::run;
use serde_json::Value;

fn json(args: &[&str]) -> (i32, Value) {
    let r = run(args);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    (r.code, r.json())
}

fn names(j: &Value) -> Vec<String> {
    j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect()
}

fn item<'a>(j: &'a Value, kind: &str) -> &'a Value {
    j["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {j:#}"))
}

#[test]
fn every_profile_yields_its_documented_facts() {
    let Some(dir) = common::conformance("ios") else {
        return;
    };
    // file, App ID, team, type, creation day, expiration day, certificates, devices
    type Row<'a> = (
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        usize,
        Option<u64>,
    );
    let rows: &[Row] = &[
        (
            "calabash-iOSDeviceManager/CalabashWildcard.mobileprovision",
            "FYD86LA7RE.*",
            "FYD86LA7RE",
            "development",
            "2021-12-07",
            "2022-12-07",
            1,
            Some(97),
        ),
        (
            "calabash-iOSDeviceManager/PermissionsDevelopment.mobileprovision",
            "FYD86LA7RE.sh.calaba.Permissions",
            "FYD86LA7RE",
            "development",
            "2021-12-07",
            "2022-12-07",
            2,
            Some(97),
        ),
        (
            "calabash-iOSDeviceManager/PalisadeDevelopment.mobileprovision",
            "FYD86LA7RE.com.microsoft.Palisade",
            "FYD86LA7RE",
            "development",
            "2021-06-29",
            "2022-06-29",
            4,
            Some(98),
        ),
        (
            "calabash-iOSDeviceManager/TestApp.embedded.mobileprovision",
            "FYD86LA7RE.*",
            "FYD86LA7RE",
            "development",
            "2022-06-15",
            "2023-06-15",
            2,
            Some(97),
        ),
        (
            "fastlane/AppStore_tools.fastlane.app.mobileprovision",
            "439BBM9367.tools.fastlane.app",
            "439BBM9367",
            "app-store",
            "2015-12-04",
            "2016-12-03",
            1,
            None,
        ),
        (
            "isign/test.mobileprovision",
            "ISIGNTESTS.*",
            "ISIGNTESTS",
            "development",
            "2016-11-28",
            "2017-11-28",
            1,
            Some(2),
        ),
    ];
    for (file, app_id, team, kind, created, expires, certs, devices) in rows {
        let p = dir.join(file);
        let (code, j) = json(&[
            "verify",
            "--format=json",
            "--at=2026-11-28",
            p.to_str().unwrap(),
        ]);
        let f = &item(&j, "profile")["facts"];
        assert_eq!(f["app_id"], *app_id, "{file}");
        assert_eq!(f["team_ids"][0], *team, "{file}");
        assert_eq!(f["type"], *kind, "{file}");
        assert!(
            f["creation"].as_str().unwrap().starts_with(created),
            "{file}: {f:#}"
        );
        assert!(
            f["expiration"].as_str().unwrap().starts_with(expires),
            "{file}: {f:#}"
        );
        assert_eq!(
            f["developer_certificates_sha1"].as_array().unwrap().len(),
            *certs,
            "{file}"
        );
        assert_eq!(f["provisioned_devices"].as_u64(), *devices, "{file}");
        // Every Apple-issued item here is expired today.
        assert_eq!(code, 1, "{file}");
        let n = names(&j);
        assert!(n.contains(&"profile-expired".to_string()), "{file}: {n:?}");
        // Apple's signatures verify and chain to Apple's root; isign's is self-made.
        let apple = !file.starts_with("isign");
        assert!(
            !n.contains(&"profile-signature-invalid".to_string()),
            "{file}: {n:?}"
        );
        assert_eq!(
            n.contains(&"profile-untrusted".to_string()),
            !apple,
            "{file}: {n:?}"
        );
        assert_eq!(
            n.contains(&"profile-wildcard-app-id".to_string()),
            app_id.ends_with('*'),
            "{file}: {n:?}"
        );
    }
}

#[test]
fn old_apple_chain_is_reported_as_signer_expiry_not_as_untrusted() {
    let Some(dir) = common::conformance("ios/calabash-iOSDeviceManager") else {
        return;
    };
    // Pre-2022 profiles: signed through an intermediate that expired 2022-04-12.
    let old = dir.join("PermissionsDevelopment.mobileprovision");
    let (_, j) = json(&[
        "verify",
        "--format=json",
        "--at=2022-11-01",
        old.to_str().unwrap(),
    ]);
    let n = names(&j);
    assert!(n.contains(&"profile-signer-expired".to_string()), "{n:?}");
    assert!(!n.contains(&"profile-untrusted".to_string()), "{n:?}");
    let f = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "profile-signer-expired")
        .unwrap();
    assert_eq!(f["severity"], "info");
    // The newer chain (signer valid to 2027-03-16) is not flagged.
    let new = dir.join("TestApp.embedded.mobileprovision");
    let (code, j) = json(&[
        "verify",
        "--format=json",
        "--at=2023-01-01",
        new.to_str().unwrap(),
        "--allow=profile-wildcard-app-id",
    ]);
    assert!(names(&j).is_empty(), "{j:#}");
    assert_eq!(code, 0);
}

#[test]
fn expired_items_pass_when_at_puts_them_in_their_window() {
    let Some(dir) = common::conformance("ios/calabash-iOSDeviceManager") else {
        return;
    };
    let p = dir.join("PermissionsDevelopment.mobileprovision");
    let (code, j) = json(&[
        "verify",
        "--format=json",
        "--at=2022-01-15",
        p.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{j:#}");
    let (code, _) = json(&[
        "verify",
        "--format=json",
        "--at=2022-12-08",
        p.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
}

#[test]
fn fastlane_distribution_certificate_matches_its_app_store_profile() {
    let Some(dir) = common::conformance("ios/fastlane") else {
        return;
    };
    let cert = dir.join("E7P4EE896K.cer");
    let profile = dir.join("AppStore_tools.fastlane.app.mobileprovision");
    let args = [
        "verify",
        "--format=json",
        "--cert",
        cert.to_str().unwrap(),
        profile.to_str().unwrap(),
    ];
    let mut at = args.to_vec();
    at.push("--at=2016-06-01");
    let (code, j) = json(&at);
    assert_eq!(code, 0, "{j:#}");
    let c = &item(&j, "certificate")["facts"];
    assert_eq!(c["kind"], "iPhone Distribution");
    assert_eq!(c["team_id"], "439BBM9367");
    assert!(c["sha1"].as_str().unwrap().starts_with("ef4751ca4520"));
    // Chains to Apple's root through the (since retired) WWDR G1 intermediate.
    assert!(c["chain"].as_array().unwrap().iter().any(|x| x
        .as_str()
        .unwrap()
        .contains("Worldwide Developer Relations")));
    // Both expire on 2016-12-03.
    let mut later = args.to_vec();
    later.push("--at=2017-01-01");
    let (code, j) = json(&later);
    assert_eq!(code, 1);
    let n = names(&j);
    assert!(
        n.contains(&"cert-expired".to_string()) && n.contains(&"profile-expired".to_string()),
        "{n:?}"
    );
    // A cert the profile does not list is caught: the apple-codesign test distribution cert.
    let other = dir.join("../apple-codesign/apple-signed-apple-distribution.cer");
    let (_, j) = json(&[
        "verify",
        "--format=json",
        "--at=2016-06-01",
        "--cert",
        other.to_str().unwrap(),
        profile.to_str().unwrap(),
    ]);
    let n = names(&j);
    assert!(
        n.contains(&"profile-cert-missing".to_string())
            && n.contains(&"profile-team-mismatch".to_string()),
        "{n:?}"
    );
}

#[test]
fn appstub_signing_certificate_is_listed_in_its_embedded_profile() {
    let Some(dir) = common::conformance("ios/calabash-iOSDeviceManager") else {
        return;
    };
    let ipa = dir.join("AppStub.ipa");
    let (code, j) = json(&[
        "verify",
        "--format=json",
        "--at=2020-06-01",
        "--allow=profile-wildcard-app-id",
        ipa.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{j:#}");
    let b = &item(&j, "bundle")["facts"];
    assert_eq!(b["bundle_id"], "com.apple.test.AppStub");
    assert_eq!(b["team_id"], "FYD86LA7RE");
    assert_eq!(b["signer_sha1"], "31141d2e4b4525c98fe5317ce7bf4bef2d45eb0c");
    let p = &item(&j, "profile")["facts"];
    assert!(p["developer_certificates_sha1"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s == "31141d2e4b4525c98fe5317ce7bf4bef2d45eb0c"));
    assert_eq!(p["name"], "DeviceAgent");
    // Its development certificate expired 2021-01-12, its profile 2021-05-14.
    let (code, j) = json(&[
        "verify",
        "--format=json",
        "--at=2021-06-01",
        ipa.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(names(&j).contains(&"profile-expired".to_string()));
}

#[test]
fn apple_issued_certificates_chain_to_apple_and_classify() {
    let Some(dir) = common::conformance("ios/apple-codesign") else {
        return;
    };
    for (file, kind, team) in [
        (
            "apple-signed-apple-distribution.cer",
            "Apple Distribution",
            "MK22MZP987",
        ),
        (
            "apple-signed-apple-development.cer",
            "Apple Development",
            "MK22MZP987",
        ),
    ] {
        let p = dir.join(file);
        let (_, j) = json(&[
            "verify",
            "--format=json",
            "--at=2022-01-01",
            p.to_str().unwrap(),
        ]);
        let c = &item(&j, "certificate")["facts"];
        assert_eq!(c["kind"], kind, "{file}");
        assert_eq!(c["team_id"], team, "{file}");
        assert!(
            !names(&j).contains(&"cert-untrusted".to_string()),
            "{file}: {j:#}"
        );
    }
    // apple-codesign's self-signed test identity: Apple's markers, but no Apple chain.
    let p12 = dir.join("self-signed-rsa-apple-distribution.p12");
    let (code, j) = json(&[
        "verify",
        "--format=json",
        "--at=2026-11-28",
        p12.to_str().unwrap(),
        "--cert-pass=pass:password",
    ]);
    assert_eq!(code, 1);
    assert_eq!(
        item(&j, "certificate")["facts"]["kind"],
        "Apple Distribution"
    );
    assert_eq!(names(&j), ["cert-untrusted"]);
    let pem = dir.join("self-signed-rsa-apple-distribution.pem");
    let (_, j) = json(&[
        "verify",
        "--format=json",
        "--at=2026-11-28",
        pem.to_str().unwrap(),
        "--trust-root",
        pem.to_str().unwrap(),
    ]);
    assert!(
        names(&j).is_empty(),
        "PEM with its key, trusted explicitly: {j:#}"
    );
    assert_eq!(item(&j, "certificate")["facts"]["has_private_key"], true);
    // Keychain Access export (SHA-1 MAC, iteration 1).
    let kc = dir.join("apple-codesign-testuser.p12");
    let (_, j) = json(&[
        "verify",
        "--format=json",
        "--at=2026-11-28",
        kc.to_str().unwrap(),
        "--cert-pass=pass:password123",
    ]);
    assert!(
        !names(&j).contains(&"input-unreadable".to_string()),
        "{j:#}"
    );
}

#[test]
fn real_ipas_with_entitlements_and_watch_apps() {
    let Some(dir) = common::conformance("ios/fastlane") else {
        return;
    };
    let ipa = dir.join("very-capable-app.ipa");
    let (_, j) = json(&[
        "verify",
        "--format=json",
        "--at=2019-01-01",
        ipa.to_str().unwrap(),
    ]);
    let n = names(&j);
    // Self-signed profile, but every one of its ~26 entitlements is granted.
    assert!(n.contains(&"profile-untrusted".to_string()), "{n:?}");
    assert!(!n.contains(&"entitlement-not-allowed".to_string()), "{n:?}");
    assert!(
        !n.contains(&"app-signer-not-in-profile".to_string()),
        "{n:?}"
    );
    let watch = dir.join("ContainsWatchApp.ipa");
    let (_, j) = json(&[
        "verify",
        "--format=json",
        "--at=2019-01-01",
        watch.to_str().unwrap(),
    ]);
    let kinds: Vec<_> = j["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "bundle")
        .map(|i| {
            (
                i["facts"]["kind"].as_str().unwrap().to_string(),
                i["facts"]["bundle_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        kinds.contains(&("watch app".into(), "com.example.Sample.watchkitapp".into())),
        "{kinds:?}"
    );
    // A skeleton without binaries: each missing executable is named.
    assert!(names(&j).contains(&"app-executable-missing".to_string()));
}
