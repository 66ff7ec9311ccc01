//! `--online` revocation checks against a local `openssl ocsp` responder on
//! 127.0.0.1 serving a test CA whose certificates carry a loopback AIA URL:
//! good, revoked and unknown certificates, and a responder that never answers.
//! Without `--online`, wrapsign makes no connection at all.

use crate::support as common;

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Responder(Child);

impl Drop for Responder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A CA, three leaves pointing at 127.0.0.1:port, and an index marking one revoked.
fn make_pki(dir: &Path, port: u16) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-subj",
            "/CN=wrapsign OCSP TEST CA",
            "-days",
            "3650",
        ],
    );
    std::fs::write(
        dir.join("leaf.ext"),
        format!("basicConstraints=CA:FALSE\nextendedKeyUsage=codeSigning\nauthorityInfoAccess=OCSP;URI:http://127.0.0.1:{port}\n"),
    )
    .unwrap();
    let mut index = String::new();
    for (name, serial) in [("good", "1001"), ("revoked", "1002"), ("unknown", "1003")] {
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
                "-subj",
                &format!("/CN=wrapsign OCSP TEST {name}"),
            ],
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-set_serial",
                &format!("0x{serial}"),
                "-days",
                "365",
                "-extfile",
                "leaf.ext",
                "-out",
                &format!("{name}.pem"),
            ],
        );
        // openssl ocsp's index: status, expiry, revocation time, serial, file, subject.
        match name {
            "good" => index.push_str(&format!("V\t301231000000Z\t\t{serial}\tunknown\t/CN=wrapsign OCSP TEST good\n")),
            "revoked" => index.push_str(&format!("R\t301231000000Z\t240101000000Z,keyCompromise\t{serial}\tunknown\t/CN=wrapsign OCSP TEST revoked\n")),
            _ => {} // not in the index: the responder answers "unknown"
        }
    }
    std::fs::write(dir.join("index.txt"), index).unwrap();
}

fn start_responder(dir: &Path, port: u16) -> Responder {
    let child = Command::new("openssl")
        .current_dir(dir)
        .args([
            "ocsp",
            "-index",
            "index.txt",
            "-port",
            &port.to_string(),
            "-rsigner",
            "ca.pem",
            "-rkey",
            "ca.key",
            "-CA",
            "ca.pem",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl ocsp");
    // Ready when openssl's own OCSP client gets an answer (a bare TCP probe would
    // occupy the single-threaded responder).
    let deadline = Instant::now() + Duration::from_secs(10);
    let url = format!("http://127.0.0.1:{port}");
    loop {
        let ok = Command::new("openssl")
            .current_dir(dir)
            .args([
                "ocsp", "-issuer", "ca.pem", "-cert", "good.pem", "-url", &url, "-CAfile",
                "ca.pem", "-timeout", "2",
            ])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).contains("good.pem: good"))
            .unwrap_or(false);
        if ok {
            break;
        }
        assert!(Instant::now() < deadline, "openssl ocsp did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    Responder(child)
}

fn today() -> String {
    // Certificates made at test time are valid from now: pin --at to now + 1 minute.
    let out = Command::new("date")
        .args(["-u", "-d", "+1 minute", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn verify(dir: &Path, leaf: &str, extra: &[&str]) -> common::Run {
    let at = format!("--at={}", today());
    let cert = dir.join(format!("{leaf}.pem"));
    let root = format!("--trust-root={}", dir.join("ca.pem").display());
    let mut a = vec![
        "verify",
        "--format=json",
        &at,
        &root,
        cert.to_str().unwrap(),
        "--allow=cert-not-distribution",
    ];
    a.extend_from_slice(extra);
    common::run(&a)
}

#[test]
fn good_revoked_and_unknown_certificates() {
    if !common::tool("openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    make_pki(dir.path(), port);
    let _responder = start_responder(dir.path(), port);

    let r = verify(dir.path(), "good", &["--online"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.names().is_empty(), "{:?}", r.names());

    let r = verify(dir.path(), "revoked", &["--online"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_eq!(r.names(), ["cert-revoked"]);
    let f = &r.json()["findings"][0];
    assert_eq!(f["details"]["revoked_at"], "2024-01-01T00:00:00Z");
    assert!(
        f["message"].as_str().unwrap().contains("KeyCompromise"),
        "{f:#}"
    );

    let r = verify(dir.path(), "unknown", &["--online"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(r.names(), ["revocation-unknown"]);

    // Offline by default: the revoked certificate is not looked up.
    let r = verify(dir.path(), "revoked", &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
}

#[test]
fn a_silent_responder_times_out_with_a_warning_and_offline_makes_no_connection() {
    if !common::tool("openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // A listener that accepts and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    make_pki(dir.path(), port);

    // Without --online: no connection reaches the listener.
    listener.set_nonblocking(true).unwrap();
    let r = verify(dir.path(), "good", &[]);
    assert_eq!(r.code, 0);
    assert!(
        listener.accept().is_err(),
        "wrapsign connected without --online"
    );

    listener.set_nonblocking(false).unwrap();
    let hold = std::thread::spawn(move || {
        // Keep the connection open, read the request, say nothing.
        if let Ok((mut s, _)) = listener.accept() {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            std::thread::sleep(Duration::from_secs(4));
        }
    });
    let start = Instant::now();
    let r = verify(dir.path(), "good", &["--online", "--ocsp-timeout=1"]);
    let took = start.elapsed();
    assert_eq!(r.code, 0, "a warning, not a failure: {}", r.stdout);
    assert_eq!(r.names(), ["ocsp-unavailable"]);
    assert!(took < Duration::from_secs(4), "took {took:?}");
    hold.join().unwrap();
}
