//! Who signed an APK, judged with the same policy as a keystore's keys: every
//! certificate that signs for some Android version in the APK's SDK range
//! (each scheme's signer) and each certificate of its rotation lineage gets
//! `weak-key` and `debug-certificate`; the v1 signature's own digest gets
//! `weak-digest` (MD5 always an error, SHA-1 a warning unless the SDK range
//! needs it); expired or short-lived certificates are information only, since
//! Android never checks APK certificate dates. Also: whether the APK can
//! update an app signed by an expected certificate, directly or by rotation.

use std::collections::BTreeSet;

use time::OffsetDateTime;

use super::lineage::{capability_names, INSTALLED_DATA};
use super::v1;
use super::v2v3::{sdk_label, Lineage, StoredCert};
use super::{Options, Outcome};
use crate::android::policy;
use crate::at;
use crate::crypto::KeyKind;
use crate::diag::{Code, Finding, Report, Severity};
use crate::x509::Cert;

const SDK_N: i32 = 24;
/// First API level that verifies SHA-256 JAR signatures for RSA and EC keys.
const SDK_JB_MR2: i32 = 18;

/// One certificate and what it does in the APK.
struct Role {
    cert: StoredCert,
    /// "v1 (CERT.RSA)", "v2", "v3 (API 24..32)", "lineage 1/2".
    what: Vec<String>,
    /// Signs for some Android version in the SDK range (not only a lineage ancestor).
    signs: bool,
    /// Its capability flags, when it is an ancestor in the lineage.
    lineage_flags: Option<u32>,
}

fn roles(out: &Outcome) -> Vec<Role> {
    let mut v: Vec<Role> = Vec::new();
    let mut add = |c: &StoredCert, what: String, signs: bool, flags: Option<u32>| match v
        .iter_mut()
        .find(|r| r.cert.raw == c.raw)
    {
        Some(r) => {
            r.what.push(what);
            r.signs |= signs;
            if flags.is_some() {
                r.lineage_flags = flags;
            }
        }
        None => v.push(Role {
            cert: c.clone(),
            what: vec![what],
            signs,
            lineage_flags: flags,
        }),
    };
    if let Some(r) = &out.v1 {
        for s in &r.signers {
            if let Some(c) = s.cert() {
                add(c, format!("v1 ({})", s.name), true, None);
            }
        }
    }
    for r in [&out.v2, &out.v3, &out.v31].into_iter().flatten() {
        for s in &r.signers {
            if let Some(c) = s.cert() {
                let what = if r.scheme == super::v2v3::Scheme::V2 {
                    "v2".to_string()
                } else {
                    format!(
                        "{} (API {}..{})",
                        r.scheme.name(),
                        s.min_sdk,
                        sdk_label(s.max_sdk)
                    )
                };
                add(c, what, true, None);
            }
        }
    }
    if let Some(l) = &out.lineage {
        let n = l.nodes.len();
        for (i, node) in l.nodes.iter().enumerate() {
            // The newest node's flags mean nothing to the platform.
            let flags = (i + 1 < n).then_some(node.flags);
            add(&node.cert, format!("lineage {}/{n}", i + 1), false, flags);
        }
    }
    v
}

/// The signer policy over every certificate of a verified (or partly
/// verified) APK.
pub fn policy_findings(out: &Outcome, opts: &Options, file: &str, report: &mut Report) {
    for role in roles(out) {
        let c = &role.cert.cert;
        let who = format!("the {} signer {}", role.what.join(", "), c.name());
        let mut found = policy::key_findings(file, c, &c.subject, &who);
        if !role.signs {
            // Only a lineage ancestor: no device verifies it any more; what it
            // keeps is its capabilities.
            let caps = role
                .lineage_flags
                .map(|f| capability_names(f).join(", "))
                .unwrap_or_else(|| "none".into());
            for f in &mut found {
                if f.severity == Severity::Error {
                    f.severity = Severity::Warning;
                }
                f.notes.push(format!(
                    "it no longer signs for any Android version in the SDK range (only the lineage names it); it keeps the capabilities: {caps}"
                ));
            }
        }
        for f in found {
            report.push(
                f.detail("sha256", c.sha256.clone())
                    .detail("role", role.what.join(", ")),
            );
        }
        if role.signs {
            validity(file, c, opts, report);
        }
    }
    v1_digests(out, file, report);
}

/// Expired or short-lived: information, since Android ignores APK certificate dates.
fn validity(file: &str, c: &Cert, opts: &Options, report: &mut Report) {
    let Some(now) = opts.at else { return };
    if c.not_after < now {
        report.push(
            Finding::new(
                Code::ApkSignerCertExpired,
                file,
                format!(
                    "{} expired on {}; Android does not check APK certificate dates, so devices still install and update the app",
                    c.name(),
                    at::day(c.not_after)
                ),
            )
            .subject(c.subject.clone())
            .detail("not_after", at::rfc3339(c.not_after)),
        );
        return;
    }
    let play = opts.play_min_validity.unwrap_or(policy::PLAY_MIN_VALIDITY);
    if day(c.not_after) <= day(play) {
        report.push(
            Finding::new(
                Code::ApkSignerCertShortLived,
                file,
                format!(
                    "{} is valid until {}, before Google Play's {} for new apps; devices ignore the date",
                    c.name(),
                    at::day(c.not_after),
                    at::day(play)
                ),
            )
            .subject(c.subject.clone())
            .detail("not_after", at::rfc3339(c.not_after)),
        );
    }
}

