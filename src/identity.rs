//! One signing identity (a private key, its certificate and the chain shipped
//! with it) for both signers, from any form the material takes:
//!
//! - a `.p12/.pfx` (`--cert FILE --cert-pass SPEC`),
//! - a PEM/DER certificate and its key (`--cert FILE --key FILE`, or one PEM
//!   holding both),
//! - a keystore alias (`--keystore FILE --alias A --ks-pass --key-pass`; JKS,
//!   JCEKS or PKCS#12).
//!
//! The gate's checks follow the material, never the signer, and are the ones
//! `verify` runs on it: an Apple certificate (recognised by Apple's marker
//! extensions, the rule `verify` uses to tell a `.p12` identity from a
//! keystore) gets the iOS identity checks; any other certificate gets the
//! Android keystore checks (for a keystore or a `.p12`, the very checks of
//! `verify --keystore` on that alias; for a bare key and certificate, the same
//! entry checks without the container). Finding names are those checks' own.
//!
//! Passwords are resolved once, kept as [`Secret`]s and never shown: an
//! [`Origin`] names files and the alias only.

use std::fmt;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::android::keystore::{self, EntryKind, Keystore, StoreType};
use crate::android::policy;
use crate::certfile;
use crate::diag::{Code, Finding, Item, ItemKind, Report, Severity};
use crate::ios::certificate::{self as apple, CertKind};
use crate::keys::PrivateKey;
use crate::secret::{self, PasswordSpec, Secret};
use crate::x509::Cert;

/// Key files and keystores are small; anything bigger is not one.
const MAX_KEY_FILE: u64 = 16 << 20;

/// Where the signing identity comes from: what the command line fills.
#[derive(Clone, Debug)]
pub enum Source {
    /// `--cert FILE [--cert-pass SPEC] [--key FILE]`: a `.p12/.pfx` (recognised by
    /// content), or PEM/DER certificates whose key is in `key` or in the same PEM.
    Cert {
        path: PathBuf,
        pass: Option<PasswordSpec>,
        key: Option<PathBuf>,
    },
    /// `--keystore FILE [--alias A] [--ks-pass SPEC] [--key-pass SPEC] [--ks-type T]`.
    /// Without an alias, the keystore's only private key.
    Keystore {
        path: PathBuf,
        ks_type: Option<StoreType>,
        store_pass: Option<PasswordSpec>,
        /// Defaults to the store password, as keytool does.
        key_pass: Option<PasswordSpec>,
        alias: Option<String>,
    },
}

/// Which platform's rules apply to an identity, decided by its certificates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// An Apple code-signing or push certificate: the iOS identity checks.
    Apple,
    /// Any other certificate: the Android keystore checks.
    Android,
}

impl Family {
    /// The one rule: Apple if any certificate of the identity (leaf or chain)
    /// carries one of Apple's certificate-kind markers, Android otherwise.
    pub fn of<'a>(certs: impl IntoIterator<Item = &'a Cert>) -> Family {
        if certs
            .into_iter()
            .any(|c| CertKind::of(c) != CertKind::Other)
        {
            Family::Apple
        } else {
            Family::Android
        }
    }
}

/// The kind of file the identity was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Container {
    /// A `.p12/.pfx` given with `--cert`.
    Pkcs12,
    /// PEM or DER certificates (with the key inside or in `--key`).
    Certificate,
    /// A keystore given with `--keystore`.
    Keystore(StoreType),
}

/// Where an identity came from, for messages. Never holds a password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The file findings name: the `.p12`, the certificate or the keystore.
    pub file: String,
    /// `--key`, when the key came from its own file.
    pub key_file: Option<PathBuf>,
    /// The keystore alias, or a `.p12`'s friendly name.
    pub alias: Option<String>,
    pub container: Container,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.container, &self.alias, &self.key_file) {
            (Container::Keystore(t), Some(a), _) => {
                write!(f, "alias \"{a}\" of {} ({})", self.file, t.name())
            }
            (_, _, Some(k)) => write!(f, "{} with the key {}", self.file, k.display()),
            _ => f.write_str(&self.file),
        }
    }
}

