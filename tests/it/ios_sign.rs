//! `wrapsign sign` for IPAs and `.app` folders, driven through the binary.
//!
//! Signed outputs are read back with apple-codesign's own Mach-O reader (and
//! cross-checked with `rcodesign` when it is installed), then verified with
//! `wrapsign verify`. Profiles for other bundle ids and teams are generated at
//! test time with `openssl cms`, exactly as profiles/generate.sh does.

use crate::support as common;
use crate::support::skip_line as skip;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use plist::{Dictionary, Value};
use sha2::{Digest, Sha256};

const AT: &str = "2026-06-01";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn r(p: &str) -> PathBuf {
    root().join(p)
}

fn wrapsign(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wrapsign"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run wrapsign")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn sha256(p: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(p).expect("read")))
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// `sign INPUT --out OUT` with the test identity and the given extra arguments.
/// `sign INPUT` with an identity of signing/ios, the test root and the pinned time.
fn sign_args(cert: &str, input: &Path) -> Vec<String> {
    [
        "sign",
        s(input),
        "--cert",
        s(&r(cert)),
        "--cert-pass",
        &format!("file:{}", s(&r("signing/ios/p12.pass"))),
        "--trust-root",
        s(&r("signing/ca/test-root-ca.pem")),
        "--at",
        AT,
    ]
    .iter()
    .map(|x| x.to_string())
    .collect()
}

fn sign_with(cert: &str, input: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = sign_args(cert, input);
    args.extend(["--out".to_string(), s(out).to_string()]);
    args.extend(extra.iter().map(|x| x.to_string()));
    wrapsign(&strs(&args))
}

fn sign_in_place(input: &Path, extra: &[&str]) -> Output {
    let mut args = sign_args("signing/ios/dist.p12", input);
    args.push("--in-place".into());
    args.extend(extra.iter().map(|x| x.to_string()));
    wrapsign(&strs(&args))
}

fn sign(input: &Path, out: &Path, extra: &[&str]) -> Output {
    sign_with("signing/ios/dist.p12", input, out, extra)
}

fn sample_profiles() -> Vec<String> {
    vec![
        "--profile".into(),
        s(&r("profiles/enterprise-app.mobileprovision")).into(),
        "--profile".into(),
        s(&r("profiles/enterprise-share.mobileprovision")).into(),
    ]
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Writes a TEST-ONLY enterprise profile for `team.app`, signed by the test
/// profile signer, listing the named identities of signing/ios.
fn make_profile(
    dir: &Path,
    name: &str,
    team: &str,
    app: &str,
    certs: &[&str],
    extra: &[(&str, Value)],
) -> PathBuf {
    let mut ent = Dictionary::new();
    ent.insert(
        "application-identifier".into(),
        Value::String(format!("{team}.{app}")),
    );
    ent.insert(
        "keychain-access-groups".into(),
        Value::Array(vec![Value::String(format!("{team}.*"))]),
    );
    ent.insert("get-task-allow".into(), Value::Boolean(false));
    ent.insert(
        "com.apple.developer.team-identifier".into(),
        Value::String(team.into()),
    );
    ent.insert("aps-environment".into(), Value::String("production".into()));
    ent.insert(
        "com.apple.security.application-groups".into(),
        Value::Array(vec![Value::String("group.com.example.wrapdemo".into())]),
    );
    for (k, v) in extra {
        ent.insert((*k).into(), v.clone());
    }
    let date = |y: i32| -> Value {
        let t = std::time::UNIX_EPOCH
            + std::time::Duration::from_secs(((y - 1970) as u64) * 365 * 86_400 + 10 * 86_400);
        Value::Date(t.into())
    };
    let mut d = Dictionary::new();
    d.insert("AppIDName".into(), Value::String(format!("{name} TEST")));
    d.insert(
        "ApplicationIdentifierPrefix".into(),
        Value::Array(vec![Value::String(team.into())]),
    );
    d.insert("CreationDate".into(), date(2025));
    d.insert(
        "Platform".into(),
        Value::Array(vec![Value::String("iOS".into())]),
    );
    let ders: Vec<Value> = certs
        .iter()
        .map(|c| {
            let pem = std::fs::read(r(&format!("signing/ios/{c}.pem"))).expect("pem");
            Value::Data(wrapsign::x509::certs_from_pem_or_der(&pem).remove(0))
        })
        .collect();
    d.insert("DeveloperCertificates".into(), Value::Array(ders));
    d.insert("Entitlements".into(), Value::Dictionary(ent));
    d.insert("ExpirationDate".into(), date(2045));
    d.insert("Name".into(), Value::String(format!("{name} TEST")));
    d.insert("ProvisionsAllDevices".into(), Value::Boolean(true));
    d.insert(
        "TeamIdentifier".into(),
        Value::Array(vec![Value::String(team.into())]),
    );
    d.insert(
        "TeamName".into(),
        Value::String("Generated Test Org".into()),
    );
    d.insert(
        "UUID".into(),
        Value::String(format!("57524150-5349-474e-b000-{:012x}", name.len())),
    );
    d.insert("Version".into(), Value::Integer(1.into()));
    let plist_path = dir.join(format!("{name}.plist"));
    Value::Dictionary(d)
        .to_file_xml(&plist_path)
        .expect("write plist");
    let out = dir.join(format!("{name}.mobileprovision"));
    let st = Command::new("openssl")
        .args([
            "cms",
            "-sign",
            "-binary",
            "-nodetach",
            "-nosmimecap",
            "-outform",
            "DER",
            "-md",
            "sha256",
        ])
        .arg("-signer")
        .arg(r("signing/ios/profile-signer.pem"))
        .arg("-inkey")
        .arg(r("signing/ios/profile-signer.key"))
        .arg("-certfile")
        .arg(r("signing/ca/test-iphone-ca.pem"))
        .arg("-in")
        .arg(&plist_path)
        .arg("-out")
        .arg(&out)
        .status()
        .expect("run openssl");
    assert!(st.success(), "openssl cms -sign failed");
    out
}

fn unzip_to(ipa: &Path, dir: &Path) {
    let f = std::fs::File::open(ipa).expect("open ipa");
    let mut z = zip::ZipArchive::new(f).expect("zip");
    z.extract(dir).expect("extract");
}

/// Unzips `ipa` into `dir` and returns its `Payload/<name>.app`.
fn unzip_app(ipa: &Path, dir: &Path, name: &str) -> PathBuf {
    unzip_to(ipa, dir);
    dir.join(format!("Payload/{name}.app"))
}

/// The entitlements named by the `entitlement-dropped` findings of a JSON
/// run (with `severity` when given), in report order.
fn dropped(o: &Output, severity: Option<&str>) -> Vec<String> {
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["name"] == "entitlement-dropped")
        .filter(|f| severity.is_none_or(|s| f["severity"] == s))
        .filter_map(|f| f["details"]["entitlement"].as_str().map(str::to_string))
        .collect()
}

