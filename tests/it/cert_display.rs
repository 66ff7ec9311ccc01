//! What people paste elsewhere: distinguished names in the order and spelling
//! keytool and apksigner print them, and fingerprints as keytool prints them
//! (SHA-256 `AB:CD:..`) or as Xcode and `security find-identity` do (SHA-1,
//! uppercase hex). The oracles are `keytool -printcert -file` and
//! `apksigner verify --print-certs`, over the repository's certificates, the
//! shared conformance data and a certificate with every awkward DN feature.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{self as common, run};

const AT: &str = "--at=2026-11-28";

/// One certificate as an oracle printed it.
#[derive(Debug, Default, PartialEq)]
struct Printed {
    owner: String,
    issuer: String,
    sha1: String,
    sha256: String,
}

/// `keytool -printcert -file`, one entry per certificate in the file; `None`
/// when keytool cannot read the file.
fn keytool_printcert(path: &Path) -> Option<Vec<Printed>> {
    let out = Command::new("keytool")
        .args(["-J-Duser.language=en", "-J-Dfile.encoding=UTF-8"])
        .args(["-J-Dsun.stdout.encoding=UTF-8", "-printcert", "-file"])
        .arg(path)
        .output()
        .expect("run keytool");
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).expect("keytool prints UTF-8");
    let mut certs: Vec<Printed> = Vec::new();
    for line in text.lines() {
        let line = line.trim_start();
        if let Some(v) = line.strip_prefix("Owner: ") {
            certs.push(Printed {
                owner: v.to_string(),
                ..Printed::default()
            });
        }
        let Some(c) = certs.last_mut() else { continue };
        if let Some(v) = line.strip_prefix("Issuer: ") {
            c.issuer = v.to_string();
        } else if let Some(v) = line.strip_prefix("SHA1: ") {
            c.sha1 = v.to_string();
        } else if let Some(v) = line.strip_prefix("SHA256: ") {
            c.sha256 = v.to_string();
        }
    }
    Some(certs)
}

fn colon_hex(hex: &str) -> String {
    hex.as_bytes()
        .chunks(2)
        .map(|c| std::str::from_utf8(c).unwrap().to_uppercase())
        .collect::<Vec<_>>()
        .join(":")
}

fn ours(path: &Path) -> Vec<Printed> {
    let data = std::fs::read(path).expect("read certificate file");
    wrapsign::x509::certs_from_pem_or_der(&data)
        .iter()
        .map(|der| {
            let c = wrapsign::x509::Cert::from_der(der).expect("certificate parses");
            Printed {
                owner: c.subject,
                issuer: c.issuer,
                sha1: colon_hex(&c.sha1),
                sha256: colon_hex(&c.sha256),
            }
        })
        .collect()
}

/// A certificate whose name has what Java quotes or escapes: a comma, a quote,
/// a backslash, `+`, `=`, `#`, doubled and leading spaces, an e-mail address,
/// a multi-valued RDN and non-ASCII text, made by openssl in `dir`.
fn awkward_certificate(dir: &Path) -> PathBuf {
    let key = dir.join("k.pem");
    let cert = dir.join("awkward.pem");
    let subject = r#"/C=DE/ST=Baden-Württemberg/L=Stuttgart, Mitte/O=Foo "Bar" \\ Baz/OU=R\+D=#1/OU=two  spaces/CN= lead /emailAddress=dev@example.com/CN=Müller+UID=team 1"#;
    let ok = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
        ])
        .args(["-utf8", "-multivalue-rdn", "-subj", subject])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("run openssl");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    cert
}

fn cert_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            cert_files(&p, out);
        } else if p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
            [".pem", ".cer", ".crt", ".der"]
                .iter()
                .any(|x| n.ends_with(x))
        }) {
            out.push(p);
        }
    }
}

/// `run(index, item)` over `items`, on two threads, results in order.
fn on_both_cores<T: Sync, R: Send>(items: &[T], run: impl Fn(usize, &T) -> R + Sync) -> Vec<R> {
    let half = items.len() / 2;
    let (a, b) = items.split_at(half);
    std::thread::scope(|s| {
        let run = &run;
        let tb = s.spawn(move || {
            b.iter()
                .enumerate()
                .map(|(i, x)| run(half + i, x))
                .collect::<Vec<_>>()
        });
        let mut v: Vec<R> = a.iter().enumerate().map(|(i, x)| run(i, x)).collect();
        v.extend(tb.join().unwrap());
        v
    })
}

