//! `wrapsign bundle DIR`: builds the `.zip` Endpoint Management's bulk upload
//! takes (every `DEVICE_ID.p12` of a folder plus the credentials file), checks
//! the written bytes exactly as `wrapsign verify upload.zip` would, and only
//! then puts it (and the request body and delete list) in place. While an error
//! finding remains nothing is written: every output goes to a temporary file
//! next to its destination and is renamed over it at the end.
//!
//! The zip is reproducible: entries sorted by name, stored (a .p12 is encrypted,
//! so it does not compress), a fixed 1980-01-01 timestamp, the credentials file
//! last. It holds passwords, so it is written with mode 0600, like the temporary
//! file it starts as.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use zeroize::Zeroizing;

use super::bulk::{self, Credentials, IdType};
use crate::atomic::AtomicFile;
use crate::diag::{Item, ItemKind, Report};
use crate::ios::Ctx;
use crate::outcome::{Disk, Judge, Outcome};
use crate::secret::Secret;

/// Where the passwords come from.
#[derive(Debug)]
pub enum Passwords {
    /// A credentials text file (`DEVICE_ID.p12=password` lines), copied byte for byte.
    File(PathBuf),
    /// One password for every certificate (`--password SPEC`), already read.
    One(Secret),
}

/// A `wrapsign bundle` run, independent of the command line.
#[derive(Debug)]
pub struct Request {
    pub dir: PathBuf,
    pub passwords: Passwords,
    /// The credentials file's name inside the zip (the request's `credentialFileName`).
    pub credentials_name: String,
    pub id_type: IdType,
    pub out: PathBuf,
    /// Where to write the bulk upload request body (JSON).
    pub request: Option<PathBuf>,
    /// Where to write the device ids, one per line, for bulk deletion.
    pub delete_list: Option<PathBuf>,
}

/// The body of Endpoint Management's bulk certificate upload request, in its
/// documented field order.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadRequest<'a> {
    pub alias: &'a str,
    pub use_as: &'a str,
    pub upload_type: &'a str,
    pub keystore_type: &'a str,
    pub identity_type: &'a str,
    pub credential_file_name: &'a str,
}

impl<'a> UploadRequest<'a> {
    pub fn new(id_type: IdType, credentials_name: &'a str) -> Self {
        UploadRequest {
            alias: "",
            use_as: "device",
            upload_type: "keystore",
            keystore_type: "PKCS12",
            identity_type: id_type.request_name(),
            credential_file_name: credentials_name,
        }
    }
}

/// A usage problem found before anything was read: exit 2.
#[derive(Debug, PartialEq, Eq)]
pub struct UsageError(pub String);

/// A file name that can stand in a zip's root and a request body.
fn valid_entry_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\', '\0'])
        && !bulk::is_p12_name(name)
}

/// The `.p12`/`.pfx` files of the folder (not its subfolders), by name.
fn device_files(req: &Request) -> Result<Vec<(String, PathBuf)>, UsageError> {
    let dir = req.dir.display();
    let rd =
        std::fs::read_dir(&req.dir).map_err(|e| UsageError(format!("cannot read {dir}: {e}")))?;
    let creds = match &req.passwords {
        Passwords::File(p) => p.canonicalize().ok(),
        Passwords::One(_) => None,
    };
    let mut out = Vec::new();
    for e in rd {
        let e = e.map_err(|e| UsageError(format!("cannot read {dir}: {e}")))?;
        let path = e.path();
        let Some(name) = e.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if !bulk::is_p12_name(&name) || !path.is_file() {
            continue;
        }
        if creds.is_some() && path.canonicalize().ok() == creds {
            continue;
        }
        out.push((name, path));
    }
    out.sort();
    if out.is_empty() {
        return Err(UsageError(format!(
            "{dir} holds no .p12 files: wrapsign bundle packs the DEVICE_ID.p12 files of one folder"
        )));
    }
    Ok(out)
}

fn read_limited(path: &Path, limit: u64) -> Result<Zeroizing<Vec<u8>>, UsageError> {
    let shown = path.display();
    let f =
        std::fs::File::open(path).map_err(|e| UsageError(format!("cannot read {shown}: {e}")))?;
    let mut data = Zeroizing::new(Vec::new());
    f.take(limit + 1)
        .read_to_end(&mut data)
        .map_err(|e| UsageError(format!("cannot read {shown}: {e}")))?;
    if data.len() as u64 > limit {
        return Err(UsageError(format!(
            "{shown} is over {limit} bytes: too large for this bundle"
        )));
    }
    Ok(data)
}

