//! Getting an app onto disk to sign it, and back into an IPA.
//!
//! Extraction is defensive: every entry name is checked (no `..`, absolute
//! paths, drive letters, backslashes or NULs), duplicates are refused, sizes
//! are bounded, regular files are written first with `create_new` and
//! symlinks last, so no write can follow a link. A symlink must stay inside its
//! bundle, lexically and (once everything exists) physically; frameworks'
//! internal links (`Versions/Current -> A`) are kept.
//!
//! Re-zipping puts `Payload/` first; every entry the signature did not change
//! is copied from the original archive without recompressing it, and entries
//! outside the app (SwiftSupport/, Symbols/, iTunesMetadata.plist) are copied
//! as they were.

use std::collections::{HashMap, HashSet};
use std::io::{self, Read, Seek, Write};
use std::path::{Component, Path, PathBuf};

use indicatif::ProgressBar;
use rayon::prelude::*;

use crate::diag::{Code, Finding};
use crate::zip::audit::{entry_damaged, resolve_link as resolve_in_archive, MAX_ENTRIES};
use crate::zip::{Archive, DosTime, Entry, Limits, Options, Writer};

/// At most this many files in an `.app` folder to copy.
const MAX_FILES: usize = MAX_ENTRIES as usize;

/// An app laid out in a private folder.
#[derive(Debug)]
pub struct Extracted {
    /// The folder holding the app (`root/app_rel` is the `.app`).
    pub root: PathBuf,
    /// `Payload/X.app` for an IPA (maybe under one leading folder), `X.app` for a directory.
    pub app_rel: String,
    /// The original IPA, audited (`None` for a directory input): unchanged
    /// entries are copied from it as they are.
    pub archive: Option<Archive>,
}

impl Extracted {
    pub fn app_dir(&self) -> PathBuf {
        self.root.join(&self.app_rel)
    }
}

fn unsafe_entry(file: &str, name: &str, why: &str) -> Finding {
    let shown = name.escape_debug().to_string();
    Finding::new(
        Code::ArchiveUnsafe,
        file,
        format!(
            "{file}: the entry \"{shown}\" {why}; refusing to extract it (nothing was written)"
        ),
    )
    .subject(shown)
}

/// The main app folder of an IPA: the shortest `Payload/X.app` (or `Top/Payload/X.app`).
pub fn payload_app_root<'a>(names: impl Iterator<Item = &'a str>) -> Option<String> {
    names
        .filter(|n| crate::sniff::is_payload_app(n))
        .filter_map(|n| {
            let idx = n
                .find(".app/")
                .or_else(|| n.strip_suffix(".app").map(|s| s.len()))?;
            n.get(..idx + 4).map(str::to_string)
        })
        .min_by_key(|r| r.len())
}

/// Lexically resolves `target` relative to the folder `dir` (both relative to the
/// extraction root). `None` when it climbs above the root or is absolute.
fn resolve_link(dir: &str, target: &str) -> Option<String> {
    resolve_in_archive(&format!("{dir}/link"), target)
}

/// The folder a link at `name` must stay within: the app for links inside it,
/// else the entry's top-level folder.
fn link_limit(name: &str, app_rel: &str) -> String {
    if name.starts_with(&format!("{app_rel}/")) {
        app_rel.to_string()
    } else {
        name.split('/').next().unwrap_or("").to_string()
    }
}

fn within(path: &str, limit: &str) -> bool {
    limit.is_empty() || path == limit || path.starts_with(&format!("{limit}/"))
}

/// Checks a symlink at `name` (relative to the root) pointing to `target`.
fn check_link(file: &str, name: &str, target: &str, app_rel: &str) -> Result<(), Finding> {
    let dir = name.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    let limit = link_limit(name, app_rel);
    match resolve_link(dir, target) {
        Some(resolved) if within(&resolved, &limit) && resolved != name => Ok(()),
        _ => Err(unsafe_entry(
            file,
            name,
            &format!(
                "is a symbolic link to \"{}\", which leaves {limit}",
                target.escape_debug()
            ),
        )),
    }
}

