//! Bulk device certificates, as Endpoint Management's bulk upload takes them: a
//! `.zip` of `DEVICE_ID.p12` files and a credentials text file of
//! `DEVICE_ID.p12=password` lines, either inside the zip (the upload bundle) or
//! beside it (`credentials = ...` in wrapsign.toml). Checked as a unit: every
//! file has exactly one line and every line a file; each opens with its
//! password; device ids follow one identity type (IMEI with a valid Luhn check
//! digit, MEID, serial number); each certificate and the CA certificates it
//! chains through are valid. The zip is read in memory with bounded sizes, never
//! extracted. Passwords never leave this module: messages cite line numbers.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::diag::{Code, Finding, Item, ItemKind, Report};
use crate::ios::Ctx;
use crate::pkcs12::{self, P12Error};
use crate::secret::Secret;
use crate::x509::{self, build_chain, Cert, ChainResult};
use crate::zip::{audit::entry_damaged, Archive, Limits, Source};

const MAX_ENTRIES: usize = 100_000;
/// A device .p12 is a few kilobytes.
const MAX_P12_BYTES: u64 = 1 << 20;
pub const MAX_CREDENTIALS_BYTES: u64 = 16 << 20;
/// All device files together (uncompressed), against zip bombs.
const MAX_TOTAL_BYTES: u64 = 512 << 20;
/// The credentials file name Endpoint Management's documentation uses, and the
/// default when a zip holds several text files.
pub const DEFAULT_CREDENTIALS_NAME: &str = "credential.txt";

/// How a device is identified, from its file name (the request's `identityType`).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum IdType {
    /// 15 decimal digits, the last a Luhn check digit
    Imei,
    /// 14 hexadecimal digits
    Meid,
    /// The device's serial number (letters and digits)
    Serial,
}

impl IdType {
    pub fn name(self) -> &'static str {
        match self {
            IdType::Imei => "IMEI",
            IdType::Meid => "MEID",
            IdType::Serial => "serial number",
        }
    }

    /// The value of `identityType` in the bulk upload request.
    pub fn request_name(self) -> &'static str {
        match self {
            IdType::Imei => "IMEI",
            IdType::Meid => "MEID",
            IdType::Serial => "SERIAL_NUMBER",
        }
    }
}

/// The naming verdict for one device id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdCheck {
    Valid(IdType),
    /// 15 digits whose check digit is wrong: a mistyped IMEI.
    BadImei {
        expected: u8,
    },
    /// Not of the identity type the bundle declares.
    NotOfType(IdType),
}

impl IdCheck {
    pub fn id_type(self) -> IdType {
        match self {
            IdCheck::Valid(t) | IdCheck::NotOfType(t) => t,
            IdCheck::BadImei { .. } => IdType::Imei,
        }
    }
}

/// The Luhn check digit for a string of decimal digits (the IMEI body).
pub fn luhn_check_digit(body: &str) -> Option<u8> {
    let mut sum = 0u32;
    // Doubling starts with the digit next to the (absent) check digit.
    for (i, ch) in body.chars().rev().enumerate() {
        let mut d = ch.to_digit(10)?;
        if i % 2 == 0 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    Some(((10 - sum % 10) % 10) as u8)
}

/// What a device id is, from its shape alone.
pub fn classify(id: &str) -> IdCheck {
    if id.len() == 15 && id.bytes().all(|b| b.is_ascii_digit()) {
        let expected = luhn_check_digit(&id[..14]).unwrap_or(0);
        let actual = id.as_bytes()[14] - b'0';
        return if actual == expected {
            IdCheck::Valid(IdType::Imei)
        } else {
            IdCheck::BadImei { expected }
        };
    }
    if id.len() == 14 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return IdCheck::Valid(IdType::Meid);
    }
    IdCheck::Valid(IdType::Serial)
}

/// A device id checked against the identity type the bundle declares.
pub fn check_id(id: &str, want: Option<IdType>) -> IdCheck {
    let seen = classify(id);
    match want {
        None => seen,
        Some(IdType::Imei) => match seen {
            IdCheck::Valid(IdType::Imei) | IdCheck::BadImei { .. } => seen,
            _ => IdCheck::NotOfType(IdType::Imei),
        },
        Some(IdType::Meid) if seen == IdCheck::Valid(IdType::Meid) => seen,
        Some(IdType::Serial)
            if !id.is_empty()
                && id.len() <= 64
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
        {
            IdCheck::Valid(IdType::Serial)
        }
        Some(t) => IdCheck::NotOfType(t),
    }
}

