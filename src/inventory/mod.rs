//! The signing inventory: every certificate, profile, keystore, app and device
//! bundle a run checks, whichever way each reached wrapsign: `wrapsign.toml`
//! (config.rs), a path or flag on the command line (inputs.rs) or a folder scan
//! (scan.rs). Each file is classified once by [`crate::material`]; then every
//! entry is checked in parallel with the domain checks, plus the checks that
//! need the whole inventory (keys shared between certificates, renewals that
//! reused a key). `wrapsign verify` reports the findings; `wrapsign inventory`
//! renders the same checked entries as a table.

pub mod bulk;
pub mod bundle;
pub mod certs;
pub mod config;
pub mod html;
pub mod ics;
pub mod inputs;
pub mod keys;
pub mod render;
pub mod scan;
pub mod table;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::android::keystore::StoreType;
use crate::android::policy::{self as keystore_policy, Signer};
use crate::context::Context;
use crate::diag::{Code, Finding, Item, ItemKind, Level, Policy, Report, Severity};
use crate::ios::{self, profile::Profile, Ctx};
use crate::material::{self, Classified, Material};
use crate::secret::Unlock;
use crate::secret::{PasswordSpec, Secret};
use crate::sniff::{self, Kind};
use crate::x509::Cert;

pub use crate::context::{Threshold, Thresholds};
pub use crate::material::CertClass;
use bulk::Credentials;
pub use inputs::{gather, Inputs};
pub use table::{Row, Status};

/// A password source, and how to show it (`env:P12_PASS`, never the value).
#[derive(Clone, Debug)]
pub struct Password {
    pub spec: PasswordSpec,
    pub source: String,
}

impl Password {
    /// A password already read (on the command line, or while classifying),
    /// still shown by where it came from.
    pub fn read(secret: Secret, source: impl Into<String>) -> Password {
        Password {
            spec: PasswordSpec::Pass(secret),
            source: source.into(),
        }
    }
}

/// Where an entry was declared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A line of the config file.
    Config { line: usize },
    /// Named on the command line, as a path or with its flag.
    Cli,
    /// Found by a folder scan: files it cannot read are skipped, with a warning.
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
    /// Why the entry cannot be checked (unreadable, not material, no password
    /// opens it), found while classifying it: reported instead of its checks.
    pub problem: Option<Finding>,
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
    /// `None`: detected from the certificate (nobody said what it is for).
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
    /// Indexes of certificate entries that must be able to sign with it.
    pub certificates: Vec<usize>,
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
    /// Certificate entries that sign it (iOS); the first one chooses profiles.
    pub certificates: Vec<usize>,
    /// Its profile entries (iOS); none: the embedded ones.
    pub profiles: Vec<usize>,
    /// A folder of candidate profiles (`--profiles-dir`).
    pub profiles_dir: Option<PathBuf>,
    /// Keep a bundle's embedded profile when no candidate fits.
    pub embedded: bool,
    /// Keystore entries whose keys may sign it (Android), and the alias.
    pub keystores: Vec<usize>,
    pub alias: Option<String>,
}

