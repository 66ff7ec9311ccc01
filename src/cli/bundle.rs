//! `wrapsign bundle DIR`: build a bulk device certificate upload (a zip of
//! `DEVICE_ID.p12` files and their credentials), checked as `verify` would.

use std::path::PathBuf;

use clap::Args;

use super::args::{ArchiveArgs, ConfigArgs, PolicyArgs, ReportArgs, TimeArgs};
use super::settings::{self, Raw};
use super::{output, usage};
use crate::inventory::{self, bulk};

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
    pub identity_type: bulk::IdType,
    /// The credentials file's name inside the zip (the request's credentialFileName)
    #[arg(long, value_name = "NAME", default_value = bulk::DEFAULT_CREDENTIALS_NAME)]
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
    pub config: ConfigArgs,
    #[command(flatten)]
    pub time: TimeArgs,
    #[command(flatten)]
    pub archive: ArchiveArgs,
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

pub fn run(a: BundleArgs) -> i32 {
    use inventory::bundle;
    let passwords = match (&a.credentials, &a.password) {
        (Some(f), None) => bundle::Passwords::File(f.clone()),
        (None, Some(text)) => {
            // Parsed here, never echoed: a rejected value is probably the password.
            let spec: crate::secret::PasswordSpec = match text.parse() {
                Ok(s) => s,
                Err(e) => return usage(format!("--password: {e}")),
            };
            match spec.resolve() {
                Ok(pw) => bundle::Passwords::One(pw),
                Err(e) => return usage(format!("--password {spec}: {e}")),
            }
        }
        _ => return usage("give --credentials FILE or --password SPEC"),
    };
    let writes: Vec<(&str, &std::path::Path)> = a
        .report
        .file
        .report
        .iter()
        .map(|p| ("--report", p.as_path()))
        .collect();
    // Bundles are checked without a trust store of their own: Apple's anchors
    // and the config's roots, as every command.
    let s = match settings::resolve(Raw {
        config: &a.config,
        time: &a.time,
        trust: &Default::default(),
        passwords: &Default::default(),
        android: &super::args::AndroidArgs::defaults(),
        archive: &a.archive,
        policy: Some(&a.policy),
        signer_certs: &[],
        writes: &writes,
    }) {
        Ok(s) => s,
        Err(e) => return usage(e),
    };
    let req = bundle::Request {
        dir: a.dir,
        passwords,
        credentials_name: a.credentials_name,
        id_type: a.identity_type,
        out: a.out,
        request: a.request,
        delete_list: a.delete_list,
    };
    let at = s.context.at();
    let judge = crate::outcome::Judge {
        policy: &s.policy,
        baseline: s.baseline.as_ref(),
        fail_on: s.fail_on,
        at,
    };
    let outcome = match bundle::run(&req, s.context.ctx("devices"), &judge) {
        Ok(o) => o,
        Err(e) => return usage(e.0),
    };
    let warn_days = s.context.base().horizon.warn_days;
    let code = output::render(
        "bundle",
        &outcome.report,
        outcome.exit_code,
        at,
        warn_days,
        &a.report,
    );
    if code == outcome.exit_code && outcome.written.is_none() {
        eprintln!(
            "wrapsign: nothing written: the bundle for {} does not pass its checks",
            req.out.display()
        );
    }
    code
}