#[test]
fn names_and_fingerprints_match_keytool_printcert() {
    if !common::tool("keytool") || !common::tool("openssl") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut files = vec![awkward_certificate(tmp.path())];
    cert_files(&common::repo("signing"), &mut files);
    if let Some(c) = common::conformance("") {
        cert_files(&c, &mut files);
    }
    // keytool starts a JVM per file: use both cores.
    let printed = on_both_cores(&files, |i, f| {
        keytool_printcert(f).or_else(|| {
            // keytool refuses a PEM file with a key before its certificate: give
            // it the certificate blocks alone (cut out as text, not by wrapsign).
            let text = std::fs::read_to_string(f).ok()?;
            let blocks: Vec<&str> = text
                .split_inclusive("-----END CERTIFICATE-----")
                .filter_map(|b| b.find("-----BEGIN CERTIFICATE-----").map(|i| &b[i..]))
                .collect();
            let only = tmp.path().join(format!("certs-only-{i}.pem"));
            std::fs::write(&only, blocks.join("\n")).unwrap();
            keytool_printcert(&only).filter(|_| !blocks.is_empty())
        })
    });
    let mut compared = 0;
    let mut owners = BTreeSet::new();
    for (f, want) in files.iter().zip(printed) {
        let Some(want) = want else {
            // Keys and other PEM files: keytool reads no certificate in them.
            assert!(
                ours(f).is_empty(),
                "{}: keytool reads no certificate",
                f.display()
            );
            continue;
        };
        let got = ours(f);
        assert_eq!(got, want, "{}", f.display());
        compared += got.len();
        owners.extend(got.into_iter().map(|c| c.owner));
    }
    // The corpus holds Apple (UID first in DER), keytool-made (C first) and
    // the awkward certificates: guard against comparing nothing.
    assert!(compared >= 30, "only {compared} certificates compared");
    assert!(owners
        .iter()
        .any(|o| o.starts_with("C=US, O=Wrapsign Test Org")));
    assert!(owners
        .iter()
        .any(|o| o.contains("EMAILADDRESS=dev@example.com")));
    assert!(owners.iter().any(|o| o.contains(" + ")), "{owners:#?}");
}

/// `apksigner verify --print-certs`: (DN, SHA-256) of each signer it prints.
fn apksigner_signers(apk: &Path) -> Vec<(String, String)> {
    let out = Command::new("apksigner")
        .args(["verify", "--print-certs"])
        .arg(apk)
        .output()
        .expect("run apksigner");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut dns = Vec::new();
    let mut shas = Vec::new();
    for line in text.lines() {
        if let Some((_, v)) = line.split_once(" certificate DN: ") {
            dns.push(v.to_string());
        } else if let Some((_, v)) = line.split_once(" certificate SHA-256 digest: ") {
            shas.push(v.to_string());
        }
    }
    assert_eq!(dns.len(), shas.len(), "{}: {text}", apk.display());
    dns.into_iter().zip(shas).collect()
}

fn apks(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            apks(&p, out);
        } else if p.extension().is_some_and(|x| x == "apk") {
            out.push(p);
        }
    }
}

