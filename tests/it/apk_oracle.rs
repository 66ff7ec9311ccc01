//! Oracle tests: APKs signed at test time by Debian's `apksigner` (v1 only,
//! v2 only, v3 only, v1+v2+v3, two signers, verity, key rotation; minSdk below
//! and above 24) must verify with wrapsign; the same APKs with one byte flipped
//! in an entry's data, in the central directory or in the signing block must
//! fail with the right finding. `apksigner verify` must agree on every case.
//! Inputs are the committed unsigned samples (samples/android/unsigned).

use crate::support::apk as apk_support;

use std::path::Path;
use std::process::Command;

use apk_support::*;

fn apksigner(args: &[&str]) -> bool {
    let out = Command::new("apksigner")
        .args(args)
        .output()
        .expect("run apksigner");
    if !out.status.success() && args.first() == Some(&"sign") {
        panic!(
            "apksigner {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out.status.success()
}

struct Case {
    name: &'static str,
    input: &'static str,
    sign: Vec<String>,
    /// --min-sdk-version for apksigner verify and --min-sdk for wrapsign (None: the manifest's).
    min_sdk: Option<&'static str>,
    schemes: &'static str,
    /// The block whose signed data to corrupt (None: v1 only).
    block: Option<u32>,
}

fn key(k: &str) -> Vec<String> {
    let d = sample("keys");
    vec![
        "--key".into(),
        d.join(format!("{k}.pk8")).display().to_string(),
        "--cert".into(),
        d.join(format!("{k}.x509.pem")).display().to_string(),
    ]
}

fn cases(tmp: &Tmp) -> Vec<Case> {
    let (rsa, ec) = (key("rsa-2048"), key("ec-p256"));
    let lineage = tmp.path("lineage");
    let mut rotate = vec![
        "rotate".to_string(),
        "--out".into(),
        lineage.display().to_string(),
        "--old-signer".into(),
    ];
    rotate.extend(rsa.clone());
    rotate.push("--new-signer".into());
    rotate.extend(ec.clone());
    apksigner(&rotate.iter().map(String::as_str).collect::<Vec<_>>());
    let flags = |f: &[&str], k: &[String]| -> Vec<String> {
        f.iter()
            .map(|s| s.to_string())
            .chain(k.iter().cloned())
            .collect()
    };
    let mut two = flags(&["--v3-signing-enabled", "false"], &rsa);
    two.push("--next-signer".into());
    two.extend(ec.clone());
    let mut rotated = vec!["--lineage".to_string(), lineage.display().to_string()];
    rotated.extend(rsa.clone());
    rotated.push("--next-signer".into());
    rotated.extend(ec.clone());
    vec![
        Case {
            name: "v1v2v3-min21",
            input: "min21-target34",
            sign: rsa.clone(),
            min_sdk: None,
            schemes: "v1+v2+v3",
            block: Some(V3),
        },
        Case {
            name: "v1-only-min21",
            input: "min21-target29",
            sign: flags(
                &[
                    "--v2-signing-enabled",
                    "false",
                    "--v3-signing-enabled",
                    "false",
                ],
                &rsa,
            ),
            min_sdk: None,
            schemes: "v1",
            block: None,
        },
        Case {
            name: "v2-only-min24",
            input: "min24-target34",
            sign: flags(
                &[
                    "--v1-signing-enabled",
                    "false",
                    "--v3-signing-enabled",
                    "false",
                ],
                &ec,
            ),
            min_sdk: None,
            schemes: "v2",
            block: Some(V2),
        },
        Case {
            name: "v3-only-min28",
            input: "min28-target35",
            sign: flags(
                &[
                    "--v1-signing-enabled",
                    "false",
                    "--v2-signing-enabled",
                    "false",
                ],
                &rsa,
            ),
            min_sdk: None,
            schemes: "v3",
            block: Some(V3),
        },
        Case {
            name: "v2v3-verity-min24",
            input: "min24-target34",
            sign: flags(&["--verity-enabled"], &rsa),
            min_sdk: None,
            schemes: "v2+v3",
            block: Some(V2),
        },
        Case {
            name: "two-signers-min21",
            input: "min21-target34",
            sign: two,
            min_sdk: None,
            schemes: "v1+v2",
            block: Some(V2),
        },
        Case {
            name: "rotated-min21",
            input: "min21-target34",
            sign: rotated,
            min_sdk: None,
            schemes: "v1+v2+v3",
            block: Some(V3),
        },
        Case {
            name: "v2v3-verified-from-28",
            input: "min24-target34",
            sign: flags(&["--v1-signing-enabled", "false"], &ec),
            min_sdk: Some("28"),
            schemes: "v3",
            block: Some(V3),
        },
    ]
}

fn wrapsign(apk: &Path, min: Option<&str>) -> (i32, serde_json::Value) {
    let mut args = vec![];
    if let Some(m) = min {
        args.extend(["--min-sdk", m]);
    }
    args.push(s(apk));
    verify_json(&args)
}

fn oracle(apk: &Path, min: Option<&str>) -> bool {
    let mut args = vec!["verify"];
    if let Some(m) = min {
        args.extend(["--min-sdk-version", m]);
    }
    args.push(s(apk));
    apksigner(&args)
}

#[test]
fn apksigner_signed_apks_and_their_tampered_copies() {
    if !have("apksigner") {
        skip!("apksigner not installed (apt-get install apksigner): oracle tests did NOT run");
        return;
    }
    let tmp = Tmp::new();
    let mut checked = 0;
    for c in cases(&tmp) {
        let signed = tmp.path(&format!("{}.apk", c.name));
        let input = sample(&format!("unsigned/{}.apk", c.input));
        let mut args = vec![
            "sign".to_string(),
            "--out".into(),
            signed.display().to_string(),
        ];
        args.extend(c.sign.iter().cloned());
        args.push(input.display().to_string());
        apksigner(&args.iter().map(String::as_str).collect::<Vec<_>>());

        assert!(
            oracle(&signed, c.min_sdk),
            "{}: apksigner rejects its own output",
            c.name
        );
        let (code, v) = wrapsign(&signed, c.min_sdk);
        assert_eq!(code, 0, "{}: {v:#}", c.name);
        assert_eq!(v["items"][0]["facts"]["schemes"], c.schemes, "{}", c.name);

        let b = read(&signed);
        let mut tampered: Vec<(&str, Vec<u8>, Option<&str>)> = Vec::new();
        let (data, _) = entry_data(&b, "res/raw/blob.bin").expect("blob entry");
        tampered.push((
            "entry data",
            flip(b.clone(), data + 100),
            Some("apk-digest-mismatch"),
        ));
        // The second record's modification time: v2/v3 cover the directory, v1 does not.
        let cd_expect = if c.block.is_some() {
            Some("apk-digest-mismatch")
        } else {
            None
        };
        tampered.push((
            "central directory",
            flip(b.clone(), cd_record(&b, 1) + 12),
            cd_expect,
        ));
        if let Some(id) = c.block {
            let (sd, len) = signed_data(&b, id).expect("signed data");
            tampered.push((
                "signing block",
                flip(b.clone(), sd + len / 2),
                Some("apk-signature-invalid"),
            ));
        }
        for (what, bytes, expect) in tampered {
            let p = tmp.write(
                &format!("{}-{}.apk", c.name, what.replace(' ', "-")),
                &bytes,
            );
            let ours = wrapsign(&p, c.min_sdk);
            let theirs = oracle(&p, c.min_sdk);
            assert_eq!(
                ours.0 == 0,
                theirs,
                "{} / {what}: wrapsign exit {} but apksigner says {theirs}: {:#}",
                c.name,
                ours.0,
                ours.1
            );
            match expect {
                Some(name) => {
                    assert_eq!(ours.0, 1, "{} / {what}", c.name);
                    assert!(
                        error_names(&ours.1).contains(&name.to_string()),
                        "{} / {what}: {:#}",
                        c.name,
                        ours.1
                    );
                }
                None => assert_eq!(ours.0, 0, "{} / {what}: {:#}", c.name, ours.1),
            }
            checked += 1;
        }
    }
    println!("oracle: {checked} tampered APKs, wrapsign and apksigner agree on all");
}

/// The v2+v3 APK cannot be installed below API 24; both tools say so.
#[test]
fn both_tools_refuse_v2_only_below_24() {
    if !have("apksigner") {
        skip!("apksigner not installed");
        return;
    }
    let apk = sample("v2v3-ec.apk");
    assert!(!oracle(&apk, Some("21")));
    let (code, v) = wrapsign(&apk, Some("21"));
    assert_eq!(code, 1);
    assert!(error_names(&v).contains(&"apk-scheme-required".to_string()));
}