impl AppSpec {
    pub fn new(file: PathBuf) -> AppSpec {
        AppSpec {
            file,
            certificates: Vec::new(),
            profiles: Vec::new(),
            profiles_dir: None,
            embedded: true,
            keystores: Vec::new(),
            alias: None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct DevicesSpec {
    pub zip: PathBuf,
    pub credentials: bulk::Credentials,
    /// Declared identity type; `None`: inferred from the names.
    pub id_type: Option<bulk::IdType>,
}

/// What an entry takes from the run besides its file.
#[derive(Clone, Copy, Debug, Default)]
pub struct EntryOpts<'a> {
    /// `--key-pass`, for keystores.
    pub key: Option<&'a Unlock>,
    /// For device bundles named on the command line.
    pub credentials_name: Option<&'a str>,
    pub id_type: Option<bulk::IdType>,
}

impl Inputs {
    /// Nothing named: the config is the input.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
            && self.cert.is_none()
            && self.profiles.is_empty()
            && self.profiles_dir.is_none()
            && self.apps.is_empty()
            && self.keystores.is_empty()
    }
}

/// The entry a classified file becomes.
pub fn entry_for(path: PathBuf, c: Classified, opts: EntryOpts, origin: Origin) -> Entry {
    let key = opts.key;
    let file = path.display().to_string();
    let password = c.unlock.map(|u| Password::read(u.secret, u.source));
    let cert = |path: PathBuf, password: Option<Password>| {
        What::Certificate(CertSpec {
            class: None,
            file: path,
            password,
            key: None,
            team_id: None,
            topic: None,
            hosts: Vec::new(),
        })
    };
    let keystore = |path: PathBuf, password, store_type| {
        What::Keystore(KeystoreSpec {
            file: path,
            password,
            key_password: key.map(|k| Password::read(k.secret.clone(), k.source.clone())),
            aliases: Vec::new(),
            store_type,
        })
    };
    let (what, problem) = match c.material {
        Material::Certificate(_) => (cert(path, password), None),
        Material::Keystore(t) => (keystore(path, password, t), None),
        Material::Profile => (
            What::Profile(ProfileSpec {
                file: path,
                certificates: Vec::new(),
            }),
            None,
        ),
        Material::App | Material::Apk => (What::App(AppSpec::new(path)), None),
        Material::Devices {
            credentials: Some(found),
        } => {
            let credentials = match (found, opts.credentials_name) {
                (_, Some(name)) => Credentials::Inside(Some(name.to_string())),
                (material::Credentials::Inside, None) => Credentials::Inside(None),
                (material::Credentials::Beside(p), None) => Credentials::File(p),
            };
            (
                What::Devices(DevicesSpec {
                    zip: path,
                    credentials,
                    id_type: opts.id_type,
                }),
                None,
            )
        }
        // A zip of .p12 files alone: its passwords are inside it (the bundle
        // check says the credentials file is missing) unless a file beside it has them.
        Material::Devices { credentials: None } => (
            What::Devices(DevicesSpec {
                zip: path,
                credentials: Credentials::Inside(opts.credentials_name.map(str::to_string)),
                id_type: opts.id_type,
            }),
            None,
        ),
        Material::Locked(l) => {
            let f = material::password_wrong(&file, &l);
            if l.what.contains("keystore") {
                (keystore(path, None, None), Some(f))
            } else {
                (cert(path, None), Some(f))
            }
        }
        Material::Unreadable(m) => (cert(path, None), Some(Finding::unreadable(&file, m))),
        Material::Other(kind) => {
            let f = material::not_material(&path, kind);
            (cert(path, None), Some(f))
        }
        Material::Folder => {
            let f = material::not_material(&path, Kind::Dir);
            (cert(path, None), Some(f))
        }
    };
    Entry {
        name: None,
        origin,
        description: None,
        owner: None,
        notes: None,
        what,
        problem,
    }
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
    /// Findings about how it was gathered (literal passwords in the config,
    /// unreadable folders of a scan).
    pub warnings: Vec<Finding>,
    /// What each folder scan found (`scan` items).
    pub items: Vec<Item>,
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

/// Resolved passwords of one entry.
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

pub fn entry_file(e: &Entry) -> &Path {
    match &e.what {
        What::Certificate(c) => &c.file,
        What::Profile(p) => &p.file,
        What::Keystore(k) => &k.file,
        What::App(a) => &a.file,
        What::Devices(d) => &d.zip,
    }
}

fn show(p: &Path) -> String {
    p.display().to_string()
}

/// Findings that mean a file could not be checked at all.
fn unreadable(f: &Finding) -> bool {
    matches!(f.code, Code::InputUnreadable | Code::PasswordWrong) && f.severity == Severity::Error
}

/// A folder scan goes on past material it cannot read: such files are
/// skipped, one warning each, as long as the run checked something else. Apps
/// are never skipped (a broken app is what a device refuses), nor is anything
/// when nothing else was checked: then the scan fails as if the file were named.
fn skip(f: Finding) -> Finding {
    let msg = match f.code {
        Code::PasswordWrong => format!(
            "{}: skipped: no password opens it ({})",
            f.file,
            f.message
                .split_once("): ")
                .map(|(_, why)| why)
                .unwrap_or(&f.message)
        ),
        _ => format!("{}; skipped", f.message),
    };
    Finding { message: msg, ..f }
        .severity(Severity::Warning)
        .detail("skipped", true)
}

/// Threshold key of an entry (for `[thresholds.KIND]`).
fn kind_key(e: &Entry, loaded: &Loaded) -> &'static str {
    match (&e.what, loaded) {
        (What::Certificate(c), Loaded::Cert(Ok(m))) => c
            .class
            .unwrap_or_else(|| crate::material::detect(m.leaf()))
            .name(),
        (What::Certificate(c), _) => c.class.map(CertClass::name).unwrap_or("other"),
        (What::Profile(_), _) => "profile",
        (What::Keystore(_), _) => "keystore",
        (What::Devices(_), _) => "devices",
        (What::App(_), _) => "app",
    }
}

/// What the checks of one entry produced.
#[derive(Default)]
struct Done {
    report: Report,
    keys: Vec<KeyUse>,
    /// Keystores: the checked private-key entries (expected APK signers).
    signers: Vec<Signer>,
}

/// Checks every entry of an inventory in `context` (the command line and
/// config settings, resolved); `policy` sets levels per finding name.
pub fn check(inv: &Inventory, context: &Context, policy: &Policy, progress: bool) -> Outcome {
    let mut report = Report::default();
    for w in &inv.warnings {
        report.push(w.clone());
    }
    report.items.extend(inv.items.iter().cloned());

    // Passwords were read while gathering: each is a value already.
    let secrets: Vec<Secrets> = inv.entries.iter().map(secrets_of).collect();

    let bar = progress_bar(progress, inv.entries.len() as u64);
    let base = context.base();

    // Phase 1: parse every certificate file and profile once, in parallel.
    let loaded: Vec<Loaded> = inv
        .entries
        .par_iter()
        .zip(secrets.par_iter())
        .map(|(e, s)| {
            if s.error.is_some() || e.problem.is_some() {
                return Loaded::Nothing;
            }
            match &e.what {
                What::Certificate(c) => {
                    let source = c.password.as_ref().map(|p| p.source.as_str());
                    Loaded::Cert(certs::load(&c.file, &s.main, source, c.key.as_deref()))
                }
                What::Profile(p) => Loaded::Profile(load_profile(&p.file, &base.trust)),
                _ => Loaded::Nothing,
            }
        })
        .collect();
    // Candidate profiles of `--profiles-dir` folders, read once.
    let mut dirs: BTreeMap<&Path, Vec<Profile>> = BTreeMap::new();
    for e in &inv.entries {
        if let What::App(AppSpec {
            profiles_dir: Some(d),
            ..
        }) = &e.what
        {
            if !dirs.contains_key(d.as_path()) {
                let found = ios::profile::load_dir(d, &base.trust, &mut report);
                dirs.insert(d, found.into_iter().map(|(p, _)| p).collect());
            }
        }
    }

    // CA certificates of the inventory complete the chains of the others.
    let mut context = context.clone();
    let mut cas = Vec::new();
    for (e, l) in inv.entries.iter().zip(&loaded) {
        if let (What::Certificate(c), Loaded::Cert(Ok(m))) = (&e.what, l) {
            if c.class.unwrap_or_else(|| crate::material::detect(m.leaf())) == CertClass::Ca {
                cas.extend(m.certs.iter().cloned());
            }
        }
    }
    context.add_cas(&cas);
    let context = &context;

    let run = |i: usize, signers: &[Vec<Signer>]| -> Done {
        let e = &inv.entries[i];
        let ctx = context.ctx(kind_key(e, &loaded[i]));
        let mut done = Done::default();
        if let Some(err) = &secrets[i].error {
            let file = show(entry_file(e));
            done.report
                .push(Finding::unreadable(&file, format!("{file}: {err}")));
        } else if let Some(p) = &e.problem {
            done.report.push(p.clone());
        } else {
            let cx = EntryCx {
                inv,
                loaded: &loaded,
                secrets: &secrets,
                dirs: &dirs,
                signers,
                context,
            };
            check_entry(&cx, i, e, ctx, &mut done);
        }
        bar.inc(1);
        done
    };
    let is_app = |e: &Entry| matches!(e.what, What::App(_));

    // Phase 2: every entry but the apps, in parallel.
    let mut done: Vec<Option<Done>> = (0..inv.entries.len())
        .into_par_iter()
        .map(|i| (!is_app(&inv.entries[i])).then(|| run(i, &[])))
        .collect();
    // Phase 3: the apps, which need the keystores' signers.
    let signers: Vec<Vec<Signer>> = done
        .iter_mut()
        .map(|d| {
            d.as_mut()
                .map(|d| std::mem::take(&mut d.signers))
                .unwrap_or_default()
        })
        .collect();
    let apps: Vec<(usize, Done)> = (0..inv.entries.len())
        .into_par_iter()
        .filter(|&i| is_app(&inv.entries[i]))
        .map(|i| (i, run(i, &signers)))
        .collect();
    for (i, d) in apps {
        done[i] = Some(d);
    }
    bar.finish_and_clear();

    let mut done: Vec<Done> = done.into_iter().map(Option::unwrap_or_default).collect();
    let checked_any = done
        .iter()
        .any(|d| !d.report.findings.iter().any(unreadable));
    let mut rows = Vec::new();
    let mut all_keys = Vec::new();
    for (i, d) in done.iter_mut().enumerate() {
        let e = &inv.entries[i];
        let r = std::mem::take(&mut d.report);
        let findings = r
            .findings
            .into_iter()
            .map(|f| match e.origin {
                Origin::Scan
                    if checked_any && !matches!(e.what, What::App(_)) && unreadable(&f) =>
                {
                    skip(f)
                }
                Origin::Config { line } if unreadable(&f) => {
                    f.note(format!("declared on line {line} of the config"))
                }
                _ => f,
            })
            .collect();
        let mut r = Report { findings, ..r };
        r.apply(policy);
        let key = kind_key(e, &loaded[i]);
        let mut rs = table::rows_for(e, &r, context.ctx(key), key, secrets_source(e));
        for row in &mut rs {
            row.entry = i;
        }
        rows.extend(rs);
        report.extend(r);
        all_keys.append(&mut d.keys);
    }
    // The checks that need the whole inventory.
    let mut cross = Report::default();
    keys::check(&all_keys, &mut cross);
    cross.apply(policy);
    table::mark(&mut rows, &cross);
    report.extend(cross);

    link_apk_rows(inv, &mut rows);
    report.apply(policy);
    table::sort(&mut rows);
    Outcome { report, rows }
}

fn load_profile(path: &Path, trust: &crate::trust::Trust) -> Result<Profile, Finding> {
    let file = show(path);
    std::fs::read(path)
        .map_err(|err| format!("cannot read {file}: {err}"))
        .and_then(|d| Profile::parse(&file, &d, trust))
        .map_err(|err| Finding::unreadable(&file, format!("{file}: {err}")))
}

fn secrets_of(e: &Entry) -> Secrets {
    let (main, key) = match &e.what {
        What::Certificate(c) => (c.password.as_ref(), None),
        What::Keystore(k) => (k.password.as_ref(), k.key_password.as_ref()),
        _ => (None, None),
    };
    let mut s = Secrets::default();
    if let Some(p) = main {
        match p.spec.resolve() {
            Ok(v) => s.main.push(v),
            Err(err) => s.error = Some(format!("password ({}): {err}", p.source)),
        }
    }
    if let Some(p) = key {
        match p.spec.resolve() {
            Ok(v) => s.key = Some(v),
            Err(err) => s.error = Some(format!("key_password ({}): {err}", p.source)),
        }
    }
    s
}

fn secrets_source(e: &Entry) -> String {
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

/// What an entry's checks may look at besides the entry.
struct EntryCx<'a> {
    inv: &'a Inventory,
    loaded: &'a [Loaded],
    secrets: &'a [Secrets],
    dirs: &'a BTreeMap<&'a Path, Vec<Profile>>,
    /// Per entry: the keystores' checked signers (empty before the apps' phase).
    signers: &'a [Vec<Signer>],
    context: &'a Context,
}

fn check_entry(cx: &EntryCx, i: usize, e: &Entry, ctx: &Ctx, done: &mut Done) {
    let r = &mut done.report;
    match (&e.what, &cx.loaded[i]) {
        (What::Certificate(_), Loaded::Cert(Err(f))) => r.push(f.clone()),
        (What::Certificate(c), Loaded::Cert(Ok(m))) => {
            let class = c.class.unwrap_or_else(|| crate::material::detect(m.leaf()));
            let expect = certs::Expect {
                team_id: c.team_id.as_deref(),
                topic: c.topic.as_deref(),
                hosts: &c.hosts,
                declared: c.class.is_some(),
            };
            certs::check(m, class, &expect, ctx, r);
            done.keys.push(KeyUse {
                cert: m.leaf().clone(),
                file: m.file.clone(),
                label: e
                    .name
                    .clone()
                    .unwrap_or_else(|| m.leaf().name().to_string()),
            });
        }
        (What::Profile(_), Loaded::Profile(Err(f))) => r.push(f.clone()),
        (What::Profile(p), Loaded::Profile(Ok(pr))) => {
            ios::profile::check(pr, ctx, r);
            for m in p
                .certificates
                .iter()
                .filter_map(|&ci| cert_of(cx.loaded, ci))
            {
                ios::certificate::check_against_profile(&m.identity(), pr, r);
            }
        }
        (What::Keystore(k), _) => {
            let store_source = k.password.as_ref().map(|p| p.source.clone());
            let key_source = k.key_password.as_ref().map(|p| p.source.clone());
            let open = keystore_policy::Open {
                ks_type: k.store_type,
                store_pass: cx.secrets[i].main.first(),
                store_source: store_source.as_deref(),
                key_pass: cx.secrets[i].key.as_ref(),
                key_source: key_source.as_deref(),
                aliases: &k.aliases,
            };
            let mut kr = Report::default();
            let signers = keystore_policy::check_file(&k.file, &open, ctx, &mut kr);
            r.extend(kr);
            done.keys.extend(signers.iter().map(|s| KeyUse {
                label: s.alias.clone(),
                file: s.file.clone(),
                cert: s.cert.clone(),
            }));
            done.signers = signers;
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
                    done.keys.push(KeyUse {
                        cert: c,
                        file: show(&d.zip),
                        label: dev.name,
                    });
                }
            }
        }
        (What::App(a), _) => check_app(cx, a, e, ctx, r),
        _ => {}
    }
}

