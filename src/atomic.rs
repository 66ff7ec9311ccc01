//! Writing outputs so that readers see either the old file or the complete new
//! one, never a partial one, and so that nothing is left behind on an error or
//! on Ctrl-C / SIGTERM. Format-agnostic: IPA and APK signing both use it.
//!
//! * [`AtomicFile`]: a temporary file in the destination's folder (same file
//!   system, so the final `rename` is atomic), fsynced, then renamed over the
//!   destination; the folder is fsynced so the rename survives a crash.
//! * [`WorkDir`]: a private (0700) temporary folder, removed when dropped.
//! * [`replace_dir`]: swaps a finished folder into place (for `.app` outputs).
//!
//! Every temporary path is registered in a process-wide list; the signal
//! handler installed by [`install_signal_cleanup`] removes them all before the
//! process exits with 130.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once};

/// Temporary paths to remove on a signal; a path with a destination is the
/// old folder `replace_dir` set aside, put back there if the swap did not finish.
static PENDING: Mutex<Vec<(PathBuf, Option<PathBuf>)>> = Mutex::new(Vec::new());
static HANDLER: Once = Once::new();
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// The registry, even after a panic elsewhere poisoned it.
fn pending() -> std::sync::MutexGuard<'static, Vec<(PathBuf, Option<PathBuf>)>> {
    PENDING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Creates a temporary object and registers it while holding the registry's
/// lock. The signal handler holds that lock from its sweep until the process
/// exits, so an object is either registered before the sweep (and removed) or
/// never created: none can appear between the two.
fn create_registered<T>(
    restore_to: Option<&Path>,
    make: impl FnOnce() -> io::Result<(T, PathBuf)>,
) -> io::Result<(T, PathBuf)> {
    let mut v = pending();
    let (t, path) = make()?;
    v.push((path.clone(), restore_to.map(Path::to_path_buf)));
    Ok((t, path))
}

/// Whether a termination signal arrived. The handler is then removing the
/// temporary files and will exit with 130; the main thread must not exit first
/// with another code (see [`hold_if_interrupted`]).
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Called before the process exits normally: after a signal, wait for the
/// handler to finish cleaning up and exit with 130 instead.
pub fn hold_if_interrupted() {
    while interrupted() {
        std::thread::park_timeout(std::time::Duration::from_millis(100));
    }
}

fn unregister(p: &Path) {
    pending().retain(|(x, _)| x != p);
}

fn remove_path(p: &Path) {
    // The main thread may still be creating files inside a folder while we remove
    // it; retry a few times so a racing create does not leave it behind.
    for _ in 0..5 {
        let r = match std::fs::symlink_metadata(p) {
            Ok(m) if m.is_dir() => std::fs::remove_dir_all(p),
            Ok(_) => std::fs::remove_file(p),
            Err(_) => return,
        };
        if r.is_ok() {
            return;
        }
    }
}

/// Removes every registered temporary path.
pub fn cleanup_all() {
    sweep(&mut pending());
}

fn sweep(v: &mut Vec<(PathBuf, Option<PathBuf>)>) {
    for (p, restore_to) in std::mem::take(v).iter().rev() {
        match restore_to {
            // The swap was cut between its two renames: put the old folder back.
            Some(dest) if std::fs::symlink_metadata(dest).is_err() => {
                let _ = std::fs::rename(p, dest);
            }
            _ => remove_path(p),
        }
    }
}

/// Installs (once) a SIGINT/SIGTERM/SIGHUP handler that removes the registered
/// temporary paths and exits with 130, so an interrupted run leaves nothing.
pub fn install_signal_cleanup() {
    HANDLER.call_once(|| {
        let _ = ctrlc::set_handler(|| {
            INTERRUPTED.store(true, Ordering::SeqCst);
            // Held until exit: see `create_registered`.
            let mut v = pending();
            sweep(&mut v);
            eprintln!("\nwrapsign: interrupted; temporary files removed, nothing written");
            std::process::exit(130);
        });
    });
}

/// A hidden sibling name in `dir` for a temporary object derived from `dest`.
fn temp_prefix(dest: &Path) -> String {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    format!(".{name}.wrapsign-")
}

/// The folder that will hold `dest` (`.` for a bare file name).
/// Where a signed output goes: `--out PATH`, or `--in-place` (replace the input
/// atomically, only after signing succeeded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    To(PathBuf),
    InPlace,
}

impl Destination {
    /// The path that will be written.
    pub fn path<'a>(&'a self, input: &'a Path) -> &'a Path {
        match self {
            Destination::To(p) => p,
            Destination::InPlace => input,
        }
    }

