//! The keystore signer policy applied to APK signers: APKs signed at test time
//! by Debian's apksigner with keytool keys (the debug key's DN, RSA 1024, a
//! short-lived certificate), fdroidserver's real MD5withRSA APKs, and a v1-only
//! APK with a DEX prepended (the Janus pattern, offsets fixed with `zip -A`).
//! apksigner accepts every one of them (it judges signatures, not policy);
//! wrapsign reports the finding, exits 1, and exits 0 once the name is
//! allowed on the command line or in wrapsign.toml's [levels].

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::apk::{
    apksigner_sign_sample_key, apksigner_verifies, error_names, finding_names, findings_named,
    keytool_rsa, run_ok, s, sample, verify_json, Tmp,
};
use crate::support::{conformance, tool};

/// A keytool keystore (store and key password `android`) with one key.
fn keytool_key(tmp: &Tmp, name: &str, dname: &str, bits: &str, days: &str) -> PathBuf {
    let ks = tmp.path(&format!("{name}.jks"));
    keytool_rsa(&ks, name, "android", dname, bits, days);
    ks
}

fn apksigner_sign(ks: &Path, input: &Path, out: &Path, extra: &[&str]) {
    let mut cmd = Command::new("apksigner");
    cmd.args(["sign", "--ks", s(ks), "--ks-pass", "pass:android"])
        .args(extra)
        .args(["--out", s(out), s(input)]);
    run_ok(&mut cmd);
}

fn tools() -> bool {
    tool("apksigner") && tool("keytool")
}

/// The finding fails the run, `--allow NAME` and `[levels] NAME = "allow"`
/// (one policy for keystores and APKs) let it pass.
fn fails_then_allowed(tmp: &Tmp, apk: &Path, names: &[&str]) {
    let (code, v) = verify_json(&[s(apk)]);
    assert_eq!(code, 1, "{v:#}");
    let errors = error_names(&v);
    for n in names {
        assert!(errors.contains(&n.to_string()), "{n} missing: {v:#}");
    }
    let mut args: Vec<&str> = Vec::new();
    for n in names {
        args.extend(["--allow", n]);
    }
    args.push(s(apk));
    let (code, v) = verify_json(&args);
    assert_eq!(code, 0, "allowed: {v:#}");
    let config = tmp.write(
        "levels.toml",
        format!(
            "[levels]\n{}",
            names
                .iter()
                .map(|n| format!("{n} = \"allow\"\n"))
                .collect::<String>()
        )
        .as_bytes(),
    );
    let (code, v) = verify_json(&["--config", s(&config), s(apk)]);
    assert_eq!(code, 0, "allowed by wrapsign.toml: {v:#}");
}

#[test]
fn debug_certificate_signer_fails_and_can_be_allowed() {
    if !tools() {
        return;
    }
    let tmp = Tmp::new();
    // The debug key's DN, but a 2048-bit key: only debug-certificate applies.
    let ks = keytool_key(
        &tmp,
        "androiddebugkey",
        "CN=Android Debug,O=Android,C=US",
        "2048",
        "10000",
    );
    let apk = tmp.path("debug.apk");
    apksigner_sign(&ks, &sample("unsigned/min21-target34.apk"), &apk, &[]);
    assert!(
        apksigner_verifies(&apk),
        "apksigner accepts the debug-signed APK"
    );
    let (_, v) = verify_json(&[s(&apk)]);
    let f = findings_named(&v, "debug-certificate");
    // One finding for the one certificate, naming every scheme it signs.
    assert_eq!(f.len(), 1, "{v:#}");
    let role = f[0]["details"]["role"].as_str().unwrap();
    assert!(
        role.contains("v1") && role.contains("v2") && role.contains("v3"),
        "{role}"
    );
    let subject = f[0]["subject"].as_str().unwrap();
    assert!(
        subject.contains("CN=Android Debug") && subject.contains("O=Android"),
        "{subject}"
    );
    fails_then_allowed(&tmp, &apk, &["debug-certificate"]);
}

#[test]
fn rsa_1024_signer_is_a_weak_key() {
    if !tools() {
        return;
    }
    let tmp = Tmp::new();
    let ks = keytool_key(
        &tmp,
        "small",
        "CN=Small Key,O=wrapsign test",
        "1024",
        "10000",
    );
    let apk = tmp.path("rsa1024.apk");
    // v2+v3 only: the weak key is judged on each v2+ scheme's signer.
    apksigner_sign(
        &ks,
        &sample("unsigned/min24-target34.apk"),
        &apk,
        &["--v1-signing-enabled", "false"],
    );
    assert!(apksigner_verifies(&apk));
    let (_, v) = verify_json(&[s(&apk)]);
    let f = findings_named(&v, "weak-key");
    assert_eq!(f.len(), 1, "{v:#}");
    assert_eq!(f[0]["details"]["key"], "RSA 1024");
    assert!(f[0]["message"]
        .as_str()
        .unwrap()
        .contains("wrapsign rotate"));
    fails_then_allowed(&tmp, &apk, &["weak-key"]);
}

