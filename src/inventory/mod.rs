//! The signing inventory: every certificate, profile, keystore, app and device
//! bundle a deployment depends on, from `wrapsign.toml` or a directory scan,
//! checked in parallel with the existing domain checks, plus the checks that
//! need the whole inventory (keys shared between certificates, renewals that
//! reused a key). `wrapsign inventory` renders the result as a table.

pub mod bulk;
pub mod bundle;
pub mod certs;
pub mod config;
pub mod html;
pub mod ics;
pub mod keys;
pub mod scan;
pub mod table;

use std::collections::BTreeMap;
use std::path::PathBuf;

use rayon::prelude::*;
use serde::Deserialize;
use time::OffsetDateTime;

use crate::android::keystore::StoreType;
use crate::android::policy::{self as keystore_policy};
use crate::at::Horizon;
use crate::diag::{Code, Finding, Item, ItemKind, Level, Policy, Report, Severity};
use crate::ios::{self, profile::Profile, Ctx, Trust};
use crate::secret::{PasswordSpec, Secret};
use crate::sniff::{self, Kind};
use crate::x509::Cert;

pub use table::{Row, Status};

/// What a certificate is for (`kind` in wrapsign.toml).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CertClass {
    /// Apple/iPhone Distribution.
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
}

/// A password source, and how to show it (`env:P12_PASS`, never the value).
#[derive(Clone, Debug)]
pub struct Password {
    pub spec: PasswordSpec,
    pub source: String,
}

/// Where an entry was declared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A line of the config file.
    Config { line: usize },
    /// Found by a directory scan: problems reading it are warnings.
    Scan,
}

#[derive(Clone, Debug)]
pub struct Entry {
    pub name: Option<String>,
    pub origin: Origin,
    pub description: Option<String>,
    /// Who renews it, and free notes (wrapsign.toml); shown in every inventory format.
    pub owner: Option<String>,
    pub notes: Option<String>,
    pub what: What,
}

#[derive(Clone, Debug)]
pub enum What {
    Certificate(CertSpec),
    Profile(ProfileSpec),
    Keystore(KeystoreSpec),
    App(AppSpec),
    Devices(DevicesSpec),
}

#[derive(Clone, Debug)]
pub struct CertSpec {
    /// `None`: decided from the certificate (directory scans).
    pub class: Option<CertClass>,
    pub file: PathBuf,
    pub password: Option<Password>,
    pub key: Option<PathBuf>,
    pub team_id: Option<String>,
    pub topic: Option<String>,
    pub hosts: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct ProfileSpec {
    pub file: PathBuf,
    /// Index of a certificate entry that must be able to sign with it.
    pub certificate: Option<usize>,
}

#[derive(Clone, Debug)]
pub struct KeystoreSpec {
    pub file: PathBuf,
    pub password: Option<Password>,
    pub key_password: Option<Password>,
    pub aliases: Vec<String>,
    pub store_type: Option<StoreType>,
}

#[derive(Clone, Debug)]
pub struct AppSpec {
    pub file: PathBuf,
    /// Index of the certificate entry that signs it (iOS).
    pub certificate: Option<usize>,
    /// Indexes of its profile entries (iOS); none: the embedded ones.
    pub profiles: Vec<usize>,
    /// Index of the keystore entry that signs it (Android), and the alias.
    pub keystore: Option<usize>,
    pub alias: Option<String>,
}

#[derive(Clone, Debug)]
pub struct DevicesSpec {
    pub zip: PathBuf,
    pub credentials: bulk::Credentials,
    /// Declared identity type; `None`: inferred from the names.
    pub id_type: Option<bulk::IdType>,
}

/// Expiry thresholds in days; `None` keeps the level above.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Threshold {
    pub warn_days: Option<i64>,
    pub fail_days: Option<i64>,
    pub remind_days: Option<i64>,
}

#[derive(Clone, Debug, Default)]
pub struct Thresholds {
    pub global: Threshold,
    /// By kind: distribution, apns, ssl ... profile, keystore, devices.
    pub per_kind: BTreeMap<String, Threshold>,
}

/// A whole inventory: entries plus settings.
#[derive(Clone, Debug, Default)]
pub struct Inventory {
    /// The config file it came from.
    pub source: Option<String>,
    pub entries: Vec<Entry>,
    pub trust_roots: Vec<PathBuf>,
    pub thresholds: Thresholds,
    pub levels: Vec<(String, Level)>,
    /// Findings about the config itself (literal passwords).
    pub warnings: Vec<Finding>,
}

