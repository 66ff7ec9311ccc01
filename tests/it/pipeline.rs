//! One pipeline: a file gets the same findings however it reaches wrapsign (a
//! path, its flag, a folder scan, wrapsign.toml); a folder of broken APKs fails;
//! nothing to check is not a pass; a wrong password is one name and one exit
//! status everywhere; the command line's names (--report, --out, apksigner's
//! spellings) and settings (sign reads wrapsign.toml).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::support::{self as common, repo, run, run_with, Run};

const AT: &str = "--at=2026-11-28";
const ROOT: &str = "signing/ca/test-root-ca.pem";

/// What a fixture is, for the flag and the wrapsign.toml table that name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Certificate,
    Keystore,
    Profile,
    App,
    Devices,
}

#[derive(Clone, Debug)]
struct Fixture {
    path: PathBuf,
    role: Role,
    store: Option<String>,
    key: Option<String>,
}

fn role_of(path: &Path) -> Option<Role> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "p12" | "pfx" | "pem" | "cer" | "der" | "crt" => Role::Certificate,
        "jks" | "jceks" | "keystore" | "bks" | "uber" => Role::Keystore,
        "mobileprovision" | "provisionprofile" => Role::Profile,
        "ipa" | "apk" => Role::App,
        "zip" => Role::Devices,
        _ => return None,
    })
}

/// `.pem` files that hold only a private key are not signing material.
fn is_key_only(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|d| {
        let t = String::from_utf8_lossy(&d);
        t.contains("PRIVATE KEY-----") && !t.contains("BEGIN CERTIFICATE")
    })
}

fn first_line(p: &str) -> String {
    std::fs::read_to_string(repo(p))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string()
}

/// The fixtures of this repository, with their passwords.
fn own_fixtures() -> Vec<Fixture> {
    let ios = first_line("signing/ios/p12.pass");
    let inventory = first_line("signing/inventory/p12.pass");
    let android_key = first_line("signing/inventory/android-key.pass");
    // signing/android/keystores.tsv: file, store password, ...
    let mut stores: BTreeMap<String, String> = BTreeMap::new();
    for l in std::fs::read_to_string(repo("signing/android/keystores.tsv"))
        .unwrap()
        .lines()
        .skip(1)
    {
        let f: Vec<&str> = l.split('\t').collect();
        stores.insert(f[0].to_string(), f[1].to_string());
    }
    let mut out = Vec::new();
    for top in ["signing", "profiles", "samples"] {
        for e in walkdir::WalkDir::new(repo(top)).sort_by_file_name() {
            let e = e.unwrap();
            let path = e.path().to_path_buf();
            let Some(mut role) = role_of(&path).filter(|_| e.file_type().is_file()) else {
                continue;
            };
            if is_key_only(&path) {
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let rel = path
                .strip_prefix(repo(""))
                .unwrap()
                .to_string_lossy()
                .to_string();
            let (store, key) = if rel.starts_with("signing/android/") {
                role = Role::Keystore;
                let store = stores.get(&name).cloned();
                let key = name.starts_with("keypass").then(|| android_key.clone());
                (store, key)
            } else if rel.starts_with("signing/inventory/") {
                (Some(inventory.clone()), None)
            } else {
                (Some(ios.clone()), None)
            };
            out.push(Fixture {
                path,
                role,
                store,
                key,
            });
        }
    }
    out
}

/// `123456 (where it is stated)`, `storepass=keypass=X (...)`,
/// `storepass=A keypass=B alias=C`, `(empty) ...`, `unknown ...`.
fn manifest_password(text: &str) -> (Option<String>, Option<String>) {
    let t = text.trim();
    if t.is_empty()
        || t.starts_with("(empty)")
        || t.starts_with("(none")
        || t.starts_with("unknown")
    {
        return (None, None);
    }
    if let Some(rest) = t.strip_prefix("storepass=keypass=") {
        let v = rest
            .split_whitespace()
            .next()
            .unwrap_or("")
            .trim_end_matches(',');
        return (Some(v.to_string()), Some(v.to_string()));
    }
    if let Some(rest) = t.strip_prefix("storepass=") {
        let mut store = None;
        let mut key = None;
        store.get_or_insert(rest.split_whitespace().next().unwrap().to_string());
        for w in rest.split_whitespace() {
            if let Some(k) = w.strip_prefix("keypass=") {
                key = Some(k.trim_end_matches(',').to_string());
            }
        }
        return (store, key);
    }
    (Some(t.split_whitespace().next().unwrap().to_string()), None)
}

/// The real-world files of ../shared/conformance/realworld, with their passwords.
fn realworld_fixtures() -> Vec<Fixture> {
    let Some(dir) = common::conformance("realworld") else {
        return Vec::new();
    };
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap();
    let mut out = Vec::new();
    for l in manifest.lines().skip(1) {
        let f: Vec<&str> = l.split('\t').collect();
        let (path, kind, password) = (dir.join(f[0]), f[5], f[6]);
        let role = match kind {
            "profile" => Role::Profile,
            "cert" | "p12" => Role::Certificate,
            "keystore" => Role::Keystore,
            "ipa" | "apk" => Role::App,
            _ => continue, // .idsig, lineage: not signing material
        };
        let (store, key) = manifest_password(password);
        out.push(Fixture {
            path,
            role,
            store,
            key,
        });
    }
    out
}

/// What a run says about one file, as compared between routes.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Verdict {
    code: i32,
    /// (name, severity, subject), sorted; or the usage error.
    findings: Vec<(String, String, String)>,
}

