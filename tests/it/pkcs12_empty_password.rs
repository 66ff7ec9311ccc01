//! PKCS#12 files with an empty password open with an empty `--cert-pass` or
//! `--ks-pass`, whichever way the empty password was encoded: as an empty
//! BMPString (OpenSSL 3, keytool) or as no bytes at all (macOS Keychain,
//! Ruby/OpenSSL 1.x, as in fastlane's real fixtures). openssl is the oracle for
//! which certificate is inside.

use std::path::Path;
use std::process::Command;

use crate::support::{self, conformance, run};

/// The real-world .p12 files whose MANIFEST.tsv password is empty.
fn empty_password_p12s() -> Vec<String> {
    let Some(manifest) = conformance("realworld/MANIFEST.tsv") else {
        return Vec::new();
    };
    let text = std::fs::read_to_string(manifest).unwrap();
    let rows: Vec<String> = text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            (cols.get(5) == Some(&"p12")
                && cols
                    .get(6)
                    .is_some_and(|p| p.starts_with("(empty)") || p.starts_with("(none")))
            .then(|| format!("realworld/{}", cols[0]))
        })
        .collect();
    assert!(
        rows.len() >= 4,
        "MANIFEST.tsv lists the empty-password files"
    );
    rows
}

/// The leaf certificate's SHA-256 as openssl reads it (it tries both encodings).
fn openssl_leaf_sha256(p12: &Path) -> Option<String> {
    let out = Command::new("openssl")
        .args([
            "pkcs12", "-legacy", "-nokeys", "-clcerts", "-passin", "pass:", "-in",
        ])
        .arg(p12)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let fp = Command::new("sh")
        .arg("-c")
        .arg("openssl x509 -noout -fingerprint -sha256")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(&out.stdout)?;
            c.wait_with_output()
        })
        .ok()?;
    let text = String::from_utf8_lossy(&fp.stdout);
    Some(
        text.split('=')
            .nth(1)?
            .trim()
            .replace(':', "")
            .to_lowercase(),
    )
}

#[test]
fn empty_password_identities_open_with_an_empty_cert_pass() {
    for rel in empty_password_p12s() {
        let p = conformance(&rel).unwrap();
        // Inside each certificate's validity, so only the opening is judged.
        let r = run(&[
            "verify",
            "--cert",
            p.to_str().unwrap(),
            "--cert-pass",
            "pass:",
            "--at",
            "2017-01-01",
            "--format",
            "json",
        ]);
        let v = r.json();
        assert!(
            !r.has("input-unreadable") && r.code != 2,
            "{rel} does not open with an empty password: {}",
            r.stdout
        );
        let item = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["kind"] == "certificate")
            .unwrap_or_else(|| panic!("{rel}: no certificate item: {}", r.stdout));
        assert_eq!(item["facts"]["has_private_key"], true, "{rel}");
        if support::tool("openssl") {
            let theirs = openssl_leaf_sha256(&p).expect("openssl opens it with pass:");
            assert_eq!(item["facts"]["sha256"], theirs.as_str(), "{rel}");
        }
    }
}

#[test]
fn empty_password_keystores_open_with_an_empty_ks_pass() {
    for rel in empty_password_p12s() {
        let p = conformance(&rel).unwrap();
        let r = run(&[
            "verify",
            "--keystore",
            p.to_str().unwrap(),
            "--ks-pass",
            "pass:",
            "--at",
            "2017-01-01",
            "--format",
            "json",
        ]);
        assert!(
            !r.has("keystore-password-wrong") && !r.has("input-unreadable"),
            "{rel}: {}",
            r.stdout
        );
        let entries: Vec<_> = r.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["kind"] == "keystore-entry")
            .cloned()
            .collect();
        assert!(
            entries
                .iter()
                .any(|e| e["facts"]["private_key"] == "matches certificate"),
            "{rel}: the key is unlocked and matches: {entries:?}"
        );
    }
}

#[test]
fn a_wrong_password_is_still_wrong() {
    let Some(p) = conformance("realworld/fastlane/signing/PrivateKey.p12") else {
        return;
    };
    let r = run(&[
        "verify",
        "--cert",
        p.to_str().unwrap(),
        "--cert-pass",
        "pass:fastlane",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(r.stdout.contains("wrong password"), "{}", r.stdout);
}