/// What one Mach-O's signature says.
#[derive(Debug)]
struct Sig {
    identifier: String,
    team: Option<String>,
    entitlements: Option<Dictionary>,
    signer_der: Option<Vec<u8>>,
}

/// Reads every slice of a Mach-O with apple-codesign's reader.
fn read_sigs(p: &Path) -> Vec<Sig> {
    let data = std::fs::read(p).expect("read mach-o");
    let mach = apple_codesign::MachFile::parse(&data).expect("parse mach-o");
    let mut out = Vec::new();
    for m in mach.iter_macho() {
        let sig = m.code_signature().expect("sig").expect("signed");
        let cd = sig.code_directory().expect("cd").expect("has cd");
        let entitlements = sig
            .entitlements()
            .expect("ents")
            .map(|b| plist::from_bytes::<Dictionary>(b.as_str().as_bytes()).expect("ent plist"));
        let signer_der = sig.signed_data().expect("cms").and_then(|sd| {
            let si = sd.signers().next()?;
            sd.certificates()
                .find(|c| si.signature_verifier(std::iter::once(*c)).is_ok())
                .map(|c| c.constructed_data().to_vec())
        });
        out.push(Sig {
            identifier: cd.ident.to_string(),
            team: cd.team_name.map(|t| t.to_string()),
            entitlements,
            signer_der,
        });
    }
    out
}

fn cert_der(name: &str) -> Vec<u8> {
    let pem = std::fs::read(r(&format!("signing/ios/{name}.pem"))).expect("pem");
    wrapsign::x509::certs_from_pem_or_der(&pem).remove(0)
}

fn is_macho(p: &Path) -> bool {
    let mut head = [0u8; 4];
    std::fs::File::open(p)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && matches!(
            head,
            [0xcf, 0xfa, 0xed, 0xfe] | [0xca, 0xfe, 0xba, 0xbe] | [0xce, 0xfa, 0xed, 0xfe]
        )
}

fn machos(app: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(app)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file() && is_macho(e.path()))
        .map(|e| e.path().to_path_buf())
        .collect()
}

fn ents(pairs: &[(&str, Value)]) -> Dictionary {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn vs(x: &str) -> Value {
    Value::String(x.into())
}

fn arr(xs: &[&str]) -> Value {
    Value::Array(xs.iter().map(|x| vs(x)).collect())
}

/// The entitlements the sample's bundle `id` must get from a team `team` profile.
fn sample_ents(team: &str, id: &str) -> Dictionary {
    ents(&[
        ("application-identifier", vs(&format!("{team}.{id}"))),
        ("com.apple.developer.team-identifier", vs(team)),
        ("keychain-access-groups", arr(&[&format!("{team}.{id}")])),
        ("get-task-allow", Value::Boolean(false)),
        (
            "com.apple.security.application-groups",
            arr(&["group.com.example.wrapdemo"]),
        ),
    ])
}

/// A bundle's CodeResources must seal `rel` with the SHA-256 of the file on disk.
fn assert_sealed(bundle: &Path, rel: &str) {
    let cr: Dictionary =
        plist::from_file(bundle.join("_CodeSignature/CodeResources")).expect("CodeResources");
    let files2 = cr
        .get("files2")
        .and_then(Value::as_dictionary)
        .expect("files2");
    let entry = files2
        .get(rel)
        .and_then(Value::as_dictionary)
        .unwrap_or_else(|| panic!("{rel} is not sealed in {}", bundle.display()));
    let hash2 = entry.get("hash2").and_then(Value::as_data).expect("hash2");
    let actual = Sha256::digest(std::fs::read(bundle.join(rel)).expect("sealed file"));
    assert_eq!(
        hash2,
        actual.as_slice(),
        "{rel} changed after {} was sealed",
        bundle.display()
    );
}

/// Expected signing facts for one bundle of the output.
struct Want<'a> {
    exe: &'a str,
    id: &'a str,
    ents: Option<Dictionary>,
}

/// Reads a signed app back and checks every Mach-O, the seals and the profiles.
/// [`check_signed_app`] for the sample app signed by dist.p12 with its enterprise profile.
fn check_sample_app(app: &Path) {
    check_signed_app(
        app,
        "WSTEST0001",
        "dist",
        &sample_wants("WSTEST0001", "com.example.wrapdemo"),
        &[(".", &r("profiles/enterprise-app.mobileprovision"))],
    );
}

fn check_signed_app(
    app: &Path,
    team: &str,
    signer: &str,
    wants: &[Want],
    profiles: &[(&str, &Path)],
) {
    let signer_der = cert_der(signer);
    let all = machos(app);
    assert_eq!(
        all.len(),
        wants.len(),
        "every Mach-O is accounted for: {all:?}"
    );
    for w in wants {
        let sigs = read_sigs(&app.join(w.exe));
        assert!(!sigs.is_empty());
        for sig in sigs {
            assert_eq!(sig.identifier, w.id, "{}", w.exe);
            assert_eq!(sig.team.as_deref(), Some(team), "{}", w.exe);
            assert_eq!(
                sig.signer_der.as_deref(),
                Some(signer_der.as_slice()),
                "{} signer",
                w.exe
            );
            match &w.ents {
                Some(e) => assert_eq!(sig.entitlements.as_ref(), Some(e), "{} entitlements", w.exe),
                None => assert!(
                    sig.entitlements.as_ref().is_none_or(|e| e.is_empty()),
                    "{} has entitlements",
                    w.exe
                ),
            }
        }
    }
    for (bundle, profile) in profiles {
        let embedded = std::fs::read(app.join(bundle).join("embedded.mobileprovision"))
            .expect("embedded profile");
        assert_eq!(
            embedded,
            std::fs::read(profile).expect("profile"),
            "{bundle}: embedded profile"
        );
    }
}

fn rcodesign_cross_check(app: &Path, team: &str, ids: &[&str]) {
    if !have("rcodesign") {
        skip(&format!(
            "rcodesign not installed (cross-check of {})",
            app.display()
        ));
        return;
    }
    let o = Command::new("rcodesign")
        .arg("print-signature-info")
        .arg(app)
        .output()
        .expect("rcodesign");
    assert!(o.status.success(), "{}", text(&o));
    let info = String::from_utf8_lossy(&o.stdout);
    assert!(info.contains(&format!("team_name: {team}")), "{info}");
    for id in ids {
        assert!(
            info.contains(&format!("identifier: {id}")),
            "{id} in {info}"
        );
    }
    for m in machos(app) {
        let o = Command::new("rcodesign")
            .arg("verify")
            .arg(&m)
            .output()
            .expect("rcodesign verify");
        assert!(
            o.status.success(),
            "rcodesign verify {}: {}",
            m.display(),
            text(&o)
        );
    }
}