fn cert_of(loaded: &[Loaded], i: usize) -> Option<&certs::Material> {
    match loaded.get(i) {
        Some(Loaded::Cert(Ok(m))) => Some(m),
        _ => None,
    }
}

fn check_app(cx: &EntryCx, a: &AppSpec, e: &Entry, ctx: &Ctx, r: &mut Report) {
    let file = show(&a.file);
    let kind = match sniff::sniff_path(&a.file) {
        Ok(k) => k,
        Err(err) => {
            let f = Finding::unreadable(&file, format!("cannot read {file}: {err}"));
            r.push(f);
            return;
        }
    };
    let named_apk = a
        .file
        .extension()
        .is_some_and(|x| x.eq_ignore_ascii_case("apk"));
    match kind {
        Kind::Apk => check_apk(cx, a, e, ctx, r),
        // A damaged APK is still an APK: its check says what is wrong.
        Kind::Zip | Kind::Unknown if named_apk => check_apk(cx, a, e, ctx, r),
        Kind::Ipa | Kind::AppDir | Kind::Zip | Kind::Unknown => check_ios_app(cx, a, e, ctx, r),
        other => r.push(Finding::unreadable(
            &file,
            format!(
                "{file} is a {}, not an .ipa, .app or .apk",
                other.describe()
            ),
        )),
    }
}

