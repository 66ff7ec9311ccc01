//! Issue 13: `wrapsign verify` checks that an app's code signatures still seal
//! it. Every tamper case below, applied to the shipped sample IPA and to a
//! freshly `wrapsign sign`-ed one, gives its named finding and exit 1; the
//! untouched IPAs give exit 0; the same app as a folder gets the same names;
//! and rcodesign (apple-codesign's CLI, an independent verifier of the same
//! format) agrees with wrapsign on every Mach-O of every case, both ways.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use apple_codesign::cryptography::InMemoryPrivateKey;
use apple_codesign::{MachOSigner, SettingsScope, SigningSettings, UnifiedSigner};
use x509_certificate::CapturedX509Certificate;

use crate::support::{self as common, repo, run, Run};

const AT: &str = "--at=2026-06-01";
const APP: &str = "Payload/WrapDemo.app";
const TEAM: &str = "WSTEST0001";

fn trust_root() -> String {
    format!(
        "--trust-root={}",
        repo("signing/ca/test-root-ca.pem").display()
    )
}

fn verify(app: &Path) -> Run {
    let r = run(&[
        "verify",
        "--format=json",
        AT,
        &trust_root(),
        "--app",
        app.to_str().unwrap(),
    ]);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    r
}

/// An IPA's entries: (name, data, unix mode); folders have a trailing `/`.
type Entries = Vec<(String, Vec<u8>, u32)>;

/// The IPA's entries: (name, data, unix mode); folders have a trailing `/`.
fn entries(ipa: &Path) -> Vec<(String, Vec<u8>, u32)> {
    let mut z = zip::ZipArchive::new(std::fs::File::open(ipa).unwrap()).unwrap();
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap();
            let mut d = Vec::new();
            f.read_to_end(&mut d).unwrap();
            (
                f.name().to_string(),
                d,
                f.unix_mode().unwrap_or(0o644) & 0o777,
            )
        })
        .collect()
}

/// Writes `ipa` from `entries` (deflated, as IPAs are).
fn write_ipa(ipa: &Path, entries: &[(String, Vec<u8>, u32)]) {
    let mut w = zip::ZipWriter::new(std::fs::File::create(ipa).unwrap());
    for (name, data, mode) in entries {
        let o = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(*mode);
        if name.ends_with('/') {
            w.add_directory(name.as_str(), o).unwrap();
        } else {
            w.start_file(name.as_str(), o).unwrap();
            w.write_all(data).unwrap();
        }
    }
    w.finish().unwrap();
}

fn get<'a>(e: &'a [(String, Vec<u8>, u32)], name: &str) -> &'a [u8] {
    &e.iter()
        .find(|x| x.0 == name)
        .unwrap_or_else(|| panic!("no {name}"))
        .1
}

fn set(e: &mut [(String, Vec<u8>, u32)], name: &str, data: Vec<u8>) {
    e.iter_mut()
        .find(|x| x.0 == name)
        .unwrap_or_else(|| panic!("no {name}"))
        .1 = data;
}

fn flip(e: &mut [(String, Vec<u8>, u32)], name: &str, at: usize) {
    let mut d = get(e, name).to_vec();
    d[at] ^= 0x01;
    set(e, name, d);
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Extracts an IPA into `dir` (the tests' own material: plain names only).
fn extract(ipa: &Path, dir: &Path) {
    for (name, data, mode) in entries(ipa) {
        let p = dir.join(&name);
        if name.ends_with('/') {
            std::fs::create_dir_all(&p).unwrap();
            continue;
        }
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, data).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode | 0o600)).unwrap();
        }
    }
}

fn pem(rel: &str) -> Vec<u8> {
    std::fs::read(repo(rel)).unwrap()
}

/// A signing identity of signing/ios as apple-codesign takes it.
fn identity(name: &str) -> (InMemoryPrivateKey, CapturedX509Certificate) {
    let key = pem(&format!("signing/ios/{name}.key"));
    let der = pem_der(&key);
    (
        InMemoryPrivateKey::from_pkcs8_der(der).unwrap(),
        CapturedX509Certificate::from_pem(pem(&format!("signing/ios/{name}.pem"))).unwrap(),
    )
}

