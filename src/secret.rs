//! Password sources, following apksigner's `--ks-pass` convention:
//! `pass:VALUE`, `env:VAR`, `file:PATH`, `stdin`; a prompt without echo otherwise.
//!
//! A [`Secret`] never prints its value: `Debug` and `Display` are redacted, and the
//! memory is zeroed on drop. Error messages name the *source*, never the value.

use std::fmt;
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::str::FromStr;

use zeroize::Zeroizing;

/// A password. Its value is only reachable through [`Secret::expose`].
#[derive(Clone, Default)]
pub struct Secret(Zeroizing<String>);

/// Every password this process has read, so that a panic message (a bug) can
/// be scrubbed of them even if some code formatted one into it.
static SEEN: std::sync::Mutex<Vec<Zeroizing<String>>> = std::sync::Mutex::new(Vec::new());

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        let s = Zeroizing::new(s.into());
        if !s.is_empty() {
            if let Ok(mut seen) = SEEN.lock() {
                if !seen.iter().any(|x| **x == *s) {
                    seen.push(s.clone());
                }
            }
        }
        Secret(s)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// `text` with every password read so far replaced by `<redacted>`, longest
/// first (so a password containing another is removed whole).
pub fn redact(text: &str) -> String {
    let mut out = text.to_string();
    let Ok(seen) = SEEN.lock() else {
        return out;
    };
    let mut all: Vec<&str> = seen.iter().map(|s| s.as_str()).collect();
    all.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for s in all {
        if out.contains(s) {
            out = out.replace(s, "<redacted>");
        }
    }
    out
}

/// Reports a panic (always a bug) without any password in it: the message and
/// location (and a backtrace when RUST_BACKTRACE asks) pass through [`redact`].
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let thread = std::thread::current();
        let mut text = format!(
            "wrapsign: internal error in thread '{}': {info}\nThis is a bug; please report it with the command line (passwords are never needed).",
            thread.name().unwrap_or("<unnamed>")
        );
        let bt = std::backtrace::Backtrace::capture();
        if bt.status() == std::backtrace::BacktraceStatus::Captured {
            text.push_str(&format!("\n{bt}"));
        }
        eprintln!("{}", redact(&text));
    }));
}

/// Where a password comes from.
#[derive(Clone, Debug)]
pub enum PasswordSpec {
    Pass(Secret),
    Env(String),
    File(PathBuf),
    Stdin,
}

impl FromStr for PasswordSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(v) = s.strip_prefix("pass:") {
            Ok(PasswordSpec::Pass(Secret::new(v)))
        } else if let Some(v) = s.strip_prefix("env:") {
            Ok(PasswordSpec::Env(v.to_string()))
        } else if let Some(v) = s.strip_prefix("file:") {
            Ok(PasswordSpec::File(PathBuf::from(v)))
        } else if s == "stdin" {
            Ok(PasswordSpec::Stdin)
        } else {
            // Never echo the rejected text: it is probably the password itself.
            Err("expected pass:VALUE, env:VAR, file:PATH or stdin".to_string())
        }
    }
}

impl fmt::Display for PasswordSpec {
    /// Describes the source for inventories and errors, never the value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PasswordSpec::Pass(_) => f.write_str("pass:<redacted>"),
            PasswordSpec::Env(v) => write!(f, "env:{v}"),
            PasswordSpec::File(p) => write!(f, "file:{}", p.display()),
            PasswordSpec::Stdin => f.write_str("stdin"),
        }
    }
}

fn trim_newline(mut s: String) -> String {
    while s.ends_with('\n') || s.ends_with('\r') {
        s.pop();
    }
    s
}

impl PasswordSpec {
    /// Reads the password. `what` names the thing it unlocks, for messages.
    pub fn resolve(&self) -> Result<Secret, String> {
        match self {
            PasswordSpec::Pass(s) => Ok(s.clone()),
            PasswordSpec::Env(var) => std::env::var(var)
                .map(Secret::new)
                .map_err(|_| format!("environment variable {var} is not set")),
            PasswordSpec::File(path) => {
                let data =
                    Zeroizing::new(std::fs::read(path).map_err(|e| {
                        format!("cannot read password file {}: {e}", path.display())
                    })?);
                let text = String::from_utf8(data.to_vec())
                    .map_err(|_| format!("password file {} is not UTF-8", path.display()))?;
                // apksigner takes the first line of the file.
                let first = text.lines().next().unwrap_or("").to_string();
                Ok(Secret::new(trim_newline(first)))
            }
            PasswordSpec::Stdin => {
                // Several specs may say `stdin`: like apksigner, each takes the next
                // line (stdin's shared buffer keeps the rest for the next call).
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .map_err(|e| format!("cannot read password from stdin: {e}"))?;
                Ok(Secret::new(trim_newline(line)))
            }
        }
    }
}