impl Origin {
    /// The default base name of JAR signature files, as apksigner picks it:
    /// the alias, else the key file's name up to its first dot.
    pub fn signer_name(&self) -> String {
        if let Some(a) = &self.alias {
            return a.clone();
        }
        let from = self
            .key_file
            .as_deref()
            .unwrap_or_else(|| Path::new(&self.file));
        from.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .and_then(|n| n.split('.').next().map(str::to_string))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "CERT".into())
    }
}

/// The contexts the checks of each family need (the same as `verify`'s).
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub ios: &'a crate::ios::Ctx,
    pub android: &'a policy::Ctx,
}

/// Which of `verify`'s checks this material gets.
enum Rule {
    /// `verify --cert`: the iOS identity checks.
    Apple { from_p12: bool },
    /// `verify --keystore KS --alias A`: the keystore checks of that alias.
    Keystore {
        ks: Keystore,
        store_pass: Secret,
        key_pass: Option<Secret>,
        store_source: Option<String>,
        key_source: Option<String>,
    },
    /// A key and certificate outside any container: the keystore entry checks.
    Entry,
}

/// Signing material as loaded, before the gate: the key may be missing or not
/// match (the checks say so).
pub struct Loaded {
    pub origin: Origin,
    pub family: Family,
    /// The certificate of the key (the leaf).
    pub cert: Cert,
    /// The other certificates shipped with it, as stored.
    pub chain: Vec<Cert>,
    /// The leaf and its chain as stored (DER), for signatures that embed them.
    pub chain_der: Vec<Vec<u8>>,
    pub key: Option<PrivateKey>,
    /// A key was found but it is not the leaf's.
    pub orphan_key: bool,
    rule: Rule,
}

// Key material and passwords stay out of debug output.
impl fmt::Debug for Loaded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loaded")
            .field("origin", &self.origin)
            .field("family", &self.family)
            .field("cert", &self.cert.subject)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// An identity that passed the gate: the key is present and is the leaf's.
#[derive(Debug)]
pub struct Identity {
    pub origin: Origin,
    pub family: Family,
    pub cert: Cert,
    pub chain: Vec<Cert>,
    pub chain_der: Vec<Vec<u8>>,
    pub key: PrivateKey,
}

impl Identity {
    /// The Apple team id (the certificate's subject OU).
    pub fn team(&self) -> Option<&str> {
        apple::team_id(&self.cert)
    }
}

fn read_small(path: &Path) -> Result<Zeroizing<Vec<u8>>, String> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    if meta.len() > MAX_KEY_FILE {
        return Err(format!(
            "{shown} is {} bytes, too large to be a key",
            meta.len()
        ));
    }
    std::fs::read(path)
        .map(Zeroizing::new)
        .map_err(|e| format!("cannot read {shown}: {e}"))
}

/// Loads the identity `src` names. Problems (unreadable file, wrong password,
/// no such alias) become findings in `report`, and `None` is returned. The
/// material's checks are [`Loaded::check`]'s.
pub fn load(src: &Source, ctx: &Ctx, report: &mut Report) -> Option<Loaded> {
    match src {
        Source::Cert { path, pass, key } => load_cert(path, pass.as_ref(), key.as_deref(), report),
        Source::Keystore {
            path,
            ks_type,
            store_pass,
            key_pass,
            alias,
        } => load_keystore(
            path,
            *ks_type,
            store_pass.as_ref(),
            key_pass.as_ref(),
            alias.as_deref(),
            ctx.android,
            report,
        ),
    }
}

