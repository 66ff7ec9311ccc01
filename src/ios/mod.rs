//! iOS: distribution identities, provisioning profiles and apps, one module per
//! Apple concept.

pub mod apns;
pub mod app;
pub mod bundle;
pub mod certificate;
pub mod entitlements;
pub mod profile;
pub mod select;
pub mod trust;

use time::OffsetDateTime;

use crate::at::Horizon;

pub use trust::Trust;

/// What every iOS check needs: the instant, the expiry horizon, the anchors.
#[derive(Clone, Debug)]
pub struct Ctx {
    pub at: OffsetDateTime,
    pub horizon: Horizon,
    pub trust: Trust,
    /// `--online`: check revocation by OCSP with this timeout. `None`: never touch the network.
    pub online: Option<std::time::Duration>,
    /// How far an IPA may expand (`--max-expanded-size`, `--max-expand-ratio`).
    pub archive: crate::zip::Limits,
}

impl Ctx {
    pub fn new(at: OffsetDateTime, trust: Trust) -> Ctx {
        Ctx {
            at,
            horizon: Horizon::default(),
            trust,
            online: None,
            archive: crate::zip::Limits::default(),
        }
    }
}
