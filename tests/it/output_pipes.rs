//! Output cut short by the reader (`wrapsign explain --list | head -3`) ends
//! quietly with the usual exit status: no panic, nothing on stderr.

use std::process::{Command, Stdio};

use crate::support::{bin, repo};

/// Runs wrapsign with its stdout connected to a pipe whose reader is already
/// gone, so every write fails with EPIPE, deterministically.
fn run_into_closed_pipe(args: &[&str]) -> (i32, String) {
    let mut child = Command::new(bin())
        .args(args)
        .current_dir(repo(""))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn wrapsign");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn explain_list_into_a_closed_pipe_exits_0_quietly() {
    let (code, stderr) = run_into_closed_pipe(&["explain", "--list"]);
    assert_eq!(code, 0, "stderr: {stderr}");
    assert_eq!(stderr, "");
}

#[test]
fn every_command_output_survives_a_closed_pipe() {
    let sample = repo("samples/android/v1v2v3-rsa.apk");
    let mut cases: Vec<(Vec<String>, i32)> = vec![
        (vec!["explain".into(), "weak-key".into()], 0),
        (vec!["generate".into(), "man".into()], 0),
        (vec!["generate".into(), "bash".into()], 0),
        (vec!["--help".into()], 0),
    ];
    if sample.exists() {
        // The report's own exit status is kept (what the run found, not the pipe).
        let expected =
            crate::support::run(&["verify", sample.to_str().unwrap(), "--at", "2026-01-01"]).code;
        cases.push((
            vec![
                "verify".into(),
                sample.to_str().unwrap().into(),
                "--at".into(),
                "2026-01-01".into(),
            ],
            expected,
        ));
    }
    for (args, want) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, stderr) = run_into_closed_pipe(&args);
        assert_eq!(code, want, "{args:?}: stderr: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(stderr, "", "{args:?}");
    }
}

#[test]
fn explain_list_piped_into_head_exits_0() {
    if !crate::support::tool("bash") {
        return;
    }
    // As a user types it; PIPESTATUS gives wrapsign's own status.
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "'{}' explain --list | head -3; echo \"status=${{PIPESTATUS[0]}}\"",
            bin()
        ))
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 4, "{stdout}");
    assert!(stdout.ends_with("status=0\n"), "{stdout}");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}
