//! Key rotation, byte-compatible with apksigner: `wrapsign rotate` writes the
//! same SigningCertificateLineage bytes as `apksigner rotate` (RSA signatures
//! are deterministic) and as apksig's own test resource; `wrapsign sign
//! --lineage` reproduces apksig's golden rotated APK byte for byte; lineages
//! travel both ways between the two tools; every rotated APK verifies with
//! `apksigner verify` and with `wrapsign verify --signer-cert OLD`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::apk::{keytool_rsa, s, sample, Tmp};
use crate::support::{bin, conformance, tool};

const AT: &str = "2026-01-01";

fn apksig(name: &str) -> Option<PathBuf> {
    conformance(&format!("apksig/{name}"))
}

/// (key, cert) of apksig's test signers `rsa-2048` and `rsa-2048_2`, and of
/// the samples' EC key (a third generation).
fn keys() -> Option<[(PathBuf, PathBuf); 3]> {
    Some([
        (apksig("rsa-2048.pk8")?, apksig("rsa-2048.x509.pem")?),
        (apksig("rsa-2048_2.pk8")?, apksig("rsa-2048_2.x509.pem")?),
        (sample("keys/ec-p256.pk8"), sample("keys/ec-p256.x509.pem")),
    ])
}

fn wrapsign(args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(bin())
        .args(args)
        .args(["--format", "json"])
        .output()
        .expect("run wrapsign");
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: not JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (
        out.status.code().unwrap(),
        v,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn apksigner(args: &[&str]) -> String {
    let out = Command::new("apksigner").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "apksigner {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn names(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{}:{}",
                f["name"].as_str().unwrap(),
                f["severity"].as_str().unwrap()
            )
        })
        .collect()
}

/// apksig's rsa-2048_2 ends in 2028, before Play's date: not what is tested here.
const SHORT_OK: [&str; 2] = ["--warn", "keystore-validity-too-short"];

/// A signer's (key, cert) files.
type Pair = (PathBuf, PathBuf);

/// `--key K --cert C`, as both tools spell a signer.
fn signer(k: &Pair) -> [&str; 4] {
    ["--key", s(&k.0), "--cert", s(&k.1)]
}

/// `--old-key K --old-cert C`: wrapsign's original signer (v1/v2/v3.0).
fn old_signer(k: &Pair) -> [&str; 4] {
    ["--old-key", s(&k.0), "--old-cert", s(&k.1)]
}

/// `apksigner rotate PRE --out OUT --old-signer OLD OLD_FLAGS --new-signer NEW NEW_FLAGS`.
fn apksigner_rotate(pre: &[&str], out: &Path, old: (&Pair, &[&str]), new: (&Pair, &[&str])) {
    let mut args = vec!["rotate"];
    args.extend(pre);
    args.extend(["--out", s(out), "--old-signer"]);
    args.extend(signer(old.0));
    args.extend(old.1);
    args.push("--new-signer");
    args.extend(signer(new.0));
    args.extend(new.1);
    apksigner(&args);
}

/// `wrapsign sign INPUT --key --cert --lineage L --out O --at AT`, with
/// [`SHORT_OK`] and `extra`.
fn sign_with_lineage(
    input: &Path,
    key: &Pair,
    lineage: &Path,
    out: &Path,
    extra: &[&str],
) -> (i32, Value) {
    let mut args = vec!["sign", s(input)];
    args.extend(signer(key));
    args.extend(["--lineage", s(lineage), "--out", s(out), "--at", AT]);
    args.extend(SHORT_OK);
    args.extend(extra);
    let (code, v, _) = wrapsign(&args);
    (code, v)
}

fn rotate(out: &Path, old: &Pair, new: &Pair, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["rotate", "--out", s(out)];
    args.extend(old_signer(old));
    args.extend(["--new-key", s(&new.0), "--new-cert", s(&new.1), "--at", AT]);
    args.extend(SHORT_OK);
    args.extend(extra);
    let (code, v, _) = wrapsign(&args);
    (code, v)
}

