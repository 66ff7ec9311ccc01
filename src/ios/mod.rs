//! iOS: distribution identities, provisioning profiles and apps, one module per
//! Apple concept.

pub mod app;
pub mod bundle;
pub mod certificate;
pub mod entitlements;
pub mod profile;
pub mod sign;
pub mod trust;

use time::OffsetDateTime;

pub use trust::Trust;

/// What every iOS check needs: the instant, the warning horizon, the anchors.
#[derive(Clone, Debug)]
pub struct Ctx {
    pub at: OffsetDateTime,
    pub warn_days: i64,
    pub trust: Trust,
}
