//! `wrapsign inventory`: the same inventory `verify` checks (paths, flags,
//! folders, wrapsign.toml), checked the same way, printed as a table.

use std::path::PathBuf;

use clap::Args;

use super::args::{
    report_aliases, reword, AndroidArgs, AppArgs, ArchiveArgs, ConfigArgs, DeviceArgs, KeyArgs,
    PasswordArgs, ProfileArgs, ReportFileArgs, TimeArgs, TrustArgs,
};
use super::settings::{self, Raw};
use super::verify::{config_entries, inputs, password_problems};
use super::{output, usage};
use crate::inventory::{self, table::TableFormat};

#[derive(Args, Debug)]
pub struct InventoryArgs {
    /// Files and folders to list, recognised by content; folders are scanned (default: ./wrapsign.toml's entries)
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
    pub table: TableArgs,
}

/// The table: its format and where it goes.
#[derive(Args, Debug)]
#[command(next_help_heading = "Report")]
pub struct TableArgs {
    /// Table format
    #[arg(long, value_enum, default_value_t = TableFormat::Human)]
    pub format: TableFormat,
    #[command(flatten)]
    pub file: ReportFileArgs,
}

pub fn tailor(cmd: clap::Command) -> clap::Command {
    reword(
        report_aliases(cmd),
        &[
            ("cert", "A certificate or identity to list (.p12/.pfx, or a PEM/DER certificate)"),
            ("keystores", "A keystore to list: JKS, JCEKS or PKCS#12 (repeatable)"),
            ("aliases", "List only this keystore alias (repeatable; default: every alias)"),
            ("profiles", "A provisioning profile to list (repeatable)"),
            ("apps", "An app to list: .ipa, .app or .apk (repeatable)"),
            ("warn_days", "Items expiring within N days are `expiring` (default: wrapsign.toml's [thresholds], else 30)"),
            ("report", "Write the table to FILE instead of standard output (atomically)"),
        ],
    )
}

pub fn run(a: InventoryArgs) -> i32 {
    let inputs = match inputs(&a.paths, &a.keys, &a.profiles, &a.apps, &a.devices) {
        Ok(i) => i,
        Err(e) => return usage(e),
    };
    let writes: Vec<(&str, &std::path::Path)> = a
        .table
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
        policy: None,
        signer_certs: &a.apps.signer_certs,
        writes: &writes,
    }) {
        Ok(s) => s,
        Err(e) => return usage(e),
    };
    let passwords = s.passwords.read();
    // The table lists what was read; what could not be is said on stderr.
    for f in s.problems.iter().chain(&password_problems(&passwords)) {
        eprintln!("wrapsign: warning: {}", f.message);
    }
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
    let at = s.context.at();
    let warn_days = s.context.base().horizon.warn_days;
    let meta = inventory::table::Meta {
        at,
        warn_days,
        source: inv.source.as_deref(),
    };
    let text = inventory::render::render(&out.rows, a.table.format, &meta);
    match output::emit(&text, a.table.file.report.as_deref()) {
        Ok(()) => 0,
        Err(e) => usage(e),
    }
}
