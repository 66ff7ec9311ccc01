//! `wrapsign sign` for iOS: re-signs an `.ipa` or `.app` with a distribution
//! identity and one provisioning profile per app/extension, in the signer
//! pipeline after the checks of `wrapsign verify` pass.
//! The identity may come as a `.p12`, a PEM key + certificate, or a keystore
//! alias, as long as it holds an Apple certificate.
//!
//! Order of work, so that nothing is written unless everything is right:
//! 1. identity and profiles are loaded and checked (cheap; the first gate);
//! 2. the app is extracted into a private folder next to the destination and
//!    every bundle is paired with its profile and its entitlements derived;
//! 3. the gate again: all findings so far, after `--allow/--warn/--deny`;
//! 4. Info.plists (for `--bundle-id`) and `embedded.mobileprovision` files are
//!    updated and apple-codesign signs the tree in place, deepest bundle first;
//! 5. the output is written beside the destination, the signatures are read
//!    back (a self-check), and the pipeline puts it in place atomically.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Mutex;

use apple_codesign::{SettingsScope, SigningSettings, UnifiedSigner};
use indicatif::ProgressBar;
use plist::Dictionary;

pub use crate::atomic::Destination;
use crate::diag::{Baseline, Code, FailOn, Finding, Item, ItemKind, Policy, Report};
use crate::identity::{self, Family, Identity};
use crate::ios::app::{self, BundleKind};
use crate::ios::bundle::{self, Extracted};
use crate::ios::certificate;
use crate::ios::entitlements::{self, DeriveInput};
use crate::ios::integrity::Depth;
use crate::ios::profile::{self, Profile};
use crate::ios::Ctx;
use crate::outcome::Judge;
pub use crate::outcome::Outcome;
use crate::signer::{self, Output, Run, SelfCheck, Settings, Staged, Stop};
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

/// Everything an IPA signing run needs, independent of the command line:
/// the pipeline's [`Settings`] (input, destination, identity, time, trust) and
/// the iOS options. Build it with [`Request::new`].
#[derive(Clone, Debug)]
pub struct Request {
    pub settings: Settings,
    pub profiles: Vec<ProfileArg>,
    /// A folder of candidate profiles: each bundle without a `--profile` gets the
    /// best one (src/ios/select.rs), as `verify --profiles-dir` does.
    pub profiles_dir: Option<PathBuf>,
    pub bundle_id: Option<String>,
    pub entitlements: Option<PathBuf>,
    pub timestamp_url: Option<String>,
}

impl Request {
    pub fn new(settings: Settings) -> Request {
        Request {
            settings,
            profiles: Vec::new(),
            profiles_dir: None,
            bundle_id: None,
            entitlements: None,
            timestamp_url: None,
        }
    }
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

/// Signs an IPA or `.app`. Never panics on bad input; every problem is a finding.
pub fn run(
    req: &Request,
    policy: &Policy,
    baseline: Option<&Baseline>,
    fail_on: FailOn,
) -> Outcome {
    let judge = Judge {
        policy,
        baseline,
        fail_on,
        at: req.settings.at(),
    };
    let mut signer = IpaSigner {
        req,
        loaded: Vec::new(),
        kind: Kind::Unknown,
        dest_is_dir: false,
        plans: Vec::new(),
        ex: None,
        ctx: None,
    };
    signer::run(&mut signer, &req.settings, judge)
}

/// The IPA signer, as the pipeline drives it.
struct IpaSigner<'r> {
    req: &'r Request,
    loaded: Vec<Loaded>,
    /// What the input is: an IPA or an `.app` folder.
    kind: Kind,
    /// The output is an `.app` folder (else an IPA file).
    dest_is_dir: bool,
    plans: Vec<Plan>,
    ex: Option<Extracted>,
    /// The iOS checks' context, for reading the signed app back.
    ctx: Option<Ctx>,
}

impl IpaSigner<'_> {
    fn file(&self) -> String {
        self.req.settings.input.display().to_string()
    }
}