impl Inventory {
    /// The config's `[levels]` under the command line's (which win).
    pub fn policy(&self, cli: &Policy) -> Policy {
        let mut p = Policy::default();
        for (name, level) in &self.levels {
            // Names were validated when the config was parsed.
            let _ = p.set(name, *level);
        }
        for (code, level) in &cli.levels {
            p.levels.insert(*code, *level);
        }
        p
    }

    /// Command line over per-kind config over global config over defaults.
    pub fn horizon(&self, key: &str, opts: &Options) -> Horizon {
        let mut h = Horizon::default();
        let t = self
            .thresholds
            .per_kind
            .get(key)
            .unwrap_or(&self.thresholds.global);
        if let Some(v) = t.warn_days {
            h.warn_days = v;
        }
        if let Some(v) = t.fail_days {
            h.fail_days = v;
        }
        if let Some(v) = t.remind_days {
            h.remind_days = v;
        }
        if let Some(v) = opts.cli_warn_days {
            h.warn_days = v;
        }
        if let Some(v) = opts.cli_fail_days {
            h.fail_days = v;
        }
        h
    }
}

/// How to run an inventory.
#[derive(Clone, Debug)]
pub struct Options {
    pub at: OffsetDateTime,
    /// `--warn-days` / `--fail-days` when given on the command line: they win
    /// over every threshold in the config.
    pub cli_warn_days: Option<i64>,
    pub cli_fail_days: Option<i64>,
    /// `--trust-root`s (the config's `trust_roots` are added).
    pub trust_roots: Vec<PathBuf>,
    pub online: Option<std::time::Duration>,
    pub play_min_validity: OffsetDateTime,
    /// Passwords to try on scanned files, which have none of their own.
    pub fallback_passwords: Vec<Secret>,
    /// Where those come from, as the password column shows it (`--ks-pass env:X`).
    pub fallback_sources: Vec<String>,
    /// Draw a progress bar on stderr.
    pub progress: bool,
    pub policy: Policy,
    /// How far an archive (IPA, APK, device zip) may expand.
    pub archive: crate::archive::Limits,
}

impl Options {
    pub fn new(at: OffsetDateTime) -> Options {
        Options {
            at,
            cli_warn_days: None,
            cli_fail_days: None,
            trust_roots: Vec::new(),
            online: None,
            play_min_validity: keystore_policy::PLAY_MIN_VALIDITY,
            fallback_passwords: Vec::new(),
            fallback_sources: Vec::new(),
            progress: false,
            policy: Policy::default(),
            archive: crate::archive::Limits::default(),
        }
    }
}

/// The result: findings and items for `verify`, rows for `inventory`.
#[derive(Debug, Default)]
pub struct Outcome {
    pub report: Report,
    pub rows: Vec<Row>,
}

/// A certificate whose key the cross-inventory checks compare.
#[derive(Clone, Debug)]
pub struct KeyUse {
    pub cert: Cert,
    pub file: String,
    /// Entry or alias name for messages.
    pub label: String,
}

/// Resolved passwords of one entry (read once, in entry order: `stdin` can only
/// be read in order).
#[derive(Default)]
struct Secrets {
    main: Vec<Secret>,
    key: Option<Secret>,
    /// Why a configured password could not be read.
    error: Option<String>,
}

enum Loaded {
    Cert(Result<certs::Material, Finding>),
    Profile(Result<Profile, Finding>),
    Nothing,
}

fn entry_file(e: &Entry) -> &std::path::Path {
    match &e.what {
        What::Certificate(c) => &c.file,
        What::Profile(p) => &p.file,
        What::Keystore(k) => &k.file,
        What::App(a) => &a.file,
        What::Devices(d) => &d.zip,
    }
}

fn show(p: &std::path::Path) -> String {
    p.display().to_string()
}

/// A problem reading a scanned file is a warning: the scan goes on.
fn soften(e: &Entry, f: Finding) -> Finding {
    match e.origin {
        Origin::Scan if f.code == Code::InputUnreadable => {
            let msg = format!("{}; skipped", f.message);
            Finding { message: msg, ..f }.severity(Severity::Warning)
        }
        Origin::Config { line } if f.code == Code::InputUnreadable => {
            f.note(format!("declared on line {line} of the config"))
        }
        _ => f,
    }
}

