//! PKCS#12 files with an empty password open with an empty `--cert-pass` or
//! `--ks-pass`, whichever way the empty password was encoded: as an empty
//! BMPString (OpenSSL 3, keytool) or as no bytes at all (macOS Keychain,
//! Ruby/OpenSSL 1.x, as in fastlane's real fixtures). openssl is the oracle for
//! which certificate is inside.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

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

/// The item a `.p12` gives: an identity (`certificate`) or a keystore entry,
/// whichever the material is (one PKCS#12 rule, whatever flag names it), with
/// whether its key was unlocked and matches.
fn opened_item(v: &Value, rel: &str) -> (String, bool) {
    let item = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "certificate" || i["kind"] == "keystore-entry")
        .unwrap_or_else(|| panic!("{rel}: no certificate or keystore entry: {v:#}"));
    let key = item["facts"]["has_private_key"] == true
        || item["facts"]["private_key"] == "matches certificate";
    (item["facts"]["sha256"].as_str().unwrap().to_string(), key)
}

#[test]
fn empty_password_p12s_open_with_an_empty_password_on_every_flag() {
    for rel in empty_password_p12s() {
        let p = conformance(&rel).unwrap();
        let theirs = support::tool("openssl")
            .then(|| openssl_leaf_sha256(&p).expect("openssl opens it with pass:"));
        // Inside each certificate's validity, so only the opening is judged.
        for (flag, pass) in [("--cert", "--cert-pass"), ("--keystore", "--ks-pass")] {
            let r = run(&[
                "verify",
                flag,
                p.to_str().unwrap(),
                pass,
                "pass:",
                "--at",
                "2017-01-01",
                "--format",
                "json",
            ]);
            let v = r.json();
            assert!(
                !r.has("input-unreadable") && !r.has("keystore-password-wrong") && r.code != 2,
                "{rel} does not open with an empty {pass}: {}",
                r.stdout
            );
            let (sha256, key) = opened_item(&v, &rel);
            assert!(
                key,
                "{rel} {flag}: the private key is unlocked and matches: {v:#}"
            );
            if let Some(t) = &theirs {
                assert_eq!(&sha256, t, "{rel} {flag}");
            }
        }
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
