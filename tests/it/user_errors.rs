//! Errors in the user's words: a file that is not what its flag or name says is
//! reported as what it really is, naming the file, whichever way it was given;
//! never as the parser's complaint ("missing further values (at position 0)",
//! "incorrect length for PRIVATE [30] (constructed) at DER byte 2").

use std::path::Path;
use std::process::Command;

use crate::support::{self as common, run};

const AT: &str = "--at=2026-11-28";

/// The one `input-unreadable` finding of a run: exit 2, the file named.
fn unreadable(args: &[&str], file: &Path) -> String {
    let mut all = vec!["verify", AT, "--format=json"];
    all.extend_from_slice(args);
    let r = run(&all);
    assert_eq!(r.code, 2, "{args:?}: {}{}", r.stdout, r.stderr);
    let j = r.json();
    let findings = j["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{args:?}: {}", r.stdout);
    let f = &findings[0];
    assert_eq!(f["name"], "input-unreadable", "{args:?}");
    let name = file.display().to_string();
    assert_eq!(f["file"], name.as_str(), "{args:?}");
    let message = f["message"].as_str().unwrap().to_string();
    assert!(message.contains(&name), "{args:?}: {message}");
    for parser_talk in [
        "at position",
        "DER byte",
        "missing further values",
        "End of Central",
    ] {
        assert!(!message.contains(parser_talk), "{args:?}: {message}");
    }
    message
}

/// The plist inside a real profile, cut out of the CMS bytes as they are (no
/// wrapsign code involved): what `security cms -D` gives people.
fn decoded_profile_xml() -> Vec<u8> {
    let der = std::fs::read(common::repo("profiles/enterprise-app.mobileprovision")).unwrap();
    let find = |pat: &[u8]| der.windows(pat.len()).position(|w| w == pat).unwrap();
    let start = find(b"<?xml");
    let end = find(b"</plist>") + b"</plist>".len();
    der[start..end].to_vec()
}

#[test]
fn an_unsigned_plist_given_as_a_profile_says_it_is_one() {
    let dir = tempfile::tempdir().unwrap();
    let xml = dir.path().join("decoded.mobileprovision");
    std::fs::write(&xml, decoded_profile_xml()).unwrap();
    // The same content as a binary plist (plutil -convert binary1 would give this).
    let value = plist::Value::from_reader_xml(&decoded_profile_xml()[..]).unwrap();
    let bin = dir.path().join("binary.mobileprovision");
    value.to_file_binary(&bin).unwrap();

    for (file, form) in [(&xml, "plain-XML"), (&bin, "binary")] {
        let name = file.display().to_string();
        let flag = format!("--profile={name}");
        let by_flag = unreadable(&[&flag], file);
        assert!(
            by_flag.contains(&format!(
                "unsigned {form} plist, not a signed provisioning profile"
            )),
            "{by_flag}"
        );
        // Named as a path, it gets the same words.
        assert_eq!(unreadable(&[&name], file), by_flag);
    }
}

#[test]
fn a_forced_keystore_type_that_the_file_contradicts_names_the_real_type() {
    let jks = common::repo("signing/android/release.jks");
    let p12 = common::repo("signing/android/release.p12");
    let pass = "--ks-pass=pass:wrapsign-test";
    // keytool, independently: the files are what the messages will say.
    if common::tool("keytool") {
        for (file, t) in [(&jks, "JKS"), (&p12, "PKCS12")] {
            let out = Command::new("keytool")
                .args([
                    "-list",
                    "-storepass",
                    "wrapsign-test",
                    "-storetype",
                    t,
                    "-keystore",
                ])
                .arg(file)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "keytool does not read {} as {t}",
                file.display()
            );
        }
    }
    let jks_name = jks.display().to_string();
    let p12_name = p12.display().to_string();
    let jks_flag = format!("--keystore={jks_name}");
    let p12_flag = format!("--keystore={p12_name}");
    let cases: [(&[&str], &Path, &str); 4] = [
        (
            &["--ks-type=pkcs12", &jks_flag],
            &jks,
            "not a PKCS#12 keystore: it is a JKS keystore",
        ),
        (
            &["--ks-type=pkcs12", &jks_name],
            &jks,
            "not a PKCS#12 keystore: it is a JKS keystore",
        ),
        (
            &["--ks-type=jks", &p12_flag],
            &p12,
            "not a JKS keystore: it is a PKCS#12 keystore",
        ),
        (
            &["--ks-type=jceks", &jks_flag],
            &jks,
            "not a JCEKS keystore: it is a JKS keystore",
        ),
    ];
    for (args, file, said) in cases {
        let mut all = args.to_vec();
        all.push(pass);
        let m = unreadable(&all, file);
        assert!(m.contains(said), "{args:?}: {m}");
    }
    // The type forced in wrapsign.toml gets the same words.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("wrapsign.toml");
    std::fs::write(
        &cfg,
        format!("[[keystore]]\nfile = \"{jks_name}\"\npassword = \"env:WS_KS_PASS\"\ntype = \"pkcs12\"\n"),
    )
    .unwrap();
    let r = common::run_with(
        &[
            "verify",
            AT,
            "--format=json",
            &format!("--config={}", cfg.display()),
        ],
        &[("WS_KS_PASS", "wrapsign-test")],
        None,
    );
    assert_eq!(r.code, 2, "{}", r.stdout);
    let j = r.json();
    let m = j["findings"][0]["message"].as_str().unwrap();
    assert!(
        m.contains("not a PKCS#12 keystore: it is a JKS keystore"),
        "{m}"
    );
}

#[test]
fn an_empty_file_says_it_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    let empty = |name: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, b"").unwrap();
        p
    };
    // Named as a path, whatever its extension.
    for name in [
        "a.p12",
        "a.mobileprovision",
        "a.jks",
        "a.apk",
        "a.ipa",
        "a.pem",
        "a.jceks",
    ] {
        let p = empty(name);
        let m = unreadable(&[&p.display().to_string()], &p);
        assert!(m.contains("empty (0 bytes)"), "{m}");
    }
    // Given through the flag for what it should have been.
    let prof = empty("b.mobileprovision");
    let m = unreadable(&[&format!("--profile={}", prof.display())], &prof);
    assert!(m.contains("empty (0 bytes)"), "{m}");
    let ks = empty("b.jks");
    for forced in [None, Some("--ks-type=pkcs12"), Some("--ks-type=jks")] {
        let mut args = vec![
            format!("--keystore={}", ks.display()),
            "--ks-pass=pass:x".into(),
        ];
        args.extend(forced.map(str::to_string));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let m = unreadable(&args, &ks);
        assert!(m.contains("empty (0 bytes), not a keystore"), "{m}");
    }
    let cert = empty("b.p12");
    let m = unreadable(
        &[&format!("--cert={}", cert.display()), "--cert-pass=pass:x"],
        &cert,
    );
    assert!(m.contains("empty file"), "{m}");
}
