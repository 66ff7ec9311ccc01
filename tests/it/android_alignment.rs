//! Alignment as the platform judges it. Android refuses to install an app
//! targeting API 30+ whose resources.arsc is compressed or not 4-byte aligned,
//! and, with extractNativeLibs="false", a native library that is compressed or
//! off its 4 KiB page: errors. Every other misalignment installs (the entry is
//! copied into RAM instead of mapped; Google Play refuses the upload): a
//! warning that says so. APKs are made at test time by make_apk.py and signed
//! by Debian's apksigner, which keeps their layout; zipalign -c is the oracle
//! for "not aligned", apksigner for "the signature is fine".

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::apk::{
    apksigner_sign_sample_key, apksigner_verifies, entry_data, findings_named, s, sample,
    verify_json, Tmp,
};
use crate::support::{conformance, tool};

fn tools() -> bool {
    tool("python3") && tool("apksigner") && tool("zipalign")
}

/// An APK from make_apk.py with `args`, signed by apksigner (default schemes).
fn make_signed(tmp: &Tmp, name: &str, args: &[&str]) -> PathBuf {
    let unsigned = tmp.path(&format!("{name}-unsigned.apk"));
    let out = Command::new("python3")
        .arg(sample("make_apk.py"))
        .arg(&unsigned)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let signed = tmp.path(&format!("{name}.apk"));
    apksigner_sign_sample_key(&unsigned, &signed);
    assert!(apksigner_verifies(&signed), "{name}: apksigner verifies it");
    signed
}

fn zipalign_ok(apk: &Path) -> bool {
    Command::new("zipalign")
        .args(["-c", "4", s(apk)])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn data_offset(apk: &Path, name: &str) -> usize {
    entry_data(&std::fs::read(apk).unwrap(), name)
        .unwrap_or_else(|| panic!("{name} in {}", apk.display()))
        .0
}

fn misaligned<'a>(v: &'a Value, severity: &str) -> Vec<&'a Value> {
    let mut found = findings_named(v, "apk-misaligned");
    found.retain(|f| f["severity"] == severity);
    found
}

/// Never zipaligned, libraries extracted at install, for `target` SDK.
fn unaligned(tmp: &Tmp, name: &str, target: &str) -> PathBuf {
    let args = ["--no-align", "--extract-native-libs", "true"];
    make_signed(tmp, name, &[&["--target-sdk", target][..], &args].concat())
}

/// targetSdk 29, the .so on 8 bytes (4-byte aligned, off its 4 KiB page),
/// extractNativeLibs `extract` ("absent": no attribute).
fn so_on_8(tmp: &Tmp, name: &str, extract: &str) -> PathBuf {
    let args = ["--target-sdk", "29", "--so-align", "8"];
    make_signed(
        tmp,
        name,
        &[&args[..], &["--extract-native-libs", extract]].concat(),
    )
}

#[test]
fn never_zipaligned_below_target_30_installs_with_a_warning() {
    if !tools() {
        return;
    }
    let tmp = Tmp::new();
    let apk = unaligned(&tmp, "t29", "29");
    assert!(!zipalign_ok(&apk), "zipalign -c must see it unaligned");
    assert_ne!(data_offset(&apk, "resources.arsc") % 4, 0);
    let (code, v) = verify_json(&[s(&apk)]);
    assert_eq!(code, 0, "{v:#}");
    let w = misaligned(&v, "warning");
    assert_eq!(w.len(), 1, "{v:#}");
    let msg = w[0]["message"].as_str().unwrap();
    // The reason it still matters: memory and Google Play.
    assert!(
        msg.contains("Google Play") && msg.contains("memory"),
        "{msg}"
    );
    assert!(msg.contains("resources.arsc"), "{msg}");
    assert!(misaligned(&v, "error").is_empty());
    // --deny makes it a gate for those who want one.
    assert_eq!(verify_json(&["--deny", "apk-misaligned", s(&apk)]).0, 1);
}

#[test]
fn target_30_with_a_misaligned_resources_arsc_is_refused() {
    if !tools() {
        return;
    }
    let tmp = Tmp::new();
    let apk = unaligned(&tmp, "t30", "30");
    assert_ne!(data_offset(&apk, "resources.arsc") % 4, 0);
    let (code, v) = verify_json(&[s(&apk)]);
    assert_eq!(code, 1, "{v:#}");
    let e = misaligned(&v, "error");
    assert_eq!(e.len(), 1, "{v:#}");
    assert_eq!(e[0]["subject"], "resources.arsc");
    // The other misaligned entry only warns.
    assert!(misaligned(&v, "warning")[0]["message"]
        .as_str()
        .unwrap()
        .contains("res/raw/blob.bin"));
}