fn pem_der(data: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let text = String::from_utf8_lossy(data);
    let b64: String = text
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

fn wwdr_der() -> Vec<u8> {
    pem_der(&pem("signing/ca/test-wwdr-ca.pem"))
}

/// Re-signs one Mach-O with `who` (`None`: ad-hoc), keeping its identifier,
/// team and entitlements, and binding the bundle's Info.plist and CodeResources
/// as before: the CodeDirectory stays what it was, only the signer changes.
fn resign_macho(data: &[u8], who: Option<&str>, info: &[u8], resources: &[u8]) -> Vec<u8> {
    resign_macho_as(data, who, None, info, resources)
}

/// [`resign_macho`], optionally under another identifier.
fn resign_macho_as(
    data: &[u8],
    who: Option<&str>,
    identifier: Option<&str>,
    info: &[u8],
    resources: &[u8],
) -> Vec<u8> {
    let signer = MachOSigner::new(data).unwrap();
    let mut s = SigningSettings::default();
    if let Some(i) = identifier {
        s.set_binary_identifier(SettingsScope::Main, i);
    }
    let id = who.map(identity);
    if let Some((key, cert)) = &id {
        s.set_signing_key(key, cert.clone());
        s.chain_certificate_der(wwdr_der()).unwrap();
    }
    s.set_info_plist_data(SettingsScope::Main, info.to_vec());
    s.set_code_resources_data(SettingsScope::Main, resources.to_vec());
    s.import_settings_from_macho(data).unwrap();
    // The forger keeps the CodeDirectory's team.
    if who.is_some() {
        s.set_team_id(TEAM);
    }
    let mut out = Vec::new();
    signer.write_signed_binary(&s, &mut out).unwrap();
    out
}

/// Re-signs the share extension alone (after its parent sealed it), with the
/// same identity and one entitlement more: it verifies on its own, its parent's
/// seal no longer matches.
fn resign_extension_alone(e: &mut [(String, Vec<u8>, u32)]) {
    let t = tempfile::tempdir().unwrap();
    let prefix = format!("{APP}/PlugIns/WrapShare.appex/");
    let mut names = Vec::new();
    for (name, data, _) in e.iter() {
        if let Some(rel) = name.strip_prefix(&prefix) {
            if rel.is_empty() || name.ends_with('/') {
                continue;
            }
            let p = t.path().join("WrapShare.appex").join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, data).unwrap();
            names.push((name.clone(), rel.to_string()));
        }
    }
    let dir = t.path().join("WrapShare.appex");
    let (key, cert) = identity("dist");
    let mut s = SigningSettings::default();
    s.set_signing_key(&key, cert);
    s.chain_certificate_der(wwdr_der()).unwrap();
    s.set_team_id(TEAM);
    let ents = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict>
<key>application-identifier</key><string>{TEAM}.com.example.wrapdemo.share</string>
<key>com.apple.developer.team-identifier</key><string>{TEAM}</string>
<key>get-task-allow</key><false/>
<key>keychain-access-groups</key><array><string>{TEAM}.com.example.wrapdemo.share</string></array>
</dict></plist>"#
    );
    s.set_entitlements_xml(SettingsScope::Main, ents).unwrap();
    UnifiedSigner::new(s).sign_path_in_place(&dir).unwrap();
    for (name, rel) in names {
        set(e, &name, std::fs::read(dir.join(rel)).unwrap());
    }
}

/// One tamper case: what it does, the finding it must give, and the file (app
/// relative) that finding names.
struct Case {
    name: &'static str,
    tamper: fn(&mut Entries),
    finding: &'static str,
    subject: &'static str,
}

fn main_exe() -> String {
    format!("{APP}/WrapDemo")
}

