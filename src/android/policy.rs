//! What is wrong with an Android keystore, alias by alias: validity, Google
//! Play's 2033 rule, weak keys and digests, the debug key, duplicate aliases,
//! key/certificate mismatch and passwords. Checks emit findings and one
//! `keystore-entry` item per alias; severities and exit codes are decided
//! centrally (`diag::Code`, `Report::apply`).

use std::path::Path;

use rayon::prelude::*;

use super::keystore::{
    self, Entry, EntryKind, Integrity, KeyError, Keystore, OpenError, StoreType,
};
use crate::at;
use crate::crypto::{Hash, KeyKind, SigAlg};
use crate::diag::{Code, Finding, Item, ItemKind, Report, Severity};
use crate::keys::PrivateKey;
use crate::secret::Secret;
use crate::x509::{self, Cert};

// The run's context (src/context.rs) carries the instant, the horizon and Play's date.
pub use crate::context::{Ctx, PLAY_MIN_VALIDITY};

/// Keystores are small; anything bigger is not one (and is not read whole).
const MAX_KEYSTORE_BYTES: u64 = 16 << 20;

/// How to open one keystore and which aliases to check.
#[derive(Clone, Copy, Debug, Default)]
pub struct Open<'a> {
    /// Forces the format (`--ks-type`); sniffed from the content otherwise.
    pub ks_type: Option<StoreType>,
    /// `None`: no password was given.
    pub store_pass: Option<&'a Secret>,
    /// Where the store password came from (`env:KS_PASS`), never its value.
    pub store_source: Option<&'a str>,
    /// Defaults to the store password, as keytool does.
    pub key_pass: Option<&'a Secret>,
    pub key_source: Option<&'a str>,
    /// Aliases to check (case-insensitive); empty: all.
    pub aliases: &'a [String],
}

/// A private-key entry's certificate: what an APK signed with this alias must carry.
#[derive(Clone, Debug)]
pub struct Signer {
    pub file: String,
    pub alias: String,
    pub cert: Cert,
}

/// Reads and checks one keystore file. Returns the certificates of the checked
/// private-key entries (the expected APK signers).
pub fn check_file(path: &Path, open: &Open, ctx: &Ctx, report: &mut Report) -> Vec<Signer> {
    let file = path.display().to_string();
    let data = match std::fs::metadata(path) {
        Ok(m) if m.len() > MAX_KEYSTORE_BYTES => {
            report.push(Finding::unreadable(
                &file,
                format!("{file} is {} bytes, too large to be a keystore", m.len()),
            ));
            return Vec::new();
        }
        Ok(_) => match std::fs::read(path) {
            Ok(d) => d,
            Err(e) => {
                report.push(Finding::unreadable(
                    &file,
                    format!("cannot read {file}: {e}"),
                ));
                return Vec::new();
            }
        },
        Err(e) => {
            report.push(Finding::unreadable(
                &file,
                format!("cannot read {file}: {e}"),
            ));
            return Vec::new();
        }
    };
    check_bytes(&file, &data, open, ctx, report)
}

/// [`check_file`] over bytes already read.
pub fn check_bytes(
    file: &str,
    data: &[u8],
    open: &Open,
    ctx: &Ctx,
    report: &mut Report,
) -> Vec<Signer> {
    let store_type = match open
        .ks_type
        .map(Ok)
        .unwrap_or_else(|| keystore::detect(data))
    {
        Ok(t) => t,
        Err(e) => {
            report.push(open_error(file, &e, open));
            return Vec::new();
        }
    };
    match keystore::open(data, store_type, open.store_pass.map(Secret::expose)) {
        Ok(ks) => check_keystore(file, &ks, open, ctx, report),
        Err(e) => {
            report.push(open_error(file, &e, open));
            Vec::new()
        }
    }
}

fn open_error(file: &str, e: &OpenError, open: &Open) -> Finding {
    match e {
        OpenError::WrongStorePassword { given: true } => Finding::new(
            Code::KeystorePasswordWrong,
            file,
            format!(
                "the keystore password{} is wrong, or {file} was modified (keytool: \"Keystore was tampered with, or password was incorrect\"); check --ks-pass",
                open.store_source.map(|s| format!(" (from {s})")).unwrap_or_default()
            ),
        )
        .detail("password", "store"),
        OpenError::WrongStorePassword { given: false } => Finding::new(
            Code::KeystorePasswordWrong,
            file,
            format!("{file} needs a keystore password and none was given; pass --ks-pass env:VAR, file:PATH or stdin"),
        )
        .detail("password", "store"),
        OpenError::Unsupported(m) => Finding::new(Code::KeystoreUnsupported, file, format!("{file}: {m}")),
        OpenError::Malformed(m) => Finding::unreadable(file, format!("{file}: {m}")),
    }
}

