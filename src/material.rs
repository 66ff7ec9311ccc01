//! What a file is, decided once, by one rule, whichever way it reached
//! wrapsign: a path argument, its flag (`--cert`, `--keystore`, `--profile`,
//! `--app`), a folder scan or `wrapsign.toml`. The checks that run on it, and
//! so its findings, follow from this answer alone.
//!
//! Content decides, not the name; the name only helps when the content is too
//! damaged to say (a cut `.apk` is still an APK, and its check says what is
//! wrong). A PKCS#12 file is decided by what it holds, so it needs a password:
//!
//! **The PKCS#12 rule.** A `.p12`/`.pfx` is a *certificate identity* (checked by
//! its kind: Apple distribution, development or push, TLS, SAML, CA...) when any
//! certificate in it carries Apple's markers or its leaf allows code signing.
//! Otherwise it is an *Android keystore* when it holds more than one private
//! key, or when its leaf is what `keytool -genkeypair` makes: self-issued, not
//! a CA, without extended key usage. Anything else is a certificate identity.
//!
//! **Passwords.** Every password the run was given is tried on every container
//! (for a PKCS#12 `--cert-pass` first, for a JKS/JCEKS `--ks-pass` first; an
//! entry of wrapsign.toml tries its own). When none is given, a PKCS#12 is tried
//! with the empty password and a JKS/JCEKS is read without one (its
//! certificates are readable; the keystore check then says it is unverified).
//! A container no password opens is [`Material::Locked`]: one finding,
//! `password-wrong`, on every route (a folder scan reports it as skipped).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::android::keystore::{self, OpenError, StoreType};
use crate::diag::{Code, Finding};
use crate::ios::apns;
use crate::ios::certificate::CertKind;
use crate::pkcs12::{self, P12Error};
use crate::secret::{self, Passwords, Unlock};
use crate::sniff::{self, Kind};
use crate::x509::Cert;

/// What a certificate is for (`kind` in wrapsign.toml, or detected).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CertClass {
    /// Apple/iPhone Distribution, or any other code-signing certificate (which
    /// then fails the distribution check, saying what it is).
    Distribution,
    /// Apple Development / iPhone Developer.
    Development,
    /// Apple Push Notification service (apps, MDM, mail push).
    Apns,
    /// TLS server (MDM, gateway, mail).
    Ssl,
    /// SAML signing.
    Saml,
    /// Root or intermediate CA.
    Ca,
    /// A user's or device's PKI certificate (client authentication, S/MIME).
    PkiUser,
    Other,
}

impl CertClass {
    pub fn name(self) -> &'static str {
        match self {
            CertClass::Distribution => "distribution",
            CertClass::Development => "development",
            CertClass::Apns => "apns",
            CertClass::Ssl => "ssl",
            CertClass::Saml => "saml",
            CertClass::Ca => "ca",
            CertClass::PkiUser => "pki-user",
            CertClass::Other => "other",
        }
    }

    /// The classes that sign iOS apps, and so pair with profiles and apps.
    pub fn signs_ios_apps(self) -> bool {
        matches!(self, CertClass::Distribution | CertClass::Development)
    }
}

const EKU_ANY: &str = "2.5.29.37.0";
const EKU_SERVER: &str = "1.3.6.1.5.5.7.3.1";
const EKU_CLIENT: &str = "1.3.6.1.5.5.7.3.2";
const EKU_CODE_SIGNING: &str = "1.3.6.1.5.5.7.3.3";
const EKU_EMAIL: &str = "1.3.6.1.5.5.7.3.4";

/// What kind a certificate is when nobody said: Apple's markers first, then a
/// code-signing usage (an identity meant to sign apps), then CA, then the
/// extended key usages.
pub fn detect(c: &Cert) -> CertClass {
    let kind = CertKind::of(c);
    if kind.is_distribution() {
        return CertClass::Distribution;
    }
    if kind.is_development() {
        return CertClass::Development;
    }
    if apns::read(c).is_some() {
        return CertClass::Apns;
    }
    let has = |o: &str| c.eku.iter().any(|e| e == o);
    if has(EKU_CODE_SIGNING) && !acts_as_ca(c) {
        return CertClass::Distribution;
    }
    if acts_as_ca(c) {
        return CertClass::Ca;
    }
    if has(EKU_SERVER) {
        return CertClass::Ssl;
    }
    if has(EKU_CLIENT) || has(EKU_EMAIL) {
        return CertClass::PkiUser;
    }
    CertClass::Other
}

