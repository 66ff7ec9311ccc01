//! The sample app's Mach-O binaries are rebuilt from source with Debian's clang
//! and ld64.lld (as samples/build-ios.sh does): they must come out byte for byte
//! as committed (the fixtures are reproducible), and a freshly built, unsigned
//! app must verify as unsigned, sign, and then verify clean.

use crate::support as common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn ld64() -> Option<&'static str> {
    ["ld64.lld-14", "ld64.lld"].into_iter().find(|t| {
        Command::new("sh")
            .args(["-c", &format!("command -v {t}")])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Compiles and links WrapDemo, WrapShare and WrapKit into `obj`.
fn build(obj: &Path, ld: &str) {
    let src = common::repo("samples/ios-src");
    for f in ["wrapkit", "wrapdemo", "wrapshare"] {
        run(Command::new("clang")
            .args(["-target", "arm64-apple-ios14.0", "-Os", "-fno-ident", "-c"])
            .arg(src.join(format!("{f}.c")))
            .arg("-o")
            .arg(obj.join(format!("{f}.o"))));
    }
    let tbd = src.join("libSystem.tbd");
    let link = |args: &[&str], out: &str, inputs: &[PathBuf]| {
        run(Command::new(ld)
            .args(["-arch", "arm64", "-platform_version", "ios", "14.0", "14.0"])
            .args(args)
            .arg("-o")
            .arg(obj.join(out))
            .args(inputs));
    };
    link(
        &[
            "-dylib",
            "-install_name",
            "@rpath/WrapKit.framework/WrapKit",
            "-current_version",
            "1.0",
            "-compatibility_version",
            "1.0",
        ],
        "WrapKit",
        &[obj.join("wrapkit.o"), tbd.clone()],
    );
    link(
        &["-e", "_main", "-rpath", "@executable_path/Frameworks"],
        "WrapDemo",
        &[obj.join("wrapdemo.o"), obj.join("WrapKit"), tbd.clone()],
    );
    link(
        &["-e", "_main", "-rpath", "@executable_path/../../Frameworks"],
        "WrapShare",
        &[obj.join("wrapshare.o"), tbd],
    );
}

#[test]
fn freshly_built_app_is_reproducible_and_signs() {
    if !common::tool("clang") {
        return;
    }
    let Some(ld) = ld64() else {
        skip!("ld64.lld not installed");
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let obj = t.path().join("obj");
    std::fs::create_dir(&obj).unwrap();
    build(&obj, ld);

    // Lay the fresh binaries into the committed unsigned app.
    let mut z = zip::ZipArchive::new(
        std::fs::File::open(common::repo("samples/WrapDemo-unsigned.ipa")).unwrap(),
    )
    .unwrap();
    z.extract(t.path()).unwrap();
    let app = t.path().join("Payload/WrapDemo.app");
    for (bin, rel) in [
        ("WrapDemo", "WrapDemo"),
        ("WrapShare", "PlugIns/WrapShare.appex/WrapShare"),
        ("WrapKit", "Frameworks/WrapKit.framework/WrapKit"),
    ] {
        let fresh = std::fs::read(obj.join(bin)).unwrap();
        let committed = std::fs::read(app.join(rel)).unwrap();
        assert!(
            fresh == committed,
            "{bin} rebuilt from source differs from the committed sample"
        );
        std::fs::write(app.join(rel), fresh).unwrap();
    }

    let trust = "--trust-root=signing/ca/test-root-ca.pem";
    let r = common::run(&[
        "verify",
        "--format=json",
        "--at=2026-06-01",
        trust,
        app.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.has("app-unsigned"), "{:?}", r.names());

    let out = t.path().join("signed.ipa");
    let s = common::run(&[
        "sign",
        app.to_str().unwrap(),
        "--cert=signing/ios/dist.p12",
        "--cert-pass=file:signing/ios/p12.pass",
        trust,
        "--at=2026-06-01",
        "--profile=profiles/enterprise-app.mobileprovision",
        "--profile=profiles/enterprise-share.mobileprovision",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(s.code, 0, "{}{}", s.stdout, s.stderr);
    let r = common::run(&[
        "verify",
        "--format=json",
        "--at=2026-06-01",
        trust,
        "--cert=signing/ios/dist.p12",
        "--cert-pass=file:signing/ios/p12.pass",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.names().is_empty(), "{:?}", r.names());
}
