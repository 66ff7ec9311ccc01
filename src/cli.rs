//! The command line. Each flag is defined once here; help, the man page and
//! completions are generated from these definitions.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::android::keystore::StoreType;
use crate::diag::{Baseline, Code, FailOn, Level, Policy};
use crate::inventory::{self, config, table::TableFormat, Inventory};
use crate::report::{self, Format, Meta};
use crate::secret::PasswordSpec;
use crate::sniff::{self, Kind};
use crate::{archive, at, ios, verify};

mod rotation;

#[derive(Parser, Debug)]
#[command(
    name = "wrapsign",
    version,
    about = "Verify and re-sign iOS and Android signing material and apps before wrapping or shipping them",
    long_about = None,
    args_override_self = true,
    after_help = "Exit codes: 0 no error findings, 1 at least one error finding, 2 usage error or unreadable input.\nPasswords (SPEC): pass:VALUE, env:VAR, file:PATH or stdin; prompted on a terminal when omitted."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process: the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check certificates, profiles and apps; fail (exit 1) on expired or mismatched material
    Verify(Box<VerifyArgs>),
    /// Re-sign an app (.ipa, .app or .apk) after the verify checks pass; writes nothing on failure
    Sign(Box<SignArgs>),
    /// List every certificate, profile, keystore alias, app and device certificate of wrapsign.toml (or folders), by expiry
    Inventory(InventoryArgs),
    /// Android key rotation: create or extend a SigningCertificateLineage (old key signs the new one)
    Rotate(Box<rotation::RotateArgs>),
    /// Print an Android SigningCertificateLineage (file or APK): certificates and capabilities
    Lineage(rotation::LineageArgs),
    /// Build a bulk device certificate upload (.zip of DEVICE_ID.p12 files and their credentials), checked as verify would; writes nothing on failure
    Bundle(Box<BundleArgs>),
    /// Explain a finding name: what it means, why it matters, how to fix it
    Explain(ExplainArgs),
    /// Print a man page or shell completions, generated from these definitions
    Generate(GenerateArgs),
}

#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// What to generate
    #[arg(value_enum)]
    pub what: Generated,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Generated {
    Man,
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// Files to check, recognised by content: .p12/.pfx, .cer/.der/.pem, .mobileprovision, .ipa, .app, .jks/.keystore, .apk
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// The signing inventory to check (default: ./wrapsign.toml when no PATH or input flag is given)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(flatten)]
    pub ios: IosArgs,

    #[command(flatten)]
    pub android: AndroidArgs,

    #[command(flatten)]
    pub apk: ApkArgs,

    #[command(flatten)]
    pub devices: DeviceBundleArgs,

    #[command(flatten)]
    pub check: CheckArgs,
}

/// How a device bundle (a .zip of DEVICE_ID.p12 files) is read by verify.
#[derive(Args, Debug)]
#[command(next_help_heading = "Device bundles")]
pub struct DeviceBundleArgs {
    /// The credentials file inside the zip (default: its only text file, else credential.txt)
    #[arg(long, value_name = "NAME")]
    pub credentials_name: Option<String>,
    /// How the .p12 files are named; checked against every name (default: inferred from the names)
    #[arg(long, value_enum, value_name = "TYPE")]
    pub identity_type: Option<inventory::bulk::IdType>,
}

/// `wrapsign bundle DIR`: a bulk device certificate upload.
#[derive(Args, Debug)]
pub struct BundleArgs {
    /// The folder of DEVICE_ID.p12 files (its subfolders are not read)
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Credentials text file, DEVICE_ID.p12=password per line; copied into the zip byte for byte
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "password",
        conflicts_with = "password"
    )]
    pub credentials: Option<PathBuf>,
    /// One password for every .p12 instead: pass:VALUE, env:VAR, file:PATH or stdin
    #[arg(long, value_name = "SPEC")]
    pub password: Option<String>,
    /// How the .p12 files are named (the request's identityType); every name is checked against it
    #[arg(long, value_enum, value_name = "TYPE")]
    pub identity_type: inventory::bulk::IdType,
    /// The credentials file's name inside the zip (the request's credentialFileName)
    #[arg(long, value_name = "NAME", default_value = inventory::bulk::DEFAULT_CREDENTIALS_NAME)]
    pub credentials_name: String,
    /// The upload bundle to write (.zip; mode 0600, it holds the passwords)
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Also write the bulk upload request body (JSON) here
    #[arg(long, value_name = "FILE")]
    pub request: Option<PathBuf>,
    /// Also write the device ids here, one per line, for bulk deletion
    #[arg(long, value_name = "FILE")]
    pub delete_list: Option<PathBuf>,
    #[command(flatten)]
    pub check: CheckArgs,
}

