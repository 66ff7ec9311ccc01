//! `wrapsign sign` for iOS: re-signs an `.ipa` or `.app` with a distribution
//! identity and one provisioning profile per app/extension, after the checks
//! of `wrapsign verify` pass.
//!
//! Order of work, so that nothing is written unless everything is right:
//! 1. identity and profiles are loaded and checked (cheap; stop here on errors);
//! 2. the app is extracted into a private folder next to the destination and
//!    every bundle is paired with its profile and its entitlements derived;
//! 3. the gate: all findings so far, after `--allow/--warn/--deny`, must pass;
//! 4. Info.plists (for `--bundle-id`) and `embedded.mobileprovision` files are
//!    updated and apple-codesign signs the tree in place, deepest bundle first;
//! 5. the signatures are read back, and the output is written atomically.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Mutex;

use apple_codesign::{SettingsScope, SigningSettings, UnifiedSigner};
use indicatif::{ProgressBar, ProgressStyle};
use plist::Dictionary;
use time::OffsetDateTime;

use crate::at::Horizon;
pub use crate::atomic::Destination;
use crate::atomic::{self, AtomicFile, WorkDir};
use crate::diag::{Baseline, Code, FailOn, Finding, Item, ItemKind, Policy, Report};
use crate::ios::app::{self, BundleKind};
use crate::ios::bundle::{self, Extracted};
use crate::ios::certificate::{self, Identity};
use crate::ios::entitlements::{self, DeriveInput};
use crate::ios::profile::{self, Profile};
use crate::ios::{Ctx, Trust};
use crate::outcome::Judge;
pub use crate::outcome::Outcome;
use crate::secret::PasswordSpec;
use crate::sniff::{self, Kind};

/// `--profile [BUNDLE_ID=]FILE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileArg {
    /// The bundle this profile is for, when named explicitly.
    pub bundle_id: Option<String>,
    pub path: PathBuf,
}

fn is_bundle_id(s: &str) -> bool {
    !s.is_empty()
        && s.contains('.')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        && !s.starts_with('.')
        && !s.ends_with('.')
}

impl FromStr for ProfileArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err("expected FILE or BUNDLE_ID=FILE".into());
        }
        // A file whose name contains '=' still works as a plain path.
        if let Some((id, file)) = s.split_once('=') {
            if is_bundle_id(id) && !Path::new(s).exists() {
                if file.is_empty() {
                    return Err(format!("{id}= names no profile file"));
                }
                return Ok(ProfileArg {
                    bundle_id: Some(id.to_string()),
                    path: PathBuf::from(file),
                });
            }
        }
        Ok(ProfileArg {
            bundle_id: None,
            path: PathBuf::from(s),
        })
    }
}

/// Everything a signing run needs, independent of the command line.
#[derive(Clone, Debug)]
pub struct Request {
    pub input: PathBuf,
    pub destination: Destination,
    pub cert: PathBuf,
    pub cert_pass: Option<PasswordSpec>,
    pub key: Option<PathBuf>,
    pub profiles: Vec<ProfileArg>,
    /// A folder of candidate profiles: each bundle without a `--profile` gets the
    /// best one (src/ios/select.rs), as `verify --profiles-dir` does.
    pub profiles_dir: Option<PathBuf>,
    pub bundle_id: Option<String>,
    pub entitlements: Option<PathBuf>,
    pub trust_roots: Vec<PathBuf>,
    pub timestamp_url: Option<String>,
    pub at: OffsetDateTime,
    pub warn_days: i64,
    pub fail_days: i64,
    /// `--online`: OCSP for the identity with this timeout; `None` stays offline.
    pub online: Option<std::time::Duration>,
    /// Show a progress bar on stderr (only honoured when stderr is a terminal).
    pub progress: bool,
    /// How far the input IPA may expand (`--max-expanded-size`, `--max-expand-ratio`).
    pub archive: crate::archive::Limits,
}

struct Loaded {
    arg: ProfileArg,
    profile: Profile,
    bytes: Vec<u8>,
    used: bool,
}

