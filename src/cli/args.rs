//! The argument groups the subcommands share. Each flag is defined once, here
//! or (when only one subcommand has it) in that subcommand's module; a
//! subcommand composes the groups it needs with `#[command(flatten)]` and
//! rewords a shared flag's help for its own meaning in its `tailor` function.
//! These are the raw arguments (ripgrep's "low" args): `settings.rs` resolves
//! them once, with `wrapsign.toml` and the defaults, into [`super::Settings`].

use std::path::PathBuf;

use clap::Args;
use time::OffsetDateTime;

use crate::android::keystore::StoreType;
use crate::at;
use crate::diag::FailOn;
use crate::report::Format;
use crate::signer::ipa::ProfileArg;
use crate::zip as archive;

/// Days for thresholds: the range wrapsign.toml accepts too.
fn days() -> clap::builder::RangedI64ValueParser<i64> {
    clap::value_parser!(i64).range(0..=36_500)
}

/// An API level.
fn api_level() -> clap::builder::RangedI64ValueParser<u32> {
    clap::value_parser!(u32).range(0..=i32::MAX as i64)
}

/// `--config FILE`: where the signing inventory and the project's settings live.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Configuration")]
pub struct ConfigArgs {
    /// The signing inventory and its settings (trust roots, thresholds, levels); default: ./wrapsign.toml when it exists
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// The verification instant and how far ahead expiries matter.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Time")]
pub struct TimeArgs {
    /// Verification instant: YYYY-MM-DD or RFC 3339 (default: now)
    #[arg(long, value_name = "TIME", value_parser = at::parse)]
    pub at: Option<OffsetDateTime>,
    /// Warn this many days before anything expires (default: wrapsign.toml's [thresholds], else 30)
    #[arg(long, value_name = "N", value_parser = days())]
    pub warn_days: Option<i64>,
    /// Fail (error) when anything expires within N days (default: wrapsign.toml's [thresholds], else 0: only once expired)
    #[arg(long, value_name = "N", value_parser = days())]
    pub fail_days: Option<i64>,
}

/// Trust anchors and the network.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Trust")]
pub struct TrustArgs {
    /// Extra trust anchor(s), PEM or DER, e.g. a test or enterprise CA (repeatable; added to wrapsign.toml's trust_roots)
    #[arg(long = "trust-root", value_name = "PEM")]
    pub trust_roots: Vec<PathBuf>,
    /// Check revocation by OCSP (the only time wrapsign uses the network)
    #[arg(long)]
    pub online: bool,
    /// Seconds to wait for an OCSP responder
    #[arg(long, value_name = "SECS", default_value_t = 5)]
    pub ocsp_timeout: u64,
}

/// Password sources. Kept as text until resolved: a rejected value is
/// probably the password itself, and clap would echo it.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Passwords (SPEC: pass:VALUE, env:VAR, file:PATH or stdin)")]
pub struct PasswordArgs {
    /// Password of .p12/.pfx files (tried on keystores too)
    #[arg(long, value_name = "SPEC")]
    pub cert_pass: Option<String>,
    /// Keystore password (tried on .p12 files too)
    #[arg(long, value_name = "SPEC")]
    pub ks_pass: Option<String>,
    /// Key password of keystore entries (default: the keystore password, as keytool does)
    #[arg(long, value_name = "SPEC")]
    pub key_pass: Option<String>,
}

/// Certificates, keys and keystores. `sign` uses them as the signing key;
/// `verify` and `inventory` check them.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Keys")]
pub struct KeyArgs {
    /// A signing identity to check (.p12/.pfx, or a PEM/DER certificate); profiles and apps given with it are checked against it
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// Private key (PEM/DER) for --cert when it is not a .p12
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// A keystore to check: JKS, JCEKS or PKCS#12 (repeatable); APKs given with it must be signed by one of its keys
    #[arg(long = "keystore", visible_alias = "ks", value_name = "FILE")]
    pub keystores: Vec<PathBuf>,
    /// Check only this keystore alias (repeatable; default: every alias)
    #[arg(long = "alias", visible_alias = "ks-key-alias", value_name = "NAME")]
    pub aliases: Vec<String>,
    /// Keystore format, when the content does not say
    #[arg(long, value_enum, value_name = "TYPE")]
    pub ks_type: Option<StoreType>,
}

/// Provisioning profiles.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Profiles")]
pub struct ProfileArgs {
    /// A provisioning profile to check (repeatable)
    #[arg(long = "profile", value_name = "FILE", value_parser = parse_profile_arg)]
    pub profiles: Vec<ProfileArg>,
    /// A folder of candidate profiles: each app target gets the best match
    #[arg(long, value_name = "DIR")]
    pub profiles_dir: Option<PathBuf>,
}

fn parse_profile_arg(s: &str) -> Result<ProfileArg, String> {
    s.parse()
}

/// Apps to check, and the certificates their signatures must carry.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Apps")]
pub struct AppArgs {
    /// An app to check: .ipa, .app or .apk (repeatable)
    #[arg(long = "app", value_name = "PATH")]
    pub apps: Vec<PathBuf>,
    /// Certificate (PEM or DER) every APK must be signed with, e.g. the installed app's (repeatable)
    #[arg(long = "signer-cert", value_name = "FILE")]
    pub signer_certs: Vec<PathBuf>,
}

/// Android rules: Google Play's date and the API levels.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Android")]
pub struct AndroidArgs {
    /// Google Play: app signing certificates must stay valid after this date
    #[arg(long, value_name = "DATE", value_parser = at::parse, default_value = "2033-10-22")]
    pub play_min_validity: OffsetDateTime,
    /// Lowest API level an APK runs on (default: its minSdkVersion)
    #[arg(long, visible_alias = "min-sdk-version", value_name = "N", value_parser = api_level())]
    pub min_sdk: Option<u32>,
    /// Highest API level to verify or sign for (default: every future level)
    #[arg(long, visible_alias = "max-sdk-version", value_name = "N", value_parser = api_level())]
    pub max_sdk: Option<u32>,
}

impl AndroidArgs {
    /// The defaults, for subcommands without these flags.
    pub fn defaults() -> AndroidArgs {
        AndroidArgs {
            play_min_validity: crate::context::PLAY_MIN_VALIDITY,
            min_sdk: None,
            max_sdk: None,
        }
    }
}

/// How device bundles (zips of `DEVICE_ID.p12` files) named or found are read.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Device bundles")]
pub struct DeviceArgs {
    /// The credentials file inside a bundle zip (default: its only text file, else credential.txt)
    #[arg(long, value_name = "NAME")]
    pub credentials_name: Option<String>,
    /// How the .p12 files are named; checked against every name (default: inferred from the names)
    #[arg(long, value_enum, value_name = "TYPE")]
    pub identity_type: Option<crate::inventory::bulk::IdType>,
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

/// The material to check, as `verify` and `inventory` both take it: the paths
/// named, every flag that names or unlocks material, and the settings the
/// checks run under. `inventory` rewords the help for listing.
#[derive(Args, Debug)]
pub struct MaterialArgs {
    /// Files and folders to check, recognised by content: .p12/.pfx, .cer/.der/.pem, .mobileprovision, .ipa, .app, .apk, keystores, device bundles; folders are scanned
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub keys: KeyArgs,
    #[command(flatten)]
    pub profiles: ProfileArgs,
    #[command(flatten)]
    pub apps: AppArgs,
    #[command(flatten)]
    pub devices: DeviceArgs,
    #[command(flatten)]
    pub passwords: PasswordArgs,
    #[command(flatten)]
    pub time: TimeArgs,
    #[command(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    pub android: AndroidArgs,
    #[command(flatten)]
    pub archive: ArchiveArgs,
}

/// What fails the run: levels per finding name, the threshold, accepted findings.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Policy")]
pub struct PolicyArgs {
    /// Drop findings with this name (repeatable)
    #[arg(long = "allow", value_name = "NAME")]
    pub allow: Vec<String>,
    /// Make findings with this name warnings (repeatable)
    #[arg(long = "warn", value_name = "NAME")]
    pub warn: Vec<String>,
    /// Make findings with this name errors (repeatable)
    #[arg(long = "deny", value_name = "NAME")]
    pub deny: Vec<String>,
    /// Fail (exit 1) on warnings too
    #[arg(long)]
    pub deny_warnings: bool,
    /// What fails the run
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    /// Suppress the findings recorded in FILE (entries may carry "accepted_until")
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Record the current findings as accepted in FILE (then use --baseline FILE)
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
}

/// `--report FILE`: where the report goes instead of standard output.
#[derive(Args, Debug, Clone, Default)]
pub struct ReportFileArgs {
    /// Write the report to FILE instead of standard output (atomically)
    #[arg(long = "report", value_name = "FILE")]
    pub report: Option<PathBuf>,
}

/// The report: its format, how much it says, where it goes.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Report")]
pub struct ReportArgs {
    /// Report format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Human output: only warnings, errors and the verdict
    #[arg(long, short = 'q', conflicts_with = "verbose")]
    pub quiet: bool,
    /// Human output: also print each finding's details
    #[arg(long, short = 'v')]
    pub verbose: bool,
    #[command(flatten)]
    pub file: ReportFileArgs,
}

impl ReportArgs {
    pub fn verbosity(&self) -> i8 {
        self.verbose as i8 - self.quiet as i8
    }
}

/// Changes one shared flag for one subcommand (its help wording, an alias),
/// keeping its place in the help. Panics on an unknown id: a test builds
/// every subcommand.
pub fn edit(cmd: clap::Command, id: &str, f: impl FnOnce(clap::Arg) -> clap::Arg) -> clap::Command {
    assert!(
        cmd.get_arguments().any(|a| a.get_id() == id),
        "no argument `{id}` in `{}`",
        cmd.get_name()
    );
    let mut f = Some(f);
    cmd.mut_args(move |a| match (a.get_id() == id, f.take()) {
        (true, Some(f)) => f(a),
        (_, back) => {
            f = back;
            a
        }
    })
}

/// [`edit`] for help texts: `(id, help)` pairs.
pub fn reword(cmd: clap::Command, helps: &[(&str, &str)]) -> clap::Command {
    helps.iter().fold(cmd, |cmd, (id, help)| {
        edit(cmd, id, |a| a.help(help.to_string()))
    })
}

/// Old spellings of `--report`, kept hidden on the subcommands that write no
/// other file (on `sign`, `-o` would be mistaken for the signed output).
pub fn report_aliases(cmd: clap::Command) -> clap::Command {
    edit(cmd, "report", |a| a.short_alias('o').alias("output"))
}
