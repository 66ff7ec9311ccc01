//! Apps (`.ipa` or `.app`): the main bundle and every nested bundle (extensions,
//! watch apps, frameworks), each with its Info.plist, embedded profile and
//! code signature. An IPA is read straight from the zip, never extracted.

use std::collections::BTreeSet;
use std::path::Path;

use plist::{Dictionary, Value};

use crate::diag::{Code, Finding, Item, ItemKind, Report};
use crate::ios::certificate::{self, Identity};
use crate::ios::code_signature::{self, SliceCheck};
use crate::ios::entitlements;
use crate::ios::integrity::{self, BundleMeta, Depth, MainCode};
use crate::ios::profile::{self, Profile};
use crate::ios::select;
use crate::ios::tree::{Kind, ReadError, Tree};
use crate::ios::Ctx;
use crate::x509::Cert;

/// Limit on what a plist or profile may expand to, so a hostile IPA cannot exhaust memory.
const MAX_PLIST: u64 = 8 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BundleKind {
    App,
    AppExtension,
    WatchApp,
    Framework,
}

impl BundleKind {
    pub fn name(self) -> &'static str {
        match self {
            BundleKind::App => "app",
            BundleKind::AppExtension => "app extension",
            BundleKind::WatchApp => "watch app",
            BundleKind::Framework => "framework",
        }
    }
    /// Apps, extensions and watch apps need their own provisioning profile.
    pub fn needs_profile(self) -> bool {
        self != BundleKind::Framework
    }
}

/// The code signature of a bundle's main executable (first signed slice).
#[derive(Clone, Debug, Default)]
pub struct CodeSig {
    pub identifier: String,
    pub team_id: Option<String>,
    pub entitlements: Option<Dictionary>,
    /// The CMS signer certificate; `None` for ad-hoc signatures.
    pub signer: Option<Cert>,
}

#[derive(Clone, Debug)]
pub struct Bundle {
    /// Path inside the IPA or relative to the `.app`, e.g. `Payload/A.app/PlugIns/B.appex`.
    pub path: String,
    pub kind: BundleKind,
    pub bundle_id: Option<String>,
    pub executable: Option<String>,
    pub profile: Option<Result<Profile, String>>,
    /// `None`: unsigned; `Some(Err)`: the executable could not be read.
    pub signature: Option<Result<CodeSig, String>>,
    /// Info.plist names an executable that is not there.
    pub executable_missing: bool,
    /// The executable's signature problem is already an integrity finding.
    pub signature_reported: bool,
}

#[derive(Clone, Debug)]
pub struct App {
    pub file: String,
    pub bundles: Vec<Bundle>,
    /// Whether the code signatures still seal the app (empty when they do, or
    /// when nothing is signed); pushed by [`check`].
    pub integrity: Vec<Finding>,
    /// Whether anything in the app is signed.
    pub any_signed: bool,
}

impl App {
    pub fn main(&self) -> Option<&Bundle> {
        self.bundles.iter().find(|b| b.kind == BundleKind::App)
    }
}

/// Opens an app and checks its code signatures and seals (see
/// [`integrity`]). Errors are `input-unreadable` (or `archive-*`) findings
/// naming the file.
pub fn open(path: &Path, ctx: &Ctx) -> Result<App, Finding> {
    open_with(path, ctx, Depth::Full { trust: true })
}

/// [`open`] at a chosen depth: `Depth::Signatures` reads only what each main
/// executable's signature says (what `wrapsign sign` plans with).
pub fn open_with(path: &Path, ctx: &Ctx, depth: Depth) -> Result<App, Finding> {
    let file = path.display().to_string();
    let tree = if path.is_dir() {
        Tree::open_dir(&file, path)?
    } else {
        let src = crate::zip::Source::open(path)
            .map_err(|e| Finding::unreadable(&file, format!("cannot read {file}: {e}")))?;
        Tree::open_ipa(&file, src, &ctx.archive)?
    };
    from_tree(&file, &tree, ctx, depth)
}