/// One bundle to sign, as planned before anything is modified.
struct Plan {
    /// Relative to the app folder; "." for the main bundle.
    path: String,
    /// For messages: `App.app/PlugIns/X.appex`.
    shown: String,
    kind: BundleKind,
    old_id: Option<String>,
    new_id: Option<String>,
    /// Index into the loaded profiles.
    profile: Option<usize>,
    entitlements: Option<Dictionary>,
    executable: Option<String>,
}

fn new_bar(show: bool, len: u64, what: &str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    let style =
        ProgressStyle::with_template("{prefix:>10} [{bar:30}] {bytes}/{total_bytes} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(what.to_string());
    bar
}

/// Signs an IPA or `.app`. Never panics on bad input; every problem is a finding.
pub fn run(
    req: &Request,
    policy: &Policy,
    baseline: Option<&Baseline>,
    fail_on: FailOn,
) -> Outcome {
    atomic::install_signal_cleanup();
    let judge = Judge {
        policy,
        baseline,
        fail_on,
        at: req.at,
    };
    let mut report = Report::default();
    let trust = Trust::with_roots(&req.trust_roots, &mut report);
    let ctx = Ctx {
        horizon: Horizon {
            warn_days: req.warn_days,
            fail_days: req.fail_days,
            ..Horizon::default()
        },
        online: req.online,
        archive: req.archive,
        ..Ctx::new(req.at, trust)
    };
    let file = req.input.display().to_string();

    // 1. Identity and profiles.
    let id = match certificate::load(&req.cert, req.cert_pass.as_ref(), req.key.as_deref()) {
        Ok(id) => id,
        Err(f) => {
            report.push(f);
            return judge.finish(report, None);
        }
    };
    certificate::check(&id, &ctx, &mut report);
    if id.key.is_none() && !id.from_p12 {
        report.push(
            Finding::new(
                Code::CertKeyMissing,
                &id.file,
                format!(
                    "{} holds no private key; pass the identity as .p12 or add --key",
                    id.file
                ),
            )
            .subject(id.cert.name().to_string()),
        );
    }
    let mut loaded = Vec::new();
    for arg in &req.profiles {
        let pfile = arg.path.display().to_string();
        let parsed = std::fs::read(&arg.path)
            .map_err(|e| format!("cannot read {pfile}: {e}"))
            .and_then(|d| Profile::parse(&pfile, &d, &ctx.trust).map(|p| (p, d)));
        match parsed {
            Ok((p, bytes)) => {
                profile::check(&p, &ctx, &mut report);
                loaded.push(Loaded {
                    arg: arg.clone(),
                    profile: p,
                    bytes,
                    used: false,
                });
            }
            Err(e) => report.push(Finding::unreadable(&pfile, format!("{pfile}: {e}"))),
        }
    }
    if judge.fails(&report) {
        return judge.finish(report, None);
    }

    // 2. The app, in a private folder beside the destination.
    let kind = match sniff::sniff_path(&req.input) {
        Ok(k) => k,
        Err(e) => {
            report.push(Finding::unreadable(
                &file,
                format!("cannot read {file}: {e}"),
            ));
            return judge.finish(report, None);
        }
    };
    let dest = match &req.destination {
        Destination::InPlace => req.input.clone(),
        Destination::To(p) => p.clone(),
    };
    let dest_is_dir = match kind {
        Kind::Ipa => false,
        Kind::AppDir => !dest
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("ipa")),
        Kind::Zip => {
            // A damaged or hostile IPA is still an IPA: say what is wrong with it.
            report.push(match crate::archive::audit_path(&req.input, &ctx.archive) {
                Err(f) => f,
                Ok(_) => Finding::unreadable(
                    &file,
                    format!("{file} is a zip archive without Payload/*.app: not an IPA"),
                ),
            });
            return judge.finish(report, None);
        }
        other => {
            report.push(Finding::unreadable(
                &file,
                format!(
                    "{file} is a {}, not an IPA or .app bundle",
                    other.describe()
                ),
            ));
            return judge.finish(report, None);
        }
    };
    if let Err(msg) = check_destination(&req.input, &dest, &req.destination, dest_is_dir) {
        report.push(Finding::new(
            Code::SignFailed,
            dest.display().to_string(),
            msg,
        ));
        return judge.finish(report, None);
    }
    let work = match WorkDir::new_in(&atomic::parent_dir(&dest), &dest) {
        Ok(w) => w,
        Err(e) => {
            report.push(Finding::new(
                Code::SignFailed,
                dest.display().to_string(),
                format!(
                    "cannot create a private work folder beside {}: {e}",
                    dest.display()
                ),
            ));
            return judge.finish(report, None);
        }
    };
    let show = req.progress && std::io::stderr().is_terminal();
    let bar = new_bar(show, 0, "extract");
    let extracted = match kind {
        Kind::Ipa => bundle::extract_ipa(&req.input, work.path(), &ctx.archive, &bar),
        _ => bundle::copy_app_dir(&req.input, work.path(), &bar),
    };
    bar.finish_and_clear();
    let ex = match extracted {
        Ok(ex) => ex,
        Err(f) => {
            report.push(f);
            return judge.finish(report, None);
        }
    };

    let plans = match plan(req, &ex, &file, &id, &mut loaded, &ctx, &mut report) {
        Some(p) => p,
        None => return judge.finish(report, None),
    };

    // 3. The gate.
    if judge.fails(&report) {
        return judge.finish(report, None);
    }

    // 4. Prepare and sign.
    if let Err(f) = prepare(req, &ex, &plans, &loaded, &file) {
        report.push(f);
        return judge.finish(report, None);
    }
    let sign_bar = if show {
        let b = ProgressBar::new_spinner();
        b.set_style(
            ProgressStyle::with_template("{prefix:>10} {spinner} {pos} Mach-O signed {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        b.set_prefix("sign");
        b.enable_steady_tick(std::time::Duration::from_millis(120));
        b
    } else {
        ProgressBar::hidden()
    };
    let signed = sign_tree(req, &ex, &plans, &id, &sign_bar);
    sign_bar.finish_and_clear();
    if let Err(msg) = signed {
        report.push(Finding::new(
            Code::SignFailed,
            &file,
            format!("{file}: signing failed: {msg}; nothing was written"),
        ));
        return judge.finish(report, None);
    }
    if let Err(msg) = read_back(&ex, &plans, &id, &ctx) {
        report.push(Finding::new(
            Code::SignFailed,
            &file,
            format!(
                "{file}: the signed app does not read back as expected: {msg}; nothing was written"
            ),
        ));
        return judge.finish(report, None);
    }

    // 5. Output.
    let out_label = dest.display().to_string();
    let write_bar = new_bar(show, 0, "write");
    let written = if dest_is_dir {
        let app = ex.app_dir();
        atomic::replace_dir(&app, &dest)
            .map_err(|e| format!("cannot move the signed app to {out_label}: {e}"))
    } else {
        write_ipa_file(
            &ex,
            kind == Kind::Ipa,
            &req.input,
            &dest,
            &req.destination,
            &write_bar,
        )
    };
    write_bar.finish_and_clear();
    drop(work);
    if let Err(msg) = written {
        report.push(Finding::new(
            Code::SignFailed,
            &out_label,
            format!("{msg}; nothing was written"),
        ));
        return judge.finish(report, None);
    }
    for p in &plans {
        let subject = subject_of(&p.shown, p.new_id.as_deref());
        let mut item = Item::new(ItemKind::Signed, &out_label)
            .subject(subject)
            .fact("kind", p.kind.name());
        if let Some(id) = &p.new_id {
            item = item.fact("bundle_id", id.as_str());
        }
        if let Some(t) = id.team() {
            item = item.fact("team_id", t);
        }
        if let Some(i) = p.profile {
            if let Some(l) = loaded.get(i) {
                item = item
                    .fact("profile", l.profile.display_name())
                    .fact("profile_file", l.profile.file.as_str());
            }
        }
        if let Some(e) = &p.entitlements {
            item = item.fact("entitlements", e.keys().cloned().collect::<Vec<_>>());
        }
        report.item(item);
    }
    report.item(
        Item::new(ItemKind::Output, &out_label)
            .subject(out_label.clone())
            .fact("kind", if dest_is_dir { "app folder" } else { "ipa" })
            .fact("signer", id.cert.name())
            .fact("signer_sha1", id.cert.sha1.as_str()),
    );
    judge.finish(report, Some(dest))
}

/// Refuses destinations that would clobber the input or something that is not ours.
fn check_destination(
    input: &Path,
    dest: &Path,
    how: &Destination,
    dest_is_dir: bool,
) -> Result<(), String> {
    how.check(input)?;
    if let Ok(m) = std::fs::symlink_metadata(dest) {
        if dest_is_dir {
            if !m.is_dir() || !matches!(sniff::sniff_path(dest), Ok(Kind::AppDir)) {
                return Err(format!(
                    "{} exists and is not an .app bundle; refusing to replace it",
                    dest.display()
                ));
            }
        } else if m.is_dir() {
            return Err(format!(
                "{} is a folder; give a file name for the signed IPA",
                dest.display()
            ));
        }
    }
    Ok(())
}

fn write_ipa_file(
    ex: &Extracted,
    from_ipa: bool,
    input: &Path,
    dest: &Path,
    how: &Destination,
    bar: &ProgressBar,
) -> Result<(), String> {
    let label = dest.display().to_string();
    let mut out = AtomicFile::create(dest).map_err(|e| format!("cannot create {label}: {e}"))?;
    if *how == Destination::InPlace {
        let _ = out.copy_permissions_from(input);
    } else {
        out.set_mode(0o644)
            .map_err(|e| format!("cannot create {label}: {e}"))?;
    }
    let w = std::io::BufWriter::with_capacity(1 << 20, out);
    let w = bundle::write_ipa(w, ex, from_ipa.then_some(input), bar)
        .map_err(|e| format!("{label}: {e}"))?;
    let out = w
        .into_inner()
        .map_err(|e| format!("cannot write {label}: {}", e.error()))?;
    out.commit()
        .map_err(|e| format!("cannot write {label}: {e}"))
}

fn subject_of(path: &str, id: Option<&str>) -> String {
    match id {
        Some(id) => format!("{path} ({id})"),
        None => path.to_string(),
    }
}

/// Maps an old bundle id to the new one under `--bundle-id`: the main id itself
/// and ids that extend it (`old.share` -> `new.share`).
fn map_id(old_main: Option<&str>, new_main: Option<&str>, id: &str) -> Option<String> {
    let (old, new) = (old_main?, new_main?);
    if id == old {
        Some(new.to_string())
    } else {
        id.strip_prefix(old)
            .filter(|rest| rest.starts_with('.'))
            .map(|rest| format!("{new}{rest}"))
    }
}

/// Pairs each bundle with its profile and derives its entitlements. `None` when
/// some bundle cannot be signed as it must be (the findings are in the report).
fn plan(
    req: &Request,
    ex: &Extracted,
    file: &str,
    id: &Identity,
    loaded: &mut Vec<Loaded>,
    ctx: &Ctx,
    report: &mut Report,
) -> Option<Vec<Plan>> {
    // The profiles of --profiles-dir are checked only when chosen for a bundle.
    let candidates = &match &req.profiles_dir {
        Some(dir) => profile::load_dir(dir, &ctx.trust, report),
        None => Vec::new(),
    };
    let app = match app::open(&ex.app_dir(), ctx) {
        Ok(a) => a,
        Err(mut f) => {
            f.file = file.to_string();
            report.push(f);
            return None;
        }
    };
    let main_old = app.main().and_then(|b| b.bundle_id.clone());
    if let Some(n) = &req.bundle_id {
        let valid = !n.is_empty()
            && !n.starts_with('.')
            && !n.ends_with('.')
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
        if !valid {
            report.push(Finding::unreadable(
                file,
                format!("--bundle-id {n} is not a valid bundle id (letters, digits, '-' and '.')"),
            ));
            return None;
        }
    }
    let override_ents = match &req.entitlements {
        Some(p) => {
            let efile = p.display().to_string();
            match std::fs::read(p)
                .map_err(|e| format!("cannot read {efile}: {e}"))
                .and_then(|d| {
                    plist::from_bytes::<Dictionary>(&d)
                        .map_err(|e| format!("{efile} is not an entitlements plist: {e}"))
                }) {
                Ok(d) => Some(d),
                Err(e) => {
                    report.push(Finding::unreadable(&efile, e));
                    return None;
                }
            }
        }
        None => None,
    };

    let app_name = ex
        .app_rel
        .rsplit('/')
        .next()
        .unwrap_or(&ex.app_rel)
        .to_string();
    let mut plans = Vec::new();
    for b in &app.bundles {
        let shown = if b.path == "." {
            app_name.clone()
        } else {
            format!("{app_name}/{}", b.path)
        };
        let exe_path = b.executable.as_ref().map(|e| {
            if b.path == "." {
                e.clone()
            } else {
                format!("{}/{e}", b.path)
            }
        });
        if b.executable_missing {
            let inner = exe_path.clone().unwrap_or_else(|| b.path.clone());
            report.push(
                Finding::new(
                    Code::AppExecutableMissing,
                    file,
                    format!(
                        "{file}: {}/{inner}, the executable named by Info.plist, is missing; rebuild or re-export the app, it cannot be signed",
                        ex.app_rel
                    ),
                )
                .subject(inner),
            );
            continue;
        }
        if let Some(Err(e)) = &b.signature {
            let inner = exe_path.clone().unwrap_or_else(|| b.path.clone());
            report.push(
                Finding::unreadable(
                    file,
                    format!(
                        "{file}: {}/{inner}: {e}; rebuild the app, it cannot be signed",
                        ex.app_rel
                    ),
                )
                .subject(inner),
            );
            continue;
        }
        let new_id = b.bundle_id.as_deref().map(|old| {
            map_id(main_old.as_deref(), req.bundle_id.as_deref(), old)
                .unwrap_or_else(|| old.to_string())
        });
        let subject = subject_of(&shown, new_id.as_deref());
        let sig = b.signature.as_ref().and_then(|s| s.as_ref().ok());
        let mut p = Plan {
            path: b.path.clone(),
            shown: shown.clone(),
            kind: b.kind,
            old_id: b.bundle_id.clone(),
            new_id: new_id.clone(),
            profile: None,
            entitlements: None,
            executable: exe_path,
        };
        if !b.kind.needs_profile() {
            // Frameworks are signed without entitlements; strip any they carried.
            if let Some(old) = sig
                .and_then(|s| s.entitlements.as_ref())
                .filter(|e| !e.is_empty())
            {
                for (k, v) in old {
                    report.push(
                        Finding::new(
                            Code::EntitlementDropped,
                            file,
                            format!("{shown}: entitlement {k} removed: frameworks are signed without entitlements"),
                        )
                        .subject(format!("{subject}: {k}"))
                        .detail("entitlement", k.as_str())
                        .detail("removed", entitlements::show(v)),
                    );
                }
                p.entitlements = Some(Dictionary::new());
            }
            plans.push(p);
            continue;
        }
        let Some(bid) = new_id.as_deref() else {
            report.push(
                Finding::unreadable(file,
                    format!("{file}: {shown} has no CFBundleIdentifier in its Info.plist; it cannot be provisioned"),
                )
                .subject(shown.clone()),
            );
            continue;
        };
        // Named for this bundle, else the explicit App ID, else a wildcard (most specific).
        let chosen = loaded
            .iter()
            .position(|l| l.arg.bundle_id.as_deref() == Some(bid))
            .or_else(|| {
                loaded.iter().position(|l| {
                    l.arg.bundle_id.is_none() && l.profile.bundle_pattern() == Some(bid)
                })
            })
            .or_else(|| {
                loaded
                    .iter()
                    .enumerate()
                    .filter(|(_, l)| l.arg.bundle_id.is_none() && l.profile.matches_bundle_id(bid))
                    .max_by_key(|(_, l)| l.profile.bundle_pattern().map(str::len).unwrap_or(0))
                    .map(|(i, _)| i)
            });
        // No --profile for it: the best candidate of --profiles-dir, if any.
        let chosen = chosen.or_else(|| {
            if candidates.is_empty() {
                return None;
            }
            let profiles: Vec<Profile> = candidates.iter().map(|(p, _)| p.clone()).collect();
            let sel = crate::ios::select::select(bid, &profiles, Some(&id.cert), ctx.at);
            let reasons = sel.reasons(bid);
            let Some(best) = sel.chosen else {
                let mut f = Finding::new(
                    Code::ProfileMissing,
                    file,
                    format!(
                        "{shown} ({bid}) has no usable profile among the {} candidate(s) of --profiles-dir; create an explicit App ID and profile for {bid}",
                        candidates.len()
                    ),
                )
                .subject(subject.clone())
                .detail("bundle_id", bid);
                for r in reasons {
                    f = f.note(r);
                }
                report.push(f);
                return None;
            };
            let idx = profiles.iter().position(|p| std::ptr::eq(p, best))?;
            let (profile, bytes) = candidates.get(idx)?.clone();
            profile::check(&profile, ctx, report);
            let mut f = Finding::new(
                Code::ProfileSelected,
                file,
                format!("{shown} ({bid}) gets profile {} [{}]", profile.display_name(), profile.file),
            )
            .subject(subject.clone())
            .detail("profile", profile.file.as_str());
            for r in reasons {
                f = f.note(r);
            }
            report.push(f);
            loaded.push(Loaded {
                arg: ProfileArg {
                    bundle_id: None,
                    path: PathBuf::from(&profile.file),
                },
                profile,
                bytes,
                used: false,
            });
            Some(loaded.len() - 1)
        });
        // Already reported as missing among the folder's candidates.
        if chosen.is_none() && !candidates.is_empty() {
            continue;
        }
        let Some(i) = chosen else {
            let given: Vec<String> = loaded
                .iter()
                .map(|l| match &l.arg.bundle_id {
                    Some(n) => format!("{n}={}", l.profile.app_id.as_deref().unwrap_or("?")),
                    None => l.profile.app_id.clone().unwrap_or_else(|| "?".into()),
                })
                .collect();
            report.push(
                Finding::new(
                    Code::ProfileMissing,
                    file,
                    format!(
                        "{shown} ({bid}) has no provisioning profile among the given ones ({}); pass --profile {bid}=FILE with the profile made for it{}",
                        if given.is_empty() { "none".to_string() } else { given.join(", ") },
                        if b.kind == BundleKind::App && req.bundle_id.is_none() { ", or change the id with --bundle-id" } else { "" }
                    ),
                )
                .subject(subject.clone())
                .detail("bundle_id", bid),
            );
            continue;
        };
        let Some(l) = loaded.get_mut(i) else { continue };
        l.used = true;
        p.profile = Some(i);
        let prof = &l.profile;
        if !prof.matches_bundle_id(bid) {
            report.push(
                Finding::new(
                    Code::BundleIdMismatch,
                    file,
                    format!(
                        "{shown} has bundle id {bid} but the profile given for it, {}, is for {}; use the profile made for {bid}",
                        prof.display_name(),
                        prof.app_id.as_deref().unwrap_or("no App ID")
                    ),
                )
                .subject(subject.clone())
                .detail("bundle_id", bid)
                .detail("app_id", prof.app_id.clone().unwrap_or_default()),
            );
        }
        let requested = if b.kind == BundleKind::App && b.path == "." && override_ents.is_some() {
            override_ents.as_ref()
        } else {
            sig.and_then(|s| s.entitlements.as_ref())
        };
        // The certificate's team; a certificate without one signs for the profile's.
        let team = id
            .team()
            .or_else(|| prof.team_ids.first().map(String::as_str))
            .unwrap_or_default()
            .to_string();
        let derived = entitlements::derive(&DeriveInput {
            requested,
            granted: &prof.entitlements,
            bundle_id: bid,
            team: &team,
            old_team: sig.and_then(|s| s.team_id.as_deref()),
            distribution: prof.kind.is_distribution(),
            rename: main_old.as_deref().zip(req.bundle_id.as_deref()),
        });
        for d in &derived.dropped {
            report.push(
                Finding::new(
                    Code::EntitlementDropped,
                    file,
                    format!(
                        "{shown}: entitlement {} {} left out ({}); {}",
                        d.key,
                        entitlements::show(&d.removed),
                        d.reason,
                        if d.key == "get-task-allow" {
                            "debugging needs a development identity and profile".to_string()
                        } else {
                            format!("if the app needs it, enable the capability on the App ID and regenerate {}", prof.display_name())
                        }
                    ),
                )
                .subject(format!("{subject}: {}", d.key))
                .detail("entitlement", d.key.as_str())
                .detail("removed", entitlements::show(&d.removed))
                .detail("profile", prof.display_name()),
            );
        }
        p.entitlements = Some(derived.entitlements);
        plans.push(p);
    }

    for l in loaded.iter() {
        if l.used {
            certificate::check_against_profile(id, &l.profile, report);
        } else {
            let msg = match &l.arg.bundle_id {
                Some(n) => format!(
                    "profile {} was given for {n}, but the app has no bundle {n}; check the id (after --bundle-id)",
                    l.profile.display_name()
                ),
                None => format!(
                    "profile {} matches no bundle of {file}; name its bundle with --profile BUNDLE_ID=FILE or drop it",
                    l.profile.display_name(),
                ),
            };
            report.push(
                Finding::new(Code::ProfileUnused, &l.profile.file, msg)
                    .subject(l.profile.display_name()),
            );
        }
    }
    // A bundle that could not be planned (unreadable, no id, no profile) would
    // keep its old entitlements or profile: never sign then, whatever the policy.
    let complete = plans.len() == app.bundles.len()
        && plans
            .iter()
            .all(|p| !p.kind.needs_profile() || p.profile.is_some());
    complete.then_some(plans)
}

fn bundle_dir(ex: &Extracted, path: &str) -> PathBuf {
    if path == "." {
        ex.app_dir()
    } else {
        ex.app_dir().join(path)
    }
}

/// Rewrites bundle ids and puts each bundle's profile in place.
fn prepare(
    req: &Request,
    ex: &Extracted,
    plans: &[Plan],
    loaded: &[Loaded],
    file: &str,
) -> Result<(), Finding> {
    let fail = |m: String| {
        Finding::new(
            Code::SignFailed,
            file,
            format!("{file}: {m}; nothing was written"),
        )
    };
    let main_old = plans
        .iter()
        .find(|p| p.path == ".")
        .and_then(|p| p.old_id.clone());
    for p in plans {
        let dir = bundle_dir(ex, &p.path);
        if req.bundle_id.is_some() {
            let info = if dir.join("Info.plist").is_file() {
                dir.join("Info.plist")
            } else {
                dir.join("Resources/Info.plist")
            };
            if info.is_file() {
                let map = |s: &str| map_id(main_old.as_deref(), req.bundle_id.as_deref(), s);
                bundle::rewrite_info_plist(&info, &map).map_err(fail)?;
            }
        }
        if let Some(l) = p.profile.and_then(|i| loaded.get(i)) {
            let target = dir.join("embedded.mobileprovision");
            if std::fs::symlink_metadata(&target).is_ok_and(|m| m.file_type().is_symlink()) {
                std::fs::remove_file(&target)
                    .map_err(|e| fail(format!("cannot replace {}: {e}", target.display())))?;
            }
            std::fs::write(&target, &l.bytes)
                .map_err(|e| fail(format!("cannot write {}: {e}", target.display())))?;
        }
    }
    Ok(())
}

/// apple-codesign reports its progress through `log`; this forwards the
/// "signing ..." lines to the progress bar and discards the rest (its warnings
/// are about choices we made deliberately, e.g. a team id on a non-Apple CA).
struct BarLog;

static BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);

impl log::Log for BarLog {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.level() <= log::Level::Warn
    }
    fn log(&self, r: &log::Record) {
        let msg = r.args().to_string();
        if let Ok(g) = BAR.lock() {
            if let Some(bar) = g.as_ref() {
                for p in ["signing Mach-O file ", "signing main executable "] {
                    if let Some(rest) = msg.strip_prefix(p) {
                        bar.inc(1);
                        bar.set_message(rest.to_string());
                    }
                }
            }
        }
    }
    fn flush(&self) {}
}