/// Threshold key of an entry (for `[thresholds.KIND]`).
fn kind_key(e: &Entry, loaded: &Loaded) -> &'static str {
    match (&e.what, loaded) {
        (What::Certificate(c), Loaded::Cert(Ok(m))) => {
            c.class.unwrap_or_else(|| certs::detect(m.leaf())).name()
        }
        (What::Certificate(c), _) => c.class.map(CertClass::name).unwrap_or("other"),
        (What::Profile(_), _) => "profile",
        (What::Keystore(_), _) => "keystore",
        (What::Devices(_), _) => "devices",
        (What::App(_), _) => "app",
    }
}

/// A scanned PKCS#12 that is an Android keystore rather than an identity:
/// keytool's self-signed certificates carry no extended key usage.
fn android_like(m: &certs::Material) -> bool {
    let c = m.leaf();
    m.from_p12 && c.is_self_issued() && c.eku.is_empty() && !c.is_ca
}

/// Checks every entry of an inventory.
pub fn run(inv: &Inventory, opts: &Options) -> Outcome {
    let mut report = Report::default();
    for w in &inv.warnings {
        report.push(w.clone());
    }
    let policy = inv.policy(&opts.policy);

    // Trust: Apple's, the command line's and the config's roots.
    let mut trust = Trust::apple();
    for root in opts.trust_roots.iter().chain(&inv.trust_roots) {
        let file = show(root);
        match std::fs::read(root) {
            Ok(d) if trust.add_roots_from(&d) > 0 => {}
            Ok(_) => report.push(Finding::unreadable(
                &file,
                format!("trust root {file} holds no certificate"),
            )),
            Err(e) => report.push(Finding::unreadable(
                &file,
                format!("cannot read trust root {file}: {e}"),
            )),
        }
    }

    // Passwords, in entry order.
    let secrets: Vec<Secrets> = inv
        .entries
        .iter()
        .map(|e| {
            let (main, key) = match &e.what {
                What::Certificate(c) => (c.password.as_ref(), None),
                What::Keystore(k) => (k.password.as_ref(), k.key_password.as_ref()),
                _ => (None, None),
            };
            let mut s = Secrets::default();
            match main {
                Some(p) => match p.spec.resolve() {
                    Ok(v) => s.main.push(v),
                    Err(err) => s.error = Some(format!("password ({}): {err}", p.source)),
                },
                None if e.origin == Origin::Scan => s.main = opts.fallback_passwords.clone(),
                None => {}
            }
            if let Some(p) = key {
                match p.spec.resolve() {
                    Ok(v) => s.key = Some(v),
                    Err(err) => s.error = Some(format!("key_password ({}): {err}", p.source)),
                }
            }
            s
        })
        .collect();

    let bar = progress_bar(opts.progress, inv.entries.len() as u64);

    // Phase 1: parse every certificate file and profile once, in parallel.
    let loaded: Vec<Loaded> = inv
        .entries
        .par_iter()
        .zip(secrets.par_iter())
        .map(|(e, s)| {
            if s.error.is_some() {
                return Loaded::Nothing;
            }
            match &e.what {
                What::Certificate(c) => {
                    let source = c.password.as_ref().map(|p| p.source.as_str());
                    Loaded::Cert(certs::load(&c.file, &s.main, source, c.key.as_deref()))
                }
                What::Profile(p) => {
                    let file = show(&p.file);
                    Loaded::Profile(
                        std::fs::read(&p.file)
                            .map_err(|err| format!("cannot read {file}: {err}"))
                            .and_then(|d| Profile::parse(&file, &d, &trust))
                            .map_err(|err| Finding::unreadable(&file, format!("{file}: {err}"))),
                    )
                }
                _ => Loaded::Nothing,
            }
        })
        .collect();

    // CA certificates of the inventory complete the chains of the others.
    for (e, l) in inv.entries.iter().zip(&loaded) {
        if let (What::Certificate(c), Loaded::Cert(Ok(m))) = (&e.what, l) {
            if c.class.unwrap_or_else(|| certs::detect(m.leaf())) == CertClass::Ca {
                for cert in &m.certs {
                    let known = |v: &Vec<Cert>| v.iter().any(|x| x.der == cert.der);
                    if cert.is_self_issued() {
                        if !known(&trust.anchors) {
                            trust.anchors.push(cert.clone());
                        }
                    } else if !known(&trust.intermediates) {
                        trust.intermediates.push(cert.clone());
                    }
                }
            }
        }
    }
    let mut ctxs: BTreeMap<&'static str, Ctx> = BTreeMap::new();
    for key in [
        "distribution",
        "development",
        "apns",
        "ssl",
        "saml",
        "ca",
        "pki-user",
        "other",
        "profile",
        "keystore",
        "devices",
        "app",
    ] {
        ctxs.insert(
            key,
            Ctx {
                horizon: inv.horizon(key, opts),
                online: opts.online,
                archive: opts.archive,
                ..Ctx::new(opts.at, trust.clone())
            },
        );
    }

    // Phase 2: every entry's checks, in parallel.
    let done: Vec<(Report, Vec<Row>, Vec<KeyUse>)> = inv
        .entries
        .par_iter()
        .enumerate()
        .map(|(i, e)| {
            let key = kind_key(e, &loaded[i]);
            let ctx = &ctxs[key];
            let mut r = Report::default();
            let mut keys = Vec::new();
            if let Some(err) = &secrets[i].error {
                let file = show(entry_file(e));
                r.push(soften(
                    e,
                    Finding::unreadable(&file, format!("{file}: {err}")),
                ));
            } else {
                check_entry(inv, &loaded, &secrets, i, e, ctx, opts, &mut r, &mut keys);
            }
            r.apply(&policy);
            let password = secrets_source(e, &loaded[i], opts);
            let mut rows = table::rows_for(e, &r, ctx, key, password);
            for row in &mut rows {
                row.entry = i;
            }
            bar.inc(1);
            (r, rows, keys)
        })
        .collect();
    bar.finish_and_clear();

    let mut rows = Vec::new();
    let mut all_keys = Vec::new();
    for (r, rs, ks) in done {
        report.extend(r);
        rows.extend(rs);
        all_keys.extend(ks);
    }
    // Phase 3: the checks that need the whole inventory.
    let mut cross = Report::default();
    keys::check(&all_keys, &mut cross);
    cross.apply(&policy);
    table::mark(&mut rows, &cross);
    report.extend(cross);

    link_apk_rows(inv, &mut rows);
    report.apply(&policy);
    table::sort(&mut rows);
    Outcome { report, rows }
}

