//! The JDK as an oracle: keystores made at test time by `keytool` (RSA 2048/4096,
//! EC P-256/P-384, DSA; JKS, PKCS12 and JCEKS; an expired key via -startdate, a
//! trusted certificate, a secret key, a non-ASCII password) must read back with
//! the aliases, entry types, validity dates and SHA-256 fingerprints that
//! `keytool -list -v` prints, and every private key must unlock and match its
//! certificate. Java's own PBEWithMD5AndTripleDES checks our JCEKS decryption,
//! including the salt quirk keytool never exercises. Prints `SKIP:` without a JDK.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

const PASS: &str = "oracle-pass";

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn keytool(args: &[&str]) {
    let out = Command::new("keytool")
        .args(args)
        .env("LC_ALL", "C.UTF-8")
        .env("TZ", "UTC")
        .output()
        .expect("run keytool");
    assert!(
        out.status.success(),
        "keytool {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What `keytool -list -v` says about one alias.
#[derive(Debug, Default)]
struct Listed {
    entry_type: String,
    not_before: Option<String>,
    not_after: Option<String>,
    sha256: Option<String>,
}

/// "Wed Jan 01 00:00:00 UTC 2025" (java.util.Date, English, UTC) -> RFC 3339.
fn java_date(s: &str) -> String {
    let p: Vec<&str> = s.split_whitespace().collect();
    assert_eq!((p.len(), p[4]), (6, "UTC"), "unexpected date format {s:?}");
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let m = months.iter().position(|x| *x == p[1]).expect("month") + 1;
    format!("{}-{m:02}-{:0>2}T{}Z", p[5], p[2], p[3])
}

fn keytool_list(store: &Path, store_type: &str, password: &str) -> BTreeMap<String, Listed> {
    let out = Command::new("keytool")
        .args([
            "-J-Duser.language=en",
            "-J-Duser.country=US",
            "-J-Duser.timezone=UTC",
            "-list",
            "-v",
        ])
        .args([
            "-storetype",
            store_type,
            "-keystore",
            &store.display().to_string(),
            "-storepass",
            password,
        ])
        .env("LC_ALL", "C.UTF-8")
        .output()
        .expect("keytool -list");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut all = BTreeMap::new();
    let mut alias = String::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(a) = line.strip_prefix("Alias name: ") {
            alias = a.to_string();
            all.insert(alias.clone(), Listed::default());
        }
        let Some(cur) = all.get_mut(&alias) else {
            continue;
        };
        if let Some(t) = line.strip_prefix("Entry type: ") {
            cur.entry_type = t.to_string();
        } else if let Some(v) = line.strip_prefix("Valid from: ") {
            // Only the first certificate of a chain: the leaf.
            if cur.not_before.is_none() {
                let (from, until) = v.split_once(" until: ").expect("until");
                cur.not_before = Some(java_date(from));
                cur.not_after = Some(java_date(until));
            }
        } else if let Some(h) = line.strip_prefix("SHA256: ") {
            if cur.sha256.is_none() {
                cur.sha256 = Some(h.replace(':', "").to_lowercase());
            }
        }
    }
    all
}

fn wrapsign(store: &Path, password: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_wrapsign"))
        .args([
            "verify",
            "--at",
            "2026-06-01",
            "--format",
            "json",
            "--keystore",
        ])
        .arg(store)
        .args(["--ks-pass", &format!("pass:{password}")])
        .output()
        .expect("run wrapsign");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

type KeySpec = (&'static str, &'static [&'static str], &'static str);

/// (alias, keytool -genkeypair arguments, expected key description)
const KEYS: [KeySpec; 6] = [
    (
        "rsa2048",
        &["-keyalg", "RSA", "-keysize", "2048"],
        "RSA 2048",
    ),
    (
        "rsa4096",
        &["-keyalg", "RSA", "-keysize", "4096"],
        "RSA 4096",
    ),
    (
        "ec256",
        &["-keyalg", "EC", "-groupname", "secp256r1"],
        "EC P-256",
    ),
    (
        "ec384",
        &["-keyalg", "EC", "-groupname", "secp384r1"],
        "EC P-384",
    ),
    ("dsa", &["-keyalg", "DSA", "-keysize", "2048"], "DSA 2048"),
    (
        "expired",
        &[
            "-keyalg",
            "RSA",
            "-keysize",
            "2048",
            "-startdate",
            "2010/03/04 05:06:07",
            "-validity",
            "400",
        ],
        "RSA 2048",
    ),
];

/// keytool makes a JKS with every key kind and a trusted certificate.
fn make_jks(f: &str) {
    for (alias, args, _) in &KEYS {
        let dname = format!("CN=Oracle {alias} TEST,O=wrapsign test");
        let mut a = vec![
            "-genkeypair",
            "-noprompt",
            "-storetype",
            "JKS",
            "-keystore",
            f,
            "-storepass",
            PASS,
        ];
        a.extend(["-keypass", PASS, "-alias", alias, "-dname", &dname]);
        a.extend_from_slice(args);
        if !args.contains(&"-validity") {
            a.extend(["-startdate", "2025/01/01 00:00:00", "-validity", "9000"]);
        }
        keytool(&a);
    }
    let ca = Path::new(env!("CARGO_MANIFEST_DIR")).join("signing/ca/test-root-ca.pem");
    let ca = ca.display().to_string();
    keytool(&[
        "-importcert",
        "-noprompt",
        "-storetype",
        "JKS",
        "-keystore",
        f,
        "-storepass",
        PASS,
        "-alias",
        "ca",
        "-file",
        &ca,
    ]);
}

/// keytool converts the JKS to `store_type` (its own encoder: PKCS12's AES
/// bags and MAC, JCEKS' 3DES) and adds a secret key, which JKS cannot hold.
fn convert(jks: &str, f: &str, store_type: &str) {
    keytool(&[
        "-importkeystore",
        "-noprompt",
        "-srckeystore",
        jks,
        "-srcstoretype",
        "JKS",
        "-srcstorepass",
        PASS,
        "-destkeystore",
        f,
        "-deststoretype",
        store_type,
        "-deststorepass",
        PASS,
    ]);
    keytool(&[
        "-genseckey",
        "-noprompt",
        "-storetype",
        store_type,
        "-keystore",
        f,
        "-storepass",
        PASS,
        "-keypass",
        PASS,
        "-alias",
        "aes",
        "-keyalg",
        "AES",
        "-keysize",
        "256",
    ]);
}

/// Compares wrapsign's view of a keytool-made keystore with `keytool -list -v`.
fn compare(file: &Path, store_type: &str) {
    let listed = keytool_list(file, store_type, PASS);
    let report = wrapsign(file, PASS);
    let items: BTreeMap<String, &Value> = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["facts"]["alias"].as_str().unwrap().to_string(),
                &i["facts"],
            )
        })
        .collect();
    let ours: Vec<&String> = items.keys().collect();
    let theirs: Vec<&String> = listed.keys().collect();
    assert_eq!(ours, theirs, "{store_type}: aliases");
    assert_eq!(
        theirs.len(),
        if store_type == "JKS" { 7 } else { 8 },
        "{store_type}"
    );
    for (alias, l) in &listed {
        let facts = items[alias];
        let ty = match l.entry_type.as_str() {
            "PrivateKeyEntry" => "private-key",
            "trustedCertEntry" => "trusted-certificate",
            "SecretKeyEntry" => "secret-key",
            other => panic!("keytool entry type {other}"),
        };
        assert_eq!(facts["type"], ty, "{store_type} {alias}");
        if ty == "secret-key" {
            assert_eq!(
                (facts["algorithm"].as_str(), facts["key_bits"].as_u64()),
                (Some("AES"), Some(256))
            );
            continue;
        }
        assert_eq!(
            facts["not_before"].as_str(),
            l.not_before.as_deref(),
            "{store_type} {alias} notBefore"
        );
        assert_eq!(
            facts["not_after"].as_str(),
            l.not_after.as_deref(),
            "{store_type} {alias} notAfter"
        );
        assert_eq!(
            facts["sha256"].as_str(),
            l.sha256.as_deref(),
            "{store_type} {alias} SHA-256"
        );
        if ty == "private-key" {
            assert_eq!(
                facts["private_key"], "matches certificate",
                "{store_type} {alias}"
            );
            let kind = KEYS.iter().find(|k| k.0 == alias).unwrap().2;
            assert_eq!(facts["key"], kind, "{store_type} {alias}");
        }
    }
    // -startdate 2010/03/04 05:06:07 + 400 days, as keytool printed it.
    assert_eq!(items["expired"]["not_before"], "2010-03-04T05:06:07Z");
    let expired: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["name"] == "keystore-cert-expired")
        .collect();
    assert_eq!(expired.len(), 1, "{store_type}");
    assert_eq!(expired[0]["subject"], "expired");
}

