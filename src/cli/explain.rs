//! `wrapsign explain NAME`: the catalogue's text for one finding name.

use clap::Args;

use super::usage;
use crate::diag::Code;

#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// The finding name, e.g. profile-cert-missing
    #[arg(required_unless_present = "list")]
    pub name: Option<String>,
    /// List every finding name with its default severity
    #[arg(long)]
    pub list: bool,
}

pub fn run(a: ExplainArgs) -> i32 {
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
    match super::output::emit(&text, None) {
        Ok(()) => 0,
        Err(e) => usage(e),
    }
}