/// The password column: the entry's own source, or for a scanned PKCS#12 or
/// keystore the command line's (`--ks-pass env:X`; all of them when several
/// were given, since any may be the one that opened it).
fn secrets_source(e: &Entry, loaded: &Loaded, opts: &Options) -> String {
    let own = own_source(e);
    let takes_password = match (&e.what, loaded) {
        (What::Keystore(_), _) => true,
        (What::Certificate(_), Loaded::Cert(Ok(m))) => m.from_p12,
        (What::Certificate(c), _) => sniff::sniff_path(&c.file).is_ok_and(|k| k == Kind::Pkcs12),
        _ => false,
    };
    if own.is_empty() && e.origin == Origin::Scan && takes_password {
        return opts.fallback_sources.join(" or ");
    }
    own
}

fn own_source(e: &Entry) -> String {
    match &e.what {
        What::Certificate(c) => c.password.as_ref().map(|p| p.source.clone()),
        What::Keystore(k) => k.password.as_ref().map(|p| match &k.key_password {
            Some(kp) => format!("{} (key: {})", p.source, kp.source),
            None => p.source.clone(),
        }),
        What::Devices(d) => Some(match &d.credentials {
            bulk::Credentials::File(p) => format!("file:{} (per line)", show(p)),
            bulk::Credentials::Inside(n) => format!(
                "{} in {} (per line)",
                n.as_deref().unwrap_or(bulk::DEFAULT_CREDENTIALS_NAME),
                show(&d.zip)
            ),
        }),
        _ => None,
    }
    .unwrap_or_default()
}

fn progress_bar(on: bool, n: u64) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !on || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar =
        indicatif::ProgressBar::with_draw_target(Some(n), indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} checking {pos}/{len} {wide_bar} {elapsed}",
    ) {
        bar.set_style(style);
    }
    bar
}

