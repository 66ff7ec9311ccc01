//! Folder scans (`wrapsign verify DIR`, `wrapsign inventory DIR`): every file
//! is classified by content ([`crate::material::classify`], the rule of every
//! route) into inventory entries. App bundles are not descended into; files
//! that are not signing material are counted and skipped, and so are files no
//! given password opens (reported one line each).

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{entry_for, Entry, EntryOpts, Origin};
use crate::diag::{Finding, Severity};
use crate::material::{self, Material, Tries};
use crate::secret::Unlock;

/// What a scan found.
#[derive(Debug, Default)]
pub struct Scan {
    pub entries: Vec<Entry>,
    /// Files that are none of the things wrapsign checks.
    pub skipped: usize,
    /// Files no given password opens (they are entries, reported as skipped).
    pub locked: usize,
    /// Unreadable folders and incomplete device bundles: warnings, a scan goes on without them.
    pub warnings: Vec<Finding>,
    /// Files looked at.
    pub files: usize,
}

fn warning(path: &str, msg: String) -> Finding {
    Finding::unreadable(path, msg).severity(Severity::Warning)
}

/// Scans `dir`; `tries` are the run's passwords, `key` its `--key-pass`.
pub fn scan(dir: &Path, tries: &Tries, key: Option<&Unlock>) -> Scan {
    let mut out = Scan::default();
    let mut paths: Vec<PathBuf> = Vec::new();
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
                out.warnings
                    .push(warning(&p, format!("cannot read {p}: {err}; skipped")));
                continue;
            }
        };
        let path = e.path().to_path_buf();
        if e.file_type().is_dir() {
            let is_app = e.depth() > 0
                && crate::sniff::sniff_path(&path).is_ok_and(|k| k == crate::sniff::Kind::AppDir);
            if is_app {
                walker.skip_current_dir();
                paths.push(path);
            }
            continue;
        }
        if e.file_type().is_file() {
            paths.push(path);
        }
    }
    out.files = paths.len();
    // Classifying opens every PKCS#12 and keystore: on every core.
    let hint = material::Hint::default();
    let classified: Vec<(PathBuf, material::Classified)> = paths
        .into_par_iter()
        .map(|p| {
            let c = material::classify(&p, tries, hint);
            (p, c)
        })
        .collect();
    let mut credentials: Vec<PathBuf> = Vec::new();
    let mut others = Vec::new();
    for (path, c) in classified {
        match &c.material {
            // Named like material but not it: reported (skipped), not ignored.
            Material::Other(_) if material::claimed(&path).is_some() => {
                let opts = EntryOpts {
                    key,
                    ..EntryOpts::default()
                };
                out.entries.push(entry_for(path, c, opts, Origin::Scan));
            }
            Material::Other(_) | Material::Folder => others.push(path),
            Material::Devices { credentials: None } => {
                let p = path.display().to_string();
                out.warnings.push(warning(
                    &p,
                    format!("{p} holds device certificates but no credentials file (DEVICE_ID.p12=password lines) inside or beside it; skipped"),
                ));
            }
            m => {
                if let Material::Devices {
                    credentials: Some(material::Credentials::Beside(cred)),
                } = m
                {
                    credentials.push(cred.clone());
                }
                if matches!(m, Material::Locked(_)) {
                    out.locked += 1;
                }
                let opts = EntryOpts {
                    key,
                    ..EntryOpts::default()
                };
                out.entries.push(entry_for(path, c, opts, Origin::Scan));
            }
        }
    }
    // A credentials file is part of its device bundle, not a skipped file.
    out.skipped = others.iter().filter(|p| !credentials.contains(p)).count();
    out
}
