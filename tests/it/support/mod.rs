//! Helpers shared by the integration tests: run the real binary, parse its JSON,
//! find the shared conformance data, skip loudly when an oracle is missing.

pub mod apk;
pub mod craft;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// Finding names in a JSON report.
    pub fn names(&self) -> Vec<String> {
        self.json()["findings"]
            .as_array()
            .expect("findings array")
            .iter()
            .map(|f| f["name"].as_str().expect("name").to_string())
            .collect()
    }

    pub fn has(&self, name: &str) -> bool {
        self.names().iter().any(|n| n == name)
    }

    /// The first finding named `name` in a JSON report; panics (showing
    /// stdout) when there is none.
    pub fn finding(&self, name: &str) -> serde_json::Value {
        self.json()["findings"]
            .as_array()
            .expect("findings array")
            .iter()
            .find(|f| f["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} finding in:\n{}", self.stdout))
    }
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_wrapsign")
}

fn finish(out: Output) -> Run {
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs wrapsign with `args` (cwd = repository root), stdin closed.
pub fn run(args: &[&str]) -> Run {
    run_with(args, &[], None)
}

/// Runs wrapsign with extra environment variables and optional stdin text.
pub fn run_with(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Run {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd.spawn().expect("spawn wrapsign");
    if let Some(text) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write stdin");
    }
    finish(child.wait_with_output().expect("wait"))
}

pub fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Prints a SKIP line that `cargo test` shows even for a passing test: libtest
/// captures the print macros, not direct writes to the stderr handle.
pub fn skip_line(why: &str) {
    use std::io::Write;
    let test = std::thread::current().name().unwrap_or("?").to_string();
    let _ = writeln!(std::io::stderr(), "SKIP: {why} [{test}]");
}

/// `skip!("...", args)`: [`skip_line`] with `format!` arguments.
macro_rules! skip {
    ($($t:tt)*) => {
        $crate::support::skip_line(&format!($($t)*))
    };
}

/// `../shared/conformance/<rel>`, or `None` after a loud SKIP line.
pub fn conformance(rel: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/conformance")
        .join(rel);
    if p.exists() {
        Some(p)
    } else {
        skip!("conformance data {} is absent", p.display());
        None
    }
}

/// Whether an external tool is on PATH; prints a SKIP line when it is not.
pub fn tool(name: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !found {
        skip!("{name} not installed");
    }
    found
}

pub fn sha256_file(p: &Path) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(std::fs::read(p).expect("read")))
}

/// Starts the command made by `start`, waits until something appears in
/// `outdir` (the run's temporary output), sends SIGTERM and returns the exit
/// status. A run can finish between two polls on a loaded machine: then it
/// tries again, up to 8 times, and fails the test rather than skip it.
pub fn sigterm_once_written(
    start: impl Fn() -> Command,
    outdir: &Path,
) -> std::process::ExitStatus {
    let start = || {
        let mut c = start();
        c.stdout(Stdio::null());
        c
    };
    let ready = || std::fs::read_dir(outdir).expect("outdir").next().is_some();
    let reset = || {
        for e in std::fs::read_dir(outdir).expect("outdir").flatten() {
            let _ = std::fs::remove_file(e.path());
        }
    };
    sigterm_when(start, ready, reset).0
}

/// Starts the command made by `start` (its stdout is the caller's choice;
/// stderr is captured), waits until `ready()` holds, sends SIGTERM, and
/// returns the exit status with what the run printed on stderr. When the run
/// finishes first, `reset()` undoes it and it tries again, up to 8 times.
pub fn sigterm_when(
    start: impl Fn() -> Command,
    ready: impl Fn() -> bool,
    reset: impl Fn(),
) -> (std::process::ExitStatus, String) {
    use std::time::{Duration, Instant};
    for _ in 0..8 {
        let mut child = start().stderr(Stdio::piped()).spawn().expect("spawn");
        let t = Instant::now();
        let mut seen = false;
        while t.elapsed() < Duration::from_secs(30) {
            if ready() {
                seen = true;
                break;
            }
            if child.try_wait().expect("try_wait").is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        if !seen || child.try_wait().expect("try_wait").is_some() {
            let _ = child.wait_with_output();
            reset();
            continue;
        }
        Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .expect("kill");
        let out = child.wait_with_output().expect("wait");
        return (
            out.status,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
    }
    panic!("the run always finished before it could be interrupted (8 tries)");
}

/// A stdout on which a child's first write blocks: a pipe already full, read
/// by nobody (a `sleep` holds its other end). It lets a test interrupt a run
/// at the point where it prints its report, after its output is in place.
/// Dropping the guard ends the `sleep`.
pub struct FullPipe(std::process::Child);

impl Drop for FullPipe {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn full_pipe() -> (Stdio, FullPipe) {
    use std::io::Write;
    use std::os::fd::OwnedFd;
    let mut reader = Command::new("sleep")
        .arg("300")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn sleep");
    let fd: OwnedFd = reader.stdin.take().expect("stdin").into();
    let filler = fd.try_clone().expect("dup");
    // Fills the pipe and blocks there until the sleep ends (then EPIPE).
    std::thread::spawn(move || {
        let _ = std::fs::File::from(filler).write_all(&vec![b'.'; 1 << 20]);
    });
    std::thread::sleep(std::time::Duration::from_millis(50));
    (Stdio::from(fd), FullPipe(reader))
}

/// The names in `dir`, sorted (to show what a run left behind).
pub fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}