/// Re-signs the main executable with `who` (`None`: ad-hoc), under `ident`
/// when given, binding the app's own Info.plist and CodeResources.
fn resign_main(e: &mut Entries, who: Option<&str>, ident: Option<&str>) {
    let name = main_exe();
    let info = get(e, &format!("{APP}/Info.plist")).to_vec();
    let res = get(e, &format!("{APP}/_CodeSignature/CodeResources")).to_vec();
    let d = resign_macho_as(get(e, &name), who, ident, &info, &res);
    set(e, &name, d);
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "one byte of the main executable",
            tamper: |e| flip(e, &format!("{APP}/WrapDemo"), 0x2000),
            finding: "app-code-modified",
            subject: "WrapDemo.app/WrapDemo",
        },
        Case {
            name: "one byte of the framework",
            tamper: |e| {
                flip(
                    e,
                    &format!("{APP}/Frameworks/WrapKit.framework/WrapKit"),
                    0x2000,
                )
            },
            finding: "app-code-modified",
            subject: "WrapDemo.app/Frameworks/WrapKit.framework/WrapKit",
        },
        Case {
            name: "one byte of the extension",
            tamper: |e| {
                flip(
                    e,
                    &format!("{APP}/PlugIns/WrapShare.appex/WrapShare"),
                    0x2000,
                )
            },
            finding: "app-code-modified",
            subject: "WrapDemo.app/PlugIns/WrapShare.appex/WrapShare",
        },
        Case {
            name: "one byte of Info.plist (a version string)",
            tamper: |e| {
                let name = format!("{APP}/Info.plist");
                let mut d = get(e, &name).to_vec();
                let at = find(&d, b"1.0").expect("a 1.0 in Info.plist");
                d[at + 2] = b'1';
                set(e, &name, d);
            },
            finding: "app-code-modified",
            subject: "WrapDemo.app/WrapDemo",
        },
        Case {
            name: "one byte of a resource",
            tamper: |e| flip(e, &format!("{APP}/wrap.png"), 40),
            finding: "app-resources-modified",
            subject: "WrapDemo.app",
        },
        Case {
            name: "a resource added",
            tamper: |e| e.push((format!("{APP}/extra.json"), b"{}".to_vec(), 0o644)),
            finding: "app-resources-modified",
            subject: "WrapDemo.app",
        },
        Case {
            name: "a resource removed",
            tamper: |e| e.retain(|x| x.0 != format!("{APP}/wrap.png")),
            finding: "app-resources-modified",
            subject: "WrapDemo.app",
        },
        Case {
            name: "_CodeSignature/CodeResources edited",
            tamper: |e| {
                let name = format!("{APP}/_CodeSignature/CodeResources");
                let mut d = get(e, &name).to_vec();
                d.extend_from_slice(b"\n");
                set(e, &name, d);
            },
            finding: "app-code-modified",
            subject: "WrapDemo.app/WrapDemo",
        },
        Case {
            name: "the extension re-signed alone after the parent was sealed",
            tamper: |e| resign_extension_alone(e),
            finding: "app-nested-code-modified",
            subject: "WrapDemo.app/PlugIns/WrapShare.appex",
        },
        Case {
            name: "the embedded entitlements blob swapped",
            tamper: |e| {
                let name = main_exe();
                let mut d = get(e, &name).to_vec();
                // The XML entitlements blob (magic 0xfade7171): one key renamed,
                // the blob keeps its length.
                let blob = find(&d, &[0xfa, 0xde, 0x71, 0x71]).expect("entitlements blob");
                let at = blob + find(&d[blob..], b"get-task-allow").expect("a key");
                d[at + 13] = b'X';
                set(e, &name, d);
            },
            finding: "app-code-modified",
            subject: "WrapDemo.app/WrapDemo",
        },
        Case {
            name: "the CodeDirectory re-signed by another team's certificate",
            tamper: |e| resign_main(e, Some("other-team-dist"), None),
            finding: "app-team-mismatch",
            subject: "WrapDemo.app/WrapDemo",
        },
        Case {
            name: "the CodeDirectory re-signed by an untrusted certificate",
            tamper: |e| resign_main(e, Some("rogue-dist"), None),
            finding: "app-signer-untrusted",
            subject: "Apple Distribution: Rogue",
        },
        Case {
            name: "the CMS signature damaged (its last byte)",
            tamper: |e| {
                let name = main_exe();
                let mut d = get(e, &name).to_vec();
                let at = find(&d, &[0xfa, 0xde, 0x0b, 0x01]).expect("CMS blob");
                let len = u32::from_be_bytes([d[at + 4], d[at + 5], d[at + 6], d[at + 7]]);
                d[at + len as usize - 1] ^= 0x01;
                set(e, &name, d);
            },
            finding: "app-signature-invalid",
            subject: "WrapDemo.app/WrapDemo",
        },
        Case {
            name: "the main executable re-signed under another identifier",
            tamper: |e| resign_main(e, Some("dist"), Some("com.example.otherapp")),
            finding: "app-identifier-mismatch",
            subject: "WrapDemo.app/WrapDemo",
        },
        Case {
            name: "the main executable signed ad hoc",
            tamper: |e| resign_main(e, None, None),
            finding: "app-adhoc-signed",
            subject: "WrapDemo.app/WrapDemo",
        },
        Case {
            name: "an unsigned dylib injected",
            tamper: |e| {
                let unsigned = entries(&repo("samples/WrapDemo-unsigned.ipa"));
                let kit = get(
                    &unsigned,
                    &format!("{APP}/Frameworks/WrapKit.framework/WrapKit"),
                );
                e.push((
                    format!("{APP}/Frameworks/inject.dylib"),
                    kit.to_vec(),
                    0o755,
                ));
            },
            finding: "app-code-unsigned",
            subject: "WrapDemo.app/Frameworks/inject.dylib",
        },
    ]
}

