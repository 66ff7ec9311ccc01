//! Conformance with pyjks' keystores (../shared/conformance/pyjks, MIT, written by
//! the JDK and Bouncy Castle): every JKS and JCEKS file opens with its documented
//! password and yields the documented aliases, private keys (PKCS#8) and
//! certificates, byte for byte against expected/*.json; secret keys match the
//! values in pyjks' tests/test_jks.py; duplicate aliases, foreign sealed objects
//! and BKS/UBER files give their findings. Skips LOUDLY when the data is absent.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use wrapsign::android::keystore::{self, EntryKind, Integrity, KeyError, Keystore, StoreType};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/pyjks")
}

fn present() -> bool {
    if root().join("jks").is_dir() {
        return true;
    }
    skip!(
        "{} not found: pyjks keystore conformance was NOT checked",
        root().display()
    );
    false
}

struct Expected {
    private_key: Vec<u8>,
    certs: Vec<Vec<u8>>,
}

fn expected(name: &str) -> Expected {
    let v: Value = serde_json::from_slice(
        &std::fs::read(root().join("expected").join(format!("{name}.json"))).unwrap(),
    )
    .unwrap();
    Expected {
        private_key: hex::decode(v["private_key"].as_str().unwrap()).unwrap(),
        certs: v["certs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| hex::decode(c.as_str().unwrap()).unwrap())
            .collect(),
    }
}

fn open(rel: &str, password: Option<&str>) -> Result<Keystore, String> {
    let data = std::fs::read(root().join(rel)).map_err(|e| e.to_string())?;
    let t = keystore::detect(&data).map_err(|e| format!("detect: {e}"))?;
    keystore::open(&data, t, password).map_err(|e| format!("open: {e}"))
}

fn store_type(rel: &str) -> StoreType {
    if rel.ends_with(".jceks") {
        StoreType::Jceks
    } else {
        StoreType::Jks
    }
}

/// Checks a private-key entry against expected/*.json; `Err` says what differs.
fn check_private(ks: &Keystore, alias: &str, key_pass: &str, exp: &Expected) -> Result<(), String> {
    let e = ks
        .entries
        .iter()
        .find(|e| e.alias == alias)
        .ok_or(format!("no alias {alias}"))?;
    let EntryKind::PrivateKey { key, chain } = &e.kind else {
        return Err(format!("{alias} is a {}, not a private key", e.kind.name()));
    };
    let pkcs8 = key.recover(key_pass).map_err(|e| format!("{alias}: {e}"))?;
    if pkcs8.as_slice() != exp.private_key.as_slice() {
        return Err(format!("{alias}: PKCS#8 differs"));
    }
    if chain != &exp.certs {
        return Err(format!(
            "{alias}: certificate chain differs ({} vs {} certs)",
            chain.len(),
            exp.certs.len()
        ));
    }
    if key.recover("wrong_password").is_ok() {
        return Err(format!("{alias}: a wrong key password was accepted"));
    }
    Ok(())
}

fn check_trusted(ks: &Keystore, alias: &str, cert: &[u8]) -> Result<(), String> {
    match ks
        .entries
        .iter()
        .find(|e| e.alias == alias)
        .map(|e| &e.kind)
    {
        Some(EntryKind::TrustedCert { cert: c }) if c == cert => Ok(()),
        Some(EntryKind::TrustedCert { .. }) => Err(format!("{alias}: certificate differs")),
        other => Err(format!("{alias}: {other:?}")),
    }
}

fn check_secret(
    ks: &Keystore,
    alias: &str,
    pw: &str,
    algorithm: &str,
    key: &[u8],
) -> Result<(), String> {
    let Some(EntryKind::SecretKey(sk)) = ks
        .entries
        .iter()
        .find(|e| e.alias == alias)
        .map(|e| &e.kind)
    else {
        return Err(format!("{alias}: not a secret key"));
    };
    let info = sk.unseal(pw).map_err(|e| format!("{alias}: {e}"))?;
    if info.algorithm != algorithm || info.key.as_slice() != key {
        return Err(format!(
            "{alias}: got {} {} bits",
            info.algorithm,
            info.key.len() * 8
        ));
    }
    match sk.unseal("wrong_password") {
        Err(KeyError::WrongPassword) => Ok(()),
        other => Err(format!(
            "{alias}: wrong password gave {:?}",
            other.map(|i| i.algorithm)
        )),
    }
}

fn aliases(ks: &Keystore) -> Vec<&str> {
    let mut v: Vec<&str> = ks.entries.iter().map(|e| e.alias.as_str()).collect();
    v.sort();
    v
}

/// Runs one file's checks; returns the failure, if any.
fn check_file(rel: &str) -> Result<(), String> {
    let pw = "12345678";
    let name = Path::new(rel).file_stem().unwrap().to_str().unwrap();
    let t = store_type(rel);
    let ks = |p: Option<&str>| -> Result<Keystore, String> {
        let ks = open(rel, p)?;
        if ks.store_type != t {
            return Err(format!("read as {}", ks.store_type.name()));
        }
        Ok(ks)
    };
    match name {
        "RSA1024" | "RSA2048_3certs" | "DSA2048" => {
            let ks = ks(Some(pw))?;
            if aliases(&ks) != ["mykey"] {
                return Err(format!("aliases {:?}", aliases(&ks)));
            }
            check_private(&ks, "mykey", pw, &expected(name))
        }
        "3certs" => {
            let ks = ks(Some(pw))?;
            let exp = expected("RSA2048_3certs");
            if aliases(&ks) != ["cert1", "cert2", "cert3"] {
                return Err(format!("aliases {:?}", aliases(&ks)));
            }
            (0..3).try_for_each(|i| check_trusted(&ks, &format!("cert{}", i + 1), &exp.certs[i]))
        }
        "custom_entry_passwords" => {
            let ks = ks(Some("store_password"))?;
            let exp = expected(name);
            check_private(&ks, "private", "private_password", &exp)?;
            check_trusted(&ks, "cert", &exp.certs[0])?;
            if t == StoreType::Jceks {
                let key = hex::decode("3f680504c66cc25aae65d0fa49c526ec").unwrap();
                check_secret(&ks, "secret", "secret_password", "AES", &key)?;
                if aliases(&ks) != ["cert", "private", "secret"] {
                    return Err(format!("aliases {:?}", aliases(&ks)));
                }
            } else if aliases(&ks) != ["cert", "private"] {
                return Err(format!("aliases {:?}", aliases(&ks)));
            }
            // The store password is not the key password.
            match ks
                .entries
                .iter()
                .find(|e| e.alias == "private")
                .map(|e| &e.kind)
            {
                Some(EntryKind::PrivateKey { key, .. })
                    if key.recover("store_password").is_err() =>
                {
                    Ok(())
                }
                _ => Err("the store password unlocked the private key".into()),
            }
        }
        "empty" => {
            let ks = ks(Some(""))?;
            match (ks.entries.len(), ks.integrity) {
                (0, Integrity::Verified) => Ok(()),
                other => Err(format!("{other:?}")),
            }
        }
        "non_ascii_password" => {
            let ks = ks(Some(
                "\u{10DA}\u{0028}\u{0CA0}\u{76CA}\u{0CA0}\u{10DA}\u{0029}",
            ))?;
            let p = "\u{10DA}\u{0028}\u{0CA0}\u{76CA}\u{0CA0}\u{10DA}\u{0029}";
            check_private(&ks, "mykey", p, &expected("jks_non_ascii_password"))
        }
        "truststore" => {
            // pyjks reads it without a password (none is documented): so must we.
            let ks = ks(None)?;
            let all = ks
                .entries
                .iter()
                .all(|e| matches!(e.kind, EntryKind::TrustedCert { .. }));
            match (ks.entries.len(), ks.integrity, all) {
                (2, Integrity::Unchecked, true) => Ok(()),
                other => Err(format!("{other:?}")),
            }
        }
        "duplicate_aliases" => {
            let ks = ks(Some(pw))?;
            let dups = keystore::duplicate_aliases(&ks);
            if dups.len() != 1 || dups[0].1 != 2 {
                return Err(format!("duplicates {dups:?}"));
            }
            expect_findings(rel, pw, &["keystore-duplicate-alias"], 1)
        }
        "AES128" | "AES256" | "DES" | "DESede" | "PBKDF2WithHmacSHA1" => {
            // Values from pyjks tests/test_jks.py.
            let (alg, hex_key) = match name {
                "AES128" => ("AES", "666e0221cc44c1fc4aabf458f9dfdd3c"),
                "AES256" => (
                    "AES",
                    "e7d7c262668221787b6b5a0f687712fde4be52e9e7d7c262668221787b6b5a0f",
                ),
                "DES" => ("DES", "4cf2fe915d082a43"),
                "DESede" => ("DESede", "675e5245e9673b4c8fc194ceec433b318c45c2e0675e5245"),
                _ => (
                    "PBKDF2WithHmacSHA1",
                    "579536d9a27f7e314ef4e3ffa57626efe670e8f4d296cd31ba1a827d9a3b1ee1",
                ),
            };
            let ks = ks(Some(pw))?;
            check_secret(&ks, "mykey", pw, alg, &hex::decode(hex_key).unwrap())
        }
        "unknown_type_of_sealed_object"
        | "unknown_type_inside_sealed_object"
        | "unknown_sealed_object_sealAlg" => {
            // keytool refuses all three ("Invalid secret key format").
            expect_findings(rel, pw, &["keystore-unsupported"], 1)
        }
        other => Err(format!("no expectation for {other}")),
    }
}

/// `wrapsign verify` on a conformance file gives exactly these finding names
/// among its keystore findings (certificate-age findings aside) and this exit code.
fn expect_findings(rel: &str, pw: &str, names: &[&str], code: i32) -> Result<(), String> {
    let out = Command::new(env!("CARGO_BIN_EXE_wrapsign"))
        .args([
            "verify",
            "--at",
            "2017-01-01",
            "--format",
            "json",
            "--ks-pass",
            &format!("pass:{pw}"),
        ])
        .arg(root().join(rel))
        .output()
        .map_err(|e| e.to_string())?;
    let v: Value = serde_json::from_slice(&out.stdout).map_err(|e| format!("{e}"))?;
    let got: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .filter(|n| names.contains(&n.as_str()) || n == "input-unreadable")
        .collect();
    let want: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    if got != want || out.status.code() != Some(code) {
        return Err(format!("findings {got:?}, exit {:?}", out.status.code()));
    }
    Ok(())
}

#[test]
fn pyjks_jks_and_jceks_keystores() {
    if !present() {
        return;
    }
    let mut files: Vec<String> = Vec::new();
    for dir in ["jks", "jceks"] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            files.push(format!(
                "{dir}/{}",
                e.unwrap().file_name().to_string_lossy()
            ));
        }
    }
    files.sort();
    let failures: Vec<String> = files
        .iter()
        .filter_map(|f| check_file(f).err().map(|e| format!("{f}: {e}")))
        .collect();
    println!(
        "pyjks JKS/JCEKS conformance: {}/{} files agree",
        files.len() - failures.len(),
        files.len()
    );
    assert!(
        files.len() >= 24,
        "expected the full pyjks set, found {}",
        files.len()
    );
    assert!(
        failures.is_empty(),
        "disagreements:\n{}",
        failures.join("\n")
    );
}