#[test]
fn target_30_with_a_compressed_resources_arsc_is_refused() {
    if !tools() {
        return;
    }
    let tmp = Tmp::new();
    let apk = make_signed(&tmp, "arsc", &["--target-sdk", "30", "--compress-arsc"]);
    assert!(zipalign_ok(&apk), "otherwise aligned");
    let (code, v) = verify_json(&[s(&apk)]);
    assert_eq!(code, 1, "{v:#}");
    let e = misaligned(&v, "error");
    assert_eq!(
        (e.len(), e[0]["subject"].as_str()),
        (1, Some("resources.arsc"))
    );
    assert!(e[0]["message"].as_str().unwrap().contains("compressed"));
    // Below 30 the same layout installs: nothing to say.
    let apk = make_signed(&tmp, "arsc29", &["--target-sdk", "29", "--compress-arsc"]);
    let (code, v) = verify_json(&[s(&apk)]);
    assert_eq!(code, 0, "{v:#}");
    assert!(misaligned(&v, "error").is_empty() && misaligned(&v, "warning").is_empty());
}

#[test]
fn libraries_mapped_from_the_apk_must_be_page_aligned() {
    if !tools() {
        return;
    }
    let tmp = Tmp::new();
    // The .so on 8 bytes: 4-byte aligned, off its 4 KiB page.
    let mapped = so_on_8(&tmp, "mapped", "false");
    let off = data_offset(&mapped, "lib/arm64-v8a/libwrap.so");
    assert!(off % 4 == 0 && off % 4096 != 0, "{off}");
    let (code, v) = verify_json(&[s(&mapped)]);
    assert_eq!(code, 1, "{v:#}");
    let e = misaligned(&v, "error");
    assert_eq!(e.len(), 1, "{v:#}");
    assert_eq!(e[0]["subject"], "lib/arm64-v8a/libwrap.so");
    assert!(e[0]["message"]
        .as_str()
        .unwrap()
        .contains("extractNativeLibs"));
    // The same layout with libraries extracted at install (or the attribute
    // absent, Android's default): it installs; only the 16 KiB note remains.
    for extract in ["true", "absent"] {
        let apk = so_on_8(&tmp, &format!("extracted-{extract}"), extract);
        let (code, v) = verify_json(&[s(&apk)]);
        assert_eq!(code, 0, "{extract}: {v:#}");
        assert!(misaligned(&v, "error").is_empty(), "{extract}: {v:#}");
    }
}

#[test]
fn real_apks_that_install_are_not_refused_for_alignment() {
    let Some(manifest) = conformance("realworld/MANIFEST.tsv") else {
        return;
    };
    let text = std::fs::read_to_string(manifest).unwrap();
    let (mut checked, mut warned, mut refused) = (0, 0, Vec::new());
    for line in text.lines().skip(1) {
        let c: Vec<&str> = line.split('\t').collect();
        if c.get(5) != Some(&"apk") || !c.get(8).is_some_and(|v| v.starts_with("VERIFIES")) {
            continue;
        }
        let apk = conformance(&format!("realworld/{}", c[0])).unwrap();
        let (_, v) = verify_json(&[s(&apk)]);
        checked += 1;
        if !misaligned(&v, "warning").is_empty() {
            warned += 1;
        }
        for e in misaligned(&v, "error") {
            // Only the platform's own install failures are errors.
            let m = e["message"].as_str().unwrap();
            assert!(
                (e["subject"] == "resources.arsc" && m.contains("(30+)"))
                    || m.contains("extractNativeLibs"),
                "{}: {m}",
                c[0]
            );
            let target = v["items"][0]["facts"]["target_sdk_version"]
                .as_i64()
                .unwrap();
            assert!(target >= 30, "{}: targetSdk {target}", c[0]);
            refused.push(c[0].to_string());
        }
    }
    println!("{checked} real APKs that apksigner verifies: {warned} misaligned with a warning, refused: {refused:?}");
    assert!(checked >= 40, "{checked}");
    assert!(
        warned >= 7,
        "the formerly failing unaligned APKs warn: {warned}"
    );
    // Both targetSdk 30+ with a compressed or misaligned resources.arsc.
    assert_eq!(refused.len(), 2, "{refused:?}");
}