/// Checks an opened keystore: duplicate aliases, requested aliases, then each entry.
pub fn check_keystore(
    file: &str,
    ks: &Keystore,
    open: &Open,
    ctx: &Ctx,
    report: &mut Report,
) -> Vec<Signer> {
    if ks.integrity == Integrity::Unchecked {
        report.push(Finding::new(
            Code::KeystoreIntegrityUnchecked,
            file,
            format!("no keystore password given: {file}'s certificates were read but its integrity and private keys were not checked; pass --ks-pass"),
        ));
    }
    let dups = keystore::duplicate_aliases(ks);
    for (alias, n) in &dups {
        report.push(
            Finding::new(
                Code::KeystoreDuplicateAlias,
                file,
                format!("alias \"{alias}\" occurs {n} times; Java tools silently keep only the last one, so rebuild the keystore with unique aliases"),
            )
            .subject(alias.as_str())
            .detail("count", *n),
        );
    }
    let wanted: Vec<String> = open.aliases.iter().map(|a| a.to_lowercase()).collect();
    for (want, given) in wanted.iter().zip(open.aliases) {
        if !ks.entries.iter().any(|e| e.alias.to_lowercase() == *want) {
            let all: Vec<&str> = ks.entries.iter().map(|e| e.alias.as_str()).collect();
            report.push(
                Finding::new(
                    Code::KeystoreAliasMissing,
                    file,
                    format!(
                        "{file} has no alias \"{given}\" (it has: {}); pass one of those to --alias",
                        if all.is_empty() { "no entries".to_string() } else { all.join(", ") }
                    ),
                )
                .subject(given.as_str())
                .detail("aliases", all),
            );
        }
    }
    let mut selected: Vec<(&Entry, String)> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for entry in &ks.entries {
        let lower = entry.alias.to_lowercase();
        if !wanted.is_empty() && !wanted.contains(&lower) {
            continue;
        }
        seen.push(lower.clone());
        // Tell duplicates apart in subjects: "my_alias (2 of 2)".
        let subject = match dups.iter().find(|(a, _)| *a == lower) {
            Some((_, n)) => {
                let k = seen.iter().filter(|s| **s == lower).count();
                format!("{} ({k} of {n})", entry.alias)
            }
            None => entry.alias.clone(),
        };
        selected.push((entry, subject));
    }
    // Unlocking a JCEKS key costs 400 000 MD5 rounds: entries run on every core,
    // and their findings are merged back in keystore order.
    let results: Vec<(Report, Option<Signer>)> = selected
        .par_iter()
        .map(|(entry, subject)| {
            let mut r = Report::default();
            let s = check_entry(file, ks, entry, subject, open, ctx, &mut r);
            (r, s)
        })
        .collect();
    let mut signers = Vec::new();
    for (r, s) in results {
        report.extend(r);
        signers.extend(s);
    }
    signers
}