/// [`open`] over an IPA held in memory, named `file` in findings.
pub fn open_bytes(file: &str, data: Vec<u8>, ctx: &Ctx) -> Result<App, Finding> {
    let src = crate::zip::Source::from_bytes(data);
    let tree = Tree::open_ipa(file, src, &ctx.archive)?;
    from_tree(file, &tree, ctx, Depth::Full { trust: true })
}

/// The integrity findings of an app `wrapsign sign` just wrote (before it is
/// moved into place): everything but the signer's chain, which the identity
/// checks judged before signing. Empty when the output verifies.
pub fn self_check(path: &Path, ctx: &Ctx) -> Vec<Finding> {
    match open_with(path, ctx, Depth::Full { trust: false }) {
        Err(f) => vec![f],
        Ok(app) => {
            let mut out = app.integrity;
            for b in &app.bundles {
                let unsigned = b.executable.is_some()
                    && (b.executable_missing || !matches!(b.signature, Some(Ok(_))));
                if unsigned && !b.signature_reported {
                    out.push(
                        Finding::new(
                            Code::AppCodeUnsigned,
                            &app.file,
                            format!(
                                "{}: {} has no readable code signature after signing",
                                app.file, b.path
                            ),
                        )
                        .subject(b.path.clone()),
                    );
                }
            }
            out
        }
    }
}

fn from_tree(file: &str, tree: &Tree, ctx: &Ctx, depth: Depth) -> Result<App, Finding> {
    let file = file.to_string();
    let unreadable = |m: String| Finding::unreadable(&file, m);
    let fatal = |e: ReadError| match e {
        ReadError::Entry(m) => unreadable(format!("{file}: {m}")),
        ReadError::Damaged(f) => f,
    };
    let prefix_of = |rel: &str| -> String {
        match (tree.app_root.is_empty(), rel.is_empty()) {
            (true, true) => String::new(),
            (true, false) => format!("{rel}/"),
            (false, true) => format!("{}/", tree.app_root),
            (false, false) => format!("{}/{rel}/", tree.app_root),
        }
    };
    // Every folder named *.app / *.appex / *.framework inside the app is a
    // bundle; debug symbols are not part of the app.
    let mut roots = BTreeSet::new();
    roots.insert(String::new());
    for n in tree.nodes() {
        let rel = if tree.app_root.is_empty() {
            n.path.as_str()
        } else {
            match n.path.strip_prefix(&format!("{}/", tree.app_root)) {
                Some(r) => r,
                None => continue,
            }
        };
        if rel.contains(".dSYM/") || rel.ends_with(".dSYM") {
            continue;
        }
        let parts: Vec<&str> = rel.split('/').collect();
        // A file's own name is not a folder; a folder's is.
        let upto = if n.kind == Kind::Dir {
            parts.len()
        } else {
            parts.len().saturating_sub(1)
        };
        for i in 0..upto {
            let p = parts.get(i).copied().unwrap_or("");
            if p.ends_with(".app") || p.ends_with(".appex") || p.ends_with(".framework") {
                roots.insert(parts.get(..=i).unwrap_or_default().join("/"));
            }
        }
    }
    let mut bundles = Vec::new();
    let mut metas = Vec::new();
    for r in roots {
        let prefix = prefix_of(&r);
        let kind = if r.is_empty() {
            BundleKind::App
        } else if r.ends_with(".appex") {
            BundleKind::AppExtension
        } else if r.ends_with(".framework") {
            BundleKind::Framework
        } else if r.contains("Watch/") {
            BundleKind::WatchApp
        } else {
            BundleKind::App
        };
        let read = |name: &str| -> Result<Option<Vec<u8>>, Finding> {
            match tree.find(&format!("{prefix}{name}")) {
                Some(n) if n.kind == Kind::File => tree.read(n, MAX_PLIST).map(Some).map_err(fatal),
                _ => Ok(None),
            }
        };
        let info_bytes = match read("Info.plist")? {
            Some(d) => Some(d),
            None => read("Resources/Info.plist")?,
        };
        let info: Option<Dictionary> = match &info_bytes {
            Some(d) => Some(plist::from_bytes(d).map_err(|e| {
                unreadable(format!(
                    "{file}: {prefix}Info.plist is not a valid plist: {e}"
                ))
            })?),
            None => None,
        };
        let get = |k: &str| {
            info.as_ref()
                .and_then(|d| d.get(k))
                .and_then(Value::as_string)
                .map(str::to_string)
        };
        let bundle_id = get("CFBundleIdentifier");
        let executable = get("CFBundleExecutable");
        let profile = read("embedded.mobileprovision")?.map(|d| {
            Profile::parse(
                &format!("{file}!{prefix}embedded.mobileprovision"),
                &d,
                &ctx.trust,
            )
        });
        let executable_missing = executable.as_ref().is_some_and(|e| {
            !tree
                .find(&format!("{prefix}{e}"))
                .is_some_and(|n| n.kind == Kind::File)
        });
        let shown = if tree.app_root.is_empty() {
            if r.is_empty() {
                ".".to_string()
            } else {
                r.clone()
            }
        } else {
            prefix.trim_end_matches('/').to_string()
        };
        metas.push(BundleMeta {
            rel: r,
            executable: executable.clone(),
            bundle_id: bundle_id.clone(),
            info_plist: info_bytes,
        });
        bundles.push(Bundle {
            path: shown,
            kind,
            bundle_id,
            executable,
            profile,
            signature: None,
            executable_missing,
            signature_reported: false,
        });
    }
    if bundles.is_empty() {
        return Err(Finding::unreadable(
            &file,
            format!("{file}: no app bundle found"),
        ));
    }
    let scan = integrity::scan(tree, &file, &metas, depth, ctx)?;
    for (i, (b, main)) in bundles.iter_mut().zip(&scan.main).enumerate() {
        b.signature_reported = scan.reported.contains(&i);
        b.signature = match main {
            MainCode::Missing => None,
            MainCode::Unreadable(e) => Some(Err(e.clone())),
            MainCode::Slices(slices) => code_sig(slices),
        };
    }
    Ok(App {
        file,
        bundles,
        integrity: scan.findings,
        any_signed: scan.any_signed,
    })
}