/// Whether a certificate can issue certificates, from its extensions alone
/// (being self-signed says nothing: `openssl req -x509` marks its server
/// certificates CA:TRUE). A keyUsage without keyCertSign cannot sign
/// certificates (RFC 5280 4.2.1.3); without a keyUsage, basicConstraints CA:TRUE
/// decides, unless a self-signed certificate's extended key usage names only
/// end-entity purposes (TLS server or client, e-mail).
pub fn acts_as_ca(c: &Cert) -> bool {
    const KEY_CERT_SIGN: u16 = 1 << 5;
    if !c.is_ca {
        return false;
    }
    match c.key_usage {
        Some(ku) => ku & KEY_CERT_SIGN != 0,
        None => {
            let leaf_only = !c.eku.is_empty()
                && c.eku
                    .iter()
                    .all(|e| [EKU_SERVER, EKU_CLIENT, EKU_EMAIL].contains(&e.as_str()));
            !(c.is_self_issued() && leaf_only)
        }
    }
}

/// The extended key usages the certificate checks compare against.
pub mod eku {
    pub const SERVER: &str = super::EKU_SERVER;
    pub const CLIENT: &str = super::EKU_CLIENT;
    pub const EMAIL: &str = super::EKU_EMAIL;
    pub const ANY: &str = super::EKU_ANY;
}

/// What a file is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Material {
    /// Certificates with or without their key: a PEM/DER bundle or a PKCS#12
    /// identity, of the detected class.
    Certificate(CertClass),
    /// A provisioning profile (or a file named like one, whose check says what is wrong).
    Profile,
    /// An iOS app: an IPA or an `.app` folder.
    App,
    Apk,
    /// An Android keystore; `None`: a format recognised but not read (BKS, UBER).
    Keystore(Option<StoreType>),
    /// A zip of device `.p12` files; `None`: no credentials file inside it or beside it.
    Devices {
        credentials: Option<Credentials>,
    },
    /// A container no password opens.
    Locked(Locked),
    /// A folder that is not an app: something to scan.
    Folder,
    /// Not something wrapsign checks.
    Other(Kind),
    /// The file could not be read at all (missing, a permission, a broken PKCS#12).
    Unreadable(String),
}

/// Where a device bundle's passwords are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// A text file inside the zip (an upload bundle: the zip holds more than `.p12` files).
    Inside,
    /// A text file beside the zip whose lines name its entries.
    Beside(PathBuf),
}

/// A container that no password opened: what it is and what was tried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Locked {
    /// "PKCS#12 file", "JKS keystore"...
    pub what: &'static str,
    /// Where the passwords tried came from; empty: none was given.
    pub tried: Vec<String>,
}

/// The answer of [`classify`]: what the file is, and the password that opened it.
#[derive(Clone, Debug)]
pub struct Classified {
    pub material: Material,
    pub unlock: Option<Unlock>,
}

impl Classified {
    fn is(material: Material) -> Classified {
        Classified {
            material,
            unlock: None,
        }
    }
}

/// The passwords to try on containers, in order.
#[derive(Clone, Debug, Default)]
pub struct Tries {
    /// For a PKCS#12 (`--cert-pass` first).
    pub pkcs12: Vec<Unlock>,
    /// For a JKS or JCEKS keystore (`--ks-pass` first).
    pub keystore: Vec<Unlock>,
}

impl Tries {
    /// Every password the run was given.
    pub fn of(p: &Passwords) -> Tries {
        Tries {
            pkcs12: p.pool(true),
            keystore: p.pool(false),
        }
    }

    /// Only this one (a wrapsign.toml entry's own password).
    pub fn only(u: Unlock) -> Tries {
        Tries {
            pkcs12: vec![u.clone()],
            keystore: vec![u],
        }
    }
}

/// How to look at a file, beyond its content.
#[derive(Clone, Copy, Debug, Default)]
pub struct Hint {
    /// `--ks-type`: read keystores, and every PKCS#12, as this type.
    pub ks_type: Option<StoreType>,
    /// Ask for a password on a terminal when none was given and the empty one
    /// fails (for files the user named; never during a folder scan).
    pub prompt: bool,
}

