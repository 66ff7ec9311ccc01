//! Android: signing keystores (this module) and APKs.

pub mod keystore;
pub mod policy;
