//! `wrapsign verify DIR`: finds signing material and apps in a folder by content
//! (never by extension), as inventory entries. App bundles are not descended
//! into; unknown files are counted and skipped.

use std::path::{Path, PathBuf};

use super::bulk::{self, Credentials};
use super::{AppSpec, CertSpec, DevicesSpec, Entry, KeystoreSpec, Origin, ProfileSpec, What};
use crate::diag::{Finding, Severity};
use crate::sniff::{self, Kind};

/// What a scan found.
#[derive(Debug, Default)]
pub struct Scan {
    pub entries: Vec<Entry>,
    /// Files that are none of the things wrapsign checks.
    pub skipped: usize,
    /// Unreadable files and folders: warnings, a scan goes on without them.
    pub warnings: Vec<Finding>,
}

/// Credentials files are small text files; bigger ones are not looked at.
const MAX_CREDENTIALS_PROBE: u64 = 1 << 20;

pub fn scan(dir: &Path) -> Scan {
    let mut out = Scan::default();
    let mut zips: Vec<PathBuf> = Vec::new();
    let mut texts: Vec<PathBuf> = Vec::new();
    let mut walker = walkdir::WalkDir::new(dir)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter();
    while let Some(e) = walker.next() {
        let e = match e {
            Ok(e) => e,
            Err(err) => {
                let p = err
                    .path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| dir.display().to_string());
                out.warnings.push(
                    Finding::unreadable(&p, format!("cannot read {p}: {err}; skipped"))
                        .severity(Severity::Warning),
                );
                continue;
            }
        };
        let path = e.path().to_path_buf();
        if e.file_type().is_dir() {
            if e.depth() > 0 && sniff::sniff_path(&path).is_ok_and(|k| k == Kind::AppDir) {
                walker.skip_current_dir();
                out.entries.push(entry(What::App(app(path))));
            }
            continue;
        }
        if !e.file_type().is_file() {
            continue;
        }
        let kind = match sniff::sniff_path(&path) {
            Ok(k) => k,
            Err(err) => {
                let p = path.display().to_string();
                out.warnings.push(
                    Finding::unreadable(&p, format!("cannot read {p}: {err}; skipped"))
                        .severity(Severity::Warning),
                );
                continue;
            }
        };
        match kind {
            Kind::Pkcs12 | Kind::PemCertificate | Kind::DerCertificate => {
                out.entries.push(entry(What::Certificate(CertSpec {
                    class: None,
                    file: path,
                    password: None,
                    key: None,
                    team_id: None,
                    topic: None,
                    hosts: Vec::new(),
                })))
            }
            Kind::Cms => out.entries.push(entry(What::Profile(ProfileSpec {
                file: path,
                certificate: None,
            }))),
            Kind::Jks | Kind::Jceks | Kind::Bks => {
                out.entries.push(entry(What::Keystore(KeystoreSpec {
                    file: path,
                    password: None,
                    key_password: None,
                    aliases: Vec::new(),
                    store_type: None,
                })))
            }
            Kind::Ipa | Kind::Apk => out.entries.push(entry(What::App(app(path)))),
            Kind::Zip => zips.push(path),
            _ => {
                if e.metadata().is_ok_and(|m| m.len() <= MAX_CREDENTIALS_PROBE) {
                    texts.push(path);
                } else {
                    out.skipped += 1;
                }
            }
        }
    }
    // A zip of .p12 files is a device bundle. With other files inside, its
    // credentials file is one of them (the upload bundle); otherwise it is a text
    // file beside it whose lines name its entries.
    let mut used_texts = Vec::new();
    for z in zips {
        let Some((p12, others)) = bulk::sniff(&z) else {
            out.skipped += 1;
            continue;
        };
        if !others.is_empty() {
            out.entries.push(entry(What::Devices(DevicesSpec {
                zip: z,
                credentials: Credentials::Inside(None),
                id_type: None,
            })));
            continue;
        }
        let names: Vec<String> = p12.iter().map(|n| bulk::base_name(n).to_string()).collect();
        let creds = texts
            .iter()
            .filter(|t| t.parent() == z.parent())
            .find(|t| credentials_for(t, &names));
        match creds {
            Some(c) => {
                used_texts.push(c.clone());
                out.entries.push(entry(What::Devices(DevicesSpec {
                    zip: z,
                    credentials: Credentials::File(c.clone()),
                    id_type: None,
                })));
            }
            None => {
                let p = z.display().to_string();
                out.warnings.push(
                    Finding::unreadable(&p,
                        format!("{p} holds device certificates but no credentials file (DEVICE_ID.p12=password lines) was found beside it; skipped"),
                    )
                    .severity(Severity::Warning),
                );
            }
        }
    }
    out.skipped += texts.iter().filter(|t| !used_texts.contains(t)).count();
    out
}

fn entry(what: What) -> Entry {
    Entry {
        name: None,
        origin: Origin::Scan,
        description: None,
        owner: None,
        notes: None,
        what,
    }
}

fn app(file: PathBuf) -> AppSpec {
    AppSpec {
        file,
        certificate: None,
        profiles: Vec::new(),
        keystore: None,
        alias: None,
    }
}

/// Whether a text file's first meaningful line is `NAME.p12=...` for one of `names`.
fn credentials_for(path: &Path, names: &[String]) -> bool {
    let Ok(data) = std::fs::read(path) else {
        return false;
    };
    let text = zeroize::Zeroizing::new(String::from_utf8_lossy(&data).into_owned());
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .and_then(|l| l.split_once('='))
        .is_some_and(|(n, _)| names.iter().any(|x| x == n.trim()))
}