/// Resolves an optional spec: when none is given, prompts on a terminal, else
/// returns `None` (the caller may try an empty password).
pub fn resolve_or_prompt(
    spec: Option<&PasswordSpec>,
    what: &str,
) -> Result<Option<Secret>, String> {
    match spec {
        Some(s) => s.resolve().map(Some),
        None if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() => {
            rpassword::prompt_password(format!("Password for {what}: "))
                .map(|p| Some(Secret::new(p)))
                .map_err(|e| format!("cannot read password: {e}"))
        }
        None => Ok(None),
    }
}

/// The password flags of a run (`--cert-pass`, `--ks-pass`, `--key-pass`), parsed.
#[derive(Clone, Debug, Default)]
pub struct PasswordSpecs {
    pub cert: Option<PasswordSpec>,
    pub store: Option<PasswordSpec>,
    pub key: Option<PasswordSpec>,
}

/// A password that was read, and where it came from (`--ks-pass env:KS_PASS`),
/// for messages and the inventory's "password" column; never the value.
#[derive(Clone, Debug)]
pub struct Unlock {
    pub secret: Secret,
    pub source: String,
}

/// One password flag, read: its value, or why it could not be read.
#[derive(Clone, Debug)]
pub struct Read {
    pub flag: &'static str,
    pub spec: PasswordSpec,
    pub value: Result<Secret, String>,
}

impl Read {
    /// `--ks-pass env:KS_PASS`.
    pub fn source(&self) -> String {
        format!("--{} {}", self.flag, self.spec)
    }

    fn unlock(&self) -> Option<Unlock> {
        let secret = self.value.as_ref().ok()?.clone();
        Some(Unlock {
            secret,
            source: self.source(),
        })
    }
}

/// The password flags of a run, each read exactly once (a `stdin` source can
/// only be read once): like apksigner, `--ks-pass` first, then `--key-pass`,
/// then `--cert-pass`, each taking the next line when several say `stdin`.
#[derive(Clone, Debug, Default)]
pub struct Passwords {
    pub cert: Option<Read>,
    pub store: Option<Read>,
    pub key: Option<Read>,
}

impl PasswordSpecs {
    pub fn read(&self) -> Passwords {
        let read = |flag: &'static str, spec: &Option<PasswordSpec>| {
            spec.as_ref().map(|s| Read {
                flag,
                spec: s.clone(),
                value: s.resolve(),
            })
        };
        let store = read("ks-pass", &self.store);
        let key = read("key-pass", &self.key);
        let cert = read("cert-pass", &self.cert);
        Passwords { cert, store, key }
    }

    pub fn is_empty(&self) -> bool {
        self.cert.is_none() && self.store.is_none() && self.key.is_none()
    }
}

impl Passwords {
    /// The store passwords to try on a container, the flag made for it first:
    /// `--cert-pass` for a PKCS#12, `--ks-pass` for a JKS or JCEKS keystore.
    /// Equal values are tried once.
    pub fn pool(&self, pkcs12: bool) -> Vec<Unlock> {
        let order = if pkcs12 {
            [&self.cert, &self.store]
        } else {
            [&self.store, &self.cert]
        };
        let mut out: Vec<Unlock> = Vec::new();
        for u in order.into_iter().flatten().filter_map(Read::unlock) {
            if !out.iter().any(|o| o.secret.expose() == u.secret.expose()) {
                out.push(u);
            }
        }
        out
    }

    /// `--key-pass`, when given and readable.
    pub fn key(&self) -> Option<Unlock> {
        self.key.as_ref().and_then(Read::unlock)
    }

    /// Whether any store password flag was given (readable or not).
    pub fn any_store(&self) -> bool {
        self.cert.is_some() || self.store.is_some()
    }

    /// The flags whose source could not be read.
    pub fn unreadable(&self) -> impl Iterator<Item = &Read> {
        [&self.store, &self.key, &self.cert]
            .into_iter()
            .flatten()
            .filter(|r| r.value.is_err())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_never_display_values() {
        let p: PasswordSpec = "pass:hunter2".parse().unwrap();
        assert_eq!(p.to_string(), "pass:<redacted>");
        assert!(!format!("{p:?}").contains("hunter2"));
        assert_eq!(p.resolve().unwrap().expose(), "hunter2");
        let e = "hunter2".parse::<PasswordSpec>().unwrap_err();
        assert!(!e.contains("hunter2"));
        assert_eq!(
            "env:KS_PASS".parse::<PasswordSpec>().unwrap().to_string(),
            "env:KS_PASS"
        );
    }

    #[test]
    fn redact_removes_every_password_read() {
        let a = Secret::new("Redact-Me-1");
        let _b = Secret::new("Redact-Me-12");
        let text = format!("bug near {} and Redact-Me-12!", a.expose());
        let r = redact(&text);
        assert_eq!(r, "bug near <redacted> and <redacted>!");
    }

    #[test]
    fn file_takes_first_line() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p");
        std::fs::write(&f, "s3cret\r\nsecond\n").unwrap();
        let spec = PasswordSpec::File(f);
        assert_eq!(spec.resolve().unwrap().expose(), "s3cret");
    }
}
