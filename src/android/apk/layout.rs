//! The APK's ZIP layout as the platform judges it, beyond apksig's verdict:
//!
//! - **Alignment.** Android refuses to install an app targeting API 30+
//!   whose `resources.arsc` is compressed or not 4-byte aligned
//!   (INSTALL_PARSE_FAILED_RESOURCES_ARSC_COMPRESSED), and, with
//!   `extractNativeLibs="false"`, a native library that is compressed or not
//!   on a 4 KiB page (the package manager maps it straight from the APK;
//!   INSTALL_FAILED_INVALID_APK). Those are errors. Any other misaligned
//!   uncompressed entry is a warning: it installs, but is copied into RAM
//!   instead of mapped, and Google Play rejects unaligned uploads. 16 KiB pages
//!   are `apk-page-misaligned`.
//! - **Data before the first entry.** Bytes in front of the first local header
//!   are not covered by v1 signatures: the Janus pattern (CVE-2017-13156).

use serde_json::json;

use crate::diag::{Code, Finding, Severity};
use crate::zip::android::{self as zip, CdRecord};
use crate::zip::{Source, ZipError};

const SDK_R: i32 = 30;
/// Google Play requires 16 KiB page support from this targetSdkVersion.
const SDK_16K_PAGES: i32 = 35;
/// The page a library must start on to be mapped from the APK.
const PAGE: u64 = 4096;
const RESOURCES_ARSC: &str = "resources.arsc";

/// What the manifest says that alignment depends on.
#[derive(Clone, Copy, Debug)]
pub struct Manifest {
    pub target_sdk: i32,
    /// `android:extractNativeLibs` when declared; Android's default is true.
    pub extract_native_libs: Option<bool>,
}

/// Bytes in front of the first local header.
#[derive(Clone, Debug)]
pub struct Prefix {
    pub len: u64,
    /// What they look like: a DEX file, a ZIP entry the directory does not
    /// list, another ZIP, an ELF file, or unknown.
    pub kind: String,
    /// The first bytes, for the report.
    pub head: Vec<u8>,
}

/// The bytes before the first entry, if any.
pub fn prefix(
    src: &Source,
    records: &[CdRecord],
    cd_offset: u64,
) -> Result<Option<Prefix>, ZipError> {
    let first = records
        .iter()
        .map(|r| r.lfh_offset)
        .min()
        .unwrap_or(cd_offset);
    if first == 0 {
        return Ok(None);
    }
    let head = src.read_vec(0, first.min(16))?;
    let kind = if head.starts_with(b"dex\n") {
        "a DEX file (dex\\n magic), the Janus pattern".to_string()
    } else if head.starts_with(b"PK\x03\x04") {
        orphan_entry(src, first)?
            .map(|name| format!("a ZIP entry ({name}) that the central directory does not list"))
            .unwrap_or_else(|| "another ZIP archive".to_string())
    } else if head.starts_with(b"\x7fELF") {
        "an ELF binary".to_string()
    } else if head.starts_with(b"#!") {
        "a script (#!), as in a self-extracting archive".to_string()
    } else if head.iter().all(|b| *b == 0) {
        "zero bytes".to_string()
    } else {
        "unknown data".to_string()
    };
    Ok(Some(Prefix {
        len: first,
        kind,
        head,
    }))
}

/// The name of a whole local entry at offset 0 that ends within the prefix
/// (an entry dropped from the central directory, its bytes left behind).
fn orphan_entry(src: &Source, prefix: u64) -> Result<Option<String>, ZipError> {
    if prefix < 30 {
        return Ok(None);
    }
    let h = src.read_vec(0, 30)?;
    let u16_at = |i: usize| u64::from(u16::from_le_bytes([h[i], h[i + 1]]));
    let u32_at = |i: usize| u64::from(u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]));
    let (name_len, extra_len, size) = (u16_at(26), u16_at(28), u32_at(18));
    if 30 + name_len + extra_len + size > prefix {
        return Ok(None);
    }
    let name = src.read_vec(30, name_len)?;
    Ok(Some(String::from_utf8_lossy(&name).into_owned()))
}

/// The `apk-prefix-data` finding: an error when a v1 signature decides on
/// some Android version in range (it does not cover these bytes), a warning
/// when v2/v3 cover every version.
pub fn prefix_finding(p: &Prefix, min_sdk: i32, v2plus: bool) -> Finding {
    let (severity, why) = if !v2plus {
        (
            Severity::Error,
            "the APK has no v2/v3 signature and its v1 (JAR) signature does not cover them: this is how the Janus attack (CVE-2017-13156) hides code in a signed APK".to_string(),
        )
    } else if min_sdk < 24 {
        (
            Severity::Error,
            format!("Android before 7.0 checks only the v1 (JAR) signature, which does not cover them, and the APK supports API {min_sdk}: this is how the Janus attack (CVE-2017-13156) hides code in a signed APK"),
        )
    } else {
        (
            Severity::Warning,
            "the v2/v3 signature covers them and every Android version in range checks it, but no build tool writes such bytes".to_string(),
        )
    };
    Finding::new(
        Code::ApkPrefixData,
        "",
        format!(
            "{} byte{} before the first ZIP entry, {}: {why}; rebuild the APK or strip them (zip -J) and re-sign with v2/v3",
            p.len,
            if p.len == 1 { "" } else { "s" },
            p.kind
        ),
    )
    .severity(severity)
    .detail("bytes", p.len)
    .detail("looks_like", p.kind.clone())
    .detail("head", hex::encode(&p.head))
}