fn check_entry(
    file: &str,
    ks: &Keystore,
    entry: &Entry,
    subject: &str,
    open: &Open,
    ctx: &Ctx,
    report: &mut Report,
) -> Option<Signer> {
    let mut item = Item::new(ItemKind::KeystoreEntry, file)
        .subject(subject)
        .fact("alias", entry.alias.as_str())
        .fact("type", entry.kind.name())
        .fact("keystore_type", ks.store_type.name())
        .fact(
            "integrity",
            match ks.integrity {
                Integrity::Verified => "verified",
                Integrity::Unchecked => "unchecked",
            },
        );
    if let Some(t) = entry.created {
        item = item.fact("created", at::rfc3339(t));
    }
    let certs = match &entry.kind {
        EntryKind::PrivateKey { chain, .. } => chain.as_slice(),
        EntryKind::TrustedCert { cert } => std::slice::from_ref(cert),
        EntryKind::SecretKey(sk) => {
            check_secret(file, ks, sk, subject, open, item, report);
            return None;
        }
    };
    let parsed: Result<Vec<Cert>, String> = certs.iter().map(|d| Cert::from_der(d)).collect();
    let chain = match parsed {
        Ok(c) if !c.is_empty() => c,
        Ok(_) => {
            report.push(
                Finding::unreadable(
                    file,
                    format!("{file}: private key entry \"{subject}\" has no certificate"),
                )
                .subject(subject),
            );
            return None;
        }
        Err(e) => {
            report.push(
                Finding::unreadable(file, format!("{file}: certificate of \"{subject}\": {e}"))
                    .subject(subject),
            );
            return None;
        }
    };
    let leaf = &chain[0];
    item = item
        .not_after(leaf.not_after)
        .fact("subject", leaf.subject.as_str())
        .fact("issuer", leaf.issuer.as_str())
        .fact("serial", leaf.serial_hex.as_str())
        .fact("sha256", leaf.sha256.as_str())
        .fact("sha1", leaf.sha1.as_str())
        .fact("not_before", at::rfc3339(leaf.not_before))
        .fact("not_after", at::rfc3339(leaf.not_after))
        .fact("key", leaf.key.to_string())
        .fact("signature_algorithm", sig_alg_name(&leaf.signature_oid))
        .fact("chain_length", chain.len());

    let is_key = matches!(entry.kind, EntryKind::PrivateKey { .. });
    let advice = if is_key {
        (
            "rotate to a new key (wrapsign rotate, or Play App Signing's key upgrade)",
            "plan the key rotation now",
        )
    } else {
        (
            "remove or replace this trusted certificate",
            "replace it before then",
        )
    };
    if let Some(f) = x509::validity_finding(
        leaf,
        subject,
        file,
        ctx.at,
        &ctx.horizon,
        (
            Code::KeystoreCertExpired,
            Code::KeystoreCertNotYetValid,
            Code::KeystoreCertExpiring,
        ),
        advice,
    ) {
        report.push(f);
    }
    if let EntryKind::PrivateKey { key, .. } = &entry.kind {
        signing_key_checks(file, leaf, subject, ctx, report);
        item = check_private_key(file, ks, key, leaf, subject, open, item, report);
    }
    report.item(item);
    is_key.then(|| Signer {
        file: file.to_string(),
        alias: entry.alias.clone(),
        cert: leaf.clone(),
    })
}

/// The checks of a private-key entry, for a signing identity that does not come
/// from a keystore (`--key` + `--cert`): validity, Google Play's rule, weak key
/// or digest, the debug key, and that the key belongs to the certificate.
pub fn check_signing_identity(
    file: &str,
    subject: &str,
    leaf: &Cert,
    key: &PrivateKey,
    ctx: &Ctx,
    report: &mut Report,
) {
    if let Some(f) = x509::validity_finding(
        leaf,
        subject,
        file,
        ctx.at,
        &ctx.horizon,
        (
            Code::KeystoreCertExpired,
            Code::KeystoreCertNotYetValid,
            Code::KeystoreCertExpiring,
        ),
        (
            "rotate to a new key (wrapsign rotate, or Play App Signing's key upgrade)",
            "plan the key rotation now",
        ),
    ) {
        report.push(f);
    }
    signing_key_checks(file, leaf, subject, ctx, report);
    if !key.matches(leaf) {
        report.push(
            Finding::new(
                Code::KeystoreKeyMismatch,
                file,
                format!(
                    "the private key ({}) is not the key of the certificate \"{}\" ({}); pass the certificate that belongs to the key",
                    key.kind(),
                    leaf.name(),
                    leaf.key
                ),
            )
            .subject(subject)
            .detail("certificate_sha256", leaf.sha256.as_str()),
        );
    }
}

/// Rules for certificates of keys that sign apps.
fn signing_key_checks(file: &str, c: &Cert, subject: &str, ctx: &Ctx, report: &mut Report) {
    let min = ctx.play_min_validity;
    if c.not_after.to_offset(time::UtcOffset::UTC).date()
        <= min.to_offset(time::UtcOffset::UTC).date()
    {
        report.push(
            Finding::new(
                Code::KeystoreValidityTooShort,
                file,
                format!(
                    "\"{subject}\" is valid until {}, but Google Play needs validity past {}; create the key with -validity 10000, or --warn keystore-validity-too-short for keys that never go to Play",
                    at::day(c.not_after),
                    at::day(min)
                ),
            )
            .subject(subject)
            .detail("not_after", at::rfc3339(c.not_after))
            .detail("required_after", at::day(min)),
        );
    }
    report
        .findings
        .extend(key_findings(file, c, subject, &format!("\"{subject}\"")));
    let alg = sig_alg_name(&c.signature_oid);
    let severity = match weak_digest(&c.signature_oid) {
        Some(Hash::Md5) => Some(Severity::Error),
        Some(_) => Some(Severity::Warning),
        None => None,
    };
    if let Some(sev) = severity {
        report.push(
            Finding::new(
                Code::WeakDigest,
                file,
                format!(
                    "the certificate of \"{subject}\" is signed with {alg}; re-issue it with SHA-256 (keytool -selfcert -sigalg SHA256with{} keeps the key)",
                    match c.key {
                        KeyKind::Ec { .. } => "ECDSA",
                        KeyKind::Dsa { .. } => "DSA",
                        _ => "RSA",
                    }
                ),
            )
            .severity(sev)
            .subject(subject)
            .detail("signature_algorithm", alg),
        );
    }
}

