//! `wrapsign verify`: gather the inventory (paths, flags, folders, wrapsign.toml),
//! check it, report the findings.

use std::path::Path;

use clap::Args;

use super::args::{report_aliases, MaterialArgs, PolicyArgs, ReportArgs};
use super::settings::{self, Raw, Settings, Usage};
use super::{output, usage};
use crate::diag::{Finding, Report};
use crate::inventory::{self, Inputs, Inventory};
use crate::secret::Passwords;

#[derive(Args, Debug)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub material: MaterialArgs,
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

/// What `verify` and `inventory` start from: the inputs the command line
/// names, the settings resolved and the passwords read.
pub struct Prepared {
    pub inputs: Inputs,
    pub settings: Settings,
    pub passwords: Passwords,
}

impl Prepared {
    /// `policy`: `verify`'s levels (`inventory` has none); `report`: the
    /// file the report or table goes to.
    pub fn new(
        m: &MaterialArgs,
        policy: Option<&PolicyArgs>,
        report: Option<&Path>,
    ) -> Result<Prepared, Usage> {
        let inputs = inputs(m)?;
        let settings = settings::resolve(Raw {
            config: &m.config,
            time: &m.time,
            trust: &m.trust,
            passwords: &m.passwords,
            android: &m.android,
            archive: &m.archive,
            policy,
            signer_certs: &m.apps.signer_certs,
            writes: &report
                .map(|p| ("--report", p))
                .into_iter()
                .collect::<Vec<_>>(),
        })?;
        let passwords = settings.passwords.read();
        Ok(Prepared {
            inputs,
            settings,
            passwords,
        })
    }

    /// Files the settings name that cannot be read, and password flags whose
    /// source cannot: findings, never a value.
    pub fn problems(&self) -> Vec<Finding> {
        let passwords = self.passwords.unreadable().map(|r| {
            let flag = format!("--{}", r.flag);
            let err = r.value.as_ref().err().cloned().unwrap_or_default();
            Finding::unreadable(&flag, format!("{flag} {}: {err}", r.spec))
        });
        self.settings
            .problems
            .iter()
            .cloned()
            .chain(passwords)
            .collect()
    }

    /// The inventory to check. The config's entries are inputs when nothing
    /// else is named, or when the config was named with `--config`;
    /// otherwise only its settings apply.
    pub fn gather(&self) -> Result<Inventory, Usage> {
        let s = &self.settings;
        let config = (self.inputs.is_empty() || s.config_named)
            .then(|| s.config.clone())
            .flatten();
        inventory::gather(
            config,
            &self.inputs,
            &self.passwords,
            &s.context.base().archive,
        )
    }
}

/// The inputs the command line names.
fn inputs(m: &MaterialArgs) -> Result<Inputs, Usage> {
    if let Some(p) = m.profiles.profiles.iter().find(|p| p.bundle_id.is_some()) {
        return Err(format!(
            "--profile {}={}: a profile is paired with a bundle by its App ID; BUNDLE_ID=FILE is for `wrapsign sign`",
            p.bundle_id.as_deref().unwrap_or(""),
            p.path.display()
        ));
    }
    Ok(Inputs {
        paths: m.paths.clone(),
        cert: m.keys.cert.clone(),
        key: m.keys.key.clone(),
        profiles: m.profiles.profiles.iter().map(|p| p.path.clone()).collect(),
        profiles_dir: m.profiles.profiles_dir.clone(),
        apps: m.apps.apps.clone(),
        keystores: m.keys.keystores.clone(),
        aliases: m.keys.aliases.clone(),
        ks_type: m.keys.ks_type,
        credentials_name: m.devices.credentials_name.clone(),
        id_type: m.devices.identity_type,
    })
}

pub fn run(a: VerifyArgs) -> i32 {
    let p = match Prepared::new(
        &a.material,
        Some(&a.policy),
        a.report.file.report.as_deref(),
    ) {
        Ok(p) => p,
        Err(e) => return usage(e),
    };
    let inv = match p.gather() {
        Ok(i) => i,
        Err(e) => return usage(e),
    };
    let s = &p.settings;
    let out = inventory::check(&inv, &s.context, &s.policy, true);
    let mut report = Report::default();
    report.findings.extend(p.problems());
    report.extend(out.report);
    report.apply(&s.policy);
    if let Some(b) = &s.baseline {
        report.apply_baseline(b, s.context.at());
    }
    let exit_code = report.exit_code(s.fail_on);
    output::finish("verify", &report, exit_code, s, &a.report)
}