#[allow(clippy::too_many_arguments)]
fn check_entry(
    inv: &Inventory,
    loaded: &[Loaded],
    secrets: &[Secrets],
    i: usize,
    e: &Entry,
    ctx: &Ctx,
    opts: &Options,
    r: &mut Report,
    keys: &mut Vec<KeyUse>,
) {
    match (&e.what, &loaded[i]) {
        (What::Certificate(_), Loaded::Cert(Err(f))) => r.push(soften(e, f.clone())),
        (What::Certificate(c), Loaded::Cert(Ok(m))) => {
            // A scanned non-Apple PKCS#12 with a keytool-style certificate is an
            // Android keystore (the password that opened it opens the store).
            if c.class.is_none() && android_like(m) {
                let open = keystore_policy::Open {
                    store_pass: secrets[i].main.first(),
                    ..Default::default()
                };
                let signers =
                    keystore_policy::check_file(&c.file, &open, &keystore_ctx(inv, opts), r);
                keys.extend(signers.into_iter().map(|s| KeyUse {
                    label: s.alias,
                    file: s.file,
                    cert: s.cert,
                }));
                return;
            }
            let class = c.class.unwrap_or_else(|| certs::detect(m.leaf()));
            let expect = certs::Expect {
                team_id: c.team_id.as_deref(),
                topic: c.topic.as_deref(),
                hosts: &c.hosts,
            };
            certs::check(m, class, &expect, ctx, r);
            keys.push(KeyUse {
                cert: m.leaf().clone(),
                file: m.file.clone(),
                label: e
                    .name
                    .clone()
                    .unwrap_or_else(|| m.leaf().name().to_string()),
            });
        }
        (What::Profile(_), Loaded::Profile(Err(f))) => r.push(soften(e, f.clone())),
        (What::Profile(p), Loaded::Profile(Ok(pr))) => {
            ios::profile::check(pr, ctx, r);
            if let Some(m) = p.certificate.and_then(|ci| cert_of(loaded, ci)) {
                ios::certificate::check_against_profile(&m.identity(), pr, r);
            }
        }
        (What::Keystore(k), _) => {
            let store_source = k.password.as_ref().map(|p| p.source.clone());
            let key_source = k.key_password.as_ref().map(|p| p.source.clone());
            let open = keystore_policy::Open {
                ks_type: k.store_type,
                store_pass: secrets[i].main.first(),
                store_source: store_source.as_deref(),
                key_pass: secrets[i].key.as_ref(),
                key_source: key_source.as_deref(),
                aliases: &k.aliases,
            };
            let mut kr = Report::default();
            let signers =
                keystore_policy::check_file(&k.file, &open, &keystore_ctx(inv, opts), &mut kr);
            for f in kr.findings {
                r.push(soften(e, f));
            }
            r.items.extend(kr.items);
            keys.extend(signers.into_iter().map(|s| KeyUse {
                label: s.alias,
                file: s.file,
                cert: s.cert,
            }));
        }
        (What::Devices(d), _) => {
            let bundle = bulk::Bundle {
                zip: &d.zip,
                shown: show(&d.zip),
                credentials: &d.credentials,
                id_type: d.id_type,
            };
            let checked = bulk::check(&bundle, ctx, r);
            for dev in checked.devices {
                if let Some(c) = dev.cert {
                    keys.push(KeyUse {
                        cert: c,
                        file: show(&d.zip),
                        label: dev.name,
                    });
                }
            }
        }
        (What::App(a), _) => check_app(inv, loaded, a, e, ctx, r),
        _ => {}
    }
}

fn keystore_ctx(inv: &Inventory, opts: &Options) -> keystore_policy::Ctx {
    keystore_policy::Ctx {
        at: opts.at,
        horizon: inv.horizon("keystore", opts),
        play_min_validity: opts.play_min_validity,
    }
}

fn cert_of(loaded: &[Loaded], i: usize) -> Option<&certs::Material> {
    match loaded.get(i) {
        Some(Loaded::Cert(Ok(m))) => Some(m),
        _ => None,
    }
}