#[test]
fn keytool_made_keystores_read_back_as_keytool_lists_them() {
    if !have("keytool") {
        skip!("keytool not installed (install default-jdk-headless)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let jks = dir.path().join("oracle.jks");
    let jks_s = jks.display().to_string();
    make_jks(&jks_s);
    // JVM-heavy: the other two formats in parallel, one per core.
    std::thread::scope(|s| {
        let jobs: Vec<_> = ["PKCS12", "JCEKS"]
            .into_iter()
            .map(|t| {
                let f = dir.path().join(format!("oracle.{}", t.to_lowercase()));
                let jks_s = jks_s.as_str();
                s.spawn(move || {
                    convert(jks_s, &f.display().to_string(), t);
                    compare(&f, t);
                })
            })
            .collect();
        compare(&jks, "JKS");
        for j in jobs {
            if let Err(e) = j.join() {
                std::panic::resume_unwind(e);
            }
        }
    });
}

#[test]
fn keytool_non_ascii_jks_password() {
    if !have("keytool") {
        skip!("keytool not installed (install default-jdk-headless)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("na.jks").display().to_string();
    // Beyond Latin-1 too: byte-wise encoders cannot express these.
    let pw = "pässwörd-€-ключ";
    keytool(&[
        "-genkeypair",
        "-noprompt",
        "-storetype",
        "JKS",
        "-keystore",
        &f,
        "-storepass",
        pw,
        "-keypass",
        pw,
        "-alias",
        "k",
        "-dname",
        "CN=NA TEST",
        "-keyalg",
        "EC",
        "-groupname",
        "secp256r1",
        "-startdate",
        "2025/01/01 00:00:00",
        "-validity",
        "9000",
    ]);
    let listed = keytool_list(Path::new(&f), "JKS", pw);
    let report = wrapsign(Path::new(&f), pw);
    let item = &report["items"][0]["facts"];
    assert_eq!(report["summary"]["exit_code"], 0, "{report}");
    assert_eq!(item["sha256"].as_str(), listed["k"].sha256.as_deref());
    assert_eq!(item["private_key"], "matches certificate");
}

#[test]
fn java_pbe_with_md5_and_triple_des_agrees() {
    if !have("java") {
        skip!("java not installed (install default-jdk-headless)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("Pbe.java");
    std::fs::write(
        &src,
        r#"
import javax.crypto.*;
import javax.crypto.spec.*;
public class Pbe {
    public static void main(String[] a) throws Exception {
        byte[][] salts = { {1,2,3,4,5,6,7,8}, {9,8,7,6,9,8,7,6} };
        for (byte[] salt : salts) {
            SecretKey k = SecretKeyFactory.getInstance("PBEWithMD5AndTripleDES")
                .generateSecret(new PBEKeySpec("s3cret pass".toCharArray()));
            Cipher c = Cipher.getInstance("PBEWithMD5AndTripleDES");
            c.init(Cipher.ENCRYPT_MODE, k, new PBEParameterSpec(salt, 1000));
            byte[] out = c.doFinal("wrapsign JCEKS oracle".getBytes("UTF-8"));
            StringBuilder sb = new StringBuilder();
            for (byte b : out) sb.append(String.format("%02x", b));
            System.out.println(sb);
        }
    }
}
"#,
    )
    .unwrap();
    let out = Command::new("java").arg(&src).output().expect("run java");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    use wrapsign::android::keystore::protect::md5_triple_des_decrypt;
    // The second salt has equal halves, which Java rearranges before hashing.
    for (line, salt) in lines
        .iter()
        .zip([[1u8, 2, 3, 4, 5, 6, 7, 8], [9, 8, 7, 6, 9, 8, 7, 6]])
    {
        let ct = hex::decode(line).unwrap();
        let plain = md5_triple_des_decrypt(&ct, "s3cret pass", &salt, 1000).unwrap();
        assert_eq!(&plain[..], b"wrapsign JCEKS oracle", "salt {salt:?}");
    }
}
