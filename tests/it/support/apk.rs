//! Shared helpers for the APK tests: running the binary, locating samples, and
//! surgically editing APK bytes (flip a byte in an entry, the central
//! directory or the signing block; strip the block; lie about sizes).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

pub const AT: &str = "2025-06-01";

pub use super::bin;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn sample(name: &str) -> PathBuf {
    root().join("samples/android").join(name)
}

pub fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

/// Runs `wrapsign verify --at AT --format json ARGS`; returns (exit code, JSON).
pub fn verify_json(args: &[&str]) -> (i32, Value) {
    let out = Command::new(bin())
        .args(["verify", "--at", AT, "--format", "json"])
        .args(args)
        .output()
        .expect("run wrapsign");
    let code = out.status.code().expect("exit code (killed by a signal?)");
    assert!(
        code == 0 || code == 1 || code == 2,
        "unexpected exit {code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    assert_eq!(
        v["summary"]["exit_code"].as_i64(),
        Some(code as i64),
        "JSON exit_code disagrees"
    );
    (code, v)
}

pub fn finding_names(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Names of error-severity findings.
pub fn error_names(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|f| f["severity"] == "error")
                .filter_map(|f| f["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The findings named `name`, in report order.
pub fn findings_named<'a>(v: &'a Value, name: &str) -> Vec<&'a Value> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["name"] == name)
        .collect()
}

/// Whether `apksigner verify` accepts `apk` (the independent oracle).
pub fn apksigner_verifies(apk: &Path) -> bool {
    Command::new("apksigner")
        .args(["verify", s(apk)])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs `cmd`; panics with its output unless it succeeds.
pub fn run_ok(cmd: &mut Command) {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `apksigner sign` of `input` into `out` with the samples' RSA key
/// (apksigner's default schemes).
pub fn apksigner_sign_sample_key(input: &Path, out: &Path) {
    let keys = sample("keys");
    run_ok(Command::new("apksigner").args([
        "sign",
        "--key",
        s(&keys.join("rsa-2048.pk8")),
        "--cert",
        s(&keys.join("rsa-2048.x509.pem")),
        "--out",
        s(out),
        s(input),
    ]));
}

/// `keytool -genkeypair`: a JKS keystore `ks` holding one RSA key `alias`
/// of `bits` bits valid `days` days, store and key password `pass`.
pub fn keytool_rsa(ks: &Path, alias: &str, pass: &str, dname: &str, bits: &str, days: &str) {
    run_ok(Command::new("keytool").args([
        "-genkeypair",
        "-keystore",
        s(ks),
        "-storetype",
        "JKS",
        "-storepass",
        pass,
        "-keypass",
        pass,
        "-alias",
        alias,
        "-keyalg",
        "RSA",
        "-keysize",
        bits,
        "-validity",
        days,
        "-dname",
        dname,
    ]));
}

pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn u16le(b: &[u8], at: usize) -> usize {
    u16::from_le_bytes([b[at], b[at + 1]]) as usize
}

fn u32le(b: &[u8], at: usize) -> usize {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize
}

/// (EOCD offset, CD offset, CD size) of an APK without a comment.
pub fn eocd(b: &[u8]) -> (usize, usize, usize) {
    let e = b.len() - 22;
    assert_eq!(&b[e..e + 4], b"PK\x05\x06", "EOCD expected at the end");
    (e, u32le(b, e + 16), u32le(b, e + 12))
}

/// (signing block start, CD offset) when there is a block.
pub fn signing_block(b: &[u8]) -> Option<(usize, usize)> {
    let (_, cd, _) = eocd(b);
    if cd < 24 || &b[cd - 16..cd] != b"APK Sig Block 42" {
        return None;
    }
    let size = u64::from_le_bytes(b[cd - 24..cd - 16].try_into().ok()?) as usize;
    Some((cd - size - 8, cd))
}

/// The value of the ID-value pair `id` in the signing block: (offset, len).
pub fn block_pair(b: &[u8], id: u32) -> Option<(usize, usize)> {
    let (start, cd) = signing_block(b)?;
    let mut pos = start + 8;
    while pos + 12 <= cd - 24 {
        let len = u64::from_le_bytes(b[pos..pos + 8].try_into().ok()?) as usize;
        let pid = u32le(b, pos + 8) as u32;
        if pid == id {
            return Some((pos + 12, len - 4));
        }
        pos += 8 + len;
    }
    None
}

pub const V2: u32 = 0x7109_871a;
pub const V3: u32 = 0xf053_68c0;

/// Offset of the first signer's signed-data inside a v2/v3 block value.
pub fn signed_data(b: &[u8], id: u32) -> Option<(usize, usize)> {
    let (v, _) = block_pair(b, id)?;
    // signers (len) -> signer (len) -> signed data (len)
    let sd = v + 4 + 4 + 4;
    Some((sd, u32le(b, v + 8)))
}

/// Data offset and length of a named entry, from the CD and its local header.
pub fn entry_data(b: &[u8], name: &str) -> Option<(usize, usize)> {
    let (_, cd, size) = eocd(b);
    let mut p = cd;
    while p < cd + size {
        let (nl, xl, cl) = (u16le(b, p + 28), u16le(b, p + 30), u16le(b, p + 32));
        let n = &b[p + 46..p + 46 + nl];
        if n == name.as_bytes() {
            let lfh = u32le(b, p + 42);
            let data = lfh + 30 + u16le(b, lfh + 26) + u16le(b, lfh + 28);
            return Some((data, u32le(b, p + 20)));
        }
        p += 46 + nl + xl + cl;
    }
    None
}

/// Offset of the `i`th central directory record.
pub fn cd_record(b: &[u8], i: usize) -> usize {
    let (_, cd, _) = eocd(b);
    let mut p = cd;
    for _ in 0..i {
        p += 46 + u16le(b, p + 28) + u16le(b, p + 30) + u16le(b, p + 32);
    }
    p
}

/// The APK without its signing block (EOCD offset fixed): what a tool that
/// rewrites the ZIP, or an attacker downgrading to v1, produces.
pub fn strip_block(b: &[u8]) -> Vec<u8> {
    let (start, cd) = signing_block(b).expect("a signing block");
    let mut out = b[..start].to_vec();
    out.extend_from_slice(&b[cd..]);
    let e = out.len() - 22;
    out[e + 16..e + 20].copy_from_slice(&(start as u32).to_le_bytes());
    out
}

pub fn flip(mut b: Vec<u8>, at: usize) -> Vec<u8> {
    b[at] ^= 0x01;
    b
}

pub struct Tmp(pub tempfile::TempDir);

impl Tmp {
    pub fn new() -> Tmp {
        Tmp(tempfile::tempdir().expect("temp dir"))
    }

    pub fn write(&self, name: &str, data: &[u8]) -> PathBuf {
        let p = self.0.path().join(name);
        std::fs::write(&p, data).expect("write temp file");
        p
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
}

pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}