static LOGGER: BarLog = BarLog;

fn sign_tree(
    req: &Request,
    ex: &Extracted,
    plans: &[Plan],
    id: &Identity,
    bar: &ProgressBar,
) -> Result<(), String> {
    use apple_codesign::cryptography::InMemoryPrivateKey;
    use x509_certificate::CapturedX509Certificate;

    let key = id.key.as_ref().ok_or("the identity has no private key")?;
    let der = key.to_pkcs8_der()?;
    let signer = InMemoryPrivateKey::from_pkcs8_der(&*der)
        .map_err(|e| format!("unsupported signing key: {e}"))?;
    let cert = CapturedX509Certificate::from_der(id.cert.der.clone())
        .map_err(|e| format!("unusable certificate: {e}"))?;
    let mut settings = SigningSettings::default();
    settings.set_signing_key(&signer, cert);
    // The chain shipped in the .p12 (intermediates), then Apple's for Apple-issued certs.
    for c in id.chain.iter().filter(|c| !c.is_self_issued()) {
        settings
            .chain_certificate_der(&c.der)
            .map_err(|e| format!("unusable chain certificate: {e}"))?;
    }
    if id.chain.is_empty() {
        settings.chain_apple_certificates();
    }
    if let Some(team) = id.team() {
        settings.set_team_id(team);
    }
    for pat in ["**/*.dSYM", "**/*.dSYM/**"] {
        settings
            .add_path_exclusion(pat)
            .map_err(|e| e.to_string())?;
    }
    if let Some(url) = &req.timestamp_url {
        settings
            .set_time_stamp_url(url.as_str())
            .map_err(|e| format!("--timestamp-url {url}: {e}"))?;
    }
    // Entitlements for every bundle explicitly: without them apple-codesign keeps
    // the old ones.
    for p in plans {
        if let Some(e) = &p.entitlements {
            let scope = if p.path == "." {
                SettingsScope::Main
            } else {
                SettingsScope::Path(p.path.clone())
            };
            settings
                .set_entitlements_xml(scope, entitlements::to_xml(e)?)
                .map_err(|e| format!("entitlements: {e}"))?;
        }
    }
    if let Ok(mut g) = BAR.lock() {
        *g = Some(bar.clone());
    }
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Warn);
    }
    let result = UnifiedSigner::new(settings)
        .sign_path_in_place(ex.app_dir())
        .map_err(|e| e.to_string());
    if let Ok(mut g) = BAR.lock() {
        *g = None;
    }
    result
}