fn load_cert(
    path: &Path,
    pass: Option<&PasswordSpec>,
    key_path: Option<&Path>,
    report: &mut Report,
) -> Option<Loaded> {
    let file = path.display().to_string();
    if let Ok(m) = std::fs::metadata(path) {
        if m.len() > MAX_KEY_FILE {
            report.push(Finding::unreadable(
                &file,
                format!("{file} is {} bytes, too large to be an identity", m.len()),
            ));
            return None;
        }
    }
    let (f, password) = match certfile::load_cert_file(path, pass, key_path) {
        Ok(x) => x,
        Err(finding) => {
            report.push(finding);
            return None;
        }
    };
    let from_p12 = f.from_p12;
    let mut certs = f.certs;
    let cert = certs.remove(f.leaf);
    let chain = certs;
    let family = Family::of(std::iter::once(&cert).chain(&chain));
    let mut chain_der = vec![cert.der.clone()];
    chain_der.extend(chain.iter().map(|c| c.der.clone()));
    let mut loaded = Loaded {
        origin: Origin {
            file: file.clone(),
            key_file: key_path.map(Path::to_path_buf),
            alias: None,
            container: if from_p12 {
                Container::Pkcs12
            } else {
                Container::Certificate
            },
        },
        family,
        cert,
        chain,
        chain_der,
        key: f.key,
        orphan_key: f.orphan_key,
        rule: Rule::Entry,
    };
    loaded.rule = match (family, from_p12, password, key_path) {
        (Family::Apple, _, _, _) => Rule::Apple { from_p12 },
        // A .p12 without an Apple certificate is an Android keystore: read it as
        // one, so it gets the checks (and alias) `--keystore` gives it.
        (Family::Android, true, Some(pw), None) => match as_keystore(path, &pw, &loaded.cert) {
            Some((ks, alias, chain_der)) => {
                loaded.origin.alias = Some(alias);
                loaded.chain_der = chain_der;
                Rule::Keystore {
                    ks,
                    store_pass: pw,
                    key_pass: None,
                    store_source: pass.map(|s| s.to_string()),
                    key_source: None,
                }
            }
            None => Rule::Entry,
        },
        _ => Rule::Entry,
    };
    Some(loaded)
}

/// A `.p12` opened as a keystore: the store, the alias of `leaf`'s key entry,
/// and that entry's chain as stored.
fn as_keystore(path: &Path, pw: &Secret, leaf: &Cert) -> Option<(Keystore, String, Vec<Vec<u8>>)> {
    let data = read_small(path).ok()?;
    let ks = keystore::open(&data, StoreType::Pkcs12, Some(pw.expose())).ok()?;
    let (alias, chain) = ks.entries.iter().find_map(|e| match &e.kind {
        EntryKind::PrivateKey { chain, .. } if chain.first() == Some(&leaf.der) => {
            Some((e.alias.clone(), chain.clone()))
        }
        _ => None,
    })?;
    Some((ks, alias, chain))
}

