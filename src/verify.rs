//! `wrapsign verify`: sorts the inputs by what they are, runs each domain's
//! checks, and relates them (identity x profile, profile x app bundle).

use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use crate::android::keystore::StoreType;
use crate::android::policy::{self as keystore_policy, Signer};
use crate::at::Horizon;
use crate::diag::{Finding, Report};
use crate::ios::certificate::CertKind;
use crate::ios::{self, profile::Profile, Ctx, Trust};
use crate::secret::{self, PasswordSpec, Secret};
use crate::sniff::{self, Kind};
use crate::x509::{certs_from_pem_or_der, Cert};

/// Everything a verify run needs, independent of the command line.
#[derive(Clone, Debug)]
pub struct Request {
    pub paths: Vec<PathBuf>,
    pub cert: Option<PathBuf>,
    pub cert_pass: Option<PasswordSpec>,
    pub key: Option<PathBuf>,
    pub profiles: Vec<PathBuf>,
    /// A folder of candidate profiles; every target of each app gets the best one.
    pub profiles_dir: Option<PathBuf>,
    pub apps: Vec<PathBuf>,
    pub trust_roots: Vec<PathBuf>,
    /// APKs: the SDK range to verify for (default: the manifest's minSdk, every level up).
    pub min_sdk: Option<i32>,
    pub max_sdk: Option<i32>,
    /// APKs: certificates (PEM/DER files) each APK must be signed with.
    pub signer_certs: Vec<PathBuf>,
    pub at: OffsetDateTime,
    pub warn_days: i64,
    pub fail_days: i64,
    /// `--online`: OCSP with this timeout; `None` keeps wrapsign offline.
    pub online: Option<std::time::Duration>,
    /// Android keystores (`--keystore`); positional JKS/JCEKS/BKS files and
    /// non-Apple PKCS#12 files are added to these.
    pub keystores: Vec<PathBuf>,
    pub ks_pass: Option<PasswordSpec>,
    /// Defaults to the store password, as keytool does.
    pub key_pass: Option<PasswordSpec>,
    /// Aliases to check; empty: every alias.
    pub aliases: Vec<String>,
    pub ks_type: Option<StoreType>,
    /// Google Play's minimum end of validity for app signing certificates.
    pub play_min_validity: OffsetDateTime,
    /// Certificates an APK must be signed with (`--signer-cert`); the checked
    /// keystore aliases' certificates are added to them.
    pub expected_signers: Vec<Cert>,
    /// How far an archive (IPA, APK, device zip) may expand.
    pub archive: crate::archive::Limits,
    /// Device bundles: the credentials entry inside the zip (`--credentials-name`)
    /// and the declared identity type (`--identity-type`).
    pub devices: DeviceOptions,
}

/// How device bundles named on the command line are read.
#[derive(Clone, Debug, Default)]
pub struct DeviceOptions {
    pub credentials_name: Option<String>,
    pub id_type: Option<crate::inventory::bulk::IdType>,
}