fn day(t: OffsetDateTime) -> time::Date {
    t.to_offset(time::UtcOffset::UTC).date()
}

/// The base signature OID of a key, as JAR signature blocks name it.
fn key_oid(c: &Cert) -> Option<&'static str> {
    Some(match c.key {
        KeyKind::Rsa { .. } => "1.2.840.113549.1.1.1",
        KeyKind::Ec { .. } => "1.2.840.10045.2.1",
        KeyKind::Dsa { .. } => "1.2.840.10040.4.1",
        _ => return None,
    })
}

/// `weak-digest` on the v1 signature: MD5 always, SHA-1 unless some API level
/// where v1 decides cannot verify a SHA-256 JAR signature with this key.
fn v1_digests(out: &Outcome, file: &str, report: &mut Report) {
    let Some(r) = &out.v1 else { return };
    let v2plus = [&out.v2, &out.v3, &out.v31]
        .into_iter()
        .flatten()
        .any(|s| s.verified);
    // Where v1 is what devices check.
    let v1_max = if v2plus {
        out.max_sdk.min(SDK_N - 1)
    } else {
        out.max_sdk
    };
    for s in &r.signers {
        let Some(c) = s.cert() else { continue };
        let md5 = s.digest_alg == v1::MD5
            || matches!(
                s.sig_alg.as_str(),
                "1.2.840.113549.1.1.4" | "1.2.840.113549.1.1.2"
            );
        let sha1 = s.digest_alg == v1::SHA1
            || matches!(
                s.sig_alg.as_str(),
                "1.2.840.113549.1.1.5"
                    | "1.2.840.10040.4.3"
                    | "1.2.840.10045.4.1"
                    | "1.3.14.3.2.29"
            );
        let (severity, what) = if md5 {
            (Severity::Error, "MD5")
        } else if sha1 {
            let needed = key_oid(&c.cert).and_then(|k| {
                v1::unsupported_levels(
                    out.min_sdk,
                    v1_max,
                    &v1::supported_api_levels(v1::SHA256, k),
                )
            });
            if needed.is_some() {
                // API levels below 18 need it: the right choice, not a weakness.
                continue;
            }
            (Severity::Warning, "SHA-1")
        } else {
            continue;
        };
        report.push(
            Finding::new(
                Code::WeakDigest,
                file,
                format!(
                    "the v1 signature {} of {} uses {what} (digest {}, signature {}); Android accepts it but {what} signatures can be forged by collision{}: re-sign the APK, which uses SHA-256 from API {SDK_JB_MR2}",
                    s.name,
                    c.cert.name(),
                    oid_name(&s.digest_alg),
                    oid_name(&s.sig_alg),
                    if md5 { " and current jarsigner treats the APK as unsigned" } else { "" },
                ),
            )
            .severity(severity)
            .subject(c.cert.subject.clone())
            .detail("signature_block", s.block_entry.clone())
            .detail("digest_algorithm", s.digest_alg.clone())
            .detail("signature_algorithm", s.sig_alg.clone()),
        );
    }
}

fn oid_name(oid: &str) -> String {
    match oid {
        "1.2.840.113549.2.5" => "MD5".into(),
        "1.3.14.3.2.26" => "SHA-1".into(),
        "2.16.840.1.101.3.4.2.1" => "SHA-256".into(),
        "1.2.840.113549.1.1.1" => "RSA".into(),
        "1.2.840.10045.2.1" => "EC".into(),
        "1.2.840.10040.4.1" => "DSA".into(),
        o => policy::sig_alg_name(o),
    }
}

/// The API level from which a lineage signer applies (the lowest minSdk of
/// the v3/v3.1 signers that carry a lineage).
fn rotation_start(out: &Outcome) -> Option<i32> {
    [&out.v3, &out.v31]
        .into_iter()
        .flatten()
        .flat_map(|r| r.signers.iter())
        .filter(|s| s.lineage.is_some())
        .map(|s| s.min_sdk)
        .min()
}

