//! Renderers over a [`Report`]. They format; they never decide severity or exit
//! codes (that is [`crate::diag::Policy`]'s job).

mod github;
mod human;
mod json;
mod junit;
mod sarif;

use time::OffsetDateTime;

use crate::diag::Report;

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    /// SARIF 2.1.0 (code scanning)
    Sarif,
    /// JUnit XML (test result viewers)
    Junit,
    /// GitHub Actions annotations
    Github,
}

/// Facts about the run that every renderer may show.
#[derive(Clone, Debug)]
pub struct Meta {
    pub command: &'static str,
    pub at: OffsetDateTime,
    pub warn_days: i64,
    pub exit_code: i32,
    pub color: bool,
    /// -1 quiet, 0 normal, 1 verbose (human output only).
    pub verbosity: i8,
}

pub fn render(report: &Report, format: Format, meta: &Meta) -> String {
    match format {
        Format::Human => human::render(report, meta),
        Format::Json => json::render(report, meta),
        Format::Sarif => sarif::render(report, meta),
        Format::Junit => junit::render(report, meta),
        Format::Github => github::render(report, meta),
    }
}

/// Whether to colour human output: a terminal, and NO_COLOR unset (no-color.org).
pub fn use_color() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}
