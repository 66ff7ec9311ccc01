//! The raw arguments of `args.rs`, `wrapsign.toml` and the defaults, resolved
//! once into the [`Settings`] of a run (ripgrep's "high" args). Every value
//! has one rule: the command line wins over the config, which wins over the
//! defaults. Subcommands read `Settings`, never the raw flags, for anything the
//! config can also say.

use std::path::{Path, PathBuf};

use super::args::{
    AndroidArgs, ArchiveArgs, ConfigArgs, PasswordArgs, PolicyArgs, TimeArgs, TrustArgs,
};
use crate::context::{Context, Ctx, Sdk, Threshold};
use crate::diag::{Baseline, FailOn, Finding, Level, Policy};
use crate::inventory::{config, Inventory};
use crate::secret::{PasswordSpec, PasswordSpecs};
use crate::trust::Trust;
use crate::x509::{certs_from_pem_or_der, Cert};

/// Everything a run needs to know, resolved.
#[derive(Debug)]
pub struct Settings {
    /// The `wrapsign.toml` that was read, if any. Its settings are already in
    /// the fields below; its entries are what `verify`/`inventory` check when
    /// no input is named (or when `--config` is given).
    pub config: Option<Inventory>,
    /// Whether the config was named with `--config` (not found in the folder).
    pub config_named: bool,
    pub context: Context,
    /// The password flags, parsed but not read (a `stdin` source is read once,
    /// by whoever needs it).
    pub passwords: PasswordSpecs,
    /// `[levels]` of the config under `--allow/--warn/--deny`.
    pub policy: Policy,
    pub fail_on: FailOn,
    pub baseline: Option<Baseline>,
    pub write_baseline: Option<PathBuf>,
    /// Problems with files the settings name (an unreadable `--trust-root` or
    /// `--signer-cert`): findings of the run, which cannot be trusted without them.
    pub problems: Vec<Finding>,
}

/// The raw groups a subcommand hands over for resolution.
pub struct Raw<'a> {
    pub config: &'a ConfigArgs,
    pub time: &'a TimeArgs,
    pub trust: &'a TrustArgs,
    pub passwords: &'a PasswordArgs,
    pub android: &'a AndroidArgs,
    pub archive: &'a ArchiveArgs,
    pub policy: Option<&'a PolicyArgs>,
    pub signer_certs: &'a [PathBuf],
    /// Files the run will write (`--report`, `--out`), by flag: their folders must exist.
    pub writes: &'a [(&'a str, &'a Path)],
}

/// A usage error: what to tell the user (never a secret).
pub type Usage = String;