fn check_ios_app(cx: &EntryCx, a: &AppSpec, e: &Entry, ctx: &Ctx, r: &mut Report) {
    let file = show(&a.file);
    let app = match ios::app::open(&a.file, ctx) {
        Ok(app) => app,
        Err(f) => {
            r.push(f);
            return;
        }
    };
    let explicit: Vec<Profile> = a
        .profiles
        .iter()
        .filter_map(|&pi| match cx.loaded.get(pi) {
            Some(Loaded::Profile(Ok(p))) => Some(p.clone()),
            _ => None,
        })
        .collect();
    let mut candidates = explicit.clone();
    if let Some(found) = a.profiles_dir.as_deref().and_then(|d| cx.dirs.get(d)) {
        candidates.extend(found.iter().cloned());
    }
    let identities: Vec<ios::certificate::Identity> = a
        .certificates
        .iter()
        .filter_map(|&ci| cert_of(cx.loaded, ci))
        .map(|m| m.identity())
        .collect();
    let sources = ios::app::Profiles {
        candidates: &candidates,
        identity: identities.first().map(|id| &id.cert),
        fallback_embedded: a.embedded,
    };
    let used = ios::app::check(&app, sources, ctx, r);
    // Profiles given as entries were checked (and paired) as entries; the
    // embedded ones and those chosen from a folder are paired now.
    let chosen: Vec<&Profile> = used
        .into_iter()
        .filter(|u| !explicit.iter().any(|g| g.file == u.file))
        .collect();
    for u in &chosen {
        if candidates.iter().any(|c| std::ptr::eq(c, *u)) {
            ios::profile::check(u, cx.context.ctx("profile"), r);
        }
    }
    for id in &identities {
        ios::app::check_identity(id, &chosen, r);
    }
    // The config relates an app to its certificate: its row shows that certificate.
    if let (Origin::Config { .. }, Some(id)) = (e.origin, identities.first()) {
        for p in &explicit {
            ios::certificate::check_against_profile(id, p, r);
        }
        r.item(
            ios::certificate::cert_item(ItemKind::Certificate, &id.file, &id.cert)
                .fact("signs", file.as_str()),
        );
    }
}

