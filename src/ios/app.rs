//! Apps (`.ipa` or `.app`): the main bundle and every nested bundle (extensions,
//! watch apps, frameworks), each with its Info.plist, embedded profile and
//! code signature. An IPA is read straight from the zip, never extracted.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use plist::{Dictionary, Value};

use crate::archive;
use crate::diag::{Code, Finding, Item, ItemKind, Report};
use crate::ios::certificate::{self, Identity};
use crate::ios::entitlements;
use crate::ios::profile::{self, Profile};
use crate::ios::select;
use crate::ios::Ctx;
use crate::x509::Cert;

/// Limits on what one entry may expand to, so a hostile IPA cannot exhaust memory.
const MAX_PLIST: u64 = 8 << 20;
const MAX_EXECUTABLE: u64 = 1 << 30;

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
}

#[derive(Clone, Debug)]
pub struct App {
    pub file: String,
    pub bundles: Vec<Bundle>,
}

impl App {
    pub fn main(&self) -> Option<&Bundle> {
        self.bundles.iter().find(|b| b.kind == BundleKind::App)
    }
}

/// Read access to the files of an IPA or an app directory.
enum Source {
    Zip(zip::ZipArchive<Box<dyn ReadSeek>>),
    Dir(PathBuf),
}

/// What the zip reader reads from: a file, or bytes (the fuzzers).
trait ReadSeek: Read + std::io::Seek + Send {}
impl<T: Read + std::io::Seek + Send> ReadSeek for T {}

/// Why an entry could not be read.
enum ReadError {
    /// Over the per-file limit, or unreadable: the bundle's own problem.
    Entry(String),
    /// The archive's data contradict its directory: the whole app is refused.
    Damaged(Finding),
}

impl Source {
    fn read(&mut self, file: &str, name: &str, limit: u64) -> Result<Option<Vec<u8>>, ReadError> {
        let mut buf = Vec::new();
        match self {
            Source::Zip(z) => {
                let mut f = match z.by_name(name) {
                    Ok(f) => f,
                    Err(zip::result::ZipError::FileNotFound) => return Ok(None),
                    Err(e) => {
                        return Err(ReadError::Damaged(archive::entry_damaged(file, name, e)))
                    }
                };
                let declared = f.size();
                if declared > limit {
                    return Err(ReadError::Entry(format!(
                        "{name} expands to {declared} bytes, over the {limit}-byte limit"
                    )));
                }
                // Never more than declared (plus one byte to notice a lie); reading to
                // the end makes the zip crate check the CRC.
                f.by_ref()
                    .take(declared + 1)
                    .read_to_end(&mut buf)
                    .map_err(|e| ReadError::Damaged(archive::entry_damaged(file, name, e)))?;
                if buf.len() as u64 != declared {
                    return Err(ReadError::Damaged(archive::entry_damaged(
                        file,
                        name,
                        format!("{} bytes instead of the declared {declared}", buf.len()),
                    )));
                }
            }
            Source::Dir(root) => {
                let p = root.join(name);
                if !p.is_file() {
                    return Ok(None);
                }
                std::fs::File::open(&p)
                    .and_then(|f| f.take(limit).read_to_end(&mut buf))
                    .map_err(|e| ReadError::Entry(format!("{name}: {e}")))?;
            }
        }
        Ok(Some(buf))
    }
}

/// Opens an app, finding its bundles. Errors are `input-unreadable` (or
/// `archive-*`) findings naming the file.
pub fn open(path: &Path, ctx: &Ctx) -> Result<App, Finding> {
    let file = path.display().to_string();
    if path.is_dir() {
        return open_source(&file, None, Some(path), ctx);
    }
    let src = crate::android::apk::zip::Source::open(path)
        .map_err(|e| Finding::unreadable(&file, format!("cannot read {file}: {e}")))?;
    let reader: Box<dyn ReadSeek> = Box::new(std::io::BufReader::new(
        std::fs::File::open(path)
            .map_err(|e| Finding::unreadable(&file, format!("cannot read {file}: {e}")))?,
    ));
    open_source(&file, Some((src, reader)), None, ctx)
}

/// [`open`] over an IPA held in memory, named `file` in findings.
pub fn open_bytes(file: &str, data: Vec<u8>, ctx: &Ctx) -> Result<App, Finding> {
    let reader: Box<dyn ReadSeek> = Box::new(std::io::Cursor::new(data.clone()));
    let src = crate::android::apk::zip::Source::from_bytes(data);
    open_source(file, Some((src, reader)), None, ctx)
}