/// PKCS#12 and certificate files are small; bigger ones are not read whole.
const MAX_CERT_BYTES: u64 = 16 << 20;

/// Decides what `path` is, trying `tries` on a container.
pub fn classify(path: &Path, tries: &Tries, hint: Hint) -> Classified {
    let file = path.display().to_string();
    let kind = match sniff::sniff_path(path) {
        Ok(k) => k,
        Err(e) => return Classified::is(Material::Unreadable(format!("cannot read {file}: {e}"))),
    };
    let named = |ext: &[&str]| {
        path.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| ext.iter().any(|x| e.eq_ignore_ascii_case(x)))
    };
    match kind {
        Kind::Pkcs12 if hint.ks_type.is_some() => {
            keystore(path, &file, hint.ks_type, &tries.pkcs12, hint)
        }
        Kind::Pkcs12 => pkcs12_file(path, &file, &tries.pkcs12, hint),
        Kind::Jks | Kind::Jceks => keystore(path, &file, hint.ks_type, &tries.keystore, hint),
        Kind::Bks => Classified::is(Material::Keystore(None)),
        Kind::PemCertificate | Kind::DerCertificate => match read_small(path, &file) {
            Ok(data) => match crate::keys::certs_and_key(&data) {
                Ok(m) => Classified::is(Material::Certificate(detect(&m.certs[m.leaf]))),
                Err(e) => Classified::is(Material::Unreadable(format!("{file}: {e}"))),
            },
            Err(e) => Classified::is(Material::Unreadable(e)),
        },
        Kind::Cms => Classified::is(Material::Profile),
        Kind::Plist if named(&["mobileprovision", "provisionprofile"]) => {
            Classified::is(Material::Profile)
        }
        Kind::Ipa | Kind::AppDir => Classified::is(Material::App),
        Kind::Apk => Classified::is(Material::Apk),
        // A damaged archive is still what its name says: its check names the damage.
        Kind::Zip | Kind::Unknown if named(&["apk"]) => Classified::is(Material::Apk),
        Kind::Zip | Kind::Unknown if named(&["ipa"]) => Classified::is(Material::App),
        Kind::Zip => match sniff::device_bundle(path) {
            Some((_, others)) if !others.is_empty() => Classified::is(Material::Devices {
                credentials: Some(Credentials::Inside),
            }),
            Some((p12, _)) => Classified::is(Material::Devices {
                credentials: credentials_beside(path, &p12).map(Credentials::Beside),
            }),
            None => Classified::is(Material::Other(Kind::Zip)),
        },
        Kind::Dir => Classified::is(Material::Folder),
        other => Classified::is(Material::Other(other)),
    }
}

fn read_small(path: &Path, file: &str) -> Result<Vec<u8>, String> {
    let size = std::fs::metadata(path)
        .map_err(|e| format!("cannot read {file}: {e}"))?
        .len();
    if size > MAX_CERT_BYTES {
        return Err(format!(
            "{file} is {size} bytes, too large to be a certificate file"
        ));
    }
    std::fs::read(path).map_err(|e| format!("cannot read {file}: {e}"))
}

fn typed(file: &str) -> Option<Unlock> {
    match secret::resolve_or_prompt(None, file) {
        Ok(Some(s)) => Some(Unlock {
            secret: s,
            source: "the password typed".into(),
        }),
        _ => None,
    }
}

fn locked(what: &'static str, pool: &[Unlock]) -> Classified {
    Classified::is(Material::Locked(Locked {
        what,
        tried: pool.iter().map(|u| u.source.clone()).collect(),
    }))
}

enum Try {
    Opened(Classified),
    Wrong,
}