/// The rules for any certificate that signs apps, keystore alias or APK signer
/// alike: `weak-key` (RSA under 2048 bits, DSA) and `debug-certificate`.
/// `who` names the certificate in messages ("\"alias\"", "the v1 signer CN=...").
pub fn key_findings(file: &str, c: &Cert, subject: &str, who: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    let weak = match c.key {
        KeyKind::Rsa { bits } if bits < 2048 => Some(format!("an RSA {bits}-bit key")),
        KeyKind::Dsa { bits } => Some(format!("a DSA {bits}-bit key (DSA is deprecated)")),
        _ => None,
    };
    if let Some(what) = weak {
        out.push(
            Finding::new(
                Code::WeakKey,
                file,
                format!("{who} has {what}; create an RSA 3072+ or EC P-256 key and rotate to it (wrapsign rotate)"),
            )
            .subject(subject)
            .detail("key", c.key.to_string()),
        );
    }
    if is_debug_certificate(c) {
        out.push(
            Finding::new(
                Code::DebugCertificate,
                file,
                format!(
                    "{who} is the Android debug key ({}); sign releases with the release keystore",
                    c.subject
                ),
            )
            .subject(subject),
        );
    }
    out
}

/// `CN=Android Debug, O=Android`: the key Android Studio makes per machine.
pub fn is_debug_certificate(c: &Cert) -> bool {
    c.common_name.as_deref() == Some("Android Debug")
        && c.organization.as_deref() == Some("Android")
}

/// MD5 (and MD2, reported as MD5) or SHA-1 in a certificate signature.
fn weak_digest(sig_oid: &str) -> Option<Hash> {
    if sig_oid == "1.2.840.113549.1.1.2" {
        return Some(Hash::Md5);
    }
    match SigAlg::from_oid(sig_oid, None)?.hash() {
        h @ (Hash::Md5 | Hash::Sha1) => Some(h),
        _ => None,
    }
}

/// Java's name for a certificate signature algorithm: SHA256withRSA, SHA1withDSA...
pub fn sig_alg_name(oid: &str) -> String {
    let java = |h: Hash| h.name().replace('-', "");
    match oid {
        "1.2.840.113549.1.1.2" => return "MD2withRSA".into(),
        "1.2.840.113549.1.1.10" => return "RSASSA-PSS".into(),
        "1.3.101.112" => return "Ed25519".into(),
        _ => {}
    }
    match SigAlg::from_oid(oid, None) {
        Some(SigAlg::RsaPkcs1(h)) => format!("{}withRSA", java(h)),
        Some(SigAlg::Ecdsa(h)) => format!("{}withECDSA", java(h)),
        Some(SigAlg::Dsa(h)) => format!("{}withDSA", java(h)),
        Some(SigAlg::RsaPss { .. }) => "RSASSA-PSS".into(),
        None => oid.to_string(),
    }
}

/// The password to unlock entries: `--key-pass`, else the store password.
fn key_password<'a>(open: &Open<'a>) -> (Option<&'a Secret>, bool) {
    match open.key_pass {
        Some(k) => (Some(k), true),
        None => (open.store_pass, false),
    }
}

fn key_password_finding(file: &str, subject: &str, e: &KeyError, open: &Open) -> Finding {
    let (_, explicit) = key_password(open);
    // Only the non-ASCII case adds something to "wrong".
    let why = match e {
        KeyError::NonAsciiPassword => " (JCEKS key passwords are printable ASCII only)",
        _ => "",
    };
    let msg = if explicit {
        format!(
            "the key password{} does not unlock \"{subject}\"{why}; check --key-pass",
            open.key_source
                .map(|s| format!(" (from {s})"))
                .unwrap_or_default()
        )
    } else {
        format!("the keystore password does not unlock \"{subject}\"{why}: its key has its own password; pass it with --key-pass")
    };
    Finding::new(Code::KeystorePasswordWrong, file, msg)
        .subject(subject)
        .detail("password", "key")
}