/// `wrapsign sign SAMPLE --out OUT` with dist.p12 and the sample's profiles,
/// as a user would run it.
fn sign_sample_args(out: &Path) -> Vec<String> {
    let path = |rel: &str| repo(rel).to_str().unwrap().to_string();
    vec![
        "sign".into(),
        path("samples/WrapDemo.ipa"),
        "--out".into(),
        out.to_str().unwrap().into(),
        "--cert".into(),
        path("signing/ios/dist.p12"),
        "--cert-pass".into(),
        format!("file:{}", repo("signing/ios/p12.pass").display()),
        "--profile".into(),
        path("profiles/enterprise-app.mobileprovision"),
        "--profile".into(),
        path("profiles/enterprise-share.mobileprovision"),
        trust_root(),
        AT.into(),
    ]
}

/// `wrapsign sign` of the sample, as a user would run it.
fn freshly_signed(dir: &Path) -> PathBuf {
    let out = dir.join("fresh.ipa");
    let args = sign_sample_args(&out);
    let r = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    out
}

fn has(r: &Run, name: &str, subject: &str) -> bool {
    r.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["name"] == name && f["subject"].as_str().is_some_and(|s| s.contains(subject)))
}

/// The names wrapsign gives for code signatures (not the profile checks).
fn integrity_names(r: &Run) -> BTreeSet<String> {
    r.names()
        .into_iter()
        .filter(|n| {
            n.starts_with("app-") && n != "app-signer-not-in-profile" && n != "app-unsigned"
        })
        .collect()
}

/// Every Mach-O under `dir`.
fn machos(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| {
            let d = std::fs::read(p).unwrap_or_default();
            wrapsign::ios::code_signature::is_macho_magic(&d)
        })
        .collect()
}

/// wrapsign's verdict on one Mach-O file by itself (its pages, its blobs, its
/// CMS; not the bundle files it binds): what `rcodesign verify` judges.
fn macho_verifies(path: &Path) -> bool {
    let data = std::fs::read(path).unwrap();
    let bound = wrapsign::ios::code_signature::Bound::default();
    match wrapsign::ios::code_signature::verify_bytes(&data, &bound) {
        Some(Ok(slices)) => slices
            .iter()
            .all(|c| c.signed && !c.adhoc && c.problems.is_empty()),
        _ => false,
    }
}

fn rcodesign_verifies(path: &Path) -> bool {
    Command::new("rcodesign")
        .arg("verify")
        .arg(path)
        .output()
        .expect("rcodesign")
        .status
        .success()
}