fn verify_ok(ipa: &Path, cert: &str) {
    let pass = format!("file:{}", s(&r("signing/ios/p12.pass")));
    let o = wrapsign(&[
        "verify",
        "--cert",
        s(&r(cert)),
        "--cert-pass",
        &pass,
        "--trust-root",
        s(&r("signing/ca/test-root-ca.pem")),
        "--at",
        AT,
        "--app",
        s(ipa),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "wrapsign verify of the signed app:\n{}",
        text(&o)
    );
}

/// The folder holds exactly these names (no temporary leftovers).
fn assert_only(dir: &Path, names: &[&str]) {
    let mut found: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    let mut want: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(found, want, "contents of {}", dir.display());
}

fn sample_wants(team: &str, main: &str) -> Vec<Want<'static>> {
    let share = format!("{main}.share");
    let kit = format!("{main}.WrapKit");
    vec![
        Want {
            exe: "WrapDemo",
            id: Box::leak(main.to_string().into_boxed_str()),
            ents: Some(sample_ents(team, main)),
        },
        Want {
            exe: "PlugIns/WrapShare.appex/WrapShare",
            id: Box::leak(share.clone().into_boxed_str()),
            ents: Some(sample_ents(team, &share)),
        },
        Want {
            exe: "Frameworks/WrapKit.framework/WrapKit",
            id: Box::leak(kit.into_boxed_str()),
            ents: None,
        },
    ]
}

#[test]
fn resigns_the_sample_ipa_and_reads_back() {
    let t = tempfile::tempdir().unwrap();
    let input = r("samples/WrapDemo.ipa");
    let before = sha256(&input);
    let out = t.path().join("signed.ipa");
    let o = sign(&input, &out, &strs(&sample_profiles()));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(sha256(&input), before, "input untouched");
    assert_only(t.path(), &["signed.ipa"]);

    // Payload/ comes first in the archive.
    let z = zip::ZipArchive::new(std::fs::File::open(&out).unwrap()).unwrap();
    assert_eq!(z.name_for_index(0), Some("Payload/"));

    let app = unzip_app(&out, &t.path().join("x"), "WrapDemo");
    check_signed_app(
        &app,
        "WSTEST0001",
        "dist",
        &sample_wants("WSTEST0001", "com.example.wrapdemo"),
        &[
            (".", &r("profiles/enterprise-app.mobileprovision")),
            (
                "PlugIns/WrapShare.appex",
                &r("profiles/enterprise-share.mobileprovision"),
            ),
        ],
    );
    // Nested bundles are sealed in the parent after they were signed.
    for rel in [
        "Frameworks/WrapKit.framework/_CodeSignature/CodeResources",
        "Frameworks/WrapKit.framework/WrapKit",
        "PlugIns/WrapShare.appex/_CodeSignature/CodeResources",
        "PlugIns/WrapShare.appex/WrapShare",
        "PlugIns/WrapShare.appex/embedded.mobileprovision",
        "embedded.mobileprovision",
    ] {
        assert_sealed(&app, rel);
    }
    rcodesign_cross_check(
        &app,
        "WSTEST0001",
        &[
            "com.example.wrapdemo",
            "com.example.wrapdemo.share",
            "com.example.wrapdemo.WrapKit",
        ],
    );
    verify_ok(&out, "signing/ios/dist.p12");
}

