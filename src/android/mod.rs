//! Android: signing keystores (JKS, JCEKS, PKCS#12) with their per-alias policy,
//! and APK signatures (v1 JAR, v2, v3, v3.1) verified with AOSP apksig's rules,
//! with the binary AndroidManifest.xml they depend on; and re-signing APKs.

pub mod apk;
pub mod keystore;
pub mod manifest;
pub mod policy;
pub mod sign;