#[derive(Args, Debug)]
#[command(next_help_heading = "iOS")]
pub struct IosArgs {
    #[command(flatten)]
    pub identity: IdentityArgs,
    /// A provisioning profile (repeatable)
    #[arg(long = "profile", value_name = "FILE")]
    pub profiles: Vec<PathBuf>,
    /// A folder of candidate profiles: each app target gets the best match
    #[arg(long, value_name = "DIR")]
    pub profiles_dir: Option<PathBuf>,
    /// An app to check: .ipa or .app (repeatable)
    #[arg(long = "app", value_name = "PATH")]
    pub apps: Vec<PathBuf>,
}

/// The Apple signing identity and trust anchors, shared by verify and sign.
#[derive(Args, Debug)]
pub struct IdentityArgs {
    /// The distribution identity (.p12/.pfx, or a PEM/DER certificate)
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// Password of the .p12: pass:VALUE, env:VAR, file:PATH or stdin
    #[arg(long, value_name = "SPEC")]
    pub cert_pass: Option<String>,
    /// Private key (PEM/DER) when --cert is not a .p12
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Extra trust anchor(s), PEM or DER, e.g. a test or enterprise CA (repeatable)
    #[arg(long = "trust-root", value_name = "PEM")]
    pub trust_roots: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct SignArgs {
    /// The app to sign, recognised by content: .ipa, .app folder or .apk
    #[arg(value_name = "INPUT")]
    pub input: PathBuf,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub ios: IosSignArgs,

    #[command(flatten)]
    pub android: AndroidArgs,

    #[command(flatten)]
    pub apk: ApkSignArgs,

    #[command(flatten)]
    pub check: CheckArgs,
}

/// Where a signed artefact goes; shared by every signer (IPA, APK).
#[derive(Args, Debug)]
#[command(next_help_heading = "Signed output")]
pub struct OutputArgs {
    /// Write the signed app here (.ipa or .apk file; a folder for .app input unless it ends in .ipa)
    #[arg(
        long,
        value_name = "PATH",
        required_unless_present = "in_place",
        conflicts_with = "in_place"
    )]
    pub out: Option<PathBuf>,
    /// Replace the input, atomically, only after signing succeeded
    #[arg(long)]
    pub in_place: bool,
    /// Show no progress bar (it is only shown on a terminal)
    #[arg(long)]
    pub no_progress: bool,
}

impl OutputArgs {
    pub fn destination(&self) -> Option<crate::atomic::Destination> {
        use crate::atomic::Destination;
        match (&self.out, self.in_place) {
            (_, true) => Some(Destination::InPlace),
            (Some(p), false) => Some(Destination::To(p.clone())),
            (None, false) => None,
        }
    }
}

#[derive(Args, Debug)]
#[command(next_help_heading = "iOS signing")]
pub struct IosSignArgs {
    #[command(flatten)]
    pub identity: IdentityArgs,
    /// Provisioning profile, matched to a bundle by its App ID, or BUNDLE_ID=FILE (repeatable)
    #[arg(long = "profile", value_name = "[BUNDLE_ID=]FILE", value_parser = parse_profile_arg)]
    pub profiles: Vec<ios::sign::ProfileArg>,
    /// A folder of candidate profiles: each bundle without a --profile gets the best match
    #[arg(long, value_name = "DIR")]
    pub profiles_dir: Option<PathBuf>,
    /// New bundle id for the main app; nested ids that extend the old one follow
    #[arg(long, value_name = "ID")]
    pub bundle_id: Option<String>,
    /// Entitlements plist for the main app instead of the ones it is signed with
    #[arg(long, value_name = "FILE")]
    pub entitlements: Option<PathBuf>,
    /// RFC 3161 time-stamp server (none is contacted unless given)
    #[arg(long, value_name = "URL")]
    pub timestamp_url: Option<String>,
}

fn parse_profile_arg(s: &str) -> Result<ios::sign::ProfileArg, String> {
    s.parse()
}

#[derive(Args, Debug)]
#[command(next_help_heading = "Android")]
pub struct AndroidArgs {
    /// A keystore to check: JKS, JCEKS or PKCS#12 (repeatable); BKS/UBER are recognised, not read
    #[arg(long = "keystore", value_name = "FILE")]
    pub keystores: Vec<PathBuf>,
    /// Keystore password: pass:VALUE, env:VAR, file:PATH or stdin
    #[arg(long, value_name = "SPEC")]
    pub ks_pass: Option<String>,
    /// Key password (default: the keystore password, as keytool does)
    #[arg(long, value_name = "SPEC")]
    pub key_pass: Option<String>,
    /// Check only this alias (repeatable; default: every alias)
    #[arg(long = "alias", value_name = "NAME")]
    pub aliases: Vec<String>,
    /// Keystore format, when sniffing the content is not enough
    #[arg(long, value_enum, value_name = "TYPE")]
    pub ks_type: Option<StoreType>,
    /// Google Play: app signing certificates must stay valid after this date
    #[arg(long, value_name = "DATE", value_parser = at::parse, default_value = "2033-10-22")]
    pub play_min_validity: time::OffsetDateTime,
}

