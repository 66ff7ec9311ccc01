//! The one context every check runs in, built once per run from the settings
//! (command line over `wrapsign.toml` over defaults): the instant, how far ahead
//! expiries matter for each kind of material, the trust anchors, whether the
//! network may be used, the archive limits, Google Play's date, the SDK range
//! APKs are verified for, and the certificates APKs must be signed with.
//!
//! Checks take a [`Ctx`] (`ios::Ctx` and `android::policy::Ctx` are this type);
//! a run holds one [`Context`], which hands each kind of material its `Ctx`.

use std::collections::BTreeMap;
use std::time::Duration;

use time::OffsetDateTime;

use crate::at::Horizon;
use crate::trust::Trust;
use crate::x509::Cert;

/// Google Play: an app signing certificate must stay valid after this day.
pub const PLAY_MIN_VALIDITY: OffsetDateTime = time::macros::datetime!(2033-10-22 0:00 UTC);

/// Expansion limits (`--max-expanded-size`, `--max-expand-ratio`), owned by
/// the ZIP layer that enforces them.
pub use crate::zip::Limits;

/// The API levels an APK is verified (or signed) for; `None`: the manifest's
/// minSdkVersion, and every future level.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sdk {
    pub min: Option<i32>,
    pub max: Option<i32>,
}

/// What a check needs to know about the run.
#[derive(Clone, Debug)]
pub struct Ctx {
    pub at: OffsetDateTime,
    pub horizon: Horizon,
    pub trust: Trust,
    /// `--online`: check revocation by OCSP with this timeout. `None`: never touch the network.
    pub online: Option<Duration>,
    /// How far an archive (IPA, APK, device zip) may expand.
    pub archive: Limits,
    /// Certificates of Android signing keys must stay valid after this day.
    pub play_min_validity: OffsetDateTime,
    pub sdk: Sdk,
}

impl Ctx {
    /// Defaults for everything but the instant and the anchors.
    pub fn new(at: OffsetDateTime, trust: Trust) -> Ctx {
        Ctx {
            at,
            horizon: Horizon::default(),
            trust,
            online: None,
            archive: Limits::default(),
            play_min_validity: PLAY_MIN_VALIDITY,
            sdk: Sdk::default(),
        }
    }
}

/// Expiry thresholds in days; `None` keeps the level above.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Threshold {
    pub warn_days: Option<i64>,
    pub fail_days: Option<i64>,
    pub remind_days: Option<i64>,
}

impl Threshold {
    /// `self` over `h`.
    fn over(&self, mut h: Horizon) -> Horizon {
        if let Some(v) = self.warn_days {
            h.warn_days = v;
        }
        if let Some(v) = self.fail_days {
            h.fail_days = v;
        }
        if let Some(v) = self.remind_days {
            h.remind_days = v;
        }
        h
    }
}

/// `[thresholds]` of wrapsign.toml: global, and per kind of material.
#[derive(Clone, Debug, Default)]
pub struct Thresholds {
    pub global: Threshold,
    /// By kind (see [`KINDS`]); each already inherits the global values.
    pub per_kind: BTreeMap<String, Threshold>,
}

/// The kinds of material that may have their own thresholds (`[thresholds.KIND]`).
pub const KINDS: [&str; 12] = [
    "distribution",
    "development",
    "apns",
    "ssl",
    "saml",
    "ca",
    "pki-user",
    "other",
    "profile",
    "keystore",
    "devices",
    "app",
];

/// The context of one run: one [`Ctx`] per kind of material (they differ only
/// in their horizon), and the run's expected APK signers.
#[derive(Clone, Debug)]
pub struct Context {
    base: Ctx,
    kinds: BTreeMap<&'static str, Ctx>,
    /// Certificates every APK must be signed with (`--signer-cert`).
    pub expected_signers: Vec<Cert>,
}

impl Context {
    /// `base` carries everything but the horizon. Horizons: the command line
    /// (`cli`, only what was typed) over the config's per-kind thresholds over
    /// its global ones over the defaults.
    pub fn new(base: Ctx, thresholds: &Thresholds, cli: Threshold) -> Context {
        let mut base = base;
        base.horizon = cli.over(thresholds.global.over(Horizon::default()));
        let kinds = KINDS
            .iter()
            .map(|&k| {
                let t = thresholds.per_kind.get(k).unwrap_or(&thresholds.global);
                let horizon = cli.over(t.over(Horizon::default()));
                (
                    k,
                    Ctx {
                        horizon,
                        ..base.clone()
                    },
                )
            })
            .collect();
        Context {
            base,
            kinds,
            expected_signers: Vec::new(),
        }
    }

    /// A context with the defaults (tests, fuzzing).
    pub fn defaults(at: OffsetDateTime, trust: Trust) -> Context {
        Context::new(
            Ctx::new(at, trust),
            &Thresholds::default(),
            Threshold::default(),
        )
    }

    /// The context of material of `kind` (one of [`KINDS`]; others get the global horizon).
    pub fn ctx(&self, kind: &str) -> &Ctx {
        self.kinds.get(kind).unwrap_or(&self.base)
    }

    /// The global context: the horizon without per-kind thresholds.
    pub fn base(&self) -> &Ctx {
        &self.base
    }

    pub fn at(&self) -> OffsetDateTime {
        self.base.at
    }

    /// CA certificates found among the material complete everyone's chains:
    /// self-issued ones become anchors, the others intermediates.
    pub fn add_cas(&mut self, cas: &[Cert]) {
        for ctx in std::iter::once(&mut self.base).chain(self.kinds.values_mut()) {
            for cert in cas {
                let known = |v: &Vec<Cert>| v.iter().any(|x| x.der == cert.der);
                if cert.is_self_issued() {
                    if !known(&ctx.trust.anchors) {
                        ctx.trust.anchors.push(cert.clone());
                    }
                } else if !known(&ctx.trust.intermediates) {
                    ctx.trust.intermediates.push(cert.clone());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_wins_over_per_kind_over_global_thresholds() {
        let mut t = Thresholds {
            global: Threshold {
                warn_days: Some(45),
                fail_days: Some(3),
                remind_days: None,
            },
            ..Thresholds::default()
        };
        t.per_kind.insert(
            "apns".into(),
            Threshold {
                warn_days: Some(60),
                fail_days: Some(3),
                remind_days: None,
            },
        );
        let at = time::OffsetDateTime::UNIX_EPOCH;
        let c = Context::new(Ctx::new(at, Trust::default()), &t, Threshold::default());
        assert_eq!(c.ctx("apns").horizon.warn_days, 60);
        assert_eq!(c.ctx("ssl").horizon.warn_days, 45);
        assert_eq!(c.base().horizon.fail_days, 3);
        assert_eq!(c.ctx("nonsense").horizon.warn_days, 45);
        let cli = Threshold {
            warn_days: Some(7),
            ..Threshold::default()
        };
        let c = Context::new(Ctx::new(at, Trust::default()), &t, cli);
        assert_eq!(c.ctx("apns").horizon.warn_days, 7);
        assert_eq!(c.ctx("apns").horizon.fail_days, 3);
        assert_eq!(c.base().horizon.remind_days, Horizon::default().remind_days);
    }
}
