//! Android: APK signatures (v1 JAR, v2, v3, v3.1) verified with AOSP apksig's
//! rules, and the binary AndroidManifest.xml they depend on.

pub mod apk;
pub mod manifest;