/// The first signed slice's signature. `None` means unsigned.
fn code_sig(slices: &[SliceCheck]) -> Option<Result<CodeSig, String>> {
    let c = slices.iter().find(|c| c.signed)?;
    let Some(identifier) = c.identifier.clone() else {
        let why = c
            .problems
            .iter()
            .find_map(|p| match p {
                code_signature::Problem::Invalid(m) => Some(m.clone()),
                code_signature::Problem::Modified(_) => None,
            })
            .unwrap_or_else(|| "no CodeDirectory".into());
        return Some(Err(format!("unreadable code signature: {why}")));
    };
    let entitlements = match &c.entitlements {
        None => None,
        Some(Ok(d)) => Some(d.clone()),
        Some(Err(e)) => return Some(Err(e.clone())),
    };
    Some(Ok(CodeSig {
        identifier,
        team_id: c.team.clone(),
        entitlements,
        signer: c.signer.clone(),
    }))
}

/// Reads the first signed slice's code signature of an in-memory Mach-O.
/// `Ok(None)` means unsigned.
pub fn read_code_signature(data: &[u8]) -> Result<Option<CodeSig>, String> {
    match code_signature::verify_bytes(data, &code_signature::Bound::default()) {
        None => Err("not a valid Mach-O: unknown magic".into()),
        Some(Err(e)) => Err(format!("not a valid Mach-O: {e}")),
        Some(Ok(slices)) => code_sig(&slices).transpose(),
    }
}

/// Where the profiles for an app's bundles come from.
#[derive(Clone, Copy, Debug)]
pub struct Profiles<'a> {
    /// Candidates (`--profile`, `--profiles-dir`); each bundle gets the best one.
    pub candidates: &'a [Profile],
    /// The certificate that will sign, to prefer profiles that list it.
    pub identity: Option<&'a Cert>,
    /// Keep a bundle's embedded profile when no candidate fits (explicit
    /// `--profile`s); with a profiles folder a target without a match is an error.
    pub fallback_embedded: bool,
}