#[test]
fn certificate_dates_are_information_only() {
    if !tools() {
        return;
    }
    let tmp = Tmp::new();
    // Valid for 2 days from now: short-lived now, expired later.
    let ks = keytool_key(&tmp, "brief", "CN=Brief,O=wrapsign test", "2048", "2");
    let apk = tmp.path("brief.apk");
    apksigner_sign(&ks, &sample("unsigned/min24-target34.apk"), &apk, &[]);
    let now = time::OffsetDateTime::now_utc();
    let day = |t: time::OffsetDateTime| {
        format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
    };
    let verify_at = |at: &str| -> (i32, Value) {
        let out = Command::new(crate::support::bin())
            .args(["verify", "--at", at, "--format", "json", s(&apk)])
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            serde_json::from_slice(&out.stdout).unwrap(),
        )
    };
    let (code, v) = verify_at(&day(now));
    assert_eq!(code, 0, "{v:#}");
    let f = findings_named(&v, "apk-signer-cert-short-lived");
    assert_eq!(f.len(), 1, "{v:#}");
    assert_eq!(f[0]["severity"], "info");
    let (code, v) = verify_at(&day(now + time::Duration::days(30)));
    assert_eq!(code, 0, "Android ignores APK certificate dates: {v:#}");
    let f = findings_named(&v, "apk-signer-cert-expired");
    assert_eq!(
        (f.len(), f[0]["severity"].as_str()),
        (1, Some("info")),
        "{v:#}"
    );
    // Anyone who wants Play's rules as a gate can deny it.
    let out = Command::new(crate::support::bin())
        .args(["verify", "--at", &day(now + time::Duration::days(30))])
        .args(["--deny", "apk-signer-cert-expired", s(&apk)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn real_md5_with_rsa_apks_are_a_weak_digest() {
    for name in [
        "org.bitbucket.tickytacky.mirrormirror_1.apk",
        "org.bitbucket.tickytacky.mirrormirror_4.apk",
    ] {
        let Some(apk) = conformance(&format!("realworld/fdroidserver/{name}")) else {
            return;
        };
        if tool("apksigner") {
            assert!(apksigner_verifies(&apk), "{name}: apksigner accepts MD5");
        }
        if tool("jarsigner") {
            // JDK 17's jarsigner, the other oracle: MD5 signatures count as unsigned.
            let out = Command::new("jarsigner")
                .args(["-verify", s(&apk)])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains("unsigned"), "{name}: jarsigner says {text}");
        }
        let (_, v) = verify_json(&[s(&apk)]);
        let f = findings_named(&v, "weak-digest");
        assert_eq!(f.len(), 1, "{name}: {v:#}");
        assert_eq!(f[0]["severity"], "error");
        assert_eq!(f[0]["details"]["digest_algorithm"], "1.2.840.113549.2.5");
        let tmp = Tmp::new();
        fails_then_allowed(&tmp, &apk, &["weak-digest"]);
    }
}

#[test]
fn sha1_v1_is_a_warning_unless_old_sdks_need_it() {
    if !tools() {
        return;
    }
    let tmp = Tmp::new();
    let ks = keytool_key(&tmp, "rel", "CN=Release,O=wrapsign test", "2048", "10000");
    // minSdk 14: apksigner signs v1 with SHA-1, as API 9-17 require.
    let old = tmp.path("min14.apk");
    apksigner_sign(
        &ks,
        &sample("unsigned/min21-target34.apk"),
        &old,
        &["--min-sdk-version", "14"],
    );
    let (code, v) = verify_json(&["--min-sdk", "14", s(&old)]);
    assert_eq!(code, 0, "{v:#}");
    assert!(
        !finding_names(&v).contains(&"weak-digest".to_string()),
        "{v:#}"
    );
    // The same SHA-1 signature judged for API 21+, where SHA-256 works: a warning.
    let (code, v) = verify_json(&["--min-sdk", "21", s(&old)]);
    let f = findings_named(&v, "weak-digest");
    assert_eq!((code, f.len()), (0, 1), "{v:#}");
    assert_eq!(f[0]["severity"], "warning");
}

/// A v1-only APK with a DEX file in front of its first entry, offsets fixed
/// with `zip -A` as the Janus proof of concept does.
fn janus_apk(tmp: &Tmp) -> Option<PathBuf> {
    if !tools() || !tool("zip") {
        return None;
    }
    let ks = keytool_key(tmp, "rel", "CN=Release,O=wrapsign test", "2048", "10000");
    let signed = tmp.path("v1.apk");
    apksigner_sign(
        &ks,
        &sample("unsigned/min21-target29.apk"),
        &signed,
        &[
            "--v2-signing-enabled",
            "false",
            "--v3-signing-enabled",
            "false",
        ],
    );
    // 16 KiB of DEX, so every entry keeps its alignment and only the prefix is judged.
    let mut dex = b"dex\n035\0".to_vec();
    dex.resize(16384, 0);
    let mut bytes = dex.clone();
    bytes.extend(std::fs::read(&signed).unwrap());
    let janus = tmp.write("janus.apk", &bytes);
    run_ok(Command::new("zip").args(["-A", s(&janus)]));
    Some(janus)
}

#[test]
fn dex_before_the_first_entry_of_a_v1_only_apk_is_janus() {
    let tmp = Tmp::new();
    let Some(apk) = janus_apk(&tmp) else { return };
    // apksigner accepts it: v1 does not cover the prefix.
    assert!(apksigner_verifies(&apk), "apksigner accepts the Janus APK");
    let (_, v) = verify_json(&[s(&apk)]);
    let f = findings_named(&v, "apk-prefix-data");
    assert_eq!(f.len(), 1, "{v:#}");
    assert_eq!(f[0]["severity"], "error");
    assert_eq!(f[0]["details"]["bytes"], 16384);
    assert!(f[0]["details"]["looks_like"]
        .as_str()
        .unwrap()
        .contains("DEX"));
    assert!(f[0]["details"]["head"]
        .as_str()
        .unwrap()
        .starts_with("6465780a"));
    fails_then_allowed(&tmp, &apk, &["apk-prefix-data"]);
}

#[test]
fn fdroid_janus_apk_is_reported() {
    let Some(apk) = conformance("realworld/fdroidserver/janus.apk") else {
        return;
    };
    let (code, v) = verify_json(&[s(&apk)]);
    assert_eq!(code, 1);
    let f = findings_named(&v, "apk-prefix-data");
    assert_eq!(f.len(), 1, "{v:#}");
    assert_eq!(f[0]["severity"], "error");
    // The same DEX magic MANIFEST.tsv records (PREFIX=b'dex\n').
    assert!(f[0]["details"]["head"]
        .as_str()
        .unwrap()
        .starts_with("6465780a"));
}

#[test]
fn a_v2_signed_prefix_is_only_a_warning() {
    if !tool("zip") {
        return;
    }
    // An unsigned APK with bytes in front, then signed by wrapsign itself with
    // v2+v3 for API 24+: v2 covers every byte and every version checks it.
    let tmp = Tmp::new();
    // 16 KiB, so every entry keeps its alignment and only the prefix is judged.
    let mut bytes = b"#!/bin/sh\nexit 0\n".to_vec();
    bytes.resize(16384, b'#');
    bytes.extend(std::fs::read(sample("unsigned/min24-target34.apk")).unwrap());
    let pre = tmp.write("pre.apk", &bytes);
    run_ok(Command::new("zip").args(["-A", s(&pre)]));
    let (code, v) = verify_json(&["--allow", "apk-unsigned", s(&pre)]);
    // Unsigned, so only v1 could decide: an error.
    assert_eq!(
        findings_named(&v, "apk-prefix-data")[0]["severity"],
        "error",
        "{v:#}"
    );
    assert_eq!(code, 1);
    if !tool("apksigner") {
        return;
    }
    let signed = tmp.path("signed.apk");
    apksigner_sign_sample_key(&pre, &signed);
    let b = std::fs::read(&signed).unwrap();
    if !b.starts_with(b"#!") {
        skip!("this apksigner drops bytes before the first entry");
        return;
    }
    let (code, v) = verify_json(&[s(&signed)]);
    let f = findings_named(&v, "apk-prefix-data");
    assert_eq!(
        (code, f[0]["severity"].as_str()),
        (0, Some("warning")),
        "{v:#}"
    );
    assert!(f[0]["details"]["looks_like"]
        .as_str()
        .unwrap()
        .contains("script"));
}
