//! The diagnostics model: every check emits [`Finding`]s named by a stable [`Code`].
//!
//! Checks decide *what* they saw; [`Policy`] decides how much it matters (per-name
//! overrides, deny-warnings, how close an expiry fails); renderers in
//! [`crate::report`] only print. This keeps policy out of output formats, as
//! cargo-deny does. `diag` sits at the bottom of the crate: it depends only on
//! [`crate::at`] (dates), never on a check or a renderer.

mod code;
mod finding;
mod item;
mod policy;
mod report;
mod severity;

pub use code::Code;
pub use finding::Finding;
pub use item::{Item, ItemKind};
pub use policy::{expiring, Baseline, BaselineEntry, FailOn, Level, Policy};
pub use report::Report;
pub use severity::Severity;