impl signer::Signer for IpaSigner<'_> {
    fn review(&self, id: &identity::Loaded, report: &mut Report) {
        // Its material's checks ran; what iOS adds is that it be Apple's.
        if id.family != Family::Apple {
            let who = id.cert.name().to_string();
            report.push(
                Finding::new(
                    Code::CertNotDistribution,
                    &id.origin.file,
                    format!(
                        "\"{who}\" ({}) is not an Apple certificate; iOS apps are signed with the team's Apple Distribution identity",
                        id.origin
                    ),
                )
                .subject(who)
                .detail("kind", certificate::CertKind::Other.name()),
            );
        }
    }

    fn gather(&mut self, run: &mut Run) {
        let ctx = &run.ios;
        let report = &mut run.report;
        for arg in &self.req.profiles {
            let pfile = arg.path.display().to_string();
            let parsed = std::fs::read(&arg.path)
                .map_err(|e| format!("cannot read {pfile}: {e}"))
                .and_then(|d| Profile::parse(&pfile, &d, &ctx.trust).map(|p| (p, d)));
            match parsed {
                Ok((p, bytes)) => {
                    profile::check(&p, ctx, report);
                    self.loaded.push(Loaded {
                        arg: arg.clone(),
                        profile: p,
                        bytes,
                        used: false,
                    });
                }
                Err(e) => report.push(Finding::unreadable(&pfile, format!("{pfile}: {e}"))),
            }
        }
    }

    fn check(&mut self, run: &mut Run, _id: &Identity) -> bool {
        let req = self.req;
        let file = self.file();
        let report = &mut run.report;
        self.kind = match sniff::sniff_path(&req.settings.input) {
            Ok(k) => k,
            Err(e) => {
                report.push(Finding::unreadable(
                    &file,
                    format!("cannot read {file}: {e}"),
                ));
                return false;
            }
        };
        self.dest_is_dir = match self.kind {
            Kind::Ipa => false,
            Kind::AppDir => !run
                .dest
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("ipa")),
            Kind::Zip => {
                // A damaged or hostile IPA is still an IPA: say what is wrong with it.
                report.push(
                    match crate::zip::Archive::open_path(&req.settings.input, &run.ios.archive) {
                        Err(f) => f,
                        Ok(_) => Finding::unreadable(
                            &file,
                            format!("{file} is a zip archive without Payload/*.app: not an IPA"),
                        ),
                    },
                );
                return false;
            }
            other => {
                report.push(Finding::unreadable(
                    &file,
                    format!(
                        "{file} is a {}, not an IPA or .app bundle",
                        other.describe()
                    ),
                ));
                return false;
            }
        };
        self.ctx = Some(run.ios.clone());
        true
    }

    /// Refuses destinations that would clobber something that is not ours.
    fn check_destination(&self, run: &Run) -> Result<(), String> {
        let dest = &run.dest;
        if let Ok(m) = std::fs::symlink_metadata(dest) {
            if self.dest_is_dir {
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

    fn needs_work_dir(&self) -> bool {
        true
    }

    fn write(&mut self, run: &mut Run, id: &Identity, work: Option<&Path>) -> Result<Staged, Stop> {
        let req = self.req;
        let file = self.file();
        let Some(work) = work else {
            return Err(Stop::Reported);
        };
        let bar = run.progress.bar(0, "extract");
        let extracted = match self.kind {
            Kind::Ipa => bundle::extract_ipa(&req.settings.input, work, &run.ios.archive, &bar),
            _ => bundle::copy_app_dir(&req.settings.input, work, &bar),
        };
        bar.finish_and_clear();
        let ex = extracted?;
        let apple_id = id_for_checks(id);
        let Some(plans) = plan(
            req,
            &ex,
            &file,
            &apple_id,
            &mut self.loaded,
            &run.ios,
            &mut run.report,
        ) else {
            return Err(Stop::Reported);
        };
        self.plans = plans;
        // The gate again, now that every bundle is paired with its profile.
        if run.fails() {
            return Err(Stop::Reported);
        }
        prepare(req, &ex, &self.plans, &self.loaded, &file)?;
        let sign_bar = run.progress.spinner("sign", "Mach-O signed");
        let signed = sign_tree(req, &ex, &self.plans, id, &sign_bar);
        sign_bar.finish_and_clear();
        damage_for_tests(&ex);
        if let Err(msg) = signed {
            return Err(Finding::new(
                Code::SignFailed,
                &file,
                format!("{file}: signing failed: {msg}"),
            )
            .into());
        }
        let app_dir = ex.app_dir();
        let staged = if self.dest_is_dir {
            Staged::dir(app_dir)
        } else {
            let label = run.dest.display().to_string();
            let out = run.output_file()?;
            let write_bar = run.progress.bar(0, "write");
            let from_ipa = (self.kind == Kind::Ipa).then_some(req.settings.input.as_path());
            let written = write_ipa_file(&ex, from_ipa, out, &label, &write_bar);
            write_bar.finish_and_clear();
            let out = written.map_err(|m| Finding::new(Code::SignFailed, &label, m))?;
            Staged::file(out).with_tree(app_dir)
        };
        self.ex = Some(ex);
        Ok(staged)
    }

    fn self_checks(&self) -> Vec<Box<dyn SelfCheck + '_>> {
        let mut v: Vec<Box<dyn SelfCheck + '_>> = Vec::new();
        if let Some(ctx) = &self.ctx {
            v.push(Box::new(ReadBack {
                plans: &self.plans,
                ctx,
                file: self.file(),
            }));
            v.push(Box::new(Verifies { ctx }));
        }
        v
    }

    fn describe(&self, run: &mut Run, id: &Identity) {
        let out_label = run.dest.display().to_string();
        for p in &self.plans {
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
                if let Some(l) = self.loaded.get(i) {
                    item = item
                        .fact("profile", l.profile.display_name())
                        .fact("profile_file", l.profile.file.as_str());
                }
            }
            if let Some(e) = &p.entitlements {
                item = item.fact("entitlements", e.keys().cloned().collect::<Vec<_>>());
            }
            run.report.item(item);
        }
        run.report.item(
            Item::new(ItemKind::Output, &out_label)
                .subject(out_label.clone())
                .fact(
                    "kind",
                    if self.dest_is_dir {
                        "app folder"
                    } else {
                        "ipa"
                    },
                )
                .fact("signer", id.cert.name())
                .fact("signer_sha1", id.cert.sha1.as_str()),
        );
    }
}