/// After every link exists: each one must also resolve physically inside its limit
/// (a chain of individually harmless links can otherwise escape).
fn check_links_physically(
    file: &str,
    root: &Path,
    links: &[(String, String)],
    app_rel: &str,
) -> Result<(), Finding> {
    let croot = root.canonicalize().map_err(|e| {
        Finding::unreadable(file, format!("cannot resolve {}: {e}", root.display()))
    })?;
    for (name, target) in links {
        let limit = croot.join(link_limit(name, app_rel));
        match root.join(name).canonicalize() {
            Ok(real) if real.starts_with(&limit) => {}
            // Dangling links cannot be followed anywhere; the lexical check applied.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            _ => {
                return Err(unsafe_entry(
                    file,
                    name,
                    &format!(
                        "is a symbolic link to \"{}\", which resolves outside its bundle",
                        target.escape_debug()
                    ),
                ))
            }
        }
    }
    Ok(())
}

fn safe_mode(mode: Option<u32>, dir: bool) -> u32 {
    let m = mode.unwrap_or(if dir { 0o755 } else { 0o644 }) & 0o777;
    // Owner can always read/write what we extracted; never setuid/setgid/sticky.
    m | if dir { 0o700 } else { 0o600 }
}

#[cfg(unix)]
fn set_mode(p: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_p: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn make_symlink(target: &str, at: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(target, at)
}

#[cfg(not(unix))]
fn make_symlink(_target: &str, _at: &Path) -> io::Result<()> {
    Err(io::Error::other(
        "symbolic links in IPAs are only supported on Unix",
    ))
}

/// Opens an IPA and checks its entries without extracting anything: the
/// archive audit (names, duplicates, sizes, headers, links), then what only an
/// extraction cares about. Returns the archive and its app folder.
pub fn scan_ipa(path: &Path, limits: &Limits) -> Result<(Archive, String), Finding> {
    let file = path.display().to_string();
    let archive = Archive::open_path(path, limits)?;
    let entries = archive.entries();
    let app_rel = payload_app_root(entries.iter().map(|e| e.name.as_str())).ok_or_else(|| {
        Finding::unreadable(&file, format!("{file} has no Payload/*.app: not an IPA"))
    })?;
    archive
        .check_links(Some(&app_rel))
        .map_err(|p| p.finding(&file))?;
    // A file cannot also be a folder of other entries (e.g. `A` and `A/b`).
    let files: HashSet<&str> = entries
        .iter()
        .filter(|e| !e.is_dir())
        .map(|e| e.name.as_str())
        .collect();
    for e in entries {
        let mut p = e.name.trim_end_matches('/');
        while let Some((parent, _)) = p.rsplit_once('/') {
            if files.contains(parent) {
                return Err(unsafe_entry(
                    &file,
                    &e.name,
                    &format!("lies inside \"{parent}\", which is a file or link"),
                ));
            }
            p = parent;
        }
    }
    Ok((archive, app_rel))
}

/// Extracts an IPA's app into `root` (an empty private folder), inflating on
/// every core with positioned reads of the one audited archive.
pub fn extract_ipa(
    path: &Path,
    root: &Path,
    limits: &Limits,
    bar: &ProgressBar,
) -> Result<Extracted, Finding> {
    let file = path.display().to_string();
    let (archive, app_rel) = scan_ipa(path, limits)?;
    let app_prefix = format!("{app_rel}/");
    // Only the app is signed; everything else is copied later as it was.
    let in_app =
        |e: &&Entry| e.name.starts_with(&app_prefix) || e.name.trim_end_matches('/') == app_rel;
    bar.set_length(
        archive
            .entries()
            .iter()
            .filter(|e| e.name.starts_with(&app_prefix))
            .map(|e| e.size)
            .sum(),
    );
    let io_err = |name: &str, e: &dyn std::fmt::Display| {
        Finding::unreadable(&file, format!("{file}: cannot extract {name}: {e}"))
    };
    // Pass 1 (sequential, cheap): folders, and link targets (read by the audit) checked.
    let mut links = Vec::new();
    let mut dirs = Vec::new();
    let mut files = Vec::new();
    for e in archive.entries().iter().filter(in_app) {
        let dest = root.join(e.name.trim_end_matches('/'));
        if e.is_dir() {
            std::fs::create_dir_all(&dest).map_err(|x| io_err(&e.name, &x))?;
            dirs.push((dest, e.unix_mode));
        } else if e.is_symlink() {
            let target = e.link_target.clone().ok_or_else(|| {
                unsafe_entry(
                    &file,
                    &e.name,
                    "is a symbolic link without a readable target",
                )
            })?;
            check_link(&file, &e.name, &target, &app_rel)?;
            links.push((e.name.clone(), target));
        } else {
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent).map_err(|x| io_err(&e.name, &x))?;
            }
            files.push((e, dest));
        }
    }
    // Pass 2: inflate the files on every core, biggest first so the last one
    // to start is small. Each entry has its own reader: no shared cursor.
    files.sort_by_key(|(e, _)| std::cmp::Reverse(e.size));
    files
        .par_iter()
        .with_max_len(1)
        .try_for_each(|(e, dest)| -> Result<(), Finding> {
            let damaged = |x: &dyn std::fmt::Display| entry_damaged(&file, &e.name, x);
            let mut r = archive.reader(e).map_err(|x| damaged(&x))?;
            let out = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(dest)
                .map_err(|x| io_err(&e.name, &x))?;
            let mut w = io::BufWriter::with_capacity(256 << 10, out);
            // Read errors are the archive's (size and CRC enforced), write errors the disk's.
            let mut buf = vec![0u8; 64 << 10];
            loop {
                let k = r.read(&mut buf).map_err(|x| damaged(&x))?;
                if k == 0 {
                    break;
                }
                w.write_all(buf.get(..k).unwrap_or_default())
                    .map_err(|x| io_err(&e.name, &x))?;
            }
            w.flush().map_err(|x| io_err(&e.name, &x))?;
            drop(w);
            set_mode(dest, safe_mode(e.unix_mode, false)).map_err(|x| io_err(&e.name, &x))?;
            bar.inc(e.size);
            Ok(())
        })?;
    for (name, target) in &links {
        let at = root.join(name);
        if let Some(parent) = at.parent() {
            std::fs::create_dir_all(parent).map_err(|x| io_err(name, &x))?;
        }
        make_symlink(target, &at).map_err(|x| io_err(name, &x))?;
    }
    check_links_physically(&file, root, &links, &app_rel)?;
    for (d, mode) in dirs {
        let _ = set_mode(&d, safe_mode(mode, true));
    }
    if !root.join(&app_rel).is_dir() {
        return Err(Finding::unreadable(
            &file,
            format!("{file}: {app_rel} is not a folder: not an IPA"),
        ));
    }
    Ok(Extracted {
        root: root.to_path_buf(),
        app_rel,
        archive: Some(archive),
    })
}