#[derive(Args, Debug)]
#[command(next_help_heading = "Android APKs")]
pub struct ApkArgs {
    #[command(flatten)]
    pub sdk: SdkArgs,
    /// Certificate (PEM or DER) the APK must be signed with, e.g. the installed app's (repeatable)
    #[arg(long = "signer-cert", value_name = "FILE")]
    pub signer_certs: Vec<PathBuf>,
}

/// The API levels an APK is verified or signed for; shared by verify and sign.
#[derive(Args, Debug)]
pub struct SdkArgs {
    /// Lowest API level the APK runs on (default: its minSdkVersion)
    #[arg(long, alias = "min-sdk-version", value_name = "N", value_parser = clap::value_parser!(u32).range(0..=i32::MAX as i64))]
    pub min_sdk: Option<u32>,
    /// Highest API level to verify or sign for (default: every future level)
    #[arg(long, alias = "max-sdk-version", value_name = "N", value_parser = clap::value_parser!(u32).range(0..=i32::MAX as i64))]
    pub max_sdk: Option<u32>,
}

/// How an APK is signed (the key comes from the Android keystore flags or --key/--cert).
#[derive(Args, Debug)]
#[command(next_help_heading = "Android signing")]
pub struct ApkSignArgs {
    #[command(flatten)]
    pub sdk: SdkArgs,
    /// JAR signing (v1): true|false (default: only when minSdk < 24)
    #[arg(long, alias = "v1-signing-enabled", value_name = "BOOL", action = clap::ArgAction::Set)]
    pub v1: Option<bool>,
    /// APK Signature Scheme v2: true|false (default: when --max-sdk is 24 or more)
    #[arg(long, alias = "v2-signing-enabled", value_name = "BOOL", action = clap::ArgAction::Set)]
    pub v2: Option<bool>,
    /// APK Signature Scheme v3: true|false (default: when --max-sdk is 28 or more)
    #[arg(long, alias = "v3-signing-enabled", value_name = "BOOL", action = clap::ArgAction::Set)]
    pub v3: Option<bool>,
    /// Keep the input's alignment (apksig's rule) instead of aligning every uncompressed entry
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub alignment_preserved: Option<bool>,
    /// Boundary for uncompressed native libraries (.so), in bytes: a power of two
    #[arg(long, value_name = "BYTES", default_value_t = 16384, value_parser = parse_page)]
    pub lib_page_alignment: u64,
    /// Base name of the JAR signature files (default: the alias, or the key file name)
    #[arg(long, value_name = "NAME")]
    pub v1_signer_name: Option<String>,
    /// A release build: signing with the Android debug key is an error (otherwise a warning)
    #[arg(long)]
    pub release: bool,
    #[command(flatten)]
    pub rotation: rotation::SignRotationArgs,
}

fn parse_page(s: &str) -> Result<u64, String> {
    match s.parse::<u64>() {
        Ok(n) if n.is_power_of_two() && (4..=32768).contains(&n) => Ok(n),
        _ => Err("expected a power of two from 4 to 32768 (16384 for 16 KiB pages)".into()),
    }
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
    /// Check revocation by OCSP (the only time wrapsign uses the network)
    #[arg(long)]
    pub online: bool,
    /// Seconds to wait for an OCSP responder
    #[arg(long, value_name = "SECS", default_value_t = 5)]
    pub ocsp_timeout: u64,
    /// Fail (error) when anything expires within N days (0: only once expired)
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub fail_days: i64,
    /// Record the current findings as accepted in FILE (then use --baseline FILE)
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// Suppress the findings recorded in FILE (entries may carry "accepted_until")
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Human output: only warnings, errors and the verdict
    #[arg(long, short = 'q', conflicts_with = "verbose")]
    pub quiet: bool,
    /// Human output: also print each finding's details
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Write the report to FILE instead of standard output
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
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
    #[command(flatten)]
    pub archive: ArchiveArgs,
}