impl Request {
    pub fn new(at: OffsetDateTime) -> Request {
        Request {
            paths: Vec::new(),
            cert: None,
            cert_pass: None,
            key: None,
            profiles: Vec::new(),
            profiles_dir: None,
            apps: Vec::new(),
            trust_roots: Vec::new(),
            min_sdk: None,
            max_sdk: None,
            signer_certs: Vec::new(),
            at,
            warn_days: 30,
            fail_days: 0,
            online: None,
            keystores: Vec::new(),
            ks_pass: None,
            key_pass: None,
            aliases: Vec::new(),
            ks_type: None,
            play_min_validity: keystore_policy::PLAY_MIN_VALIDITY,
            expected_signers: Vec::new(),
            archive: crate::archive::Limits::default(),
            devices: DeviceOptions::default(),
        }
    }
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

/// Runs every check the request implies. Never panics on bad input: unreadable
/// inputs become `input-unreadable` findings.
pub fn run(req: &Request) -> Report {
    let mut report = Report::default();
    let trust = Trust::with_roots(&req.trust_roots, &mut report);
    let horizon = Horizon {
        warn_days: req.warn_days,
        fail_days: req.fail_days,
        ..Horizon::default()
    };
    let ctx = Ctx {
        horizon,
        online: req.online,
        archive: req.archive,
        ..Ctx::new(req.at, trust)
    };

    // Keystore passwords are read once (stdin can only be read once).
    let ks_pass = resolve_once(req.ks_pass.as_ref(), "ks-pass", &mut report);
    let key_pass = resolve_once(req.key_pass.as_ref(), "key-pass", &mut report);

    // Sort inputs by content.
    let mut identity_paths: Vec<PathBuf> = req.cert.iter().cloned().collect();
    let mut profile_paths = req.profiles.clone();
    let mut app_paths = req.apps.clone();
    // Folders are scanned for everything they hold (the inventory's directory scan).
    let mut dir_paths: Vec<PathBuf> = Vec::new();
    // A keystore and, when its password was found while sorting, that password.
    let mut keystore_paths: Vec<(PathBuf, Option<Secret>)> =
        req.keystores.iter().map(|p| (p.clone(), None)).collect();
    let mut apk_paths: Vec<PathBuf> = Vec::new();
    let mut device_paths: Vec<PathBuf> = Vec::new();
    for p in &req.paths {
        let file = display(p);
        match sniff::sniff_path(p) {
            Ok(Kind::Jks | Kind::Jceks | Kind::Bks) => keystore_paths.push((p.clone(), None)),
            Ok(Kind::Pkcs12) => match route_pkcs12(p, ks_pass.as_ref(), req) {
                P12Route::Keystore(pw) => keystore_paths.push((p.clone(), pw)),
                P12Route::Identity => identity_paths.push(p.clone()),
            },
            Ok(Kind::Apk) => apk_paths.push(p.clone()),
            // A damaged APK is still an APK: let its check say what is wrong.
            Ok(Kind::Zip | Kind::Unknown)
                if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("apk")) =>
            {
                apk_paths.push(p.clone())
            }
            // The same for an IPA: a cut or hostile one gets its archive finding.
            Ok(Kind::Zip | Kind::Unknown)
                if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("ipa")) =>
            {
                app_paths.push(p.clone())
            }
            // A zip of DEVICE_ID.p12 files: a device bundle (bulk upload).
            Ok(Kind::Zip) if crate::inventory::bulk::sniff(p).is_some() => {
                device_paths.push(p.clone())
            }
            // Any other zip: say what is wrong with it if something is.
            Ok(Kind::Zip) => report.push(
                crate::archive::audit_path(p, &req.archive)
                    .err()
                    .unwrap_or_else(|| not_checked(&file, Kind::Zip)),
            ),
            Ok(Kind::PemCertificate | Kind::DerCertificate) => identity_paths.push(p.clone()),
            Ok(Kind::Cms) => profile_paths.push(p.clone()),
            Ok(Kind::Ipa | Kind::AppDir) => app_paths.push(p.clone()),
            Ok(Kind::Dir) => dir_paths.push(p.clone()),
            // An unsigned plist named as a profile: let the profile reader say so.
            Ok(Kind::Plist)
                if p.extension().is_some_and(|e| {
                    e.eq_ignore_ascii_case("mobileprovision")
                        || e.eq_ignore_ascii_case("provisionprofile")
                }) =>
            {
                profile_paths.push(p.clone())
            }
            Ok(Kind::Empty) => report.push(Finding::unreadable(
                &file,
                format!("{file} is empty (0 bytes): nothing in it to check"),
            )),
            Ok(other) => report.push(not_checked(&file, other)),
            Err(e) => report.push(Finding::unreadable(
                &file,
                format!("cannot read {file}: {e}"),
            )),
        }
    }

    // Identities: the key file applies to the --cert identity (or the only one).
    let mut identities = Vec::new();
    let single = identity_paths.len() == 1;
    for (i, p) in identity_paths.iter().enumerate() {
        let key = if i == 0 && (req.cert.is_some() || single) {
            req.key.as_deref()
        } else {
            None
        };
        match ios::certificate::load(p, req.cert_pass.as_ref(), key) {
            Ok(id) => {
                ios::certificate::check(&id, &ctx, &mut report);
                identities.push(id);
            }
            Err(f) => report.push(f),
        }
    }

    let mut profiles: Vec<Profile> = Vec::new();
    for p in &profile_paths {
        let file = display(p);
        let parsed = std::fs::read(p)
            .map_err(|e| format!("cannot read {file}: {e}"))
            .and_then(|d| Profile::parse(&file, &d, &ctx.trust));
        match parsed {
            Ok(pr) => {
                ios::profile::check(&pr, &ctx, &mut report);
                for id in &identities {
                    ios::certificate::check_against_profile(id, &pr, &mut report);
                }
                profiles.push(pr);
            }
            Err(e) => report.push(Finding::unreadable(&file, format!("{file}: {e}"))),
        }
    }

    // Candidates from a profiles folder are checked only as far as they are chosen.
    let mut candidates: Vec<Profile> = profiles.clone();
    if let Some(dir) = &req.profiles_dir {
        candidates.extend(
            ios::profile::load_dir(dir, &ctx.trust, &mut report)
                .into_iter()
                .map(|(p, _)| p),
        );
    }
    let signer = identities.first().map(|i| &i.cert);
    for p in &app_paths {
        match ios::app::open(p, &ctx) {
            Ok(app) => {
                let sources = ios::app::Profiles {
                    candidates: &candidates,
                    identity: signer,
                    fallback_embedded: req.profiles_dir.is_none(),
                };
                let used = ios::app::check(&app, sources, &ctx, &mut report);
                // Explicitly given profiles were paired with the identities above;
                // chosen candidates from a folder and embedded ones are paired now.
                let embedded: Vec<&Profile> = used
                    .into_iter()
                    .filter(|u| !profiles.iter().any(|g| g.file == u.file))
                    .collect();
                for u in &embedded {
                    if candidates.iter().any(|c| std::ptr::eq(c, *u)) {
                        ios::profile::check(u, &ctx, &mut report);
                    }
                }
                for id in &identities {
                    ios::app::check_identity(id, &embedded, &mut report);
                }
            }
            Err(f) => report.push(f),
        }
    }
    // Android keystores. The checked private-key entries' certificates are what
    // APKs given alongside must be signed with (`--keystore` + APKs).
    let android = keystore_policy::Ctx {
        at: req.at,
        horizon,
        play_min_validity: req.play_min_validity,
    };
    let store_source = req.ks_pass.as_ref().map(|s| s.to_string());
    let key_source = req.key_pass.as_ref().map(|s| s.to_string());
    let mut keystore_signers: Vec<Signer> = Vec::new();
    let ks_pass_failed = req.ks_pass.is_some() && ks_pass.is_none();
    for (p, found) in &keystore_paths {
        if ks_pass_failed {
            break; // already reported: the password source could not be read
        }
        let file = display(p);
        let prompted = match (found, &ks_pass) {
            (None, None) => match secret::resolve_or_prompt(None, &format!("keystore {file}")) {
                Ok(s) => s,
                Err(e) => {
                    report.push(Finding::unreadable(&file, format!("{file}: {e}")));
                    continue;
                }
            },
            _ => None,
        };
        let store_pass = found.as_ref().or(ks_pass.as_ref()).or(prompted.as_ref());
        let open = keystore_policy::Open {
            ks_type: req.ks_type,
            store_pass,
            store_source: store_source.as_deref(),
            key_pass: key_pass.as_ref(),
            key_source: key_source.as_deref(),
            aliases: &req.aliases,
        };
        keystore_signers.extend(keystore_policy::check_file(p, &open, &android, &mut report));
    }
    // An APK given with --keystore must be signed by one of these certificates.
    if !apk_paths.is_empty() {
        check_apks(
            req,
            &apk_paths,
            expected_signers(req, &keystore_signers),
            &mut report,
        );
    }

    for p in &device_paths {
        use crate::inventory::bulk;
        let credentials = bulk::Credentials::Inside(req.devices.credentials_name.clone());
        let bundle = bulk::Bundle {
            zip: p,
            shown: display(p),
            credentials: &credentials,
            id_type: req.devices.id_type,
        };
        bulk::check(&bundle, &ctx, &mut report);
    }

    if !dir_paths.is_empty() {
        // The passwords given are tried on every PKCS#12 and keystore found
        // (a stdin --cert-pass is left to the identity loader, which reads it).
        let mut passwords: Vec<Secret> = ks_pass.iter().cloned().collect();
        match &req.cert_pass {
            Some(PasswordSpec::Stdin) | None => {}
            Some(spec) => passwords.extend(spec.resolve().ok()),
        }
        report.extend(crate::inventory::verify_dirs(&dir_paths, req, passwords));
    }

    if identity_paths.is_empty()
        && dir_paths.is_empty()
        && profile_paths.is_empty()
        && app_paths.is_empty()
        && keystore_paths.is_empty()
        && apk_paths.is_empty()
        && device_paths.is_empty()
        && report.findings.is_empty()
    {
        report.push(Finding::unreadable(
            "<none>",
            "nothing to verify: give files, or --cert/--profile/--app/--keystore",
        ));
    }
    report
}

