//! Writing outputs so that readers see either the old file or the complete new
//! one, never a partial one, and so that nothing is left behind on an error or
//! on Ctrl-C / SIGTERM. Format-agnostic: IPA and APK signing both use it.
//!
//! * [`AtomicFile`]: a temporary file in the destination's folder (same file
//!   system, so the final `rename` is atomic), fsynced, then renamed over the
//!   destination; the folder is fsynced so the rename survives a crash.
//! * [`WorkDir`]: a private (0700) temporary folder, removed when dropped.
//! * [`replace_dir`]: swaps a finished folder into place (for `.app` outputs).
//! * [`Disk`]: what a run left on disk, in the one wording used for finished
//!   and interrupted runs alike.
//!
//! Every temporary path is registered in a process-wide list; the signal
//! handler installed by [`install_signal_cleanup`] removes them all, says what
//! is on disk and exits with 130. Renames into place happen under the same
//! lock, so the handler never sees a half-finished commit and its message is
//! exact: an output is either in place or not written.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once};

/// The process-wide state the signal handler reads.
struct Registry {
    /// Temporary paths to remove on a signal; a path with a destination is the
    /// old folder `replace_dir` set aside, put back there if the swap did not finish.
    temps: Vec<(PathBuf, Option<PathBuf>)>,
    /// The output of the current signing run, when one is under way.
    target: Option<Target>,
    /// Set when an output was renamed into place.
    placed: Option<PathBuf>,
}

/// Where the current run writes (for the interrupt message).
#[derive(Clone, Debug)]
struct Target {
    input: PathBuf,
    dest: PathBuf,
    in_place: bool,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    temps: Vec::new(),
    target: None,
    placed: None,
});
static HANDLER: Once = Once::new();
static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// Set once the interrupted main thread can create nothing more: it is parked
/// in [`hold_if_interrupted`] or waits for the registry the handler holds.
static QUIET: AtomicBool = AtomicBool::new(false);

/// The registry, even after a panic elsewhere poisoned it. After a signal, a
/// caller blocks here until the process exits: it is quiet.
fn registry() -> std::sync::MutexGuard<'static, Registry> {
    if interrupted() {
        QUIET.store(true, Ordering::SeqCst);
    }
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Creates a temporary object and registers it while holding the registry's
/// lock. The signal handler holds that lock from its sweep until the process
/// exits, so an object is either registered before the sweep (and removed) or
/// never created: none can appear between the two.
fn create_registered<T>(
    restore_to: Option<&Path>,
    make: impl FnOnce() -> io::Result<(T, PathBuf)>,
) -> io::Result<(T, PathBuf)> {
    let mut r = registry();
    let (t, path) = make()?;
    r.temps
        .push((path.clone(), restore_to.map(Path::to_path_buf)));
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
    if interrupted() {
        QUIET.store(true, Ordering::SeqCst);
    }
    while interrupted() {
        std::thread::park_timeout(std::time::Duration::from_millis(100));
    }
}

fn unregister(p: &Path) {
    registry().temps.retain(|(x, _)| x != p);
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
    sweep(&mut registry());
}

/// Removes the temporary paths; returns the folders put back in place.
fn sweep(r: &mut Registry) -> Vec<PathBuf> {
    sweep_fenced(r, None)
}

/// [`sweep`], leaving an empty file (a fence) where each removed folder was,
/// so that a thread still extracting into it fails instead of creating the
/// folder again; the fences are pushed to `fences` for removal at the end.
fn sweep_fenced(r: &mut Registry, mut fences: Option<&mut Vec<PathBuf>>) -> Vec<PathBuf> {
    let mut restored = Vec::new();
    for (p, restore_to) in std::mem::take(&mut r.temps).iter().rev() {
        match restore_to {
            // The swap was cut between its two renames: put the old folder back.
            Some(dest) if std::fs::symlink_metadata(dest).is_err() => {
                if std::fs::rename(p, dest).is_ok() {
                    restored.push(dest.clone());
                }
            }
            _ => {
                let was_dir = std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir());
                remove_path(p);
                let Some(fences) = fences.as_deref_mut().filter(|_| was_dir) else {
                    continue;
                };
                for _ in 0..20 {
                    match File::create_new(p) {
                        Ok(_) => {
                            fences.push(p.clone());
                            break;
                        }
                        // Created again between the removal and the fence.
                        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => remove_path(p),
                        Err(_) => break,
                    }
                }
            }
        }
    }
    restored
}