/// Limits against zip bombs, for every archive read (IPA, APK, device zip).
#[derive(Args, Debug, Clone, Copy)]
#[command(next_help_heading = "Archives")]
pub struct ArchiveArgs {
    /// Refuse an archive whose entries expand to more than SIZE in all (e.g. 8G, 512M)
    #[arg(long, value_name = "SIZE", value_parser = archive::parse_size, default_value = "8G")]
    pub max_expanded_size: u64,
    /// Refuse an entry, or an archive, expanding more than N times its compressed size (checked above 16 MiB)
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_expand_ratio: u64,
}

impl ArchiveArgs {
    pub fn limits(&self) -> archive::Limits {
        archive::Limits {
            max_expanded: self.max_expanded_size,
            max_ratio: self.max_expand_ratio,
            ..archive::Limits::default()
        }
    }
}

#[derive(Args, Debug)]
pub struct InventoryArgs {
    /// Folders to scan for signing material and apps, in addition to the config
    #[arg(value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// The signing inventory (default: ./wrapsign.toml)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Instant the days are counted from: YYYY-MM-DD or RFC 3339 (default: now)
    #[arg(long, value_name = "TIME", value_parser = at::parse)]
    pub at: Option<time::OffsetDateTime>,
    /// Items expiring within N days are `expiring` (default: the config's thresholds, else 30)
    #[arg(long, value_name = "N")]
    pub warn_days: Option<i64>,
    /// Extra trust anchor(s), PEM or DER (repeatable)
    #[arg(long = "trust-root", value_name = "PEM")]
    pub trust_roots: Vec<PathBuf>,
    /// Password tried on scanned .p12 files: pass:VALUE, env:VAR, file:PATH or stdin
    #[arg(long, value_name = "SPEC")]
    pub cert_pass: Option<String>,
    /// Password tried on scanned keystores: pass:VALUE, env:VAR, file:PATH or stdin
    #[arg(long, value_name = "SPEC")]
    pub ks_pass: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = TableFormat::Human)]
    pub format: TableFormat,
    /// Write the table to FILE instead of standard output
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
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
    /// The command line's per-name levels (they win over wrapsign.toml's `[levels]`).
    pub fn policy(&self) -> Result<Policy, String> {
        let mut p = Policy::default();
        for (names, level) in [
            (&self.allow, Level::Allow),
            (&self.warn, Level::Warn),
            (&self.deny, Level::Deny),
        ] {
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

    /// `--baseline FILE`, read once.
    pub fn load_baseline(&self) -> Result<Option<Baseline>, String> {
        self.baseline.as_deref().map(Baseline::load).transpose()
    }

    pub fn at(&self) -> time::OffsetDateTime {
        self.at.unwrap_or_else(time::OffsetDateTime::now_utc)
    }
}

/// Which thresholds were given on the command line (they win over wrapsign.toml).
#[derive(Clone, Copy, Debug, Default)]
pub struct Given {
    pub warn_days: bool,
    pub fail_days: bool,
}

fn load_config(
    explicit: Option<&std::path::Path>,
    wanted: bool,
) -> Result<Option<Inventory>, String> {
    if !wanted && explicit.is_none() {
        return Ok(None);
    }
    match config::locate(explicit) {
        Some(p) => config::load(&p).map(Some).map_err(|e| e.to_string()),
        None => Ok(None),
    }
}

fn run_verify(a: VerifyArgs, given: Given) -> i32 {
    let policy = match a.check.policy() {
        Ok(p) => p,
        Err(e) => return usage(e),
    };
    // With no input at all, ./wrapsign.toml is the input.
    let no_inputs = a.paths.is_empty()
        && a.ios.identity.cert.is_none()
        && a.ios.profiles.is_empty()
        && a.ios.apps.is_empty()
        && a.ios.profiles_dir.is_none()
        && a.android.keystores.is_empty();
    let inv = match load_config(a.config.as_deref(), no_inputs) {
        Ok(i) => i,
        Err(e) => return usage(e),
    };
    let policy = match &inv {
        Some(i) => i.policy(&policy),
        None => policy,
    };
    let cli_warn = given.warn_days.then_some(a.check.warn_days);
    let cli_fail = given.fail_days.then_some(a.check.fail_days);
    let global = inv
        .as_ref()
        .map(|i| i.thresholds.global)
        .unwrap_or_default();
    let warn_days = cli_warn.or(global.warn_days).unwrap_or(a.check.warn_days);
    let fail_days = cli_fail.or(global.fail_days).unwrap_or(a.check.fail_days);
    let cert_pass = match password("cert-pass", &a.ios.identity.cert_pass) {
        Ok(p) => p,
        Err(e) => return usage(e),
    };
    let ks_pass = match password("ks-pass", &a.android.ks_pass) {
        Ok(p) => p,
        Err(e) => return usage(e),
    };
    let key_pass = match password("key-pass", &a.android.key_pass) {
        Ok(p) => p,
        Err(e) => return usage(e),
    };
    if let (Some(min), Some(max)) = (a.apk.sdk.min_sdk, a.apk.sdk.max_sdk) {
        if min > max {
            return usage(format!("--min-sdk {min} is above --max-sdk {max}"));
        }
    }
    let at = a.check.at();
    let req = verify::Request {
        paths: a.paths,
        cert: a.ios.identity.cert,
        cert_pass,
        key: a.ios.identity.key,
        profiles: a.ios.profiles,
        profiles_dir: a.ios.profiles_dir,
        apps: a.ios.apps,
        trust_roots: a.ios.identity.trust_roots,
        min_sdk: a.apk.sdk.min_sdk.map(|v| v as i32),
        max_sdk: a.apk.sdk.max_sdk.map(|v| v as i32),
        signer_certs: a.apk.signer_certs,
        at,
        warn_days,
        fail_days,
        online: a
            .check
            .online
            .then(|| std::time::Duration::from_secs(a.check.ocsp_timeout.max(1))),
        keystores: a.android.keystores,
        ks_pass,
        key_pass,
        aliases: a.android.aliases,
        ks_type: a.android.ks_type,
        play_min_validity: a.android.play_min_validity,
        expected_signers: Vec::new(),
        archive: a.check.archive.limits(),
        devices: verify::DeviceOptions {
            credentials_name: a.devices.credentials_name,
            id_type: a.devices.identity_type,
        },
    };
    let mut report = match &inv {
        Some(inv) => {
            let opts = inventory::Options {
                cli_warn_days: cli_warn,
                cli_fail_days: cli_fail,
                trust_roots: req.trust_roots.clone(),
                online: req.online,
                play_min_validity: req.play_min_validity,
                progress: true,
                policy: policy.clone(),
                archive: req.archive,
                ..inventory::Options::new(at)
            };
            let mut r = inventory::run(inv, &opts).report;
            if !no_inputs {
                r.extend(verify::run(&req));
            }
            r
        }
        None => verify::run(&req),
    };
    report.apply(&policy);
    match a.check.load_baseline() {
        Ok(Some(b)) => report.apply_baseline(&b, at),
        Ok(None) => {}
        Err(e) => return usage(e),
    }
    if let Some(path) = &a.check.write_baseline {
        let b = Baseline::from_report(&report);
        let text = serde_json::to_string_pretty(&b).unwrap_or_default() + "\n";
        if let Err(e) = emit(&text, Some(path)) {
            return usage(e);
        }
    }
    let exit_code = report.exit_code(a.check.fail_on());
    let meta = Meta {
        command: "verify",
        at,
        warn_days,
        exit_code,
        color: a.check.format == Format::Human && a.check.output.is_none() && report::use_color(),
        verbosity: a.check.verbose as i8 - a.check.quiet as i8,
    };
    let out = report::render(&report, a.check.format, &meta);
    match emit(&out, a.check.output.as_deref()) {
        Ok(()) => exit_code,
        Err(e) => usage(e),
    }
}

/// Writes a rendered report to stdout or `--output` (atomically, so CI never reads half a file).
fn emit(text: &str, output: Option<&std::path::Path>) -> Result<(), String> {
    match output {
        None => {
            // A reader that closed early (`| head`) has all it wanted: not an error.
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    Err(format!("cannot write to standard output: {e}"))
                }
                _ => Ok(()),
            }
        }
        Some(path) => {
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            let mut tmp = tempfile::NamedTempFile::new_in(dir)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            tmp.write_all(text.as_bytes())
                .and_then(|_| tmp.as_file().sync_all())
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            tmp.persist(path)
                .map_err(|e| format!("cannot write {}: {}", path.display(), e.error))?;
            Ok(())
        }
    }
}