#[test]
fn golden_rotated_apk_is_reproduced_byte_for_byte() {
    let (Some(input), Some(golden), Some(lineage), Some(k)) = (
        apksig("golden-aligned-in.apk"),
        apksig("golden-aligned-v1v2v3-lineage-out.apk"),
        apksig("rsa-2048-lineage-2-signers"),
        keys(),
    ) else {
        return;
    };
    let tmp = Tmp::new();
    let out = tmp.path("out.apk");
    // apksig's ApkSignerTest: signers [rsa-2048, rsa-2048_2], v1+v2+v3, the
    // lineage, setMinSdkVersionForRotation(P); its 2023 goldens keep the
    // input's alignment on 4 KiB pages.
    let mut extra = old_signer(&k[0]).to_vec();
    extra.extend([
        "--rotation-min-sdk",
        "28",
        "--v1",
        "true",
        "--v2",
        "true",
        "--v3",
        "true",
        "--alignment-preserved",
        "--lib-page-alignment",
        "4096",
    ]);
    let (code, v) = sign_with_lineage(&input, &k[1], &lineage, &out, &extra);
    assert_eq!(code, 0, "{v:#}");
    let (ours, theirs) = (
        std::fs::read(&out).unwrap(),
        std::fs::read(&golden).unwrap(),
    );
    let first = ours.iter().zip(&theirs).position(|(a, b)| a != b);
    assert!(
        ours == theirs,
        "{} vs {} bytes, first difference at {first:?}",
        ours.len(),
        theirs.len()
    );
    let (code, v) = verify_against(&out, &k[0].1, &[]);
    assert_eq!(code, 0, "{v:#}");
    if tool("apksigner") {
        let printed = apksigner(&["verify", "-v", "--print-certs", s(&out)]);
        assert!(
            printed.contains("Signer #1 certificate DN: CN=rsa-2048_2\n"),
            "{printed}"
        );
    }
}

