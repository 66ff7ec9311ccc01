//! `wrapsign inventory --format ics`: an iCalendar file (RFC 5545) with one
//! all-day event on each item's expiry date and two alarms before it, at the
//! item's warning and final-reminder days (`[thresholds.KIND]`, the same
//! settings as the warnings; 30 and 10 by default, as Apple's own mails).
//! Each event's UID comes from what the item is (its kind, file and name), not
//! from its dates, so importing a newer export updates the events instead of
//! duplicating them; a renewed certificate moves its event.
//!
//! A renderer: it prints the rows, it decides nothing.

use std::fmt::Write;

use super::table::{Meta, Row};
use crate::at;

/// A TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma and newlines escaped.
pub fn text(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            ';' => o.push_str("\\;"),
            ',' => o.push_str("\\,"),
            '\n' => o.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => o.push(c),
        }
    }
    o
}

/// One content line, folded at 75 octets (never inside a UTF-8 sequence), CRLF-ended.
fn line(out: &mut String, content: &str) {
    let mut width = 0;
    for c in content.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
}

/// The stable identity of an item: what it is, not when it expires.
pub fn uid(r: &Row) -> String {
    use sha2::{Digest, Sha256};
    let name = if r.label.is_empty() {
        &r.subject
    } else {
        &r.label
    };
    let mut h = Sha256::new();
    for part in ["wrapsign-inventory", &r.group, &r.file, name] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    format!("{}@wrapsign", hex::encode(&h.finalize()[..16]))
}

fn stamp(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn date(d: time::Date) -> String {
    format!("{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day())
}

fn name_of(r: &Row) -> &str {
    if !r.subject.is_empty() {
        &r.subject
    } else if !r.label.is_empty() {
        &r.label
    } else {
        &r.file
    }
}

pub fn render(rows: &[Row], meta: &Meta) -> String {
    let mut out = String::new();
    let l = |out: &mut String, s: &str| line(out, s);
    l(&mut out, "BEGIN:VCALENDAR");
    l(&mut out, "VERSION:2.0");
    l(
        &mut out,
        &format!(
            "PRODID:-//wrapsign//wrapsign {}//EN",
            env!("CARGO_PKG_VERSION")
        ),
    );
    l(&mut out, "CALSCALE:GREGORIAN");
    l(&mut out, "METHOD:PUBLISH");
    let name = match meta.source {
        Some(s) => format!("Signing material expiry ({s})"),
        None => "Signing material expiry".to_string(),
    };
    l(&mut out, &format!("X-WR-CALNAME:{}", text(&name)));
    let dtstamp = stamp(meta.at);
    for r in rows {
        let Some(na) = r.not_after else { continue };
        let day = na.to_offset(time::UtcOffset::UTC).date();
        let what = name_of(r);
        l(&mut out, "BEGIN:VEVENT");
        l(&mut out, &format!("UID:{}", uid(r)));
        l(&mut out, &format!("DTSTAMP:{dtstamp}"));
        l(&mut out, &format!("DTSTART;VALUE=DATE:{}", date(day)));
        l(
            &mut out,
            &format!("DTEND;VALUE=DATE:{}", date(day.next_day().unwrap_or(day))),
        );
        l(
            &mut out,
            &format!("SUMMARY:{}", text(&format!("{} expires: {what}", r.kind))),
        );
        let mut desc = format!(
            "{} {what} expires on {} ({}).\nStatus on {}: {}",
            r.kind,
            at::day(na),
            at::rfc3339(na),
            at::day(meta.at),
            r.status.as_str()
        );
        if !r.findings.is_empty() {
            let _ = write!(desc, " ({})", r.findings.join(", "));
        }
        for (k, v) in [
            ("Team/alias", Some(r.team_or_alias.as_str())),
            ("Owner", r.owner.as_deref()),
            ("Notes", r.notes.as_deref()),
            ("Description", r.description.as_deref()),
            ("Password source", Some(r.password_source.as_str())),
            ("File", Some(r.file.as_str())),
        ] {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                let _ = write!(desc, "\n{k}: {v}");
            }
        }
        desc.push_str("\nCheck it with: wrapsign verify");
        l(&mut out, &format!("DESCRIPTION:{}", text(&desc)));
        l(&mut out, &format!("CATEGORIES:wrapsign,{}", text(&r.group)));
        l(&mut out, "TRANSP:TRANSPARENT");
        let mut days = vec![r.warn_days, r.remind_days];
        days.retain(|d| *d > 0);
        days.sort_unstable_by(|a, b| b.cmp(a));
        days.dedup();
        for d in days {
            l(&mut out, "BEGIN:VALARM");
            l(&mut out, "ACTION:DISPLAY");
            l(&mut out, &format!("TRIGGER:-P{d}D"));
            l(
                &mut out,
                &format!(
                    "DESCRIPTION:{}",
                    text(&format!("{} expires in {d} days: {what}", r.kind))
                ),
            );
            l(&mut out, "END:VALARM");
        }
        l(&mut out, "END:VEVENT");
    }
    l(&mut out, "END:VCALENDAR");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_values_are_escaped() {
        assert_eq!(text("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
    }

    #[test]
    fn long_lines_fold_at_75_octets_on_char_boundaries() {
        let mut out = String::new();
        let s = format!("DESCRIPTION:{}", "é".repeat(60));
        line(&mut out, &s);
        for l in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(l.len() <= 75, "{} octets", l.len());
        }
        let unfolded = out.trim_end_matches("\r\n").replace("\r\n ", "");
        assert_eq!(unfolded, s);
    }
}
