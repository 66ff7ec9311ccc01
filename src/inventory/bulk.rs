//! Bulk device certificates: a `.zip` of `DEVICE_ID.p12` files and a credentials
//! text file of `DEVICE_ID.p12=password` lines, checked as a unit (every file has
//! exactly one line and every line a file; each opens with its password; device
//! ids follow one naming scheme, IMEIs with a valid Luhn check digit; each
//! certificate is valid). The zip is read in memory with bounded sizes, never
//! extracted. Passwords never leave this module: messages cite line numbers.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use rayon::prelude::*;

use crate::android::apk::zip::Source;
use crate::archive::{self, Limits};
use crate::at::Horizon;
use crate::diag::{Code, Finding, Item, ItemKind, Report};
use crate::pkcs12::{self, P12Error};
use crate::secret::Secret;
use crate::x509::{self, Cert};

const MAX_ENTRIES: usize = 100_000;
/// A device .p12 is a few kilobytes.
const MAX_P12_BYTES: u64 = 1 << 20;
const MAX_CREDENTIALS_BYTES: u64 = 16 << 20;
/// All device files together (uncompressed), against zip bombs.
const MAX_TOTAL_BYTES: u64 = 512 << 20;

/// How a device is identified, from its file name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum IdType {
    /// 15 decimal digits, the last a Luhn check digit.
    Imei,
    /// 14 hexadecimal digits.
    Meid,
    /// Anything else.
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
}

/// The naming verdict for one device id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdCheck {
    Valid(IdType),
    /// 15 digits whose check digit is wrong: a mistyped IMEI.
    BadImei {
        expected: u8,
    },
}

