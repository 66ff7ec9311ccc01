//! `wrapsign verify`: sorts the inputs by what they are, runs each domain's
//! checks, and relates them (identity x profile, profile x app bundle).

use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use crate::diag::{Code, Finding, Report};
use crate::ios::{self, profile::Profile, Ctx, Trust};
use crate::secret::PasswordSpec;
use crate::sniff::{self, Kind};

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
    pub at: OffsetDateTime,
    pub warn_days: i64,
    pub fail_days: i64,
    /// `--online`: OCSP with this timeout; `None` keeps wrapsign offline.
    pub online: Option<std::time::Duration>,
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
            at,
            warn_days: 30,
            fail_days: 0,
            online: None,
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
            Err(e) => report.push(Finding::new(
                Code::InputUnreadable,
                &file,
                format!("cannot read {file}: {e}"),
            )),
        }
    }
    let ctx = Ctx {
        warn_days: req.warn_days,
        fail_days: req.fail_days,
        online: req.online,
        ..Ctx::new(req.at, trust)
    };

    // Sort inputs by content.
    let mut identity_paths: Vec<PathBuf> = req.cert.iter().cloned().collect();
    let mut profile_paths = req.profiles.clone();
    let mut app_paths = req.apps.clone();
    for p in &req.paths {
        let file = display(p);
        match sniff::sniff_path(p) {
            Ok(Kind::Pkcs12 | Kind::PemCertificate | Kind::DerCertificate) => identity_paths.push(p.clone()),
            Ok(Kind::Cms) => profile_paths.push(p.clone()),
            Ok(Kind::Ipa | Kind::AppDir) => app_paths.push(p.clone()),
            Ok(other) => report.push(Finding::new(
                Code::InputUnreadable,
                &file,
                format!(
                    "{file} is not something wrapsign checks ({}); wrapsign verify checks certificates, .p12 identities, provisioning profiles, IPAs and .app bundles",
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
            Err(e) => report.push(Finding::new(
                Code::InputUnreadable,
                &file,
                format!("{file}: {e}"),
            )),
        }
    }

    // Candidates from a profiles folder are checked only as far as they are chosen.
    let mut candidates: Vec<Profile> = profiles.clone();
    if let Some(dir) = &req.profiles_dir {
        for e in walkdir::WalkDir::new(dir)
            .follow_links(false)
            .into_iter()
            .filter_map(Result::ok)
        {
            let is_profile = e.path().is_file()
                && e.path()
                    .extension()
                    .is_some_and(|x| x == "mobileprovision" || x == "provisionprofile");
            if !is_profile {
                continue;
            }
            let file = display(e.path());
            match std::fs::read(e.path())
                .map_err(|e| e.to_string())
                .and_then(|d| Profile::parse(&file, &d, &ctx.trust))
            {
                Ok(p) => candidates.push(p),
                // A stray damaged file in a folder is worth a warning, not a failed run.
                Err(err) => report.push(
                    Finding::new(
                        Code::InputUnreadable,
                        &file,
                        format!("{file}: {err}; skipped"),
                    )
                    .severity(crate::diag::Severity::Warning),
                ),
            }
        }
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
    if identity_paths.is_empty()
        && profile_paths.is_empty()
        && app_paths.is_empty()
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
