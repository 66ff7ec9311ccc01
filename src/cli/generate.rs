//! `wrapsign generate`: the man pages and shell completions, from the same
//! definitions the parser uses (with each subcommand's help wording).

use clap::Args;

use super::usage;

#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// What to generate
    #[arg(value_enum)]
    pub what: Generated,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Generated {
    Man,
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

/// `--keystore`'s help, plus "(also --ks)" for its visible aliases.
fn with_aliases(a: clap::Arg) -> clap::Arg {
    let aliases: Vec<String> = a
        .get_visible_aliases()
        .unwrap_or_default()
        .iter()
        .map(|s| format!("--{s}"))
        .collect();
    if aliases.is_empty() {
        return a;
    }
    let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
    a.help(format!("{help} (also {})", aliases.join(", ")))
}

pub fn run(a: GenerateArgs) -> i32 {
    use clap_complete::Shell;
    let mut cmd = super::command();
    // Rendered into memory and written once, like every other output.
    let mut out: Vec<u8> = Vec::new();
    let shell = match a.what {
        Generated::Man => {
            // One page for wrapsign, then one per subcommand (wrapsign-verify(1)...).
            // The pages do not show aliases by themselves: add them to the help.
            cmd = cmd.mut_subcommands(|s| s.mut_args(with_aliases));
            cmd.build();
            let mut pages = vec![cmd.clone()];
            for sub in cmd.get_subcommands() {
                let name = format!("wrapsign-{}", sub.get_name());
                pages.push(sub.clone().name(name));
            }
            for page in pages {
                if let Err(e) = clap_mangen::Man::new(page).render(&mut out) {
                    return usage(format!("cannot write the man page: {e}"));
                }
            }
            return emit_bytes(&out);
        }
        Generated::Bash => Shell::Bash,
        Generated::Zsh => Shell::Zsh,
        Generated::Fish => Shell::Fish,
        Generated::Powershell => Shell::PowerShell,
        Generated::Elvish => Shell::Elvish,
    };
    clap_complete::generate(shell, &mut cmd, "wrapsign", &mut out);
    emit_bytes(&out)
}

fn emit_bytes(out: &[u8]) -> i32 {
    match super::output::emit(&String::from_utf8_lossy(out), None) {
        Ok(()) => 0,
        Err(e) => usage(e),
    }
}