/// Tries the pool, or (none given) the empty password and then a prompt.
/// The empty password is no source worth naming: it opens as `unlock: None`.
fn try_passwords(
    pool: &[Unlock],
    file: &str,
    hint: Hint,
    mut attempt: impl FnMut(&str, Option<&Unlock>) -> Try,
) -> Option<Classified> {
    if pool.is_empty() {
        if let Try::Opened(c) = attempt("", None) {
            return Some(c);
        }
        let pw = hint.prompt.then(|| typed(file)).flatten()?;
        return match attempt(pw.secret.expose(), Some(&pw)) {
            Try::Opened(c) => Some(c),
            Try::Wrong => None,
        };
    }
    pool.iter()
        .find_map(|pw| match attempt(pw.secret.expose(), Some(pw)) {
            Try::Opened(c) => Some(c),
            Try::Wrong => None,
        })
}

fn pkcs12_file(path: &Path, file: &str, pool: &[Unlock], hint: Hint) -> Classified {
    let data = match read_small(path, file) {
        Ok(d) => d,
        Err(e) => return Classified::is(Material::Unreadable(e)),
    };
    let opened = try_passwords(pool, file, hint, |pw, unlock| {
        let archive = match pkcs12::open(&data, pw) {
            Ok(a) => a,
            Err(P12Error::WrongPassword) => return Try::Wrong,
            Err(e) => {
                return Try::Opened(Classified::is(Material::Unreadable(format!(
                    "cannot open {file}: {e}"
                ))))
            }
        };
        let certs: Vec<Cert> = archive
            .certs
            .iter()
            .filter_map(|b| Cert::from_der(b.cert.as_der()).ok())
            .collect();
        let material = match pkcs12::read_identity(&data, pw) {
            Ok(id) if pkcs12_is_keystore(&certs, archive.keys.len(), &id.cert) => {
                Material::Keystore(Some(StoreType::Pkcs12))
            }
            Ok(id) => Material::Certificate(detect(&id.cert)),
            // Keys without certificates, or several keys: the keystore check
            // says what it finds.
            Err(_) if certs.is_empty() || archive.keys.len() > 1 => {
                Material::Keystore(Some(StoreType::Pkcs12))
            }
            Err(e) => Material::Unreadable(format!("cannot open {file}: {e}")),
        };
        Try::Opened(Classified {
            material,
            unlock: unlock.cloned(),
        })
    });
    opened.unwrap_or_else(|| locked("PKCS#12 file", pool))
}

/// The PKCS#12 rule (see the module documentation).
fn pkcs12_is_keystore(certs: &[Cert], keys: usize, leaf: &Cert) -> bool {
    let apple = certs
        .iter()
        .any(|c| CertKind::of(c) != CertKind::Other || apns::read(c).is_some());
    if apple || leaf.eku.iter().any(|e| e == EKU_CODE_SIGNING) {
        return false;
    }
    keys > 1 || (leaf.is_self_issued() && !acts_as_ca(leaf) && leaf.eku.is_empty())
}

fn keystore(
    path: &Path,
    file: &str,
    forced: Option<StoreType>,
    pool: &[Unlock],
    hint: Hint,
) -> Classified {
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) => return Classified::is(Material::Unreadable(format!("cannot read {file}: {e}"))),
    };
    let store_type = match forced.map(Ok).unwrap_or_else(|| keystore::detect(&data)) {
        Ok(t) => t,
        Err(_) => return Classified::is(Material::Keystore(None)),
    };
    let what = match store_type {
        StoreType::Jks => "JKS keystore",
        StoreType::Jceks => "JCEKS keystore",
        StoreType::Pkcs12 => "PKCS#12 keystore",
    };
    let material = Material::Keystore(Some(store_type));
    // Without any password a JKS/JCEKS is still read (unverified), so the empty
    // password is only the last resort of a PKCS#12.
    if pool.is_empty() && store_type != StoreType::Pkcs12 {
        let unlock = hint
            .prompt
            .then(|| typed(&format!("keystore {file}")))
            .flatten();
        return Classified { material, unlock };
    }
    let opened = try_passwords(pool, file, hint, |pw, unlock| {
        match keystore::open(&data, store_type, Some(pw)) {
            Err(OpenError::WrongStorePassword { .. }) => Try::Wrong,
            // Opened, or damaged in a way the keystore check names.
            _ => Try::Opened(Classified {
                material: material.clone(),
                unlock: unlock.cloned(),
            }),
        }
    });
    opened.unwrap_or_else(|| locked(what, pool))
}

