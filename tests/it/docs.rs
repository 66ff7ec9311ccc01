//! docs/findings.md is generated from the finding catalogue, so the reference
//! cannot drift from what `wrapsign explain` says. After adding or changing a
//! finding: `WRAPSIGN_BLESS=1 cargo test --test it docs::` and commit the file.

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

#[test]
fn finding_reference_is_generated_from_the_catalogue() {
    let path = repo("docs/findings.md");
    let want = render();
    if std::env::var_os("WRAPSIGN_BLESS").is_some() {
        std::fs::write(&path, &want).expect("write docs/findings.md");
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/findings.md differs from the catalogue: run `WRAPSIGN_BLESS=1 cargo test --test it docs::` and commit it"
    );
    // Every name is documented once, in catalogue order.
    for c in Code::ALL {
        assert_eq!(have.matches(&format!("\n## {}\n", c.name())).count(), 1);
    }
}