/// Names the output of the signing run now under way, so that an interrupt
/// can say what is on disk. `in_place`: `dest` is the input itself.
pub fn set_target(input: &Path, dest: &Path, in_place: bool) {
    let mut r = registry();
    r.target = Some(Target {
        input: input.to_path_buf(),
        dest: dest.to_path_buf(),
        in_place,
    });
    r.placed = None;
}

/// What a signing run left on disk. Its `Display` is the one wording wrapsign
/// uses for it, after a finished run and after an interrupt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Disk {
    /// Nothing was written: `dest` was neither created nor changed, and the
    /// input is unchanged (it is never modified except by an in-place commit).
    Nothing {
        input: PathBuf,
        dest: PathBuf,
        in_place: bool,
    },
    /// The signed output is complete and in place at this path.
    Placed(PathBuf),
    /// An in-place folder swap was cut between its two renames, and the
    /// original folder was put back at this path: nothing was written.
    Restored(PathBuf),
}

impl std::fmt::Display for Disk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Disk::Nothing {
                input,
                in_place: true,
                ..
            } => write!(f, "nothing written; {} is unchanged", input.display()),
            Disk::Nothing { input, dest, .. } => write!(
                f,
                "nothing written to {}; {} is unchanged",
                dest.display(),
                input.display()
            ),
            Disk::Placed(p) => write!(
                f,
                "the signed output is complete and in place at {}",
                p.display()
            ),
            Disk::Restored(p) => write!(
                f,
                "the original {} was put back as it was; nothing written",
                p.display()
            ),
        }
    }
}

impl Registry {
    /// What is on disk now for the current run (`None` outside a signing run).
    fn disk(&self, restored: &[PathBuf]) -> Option<Disk> {
        if let Some(p) = &self.placed {
            return Some(Disk::Placed(p.clone()));
        }
        let t = self.target.as_ref()?;
        if let Some(p) = restored.iter().find(|p| **p == t.dest) {
            return Some(Disk::Restored(p.clone()));
        }
        Some(Disk::Nothing {
            input: t.input.clone(),
            dest: t.dest.clone(),
            in_place: t.in_place,
        })
    }
}

/// The interrupt message: what is on disk, then the cleanup.
fn interrupt_message(disk: Option<&Disk>) -> String {
    match disk {
        Some(d) => format!("wrapsign: interrupted; {d}; temporary files removed"),
        None => "wrapsign: interrupted; temporary files removed".to_string(),
    }
}

