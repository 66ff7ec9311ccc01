//! `wrapsign inventory`: one row per item (certificate, keystore alias, profile,
//! app, device certificate) sorted by expiry, as a table, JSON, CSV, an HTML
//! page or an iCalendar file. Rows are built here from the checks' items and
//! findings (the status is decided once, here); the renderers only print them.

use std::fmt::Write;

use serde::Serialize;
use time::OffsetDateTime;

use super::{Entry, What};
use crate::at;
use crate::diag::{Code, Finding, Item, ItemKind, Report, Severity};
use crate::ios::Ctx;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Expiring,
    /// Could not be opened or checked (no password opens it, unreadable, an APK
    /// whose signature the inventory does not verify): never `ok`.
    Unchecked,
    Error,
    Expired,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Ok,
        Status::Expiring,
        Status::Unchecked,
        Status::Expired,
        Status::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Expiring => "expiring",
            Status::Unchecked => "unchecked",
            Status::Error => "error",
            Status::Expired => "expired",
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Row {
    #[serde(with = "time::serde::rfc3339::option")]
    pub not_after: Option<OffsetDateTime>,
    pub days_left: Option<i64>,
    pub status: Status,
    pub kind: String,
    pub subject: String,
    pub team_or_alias: String,
    /// Where the password comes from (`env:P12_PASS`), never the value.
    pub password_source: String,
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Who renews it (wrapsign.toml `owner`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Names of the findings about this item.
    pub findings: Vec<String>,
    /// The threshold kind (`apns`, `ssl`, `profile`, `devices`...): the report's
    /// timeline groups by it.
    #[serde(skip)]
    pub group: String,
    /// Its kind's warning and final-reminder days (`[thresholds.KIND]`): the
    /// report's bands and the calendar's alarms.
    #[serde(skip)]
    pub warn_days: i64,
    #[serde(skip)]
    pub remind_days: i64,
    /// What cross-inventory findings name as subject (entry name, alias, device file).
    #[serde(skip)]
    pub label: String,
    /// Index of the inventory entry the row comes from.
    #[serde(skip)]
    pub entry: usize,
}

/// The common name of a distinguished name, or the whole name.
fn cn(dn: &str) -> String {
    dn.split(", ")
        .find_map(|p| p.strip_prefix("CN="))
        .map(str::to_string)
        .unwrap_or_else(|| dn.to_string())
}

fn fact(i: &Item, k: &str) -> Option<String> {
    match i.facts.get(k)? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Array(a) => Some(
            a.iter()
                .filter_map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        ),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Findings that say a check could not be made: their item is `unchecked`.
const NOT_CHECKED: [Code; 4] = [
    Code::InputUnreadable,
    Code::PasswordWrong,
    Code::KeystoreIntegrityUnchecked,
    Code::KeystoreUnsupported,
];

/// The status of an item from its expiry and findings; `read`: whether its
/// checks could open it at all.
fn status(
    not_after: Option<OffsetDateTime>,
    findings: &[&Finding],
    ctx: &Ctx,
    read: bool,
) -> (Status, Option<i64>) {
    let days = not_after.map(|na| at::days_until(ctx.at, na));
    let s = if not_after.is_some_and(|na| na < ctx.at) {
        Status::Expired
    } else if findings.iter().any(|f| f.severity == Severity::Error) {
        Status::Error
    } else if !read || findings.iter().any(|f| NOT_CHECKED.contains(&f.code)) {
        Status::Unchecked
    } else if days.is_some_and(|d| d < ctx.horizon.warn_days)
        || findings.iter().any(|f| f.severity == Severity::Warning)
            && findings.iter().any(|f| f.code.name().contains("expiring"))
    {
        Status::Expiring
    } else {
        Status::Ok
    };
    (s, days)
}

/// The rows of one entry, from the items and findings of its checks.
pub fn rows_for(e: &Entry, r: &Report, ctx: &Ctx, kind_key: &str, password: String) -> Vec<Row> {
    let base = |file: String, label: String| Row {
        not_after: None,
        days_left: None,
        status: Status::Ok,
        kind: kind_key.to_string(),
        subject: String::new(),
        team_or_alias: String::new(),
        password_source: password.clone(),
        file,
        name: e.name.clone(),
        description: e.description.clone(),
        owner: e.owner.clone(),
        notes: e.notes.clone(),
        findings: Vec::new(),
        group: kind_key.to_string(),
        warn_days: ctx.horizon.warn_days,
        remind_days: ctx.horizon.remind_days,
        label,
        entry: 0,
    };
    let finish = |mut row: Row, fs: Vec<&Finding>, read: bool| {
        let (s, d) = status(row.not_after, &fs, ctx, read);
        row.status = s;
        row.days_left = d;
        let mut names: Vec<String> = fs.iter().map(|f| f.code.name().to_string()).collect();
        names.sort();
        names.dedup();
        row.findings = names;
        row
    };
    let all: Vec<&Finding> = r.findings.iter().collect();
    let file_of = |p: &std::path::Path| p.display().to_string();
    let by_kind = |k: ItemKind| r.items.iter().filter(move |i| i.kind == k);
    let mut rows = Vec::new();
    match &e.what {
        What::Certificate(c) => {
            let file = file_of(&c.file);
            let mut row = base(file, e.name.clone().unwrap_or_default());
            let items: Vec<&Item> = by_kind(ItemKind::Certificate).collect();
            let keystore_items: Vec<&Item> = by_kind(ItemKind::KeystoreEntry).collect();
            if !keystore_items.is_empty() {
                // A scanned PKCS#12 that turned out to be an Android keystore.
                return keystore_rows(&keystore_items, r, base, finish, "keystore");
            }
            if let Some(i) = items.first() {
                row.not_after = i.not_after;
                row.subject = i.subject.as_deref().map(cn).unwrap_or_default();
                if row.label.is_empty() {
                    row.label = row.subject.clone();
                }
                row.kind = fact(i, "inventory_kind").unwrap_or_else(|| kind_key.to_string());
                row.team_or_alias = fact(i, "team_id")
                    .or_else(|| fact(i, "bundle_id"))
                    .unwrap_or_default();
            }
            let read = !items.is_empty();
            rows.push(finish(row, all, read));
        }
        What::Profile(p) => {
            let file = file_of(&p.file);
            let mut row = base(file.clone(), e.name.clone().unwrap_or(file));
            let item = by_kind(ItemKind::Profile).next();
            if let Some(i) = item {
                row.not_after = i.not_after;
                row.subject = i.subject.clone().unwrap_or_default();
                row.team_or_alias = fact(i, "team_ids").unwrap_or_default();
                if let Some(t) = fact(i, "type") {
                    row.kind = format!("profile ({t})");
                }
            }
            rows.push(finish(row, all, item.is_some()));
        }
        What::Keystore(_) => {
            let items: Vec<&Item> = by_kind(ItemKind::KeystoreEntry).collect();
            if items.is_empty() {
                let file = file_of(super::entry_file(e));
                rows.push(finish(base(file.clone(), file), all, false));
            } else {
                rows = keystore_rows(&items, r, base, finish, "keystore");
            }
        }
        What::Devices(d) => {
            let zip = file_of(&d.zip);
            for i in by_kind(ItemKind::DeviceCertificate) {
                let name = i.subject.clone().unwrap_or_default();
                let mut row = base(zip.clone(), name.clone());
                row.kind = "device".into();
                row.not_after = i.not_after;
                row.subject = fact(i, "certificate").map(|s| cn(&s)).unwrap_or_default();
                row.team_or_alias = format!(
                    "{} ({})",
                    fact(i, "device_id").unwrap_or_default(),
                    fact(i, "id_type").unwrap_or_default()
                );
                if let Some(p) = fact(i, "password_source") {
                    row.password_source = p;
                }
                let fs: Vec<&Finding> = r
                    .findings
                    .iter()
                    .filter(|f| f.subject.as_deref().is_none_or(|s| s == name))
                    .collect();
                let read = i.facts.contains_key("certificate");
                rows.push(finish(row, fs, read));
            }
            if rows.is_empty() {
                rows.push(finish(base(zip.clone(), zip), all, false));
            }
        }
        What::App(a) => {
            let file = file_of(&a.file);
            let mut row = base(file.clone(), e.name.clone().unwrap_or(file));
            row.kind = "app".into();
            if let Some(b) = by_kind(ItemKind::Bundle).next() {
                row.subject = fact(b, "bundle_id").unwrap_or_default();
                row.team_or_alias = fact(b, "team_id").unwrap_or_default();
            }
            // An APK's package name (its signature is verified like any APK's).
            if let Some(apk) = by_kind(ItemKind::Apk).next() {
                row.subject = apk.subject.clone().unwrap_or_default();
            }
            if let Some(i) = by_kind(ItemKind::App).next() {
                row.team_or_alias = fact(i, "alias").unwrap_or_default();
            }
            // The app lives as long as its shortest-lived signing material.
            row.not_after = r.items.iter().filter_map(|i| i.not_after).min();
            // Checked: an iOS app's bundles, or an APK's signature.
            let read = by_kind(ItemKind::Bundle).next().is_some()
                || by_kind(ItemKind::Apk).next().is_some();
            rows.push(finish(row, all, read));
        }
    }
    rows
}

fn keystore_rows(
    items: &[&Item],
    r: &Report,
    base: impl Fn(String, String) -> Row,
    finish: impl Fn(Row, Vec<&Finding>, bool) -> Row,
    kind: &str,
) -> Vec<Row> {
    items
        .iter()
        .map(|i| {
            let subject = i.subject.clone().unwrap_or_default();
            let mut row = base(i.file.clone(), fact(i, "alias").unwrap_or_default());
            row.kind = format!("{kind} ({})", fact(i, "keystore_type").unwrap_or_default());
            row.not_after = i.not_after;
            row.subject = fact(i, "subject").map(|s| cn(&s)).unwrap_or_default();
            row.team_or_alias = subject.clone();
            row.group = "keystore".into();
            let fs: Vec<&Finding> = r
                .findings
                .iter()
                .filter(|f| f.subject.as_deref().is_none_or(|s| s == subject))
                .collect();
            finish(row, fs, true)
        })
        .collect()
}

/// Marks rows named by findings that need the whole inventory.
pub fn mark(rows: &mut [Row], cross: &Report) {
    for f in &cross.findings {
        let named = |row: &Row| {
            f.subject.as_deref() == Some(row.label.as_str()) && f.file == row.file
                || f.notes
                    .iter()
                    .any(|n| n.contains(&format!("{} ({})", row.label, row.file)))
        };
        for row in rows.iter_mut().filter(|r| named(r)) {
            let name = f.code.name().to_string();
            if !row.findings.contains(&name) {
                row.findings.push(name);
            }
            if f.severity == Severity::Error && row.status < Status::Error {
                row.status = Status::Error;
            }
        }
    }
}

/// By expiry (soonest first; undated last), then kind and subject.
pub fn sort(rows: &mut [Row]) {
    rows.sort_by(|a, b| {
        let key = |r: &Row| (r.not_after.is_none(), r.not_after);
        key(a)
            .cmp(&key(b))
            .then_with(|| a.kind.cmp(&b.kind))
            .then_with(|| a.subject.cmp(&b.subject))
            .then_with(|| a.file.cmp(&b.file))
    });
}

/// Output formats of `wrapsign inventory`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TableFormat {
    Human,
    Json,
    /// RFC 4180 CSV with a header line
    Csv,
    /// One self-contained page: a 12-month timeline and the table (no script, no external requests)
    Html,
    /// iCalendar: one event per expiry, with alarms at the warning and final-reminder days
    Ics,
}

/// What a rendering needs besides the rows.
#[derive(Clone, Copy, Debug)]
pub struct Meta<'a> {
    /// The instant days are counted from (`--at`).
    pub at: OffsetDateTime,
    /// The global warning threshold (per-kind ones are in the rows).
    pub warn_days: i64,
    /// The config the inventory came from, for titles.
    pub source: Option<&'a str>,
}