fn run_sign(a: SignArgs) -> i32 {
    let policy = match a.check.policy() {
        Ok(p) => p,
        Err(e) => return usage(e),
    };
    // Dispatch on what the input is, not its name; APK signing plugs in here.
    let kind = match sniff::sniff_path(&a.input) {
        Ok(k) => k,
        Err(e) => return usage(format!("cannot read {}: {e}", a.input.display())),
    };
    // A damaged APK does not sniff as one: the name and the Android flags say
    // what was meant, and the APK signer then names the damage precisely.
    let named_apk = a
        .input
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("apk"));
    let android_flags = !a.android.keystores.is_empty()
        || (a.ios.identity.key.is_some() && a.ios.profiles.is_empty());
    match kind {
        Kind::Apk => run_sign_apk(a, policy),
        Kind::Zip | Kind::Unknown if named_apk || android_flags => run_sign_apk(a, policy),
        Kind::Ipa | Kind::AppDir | Kind::Zip => run_sign_ios(a, policy),
        other => usage(format!(
            "{} is a {}; wrapsign sign takes an .ipa, an .app folder or an .apk",
            a.input.display(),
            other.describe()
        )),
    }
}

fn run_sign_apk(a: SignArgs, policy: Policy) -> i32 {
    use crate::android::sign as apk_sign;
    let key = match (
        a.android.keystores.as_slice(),
        &a.ios.identity.key,
        &a.ios.identity.cert,
    ) {
        ([ks], None, None) => {
            if a.android.aliases.len() > 1 {
                return usage("--alias: give one alias to sign with");
            }
            let store_pass = match password("ks-pass", &a.android.ks_pass) {
                Ok(p) => p,
                Err(e) => return usage(e),
            };
            let key_pass = match password("key-pass", &a.android.key_pass) {
                Ok(p) => p,
                Err(e) => return usage(e),
            };
            apk_sign::KeySource::Keystore {
                path: ks.clone(),
                ks_type: a.android.ks_type,
                store_pass,
                key_pass,
                alias: a.android.aliases.first().cloned(),
            }
        }
        ([], Some(key), Some(cert)) => apk_sign::KeySource::Files {
            key: key.clone(),
            cert: cert.clone(),
        },
        ([], _, _) => {
            return usage(
                "signing an APK needs --keystore KS [--alias A] --ks-pass SPEC, or --key KEY.pk8 --cert CERT.pem",
            )
        }
        ([_], _, _) => return usage("give either --keystore or --key/--cert, not both"),
        _ => return usage("--keystore: give one keystore to sign with"),
    };
    if !a.ios.profiles.is_empty() || a.ios.bundle_id.is_some() || a.ios.entitlements.is_some() {
        return usage("--profile, --bundle-id and --entitlements are for iOS apps, not APKs");
    }
    if let (Some(min), Some(max)) = (a.apk.sdk.min_sdk, a.apk.sdk.max_sdk) {
        if min > max {
            return usage(format!("--min-sdk {min} is above --max-sdk {max}"));
        }
    }
    let baseline = match a.check.load_baseline() {
        Ok(b) => b,
        Err(e) => return usage(e),
    };
    let Some(destination) = a.output.destination() else {
        return usage("give --out PATH or --in-place");
    };
    let rotation = match a.apk.rotation.request() {
        Ok(r) => r,
        Err(e) => return usage(e),
    };
    let at = a.check.at();
    let req = apk_sign::Request {
        input: a.input,
        destination,
        key,
        min_sdk: a.apk.sdk.min_sdk.map(|v| v as i32),
        max_sdk: a.apk.sdk.max_sdk.map(|v| v as i32),
        v1: a.apk.v1,
        v2: a.apk.v2,
        v3: a.apk.v3,
        alignment: apk_sign::Alignment {
            preserve: a.apk.alignment_preserved.unwrap_or(false),
            lib_page: a.apk.lib_page_alignment,
        },
        v1_signer_name: a.apk.v1_signer_name,
        release: a.apk.release,
        at,
        warn_days: a.check.warn_days,
        fail_days: a.check.fail_days,
        play_min_validity: a.android.play_min_validity,
        progress: !a.output.no_progress && !a.check.quiet,
        archive: a.check.archive.limits(),
        rotation,
    };
    let outcome = apk_sign::run(&req, &policy, baseline.as_ref(), a.check.fail_on());
    crate::atomic::hold_if_interrupted();
    render_sign(&outcome.report, outcome.exit_code, &a.check, at)
}

