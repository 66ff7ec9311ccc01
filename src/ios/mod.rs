//! iOS: distribution identities, provisioning profiles and apps, one module per
//! Apple concept.

pub mod app;
pub mod certificate;
pub mod entitlements;
pub mod profile;
pub mod select;
pub mod trust;

use time::OffsetDateTime;

use crate::diag::Severity;

pub use trust::Trust;

/// What every iOS check needs: the instant, the warning horizon, the anchors.
#[derive(Clone, Debug)]
pub struct Ctx {
    pub at: OffsetDateTime,
    /// Warn when something expires within this many days.
    pub warn_days: i64,
    /// Fail (error) when something expires within this many days; 0: only when expired.
    pub fail_days: i64,
    /// The second reminder, as Apple's own mails send at 30 and at 10 days.
    pub remind_days: i64,
    pub trust: Trust,
    /// `--online`: check revocation by OCSP with this timeout. `None`: never touch the network.
    pub online: Option<std::time::Duration>,
}

impl Ctx {
    pub fn new(at: OffsetDateTime, trust: Trust) -> Ctx {
        Ctx {
            at,
            warn_days: 30,
            fail_days: 0,
            remind_days: 10,
            trust,
            online: None,
        }
    }

    /// The severity and wording for something that expires in `days_left` days.
    pub fn expiring(&self, days_left: i64, default: Severity) -> (Severity, &'static str) {
        let sev = if days_left < self.fail_days {
            Severity::Error
        } else {
            default
        };
        let reminder = if days_left <= self.remind_days {
            " (final reminder)"
        } else {
            ""
        };
        (sev, reminder)
    }
}
