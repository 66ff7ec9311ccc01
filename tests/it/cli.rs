//! CLI sessions in tests/cmd/*.trycmd: they are documentation and tests at once.
//! Regenerate after an intended output change with `TRYCMD=overwrite cargo test --test it cli`.

#[test]
fn cli_sessions() {
    trycmd::TestCases::new()
        .register_bin(
            "wrapsign",
            std::path::Path::new(env!("CARGO_BIN_EXE_wrapsign")),
        )
        .env("NO_COLOR", "1")
        .case("tests/cmd/*.trycmd");
}
