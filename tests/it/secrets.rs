//! Secrets never leave wrapsign: every password SPEC (pass:, env:, file:,
//! stdin, and wrapsign.toml) on every password flag, right and wrong, in every
//! output format and output file, on stdout and stderr; panic messages are
//! scrubbed; debug representations are redacted; and `wrapsign sign` writes the
//! private key nowhere (it is only used to make the signature).

use crate::support as common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::craft::tree;
use common::{repo, run_with, Run};

const AT: &str = "--at=2026-06-01";
const STORE_PW: &str = "wrapsign-test";
const KEY_PW: &str = "wrapsign-key";
const FORMATS: [&str; 5] = ["human", "json", "sarif", "junit", "github"];

#[derive(Clone, Copy, Debug)]
enum Spec {
    Pass,
    Env,
    File,
    Stdin,
}

const SPECS: [Spec; 4] = [Spec::Pass, Spec::Env, Spec::File, Spec::Stdin];

/// Builds SPECs of one kind for several passwords, with what the run needs
/// (environment, files, stdin lines in flag order).
struct Specs {
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: String,
}

fn specs(kind: Spec, values: &[&str], dir: &Path) -> Specs {
    let mut out = Specs {
        args: Vec::new(),
        env: Vec::new(),
        stdin: String::new(),
    };
    for (i, v) in values.iter().enumerate() {
        out.args.push(match kind {
            Spec::Pass => format!("pass:{v}"),
            Spec::Env => {
                let var = format!("WS_SECRET_{i}");
                out.env.push((var.clone(), v.to_string()));
                format!("env:{var}")
            }
            Spec::File => {
                let f = dir.join(format!("pw{i}.txt"));
                std::fs::write(&f, format!("{v}\n")).unwrap();
                format!("file:{}", f.display())
            }
            Spec::Stdin => {
                out.stdin.push_str(v);
                out.stdin.push('\n');
                "stdin".to_string()
            }
        });
    }
    out
}

fn run_specs(args: &[String], s: &Specs) -> Run {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let env: Vec<(&str, &str)> = s
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let stdin = (!s.stdin.is_empty()).then_some(s.stdin.as_str());
    run_with(&a, &env, stdin)
}