fn is_native_lib(name: &str) -> bool {
    name.starts_with("lib/") && name.ends_with(".so")
}

/// ZIP structure checks beyond apksig: every local header consistent, no
/// overlapping or duplicate entries, and alignment as the platform judges it.
pub fn findings(src: &Source, records: &[CdRecord], cd_offset: u64, m: Manifest) -> Vec<Finding> {
    let mut out = Vec::new();
    let locals = match zip::layout(src, records, cd_offset) {
        Ok(l) => l,
        Err(ZipError::Io(e)) => {
            out.push(Finding::unreadable("", format!("read error: {e}")));
            return out;
        }
        Err(e) => {
            out.push(Finding::new(
                Code::ApkMalformed,
                "",
                format!("{e}: rebuild the APK with the standard build tools"),
            ));
            return out;
        }
    };
    let target = m.target_sdk;
    let no_extract = m.extract_native_libs == Some(false);
    // Install failures, one finding per entry (each is a reason on its own).
    let mut refused = |name: &str, msg: String| {
        out.push(
            Finding::new(Code::ApkMisaligned, "", msg)
                .severity(Severity::Error)
                .subject(name.to_string()),
        );
    };
    let mut misaligned = Vec::new();
    let mut pages = Vec::new();
    for (r, l) in records.iter().zip(&locals) {
        let arsc = r.name == RESOURCES_ARSC && target >= SDK_R;
        let mapped_lib = is_native_lib(&r.name) && no_extract;
        if r.is_compressed() {
            if arsc {
                refused(&r.name, format!("resources.arsc is compressed; apps targeting API {target} (30+) must store it uncompressed and 4-byte aligned or Android 11+ refuses to install them (INSTALL_PARSE_FAILED_RESOURCES_ARSC_COMPRESSED): build with it stored (AGP default) and zipalign before signing"));
            } else if mapped_lib {
                refused(&r.name, format!("{} is compressed, but extractNativeLibs=\"false\" makes Android load it straight from the APK, so the install fails (INSTALL_FAILED_INVALID_APK): store native libraries uncompressed and page-aligned (zipalign -p 4), or set extractNativeLibs=\"true\"", r.name));
            }
            continue;
        }
        if arsc && l.data_offset % 4 != 0 {
            refused(&r.name, format!("resources.arsc starts at offset {}, not on 4 bytes; apps targeting API {target} (30+) must store it 4-byte aligned or Android 11+ refuses to install them: zipalign -p 4 before signing", l.data_offset));
            continue;
        }
        if mapped_lib && l.data_offset % PAGE != 0 {
            refused(&r.name, format!("{} starts at offset {}, not on a 4 KiB page, and extractNativeLibs=\"false\" makes Android map it from the APK, so the install fails (INSTALL_FAILED_INVALID_APK): zipalign -p 4 (page-aligns .so files) before signing", r.name, l.data_offset));
            continue;
        }
        if l.data_offset % 4 != 0 {
            misaligned.push((r.name.clone(), l.data_offset));
        }
        if is_native_lib(&r.name) && l.data_offset % 16384 != 0 {
            pages.push((r.name.clone(), l.data_offset));
        }
    }
    let list = |v: &[(String, u64)]| {
        v.iter()
            .take(50)
            .map(|(n, o)| json!({"entry": n, "offset": o}))
            .collect::<Vec<_>>()
    };
    let names = |v: &[(String, u64)]| {
        let mut s = v
            .iter()
            .take(3)
            .map(|(n, o)| format!("{n} at {o}"))
            .collect::<Vec<_>>()
            .join(", ");
        if v.len() > 3 {
            s.push_str(&format!(" and {} more", v.len() - 3));
        }
        s
    };
    if !misaligned.is_empty() {
        out.push(
            Finding::new(
                Code::ApkMisaligned,
                "",
                format!(
                    "{} uncompressed entr{} not 4-byte aligned ({}): Android installs it, but copies such entries into memory instead of mapping them, and Google Play rejects APKs that are not zip-aligned; run zipalign -p 4 before signing",
                    misaligned.len(),
                    if misaligned.len() == 1 { "y is" } else { "ies are" },
                    names(&misaligned)
                ),
            )
            .severity(Severity::Warning)
            .detail("entries", list(&misaligned)),
        );
    }
    if !pages.is_empty() {
        let sev = if target >= SDK_16K_PAGES {
            Severity::Warning
        } else {
            Severity::Info
        };
        out.push(
            Finding::new(
                Code::ApkPageMisaligned,
                "",
                format!(
                    "{} uncompressed native librar{} not on a 16 KiB boundary ({}): align with zipalign -P 16 (build-tools 35+) before signing{}",
                    pages.len(),
                    if pages.len() == 1 { "y is" } else { "ies are" },
                    names(&pages),
                    if target >= SDK_16K_PAGES {
                        String::new()
                    } else {
                        format!(" (required by Google Play once targetSdk reaches {SDK_16K_PAGES}; it is {target})")
                    }
                ),
            )
            .severity(sev)
            .detail("entries", list(&pages)),
        );
    }
    out
}
