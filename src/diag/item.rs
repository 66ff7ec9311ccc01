//! Things the checks looked at, with the facts worth showing.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

/// What an [`Item`] is. Serialized as its kebab-case name (`"keystore-entry"`),
/// which JSON consumers and the inventory table match on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ItemKind {
    /// An APK that was verified.
    Apk,
    /// One signer of an APK.
    ApkSigner,
    /// An app entry of the inventory (IPA, .app or APK).
    App,
    /// A bundle inside an iOS app (the app, an extension, a framework).
    Bundle,
    /// A certificate or identity (.p12, PEM, DER).
    Certificate,
    /// An MDM device-certificate bundle (zip of .p12 files and their credentials).
    DeviceBundle,
    /// One device certificate of such a bundle.
    DeviceCertificate,
    /// One alias of a keystore.
    KeystoreEntry,
    /// One certificate of an Android key-rotation lineage.
    LineageSigner,
    /// The output file of `sign`.
    Output,
    /// A provisioning profile.
    Profile,
    /// A folder scan: what it found.
    Scan,
    /// A bundle `sign` signed inside an IPA or .app.
    Signed,
    /// An APK `sign` wrote.
    SignedApk,
    /// The key `sign` signs an APK with.
    SigningKey,
    /// A device bundle `wrapsign bundle` wrote.
    UploadBundle,
}

impl ItemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Apk => "apk",
            ItemKind::ApkSigner => "apk-signer",
            ItemKind::App => "app",
            ItemKind::Bundle => "bundle",
            ItemKind::Certificate => "certificate",
            ItemKind::DeviceBundle => "device-bundle",
            ItemKind::DeviceCertificate => "device-certificate",
            ItemKind::KeystoreEntry => "keystore-entry",
            ItemKind::LineageSigner => "lineage-signer",
            ItemKind::Output => "output",
            ItemKind::Profile => "profile",
            ItemKind::Scan => "scan",
            ItemKind::Signed => "signed",
            ItemKind::SignedApk => "signed-apk",
            ItemKind::SigningKey => "signing-key",
            ItemKind::UploadBundle => "upload-bundle",
        }
    }
}

impl fmt::Display for ItemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad` so that width and alignment (`{:<12}`) apply.
        f.pad(self.as_str())
    }
}

/// Something a check looked at, with the facts worth showing (dates, team, App ID).
#[derive(Clone, Debug, Serialize)]
pub struct Item {
    pub kind: ItemKind,
    pub file: String,
    pub subject: Option<String>,
    #[serde(
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub not_after: Option<OffsetDateTime>,
    pub facts: BTreeMap<String, Value>,
}

impl Item {
    pub fn new(kind: ItemKind, file: impl Into<String>) -> Self {
        Item {
            kind,
            file: file.into(),
            subject: None,
            not_after: None,
            facts: BTreeMap::new(),
        }
    }

    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    pub fn not_after(mut self, t: OffsetDateTime) -> Self {
        self.not_after = Some(t);
        self
    }

    pub fn fact(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.facts.insert(key.to_string(), value.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_serialize_as_their_names() {
        for k in [
            ItemKind::Apk,
            ItemKind::ApkSigner,
            ItemKind::App,
            ItemKind::Bundle,
            ItemKind::Certificate,
            ItemKind::DeviceBundle,
            ItemKind::DeviceCertificate,
            ItemKind::KeystoreEntry,
            ItemKind::Output,
            ItemKind::Profile,
            ItemKind::Scan,
            ItemKind::Signed,
            ItemKind::SignedApk,
            ItemKind::SigningKey,
        ] {
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        assert_eq!(format!("[{:<8}]", ItemKind::Apk), "[apk     ]");
    }
}