#[test]
fn apk_signers_match_apksigner_print_certs() {
    if !common::tool("apksigner") {
        return;
    }
    let mut files = Vec::new();
    apks(&common::repo("samples"), &mut files);
    if let Some(c) = common::conformance("realworld") {
        apks(&c, &mut files);
    }
    // apksigner starts a JVM per file: use both cores.
    let printed = on_both_cores(&files, |_, f| apksigner_signers(f));
    let mut args = vec!["verify", AT, "--format=json"];
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    args.extend(names.iter().map(String::as_str));
    let r = run(&args);
    let items = r.json()["items"].as_array().unwrap().clone();
    let mut compared = 0;
    for (name, want) in names.iter().zip(&printed) {
        let ours: BTreeSet<(String, String)> = items
            .iter()
            .filter(|i| i["kind"] == "apk-signer" && i["file"] == name.as_str())
            .map(|i| {
                (
                    i["subject"].as_str().unwrap().to_string(),
                    i["facts"]["sha256"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        for signer in want {
            assert!(
                ours.contains(signer),
                "{name}: apksigner prints {signer:?}; wrapsign has {ours:#?}"
            );
            compared += 1;
        }
    }
    assert!(compared >= 20, "only {compared} signers compared");
}

#[test]
fn human_output_shows_what_keytool_apksigner_and_xcode_show() {
    if !common::tool("keytool") || !common::tool("apksigner") {
        return;
    }
    let pem = common::repo("signing/ios/dist.pem");
    let cert = &keytool_printcert(&pem).expect("keytool reads dist.pem")[0];
    let apk = common::repo("samples/android/v1v2v3-rsa.apk");
    let (dn, sha) = apksigner_signers(&apk).remove(0);
    let r = run(&[
        "verify",
        AT,
        "--trust-root=signing/ca/test-root-ca.pem",
        "--cert=signing/ios/dist.p12",
        "--cert-pass=file:signing/ios/p12.pass",
        "samples/android/v1v2v3-rsa.apk",
    ]);
    let lines: Vec<&str> = r.stdout.lines().map(str::trim).collect();
    let has = |want: &str| lines.contains(&want);
    assert!(has(&format!("certificate  {}", cert.owner)), "{}", r.stdout);
    assert!(has(&format!("SHA-256 {}", cert.sha256)), "{}", r.stdout);
    // Xcode, `security find-identity` and `codesign --sign` take SHA-1 this way.
    assert!(
        has(&format!("SHA-1 {}", cert.sha1.replace(':', ""))),
        "{}",
        r.stdout
    );
    assert!(has(&format!("apk-signer   {dn}")), "{}", r.stdout);
    assert!(has(&format!("SHA-256 {}", colon_hex(&sha))), "{}", r.stdout);
    // Android signers: SHA-256 only.
    assert_eq!(r.stdout.matches("SHA-1 ").count(), 1, "{}", r.stdout);
}

/// keytool's `Serial number:` line for a certificate file, a keystore or an APK.
fn keytool_serial(args: &[&str]) -> String {
    let out = Command::new("keytool")
        .arg("-J-Duser.language=en")
        .args(args)
        .output()
        .expect("run keytool");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.trim().strip_prefix("Serial number: "))
        .unwrap_or_else(|| panic!("keytool {args:?} prints no serial: {text}"))
        .to_string()
}

#[test]
fn the_serial_is_one_format_everywhere() {
    if !common::tool("keytool") {
        return;
    }
    let r = run(&[
        "verify",
        AT,
        "--format=json",
        "--trust-root=signing/ca/test-root-ca.pem",
        "--cert=signing/ios/dist.p12",
        "--cert-pass=file:signing/ios/p12.pass",
        "--keystore=signing/android/release.jks",
        "--ks-pass=pass:wrapsign-test",
        "samples/android/v1v2v3-rsa.apk",
    ]);
    let j = r.json();
    let serial = |kind: &str| {
        j["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} item: {}", r.stdout))["facts"]["serial"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let jks = common::repo("signing/android/release.jks");
    let (jks, apk, pem) = (
        jks.to_str().unwrap(),
        common::repo("samples/android/v1v2v3-rsa.apk"),
        common::repo("signing/ios/dist.pem"),
    );
    for (kind, want) in [
        (
            "certificate",
            keytool_serial(&["-printcert", "-file", pem.to_str().unwrap()]),
        ),
        (
            "keystore-entry",
            keytool_serial(&[
                "-list",
                "-v",
                "-storepass",
                "wrapsign-test",
                "-keystore",
                jks,
            ]),
        ),
        (
            "apk-signer",
            keytool_serial(&["-printcert", "-jarfile", apk.to_str().unwrap()]),
        ),
    ] {
        let got = serial(kind);
        // Lowercase hex of the DER INTEGER, as keytool prints it (keytool drops
        // the leading zero byte that DER puts before a high bit).
        assert!(
            got.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
            "{kind}: {got}"
        );
        assert_eq!(
            got.trim_start_matches('0'),
            want.trim_start_matches('0'),
            "{kind}"
        );
    }
}