#[test]
fn pyjks_bks_and_uber_are_named_unsupported() {
    if !present() {
        return;
    }
    let mut n = 0;
    for dir in ["bks", "uber"] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let path = e.unwrap().path();
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            let want = match path.extension().and_then(|x| x.to_str()) {
                Some("bksv1") => "BKS (version 1)",
                Some("bksv2") => "BKS (version 2)",
                _ => "UBER",
            };
            let out = Command::new(env!("CARGO_BIN_EXE_wrapsign"))
                .args(["verify", "--format", "json", "--ks-pass", "pass:12345678"])
                .arg(&path)
                .output()
                .unwrap();
            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
            let f = &v["findings"][0];
            assert_eq!(
                (out.status.code(), f["name"].as_str()),
                (Some(1), Some("keystore-unsupported")),
                "{file}"
            );
            assert_eq!(v["findings"].as_array().unwrap().len(), 1, "{file}");
            assert!(
                f["message"].as_str().unwrap().contains(want),
                "{file}: {}",
                f["message"]
            );
            // Also when named with --keystore.
            let out = Command::new(env!("CARGO_BIN_EXE_wrapsign"))
                .args(["verify", "--format", "json", "--keystore"])
                .arg(&path)
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(1), "{file}");
            n += 1;
        }
    }
    println!("pyjks BKS/UBER: {n}/9 recognised and reported as keystore-unsupported");
    assert_eq!(n, 9);
}
