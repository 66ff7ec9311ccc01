//! `wrapsign inventory --format html`: the expiry report as one self-contained
//! page for the people who renew things. A timeline of the next 12 months
//! (everything already expired at its left, later and undated items at its
//! right) with a today line and each kind's warning and final-reminder bands,
//! one mark per item coloured and shaped by its status, one lane per kind; then
//! the full table. Inline CSS and SVG only: no script, no external request (a
//! Content-Security-Policy says so to the browser too). It reads well printed,
//! in a narrow window (the table becomes cards) and in dark mode.
//!
//! A renderer: it draws the rows' status, it decides none.

use std::fmt::Write;

use time::{Date, Duration, Month, OffsetDateTime};

use super::table::{counts, Meta, Row, Status};
use crate::at;

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Lanes of the timeline, in this order; kinds not listed go to "other".
const LANES: &[(&str, &str)] = &[
    ("distribution", "Distribution"),
    ("development", "Development"),
    ("apns", "APNs"),
    ("profile", "Profiles"),
    ("app", "Apps"),
    ("ssl", "TLS servers"),
    ("saml", "SAML"),
    ("ca", "CAs"),
    ("pki-user", "PKI users"),
    ("devices", "Devices"),
    ("keystore", "Keystores"),
    ("other", "Other"),
];

fn lane_of(r: &Row) -> usize {
    LANES
        .iter()
        .position(|(k, _)| *k == r.group)
        .unwrap_or(LANES.len() - 1)
}

// Geometry, in SVG user units (the viewBox is WIDTH wide).
const WIDTH: f64 = 1000.0;
const EXPIRED_X: (f64, f64) = (128.0, 188.0);
const TODAY_X: f64 = 200.0;
const END_X: f64 = 880.0;
const LATER_X: f64 = 918.0;
const UNDATED_X: f64 = 968.0;
const AXIS_H: f64 = 46.0;
const LEVEL_H: f64 = 14.0;
const LANE_PAD: f64 = 9.0;
const MIN_GAP: f64 = 11.0;

/// `d` plus `n` months, the day clamped to the month's length.
fn add_months(d: Date, n: i32) -> Date {
    let m0 = d.month() as i32 - 1 + n;
    let year = d.year() + m0.div_euclid(12);
    let month = Month::try_from((m0.rem_euclid(12) + 1) as u8).unwrap_or(Month::January);
    let last = month.length(year);
    Date::from_calendar_date(year, month, d.day().min(last)).unwrap_or(d)
}

/// Where a date falls on the timeline.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Zone {
    Expired,
    Timeline(f64),
    Later,
    Undated,
}

impl Zone {
    fn name(self) -> &'static str {
        match self {
            Zone::Expired => "expired",
            Zone::Timeline(_) => "timeline",
            Zone::Later => "later",
            Zone::Undated => "undated",
        }
    }
}

struct Scale {
    at: OffsetDateTime,
    end: OffsetDateTime,
}

impl Scale {
    fn new(at: OffsetDateTime) -> Scale {
        let end = at.replace_date(add_months(at.date(), 12));
        Scale { at, end }
    }
    fn x(&self, t: OffsetDateTime) -> f64 {
        let span = (self.end - self.at).as_seconds_f64().max(1.0);
        TODAY_X + (t - self.at).as_seconds_f64() / span * (END_X - TODAY_X)
    }
    fn zone(&self, t: Option<OffsetDateTime>) -> Zone {
        match t {
            None => Zone::Undated,
            Some(t) if t < self.at => Zone::Expired,
            Some(t) if t > self.end => Zone::Later,
            Some(t) => Zone::Timeline(self.x(t)),
        }
    }
}