impl IdCheck {
    pub fn id_type(self) -> IdType {
        match self {
            IdCheck::Valid(t) => t,
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

/// `(line, entry name, password)` for every credentials line; malformed lines
/// (no `NAME.p12=`) come back as their line numbers.
fn read_credentials(text: &str) -> (Vec<(usize, String, Secret)>, Vec<usize>) {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
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

fn is_p12_name(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    (l.ends_with(".p12") || l.ends_with(".pfx")) && l.len() > 4
}

fn base_name(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

fn device_id(name: &str) -> &str {
    let b = base_name(name);
    b.get(..b.len().saturating_sub(4)).unwrap_or(b)
}

/// A device certificate file of the bundle: its entry name and bytes.
pub type DeviceFile = (String, Vec<u8>);

/// The device files of a bundle zip, after the archive audit; `None` (with the
/// finding reported) when the archive is refused; also how many other files it
/// holds (counted, not read).
pub fn read_zip<R: Read + std::io::Seek>(
    file: &str,
    src: &Source,
    reader: R,
    limits: &Limits,
    report: &mut Report,
) -> Option<(Vec<DeviceFile>, usize)> {
    let audit = match archive::audit(src, limits) {
        Ok(a) => a,
        Err(p) => {
            report.push(p.finding(file));
            return None;
        }
    };
    if let Some(link) = audit.entries.iter().find(|e| e.is_symlink()) {
        report.push(
            Finding::new(
                Code::ArchiveUnsafe,
                file,
                format!("{file}: the entry \"{}\" is a symbolic link; a device bundle holds only certificate files: rebuild it with a standard tool", link.name.escape_debug()),
            )
            .subject(link.name.escape_debug().to_string()),
        );
        return None;
    }
    let mut zip = match zip::ZipArchive::new(reader) {
        Ok(z) => z,
        Err(e) => {
            report.push(Finding::unreadable(
                file,
                format!("{file} is not a readable zip: {e}"),
            ));
            return None;
        }
    };
    if let Err(p) = archive::same_view(&audit, &zip) {
        report.push(p.finding(file));
        return None;
    }
    if zip.len() > MAX_ENTRIES {
        report.push(Finding::unreadable(
            file,
            format!(
                "{file} has {} entries, over the {MAX_ENTRIES} limit",
                zip.len()
            ),
        ));
        return None;
    }
    let mut files: Vec<DeviceFile> = Vec::new();
    let mut total = 0u64;
    let mut skipped = 0usize;
    for i in 0..zip.len() {
        let mut entry = match zip.by_index(i) {
            Ok(e) => e,
            Err(e) => {
                report.push(Finding::unreadable(file, format!("{file}: entry {i}: {e}")));
                continue;
            }
        };
        let name = entry.name().to_string();
        let junk = name.starts_with("__MACOSX/") || base_name(&name).starts_with("._");
        if entry.is_dir() || junk || !is_p12_name(base_name(&name)) {
            if !entry.is_dir() && !junk {
                skipped += 1;
            }
            continue;
        }
        if entry.size() > MAX_P12_BYTES || total + entry.size() > MAX_TOTAL_BYTES {
            report.push(
                Finding::unreadable(file, format!("{file}: {name} expands to {} bytes, over the limit for a device certificate", entry.size()))
                    .subject(name.clone()),
            );
            continue;
        }
        let declared = entry.size();
        let mut data = Vec::new();
        if let Err(e) = entry.by_ref().take(declared + 1).read_to_end(&mut data) {
            report.push(archive::entry_damaged(file, &name, e));
            return None;
        }
        if data.len() as u64 != declared {
            report.push(archive::entry_damaged(
                file,
                &name,
                format!("{} bytes instead of the declared {declared}", data.len()),
            ));
            return None;
        }
        total += data.len() as u64;
        files.push((name, data));
    }
    Some((files, skipped))
}

/// Checks one bundle. Returns the devices (for the inventory's rows and the
/// cross-inventory key checks).
pub fn check(
    zip_path: &Path,
    credentials: &Path,
    at: time::OffsetDateTime,
    horizon: &Horizon,
    limits: &Limits,
    report: &mut Report,
) -> Vec<Device> {
    let file = zip_path.display().to_string();
    let cfile = credentials.display().to_string();
    let cname = base_name(&cfile).to_string();

    let text = match std::fs::metadata(credentials) {
        Ok(m) if m.len() > MAX_CREDENTIALS_BYTES => {
            report.push(Finding::unreadable(
                &cfile,
                format!(
                    "{cfile} is {} bytes, too large for a credentials file",
                    m.len()
                ),
            ));
            return Vec::new();
        }
        Ok(_) => match std::fs::read(credentials) {
            Ok(d) => match String::from_utf8(d) {
                Ok(t) => zeroize::Zeroizing::new(t),
                Err(_) => {
                    report.push(Finding::unreadable(
                        &cfile,
                        format!("{cfile} is not UTF-8 text"),
                    ));
                    return Vec::new();
                }
            },
            Err(e) => {
                report.push(Finding::unreadable(
                    &cfile,
                    format!("cannot read {cfile}: {e}"),
                ));
                return Vec::new();
            }
        },
        Err(e) => {
            report.push(Finding::unreadable(
                &cfile,
                format!("cannot read {cfile}: {e}"),
            ));
            return Vec::new();
        }
    };
    let (lines, malformed) = read_credentials(&text);

    // Read every device file (bounded) from the zip, in order.
    let src = match Source::open(zip_path) {
        Ok(s) => s,
        Err(e) => {
            report.push(Finding::unreadable(
                &file,
                format!("cannot read {file}: {e}"),
            ));
            return Vec::new();
        }
    };
    let reader = match std::fs::File::open(zip_path) {
        Ok(f) => std::io::BufReader::new(f),
        Err(e) => {
            report.push(Finding::unreadable(
                &file,
                format!("cannot read {file}: {e}"),
            ));
            return Vec::new();
        }
    };
    let (files, skipped) = match read_zip(&file, &src, reader, limits, report) {
        Some(f) => f,
        None => return Vec::new(),
    };

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
                .detail("credentials", cfile.as_str())
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
            .detail("credentials", cfile.as_str())
            .detail("line", *n),
        );
    }

    let mut devices: Vec<Device> = files
        .par_iter()
        .map(|(name, data)| {
            let found = by_name.get(base_name(name)).cloned().unwrap_or_default();
            let mut r = Report::default();
            let id = device_id(name).to_string();
            let id_check = classify(&id);
            let mut dev = Device {
                name: name.clone(),
                id: id.clone(),
                id_check,
                line: found.first().map(|l| l.0),
                cert: None,
            };
            match found.len() {
                0 => r.push(
                    Finding::new(
                        Code::BulkCredentialMissing,
                        &file,
                        format!("{name} has no password line in {cname}; add \"{}={{password}}\" to it", base_name(name)),
                    )
                    .subject(name.clone())
                    .detail("credentials", cfile.as_str()),
                ),
                1 => {}
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
            if let IdCheck::BadImei { expected } = id_check {
                r.push(
                    Finding::new(
                        Code::DeviceIdInvalid,
                        &file,
                        format!("{id} has 15 digits like an IMEI but its check digit is wrong (Luhn gives {expected}); the certificate will not match the device: check the IMEI"),
                    )
                    .subject(name.clone())
                    .detail("expected_check_digit", expected),
                );
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
                    at,
                    horizon,
                    (Code::CertExpired, Code::CertNotYetValid, Code::CertExpiring),
                    ("issue the device a new certificate and push it by MDM", "renew it now"),
                ) {
                    r.push(f);
                }
                dev.cert = Some(idn.cert);
            }
            let mut item = Item::new(ItemKind::DeviceCertificate, &file)
                .subject(name.clone())
                .fact("device_id", id.as_str())
                .fact("id_type", id_check.id_type().name())
                .fact("credentials", cfile.as_str());
            if let Some(l) = dev.line {
                item = item.fact("credentials_line", l);
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

    // One naming scheme per bundle: MDM imports key on one id type.
    let mut counts: BTreeMap<IdType, usize> = BTreeMap::new();
    for d in &devices {
        *counts.entry(d.id_check.id_type()).or_default() += 1;
    }
    if counts.len() > 1 {
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
    if skipped > 0 {
        report.item(
            Item::new(ItemKind::DeviceBundle, &file)
                .fact("devices", devices.len())
                .fact("other_files_skipped", skipped),
        );
    }
    devices
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
    fn credentials_lines() {
        let (ok, bad) = read_credentials("a.p12=x=y\r\n\n# c\nnot a line\nb.p12=\n");
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[0].2.expose(), "x=y");
        assert_eq!(ok[1].2.expose(), "");
        assert_eq!(bad, [4]);
    }
}