/// Installs (once) a SIGINT/SIGTERM/SIGHUP handler that removes the registered
/// temporary paths, says exactly what is on disk, and exits with 130.
pub fn install_signal_cleanup() {
    HANDLER.call_once(|| {
        let _ = ctrlc::set_handler(|| {
            INTERRUPTED.store(true, Ordering::SeqCst);
            // Held until exit: see `create_registered` and `place`.
            let mut r = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
            let mut fences = Vec::new();
            let restored = sweep_fenced(&mut r, Some(&mut fences));
            // The main thread may still be writing; behind the fences it soon
            // fails and stops. Wait (a little) for that before the last cleanup.
            let t = std::time::Instant::now();
            while !fences.is_empty() && !QUIET.load(Ordering::SeqCst) && t.elapsed().as_secs() < 3 {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            for f in &fences {
                remove_path(f);
            }
            eprintln!("\n{}", interrupt_message(r.disk(&restored).as_ref()));
            std::process::exit(130);
        });
    });
}

/// Runs `rename` (the step that puts an output in place) under the registry's
/// lock and records `dest` as placed when it succeeds. A signal handler waits
/// for it, so it sees either the output in place or nothing written.
fn place(dest: &Path, rename: impl FnOnce(&mut Registry) -> io::Result<()>) -> io::Result<()> {
    let mut r = registry();
    rename(&mut r)?;
    r.placed = Some(dest.to_path_buf());
    Ok(())
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
        let (tmp, dest) = (&self.tmp, &self.dest);
        place(dest, |r| {
            std::fs::rename(tmp, dest)?;
            r.temps.retain(|(x, _)| x != tmp);
            Ok(())
        })?;
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
            place(dest, |_| std::fs::rename(new, dest))?;
        }
        Err(e) => return Err(e),
        Ok(m) if !m.is_dir() => {
            return Err(io::Error::other(format!(
                "{} exists and is not a folder",
                dest.display()
            )))
        }
        Ok(_) => {
            // Registered before the first rename: should the process die between
            // the two renames, the sweep puts the old folder back.
            let ((), aside) = create_registered(Some(dest), || {
                let t = tempfile::Builder::new()
                    .prefix(&format!("{}old-", temp_prefix(dest)))
                    .tempdir_in(parent_dir(dest))?;
                Ok(((), t.keep()))
            })?;
            // Both renames under the lock: a signal sees the old folder or the new one.
            let swapped = place(dest, |_| {
                // tempdir created an empty folder: rename replaces it atomically on Unix.
                std::fs::rename(dest, &aside)?;
                if let Err(e) = std::fs::rename(new, dest) {
                    let _ = std::fs::rename(&aside, dest);
                    return Err(e);
                }
                Ok(())
            });
            match swapped {
                // The old folder, now a leftover, is removed outside the lock: it may be large.
                Ok(()) => remove_path(&aside),
                // Only our empty placeholder: should the put-back have failed, the
                // old folder stays there rather than being deleted.
                Err(_) => {
                    let _ = std::fs::remove_dir(&aside);
                }
            }
            unregister(&aside);
            swapped?;
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

    #[test]
    fn the_interrupt_message_says_what_is_on_disk() {
        let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let d = tempfile::tempdir().unwrap();
        let (input, dest) = (d.path().join("app.apk"), d.path().join("out.apk"));
        let now = |restored: &[PathBuf]| interrupt_message(registry().disk(restored).as_ref());
        set_target(&input, &dest, false);
        assert_eq!(
            now(&[]),
            format!(
                "wrapsign: interrupted; nothing written to {}; {} is unchanged; temporary files removed",
                dest.display(),
                input.display()
            )
        );
        let mut f = AtomicFile::create(&dest).unwrap();
        f.write_all(b"signed").unwrap();
        f.commit().unwrap();
        assert_eq!(
            now(&[]),
            format!(
                "wrapsign: interrupted; the signed output is complete and in place at {}; temporary files removed",
                dest.display()
            )
        );
        set_target(&input, &input, true);
        assert_eq!(
            now(&[]),
            format!(
                "wrapsign: interrupted; nothing written; {} is unchanged; temporary files removed",
                input.display()
            )
        );
        assert!(
            now(std::slice::from_ref(&input)).contains("was put back as it was; nothing written")
        );
        // A folder swapped in by replace_dir counts as placed too.
        let app = d.path().join("A.app");
        set_target(&app, &app, true);
        std::fs::create_dir(&app).unwrap();
        let w = WorkDir::new_in(d.path(), &app).unwrap();
        replace_dir(w.path(), &app).unwrap();
        w.disarm();
        assert!(now(&[]).contains("complete and in place at"));
        let mut r = registry();
        r.target = None;
        r.placed = None;
        drop(r);
        assert_eq!(now(&[]), "wrapsign: interrupted; temporary files removed");
    }
}
