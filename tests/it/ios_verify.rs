//! `wrapsign verify` on iOS material, through the real binary: every finding name
//! is produced by a fixture with its exit code; bad input never panics.

use crate::support as common;

use std::io::{Read, Write};
use std::path::Path;

use common::{run, run_with, Run};

const TRUST: &str = "--trust-root=signing/ca/test-root-ca.pem";
const AT: &str = "--at=2026-11-28";
const PASS: &str = "--cert-pass=file:signing/ios/p12.pass";

fn verify(extra: &[&str]) -> Run {
    let mut args = vec!["verify", TRUST, AT, "--format=json"];
    args.extend_from_slice(extra);
    run(&args)
}

fn finding<'a>(r: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no {name} finding in {r:#}"))
}

fn assert_no_panic(r: &Run) {
    assert!(!r.stderr.contains("panicked"), "panic: {}", r.stderr);
}

/// Copies a zip, letting `f` drop (None) or rewrite (Some(data)) each entry.
fn rezip(src: &str, dest: &Path, f: impl Fn(&str, Vec<u8>) -> Option<Vec<u8>>) {
    let mut z = zip::ZipArchive::new(std::fs::File::open(common::repo(src)).unwrap()).unwrap();
    let mut w = zip::ZipWriter::new(std::fs::File::create(dest).unwrap());
    for i in 0..z.len() {
        let mut e = z.by_index(i).unwrap();
        let name = e.name().to_string();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        if e.is_dir() {
            continue;
        }
        if let Some(data) = f(&name, data) {
            w.start_file(name, zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(&data).unwrap();
        }
    }
    w.finish().unwrap();
}

#[test]
fn clean_identity_profiles_and_app_pass() {
    let r = verify(&[
        "--cert=signing/ios/dist.p12",
        PASS,
        "--profile=profiles/enterprise-app.mobileprovision",
        "--profile=profiles/enterprise-share.mobileprovision",
        "--app=samples/WrapDemo.ipa",
    ]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let j = r.json();
    assert_eq!(j["findings"].as_array().unwrap().len(), 0, "{j:#}");
    assert_eq!(j["summary"]["errors"], 0);
    let items = j["items"].as_array().unwrap();
    let cert = items.iter().find(|i| i["kind"] == "certificate").unwrap();
    assert_eq!(cert["facts"]["kind"], "Apple Distribution");
    assert_eq!(cert["facts"]["team_id"], "WSTEST0001");
    assert_eq!(cert["facts"]["has_private_key"], true);
    let bundles: Vec<_> = items.iter().filter(|i| i["kind"] == "bundle").collect();
    let ids: Vec<_> = bundles
        .iter()
        .map(|b| b["facts"]["bundle_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "com.example.wrapdemo",
            "com.example.wrapdemo.WrapKit",
            "com.example.wrapdemo.share"
        ]
    );
    // The main app's signer is the distribution certificate, listed in its profile.
    let sha1 = cert["facts"]["sha1"].as_str().unwrap();
    assert_eq!(bundles[0]["facts"]["signer_sha1"], sha1);
    assert_eq!(bundles[0]["facts"]["team_id"], "WSTEST0001");
}

#[test]
fn human_output_says_pass_and_names_findings() {
    let r = run(&["verify", TRUST, AT, "--cert=signing/ios/dist.p12", PASS]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("PASS: 0 errors"), "{}", r.stdout);
    let r = run(&["verify", TRUST, AT, "profiles/expired.mobileprovision"]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("error[profile-expired]"), "{}", r.stdout);
    assert!(r.stdout.contains("FAIL: 1 error"), "{}", r.stdout);
}

/// One fixture per finding name, with the exit code it must give.
#[test]
fn every_ios_finding_name_has_a_fixture() {
    let cases: &[(&[&str], &str, &str, i32)] = &[
        (
            &["signing/ios/expired-dist.p12", PASS],
            "cert-expired",
            "error",
            1,
        ),
        (
            &["signing/ios/dist.p12", PASS, "--at=2024-06-01"],
            "cert-not-yet-valid",
            "error",
            1,
        ),
        (
            &["signing/ios/dist.p12", PASS, "--at=2044-12-20"],
            "cert-expiring",
            "warning",
            0,
        ),
        (
            &["signing/ios/dev.p12", PASS],
            "cert-not-distribution",
            "error",
            1,
        ),
        (
            &["--cert=signing/ios/plain-codesign.p12", PASS],
            "cert-not-distribution",
            "error",
            1,
        ),
        (
            &["--cert=signing/ios/dist.pem", "--key=signing/ios/other.key"],
            "cert-key-mismatch",
            "error",
            1,
        ),
        (
            &["signing/ios/rogue-dist.p12", PASS],
            "cert-untrusted",
            "error",
            1,
        ),
        (
            &["profiles/expired.mobileprovision"],
            "profile-expired",
            "error",
            1,
        ),
        (
            &["profiles/expiring.mobileprovision", "--at=2027-01-01"],
            "profile-expiring",
            "warning",
            0,
        ),
        (
            &["profiles/tampered.mobileprovision"],
            "profile-signature-invalid",
            "error",
            1,
        ),
        (
            &["profiles/untrusted.mobileprovision"],
            "profile-untrusted",
            "error",
            1,
        ),
        (
            &["profiles/wildcard.mobileprovision"],
            "profile-wildcard-app-id",
            "error",
            1,
        ),
        (
            &["profiles/wildcard-prefix.mobileprovision"],
            "profile-wildcard-app-id",
            "error",
            1,
        ),
        (
            &[
                "signing/ios/dist.p12",
                PASS,
                "profiles/wrong-team.mobileprovision",
            ],
            "profile-team-mismatch",
            "error",
            1,
        ),
        (
            &[
                "signing/ios/dist.p12",
                PASS,
                "profiles/cert-missing.mobileprovision",
            ],
            "profile-cert-missing",
            "error",
            1,
        ),
        (
            &[
                "signing/ios/dist.p12",
                PASS,
                "profiles/development-with-dist.mobileprovision",
            ],
            "profile-type-mismatch",
            "error",
            1,
        ),
        (
            &[
                "signing/ios/dev.p12",
                PASS,
                "profiles/enterprise-app.mobileprovision",
                "--allow=cert-not-distribution",
            ],
            "profile-type-mismatch",
            "error",
            1,
        ),
        (
            &["samples/WrapDemo-wrong-id.ipa"],
            "bundle-id-mismatch",
            "error",
            1,
        ),
        (
            &[
                "--profile=profiles/enterprise-share.mobileprovision",
                "--app=samples/WrapDemo.ipa",
            ],
            "bundle-id-mismatch",
            "error",
            1,
        ),
        (
            &["samples/WrapDemo-extra-entitlement.ipa"],
            "entitlement-not-allowed",
            "error",
            1,
        ),
        (
            &["samples/WrapDemo-unsigned.ipa"],
            "app-unsigned",
            "warning",
            0,
        ),
        (
            &["profiles/truncated.mobileprovision"],
            "input-unreadable",
            "error",
            2,
        ),
        (
            &["profiles/not-a-profile.mobileprovision"],
            "input-unreadable",
            "error",
            2,
        ),
        (
            &["signing/ios/dist.p12", "--cert-pass=pass:not-the-password"],
            "password-wrong",
            "error",
            2,
        ),
        (&["does/not/exist.p12"], "input-unreadable", "error", 2),
    ];
    for (args, name, severity, code) in cases {
        let r = verify(args);
        assert_no_panic(&r);
        let j = r.json();
        let f = finding(&j, name);
        assert_eq!(f["severity"], *severity, "{args:?}: {f:#}");
        assert!(!f["message"].as_str().unwrap().is_empty());
        assert!(!f["file"].as_str().unwrap().is_empty());
        assert_eq!(
            r.code, *code,
            "{args:?} -> {name}: exit {}\n{}",
            r.code, r.stdout
        );
    }
}

#[test]
fn both_pkcs12_encodings_yield_the_same_identity() {
    let sha1 = |p: &str| {
        let r = verify(&[p, PASS]);
        assert_eq!(r.code, 0, "{p}: {}", r.stdout);
        r.json()["items"][0]["facts"]["sha1"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // Modern: PBES2/AES-256-CBC + HMAC-SHA256; legacy: RC2-40/3DES + SHA-1 MAC.
    assert_eq!(
        sha1("signing/ios/dist.p12"),
        sha1("signing/ios/dist-legacy.p12")
    );
    assert_eq!(
        sha1("signing/ios/dist-ec.p12"),
        sha1("signing/ios/dist-ec-legacy.p12")
    );
    // The sha1 matches the PEM certificate and the committed inventory of fixtures.
    let tsv = std::fs::read_to_string(common::repo("signing/identities.tsv")).unwrap();
    let want = tsv
        .lines()
        .find(|l| {
            l.starts_with("ios/dist.pem\t") || l.starts_with("dist\t") || l.contains("ios/dist.pem")
        })
        .expect("dist row in identities.tsv")
        .to_lowercase();
    assert!(want.contains(&sha1("signing/ios/dist.p12")), "{want}");
}

#[test]
fn conformance_p12_files_in_both_encodings() {
    let Some(dir) = common::conformance("ios/generated") else {
        return;
    };
    for f in [
        "isign-test.modern-aes256.p12",
        "isign-test.legacy-rc2-3des.p12",
    ] {
        let p = dir.join(f);
        let r = run(&[
            "verify",
            "--format=json",
            "--at=2020-01-01",
            // A code-signing certificate without Apple's markers: --cert says it is
            // the iOS identity (a plain path would be read as an Android keystore).
            "--cert",
            p.to_str().unwrap(),
            "--cert-pass=pass:isign",
        ]);
        let j = r.json();
        let cert = j["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["kind"] == "certificate")
            .unwrap();
        assert!(
            cert["subject"].as_str().unwrap().contains("isign_tests"),
            "{f}"
        );
        assert_eq!(cert["facts"]["has_private_key"], true, "{f}");
        // Self-signed, so untrusted; a code-signing cert without Apple's markers.
        assert!(
            r.has("cert-untrusted") && r.has("cert-not-distribution"),
            "{f}: {:?}",
            r.names()
        );
        assert!(!r.has("cert-key-mismatch"), "{f}");
    }
}

#[test]
fn password_sources_env_file_stdin_and_no_leaks() {
    let secret = "wrapsign-test";
    let ok = |r: &Run| {
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        assert!(!r.stdout.contains(secret) && !r.stderr.contains(secret));
    };
    ok(&run_with(
        &[
            "verify",
            TRUST,
            AT,
            "signing/ios/dist.p12",
            "--cert-pass=env:WS_P12_PASS",
        ],
        &[("WS_P12_PASS", secret)],
        None,
    ));
    ok(&run_with(
        &[
            "verify",
            TRUST,
            AT,
            "signing/ios/dist.p12",
            "--cert-pass=stdin",
        ],
        &[],
        Some("wrapsign-test\n"),
    ));
    ok(&run(&[
        "verify",
        TRUST,
        AT,
        "signing/ios/dist.p12",
        &format!("--cert-pass=pass:{secret}"),
    ]));

    // A wrong password is named by its source, never echoed.
    let wrong = "Sup3r-S3cret-Value";
    for args in [
        vec![
            "verify",
            TRUST,
            AT,
            "signing/ios/dist.p12",
            "--cert-pass=env:WS_WRONG",
        ],
        vec![
            "verify",
            TRUST,
            AT,
            "--format=json",
            "signing/ios/dist-legacy.p12",
            "--cert-pass=env:WS_WRONG",
        ],
    ] {
        let r = run_with(&args, &[("WS_WRONG", wrong)], None);
        assert_eq!(r.code, 2);
        assert!(r.stdout.contains("wrong password"), "{}", r.stdout);
        assert!(r.stdout.contains("env:WS_WRONG"), "{}", r.stdout);
        assert!(!r.stdout.contains(wrong) && !r.stderr.contains(wrong));
    }
    // A malformed SPEC (probably the password itself) is refused without echo.
    let r = run(&[
        "verify",
        "signing/ios/dist.p12",
        &format!("--cert-pass={wrong}"),
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("pass:VALUE"), "{}", r.stderr);
    assert!(!r.stderr.contains(wrong) && !r.stdout.contains(wrong));
    // Unset variable and missing file: clear messages, exit 2.
    let r = verify(&[
        "signing/ios/dist.p12",
        "--cert-pass=env:WS_NOT_SET_ANYWHERE",
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stdout.contains("WS_NOT_SET_ANYWHERE is not set"));
    // No password and no terminal: a hint, not a hang.
    let r = verify(&["signing/ios/dist.p12"]);
    assert_eq!(r.code, 2);
    assert!(r.stdout.contains("no password given"), "{}", r.stdout);
}

#[test]
fn at_puts_material_back_in_its_window_and_deny_warnings_fails() {
    // Expired today, valid in 2022.
    let r = verify(&["signing/ios/expired-dist.p12", PASS, "--at=2022-06-01"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let r = verify(&["profiles/expired.mobileprovision", "--at=2022-06-01"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    // Warning horizon is configurable.
    let r = verify(&[
        "profiles/expiring.mobileprovision",
        "--at=2026-11-28",
        "--warn-days=60",
    ]);
    assert!(r.has("profile-expiring"));
    let r = verify(&[
        "profiles/expiring.mobileprovision",
        "--at=2026-11-28",
        "--warn-days=30",
    ]);
    assert!(!r.has("profile-expiring"));
    // --deny-warnings turns a warning into a failing run.
    let r = verify(&[
        "profiles/expiring.mobileprovision",
        "--at=2027-01-01",
        "--deny-warnings",
    ]);
    assert_eq!(r.code, 1);
    let r = verify(&[
        "profiles/expiring.mobileprovision",
        "--at=2027-01-01",
        "--fail-on=warning",
    ]);
    assert_eq!(r.code, 1);
    // A bad --at is a usage error.
    let r = run(&[
        "verify",
        "--at=next tuesday",
        "profiles/expired.mobileprovision",
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("YYYY-MM-DD"), "{}", r.stderr);
}

#[test]
fn levels_downgrade_and_drop_findings() {
    let r = verify(&[
        "profiles/wildcard.mobileprovision",
        "--warn=profile-wildcard-app-id",
    ]);
    assert_eq!(r.code, 0);
    assert_eq!(
        finding(&r.json(), "profile-wildcard-app-id")["severity"],
        "warning"
    );
    let r = verify(&[
        "profiles/wildcard.mobileprovision",
        "--allow=profile-wildcard-app-id",
    ]);
    assert_eq!(r.code, 0);
    assert!(!r.has("profile-wildcard-app-id"));
    let r = verify(&[
        "profiles/expiring.mobileprovision",
        "--at=2027-01-01",
        "--deny=profile-expiring",
    ]);
    assert_eq!(r.code, 1);
    let r = run(&[
        "verify",
        "--warn=no-such-check",
        "profiles/wildcard.mobileprovision",
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("unknown finding name"));
}

#[test]
fn app_whose_signer_is_not_in_its_profile() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("swapped.ipa");
    let other = std::fs::read(common::repo("profiles/cert-missing.mobileprovision")).unwrap();
    rezip("samples/WrapDemo.ipa", &out, |name, data| {
        Some(if name == "Payload/WrapDemo.app/embedded.mobileprovision" {
            other.clone()
        } else {
            data
        })
    });
    let r = verify(&[out.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(r.has("app-signer-not-in-profile"), "{:?}", r.names());
    // The given identity cannot re-sign with that profile either.
    let r = verify(&[
        "--cert=signing/ios/dist.p12",
        PASS,
        "--app",
        out.to_str().unwrap(),
    ]);
    assert!(r.has("profile-cert-missing"), "{:?}", r.names());
}

#[test]
fn bundles_without_profile_or_executable() {
    let dir = tempfile::tempdir().unwrap();
    let no_profile = dir.path().join("noprofile.ipa");
    rezip(
        "samples/WrapDemo-unsigned.ipa",
        &no_profile,
        |name, data| {
            (!name.ends_with("PlugIns/WrapShare.appex/embedded.mobileprovision")).then_some(data)
        },
    );
    let r = verify(&[no_profile.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    let j = r.json();
    let f = finding(&j, "profile-missing");
    assert!(
        f["subject"]
            .as_str()
            .unwrap()
            .contains("com.example.wrapdemo.share"),
        "{f:#}"
    );

    let no_exe = dir.path().join("noexe.ipa");
    rezip("samples/WrapDemo.ipa", &no_exe, |name, data| {
        (name != "Payload/WrapDemo.app/WrapDemo").then_some(data)
    });
    let r = verify(&[no_exe.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(r.has("app-executable-missing"), "{:?}", r.names());
}

#[test]
fn bad_input_is_refused_without_panics() {
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n);
    // Truncated .p12, profile and IPA.
    let cut = |src: &str, dest: &Path| {
        let data = std::fs::read(common::repo(src)).unwrap();
        std::fs::write(dest, &data[..data.len() / 2]).unwrap();
    };
    cut("signing/ios/dist.p12", &d("cut.p12"));
    cut("samples/WrapDemo.ipa", &d("cut.ipa"));
    // A cut archive says so, and where it was cut; both exit 2 (nothing checked).
    for (p, name) in [
        ("cut.p12", "input-unreadable"),
        ("cut.ipa", "archive-truncated"),
    ] {
        let r = verify(&[d(p).to_str().unwrap(), PASS]);
        assert_no_panic(&r);
        assert_eq!(r.code, 2, "{p}: {}", r.stdout);
        let j = r.json();
        let f = finding(&j, name);
        assert!(f["message"].as_str().unwrap().contains(p), "{f:#}");
    }
    // Zip slip.
    let slip = d("slip.ipa");
    {
        let mut w = zip::ZipWriter::new(std::fs::File::create(&slip).unwrap());
        let o = zip::write::SimpleFileOptions::default();
        w.start_file("Payload/A.app/Info.plist", o).unwrap();
        w.write_all(b"<plist/>").unwrap();
        w.start_file("Payload/A.app/../../../etc/evil", o).unwrap();
        w.write_all(b"x").unwrap();
        w.finish().unwrap();
    }
    let r = verify(&[slip.to_str().unwrap()]);
    assert_no_panic(&r);
    assert_eq!(r.code, 1);
    assert!(r.has("archive-unsafe"), "{:?}", r.names());
    // An Info.plist that is not a plist.
    let bad_plist = d("badplist.ipa");
    rezip("samples/WrapDemo.ipa", &bad_plist, |name, data| {
        Some(if name == "Payload/WrapDemo.app/Info.plist" {
            b"\x00\x01garbage".to_vec()
        } else {
            data
        })
    });
    let r = verify(&[bad_plist.to_str().unwrap()]);
    assert_no_panic(&r);
    assert_eq!(r.code, 2);
    assert!(
        r.stdout.contains("Info.plist is not a valid plist"),
        "{}",
        r.stdout
    );
    // A truncated Mach-O inside an otherwise fine IPA.
    let bad_macho = d("badmacho.ipa");
    rezip("samples/WrapDemo.ipa", &bad_macho, |name, data| {
        Some(if name == "Payload/WrapDemo.app/WrapDemo" {
            data[..200].to_vec()
        } else {
            data
        })
    });
    let r = verify(&[bad_macho.to_str().unwrap()]);
    assert_no_panic(&r);
    assert_ne!(r.code, 0);
    assert!(r.has("input-unreadable"), "{:?}", r.names());
    // Not a zip at all, named .ipa.
    std::fs::write(d("text.ipa"), "hello").unwrap();
    let r = verify(&[d("text.ipa").to_str().unwrap()]);
    assert_eq!(r.code, 2);
}

#[test]
fn verify_never_modifies_its_inputs() {
    let files = [
        "signing/ios/dist.p12",
        "profiles/enterprise-app.mobileprovision",
        "samples/WrapDemo.ipa",
    ];
    let before: Vec<_> = files
        .iter()
        .map(|f| common::sha256_file(&common::repo(f)))
        .collect();
    let r = verify(&[files[0], PASS, files[1], files[2]]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let after: Vec<_> = files
        .iter()
        .map(|f| common::sha256_file(&common::repo(f)))
        .collect();
    assert_eq!(before, after);
}

#[test]
fn app_directory_input_is_read_like_an_ipa() {
    let dir = tempfile::tempdir().unwrap();
    let mut z =
        zip::ZipArchive::new(std::fs::File::open(common::repo("samples/WrapDemo.ipa")).unwrap())
            .unwrap();
    z.extract(dir.path()).unwrap();
    let app = dir.path().join("Payload/WrapDemo.app");
    let r = verify(&[app.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let j = r.json();
    let n = j["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "bundle")
        .count();
    assert_eq!(n, 3);
}

#[test]
fn ber_indefinite_length_profiles_parse_and_verify() {
    if !common::tool("openssl") {
        return;
    }
    // `openssl cms -stream` writes indefinite-length BER, as some real profiles are.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ber.mobileprovision");
    let st = std::process::Command::new("openssl")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "cms",
            "-sign",
            "-stream",
            "-binary",
            "-nodetach",
            "-outform",
            "DER",
            "-md",
            "sha256",
            "-nosmimecap",
            "-signer",
            "signing/ios/profile-signer.pem",
            "-inkey",
            "signing/ios/profile-signer.key",
            "-certfile",
            "signing/ca/test-iphone-ca.pem",
            "-in",
            "profiles/src/enterprise-app.plist",
            "-out",
        ])
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success());
    let data = std::fs::read(&out).unwrap();
    assert_eq!(
        &data[..2],
        &[0x30, 0x80],
        "expected an indefinite-length SEQUENCE"
    );
    let r = verify(&["--cert=signing/ios/dist.p12", PASS, out.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.names().is_empty(), "{:?}", r.names());
    let j = r.json();
    let p = j["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "profile")
        .unwrap();
    assert_eq!(p["facts"]["app_id"], "WSTEST0001.com.example.wrapdemo");
}
