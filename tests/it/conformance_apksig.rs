//! Conformance with AOSP apksig: every row of
//! ../shared/conformance/apksig/expected.tsv (apksig's own test APKs and the
//! verdict its tests assert) must get the same VERIFIES/FAILS from
//! `wrapsign verify` with the row's SDK flags. The verdict is the signature's,
//! so ZIP alignment (which apksig does not check) is allowed here; it is tested
//! in apk_cli.rs. Rows whose note names the apksig issue also check that the
//! finding is the one that issue maps to.

use crate::support::apk as apk_support;

use apk_support::*;

const DIR: &str = "../shared/conformance/apksig";

/// apksig issue (first word of the note) -> the finding wrapsign must report.
const ISSUES: &[(&str, &str)] = &[
    ("JAR_SIG_MAX_SIGNATURES_EXCEEDED", "apk-too-many-signers"),
    ("V2_SIG_MAX_SIGNATURES_EXCEEDED", "apk-too-many-signers"),
    (
        "JAR_SIG_ZIP_ENTRY_DIGEST_DID_NOT_VERIFY",
        "apk-digest-mismatch",
    ),
    (
        "JAR_SIG_MANIFEST_SECTION_DIGEST_DID_NOT_VERIFY",
        "apk-digest-mismatch",
    ),
    ("JAR_SIG_UNNNAMED_MANIFEST_SECTION", "apk-signature-invalid"),
    ("JAR_SIG_DID_NOT_VERIFY", "apk-signature-invalid"),
    ("JAR_SIG_VERIFY_EXCEPTION", "apk-signature-invalid"),
    ("NO_SIG_FOR_TARGET_SANDBOX_VERSION", "apk-scheme-required"),
    (
        "MIN_SIG_SCHEME_FOR_TARGET_SDK_NOT_MET",
        "apk-scheme-required",
    ),
    ("V2_SIG_DID_NOT_VERIFY", "apk-signature-invalid"),
    ("V2_SIG_APK_DIGEST_DID_NOT_VERIFY", "apk-digest-mismatch"),
    (
        "V2_SIG_SIG_ALG_MISMATCH_BETWEEN_SIGNATURES_AND_DIGESTS_RECORDS",
        "apk-signature-invalid",
    ),
    (
        "V2_SIG_PUBLIC_KEY_MISMATCH_BETWEEN_CERTIFICATE_AND_SIGNATURES_RECORD",
        "apk-signature-invalid",
    ),
    ("V2_SIG_NO_CERTIFICATES", "apk-signature-invalid"),
    ("V2_SIG_NO_SIGNATURES", "apk-signature-invalid"),
    ("V2_SIG_NO_SUPPORTED_SIGNATURES", "apk-signature-invalid"),
    (
        "JAR_SIG_MISSING_APK_SIG_REFERENCED",
        "apk-signature-stripped",
    ),
    (
        "V2_SIG_MISSING_APK_SIG_REFERENCED",
        "apk-signature-stripped",
    ),
    ("V3_SIG_DID_NOT_VERIFY", "apk-signature-invalid"),
    ("V3_SIG_APK_DIGEST_DID_NOT_VERIFY", "apk-digest-mismatch"),
    (
        "V3_SIG_SIG_ALG_MISMATCH_BETWEEN_SIGNATURES_AND_DIGESTS_RECORDS",
        "apk-signature-invalid",
    ),
    (
        "V3_SIG_PUBLIC_KEY_MISMATCH_BETWEEN_CERTIFICATE_AND_SIGNATURES_RECORD",
        "apk-signature-invalid",
    ),
    ("V3_SIG_NO_CERTIFICATES", "apk-signature-invalid"),
    ("V3_SIG_NO_SUPPORTED_SIGNATURES", "apk-signature-invalid"),
    ("V31_ROTATION_MIN_SDK_MISMATCH", "apk-signature-stripped"),
    ("V31_BLOCK_MISSING", "apk-signature-stripped"),
    ("V31_BLOCK_FOUND_WITHOUT_V3_BLOCK", "apk-signature-stripped"),
    ("ApkFormatException", "apk-malformed"),
];