/// The finding for a container no password opens: `password-wrong`, the same
/// for every container type and route.
pub fn password_wrong(file: &str, l: &Locked) -> Finding {
    let why = match l.tried.as_slice() {
        [] => "no password given, and the empty one does not open it; pass --cert-pass or --ks-pass env:VAR, file:PATH or stdin (or password = \"env:VAR\" in its wrapsign.toml entry)".to_string(),
        [one] => format!("wrong password (from {one}), or the file was modified"),
        many => format!(
            "wrong password: none of the passwords given ({}) opens it, or the file was modified",
            many.join(", ")
        ),
    };
    Finding::new(
        Code::PasswordWrong,
        file,
        format!("cannot open {file} ({}): {why}", l.what),
    )
    .detail("password", "store")
}

/// What a file's name says it is, for files whose content is none of that:
/// a scan reports them (a `.mobileprovision` that is not one is a problem, a
/// README is not).
pub fn claimed(path: &Path) -> Option<&'static str> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "p12" | "pfx" => "a .p12 identity or keystore",
        "cer" | "crt" | "der" => "a certificate",
        "mobileprovision" | "provisionprofile" => "a provisioning profile",
        "jks" | "jceks" | "keystore" | "bks" | "uber" | "bcfks" => "a keystore",
        "ipa" | "apk" => "an app",
        _ => return None,
    })
}

/// The finding for a file that is not signing material.
pub fn not_material(path: &Path, kind: Kind) -> Finding {
    let file = path.display().to_string();
    if kind == Kind::Empty {
        let not = claimed(path)
            .map(|c| format!(", not {c}"))
            .unwrap_or_default();
        return Finding::unreadable(
            &file,
            format!("{file} is empty (0 bytes){not}: an empty file has nothing to check"),
        );
    }
    let what = match claimed(path) {
        Some(claim) => format!("{file} is named like {claim} but is a {}", kind.describe()),
        None => format!(
            "{file} is not something wrapsign checks ({})",
            kind.describe()
        ),
    };
    Finding::unreadable(
        &file,
        format!(
            "{what}; wrapsign checks certificates, .p12 identities, provisioning profiles, IPAs, .app bundles, Android keystores, APKs and device bundles"
        ),
    )
}

/// Credentials files are small text files; bigger ones are not looked at.
pub const MAX_CREDENTIALS_PROBE: u64 = 1 << 20;

/// The credentials file of a device bundle: a small text file in the same
/// folder whose first meaningful line is `NAME.p12=...` for one of its entries.
pub fn credentials_beside(zip: &Path, entries: &[String]) -> Option<PathBuf> {
    let names: Vec<String> = entries
        .iter()
        .map(|n| sniff::base_name(n).to_string())
        .collect();
    let dir = crate::atomic::parent_dir(zip);
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter(|e| {
            e.metadata()
                .is_ok_and(|m| m.is_file() && m.len() <= MAX_CREDENTIALS_PROBE)
        })
        .map(|e| e.path())
        .collect();
    files.sort();
    files.into_iter().find(|t| credentials_for(t, &names))
}