/// The finding for a key that could not be unlocked, and the item fact saying so.
fn locked(
    file: &str,
    subject: &str,
    what: &str,
    e: &KeyError,
    open: &Open,
) -> (Finding, &'static str) {
    match e {
        KeyError::WrongPassword | KeyError::NonAsciiPassword => {
            (key_password_finding(file, subject, e, open), "locked (wrong key password)")
        }
        KeyError::Unsupported(m) => (
            Finding::new(
                Code::KeystoreUnsupported,
                file,
                format!("the {what} of \"{subject}\" cannot be read ({m}); keytool cannot read it either"),
            )
            .subject(subject),
            "unsupported",
        ),
        KeyError::Malformed(m) => (
            Finding::unreadable(file, format!("{file}: {what} of \"{subject}\": {m}")).subject(subject),
            "malformed",
        ),
    }
}

#[allow(clippy::too_many_arguments)]
fn check_private_key(
    file: &str,
    ks: &Keystore,
    key: &keystore::ProtectedKey,
    leaf: &Cert,
    subject: &str,
    open: &Open,
    item: Item,
    report: &mut Report,
) -> Item {
    let (pw, explicit) = key_password(open);
    if ks.integrity == Integrity::Unchecked && !explicit {
        return item.fact("private_key", "not checked (no password)");
    }
    let pkcs8 = match key.recover(pw.map(Secret::expose).unwrap_or("")) {
        Ok(k) => k,
        Err(e) => {
            let (f, fact) = locked(file, subject, "private key", &e, open);
            report.push(f);
            return item.fact("private_key", fact);
        }
    };
    match PrivateKey::from_pkcs8_der(&pkcs8) {
        Ok(k) if k.matches(leaf) => item.fact("private_key", "matches certificate"),
        Ok(k) => {
            report.push(
                Finding::new(
                    Code::KeystoreKeyMismatch,
                    file,
                    format!(
                        "the private key of \"{subject}\" ({}) is not the key of its certificate \"{}\" ({}); re-import the key with its own certificate",
                        k.kind(),
                        leaf.name(),
                        leaf.key
                    ),
                )
                .subject(subject)
                .detail("certificate_sha256", leaf.sha256.as_str()),
            );
            item.fact("private_key", "does not match certificate")
        }
        Err(m) => {
            report.push(
                Finding::new(
                    Code::KeystoreUnsupported,
                    file,
                    format!("cannot check that the private key of \"{subject}\" matches its certificate: {m}"),
                )
                .severity(Severity::Warning)
                .subject(subject),
            );
            item.fact("private_key", "unsupported key type")
        }
    }
}

fn check_secret(
    file: &str,
    ks: &Keystore,
    sk: &keystore::SecretKey,
    subject: &str,
    open: &Open,
    item: Item,
    report: &mut Report,
) {
    let (pw, explicit) = key_password(open);
    let item = if ks.integrity == Integrity::Unchecked && !explicit {
        item.fact("secret_key", "not checked (no password)")
    } else {
        match sk.unseal(pw.map(Secret::expose).unwrap_or("")) {
            // Only the algorithm and size: the key itself never leaves this function.
            Ok(info) => item
                .fact("algorithm", info.algorithm)
                .fact("key_bits", info.key.len() * 8),
            Err(e) => {
                let (f, fact) = locked(file, subject, "secret key", &e, open);
                report.push(f);
                item.fact("secret_key", fact)
            }
        }
    };
    report.item(item);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_signature_names_and_weak_digests() {
        assert_eq!(sig_alg_name("1.2.840.113549.1.1.11"), "SHA256withRSA");
        assert_eq!(sig_alg_name("1.2.840.113549.1.1.4"), "MD5withRSA");
        assert_eq!(sig_alg_name("1.2.840.10040.4.3"), "SHA1withDSA");
        assert_eq!(sig_alg_name("1.2.840.10045.4.3.2"), "SHA256withECDSA");
        assert_eq!(weak_digest("1.2.840.113549.1.1.4"), Some(Hash::Md5));
        assert_eq!(weak_digest("1.2.840.113549.1.1.2"), Some(Hash::Md5));
        assert_eq!(weak_digest("1.2.840.113549.1.1.5"), Some(Hash::Sha1));
        assert_eq!(weak_digest("1.2.840.10045.4.1"), Some(Hash::Sha1));
        assert_eq!(weak_digest("1.2.840.113549.1.1.11"), None);
    }
}