/// Loads a key from a keystore alias (the only key when no alias is given).
fn load_keystore(
    path: &Path,
    ks_type: Option<StoreType>,
    store_spec: Option<&PasswordSpec>,
    key_spec: Option<&PasswordSpec>,
    alias: Option<&str>,
    ctx: &policy::Ctx,
    report: &mut Report,
) -> Option<Loaded> {
    let file = path.display().to_string();
    let data = match read_small(path) {
        Ok(d) => d,
        Err(e) => {
            report.push(Finding::unreadable(&file, e));
            return None;
        }
    };
    let store_pass = match secret::resolve_or_prompt(store_spec, &format!("keystore {file}")) {
        Ok(Some(p)) => p,
        Ok(None) => {
            report.push(
                Finding::new(
                    Code::KeystorePasswordWrong,
                    &file,
                    format!("signing with {file} needs its password; pass --ks-pass env:VAR, file:PATH or stdin"),
                )
                .detail("password", "store"),
            );
            return None;
        }
        Err(e) => {
            report.push(Finding::unreadable(&file, format!("--ks-pass: {e}")));
            return None;
        }
    };
    let key_pass: Option<Secret> = match key_spec.map(PasswordSpec::resolve) {
        None => None,
        Some(Ok(p)) => Some(p),
        Some(Err(e)) => {
            report.push(Finding::unreadable(&file, format!("--key-pass: {e}")));
            return None;
        }
    };
    let store_source = store_spec.map(|s| s.to_string());
    let key_source = key_spec.map(|s| s.to_string());
    let opened = ks_type
        .map(Ok)
        .unwrap_or_else(|| keystore::detect(&data))
        .and_then(|t| keystore::open(&data, t, Some(store_pass.expose())));
    let ks = match opened {
        Ok(ks) => ks,
        Err(_) => {
            // The keystore checks say precisely what is wrong (password, format).
            let open = policy::Open {
                ks_type,
                store_pass: Some(&store_pass),
                store_source: store_source.as_deref(),
                key_pass: key_pass.as_ref(),
                key_source: key_source.as_deref(),
                aliases: &[],
            };
            let before = report.findings.len();
            policy::check_bytes(&file, &data, &open, ctx, report);
            let said = report.findings[before..]
                .iter()
                .any(|f| f.severity == Severity::Error);
            if !said {
                report.push(Finding::unreadable(
                    &file,
                    format!("cannot open the keystore {file}"),
                ));
            }
            return None;
        }
    };
    let keys: Vec<&str> = ks
        .entries
        .iter()
        .filter(|e| matches!(e.kind, EntryKind::PrivateKey { .. }))
        .map(|e| e.alias.as_str())
        .collect();
    let chosen = match alias {
        Some(a) => a.to_string(),
        None if keys.len() == 1 => keys[0].to_string(),
        None => {
            report.push(
                Finding::new(
                    Code::KeystoreAliasMissing,
                    &file,
                    if keys.is_empty() {
                        format!("{file} holds no private key to sign with")
                    } else {
                        format!(
                            "{file} holds several keys ({}); say which one signs with --alias",
                            keys.join(", ")
                        )
                    },
                )
                .detail("aliases", keys.clone()),
            );
            return None;
        }
    };
    let lower = chosen.to_lowercase();
    let entry = ks.entries.iter().find(|e| {
        e.alias.to_lowercase() == lower && matches!(e.kind, EntryKind::PrivateKey { .. })
    });
    let Some(entry) = entry else {
        let all: Vec<&str> = ks.entries.iter().map(|e| e.alias.as_str()).collect();
        let f = if ks.entries.iter().any(|e| e.alias.to_lowercase() == lower) {
            Finding::new(
                Code::KeystoreAliasMissing,
                &file,
                format!("\"{chosen}\" in {file} is not a private key; pass the alias of a key entry ({})", keys.join(", ")),
            )
        } else {
            Finding::new(
                Code::KeystoreAliasMissing,
                &file,
                format!(
                    "{file} has no alias \"{chosen}\" (it has: {}); pass one of those to --alias",
                    if all.is_empty() {
                        "no entries".to_string()
                    } else {
                        all.join(", ")
                    }
                ),
            )
            .detail("aliases", all.clone())
        };
        report.push(f.subject(chosen.as_str()));
        return None;
    };
    let EntryKind::PrivateKey { key, chain } = &entry.kind else {
        return None;
    };
    let parsed: Result<Vec<Cert>, String> = chain.iter().map(|d| Cert::from_der(d)).collect();
    let mut certs = match parsed {
        Ok(c) if !c.is_empty() => c,
        Ok(_) => {
            report.push(
                Finding::unreadable(
                    &file,
                    format!(
                        "{file}: private key entry \"{}\" has no certificate",
                        entry.alias
                    ),
                )
                .subject(entry.alias.as_str()),
            );
            return None;
        }
        Err(e) => {
            report.push(
                Finding::unreadable(
                    &file,
                    format!("{file}: certificate of \"{}\": {e}", entry.alias),
                )
                .subject(entry.alias.as_str()),
            );
            return None;
        }
    };
    let cert = certs.remove(0);
    let family = Family::of(std::iter::once(&cert).chain(&certs));
    let pw = key_pass.as_ref().unwrap_or(&store_pass);
    // A wrong key password or an unreadable key: the checks below name it.
    let recovered = key
        .recover(pw.expose())
        .map_err(|e| e.to_string())
        .and_then(|der| PrivateKey::from_pkcs8_der(&der));
    let store_type = ks.store_type;
    let alias = entry.alias.clone();
    let chain_der = chain.clone();
    let (key, rule) = match family {
        // keystore checks (Play's date, the debug key) are about Android keys.
        Family::Apple => {
            let key = match recovered {
                Ok(k) => Some(k),
                Err(e) => {
                    report.push(
                        Finding::new(
                            Code::KeystorePasswordWrong,
                            &file,
                            format!(
                                "cannot unlock the private key of \"{alias}\"{}: {e}; check --key-pass",
                                key_source.as_deref().map(|s| format!(" (password from {s})")).unwrap_or_default()
                            ),
                        )
                        .subject(alias.as_str())
                        .detail("password", "key"),
                    );
                    None
                }
            };
            (
                key,
                Rule::Apple {
                    from_p12: store_type == StoreType::Pkcs12,
                },
            )
        }
        Family::Android => (
            recovered.ok(),
            Rule::Keystore {
                ks,
                store_pass,
                key_pass,
                store_source,
                key_source,
            },
        ),
    };
    Some(Loaded {
        origin: Origin {
            file,
            key_file: None,
            alias: Some(alias),
            container: Container::Keystore(store_type),
        },
        family,
        orphan_key: key.as_ref().is_some_and(|k| !k.matches(&cert)),
        cert,
        chain: certs,
        chain_der,
        key,
        rule,
    })
}

