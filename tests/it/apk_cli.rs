//! `wrapsign verify app.apk` through the binary: every APK finding name with its
//! exit code, the JSON report, and hostile input (truncated, lying sizes,
//! overlapping entries, not a zip) giving a finding or input-unreadable, never
//! a panic. Fixtures are the committed TEST-ONLY samples in samples/android
//! (built by samples/android/build-android.sh) and byte-level edits of them.

use crate::support::apk as apk_support;

use apk_support::*;
use serde_json::Value;

fn only_errors(v: &Value) -> Vec<String> {
    let mut e = error_names(v);
    e.sort();
    e.dedup();
    e
}

/// Verifies with `args`: exit `code` and `error` the only error finding's
/// name; returns the report.
fn fails_with(args: &[&str], code: i32, error: &str) -> Value {
    let (got, v) = verify_json(args);
    assert_eq!(
        (got, only_errors(&v)),
        (code, vec![error.to_string()]),
        "{args:?}: {v:#}"
    );
    v
}

fn signer_items(v: &Value) -> Vec<&Value> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "apk-signer")
        .collect()
}

fn pem_der(path: &std::path::Path) -> Vec<u8> {
    use base64::Engine;
    let text = String::from_utf8(read(path)).unwrap();
    let b64: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

#[test]
fn signed_samples_verify_and_report_their_signers() {
    let (code, v) = verify_json(&[s(&sample("v1v2v3-rsa.apk"))]);
    assert_eq!(code, 0, "{v:#}");
    assert!(v["findings"].as_array().unwrap().is_empty(), "{v:#}");
    let apk = &v["items"][0];
    assert_eq!(apk["kind"], "apk");
    assert_eq!(apk["subject"], "com.example.wrapdemo");
    assert_eq!(apk["facts"]["schemes"], "v1+v2+v3");
    assert_eq!(apk["facts"]["min_sdk_version"], 21);
    assert_eq!(apk["facts"]["target_sdk_version"], 34);
    // The fingerprint is the certificate's SHA-256, computed independently here.
    let der = pem_der(&sample("keys/rsa-2048.x509.pem"));
    let want = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&der));
    let signers = signer_items(&v);
    assert_eq!(signers.len(), 1);
    assert_eq!(signers[0]["facts"]["sha256"], want.as_str());
    assert_eq!(signers[0]["facts"]["key"], "RSA 2048");
    assert!(signers[0]["facts"]["schemes"]
        .as_str()
        .unwrap()
        .contains("v2"));
    assert!(signers[0]["not_after"].is_string());

    for f in ["v2v3-ec.apk", "v1-only-rsa.apk"] {
        let (code, v) = verify_json(&[s(&sample(f))]);
        assert_eq!(code, 0, "{f}: {v:#}");
    }
}

#[test]
fn apk_unsigned() {
    fails_with(
        &[s(&sample("unsigned/min21-target34.apk"))],
        1,
        "apk-unsigned",
    );
}

#[test]
fn apk_digest_mismatch_when_an_entry_changes() {
    let t = Tmp::new();
    let b = read(&sample("v1v2v3-rsa.apk"));
    let (at, _) = entry_data(&b, "res/raw/blob.bin").unwrap();
    let p = t.write("x.apk", &flip(b, at + 10));
    fails_with(&[s(&p)], 1, "apk-digest-mismatch");
    // v1 alone catches it too (the entry's digest in MANIFEST.MF).
    let b = read(&sample("v1-only-rsa.apk"));
    let (at, _) = entry_data(&b, "res/raw/blob.bin").unwrap();
    let p = t.write("y.apk", &flip(b, at));
    fails_with(&[s(&p)], 1, "apk-digest-mismatch");
}

#[test]
fn apk_digest_mismatch_when_the_central_directory_changes() {
    let t = Tmp::new();
    let b = read(&sample("v2v3-ec.apk"));
    let rec = cd_record(&b, 1);
    // The modification time of the second entry: harmless to the ZIP, covered by v2/v3.
    let p = t.write("x.apk", &flip(b, rec + 12));
    fails_with(&[s(&p)], 1, "apk-digest-mismatch");
}

