//! Replays what the fuzzers found (`fuzz/`, see README "Fuzzing") through the
//! same entry points the fuzz targets call, in the normal test suite: crashes,
//! hangs and oversized allocations once fixed, and a small set of the inputs
//! that reached new code (kept by `fuzz/keep.sh`). None may panic, and none may
//! take long: the fuzzers' own hang limit is 10 s per input.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

type Target = fn(&[u8]);

const TARGETS: &[(&str, Target)] = &[
    ("profile", wrapsign::fuzzing::profile),
    ("pkcs12", wrapsign::fuzzing::pkcs12),
    ("keystore", wrapsign::fuzzing::keystore),
    ("android_manifest", wrapsign::fuzzing::android_manifest),
    ("apk_signing_block", wrapsign::fuzzing::apk_signing_block),
    ("apk_v1", wrapsign::fuzzing::apk_v1),
    ("apk", wrapsign::fuzzing::apk),
    ("apk_sign", wrapsign::fuzzing::apk_sign),
    ("zip", wrapsign::fuzzing::zip),
    ("ipa", wrapsign::fuzzing::ipa),
    ("ipa_extract", wrapsign::fuzzing::ipa_extract),
    ("device_zip", wrapsign::fuzzing::device_zip),
    ("code_signature", wrapsign::fuzzing::code_signature),
];

fn dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/fuzz")
        .join(target)
}

fn inputs(target: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir(target))
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn replay(target: &str, f: Target) {
    let files = inputs(target);
    assert!(
        !files.is_empty(),
        "no regression inputs in {}",
        dir(target).display()
    );
    for p in files {
        let data = std::fs::read(&p).unwrap();
        let start = Instant::now();
        let r = std::panic::catch_unwind(|| f(&data));
        assert!(r.is_ok(), "{target}: {} panics", p.display());
        // Generous for a debug build on a loaded CI core; a hang is minutes.
        let took = start.elapsed();
        assert!(
            took < Duration::from_secs(20),
            "{target}: {} took {took:?}",
            p.display()
        );
    }
}

#[test]
fn every_target_has_regression_inputs() {
    let on_disk: Vec<String> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/fuzz_targets"))
            .unwrap()
            .filter_map(Result::ok)
            .filter_map(|e| {
                e.path()
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
            })
            .collect();
    for t in &on_disk {
        assert!(
            TARGETS.iter().any(|(n, _)| n == t),
            "fuzz target {t} is not replayed here"
        );
    }
    assert_eq!(on_disk.len(), TARGETS.len(), "targets: {on_disk:?}");
}

macro_rules! replay_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let (t, f) = TARGETS.iter().find(|(n, _)| *n == stringify!($name)).unwrap();
                replay(t, *f);
            }
        )*
    };
}

replay_tests!(
    profile,
    pkcs12,
    keystore,
    android_manifest,
    apk_signing_block,
    apk_v1,
    apk,
    apk_sign,
    zip,
    ipa,
    ipa_extract,
    device_zip,
    code_signature,
);