/// Verdicts apksig's tests assert that the notes of expected.tsv quote
/// ("verifies with --max-sdk-version 17" and the like).
const NOTE_ROWS: &[(&str, &[&str], bool)] = &[
    (
        "v1-sha1-sha256-manifest-and-sf-with-sha256-wrong-in-manifest.apk",
        &["--max-sdk", "17"],
        true,
    ),
    (
        "v1-sha1-sha256-manifest-and-sf-with-sha1-wrong-in-sf.apk",
        &["--min-sdk", "18"],
        true,
    ),
    ("v1-only-with-signed-attrs.apk", &["--min-sdk", "18"], false),
    (
        "v1-only-with-signed-attrs-missing-content-type.apk",
        &["--max-sdk", "23"],
        true,
    ),
    (
        "v2-only-targetSandboxVersion-2.apk",
        &["--min-sdk", "24"],
        true,
    ),
    (
        "v31-tgt-34-v3-attr-value-33.apk",
        &["--max-sdk", "32"],
        true,
    ),
    (
        "v31-block-stripped-v3-attr-value-33.apk",
        &["--max-sdk", "32"],
        true,
    ),
    (
        "v1v2v3-with-rsa-2048-lineage-3-signers.apk",
        &["--max-sdk", "26"],
        true,
    ),
    (
        "v1v2v3-with-rsa-2048-lineage-3-signers.apk",
        &["--max-sdk", "23"],
        true,
    ),
    (
        "v2-only-with-rsa-pkcs1-sha256-2048.apk",
        &["--max-sdk", "23"],
        false,
    ),
];

fn run(file: &str, flags: &[&str]) -> (bool, serde_json::Value) {
    let path = root().join(DIR).join(file);
    // apksig's verdict is about signatures: the layout and the signer policy
    // (weak keys and digests, the debug key, dates) are judged elsewhere.
    let mut args: Vec<&str> = vec![
        "--allow",
        "weak-key",
        "--allow",
        "weak-digest",
        "--allow",
        "debug-certificate",
        "--allow",
        "apk-signer-cert-short-lived",
        "--allow",
        "apk-signer-cert-expired",
        "--allow",
        "apk-prefix-data",
        "--allow",
        "apk-misaligned",
        "--allow",
        "apk-page-misaligned",
    ];
    args.extend_from_slice(flags);
    args.push(s(&path));
    let (code, v) = verify_json(&args);
    (code == 0, v)
}

#[test]
fn apksig_expected_verdicts() {
    let tsv = root().join(DIR).join("expected.tsv");
    let Ok(text) = std::fs::read_to_string(&tsv) else {
        skip!(
            "{} not present: the apksig conformance suite did NOT run",
            tsv.display()
        );
        return;
    };
    let (mut total, mut agree, mut reasons, mut reason_total) = (0, 0, 0, 0);
    let mut diffs = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        let (file, flags, expected, note) = (
            cols[0],
            cols[1],
            cols[2],
            cols.get(3).copied().unwrap_or(""),
        );
        if expected != "VERIFIES" && expected != "FAILS" {
            continue;
        }
        let f: Vec<&str> = flags.split_whitespace().collect();
        let mut args = Vec::new();
        for (flag, ours) in [
            ("--min-sdk-version", "--min-sdk"),
            ("--max-sdk-version", "--max-sdk"),
        ] {
            if let Some(i) = f.iter().position(|x| *x == flag) {
                args.push(ours);
                args.push(f[i + 1]);
            }
        }
        total += 1;
        let (verifies, v) = run(file, &args);
        if verifies == (expected == "VERIFIES") {
            agree += 1;
        } else {
            diffs.push(format!(
                "{file} {flags}: apksig {expected}, wrapsign {:?}",
                finding_names(&v)
            ));
        }
        if expected == "FAILS" {
            let issue = note.split_whitespace().next().unwrap_or("");
            if let Some((_, name)) = ISSUES.iter().find(|(i, _)| *i == issue) {
                reason_total += 1;
                let errors = error_names(&v);
                let ok = if *name == "apk-malformed" {
                    // apksig's ApkFormatException: malformed or unreadable.
                    errors
                        .iter()
                        .any(|e| e == "apk-malformed" || e == "input-unreadable")
                } else {
                    let apksig_ids: Vec<&str> = v["findings"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|f| f["details"]["apksig"].as_str())
                        .collect();
                    errors.iter().any(|e| e == name) && apksig_ids.contains(&issue)
                };
                if ok {
                    reasons += 1;
                } else {
                    diffs.push(format!(
                        "{file}: apksig {issue} (-> {name}), wrapsign {errors:?}"
                    ));
                }
            }
        }
    }
    let mut notes_ok = 0;
    for (file, flags, verifies) in NOTE_ROWS {
        if run(file, flags).0 == *verifies {
            notes_ok += 1;
        } else {
            diffs.push(format!(
                "{file} {flags:?}: apksig {}",
                if *verifies { "VERIFIES" } else { "FAILS" }
            ));
        }
    }
    println!("apksig conformance: {agree}/{total} rows agree");
    println!("apksig issue -> finding name: {reasons}/{reason_total} failing rows report apksig's reason");
    println!(
        "verdicts quoted in the notes: {notes_ok}/{}",
        NOTE_ROWS.len()
    );
    for d in &diffs {
        println!("  DIFF {d}");
    }
    assert_eq!(total, 101, "expected.tsv should hold 101 verdict rows");
    assert!(
        diffs.is_empty(),
        "{} disagreement(s) with apksig",
        diffs.len()
    );
}
