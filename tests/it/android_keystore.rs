//! `wrapsign verify` on Android keystores, through the binary: every finding
//! name with its severity and exit code, JSON output, passwords (store, key,
//! non-ASCII, env, stdin), `--alias`, policy downgrades, positional routing, and
//! bad input (truncated, garbage, flipped bytes) that must never panic or leak
//! a password. Fixtures: signing/android (generate.sh, TEST ONLY).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

const PASS: &str = "wrapsign-test";
const AT: &str = "2026-06-01";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("signing/android")
        .join(name)
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout))
    }
    /// (name, severity) of every finding.
    fn findings(&self) -> BTreeSet<(String, String)> {
        self.json()["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["name"].as_str().unwrap().to_string(),
                    f["severity"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }
    fn names(&self) -> BTreeSet<String> {
        self.findings().into_iter().map(|(n, _)| n).collect()
    }
    fn finding(&self, name: &str) -> Value {
        self.json()["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} finding in\n{}", self.stdout))
    }
    fn items(&self) -> Vec<Value> {
        self.json()["items"].as_array().unwrap().clone()
    }
    /// No password (right or wrong) appears anywhere in the output.
    fn assert_no_secret(&self, secrets: &[&str]) {
        for s in secrets {
            assert!(
                !self.stdout.contains(s),
                "stdout leaks {s:?}:\n{}",
                self.stdout
            );
            assert!(
                !self.stderr.contains(s),
                "stderr leaks {s:?}:\n{}",
                self.stderr
            );
        }
        assert!(!self.stderr.contains("panicked"), "panic:\n{}", self.stderr);
    }
}

