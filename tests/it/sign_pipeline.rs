//! The signer pipeline as users meet it: one identity loader for both signers
//! (a `.p12` signs an APK, and gets the gate `--keystore` gives it), and
//! interrupt messages that say exactly what is on disk: nothing written
//! (the destination absent, the input byte for byte), or the output complete
//! and in place (and verifying with apksigner).

use crate::support::files_in;
use crate::support::{self as common, repo};

use std::cell::RefCell;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const AT: &str = "2026-06-01";
const KS_PASS: &str = "pass:wrapsign-test";

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn unsigned_apk() -> PathBuf {
    repo("samples/android/unsigned/min21-target34.apk")
}

/// The SHA-256 keytool printed for a keystore's alias when signing/ was made.
fn keytool_sha256(file: &str, alias: &str) -> String {
    let tsv = std::fs::read_to_string(repo("signing/android/keystores.tsv")).unwrap();
    tsv.lines()
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .find(|c| c[0] == file && c[2] == alias)
        .map(|c| c[6].to_lowercase())
        .unwrap_or_else(|| panic!("{file} {alias} in keystores.tsv"))
}

/// (name, subject) of every finding of a JSON report.
fn findings(r: &common::Run) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = r.json()["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap_or("").to_string(),
                f["subject"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn an_apk_signs_with_a_p12_given_as_cert() {
    let t = tempfile::tempdir().unwrap();
    let p12 = repo("signing/android/release.p12");
    let (by_cert, by_ks, by_ks_pass) = (
        t.path().join("cert.apk"),
        t.path().join("keystore.apk"),
        t.path().join("ks-pass.apk"),
    );
    let input = unsigned_apk();
    let base = ["sign", "--at", AT, "--format", "json", s(&input)];
    for (out, id) in [
        (&by_cert, ["--cert", s(&p12), "--cert-pass", KS_PASS]),
        (&by_ks, ["--keystore", s(&p12), "--ks-pass", KS_PASS]),
        // apksigner's habit: --ks-pass for the .p12, named with --cert.
        (&by_ks_pass, ["--cert", s(&p12), "--ks-pass", KS_PASS]),
    ] {
        let mut args = base.to_vec();
        args.extend(id);
        args.extend(["--out", s(out)]);
        let r = common::run(&args);
        assert_eq!(r.code, 0, "{id:?}: {}{}", r.stdout, r.stderr);
        assert!(
            r.stderr
                .contains(&format!("complete and in place at {}", out.display())),
            "{}",
            r.stderr
        );
    }
    // One loader: the same key, alias and chain whichever flag names the file.
    let bytes = std::fs::read(&by_cert).unwrap();
    assert!(
        bytes == std::fs::read(&by_ks).unwrap(),
        "--cert and --keystore differ"
    );
    assert!(bytes == std::fs::read(&by_ks_pass).unwrap());
    if !common::tool("apksigner") {
        return;
    }
    let o = Command::new("apksigner")
        .args(["verify", "-v", "--print-certs"])
        .arg(&by_cert)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let want = keytool_sha256("release.p12", "release");
    assert!(
        text.contains(&format!("Signer #1 certificate SHA-256 digest: {want}")),
        "{text}"
    );
    assert!(text.contains("Verified using v2 scheme (APK Signature Scheme v2): true"));
}

#[test]
fn a_v1_signer_that_java_refuses_is_never_written() {
    // Apple's certificates carry critical extensions Java does not know: a v1
    // signature made with one fails apksigner and `wrapsign verify`, so
    // `sign` must refuse it rather than write an APK and say PASS.
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("signed.apk");
    let input = unsigned_apk();
    let run = |extra: &[&str]| {
        let mut a = vec![
            "sign",
            "--at",
            AT,
            "--format",
            "json",
            "--cert",
            "signing/ios/dist.p12",
            "--cert-pass",
            "file:signing/ios/p12.pass",
            "--trust-root",
            "signing/ca/test-root-ca.pem",
            "--out",
            s(&out),
        ];
        a.extend_from_slice(extra);
        a.push(s(&input));
        common::run(&a)
    };
    let r = run(&[]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.names(), vec!["signing-key-unsupported".to_string()]);
    assert!(!out.exists(), "an APK was written");
    // Without v1 (minSdk 24) the same identity signs, and the oracles agree.
    let r = run(&["--min-sdk", "24"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let v = common::run(&[
        "verify",
        "--at",
        AT,
        "--format",
        "json",
        "--min-sdk",
        "24",
        s(&out),
    ]);
    assert_eq!((v.code, v.names()), (0, vec![]), "{}", v.stdout);
    if common::tool("apksigner") {
        let o = Command::new("apksigner")
            .args(["verify", "--min-sdk-version", "24"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    }
}

#[test]
fn a_p12_gets_the_same_gate_whichever_flag_names_it() {
    // After the release key's certificate expired (2052-05-19).
    let late = "2052-06-01";
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("out.apk");
    let p12 = repo("signing/android/release.p12");
    let input = unsigned_apk();
    let run = |id: [&str; 4]| {
        let mut args = vec!["sign", "--at", late, "--format", "json", s(&input)];
        args.extend(id);
        args.extend(["--out", s(&out)]);
        let r = common::run(&args);
        assert_eq!(r.code, 1, "{id:?}: {}{}", r.stdout, r.stderr);
        assert!(files_in(t.path()).is_empty(), "{:?}", files_in(t.path()));
        assert!(
            r.stderr.contains(&format!(
                "nothing written to {}; {} is unchanged",
                out.display(),
                unsigned_apk().display()
            )),
            "{}",
            r.stderr
        );
        findings(&r)
    };
    let by_cert = run(["--cert", s(&p12), "--cert-pass", KS_PASS]);
    let by_ks = run(["--keystore", s(&p12), "--ks-pass", KS_PASS]);
    assert!(
        by_cert.iter().any(|(n, _)| n == "keystore-cert-expired"),
        "{by_cert:?}"
    );
    assert_eq!(by_cert, by_ks);
    // ... and they are the findings `verify` gives the keystore.
    let v = common::run(&[
        "verify",
        "--at",
        late,
        "--format",
        "json",
        "--keystore",
        s(&p12),
        "--ks-pass",
        KS_PASS,
    ]);
    assert_eq!(v.code, 1, "{}", v.stdout);
    assert_eq!(findings(&v), by_cert);
}

/// An APK of 256 MiB of stored zeros: slow enough to interrupt while signing.
fn big_apk(path: &Path) {
    let mut manifest = Vec::new();
    zip::ZipArchive::new(std::fs::File::open(unsigned_apk()).unwrap())
        .unwrap()
        .by_name("AndroidManifest.xml")
        .unwrap()
        .read_to_end(&mut manifest)
        .unwrap();
    let mut w = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    w.start_file("AndroidManifest.xml", stored).unwrap();
    w.write_all(&manifest).unwrap();
    w.start_file("assets/big.bin", stored).unwrap();
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..256 {
        w.write_all(&chunk).unwrap();
    }
    w.finish().unwrap();
}

fn sign_cmd(input: &Path, dest: &[&str]) -> Command {
    let mut c = Command::new(common::bin());
    c.args(["sign", "--at", AT, s(input)])
        .args(["--keystore", s(&repo("signing/android/release.jks"))])
        .args(["--ks-pass", KS_PASS])
        .args(dest);
    c
}

#[test]
fn an_interrupt_before_the_output_is_complete_says_nothing_written() {
    if !common::tool("kill") {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let input = t.path().join("big.apk");
    big_apk(&input);
    let before = common::sha256_file(&input);
    let outdir = t.path().join("out");
    std::fs::create_dir(&outdir).unwrap();
    let out = outdir.join("signed.apk");
    let (st, stderr) = common::sigterm_when(
        || {
            let mut c = sign_cmd(&input, &["--out", s(&out)]);
            c.stdout(Stdio::null());
            c
        },
        || !files_in(&outdir).is_empty(),
        || {
            let _ = std::fs::remove_file(&out);
        },
    );
    assert_eq!(st.code(), Some(130), "{st:?} {stderr}");
    assert!(
        stderr.contains(&format!(
            "wrapsign: interrupted; nothing written to {}; {} is unchanged; temporary files removed",
            out.display(),
            input.display()
        )),
        "{stderr}"
    );
    assert!(files_in(&outdir).is_empty(), "{:?}", files_in(&outdir));
    assert_eq!(common::sha256_file(&input), before);

    // In place: the input is all there is, as it was.
    let (st, stderr) = common::sigterm_when(
        || {
            let mut c = sign_cmd(&input, &["--in-place"]);
            c.stdout(Stdio::null());
            c
        },
        || files_in(t.path()).len() > 2,
        || {},
    );
    assert_eq!(st.code(), Some(130), "{st:?} {stderr}");
    assert!(
        stderr.contains(&format!(
            "wrapsign: interrupted; nothing written; {} is unchanged; temporary files removed",
            input.display()
        )),
        "{stderr}"
    );
    assert_eq!(files_in(t.path()), vec!["big.apk", "out"]);
    assert_eq!(common::sha256_file(&input), before);
}

#[test]
fn an_interrupt_after_the_output_is_in_place_says_so() {
    if !common::tool("kill") || !common::tool("sleep") {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("signed.apk");
    let input = unsigned_apk();
    // The run blocks printing its report (a full stdout), after the rename.
    let pipes = RefCell::new(Vec::new());
    let (st, stderr) = common::sigterm_when(
        || {
            let (stdout, guard) = common::full_pipe();
            pipes.borrow_mut().push(guard);
            let mut c = sign_cmd(&input, &["--out", s(&out), "--format", "json"]);
            c.stdout(stdout);
            c
        },
        || out.exists(),
        || {
            let _ = std::fs::remove_file(&out);
        },
    );
    drop(pipes);
    assert_eq!(st.code(), Some(130), "{st:?} {stderr}");
    assert!(
        stderr.contains(&format!(
            "wrapsign: interrupted; the signed output is complete and in place at {}; temporary files removed",
            out.display()
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("nothing written"), "{stderr}");
    assert_eq!(files_in(t.path()), vec!["signed.apk"]);
    // What the message says is true: the output is whole and verifies.
    if common::tool("apksigner") {
        let o = Command::new("apksigner")
            .args(["verify", "-v"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    }
}

/// The APK signer verifies what it wrote before renaming it into place: a
/// signed APK damaged after writing (the debug-only fault hook flips one byte
/// of the manifest's data) is refused, nothing is written, no temporary file
/// is left; the same run undamaged writes an APK that apksigner accepts.
#[test]
fn an_apk_that_does_not_verify_after_signing_is_never_written() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("signed.apk");
    let input = unsigned_apk();
    let before = common::sha256_file(&input);
    let p12 = repo("signing/android/release.p12");
    let args = [
        "sign",
        "--at",
        AT,
        "--format",
        "json",
        s(&input),
        "--keystore",
        s(&p12),
        "--ks-pass",
        KS_PASS,
        "--out",
        s(&out),
    ];
    if !cfg!(debug_assertions) {
        common::skip_line("the fault injection exists in debug builds only");
    } else {
        let r = common::run_with(&args, &[("WRAPSIGN_TEST_DAMAGE_SIGNED", "@64")], None);
        assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
        let f = findings(&r);
        assert!(
            f.iter().any(|(n, _)| n == "sign-failed"),
            "{f:?}\n{}",
            r.stdout
        );
        assert!(r.stdout.contains("does not verify"), "{}", r.stdout);
        assert!(!out.exists(), "nothing written");
        assert!(files_in(t.path()).is_empty(), "{:?}", files_in(t.path()));
        assert_eq!(common::sha256_file(&input), before, "input untouched");
    }
    let r = common::run(&args);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(out.exists());
    if common::tool("apksigner") {
        let v = Command::new("apksigner")
            .args(["verify", s(&out)])
            .output()
            .unwrap();
        assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
    }
}