/// Reads every signed executable back: identifier, team and signer must be ours.
fn read_back(ex: &Extracted, plans: &[Plan], id: &Identity, ctx: &Ctx) -> Result<(), String> {
    let app = app::open(&ex.app_dir(), ctx).map_err(|f| f.message)?;
    for p in plans {
        let Some(exe) = &p.executable else { continue };
        let Some(b) = app.bundles.iter().find(|b| b.path == p.path) else {
            return Err(format!("{} disappeared", p.path));
        };
        let sig = match &b.signature {
            Some(Ok(s)) => s,
            Some(Err(e)) => return Err(format!("{exe}: {e}")),
            None => return Err(format!("{exe} is not signed")),
        };
        if let Some(want) = &p.new_id {
            if &sig.identifier != want {
                return Err(format!("{exe} is signed as {}, not {want}", sig.identifier));
            }
        }
        if sig.team_id.as_deref() != id.team() {
            return Err(format!(
                "{exe} carries team {:?}, not {:?}",
                sig.team_id,
                id.team()
            ));
        }
        if sig.signer.as_ref().map(|c| &c.der) != Some(&id.cert.der) {
            return Err(format!("{exe} is not signed by {}", id.cert.name()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_args() {
        let a: ProfileArg = "com.example.app.share=share.mobileprovision"
            .parse()
            .unwrap();
        assert_eq!(a.bundle_id.as_deref(), Some("com.example.app.share"));
        assert_eq!(a.path, PathBuf::from("share.mobileprovision"));
        let b: ProfileArg = "dir/main.mobileprovision".parse().unwrap();
        assert_eq!(b.bundle_id, None);
        let c: ProfileArg = "weird=name.mobileprovision".parse().unwrap();
        assert_eq!(c.bundle_id, None, "not a bundle id: a plain path");
        assert!("com.x=".parse::<ProfileArg>().is_err());
    }

    #[test]
    fn ids_follow_the_main_id() {
        let m = |id| map_id(Some("com.a.app"), Some("org.b.new"), id);
        assert_eq!(m("com.a.app").as_deref(), Some("org.b.new"));
        assert_eq!(m("com.a.app.share").as_deref(), Some("org.b.new.share"));
        assert_eq!(m("com.a.application"), None);
        assert_eq!(m("com.other"), None);
        assert_eq!(map_id(Some("com.a.app"), None, "com.a.app"), None);
    }
}