#[test]
fn rotate_writes_apksigners_bytes() {
    let (Some(k), Some(resource)) = (keys(), apksig("rsa-2048-lineage-2-signers")) else {
        return;
    };
    if !tool("apksigner") {
        return;
    }
    let tmp = Tmp::new();
    let ours = tmp.path("ours.lin");
    let (code, v) = rotate(&ours, &k[0], &k[1], &[]);
    assert_eq!(code, 0, "{v:#}");
    // apksig's own test resource was made the same way.
    assert_eq!(
        std::fs::read(&ours).unwrap(),
        std::fs::read(&resource).unwrap()
    );
    let theirs = tmp.path("theirs.lin");
    apksigner_rotate(&[], &theirs, (&k[0], &[]), (&k[1], &[]));
    assert_eq!(
        std::fs::read(&ours).unwrap(),
        std::fs::read(&theirs).unwrap()
    );

    // Capabilities, as apksigner's --set-* spell them.
    let ours = tmp.path("caps-ours.lin");
    let (code, v) = rotate(
        &ours,
        &k[0],
        &k[1],
        &[
            "--old-capabilities",
            "installed-data,rollback",
            "--new-capabilities",
            "none",
        ],
    );
    assert_eq!(code, 0, "{v:#}");
    let theirs = tmp.path("caps-theirs.lin");
    let not = |caps: &[&'static str]| -> Vec<&'static str> {
        caps.iter().flat_map(|c| [*c, "false"]).collect()
    };
    let mut old_flags = not(&["--set-shared-uid", "--set-permission", "--set-auth"]);
    old_flags.extend(["--set-rollback", "true"]);
    let new_flags = not(&[
        "--set-installed-data",
        "--set-shared-uid",
        "--set-permission",
        "--set-auth",
    ]);
    apksigner_rotate(&[], &theirs, (&k[0], &old_flags), (&k[1], &new_flags));
    assert_eq!(
        std::fs::read(&ours).unwrap(),
        std::fs::read(&theirs).unwrap()
    );

    // Extending a lineage (--in): a third generation, signed by rsa-2048_2.
    let ours3 = tmp.path("three-ours.lin");
    let base = tmp.path("ours.lin");
    let (code, v) = rotate(&ours3, &k[1], &k[2], &["--in", s(&base)]);
    assert_eq!(code, 0, "{v:#}");
    let theirs3 = tmp.path("three-theirs.lin");
    apksigner_rotate(&["--in", s(&base)], &theirs3, (&k[1], &[]), (&k[2], &[]));
    assert_eq!(
        std::fs::read(&ours3).unwrap(),
        std::fs::read(&theirs3).unwrap()
    );

    // apksigner reads ours, and so does `wrapsign lineage`.
    let printed = apksigner(&["lineage", "--in", s(&ours3), "--print-certs"]);
    assert_eq!(
        printed.matches("in lineage certificate DN").count(),
        3,
        "{printed}"
    );
    let (code, v, _) = wrapsign(&["lineage", s(&ours3)]);
    assert_eq!(code, 0);
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    for (i, item) in items.iter().enumerate() {
        // The same SHA-256 apksigner prints for each certificate, in order.
        let fp = item["facts"]["sha256"].as_str().unwrap();
        let line = format!(
            "Signer #{} in lineage certificate SHA-256 digest: {fp}",
            i + 1
        );
        assert!(printed.contains(&line), "{line}\n{printed}");
    }
    assert_eq!(
        items[0]["facts"]["capabilities"],
        "installed-data, shared-uid, permission, auth"
    );
}

#[test]
fn rotate_refuses_what_apksigner_refuses() {
    let Some(k) = keys() else { return };
    let tmp = Tmp::new();
    let base = tmp.path("base.lin");
    assert_eq!(rotate(&base, &k[0], &k[1], &[]).0, 0);
    // Extending from a key that is not the newest: nothing written.
    let out = tmp.path("bad.lin");
    let (code, v) = rotate(&out, &k[0], &k[2], &["--in", s(&base)]);
    assert_eq!(code, 1, "{v:#}");
    assert!(!out.exists());
    assert!(v["findings"][0]["message"]
        .as_str()
        .unwrap()
        .contains("newest"));
    // A key that does not belong to its certificate.
    let (code, v) = rotate(&out, &(k[0].0.clone(), k[1].1.clone()), &k[2], &[]);
    assert_eq!(code, 1, "{v:#}");
    assert!(!out.exists());
    assert!(
        names(&v)
            .iter()
            .any(|n| n.starts_with("keystore-key-mismatch")),
        "{v:#}"
    );
}

/// A rotated APK from the samples' unsigned minSdk 21 app, signed by wrapsign.
fn sign_rotated(
    tmp: &Tmp,
    lineage: &Path,
    k: &[(PathBuf, PathBuf); 3],
    extra: &[&str],
) -> (i32, Value, PathBuf) {
    let out = tmp.path(&format!(
        "rotated-{}.apk",
        extra.join("-").replace(['/', ' '], "_")
    ));
    let mut args = old_signer(&k[0]).to_vec();
    args.extend(extra);
    let input = sample("unsigned/min21-target34.apk");
    let (code, v) = sign_with_lineage(&input, &k[1], lineage, &out, &args);
    (code, v, out)
}

fn verify_against(apk: &Path, old_cert: &Path, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["verify", s(apk), "--signer-cert", s(old_cert), "--at", AT];
    args.extend(extra);
    let (code, v, _) = wrapsign(&args);
    (code, v)
}

#[test]
fn lineages_travel_both_ways_and_rotated_apks_verify_everywhere() {
    let Some(k) = keys() else { return };
    if !tool("apksigner") {
        return;
    }
    let tmp = Tmp::new();
    // A lineage made by apksigner, used by wrapsign sign: v3.1 from API 33 (the default)
    // and the whole rotation in v3.0 from API 28.
    let theirs = tmp.path("theirs.lin");
    apksigner_rotate(&[], &theirs, (&k[0], &[]), (&k[1], &[]));
    for (extra, v31) in [(&[][..], true), (&["--rotation-min-sdk", "28"][..], false)] {
        let (code, v, apk) = sign_rotated(&tmp, &theirs, &k, extra);
        assert_eq!(code, 0, "{v:#}");
        let rotation = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["kind"] == "signed-apk")
            .unwrap()["facts"]["rotation"]
            .to_string();
        assert_eq!(rotation.contains("v3.1"), v31, "{rotation}");
        // Debian's apksigner 31.0.2 predates v3.1: it verifies v1/v2/v3.0, and
        // the rotated v3 when the rotation is in v3.0.
        let out = apksigner(&["verify", "-v", "--print-certs", s(&apk)]);
        assert!(out.starts_with("Verifies"), "{out}");
        let signer = if v31 {
            "CN=rsa-2048\n"
        } else {
            "CN=rsa-2048_2\n"
        };
        assert!(
            out.contains(&format!("Signer #1 certificate DN: {signer}")),
            "{out}"
        );
        if v31 {
            let out = apksigner(&["verify", "-v", "--max-sdk-version", "32", s(&apk)]);
            assert!(
                out.contains("Verified using v3 scheme (APK Signature Scheme v3): true"),
                "{out}"
            );
        }
        // wrapsign: the expected (old) certificate is accepted through the lineage.
        let (code, v) = verify_against(&apk, &k[0].1, &[]);
        assert_eq!(code, 0, "{v:#}");
        let rotated: Vec<&Value> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["name"] == "apk-signer-rotated")
            .collect();
        assert_eq!(rotated.len(), 1, "{v:#}");
        assert_eq!(
            rotated[0]["details"]["rotation_min_sdk"],
            if v31 { 33 } else { 28 },
            "{v:#}"
        );
        // The new certificate is, of course, accepted too; an unrelated one is not.
        assert_eq!(verify_against(&apk, &k[1].1, &[]).0, 0);
        let (code, v) = verify_against(&apk, &k[2].1, &[]);
        assert_eq!(code, 1, "{v:#}");
        assert!(names(&v).contains(&"apk-signer-mismatch:error".to_string()));
        // The lineage can be taken from the APK itself.
        let (code, v, _) = wrapsign(&["lineage", s(&apk)]);
        assert_eq!(
            (code, v["items"].as_array().unwrap().len()),
            (0, 2),
            "{v:#}"
        );
    }

    // A lineage made by wrapsign, used by apksigner sign.
    let ours = tmp.path("ours.lin");
    assert_eq!(rotate(&ours, &k[0], &k[1], &[]).0, 0);
    let apk = tmp.path("by-apksigner.apk");
    let mut args = vec!["sign"];
    args.extend(signer(&k[0]));
    args.push("--next-signer");
    args.extend(signer(&k[1]));
    let input = sample("unsigned/min21-target34.apk");
    args.extend(["--lineage", s(&ours), "--out", s(&apk), s(&input)]);
    apksigner(&args);
    let out = apksigner(&["verify", "-v", "--print-certs", s(&apk)]);
    assert!(
        out.contains("Signer #1 certificate DN: CN=rsa-2048_2\n"),
        "{out}"
    );
    let (code, v) = verify_against(&apk, &k[0].1, &[]);
    assert_eq!(code, 0, "{v:#}");
    assert!(
        names(&v).contains(&"apk-signer-rotated:info".to_string()),
        "{v:#}"
    );

    // An APK as the lineage source of another signing run.
    let (code, v, again) = sign_rotated(&tmp, &apk, &k, &["--v1", "true"]);
    assert_eq!(code, 0, "{v:#}");
    apksigner(&["verify", s(&again)]);
    assert_eq!(verify_against(&again, &k[0].1, &[]).0, 0);
}