fn run_with(args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wrapsign"));
    cmd.args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("run wrapsign");
    {
        let mut input = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            input.write_all(s.as_bytes()).unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().expect("exit code (killed by a signal?)"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `wrapsign verify --at AT --format json ARGS...` (ARGS may pin another --at).
fn verify(args: &[&str]) -> Run {
    let mut all = vec!["verify", "--format", "json"];
    if !args.contains(&"--at") {
        all.extend(["--at", AT]);
    }
    all.extend_from_slice(args);
    run_with(&all, None, &[])
}

fn ks(name: &str) -> String {
    fixture(name).display().to_string()
}

fn pass(p: &str) -> String {
    format!("pass:{p}")
}

/// keystores.tsv (written by generate.sh from `keytool -list -v`): file -> (alias, SHA-256).
fn keytool_listing() -> Vec<(String, String, String)> {
    let tsv = std::fs::read_to_string(fixture("keystores.tsv")).unwrap();
    tsv.lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            (c[0].to_string(), c[2].to_string(), c[6].to_lowercase())
        })
        .collect()
}

#[test]
fn clean_keystores_pass_in_every_format() {
    let listing = keytool_listing();
    for (file, pw, ks_type) in [
        ("release.jks", PASS, "JKS"),
        ("release.jceks", PASS, "JCEKS"),
        ("release.p12", PASS, "PKCS#12"),
        ("release-legacy.p12", PASS, "PKCS#12"),
        ("ec-p256.jks", PASS, "JKS"),
        ("nonascii.jks", "pässwörd", "JKS"),
        ("nonascii.p12", "pässwörd", "PKCS#12"),
    ] {
        let r = verify(&["--keystore", &ks(file), "--ks-pass", &pass(pw)]);
        assert_eq!(r.code, 0, "{file}: {}", r.stdout);
        assert!(r.findings().is_empty(), "{file}: {:?}", r.findings());
        let items = r.items();
        assert_eq!(items.len(), 1, "{file}");
        let f = &items[0]["facts"];
        assert_eq!(items[0]["kind"], "keystore-entry");
        assert_eq!(f["type"], "private-key", "{file}");
        assert_eq!(f["keystore_type"], ks_type, "{file}");
        assert_eq!(f["private_key"], "matches certificate", "{file}");
        assert_eq!(f["integrity"], "verified", "{file}");
        // Same alias and fingerprint as keytool printed (nonascii.p12 is not keytool-readable).
        if let Some((_, alias, sha)) = listing.iter().find(|(f, _, _)| f == file) {
            assert_eq!(f["alias"], alias.as_str(), "{file}");
            assert_eq!(f["sha256"], sha.as_str(), "{file}");
        }
        r.assert_no_secret(&[pw]);
    }
}

/// (arguments, every expected (name, severity), exit code)
type Case = (Vec<String>, Vec<(&'static str, &'static str)>, i32);

#[test]
fn each_finding_name_with_its_severity_and_exit_code() {
    let bks = tempfile::tempdir().unwrap();
    let bks_file = bks.path().join("store.bks");
    // An empty BKS v2: version, 20-byte salt, iterations, end marker, HMAC.
    let mut b = vec![0, 0, 0, 2, 0, 0, 0, 20];
    b.extend([0x11; 20]);
    b.extend(1024u32.to_be_bytes());
    b.push(0);
    b.extend([0x22; 20]);
    std::fs::write(&bks_file, &b).unwrap();
    let bks_path = bks_file.display().to_string();

    let p = pass(PASS);
    let cases: Vec<Case> = vec![
        (
            vec![ks("expired.jks")],
            vec![
                ("keystore-cert-expired", "error"),
                ("keystore-validity-too-short", "error"),
            ],
            1,
        ),
        (
            vec![ks("release.jks"), "--at".into(), "2024-12-01".into()],
            vec![("keystore-cert-not-yet-valid", "error")],
            1,
        ),
        (
            vec![
                ks("short.jks"),
                "--at".into(),
                "2029-12-20".into(),
                "--allow".into(),
                "keystore-validity-too-short".into(),
            ],
            vec![("keystore-cert-expiring", "warning")],
            0,
        ),
        (
            vec![ks("short.jks")],
            vec![("keystore-validity-too-short", "error")],
            1,
        ),
        (vec![ks("rsa1024.jks")], vec![("weak-key", "error")], 1),
        (vec![ks("dsa.jks")], vec![("weak-key", "error")], 1),
        (vec![ks("md5.jks")], vec![("weak-digest", "error")], 1),
        (vec![ks("sha1.jks")], vec![("weak-digest", "warning")], 0),
        (
            vec![ks("duplicate.jks")],
            vec![("keystore-duplicate-alias", "error")],
            1,
        ),
        (
            vec![ks("mismatch.jks")],
            vec![("keystore-key-mismatch", "error")],
            1,
        ),
        (
            vec![ks("keypass.jks")],
            vec![("password-wrong", "error")],
            2,
        ),
        (
            vec![ks("release.jks"), "--alias".into(), "nope".into()],
            vec![("keystore-alias-missing", "error")],
            1,
        ),
        (
            vec![bks_path.clone()],
            vec![("keystore-unsupported", "error")],
            1,
        ),
    ];
    for (args, expected, code) in cases {
        let mut a: Vec<&str> = vec!["--ks-pass", &p];
        a.extend(args.iter().map(String::as_str));
        let r = verify(&a);
        let want: BTreeSet<(String, String)> = expected
            .iter()
            .map(|(n, s)| (n.to_string(), s.to_string()))
            .collect();
        assert_eq!(r.findings(), want, "{args:?}\n{}", r.stdout);
        assert_eq!(r.code, code, "{args:?}\n{}", r.stdout);
        assert_eq!(r.json()["summary"]["exit_code"], code);
        r.assert_no_secret(&[PASS]);
    }

    // The debug key has its own well-known password.
    let r = verify(&["--ks-pass", "pass:android", &ks("debug.keystore")]);
    assert_eq!(
        r.findings(),
        BTreeSet::from([("debug-certificate".into(), "error".into())])
    );
    assert_eq!(r.code, 1);

    // No password: the certificates are still checked, with a warning.
    let r = verify(&[&ks("rsa1024.jks")]);
    assert_eq!(
        r.findings(),
        BTreeSet::from([
            ("keystore-integrity-unchecked".into(), "warning".into()),
            ("weak-key".into(), "error".into())
        ])
    );
    assert_eq!(
        r.items()[0]["facts"]["private_key"],
        "not checked (no password)"
    );
    assert_eq!(r.code, 1);
}

#[test]
fn policy_downgrades_and_the_play_date() {
    let p = pass(PASS);
    let short = ks("short.jks");
    let r = verify(&[
        "--ks-pass",
        &p,
        &short,
        "--warn",
        "keystore-validity-too-short",
    ]);
    assert_eq!(
        r.findings(),
        BTreeSet::from([("keystore-validity-too-short".into(), "warning".into())])
    );
    assert_eq!(r.code, 0);
    // Valid until 2030-01-01: fine for a 2029 deadline, not for 2030-01-01 itself.
    let r = verify(&["--ks-pass", &p, &short, "--play-min-validity", "2029-06-01"]);
    assert!(r.findings().is_empty(), "{}", r.stdout);
    let r = verify(&["--ks-pass", &p, &short, "--play-min-validity", "2030-01-01"]);
    assert_eq!(
        r.names(),
        BTreeSet::from(["keystore-validity-too-short".to_string()])
    );
    // Warnings fail the run on request; errors can be dropped per name.
    let r = verify(&["--ks-pass", &p, &ks("sha1.jks"), "--deny-warnings"]);
    assert_eq!(r.code, 1);
    let r = verify(&["--ks-pass", &p, &ks("md5.jks"), "--warn", "weak-digest"]);
    assert_eq!(
        (r.code, r.findings()),
        (
            0,
            BTreeSet::from([("weak-digest".into(), "warning".into())])
        )
    );
    let r = verify(&["--ks-pass", &p, &ks("rsa1024.jks"), "--allow", "weak-key"]);
    assert_eq!((r.code, r.findings().len()), (0, 0));
    let r = verify(&[
        "--ks-pass",
        &p,
        &ks("release.jks"),
        "--warn",
        "no-such-check",
    ]);
    assert_eq!(r.code, 2);
}

#[test]
fn wrong_store_and_key_passwords_are_findings_that_name_which() {
    let wrong = "hunter2-not-it";
    for file in [
        "release.jks",
        "release.jceks",
        "release.p12",
        "release-legacy.p12",
        "nonascii.jks",
    ] {
        let r = verify(&["--keystore", &ks(file), "--ks-pass", &pass(wrong)]);
        // Nothing behind a wrong password can be checked: exit 2, as for an unreadable file.
        assert_eq!(r.code, 2, "{file}: {}", r.stdout);
        assert_eq!(
            r.names(),
            BTreeSet::from(["password-wrong".to_string()]),
            "{file}"
        );
        assert_eq!(
            r.finding("password-wrong")["details"]["password"],
            "store",
            "{file}"
        );
        r.assert_no_secret(&[wrong, PASS]);
    }
    // A byte-wise (Latin-1) encoding of the password is not what Java hashes.
    let r = verify(&[
        "--keystore",
        &ks("nonascii.jks"),
        "--ks-pass",
        "pass:p\u{e4}ssw\u{f6}rd",
    ]);
    assert_eq!(r.code, 0);
    for file in ["keypass.jks", "keypass.jceks"] {
        // The key password defaults to the store password, which is not it.
        let r = verify(&["--keystore", &ks(file), "--ks-pass", &pass(PASS)]);
        let f = r.finding("password-wrong");
        assert_eq!(
            (f["details"]["password"].as_str(), f["subject"].as_str()),
            (Some("key"), Some("signing"))
        );
        assert!(f["message"].as_str().unwrap().contains("--key-pass"));
        assert_eq!(r.code, 2);
        // A wrong explicit key password.
        let r = verify(&[
            "--keystore",
            &ks(file),
            "--ks-pass",
            &pass(PASS),
            "--key-pass",
            &pass(wrong),
        ]);
        assert_eq!(r.finding("password-wrong")["details"]["password"], "key");
        r.assert_no_secret(&[wrong, PASS, "wrapsign-key"]);
        // The right one.
        let r = verify(&[
            "--keystore",
            &ks(file),
            "--ks-pass",
            &pass(PASS),
            "--key-pass",
            "pass:wrapsign-key",
        ]);
        assert_eq!((r.code, r.findings().len()), (0, 0), "{file}: {}", r.stdout);
        assert_eq!(r.items()[0]["facts"]["private_key"], "matches certificate");
        r.assert_no_secret(&[PASS, "wrapsign-key"]);
    }
    // JCEKS keys only take ASCII passwords: a non-ASCII one is wrong, and says why.
    let r = verify(&[
        "--keystore",
        &ks("keypass.jceks"),
        "--ks-pass",
        &pass(PASS),
        "--key-pass",
        "pass:kéy",
    ]);
    assert!(r.finding("password-wrong")["message"]
        .as_str()
        .unwrap()
        .contains("ASCII"));
    r.assert_no_secret(&["kéy"]);
    // Human output too.
    let r = run_with(
        &[
            "verify",
            "--at",
            AT,
            "--keystore",
            &ks("release.p12"),
            "--ks-pass",
            &pass(wrong),
        ],
        None,
        &[],
    );
    assert!(r.stdout.contains("error[password-wrong]"), "{}", r.stdout);
    r.assert_no_secret(&[wrong]);
}

#[test]
fn passwords_from_env_and_stdin() {
    let r = run_with(
        &[
            "verify",
            "--at",
            AT,
            "--format",
            "json",
            &ks("keypass.jks"),
            "--ks-pass",
            "env:WS_KS",
            "--key-pass",
            "env:WS_KEY",
        ],
        None,
        &[("WS_KS", PASS), ("WS_KEY", "wrapsign-key")],
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    r.assert_no_secret(&[PASS, "wrapsign-key"]);
    // stdin: one line per spec, store first.
    let r = run_with(
        &[
            "verify",
            "--at",
            AT,
            "--format",
            "json",
            &ks("keypass.jceks"),
            "--ks-pass",
            "stdin",
            "--key-pass",
            "stdin",
        ],
        Some("wrapsign-test\nwrapsign-key\n"),
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    r.assert_no_secret(&[PASS, "wrapsign-key"]);
    // An unset variable is unreadable input, named by the variable, not a crash.
    let r = verify(&[&ks("release.jks"), "--ks-pass", "env:WS_SURELY_UNSET_VAR"]);
    assert_eq!(r.code, 2);
    assert!(r.finding("input-unreadable")["message"]
        .as_str()
        .unwrap()
        .contains("WS_SURELY_UNSET_VAR"));
    // A bare password (no pass: prefix) is a usage error that does not echo it.
    let r = run_with(
        &["verify", &ks("release.jks"), "--ks-pass", "hunter2-bare"],
        None,
        &[],
    );
    assert_eq!(r.code, 2);
    r.assert_no_secret(&["hunter2-bare"]);
}

#[test]
fn alias_selection() {
    let p = pass(PASS);
    let multi = ks("multi.jceks");
    let all = verify(&["--ks-pass", &p, &multi]);
    let aliases: BTreeSet<String> = all
        .items()
        .iter()
        .map(|i| i["facts"]["alias"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        aliases,
        BTreeSet::from(["aes", "legacy", "test-root", "upload"].map(String::from))
    );
    // The old key fails four ways; the other entries are fine.
    assert_eq!(
        all.findings(),
        BTreeSet::from([
            ("keystore-cert-expired".into(), "error".into()),
            ("keystore-validity-too-short".into(), "error".into()),
            ("weak-digest".into(), "warning".into()),
            ("weak-key".into(), "error".into()),
        ])
    );
    assert!(all.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["subject"] == "legacy"));
    let aes = all
        .items()
        .into_iter()
        .find(|i| i["facts"]["alias"] == "aes")
        .unwrap();
    assert_eq!(
        (
            aes["facts"]["type"].as_str(),
            aes["facts"]["algorithm"].as_str()
        ),
        (Some("secret-key"), Some("AES"))
    );
    assert_eq!(aes["facts"]["key_bits"], 128);
    let ca = all
        .items()
        .into_iter()
        .find(|i| i["facts"]["alias"] == "test-root")
        .unwrap();
    assert_eq!(ca["facts"]["type"], "trusted-certificate");

    // Aliases are case-insensitive, as in Java.
    let one = verify(&["--ks-pass", &p, &multi, "--alias", "UPLOAD"]);
    assert_eq!(
        (one.code, one.findings().len(), one.items().len()),
        (0, 0, 1),
        "{}",
        one.stdout
    );
    let two = verify(&[
        "--ks-pass",
        &p,
        &multi,
        "--alias",
        "upload",
        "--alias",
        "legacy",
    ]);
    assert_eq!(two.items().len(), 2);
    assert_eq!(two.code, 1);
    let missing = verify(&["--ks-pass", &p, &multi, "--alias", "release"]);
    let f = missing.finding("keystore-alias-missing");
    assert_eq!(f["details"]["aliases"].as_array().unwrap().len(), 4);
    assert_eq!(missing.items().len(), 0);
}

#[test]
fn json_items_carry_the_entry_facts() {
    let r = verify(&["--keystore", &ks("release.jks"), "--ks-pass", &pass(PASS)]);
    let item = &r.items()[0];
    assert_eq!(item["subject"], "release");
    assert_eq!(item["not_after"], "2052-05-19T00:00:00Z");
    let f = &item["facts"];
    assert_eq!(f["alias"], "release");
    // As keytool prints it (and as generate.sh typed it: -dname "CN=..,O=..,C=US").
    assert_eq!(
        f["subject"],
        "CN=Wrapsign Release TEST, O=wrapsign test, C=US"
    );
    assert_eq!(f["not_before"], "2025-01-01T00:00:00Z");
    assert_eq!(f["not_after"], "2052-05-19T00:00:00Z");
    assert_eq!(f["key"], "RSA 2048");
    assert_eq!(f["signature_algorithm"], "SHA256withRSA");
    assert_eq!(f["chain_length"], 1);
    assert_eq!(f["sha256"].as_str().unwrap().len(), 64);
    assert!(f["created"].as_str().is_some());
    let r = verify(&["--keystore", &ks("ec-p256.jks"), "--ks-pass", &pass(PASS)]);
    assert_eq!(r.items()[0]["facts"]["key"], "EC P-256");
}

#[test]
fn positional_files_are_routed_by_content() {
    let p = pass(PASS);
    // JKS by its magic; a PKCS#12 without Apple certificates is a keystore.
    for file in ["release.jks", "release.p12"] {
        let r = verify(&["--ks-pass", &p, &ks(file)]);
        assert_eq!(r.items()[0]["kind"], "keystore-entry", "{file}");
    }
    // ... also when only the iOS password (or none, for an empty one) opens it.
    let r = verify(&["--cert-pass", &p, &ks("release.p12")]);
    assert_eq!(r.items()[0]["kind"], "keystore-entry");
    // An Apple distribution identity stays an iOS identity.
    let ios = Path::new(env!("CARGO_MANIFEST_DIR")).join("signing/ios/dist.p12");
    let r = verify(&[
        "--ks-pass",
        "pass:other",
        "--cert-pass",
        &p,
        &ios.display().to_string(),
    ]);
    assert_eq!(r.items()[0]["kind"], "certificate", "{}", r.stdout);
    // --ks-type forces the reader; a mismatch names what the file is.
    let r = verify(&[
        "--ks-pass",
        &p,
        "--ks-type",
        "jceks",
        "--keystore",
        &ks("release.jks"),
    ]);
    assert_eq!(r.code, 2);
    assert!(r.finding("input-unreadable")["message"]
        .as_str()
        .unwrap()
        .contains("it is a JKS keystore"));
    let r = verify(&[
        "--ks-pass",
        &p,
        "--ks-type",
        "pkcs12",
        "--keystore",
        &ks("release.p12"),
    ]);
    assert_eq!(r.code, 0);
}

#[test]
fn bad_input_is_reported_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let wrong = "hunter2-wrong";
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for name in [
        "release.jks",
        "release.jceks",
        "release.p12",
        "release-legacy.p12",
        "multi.jceks",
        "duplicate.jks",
    ] {
        let data = std::fs::read(fixture(name)).unwrap();
        files.push((format!("half-{name}"), data[..data.len() / 2].to_vec()));
        let mut flipped = data.clone();
        let mid = flipped.len() / 3;
        flipped[mid] ^= 0x5a;
        files.push((format!("flipped-{name}"), flipped));
    }
    // Garbage, empty, and a JKS header that announces 4 billion entries.
    let mut x: u32 = 0x1234_5678;
    let garbage: Vec<u8> = (0..3000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    files.push(("garbage.bin".into(), garbage));
    files.push(("empty.jks".into(), Vec::new()));
    files.push((
        "huge.jks".into(),
        [0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xff].to_vec(),
    ));
    for (name, bytes) in &files {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let path = path.display().to_string();
        for ks_type in [None, Some("jks"), Some("jceks"), Some("pkcs12")] {
            for pw in [PASS, wrong] {
                let p = pass(pw);
                let mut args = vec!["--keystore", &path, "--ks-pass", &p];
                if let Some(t) = ks_type {
                    args.extend(["--ks-type", t]);
                }
                let r = verify(&args);
                assert!(
                    r.code == 1 || r.code == 2,
                    "{name} {ks_type:?}: exit {}\n{}",
                    r.code,
                    r.stdout
                );
                let names = r.names();
                assert!(
                    names.contains("input-unreadable")
                        || names.contains("password-wrong")
                        || names.contains("keystore-unsupported"),
                    "{name} {ks_type:?}: {names:?}"
                );
                if names.contains("input-unreadable") {
                    assert_eq!(r.code, 2);
                    let msg = r.finding("input-unreadable")["message"]
                        .as_str()
                        .unwrap()
                        .to_string();
                    assert!(
                        msg.contains(name.as_str()),
                        "the message names the file: {msg}"
                    );
                }
                r.assert_no_secret(&[PASS, wrong]);
            }
        }
        // The input is left as it was.
        assert_eq!(&std::fs::read(dir.path().join(name)).unwrap(), bytes);
    }
    // A truncated keystore says so.
    let r = verify(&[
        "--keystore",
        &dir.path().join("half-release.jks").display().to_string(),
        "--ks-pass",
        &pass(PASS),
    ]);
    assert!(r.finding("input-unreadable")["message"]
        .as_str()
        .unwrap()
        .contains("truncated"));
    // A missing file.
    let r = verify(&["--keystore", "/nonexistent/release.jks"]);
    assert_eq!(r.code, 2);
}

/// The library's keystore checks at the tests' instant.
fn lib_ctx() -> wrapsign::android::policy::Ctx {
    wrapsign::android::policy::Ctx::new(
        wrapsign::at::parse(AT).unwrap(),
        wrapsign::trust::Trust::default(),
    )
}

#[test]
fn every_prefix_and_byte_flip_through_the_library() {
    use wrapsign::android::policy::{check_bytes, Open};
    use wrapsign::diag::{Code, Report};
    use wrapsign::secret::Secret;
    let ctx = lib_ctx();
    let secret = Secret::new(PASS);
    for name in [
        "release.jks",
        "release.jceks",
        "release.p12",
        "release-legacy.p12",
        "multi.jceks",
    ] {
        let data = std::fs::read(fixture(name)).unwrap();
        for with_pw in [true, false] {
            let open = Open {
                store_pass: with_pw.then_some(&secret),
                ..Open::default()
            };
            for n in 0..data.len() {
                let mut report = Report::default();
                check_bytes(name, &data[..n], &open, &ctx, &mut report);
                assert!(
                    report.has(Code::InputUnreadable) || report.has(Code::PasswordWrong),
                    "{name}[..{n}] (password: {with_pw}) gave {:?}",
                    report
                        .findings
                        .iter()
                        .map(|f| f.code.name())
                        .collect::<Vec<_>>()
                );
            }
        }
        // No changed byte panics. In JKS/JCEKS every byte is under the integrity
        // digest; PKCS#12 leaves a few outside its MAC (the MAC's own algorithm
        // parameters), which may change without changing what is read.
        for at in (0..data.len()).step_by(13) {
            let mut d = data.clone();
            d[at] ^= 0x01;
            let mut report = Report::default();
            let open = Open {
                store_pass: Some(&secret),
                ..Open::default()
            };
            check_bytes(name, &d, &open, &ctx, &mut report);
            if name.ends_with(".p12") {
                continue;
            }
            assert!(
                report.has(Code::InputUnreadable)
                    || report.has(Code::PasswordWrong)
                    || report.has(Code::KeystoreUnsupported),
                "{name} with byte {at} flipped was accepted"
            );
        }
    }
}

#[test]
fn keystore_certificates_become_the_expected_apk_signers() {
    use wrapsign::android::policy::{check_file, Open};
    use wrapsign::diag::Report;
    use wrapsign::secret::Secret;
    let ctx = lib_ctx();
    let secret = Secret::new(PASS);
    let mut report = Report::default();
    let aliases = vec!["upload".to_string()];
    let open = Open {
        store_pass: Some(&secret),
        aliases: &aliases,
        ..Open::default()
    };
    let signers = check_file(&fixture("multi.jceks"), &open, &ctx, &mut report);
    assert_eq!(signers.len(), 1);
    assert_eq!(signers[0].alias, "upload");
    let expected = wrapsign::inventory::expected_signers(&[], &signers, None);
    assert_eq!(expected.len(), 1);
    assert_eq!(
        expected[0].common_name.as_deref(),
        Some("Wrapsign Upload TEST")
    );
    // --signer-cert certificates come first; the same certificate is not repeated.
    let given = vec![signers[0].cert.clone()];
    assert_eq!(
        wrapsign::inventory::expected_signers(&given, &signers, None).len(),
        1
    );
    // An app tied to another alias expects only that alias's certificate.
    assert!(wrapsign::inventory::expected_signers(&[], &signers, Some("legacy")).is_empty());
    // Without --alias every private-key entry is a candidate; trusted and secret ones are not.
    let mut report = Report::default();
    let all = check_file(
        &fixture("multi.jceks"),
        &Open {
            store_pass: Some(&secret),
            ..Open::default()
        },
        &ctx,
        &mut report,
    );
    let names: BTreeSet<&str> = all.iter().map(|s| s.alias.as_str()).collect();
    assert_eq!(names, BTreeSet::from(["legacy", "upload"]));
}

#[test]
fn explain_knows_every_keystore_finding() {
    for name in [
        "keystore-cert-expired",
        "keystore-cert-not-yet-valid",
        "keystore-cert-expiring",
        "keystore-validity-too-short",
        "weak-key",
        "weak-digest",
        "debug-certificate",
        "keystore-duplicate-alias",
        "keystore-key-mismatch",
        "password-wrong",
        "keystore-unsupported",
        "keystore-alias-missing",
        "keystore-integrity-unchecked",
        // The former name still explains (old baselines and configs use it).
        "keystore-password-wrong",
    ] {
        let r = run_with(&["explain", name], None, &[]);
        assert_eq!(r.code, 0, "{name}");
        assert!(
            r.stdout.contains("Why it matters") && r.stdout.contains("How to fix it"),
            "{name}"
        );
    }
}
