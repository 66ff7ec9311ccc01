//! Bulk device certificates as Endpoint Management's upload takes them: a zip of
//! DEVICE_ID.p12 files with the credentials file inside. The material is made
//! with openssl at test time (a CA, then IMEI-, MEID- and serial-named device
//! certificates with fixed validity dates), and every case is checked on every
//! route: `wrapsign verify bundle.zip`, `[[devices]] zip = ...` in wrapsign.toml
//! (credentials inside), and where it applies the credentials file beside the zip.
//! Then `wrapsign bundle DIR`: its output verifies, round-trips byte for byte
//! (read back with unzip, an independent reader), and nothing is written while
//! an error finding remains.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use crate::support::{self, run, run_with, Run};

const AT: &str = "--at=2026-11-07";

const IMEIS: [&str; 3] = ["356938035643809", "490154203237518", "352099001761481"];
const MEIDS: [&str; 2] = ["A0000012345678", "A1000023456789"];
const SERIALS: [&str; 2] = ["C02XK1ABJG5H", "F17ZK2PQN73M"];

fn password(id: &str) -> String {
    format!("pw-{id}-TEST")
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const CA_CNF: &str = "[ ca ]
default_ca = test_ca
[ test_ca ]
dir              = .
database         = $dir/index.txt
new_certs_dir    = $dir/newcerts
serial           = $dir/serial
default_md       = sha256
policy           = policy_any
unique_subject   = no
copy_extensions  = none
preserve         = yes
[ policy_any ]
commonName             = optional
organizationalUnitName = optional
organizationName       = optional
[ req ]
distinguished_name = req_dn
prompt             = no
[ req_dn ]
CN = placeholder
[ ext_ca ]
basicConstraints       = critical,CA:TRUE
keyUsage               = critical,keyCertSign,cRLSign
subjectKeyIdentifier   = hash
[ ext_device ]
basicConstraints       = critical,CA:FALSE
keyUsage               = critical,digitalSignature
extendedKeyUsage       = clientAuth
authorityKeyIdentifier = keyid
";

/// The devices' `.p12` files (one folder per id type), made once per test run:
/// `None` after a SKIP line when openssl is absent.
fn material() -> Option<&'static Path> {
    static DIR: OnceLock<Option<tempfile::TempDir>> = OnceLock::new();
    DIR.get_or_init(|| {
        if !support::tool("openssl") {
            return None;
        }
        let t = tempfile::tempdir().unwrap();
        let ca = t.path().join("ca");
        std::fs::create_dir_all(ca.join("newcerts")).unwrap();
        std::fs::write(ca.join("ca.cnf"), CA_CNF).unwrap();
        std::fs::write(ca.join("index.txt"), "").unwrap();
        std::fs::write(ca.join("serial"), "1000\n").unwrap();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ];
        let mut req = vec!["req", "-new", "-config", "ca.cnf"];
        req.extend(ec);
        let mut a = req.clone();
        a.extend([
            "-keyout",
            "ca.key",
            "-subj",
            "/CN=Device Test CA",
            "-out",
            "ca.csr",
        ]);
        openssl(&ca, &a);
        openssl(
            &ca,
            &[
                "ca",
                "-batch",
                "-config",
                "ca.cnf",
                "-selfsign",
                "-keyfile",
                "ca.key",
                "-in",
                "ca.csr",
                "-out",
                "ca.pem",
                "-extensions",
                "ext_ca",
                "-startdate",
                "20250101000000Z",
                "-enddate",
                "20350101000000Z",
                "-notext",
            ],
        );
        for (kind, ids) in [
            ("imei", &IMEIS[..]),
            ("meid", &MEIDS[..]),
            ("serial", &SERIALS[..]),
        ] {
            let out = t.path().join(kind);
            std::fs::create_dir_all(&out).unwrap();
            for id in ids {
                let mut a = req.clone();
                let subj = format!("/CN={id}/OU=Devices/O=wrapsign test");
                a.extend(["-keyout", "d.key", "-subj", &subj, "-out", "d.csr"]);
                openssl(&ca, &a);
                openssl(
                    &ca,
                    &[
                        "ca",
                        "-batch",
                        "-config",
                        "ca.cnf",
                        "-cert",
                        "ca.pem",
                        "-keyfile",
                        "ca.key",
                        "-in",
                        "d.csr",
                        "-out",
                        "d.pem",
                        "-extensions",
                        "ext_device",
                        "-startdate",
                        "20260101000000Z",
                        "-enddate",
                        "20280101000000Z",
                        "-notext",
                    ],
                );
                let p12 = out.join(format!("{id}.p12"));
                let pass = format!("pass:{}", password(id));
                openssl(
                    &ca,
                    &[
                        "pkcs12",
                        "-export",
                        "-in",
                        "d.pem",
                        "-inkey",
                        "d.key",
                        "-certfile",
                        "ca.pem",
                        "-name",
                        id,
                        "-passout",
                        &pass,
                        "-out",
                        p12.to_str().unwrap(),
                    ],
                );
            }
        }
        Some(t)
    })
    .as_ref()
    .map(|t| t.path())
}