/// Prints a signing run's report (stdout or --output) and returns the exit code.
fn render_sign(
    report: &crate::diag::Report,
    exit_code: i32,
    check: &CheckArgs,
    at: time::OffsetDateTime,
) -> i32 {
    let meta = Meta {
        command: "sign",
        at,
        warn_days: check.warn_days,
        exit_code,
        color: check.format == Format::Human && check.output.is_none() && report::use_color(),
        verbosity: check.verbose as i8 - check.quiet as i8,
    };
    let out = report::render(report, check.format, &meta);
    match emit(&out, check.output.as_deref()) {
        Ok(()) => exit_code,
        Err(e) => usage(e),
    }
}

fn run_sign_ios(a: SignArgs, policy: Policy) -> i32 {
    let Some(cert) = a.ios.identity.cert else {
        return usage("signing an iOS app needs --cert (the distribution identity, .p12)");
    };
    if a.ios.profiles.is_empty() && a.ios.profiles_dir.is_none() {
        return usage(
            "signing an iOS app needs --profile (one per app and extension) or --profiles-dir",
        );
    }
    let cert_pass = match password("cert-pass", &a.ios.identity.cert_pass) {
        Ok(p) => p,
        Err(e) => return usage(e),
    };
    let baseline = match a.check.load_baseline() {
        Ok(b) => b,
        Err(e) => return usage(e),
    };
    let Some(destination) = a.output.destination() else {
        return usage("give --out PATH or --in-place");
    };
    let at = a.check.at();
    let req = ios::sign::Request {
        input: a.input,
        destination,
        cert,
        cert_pass,
        key: a.ios.identity.key,
        profiles: a.ios.profiles,
        profiles_dir: a.ios.profiles_dir,
        bundle_id: a.ios.bundle_id,
        entitlements: a.ios.entitlements,
        trust_roots: a.ios.identity.trust_roots,
        timestamp_url: a.ios.timestamp_url,
        at,
        warn_days: a.check.warn_days,
        fail_days: a.check.fail_days,
        online: a
            .check
            .online
            .then(|| std::time::Duration::from_secs(a.check.ocsp_timeout.max(1))),
        progress: !a.output.no_progress && !a.check.quiet,
        archive: a.check.archive.limits(),
    };
    let outcome = ios::sign::run(&req, &policy, baseline.as_ref(), a.check.fail_on());
    crate::atomic::hold_if_interrupted();
    render_sign(&outcome.report, outcome.exit_code, &a.check, at)
}