impl Loaded {
    /// The checks `verify` runs on this material (see the module comment).
    pub fn check(&self, ctx: &Ctx, report: &mut Report) {
        let file = &self.origin.file;
        match &self.rule {
            Rule::Apple { from_p12 } => {
                let id = apple::Identity {
                    file: file.clone(),
                    cert: self.cert.clone(),
                    key: self.key.clone(),
                    from_p12: *from_p12,
                    orphan_key: self.orphan_key,
                    chain: self.chain.clone(),
                };
                apple::check(&id, ctx.ios, report);
                if self.key.is_none() && !from_p12 {
                    report.push(self.key_missing());
                }
            }
            Rule::Keystore {
                ks,
                store_pass,
                key_pass,
                store_source,
                key_source,
            } => {
                let aliases: Vec<String> = self.origin.alias.iter().cloned().collect();
                let open = policy::Open {
                    ks_type: Some(ks.store_type),
                    store_pass: Some(store_pass),
                    store_source: store_source.as_deref(),
                    key_pass: key_pass.as_ref(),
                    key_source: key_source.as_deref(),
                    aliases: &aliases,
                };
                policy::check_keystore(file, ks, &open, ctx.android, report);
            }
            Rule::Entry => {
                let subject = self.cert.name().to_string();
                match &self.key {
                    Some(key) => policy::check_signing_identity(
                        file,
                        &subject,
                        &self.cert,
                        key,
                        ctx.android,
                        report,
                    ),
                    None => report.push(self.key_missing()),
                }
                let mut item = Item::new(ItemKind::SigningKey, file)
                    .subject(subject)
                    .not_after(self.cert.not_after)
                    .fact("sha256", self.cert.sha256.as_str())
                    .fact("not_after", crate::at::rfc3339(self.cert.not_after));
                if let Some(k) = &self.key {
                    item = item.fact("key", k.kind().to_string());
                }
                report.item(item);
            }
        }
    }

    fn key_missing(&self) -> Finding {
        let file = &self.origin.file;
        Finding::new(
            Code::CertKeyMissing,
            file,
            format!("{file} holds no private key; pass the identity as .p12 or add --key"),
        )
        .subject(self.cert.name().to_string())
    }