/// Where the passwords of a bundle are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// A text file beside the zip (`credentials = ...` in wrapsign.toml).
    File(PathBuf),
    /// Inside the zip: the entry of this name, or by default the only text
    /// file, else `credential.txt`.
    Inside(Option<String>),
}

/// One bundle to check.
#[derive(Clone, Debug)]
pub struct Bundle<'a> {
    pub zip: &'a Path,
    /// How findings name the zip (the `--out` path while a bundle is being built).
    pub shown: String,
    pub credentials: &'a Credentials,
    /// The declared identity type; `None`: inferred from the names.
    pub id_type: Option<IdType>,
}

/// One device of the bundle, as checked.
#[derive(Clone, Debug)]
pub struct Device {
    /// The entry name in the zip.
    pub name: String,
    pub id: String,
    pub id_check: IdCheck,
    /// Line of its password in the credentials file.
    pub line: Option<usize>,
    pub cert: Option<Cert>,
}

/// What a bundle check learnt, besides its findings.
#[derive(Clone, Debug, Default)]
pub struct Checked {
    pub devices: Vec<Device>,
    /// The credentials file, as rows show it (`credential.txt in upload.zip`).
    pub credentials: Option<String>,
    /// The one identity type of the bundle (declared, or the names' when they agree).
    pub id_type: Option<IdType>,
}

/// `(line, entry name, password)` for every credentials line; malformed lines
/// (no `NAME.p12=`) come back as their line numbers.
fn read_credentials(text: &str) -> (Vec<(usize, String, Secret)>, Vec<usize>) {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    // A UTF-8 byte order mark (Windows editors) is not part of the first name.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        match line.split_once('=') {
            // Passwords may contain '='; file names do not.
            Some((name, pw)) if is_p12_name(name.trim()) => {
                ok.push((i + 1, name.trim().to_string(), Secret::new(pw)))
            }
            _ => bad.push(i + 1),
        }
    }
    (ok, bad)
}

// What a device bundle looks like is decided with every other kind of file, in sniff.rs.
use crate::sniff::is_junk;
pub use crate::sniff::{base_name, device_bundle as sniff, is_p12_name};

/// `356938035643809.p12` -> `356938035643809`.
pub fn device_id(name: &str) -> &str {
    let b = base_name(name);
    b.get(..b.len().saturating_sub(4)).unwrap_or(b)
}

/// Text, as a credentials file is: UTF-8 without NUL bytes.
fn is_text(data: &[u8]) -> bool {
    !data.contains(&0) && std::str::from_utf8(data).is_ok()
}

/// A device certificate file of the bundle: its entry name and bytes.
pub type DeviceFile = (String, Vec<u8>);

/// What a bundle zip holds, read after the archive audit.
#[derive(Debug, Default)]
pub struct Contents {
    /// `.p12`/`.pfx` entries, in zip order.
    pub devices: Vec<DeviceFile>,
    /// Other small entries that are text: credentials candidates.
    pub texts: Vec<(String, zeroize::Zeroizing<Vec<u8>>)>,
    /// Other entries (names only).
    pub others: Vec<String>,
}