#[test]
fn apk_signature_invalid_when_the_signing_block_changes() {
    let t = Tmp::new();
    let b = read(&sample("v2v3-ec.apk"));
    let (sd, len) = signed_data(&b, V3).unwrap();
    let p = t.write("x.apk", &flip(b, sd + len / 2));
    let v = fails_with(&[s(&p)], 1, "apk-signature-invalid");
    let f = &v["findings"][0];
    assert_eq!(f["details"]["apksig"], "V3_SIG_DID_NOT_VERIFY");
}

#[test]
fn apk_signature_stripped_when_the_block_is_removed() {
    let t = Tmp::new();
    let p = t.write("x.apk", &strip_block(&read(&sample("v1v2v3-rsa.apk"))));
    let v = fails_with(&[s(&p)], 1, "apk-signature-stripped");
    assert_eq!(
        v["findings"][0]["details"]["apksig"],
        "JAR_SIG_MISSING_APK_SIG_REFERENCED"
    );
}

#[test]
fn apk_scheme_required() {
    // targetSdk 30 needs v2+.
    fails_with(
        &[s(&sample("v1-only-target30.apk"))],
        1,
        "apk-scheme-required",
    );
    // A v2/v3-only APK cannot install below API 24.
    fails_with(
        &["--min-sdk", "21", s(&sample("v2v3-ec.apk"))],
        1,
        "apk-scheme-required",
    );
    // ... but is fine from 24 (its own minSdk), and --max-sdk 23 needs v1 again.
    assert_eq!(
        verify_json(&["--min-sdk", "24", s(&sample("v2v3-ec.apk"))]).0,
        0
    );
    assert_eq!(
        verify_json(&[
            "--max-sdk",
            "23",
            "--min-sdk",
            "21",
            s(&sample("v2v3-ec.apk"))
        ])
        .0,
        1
    );
}

#[test]
fn apk_signer_mismatch_against_an_expected_certificate() {
    let apk = sample("v1v2v3-rsa.apk");
    let (code, v) = verify_json(&[
        "--signer-cert",
        s(&sample("keys/rsa-2048.x509.pem")),
        s(&apk),
    ]);
    assert_eq!(code, 0, "{v:#}");
    fails_with(
        &[
            "--signer-cert",
            s(&sample("keys/ec-p256.x509.pem")),
            s(&apk),
        ],
        1,
        "apk-signer-mismatch",
    );
    // DER works as well as PEM.
    let t = Tmp::new();
    let der = t.write("ec.der", &pem_der(&sample("keys/ec-p256.x509.pem")));
    assert_eq!(
        verify_json(&["--signer-cert", s(&der), s(&sample("v2v3-ec.apk"))]).0,
        0
    );
    let missing = t.path("nope.pem");
    let (code, v) = verify_json(&["--signer-cert", s(&missing), s(&apk)]);
    assert_eq!(code, 2, "{v:#}");
}

#[test]
fn apk_too_many_signers() {
    fails_with(
        &[s(&sample("eleven-signers.apk"))],
        1,
        "apk-too-many-signers",
    );
}

#[test]
fn apk_misaligned_and_page_misaligned() {
    let v = fails_with(
        &[s(&sample("v1-jarsigner-misaligned.apk"))],
        1,
        "apk-misaligned",
    );
    // The error is the library Android maps from the APK (extractNativeLibs="false"),
    // off its 4 KiB page (which also puts it off 16 KiB); the other entries only warn.
    let by_severity = |sev: &str| -> Vec<&serde_json::Value> {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["name"] == "apk-misaligned" && f["severity"] == sev)
            .collect()
    };
    assert_eq!(by_severity("error").len(), 1, "{v:#}");
    assert_eq!(
        by_severity("error")[0]["subject"],
        "lib/arm64-v8a/libwrap.so",
        "{v:#}"
    );
    assert!(
        by_severity("warning")[0]["message"]
            .as_str()
            .unwrap()
            .contains("resources.arsc"),
        "{v:#}"
    );
    // Allowing it leaves a valid v1 signature.
    assert_eq!(
        verify_json(&[
            "--allow",
            "apk-misaligned",
            s(&sample("v1-jarsigner-misaligned.apk"))
        ])
        .0,
        0
    );

    // targetSdk 35 with a 4 KiB-aligned .so: a warning (exit 0) unless warnings fail the run.
    let apk = sample("v3-ec-target35.apk");
    let (code, v) = verify_json(&[s(&apk)]);
    assert_eq!(code, 0);
    let f = &v["findings"][0];
    assert_eq!(
        (f["name"].as_str(), f["severity"].as_str()),
        (Some("apk-page-misaligned"), Some("warning"))
    );
    assert_eq!(verify_json(&["--deny-warnings", s(&apk)]).0, 1);
}

