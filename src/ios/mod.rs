//! iOS: distribution identities, provisioning profiles and apps, one module per
//! Apple concept.

pub mod apns;
pub mod app;
pub mod bundle;
pub mod certificate;
pub mod code_signature;
pub mod entitlements;
pub mod integrity;
pub mod profile;
pub mod seal;
pub mod select;
pub mod tree;

// Every check runs in the one context of the run (src/context.rs); the trust
// anchors live beside it (src/trust.rs), still reachable as `ios::trust`.
pub use crate::context::Ctx;
pub use crate::trust::{self, Trust};