/// The credentials file's bytes: the given file as is, or one line per device.
fn credentials(
    req: &Request,
    devices: &[(String, PathBuf)],
) -> Result<Zeroizing<Vec<u8>>, UsageError> {
    match &req.passwords {
        Passwords::File(p) => read_limited(p, bulk::MAX_CREDENTIALS_BYTES),
        Passwords::One(pw) => {
            if pw.expose().contains(['\n', '\r']) {
                return Err(UsageError(
                    "--password: the password holds a line break, which a credentials file cannot (the password is not shown)".into(),
                ));
            }
            let mut text = Zeroizing::new(Vec::new());
            for (name, _) in devices {
                text.extend_from_slice(name.as_bytes());
                text.push(b'=');
                text.extend_from_slice(pw.expose().as_bytes());
                text.push(b'\n');
            }
            Ok(text)
        }
    }
}

/// Writes the zip into `w`: devices sorted by name, then the credentials file.
fn write_zip<W: Write>(w: W, entries: &[(&str, &[u8])]) -> std::io::Result<W> {
    let opts = crate::zip::Options::stored().permissions(0o600);
    let mut z = crate::zip::Writer::new(w);
    for (name, data) in entries {
        z.add_bytes(name, data, &opts)?;
    }
    z.finish()
}

/// Reads the written zip back (audited, CRC checked) and compares every entry
/// with what went in.
fn read_back(path: &Path, entries: &[(&str, &[u8])]) -> Result<(), String> {
    let src = crate::zip::Source::open(path).map_err(|e| e.to_string())?;
    let z =
        crate::zip::Archive::open(src, &crate::zip::Limits::default()).map_err(|p| p.message)?;
    if z.entries().len() != entries.len() {
        return Err(format!(
            "{} entries instead of {}",
            z.entries().len(),
            entries.len()
        ));
    }
    for (name, data) in entries {
        let e = z.entry(name).ok_or_else(|| format!("{name} is missing"))?;
        let mut got = Zeroizing::new(Vec::new());
        z.reader(e)
            .and_then(|mut r| r.read_to_end(&mut got))
            .map_err(|e| format!("{name}: {e}"))?;
        if got.as_slice() != *data {
            return Err(format!("{name} reads back different"));
        }
    }
    Ok(())
}

fn staged(dest: &Path, bytes: &[u8], mode: u32) -> Result<AtomicFile, UsageError> {
    let fail = |e: std::io::Error| UsageError(format!("cannot write {}: {e}", dest.display()));
    let mut f = AtomicFile::create(dest).map_err(fail)?;
    f.write_all(bytes).map_err(fail)?;
    f.set_mode(mode).map_err(fail)?;
    Ok(f)
}

fn check_destination(p: &Path, flag: &str) -> Result<(), UsageError> {
    let parent = crate::atomic::parent_dir(p);
    if !parent.is_dir() {
        return Err(UsageError(format!(
            "{flag} {}: the folder {} does not exist",
            p.display(),
            parent.display()
        )));
    }
    if p.is_dir() {
        return Err(UsageError(format!("{flag} {} is a folder", p.display())));
    }
    Ok(())
}