/// How many rows have each status (every status, in [`Status::ALL`] order).
pub fn counts(rows: &[Row]) -> [(Status, usize); 5] {
    Status::ALL.map(|s| (s, rows.iter().filter(|r| r.status == s).count()))
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

pub(super) fn human(rows: &[Row], at_: OffsetDateTime, warn_days: i64) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "wrapsign inventory at {} (expiring: within {warn_days} days)\n",
        at::rfc3339(at_)
    );
    // The OWNER column only when some item has an owner: terminals are narrow.
    let owners = rows.iter().any(|r| r.owner.is_some());
    let mut header = vec!["EXPIRES", "DAYS", "STATUS", "KIND", "SUBJECT", "TEAM/ALIAS"];
    if owners {
        header.push("OWNER");
    }
    header.extend(["PASSWORD", "FILE"]);
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut c = vec![
                r.not_after.map(at::day).unwrap_or_else(|| "-".into()),
                r.days_left
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "-".into()),
                r.status.as_str().to_string(),
                r.kind.clone(),
                clip(&r.subject, 44),
                clip(&r.team_or_alias, 24),
            ];
            if owners {
                c.push(clip(r.owner.as_deref().unwrap_or("-"), 32));
            }
            c.push(clip(
                if r.password_source.is_empty() {
                    "-"
                } else {
                    &r.password_source
                },
                48,
            ));
            c.push(r.file.clone());
            c
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for c in &cells {
        for (w, s) in widths.iter_mut().zip(c) {
            *w = (*w).max(s.chars().count());
        }
    }
    let line = |c: &[String]| {
        let mut l = String::new();
        for (i, (s, w)) in c.iter().zip(widths.iter().copied()).enumerate() {
            if i == 1 {
                let _ = write!(l, "{s:>w$}  ");
            } else if i + 1 == c.len() {
                l.push_str(s);
            } else {
                let _ = write!(l, "{s:<w$}  ");
            }
        }
        l.trim_end().to_string()
    };
    let header: Vec<String> = header.into_iter().map(String::from).collect();
    let _ = writeln!(out, "{}", line(&header));
    for c in &cells {
        let _ = writeln!(out, "{}", line(c));
    }
    let noted: Vec<&Row> = rows.iter().filter(|r| r.notes.is_some()).collect();
    if !noted.is_empty() {
        let _ = writeln!(out, "\nNotes:");
        for r in noted {
            let _ = writeln!(
                out,
                "  {} ({}): {}",
                if r.subject.is_empty() {
                    &r.label
                } else {
                    &r.subject
                },
                r.file,
                r.notes.as_deref().unwrap_or_default().replace('\n', " ")
            );
        }
    }
    let c = counts(rows);
    let _ = writeln!(
        out,
        "\n{} items: {}",
        rows.len(),
        c.iter()
            .filter(|(s, n)| *n > 0 || *s != Status::Unchecked)
            .map(|(s, n)| format!("{n} {}", s.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    out
}

pub(super) fn json(rows: &[Row], at_: OffsetDateTime, warn_days: i64) -> String {
    let summary: serde_json::Map<String, serde_json::Value> = counts(rows)
        .iter()
        .map(|(s, n)| (s.as_str().to_string(), (*n).into()))
        .collect();
    let v = serde_json::json!({
        "tool": "wrapsign",
        "version": env!("CARGO_PKG_VERSION"),
        "command": "inventory",
        "at": at::rfc3339(at_),
        "warn_days": warn_days,
        "items": rows,
        "summary": summary,
    });
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

/// One RFC 4180 field: quoted when it holds a comma, quote, CR or LF.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub(super) fn csv(rows: &[Row]) -> String {
    let mut out = String::from(
        "expires,days_left,status,kind,subject,team_or_alias,password_source,file,name,description,findings,owner,notes\r\n",
    );
    for r in rows {
        let fields = [
            r.not_after.map(at::rfc3339).unwrap_or_default(),
            r.days_left.map(|d| d.to_string()).unwrap_or_default(),
            r.status.as_str().to_string(),
            r.kind.clone(),
            r.subject.clone(),
            r.team_or_alias.clone(),
            r.password_source.clone(),
            r.file.clone(),
            r.name.clone().unwrap_or_default(),
            r.description.clone().unwrap_or_default(),
            r.findings.join(" "),
            r.owner.clone().unwrap_or_default(),
            r.notes.clone().unwrap_or_default(),
        ];
        out.push_str(
            &fields
                .iter()
                .map(|f| csv_field(f))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quoting() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a, b"), "\"a, b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }

    #[test]
    fn common_names() {
        assert_eq!(cn("C=US, O=Android, CN=Android Debug"), "Android Debug");
        assert_eq!(cn("O=x"), "O=x");
    }
}