/// Checks an app: each bundle against its profile, its signature and entitlements.
/// Returns the profiles that apply (for identity checks by the caller).
pub fn check<'a>(
    app: &'a App,
    profiles: Profiles<'a>,
    ctx: &Ctx,
    report: &mut Report,
) -> Vec<&'a Profile> {
    let given = profiles.candidates;
    let file = &app.file;
    let mut used: Vec<&Profile> = Vec::new();
    for f in &app.integrity {
        report.push(f.clone());
    }
    for b in &app.bundles {
        let subject = match &b.bundle_id {
            Some(id) => format!("{} ({id})", b.path),
            None => b.path.clone(),
        };
        let mut item = Item::new(ItemKind::Bundle, file)
            .subject(subject.clone())
            .fact("kind", b.kind.name());
        if let Some(id) = &b.bundle_id {
            item = item.fact("bundle_id", id.as_str());
        }
        if let Some(Err(e)) = &b.profile {
            report.push(
                Finding::unreadable(
                    file,
                    format!("{}/embedded.mobileprovision cannot be read: {e}", b.path),
                )
                .subject(subject.clone()),
            );
        }
        let embedded = b.profile.as_ref().and_then(|r| r.as_ref().ok());
        if let Some(p) = embedded {
            profile::check(p, ctx, report);
        }
        match &b.signature {
            _ if b.executable_missing => report.push(
                Finding::new(
                    Code::AppExecutableMissing,
                    file,
                    format!(
                        "{}: the executable {} named by Info.plist is missing; rebuild or re-export the app",
                        b.path,
                        b.executable.as_deref().unwrap_or("")
                    ),
                )
                .subject(subject.clone()),
            ),
            // Already an integrity finding (app-signature-invalid, app-code-unsigned...).
            _ if b.signature_reported => {}
            Some(Err(e)) => report.push(
                Finding::unreadable(file, format!("{}: {e}", b.path)).subject(subject.clone()),
            ),
            None if b.executable.is_some() && b.kind.needs_profile() => report.push(
                Finding::new(
                    Code::AppUnsigned,
                    file,
                    format!("{} is not signed; sign it (wrapsign sign) before distribution", b.path),
                )
                .subject(subject.clone()),
            ),
            _ => {}
        }
        if !b.kind.needs_profile() {
            report.item(item);
            continue;
        }
        let Some(bundle_id) = b.bundle_id.as_deref() else {
            report.push(
                Finding::unreadable(
                    file,
                    format!("{} has no CFBundleIdentifier in its Info.plist", b.path),
                )
                .subject(subject.clone()),
            );
            continue;
        };
        let chosen = if given.is_empty() {
            embedded
        } else {
            let sel = select::select(bundle_id, given, profiles.identity, ctx.at);
            match sel.chosen {
                Some(p) => {
                    // Worth a line only when another candidate competed for it.
                    if sel
                        .rejected
                        .iter()
                        .any(|(p, _)| p.matches_bundle_id(bundle_id))
                    {
                        let mut f = Finding::new(
                            Code::ProfileSelected,
                            file,
                            format!(
                                "{} ({bundle_id}) gets profile {} [{}]",
                                b.path,
                                p.display_name(),
                                p.file
                            ),
                        )
                        .subject(subject.clone())
                        .detail("profile", p.file.as_str());
                        for r in sel.reasons(bundle_id) {
                            f = f.note(r);
                        }
                        report.push(f);
                    }
                    Some(p)
                }
                None if profiles.fallback_embedded && embedded.is_some() => embedded,
                None => {
                    let mut f = Finding::new(
                        Code::ProfileMissing,
                        file,
                        format!(
                            "{} ({bundle_id}) has no usable profile among the {} candidate(s); create an explicit App ID and profile for {bundle_id}",
                            b.path,
                            given.len()
                        ),
                    )
                    .subject(subject.clone());
                    for r in sel.reasons(bundle_id) {
                        f = f.note(r);
                    }
                    report.push(f);
                    report.item(item);
                    continue;
                }
            }
        };
        if b.kind == BundleKind::App
            && profiles.fallback_embedded
            && !given.is_empty()
            && !given.iter().any(|p| p.matches_bundle_id(bundle_id))
        {
            report.push(
                Finding::new(
                    Code::BundleIdMismatch,
                    file,
                    format!(
                        "bundle id {bundle_id} is not covered by any given profile (App IDs: {}); pass the profile made for {bundle_id}",
                        given.iter().filter_map(|p| p.app_id.clone()).collect::<Vec<_>>().join(", ")
                    ),
                )
                .subject(subject.clone()),
            );
        }
        match chosen {
            None => report.push(
                Finding::new(
                    Code::ProfileMissing,
                    file,
                    format!(
                        "{} ({bundle_id}) has no provisioning profile; pass one with --profile",
                        b.path
                    ),
                )
                .subject(subject.clone()),
            ),
            Some(p) => {
                item = item.fact("profile", p.display_name());
                if !used.iter().any(|u| std::ptr::eq(*u, p)) {
                    used.push(p);
                }
                if !p.matches_bundle_id(bundle_id) {
                    report.push(
                        Finding::new(
                            Code::BundleIdMismatch,
                            file,
                            format!(
                                "{} has bundle id {bundle_id} but its profile {} is for {}; use the profile made for {bundle_id}",
                                b.path,
                                p.display_name(),
                                p.app_id.as_deref().unwrap_or("no App ID")
                            ),
                        )
                        .subject(subject.clone())
                        .detail("bundle_id", bundle_id)
                        .detail("app_id", p.app_id.clone().unwrap_or_default()),
                    );
                }
            }
        }
        // The signature is judged against the profile it was signed with.
        if let (Some(Ok(sig)), Some(p)) = (&b.signature, embedded) {
            if let Some(ent) = &sig.entitlements {
                for (key, why) in entitlements::not_allowed(ent, &p.entitlements) {
                    report.push(
                        Finding::new(
                            Code::EntitlementNotAllowed,
                            file,
                            format!(
                                "{} is signed with entitlement {key}, which profile {} does not allow ({why}); enable the capability and regenerate the profile, or re-sign with the profile's entitlements",
                                b.path,
                                p.display_name()
                            ),
                        )
                        .subject(format!("{subject}: {key}"))
                        .detail("entitlement", key),
                    );
                }
            }
            if let Some(signer) = &sig.signer {
                if !p.lists(signer) {
                    report.push(
                        Finding::new(
                            Code::AppSignerNotInProfile,
                            file,
                            format!(
                                "{} was signed by \"{}\" (SHA-1 {}), which its profile {} does not list; re-sign with a listed certificate",
                                b.path,
                                signer.name(),
                                signer.sha1_fingerprint(),
                                p.display_name()
                            ),
                        )
                        .subject(subject.clone())
                        .detail("signer_sha1", signer.sha1.as_str()),
                    );
                }
                item = item
                    .fact("signer", signer.subject.as_str())
                    .fact("signer_sha1", signer.sha1.as_str());
            }
            if let Some(team) = &sig.team_id {
                item = item.fact("team_id", team.as_str());
                if !p.team_ids.iter().any(|t| t == team) {
                    report.push(
                        Finding::new(
                            Code::ProfileTeamMismatch,
                            file,
                            format!(
                                "{} is signed for team {team} but its profile {} belongs to {}",
                                b.path,
                                p.display_name(),
                                p.team_ids.join(", ")
                            ),
                        )
                        .subject(subject.clone()),
                    );
                }
            }
        }
        report.item(item);
    }
    used
}

/// Identity checks for the profiles an app will be re-signed with.
pub fn check_identity(id: &Identity, profiles: &[&Profile], report: &mut Report) {
    for p in profiles {
        certificate::check_against_profile(id, p, report);
    }
}
