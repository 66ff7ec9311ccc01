//! The reference in docs/ that is generated, so it cannot drift: the finding
//! table (docs/findings.md, from the catalogue `wrapsign explain` reads) and the
//! command-line reference (docs/cli.md, from the same clap definitions that make
//! `--help`, the man page and completions). After changing either:
//! `WRAPSIGN_BLESS=1 cargo test --test it docs::` and commit the files.

use wrapsign::diag::Code;

use crate::support::repo;

fn render() -> String {
    let mut out = String::from(
        "# Finding names\n\n\
         <!-- Generated from the catalogue by tests/it/docs.rs; do not edit by hand. -->\n\n\
         Every name is stable: tests, baselines and `wrapsign.toml` refer to it. The default\n\
         severity is shown; change it per name with `--allow/--warn/--deny NAME` or the config's\n\
         `[levels]`. `wrapsign explain NAME` prints the same text.\n\n\
         | name | default | what it means |\n|---|---|---|\n",
    );
    for c in Code::ALL {
        out.push_str(&format!(
            "| [`{}`](#{}) | {} | {} |\n",
            c.name(),
            c.name(),
            c.default_severity(),
            c.title()
        ));
    }
    for c in Code::ALL {
        out.push_str(&format!(
            "\n## {}\n\n{} (default: {}).\n\n**Why it matters.** {}\n\n**How to fix it.** {}\n",
            c.name(),
            c.title(),
            c.default_severity(),
            c.why(),
            c.fix()
        ));
    }
    out
}

/// Compares a generated file with its committed copy (or writes it when blessing).
fn generated(rel: &str, want: &str) -> String {
    let path = repo(rel);
    if std::env::var_os("WRAPSIGN_BLESS").is_some() {
        std::fs::write(&path, want).unwrap_or_else(|e| panic!("write {rel}: {e}"));
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "{rel} is out of date: run `WRAPSIGN_BLESS=1 cargo test --test it docs::` and commit it"
    );
    have
}

/// Every subcommand's long help, at a fixed width.
fn render_cli() -> String {
    let mut cmd = wrapsign::cli::command().term_width(100);
    cmd.build();
    let mut out = String::from(
        "# Command-line reference\n\n\
         <!-- Generated from the clap definitions by tests/it/docs.rs; do not edit by hand. -->\n\n\
         The same text as `wrapsign SUBCOMMAND --help`; `wrapsign generate man` writes it as man pages.\n",
    );
    let mut top = cmd.clone();
    out.push_str(&format!(
        "\n## wrapsign\n\n```text\n{}```\n",
        top.render_long_help()
    ));
    let mut subs: Vec<clap::Command> = cmd.get_subcommands().cloned().collect();
    subs.sort_by_key(|s| s.get_display_order());
    for sub in subs {
        let name = sub.get_name().to_string();
        if name == "help" {
            continue;
        }
        let help = sub.bin_name(format!("wrapsign {name}")).render_long_help();
        out.push_str(&format!("\n## wrapsign {name}\n\n```text\n{help}```\n"));
    }
    out
}

#[test]
fn cli_reference_is_generated_from_the_definitions() {
    let have = generated("docs/cli.md", &render_cli());
    for sub in ["verify", "sign", "inventory"] {
        assert!(have.contains(&format!("\n## wrapsign {sub}\n")), "{sub}");
    }
}

#[test]
fn finding_reference_is_generated_from_the_catalogue() {
    let have = generated("docs/findings.md", &render());
    // Every name is documented once, in catalogue order.
    for c in Code::ALL {
        assert_eq!(have.matches(&format!("\n## {}\n", c.name())).count(), 1);
    }
}
