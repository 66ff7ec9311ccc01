//! `wrapsign sign app.apk`: every APK it signs verifies with Debian's
//! `apksigner verify -v` and with `wrapsign verify`, and `zipalign -c -p 4`
//! accepts it; apksig's golden outputs are reproduced byte for byte; re-signing
//! leaves only the new signer; the keystore gate and bad inputs write nothing.

use crate::support as common;
use crate::support::apk as apk_support;
use crate::support::files_in;

use std::path::{Path, PathBuf};
use std::process::Command;

use apk_support::*;
use serde_json::Value;
use sha2::{Digest, Sha256};

fn conformance(name: &str) -> PathBuf {
    root().join("../shared/conformance/apksig").join(name)
}

fn keystore(name: &str) -> String {
    root()
        .join("signing/android")
        .join(name)
        .display()
        .to_string()
}

const KS_PASS: &str = "pass:wrapsign-test";

/// Runs `wrapsign sign --at AT --format json ARGS`; returns (exit code, JSON).
fn sign(args: &[&str]) -> (i32, Value) {
    let out = Command::new(bin())
        .args(["sign", "--at", AT, "--format", "json"])
        .args(args)
        .output()
        .expect("run wrapsign");
    let code = out.status.code().expect("exit code");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "sign {args:?}: stdout is not JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, v)
}

fn sha256(p: &Path) -> Vec<u8> {
    Sha256::digest(read(p)).to_vec()
}

/// `apksigner verify -v [extra] apk`; None when apksigner is absent.
fn apksigner_verify(apk: &Path, extra: &[&str]) -> Option<(bool, String)> {
    if !have("apksigner") {
        skip!("apksigner not installed");
        return None;
    }
    let out = Command::new("apksigner")
        .args(["verify", "-v", "--print-certs"])
        .args(extra)
        .arg(apk)
        .output()
        .expect("run apksigner");
    Some((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    ))
}

fn zipalign_ok(apk: &Path) -> Option<bool> {
    if !have("zipalign") {
        skip!("zipalign not installed");
        return None;
    }
    Some(
        Command::new("zipalign")
            .args(["-c", "-p", "4"])
            .arg(apk)
            .status()
            .expect("run zipalign")
            .success(),
    )
}

fn le16(b: &[u8], at: usize) -> usize {
    u16::from_le_bytes([b[at], b[at + 1]]) as usize
}

fn le32(b: &[u8], at: usize) -> usize {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize
}

/// (name, compressed?, data offset) of every entry, read independently of wrapsign.
fn entries(b: &[u8]) -> Vec<(String, bool, usize)> {
    let (e, cd, _) = eocd(b);
    let count = le16(b, e + 10);
    let mut out = Vec::new();
    let mut p = cd;
    for _ in 0..count {
        let method = le16(b, p + 10);
        let (nl, el, cl) = (le16(b, p + 28), le16(b, p + 30), le16(b, p + 32));
        let name = String::from_utf8_lossy(&b[p + 46..p + 46 + nl]).into_owned();
        let lfh = le32(b, p + 42);
        let data = lfh + 30 + le16(b, lfh + 26) + le16(b, lfh + 28);
        out.push((name, method != 0, data));
        p += 46 + nl + el + cl;
    }
    out
}

/// Every uncompressed entry on 4 bytes, every uncompressed .so on 16 KiB.
fn assert_aligned(apk: &Path) {
    let b = read(apk);
    let list = entries(&b);
    assert!(
        list.iter().any(|(n, c, _)| n.ends_with(".so") && !c),
        "no stored .so to check"
    );
    for (name, compressed, data) in list {
        if compressed {
            continue;
        }
        assert_eq!(data % 4, 0, "{name} at {data} in {}", apk.display());
        if name.ends_with(".so") {
            assert_eq!(data % 16384, 0, "{name} at {data} is not on a 16 KiB page");
        }
    }
}

/// Both verifiers accept the APK; returns wrapsign's JSON.
fn assert_verifies(apk: &Path, min_sdk: Option<&str>) -> Value {
    assert_verifies_with(apk, min_sdk, &[])
}

