//! Where reports go: standard output, or `--report FILE` written atomically (CI
//! never reads half a file).

use std::io::Write;
use std::path::Path;

use time::OffsetDateTime;

use super::args::ReportArgs;
use super::{usage, Settings};
use crate::diag::{Baseline, Report};
use crate::report::{self, Format, Meta};

/// Writes `text` to standard output or to `path`. Errors name the file the
/// user gave and the reason, never the temporary file beside it.
pub fn emit(text: &str, path: Option<&Path>) -> Result<(), String> {
    let Some(path) = path else {
        // A reader that closed early (`| head`) has all it wanted: not an error.
        let mut out = std::io::stdout().lock();
        return match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                Err(format!("cannot write to standard output: {e}"))
            }
            _ => Ok(()),
        };
    };
    super::settings::folder_exists("cannot write", path)?;
    let dir = crate::atomic::parent_dir(path);
    let fail = |e: std::io::Error| format!("cannot write {}: {}", path.display(), e.kind());
    let mut tmp = tempfile::Builder::new()
        .prefix(".wrapsign-report")
        .tempfile_in(&dir)
        .map_err(fail)?;
    tmp.write_all(text.as_bytes())
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

/// Ends a run that judged `report` (policy and baseline applied): records
/// it as accepted when `--write-baseline` asks, then renders it with
/// [`render`]; returns the exit code (2 when a file cannot be written).
pub fn finish(
    command: &'static str,
    report: &Report,
    exit_code: i32,
    s: &Settings,
    out: &ReportArgs,
) -> i32 {
    if let Some(path) = &s.write_baseline {
        let b = Baseline::from_report(report);
        let text = serde_json::to_string_pretty(&b).unwrap_or_default() + "\n";
        if let Err(e) = emit(&text, Some(path)) {
            return usage(e);
        }
    }
    let warn_days = s.context.base().horizon.warn_days;
    render(command, report, exit_code, s.context.at(), warn_days, out)
}

/// Renders a finished report (policy and baseline applied) in the chosen
/// format to its destination; returns the exit code (2 when it cannot be written).
pub fn render(
    command: &'static str,
    report: &Report,
    exit_code: i32,
    at: OffsetDateTime,
    warn_days: i64,
    out: &ReportArgs,
) -> i32 {
    let meta = Meta {
        command,
        at,
        warn_days,
        exit_code,
        color: out.format == Format::Human && out.file.report.is_none() && report::use_color(),
        verbosity: out.verbosity(),
    };
    let text = report::render(report, out.format, &meta);
    match emit(&text, out.file.report.as_deref()) {
        Ok(()) => exit_code,
        Err(e) => usage(e),
    }
}