fn run_inventory(a: InventoryArgs) -> i32 {
    let inv = match load_config(a.config.as_deref(), true) {
        Ok(i) => i,
        Err(e) => return usage(e),
    };
    if inv.is_none() && a.dirs.is_empty() {
        return usage(format!(
            "no {} here: pass --config FILE, or folders to scan",
            config::DEFAULT_NAME
        ));
    }
    let mut inv = inv.unwrap_or_default();
    for d in &a.dirs {
        if !d.is_dir() {
            return usage(format!("{} is not a folder", d.display()));
        }
    }
    // Unreadable files of a scan are findings of `verify`; the table lists what was read.
    let _ = inventory::add_scans(&mut inv, &a.dirs);
    let mut fallback = Vec::new();
    let mut sources = Vec::new();
    for (flag, spec) in [("cert-pass", &a.cert_pass), ("ks-pass", &a.ks_pass)] {
        match password(flag, spec) {
            Ok(Some(s)) => match s.resolve() {
                Ok(v) => {
                    fallback.push(v);
                    sources.push(format!("--{flag} {s}"));
                }
                Err(e) => return usage(format!("--{flag} {s}: {e}")),
            },
            Ok(None) => {}
            Err(e) => return usage(e),
        }
    }
    let at = a.at.unwrap_or_else(time::OffsetDateTime::now_utc);
    let opts = inventory::Options {
        cli_warn_days: a.warn_days,
        trust_roots: a.trust_roots.clone(),
        fallback_passwords: fallback,
        fallback_sources: sources,
        progress: true,
        ..inventory::Options::new(at)
    };
    let out = inventory::run(&inv, &opts);
    let warn_days = a
        .warn_days
        .or(inv.thresholds.global.warn_days)
        .unwrap_or(crate::at::Horizon::default().warn_days);
    let meta = inventory::table::Meta {
        at,
        warn_days,
        source: inv.source.as_deref(),
    };
    let text = inventory::table::render(&out.rows, a.format, &meta);
    match emit(&text, a.output.as_deref()) {
        Ok(()) => 0,
        Err(e) => usage(e),
    }
}

fn run_bundle(a: BundleArgs) -> i32 {
    use inventory::bundle;
    let policy = match a.check.policy() {
        Ok(p) => p,
        Err(e) => return usage(e),
    };
    let baseline = match a.check.load_baseline() {
        Ok(b) => b,
        Err(e) => return usage(e),
    };
    let passwords = match (&a.credentials, password("password", &a.password)) {
        (Some(f), Ok(None)) => bundle::Passwords::File(f.clone()),
        (None, Ok(Some(spec))) => match spec.resolve() {
            Ok(pw) => bundle::Passwords::One(pw),
            Err(e) => return usage(format!("--password {spec}: {e}")),
        },
        (_, Err(e)) => return usage(e),
        _ => return usage("give --credentials FILE or --password SPEC"),
    };
    let at = a.check.at();
    let req = bundle::Request {
        dir: a.dir,
        passwords,
        credentials_name: a.credentials_name,
        id_type: a.identity_type,
        out: a.out,
        request: a.request,
        delete_list: a.delete_list,
    };
    let ctx = ios::Ctx {
        horizon: crate::at::Horizon {
            warn_days: a.check.warn_days,
            fail_days: a.check.fail_days,
            ..Default::default()
        },
        archive: a.check.archive.limits(),
        ..ios::Ctx::new(at, ios::Trust::apple())
    };
    let judge = crate::outcome::Judge {
        policy: &policy,
        baseline: baseline.as_ref(),
        fail_on: a.check.fail_on(),
        at,
    };
    let outcome = match bundle::run(&req, &ctx, &judge) {
        Ok(o) => o,
        Err(e) => return usage(e.0),
    };
    let meta = Meta {
        command: "bundle",
        at,
        warn_days: a.check.warn_days,
        exit_code: outcome.exit_code,
        color: a.check.format == Format::Human && a.check.output.is_none() && report::use_color(),
        verbosity: a.check.verbose as i8 - a.check.quiet as i8,
    };
    let out = report::render(&outcome.report, a.check.format, &meta);
    if let Err(e) = emit(&out, a.check.output.as_deref()) {
        return usage(e);
    }
    if outcome.written.is_none() {
        eprintln!(
            "wrapsign: nothing written: the bundle for {} does not pass its checks",
            req.out.display()
        );
    }
    outcome.exit_code
}