    /// The checks every signer makes before work starts: the output folder exists,
    /// and `--out` is not the input itself (that is what `--in-place` is for).
    pub fn check(&self, input: &Path) -> Result<(), String> {
        let dest = self.path(input);
        let parent = parent_dir(dest);
        if !parent.is_dir() {
            return Err(format!(
                "the output folder {} does not exist",
                parent.display()
            ));
        }
        let same = matches!((input.canonicalize(), dest.canonicalize()), (Ok(a), Ok(b)) if a == b);
        if same && *self != Destination::InPlace {
            return Err(format!(
                "--out {} is the input itself; use --in-place to replace the input (atomically)",
                dest.display()
            ));
        }
        Ok(())
    }
}

pub fn parent_dir(dest: &Path) -> PathBuf {
    match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn sync_dir(dir: &Path) {
    // Not all platforms can open a directory for fsync; the rename itself is
    // still atomic, only its durability across a power cut is at stake.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// A file being written that becomes `dest` only on [`AtomicFile::commit`].
pub struct AtomicFile {
    file: Option<File>,
    tmp: PathBuf,
    dest: PathBuf,
}

impl AtomicFile {
    /// Creates the temporary file next to `dest`. The destination folder must exist.
    pub fn create(dest: &Path) -> io::Result<AtomicFile> {
        let dir = parent_dir(dest);
        // Keep the path ourselves: the registry (not tempfile's Drop) owns cleanup,
        // so the signal handler can remove it too.
        let (file, path) = create_registered(None, || {
            tempfile::Builder::new()
                .prefix(&temp_prefix(dest))
                .suffix(".tmp")
                .tempfile_in(&dir)?
                .keep()
                .map_err(|e| e.error)
        })?;
        Ok(AtomicFile {
            file: Some(file),
            tmp: path,
            dest: dest.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.tmp
    }

    pub fn file(&mut self) -> io::Result<&mut File> {
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("the atomic file was already committed"))
    }

    /// Gives the file the permissions of `like` (used when replacing a file in place).
    pub fn copy_permissions_from(&mut self, like: &Path) -> io::Result<()> {
        let perm = std::fs::metadata(like)?.permissions();
        std::fs::set_permissions(&self.tmp, perm)
    }

    /// Sets Unix permission bits (temporary files start as 0600).
    pub fn set_mode(&mut self, mode: u32) -> io::Result<()> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&self.tmp, std::fs::Permissions::from_mode(mode))?;
        }
        #[cfg(not(unix))]
        let _ = mode;
        Ok(())
    }

    /// Flushes, fsyncs and renames over the destination.
    pub fn commit(mut self) -> io::Result<()> {
        let mut file = self.file()?.try_clone()?;
        file.flush()?;
        file.sync_all()?;
        self.file = None;
        std::fs::rename(&self.tmp, &self.dest)?;
        unregister(&self.tmp);
        sync_dir(&parent_dir(&self.dest));
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file()?.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file()?.flush()
    }
}

impl io::Seek for AtomicFile {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        self.file()?.seek(pos)
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.take().is_some() || self.tmp.exists() {
            let _ = std::fs::remove_file(&self.tmp);
        }
        unregister(&self.tmp);
    }
}

/// A private temporary folder, removed (with its content) on drop or on a signal.
pub struct WorkDir {
    path: PathBuf,
    keep: bool,
}

