//! All integration tests, in one binary (one link of the dependency tree, as
//! ripgrep does). Each module is one area; `support` holds the shared helpers.
// Helpers are shared by many modules; not every module uses every one.
#![allow(dead_code)]

#[macro_use]
mod support;

mod android_alignment;
mod android_keystore;
mod android_keystore_apk;
mod android_rotation;
mod android_signer_policy;
mod apk_cli;
mod apk_oracle;
mod apk_sign;
mod cert_display;
mod cli;
mod conformance_apksig;
mod conformance_ios;
mod conformance_pyjks;
mod conformance_realworld_apk;
mod device_bundles;
mod diagnostics;
mod docs;
mod expiry_report;
mod fuzz_regressions;
mod hostile_archives;
mod inventory;
mod ios_codesig;
mod ios_sign;
mod ios_verify;
mod keystore_oracle;
mod layers;
mod macho_build;
mod ocsp;
mod output_formats;
mod output_pipes;
mod pipeline;
mod pkcs12_empty_password;
mod policy_and_selection;
mod secrets;
mod sign_pipeline;
mod user_errors;
mod zip_readers;