/// Copies an `.app` folder into `root`, with the same link rules as an IPA.
pub fn copy_app_dir(src: &Path, root: &Path, bar: &ProgressBar) -> Result<Extracted, Finding> {
    let file = src.display().to_string();
    let app_name = src
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "App.app".into());
    let io_err = |name: &str, e: &dyn std::fmt::Display| {
        Finding::unreadable(&file, format!("{file}: cannot copy {name}: {e}"))
    };
    let mut links = Vec::new();
    let mut count = 0usize;
    for e in walkdir::WalkDir::new(src)
        .follow_links(false)
        .sort_by_file_name()
    {
        let e = e.map_err(|x| Finding::unreadable(&file, format!("cannot read {file}: {x}")))?;
        count += 1;
        if count > MAX_FILES {
            return Err(Finding::unreadable(
                &file,
                format!("{file} has more than {MAX_FILES} files"),
            ));
        }
        let rel = match e.path().strip_prefix(src) {
            Ok(r) if r.as_os_str().is_empty() => String::new(),
            Ok(r) => r
                .components()
                .map(|c| match c {
                    Component::Normal(s) => Ok(s.to_string_lossy().into_owned()),
                    _ => Err(()),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(|v| v.join("/"))
                .map_err(|_| {
                    unsafe_entry(
                        &file,
                        &r.display().to_string(),
                        "is not a plain relative path",
                    )
                })?,
            Err(_) => continue,
        };
        let name = if rel.is_empty() {
            app_name.clone()
        } else {
            format!("{app_name}/{rel}")
        };
        let dest = root.join(&name);
        let ft = e.file_type();
        if ft.is_dir() {
            std::fs::create_dir_all(&dest).map_err(|x| io_err(&name, &x))?;
        } else if ft.is_symlink() {
            let target = std::fs::read_link(e.path()).map_err(|x| io_err(&name, &x))?;
            let target = target
                .to_str()
                .ok_or_else(|| {
                    unsafe_entry(&file, &name, "is a symbolic link with a non-UTF-8 target")
                })?
                .to_string();
            check_link(&file, &name, &target, &app_name)?;
            links.push((name, target));
        } else if ft.is_file() {
            std::fs::copy(e.path(), &dest).map_err(|x| io_err(&name, &x))?;
            let len = e.metadata().map(|m| m.len()).unwrap_or(0);
            bar.inc(len);
        } else {
            return Err(unsafe_entry(
                &file,
                &name,
                "is not a regular file, folder or link",
            ));
        }
    }
    for (name, target) in &links {
        make_symlink(target, &root.join(name)).map_err(|x| io_err(name, &x))?;
    }
    check_links_physically(&file, root, &links, &app_name)?;
    Ok(Extracted {
        root: root.to_path_buf(),
        app_rel: app_name,
        archive: None,
    })
}

#[cfg(unix)]
fn file_mode(m: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    m.permissions().mode() & 0o777
}

#[cfg(not(unix))]
fn file_mode(_m: &std::fs::Metadata) -> u32 {
    0o644
}

fn crc_of(p: &Path) -> io::Result<u32> {
    let mut f = std::fs::File::open(p)?;
    let mut h = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 256 << 10];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(buf.get(..n).unwrap_or_default());
    }
    Ok(h.finalize())
}