/// The files of a bundle zip, after the archive audit; `None` (with the finding
/// reported) when the archive is refused.
pub fn read_zip(file: &str, src: Source, limits: &Limits, report: &mut Report) -> Option<Contents> {
    let zip = match Archive::open(src, limits) {
        Ok(a) => a,
        Err(p) => {
            report.push(p.finding(file));
            return None;
        }
    };
    if let Some(link) = zip.entries().iter().find(|e| e.is_symlink()) {
        report.push(
            Finding::new(
                Code::ArchiveUnsafe,
                file,
                format!("{file}: the entry \"{}\" is a symbolic link; a device bundle holds only certificate files and their credentials: rebuild it with a standard tool (or wrapsign bundle)", link.name.escape_debug()),
            )
            .subject(link.name.escape_debug().to_string()),
        );
        return None;
    }
    if zip.entries().len() > MAX_ENTRIES {
        report.push(Finding::unreadable(
            file,
            format!(
                "{file} has {} entries, over the {MAX_ENTRIES} limit",
                zip.entries().len()
            ),
        ));
        return None;
    }
    let mut out = Contents::default();
    let mut total = 0u64;
    for entry in zip.entries() {
        let name = entry.name.clone();
        if entry.is_dir() || is_junk(&name) {
            continue;
        }
        let device = is_p12_name(base_name(&name));
        let limit = if device {
            MAX_P12_BYTES
        } else {
            MAX_CREDENTIALS_BYTES
        };
        if entry.size > limit || total + entry.size > MAX_TOTAL_BYTES {
            if device {
                report.push(
                    Finding::unreadable(file, format!("{file}: {name} expands to {} bytes, over the limit for a device certificate", entry.size))
                        .subject(name.clone()),
                );
            } else {
                out.others.push(name);
            }
            continue;
        }
        // The reader stops at the declared size and checks it and the CRC.
        let mut data = zeroize::Zeroizing::new(Vec::with_capacity(entry.size as usize));
        if let Err(e) = zip.reader(entry).and_then(|mut r| r.read_to_end(&mut data)) {
            report.push(entry_damaged(file, &name, e));
            return None;
        }
        total += data.len() as u64;
        if device {
            out.devices.push((name, data.to_vec()));
        } else if is_text(&data) {
            out.texts.push((name, data));
        } else {
            out.others.push(name);
        }
    }
    Some(out)
}

/// Which text entry of a zip holds the credentials (see [`Credentials::Inside`]),
/// or the finding that says why none can be chosen.
fn choose_inside<'c>(
    file: &str,
    contents: &'c Contents,
    name: Option<&str>,
) -> Result<&'c (String, zeroize::Zeroizing<Vec<u8>>), Finding> {
    let texts = &contents.texts;
    let listed = |v: &[&str]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    let names: Vec<&str> = texts.iter().map(|(n, _)| n.as_str()).collect();
    if let Some(want) = name {
        return texts
            .iter()
            .find(|(n, _)| n == want || base_name(n) == want)
            .ok_or_else(|| {
                Finding::new(
                    Code::BulkCredentialsFileMissing,
                    file,
                    format!(
                        "{file} holds no credentials file named {want} (its text files: {}); add it to the zip, or name the right one",
                        listed(&names)
                    ),
                )
                .detail("credentials_name", want)
                .detail("text_files", names.clone())
            });
    }
    match texts.as_slice() {
        [only] => Ok(only),
        [] => Err(Finding::new(
            Code::BulkCredentialsFileMissing,
            file,
            format!(
                "{file} holds {} device certificates but no credentials text file (DEVICE_ID.p12=password lines); add {DEFAULT_CREDENTIALS_NAME} to the zip (wrapsign bundle writes it), or give its credentials file in wrapsign.toml (credentials = ...)",
                contents.devices.len()
            ),
        )),
        several => several
            .iter()
            .find(|(n, _)| base_name(n) == DEFAULT_CREDENTIALS_NAME)
            .ok_or_else(|| {
                Finding::new(
                    Code::BulkCredentialsFileAmbiguous,
                    file,
                    format!(
                        "{file} holds {} text files ({}) and none is {DEFAULT_CREDENTIALS_NAME}: which one holds the passwords is ambiguous; remove the others, or name it with --credentials-name (credentials_name in wrapsign.toml) and in the request's credentialFileName",
                        several.len(),
                        names.join(", ")
                    ),
                )
                .detail("text_files", names.clone())
            }),
    }
}

