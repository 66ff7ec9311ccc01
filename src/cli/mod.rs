//! The command line, thin over the library.
//!
//! - `args.rs`: the argument groups several subcommands share (time, trust,
//!   passwords, keys, profiles, apps, Android, archives, policy, report). Each
//!   flag is defined once; help, the man page and completions come from these
//!   definitions (`wrapsign generate`).
//! - one module per subcommand (`verify.rs`, `sign.rs`, `inventory.rs`,
//!   `explain.rs`, `generate.rs`): its `Args` (the groups it composes plus its
//!   own flags), `tailor` (help worded for that subcommand) and `run`.
//! - `settings.rs`: the raw arguments, `wrapsign.toml` and the defaults
//!   resolved once into `Settings` (command line over config over defaults),
//!   including the one check context (`crate::context::Context`).
//! - `output.rs`: writing the report (standard output or `--report FILE`).
//!
//! Adding a flag: put it in the group of args.rs it belongs to (or in the one
//! subcommand that has it), resolve it in settings.rs if `wrapsign.toml` can
//! also say it, and read it from `Settings`. Adding a subcommand: a module with
//! `Args`, `tailor` and `run`, a variant of [`Command`] and a line in [`main`].

pub mod args;
pub mod bundle;
pub mod explain;
pub mod generate;
pub mod inventory;
pub mod output;
pub mod rotation;
pub mod settings;
pub mod sign;
pub mod verify;

use clap::{Parser, Subcommand};

pub use settings::Settings;

#[derive(Parser, Debug)]
#[command(
    name = "wrapsign",
    version,
    about = "Verify and re-sign iOS and Android signing material and apps before wrapping or shipping them",
    long_about = None,
    args_override_self = true,
    after_help = "Exit codes: 0 no error findings, 1 at least one error finding, 2 usage error, unreadable input or wrong password.\nPasswords (SPEC): pass:VALUE, env:VAR, file:PATH or stdin; prompted on a terminal when omitted."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check certificates, profiles, keystores and apps; fail (exit 1) on expired or mismatched material
    Verify(Box<verify::VerifyArgs>),
    /// Re-sign an app (.ipa, .app or .apk) after the verify checks pass; writes nothing on failure
    Sign(Box<sign::SignArgs>),
    /// List every certificate, profile, keystore alias, app and device certificate, soonest expiry first
    Inventory(Box<inventory::InventoryArgs>),
    /// Build a bulk device certificate upload (.zip of DEVICE_ID.p12 files and their credentials), checked as verify would; writes nothing on failure
    Bundle(Box<bundle::BundleArgs>),
    /// Android key rotation: create or extend a SigningCertificateLineage (old key signs the new one)
    Rotate(Box<rotation::RotateArgs>),
    /// Print an Android SigningCertificateLineage (file or APK): certificates and capabilities
    Lineage(rotation::LineageArgs),
    /// Explain a finding name: what it means, why it matters, how to fix it
    Explain(explain::ExplainArgs),
    /// Print a man page or shell completions, generated from these definitions
    Generate(generate::GenerateArgs),
}

/// The whole command line, with each subcommand's own help wording.
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    Cli::command()
        .mut_subcommand("verify", verify::tailor)
        .mut_subcommand("sign", sign::tailor)
        .mut_subcommand("inventory", inventory::tailor)
}

/// Parses the command line and runs it; returns the process exit code.
pub fn main() -> i32 {
    use clap::FromArgMatches;
    crate::secret::install_panic_hook();
    let parsed = command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match cli.command {
        Command::Verify(a) => verify::run(*a),
        Command::Sign(a) => sign::run(*a),
        Command::Inventory(a) => inventory::run(*a),
        Command::Bundle(a) => bundle::run(*a),
        Command::Rotate(a) => rotation::run_rotate(*a),
        Command::Lineage(a) => rotation::run_lineage(a),
        Command::Explain(a) => explain::run(a),
        Command::Generate(a) => generate::run(a),
    }
}

/// A usage error: message to stderr, exit 2. Never includes secret values.
pub fn usage(msg: impl std::fmt::Display) -> i32 {
    eprintln!("wrapsign: error: {msg}");
    2
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_consistent() {
        // clap's own checks (conflicting names, aliases, ids), and every
        // subcommand's rewording finds its flags.
        super::command().debug_assert();
    }
}