/// Whether a text file's first meaningful line is `NAME.p12=...` for one of `names`.
pub fn credentials_for(path: &Path, names: &[String]) -> bool {
    let Ok(data) = std::fs::read(path) else {
        return false;
    };
    let text = zeroize::Zeroizing::new(String::from_utf8_lossy(&data).into_owned());
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .and_then(|l| l.split_once('='))
        .is_some_and(|(n, _)| names.iter().any(|x| x == n.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::{PasswordSpec, PasswordSpecs, Secret};

    fn repo(p: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
    }

    fn tries(pw: &str) -> Tries {
        Tries::only(Unlock {
            secret: Secret::new(pw),
            source: "test".into(),
        })
    }

    fn what(p: &str, t: &Tries) -> Material {
        classify(&repo(p), t, Hint::default()).material
    }

    #[test]
    fn the_pkcs12_rule() {
        let ios = tries("wrapsign-test");
        // Apple markers: a certificate identity of its kind, whatever flag named it.
        assert_eq!(
            what("signing/ios/dist.p12", &ios),
            Material::Certificate(CertClass::Distribution)
        );
        assert_eq!(
            what("signing/ios/dev.p12", &ios),
            Material::Certificate(CertClass::Development)
        );
        assert_eq!(
            what("signing/ios/apns.p12", &ios),
            Material::Certificate(CertClass::Apns)
        );
        // Code signing without Apple's markers: still an identity that must be distribution.
        assert_eq!(
            what("signing/ios/plain-codesign.p12", &ios),
            Material::Certificate(CertClass::Distribution)
        );
        // keytool -genkeypair: self-issued, not a CA, no extended key usage.
        assert_eq!(
            what("signing/android/release.p12", &ios),
            Material::Keystore(Some(StoreType::Pkcs12))
        );
        // CA-issued TLS and client identities stay certificates.
        let pw = std::fs::read_to_string(repo("signing/inventory/p12.pass")).unwrap();
        let inv = tries(pw.trim());
        assert_eq!(
            what("signing/inventory/mdm.p12", &inv),
            Material::Certificate(CertClass::Ssl)
        );
        assert_eq!(
            what("signing/inventory/alice.p12", &inv),
            Material::Certificate(CertClass::PkiUser)
        );
    }

    #[test]
    fn no_password_that_opens_it_is_locked_and_says_what_was_tried() {
        let m = what("signing/ios/dist.p12", &tries("nope"));
        assert_eq!(
            m,
            Material::Locked(Locked {
                what: "PKCS#12 file",
                tried: vec!["test".into()]
            })
        );
        // None given: the empty password is tried, and nothing is named.
        let m = what("signing/ios/dist.p12", &Tries::default());
        assert!(matches!(m, Material::Locked(Locked { tried, .. }) if tried.is_empty()));
        // A JKS is read without a password (unverified), but not with a wrong one.
        let c = classify(
            &repo("signing/android/release.jks"),
            &Tries::default(),
            Hint::default(),
        );
        assert_eq!(c.material, Material::Keystore(Some(StoreType::Jks)));
        assert!(c.unlock.is_none());
        assert!(matches!(
            what("signing/android/release.jks", &tries("nope")),
            Material::Locked(Locked {
                what: "JKS keystore",
                ..
            })
        ));
        let f = password_wrong(
            "x.p12",
            &Locked {
                what: "PKCS#12 file",
                tried: vec!["--cert-pass env:A".into(), "--ks-pass env:B".into()],
            },
        );
        assert_eq!(f.code, Code::PasswordWrong);
        assert!(f.message.contains("--cert-pass env:A, --ks-pass env:B"));
    }

    #[test]
    fn every_password_given_is_tried_the_flag_made_for_it_first() {
        let specs = PasswordSpecs {
            cert: Some(PasswordSpec::Pass(Secret::new("Order-Cert-Pw"))),
            store: Some(PasswordSpec::Pass(Secret::new("Order-Store-Pw"))),
            key: None,
        };
        let t = Tries::of(&specs.read());
        let order = |v: &[Unlock]| {
            v.iter()
                .map(|u| u.secret.expose().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(order(&t.pkcs12), ["Order-Cert-Pw", "Order-Store-Pw"]);
        assert_eq!(order(&t.keystore), ["Order-Store-Pw", "Order-Cert-Pw"]);
        // The store flag's password opens a .p12 identity.
        let pw = std::fs::read_to_string(repo("signing/ios/p12.pass")).unwrap();
        let specs = PasswordSpecs {
            store: Some(PasswordSpec::Pass(Secret::new(pw.trim()))),
            ..PasswordSpecs::default()
        };
        let c = classify(
            &repo("signing/ios/dist.p12"),
            &Tries::of(&specs.read()),
            Hint::default(),
        );
        assert_eq!(c.material, Material::Certificate(CertClass::Distribution));
        assert!(c.unlock.unwrap().source.starts_with("--ks-pass"));
    }

    #[test]
    fn names_only_help_damaged_files() {
        assert_eq!(
            what("profiles/expired.mobileprovision", &Tries::default()),
            Material::Profile
        );
        assert_eq!(
            what("samples/WrapDemo.ipa", &Tries::default()),
            Material::App
        );
        assert!(matches!(
            what("signing/README.md", &Tries::default()),
            Material::Other(_)
        ));
        assert_eq!(claimed(Path::new("a.JKS")), Some("a keystore"));
        assert_eq!(claimed(Path::new("README.md")), None);
    }
}