/// Reads a credentials file beside the zip, bounded; the finding on failure.
fn read_beside(cfile: &str, path: &Path) -> Result<zeroize::Zeroizing<String>, Finding> {
    let fail = |e: String| Finding::unreadable(cfile, e);
    match std::fs::metadata(path) {
        Ok(m) if m.len() > MAX_CREDENTIALS_BYTES => Err(fail(format!(
            "{cfile} is {} bytes, too large for a credentials file",
            m.len()
        ))),
        Ok(_) => {
            let d = std::fs::read(path).map_err(|e| fail(format!("cannot read {cfile}: {e}")))?;
            String::from_utf8(d)
                .map(zeroize::Zeroizing::new)
                .map_err(|_| fail(format!("{cfile} is not UTF-8 text")))
        }
        Err(e) => Err(fail(format!("cannot read {cfile}: {e}"))),
    }
}

fn rule(t: IdType) -> &'static str {
    match t {
        IdType::Imei => "15 digits, the last a Luhn check digit",
        IdType::Meid => "14 hexadecimal digits",
        IdType::Serial => "letters, digits and dashes",
    }
}

/// The validity of the CA certificates a device certificate chains through (in
/// its .p12, or known to the run: trust roots and the inventory's CAs).
fn check_chain(file: &str, name: &str, leaf: &Cert, others: &[Cert], ctx: &Ctx, r: &mut Report) {
    let mut pool = others.to_vec();
    pool.extend(ctx.trust.intermediates.iter().cloned());
    let chain = match build_chain(leaf, &pool, &ctx.trust.anchors) {
        ChainResult::Trusted(c) => c,
        ChainResult::Untrusted { partial, .. } => partial,
    };
    for ca in chain.iter().skip(1) {
        let days = crate::at::days_until(ctx.at, ca.not_after);
        if ca.not_after < ctx.at {
            r.push(
                Finding::new(
                    Code::CertIssuerRetired,
                    file,
                    format!(
                        "{name} chains through \"{}\", which expired on {}; issue the device a certificate under a current CA",
                        ca.name(),
                        crate::at::day(ca.not_after)
                    ),
                )
                .subject(name)
                .detail("issuer", ca.subject.as_str())
                .detail("issuer_not_after", crate::at::rfc3339(ca.not_after)),
            );
        } else if days < ctx.horizon.warn_days {
            let (sev, reminder) =
                crate::diag::expiring(Code::ChainCertExpiring, &ctx.horizon, days);
            r.push(
                Finding::new(
                    Code::ChainCertExpiring,
                    file,
                    format!(
                        "{name} chains through \"{}\", which expires on {} (in {days} days){reminder}; re-issue the device certificates under the CA's renewed certificate",
                        ca.name(),
                        crate::at::day(ca.not_after)
                    ),
                )
                .severity(sev)
                .subject(name)
                .detail("issuer", ca.subject.as_str())
                .detail("issuer_not_after", crate::at::rfc3339(ca.not_after))
                .detail("days_left", days),
            );
        }
    }
}