/// The APK must be able to update an app signed by each expected certificate:
/// signed by it on every Android version in range, or, from the rotation SDK
/// on, by a key whose lineage descends from it with the installed-data capability.
pub fn check_expected(out: &Outcome, opts: &Options, file: &str, report: &mut Report) {
    if opts.expected_signers.is_empty() {
        return;
    }
    let mut present: Vec<&StoredCert> = Vec::new();
    // The signers of the versions before the rotation (v1, v2, and v3.0
    // signers without a lineage).
    let mut before: Vec<&StoredCert> = Vec::new();
    if let Some(r) = &out.v1 {
        before.extend(r.signers.iter().filter_map(|s| s.cert()));
    }
    if let Some(r) = &out.v2 {
        before.extend(r.signers.iter().filter_map(|s| s.cert()));
    }
    for r in [&out.v3, &out.v31].into_iter().flatten() {
        for s in &r.signers {
            if let Some(c) = s.cert() {
                present.push(c);
                if s.lineage.is_none() {
                    before.push(c);
                }
            }
        }
    }
    present.extend(before.iter().copied());
    let rotation = rotation_start(out);
    for want in &opts.expected_signers {
        let is = |c: &&StoredCert| c.raw == want.der || c.cert.der == want.der;
        let in_lineage = out
            .lineage
            .as_ref()
            .and_then(|l| l.nodes.iter().position(|n| n.cert.raw == want.der));
        match (in_lineage, rotation) {
            (Some(pos), Some(from)) => {
                rotated(out, want, pos, from, &before, file, report);
            }
            _ if present.iter().any(is) => {}
            _ => mismatch(out, want, &present, file, report),
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn rotated(
    out: &Outcome,
    want: &Cert,
    pos: usize,
    from: i32,
    before: &[&StoredCert],
    file: &str,
    report: &mut Report,
) {
    let Some(l) = &out.lineage else { return };
    let newest = l.nodes.len() - 1;
    if pos == newest {
        // The expected certificate is the newest signer itself.
        return;
    }
    let signer = l.nodes[newest].cert.cert.name().to_string();
    // Devices below the rotation SDK still compare the older schemes' signers.
    if out.min_sdk < from && !before.iter().any(|c| c.raw == want.der) {
        let actual: BTreeSet<String> = before.iter().map(|c| c.cert.name().to_string()).collect();
        report.push(
            Finding::new(
                Code::ApkSignerMismatch,
                file,
                format!(
                    "the lineage descends from {} but Android before API {from} verifies the older signatures, signed by {}: sign v1/v2 with the original key (wrapsign sign --lineage with --old-keystore/--old-key)",
                    want.name(),
                    if actual.is_empty() { "nobody".to_string() } else { actual.into_iter().collect::<Vec<_>>().join(", ") }
                ),
            )
            .subject(want.name().to_string())
            .detail("expected_sha256", want.sha256.clone()),
        );
        return;
    }
    let flags = l.nodes[pos].flags;
    let caps = capability_names(flags).join(", ");
    if flags & INSTALLED_DATA == 0 {
        report.push(
            Finding::new(
                Code::ApkSignerMismatch,
                file,
                format!(
                    "the APK's lineage descends from {} but denies it the installed-data capability ({caps}): Android {from}+ refuses to install this APK over an app signed by it; rotate again without removing installed-data",
                    want.name()
                ),
            )
            .subject(want.name().to_string())
            .detail("expected_sha256", want.sha256.clone())
            .detail("capabilities", caps),
        );
        return;
    }
    report.push(
        Finding::new(
            Code::ApkSignerRotated,
            file,
            format!(
                "signed by {signer}, whose proof-of-rotation descends from the expected {} (capabilities: {caps}): Android {from}+ installs it as an update{}",
                want.name(),
                if out.min_sdk < from {
                    format!(", older versions verify the original signature by {}", want.name())
                } else {
                    String::new()
                }
            ),
        )
        .subject(want.name().to_string())
        .detail("expected_sha256", want.sha256.clone())
        .detail("lineage", lineage_names(l))
        .detail("rotation_min_sdk", from),
    );
}

fn lineage_names(l: &Lineage) -> Vec<String> {
    l.nodes
        .iter()
        .map(|n| n.cert.cert.name().to_string())
        .collect()
}

fn mismatch(out: &Outcome, want: &Cert, present: &[&StoredCert], file: &str, report: &mut Report) {
    let mut all: Vec<&StoredCert> = present.to_vec();
    if let Some(l) = &out.lineage {
        all.extend(l.nodes.iter().map(|n| &n.cert));
    }
    let same_key = all.iter().any(|c| c.cert.spki == want.spki);
    let actual: Vec<String> = all
        .iter()
        .map(|c| {
            format!(
                "{} (SHA-256 {})",
                c.cert.name(),
                c.cert.sha256_fingerprint()
            )
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let msg = if same_key {
        format!(
            "the APK is signed with the same key as {} but a different certificate; Android compares certificates, so this update would not install over the existing app: sign with the original certificate",
            want.name()
        )
    } else if actual.is_empty() {
        format!("the APK carries no signer to compare with {}", want.name())
    } else {
        format!(
            "the APK is not signed by {} (SHA-256 {}) but by {}: an update signed with another key cannot be installed over the app; sign with the expected key or rotate from it (wrapsign rotate, then wrapsign sign --lineage)",
            want.name(),
            want.sha256_fingerprint(),
            actual.join(", ")
        )
    };
    report.push(
        Finding::new(Code::ApkSignerMismatch, file, msg)
            .subject(want.name().to_string())
            .detail("expected_sha256", want.sha256.clone()),
    );
}