#[test]
fn apk_malformed_zips() {
    let t = Tmp::new();
    let b = read(&sample("v1v2v3-rsa.apk"));
    // Overlapping entries: the second record points at the first local header too.
    let mut o = b.clone();
    let rec = cd_record(&o, 1);
    o[rec + 42..rec + 46].copy_from_slice(&0u32.to_le_bytes());
    let (code, v) = verify_json(&[s(&t.write("overlap.apk", &o))]);
    assert_eq!(code, 1, "{v:#}");
    assert!(
        error_names(&v).contains(&"apk-malformed".to_string()),
        "{v:#}"
    );
    // A truncated central directory: the EOCD announces more records than there are.
    let mut tr = b.clone();
    let (e, _, _) = eocd(&tr);
    tr[e + 10] = tr[e + 10].wrapping_add(5);
    fails_with(&[s(&t.write("truncated-cd.apk", &tr))], 1, "apk-malformed");
    // No AndroidManifest.xml: rename it in the CD and the local header.
    let mut nm = b.clone();
    for i in 0..nm.len() - 19 {
        if &nm[i..i + 19] == b"AndroidManifest.xml" {
            nm[i] = b'a';
        }
    }
    fails_with(&[s(&t.write("no-manifest.apk", &nm))], 1, "apk-malformed");
}

#[test]
fn lying_signing_block_sizes_fall_back_like_android() {
    let t = Tmp::new();
    let b = read(&sample("v1v2v3-rsa.apk"));
    let (start, cd) = signing_block(&b).unwrap();
    // Header and footer disagree: the block does not exist, v1 says v2/v3 were stripped.
    let mut h = b.clone();
    h[start] ^= 0x10;
    // Both sizes claim more than the file holds.
    let mut huge = b.clone();
    huge[start..start + 8].copy_from_slice(&u64::MAX.to_le_bytes());
    huge[cd - 24..cd - 16].copy_from_slice(&u64::MAX.to_le_bytes());
    // An ID-value pair claims more than the block holds.
    let mut pair = b.clone();
    pair[start + 8..start + 16].copy_from_slice(&0x7fff_0000u64.to_le_bytes());
    for (name, data) in [("header.apk", h), ("huge.apk", huge), ("pair.apk", pair)] {
        fails_with(&[s(&t.write(name, &data))], 1, "apk-signature-stripped");
    }
    // Without a v1 signature to fall back on, the APK is simply unsigned.
    let b = read(&sample("v2v3-ec.apk"));
    let (start, _) = signing_block(&b).unwrap();
    let mut h = b.clone();
    h[start] ^= 0x10;
    let v = fails_with(&[s(&t.write("v2.apk", &h))], 1, "apk-unsigned");
    let msg = v["findings"][0]["message"].as_str().unwrap();
    assert!(msg.contains("header and footer"), "{msg}");
}

#[test]
fn unreadable_inputs_exit_2() {
    let t = Tmp::new();
    let b = read(&sample("v1v2v3-rsa.apk"));
    for (name, data, finding) in [
        (
            "not-a-zip.apk",
            b"this is not an APK at all".to_vec(),
            "input-unreadable",
        ),
        ("empty.apk", Vec::new(), "input-unreadable"),
        // Cut short: named as such, still exit 2 (nothing could be checked).
        ("half.apk", b[..b.len() / 2].to_vec(), "archive-truncated"),
    ] {
        let v = fails_with(&[s(&t.write(name, &data))], 2, finding);
        assert!(v["findings"][0]["message"].as_str().unwrap().contains(name));
    }
    // Cut just before the EOCD: a ZIP without its end record.
    let (code, _) = verify_json(&[s(&t.write("cut.apk", &b[..b.len() - 1]))]);
    assert_eq!(code, 2);
}