/// The mark of one status: a shape as well as a colour, so it reads in
/// greyscale print and for colour-blind readers.
fn shape(s: Status) -> &'static str {
    match s {
        Status::Ok => r#"<circle r="4.5"/>"#,
        Status::Expiring => r#"<path d="M0,-5.5 L5,4 L-5,4 Z"/>"#,
        Status::Unchecked => r#"<circle r="4" class="hollow"/>"#,
        Status::Error => r#"<path d="M0,-5.5 L5.5,0 L0,5.5 L-5.5,0 Z"/>"#,
        Status::Expired => r#"<path d="M-4.5,-4.5 L4.5,4.5 M4.5,-4.5 L-4.5,4.5" class="cross"/>"#,
    }
}

fn title_of(r: &Row) -> String {
    if !r.subject.is_empty() {
        r.subject.clone()
    } else if !r.label.is_empty() {
        r.label.clone()
    } else {
        r.file.clone()
    }
}

struct Placed {
    row: usize,
    x: f64,
    level: usize,
    zone: Zone,
}

fn timeline(rows: &[Row], meta: &Meta, out: &mut String) {
    let scale = Scale::new(meta.at);
    // Lanes present, and each row's place (stacked when marks would touch).
    let mut lanes: Vec<(usize, Vec<Placed>)> = Vec::new();
    let mut expired_rank: Vec<(usize, usize)> = Vec::new();
    let expired: Vec<usize> = (0..rows.len())
        .filter(|&i| scale.zone(rows[i].not_after) == Zone::Expired)
        .collect();
    // Expired items are spread over their zone, oldest at the left.
    let mut by_date = expired.clone();
    by_date.sort_by_key(|&i| rows[i].not_after);
    for (rank, i) in by_date.iter().enumerate() {
        expired_rank.push((*i, rank));
    }
    for (i, r) in rows.iter().enumerate() {
        let zone = scale.zone(r.not_after);
        let x = match zone {
            Zone::Expired => {
                let rank = expired_rank
                    .iter()
                    .find(|(j, _)| *j == i)
                    .map_or(0, |p| p.1);
                let n = by_date.len().max(1) as f64;
                EXPIRED_X.0 + (rank as f64 + 0.5) / n * (EXPIRED_X.1 - EXPIRED_X.0)
            }
            Zone::Timeline(x) => x,
            Zone::Later => LATER_X,
            Zone::Undated => UNDATED_X,
        };
        let lane = lane_of(r);
        let pos = match lanes.iter().position(|(l, _)| *l == lane) {
            Some(p) => p,
            None => {
                lanes.push((lane, Vec::new()));
                lanes.len() - 1
            }
        };
        let placed = &mut lanes[pos].1;
        let mut level = 0;
        while placed
            .iter()
            .any(|p| p.level == level && (p.x - x).abs() < MIN_GAP)
        {
            level += 1;
        }
        placed.push(Placed {
            row: i,
            x,
            level,
            zone,
        });
    }
    lanes.sort_by_key(|(l, _)| *l);
    let lane_h = |p: &[Placed]| {
        (p.iter().map(|m| m.level).max().unwrap_or(0) + 1) as f64 * LEVEL_H + 2.0 * LANE_PAD
    };
    let height = AXIS_H + lanes.iter().map(|(_, p)| lane_h(p)).sum::<f64>() + 8.0;
    let _ = write!(
        out,
        r#"<figure class="timeline"><div class="scroll"><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0}" role="img" aria-labelledby="tl-title tl-desc" data-today-x="{TODAY_X}">
<title id="tl-title">Expiry timeline, {} to {}</title>
<desc id="tl-desc">One mark per item: expired items left of the today line, the next 12 months to its right, then later and undated items.</desc>
"#,
        at::day(scale.at),
        at::day(scale.end)
    );
    // Zones and month grid.
    let bottom = height - 8.0;
    let _ = write!(
        out,
        r#"<rect class="zone-expired" x="{}" y="{AXIS_H}" width="{}" height="{}"/>"#,
        EXPIRED_X.0 - 8.0,
        TODAY_X - EXPIRED_X.0 + 8.0,
        bottom - AXIS_H
    );
    let _ = write!(
        out,
        r#"<text class="zone-label" x="{}" y="{}" text-anchor="middle">expired</text>"#,
        (EXPIRED_X.0 + EXPIRED_X.1) / 2.0,
        AXIS_H - 12.0
    );
    for (x, label) in [(LATER_X, "later"), (UNDATED_X, "no date")] {
        let _ = write!(
            out,
            r#"<rect class="zone-other" x="{}" y="{AXIS_H}" width="42" height="{}"/><text class="zone-label" x="{x}" y="{}" text-anchor="middle">{label}</text>"#,
            x - 21.0,
            bottom - AXIS_H,
            AXIS_H - 12.0
        );
    }
    let first = scale.at.date();
    for m in 1..=12 {
        let d = add_months(first.replace_day(1).unwrap_or(first), m);
        let t = scale.at.replace_date(d).replace_time(time::Time::MIDNIGHT);
        if t > scale.end {
            break;
        }
        let x = scale.x(t);
        let label = if d.month() == Month::January || m == 1 {
            format!("{} {}", &month_name(d.month())[..3], d.year())
        } else {
            month_name(d.month())[..3].to_string()
        };
        let _ = write!(
            out,
            r#"<line class="grid" x1="{x:.1}" x2="{x:.1}" y1="{}" y2="{bottom}"/><text class="tick" x="{x:.1}" y="{}" text-anchor="middle">{label}</text>"#,
            AXIS_H - 6.0,
            AXIS_H - 12.0
        );
    }
    // Lanes: label, bands, marks.
    let mut y = AXIS_H;
    for (lane, placed) in &lanes {
        let h = lane_h(placed);
        let (warn, remind) = placed.iter().fold((0i64, 0i64), |(w, r), p| {
            (w.max(rows[p.row].warn_days), r.max(rows[p.row].remind_days))
        });
        let band = |days: i64| {
            let t = scale.at + Duration::days(days.clamp(0, 366));
            scale.x(t.min(scale.end)) - TODAY_X
        };
        let _ = write!(
            out,
            r#"<g class="lane" data-kind="{}"><line class="lane-sep" x1="0" x2="{WIDTH}" y1="{y}" y2="{y}"/><text class="lane-label" x="6" y="{:.1}">{}</text><rect class="band-warn" x="{TODAY_X}" y="{y}" width="{:.1}" height="{h}"><title>{} days: warning</title></rect><rect class="band-remind" x="{TODAY_X}" y="{y}" width="{:.1}" height="{h}"><title>{} days: final reminder</title></rect>"#,
            LANES[*lane].0,
            y + h / 2.0 + 4.0,
            LANES[*lane].1,
            band(warn),
            warn,
            band(remind),
            remind
        );
        for p in placed {
            let r = &rows[p.row];
            let my = y + LANE_PAD + LEVEL_H / 2.0 + p.level as f64 * LEVEL_H;
            let date = r.not_after.map(at::day).unwrap_or_default();
            let _ = write!(
                out,
                r##"<a href="#item-{}"><g class="mark s-{}" data-item="{}" data-status="{}" data-expires="{}" data-zone="{}" transform="translate({:.1} {:.1})"><title>{} — {}, {} ({})</title>{}</g></a>"##,
                p.row + 1,
                r.status.as_str(),
                p.row + 1,
                r.status.as_str(),
                date,
                p.zone.name(),
                p.x,
                my,
                esc(&title_of(r)),
                esc(&r.kind),
                if date.is_empty() {
                    "no expiry date".to_string()
                } else {
                    format!("expires {date}")
                },
                r.status.as_str(),
                shape(r.status)
            );
        }
        out.push_str("</g>\n");
        y += h;
    }
    let _ = write!(
        out,
        r#"<line class="today" x1="{TODAY_X}" x2="{TODAY_X}" y1="{}" y2="{bottom}"/><text class="today-label" x="{TODAY_X}" y="{}" text-anchor="middle">today {}</text>"#,
        AXIS_H - 28.0,
        AXIS_H - 32.0,
        at::day(scale.at)
    );
    out.push_str("</svg></div>\n");
    out.push_str(r#"<figcaption class="legend">"#);
    for s in [
        Status::Expired,
        Status::Error,
        Status::Unchecked,
        Status::Expiring,
        Status::Ok,
    ] {
        let _ = write!(
            out,
            r#"<span><svg viewBox="-7 -7 14 14" width="14" height="14" aria-hidden="true"><g class="mark s-{0}">{1}</g></svg> {0}</span>"#,
            s.as_str(),
            shape(s)
        );
    }
    out.push_str(r#"<span><i class="swatch band-warn"></i> warning window</span><span><i class="swatch band-remind"></i> final reminder</span></figcaption></figure>"#);
    out.push('\n');
}

fn month_name(m: Month) -> &'static str {
    match m {
        Month::January => "January",
        Month::February => "February",
        Month::March => "March",
        Month::April => "April",
        Month::May => "May",
        Month::June => "June",
        Month::July => "July",
        Month::August => "August",
        Month::September => "September",
        Month::October => "October",
        Month::November => "November",
        Month::December => "December",
    }
}

const CSS: &str = r#"
:root{color-scheme:light dark;--bg:#fff;--fg:#1d2330;--muted:#5b6475;--line:#d9dde5;--card:#f6f7f9;
--ok:#1f8a4c;--expiring:#b86e00;--unchecked:#6b7280;--error:#c2185b;--expired:#c62828;
--warn-band:rgba(230,160,30,.16);--remind-band:rgba(230,120,30,.26);--zone:rgba(198,40,40,.06);--zone2:rgba(100,110,130,.07);--today:#1d4ed8}
@media (prefers-color-scheme:dark){:root{--bg:#12151b;--fg:#e6e9ef;--muted:#9aa3b2;--line:#2c323d;--card:#1a1f27;
--ok:#4ade80;--expiring:#fbbf24;--unchecked:#9ca3af;--error:#f472b6;--expired:#f87171;
--warn-band:rgba(251,191,36,.13);--remind-band:rgba(251,146,60,.22);--zone:rgba(248,113,113,.08);--zone2:rgba(160,170,190,.07);--today:#60a5fa}}
*{box-sizing:border-box}
body{margin:0;padding:24px;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
h1{font-size:1.45rem;margin:0 0 4px}h2{font-size:1.1rem;margin:28px 0 8px}
.meta{color:var(--muted);margin:0 0 14px}
.summary{display:flex;flex-wrap:wrap;gap:8px;margin:0 0 18px;padding:0;list-style:none}
.summary li{border:1px solid var(--line);border-radius:8px;padding:6px 12px;background:var(--card)}
.summary b{font-size:1.2rem;margin-right:4px}
.timeline{margin:0}.scroll{overflow-x:auto;border:1px solid var(--line);border-radius:8px;background:var(--bg)}
.scroll>svg{display:block;width:100%;min-width:720px;height:auto}
.tick,.zone-label,.lane-label,.today-label{fill:var(--muted);font:11px system-ui,sans-serif}
.lane-label{fill:var(--fg);font-weight:600}.today-label{fill:var(--today);font-weight:600}
.grid{stroke:var(--line);stroke-width:1}.lane-sep{stroke:var(--line);stroke-width:1}
.today{stroke:var(--today);stroke-width:2}
.band-warn{fill:var(--warn-band)}.band-remind{fill:var(--remind-band)}
.zone-expired{fill:var(--zone)}.zone-other{fill:var(--zone2)}
.mark{stroke:var(--bg);stroke-width:1}
.mark .hollow{fill:none;stroke:var(--unchecked);stroke-width:2;stroke-dasharray:2 1.5}
.mark .cross{fill:none;stroke-width:2.6;stroke-linecap:round}
.s-ok{fill:var(--ok);color:var(--ok)}.s-expiring{fill:var(--expiring);color:var(--expiring)}
.s-unchecked{fill:var(--unchecked);color:var(--unchecked)}.s-error{fill:var(--error);color:var(--error)}
.s-expired{fill:var(--expired);color:var(--expired)}.s-expired .cross{stroke:var(--expired)}
a:hover .mark{stroke:var(--fg)}
.legend{display:flex;flex-wrap:wrap;gap:14px;margin:8px 2px 0;color:var(--muted);font-size:12px}
.legend span{display:inline-flex;align-items:center;gap:5px}.legend svg{overflow:visible}
.swatch{display:inline-block;width:18px;height:12px;border:1px solid var(--line)}
.swatch.band-warn{background:var(--warn-band)}.swatch.band-remind{background:var(--remind-band)}
.table{overflow-x:auto}table{border-collapse:collapse;width:100%;font-size:13px;table-layout:fixed}
col.date{width:6.6em}col.num{width:4.6em}col.status{width:9em}col.kind{width:7.5em}col.team{width:8.5em}col.owner{width:7.5em}col.pw{width:11em}col.file{width:12em}
th,td{text-align:left;vertical-align:top;padding:6px 8px;border-bottom:1px solid var(--line)}
th{position:sticky;top:0;background:var(--card);font-weight:600}
td.num{text-align:right;white-space:nowrap}td.date{white-space:nowrap}
td{overflow-wrap:break-word}td.file,td.pw,td.team{overflow-wrap:anywhere}td.file,td.pw{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
tr:target{outline:2px solid var(--today)}
.badge{display:inline-block;border-radius:999px;padding:1px 8px;font-weight:600;font-size:12px;border:1px solid currentColor;white-space:nowrap}
.findings,.desc,.notes{display:block;color:var(--muted);font-size:12px}
.findings code{font-size:11px;white-space:nowrap}
.notes{font-style:italic}
footer{margin-top:24px;color:var(--muted);font-size:12px}
@media (max-width:820px){body{padding:12px}
table,thead,tbody,tr,td{display:block}colgroup{display:none}thead{display:none}
tr{border:1px solid var(--line);border-radius:8px;margin:0 0 10px;padding:6px 8px;background:var(--card)}
td{border:0;padding:3px 0;display:grid;grid-template-columns:7.5em 1fr;gap:8px}
td::before{content:attr(data-label);color:var(--muted);font-weight:600}
td.num{text-align:left}}
@media print{@page{size:A4 landscape;margin:12mm}
:root{--bg:#fff;--fg:#000;--muted:#444;--line:#bbb;--card:#fff}
body{padding:0;font-size:10pt}.scroll,.table{overflow:visible;border:0}.scroll>svg{min-width:0}
th{position:static}tr{break-inside:avoid}h2{break-after:avoid}.timeline{break-inside:avoid}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}a{color:inherit;text-decoration:none}}
"#;

/// The whole page.
pub fn render(rows: &[Row], meta: &Meta) -> String {
    let mut out = String::new();
    let title = match meta.source {
        Some(s) => format!("Signing material expiry: {}", s),
        None => "Signing material expiry".to_string(),
    };
    let _ = write!(
        out,
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="color-scheme" content="light dark">
<meta name="generator" content="wrapsign {}">
<title>{}</title>
<style>{CSS}</style>
</head>
<body>
<header>
<h1>{}</h1>
<p class="meta">{} items checked by wrapsign {} at <time datetime="{}">{}</time>; expiring: within {} days (per kind where <code>wrapsign.toml</code> says so).</p>
<ul class="summary">"#,
        env!("CARGO_PKG_VERSION"),
        esc(&title),
        esc(&title),
        rows.len(),
        env!("CARGO_PKG_VERSION"),
        at::rfc3339(meta.at),
        at::day(meta.at),
        meta.warn_days
    );
    for (s, n) in counts(rows) {
        if n > 0 || s != Status::Unchecked {
            let _ = write!(
                out,
                r#"<li class="s-{0}"><b>{1}</b><span>{0}</span></li>"#,
                s.as_str(),
                n
            );
        }
    }
    out.push_str("</ul>\n</header>\n<main>\n<h2>Next 12 months</h2>\n");
    timeline(rows, meta, &mut out);
    out.push_str(
        r#"<h2>Every item</h2>
<div class="table">
<table>
<colgroup><col class="date"><col class="num"><col class="status"><col class="kind"><col class="subject"><col class="team"><col class="owner"><col class="pw"><col class="file"></colgroup>
<thead><tr><th>Expires</th><th>Days left</th><th>Status</th><th>Kind</th><th>Subject</th><th>Team / alias</th><th>Owner</th><th>Password source</th><th>File</th></tr></thead>
<tbody>
"#,
    );
    for (i, r) in rows.iter().enumerate() {
        let date = r.not_after.map(at::day).unwrap_or_else(|| "-".into());
        let mut subject = esc(&title_of(r));
        if let Some(d) = &r.description {
            let _ = write!(subject, r#"<span class="desc">{}</span>"#, esc(d));
        }
        if let Some(n) = &r.notes {
            let _ = write!(subject, r#"<span class="notes">{}</span>"#, esc(n));
        }
        let mut status = format!(r#"<span class="badge s-{0}">{0}</span>"#, r.status.as_str());
        if !r.findings.is_empty() {
            let _ = write!(
                status,
                r#"<span class="findings">{}</span>"#,
                r.findings
                    .iter()
                    .map(|f| format!("<code>{}</code>", esc(f)))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
        let dash = |s: &str| {
            if s.is_empty() {
                "-".to_string()
            } else {
                esc(s)
            }
        };
        let cells = [
            ("date", "Expires", date),
            (
                "num",
                "Days left",
                r.days_left
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "-".into()),
            ),
            ("status", "Status", status),
            ("kind", "Kind", esc(&r.kind)),
            ("subject", "Subject", subject),
            ("team", "Team / alias", dash(&r.team_or_alias)),
            ("owner", "Owner", dash(r.owner.as_deref().unwrap_or(""))),
            ("pw", "Password source", dash(&r.password_source)),
            ("file", "File", esc(&r.file)),
        ];
        let _ = write!(
            out,
            r#"<tr id="item-{}" class="row" data-status="{}">"#,
            i + 1,
            r.status.as_str()
        );
        for (class, label, html) in cells {
            // One wrapper per cell: in a narrow window the cell is a label/value grid.
            let _ = write!(
                out,
                r#"<td class="{class}" data-label="{label}"><div>{html}</div></td>"#
            );
        }
        out.push_str("</tr>\n");
    }
    let _ = write!(
        out,
        r#"</tbody>
</table>
</div>
</main>
<footer>Statuses come from wrapsign's checks: <b>expired</b> past its end date; <b>error</b> a check failed (run <code>wrapsign verify</code> for the findings); <b>unchecked</b> could not be opened or checked; <b>expiring</b> within its warning window. Password sources are where passwords come from, never the passwords.</footer>
</body>
</html>
"#
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc(r#"<script>"x" & 'y'</script>"#),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn months_clamp_their_days() {
        let d = Date::from_calendar_date(2027, Month::January, 31).unwrap();
        assert_eq!(
            add_months(d, 1),
            Date::from_calendar_date(2027, Month::February, 28).unwrap()
        );
        assert_eq!(
            add_months(d, 12),
            Date::from_calendar_date(2028, Month::January, 31).unwrap()
        );
    }

    #[test]
    fn zones_put_each_date_on_its_side_of_today() {
        let at = crate::at::parse("2026-11-07").unwrap();
        let s = Scale::new(at);
        assert_eq!(s.zone(None), Zone::Undated);
        assert_eq!(s.zone(Some(at - Duration::days(1))), Zone::Expired);
        assert_eq!(s.zone(Some(at + Duration::days(400))), Zone::Later);
        match s.zone(Some(at + Duration::days(30))) {
            Zone::Timeline(x) => assert!(x > TODAY_X && x < END_X),
            z => panic!("{z:?}"),
        }
    }
}