/// Every byte of every file under `dir`, with zip entries inflated.
fn contents(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for rel in tree(dir) {
        let p = dir.join(&rel);
        if !p.is_file() {
            continue;
        }
        let data = std::fs::read(&p).unwrap();
        if let Ok(mut z) = zip::ZipArchive::new(std::io::Cursor::new(data.clone())) {
            for i in 0..z.len() {
                let mut e = z.by_index(i).unwrap();
                let mut body = Vec::new();
                std::io::Read::read_to_end(&mut e, &mut body).unwrap();
                out.push((p.join(e.name()), body));
            }
        }
        out.push((p, data));
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// Fails if any secret is in the run's output or in any file under `dir`.
fn assert_clean(what: &str, r: &Run, dir: &Path, secrets: &[&str]) {
    assert!(!r.stderr.contains("panicked"), "{what}: {}", r.stderr);
    for s in secrets {
        assert!(
            !r.stdout.contains(s),
            "{what}: {s:?} on stdout:\n{}",
            r.stdout
        );
        assert!(
            !r.stderr.contains(s),
            "{what}: {s:?} on stderr:\n{}",
            r.stderr
        );
        for (p, data) in contents(dir) {
            // The password files given with file: hold it, by design, and so
            // does a config file's pass: SPEC.
            let name = p.file_name().unwrap().to_string_lossy();
            if name.starts_with("pw") && name.ends_with(".txt") || name == "wrapsign.toml" {
                continue;
            }
            assert!(
                !find(&data, s.as_bytes()),
                "{what}: {s:?} in {}",
                p.display()
            );
        }
    }
}

/// Runs `base` (plus SPEC args appended by `with`) in every format, plus once
/// with `--report` and `--write-baseline` files, and checks nothing leaks.
fn every_format(
    what: &str,
    base: &[String],
    s: &Specs,
    dir: &Path,
    secrets: &[&str],
    codes: &[i32],
) {
    for f in FORMATS {
        let mut args = base.to_vec();
        args.push(format!("--format={f}"));
        args.push("--verbose".into());
        let r = run_specs(&args, s);
        assert!(
            codes.contains(&r.code),
            "{what} {f}: exit {}\n{}{}",
            r.code,
            r.stdout,
            r.stderr
        );
        assert_clean(&format!("{what} {f}"), &r, dir, secrets);
    }
    let mut args = base.to_vec();
    args.push(format!("--report={}", dir.join("report.json").display()));
    args.push("--format=json".into());
    args.push(format!(
        "--write-baseline={}",
        dir.join("baseline.json").display()
    ));
    let r = run_specs(&args, s);
    assert!(
        codes.contains(&r.code),
        "{what} --report: {}{}",
        r.stdout,
        r.stderr
    );
    assert!(
        dir.join("report.json").is_file(),
        "{what}: no report written"
    );
    assert_clean(&format!("{what} --report"), &r, dir, secrets);
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn identity_passwords_never_leak() {
    for kind in SPECS {
        for (pw, codes) in [(STORE_PW, &[0][..]), ("Wr0ng-Identity-S3cret", &[2][..])] {
            let dir = tempfile::tempdir().unwrap();
            let s = specs(kind, &[pw], dir.path());
            let mut base = strings(&[
                "verify",
                AT,
                "--trust-root",
                repo("signing/ca/test-root-ca.pem").to_str().unwrap(),
                repo("signing/ios/dist.p12").to_str().unwrap(),
            ]);
            base.push(format!("--cert-pass={}", s.args[0]));
            every_format(
                &format!("--cert-pass {kind:?} {pw}"),
                &base,
                &s,
                dir.path(),
                &[pw],
                codes,
            );
        }
    }
}

#[test]
fn keystore_passwords_never_leak() {
    let ks = repo("signing/android/keypass.jks");
    for kind in SPECS {
        for (store, key) in [
            (STORE_PW, KEY_PW),
            (STORE_PW, "Wr0ng-Key-S3cret"),
            ("Wr0ng-Store-S3cret", KEY_PW),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let s = specs(kind, &[store, key], dir.path());
            let mut base = strings(&["verify", AT, "--keystore", ks.to_str().unwrap()]);
            base.push(format!("--ks-pass={}", s.args[0]));
            base.push(format!("--key-pass={}", s.args[1]));
            every_format(
                &format!("keystore {kind:?} {store}/{key}"),
                &base,
                &s,
                dir.path(),
                &[store, key],
                &[0, 1, 2],
            );
        }
    }
}

#[test]
fn config_file_passwords_never_leak() {
    for kind in [Spec::Pass, Spec::Env, Spec::File] {
        for (store, key) in [
            (STORE_PW, KEY_PW),
            ("Wr0ng-Cfg-S3cret", "Wr0ng-CfgKey-S3cret"),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let s = specs(kind, &[store, key, store], dir.path());
            let cfg = dir.path().join("wrapsign.toml");
            std::fs::write(
                &cfg,
                format!(
                    "trust_roots = [\"{root}\"]\n\
                     [[certificate]]\nkind = \"distribution\"\nfile = \"{p12}\"\npassword = \"{c}\"\n\
                     [[keystore]]\nfile = \"{ks}\"\npassword = \"{k}\"\nkey_password = \"{kk}\"\n",
                    root = repo("signing/ca/test-root-ca.pem").display(),
                    p12 = repo("signing/ios/dist.p12").display(),
                    ks = repo("signing/android/keypass.jks").display(),
                    c = s.args[2],
                    k = s.args[0],
                    kk = s.args[1],
                ),
            )
            .unwrap();
            let what = format!("wrapsign.toml {kind:?} {store}/{key}");
            let mut base = strings(&["verify", AT]);
            base.push(format!("--config={}", cfg.display()));
            every_format(&what, &base, &s, dir.path(), &[store, key], &[0, 1, 2]);
            for f in ["human", "json", "csv"] {
                let r = run_specs(
                    &[
                        "inventory".into(),
                        AT.into(),
                        format!("--config={}", cfg.display()),
                        format!("--format={f}"),
                    ],
                    &s,
                );
                assert_eq!(r.code, 0, "{what} inventory {f}: {}", r.stderr);
                assert_clean(
                    &format!("{what} inventory {f}"),
                    &r,
                    dir.path(),
                    &[store, key],
                );
            }
        }
    }
}

#[test]
fn scan_passwords_never_leak() {
    for kind in SPECS {
        for pw in [STORE_PW, "Wr0ng-Scan-S3cret"] {
            let dir = tempfile::tempdir().unwrap();
            let scan = dir.path().join("scan");
            std::fs::create_dir(&scan).unwrap();
            std::fs::copy(repo("signing/ios/dist.p12"), scan.join("dist.p12")).unwrap();
            std::fs::copy(
                repo("signing/android/release.jks"),
                scan.join("release.jks"),
            )
            .unwrap();
            // `inventory` takes each SPEC once: one flag per run for stdin.
            for flag in ["--cert-pass", "--ks-pass"] {
                let s = specs(kind, &[pw], dir.path());
                for f in ["human", "json", "csv"] {
                    let r = run_specs(
                        &[
                            "inventory".into(),
                            AT.into(),
                            scan.display().to_string(),
                            format!("{flag}={}", s.args[0]),
                            format!("--format={f}"),
                        ],
                        &s,
                    );
                    assert_eq!(r.code, 0, "inventory {flag} {kind:?}: {}", r.stderr);
                    assert_clean(
                        &format!("inventory {flag} {kind:?} {f}"),
                        &r,
                        dir.path(),
                        &[pw],
                    );
                }
                let mut base = strings(&["verify", AT]);
                base.push(scan.display().to_string());
                base.push(format!("{flag}={}", s.args[0]));
                every_format(
                    &format!("verify DIR {flag} {kind:?}"),
                    &base,
                    &s,
                    dir.path(),
                    &[pw],
                    &[0, 1, 2],
                );
            }
        }
    }
}

/// The key material of the identity wrapsign signs with: the PKCS#8 DER, the
/// inner private key, pieces of it, and its PEM/hex/base64 renderings.
fn key_needles(p12: &Path) -> Vec<(String, Vec<u8>)> {
    use base64::Engine;
    let data = std::fs::read(p12).unwrap();
    let a = p12_keystore::Pkcs12Archive::from_pkcs12(&data, STORE_PW).unwrap();
    let der = a.keys.first().expect("a key").key.as_der().to_vec();
    let info = pkcs8::PrivateKeyInfo::try_from(der.as_slice()).unwrap();
    let inner = info.private_key.to_vec();
    let mid = inner.len() / 2;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
    vec![
        ("PKCS#8 DER".into(), der.clone()),
        ("private key DER".into(), inner.clone()),
        ("32 key bytes".into(), inner[mid..mid + 32].to_vec()),
        ("PEM line".into(), b64.as_bytes()[..64].to_vec()),
        (
            "hex".into(),
            hex::encode(&inner[mid..mid + 32]).into_bytes(),
        ),
    ]
}

#[test]
fn signing_writes_the_private_key_nowhere() {
    let dir = tempfile::tempdir().unwrap();
    let (tmp, out) = (dir.path().join("tmp"), dir.path().join("out"));
    std::fs::create_dir(&tmp).unwrap();
    std::fs::create_dir(&out).unwrap();
    let input = dir.path().join("app.ipa");
    std::fs::copy(repo("samples/WrapDemo.ipa"), &input).unwrap();
    let p12 = repo("signing/ios/dist.p12");
    let args = [
        "sign".to_string(),
        input.display().to_string(),
        "--cert".into(),
        p12.display().to_string(),
        "--cert-pass=env:WS_P12".into(),
        "--trust-root".into(),
        repo("signing/ca/test-root-ca.pem").display().to_string(),
        "--profile".into(),
        repo("profiles/enterprise-app.mobileprovision")
            .display()
            .to_string(),
        "--profile".into(),
        repo("profiles/enterprise-share.mobileprovision")
            .display()
            .to_string(),
        AT.into(),
        "--format=json".into(),
        "--verbose".into(),
        format!("--report={}", dir.path().join("report.json").display()),
        "--out".into(),
        out.join("signed.ipa").display().to_string(),
    ];
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = run_with(
        &a,
        &[("WS_P12", STORE_PW), ("TMPDIR", tmp.to_str().unwrap())],
        None,
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(out.join("signed.ipa").is_file());
    // Only the signed app was written (and the report asked for); no work files remain.
    assert_eq!(tree(&out), vec!["signed.ipa".to_string()]);
    assert_eq!(tree(&tmp), Vec::<String>::new());
    let files = contents(dir.path());
    assert!(
        files
            .iter()
            .any(|(p, _)| p.ends_with("_CodeSignature/CodeResources")),
        "the signed IPA was inflated for the scan"
    );
    for (what, needle) in key_needles(&p12) {
        assert!(!find(r.stdout.as_bytes(), &needle), "{what} on stdout");
        assert!(!find(r.stderr.as_bytes(), &needle), "{what} on stderr");
        for (p, data) in &files {
            assert!(!find(data, &needle), "{what} in {}", p.display());
        }
    }
    // The needles are real: the same scan finds the key in the .p12's decrypted key.
    let der = &key_needles(&p12)[0].1;
    assert!(find(der, &key_needles(&p12)[2].1));
}

/// Debug representations (what a panic or a log line would print) of
/// everything that holds a password.
#[test]
fn debug_output_is_redacted() {
    use wrapsign::secret::{PasswordSpec, Secret};
    let spec: PasswordSpec = "pass:Debug-S3cret".parse().unwrap();
    let secret = spec.resolve().unwrap();
    let specs = wrapsign::secret::PasswordSpecs {
        cert: Some(spec.clone()),
        store: Some(spec.clone()),
        key: Some("pass:Debug-S3cret".parse().unwrap()),
    };
    let read = specs.read();
    for text in [
        format!("{spec:?} {spec}"),
        format!("{secret:?} {secret}"),
        format!("{specs:?}"),
        format!("{read:?}"),
        format!("{:?}", read.pool(true)),
        format!("{:?}", Secret::new("Debug-S3cret")),
    ] {
        assert!(!text.contains("Debug-S3cret"), "{text}");
        assert!(text.contains("redacted"), "{text}");
    }
    let inv = {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("wrapsign.toml");
        std::fs::write(
            &cfg,
            format!(
                "[[keystore]]\nfile = \"{}\"\npassword = \"pass:Debug-S3cret\"\nkey_password = \"pass:Debug-S3cret\"\n",
                repo("signing/android/keypass.jks").display()
            ),
        )
        .unwrap();
        wrapsign::inventory::config::load(&cfg).unwrap()
    };
    let text = format!("{inv:?}");
    assert!(!text.contains("Debug-S3cret"), "{text}");
}

/// A panic (a bug) while a password is in scope: the hook wrapsign installs
/// scrubs it from the message. Run in a child process, as the hook is global.
#[test]
fn panic_messages_never_carry_passwords() {
    if std::env::var_os("WS_PANIC_CHILD").is_some() {
        wrapsign::secret::install_panic_hook();
        let spec: wrapsign::secret::PasswordSpec = "env:WS_PANIC_PW".parse().unwrap();
        let pw = spec.resolve().unwrap();
        // What a careless `expect` or `panic!` in a future change would do.
        panic!("simulated bug while holding {}", pw.expose());
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "secrets::panic_messages_never_carry_passwords",
            "--nocapture",
        ])
        .env("WS_PANIC_CHILD", "1")
        .env("WS_PANIC_PW", "Panic-S3cret-Value")
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "the child must have panicked");
    assert!(
        stderr.contains("simulated bug while holding <redacted>"),
        "{stderr}"
    );
    assert!(stderr.contains("internal error"), "{stderr}");
    assert!(!stderr.contains("Panic-S3cret-Value") && !stdout.contains("Panic-S3cret-Value"));
}

#[test]
fn apk_signing_passwords_never_leak() {
    let ks = repo("signing/android/keypass.jks");
    let apk = repo("samples/android/unsigned/min21-target34.apk");
    for kind in SPECS {
        for (store, key, code) in [
            (STORE_PW, KEY_PW, 0),
            // A wrong password is `password-wrong`, exit 2, as for `verify`.
            (STORE_PW, "Wr0ng-Key-S3cret", 2),
            ("Wr0ng-Store-S3cret", KEY_PW, 2),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let s = specs(kind, &[store, key], dir.path());
            let mut base = strings(&["sign", AT, apk.to_str().unwrap()]);
            base.extend(strings(&["--keystore", ks.to_str().unwrap()]));
            base.push(format!("--ks-pass={}", s.args[0]));
            base.push(format!("--key-pass={}", s.args[1]));
            base.push(format!("--out={}", dir.path().join("signed.apk").display()));
            let what = format!("apk sign {kind:?} {store}/{key}");
            every_format(&what, &base, &s, dir.path(), &[store, key], &[code]);
            // Signed only with the right passwords; the signed APK was scanned too.
            assert_eq!(dir.path().join("signed.apk").is_file(), code == 0, "{what}");
        }
    }
}

#[test]
fn apk_signing_writes_the_private_key_nowhere() {
    let dir = tempfile::tempdir().unwrap();
    let (tmp, out) = (dir.path().join("tmp"), dir.path().join("out"));
    std::fs::create_dir(&tmp).unwrap();
    std::fs::create_dir(&out).unwrap();
    let p12 = repo("signing/android/release.p12");
    let apk = repo("samples/android/unsigned/min21-target34.apk");
    let args = [
        "sign".to_string(),
        apk.display().to_string(),
        "--keystore".into(),
        p12.display().to_string(),
        "--ks-pass=env:WS_KS".into(),
        AT.into(),
        "--format=json".into(),
        "--verbose".into(),
        format!("--report={}", dir.path().join("report.json").display()),
        "--out".into(),
        out.join("signed.apk").display().to_string(),
    ];
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = run_with(
        &a,
        &[("WS_KS", STORE_PW), ("TMPDIR", tmp.to_str().unwrap())],
        None,
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(tree(&out), vec!["signed.apk".to_string()]);
    assert_eq!(tree(&tmp), Vec::<String>::new());
    let files = contents(dir.path());
    assert!(
        files
            .iter()
            .any(|(p, _)| p.ends_with("META-INF/MANIFEST.MF")),
        "the signed APK was inflated for the scan"
    );
    let needles = key_needles(&p12);
    for (what, needle) in &needles {
        assert!(!find(r.stdout.as_bytes(), needle), "{what} on stdout");
        assert!(!find(r.stderr.as_bytes(), needle), "{what} on stderr");
        for (p, data) in &files {
            assert!(!find(data, needle), "{what} in {}", p.display());
        }
    }
    assert!(find(&needles[0].1, &needles[2].1));
}
