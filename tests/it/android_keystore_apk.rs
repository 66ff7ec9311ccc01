//! The keystore and the APK together: `wrapsign verify --keystore KS --alias A app.apk`
//! fails with apk-signer-mismatch unless the APK is signed by that alias's key.
//! The APK is signed at test time by Debian's apksigner from the same keystore.

use crate::support as common;

use std::process::Command;

#[test]
fn apk_must_be_signed_by_the_keystore_alias() {
    if !common::tool("apksigner") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let signed = dir.path().join("signed.apk");
    let st = Command::new("apksigner")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "sign",
            "--ks",
            "signing/android/release.jks",
            "--ks-key-alias",
            "release",
            "--ks-pass",
            "pass:wrapsign-test",
            "--out",
        ])
        .arg(&signed)
        .arg("samples/android/unsigned/min21-target34.apk")
        .status()
        .unwrap();
    assert!(st.success());
    let apk = signed.to_str().unwrap();
    let base = [
        "verify",
        "--format=json",
        "--at=2026-06-01",
        "--ks-pass=pass:wrapsign-test",
    ];

    // The release keystore's own key: verifies.
    let mut a = base.to_vec();
    a.extend([
        "--keystore=signing/android/release.jks",
        "--alias=release",
        apk,
    ]);
    let r = common::run(&a);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(!r.has("apk-signer-mismatch"));

    // Another key: the update could not be installed over the old app.
    let mut a = base.to_vec();
    a.extend(["--keystore=signing/android/ec-p256.jks", apk]);
    let r = common::run(&a);
    assert_eq!(r.code, 1);
    assert!(r.has("apk-signer-mismatch"), "{}", r.stdout);
}