fn verdict(r: &Run) -> Verdict {
    if r.stdout.trim().is_empty() {
        return Verdict {
            code: r.code,
            findings: vec![("usage".into(), "error".into(), String::new())],
        };
    }
    let mut findings: Vec<(String, String, String)> = r.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
                f["subject"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    findings.sort();
    Verdict {
        code: r.code,
        findings,
    }
}

fn env_of(fx: &Fixture) -> Vec<(&'static str, String)> {
    let mut env = Vec::new();
    if let Some(s) = &fx.store {
        env.push(("WS_STORE", s.clone()));
    }
    if let Some(k) = &fx.key {
        env.push(("WS_KEY", k.clone()));
    }
    env
}

/// The password flags of the command-line routes.
fn password_flags(fx: &Fixture) -> Vec<String> {
    let mut a = Vec::new();
    if fx.store.is_some() {
        a.push("--cert-pass=env:WS_STORE".to_string());
        a.push("--ks-pass=env:WS_STORE".to_string());
    }
    if fx.key.is_some() {
        a.push("--key-pass=env:WS_KEY".to_string());
    }
    a
}

fn verify(args: Vec<String>, env: &[(&'static str, String)]) -> Run {
    let mut a: Vec<String> = vec!["verify".into(), AT.into(), "--format=json".into()];
    a.push(format!("--trust-root={}", repo(ROOT).display()));
    a.extend(args);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    run_with(&a, &env, None)
}

/// The file's credentials file, for a device bundle (beside it).
fn credentials_of(fx: &Fixture) -> Option<PathBuf> {
    (fx.role == Role::Devices).then(|| {
        let dir = fx.path.parent().unwrap();
        std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "txt"))
            .expect("a credentials file beside the device bundle")
    })
}

/// The four routes of one fixture: (route, verdict).
fn routes(fx: &Fixture) -> Vec<(&'static str, Verdict)> {
    let env = env_of(fx);
    let file = fx.path.display().to_string();
    let mut out = Vec::new();
    // A path.
    let mut a = vec![file.clone()];
    a.extend(password_flags(fx));
    out.push(("path", verdict(&verify(a, &env))));
    // Its flag.
    let flag = match fx.role {
        Role::Certificate => Some("--cert"),
        Role::Keystore => Some("--keystore"),
        Role::Profile => Some("--profile"),
        Role::App => Some("--app"),
        Role::Devices => None,
    };
    if let Some(flag) = flag {
        let mut a = vec![flag.to_string(), file.clone()];
        a.extend(password_flags(fx));
        out.push(("flag", verdict(&verify(a, &env))));
    }
    // A folder scan of a folder holding it.
    let dir = tempfile::tempdir().unwrap();
    let name = fx.path.file_name().unwrap();
    std::fs::copy(&fx.path, dir.path().join(name)).unwrap();
    if let Some(c) = credentials_of(fx) {
        std::fs::copy(&c, dir.path().join(c.file_name().unwrap())).unwrap();
    }
    let mut a = vec![dir.path().display().to_string()];
    a.extend(password_flags(fx));
    out.push(("scan", verdict(&verify(a, &env))));
    // wrapsign.toml, with the file's own passwords.
    let quoted = toml_string(&file);
    let mut entry = match fx.role {
        Role::Certificate => format!("[[certificate]]\nfile = {quoted}\n"),
        Role::Keystore => format!("[[keystore]]\nfile = {quoted}\n"),
        Role::Profile => format!("[[profile]]\nfile = {quoted}\n"),
        Role::App => format!("[[app]]\nfile = {quoted}\n"),
        Role::Devices => format!(
            "[[devices]]\nzip = {quoted}\ncredentials = {}\n",
            toml_string(&credentials_of(fx).unwrap().display().to_string())
        ),
    };
    if fx.store.is_some() && matches!(fx.role, Role::Certificate | Role::Keystore) {
        entry.push_str("password = \"env:WS_STORE\"\n");
    }
    if fx.key.is_some() && fx.role == Role::Keystore {
        entry.push_str("key_password = \"env:WS_KEY\"\n");
    }
    let cfg = dir.path().join("wrapsign.toml");
    std::fs::write(&cfg, entry).unwrap();
    let a = vec![format!("--config={}", cfg.display())];
    out.push(("wrapsign.toml", verdict(&verify(a, &env))));
    out
}

fn toml_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Checks every fixture on every route, on both cores; returns the disagreements.
fn disagreements(fixtures: Vec<Fixture>) -> Vec<String> {
    let queue = std::sync::Mutex::new(fixtures);
    let found = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let Some(fx) = queue.lock().unwrap().pop() else {
                    break;
                };
                let rs = routes(&fx);
                let (_, first) = &rs[0];
                for (route, v) in &rs[1..] {
                    if v != first {
                        found.lock().unwrap().push(format!(
                            "{}: path gives {first:?}, {route} gives {v:?}",
                            fx.path.display()
                        ));
                    }
                }
            });
        }
    });
    found.into_inner().unwrap()
}

