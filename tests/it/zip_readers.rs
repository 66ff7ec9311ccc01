//! Every reader of archive content in wrapsign goes through the ZIP layer's
//! audit (src/zip/): IPA verify (read in place, from a file or from memory),
//! IPA sign's extraction, the device bundle, APK verify and APK sign each
//! refuse a zip-slip archive with `archive-unsafe` before reading an entry,
//! called through the library (tests/it/hostile_archives.rs runs the whole
//! matrix of cases through the command line).

use std::path::{Path, PathBuf};

use wrapsign::diag::Code;
use wrapsign::zip::{Archive, Limits, Source};

/// `base` plus an entry that climbs out of its folder.
fn hostile(dir: &Path, name: &str, base: &[(&str, &[u8])]) -> PathBuf {
    let mut entries = base.to_vec();
    entries.push(("Payload/A.app/../../../evil", b"x"));
    let p = dir.join(name);
    std::fs::write(&p, wrapsign::zip::write::stored_zip(&entries)).unwrap();
    p
}

fn is_unsafe(code: Code, reader: &str) {
    assert_eq!(code, Code::ArchiveUnsafe, "{reader}");
}

#[test]
fn every_reader_goes_through_the_audit() {
    let dir = tempfile::tempdir().unwrap();
    let ipa = hostile(
        dir.path(),
        "a.ipa",
        &[("Payload/A.app/Info.plist", b"<plist/>")],
    );
    let limits = Limits::default();
    is_unsafe(
        Archive::open_path(&ipa, &limits).unwrap_err().code,
        "zip::Archive",
    );

    let ctx = wrapsign::ios::Ctx::new(
        time::OffsetDateTime::UNIX_EPOCH,
        wrapsign::ios::Trust::apple(),
    );
    is_unsafe(
        wrapsign::ios::app::open(&ipa, &ctx).unwrap_err().code,
        "IPA verify",
    );
    let bytes = std::fs::read(&ipa).unwrap();
    is_unsafe(
        wrapsign::ios::app::open_bytes("a.ipa", bytes, &ctx)
            .unwrap_err()
            .code,
        "IPA verify (in memory)",
    );

    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let bar = indicatif::ProgressBar::hidden();
    let e = wrapsign::ios::bundle::extract_ipa(&ipa, &root, &limits, &bar).unwrap_err();
    is_unsafe(e.code, "IPA sign's extraction");
    assert!(
        std::fs::read_dir(&root).unwrap().next().is_none(),
        "nothing extracted"
    );

    let mut report = wrapsign::diag::Report::default();
    let got = wrapsign::inventory::bulk::read_zip(
        "d.zip",
        Source::open(&ipa).unwrap(),
        &limits,
        &mut report,
    );
    assert!(got.is_none());
    is_unsafe(report.findings[0].code, "device bundle");

    let apk = hostile(
        dir.path(),
        "a.apk",
        &[("AndroidManifest.xml", b"\x03\x00\x08\x00")],
    );
    match wrapsign::android::apk::verify(&apk, &wrapsign::android::apk::Options::default()) {
        Err(wrapsign::android::apk::Fatal::Archive(p)) => is_unsafe(p.code, "APK verify"),
        other => panic!("APK verify: {:?}", other.map(|o| o.verified)),
    }
    match wrapsign::android::sign::zipout::open(&apk, &limits) {
        Err(wrapsign::android::sign::zipout::InputError::Archive(p)) => {
            is_unsafe(p.code, "APK sign")
        }
        _ => panic!("APK sign accepted a zip slip"),
    }
}
