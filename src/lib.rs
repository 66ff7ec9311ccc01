//! wrapsign: verify and re-sign iOS and Android signing material and apps.
//!
//! One module per domain; [`diag`] is the shared diagnostics model, [`report`]
//! renders it, [`cli`] is the thin command line over [`inventory`] (gather,
//! classify with [`material`], check in one [`context`]).

// Loaders return a `Finding` as their error; it is built once per bad input, never
// on a hot path, so its size does not matter.
#![allow(clippy::result_large_err)]

pub mod android;
pub mod at;
pub mod atomic;
pub mod certfile;
pub mod cli;
pub mod context;
pub mod crypto;
pub mod diag;
#[doc(hidden)]
pub mod fuzzing;
pub mod identity;
pub mod inventory;
pub mod ios;
pub mod keys;
pub mod material;
pub mod ocsp;
pub mod outcome;
pub mod pkcs12;
pub mod report;
pub mod secret;
pub mod signer;
pub mod signing;
pub mod sniff;
pub mod trust;
pub mod x509;
pub mod zip;