fn check_all(base_name: &str, base: &Path, with_rcodesign: bool) {
    let t = tempfile::tempdir().unwrap();
    // Untouched: it verifies, as an IPA and as a folder.
    let r = verify(base);
    assert_eq!(r.code, 0, "{base_name} untouched: {}", r.stdout);
    let dir = t.path().join("untouched");
    extract(base, &dir);
    let r = verify(&dir.join(APP));
    assert_eq!(
        r.code, 0,
        "{base_name} untouched, as a folder: {}",
        r.stdout
    );
    if with_rcodesign {
        for m in machos(&dir) {
            assert!(macho_verifies(&m), "{}", m.display());
            assert!(rcodesign_verifies(&m), "rcodesign: {}", m.display());
        }
    }
    let original = entries(base);
    for (i, c) in cases().iter().enumerate() {
        let mut e = original.clone();
        (c.tamper)(&mut e);
        let ipa = t.path().join(format!("case{i}.ipa"));
        write_ipa(&ipa, &e);
        let r = verify(&ipa);
        assert_eq!(
            r.code, 1,
            "{base_name}, {}: exit {}\n{}",
            c.name, r.code, r.stdout
        );
        assert!(
            has(&r, c.finding, c.subject),
            "{base_name}, {}: no {} about {}\n{}",
            c.name,
            c.finding,
            c.subject,
            r.stdout
        );
        // The same app as a folder: the same names.
        let dir = t.path().join(format!("case{i}"));
        extract(&ipa, &dir);
        let d = verify(&dir.join(APP));
        assert_eq!(d.code, 1, "{base_name}, {} (folder)", c.name);
        assert_eq!(
            integrity_names(&r),
            integrity_names(&d),
            "{base_name}, {}: IPA and folder differ",
            c.name
        );
        if with_rcodesign {
            // At the Mach-O level (each file by itself), both ways.
            for m in machos(&dir) {
                let ours = macho_verifies(&m);
                let theirs = rcodesign_verifies(&m);
                assert_eq!(
                    ours,
                    theirs,
                    "{base_name}, {}: {} wrapsign {ours}, rcodesign {theirs}",
                    c.name,
                    m.display()
                );
            }
        }
    }
}

#[test]
fn tampered_sample_ipas_fail_with_their_named_findings() {
    let rc = common::tool("rcodesign");
    check_all("samples/WrapDemo.ipa", &repo("samples/WrapDemo.ipa"), rc);
}

#[test]
fn tampered_freshly_signed_ipas_fail_with_their_named_findings() {
    let rc = common::tool("rcodesign");
    let t = tempfile::tempdir().unwrap();
    let fresh = freshly_signed(t.path());
    check_all("a freshly signed IPA", &fresh, rc);
}

