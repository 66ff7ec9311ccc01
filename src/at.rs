//! The verification instant. Every time-dependent check takes it as an input
//! (`--at`), so tests pin it and results never rot as the calendar moves.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime, Time};

/// Parses `YYYY-MM-DD` (midnight UTC) or an RFC 3339 timestamp.
pub fn parse(s: &str) -> Result<OffsetDateTime, String> {
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(t);
    }
    let fmt = format_description!("[year]-[month]-[day]");
    if let Ok(d) = Date::parse(s, &fmt) {
        return Ok(PrimitiveDateTime::new(d, Time::MIDNIGHT).assume_utc());
    }
    Err(format!(
        "invalid time `{s}`: use YYYY-MM-DD or RFC 3339 (2027-03-01T09:00:00Z)"
    ))
}

/// A date for humans: `2045-01-01`.
pub fn day(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

/// RFC 3339 in UTC, for machines.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_else(|_| day(t))
}

/// Whole days from `at` until `t` (negative when `t` is past), rounded down.
pub fn days_until(at: OffsetDateTime, t: OffsetDateTime) -> i64 {
    let d: Duration = t - at;
    d.whole_seconds().div_euclid(86_400)
}

/// How far ahead expiries matter: warn within `warn_days`, fail within
/// `fail_days` (0: only once expired), and say "final reminder" within
/// `remind_days`, as Apple's own mails do at 30 and 10 days. This only counts
/// days; `diag::expiring` turns them into a severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Horizon {
    pub warn_days: i64,
    pub fail_days: i64,
    pub remind_days: i64,
}

impl Default for Horizon {
    fn default() -> Self {
        Horizon {
            warn_days: 30,
            fail_days: 0,
            remind_days: 10,
        }
    }
}

impl Horizon {
    /// Whether something `days_left` days from expiry is inside the fail window.
    pub fn fails(&self, days_left: i64) -> bool {
        days_left < self.fail_days
    }

    /// Whether something `days_left` days from expiry is due its final reminder.
    pub fn final_reminder(&self, days_left: i64) -> bool {
        days_left <= self.remind_days
    }
}

/// Where a validity period stands at an instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    NotYetValid,
    Expired { days_ago: i64 },
    Expiring { days_left: i64 },
    Valid { days_left: i64 },
}

/// Classifies `[not_before, not_after]` at `at`, warning `warn_days` ahead of the end.
pub fn window(
    not_before: Option<OffsetDateTime>,
    not_after: OffsetDateTime,
    at: OffsetDateTime,
    warn_days: i64,
) -> Window {
    if let Some(nb) = not_before {
        if at < nb {
            return Window::NotYetValid;
        }
    }
    if at > not_after {
        return Window::Expired {
            days_ago: days_until(not_after, at),
        };
    }
    let days_left = days_until(at, not_after);
    if days_left < warn_days {
        Window::Expiring { days_left }
    } else {
        Window::Valid { days_left }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_forms() {
        assert_eq!(
            rfc3339(parse("2027-03-01").unwrap()),
            "2027-03-01T00:00:00Z"
        );
        assert_eq!(
            rfc3339(parse("2027-03-01T09:30:00+02:00").unwrap()),
            "2027-03-01T07:30:00Z"
        );
        assert!(parse("01/03/2027").is_err());
    }

    #[test]
    fn windows() {
        let nb = parse("2025-01-01").unwrap();
        let na = parse("2026-01-01").unwrap();
        assert_eq!(
            window(Some(nb), na, parse("2024-12-31").unwrap(), 30),
            Window::NotYetValid
        );
        assert_eq!(
            window(Some(nb), na, parse("2026-01-03").unwrap(), 30),
            Window::Expired { days_ago: 2 }
        );
        assert_eq!(
            window(Some(nb), na, parse("2025-12-22").unwrap(), 30),
            Window::Expiring { days_left: 10 }
        );
        assert_eq!(
            window(Some(nb), na, parse("2025-06-01").unwrap(), 30),
            Window::Valid { days_left: 214 }
        );
    }
}
