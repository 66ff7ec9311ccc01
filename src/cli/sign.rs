//! `wrapsign sign`: re-sign an IPA, `.app` or APK after the checks pass. The
//! settings (trust roots, thresholds, levels) come from the command line over
//! wrapsign.toml over the defaults, as for `verify`.

use std::path::{Path, PathBuf};

use clap::Args;

use super::args::{
    edit, reword, AndroidArgs, ArchiveArgs, ConfigArgs, KeyArgs, PasswordArgs, PolicyArgs,
    ProfileArgs, ReportArgs, TimeArgs, TrustArgs,
};
use super::settings::{self, Raw, Settings};
use super::{output, usage};
use crate::atomic::Destination;
use crate::identity::Source;
use crate::signer;
use crate::sniff::{self, Kind};

#[derive(Args, Debug)]
pub struct SignArgs {
    /// The app to sign, recognised by content: .ipa, .app folder or .apk
    #[arg(value_name = "INPUT")]
    pub input: PathBuf,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub keys: KeyArgs,
    #[command(flatten)]
    pub passwords: PasswordArgs,
    #[command(flatten)]
    pub profiles: ProfileArgs,
    #[command(flatten)]
    pub ios: IosSignArgs,
    #[command(flatten)]
    pub apk: ApkSignArgs,
    #[command(flatten)]
    pub time: TimeArgs,
    #[command(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    pub android: AndroidArgs,
    #[command(flatten)]
    pub archive: ArchiveArgs,
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// Where the signed app goes.
#[derive(Args, Debug)]
#[command(next_help_heading = "Signed output")]
pub struct OutputArgs {
    /// Write the signed app here (.ipa or .apk file; a folder for .app input unless it ends in .ipa)
    #[arg(long, value_name = "PATH", conflicts_with = "in_place")]
    pub out: Option<PathBuf>,
    /// Replace the input, atomically, only after signing succeeded
    #[arg(long)]
    pub in_place: bool,
    /// Show no progress bar (it is only shown on a terminal)
    #[arg(long)]
    pub no_progress: bool,
}

#[derive(Args, Debug)]
#[command(next_help_heading = "iOS signing")]
pub struct IosSignArgs {
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

/// How an APK is signed (the key comes from --keystore, or --key with --cert).
#[derive(Args, Debug)]
#[command(next_help_heading = "Android signing")]
pub struct ApkSignArgs {
    /// JAR signing (v1): true|false (default: only when minSdk < 24)
    #[arg(long, visible_alias = "v1-signing-enabled", value_name = "BOOL", action = clap::ArgAction::Set)]
    pub v1: Option<bool>,
    /// APK Signature Scheme v2: true|false (default: when --max-sdk is 24 or more)
    #[arg(long, visible_alias = "v2-signing-enabled", value_name = "BOOL", action = clap::ArgAction::Set)]
    pub v2: Option<bool>,
    /// APK Signature Scheme v3: true|false (default: when --max-sdk is 28 or more)
    #[arg(long, visible_alias = "v3-signing-enabled", value_name = "BOOL", action = clap::ArgAction::Set)]
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
    pub rotation: super::rotation::SignRotationArgs,
}

fn parse_page(s: &str) -> Result<u64, String> {
    match s.parse::<u64>() {
        Ok(n) if n.is_power_of_two() && (4..=32768).contains(&n) => Ok(n),
        _ => Err("expected a power of two from 4 to 32768 (16384 for 16 KiB pages)".into()),
    }
}

/// The shared flags, worded for signing.
pub fn tailor(cmd: clap::Command) -> clap::Command {
    let cmd = reword(
        cmd,
        &[
            ("cert", "The signing identity: a .p12/.pfx, or a PEM/DER certificate with --key (an IPA or an APK)"),
            ("key", "The private key (PEM/DER, e.g. apksigner's key.pk8) for --cert"),
            ("keystores", "The keystore holding the signing key: JKS, JCEKS or PKCS#12 (an APK or an IPA)"),
            ("aliases", "The keystore alias to sign with (default: the keystore's only private key)"),
            ("cert_pass", "Password of the --cert .p12"),
            ("ks_pass", "Password of the --keystore"),
            ("key_pass", "Password of the signing key (default: the keystore password, as keytool does)"),
            ("profiles", "Provisioning profile, matched to a bundle by its App ID, or BUNDLE_ID=FILE (repeatable)"),
            ("profiles_dir", "A folder of candidate profiles: each bundle without a --profile gets the best match"),
            ("min_sdk", "Lowest API level to sign for (default: the APK's minSdkVersion)"),
            ("max_sdk", "Highest API level to sign for (default: every future level)"),
            ("report", "Write the report to FILE instead of standard output (the signed app goes to --out)"),
        ],
    );
    edit(cmd, "profiles", |a| a.value_name("[BUNDLE_ID=]FILE"))
}

pub fn run(a: SignArgs) -> i32 {
    // A missing destination is a usage error that says both ways to give one.
    let destination = match (&a.output.out, a.output.in_place) {
        (_, true) => Destination::InPlace,
        (Some(p), false) => Destination::To(p.clone()),
        (None, false) => {
            return usage(format!(
                "where should the signed app go? give --out PATH for a new file, or --in-place to replace {} (atomically, once signing succeeded)",
                a.input.display()
            ))
        }
    };
    let mut writes: Vec<(&str, &Path)> = Vec::new();
    if let Some(p) = &a.output.out {
        writes.push(("--out", p.as_path()));
    }
    if let Some(p) = &a.report.file.report {
        writes.push(("--report", p.as_path()));
    }
    let s = match settings::resolve(Raw {
        config: &a.config,
        time: &a.time,
        trust: &a.trust,
        passwords: &a.passwords,
        android: &a.android,
        archive: &a.archive,
        policy: Some(&a.policy),
        signer_certs: &[],
        writes: &writes,
    }) {
        Ok(s) => s,
        Err(e) => return usage(e),
    };
    // The gate cannot be trusted without its anchors: refuse before any work.
    if let Some(f) = s.problems.first() {
        return usage(&f.message);
    }
    // Dispatch on what the input is, not its name.
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
    // Both signers take --keystore and --cert/--key: profiles say iOS.
    let android_flags = (!a.keys.keystores.is_empty() || a.keys.key.is_some())
        && a.profiles.profiles.is_empty()
        && a.profiles.profiles_dir.is_none();
    match kind {
        Kind::Apk => sign_apk(a, s, destination),
        Kind::Zip | Kind::Unknown if named_apk || android_flags => sign_apk(a, s, destination),
        Kind::Ipa | Kind::AppDir | Kind::Zip => sign_ios(a, s, destination),
        other => usage(format!(
            "{} is a {}; wrapsign sign takes an .ipa, an .app folder or an .apk",
            a.input.display(),
            other.describe()
        )),
    }
}

/// The signing identity the flags name, for either signer: `--keystore` (one,
/// with at most one `--alias`) or `--cert` (a .p12, or a certificate with its
/// key inside or in `--key`). `None`: no identity flag at all.
fn sign_identity(a: &SignArgs, s: &Settings) -> Result<Option<Source>, String> {
    let k = &a.keys;
    match (k.keystores.as_slice(), &k.cert) {
        ([], None) if k.key.is_some() => {
            Err("--key needs --cert, the certificate of the key".into())
        }
        ([], None) => Ok(None),
        ([ks], None) if k.key.is_none() => {
            if k.aliases.len() > 1 {
                return Err("--alias: give one alias to sign with".into());
            }
            Ok(Some(Source::Keystore {
                path: ks.clone(),
                ks_type: k.ks_type,
                store_pass: s.passwords.store.clone(),
                key_pass: s.passwords.key.clone(),
                alias: k.aliases.first().cloned(),
            }))
        }
        // apksigner's habit: --ks-pass for a .p12 given with --cert.
        ([], Some(cert)) => Ok(Some(Source::Cert {
            path: cert.clone(),
            pass: s
                .passwords
                .cert
                .clone()
                .or_else(|| s.passwords.store.clone()),
            key: k.key.clone(),
        })),
        ([_], _) => Err("give either --keystore or --cert/--key, not both".into()),
        _ => Err("--keystore: give one keystore to sign with".into()),
    }
}

/// What both signers take from the settings besides their own options.
fn signer_settings(
    a: &SignArgs,
    s: &Settings,
    destination: Destination,
    identity: Source,
) -> signer::Settings {
    let mut out = signer::Settings::new(a.input.clone(), destination, identity, s.context.clone());
    out.progress = !a.output.no_progress && !a.report.quiet;
    out
}

fn sign_apk(a: SignArgs, s: Settings, destination: Destination) -> i32 {
    use crate::signer::apk as apk_sign;
    let identity = match sign_identity(&a, &s) {
        Ok(Some(id)) => id,
        Ok(None) => {
            return usage(
                "signing an APK needs --keystore KS [--alias A] --ks-pass SPEC, --cert ID.p12 --cert-pass SPEC, or --key KEY.pk8 --cert CERT.pem",
            )
        }
        Err(e) => return usage(e),
    };
    if !a.profiles.profiles.is_empty() || a.ios.bundle_id.is_some() || a.ios.entitlements.is_some()
    {
        return usage("--profile, --bundle-id and --entitlements are for iOS apps, not APKs");
    }
    let sdk = s.context.base().sdk;
    let mut req = apk_sign::Request::new(signer_settings(&a, &s, destination, identity));
    req.min_sdk = sdk.min;
    req.max_sdk = sdk.max;
    req.v1 = a.apk.v1;
    req.v2 = a.apk.v2;
    req.v3 = a.apk.v3;
    req.alignment = apk_sign::Alignment {
        preserve: a.apk.alignment_preserved.unwrap_or(false),
        lib_page: a.apk.lib_page_alignment,
    };
    req.v1_signer_name = a.apk.v1_signer_name.clone();
    req.release = a.apk.release;
    req.rotation = match a.apk.rotation.request() {
        Ok(r) => r,
        Err(e) => return usage(e),
    };
    let outcome = apk_sign::run(&req, &s.policy, s.baseline.as_ref(), s.fail_on);
    finish(outcome, &s, &a.report)
}

fn sign_ios(a: SignArgs, s: Settings, destination: Destination) -> i32 {
    let identity = match sign_identity(&a, &s) {
        Ok(Some(id)) => id,
        Ok(None) => {
            return usage(
                "signing an iOS app needs --cert (the distribution identity: a .p12, or a certificate with --key) or --keystore KS --alias A",
            )
        }
        Err(e) => return usage(e),
    };
    if a.profiles.profiles.is_empty() && a.profiles.profiles_dir.is_none() {
        return usage(
            "signing an iOS app needs --profile (one per app and extension) or --profiles-dir",
        );
    }
    let mut req = signer::ipa::Request::new(signer_settings(&a, &s, destination, identity));
    req.profiles = a.profiles.profiles.clone();
    req.profiles_dir = a.profiles.profiles_dir.clone();
    req.bundle_id = a.ios.bundle_id.clone();
    req.entitlements = a.ios.entitlements.clone();
    req.timestamp_url = a.ios.timestamp_url.clone();
    let outcome = signer::ipa::run(&req, &s.policy, s.baseline.as_ref(), s.fail_on);
    finish(outcome, &s, &a.report)
}

/// Prints the report, then (on stderr) what is on disk, as an interrupt would.
fn finish(outcome: crate::outcome::Outcome, s: &Settings, out: &ReportArgs) -> i32 {
    crate::atomic::hold_if_interrupted();
    if let Some(path) = &s.write_baseline {
        let b = crate::diag::Baseline::from_report(&outcome.report);
        let text = serde_json::to_string_pretty(&b).unwrap_or_default() + "\n";
        if let Err(e) = output::emit(&text, Some(path)) {
            return usage(e);
        }
    }
    let warn_days = s.context.base().horizon.warn_days;
    let code = output::render(
        "sign",
        &outcome.report,
        outcome.exit_code,
        s.context.at(),
        warn_days,
        out,
    );
    if !out.quiet {
        eprintln!("wrapsign: {}", outcome.disk);
    }
    code
}