/// rcodesign's own findings on the tampered Mach-Os, named: a code page and the
/// entitlements slot (the cases it can see inside one file).
#[test]
fn rcodesign_names_the_same_defects() {
    if !common::tool("rcodesign") {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let mut e = entries(&repo("samples/WrapDemo.ipa"));
    flip(&mut e, &format!("{APP}/WrapDemo"), 0x2000);
    let p = t.path().join("WrapDemo");
    std::fs::write(&p, get(&e, &format!("{APP}/WrapDemo"))).unwrap();
    let o = Command::new("rcodesign")
        .arg("verify")
        .arg(&p)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
    assert!(text.contains("code digest mismatch"), "{text}");
    let ipa = t.path().join("t.ipa");
    write_ipa(&ipa, &e);
    let r = verify(&ipa);
    let f = r.finding("app-code-modified");
    // Which page: the one holding byte 0x2000.
    assert!(
        f["message"].as_str().unwrap().contains("code page 2 "),
        "{f}"
    );
}

#[test]
fn signing_refuses_to_write_an_output_that_does_not_verify() {
    // Fault injection (debug builds only): one byte of the signed main
    // executable is flipped after signing, before the output is written.
    if !cfg!(debug_assertions) {
        skip!("the fault injection exists in debug builds only");
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("out.ipa");
    let mut args = sign_sample_args(&out);
    args.push("--format=json".into());
    let r = common::run_with(
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        &[("WRAPSIGN_TEST_DAMAGE_SIGNED", "WrapDemo")],
        None,
    );
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.has("app-code-modified"), "{}", r.stdout);
    assert!(!out.exists(), "nothing written");
    assert_eq!(
        std::fs::read_dir(t.path()).unwrap().count(),
        0,
        "no leftovers"
    );
}

/// The self-check is the verifier itself: a tampered app gives findings, an
/// intact one none.
#[test]
fn self_check_is_the_verifier() {
    let ctx = wrapsign::ios::Ctx::new(
        time::macros::datetime!(2026-06-01 0:00 UTC),
        wrapsign::ios::Trust::apple(),
    );
    let ok = wrapsign::ios::app::self_check(&repo("samples/WrapDemo.ipa"), &ctx);
    assert!(ok.is_empty(), "{ok:?}");
    let t = tempfile::tempdir().unwrap();
    let mut e = entries(&repo("samples/WrapDemo.ipa"));
    flip(&mut e, &format!("{APP}/wrap.png"), 10);
    let ipa = t.path().join("t.ipa");
    write_ipa(&ipa, &e);
    let bad = wrapsign::ios::app::self_check(&ipa, &ctx);
    assert!(
        bad.iter()
            .any(|f| f.code.name() == "app-resources-modified"),
        "{bad:?}"
    );
}

/// A wholly unsigned app is "not signed yet" (a warning, the input of
/// wrapping), not a broken signature.
#[test]
fn an_unsigned_app_is_only_unsigned() {
    let r = verify(&repo("samples/WrapDemo-unsigned.ipa"));
    assert!(r.has("app-unsigned"), "{}", r.stdout);
    assert!(integrity_names(&r).is_empty(), "{:?}", r.names());
}

/// Archive damage found while streaming (a CRC that does not match the data)
/// refuses the app, naming the entry.
#[test]
fn a_damaged_entry_is_an_archive_finding() {
    let t = tempfile::tempdir().unwrap();
    let mut data = std::fs::read(repo("samples/WrapDemo.ipa")).unwrap();
    // The CRC-32 of wrap.png, in its local header and central record.
    let name = format!("{APP}/wrap.png");
    let e = entries(&repo("samples/WrapDemo.ipa"));
    let crc = crc32fast::hash(get(&e, &name)).to_le_bytes();
    let mut n = 0;
    while let Some(at) = find(&data, &crc) {
        data[at] ^= 0xff;
        n += 1;
    }
    assert_eq!(n, 2, "local header and central directory");
    let ipa = t.path().join("crc.ipa");
    std::fs::write(&ipa, data).unwrap();
    let r = verify(&ipa);
    assert!(r.has("archive-inconsistent"), "{}", r.stdout);
    assert!(r.stdout.contains("wrap.png"), "{}", r.stdout);
}

/// The real signed IPAs of ../shared/conformance, each at a time inside its
/// validity (the manifests give the dates), and what their seals must say.
const REAL: &[(&str, &str, &[&str])] = &[
    (
        "ios/calabash-iOSDeviceManager/AppStub.ipa",
        "2020-06-01",
        &[],
    ),
    // Signed by a self-signed "TestFixture" certificate (MANIFEST: not Apple-trusted).
    (
        "ios/fastlane/very-capable-app.ipa",
        "2019-01-01",
        &["app-signer-untrusted"],
    ),
    (
        "realworld/fastlane/ipas/ExampleProductName.ipa",
        "2015-12-20",
        &[],
    ),
    ("realworld/app_info/embedded.ipa", "2021-06-01", &[]),
    ("realworld/app_info/iphone.ipa", "2017-01-01", &[]),
    ("realworld/app_info/ipad.ipa", "2017-01-01", &[]),
    // 2012, armv7, SHA-1 only, a pre-files2 seal (`files`/`rules`, ResourceRules.plist).
    ("realworld/mobsf/helloworld.ipa", "2012-03-01", &[]),
];

fn verify_at(app: &Path, at: &str) -> Run {
    let r = run(&[
        "verify",
        "--format=json",
        &format!("--at={at}"),
        "--app",
        app.to_str().unwrap(),
    ]);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    r
}

/// A byte inside the first slice's code (fat files start with padding no
/// signature covers).
fn code_offset(data: &[u8]) -> usize {
    if data.starts_with(&[0xca, 0xfe, 0xba, 0xbe]) {
        u32::from_be_bytes([data[16], data[17], data[18], data[19]]) as usize + 0x2000
    } else {
        0x2000
    }
}

#[test]
fn real_ipas_verify_their_seals_and_fail_when_tampered() {
    let Some(conf) = common::conformance("") else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    for (i, (rel, at, want)) in REAL.iter().enumerate() {
        let ipa = conf.join(rel);
        let r = verify_at(&ipa, at);
        let want: BTreeSet<String> = want.iter().map(|s| s.to_string()).collect();
        assert_eq!(integrity_names(&r), want, "{rel} at {at}: {}", r.stdout);
        let original = entries(&ipa);
        let root = original
            .iter()
            .map(|e| e.0.as_str())
            .find(|n| n.starts_with("Payload/") && n.ends_with(".app/"))
            .unwrap_or_else(|| panic!("{rel}: no app folder"))
            .trim_end_matches('/')
            .to_string();
        let info: plist::Dictionary =
            plist::from_bytes(get(&original, &format!("{root}/Info.plist"))).unwrap();
        let exe = format!(
            "{root}/{}",
            info.get("CFBundleExecutable").unwrap().as_string().unwrap()
        );
        // One byte of code.
        let mut e = original.clone();
        let at_code = code_offset(get(&e, &exe));
        flip(&mut e, &exe, at_code);
        let bad = t.path().join(format!("code{i}.ipa"));
        write_ipa(&bad, &e);
        let r = verify_at(&bad, at);
        assert_eq!(r.code, 1, "{rel}, code byte: {}", r.stdout);
        assert!(r.has("app-code-modified"), "{rel}, code byte: {}", r.stdout);
        // One byte of a sealed resource.
        let mut e = original.clone();
        let res = e
            .iter()
            .map(|x| x.0.clone())
            .find(|n| {
                n.starts_with(&format!("{root}/"))
                    && [".png", ".nib", ".car", ".strings", ".json"]
                        .iter()
                        .any(|s| n.ends_with(s))
            })
            .unwrap_or_else(|| panic!("{rel}: no resource"));
        flip(&mut e, &res, 0);
        let bad = t.path().join(format!("res{i}.ipa"));
        write_ipa(&bad, &e);
        let r = verify_at(&bad, at);
        assert_eq!(r.code, 1, "{rel}, {res}: {}", r.stdout);
        assert!(
            r.has("app-resources-modified"),
            "{rel}, {res}: {}",
            r.stdout
        );
    }
}

/// The malformed IPAs of the conformance data: clear errors naming the file.
#[test]
fn malformed_real_ipas_get_clear_errors() {
    let Some(conf) = common::conformance("") else {
        return;
    };
    for rel in [
        "realworld/fastlane/ipas/IncorrectlySigned.ipa",
        "realworld/fastlane/ipas/no-app-bundle.ipa",
        "realworld/fastlane/ipas/not-an-ipa.ipa",
        "realworld/fastlane/ipas/with_swift_twice.ipa",
        "ios/fastlane/ContainsWatchApp.ipa",
    ] {
        let r = verify_at(&conf.join(rel), "2020-01-01");
        assert_ne!(r.code, 0, "{rel}");
        let j = r.json();
        let f = j["findings"].as_array().unwrap();
        assert!(!f.is_empty(), "{rel}");
        let name = rel.rsplit('/').next().unwrap();
        assert!(
            f.iter()
                .any(|f| f["file"].as_str().unwrap_or("").ends_with(name)),
            "{rel}: {f:?}"
        );
    }
}

/// The primary CodeDirectory hash of a Mach-O, truncated as seals record it.
fn cdhash(data: &[u8]) -> Vec<u8> {
    let bound = wrapsign::ios::code_signature::Bound::default();
    let slices = wrapsign::ios::code_signature::verify_bytes(data, &bound)
        .unwrap()
        .unwrap();
    slices[0].cdhashes[0].1[..20].to_vec()
}

/// macOS-style seals record nested code by CodeDirectory hash (`nested`
/// rules): the sample re-sealed that way verifies, and an extension re-signed
/// alone then no longer matches its cdhash.
#[test]
fn nested_code_sealed_by_cdhash() {
    use plist::{Dictionary, Value};
    use sha2::{Digest, Sha256};
    let mut e = entries(&repo("samples/WrapDemo.ipa"));
    let kit = format!("{APP}/Frameworks/WrapKit.framework/WrapKit");
    let share = format!("{APP}/PlugIns/WrapShare.appex/WrapShare");
    let mut files2 = Dictionary::new();
    let nested = |id: &str, exe: &str, e: &[(String, Vec<u8>, u32)]| {
        let mut d = Dictionary::new();
        d.insert("cdhash".into(), Value::Data(cdhash(get(e, exe))));
        d.insert(
            "requirement".into(),
            Value::String(format!("identifier \"{id}\" and anchor apple generic")),
        );
        Value::Dictionary(d)
    };
    files2.insert(
        "Frameworks/WrapKit.framework".into(),
        nested("com.example.wrapdemo.WrapKit", &kit, &e),
    );
    files2.insert(
        "PlugIns/WrapShare.appex".into(),
        nested("com.example.wrapdemo.share", &share, &e),
    );
    for (rel, optional) in [
        ("wrap.png", false),
        ("embedded.mobileprovision", false),
        ("en.lproj/Localizable.strings", true),
    ] {
        let mut d = Dictionary::new();
        d.insert(
            "hash2".into(),
            Value::Data(Sha256::digest(get(&e, &format!("{APP}/{rel}"))).to_vec()),
        );
        if optional {
            d.insert("optional".into(), Value::Boolean(true));
        }
        files2.insert(rel.into(), Value::Dictionary(d));
    }
    let rule = |pairs: &[(&str, Value)]| {
        Value::Dictionary(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    };
    let mut rules2 = Dictionary::new();
    rules2.insert("^.*".into(), Value::Boolean(true));
    rules2.insert(
        "^Info\\.plist$".into(),
        rule(&[
            ("omit", Value::Boolean(true)),
            ("weight", Value::Real(20.0)),
        ]),
    );
    rules2.insert(
        "^.*\\.lproj/".into(),
        rule(&[
            ("optional", Value::Boolean(true)),
            ("weight", Value::Real(1000.0)),
        ]),
    );
    rules2.insert(
        "^(Frameworks|PlugIns)/".into(),
        rule(&[
            ("nested", Value::Boolean(true)),
            ("weight", Value::Real(10.0)),
        ]),
    );
    let mut root = Dictionary::new();
    root.insert("files".into(), Value::Dictionary(Dictionary::new()));
    root.insert("files2".into(), Value::Dictionary(files2));
    root.insert("rules".into(), Value::Dictionary(Dictionary::new()));
    root.insert("rules2".into(), Value::Dictionary(rules2));
    let mut xml = Vec::new();
    Value::Dictionary(root).to_writer_xml(&mut xml).unwrap();
    // The old `files`/`rules` are left empty: with files2/rules2 present they are not read.
    let cr = format!("{APP}/_CodeSignature/CodeResources");
    set(&mut e, &cr, xml.clone());
    let info = get(&e, &format!("{APP}/Info.plist")).to_vec();
    let main = resign_macho(get(&e, &main_exe()), Some("dist"), &info, &xml);
    set(&mut e, &main_exe(), main);
    let t = tempfile::tempdir().unwrap();
    let ok = t.path().join("cdhash.ipa");
    write_ipa(&ok, &e);
    let r = verify(&ok);
    assert_eq!(r.code, 0, "{}", r.stdout);
    // The extension re-signed alone: its cdhash moves, its parent's seal does not.
    resign_extension_alone(&mut e);
    let bad = t.path().join("cdhash-bad.ipa");
    write_ipa(&bad, &e);
    let r = verify(&bad);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let f = r.finding("app-nested-code-modified");
    assert!(f["message"].as_str().unwrap().contains("cdhash"), "{f}");
    assert_eq!(f["subject"], "WrapDemo.app/PlugIns/WrapShare.appex");
}

/// AppStub's slices carry a SHA-1 CodeDirectory and a SHA-256 alternate; the
/// CMS signs the first and names both in Apple's CDHashes attributes. An
/// alternate changed (here its identifier, so no page hash moves) is caught
/// there.
#[test]
fn a_swapped_alternate_code_directory_breaks_the_cdhashes() {
    let Some(ipa) = common::conformance("ios/calabash-iOSDeviceManager/AppStub.ipa") else {
        return;
    };
    let exe = "Payload/AppStub.app/AppStub";
    let mut e = entries(&ipa);
    let mut d = get(&e, exe).to_vec();
    let cds: Vec<usize> = d
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == [0xfa, 0xde, 0x0c, 0x02])
        .map(|(i, _)| i)
        .collect();
    assert!(cds.len() >= 2, "two CodeDirectories per slice");
    let alt = cds[1];
    let ident = u32::from_be_bytes([d[alt + 20], d[alt + 21], d[alt + 22], d[alt + 23]]) as usize;
    d[alt + ident + 2] ^= 0x20;
    set(&mut e, exe, d);
    let t = tempfile::tempdir().unwrap();
    let bad = t.path().join("alt.ipa");
    write_ipa(&bad, &e);
    let r = verify_at(&bad, "2020-06-01");
    assert_eq!(r.code, 1, "{}", r.stdout);
    let f = r.finding("app-signature-invalid");
    assert!(f["message"].as_str().unwrap().contains("CDHashes"), "{f}");
    assert!(!r.has("app-code-modified"), "{}", r.stdout);
}