/// Checks one bundle: its credentials, every device certificate, the naming.
/// Pushes findings and one item per device plus one for the bundle.
pub fn check(b: &Bundle, ctx: &Ctx, report: &mut Report) -> Checked {
    let file = b.shown.clone();
    let mut out = Checked::default();

    let src = match Source::open(b.zip) {
        Ok(s) => s,
        Err(e) => {
            report.push(Finding::unreadable(
                &file,
                format!("cannot read {file}: {e}"),
            ));
            return out;
        }
    };
    let Some(contents) = read_zip(&file, src, &ctx.archive, report) else {
        return out;
    };

    // The credentials text, its name in messages, and how rows show it.
    let creds: Option<(zeroize::Zeroizing<String>, String, String)> = match b.credentials {
        Credentials::File(p) => {
            let cfile = p.display().to_string();
            match read_beside(&cfile, p) {
                Ok(t) => Some((t, base_name(&cfile).to_string(), format!("file:{cfile}"))),
                Err(f) => {
                    report.push(f);
                    None
                }
            }
        }
        Credentials::Inside(name) => match choose_inside(&file, &contents, name.as_deref()) {
            Ok((n, data)) => Some((
                zeroize::Zeroizing::new(String::from_utf8_lossy(data).into_owned()),
                n.clone(),
                format!("{n} in {file}"),
            )),
            Err(f) => {
                report.push(f);
                None
            }
        },
    };
    out.credentials = creds.as_ref().map(|c| c.2.clone());
    let (lines, malformed) = match &creds {
        Some((text, _, _)) => read_credentials(text),
        None => (Vec::new(), Vec::new()),
    };
    let cname = creds.as_ref().map(|c| c.1.clone()).unwrap_or_default();
    let cshown = out.credentials.clone().unwrap_or_default();
    let files = &contents.devices;

    // Pair files and lines, by base name (a zip may put the files in a folder).
    let mut by_name: BTreeMap<&str, Vec<&(usize, String, Secret)>> = BTreeMap::new();
    for l in &lines {
        by_name.entry(base_name(&l.1)).or_default().push(l);
    }
    for l in &lines {
        if !files.iter().any(|(n, _)| base_name(n) == base_name(&l.1)) {
            report.push(
                Finding::new(
                    Code::BulkCredentialOrphan,
                    &file,
                    format!("line {} of {cname} is for {}, which is not in {file}; remove the line or add the certificate", l.0, l.1),
                )
                .subject(l.1.clone())
                .detail("credentials", cshown.as_str())
                .detail("line", l.0),
            );
        }
    }
    for n in &malformed {
        report.push(
            Finding::new(
                Code::BulkCredentialOrphan,
                &file,
                format!("line {n} of {cname} is not of the form DEVICE_ID.p12=password (the line is not shown); fix or remove it"),
            )
            .subject(format!("{cname}:{n}"))
            .detail("credentials", cshown.as_str())
            .detail("line", *n),
        );
    }

    let have_creds = creds.is_some();
    let mut devices: Vec<Device> = files
        .par_iter()
        .map(|(name, data)| {
            let found = by_name.get(base_name(name)).cloned().unwrap_or_default();
            let mut r = Report::default();
            let id = device_id(name).to_string();
            let id_check = check_id(&id, b.id_type);
            let mut dev = Device {
                name: name.clone(),
                id: id.clone(),
                id_check,
                line: found.first().map(|l| l.0),
                cert: None,
            };
            match found.len() {
                0 if have_creds => r.push(
                    Finding::new(
                        Code::BulkCredentialMissing,
                        &file,
                        format!("{name} has no password line in {cname}; add \"{}={{password}}\" to it", base_name(name)),
                    )
                    .subject(name.clone())
                    .detail("credentials", cshown.as_str()),
                ),
                0 | 1 => {}
                n => r.push(
                    Finding::new(
                        Code::BulkCredentialDuplicate,
                        &file,
                        format!(
                            "{name} has {n} password lines in {cname} (lines {}); keep exactly one",
                            found.iter().map(|l| l.0.to_string()).collect::<Vec<_>>().join(", ")
                        ),
                    )
                    .subject(name.clone())
                    .detail("lines", found.iter().map(|l| l.0).collect::<Vec<_>>()),
                ),
            }
            match id_check {
                IdCheck::BadImei { expected } => r.push(
                    Finding::new(
                        Code::DeviceIdInvalid,
                        &file,
                        format!("{id} has 15 digits like an IMEI but its check digit is wrong (Luhn gives {expected}); the certificate will not match the device: check the IMEI"),
                    )
                    .subject(name.clone())
                    .detail("expected_check_digit", expected),
                ),
                IdCheck::NotOfType(t) => r.push(
                    Finding::new(
                        Code::DeviceIdInvalid,
                        &file,
                        format!("{id} is not an {} ({}), the identity type of this bundle; the certificate will not match its device: rename the file and its line, or declare the right identity type", t.name(), rule(t)),
                    )
                    .subject(name.clone())
                    .detail("identity_type", t.request_name()),
                ),
                IdCheck::Valid(_) => {}
            }
            // The first line whose password opens it (duplicates were reported).
            let mut opened = None;
            let mut wrong = Vec::new();
            for l in &found {
                match pkcs12::read_identity(data, l.2.expose()) {
                    Ok(idn) => {
                        dev.line = Some(l.0);
                        opened = Some(idn);
                        break;
                    }
                    Err(P12Error::WrongPassword) => wrong.push(l.0),
                    Err(e) => {
                        r.push(Finding::unreadable(&file, format!("{file}: {name}: {e}")).subject(name.clone()));
                        wrong.clear();
                        break;
                    }
                }
            }
            if opened.is_none() && !wrong.is_empty() {
                r.push(
                    Finding::new(
                        Code::BulkPasswordWrong,
                        &file,
                        format!(
                            "{name} does not open with the password on line {} of {cname}; fix that line (the password is not shown)",
                            wrong.iter().map(|l| l.to_string()).collect::<Vec<_>>().join(", ")
                        ),
                    )
                    .subject(name.clone())
                    .detail("lines", wrong.clone()),
                );
            }
            if let Some(idn) = opened {
                if idn.key.is_none() {
                    r.push(
                        Finding::new(Code::CertKeyMissing, &file, format!("{name} holds no private key; the device cannot authenticate with it"))
                            .subject(name.clone()),
                    );
                } else if idn.orphan_key {
                    r.push(
                        Finding::new(Code::CertKeyMismatch, &file, format!("the private key in {name} does not belong to its certificate"))
                            .subject(name.clone()),
                    );
                }
                if let Some(f) = x509::validity_finding(
                    &idn.cert,
                    name,
                    &file,
                    ctx.at,
                    &ctx.horizon,
                    (Code::CertExpired, Code::CertNotYetValid, Code::CertExpiring),
                    ("issue the device a new certificate and push it by MDM", "renew it now"),
                ) {
                    r.push(f);
                }
                check_chain(&file, name, &idn.cert, &idn.others, ctx, &mut r);
                dev.cert = Some(idn.cert);
            }
            let mut item = Item::new(ItemKind::DeviceCertificate, &file)
                .subject(name.clone())
                .fact("device_id", id.as_str())
                .fact("id_type", id_check.id_type().name())
                .fact("credentials", cshown.as_str());
            if let Some(l) = dev.line {
                let source = match b.credentials {
                    Credentials::File(p) => format!("file:{}:{l}", p.display()),
                    Credentials::Inside(_) => format!("{cname}:{l} in {file}"),
                };
                item = item
                    .fact("credentials_line", l)
                    .fact("password_source", source);
            }
            if let Some(c) = &dev.cert {
                item = item
                    .not_after(c.not_after)
                    .fact("certificate", c.subject.as_str())
                    .fact("serial", c.serial_hex.as_str())
                    .fact("sha256", c.sha256.as_str())
                    .fact("not_before", crate::at::rfc3339(c.not_before))
                    .fact("not_after", crate::at::rfc3339(c.not_after));
            }
            r.item(item);
            (dev, r)
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|(d, r)| {
            report.extend(r);
            d
        })
        .collect();
    devices.sort_by(|a, b| a.name.cmp(&b.name));

    // One naming scheme per bundle: the upload keys on one identity type.
    let mut counts: BTreeMap<IdType, usize> = BTreeMap::new();
    for d in &devices {
        *counts.entry(d.id_check.id_type()).or_default() += 1;
    }
    out.id_type = b.id_type.or_else(|| match counts.len() {
        1 => counts.keys().next().copied(),
        _ => None,
    });
    if b.id_type.is_none() && counts.len() > 1 {
        let (&major, _) = counts
            .iter()
            .max_by_key(|(t, n)| (**n, std::cmp::Reverse(**t)))
            .unwrap_or((&IdType::Serial, &0));
        let odd: Vec<&str> = devices
            .iter()
            .filter(|d| d.id_check.id_type() != major)
            .map(|d| d.id.as_str())
            .collect();
        report.push(
            Finding::new(
                Code::DeviceIdMixed,
                &file,
                format!(
                    "{file} mixes device id types ({}); most are {} but {} {} not: {}{}; use one naming scheme per bundle",
                    counts.iter().map(|(t, n)| format!("{n} {}", t.name())).collect::<Vec<_>>().join(", "),
                    major.name(),
                    odd.len(),
                    if odd.len() == 1 { "is" } else { "are" },
                    odd.iter().take(5).copied().collect::<Vec<_>>().join(", "),
                    if odd.len() > 5 { ", ..." } else { "" }
                ),
            )
            .detail("counts", counts.iter().map(|(t, n)| (t.name().to_string(), serde_json::Value::from(*n))).collect::<serde_json::Map<_, _>>()),
        );
    }
    let mut item = Item::new(ItemKind::DeviceBundle, &file)
        .subject(file_name(&file))
        .fact("devices", devices.len())
        .fact("identity_type", out.id_type.map(IdType::request_name));
    if let Some(c) = &out.credentials {
        item = item.fact("credentials", c.as_str());
    }
    let mut other: Vec<&str> = contents.others.iter().map(String::as_str).collect();
    other.extend(
        contents
            .texts
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| matches!(b.credentials, Credentials::File(_)) || *n != cname),
    );
    if !other.is_empty() {
        item = item.fact("other_files", other);
    }
    report.item(item);
    out.devices = devices;
    out
}