fn not_checked(file: &str, kind: Kind) -> Finding {
    Finding::unreadable(file,
        format!(
            "{file} is not something wrapsign checks ({}); wrapsign verify checks certificates, .p12 identities, provisioning profiles, IPAs, .app bundles, Android keystores and APKs",
            kind.describe()
        ),
    )
}

/// `--signer-cert` certificates plus the checked keystore aliases' certificates.
pub fn expected_signers(req: &Request, keystore_signers: &[Signer]) -> Vec<Cert> {
    let mut out = req.expected_signers.clone();
    for s in keystore_signers {
        if !out.iter().any(|c| c.der == s.cert.der) {
            out.push(s.cert.clone());
        }
    }
    out
}

/// Resolves a password flag once; an unreadable source is reported (never the value).
fn resolve_once(spec: Option<&PasswordSpec>, flag: &str, report: &mut Report) -> Option<Secret> {
    let spec = spec?;
    match spec.resolve() {
        Ok(s) => Some(s),
        Err(e) => {
            report.push(Finding::unreadable(
                format!("--{flag}"),
                format!("--{flag} {spec}: {e}"),
            ));
            None
        }
    }
}

enum P12Route {
    /// An Android keystore, with the password that opened it when one did.
    Keystore(Option<Secret>),
    /// An iOS signing identity (Apple code-signing or push certificate), or
    /// something only the iOS loader can explain.
    Identity,
}