fn open_source(
    file: &str,
    zip: Option<(crate::android::apk::zip::Source, Box<dyn ReadSeek>)>,
    dir: Option<&Path>,
    ctx: &Ctx,
) -> Result<App, Finding> {
    let file = file.to_string();
    let (mut src, names, root) = match (zip, dir) {
        (None, Some(path)) => {
            let mut names = Vec::new();
            for e in walkdir::WalkDir::new(path).follow_links(false) {
                let e =
                    e.map_err(|e| Finding::unreadable(&file, format!("cannot read {file}: {e}")))?;
                if e.file_type().is_file() {
                    if let Ok(rel) = e.path().strip_prefix(path) {
                        names.push(rel.to_string_lossy().replace('\\', "/"));
                    }
                }
            }
            (Source::Dir(path.to_path_buf()), names, String::new())
        }
        (Some((raw, reader)), _) => {
            // Hostile archives are refused before anything is inflated.
            let audit = archive::audit(&raw, &ctx.archive).map_err(|p| p.finding(&file))?;
            drop(raw);
            let z = zip::ZipArchive::new(reader).map_err(|e| {
                Finding::unreadable(&file, format!("{file} is not a readable zip/IPA: {e}"))
            })?;
            archive::same_view(&audit, &z).map_err(|p| p.finding(&file))?;
            let names: Vec<String> = audit.entries.iter().map(|e| e.name.clone()).collect();
            let root = crate::ios::bundle::payload_app_root(names.iter().map(String::as_str))
                .ok_or_else(|| {
                    Finding::unreadable(&file, format!("{file} has no Payload/*.app: not an IPA"))
                })?;
            archive::check_links(&audit, Some(&root)).map_err(|p| p.finding(&file))?;
            (Source::Zip(z), names, root)
        }
        (None, None) => {
            return Err(Finding::unreadable(
                &file,
                format!("{file}: nothing to read"),
            ))
        }
    };

    // Every folder named *.app / *.appex / *.framework under the main bundle is a
    // bundle; debug symbols are not part of the app.
    let mut roots = BTreeSet::new();
    roots.insert(root.clone());
    for n in &names {
        if !n.starts_with(&root) || n.contains(".dSYM/") {
            continue;
        }
        let parts: Vec<&str> = n.split('/').collect();
        for i in 0..parts.len().saturating_sub(1) {
            let p = parts[i];
            if p.ends_with(".app") || p.ends_with(".appex") || p.ends_with(".framework") {
                roots.insert(parts[..=i].join("/"));
            }
        }
    }
    let mut bundles = Vec::new();
    for r in roots {
        let prefix = if r.is_empty() {
            String::new()
        } else {
            format!("{r}/")
        };
        let kind = if r == root {
            BundleKind::App
        } else if r.ends_with(".appex") {
            BundleKind::AppExtension
        } else if r.ends_with(".framework") {
            BundleKind::Framework
        } else if r.contains("/Watch/") {
            BundleKind::WatchApp
        } else {
            BundleKind::App
        };
        let fatal = |e: ReadError| match e {
            ReadError::Entry(m) => Finding::unreadable(&file, format!("{file}: {m}")),
            ReadError::Damaged(f) => f,
        };
        let info = match src.read(&file, &format!("{prefix}Info.plist"), MAX_PLIST) {
            Ok(Some(d)) => Some(d),
            Ok(None) => src
                .read(&file, &format!("{prefix}Resources/Info.plist"), MAX_PLIST)
                .map_err(fatal)?,
            Err(e) => return Err(fatal(e)),
        };
        let info: Option<Dictionary> = match info {
            Some(d) => Some(plist::from_bytes(&d).map_err(|e| {
                Finding::unreadable(
                    &file,
                    format!("{file}: {prefix}Info.plist is not a valid plist: {e}"),
                )
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
        let profile = src
            .read(
                &file,
                &format!("{prefix}embedded.mobileprovision"),
                MAX_PLIST,
            )
            .map_err(fatal)?
            .map(|d| {
                Profile::parse(
                    &format!("{file}!{prefix}embedded.mobileprovision"),
                    &d,
                    &ctx.trust,
                )
            });
        let mut executable_missing = false;
        let signature = match &executable {
            Some(exe) => match src.read(&file, &format!("{prefix}{exe}"), MAX_EXECUTABLE) {
                Ok(Some(data)) => read_code_signature(&data).transpose(),
                Ok(None) => {
                    executable_missing = true;
                    None
                }
                Err(ReadError::Entry(e)) => Some(Err(e)),
                Err(ReadError::Damaged(f)) => return Err(f),
            },
            None => None,
        };
        bundles.push(Bundle {
            path: if r.is_empty() { ".".into() } else { r },
            kind,
            bundle_id,
            executable,
            profile,
            signature,
            executable_missing,
        });
    }
    if bundles.is_empty() {
        return Err(Finding::unreadable(
            &file,
            format!("{file}: no app bundle found"),
        ));
    }
    Ok(App { file, bundles })
}

/// Reads the first signed slice's code signature. `Ok(None)` means unsigned.
pub fn read_code_signature(data: &[u8]) -> Result<Option<CodeSig>, String> {
    let mach =
        apple_codesign::MachFile::parse(data).map_err(|e| format!("not a valid Mach-O: {e}"))?;
    for m in mach.iter_macho() {
        let Some(sig) = m
            .code_signature()
            .map_err(|e| format!("unreadable code signature: {e}"))?
        else {
            continue;
        };
        let cd = sig
            .code_directory()
            .map_err(|e| format!("unreadable CodeDirectory: {e}"))?
            .ok_or("code signature without a CodeDirectory")?;
        let entitlements = match sig
            .entitlements()
            .map_err(|e| format!("unreadable entitlements: {e}"))?
        {
            Some(blob) => Some(
                plist::from_bytes::<Dictionary>(blob.as_str().as_bytes())
                    .map_err(|e| format!("entitlements are not a valid plist: {e}"))?,
            ),
            None => None,
        };
        let signer = match sig
            .signed_data()
            .map_err(|e| format!("unreadable CMS signature: {e}"))?
        {
            Some(sd) => sd.signers().next().and_then(|s| {
                sd.certificates()
                    .find(|c| s.signature_verifier(std::iter::once(*c)).is_ok())
                    .and_then(|c| Cert::from_der(c.constructed_data()).ok())
            }),
            None => None,
        };
        return Ok(Some(CodeSig {
            identifier: cd.ident.to_string(),
            team_id: cd.team_name.as_ref().map(|t| t.to_string()),
            entitlements,
            signer,
        }));
    }
    Ok(None)
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