#[test]
fn an_ancestor_without_installed_data_cannot_be_updated() {
    let Some(k) = keys() else { return };
    let tmp = Tmp::new();
    let lin = tmp.path("no-data.lin");
    let (code, v) = rotate(
        &lin,
        &k[0],
        &k[1],
        &["--old-capabilities", "permission,auth"],
    );
    assert_eq!(code, 0, "{v:#}");
    let (code, v, apk) = sign_rotated(&tmp, &lin, &k, &["--rotation-min-sdk", "28"]);
    assert_eq!(code, 0, "{v:#}");
    if tool("apksigner") {
        // The signature itself is fine; the update is what Android would refuse.
        apksigner(&["verify", "-v", "--print-certs", s(&apk)]);
    }
    let (code, v) = verify_against(&apk, &k[0].1, &[]);
    assert_eq!(code, 1, "{v:#}");
    let f = &v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "apk-signer-mismatch")
        .unwrap();
    assert!(
        f["message"].as_str().unwrap().contains("installed-data"),
        "{f:#}"
    );
}

#[test]
fn signing_with_a_lineage_needs_the_original_key_where_old_devices_check_it() {
    let (Some(k), Some(lineage)) = (keys(), apksig("rsa-2048-lineage-2-signers")) else {
        return;
    };
    let tmp = Tmp::new();
    let out = tmp.path("new-only.apk");
    let input = sample("unsigned/min21-target34.apk");
    let (code, v) = sign_with_lineage(&input, &k[1], &lineage, &out, &[]);
    assert_eq!(code, 1, "{v:#}");
    assert!(!out.exists(), "nothing written");
    let msg = v["findings"][0]["message"].as_str().unwrap();
    assert!(
        msg.contains("--old-keystore") && msg.contains("rsa-2048"),
        "{msg}"
    );
    // For an app whose minSdk is the rotation SDK, the new key alone signs
    // everything once v2 (which must be the original key's) is off, as apksig demands.
    let input = sample("unsigned/min28-target35.apk");
    let min28 = ["--rotation-min-sdk", "28"];
    let (code, v) = sign_with_lineage(&input, &k[1], &lineage, &out, &min28);
    assert_eq!(code, 1, "{v:#}");
    assert!(v["findings"][0]["message"]
        .as_str()
        .unwrap()
        .contains("--v2 false"));
    let (code, v) = sign_with_lineage(
        &input,
        &k[1],
        &lineage,
        &out,
        &["--rotation-min-sdk", "28", "--v2", "false"],
    );
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(verify_against(&out, &k[0].1, &[]).0, 0);
    // A certificate outside the lineage cannot sign with it.
    let x = tmp.path("x.apk");
    let (code, v) = sign_with_lineage(&input, &k[2], &lineage, &x, &[]);
    assert_eq!(code, 1, "{v:#}");
    assert!(v["findings"][0]["message"]
        .as_str()
        .unwrap()
        .contains("not in the lineage"));
}