/// The credentials text for `ids`, one `ID.p12=password` line each.
fn creds(ids: &[&str]) -> String {
    ids.iter()
        .map(|id| format!("{id}.p12={}\n", password(id)))
        .collect()
}

/// A zip of `entries` (name, bytes), written with the `zip` crate.
fn write_zip(path: &Path, entries: &[(String, Vec<u8>)]) {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (n, d) in entries {
        w.start_file(n.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(d).unwrap();
    }
    w.finish().unwrap();
}

/// One case: the device files (name in the zip, kind folder and id of the
/// `.p12` it holds) and the text files to put in the zip.
struct Case {
    devices: Vec<(String, &'static str, String)>,
    texts: Vec<(String, String)>,
}

impl Case {
    fn clean(kind: &'static str, ids: &[&str]) -> Case {
        Case {
            devices: ids
                .iter()
                .map(|id| (format!("{id}.p12"), kind, id.to_string()))
                .collect(),
            texts: vec![("credential.txt".into(), creds(ids))],
        }
    }

    fn entries(&self, with_texts: bool) -> Vec<(String, Vec<u8>)> {
        let m = material().unwrap();
        let mut e: Vec<(String, Vec<u8>)> = self
            .devices
            .iter()
            .map(|(name, kind, id)| {
                (
                    name.clone(),
                    std::fs::read(m.join(kind).join(format!("{id}.p12"))).unwrap(),
                )
            })
            .collect();
        if with_texts {
            e.extend(
                self.texts
                    .iter()
                    .map(|(n, t)| (n.clone(), t.as_bytes().to_vec())),
            );
        }
        e
    }
}

/// Finding names (sorted, deduplicated) and the exit code.
fn outcome(r: &Run) -> (Vec<String>, i32) {
    let mut n = r.names();
    n.sort();
    n.dedup();
    (n, r.code)
}

fn assert_no_password(r: &Run, case: &Case) {
    for (_, _, id) in &case.devices {
        let pw = password(id);
        assert!(
            !r.stdout.contains(&pw) && !r.stderr.contains(&pw),
            "a password was printed:\n{}{}",
            r.stdout,
            r.stderr
        );
    }
}

/// Checks `case` on every route; returns the findings (names) and exit code,
/// which must be the same on each. `flags` are verify's device flags and
/// `toml` the same settings as wrapsign.toml keys.
fn check_routes(case: &Case, flags: &[&str], toml: &str, beside: bool) -> (Vec<String>, i32) {
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("upload.zip");
    write_zip(&zip, &case.entries(true));

    // 1. The zip named on the command line.
    let z = zip.to_str().unwrap();
    let mut args = vec!["verify", "--format=json", AT, z];
    args.extend(flags);
    let r = run(&args);
    assert_no_password(&r, case);
    let direct = outcome(&r);
    assert_ne!(direct.1, 2, "{}{}", r.stdout, r.stderr);

    // 2. The same zip through wrapsign.toml (no credentials file of its own).
    let cfg = dir.path().join("wrapsign.toml");
    std::fs::write(&cfg, format!("[[devices]]\nzip = \"upload.zip\"\n{toml}")).unwrap();
    let c = format!("--config={}", cfg.display());
    let r = run(&["verify", "--format=json", AT, &c]);
    assert_no_password(&r, case);
    assert_eq!(
        outcome(&r),
        direct,
        "wrapsign.toml differs from the path:\n{}",
        r.stdout
    );

    // 3. The credentials beside the zip, as MDM exports also come.
    if beside {
        let only = dir.path().join("devices.zip");
        write_zip(&only, &case.entries(false));
        let (name, text) = &case.texts[0];
        std::fs::write(dir.path().join(name), text).unwrap();
        let toml = toml
            .lines()
            .filter(|l| !l.starts_with("credentials_name"))
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(
            &cfg,
            format!("[[devices]]\nzip = \"devices.zip\"\ncredentials = \"{name}\"\n{toml}\n"),
        )
        .unwrap();
        let r = run(&["verify", "--format=json", AT, &c]);
        assert_no_password(&r, case);
        assert_eq!(
            outcome(&r),
            direct,
            "credentials beside differ:\n{}",
            r.stdout
        );
    }
    direct
}

fn ok() -> (Vec<String>, i32) {
    (Vec::new(), 0)
}

fn fails(names: &[&str]) -> (Vec<String>, i32) {
    (names.iter().map(|s| s.to_string()).collect(), 1)
}

#[test]
fn clean_bundles_of_each_identity_type_pass_on_every_route() {
    if material().is_none() {
        return;
    }
    for (kind, ids, t) in [
        ("imei", &IMEIS[..], "imei"),
        ("meid", &MEIDS[..], "meid"),
        ("serial", &SERIALS[..], "serial"),
    ] {
        let case = Case::clean(kind, ids);
        assert_eq!(check_routes(&case, &[], "", true), ok(), "{kind}");
        let flag = format!("--identity-type={t}");
        let key = format!("identity_type = \"{t}\"\n");
        assert_eq!(check_routes(&case, &[&flag], &key, true), ok(), "{kind}");
    }
}

#[test]
fn each_device_gets_a_row_with_its_id_type_and_line() {
    let Some(_) = material() else { return };
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("upload.zip");
    write_zip(&zip, &Case::clean("meid", &MEIDS).entries(true));
    let r = run(&["verify", "--format=json", AT, zip.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let j = r.json();
    let items = j["items"].as_array().unwrap();
    let devices: Vec<_> = items
        .iter()
        .filter(|i| i["kind"] == "device-certificate")
        .collect();
    assert_eq!(devices.len(), MEIDS.len());
    for (d, id) in devices.iter().zip(MEIDS) {
        assert_eq!(d["facts"]["device_id"], id);
        assert_eq!(d["facts"]["id_type"], "MEID");
        assert_eq!(d["not_after"], "2028-01-01T00:00:00Z");
        assert!(d["facts"]["password_source"]
            .as_str()
            .unwrap()
            .starts_with("credential.txt:"));
    }
    let bundle = items.iter().find(|i| i["kind"] == "device-bundle").unwrap();
    // Named in the human output's title line, not left blank.
    assert_eq!(bundle["subject"], "upload.zip");
    assert_eq!(bundle["facts"]["identity_type"], "MEID");
    assert_eq!(bundle["facts"]["devices"], 2);
}

#[test]
fn broken_bundles_fail_the_same_on_every_route() {
    if material().is_none() {
        return;
    }
    let [a, b, c] = IMEIS;
    // A missing line.
    let mut case = Case::clean("imei", &IMEIS);
    case.texts = vec![("credential.txt".into(), creds(&[a, c]))];
    assert_eq!(
        check_routes(&case, &[], "", true),
        fails(&["bulk-credential-missing"])
    );
    // A wrong password.
    let mut case = Case::clean("imei", &IMEIS);
    case.texts = vec![(
        "credential.txt".into(),
        creds(&IMEIS).replace(&password(b), "not-the-password"),
    )];
    assert_eq!(
        check_routes(&case, &[], "", true),
        fails(&["bulk-password-wrong"])
    );
    // An orphan line (a device that is not in the zip).
    let mut case = Case::clean("imei", &IMEIS);
    case.texts = vec![(
        "credential.txt".into(),
        creds(&IMEIS) + "861536030196001.p12=gone\n",
    )];
    assert_eq!(
        check_routes(&case, &[], "", true),
        fails(&["bulk-credential-orphan"])
    );
    // A bad Luhn digit: the file (and its line) named by a mistyped IMEI.
    let bad = format!("{}{}", &b[..14], (b.as_bytes()[14] - b'0' + 1) % 10);
    let mut case = Case::clean("imei", &IMEIS);
    case.devices[1].0 = format!("{bad}.p12");
    case.texts = vec![(
        "credential.txt".into(),
        creds(&IMEIS).replace(&format!("{b}.p12="), &format!("{bad}.p12=")),
    )];
    assert_eq!(
        check_routes(&case, &[], "", true),
        fails(&["device-id-invalid"])
    );
    // Names of another type than the one declared.
    let case = Case::clean("imei", &IMEIS);
    assert_eq!(
        check_routes(
            &case,
            &["--identity-type=meid"],
            "identity_type = \"meid\"\n",
            true
        ),
        fails(&["device-id-invalid"])
    );
    // Mixed names, nothing declared.
    let mut case = Case::clean("imei", &IMEIS);
    let s = SERIALS[0];
    case.devices.push((format!("{s}.p12"), "serial", s.into()));
    case.texts = vec![("credential.txt".into(), creds(&IMEIS) + &creds(&[s]))];
    assert_eq!(
        check_routes(&case, &[], "", true),
        fails(&["device-id-mixed"])
    );
}

#[test]
fn which_text_file_holds_the_credentials() {
    if material().is_none() {
        return;
    }
    let readme = (
        "README.txt".to_string(),
        "Device certificates for Q4\n".to_string(),
    );
    // A second text file beside credential.txt: credential.txt is the one.
    let mut case = Case::clean("serial", &SERIALS);
    case.texts.push(readme.clone());
    assert_eq!(check_routes(&case, &[], "", false), ok());
    // Two text files, neither credential.txt: ambiguous until one is named.
    let mut case = Case::clean("serial", &SERIALS);
    case.texts = vec![("passwords.txt".into(), creds(&SERIALS)), readme.clone()];
    assert_eq!(
        check_routes(&case, &[], "", false),
        fails(&["bulk-credentials-file-ambiguous"])
    );
    assert_eq!(
        check_routes(
            &case,
            &["--credentials-name=passwords.txt"],
            "credentials_name = \"passwords.txt\"\n",
            false
        ),
        ok()
    );
    // The only text file is the credentials file, whatever its name.
    let mut case = Case::clean("serial", &SERIALS);
    case.texts = vec![("passwords.txt".into(), creds(&SERIALS))];
    assert_eq!(check_routes(&case, &[], "", true), ok());
    // A name that is not in the zip.
    assert_eq!(
        check_routes(
            &case,
            &["--credentials-name=credential.txt"],
            "credentials_name = \"credential.txt\"\n",
            false
        ),
        fails(&["bulk-credentials-file-missing"])
    );
    // No text file at all.
    let mut case = Case::clean("serial", &SERIALS);
    case.texts.clear();
    assert_eq!(
        check_routes(&case, &[], "", false),
        fails(&["bulk-credentials-file-missing"])
    );
}

#[test]
fn a_folder_scan_finds_the_bundle_with_its_credentials_inside() {
    if material().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut case = Case::clean("imei", &IMEIS);
    write_zip(&dir.path().join("upload.zip"), &case.entries(true));
    let r = run(&["verify", "--format=json", AT, dir.path().to_str().unwrap()]);
    assert_eq!(outcome(&r), ok(), "{}", r.stdout);
    case.texts = vec![("credential.txt".into(), creds(&IMEIS[..2]))];
    write_zip(&dir.path().join("upload.zip"), &case.entries(true));
    let r = run(&["verify", "--format=json", AT, dir.path().to_str().unwrap()]);
    assert_eq!(
        outcome(&r),
        fails(&["bulk-credential-missing"]),
        "{}",
        r.stdout
    );
}

// ---------------------------------------------------------------- wrapsign bundle

/// A folder holding copies of `kind`'s devices.
fn device_folder(kind: &str, ids: &[&str]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for id in ids {
        std::fs::copy(
            material().unwrap().join(kind).join(format!("{id}.p12")),
            d.path().join(format!("{id}.p12")),
        )
        .unwrap();
    }
    d
}

fn unzip_to(zip: &Path, dir: &Path) {
    let out = Command::new("unzip")
        .arg("-q")
        .arg(zip)
        .arg("-d")
        .arg(dir)
        .output()
        .expect("unzip");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn bundle_writes_a_zip_that_verifies_and_round_trips() {
    if material().is_none() || !support::tool("unzip") {
        return;
    }
    let src = device_folder("imei", &IMEIS);
    let work = tempfile::tempdir().unwrap();
    let creds_file = work.path().join("creds.txt");
    std::fs::write(&creds_file, creds(&IMEIS)).unwrap();
    let out = work.path().join("upload.zip");
    let req = work.path().join("request.json");
    let del = work.path().join("delete.txt");
    let p = |p: &Path| p.to_str().unwrap().to_string();
    let args = [
        "bundle".to_string(),
        p(src.path()),
        format!("--credentials={}", p(&creds_file)),
        "--identity-type=imei".into(),
        format!("--out={}", p(&out)),
        format!("--request={}", p(&req)),
        format!("--delete-list={}", p(&del)),
        AT.into(),
        "--format=json".into(),
    ];
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = run(&a);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    for pw in IMEIS.map(password) {
        assert!(!r.stdout.contains(&pw) && !r.stderr.contains(&pw));
    }
    let items = r.json()["items"].as_array().unwrap().clone();
    for kind in ["device-bundle", "upload-bundle"] {
        let i = items.iter().find(|i| i["kind"] == kind).unwrap();
        assert_eq!(i["subject"], "upload.zip", "{kind}");
    }
    // It holds passwords: readable by its owner only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Round trip, read by unzip: every file byte-identical to its input.
    let x = tempfile::tempdir().unwrap();
    unzip_to(&out, x.path());
    let mut want: Vec<String> = IMEIS.iter().map(|i| format!("{i}.p12")).collect();
    want.push("credential.txt".into());
    want.sort();
    assert_eq!(names_in(x.path()), want);
    for id in IMEIS {
        let n = format!("{id}.p12");
        assert_eq!(
            std::fs::read(x.path().join(&n)).unwrap(),
            std::fs::read(src.path().join(&n)).unwrap(),
            "{n}"
        );
    }
    assert_eq!(
        std::fs::read(x.path().join("credential.txt")).unwrap(),
        std::fs::read(&creds_file).unwrap()
    );
    // It passes verify, on the path and with the identity type declared.
    for extra in [None, Some("--identity-type=imei")] {
        let mut a = vec!["verify", "--format=json", AT, out.to_str().unwrap()];
        a.extend(extra);
        let v = run(&a);
        assert_eq!(outcome(&v), ok(), "{}", v.stdout);
    }
    // The request body, field by field.
    let body: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&req).unwrap()).unwrap();
    let obj = body.as_object().unwrap();
    assert_eq!(obj.len(), 6, "{body}");
    assert_eq!(body["alias"], "");
    assert_eq!(body["useAs"], "device");
    assert_eq!(body["uploadType"], "keystore");
    assert_eq!(body["keystoreType"], "PKCS12");
    assert_eq!(body["identityType"], "IMEI");
    assert_eq!(body["credentialFileName"], "credential.txt");
    // The delete list: one device id per line.
    let mut ids = IMEIS.to_vec();
    ids.sort();
    assert_eq!(
        std::fs::read_to_string(&del).unwrap(),
        ids.iter().map(|i| format!("{i}\n")).collect::<String>()
    );
    // Reproducible: the same inputs give the same bytes.
    let again = work.path().join("again.zip");
    let mut args2 = args.to_vec();
    args2[4] = format!("--out={}", p(&again));
    args2.truncate(5);
    args2.push(AT.into());
    let a: Vec<&str> = args2.iter().map(String::as_str).collect();
    assert_eq!(run(&a).code, 0);
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&again).unwrap());
}

#[test]
fn bundle_with_one_password_and_its_own_credentials_name() {
    if material().is_none() || !support::tool("unzip") {
        return;
    }
    // The same password for every device: re-export them with it first.
    let src = tempfile::tempdir().unwrap();
    for id in SERIALS {
        let from = material().unwrap().join("serial").join(format!("{id}.p12"));
        let pem = src.path().join("x.pem");
        openssl(
            src.path(),
            &[
                "pkcs12",
                "-in",
                from.to_str().unwrap(),
                "-passin",
                &format!("pass:{}", password(id)),
                "-nodes",
                "-out",
                "x.pem",
            ],
        );
        openssl(
            src.path(),
            &[
                "pkcs12",
                "-export",
                "-in",
                "x.pem",
                "-passout",
                "pass:one-for-all-TEST",
                "-out",
                &format!("{id}.p12"),
            ],
        );
        std::fs::remove_file(pem).unwrap();
    }
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("upload.zip");
    let req = work.path().join("request.json");
    let r = run_with(
        &[
            "bundle",
            src.path().to_str().unwrap(),
            "--password=env:WS_BUNDLE_PASS",
            "--identity-type=serial",
            "--credentials-name=passwords.txt",
            &format!("--out={}", out.display()),
            &format!("--request={}", req.display()),
            AT,
        ],
        &[("WS_BUNDLE_PASS", "one-for-all-TEST")],
        None,
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(!r.stdout.contains("one-for-all-TEST") && !r.stderr.contains("one-for-all-TEST"));
    let x = tempfile::tempdir().unwrap();
    unzip_to(&out, x.path());
    let mut lines: Vec<String> = std::fs::read_to_string(x.path().join("passwords.txt"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    let mut want: Vec<String> = SERIALS
        .iter()
        .map(|s| format!("{s}.p12=one-for-all-TEST"))
        .collect();
    want.sort();
    assert_eq!(lines, want);
    let body: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&req).unwrap()).unwrap();
    assert_eq!(body["identityType"], "SERIAL_NUMBER");
    assert_eq!(body["credentialFileName"], "passwords.txt");
    let v = run(&[
        "verify",
        "--format=json",
        AT,
        out.to_str().unwrap(),
        "--identity-type=serial",
    ]);
    assert_eq!(outcome(&v), ok(), "{}", v.stdout);
}

#[test]
fn bundle_writes_nothing_while_an_error_remains() {
    if material().is_none() {
        return;
    }
    let src = device_folder("imei", &IMEIS);
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("upload.zip");
    let req = work.path().join("request.json");
    let del = work.path().join("delete.txt");
    let attempt = |creds_text: String, id_type: &str| -> Run {
        let cf = src.path().join("creds.txt");
        std::fs::write(&cf, creds_text).unwrap();
        run(&[
            "bundle",
            src.path().to_str().unwrap(),
            &format!("--credentials={}", cf.display()),
            &format!("--identity-type={id_type}"),
            &format!("--out={}", out.display()),
            &format!("--request={}", req.display()),
            &format!("--delete-list={}", del.display()),
            AT,
            "--format=json",
        ])
    };
    let wrong = creds(&IMEIS).replace(&password(IMEIS[0]), "wrong");
    for (text, t, name) in [
        (wrong, "imei", "bulk-password-wrong"),
        (creds(&IMEIS[1..]), "imei", "bulk-credential-missing"),
        (creds(&IMEIS), "meid", "device-id-invalid"),
    ] {
        let r = attempt(text, t);
        assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
        assert!(r.has(name), "{}", r.stdout);
        assert!(r.stderr.contains("nothing written"), "{}", r.stderr);
        // Nothing at all in the output folder: no zip, request, list or temp file.
        assert!(
            names_in(work.path()).is_empty(),
            "{:?}",
            names_in(work.path())
        );
        for pw in IMEIS.map(password) {
            assert!(!r.stdout.contains(&pw) && !r.stderr.contains(&pw));
        }
    }
    // The credentials file inside DIR is not packed as a device, and it works once fixed.
    let r = attempt(creds(&IMEIS), "imei");
    assert_eq!(r.code, 0, "{}", r.stdout);
    let mut want = vec!["delete.txt", "request.json", "upload.zip"];
    want.sort();
    assert_eq!(names_in(work.path()), want);
}

#[test]
fn bundle_usage_errors_exit_2_and_write_nothing() {
    if material().is_none() {
        return;
    }
    let src = device_folder("imei", &IMEIS[..1]);
    let empty = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let out = format!("--out={}", work.path().join("u.zip").display());
    let cases: Vec<Vec<String>> = vec![
        // No .p12 in the folder.
        vec![
            empty.path().display().to_string(),
            "--password=pass:x".into(),
        ],
        // A credentials name that cannot be a file in the zip's root.
        vec![
            src.path().display().to_string(),
            "--password=pass:x".into(),
            "--credentials-name=a/b.txt".into(),
        ],
        // The output folder does not exist.
        vec![
            src.path().display().to_string(),
            "--password=pass:x".into(),
            format!("--out={}", work.path().join("no/such/u.zip").display()),
        ],
    ];
    for c in cases {
        let mut a = vec![
            "bundle".to_string(),
            "--identity-type=imei".into(),
            out.clone(),
        ];
        a.extend(c);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let r = run(&a);
        assert_eq!(r.code, 2, "{a:?}: {}{}", r.stdout, r.stderr);
        assert!(names_in(work.path()).is_empty());
    }
    // Neither --credentials nor --password: clap says so.
    let r = run(&[
        "bundle",
        src.path().to_str().unwrap(),
        "--identity-type=imei",
        &out,
    ]);
    assert_eq!(r.code, 2);
}