fn assert_verifies_with(apk: &Path, min_sdk: Option<&str>, policy: &[&str]) -> Value {
    let mut args = vec![s(apk)];
    args.extend(policy);
    if let Some(m) = min_sdk {
        args.extend(["--min-sdk", m]);
    }
    let (code, v) = verify_json(&args);
    assert_eq!(code, 0, "wrapsign verify {}: {v:#}", apk.display());
    let extra: Vec<&str> = min_sdk
        .map(|m| vec!["--min-sdk-version", m])
        .unwrap_or_default();
    if let Some((ok, text)) = apksigner_verify(apk, &extra) {
        assert!(ok, "apksigner verify {}: {text}", apk.display());
    }
    v
}

fn item<'a>(v: &'a Value, kind: &str) -> &'a Value {
    v["items"]
        .as_array()
        .and_then(|a| a.iter().find(|i| i["kind"] == kind))
        .unwrap_or_else(|| panic!("no {kind} item in {v:#}"))
}

#[test]
fn apksig_goldens_are_reproduced_byte_for_byte() {
    if common::conformance("apksig").is_none() {
        return;
    }
    let tmp = Tmp::new();
    let key = conformance("rsa-2048.pk8");
    let cert = conformance("rsa-2048.x509.pem");
    // (input, expected output, scheme flags, --min-sdk for verifying)
    let cases: [(&str, &str, [&str; 3], Option<&str>); 6] = [
        (
            "golden-aligned-in.apk",
            "golden-aligned-v1-out.apk",
            ["true", "false", "false"],
            None,
        ),
        (
            "golden-aligned-in.apk",
            "golden-aligned-v2-out.apk",
            ["false", "true", "false"],
            Some("24"),
        ),
        (
            "golden-aligned-in.apk",
            "golden-aligned-v3-out.apk",
            ["false", "false", "true"],
            Some("28"),
        ),
        (
            "golden-aligned-in.apk",
            "golden-aligned-v1v2v3-out.apk",
            ["true", "true", "true"],
            None,
        ),
        (
            "golden-unaligned-in.apk",
            "golden-unaligned-out.apk",
            ["true", "true", "true"],
            None,
        ),
        (
            "golden-legacy-aligned-in.apk",
            "golden-legacy-aligned-out.apk",
            ["true", "true", "true"],
            None,
        ),
    ];
    for (input, golden, [v1, v2, v3], min_sdk) in cases {
        let out = tmp.path(golden);
        // The goldens were made by apksig 2023 with alignment preserved and 4 KiB pages.
        let (code, v) = sign(&[
            s(&conformance(input)),
            "--key",
            s(&key),
            "--cert",
            s(&cert),
            "--alignment-preserved",
            "--lib-page-alignment",
            "4096",
            "--v1",
            v1,
            "--v2",
            v2,
            "--v3",
            v3,
            "--out",
            s(&out),
        ]);
        assert_eq!(code, 0, "{golden}: {v:#}");
        let (ours, theirs) = (read(&out), read(&conformance(golden)));
        let first_diff = ours.iter().zip(&theirs).position(|(a, b)| a != b);
        assert!(
            ours == theirs,
            "{golden}: {} vs {} bytes, first difference at {first_diff:?}",
            ours.len(),
            theirs.len()
        );
        // golden-unaligned-out is misaligned on purpose (apksig preserved it).
        let policy: &[&str] = if golden.contains("unaligned") {
            &["--warn", "apk-misaligned", "--warn", "apk-page-misaligned"]
        } else {
            &[]
        };
        assert_verifies_with(&out, min_sdk, policy);
    }
}

#[test]
fn default_alignment_is_zipalign_p_with_16k_pages() {
    if common::conformance("apksig").is_none() {
        return;
    }
    let tmp = Tmp::new();
    // golden-unaligned-in has misaligned stored entries and a .so declared 4 KiB.
    for input in ["golden-unaligned-in.apk", "golden-aligned-in.apk"] {
        let out = tmp.path(input);
        let (code, v) = sign(&[
            s(&conformance(input)),
            "--key",
            s(&conformance("rsa-2048.pk8")),
            "--cert",
            s(&conformance("rsa-2048.x509.pem")),
            "--out",
            s(&out),
        ]);
        assert_eq!(code, 0, "{v:#}");
        assert_aligned(&out);
        if let Some(ok) = zipalign_ok(&out) {
            assert!(ok, "zipalign -c -p 4 refused {input}");
        }
        assert_verifies(&out, None);
    }
}