#[test]
fn resigns_for_another_team() {
    if !common::tool("openssl") {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let share = make_profile(
        t.path(),
        "other-share",
        "WSOTHER002",
        "com.example.wrapdemo.share",
        &["other-team-dist"],
        &[],
    );
    let out = t.path().join("other.ipa");
    let main = r("profiles/wrong-team.mobileprovision");
    let o = sign_with(
        "signing/ios/other-team-dist.p12",
        &r("samples/WrapDemo.ipa"),
        &out,
        &["--profile", s(&main), "--profile", s(&share)],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let app = unzip_app(&out, &t.path().join("x"), "WrapDemo");
    // Team-prefixed values moved from WSTEST0001 to WSOTHER002.
    check_signed_app(
        &app,
        "WSOTHER002",
        "other-team-dist",
        &sample_wants("WSOTHER002", "com.example.wrapdemo"),
        &[(".", &main), ("PlugIns/WrapShare.appex", &share)],
    );
    rcodesign_cross_check(&app, "WSOTHER002", &["com.example.wrapdemo"]);
    verify_ok(&out, "signing/ios/other-team-dist.p12");
}

fn conformance() -> Option<PathBuf> {
    let c = root().join("../shared/conformance/ios");
    if c.is_dir() {
        Some(c)
    } else {
        skip("../shared/conformance is absent; the real-IPA re-signing tests did not run");
        None
    }
}

#[test]
fn resigns_real_appstub_ipa() {
    let Some(c) = conformance() else { return };
    if !common::tool("openssl") {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let input = c.join("calabash-iOSDeviceManager/AppStub.ipa");
    let before = sha256(&input);
    let profile = make_profile(
        t.path(),
        "appstub",
        "WSTEST0001",
        "com.apple.test.AppStub",
        &["dist"],
        &[],
    );
    let out = t.path().join("AppStub.ipa");
    let o = sign(
        &input,
        &out,
        &["--profile", s(&profile), "--format", "json"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(sha256(&input), before);
    // A development-signed app asked for get-task-allow; the distribution profile drops it.
    assert_eq!(dropped(&o, None), vec!["get-task-allow"]);
    let app = unzip_app(&out, &t.path().join("x"), "AppStub");
    let want = ents(&[
        (
            "application-identifier",
            vs("WSTEST0001.com.apple.test.AppStub"),
        ),
        ("com.apple.developer.team-identifier", vs("WSTEST0001")),
        ("get-task-allow", Value::Boolean(false)),
        (
            "keychain-access-groups",
            arr(&["WSTEST0001.com.apple.test.AppStub"]),
        ),
    ]);
    // Fat armv7 + arm64: both slices are re-signed.
    assert_eq!(read_sigs(&app.join("AppStub")).len(), 2);
    check_signed_app(
        &app,
        "WSTEST0001",
        "dist",
        &[Want {
            exe: "AppStub",
            id: "com.apple.test.AppStub",
            ents: Some(want),
        }],
        &[(".", &profile)],
    );
    rcodesign_cross_check(&app, "WSTEST0001", &["com.apple.test.AppStub"]);
    verify_ok(&out, "signing/ios/dist.p12");
}

#[test]
fn resigns_very_capable_app_and_reports_dropped_entitlements() {
    let Some(c) = conformance() else { return };
    if !common::tool("openssl") {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    // The profile grants push and iCloud KVS but none of the app's other capabilities.
    let profile = make_profile(
        t.path(),
        "capable",
        "WSTEST0001",
        "org.fastlane.very-capable-app",
        &["dist"],
        &[(
            "com.apple.developer.ubiquity-kvstore-identifier",
            vs("WSTEST0001.*"),
        )],
    );
    let out = t.path().join("capable.ipa");
    let o = sign(
        &c.join("fastlane/very-capable-app.ipa"),
        &out,
        &["--profile", s(&profile), "--format", "json"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let mut dropped = dropped(&o, Some("warning"));
    dropped.sort();
    for k in [
        "com.apple.developer.healthkit",
        "com.apple.developer.homekit",
        "com.apple.developer.icloud-services",
        "com.apple.developer.nfc.readersession.formats",
        "com.apple.developer.pass-type-identifiers",
        "com.apple.developer.siri",
        "get-task-allow",
        "inter-app-audio",
    ] {
        assert!(
            dropped.iter().any(|d| d == k),
            "{k} reported dropped: {dropped:?}"
        );
    }
    assert!(
        !dropped
            .iter()
            .any(|d| d == "aps-environment" || d.contains("kvstore")),
        "{dropped:?}"
    );
    let app = unzip_app(&out, &t.path().join("x"), "very-capable-app");
    // The old team "TestFixture" is replaced; push moves to the profile's environment.
    let want = ents(&[
        (
            "application-identifier",
            vs("WSTEST0001.org.fastlane.very-capable-app"),
        ),
        ("aps-environment", vs("production")),
        ("com.apple.developer.team-identifier", vs("WSTEST0001")),
        (
            "com.apple.developer.ubiquity-kvstore-identifier",
            vs("WSTEST0001.org.fastlane.very-capable-app"),
        ),
        ("get-task-allow", Value::Boolean(false)),
        // Asked for and allowed: an empty group list, and its own keychain group.
        (
            "com.apple.security.application-groups",
            Value::Array(vec![]),
        ),
        (
            "keychain-access-groups",
            arr(&["WSTEST0001.org.fastlane.very-capable-app"]),
        ),
    ]);
    check_signed_app(
        &app,
        "WSTEST0001",
        "dist",
        &[Want {
            exe: "very-capable-app",
            id: "org.fastlane.very-capable-app",
            ents: Some(want),
        }],
        &[(".", &profile)],
    );
    rcodesign_cross_check(&app, "WSTEST0001", &["org.fastlane.very-capable-app"]);
    verify_ok(&out, "signing/ios/dist.p12");
    // --deny entitlement-dropped turns the same run into a gate failure with no output.
    let out2 = t.path().join("denied.ipa");
    let o = sign(
        &c.join("fastlane/very-capable-app.ipa"),
        &out2,
        &["--profile", s(&profile), "--deny", "entitlement-dropped"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(!out2.exists());
}

#[test]
fn refuses_skeleton_ipa_without_executables() {
    let Some(c) = conformance() else { return };
    // fastlane's ContainsWatchApp.ipa: a leading folder, __MACOSX entries and no binaries.
    let input = c.join("fastlane/ContainsWatchApp.ipa");
    let before = sha256(&input);
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("w.ipa");
    let o = sign(
        &input,
        &out,
        &[
            "--profile",
            s(&r("profiles/enterprise-app.mobileprovision")),
        ],
    );
    let rep = text(&o);
    assert_eq!(o.status.code(), Some(1), "{rep}");
    assert!(rep.contains("error[app-executable-missing]"), "{rep}");
    assert!(rep.contains("ContainsWatchApp/Payload/Sample.app/Sample, the executable named by Info.plist, is missing"), "{rep}");
    assert!(rep.contains("Watch/Sample WatchKit App.app"), "{rep}");
    assert_eq!(sha256(&input), before);
    assert_only(t.path(), &[]);
}

/// Runs a sign that must be stopped by the gate: exit 1, the finding named,
/// nothing written, input untouched.
fn assert_gate(cert: &str, profiles: &[&str], finding: &str) {
    let t = tempfile::tempdir().unwrap();
    let input = r("samples/WrapDemo.ipa");
    let before = sha256(&input);
    let out = t.path().join("gated.ipa");
    let mut extra = Vec::new();
    for p in profiles {
        extra.push("--profile".to_string());
        extra.push(if p.contains('=') {
            let (id, f) = p.split_once('=').unwrap();
            format!("{id}={}", s(&r(f)))
        } else {
            s(&r(p)).to_string()
        });
    }
    let o = sign_with(cert, &input, &out, &strs(&extra));
    let report = text(&o);
    assert_eq!(o.status.code(), Some(1), "{finding}: {report}");
    assert!(
        report.contains(&format!("error[{finding}]")),
        "{finding} in {report}"
    );
    assert_eq!(sha256(&input), before);
    assert_only(t.path(), &[]);
}

#[test]
fn gate_expired_identity() {
    assert_gate(
        "signing/ios/expired-dist.p12",
        &[
            "profiles/cert-missing.mobileprovision",
            "profiles/enterprise-share.mobileprovision",
        ],
        "cert-expired",
    );
}

#[test]
fn gate_expired_profile() {
    assert_gate(
        "signing/ios/dist.p12",
        &[
            "profiles/expired.mobileprovision",
            "profiles/enterprise-share.mobileprovision",
        ],
        "profile-expired",
    );
}

#[test]
fn gate_certificate_not_in_profile() {
    assert_gate(
        "signing/ios/dist.p12",
        &[
            "profiles/cert-missing.mobileprovision",
            "profiles/enterprise-share.mobileprovision",
        ],
        "profile-cert-missing",
    );
}

#[test]
fn gate_wildcard_profile() {
    assert_gate(
        "signing/ios/dist.p12",
        &[
            "profiles/wildcard.mobileprovision",
            "profiles/enterprise-share.mobileprovision",
        ],
        "profile-wildcard-app-id",
    );
}

#[test]
fn gate_team_mismatch_and_missing_profile() {
    assert_gate(
        "signing/ios/dist.p12",
        &[
            "profiles/wrong-team.mobileprovision",
            "profiles/enterprise-share.mobileprovision",
        ],
        "profile-team-mismatch",
    );
    // No profile for the share extension: named in the error.
    assert_gate(
        "signing/ios/dist.p12",
        &["profiles/enterprise-app.mobileprovision"],
        "profile-missing",
    );
    // A profile named for a bundle whose App ID is another one.
    assert_gate(
        "signing/ios/dist.p12",
        &[
            "profiles/enterprise-app.mobileprovision",
            "com.example.wrapdemo.share=profiles/enterprise-app.mobileprovision",
        ],
        "bundle-id-mismatch",
    );
}

#[test]
fn a_bundle_without_profile_is_never_signed() {
    // Named in the report; and even with every finding tolerated, nothing is written.
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("o.ipa");
    let o = sign(
        &r("samples/WrapDemo.ipa"),
        &out,
        &[
            "--profile",
            s(&r("profiles/enterprise-app.mobileprovision")),
            "--fail-on",
            "never",
        ],
    );
    let rep = text(&o);
    assert_eq!(o.status.code(), Some(1), "{rep}");
    assert!(
        rep.contains("WrapDemo.app/PlugIns/WrapShare.appex (com.example.wrapdemo.share) has no provisioning profile"),
        "{rep}"
    );
    assert_only(t.path(), &[]);
}

#[test]
fn wildcard_profile_when_allowed_expands_the_app_id() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("w.ipa");
    let o = sign(
        &r("samples/WrapDemo.ipa"),
        &out,
        &[
            "--profile",
            s(&r("profiles/wildcard.mobileprovision")),
            "--warn",
            "profile-wildcard-app-id",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let app = unzip_app(&out, &t.path().join("x"), "WrapDemo");
    for (exe, id) in [
        ("WrapDemo", "com.example.wrapdemo"),
        (
            "PlugIns/WrapShare.appex/WrapShare",
            "com.example.wrapdemo.share",
        ),
    ] {
        let e = read_sigs(&app.join(exe))
            .remove(0)
            .entitlements
            .expect("entitlements");
        assert_eq!(
            e.get("application-identifier"),
            Some(&vs(&format!("WSTEST0001.{id}"))),
            "{exe}"
        );
    }
}

#[test]
fn bundle_id_rewrite_follows_nested_ids() {
    if !common::tool("openssl") {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let main = make_profile(
        t.path(),
        "acme",
        "WSTEST0001",
        "com.acme.wrapped",
        &["dist"],
        &[],
    );
    let share = make_profile(
        t.path(),
        "acme-share",
        "WSTEST0001",
        "com.acme.wrapped.share",
        &["dist"],
        &[],
    );
    let out = t.path().join("acme.ipa");
    // The extension's profile is named by its new bundle id.
    let mapped = format!("com.acme.wrapped.share={}", s(&share));
    let o = sign(
        &r("samples/WrapDemo.ipa"),
        &out,
        &[
            "--bundle-id",
            "com.acme.wrapped",
            "--profile",
            s(&main),
            "--profile",
            &mapped,
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let app = unzip_app(&out, &t.path().join("x"), "WrapDemo");
    check_signed_app(
        &app,
        "WSTEST0001",
        "dist",
        &sample_wants("WSTEST0001", "com.acme.wrapped"),
        &[(".", &main), ("PlugIns/WrapShare.appex", &share)],
    );
    // Info.plists carry the new ids and keep their format (the main one is binary).
    let raw = std::fs::read(app.join("Info.plist")).unwrap();
    assert!(raw.starts_with(b"bplist"), "main Info.plist stays binary");
    let ids: BTreeMap<&str, String> = [
        ("Info.plist", "main"),
        ("PlugIns/WrapShare.appex/Info.plist", "share"),
        ("Frameworks/WrapKit.framework/Info.plist", "kit"),
    ]
    .iter()
    .map(|(p, k)| {
        let d: Dictionary = plist::from_file(app.join(p)).unwrap();
        (
            *k,
            d.get("CFBundleIdentifier")
                .and_then(Value::as_string)
                .unwrap()
                .to_string(),
        )
    })
    .collect();
    assert_eq!(ids["main"], "com.acme.wrapped");
    assert_eq!(ids["share"], "com.acme.wrapped.share");
    assert_eq!(ids["kit"], "com.acme.wrapped.WrapKit");
    assert!(
        std::fs::read(app.join("PlugIns/WrapShare.appex/Info.plist"))
            .unwrap()
            .starts_with(b"<?xml")
    );
    rcodesign_cross_check(
        &app,
        "WSTEST0001",
        &[
            "com.acme.wrapped",
            "com.acme.wrapped.share",
            "com.acme.wrapped.WrapKit",
        ],
    );
}

#[test]
fn entitlements_file_overrides_the_main_app() {
    let t = tempfile::tempdir().unwrap();
    let file = t.path().join("app.entitlements");
    // Xcode-style source file: placeholders, a capability the profile lacks, push for development.
    std::fs::write(
        &file,
        br#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict>
<key>keychain-access-groups</key><array><string>$(AppIdentifierPrefix)com.example.shared</string></array>
<key>aps-environment</key><string>development</string>
<key>com.apple.developer.healthkit</key><true/>
</dict></plist>"#,
    )
    .unwrap();
    let out = t.path().join("e.ipa");
    let mut args = sample_profiles();
    args.extend([
        "--entitlements".to_string(),
        s(&file).to_string(),
        "--format".into(),
        "json".into(),
    ]);
    let o = sign(&r("samples/WrapDemo.ipa"), &out, &strs(&args));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(dropped(&o, None), vec!["com.apple.developer.healthkit"]);
    let app = unzip_app(&out, &t.path().join("x"), "WrapDemo");
    let main = read_sigs(&app.join("WrapDemo"))
        .remove(0)
        .entitlements
        .unwrap();
    assert_eq!(
        main,
        ents(&[
            (
                "application-identifier",
                vs("WSTEST0001.com.example.wrapdemo")
            ),
            ("com.apple.developer.team-identifier", vs("WSTEST0001")),
            ("get-task-allow", Value::Boolean(false)),
            ("aps-environment", vs("production")),
            (
                "keychain-access-groups",
                arr(&["WSTEST0001.com.example.shared"])
            ),
        ])
    );
    // The extension keeps the entitlements it was signed with.
    let share = read_sigs(&app.join("PlugIns/WrapShare.appex/WrapShare"))
        .remove(0)
        .entitlements
        .unwrap();
    assert_eq!(
        share,
        sample_ents("WSTEST0001", "com.example.wrapdemo.share")
    );
}

#[test]
fn in_place_replaces_only_after_success() {
    let t = tempfile::tempdir().unwrap();
    let ipa = t.path().join("app.ipa");
    std::fs::copy(r("samples/WrapDemo-unsigned.ipa"), &ipa).unwrap();
    let before = sha256(&ipa);
    let run = |profile: &str| {
        sign_in_place(
            &ipa,
            &[
                "--profile",
                s(&r(profile)),
                "--profile",
                s(&r("profiles/enterprise-share.mobileprovision")),
            ],
        )
    };
    // A failing gate leaves the input exactly as it was.
    let o = run("profiles/expired.mobileprovision");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(sha256(&ipa), before);
    assert_only(t.path(), &["app.ipa"]);
    // Success replaces it with the signed app; nothing else is left.
    let o = run("profiles/enterprise-app.mobileprovision");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_ne!(sha256(&ipa), before);
    assert_only(t.path(), &["app.ipa"]);
    // The unsigned input had no entitlements: the bundles get the profile's identity ones.
    let app = unzip_app(&ipa, &t.path().join("x"), "WrapDemo");
    let e = read_sigs(&app.join("WrapDemo"))
        .remove(0)
        .entitlements
        .unwrap();
    assert_eq!(
        e.get("application-identifier"),
        Some(&vs("WSTEST0001.com.example.wrapdemo"))
    );
    assert_eq!(
        e.get("keychain-access-groups"),
        Some(&arr(&["WSTEST0001.com.example.wrapdemo"]))
    );
    verify_ok(&ipa, "signing/ios/dist.p12");
    // --out naming the input itself is refused without --in-place.
    let o = sign(&ipa, &ipa, &strs(&sample_profiles()));
    assert_ne!(o.status.code(), Some(0));
    assert!(text(&o).contains("--in-place"), "{}", text(&o));
}

#[test]
fn signs_an_app_folder() {
    let t = tempfile::tempdir().unwrap();
    let input = unzip_app(
        &r("samples/WrapDemo.ipa"),
        &t.path().join("src"),
        "WrapDemo",
    );
    let before = sha256(&input.join("WrapDemo"));
    // .app in, .app out
    let out = t.path().join("Signed.app");
    let o = sign(&input, &out, &strs(&sample_profiles()));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(sha256(&input.join("WrapDemo")), before, "input untouched");
    check_sample_app(&out);
    assert_sealed(&out, "PlugIns/WrapShare.appex/_CodeSignature/CodeResources");
    // .app in, .ipa out
    let ipa = t.path().join("FromDir.ipa");
    let o = sign(&input, &ipa, &strs(&sample_profiles()));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    verify_ok(&ipa, "signing/ios/dist.p12");
    assert_only(t.path(), &["FromDir.ipa", "Signed.app", "src"]);
    // Signing the signed folder again in place works and leaves no sibling behind.
    let o = sign_in_place(&out, &strs(&sample_profiles()));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_only(t.path(), &["FromDir.ipa", "Signed.app", "src"]);
}

// ---- bad input ----

/// Copies the sample IPA, letting `edit` replace or add entries.
fn doctored(
    dst: &Path,
    edit: impl Fn(&mut zip::ZipWriter<std::fs::File>, &str) -> bool,
    add: impl Fn(&mut zip::ZipWriter<std::fs::File>),
) {
    let mut z =
        zip::ZipArchive::new(std::fs::File::open(r("samples/WrapDemo.ipa")).unwrap()).unwrap();
    let mut w = zip::ZipWriter::new(std::fs::File::create(dst).unwrap());
    for i in 0..z.len() {
        let f = z.by_index_raw(i).unwrap();
        let name = f.name().to_string();
        drop(f);
        if !edit(&mut w, &name) {
            w.raw_copy_file(z.by_index_raw(i).unwrap()).unwrap();
        }
    }
    add(&mut w);
    w.finish().unwrap();
}

/// Copies the sample IPA with entries added by `add`.
fn appended(dst: &Path, add: impl Fn(&mut zip::ZipWriter<std::fs::File>)) {
    doctored(dst, |_, _| false, add)
}

fn opts() -> zip::write::SimpleFileOptions {
    zip::write::SimpleFileOptions::default()
}

/// Signs a bad input: must fail with `code` (1 or 2) and `needle` in the output,
/// leave the input untouched, and leave nothing in the output folder.
fn assert_refused(input: &Path, exit: i32, needle: &str) {
    let before = sha256(input);
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("out.ipa");
    let o = sign(input, &out, &strs(&sample_profiles()));
    let rep = text(&o);
    assert_eq!(o.status.code(), Some(exit), "{rep}");
    assert!(rep.contains(needle), "{needle:?} in {rep}");
    assert!(!rep.contains("panicked"), "{rep}");
    assert_eq!(sha256(input), before);
    assert_only(t.path(), &[]);
}

#[test]
fn refuses_bad_inputs() {
    let t = tempfile::tempdir().unwrap();

    let not_zip = t.path().join("notzip.ipa");
    std::fs::write(&not_zip, b"this is not an ipa").unwrap();
    let o = sign(&not_zip, &t.path().join("o.ipa"), &strs(&sample_profiles()));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("notzip.ipa"));

    let no_payload = t.path().join("nopayload.ipa");
    {
        let mut w = zip::ZipWriter::new(std::fs::File::create(&no_payload).unwrap());
        w.start_file("readme.txt", opts()).unwrap();
        w.write_all(b"hello").unwrap();
        w.finish().unwrap();
    }
    assert_refused(&no_payload, 2, "without Payload/*.app");

    let slip = t.path().join("slip.ipa");
    appended(&slip, |w| {
        w.start_file("Payload/WrapDemo.app/../../evil.txt", opts())
            .unwrap();
        w.write_all(b"x").unwrap();
    });
    assert_refused(&slip, 1, "error[archive-unsafe]");

    let abs = t.path().join("abs.ipa");
    appended(&abs, |w| {
        w.start_file("/tmp/wrapsign-evil.txt", opts()).unwrap();
        w.write_all(b"x").unwrap();
    });
    assert_refused(&abs, 1, "error[archive-unsafe]");

    let link_out = t.path().join("linkout.ipa");
    appended(&link_out, |w| {
        w.add_symlink("Payload/WrapDemo.app/escape", "../../../../etc", opts())
            .unwrap();
    });
    assert_refused(&link_out, 1, "leaves Payload/WrapDemo.app");

    // A file written through a symlinked folder would land outside: refused.
    let through = t.path().join("through.ipa");
    appended(&through, |w| {
        w.add_symlink("Payload/WrapDemo.app/dir", "en.lproj", opts())
            .unwrap();
        w.start_file("Payload/WrapDemo.app/dir/x", opts()).unwrap();
        w.write_all(b"x").unwrap();
    });
    assert_refused(&through, 1, "error[archive-unsafe]");

    let truncated = t.path().join("truncated.ipa");
    doctored(
        &truncated,
        |w, name| {
            if name == "Payload/WrapDemo.app/PlugIns/WrapShare.appex/WrapShare" {
                w.start_file(name, opts().unix_permissions(0o755)).unwrap();
                w.write_all(&[0xcf, 0xfa, 0xed, 0xfe, 0x0c, 0x00, 0x00, 0x01, 0, 0])
                    .unwrap();
                true
            } else {
                false
            }
        },
        |_| {},
    );
    assert_refused(&truncated, 2, "PlugIns/WrapShare.appex/WrapShare");
}

#[test]
fn keeps_internal_symlinks_and_other_top_level_folders() {
    let t = tempfile::tempdir().unwrap();
    let input = t.path().join("extras.ipa");
    appended(&input, |w| {
        w.add_symlink("Payload/WrapDemo.app/wrap-link.png", "wrap.png", opts())
            .unwrap();
        w.add_directory("SwiftSupport/", opts()).unwrap();
        w.start_file("SwiftSupport/iphoneos/libswiftCore.dylib", opts())
            .unwrap();
        w.write_all(b"not really a dylib").unwrap();
        w.start_file("iTunesMetadata.plist", opts()).unwrap();
        w.write_all(b"<plist/>").unwrap();
    });
    let out = t.path().join("out.ipa");
    let o = sign(&input, &out, &strs(&sample_profiles()));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let mut z = zip::ZipArchive::new(std::fs::File::open(&out).unwrap()).unwrap();
    let names: Vec<String> = z.file_names().map(str::to_string).collect();
    let first_other = names
        .iter()
        .position(|n| !n.starts_with("Payload/"))
        .unwrap();
    assert!(
        names[first_other..]
            .iter()
            .all(|n| !n.starts_with("Payload/")),
        "Payload/ first: {names:?}"
    );
    let mut body = String::new();
    z.by_name("SwiftSupport/iphoneos/libswiftCore.dylib")
        .unwrap()
        .read_to_string(&mut body)
        .unwrap();
    assert_eq!(body, "not really a dylib");
    let link = z.by_name("Payload/WrapDemo.app/wrap-link.png").unwrap();
    assert!(link.is_symlink());
    drop(link);
    let x = t.path().join("x");
    std::fs::create_dir(&x).unwrap();
    let st = Command::new("unzip")
        .arg("-q")
        .arg(&out)
        .arg("-d")
        .arg(&x)
        .status();
    if let Ok(st) = st {
        assert!(st.success());
        let app = x.join("Payload/WrapDemo.app");
        assert_eq!(
            std::fs::read_link(app.join("wrap-link.png")).unwrap(),
            PathBuf::from("wrap.png")
        );
        // The symlink is sealed as a symlink in CodeResources.
        let cr: Dictionary = plist::from_file(app.join("_CodeSignature/CodeResources")).unwrap();
        let e = cr["files2"].as_dictionary().unwrap()["wrap-link.png"]
            .as_dictionary()
            .unwrap();
        assert_eq!(e.get("symlink"), Some(&vs("wrap.png")));
    } else {
        skip("unzip not installed (symlink extraction check)");
    }
}

#[test]
fn sigterm_leaves_nothing_behind() {
    if !have("kill") {
        skip("kill not available");
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let input = t.path().join("big.ipa");
    // 400 MB of zeros: tiny as a zip, slow enough to extract that we can interrupt it.
    appended(&input, |w| {
        w.start_file("Payload/WrapDemo.app/big.bin", opts().large_file(true))
            .unwrap();
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..400 {
            w.write_all(&chunk).unwrap();
        }
    });
    let outdir = t.path().join("out");
    std::fs::create_dir(&outdir).unwrap();
    let out = outdir.join("big-signed.ipa");
    let st = common::sigterm_once_written(
        || {
            let mut c = Command::new(env!("CARGO_BIN_EXE_wrapsign"));
            c.args(sign_args("signing/ios/dist.p12", &input))
                .args(["--out", s(&out)])
                // Zeros deflate 1000 to 1: allowed here, or the bomb check refuses it at once.
                .args(["--max-expand-ratio", "2000"])
                .args(strs(&sample_profiles()));
            c
        },
        &outdir,
    );
    assert_eq!(st.code(), Some(130), "exit status after SIGTERM: {st:?}");
    assert_only(&outdir, &[]);
}

#[test]
fn usage_errors_exit_2() {
    let t = tempfile::tempdir().unwrap();
    let input = r("samples/WrapDemo.ipa");
    // Neither --out nor --in-place.
    let o = wrapsign(&[
        "sign",
        s(&input),
        "--cert",
        s(&r("signing/ios/dist.p12")),
        "--profile",
        s(&r("profiles/enterprise-app.mobileprovision")),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    // No profile.
    let o = wrapsign(&[
        "sign",
        s(&input),
        "--cert",
        s(&r("signing/ios/dist.p12")),
        "--out",
        s(&t.path().join("x.ipa")),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_only(t.path(), &[]);
}

#[test]
fn sign_picks_each_bundles_profile_from_a_folder() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("profiles");
    std::fs::create_dir(&dir).unwrap();
    for n in [
        "enterprise-app",
        "enterprise-share",
        "expired",
        "wildcard",
        "cert-missing",
    ] {
        std::fs::copy(
            r(&format!("profiles/{n}.mobileprovision")),
            dir.join(format!("{n}.mobileprovision")),
        )
        .unwrap();
    }
    let input = r("samples/WrapDemo.ipa");
    let out = t.path().join("signed.ipa");
    let o = sign(
        &input,
        &out,
        &["--profiles-dir", s(&dir), "--format", "json"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let selected: Vec<&str> = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["name"] == "profile-selected")
        .map(|f| f["details"]["profile"].as_str().unwrap())
        .collect();
    assert_eq!(selected.len(), 2, "{j:#}");
    assert!(selected
        .iter()
        .any(|p| p.ends_with("enterprise-app.mobileprovision")));
    assert!(selected
        .iter()
        .any(|p| p.ends_with("enterprise-share.mobileprovision")));
    // The chosen profiles are the ones embedded.
    let app = unzip_app(&out, &t.path().join("x"), "WrapDemo");
    assert_eq!(
        std::fs::read(app.join("embedded.mobileprovision")).unwrap(),
        std::fs::read(r("profiles/enterprise-app.mobileprovision")).unwrap()
    );
    assert_eq!(
        std::fs::read(app.join("PlugIns/WrapShare.appex/embedded.mobileprovision")).unwrap(),
        std::fs::read(r("profiles/enterprise-share.mobileprovision")).unwrap()
    );
    verify_ok(&out, "signing/ios/dist.p12");

    // Without a profile for the extension: it is named, and nothing is written.
    for n in ["enterprise-share", "wildcard"] {
        std::fs::remove_file(dir.join(format!("{n}.mobileprovision"))).unwrap();
    }
    let out2 = t.path().join("signed2.ipa");
    let o = sign(
        &input,
        &out2,
        &["--profiles-dir", s(&dir), "--format", "json"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let missing = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "profile-missing")
        .unwrap();
    assert!(missing["message"]
        .as_str()
        .unwrap()
        .contains("com.example.wrapdemo.share"));
    assert!(!out2.exists());
}

// ---- the identity in other forms (one loader for both signers) ----

/// Signs the sample IPA with `identity` (instead of dist.p12); checks it as
/// `resigns_the_sample_ipa_and_reads_back` does, rcodesign included.
fn sign_sample_with(identity: &[&str]) {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("signed.ipa");
    let (root, input) = (r("signing/ca/test-root-ca.pem"), r("samples/WrapDemo.ipa"));
    let mut args = vec![
        "sign",
        "--at",
        AT,
        "--trust-root",
        s(&root),
        s(&input),
        "--out",
        s(&out),
    ];
    args.extend(identity);
    let profiles = sample_profiles();
    args.extend(strs(&profiles));
    let o = wrapsign(&args);
    assert_eq!(o.status.code(), Some(0), "{identity:?}: {}", text(&o));
    assert_only(t.path(), &["signed.ipa"]);
    let app = unzip_app(&out, &t.path().join("x"), "WrapDemo");
    check_sample_app(&app);
    rcodesign_cross_check(
        &app,
        "WSTEST0001",
        &["com.example.wrapdemo", "com.example.wrapdemo.share"],
    );
    verify_ok(&out, "signing/ios/dist.p12");
}

#[test]
fn signs_with_a_pem_key_and_certificate() {
    // The certificate file carries its chain, as `openssl pkcs12 -nokeys` writes it.
    let t = tempfile::tempdir().unwrap();
    let chain = t.path().join("dist-chain.pem");
    let mut pem = std::fs::read(r("signing/ios/dist.pem")).unwrap();
    pem.extend(std::fs::read(r("signing/ca/test-wwdr-ca.pem")).unwrap());
    std::fs::write(&chain, pem).unwrap();
    sign_sample_with(&["--cert", s(&chain), "--key", s(&r("signing/ios/dist.key"))]);
}

#[test]
fn signs_with_a_keystore_alias() {
    let pass = format!("file:{}", s(&r("signing/ios/p12.pass")));
    // A .p12 is a PKCS#12 keystore too.
    sign_sample_with(&[
        "--keystore",
        s(&r("signing/ios/dist.p12")),
        "--ks-pass",
        &pass,
    ]);
    // And a JKS made from it by keytool, named by its alias.
    if !have("keytool") {
        skip("keytool not installed (JKS identity)");
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let jks = t.path().join("dist.jks");
    let secret = std::fs::read_to_string(r("signing/ios/p12.pass")).unwrap();
    let secret = secret.trim_end();
    let o = Command::new("keytool")
        .args(["-importkeystore", "-noprompt", "-srcstoretype", "PKCS12"])
        .arg("-srckeystore")
        .arg(r("signing/ios/dist.p12"))
        .args(["-srcstorepass", secret, "-deststoretype", "JKS"])
        .arg("-destkeystore")
        .arg(&jks)
        .args([
            "-deststorepass",
            "jks-test-pass",
            "-destkeypass",
            "jks-test-pass",
        ])
        .output()
        .expect("keytool");
    assert!(o.status.success(), "{}", text(&o));
    let list = Command::new("keytool")
        .args(["-list", "-storepass", "jks-test-pass", "-keystore"])
        .arg(&jks)
        .output()
        .expect("keytool -list");
    let listing = String::from_utf8_lossy(&list.stdout);
    let alias = listing
        .lines()
        .find(|l| l.contains("PrivateKeyEntry"))
        .and_then(|l| l.split(',').next())
        .expect("a key entry")
        .to_string();
    sign_sample_with(&[
        "--keystore",
        s(&jks),
        "--alias",
        &alias,
        "--ks-pass",
        "pass:jks-test-pass",
    ]);
}

#[test]
fn an_android_key_cannot_sign_an_ipa() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("x.ipa");
    let (input, ks) = (r("samples/WrapDemo.ipa"), r("signing/android/release.jks"));
    let mut args = vec![
        "sign",
        "--at",
        AT,
        s(&input),
        "--keystore",
        s(&ks),
        "--ks-pass",
        "pass:wrapsign-test",
        "--out",
        s(&out),
    ];
    let profiles = sample_profiles();
    args.extend(strs(&profiles));
    let o = wrapsign(&args);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("error[cert-not-distribution]"),
        "{}",
        text(&o)
    );
    assert!(
        text(&o).contains("not an Apple certificate"),
        "{}",
        text(&o)
    );
    assert_only(t.path(), &[]);
}

#[test]
fn an_interrupt_after_an_app_folder_was_swapped_in_says_it_is_in_place() {
    if !have("kill") || !have("sleep") {
        skip("kill or sleep not available");
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let x = t.path().join("src");
    let fresh = || {
        let _ = std::fs::remove_dir_all(&x);
        unzip_to(&r("samples/WrapDemo.ipa"), &x);
    };
    fresh();
    let app = x.join("Payload/WrapDemo.app");
    let exe = app.join("WrapDemo");
    let old = sha256(&exe);
    // Never panics: the path is briefly absent while the folders are swapped.
    let now = || {
        std::fs::read(&exe)
            .ok()
            .map(|d| hex::encode(Sha256::digest(d)))
    };
    let pipes = std::cell::RefCell::new(Vec::new());
    let (st, stderr) = common::sigterm_when(
        || {
            let (stdout, guard) = common::full_pipe();
            pipes.borrow_mut().push(guard);
            let mut c = Command::new(env!("CARGO_BIN_EXE_wrapsign"));
            c.args(sign_args("signing/ios/dist.p12", &app))
                .arg("--in-place")
                .args(strs(&sample_profiles()))
                .stdout(stdout);
            c
        },
        // The signed folder is in place once its executable changed (new signature).
        || now().is_some_and(|h| h != old),
        fresh,
    );
    drop(pipes);
    assert_eq!(st.code(), Some(130), "{st:?} {stderr}");
    assert!(
        stderr.contains(&format!(
            "wrapsign: interrupted; the signed output is complete and in place at {}; temporary files removed",
            app.display()
        )),
        "{stderr}"
    );
    assert_only(&x.join("Payload"), &["WrapDemo.app"]);
    check_sample_app(&app);
}