impl WorkDir {
    /// Creates a 0700 folder inside `dir`, named after `dest`.
    pub fn new_in(dir: &Path, dest: &Path) -> io::Result<WorkDir> {
        let ((), path) = create_registered(None, || {
            let t = tempfile::Builder::new()
                .prefix(&temp_prefix(dest))
                .tempdir_in(dir)?;
            Ok(((), t.keep()))
        })?;
        Ok(WorkDir { path, keep: false })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stops tracking the folder (after its content was moved elsewhere).
    pub fn disarm(mut self) {
        self.keep = true;
        unregister(&self.path);
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if !self.keep {
            remove_path(&self.path);
        }
        unregister(&self.path);
    }
}

/// Moves the finished folder `new` to `dest`, replacing an existing `dest`
/// folder. `new` must be on the same file system (a sibling). When `dest`
/// exists it is first renamed aside and restored if the swap fails.
pub fn replace_dir(new: &Path, dest: &Path) -> io::Result<()> {
    sync_tree(new);
    match std::fs::symlink_metadata(dest) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            std::fs::rename(new, dest)?;
        }
        Err(e) => return Err(e),
        Ok(m) if !m.is_dir() => {
            return Err(io::Error::other(format!(
                "{} exists and is not a folder",
                dest.display()
            )))
        }
        Ok(_) => {
            // Registered before the first rename: a signal from here on puts the
            // old folder back unless the new one is already in place.
            let ((), aside) = create_registered(Some(dest), || {
                let t = tempfile::Builder::new()
                    .prefix(&format!("{}old-", temp_prefix(dest)))
                    .tempdir_in(parent_dir(dest))?;
                Ok(((), t.keep()))
            })?;
            // tempdir created an empty folder: rename replaces it atomically on Unix.
            if let Err(e) = std::fs::rename(dest, &aside) {
                remove_path(&aside);
                unregister(&aside);
                return Err(e);
            }
            if let Err(e) = std::fs::rename(new, dest) {
                let _ = std::fs::rename(&aside, dest);
                unregister(&aside);
                return Err(e);
            }
            remove_path(&aside);
            unregister(&aside);
        }
    }
    sync_dir(&parent_dir(dest));
    Ok(())
}

/// fsyncs every regular file of a tree (before it is renamed into place).
fn sync_tree(root: &Path) {
    for e in walkdir::WalkDir::new(root)
        .follow_links(false)
        .into_iter()
        .flatten()
    {
        if e.file_type().is_file() {
            if let Ok(f) = File::open(e.path()) {
                let _ = f.sync_all();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // cleanup_all() clears the process-wide registry: keep these tests apart.
    static SERIAL: Mutex<()> = Mutex::new(());

    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn commit_replaces_and_drop_cleans() {
        let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("out.bin");
        std::fs::write(&dest, b"old").unwrap();
        {
            let mut f = AtomicFile::create(&dest).unwrap();
            f.write_all(b"partial").unwrap();
            assert_eq!(entries(d.path()).len(), 2);
            // dropped without commit: the old content stays, the temp file goes
        }
        assert_eq!(std::fs::read(&dest).unwrap(), b"old");
        assert_eq!(entries(d.path()), vec!["out.bin"]);
        let mut f = AtomicFile::create(&dest).unwrap();
        f.write_all(b"new").unwrap();
        f.commit().unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"new");
        assert_eq!(entries(d.path()), vec!["out.bin"]);
    }

    #[test]
    fn cleanup_all_removes_registered_paths() {
        let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("x.ipa");
        let f = AtomicFile::create(&dest).unwrap();
        let w = WorkDir::new_in(d.path(), &dest).unwrap();
        std::fs::write(w.path().join("inner"), b"x").unwrap();
        let (fp, wp) = (f.path().to_path_buf(), w.path().to_path_buf());
        cleanup_all();
        assert!(!fp.exists() && !wp.exists());
        drop(f);
        drop(w);
        assert!(entries(d.path()).is_empty());
    }

    #[test]
    fn a_signal_mid_swap_puts_the_old_folder_back() {
        let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("App.app");
        std::fs::create_dir(&dest).unwrap();
        std::fs::write(dest.join("old"), b"x").unwrap();
        // What replace_dir does up to its first rename; then the handler's sweep.
        let ((), aside) = create_registered(Some(&dest), || {
            let t = tempfile::tempdir_in(d.path())?;
            Ok(((), t.keep()))
        })
        .unwrap();
        std::fs::rename(&dest, &aside).unwrap();
        cleanup_all();
        assert_eq!(entries(d.path()), vec!["App.app"]);
        assert_eq!(std::fs::read(dest.join("old")).unwrap(), b"x");
        // Once the new folder is in place, the sweep removes the old one instead.
        let ((), aside) = create_registered(Some(&dest), || {
            let t = tempfile::tempdir_in(d.path())?;
            Ok(((), t.keep()))
        })
        .unwrap();
        cleanup_all();
        assert!(!aside.exists() && dest.join("old").exists());
    }

    #[test]
    fn replace_dir_swaps() {
        let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("A.app");
        std::fs::create_dir(&dest).unwrap();
        std::fs::write(dest.join("old"), b"1").unwrap();
        let w = WorkDir::new_in(d.path(), &dest).unwrap();
        std::fs::write(w.path().join("new"), b"2").unwrap();
        replace_dir(w.path(), &dest).unwrap();
        w.disarm();
        assert!(dest.join("new").exists() && !dest.join("old").exists());
        assert_eq!(entries(d.path()), vec!["A.app"]);
    }
}