/// (keystore args, unsigned sample, minSdk) -> signs, verifies, aligned.
#[test]
fn keystores_and_keys_of_every_kind_sign_verifiable_apks() {
    let tmp = Tmp::new();
    let keys = sample("keys");
    let cases: Vec<(&str, Vec<String>, &str, bool)> = vec![
        (
            "jks-rsa",
            vec!["--keystore".into(), keystore("release.jks")],
            "min21-target34.apk",
            true,
        ),
        (
            "p12-rsa",
            vec!["--keystore".into(), keystore("release.p12")],
            "min24-target34.apk",
            false,
        ),
        (
            "legacy-p12",
            vec!["--keystore".into(), keystore("release-legacy.p12")],
            "min21-target30.apk",
            true,
        ),
        (
            "jks-ec",
            vec!["--keystore".into(), keystore("ec-p256.jks")],
            "min21-target34.apk",
            true,
        ),
        (
            "jceks-keypass",
            vec![
                "--keystore".into(),
                keystore("keypass.jceks"),
                "--key-pass".into(),
                "pass:wrapsign-key".into(),
            ],
            "min21-target29.apk",
            true,
        ),
        (
            "pem-ec",
            vec![
                "--key".into(),
                keys.join("ec-p256.pk8").display().to_string(),
                "--cert".into(),
                keys.join("ec-p256.x509.pem").display().to_string(),
            ],
            "min28-target35.apk",
            false,
        ),
    ];
    for (label, key_args, input, expect_v1) in cases {
        let out = tmp.path(&format!("{label}.apk"));
        let input_path = sample("unsigned").join(input);
        let mut args: Vec<&str> = vec![s(&input_path), "--ks-pass", KS_PASS, "--out", s(&out)];
        args.extend(key_args.iter().map(String::as_str));
        let (code, v) = sign(&args);
        assert_eq!(code, 0, "{label}: {v:#}");
        let schemes = item(&v, "signed-apk")["facts"]["schemes"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let expected = if expect_v1 { "v1+v2+v3" } else { "v2+v3" };
        assert_eq!(
            schemes, expected,
            "{label}: apksigner's defaults for {input}"
        );
        let names: Vec<String> = entries(&read(&out)).into_iter().map(|e| e.0).collect();
        assert_eq!(
            names.iter().any(|n| n.ends_with(".SF")),
            expect_v1,
            "{label}: {names:?}"
        );
        let verified = assert_verifies(&out, None);
        let apk_schemes = item(&verified, "apk")["facts"]["schemes"]
            .as_str()
            .unwrap_or("")
            .to_string();
        // apksig checks v2 only where v3 does not cover the range (minSdk < 28).
        assert!(apk_schemes.contains("v3"), "{label}: {apk_schemes}");
        assert_eq!(
            apk_schemes.contains("v2"),
            !input.starts_with("min28"),
            "{label}: {apk_schemes}"
        );
        assert_aligned(&out);
        if let Some(ok) = zipalign_ok(&out) {
            assert!(ok, "{label}: zipalign -c -p 4");
        }
    }
}

/// Keys made by keytool at test time: RSA 4096 (SHA-512 in v2/v3) and EC P-384.
#[test]
fn keytool_generated_keys_pick_apksig_algorithms() {
    if !have("keytool") {
        skip!("keytool not installed");
        return;
    }
    let tmp = Tmp::new();
    for (label, alg, size, sig_alg) in [
        ("rsa4096", "RSA", "4096", "0x0104"),
        ("ec384", "EC", "384", "0x0202"),
        ("rsa2048", "RSA", "2048", "0x0103"),
    ] {
        let ks = tmp.path(&format!("{label}.p12"));
        let ok = Command::new("keytool")
            .args([
                "-genkeypair",
                "-keystore",
                s(&ks),
                "-storetype",
                "PKCS12",
                "-storepass",
                "test-only",
            ])
            .args([
                "-alias",
                label,
                "-keyalg",
                alg,
                "-keysize",
                size,
                "-validity",
                "10000",
            ])
            .args([
                "-dname",
                "CN=wrapsign TEST ONLY",
                "-startdate",
                "2025/01/01 00:00:00",
            ])
            .output()
            .expect("run keytool");
        assert!(
            ok.status.success(),
            "{}",
            String::from_utf8_lossy(&ok.stderr)
        );
        let out = tmp.path(&format!("{label}.apk"));
        let (code, v) = sign(&[
            s(&sample("unsigned/min21-target34.apk")),
            "--keystore",
            s(&ks),
            "--ks-pass",
            "pass:test-only",
            "--out",
            s(&out),
        ]);
        assert_eq!(code, 0, "{label}: {v:#}");
        assert_eq!(
            item(&v, "signed-apk")["facts"]["algorithm"],
            sig_alg,
            "{label}"
        );
        assert_verifies(&out, None);
    }
}

#[test]
fn re_signing_leaves_only_the_new_signer() {
    let tmp = Tmp::new();
    let keys = sample("keys");
    let old = sample("v1v2v3-rsa.apk");
    let out = tmp.path("resigned.apk");
    let (code, v) = sign(&[
        s(&old),
        "--key",
        s(&keys.join("ec-p256.pk8")),
        "--cert",
        s(&keys.join("ec-p256.x509.pem")),
        "--out",
        s(&out),
    ]);
    assert_eq!(code, 0, "{v:#}");
    // The old JAR signature files are gone, only the new signer's remain.
    let names: Vec<String> = entries(&read(&out)).into_iter().map(|e| e.0).collect();
    let sig_files: Vec<&String> = names
        .iter()
        .filter(|n| n.starts_with("META-INF/") && !n.ends_with("MANIFEST.MF"))
        .collect();
    assert_eq!(
        sig_files,
        ["META-INF/EC-P256.SF", "META-INF/EC-P256.EC"],
        "{names:?}"
    );
    let verified = assert_verifies(&out, None);
    let signers: Vec<&Value> = verified["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "apk-signer")
        .collect();
    assert_eq!(signers.len(), 1, "{verified:#}");
    if let Some((_, text)) = apksigner_verify(&out, &[]) {
        assert_eq!(
            text.matches("certificate SHA-256 digest").count(),
            1,
            "{text}"
        );
        assert!(!text.contains("Signer #2"), "{text}");
    }
    let new_cert = keys.join("ec-p256.x509.pem");
    let (code, v) = verify_json(&[s(&out), "--signer-cert", s(&new_cert)]);
    assert_eq!(code, 0, "{v:#}");
    let old_cert = keys.join("rsa-2048.x509.pem");
    let (code, v) = verify_json(&[s(&out), "--signer-cert", s(&old_cert)]);
    assert_eq!(code, 1);
    assert!(
        error_names(&v).contains(&"apk-signer-mismatch".to_string()),
        "{v:#}"
    );
}

/// A refused run: non-zero exit, the named finding, no output, the input untouched,
/// nothing left in the output folder.
fn assert_refused(args: &[&str], input: &Path, out_dir: &Path, finding: &str, exit: i32) {
    let before = sha256(input);
    let listing = files_in(out_dir);
    let (code, v) = sign(args);
    assert_eq!(code, exit, "{args:?}: {v:#}");
    let names = finding_names(&v);
    assert!(
        names.iter().any(|n| n == finding),
        "expected {finding} in {names:?}"
    );
    assert_eq!(sha256(input), before, "the input changed");
    assert_eq!(
        files_in(out_dir),
        listing,
        "something was left in the output folder"
    );
}

#[test]
fn the_gate_writes_nothing_for_bad_keys() {
    let tmp = Tmp::new();
    let input = sample("unsigned/min21-target34.apk");
    let out = tmp.path("out.apk");
    let o = s(&out);
    let i = s(&input);
    for (ks, finding) in [
        ("expired.jks", "keystore-cert-expired"),
        ("mismatch.jks", "keystore-key-mismatch"),
        ("short.jks", "keystore-validity-too-short"),
        ("rsa1024.jks", "weak-key"),
    ] {
        let ksp = keystore(ks);
        assert_refused(
            &[i, "--keystore", &ksp, "--ks-pass", KS_PASS, "--out", o],
            &input,
            tmp.0.path(),
            finding,
            1,
        );
    }
    let rel = keystore("release.jks");
    assert_refused(
        &[i, "--keystore", &rel, "--ks-pass", "pass:wrong", "--out", o],
        &input,
        tmp.0.path(),
        "password-wrong",
        2,
    );
    assert_refused(
        &[
            i,
            "--keystore",
            &rel,
            "--ks-pass",
            KS_PASS,
            "--alias",
            "nope",
            "--out",
            o,
        ],
        &input,
        tmp.0.path(),
        "keystore-alias-missing",
        1,
    );
    let keypass = keystore("keypass.jks");
    assert_refused(
        &[i, "--keystore", &keypass, "--ks-pass", KS_PASS, "--out", o],
        &input,
        tmp.0.path(),
        "password-wrong",
        2,
    );
    // The debug key: an error with --release, a warning otherwise.
    let debug = keystore("debug.keystore");
    assert_refused(
        &[
            i,
            "--keystore",
            &debug,
            "--ks-pass",
            "pass:android",
            "--release",
            "--out",
            o,
        ],
        &input,
        tmp.0.path(),
        "debug-certificate",
        1,
    );
    let (code, v) = sign(&[
        i,
        "--keystore",
        &debug,
        "--ks-pass",
        "pass:android",
        "--out",
        o,
    ]);
    assert_eq!(code, 0, "{v:#}");
    assert!(finding_names(&v).contains(&"debug-certificate".to_string()));
    assert!(out.exists());
    // Policy applies: an expiry can be accepted explicitly.
    let short = keystore("short.jks");
    let (code, v) = sign(&[
        i,
        "--keystore",
        &short,
        "--ks-pass",
        KS_PASS,
        "--warn",
        "keystore-validity-too-short",
        "--out",
        o,
    ]);
    assert_eq!(code, 0, "{v:#}");
}

#[test]
fn bad_inputs_are_refused_and_nothing_is_written() {
    let tmp = Tmp::new();
    let good = read(&sample("unsigned/min21-target34.apk"));
    let outdir = tempfile::tempdir().unwrap();
    let out = outdir.path().join("out.apk");
    let rel = keystore("release.jks");
    let run = |input: &Path, finding: &str, exit: i32| {
        assert_refused(
            &[
                s(input),
                "--keystore",
                &rel,
                "--ks-pass",
                KS_PASS,
                "--out",
                s(&out),
            ],
            input,
            outdir.path(),
            finding,
            exit,
        )
    };
    run(
        &tmp.write("not-a-zip.apk", b"just some text, not an APK at all"),
        "input-unreadable",
        2,
    );
    // Cut before the End of Central Directory record.
    run(
        &tmp.write("truncated.apk", &good[..good.len() - 30]),
        "archive-truncated",
        2,
    );
    // A central directory that announces more records than it holds.
    let mut lying = good.clone();
    let at = good.len() - 22;
    let count = le16(&good, at + 10);
    lying[at + 10..at + 12].copy_from_slice(&((count + 3) as u16).to_le_bytes());
    run(&tmp.write("short-cd.apk", &lying), "apk-malformed", 1);
    // Two entries with the same name, and zip-slip names.
    let rename = |from: &str, to: &str| -> Vec<u8> {
        assert_eq!(from.len(), to.len());
        let mut b = good.clone();
        let mut pos = 0;
        while let Some(i) = b[pos..]
            .windows(from.len())
            .position(|w| w == from.as_bytes())
        {
            b[pos + i..pos + i + to.len()].copy_from_slice(to.as_bytes());
            pos += i + 1;
        }
        b
    };
    run(
        &tmp.write(
            "nul.apk",
            &rename("assets/readme.txt", "classes.dex\0\0\0\0\0\0"),
        ),
        "archive-unsafe",
        1,
    );
    // The first central directory record listed twice.
    let (_, cd, cd_size) = eocd(&good);
    let second = cd_record(&good, 1);
    let mut dup = good[..cd + cd_size].to_vec();
    dup.extend_from_slice(&good[cd..second]);
    let mut end = good[cd + cd_size..].to_vec();
    end[8..10].copy_from_slice(&((count + 1) as u16).to_le_bytes());
    end[10..12].copy_from_slice(&((count + 1) as u16).to_le_bytes());
    end[12..16].copy_from_slice(&((cd_size + second - cd) as u32).to_le_bytes());
    dup.extend_from_slice(&end);
    run(&tmp.write("dup.apk", &dup), "archive-unsafe", 1);
    run(
        &tmp.write(
            "slip.apk",
            &rename("assets/readme.txt", "../../etc/passwdx"),
        ),
        "archive-unsafe",
        1,
    );
}

#[test]
fn in_place_signing_replaces_the_input_atomically() {
    let tmp = Tmp::new();
    let apk = tmp.write("app.apk", &read(&sample("unsigned/min21-target34.apk")));
    let before = sha256(&apk);
    // A refused run leaves the input as it was.
    assert_refused(
        &[
            s(&apk),
            "--keystore",
            &keystore("expired.jks"),
            "--ks-pass",
            KS_PASS,
            "--in-place",
        ],
        &apk,
        tmp.0.path(),
        "keystore-cert-expired",
        1,
    );
    let (code, v) = sign(&[
        s(&apk),
        "--keystore",
        &keystore("release.jks"),
        "--ks-pass",
        KS_PASS,
        "--in-place",
    ]);
    assert_eq!(code, 0, "{v:#}");
    assert_ne!(sha256(&apk), before);
    assert_eq!(files_in(tmp.0.path()), ["app.apk"]);
    assert_verifies(&apk, None);
    // --out pointing at the input itself needs --in-place.
    let (code, v) = sign(&[
        s(&apk),
        "--keystore",
        &keystore("release.jks"),
        "--ks-pass",
        KS_PASS,
        "--out",
        s(&apk),
    ]);
    assert_eq!(code, 1, "{v:#}");
    assert!(finding_names(&v).contains(&"sign-failed".to_string()));
}

#[test]
fn scheme_flags_and_sdk_range() {
    let tmp = Tmp::new();
    let input = sample("unsigned/min21-target29.apk");
    let rel = keystore("release.jks");
    let base = |out: &Path| -> Vec<String> {
        vec![
            s(&input).into(),
            "--keystore".into(),
            rel.clone(),
            "--ks-pass".into(),
            KS_PASS.into(),
            "--out".into(),
            s(out).into(),
        ]
    };
    let run = |out: &Path, extra: &[&str]| {
        let mut a = base(out);
        a.extend(extra.iter().map(|x| x.to_string()));
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        sign(&refs)
    };
    // v1 off below API 24: signed, with a warning; Android 7+ verifies it.
    let out = tmp.path("no-v1.apk");
    let (code, v) = run(&out, &["--v1", "false"]);
    assert_eq!(code, 0, "{v:#}");
    assert!(
        finding_names(&v).contains(&"apk-scheme-required".to_string()),
        "{v:#}"
    );
    assert_verifies(&out, Some("24"));
    // --max-sdk 27: no v3 by default (no platform in range reads it).
    let out = tmp.path("max27.apk");
    let (code, v) = run(&out, &["--max-sdk", "27"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(item(&v, "signed-apk")["facts"]["schemes"], "v1+v2");
    assert_verifies(&out, None);
    // --min-sdk 24 overrides the manifest: no v1.
    let out = tmp.path("min24.apk");
    let (code, v) = run(&out, &["--min-sdk", "24"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(item(&v, "signed-apk")["facts"]["schemes"], "v2+v3");
    assert_verifies(&out, Some("24"));
    // Nothing enabled is refused.
    let out = tmp.path("none.apk");
    let (code, _) = run(&out, &["--v1", "false", "--v2", "false", "--v3", "false"]);
    assert_eq!(code, 1);
    assert!(!out.exists());
}

#[test]
fn sigterm_while_signing_leaves_nothing_behind() {
    if !have("kill") {
        skip!("kill not available");
        return;
    }
    use std::io::{Read, Write};
    let t = tempfile::tempdir().unwrap();
    let input = t.path().join("big.apk");
    // 256 MiB of stored zeros: slow enough to copy and hash that we can interrupt it.
    let mut manifest = Vec::new();
    zip::ZipArchive::new(std::fs::File::open(sample("unsigned/min21-target34.apk")).unwrap())
        .unwrap()
        .by_name("AndroidManifest.xml")
        .unwrap()
        .read_to_end(&mut manifest)
        .unwrap();
    {
        let mut w = zip::ZipWriter::new(std::fs::File::create(&input).unwrap());
        let stored = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        w.start_file("AndroidManifest.xml", stored).unwrap();
        w.write_all(&manifest).unwrap();
        w.start_file("assets/big.bin", stored).unwrap();
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..256 {
            w.write_all(&chunk).unwrap();
        }
        w.finish().unwrap();
    }
    let before = sha256(&input);
    let outdir = t.path().join("out");
    std::fs::create_dir(&outdir).unwrap();
    let out = outdir.join("big-signed.apk");
    let st = common::sigterm_once_written(
        || {
            let mut c = Command::new(bin());
            c.args([
                "sign",
                "--at",
                AT,
                s(&input),
                "--keystore",
                &keystore("release.jks"),
            ])
            .args(["--ks-pass", KS_PASS, "--out", s(&out)]);
            c
        },
        &outdir,
    );
    assert_eq!(st.code(), Some(130), "exit status after SIGTERM: {st:?}");
    assert!(
        files_in(&outdir).is_empty(),
        "left behind: {:?}",
        files_in(&outdir)
    );
    assert_eq!(sha256(&input), before);
}