/// The identity as the iOS profile checks take it.
fn id_for_checks(id: &Identity) -> certificate::Identity {
    certificate::Identity {
        file: id.origin.file.clone(),
        cert: id.cert.clone(),
        key: Some(id.key.clone()),
        from_p12: id.origin.container == identity::Container::Pkcs12,
        orphan_key: false,
        chain: id.chain.clone(),
    }
}

/// Writes the signed tree as an IPA into `out` (not committed: the pipeline
/// checks it and puts it in place). Unchanged entries of `from_ipa` are copied.
fn write_ipa_file(
    ex: &Extracted,
    from_ipa: Option<&Path>,
    out: crate::atomic::AtomicFile,
    label: &str,
    bar: &ProgressBar,
) -> Result<crate::atomic::AtomicFile, String> {
    let w = std::io::BufWriter::with_capacity(1 << 20, out);
    let w = bundle::write_ipa(w, ex, from_ipa, bar).map_err(|e| format!("{label}: {e}"))?;
    let mut out = w
        .into_inner()
        .map_err(|e| format!("cannot write {label}: {}", e.error()))?;
    std::io::Write::flush(&mut out).map_err(|e| format!("cannot write {label}: {e}"))?;
    Ok(out)
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
    id: &certificate::Identity,
    loaded: &mut Vec<Loaded>,
    ctx: &Ctx,
    report: &mut Report,
) -> Option<Vec<Plan>> {
    // The profiles of --profiles-dir are checked only when chosen for a bundle.
    let candidates = &match &req.profiles_dir {
        Some(dir) => profile::load_dir(dir, &ctx.trust, report),
        None => Vec::new(),
    };
    let app = match app::open_with(&ex.app_dir(), ctx, Depth::Signatures) {
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
    let fail = |m: String| Finding::new(Code::SignFailed, file, format!("{file}: {m}"));
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

    let der = id.key.to_pkcs8_der()?;
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

/// The first self-check: every signed executable is read back from the
/// signed tree; identifier, team and signer must be ours.
struct ReadBack<'a> {
    plans: &'a [Plan],
    ctx: &'a Ctx,
    /// The input, as findings name it.
    file: String,
}

impl SelfCheck for ReadBack<'_> {
    fn check(&self, out: &Output, report: &mut Report) {
        let Some(tree) = out.tree else { return };
        if let Err(msg) = read_back(tree, self.plans, out.identity, self.ctx) {
            let file = &self.file;
            report.push(Finding::new(
                Code::SignFailed,
                file,
                format!("{file}: the signed app does not read back as expected: {msg}"),
            ));
        }
    }
}

/// The second self-check: the output, as written (the IPA file or the `.app`
/// folder), passes `wrapsign verify`'s code-signature checks: every page and
/// slot hash, every CMS, every seal (`crate::ios::integrity`). The signer's
/// chain is left out: the identity's checks judged it before signing.
struct Verifies<'a> {
    ctx: &'a Ctx,
}

impl SelfCheck for Verifies<'_> {
    fn check(&self, out: &Output, report: &mut Report) {
        for f in app::self_check(out.path, self.ctx) {
            report.push(f);
        }
    }
}

/// Fault injection for the test suite, compiled into debug builds only: flips
/// one byte of the signed file named by `WRAPSIGN_TEST_DAMAGE_SIGNED` (relative
/// to the app) after signing, so the self-check's refusal is tested end to end.
#[cfg(debug_assertions)]
fn damage_for_tests(ex: &Extracted) {
    if let Some(rel) = std::env::var_os("WRAPSIGN_TEST_DAMAGE_SIGNED") {
        let p = ex.app_dir().join(rel);
        if let Ok(mut d) = std::fs::read(&p) {
            if let Some(b) = d.get_mut(0x2000) {
                *b ^= 1;
                let _ = std::fs::write(&p, d);
            }
        }
    }
}

#[cfg(not(debug_assertions))]
fn damage_for_tests(_: &Extracted) {}

fn read_back(app_dir: &Path, plans: &[Plan], id: &Identity, ctx: &Ctx) -> Result<(), String> {
    let app = app::open_with(app_dir, ctx, Depth::Signatures).map_err(|f| f.message)?;
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