/// Writes the signed app (and everything else the original IPA held) as an
/// IPA. With `original` (the input IPA, whose audited archive `ex` holds),
/// entries that signing left unchanged and everything outside the app are
/// copied from it without recompressing; `None` for a directory input.
pub fn write_ipa<W: Write + Seek>(
    out: W,
    ex: &Extracted,
    original: Option<&Path>,
    bar: &ProgressBar,
) -> Result<W, String> {
    let zin = original.and(ex.archive.as_ref());
    let by_name: HashMap<&str, &Entry> = zin
        .map(|a| a.entries())
        .unwrap_or_default()
        .iter()
        .map(|e| (e.name.trim_end_matches('/'), e))
        .collect();
    let now = DosTime::now();
    let mut w = Writer::new(out);
    let ioerr = |e: io::Error| format!("cannot write the IPA: {e}");
    let folder = |time: DosTime| Options::stored().time(time).permissions(0o755);

    // For a directory input the app goes under Payload/.
    let (prefix, app_rel) = if zin.is_some() {
        (String::new(), ex.app_rel.clone())
    } else {
        (String::from("Payload/"), format!("Payload/{}", ex.app_rel))
    };
    let mut emitted: HashSet<String> = HashSet::new();
    // Folders above the app (`Payload/`) first.
    let mut ancestors = Vec::new();
    let mut p = app_rel.as_str();
    while let Some((parent, _)) = p.rsplit_once('/') {
        ancestors.push(parent.to_string());
        p = parent;
    }
    for a in ancestors.iter().rev() {
        let time = by_name.get(a.as_str()).map_or(now, |e| e.time);
        w.add_dir(a, &folder(time)).map_err(ioerr)?;
        emitted.insert(a.clone());
    }

    let disk_app = ex.app_dir();
    let mut walked = Vec::new();
    for e in walkdir::WalkDir::new(&disk_app)
        .follow_links(false)
        .sort_by_file_name()
    {
        let e = e.map_err(|e| format!("cannot read the signed app: {e}"))?;
        let Ok(rel) = e.path().strip_prefix(&ex.root) else {
            continue;
        };
        let name = format!("{prefix}{}", rel.to_string_lossy().replace('\\', "/"));
        let meta = e
            .path()
            .symlink_metadata()
            .map_err(|e| format!("cannot read the signed app: {e}"))?;
        walked.push((e.into_path(), name, meta));
    }
    // Which files signing left unchanged (same size and CRC as the original
    // entry): those are copied compressed, as they were. Hashed on every core.
    let same: Vec<bool> = walked
        .par_iter()
        .map(|(path, name, meta)| match by_name.get(name.as_str()) {
            Some(o) if meta.is_file() && o.is_file() && o.size == meta.len() => {
                crc_of(path).map(|c| c == o.crc32).unwrap_or(false)
            }
            _ => false,
        })
        .collect();
    bar.set_position(0);
    bar.set_length(
        walked
            .iter()
            .filter(|w| w.2.is_file())
            .map(|w| w.2.len())
            .sum(),
    );
    for ((path, name, meta), same) in walked.iter().zip(same) {
        let orig = by_name.get(name.as_str()).copied();
        let time = orig.map_or(now, |o| o.time);
        let ft = meta.file_type();
        if ft.is_dir() {
            w.add_dir(name, &folder(time)).map_err(ioerr)?;
        } else if ft.is_symlink() {
            let target = std::fs::read_link(path).map_err(ioerr)?;
            w.add_symlink(name, &target.to_string_lossy(), &folder(time))
                .map_err(ioerr)?;
        } else {
            match (same, zin, orig) {
                (true, Some(z), Some(o)) => w.copy_entry(z, o).map_err(ioerr)?,
                // Changed (or new) content gets the time it was signed.
                _ => {
                    let opts = Options::deflated()
                        .time(now)
                        .permissions(file_mode(meta) | 0o644);
                    w.add_file(name, path, &opts).map_err(ioerr)?
                }
            }
            bar.inc(meta.len());
        }
    }

    // Everything else as it was: the rest of Payload/ first, then the other folders.
    if let Some(z) = zin {
        let app_prefix = format!("{}/", ex.app_rel);
        let outside: Vec<&Entry> = z
            .entries()
            .iter()
            .filter(|e| {
                let n = e.name.trim_end_matches('/');
                !(n == ex.app_rel || e.name.starts_with(&app_prefix) || emitted.contains(n))
            })
            .collect();
        let payload = ancestors.first().map(|a| format!("{a}/"));
        let (first, rest): (Vec<&Entry>, Vec<&Entry>) = outside.into_iter().partition(|e| {
            payload
                .as_ref()
                .is_some_and(|p| e.name.starts_with(p.as_str()))
        });
        for e in first.into_iter().chain(rest) {
            w.copy_entry(z, e).map_err(ioerr)?;
        }
    }
    w.finish().map_err(ioerr)
}