#[test]
fn usage_errors_exit_2() {
    let out = std::process::Command::new(bin())
        .args([
            "verify",
            "--min-sdk",
            "30",
            "--max-sdk",
            "20",
            s(&sample("v1v2v3-rsa.apk")),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--min-sdk 30 is above --max-sdk 20"));
    // An SDK range the APK cannot meet.
    let (code, _) = verify_json(&["--max-sdk", "20", s(&sample("v2v3-ec.apk"))]);
    assert_eq!(code, 2);
}

#[test]
fn every_apk_finding_name_is_explained() {
    for name in [
        "apk-unsigned",
        "apk-signature-invalid",
        "apk-digest-mismatch",
        "apk-signature-stripped",
        "apk-scheme-required",
        "apk-signer-mismatch",
        "apk-too-many-signers",
        "apk-misaligned",
        "apk-page-misaligned",
        "apk-malformed",
    ] {
        let out = std::process::Command::new(bin())
            .args(["explain", name])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{name}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("Why it matters") && text.contains("How to fix it"),
            "{text}"
        );
    }
}

#[test]
fn human_output_names_the_signer() {
    let out = std::process::Command::new(bin())
        .args(["verify", "--at", AT, s(&sample("v2v3-ec.apk"))])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("apk-signer") && text.contains("wrapsign test EC key"),
        "{text}"
    );
    assert!(text.contains("schemes v2+v3"), "{text}");
}

/// Every single-byte corruption of the signing block and central directory,
/// and every truncation, through the library: a verdict or an error, no panic.
#[test]
fn corruptions_never_panic() {
    let t = Tmp::new();
    let b = read(&sample("v2v3-ec.apk"));
    let (start, _) = signing_block(&b).unwrap();
    let mut positions: Vec<usize> = (start..b.len()).step_by(7).collect();
    positions.extend((0..start).step_by(211));
    let opts = wrapsign::android::apk::Options::default();
    for (n, at) in positions.into_iter().enumerate() {
        for v in [0x00u8, 0xff, 0x80] {
            let mut c = b.clone();
            c[at] = v;
            let p = t.write(&format!("c{n}.apk"), &c);
            let r = std::panic::catch_unwind(|| wrapsign::android::apk::verify(&p, &opts));
            assert!(r.is_ok(), "panic with byte {at} = {v:#x}");
        }
    }
    for cut in (0..b.len()).step_by(97) {
        let p = t.write("cut.apk", &b[..cut]);
        assert!(
            std::panic::catch_unwind(|| wrapsign::android::apk::verify(&p, &opts)).is_ok(),
            "cut {cut}"
        );
    }
}

/// v2 and v3 (and v3.1) need the same chunked digest: it is computed in one
/// pass over the file, not once per scheme.
#[test]
fn v2_and_v3_share_one_digest_pass() {
    let opts = wrapsign::android::apk::Options::default();
    let o = wrapsign::android::apk::verify(&sample("v1v2v3-rsa.apk"), &opts).unwrap();
    assert!(o.verified);
    let (v2, v3) = (o.v2.as_ref().unwrap(), o.v3.as_ref().unwrap());
    assert!(v2.verified && v3.verified);
    assert_eq!(v2.digests, v3.digests);
    assert_eq!(o.digest_passes, 1);
    let v31 = root().join("../shared/conformance/apksig/v31-rsa-2048_2-tgt-10000-1-tgt-28.apk");
    if v31.exists() {
        let o = wrapsign::android::apk::verify(&v31, &opts).unwrap();
        assert!(o.verified && o.v31.is_some() && o.v3.is_some() && o.v2.is_some());
        assert_eq!(o.digest_passes, 1);
    }
}
