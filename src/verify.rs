//! `wrapsign verify`: sorts the inputs by what they are, runs each domain's
//! checks, and relates them (identity x profile, profile x app bundle).

use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use crate::diag::{Code, Finding, Report};
use crate::ios::{self, profile::Profile, Ctx, Trust};
use crate::secret::PasswordSpec;
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
    pub apps: Vec<PathBuf>,
    pub trust_roots: Vec<PathBuf>,
    /// APKs: the SDK range to verify for (default: the manifest's minSdk, every level up).
    pub min_sdk: Option<i32>,
    pub max_sdk: Option<i32>,
    /// APKs: certificates (PEM/DER files) each APK must be signed with.
    pub signer_certs: Vec<PathBuf>,
    pub at: OffsetDateTime,
    pub warn_days: i64,
}

impl Request {
    pub fn new(at: OffsetDateTime) -> Request {
        Request {
            paths: Vec::new(),
            cert: None,
            cert_pass: None,
            key: None,
            profiles: Vec::new(),
            apps: Vec::new(),
            trust_roots: Vec::new(),
            min_sdk: None,
            max_sdk: None,
            signer_certs: Vec::new(),
            at,
            warn_days: 30,
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
    let mut trust = Trust::apple();
    for root in &req.trust_roots {
        let file = display(root);
        match std::fs::read(root) {
            Ok(data) if trust.add_roots_from(&data) > 0 => {}
            Ok(_) => report.push(Finding::new(
                Code::InputUnreadable,
                &file,
                format!("--trust-root {file} holds no certificate"),
            )),
            Err(e) => report.push(Finding::new(Code::InputUnreadable, &file, format!("cannot read {file}: {e}"))),
        }
    }
    let ctx = Ctx {
        at: req.at,
        warn_days: req.warn_days,
        trust,
    };

    // Sort inputs by content.
    let mut identity_paths: Vec<PathBuf> = req.cert.iter().cloned().collect();
    let mut profile_paths = req.profiles.clone();
    let mut app_paths = req.apps.clone();
    let mut apk_paths: Vec<PathBuf> = Vec::new();
    for p in &req.paths {
        let file = display(p);
        match sniff::sniff_path(p) {
            Ok(Kind::Apk) => apk_paths.push(p.clone()),
            // A damaged APK is still an APK: let its check say what is wrong.
            Ok(Kind::Zip | Kind::Unknown) if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("apk")) => {
                apk_paths.push(p.clone())
            }
            Ok(Kind::Pkcs12 | Kind::PemCertificate | Kind::DerCertificate) => identity_paths.push(p.clone()),
            Ok(Kind::Cms) => profile_paths.push(p.clone()),
            Ok(Kind::Ipa | Kind::AppDir) => app_paths.push(p.clone()),
            Ok(other) => report.push(Finding::new(
                Code::InputUnreadable,
                &file,
                format!(
                    "{file} is not something wrapsign checks ({}); wrapsign verify checks certificates, .p12 identities, provisioning profiles, IPAs, .app bundles and APKs",
                    other.describe()
                ),
            )),
            Err(e) => report.push(Finding::new(Code::InputUnreadable, &file, format!("cannot read {file}: {e}"))),
        }
    }

    // Identities: the key file applies to the --cert identity (or the only one).
    let mut identities = Vec::new();
    let single = identity_paths.len() == 1;
    for (i, p) in identity_paths.iter().enumerate() {
        let key = if i == 0 && (req.cert.is_some() || single) { req.key.as_deref() } else { None };
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
            Err(e) => report.push(Finding::new(Code::InputUnreadable, &file, format!("{file}: {e}"))),
        }
    }

    for p in &app_paths {
        match ios::app::open(p, &ctx) {
            Ok(app) => {
                let used = ios::app::check(&app, &profiles, &ctx, &mut report);
                // Given profiles were paired with the identities above already.
                let embedded: Vec<&Profile> = used
                    .into_iter()
                    .filter(|u| !profiles.iter().any(|g| std::ptr::eq(g, *u)))
                    .collect();
                for id in &identities {
                    ios::app::check_identity(id, &embedded, &mut report);
                }
            }
            Err(f) => report.push(f),
        }
    }
    if !apk_paths.is_empty() {
        check_apks(req, &apk_paths, &mut report);
    }
    if identity_paths.is_empty()
        && profile_paths.is_empty()
        && app_paths.is_empty()
        && apk_paths.is_empty()
        && report.findings.is_empty()
    {
        report.push(Finding::new(
            Code::InputUnreadable,
            "<none>",
            "nothing to verify: give files, or --cert/--profile/--app",
        ));
    }
    report
}

/// APKs: load the expected signer certificates once, then verify each APK.
fn check_apks(req: &Request, apks: &[PathBuf], report: &mut Report) {
    let mut opts = crate::android::apk::Options {
        min_sdk: req.min_sdk,
        max_sdk: req.max_sdk,
        expected_signers: Vec::new(),
    };
    for p in &req.signer_certs {
        let file = display(p);
        let certs: Vec<Cert> = match std::fs::read(p) {
            Ok(data) => certs_from_pem_or_der(&data).iter().filter_map(|d| Cert::from_der(d).ok()).collect(),
            Err(e) => {
                report.push(Finding::new(Code::InputUnreadable, &file, format!("cannot read {file}: {e}")));
                continue;
            }
        };
        if certs.is_empty() {
            report.push(Finding::new(
                Code::InputUnreadable,
                &file,
                format!("--signer-cert {file} holds no PEM or DER certificate"),
            ));
        }
        opts.expected_signers.extend(certs);
    }
    for p in apks {
        crate::android::apk::check(p, &opts, report);
    }
}
