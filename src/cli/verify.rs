//! `wrapsign verify`: gather the inventory (paths, flags, folders, wrapsign.toml),
//! check it, report the findings.

use std::path::PathBuf;

use clap::Args;

use super::args::{
    report_aliases, AndroidArgs, AppArgs, ArchiveArgs, ConfigArgs, DeviceArgs, KeyArgs,
    PasswordArgs, PolicyArgs, ProfileArgs, ReportArgs, TimeArgs, TrustArgs,
};
use super::settings::{self, Raw, Settings};
use super::{output, usage};
use crate::diag::{Baseline, Finding, Report};
use crate::inventory::{self, Inputs, Inventory};
use crate::secret::Passwords;

#[derive(Args, Debug)]
pub struct VerifyArgs {
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
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// `verify`'s help is the groups' own wording; `-o`/`--output` stay as hidden
/// spellings of `--report`.
pub fn tailor(cmd: clap::Command) -> clap::Command {
    report_aliases(cmd)
}

/// The inputs the command line names (shared with `inventory`).
pub fn inputs(
    paths: &[PathBuf],
    keys: &KeyArgs,
    profiles: &ProfileArgs,
    apps: &AppArgs,
    devices: &DeviceArgs,
) -> Result<Inputs, String> {
    if let Some(p) = profiles.profiles.iter().find(|p| p.bundle_id.is_some()) {
        return Err(format!(
            "--profile {}={}: a profile is paired with a bundle by its App ID; BUNDLE_ID=FILE is for `wrapsign sign`",
            p.bundle_id.as_deref().unwrap_or(""),
            p.path.display()
        ));
    }
    Ok(Inputs {
        paths: paths.to_vec(),
        cert: keys.cert.clone(),
        key: keys.key.clone(),
        profiles: profiles.profiles.iter().map(|p| p.path.clone()).collect(),
        profiles_dir: profiles.profiles_dir.clone(),
        apps: apps.apps.clone(),
        keystores: keys.keystores.clone(),
        aliases: keys.aliases.clone(),
        ks_type: keys.ks_type,
        credentials_name: devices.credentials_name.clone(),
        id_type: devices.identity_type,
    })
}

/// The config's entries are inputs when nothing else is named, or when the
/// config was named with `--config`; otherwise only its settings apply.
pub fn config_entries(s: &Settings, inputs: &Inputs) -> Option<Inventory> {
    (inputs.is_empty() || s.config_named)
        .then(|| s.config.clone())
        .flatten()
}

/// Password flags whose source could not be read: findings, never the value.
pub fn password_problems(p: &Passwords) -> Vec<Finding> {
    p.unreadable()
        .map(|r| {
            let flag = format!("--{}", r.flag);
            let err = r.value.as_ref().err().cloned().unwrap_or_default();
            Finding::unreadable(&flag, format!("{flag} {}: {err}", r.spec))
        })
        .collect()
}

pub fn run(a: VerifyArgs) -> i32 {
    let inputs = match inputs(&a.paths, &a.keys, &a.profiles, &a.apps, &a.devices) {
        Ok(i) => i,
        Err(e) => return usage(e),
    };
    let writes: Vec<(&str, &std::path::Path)> = a
        .report
        .file
        .report
        .iter()
        .map(|p| ("--report", p.as_path()))
        .collect();
    let s = match settings::resolve(Raw {
        config: &a.config,
        time: &a.time,
        trust: &a.trust,
        passwords: &a.passwords,
        android: &a.android,
        archive: &a.archive,
        policy: Some(&a.policy),
        signer_certs: &a.apps.signer_certs,
        writes: &writes,
    }) {
        Ok(s) => s,
        Err(e) => return usage(e),
    };
    let passwords = s.passwords.read();
    let inv = match inventory::gather(
        config_entries(&s, &inputs),
        &inputs,
        &passwords,
        &s.context.base().archive,
    ) {
        Ok(i) => i,
        Err(e) => return usage(e),
    };
    let out = inventory::check(&inv, &s.context, &s.policy, true);
    let mut report = Report::default();
    report.findings.extend(s.problems.iter().cloned());
    report.findings.extend(password_problems(&passwords));
    report.extend(out.report);
    report.apply(&s.policy);
    let at = s.context.at();
    if let Some(b) = &s.baseline {
        report.apply_baseline(b, at);
    }
    if let Some(path) = &s.write_baseline {
        let b = Baseline::from_report(&report);
        let text = serde_json::to_string_pretty(&b).unwrap_or_default() + "\n";
        if let Err(e) = output::emit(&text, Some(path)) {
            return usage(e);
        }
    }
    let exit_code = report.exit_code(s.fail_on);
    let warn_days = s.context.base().horizon.warn_days;
    output::render("verify", &report, exit_code, at, warn_days, &a.report)
}