/// The name a bundle item is shown by: its zip's file name.
pub(crate) fn file_name(shown: &str) -> String {
    std::path::Path::new(shown)
        .file_name()
        .map_or_else(|| shown.to_string(), |n| n.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imei_meid_serial() {
        assert_eq!(classify("490154203237518"), IdCheck::Valid(IdType::Imei));
        assert_eq!(
            classify("490154203237519"),
            IdCheck::BadImei { expected: 8 }
        );
        assert_eq!(classify("A0000012345678"), IdCheck::Valid(IdType::Meid));
        assert_eq!(classify("C02XK1ABJG5H"), IdCheck::Valid(IdType::Serial));
        assert_eq!(luhn_check_digit("35693803564380"), Some(9));
    }

    #[test]
    fn declared_identity_types() {
        let imei = Some(IdType::Imei);
        assert_eq!(
            check_id("490154203237518", imei),
            IdCheck::Valid(IdType::Imei)
        );
        assert_eq!(
            check_id("490154203237519", imei),
            IdCheck::BadImei { expected: 8 }
        );
        assert_eq!(
            check_id("A0000012345678", imei),
            IdCheck::NotOfType(IdType::Imei)
        );
        let meid = Some(IdType::Meid);
        assert_eq!(
            check_id("A0000012345678", meid),
            IdCheck::Valid(IdType::Meid)
        );
        assert_eq!(
            check_id("490154203237518", meid),
            IdCheck::NotOfType(IdType::Meid)
        );
        let serial = Some(IdType::Serial);
        assert_eq!(
            check_id("C02XK1ABJG5H", serial),
            IdCheck::Valid(IdType::Serial)
        );
        assert_eq!(
            check_id("C02 XK1", serial),
            IdCheck::NotOfType(IdType::Serial)
        );
    }

    #[test]
    fn credentials_lines() {
        let (ok, bad) = read_credentials("\u{feff}a.p12=x=y\r\n\n# c\nnot a line\nb.p12=\n");
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[0].1, "a.p12");
        assert_eq!(ok[0].2.expose(), "x=y");
        assert_eq!(ok[1].2.expose(), "");
        assert_eq!(bad, [4]);
    }

    fn contents(texts: &[&str]) -> Contents {
        Contents {
            devices: vec![("1.p12".into(), Vec::new())],
            texts: texts
                .iter()
                .map(|n| (n.to_string(), zeroize::Zeroizing::new(Vec::new())))
                .collect(),
            others: Vec::new(),
        }
    }

    #[test]
    fn which_text_file_holds_the_credentials() {
        let pick = |texts: &[&str], name: Option<&str>| {
            choose_inside("b.zip", &contents(texts), name)
                .map(|(n, _)| n.clone())
                .map_err(|f| f.code)
        };
        assert_eq!(pick(&["creds.txt"], None), Ok("creds.txt".into()));
        assert_eq!(
            pick(&["a.txt", "credential.txt"], None),
            Ok("credential.txt".into())
        );
        assert_eq!(
            pick(&["a.txt", "b.txt"], None),
            Err(Code::BulkCredentialsFileAmbiguous)
        );
        assert_eq!(pick(&[], None), Err(Code::BulkCredentialsFileMissing));
        assert_eq!(pick(&["a.txt", "b.txt"], Some("b.txt")), Ok("b.txt".into()));
        assert_eq!(pick(&["dir/b.txt"], Some("b.txt")), Ok("dir/b.txt".into()));
        assert_eq!(
            pick(&["a.txt"], Some("b.txt")),
            Err(Code::BulkCredentialsFileMissing)
        );
    }
}