fn check_app(
    inv: &Inventory,
    loaded: &[Loaded],
    a: &AppSpec,
    e: &Entry,
    ctx: &Ctx,
    r: &mut Report,
) {
    let file = show(&a.file);
    let kind = match sniff::sniff_path(&a.file) {
        Ok(k) => k,
        Err(err) => {
            r.push(soften(
                e,
                Finding::unreadable(&file, format!("cannot read {file}: {err}")),
            ));
            return;
        }
    };
    match kind {
        Kind::Ipa | Kind::AppDir => {
            let app = match ios::app::open(&a.file, ctx) {
                Ok(app) => app,
                Err(f) => {
                    r.push(soften(e, f));
                    return;
                }
            };
            let explicit: Vec<Profile> = a
                .profiles
                .iter()
                .filter_map(|&pi| match loaded.get(pi) {
                    Some(Loaded::Profile(Ok(p))) => Some(p.clone()),
                    _ => None,
                })
                .collect();
            let identity = a
                .certificate
                .and_then(|ci| cert_of(loaded, ci))
                .map(|m| m.identity());
            let sources = ios::app::Profiles {
                candidates: &explicit,
                identity: identity.as_ref().map(|id| &id.cert),
                fallback_embedded: explicit.is_empty(),
            };
            let used = ios::app::check(&app, sources, ctx, r);
            if let Some(id) = &identity {
                let embedded: Vec<&Profile> = used
                    .into_iter()
                    .filter(|u| !explicit.iter().any(|g| g.file == u.file))
                    .collect();
                ios::app::check_identity(id, &embedded, r);
                for p in &explicit {
                    ios::certificate::check_against_profile(id, p, r);
                }
                r.item(
                    ios::certificate::cert_item(ItemKind::Certificate, &id.file, &id.cert)
                        .fact("signs", file.as_str()),
                );
            }
        }
        Kind::Apk => {
            // The APK's own signature is checked by `wrapsign verify APK`; here the
            // inventory records which keystore alias signs it and that key's expiry.
            let mut item = Item::new(ItemKind::App, &file).fact("platform", "android");
            if let Some(Entry {
                what: What::Keystore(k),
                ..
            }) = a.keystore.and_then(|ki| inv.entries.get(ki))
            {
                item = item.fact("keystore", show(&k.file));
            }
            if let Some(alias) = &a.alias {
                item = item.fact("alias", alias.as_str());
            }
            r.item(item);
        }
        other => r.push(soften(
            e,
            Finding::unreadable(
                &file,
                format!(
                    "{file} is a {}, not an .ipa, .app or .apk",
                    other.describe()
                ),
            ),
        )),
    }
}

/// An Android app's row shows the key that signs it: its keystore alias's
/// certificate (expiry, subject, password source, status).
fn link_apk_rows(inv: &Inventory, rows: &mut [Row]) {
    for (i, e) in inv.entries.iter().enumerate() {
        let What::App(AppSpec {
            keystore: Some(k),
            alias,
            ..
        }) = &e.what
        else {
            continue;
        };
        let signer = rows
            .iter()
            .filter(|r| r.entry == *k)
            .find(|r| {
                alias
                    .as_deref()
                    .is_none_or(|a| r.label.eq_ignore_ascii_case(a))
            })
            .cloned();
        let Some(s) = signer else { continue };
        for row in rows
            .iter_mut()
            .filter(|r| r.entry == i && r.not_after.is_none())
        {
            row.not_after = s.not_after;
            row.days_left = s.days_left;
            row.team_or_alias = s.label.clone();
            row.password_source = s.password_source.clone();
            if row.subject.is_empty() {
                row.subject = s.subject.clone();
            }
            row.status = row.status.max(s.status);
        }
    }
}

/// Adds what a scan of `dirs` finds to the inventory; returns the scan's
/// warnings and one `scan` item per folder (with the count of skipped files).
pub fn add_scans(inv: &mut Inventory, dirs: &[PathBuf]) -> Report {
    let mut r = Report::default();
    for d in dirs {
        let s = scan::scan(d);
        r.item(
            Item::new(ItemKind::Scan, show(d))
                .fact("found", s.entries.len())
                .fact("skipped_files", s.skipped),
        );
        inv.entries.extend(s.entries);
        r.findings.extend(s.warnings);
    }
    r
}

/// `wrapsign verify DIR...`: scans the folders and checks what they hold, with
/// the request's instant, thresholds, trust roots and passwords (tried on every
/// PKCS#12 and keystore found).
pub fn verify_dirs(
    dirs: &[PathBuf],
    req: &crate::verify::Request,
    passwords: Vec<Secret>,
) -> Report {
    let mut inv = Inventory::default();
    let mut report = add_scans(&mut inv, dirs);
    let opts = Options {
        cli_warn_days: Some(req.warn_days),
        cli_fail_days: Some(req.fail_days),
        trust_roots: req.trust_roots.clone(),
        online: req.online,
        play_min_validity: req.play_min_validity,
        fallback_passwords: passwords,
        progress: true,
        archive: req.archive,
        ..Options::new(req.at)
    };
    // --trust-root files were already reported by the caller if unreadable.
    let out = run(&inv, &opts);
    report.extend(Report {
        findings: out
            .report
            .findings
            .into_iter()
            .filter(|f| {
                !(f.code == Code::InputUnreadable
                    && req.trust_roots.iter().any(|t| show(t) == f.file))
            })
            .collect(),
        items: out.report.items,
        suppressed: 0,
    });
    report
}