/// The certificates an APK must be signed with: `base` (`--signer-cert`), then
/// the keystore entries' certificates (only `alias`'s when given), each once.
pub fn expected_signers(base: &[Cert], signers: &[Signer], alias: Option<&str>) -> Vec<Cert> {
    let mut out = base.to_vec();
    for s in signers {
        let wanted = alias.is_none_or(|a| s.alias.eq_ignore_ascii_case(a));
        if wanted && !out.iter().any(|c| c.der == s.cert.der) {
            out.push(s.cert.clone());
        }
    }
    out
}

/// An APK is verified like `wrapsign verify APK` everywhere: it must be signed
/// (and, with keystores or `--signer-cert`, by one of their keys).
fn check_apk(cx: &EntryCx, a: &AppSpec, e: &Entry, ctx: &Ctx, r: &mut Report) {
    let file = show(&a.file);
    let mut expected = cx.context.expected_signers.clone();
    for &k in &a.keystores {
        let from = cx.signers.get(k).map(Vec::as_slice).unwrap_or_default();
        expected = expected_signers(&expected, from, a.alias.as_deref());
    }
    let opts = crate::android::apk::Options {
        min_sdk: ctx.sdk.min,
        max_sdk: ctx.sdk.max,
        expected_signers: expected,
        archive: ctx.archive,
        at: Some(ctx.at),
        play_min_validity: Some(ctx.play_min_validity),
    };
    crate::android::apk::check(&a.file, &opts, r);
    // The config relates an app to the keystore alias that signs it: its row
    // shows that key's expiry.
    if let Origin::Config { .. } = e.origin {
        let mut item = Item::new(ItemKind::App, &file).fact("platform", "android");
        if let Some(Entry {
            what: What::Keystore(k),
            ..
        }) = a.keystores.first().and_then(|&ki| cx.inv.entries.get(ki))
        {
            item = item.fact("keystore", show(&k.file));
        }
        if let Some(alias) = &a.alias {
            item = item.fact("alias", alias.as_str());
        }
        r.item(item);
    }
}

/// An Android app's row shows the key that signs it: its keystore alias's
/// certificate (expiry, subject, password source, status).
fn link_apk_rows(inv: &Inventory, rows: &mut [Row]) {
    for (i, e) in inv.entries.iter().enumerate() {
        let What::App(AppSpec {
            keystores, alias, ..
        }) = &e.what
        else {
            continue;
        };
        let Some(&k) = keystores.first() else {
            continue;
        };
        let signer = rows
            .iter()
            .filter(|r| r.entry == k)
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
