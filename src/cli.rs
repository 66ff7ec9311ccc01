//! The command line. Each flag is defined once here; help, the man page and
//! completions are generated from these definitions.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::diag::{Code, FailOn, Level, Policy};
use crate::report::{self, Format, Meta};
use crate::secret::PasswordSpec;
use crate::{at, verify};

#[derive(Parser, Debug)]
#[command(
    name = "wrapsign",
    version,
    about = "Verify and re-sign iOS and Android signing material and apps before wrapping or shipping them",
    long_about = None,
    after_help = "Exit codes: 0 no error findings, 1 at least one error finding, 2 usage error or unreadable input.\nPasswords (SPEC): pass:VALUE, env:VAR, file:PATH or stdin; prompted on a terminal when omitted."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check certificates, profiles and apps; fail (exit 1) on expired or mismatched material
    Verify(Box<VerifyArgs>),
    /// Explain a finding name: what it means, why it matters, how to fix it
    Explain(ExplainArgs),
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// Files to check, recognised by content: .p12/.pfx, .cer/.der/.pem, .mobileprovision, .ipa, .app, .apk
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    #[command(flatten)]
    pub ios: IosArgs,

    #[command(flatten)]
    pub apk: ApkArgs,

    #[command(flatten)]
    pub check: CheckArgs,
}

#[derive(Args, Debug)]
#[command(next_help_heading = "iOS")]
pub struct IosArgs {
    /// The distribution identity (.p12/.pfx, or a PEM/DER certificate)
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// Password of the .p12: pass:VALUE, env:VAR, file:PATH or stdin
    #[arg(long, value_name = "SPEC")]
    pub cert_pass: Option<String>,
    /// Private key (PEM/DER) when --cert is not a .p12
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// A provisioning profile (repeatable)
    #[arg(long = "profile", value_name = "FILE")]
    pub profiles: Vec<PathBuf>,
    /// An app to check: .ipa or .app (repeatable)
    #[arg(long = "app", value_name = "PATH")]
    pub apps: Vec<PathBuf>,
    /// Extra trust anchor(s), PEM or DER, e.g. a test or enterprise CA (repeatable)
    #[arg(long = "trust-root", value_name = "PEM")]
    pub trust_roots: Vec<PathBuf>,
}

#[derive(Args, Debug)]
#[command(next_help_heading = "Android")]
pub struct ApkArgs {
    /// Lowest API level the APK must verify on (default: its minSdkVersion)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=i32::MAX as i64))]
    pub min_sdk: Option<u32>,
    /// Highest API level to verify for (default: every future level)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=i32::MAX as i64))]
    pub max_sdk: Option<u32>,
    /// Certificate (PEM or DER) the APK must be signed with, e.g. the installed app's (repeatable)
    #[arg(long = "signer-cert", value_name = "FILE")]
    pub signer_certs: Vec<PathBuf>,
}

#[derive(Args, Debug)]
#[command(next_help_heading = "Policy and output")]
pub struct CheckArgs {
    /// Verification instant: YYYY-MM-DD or RFC 3339 (default: now)
    #[arg(long, value_name = "TIME", value_parser = at::parse)]
    pub at: Option<time::OffsetDateTime>,
    /// Warn this many days before anything expires
    #[arg(long, value_name = "N", default_value_t = 30)]
    pub warn_days: i64,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Fail (exit 1) on warnings too
    #[arg(long)]
    pub deny_warnings: bool,
    /// What fails the run
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    /// Drop findings with this name (repeatable)
    #[arg(long = "allow", value_name = "NAME")]
    pub allow: Vec<String>,
    /// Make findings with this name warnings (repeatable)
    #[arg(long = "warn", value_name = "NAME")]
    pub warn: Vec<String>,
    /// Make findings with this name errors (repeatable)
    #[arg(long = "deny", value_name = "NAME")]
    pub deny: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// The finding name, e.g. profile-cert-missing
    #[arg(required_unless_present = "list")]
    pub name: Option<String>,
    /// List every finding name with its default severity
    #[arg(long)]
    pub list: bool,
}

/// A usage error: message to stderr, exit 2. Never includes secret values.
fn usage(msg: impl std::fmt::Display) -> i32 {
    eprintln!("wrapsign: error: {msg}");
    2
}

fn password(flag: &str, s: &Option<String>) -> Result<Option<PasswordSpec>, String> {
    match s {
        None => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|e| format!("--{flag}: {e}")),
    }
}

impl CheckArgs {
    pub fn policy(&self) -> Result<Policy, String> {
        let mut p = Policy::default();
        for (names, level) in [(&self.allow, Level::Allow), (&self.warn, Level::Warn), (&self.deny, Level::Deny)] {
            for n in names {
                p.set(n, level)?;
            }
        }
        Ok(p)
    }

    pub fn fail_on(&self) -> FailOn {
        if self.deny_warnings {
            FailOn::Warning
        } else {
            self.fail_on
        }
    }

    pub fn at(&self) -> time::OffsetDateTime {
        self.at.unwrap_or_else(time::OffsetDateTime::now_utc)
    }
}

fn run_verify(a: VerifyArgs) -> i32 {
    let policy = match a.check.policy() {
        Ok(p) => p,
        Err(e) => return usage(e),
    };
    let cert_pass = match password("cert-pass", &a.ios.cert_pass) {
        Ok(p) => p,
        Err(e) => return usage(e),
    };
    if let (Some(min), Some(max)) = (a.apk.min_sdk, a.apk.max_sdk) {
        if min > max {
            return usage(format!("--min-sdk {min} is above --max-sdk {max}"));
        }
    }
    let at = a.check.at();
    let req = verify::Request {
        paths: a.paths,
        cert: a.ios.cert,
        cert_pass,
        key: a.ios.key,
        profiles: a.ios.profiles,
        apps: a.ios.apps,
        trust_roots: a.ios.trust_roots,
        min_sdk: a.apk.min_sdk.map(|v| v as i32),
        max_sdk: a.apk.max_sdk.map(|v| v as i32),
        signer_certs: a.apk.signer_certs,
        at,
        warn_days: a.check.warn_days,
    };
    let mut report = verify::run(&req);
    report.apply(&policy);
    let exit_code = report.exit_code(a.check.fail_on());
    let meta = Meta {
        command: "verify",
        at,
        warn_days: a.check.warn_days,
        exit_code,
        color: a.check.format == Format::Human && report::use_color(),
    };
    let out = report::render(&report, a.check.format, &meta);
    let _ = std::io::stdout().write_all(out.as_bytes());
    exit_code
}

fn run_explain(a: ExplainArgs) -> i32 {
    if a.list {
        for c in Code::ALL {
            println!("{:<28} {:<8} {}", c.name(), c.default_severity().as_str(), c.title());
        }
        return 0;
    }
    let name = a.name.unwrap_or_default();
    match Code::from_name(&name) {
        Some(c) => {
            println!("{} ({}, default severity {})\n", c.name(), c.title(), c.default_severity());
            println!("Why it matters:\n  {}\n", c.why());
            println!("How to fix it:\n  {}", c.fix());
            0
        }
        None => usage(format!("unknown finding name `{name}`; see `wrapsign explain --list`")),
    }
}

/// Parses the command line and runs it; returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match cli.command {
        Command::Verify(a) => run_verify(*a),
        Command::Explain(a) => run_explain(a),
    }
}