pub fn resolve(raw: Raw) -> Result<Settings, Usage> {
    for (flag, path) in raw.writes {
        folder_exists(flag, path)?;
    }
    let passwords = PasswordSpecs {
        cert: spec("cert-pass", &raw.passwords.cert_pass)?,
        store: spec("ks-pass", &raw.passwords.ks_pass)?,
        key: spec("key-pass", &raw.passwords.key_pass)?,
    };
    let (min, max) = (raw.android.min_sdk, raw.android.max_sdk);
    if let (Some(min), Some(max)) = (min, max) {
        if min > max {
            return Err(format!("--min-sdk {min} is above --max-sdk {max}"));
        }
    }

    let config = match config::locate(raw.config.config.as_deref()) {
        Some(p) => Some(config::load(&p).map_err(|e| e.to_string())?),
        None => None,
    };

    let (policy, fail_on, baseline, write_baseline) = match raw.policy {
        Some(p) => {
            if let Some(w) = &p.write_baseline {
                folder_exists("--write-baseline", w)?;
            }
            let mut cli = Policy::default();
            for (names, level) in [
                (&p.allow, Level::Allow),
                (&p.warn, Level::Warn),
                (&p.deny, Level::Deny),
            ] {
                for n in names {
                    cli.set(n, level)?;
                }
            }
            let policy = match &config {
                Some(c) => c.policy(&cli),
                None => cli,
            };
            let fail_on = if p.deny_warnings {
                FailOn::Warning
            } else {
                p.fail_on
            };
            let baseline = p.baseline.as_deref().map(Baseline::load).transpose()?;
            (policy, fail_on, baseline, p.write_baseline.clone())
        }
        None => (
            config
                .as_ref()
                .map(|c| c.policy(&Policy::default()))
                .unwrap_or_default(),
            FailOn::Error,
            None,
            None,
        ),
    };

    let mut problems = Vec::new();
    let mut trust = Trust::apple();
    let config_roots = config.iter().flat_map(|c| c.trust_roots.iter());
    for root in raw.trust.trust_roots.iter().chain(config_roots) {
        let file = root.display().to_string();
        match std::fs::read(root) {
            Ok(d) if trust.add_roots_from(&d) > 0 => {}
            Ok(_) => problems.push(Finding::unreadable(
                &file,
                format!("trust root {file} holds no certificate"),
            )),
            Err(e) => problems.push(Finding::unreadable(
                &file,
                format!("cannot read trust root {file}: {e}"),
            )),
        }
    }

    let base = Ctx {
        online: raw
            .trust
            .online
            .then(|| std::time::Duration::from_secs(raw.trust.ocsp_timeout.max(1))),
        archive: raw.archive.limits(),
        play_min_validity: raw.android.play_min_validity,
        sdk: Sdk {
            min: min.map(|v| v as i32),
            max: max.map(|v| v as i32),
        },
        ..Ctx::new(
            raw.time.at.unwrap_or_else(time::OffsetDateTime::now_utc),
            trust,
        )
    };
    let cli = Threshold {
        warn_days: raw.time.warn_days,
        fail_days: raw.time.fail_days,
        remind_days: None,
    };
    let thresholds = config
        .as_ref()
        .map(|c| c.thresholds.clone())
        .unwrap_or_default();
    let mut context = Context::new(base, &thresholds, cli);
    context.expected_signers = signer_certs(raw.signer_certs, &mut problems);

    Ok(Settings {
        config_named: raw.config.config.is_some(),
        config,
        context,
        passwords,
        policy,
        fail_on,
        baseline,
        write_baseline,
        problems,
    })
}

/// Parses a password flag without ever echoing a rejected value.
fn spec(flag: &str, s: &Option<String>) -> Result<Option<PasswordSpec>, Usage> {
    match s {
        None => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|e| format!("--{flag}: {e}")),
    }
}

/// A file the run will write needs an existing folder; say which one is missing
/// (the same words for `--report` and `sign --out`), before any work is done.
pub fn folder_exists(flag: &str, path: &Path) -> Result<(), Usage> {
    let dir = crate::atomic::parent_dir(path);
    if dir.is_dir() {
        Ok(())
    } else {
        Err(format!(
            "{flag} {}: the folder {} does not exist",
            path.display(),
            dir.display()
        ))
    }
}

/// `--signer-cert` files, read once; unreadable ones are problems of the run.
fn signer_certs(files: &[PathBuf], problems: &mut Vec<Finding>) -> Vec<Cert> {
    let mut out: Vec<Cert> = Vec::new();
    for p in files {
        let file = p.display().to_string();
        let certs: Vec<Cert> = match std::fs::read(p) {
            Ok(data) => certs_from_pem_or_der(&data)
                .iter()
                .filter_map(|d| Cert::from_der(d).ok())
                .collect(),
            Err(e) => {
                problems.push(Finding::unreadable(
                    &file,
                    format!("cannot read {file}: {e}"),
                ));
                continue;
            }
        };
        if certs.is_empty() {
            problems.push(Finding::unreadable(
                &file,
                format!("--signer-cert {file} holds no PEM or DER certificate"),
            ));
        }
        for c in certs {
            if !out.iter().any(|e| e.der == c.der) {
                out.push(c);
            }
        }
    }
    out
}