fn run_explain(a: ExplainArgs) -> i32 {
    // Built whole, then written once: a reader that stops early (`| head`)
    // ends the output quietly instead of a println! panic.
    let text = if a.list {
        Code::ALL
            .iter()
            .map(|c| {
                format!(
                    "{:<28} {:<8} {}\n",
                    c.name(),
                    c.default_severity().as_str(),
                    c.title()
                )
            })
            .collect::<String>()
    } else {
        let name = a.name.unwrap_or_default();
        match Code::from_name(&name) {
            Some(c) => format!(
                "{} ({}, default severity {})\n\nWhy it matters:\n  {}\n\nHow to fix it:\n  {}\n",
                c.name(),
                c.title(),
                c.default_severity(),
                c.why(),
                c.fix()
            ),
            None => {
                return usage(format!(
                    "unknown finding name `{name}`; see `wrapsign explain --list`"
                ))
            }
        }
    };
    match emit(&text, None) {
        Ok(()) => 0,
        Err(e) => usage(e),
    }
}

fn run_generate(a: GenerateArgs) -> i32 {
    use clap::CommandFactory;
    use clap_complete::Shell;
    let mut cmd = Cli::command();
    // Rendered into memory and written once, like every other output.
    let mut out: Vec<u8> = Vec::new();
    let shell = match a.what {
        Generated::Man => {
            // One page for wrapsign, then one per subcommand (wrapsign-verify(1)...).
            cmd.build();
            let mut pages = vec![cmd.clone()];
            for sub in cmd.get_subcommands() {
                let name = format!("wrapsign-{}", sub.get_name());
                pages.push(sub.clone().name(name));
            }
            for page in pages {
                if let Err(e) = clap_mangen::Man::new(page).render(&mut out) {
                    return usage(format!("cannot write the man page: {e}"));
                }
            }
            return emit_bytes(&out);
        }
        Generated::Bash => Shell::Bash,
        Generated::Zsh => Shell::Zsh,
        Generated::Fish => Shell::Fish,
        Generated::Powershell => Shell::PowerShell,
        Generated::Elvish => Shell::Elvish,
    };
    clap_complete::generate(shell, &mut cmd, "wrapsign", &mut out);
    emit_bytes(&out)
}

fn emit_bytes(out: &[u8]) -> i32 {
    match emit(&String::from_utf8_lossy(out), None) {
        Ok(()) => 0,
        Err(e) => usage(e),
    }
}

/// Parses the command line and runs it; returns the process exit code.
pub fn main() -> i32 {
    use clap::{CommandFactory, FromArgMatches};
    crate::secret::install_panic_hook();
    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m).map(|c| (c, m)));
    let (cli, matches) = match parsed {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    // Thresholds typed on the command line win over wrapsign.toml's.
    let given = matches
        .subcommand_matches("verify")
        .map(|m| {
            let typed =
                |id: &str| m.value_source(id) == Some(clap::parser::ValueSource::CommandLine);
            Given {
                warn_days: typed("warn_days"),
                fail_days: typed("fail_days"),
            }
        })
        .unwrap_or_default();
    match cli.command {
        Command::Verify(a) => run_verify(*a, given),
        Command::Sign(a) => run_sign(*a),
        Command::Inventory(a) => run_inventory(a),
        Command::Rotate(a) => rotation::run_rotate(*a),
        Command::Lineage(a) => rotation::run_lineage(a),
        Command::Bundle(a) => run_bundle(*a),
        Command::Explain(a) => run_explain(a),
        Command::Generate(a) => run_generate(a),
    }
}