#[test]
fn every_fixture_gets_the_same_findings_on_every_route() {
    let fixtures = own_fixtures();
    let n = fixtures.len();
    assert!(n >= 80, "only {n} fixtures found");
    for role in [
        Role::Certificate,
        Role::Keystore,
        Role::Profile,
        Role::App,
        Role::Devices,
    ] {
        assert!(
            fixtures.iter().any(|f| f.role == role),
            "no {role:?} fixture"
        );
    }
    let bad = disagreements(fixtures);
    assert!(
        bad.is_empty(),
        "{} of {n} fixtures:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn every_real_world_file_gets_the_same_findings_on_every_route() {
    let fixtures = realworld_fixtures();
    if fixtures.is_empty() {
        return;
    }
    let n = fixtures.len();
    let bad = disagreements(fixtures);
    assert!(
        bad.is_empty(),
        "{} of {n} files:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn the_password_notes_of_the_manifests_are_read_as_meant() {
    assert_eq!(
        manifest_password("123456 (tests/x.py)"),
        (Some("123456".into()), None)
    );
    assert_eq!(manifest_password("(empty) - no password"), (None, None));
    assert_eq!(
        manifest_password("storepass=keypass=android, alias appiumtest (x)"),
        (Some("android".into()), Some("android".into()))
    );
    assert_eq!(
        manifest_password("storepass=password keypass=keypass alias=app (x)"),
        (Some("password".into()), Some("keypass".into()))
    );
}

// ------------------------------------------------------------ folders

#[test]
fn a_folder_with_broken_apks_fails_like_the_apks_named() {
    let Some(badsig) = common::conformance("realworld/fdroidserver/urzip-badsig.apk") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let unsigned = dir.path().join("unsigned.apk");
    std::fs::copy(
        repo("samples/android/unsigned/min21-target34.apk"),
        &unsigned,
    )
    .unwrap();
    let broken = dir.path().join("badsig.apk");
    std::fs::copy(badsig, &broken).unwrap();
    let d = dir.path().display().to_string();
    let scan = run(&["verify", AT, "--format=json", &d]);
    assert_eq!(scan.code, 1, "{}", scan.stdout);
    let mut named: Vec<String> = Vec::new();
    for f in [&unsigned, &broken] {
        let r = run(&["verify", AT, "--format=json", f.to_str().unwrap()]);
        assert_eq!(r.code, 1, "{}", r.stdout);
        named.extend(r.names());
    }
    let mut names = scan.names();
    names.sort();
    named.sort();
    assert_eq!(names, named);
    assert!(names.iter().any(|n| n == "apk-unsigned"), "{names:?}");
    assert!(
        names.iter().any(|n| n == "apk-digest-mismatch"),
        "{names:?}"
    );
    // Human output: the verdict, not two bare lines.
    let human = run(&["verify", AT, &d]);
    assert!(
        human.stdout.contains("error[apk-unsigned]"),
        "{}",
        human.stdout
    );
    assert!(human.stdout.contains("FAIL:"), "{}", human.stdout);
    // The inventory lists neither as ok.
    let inv = run(&["inventory", AT, "--format=json", &d]);
    assert_eq!(inv.code, 0, "{}", inv.stderr);
    let rows = inv.json()["items"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 2, "{rows:?}");
    for row in rows {
        assert_eq!(row["status"], "error", "{row:#}");
    }
}

#[test]
fn nothing_to_check_is_a_usage_error_naming_what_was_searched() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("outputs");
    std::fs::create_dir(&empty).unwrap();
    let e = empty.display().to_string();
    for cmd in ["verify", "inventory"] {
        let r = run(&[cmd, AT, &e]);
        assert_eq!(r.code, 2, "{cmd}: {}", r.stdout);
        assert!(
            r.stderr.contains(&e) && r.stderr.contains("empty"),
            "{}",
            r.stderr
        );
        assert!(r.stdout.is_empty());
    }
    // A mistyped folder: files, none of them signing material.
    std::fs::write(empty.join("notes.txt"), "release notes").unwrap();
    std::fs::write(empty.join("build.log"), "BUILD SUCCESSFUL").unwrap();
    let r = run(&["verify", AT, &e]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains(&e) && r.stderr.contains("2 file(s)"),
        "{}",
        r.stderr
    );
    // A config with no entries.
    let cfg = dir.path().join("wrapsign.toml");
    std::fs::write(&cfg, "[thresholds]\nwarn_days = 10\n").unwrap();
    let c = format!("--config={}", cfg.display());
    let r = run(&["verify", AT, &c]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("lists nothing to check"), "{}", r.stderr);
    // Nothing named at all, and no config in the folder.
    let out = std::process::Command::new(common::bin())
        .args(["verify", AT])
        .current_dir(dir.path().join("outputs"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to check"));
}

// ------------------------------------------------------------ passwords

/// (container, its flag, its wrapsign.toml table)
const CONTAINERS: [(&str, &str, &str); 4] = [
    ("signing/ios/dist.p12", "--cert", "certificate"),
    ("signing/android/release.p12", "--keystore", "keystore"),
    ("signing/android/release.jks", "--keystore", "keystore"),
    ("signing/android/release.jceks", "--keystore", "keystore"),
];

#[test]
fn a_wrong_or_missing_password_is_one_name_and_one_status_on_every_route() {
    let dir = tempfile::tempdir().unwrap();
    for (file, flag, table) in CONTAINERS {
        let path = repo(file).display().to_string();
        // Wrong: every flag, every route. Missing: a PKCS#12 cannot be read without it.
        let mut cases: Vec<(&str, Vec<String>, Option<&str>)> = vec![
            (
                "wrong --cert-pass",
                vec!["--cert-pass=env:WS_WRONG".into()],
                Some("env:WS_WRONG"),
            ),
            (
                "wrong --ks-pass",
                vec!["--ks-pass=env:WS_WRONG".into()],
                Some("env:WS_WRONG"),
            ),
        ];
        if file.ends_with(".p12") {
            cases.push(("no password", vec![], None));
        }
        for (what, pw, cfg_pw) in cases {
            let mut seen = Vec::new();
            let mut path_args = vec![path.clone()];
            path_args.extend(pw.clone());
            let env = [("WS_WRONG", "Wr0ng-Pw".to_string())];
            seen.push(("path", verify(path_args, &env)));
            let mut flag_args = vec![flag.to_string(), path.clone()];
            flag_args.extend(pw.clone());
            seen.push(("flag", verify(flag_args, &env)));
            let cfg = dir.path().join("wrapsign.toml");
            let mut text = format!("[[{table}]]\nfile = {}\n", toml_string(&path));
            if let Some(p) = cfg_pw {
                text.push_str(&format!("password = \"{p}\"\n"));
            }
            std::fs::write(&cfg, text).unwrap();
            seen.push((
                "wrapsign.toml",
                verify(vec![format!("--config={}", cfg.display())], &env),
            ));
            // A folder holding only it: nothing else to check, so not skipped.
            let only = tempfile::tempdir().unwrap();
            std::fs::copy(repo(file), only.path().join("x")).unwrap();
            let mut scan_args = vec![only.path().display().to_string()];
            scan_args.extend(pw.clone());
            seen.push(("scan", verify(scan_args, &env)));
            for (route, r) in &seen {
                assert_eq!(
                    (r.code, r.names()),
                    (2, vec!["password-wrong".to_string()]),
                    "{file} {what} {route}: {}",
                    r.stdout
                );
                assert!(!r.stdout.contains("Wr0ng-Pw"));
            }
        }
    }
}

#[test]
fn a_folder_scan_skips_what_no_password_opens_and_counts_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        repo("profiles/enterprise-app.mobileprovision"),
        dir.path().join("app.mobileprovision"),
    )
    .unwrap();
    std::fs::copy(repo("signing/ios/dist.p12"), dir.path().join("dist.p12")).unwrap();
    std::fs::copy(
        repo("signing/android/release.jks"),
        dir.path().join("release.jks"),
    )
    .unwrap();
    let d = dir.path().display().to_string();
    let r = verify(vec![d.clone(), "--ks-pass=pass:Wr0ng-Pw".into()], &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let j = r.json();
    let skipped: Vec<(String, String)> = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        skipped,
        vec![("password-wrong".to_string(), "warning".to_string()); 2]
    );
    assert_eq!(j["summary"]["skipped"], 2);
    for f in j["findings"].as_array().unwrap() {
        assert!(
            f["message"]
                .as_str()
                .unwrap()
                .contains("skipped: no password opens it"),
            "{f:#}"
        );
    }
    // The human verdict says how many were skipped.
    let mut a = vec![
        "verify".to_string(),
        AT.into(),
        d,
        "--ks-pass=pass:Wr0ng-Pw".into(),
    ];
    a.push(format!("--trust-root={}", repo(ROOT).display()));
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let human = run(&a);
    assert!(human.stdout.contains("2 files skipped"), "{}", human.stdout);
}

#[test]
fn every_password_given_is_tried_on_every_container() {
    // The keystore flag's password opens a .p12 identity, and the other way round.
    let pw = "--ks-pass=file:signing/ios/p12.pass";
    let r = verify(
        vec![
            repo("signing/ios/dist.p12").display().to_string(),
            pw.into(),
        ],
        &[],
    );
    assert_eq!((r.code, r.names().len()), (0, 0), "{}", r.stdout);
    let r = verify(
        vec![
            repo("signing/android/release.jks").display().to_string(),
            "--cert-pass=file:signing/ios/p12.pass".into(),
        ],
        &[],
    );
    assert_eq!((r.code, r.names().len()), (0, 0), "{}", r.stdout);
    assert_eq!(r.json()["items"][0]["facts"]["integrity"], "verified");
}

// ------------------------------------------------------------ the command line

#[test]
fn a_report_or_output_in_a_missing_folder_names_the_folder() {
    let dir = tempfile::Builder::new().prefix("ws-out").tempdir().unwrap();
    let missing = dir.path().join("no-such-folder");
    let report = missing.join("report.json").display().to_string();
    let r = run(&[
        "verify",
        AT,
        "profiles/expired.mobileprovision",
        "--report",
        &report,
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains(&missing.display().to_string()),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains(".tmp"), "{}", r.stderr);
    let out = missing.join("signed.apk").display().to_string();
    let r = run(&[
        "sign",
        "samples/android/unsigned/min21-target34.apk",
        "--keystore",
        "signing/android/release.jks",
        "--ks-pass",
        "pass:wrapsign-test",
        "--out",
        &out,
    ]);
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(
        r.stderr.contains(&missing.display().to_string()),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("does not exist"), "{}", r.stderr);
}

#[test]
fn sign_names_its_output_apart_from_the_report() {
    // No destination: say both ways to give one.
    let r = run(&[
        "sign",
        "samples/android/unsigned/min21-target34.apk",
        "--keystore",
        "signing/android/release.jks",
        "--ks-pass",
        "pass:wrapsign-test",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("--out") && r.stderr.contains("--in-place"),
        "{}",
        r.stderr
    );
    // -o is not the report on sign (it would be taken for the signed app).
    let dir = tempfile::tempdir().unwrap();
    let o = dir.path().join("x.apk").display().to_string();
    let r = run(&[
        "sign",
        "samples/android/unsigned/min21-target34.apk",
        "-o",
        &o,
    ]);
    assert_eq!(r.code, 2);
    assert!(!Path::new(&o).exists());
    // sign --help speaks of signing, not of checks.
    let help = run(&["sign", "--help"]).stdout;
    assert!(
        help.contains("The keystore holding the signing key"),
        "{help}"
    );
    assert!(help.contains("the signed app goes to --out"), "{help}");
    assert!(!help.contains("A keystore to check"), "{help}");
    let help = run(&["verify", "--help"]).stdout;
    assert!(help.contains("A keystore to check"), "{help}");
}

#[test]
fn apksigner_spellings_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("signed.apk").display().to_string();
    let r = run(&[
        "sign",
        AT,
        "samples/android/unsigned/min21-target34.apk",
        "--ks",
        "signing/android/multi.jceks",
        "--ks-key-alias",
        "upload",
        "--ks-pass",
        "pass:wrapsign-test",
        "--key-pass",
        "pass:wrapsign-test",
        "--min-sdk-version",
        "21",
        "--out",
        &out,
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let r = run(&[
        "verify",
        AT,
        "--format=json",
        &out,
        "--ks",
        "signing/android/multi.jceks",
        "--ks-key-alias",
        "upload",
        "--ks-pass",
        "pass:wrapsign-test",
    ]);
    // Signed by the upload key: the keystore's alias is the expected signer.
    assert!(!r.has("apk-signer-mismatch"), "{}", r.stdout);
    let r = run(&[
        "verify",
        AT,
        "--format=json",
        &out,
        "--ks",
        "signing/android/release.jks",
        "--ks-pass",
        "pass:wrapsign-test",
    ]);
    assert!(r.has("apk-signer-mismatch"), "{}", r.stdout);
}

#[test]
fn sign_reads_wrapsign_toml_like_verify() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("signed.ipa");
    let args = |o: &Path| {
        vec![
            "sign".to_string(),
            AT.into(),
            repo("samples/WrapDemo.ipa").display().to_string(),
            "--cert".into(),
            repo("signing/ios/dist.p12").display().to_string(),
            format!(
                "--cert-pass=file:{}",
                repo("signing/ios/p12.pass").display()
            ),
            "--profile".into(),
            repo("profiles/enterprise-app.mobileprovision")
                .display()
                .to_string(),
            "--profile".into(),
            repo("profiles/enterprise-share.mobileprovision")
                .display()
                .to_string(),
            "--format=json".into(),
            "--out".into(),
            o.display().to_string(),
        ]
    };
    let sign_in = |cwd: &Path, o: &Path| {
        let out = std::process::Command::new(common::bin())
            .args(args(o))
            .current_dir(cwd)
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    // Without the test root the profiles do not chain to a trusted root.
    let (code, stdout) = sign_in(dir.path(), &out);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("profile-untrusted"), "{stdout}");
    assert!(!out.exists());
    // ./wrapsign.toml's trust_roots (and its [levels]) apply to sign as to verify.
    std::fs::write(
        dir.path().join("wrapsign.toml"),
        format!(
            "trust_roots = [{}]\n[levels]\nprofile-expiring = \"deny\"\n",
            toml_string(&repo(ROOT).display().to_string())
        ),
    )
    .unwrap();
    let (code, stdout) = sign_in(dir.path(), &out);
    assert_eq!(code, 0, "{stdout}");
    assert!(out.is_file());
}

#[test]
fn inventory_takes_the_shared_flags() {
    // --online, --key-pass and the archive limits parse on inventory as on verify.
    let r = run(&[
        "inventory",
        AT,
        "signing/android/keypass.jks",
        "--ks-pass=pass:wrapsign-test",
        "--key-pass=file:signing/inventory/android-key.pass",
        "--max-expanded-size=1G",
        "--max-expand-ratio=50",
        "--format=json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows = r.json()["items"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["status"], "ok", "{rows:?}");
    assert!(run(&["inventory", "--help"]).stdout.contains("--online"));
}
