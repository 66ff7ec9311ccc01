//! Hostile archives against every archive reader: IPA verify, IPA sign
//! (extraction), APK verify, APK sign and the bulk device zip. Each case must end in its
//! named finding and a non-zero exit, write nothing outside the temporary
//! folder (which must be gone afterwards), and never panic. The archives are
//! built here from the committed samples, never committed.

use crate::support as common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::craft::{entries_of, tree, write, RawEntry};
use common::{repo, run_with, Run};

const AT: &str = "2026-06-01";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reader {
    IpaVerify,
    IpaSign,
    ApkVerify,
    ApkSign,
    DeviceZip,
}

const READERS: [Reader; 5] = [
    Reader::IpaVerify,
    Reader::IpaSign,
    Reader::ApkVerify,
    Reader::ApkSign,
    Reader::DeviceZip,
];

impl Reader {
    fn base(self) -> PathBuf {
        repo(match self {
            Reader::IpaVerify | Reader::IpaSign => "samples/WrapDemo.ipa",
            Reader::ApkVerify | Reader::ApkSign => "samples/android/v1v2v3-rsa.apk",
            Reader::DeviceZip => "signing/inventory/devices.zip",
        })
    }

    /// Where a harmless-looking entry would go.
    fn prefix(self) -> &'static str {
        match self {
            Reader::IpaVerify | Reader::IpaSign => "Payload/WrapDemo.app/",
            Reader::ApkVerify | Reader::ApkSign => "assets/",
            Reader::DeviceZip => "",
        }
    }

    fn input_name(self) -> &'static str {
        match self {
            Reader::IpaVerify | Reader::IpaSign => "app.ipa",
            Reader::ApkVerify | Reader::ApkSign => "app.apk",
            Reader::DeviceZip => "devices.zip",
        }
    }
}

/// 64 MiB of zeros, deflated once (about 64 KiB): a thousandfold expansion.
fn zeros_entry(name: &str) -> RawEntry {
    static Z: OnceLock<RawEntry> = OnceLock::new();
    let mut e = Z
        .get_or_init(|| RawEntry::deflated("z", &vec![0u8; 64 << 20]))
        .clone();
    e.name = name.as_bytes().to_vec();
    e
}

/// A hostile variant of the reader's base archive.
fn build(reader: Reader, case: &str, tag: &str) -> Vec<u8> {
    let base = reader.base();
    let mut entries = entries_of(&base);
    let p = reader.prefix();
    let evil = format!("evil-{tag}.txt");
    match case {
        "dotdot" => entries.push(RawEntry::stored(&format!("{p}../../{evil}"), b"x")),
        "absolute" => entries.push(RawEntry::stored(&format!("/tmp/wrapsign-{evil}"), b"x")),
        "backslash" => entries.push(RawEntry::stored(&format!("..\\..\\{evil}"), b"x")),
        "nul" => entries.push(RawEntry::stored_raw(
            format!("{p}{evil}\0.png").as_bytes(),
            b"x",
        )),
        "symlink" => entries.push(RawEntry::symlink(
            &format!("{p}escape"),
            &format!("../../../../../../../../tmp/wrapsign-{evil}"),
        )),
        "duplicate" => {
            let first = entries
                .iter()
                .find(|e| !e.name.ends_with(b"/"))
                .expect("a file")
                .clone();
            let mut twin = RawEntry::stored_raw(&first.name, b"the other copy");
            twin.unix_mode = first.unix_mode;
            entries.push(twin);
        }
        "cd-vs-lfh" => {
            let mut e = RawEntry::stored(&format!("{p}innocent.txt"), b"x");
            e.lfh_name = Some(format!("{p}../../{evil}").into_bytes());
            entries.push(e);
        }
        "truncated" => {
            let whole = std::fs::read(&base).expect("base");
            return whole[..whole.len() * 6 / 10].to_vec();
        }
        "bomb" => entries.push(zeros_entry(&format!("{p}zeros.bin"))),
        "bomb-declared" => {
            let mut e = RawEntry::deflated(&format!("{p}huge.bin"), b"tiny");
            e.size = 0xffff_0000;
            entries.push(e);
        }
        "limit" => {}
        other => panic!("unknown case {other}"),
    }
    write(&entries)
}