/// A positional PKCS#12 is an iOS identity when it holds an Apple code-signing or
/// push certificate, and an Android keystore otherwise. Opening it needs a
/// password: the keystore one, the iOS one (unless it comes from stdin, which
/// the iOS loader must read), or the empty one when neither was given.
fn route_pkcs12(path: &Path, ks_pass: Option<&Secret>, req: &Request) -> P12Route {
    let Ok(data) = std::fs::read(path) else {
        return P12Route::Identity;
    };
    let mut candidates: Vec<Secret> = ks_pass.cloned().into_iter().collect();
    match &req.cert_pass {
        Some(PasswordSpec::Stdin) => {}
        Some(spec) => candidates.extend(spec.resolve().ok()),
        None if ks_pass.is_none() => candidates.push(Secret::default()),
        None => {}
    }
    for pw in candidates {
        if let Ok(archive) = crate::pkcs12::open(&data, pw.expose()) {
            let apple = archive.certs.iter().any(|b| {
                Cert::from_der(b.cert.as_der()).is_ok_and(|c| CertKind::of(&c) != CertKind::Other)
            });
            return if apple {
                P12Route::Identity
            } else {
                P12Route::Keystore(Some(pw))
            };
        }
    }
    // Unopened: Android flags say keystore (it reports the wrong password).
    let android = req.ks_pass.is_some()
        || req.key_pass.is_some()
        || !req.aliases.is_empty()
        || req.ks_type.is_some();
    if android {
        P12Route::Keystore(None)
    } else {
        P12Route::Identity
    }
}

/// APKs: load the expected signer certificates once (`--signer-cert` files plus
/// the checked keystore aliases), then verify each APK.
fn check_apks(req: &Request, apks: &[PathBuf], from_keystores: Vec<Cert>, report: &mut Report) {
    let mut opts = crate::android::apk::Options {
        min_sdk: req.min_sdk,
        max_sdk: req.max_sdk,
        expected_signers: from_keystores,
        archive: req.archive,
        at: Some(req.at),
        play_min_validity: Some(req.play_min_validity),
    };
    for p in &req.signer_certs {
        let file = display(p);
        let certs: Vec<Cert> = match std::fs::read(p) {
            Ok(data) => certs_from_pem_or_der(&data)
                .iter()
                .filter_map(|d| Cert::from_der(d).ok())
                .collect(),
            Err(e) => {
                report.push(Finding::unreadable(
                    &file,
                    format!("cannot read {file}: {e}"),
                ));
                continue;
            }
        };
        if certs.is_empty() {
            report.push(Finding::unreadable(
                &file,
                format!("--signer-cert {file} holds no PEM or DER certificate"),
            ));
        }
        for c in certs {
            if !opts.expected_signers.iter().any(|e| e.der == c.der) {
                opts.expected_signers.push(c);
            }
        }
    }
    for p in apks {
        crate::android::apk::check(p, &opts, report);
    }
}