#[test]
fn rotate_with_keystores_and_password_specs() {
    if !tool("keytool") {
        return;
    }
    let tmp = Tmp::new();
    let mk = |name: &str, cn: &str| {
        let ks = tmp.path(&format!("{name}.jks"));
        keytool_rsa(&ks, name, "secret1", cn, "2048", "10000");
        ks
    };
    let (old, new) = (
        mk("old", "CN=Old Key,O=wrapsign test"),
        mk("new", "CN=New Key,O=wrapsign test"),
    );
    let lin = tmp.path("ks.lin");
    let out = Command::new(bin())
        .args([
            "rotate",
            "--out",
            s(&lin),
            "--old-keystore",
            s(&old),
            "--old-alias",
            "old",
            "--old-ks-pass",
            "env:OLD_PASS",
            "--new-keystore",
            s(&new),
            "--new-alias",
            "new",
            "--new-ks-pass",
            "stdin",
        ])
        .env("OLD_PASS", "secret1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(b"secret1\n")?;
            c.wait_with_output()
        })
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !stdout.contains("secret1") && !String::from_utf8_lossy(&out.stderr).contains("secret1")
    );
    if tool("apksigner") {
        let printed = apksigner(&["lineage", "--in", s(&lin), "--print-certs"]);
        assert!(
            printed.contains("CN=Old Key") && printed.contains("CN=New Key"),
            "{printed}"
        );
    }
    // sign with the keystores: the old one for v1/v2/v3.0, the new one for v3.1.
    let apk = tmp.path("ks.apk");
    let out = Command::new(bin())
        .args([
            "sign",
            s(&sample("unsigned/min21-target34.apk")),
            "--keystore",
            s(&new),
            "--ks-pass",
            "env:P",
            "--old-keystore",
            s(&old),
            "--old-ks-pass",
            "env:P",
            "--lineage",
            s(&lin),
            "--out",
            s(&apk),
        ])
        .env("P", "secret1")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    if tool("apksigner") {
        let printed = apksigner(&["verify", "-v", "--print-certs", s(&apk)]);
        assert!(printed.contains("CN=Old Key"), "{printed}");
    }
    // The update check against the old certificate, exported by keytool.
    let pem = Command::new("keytool")
        .args([
            "-exportcert",
            "-rfc",
            "-keystore",
            s(&old),
            "-storepass",
            "secret1",
            "-alias",
            "old",
        ])
        .output()
        .unwrap();
    let old_pem = tmp.write("old.pem", &pem.stdout);
    let (code, v) = verify_against(&apk, &old_pem, &[]);
    assert_eq!(code, 0, "{v:#}");
    assert!(
        names(&v).contains(&"apk-signer-rotated:info".to_string()),
        "{v:#}"
    );
}