/// Rewrites a bundle id in an Info.plist, keeping its format (binary or XML).
/// `map` gives the new id for an old one (or `None` to leave it).
pub fn rewrite_info_plist(
    path: &Path,
    map: &dyn Fn(&str) -> Option<String>,
) -> Result<bool, String> {
    let data = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let binary = data.starts_with(b"bplist");
    let mut v: plist::Value = plist::from_bytes(&data)
        .map_err(|e| format!("{} is not a valid plist: {e}", path.display()))?;
    let Some(d) = v.as_dictionary_mut() else {
        return Err(format!("{} is not a dictionary plist", path.display()));
    };
    let mut changed = false;
    let mut fix = |d: &mut plist::Dictionary, key: &str| {
        if let Some(plist::Value::String(s)) = d.get_mut(key) {
            if let Some(n) = map(s) {
                *s = n;
                changed = true;
            }
        }
    };
    fix(d, "CFBundleIdentifier");
    // Watch apps name their companion, watch extensions their watch app.
    fix(d, "WKCompanionAppBundleIdentifier");
    if let Some(attrs) = d
        .get_mut("NSExtension")
        .and_then(|x| x.as_dictionary_mut())
        .and_then(|x| x.get_mut("NSExtensionAttributes"))
        .and_then(|x| x.as_dictionary_mut())
    {
        fix(attrs, "WKAppBundleIdentifier");
    }
    if !changed {
        return Ok(false);
    }
    let mut out = Vec::new();
    if binary {
        v.to_writer_binary(&mut out)
    } else {
        v.to_writer_xml(&mut out)
    }
    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    std::fs::write(path, out).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links() {
        assert_eq!(
            resolve_link("P/A.app/F.framework", "Versions/Current/F").as_deref(),
            Some("P/A.app/F.framework/Versions/Current/F")
        );
        assert_eq!(resolve_link("P/A.app", "../../x").as_deref(), Some("x"));
        assert_eq!(resolve_link("P", "../../x"), None);
        assert_eq!(resolve_link("P", "/etc/passwd"), None);
        assert!(check_link(
            "f",
            "Payload/A.app/F.framework/Current",
            "A",
            "Payload/A.app"
        )
        .is_ok());
        assert!(check_link("f", "Payload/A.app/evil", "../../etc", "Payload/A.app").is_err());
        assert!(check_link("f", "Payload/A.app/evil", "..", "Payload/A.app").is_err());
        assert!(check_link("f", "Payload/A.app/self", "self", "Payload/A.app").is_err());
    }

    #[test]
    fn app_root() {
        let names = [
            "Payload/",
            "Payload/A.app/",
            "Payload/A.app/Info.plist",
            "Payload/A.app/PlugIns/B.appex/x",
        ];
        assert_eq!(
            payload_app_root(names.iter().copied()).as_deref(),
            Some("Payload/A.app")
        );
        assert_eq!(
            payload_app_root(["Top/Payload/S.app/Info.plist"].iter().copied()).as_deref(),
            Some("Top/Payload/S.app")
        );
        assert_eq!(payload_app_root(["Payload/readme"].iter().copied()), None);
    }
}
