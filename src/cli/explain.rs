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
    if a.list {
        for c in Code::ALL {
            println!(
                "{:<28} {:<8} {}",
                c.name(),
                c.default_severity().as_str(),
                c.title()
            );
        }
        return 0;
    }
    let name = a.name.unwrap_or_default();
    match Code::from_name(&name) {
        Some(c) => {
            println!(
                "{} ({}, default severity {})\n",
                c.name(),
                c.title(),
                c.default_severity()
            );
            println!("Why it matters:\n  {}\n", c.why());
            println!("How to fix it:\n  {}", c.fix());
            0
        }
        None => usage(format!(
            "unknown finding name `{name}`; see `wrapsign explain --list`"
        )),
    }
}