    /// The identity to sign with, when there is a key and it is the leaf's.
    /// A missing or foreign key never signs, whatever the policy says about
    /// its finding: the signature would not verify.
    pub fn into_identity(self) -> Option<Identity> {
        let key = self
            .key
            .filter(|k| !self.orphan_key && k.matches(&self.cert))?;
        Some(Identity {
            origin: self.origin,
            family: self.family,
            cert: self.cert,
            chain: self.chain,
            chain_der: self.chain_der,
            key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(p: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(p)
    }

    fn pass(s: &str) -> Option<PasswordSpec> {
        Some(format!("pass:{s}").parse().unwrap())
    }

    /// Loads `src` with the contexts of 2026-06-01.
    fn load(src: &Source, report: &mut Report) -> Option<Loaded> {
        let at = time::macros::datetime!(2026-06-01 0:00 UTC);
        let ios = crate::ios::Ctx::new(at, crate::ios::Trust::default());
        let android = policy::Ctx::new(at, crate::ios::Trust::default());
        super::load(
            src,
            &Ctx {
                ios: &ios,
                android: &android,
            },
            report,
        )
    }

    #[test]
    fn the_family_follows_the_certificate_not_the_container() {
        let mut r = Report::default();
        let ios = load(
            &Source::Cert {
                path: repo("signing/ios/dist.p12"),
                pass: Some(
                    format!("file:{}", repo("signing/ios/p12.pass").display())
                        .parse()
                        .unwrap(),
                ),
                key: None,
            },
            &mut r,
        )
        .unwrap();
        assert_eq!(ios.family, Family::Apple);
        assert_eq!(ios.origin.container, Container::Pkcs12);
        let pem = load(
            &Source::Cert {
                path: repo("signing/ios/dist.pem"),
                pass: None,
                key: Some(repo("signing/ios/dist.key")),
            },
            &mut r,
        )
        .unwrap();
        assert_eq!(pem.family, Family::Apple);
        assert_eq!(pem.cert.der, ios.cert.der);
        let android = load(
            &Source::Cert {
                path: repo("signing/android/release.p12"),
                pass: pass("wrapsign-test"),
                key: None,
            },
            &mut r,
        )
        .unwrap();
        assert_eq!(android.family, Family::Android);
        // Read as the keystore it is: the alias `--keystore` would name.
        assert_eq!(android.origin.alias.as_deref(), Some("release"));
        let ks = load(
            &Source::Keystore {
                path: repo("signing/android/release.p12"),
                ks_type: None,
                store_pass: pass("wrapsign-test"),
                key_pass: None,
                alias: None,
            },
            &mut r,
        )
        .unwrap();
        assert_eq!(ks.chain_der, android.chain_der);
        assert_eq!(ks.origin.signer_name(), android.origin.signer_name());
        assert!(r.findings.is_empty(), "{:?}", r.findings);
        let id = android.into_identity().unwrap();
        assert!(id.key.matches(&id.cert));
    }

    #[test]
    fn origins_name_files_and_aliases_never_passwords() {
        let o = Origin {
            file: "release.jks".into(),
            key_file: None,
            alias: Some("upload".into()),
            container: Container::Keystore(StoreType::Jks),
        };
        assert_eq!(o.to_string(), "alias \"upload\" of release.jks (JKS)");
        assert_eq!(o.signer_name(), "upload");
        let o = Origin {
            file: "keys/rsa-2048.x509.pem".into(),
            key_file: Some("keys/rsa-2048.pk8".into()),
            alias: None,
            container: Container::Certificate,
        };
        assert_eq!(o.signer_name(), "rsa-2048");
        assert_eq!(
            o.to_string(),
            "keys/rsa-2048.x509.pem with the key keys/rsa-2048.pk8"
        );
    }

    #[test]
    fn a_wrong_password_is_a_finding_that_names_no_secret() {
        let mut r = Report::default();
        let got = load(
            &Source::Keystore {
                path: repo("signing/android/release.jks"),
                ks_type: None,
                store_pass: pass("S3cret-wr0ng"),
                key_pass: None,
                alias: None,
            },
            &mut r,
        );
        assert!(got.is_none());
        assert!(r.has(Code::KeystorePasswordWrong));
        assert!(!format!("{:?}", r.findings).contains("S3cret-wr0ng"));
    }
}