/// The finding each reader must give for a case, and its exit code.
fn expected(reader: Reader, case: &str) -> (&'static str, i32) {
    match case {
        "dotdot" | "absolute" | "backslash" | "nul" | "symlink" | "duplicate" => {
            ("archive-unsafe", 1)
        }
        // The APK readers follow Android's own ZIP rules: apksig's ApkFormatException.
        "cd-vs-lfh" if matches!(reader, Reader::ApkVerify | Reader::ApkSign) => {
            ("apk-malformed", 1)
        }
        "cd-vs-lfh" => ("archive-inconsistent", 1),
        "truncated" => ("archive-truncated", 2),
        "bomb" | "bomb-declared" | "limit" => ("archive-bomb", 1),
        other => panic!("unknown case {other}"),
    }
}

const CASES: &[&str] = &[
    "dotdot",
    "absolute",
    "backslash",
    "nul",
    "symlink",
    "duplicate",
    "cd-vs-lfh",
    "truncated",
    "bomb",
    "bomb-declared",
    "limit",
];

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Runs the reader on `input`; `tmp` is the process's TMPDIR, `out` the
/// folder a signed app would go to.
fn run_reader(
    reader: Reader,
    input: &Path,
    dir: &Path,
    tmp: &Path,
    out: &Path,
    extra: &[&str],
) -> Run {
    let env = [("TMPDIR", s(tmp))];
    let mut args: Vec<String> = match reader {
        Reader::IpaVerify | Reader::ApkVerify => vec![
            "verify".into(),
            "--format=json".into(),
            format!("--at={AT}"),
            s(input).into(),
        ],
        Reader::IpaSign => vec![
            "sign".into(),
            s(input).into(),
            "--cert".into(),
            s(&repo("signing/ios/dist.p12")).into(),
            "--cert-pass".into(),
            format!("file:{}", s(&repo("signing/ios/p12.pass"))),
            "--trust-root".into(),
            s(&repo("signing/ca/test-root-ca.pem")).into(),
            "--profile".into(),
            s(&repo("profiles/enterprise-app.mobileprovision")).into(),
            "--profile".into(),
            s(&repo("profiles/enterprise-share.mobileprovision")).into(),
            format!("--at={AT}"),
            "--format=json".into(),
            "--out".into(),
            s(&out.join("signed.ipa")).into(),
        ],
        Reader::ApkSign => vec![
            "sign".into(),
            s(input).into(),
            "--keystore".into(),
            s(&repo("signing/android/release.jks")).into(),
            "--ks-pass=pass:wrapsign-test".into(),
            format!("--at={AT}"),
            "--format=json".into(),
            "--out".into(),
            s(&out.join("signed.apk")).into(),
        ],
        Reader::DeviceZip => {
            let creds = dir.join("creds.txt");
            std::fs::copy(repo("signing/inventory/devices-credentials.txt"), &creds)
                .expect("credentials");
            let cfg = dir.join("wrapsign.toml");
            std::fs::write(
                &cfg,
                format!(
                    "[[devices]]\nzip = \"{}\"\ncredentials = \"{}\"\n",
                    s(input),
                    s(&creds)
                ),
            )
            .expect("config");
            vec![
                "verify".into(),
                "--format=json".into(),
                format!("--at={AT}"),
                format!("--config={}", s(&cfg)),
            ]
        }
    };
    args.extend(extra.iter().map(|x| x.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    run_with(&refs, &env, None)
}

fn check_case(reader: Reader, case: &str) {
    let tag = format!("{}-{case}-{reader:?}", std::process::id());
    let dir = tempfile::tempdir().expect("tempdir");
    let (tmp, out) = (dir.path().join("tmp"), dir.path().join("out"));
    std::fs::create_dir(&tmp).unwrap();
    std::fs::create_dir(&out).unwrap();
    let input = dir.path().join(reader.input_name());
    let bytes = build(reader, case, &tag);
    std::fs::write(&input, &bytes).unwrap();
    let extra: &[&str] = if case == "limit" {
        &["--max-expanded-size", "1K"]
    } else {
        &[]
    };
    let before = tree(dir.path());
    let r = run_reader(reader, &input, dir.path(), &tmp, &out, extra);
    let what = format!("{reader:?} × {case}");
    let (finding, code) = expected(reader, case);
    assert!(
        !r.stderr.contains("panicked") && !r.stdout.contains("panicked"),
        "{what}: {}",
        r.stderr
    );
    assert!(
        r.has(finding),
        "{what}: want {finding}, got {:?}\n{}",
        r.names(),
        r.stdout
    );
    assert_eq!(r.code, code, "{what}: {}", r.stdout);
    // The finding names the archive.
    let json = r.json();
    let f = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == finding)
        .unwrap();
    assert!(
        f["file"].as_str().unwrap().ends_with(reader.input_name()),
        "{what}: {f}"
    );
    // Nothing written anywhere: the folder holds what it held (the temporary
    // and output folders empty), the input is untouched, no escape landed.
    let mut after = tree(dir.path());
    // The device bundle's config and credentials are written by the test itself.
    after.retain(|p| !before.contains(p) && p != "creds.txt" && p != "wrapsign.toml");
    assert!(after.is_empty(), "{what}: new files {after:?}");
    assert_eq!(tree(&tmp), Vec::<String>::new(), "{what}: TMPDIR");
    assert_eq!(tree(&out), Vec::<String>::new(), "{what}: output folder");
    assert_eq!(
        std::fs::read(&input).unwrap(),
        bytes,
        "{what}: input changed"
    );
    for escaped in [
        PathBuf::from(format!("/tmp/wrapsign-evil-{tag}.txt")),
        dir.path().parent().unwrap().join(format!("evil-{tag}.txt")),
        dir.path().join(format!("evil-{tag}.txt")),
    ] {
        assert!(
            !escaped.exists(),
            "{what}: {} was written",
            escaped.display()
        );
    }
}

fn matrix(reader: Reader) {
    for case in CASES {
        check_case(reader, case);
    }
}

#[test]
fn ipa_verify_refuses_hostile_archives() {
    matrix(Reader::IpaVerify);
}

#[test]
fn ipa_sign_refuses_hostile_archives() {
    matrix(Reader::IpaSign);
}

#[test]
fn apk_verify_refuses_hostile_archives() {
    matrix(Reader::ApkVerify);
}

#[test]
fn apk_sign_refuses_hostile_archives() {
    matrix(Reader::ApkSign);
}

#[test]
fn device_zip_refuses_hostile_archives() {
    matrix(Reader::DeviceZip);
}

/// The unmodified bases pass every reader's archive checks, and raising a
/// limit lets a large (trusted) archive through: the limits are the cause.
#[test]
fn bases_pass_and_limits_are_configurable() {
    for reader in READERS {
        let dir = tempfile::tempdir().unwrap();
        let (tmp, out) = (dir.path().join("tmp"), dir.path().join("out"));
        std::fs::create_dir(&tmp).unwrap();
        std::fs::create_dir(&out).unwrap();
        let input = dir.path().join(reader.input_name());
        let mut entries = entries_of(&reader.base());
        entries.push(zeros_entry(&format!("{}zeros.bin", reader.prefix())));
        std::fs::write(&input, write(&entries)).unwrap();
        let r = run_reader(
            reader,
            &input,
            dir.path(),
            &tmp,
            &out,
            &["--max-expand-ratio", "5000"],
        );
        let archive: Vec<String> = r
            .names()
            .into_iter()
            .filter(|n| n.starts_with("archive-"))
            .collect();
        assert_eq!(archive, Vec::<String>::new(), "{reader:?}: {}", r.stdout);
        assert_eq!(tree(&tmp), Vec::<String>::new(), "{reader:?}: TMPDIR");
    }
}