/// Builds, checks and (when no error finding remains) writes the bundle.
/// `Err` is a usage error (exit 2) found before any output was staged.
pub fn run(req: &Request, ctx: &Ctx, judge: &Judge) -> Result<Outcome, UsageError> {
    if !valid_entry_name(&req.credentials_name) {
        return Err(UsageError(format!(
            "--credentials-name {:?}: give a plain file name that is not a .p12, e.g. {}",
            req.credentials_name,
            bulk::DEFAULT_CREDENTIALS_NAME
        )));
    }
    if !req.dir.is_dir() {
        return Err(UsageError(format!("{} is not a folder", req.dir.display())));
    }
    check_destination(&req.out, "--out")?;
    let outputs: Vec<(&PathBuf, &str)> = std::iter::once((&req.out, "--out"))
        .chain(req.request.iter().map(|p| (p, "--request")))
        .chain(req.delete_list.iter().map(|p| (p, "--delete-list")))
        .collect();
    for (p, flag) in &outputs[1..] {
        check_destination(p, flag)?;
    }
    for (i, (a, fa)) in outputs.iter().enumerate() {
        if outputs[..i].iter().any(|(b, _)| b == a) {
            return Err(UsageError(format!(
                "{fa} {} is also another output",
                a.display()
            )));
        }
    }

    let devices = device_files(req)?;
    // No output may overwrite an input.
    let inputs: Vec<PathBuf> = devices
        .iter()
        .map(|(_, p)| p.clone())
        .chain(match &req.passwords {
            Passwords::File(p) => Some(p.clone()),
            Passwords::One(_) => None,
        })
        .filter_map(|p| p.canonicalize().ok())
        .collect();
    for (p, flag) in &outputs {
        if p.canonicalize().is_ok_and(|c| inputs.contains(&c)) {
            return Err(UsageError(format!(
                "{flag} {} is one of the inputs",
                p.display()
            )));
        }
    }
    let mut data: Vec<(String, Zeroizing<Vec<u8>>)> = Vec::new();
    for (name, path) in &devices {
        // A device .p12 is a few kilobytes; verify refuses more than 1 MiB.
        data.push((name.clone(), read_limited(path, 1 << 20)?));
    }
    let creds = credentials(req, &devices)?;
    if devices.iter().any(|(n, _)| n == &req.credentials_name) {
        return Err(UsageError(format!(
            "--credentials-name {} is the name of a certificate",
            req.credentials_name
        )));
    }
    let mut entries: Vec<(&str, &[u8])> = data
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    entries.push((req.credentials_name.as_str(), creds.as_slice()));

    // The zip, staged next to its destination (mode 0600: it holds passwords).
    let out_shown = req.out.display().to_string();
    let fail = |e: String| UsageError(format!("cannot write {out_shown}: {e}"));
    let mut zip_file = AtomicFile::create(&req.out).map_err(|e| fail(e.to_string()))?;
    write_zip(&mut zip_file, &entries).map_err(|e| fail(e.to_string()))?;
    zip_file.flush().map_err(|e| fail(e.to_string()))?;
    read_back(zip_file.path(), &entries)
        .map_err(|e| fail(format!("the written zip does not read back: {e}")))?;

    // The same checks as `wrapsign verify upload.zip`, on the bytes written.
    let mut report = Report::default();
    let inside = Credentials::Inside(Some(req.credentials_name.clone()));
    let bundle = bulk::Bundle {
        zip: zip_file.path(),
        shown: out_shown.clone(),
        credentials: &inside,
        id_type: Some(req.id_type),
    };
    let checked = bulk::check(&bundle, ctx, &mut report);
    if judge.fails(&report) {
        // Dropping the staged file removes it: nothing is written.
        drop(zip_file);
        let nothing = Disk::Nothing {
            input: req.dir.clone(),
            dest: req.out.clone(),
            in_place: false,
        };
        return Ok(judge.finish(report, nothing));
    }

    let body = UploadRequest::new(req.id_type, &req.credentials_name);
    let mut staged_files = Vec::new();
    if let Some(p) = &req.request {
        let text = serde_json::to_string_pretty(&body).unwrap_or_default() + "\n";
        staged_files.push(staged(p, text.as_bytes(), 0o644)?);
    }
    if let Some(p) = &req.delete_list {
        let mut ids: Vec<&str> = checked.devices.iter().map(|d| d.id.as_str()).collect();
        ids.sort_unstable();
        let text: String = ids.iter().map(|id| format!("{id}\n")).collect();
        staged_files.push(staged(p, text.as_bytes(), 0o644)?);
    }
    zip_file.commit().map_err(|e| fail(e.to_string()))?;
    for f in staged_files {
        f.commit()
            .map_err(|e| UsageError(format!("cannot write: {e}")))?;
    }
    let sha256 = sha256_file(&req.out).unwrap_or_default();
    let mut item = Item::new(ItemKind::UploadBundle, &out_shown)
        .subject(bulk::file_name(&out_shown))
        .fact("devices", checked.devices.len())
        .fact("identity_type", req.id_type.request_name())
        .fact("credentials_name", req.credentials_name.as_str())
        .fact("sha256", sha256);
    if let Some(p) = &req.request {
        item = item.fact("request", p.display().to_string());
    }
    if let Some(p) = &req.delete_list {
        item = item.fact("delete_list", p.display().to_string());
    }
    report.item(item);
    Ok(judge.finish(report, Disk::Placed(req.out.clone())))
}

fn sha256_file(p: &Path) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    std::io::copy(&mut std::fs::File::open(p)?, &mut h)?;
    Ok(hex::encode(h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_body_in_documented_order() {
        let body = UploadRequest::new(IdType::Serial, "credential.txt");
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"alias":"","useAs":"device","uploadType":"keystore","keystoreType":"PKCS12","identityType":"SERIAL_NUMBER","credentialFileName":"credential.txt"}"#
        );
    }

    #[test]
    fn credentials_names() {
        assert!(valid_entry_name("credential.txt"));
        assert!(valid_entry_name("creds"));
        for bad in ["", "..", "a/b.txt", "a\\b", "x.p12"] {
            assert!(!valid_entry_name(bad), "{bad}");
        }
    }
}
