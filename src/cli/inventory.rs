//! `wrapsign inventory`: the same inventory `verify` checks (paths, flags,
//! folders, wrapsign.toml), checked the same way, printed as a table.

use clap::Args;

use super::args::{report_aliases, reword, MaterialArgs, ReportFileArgs};
use super::verify::Prepared;
use super::{output, usage};
use crate::inventory::{self, table::TableFormat};

#[derive(Args, Debug)]
pub struct InventoryArgs {
    #[command(flatten)]
    pub material: MaterialArgs,
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
            ("paths", "Files and folders to list, recognised by content; folders are scanned (default: ./wrapsign.toml's entries)"),
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
    let p = match Prepared::new(&a.material, None, a.table.file.report.as_deref()) {
        Ok(p) => p,
        Err(e) => return usage(e),
    };
    // The table lists what was read; what could not be is said on stderr.
    for f in p.problems() {
        eprintln!("wrapsign: warning: {}", f.message);
    }
    let inv = match p.gather() {
        Ok(i) => i,
        Err(e) => return usage(e),
    };
    let s = &p.settings;
    let out = inventory::check(&inv, &s.context, &s.policy, true);
    let meta = inventory::table::Meta {
        at: s.context.at(),
        warn_days: s.context.base().horizon.warn_days,
        source: inv.source.as_deref(),
    };
    let text = inventory::render::render(&out.rows, a.table.format, &meta);
    match output::emit(&text, a.table.file.report.as_deref()) {
        Ok(()) => 0,
        Err(e) => usage(e),
    }
}
