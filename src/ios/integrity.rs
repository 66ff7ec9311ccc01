//! Whether an app's signatures still seal it, as a device decides before it
//! installs: every Mach-O of the bundle tree (code_signature.rs), every
//! bundle's resource seal (seal.rs), nested bundles against their parents'
//! seals, and the signers' chains and teams.
//!
//! Each file is streamed once from the tree (an IPA read in place, or a
//! folder), on every core, biggest first: it is hashed as the seals need
//! (SHA-256, SHA-1) and, when it is a Mach-O, its pages are hashed and its
//! signature kept. Memory holds digests and signature blobs, never a whole file.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use crate::diag::{Code, Finding};
use crate::ios::code_signature::{self as cs, Bound, HashKind, MachoStream, Problem, SliceCheck};
use crate::ios::seal::{self, Actual, ItemKind, Seal};
use crate::ios::tree::{Flow, Kind, Node, ReadError, Tree};
use crate::ios::Ctx;
use crate::x509::{build_chain, Cert, ChainResult};

/// The resource seal of a big app holds ~200 bytes per file.
const MAX_CODE_RESOURCES: u64 = 64 << 20;
/// How many changed paths a finding names before it only counts the rest.
const SHOWN: usize = 10;

const MH_EXECUTE: u32 = 2;
const MH_DYLIB: u32 = 6;
const MH_BUNDLE: u32 = 8;

/// How deep to look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    /// Only the main executables' signatures (identifier, team, entitlements,
    /// signer): what `wrapsign sign` needs to plan, without hashing anything.
    Signatures,
    /// Everything; `trust` also checks the signers' chains and validity.
    Full { trust: bool },
}

/// One bundle of the app, as `app.rs` found it.
#[derive(Clone, Debug)]
pub struct BundleMeta {
    /// Relative to the app folder; empty for the app itself.
    pub rel: String,
    pub executable: Option<String>,
    pub bundle_id: Option<String>,
    /// The Info.plist bytes the executable's signature binds (slot -1).
    pub info_plist: Option<Vec<u8>>,
}

impl BundleMeta {
    fn join(&self, p: &str) -> String {
        if self.rel.is_empty() {
            p.to_string()
        } else {
            format!("{}/{p}", self.rel)
        }
    }
    fn exe_path(&self) -> Option<String> {
        self.executable.as_deref().map(|e| self.join(e))
    }
}

/// The main executable of a bundle, as read.
#[derive(Clone, Debug)]
pub enum MainCode {
    /// Not there (or no `CFBundleExecutable`).
    Missing,
    /// There but not a readable Mach-O, or unreadable.
    Unreadable(String),
    /// Its slices, checked (unsigned ones have `signed == false`).
    Slices(Vec<SliceCheck>),
}

/// What [`scan`] found.
#[derive(Debug)]
pub struct Scan {
    /// Per bundle, in the order given.
    pub main: Vec<MainCode>,
    /// Whether anything in the app is signed (else the app is simply unsigned).
    pub any_signed: bool,
    /// Integrity findings (empty with [`Depth::Signatures`]).
    pub findings: Vec<Finding>,
    /// Bundles whose main executable already has a finding here.
    pub reported: BTreeSet<usize>,
}

/// A bundle's resource seal: its bytes and what they say, or why they cannot
/// be read; `None` when the bundle has none.
type SealRead = Option<Result<(Vec<u8>, Seal), String>>;

/// The files a main executable's signature binds: Info.plist, CodeResources.
type BoundFiles<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);

/// What streaming one file produced.
#[derive(Default)]
struct FileResult {
    sha1: Option<Vec<u8>>,
    sha256: Option<Vec<u8>>,
    /// `None`: not a Mach-O.
    code: Option<Result<Vec<SliceCheck>, String>>,
    /// A read problem of this file alone.
    error: Option<String>,
}

/// What to compute for one file.
#[derive(Clone, Copy, Default)]
struct Need {
    sha1: bool,
    sha256: bool,
    /// A bundle's main executable: always read as code; its bundle's index.
    main_of: Option<usize>,
}

fn app_rel<'a>(tree: &Tree, node: &'a Node) -> Option<&'a str> {
    if tree.app_root.is_empty() {
        Some(node.path.as_str())
    } else {
        node.path
            .strip_prefix(tree.app_root.as_str())
            .and_then(|p| p.strip_prefix('/'))
    }
}

/// Under `dir` (relative; empty = everything), and the rest of the path.
fn under<'a>(path: &'a str, dir: &str) -> Option<&'a str> {
    if dir.is_empty() {
        Some(path)
    } else {
        path.strip_prefix(dir).and_then(|p| p.strip_prefix('/'))
    }
}

fn in_dsym(path: &str) -> bool {
    path.split('/').any(|c| c.ends_with(".dSYM"))
}

/// Reads (and checks) the app's code and seals.
pub fn scan(
    tree: &Tree,
    file: &str,
    bundles: &[BundleMeta],
    depth: Depth,
    ctx: &Ctx,
) -> Result<Scan, Finding> {
    let full = matches!(depth, Depth::Full { .. });
    // The app's files, relative to the app folder.
    let mut files: Vec<(&Node, &str)> = Vec::new();
    let mut links: Vec<(&Node, &str)> = Vec::new();
    let mut dirs: BTreeSet<String> = BTreeSet::new();
    for n in tree.nodes() {
        let Some(rel) = app_rel(tree, n) else {
            continue;
        };
        if rel.is_empty() {
            continue;
        }
        match n.kind {
            Kind::File => files.push((n, rel)),
            Kind::Symlink => links.push((n, rel)),
            Kind::Dir => {
                dirs.insert(rel.to_string());
            }
        }
        let mut p = rel;
        while let Some((parent, _)) = p.rsplit_once('/') {
            dirs.insert(parent.to_string());
            p = parent;
        }
    }

    // Phase 1: each bundle's resource seal.
    let mut seals: Vec<SealRead> = Vec::with_capacity(bundles.len());
    for b in bundles {
        let path = tree_path(tree, &b.join("_CodeSignature/CodeResources"));
        let found = if full {
            tree.find(&path).filter(|n| n.kind == Kind::File)
        } else {
            None
        };
        seals.push(match found {
            None => None,
            Some(n) => Some(match tree.read(n, MAX_CODE_RESOURCES) {
                Ok(bytes) => match Seal::parse(&bytes) {
                    Ok(s) => Ok((bytes, s)),
                    Err(e) => Err(e),
                },
                Err(ReadError::Damaged(f)) => return Err(f),
                Err(ReadError::Entry(m)) => Err(m),
            }),
        });
    }
    // Raw CodeResources bytes (for slot -3), even when the plist is unreadable.
    let mut raw_seal: Vec<Option<Vec<u8>>> = Vec::with_capacity(bundles.len());
    for (i, b) in bundles.iter().enumerate() {
        raw_seal.push(match seals.get(i) {
            Some(Some(Ok((bytes, _)))) => Some(bytes.clone()),
            Some(Some(Err(_))) => {
                let path = tree_path(tree, &b.join("_CodeSignature/CodeResources"));
                match tree.find(&path) {
                    Some(n) => tree.read(n, MAX_CODE_RESOURCES).ok(),
                    None => None,
                }
            }
            _ => None,
        });
    }

    // What each sealed path is, per bundle.
    let mut plans: Vec<Option<seal::Plan>> = Vec::with_capacity(bundles.len());
    for (i, b) in bundles.iter().enumerate() {
        plans.push(match seals.get(i) {
            Some(Some(Ok((_, s)))) => {
                let mut l = seal::Listing {
                    main_executable: b.executable.clone(),
                    ..seal::Listing::default()
                };
                for (_, rel) in &files {
                    if let Some(r) = under(rel, &b.rel) {
                        l.files.push(r.to_string());
                    }
                }
                for (_, rel) in &links {
                    if let Some(r) = under(rel, &b.rel) {
                        l.symlinks.push(r.to_string());
                    }
                }
                for d in &dirs {
                    if let Some(r) = under(d, &b.rel) {
                        l.dirs.insert(r.to_string());
                    }
                }
                Some(s.plan(&l))
            }
            _ => None,
        });
    }

    // Phase 2: what to compute for each file.
    let file_at: HashMap<&str, &str> = files.iter().map(|(_, r)| (*r, *r)).collect();
    let mut needs: HashMap<&str, Need> = HashMap::new();
    for (i, b) in bundles.iter().enumerate() {
        if let Some(e) = b.exe_path() {
            if let Some(rel) = file_at.get(e.as_str()) {
                needs.entry(rel).or_default().main_of = Some(i);
            }
        }
        let Some(plan) = &plans[i] else { continue };
        for item in &plan.items {
            let Some(seal::Entry::File { sha1, sha256, .. }) = &item.sealed else {
                continue;
            };
            let abs = b.join(&item.path);
            if let Some(rel) = file_at.get(abs.as_str()) {
                let n = needs.entry(rel).or_default();
                if sha256.is_some() {
                    n.sha256 = true;
                } else if sha1.is_some() {
                    n.sha1 = true;
                }
            }
        }
    }
    let mut work: Vec<(&Node, &str, Need)> = files
        .iter()
        .filter(|(_, rel)| full || needs.get(rel).is_some_and(|n| n.main_of.is_some()))
        .map(|(n, rel)| (*n, *rel, needs.get(rel).copied().unwrap_or_default()))
        .collect();
    work.sort_by_key(|(n, _, _)| std::cmp::Reverse(n.size));

    let bounds: Vec<BoundFiles> = bundles
        .iter()
        .enumerate()
        .map(|(i, b)| {
            (
                b.info_plist.as_deref(),
                raw_seal.get(i).and_then(|x| x.as_deref()),
            )
        })
        .collect();
    let damaged = AtomicBool::new(false);
    let results: Vec<Result<FileResult, Finding>> = work
        .par_iter()
        .map(|(node, _, need)| {
            if damaged.load(Ordering::Relaxed) {
                return Ok(FileResult::default());
            }
            let bound = match need.main_of {
                Some(i) if full => {
                    let (info, res) = bounds.get(i).copied().unwrap_or((None, None));
                    Bound {
                        info_plist: info,
                        code_resources: Some(res),
                    }
                }
                _ => Bound::default(),
            };
            let r = read_file(tree, node, *need, full, &bound);
            if r.is_err() {
                damaged.store(true, Ordering::Relaxed);
            }
            r
        })
        .collect();
    let mut by_path: BTreeMap<&str, FileResult> = BTreeMap::new();
    for ((_, rel, _), r) in work.iter().zip(results) {
        by_path.insert(rel, r?);
    }

    let main: Vec<MainCode> = bundles
        .iter()
        .map(|b| match b.exe_path() {
            None => MainCode::Missing,
            Some(e) => match by_path.get(e.as_str()) {
                None => MainCode::Missing,
                Some(r) => match (&r.error, &r.code) {
                    (Some(e), _) => MainCode::Unreadable(e.clone()),
                    (None, Some(Ok(s))) => MainCode::Slices(s.clone()),
                    (None, Some(Err(e))) => {
                        MainCode::Unreadable(format!("not a valid Mach-O: {e}"))
                    }
                    (None, None) => MainCode::Unreadable("not a Mach-O file".into()),
                },
            },
        })
        .collect();
    let any_signed = by_path
        .values()
        .any(|r| matches!(&r.code, Some(Ok(s)) if s.iter().any(|c| c.signed)))
        || seals.iter().any(Option::is_some);
    let mut scan = Scan {
        main,
        any_signed,
        findings: Vec::new(),
        reported: BTreeSet::new(),
    };
    if !full || !any_signed {
        return Ok(scan);
    }
    let trust = matches!(depth, Depth::Full { trust: true });
    let r = Reporter {
        file,
        app: &tree.app_name,
    };
    code_findings(&r, bundles, &by_path, trust, ctx, &mut scan);
    seal_findings(
        &r, bundles, &seals, &plans, &by_path, tree, &files, &links, &mut scan,
    );
    Ok(scan)
}

/// A path of the tree from one relative to the app folder.
fn tree_path(tree: &Tree, rel: &str) -> String {
    if tree.app_root.is_empty() {
        rel.to_string()
    } else {
        format!("{}/{rel}", tree.app_root)
    }
}

/// Streams one file: its digests, and when it is a Mach-O its signature checked.
fn read_file(
    tree: &Tree,
    node: &Node,
    need: Need,
    full: bool,
    bound: &Bound,
) -> Result<FileResult, Finding> {
    let mut sha1 = need.sha1.then(|| HashKind::Sha1.hasher());
    let mut sha256 = need.sha256.then(|| HashKind::Sha256.hasher());
    let hashing = sha1.is_some() || sha256.is_some();
    // Code pages are only hashed in a full check.
    let jobs = if full { None } else { Some(Vec::new()) };
    let mut m = MachoStream::new(node.size, jobs);
    let mut res = FileResult::default();
    let outcome = tree.stream(node, &mut |b| {
        if let Some(h) = &mut sha1 {
            h.update(b);
        }
        if let Some(h) = &mut sha256 {
            h.update(b);
        }
        if !m.not_macho() {
            m.update(b);
        }
        if !hashing && m.not_macho() {
            Flow::Stop
        } else {
            Flow::More
        }
    });
    match outcome {
        Err(ReadError::Damaged(f)) => return Err(f),
        Err(ReadError::Entry(e)) => {
            res.error = Some(e);
            return Ok(res);
        }
        Ok(()) => {}
    }
    res.sha1 = sha1.map(|mut h| h.finalize_reset());
    res.sha256 = sha256.map(|mut h| h.finalize_reset());
    let Some(mach) = m.finish() else {
        return Ok(res);
    };
    let mach = match mach {
        Ok(m) => m,
        Err(e) => {
            res.code = Some(Err(e));
            return Ok(res);
        }
    };
    let check_all = |m: &cs::Macho| -> Result<Vec<SliceCheck>, String> {
        m.slices
            .iter()
            .map(|s| {
                s.as_ref()
                    .map(|s| cs::verify_slice(s, bound))
                    .map_err(Clone::clone)
            })
            .collect()
    };
    let mut checks = check_all(&mach);
    if full {
        if let Ok(c) = &checks {
            if let Some(jobs) = cs::second_pass(&mach, c) {
                // A page size or hash the first pass did not compute: read again.
                let mut again = MachoStream::new(node.size, Some(jobs));
                let r = tree.stream(node, &mut |b| {
                    again.update(b);
                    Flow::More
                });
                checks = match r {
                    Err(ReadError::Damaged(f)) => return Err(f),
                    Err(ReadError::Entry(e)) => Err(e),
                    Ok(()) => match again.finish() {
                        Some(Ok(m2)) => check_all(&m2),
                        Some(Err(e)) => Err(e),
                        None => Err("the file changed while it was read".into()),
                    },
                };
            }
        }
    }
    res.code = Some(checks);
    Ok(res)
}

struct Reporter<'a> {
    file: &'a str,
    app: &'a str,
}

impl Reporter<'_> {
    /// `A.app/PlugIns/X.appex/X` for a path relative to the app folder.
    fn shown(&self, rel: &str) -> String {
        if rel.is_empty() {
            self.app.to_string()
        } else {
            format!("{}/{rel}", self.app)
        }
    }
    fn finding(&self, code: Code, rel: &str, msg: String) -> Finding {
        let shown = self.shown(rel);
        Finding::new(code, self.file, format!("{}: {shown}: {msg}", self.file)).subject(shown)
    }
}

/// `arm64 slice: ` before a slice's problem.
fn slice_label(c: &SliceCheck) -> String {
    if c.arch.is_empty() {
        String::new()
    } else {
        format!("{} slice: ", c.arch)
    }
}

/// The team a certificate is for (its OU, as Apple issues them).
fn cert_team(c: &Cert) -> Option<&str> {
    crate::ios::certificate::team_id(c)
}

fn code_findings(
    r: &Reporter,
    bundles: &[BundleMeta],
    by_path: &BTreeMap<&str, FileResult>,
    trust: bool,
    ctx: &Ctx,
    scan: &mut Scan,
) {
    let main_of: BTreeMap<String, usize> = bundles
        .iter()
        .enumerate()
        .filter_map(|(i, b)| b.exe_path().map(|e| (e, i)))
        .collect();
    // The team code runs as: its CodeDirectory's, else its signer's.
    let team_of = |c: &SliceCheck| -> Option<String> {
        c.team
            .clone()
            .or_else(|| c.signer.as_ref().and_then(cert_team).map(str::to_string))
    };
    let app_team = match scan.main.first() {
        Some(MainCode::Slices(s)) => s.iter().find(|c| c.signed).and_then(team_of),
        _ => None,
    };
    // Signers, once each: (sha256) -> (signer, CMS certificates, files).
    let mut signers: BTreeMap<String, (Cert, Vec<Cert>, Vec<String>)> = BTreeMap::new();
    for (rel, res) in by_path {
        let main = main_of.get(*rel).copied();
        if in_dsym(rel) && main.is_none() {
            continue;
        }
        let slices = match &res.code {
            None => continue,
            Some(Err(e)) => {
                // A main executable that is not a Mach-O is reported by app.rs.
                if main.is_none() && is_code_location(rel) {
                    scan.findings.push(r.finding(
                        Code::AppSignatureInvalid,
                        rel,
                        format!("cannot be read as signed code: {e}"),
                    ));
                }
                continue;
            }
            Some(Ok(s)) => s,
        };
        if let Some(e) = &res.error {
            scan.findings.push(Finding::unreadable(
                r.file,
                format!("{}: {}: {e}", r.file, r.shown(rel)),
            ));
            continue;
        }
        let is_code = main.is_some()
            || slices
                .iter()
                .any(|c| matches!(c.filetype, MH_EXECUTE | MH_DYLIB | MH_BUNDLE));
        if !is_code {
            continue;
        }
        let mut modified = Vec::new();
        let mut invalid = Vec::new();
        let mut unsigned = Vec::new();
        let mut adhoc = Vec::new();
        let mut team = Vec::new();
        for c in slices {
            let label = slice_label(c);
            if !c.signed {
                unsigned.push(label);
                continue;
            }
            for p in &c.problems {
                match p {
                    Problem::Modified(m) => modified.push(format!("{label}{m}")),
                    Problem::Invalid(m) => invalid.push(format!("{label}{m}")),
                }
            }
            if !c.rehash.is_empty() {
                invalid.push(format!(
                    "{label}its code pages could not be hashed as its CodeDirectory asks"
                ));
            }
            if c.adhoc {
                adhoc.push(label.clone());
            }
            if let Some(s) = &c.signer {
                let cd_team = c.team.as_deref();
                match (cd_team, cert_team(s)) {
                    (Some(t), Some(o)) if t != o => team.push(format!(
                        "{label}its CodeDirectory names team {t} but its signer \"{}\" belongs to team {o}",
                        s.name()
                    )),
                    _ => {}
                }
                let e = signers
                    .entry(s.sha256.clone())
                    .or_insert_with(|| (s.clone(), Vec::new(), Vec::new()));
                for cert in &c.certs {
                    if !e.1.iter().any(|x| x.der == cert.der) {
                        e.1.push(cert.clone());
                    }
                }
                if !e.2.iter().any(|x| x == rel) {
                    e.2.push(rel.to_string());
                }
            }
            if let (Some(app), Some(t)) = (app_team.as_deref(), team_of(c).as_deref()) {
                if app != t && main != Some(0) {
                    team.push(format!(
                        "{label}it is signed for team {t}, the app for team {app}: iOS refuses to load code of another team"
                    ));
                }
            }
        }
        let reported =
            !(modified.is_empty() && invalid.is_empty() && unsigned.is_empty() && adhoc.is_empty());
        if let (Some(i), true) = (main, reported) {
            scan.reported.insert(i);
        }
        if !unsigned.is_empty() {
            let which = if unsigned.len() == slices.len() {
                String::new()
            } else {
                format!(" in {}", unsigned.join(", ").replace(" slice: ", " slice"))
            };
            scan.findings.push(
                r.finding(
                    Code::AppCodeUnsigned,
                    rel,
                    format!(
                        "has no code signature{which}, while the app around it is signed: iOS refuses to load unsigned code; re-sign the whole app (wrapsign sign signs every Mach-O)"
                    ),
                ),
            );
        }
        if !modified.is_empty() {
            scan.findings.push(
                r.finding(
                    Code::AppCodeModified,
                    rel,
                    format!(
                        "{}; it changed after it was signed: rebuild or re-sign the app from a trusted copy",
                        modified.first().cloned().unwrap_or_default()
                    ),
                )
                .detail("problems", modified.clone()),
            );
        }
        if !invalid.is_empty() {
            scan.findings.push(
                r.finding(
                    Code::AppSignatureInvalid,
                    rel,
                    format!(
                        "{}; re-sign the app",
                        invalid.first().cloned().unwrap_or_default()
                    ),
                )
                .detail("problems", invalid.clone()),
            );
        }
        if !adhoc.is_empty() {
            scan.findings.push(r.finding(
                Code::AppAdhocSigned,
                rel,
                "is ad-hoc signed (a CodeDirectory without a signer): devices only run it when its cdhash is trusted otherwise; sign it with a distribution identity (wrapsign sign)".into(),
            ));
        }
        for t in team {
            scan.findings.push(r.finding(
                Code::AppTeamMismatch,
                rel,
                format!("{t}; re-sign the whole app with one identity"),
            ));
        }
        // The main executable's identifier is its bundle id.
        if let Some(i) = main {
            if let (Some(b), Some(c)) = (bundles.get(i), slices.iter().find(|c| c.signed)) {
                if let (Some(id), Some(bid)) = (&c.identifier, &b.bundle_id) {
                    if id != bid {
                        scan.findings.push(
                            r.finding(
                                Code::AppIdentifierMismatch,
                                rel,
                                format!(
                                    "is signed as {id}, but its bundle id is {bid}: the signature was made for another bundle; re-sign the app"
                                ),
                            )
                            .detail("identifier", id.as_str())
                            .detail("bundle_id", bid.as_str()),
                        );
                    }
                }
            }
        }
    }
    if !trust {
        return;
    }
    for (signer, certs, signed) in signers.values() {
        let mut pool = certs.clone();
        pool.extend(ctx.trust.intermediates.iter().cloned());
        let who = signer.name().to_string();
        let first = signed.first().cloned().unwrap_or_default();
        let problem = match build_chain(signer, &pool, &ctx.trust.anchors) {
            ChainResult::Untrusted {
                partial,
                missing_issuer,
            } => Some(match partial.last() {
                Some(last) if last.is_self_issued() => format!(
                    "is signed by \"{who}\", which chains to \"{}\", a self-signed certificate that is neither Apple's root nor a --trust-root",
                    last.name()
                ),
                last => format!(
                    "is signed by \"{who}\", whose chain stops at \"{}\": its issuer \"{missing_issuer}\" is neither in the signature nor a known Apple intermediate",
                    last.map_or(who.as_str(), |c| c.name())
                ),
            }),
            ChainResult::Trusted(chain) => {
                let n = chain.len();
                // The leaf and intermediates at --at; a root is judged by the platform's store.
                chain
                    .iter()
                    .take(n.saturating_sub(1).max(1))
                    .find(|c| c.not_after < ctx.at || c.not_before > ctx.at)
                    .map(|c| {
                        if c.not_after < ctx.at {
                            format!(
                                "is signed by \"{who}\", whose chain holds \"{}\", expired on {}",
                                c.name(),
                                crate::at::day(c.not_after)
                            )
                        } else {
                            format!(
                                "is signed by \"{who}\", whose chain holds \"{}\", not valid until {}",
                                c.name(),
                                crate::at::day(c.not_before)
                            )
                        }
                    })
            }
        };
        if let Some(p) = problem {
            let mut f = r
                .finding(
                    Code::AppSignerUntrusted,
                    &first,
                    format!("{p}; devices refuse the app"),
                )
                .subject(who.clone())
                .detail("signer_sha256", signer.sha256.as_str())
                .detail(
                    "files",
                    signed.iter().map(|s| r.shown(s)).collect::<Vec<_>>(),
                );
            if signed.len() > 1 {
                f = f.note(format!("{} Mach-O files are signed by it", signed.len()));
            }
            scan.findings.push(f);
        }
    }
}

/// Where loose code lives in a bundle: Frameworks, PlugIns and friends, or a
/// `.dylib` anywhere.
fn is_code_location(rel: &str) -> bool {
    rel.ends_with(".dylib")
        || rel
            .split('/')
            .any(|c| matches!(c, "Frameworks" | "PlugIns" | "Extensions" | "XPCServices"))
}

/// One difference between a seal and the bundle.
#[derive(Clone, Debug)]
struct Change {
    /// The bundle whose seal it is.
    bundle: usize,
    /// Relative to the app folder.
    path: String,
    what: ChangeKind,
    why: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ChangeKind {
    Modified,
    Added,
    Removed,
}

#[allow(clippy::too_many_arguments)]
fn seal_findings(
    r: &Reporter,
    bundles: &[BundleMeta],
    seals: &[SealRead],
    plans: &[Option<seal::Plan>],
    by_path: &BTreeMap<&str, FileResult>,
    tree: &Tree,
    files: &[(&Node, &str)],
    links: &[(&Node, &str)],
    scan: &mut Scan,
) {
    // Whether a bundle's main executable is itself intact: its parent's seal
    // then tells whether it was re-signed or swapped since.
    let code_ok = |i: usize| -> bool {
        match scan.main.get(i) {
            Some(MainCode::Slices(s)) => s.iter().all(|c| c.signed && c.problems.is_empty()),
            _ => false,
        }
    };
    let cdhashes_of = |rel: &str| -> Vec<Vec<u8>> {
        match by_path.get(rel).and_then(|x| x.code.as_ref()) {
            Some(Ok(s)) => s
                .iter()
                .flat_map(|c| c.cdhashes.iter().map(|(_, h)| h.clone()))
                .collect(),
            _ => Vec::new(),
        }
    };
    let signed = |i: usize| matches!(scan.main.get(i), Some(MainCode::Slices(s)) if s.iter().any(|c| c.signed));
    let bundle_at: HashMap<&str, usize> = bundles
        .iter()
        .enumerate()
        .map(|(i, b)| (b.rel.as_str(), i))
        .collect();
    // The innermost bundle holding `path` (a bundle holds its own folder path
    // for `owner_or_self`, not for `owner`).
    let owner = |path: &str| -> Option<usize> {
        let mut p = path;
        while let Some((parent, _)) = p.rsplit_once('/') {
            if let Some(i) = bundle_at.get(parent) {
                return Some(*i);
            }
            p = parent;
        }
        bundle_at.get("").copied()
    };
    let owner_or_self =
        |path: &str| -> Option<usize> { bundle_at.get(path).copied().or_else(|| owner(path)) };
    let mut changes: Vec<Change> = Vec::new();
    for (i, b) in bundles.iter().enumerate() {
        if !signed(i) {
            continue;
        }
        match seals.get(i) {
            Some(Some(Err(e))) => {
                scan.findings.push(r.finding(
                    Code::AppResourcesModified,
                    &b.join("_CodeSignature/CodeResources"),
                    format!("the resource seal cannot be read ({e}); re-sign the app"),
                ));
                continue;
            }
            Some(None) | None => {
                // When the executable seals a CodeResources (slot -3), its
                // absence is already reported with the code. Otherwise a bundle
                // with files besides its executable and Info.plist is unsealed.
                if scan.reported.contains(&i) {
                    continue;
                }
                // A file of this bundle itself, not of a nested one.
                let deeper = |rel: &str| owner(rel) != Some(i);
                let others = files.iter().any(|(_, rel)| {
                    under(rel, &b.rel).is_some_and(|p| {
                        Some(p) != b.executable.as_deref() && p != "Info.plist" && !deeper(rel)
                    })
                });
                if others {
                    scan.findings.push(r.finding(
                        Code::AppResourcesModified,
                        &b.rel,
                        "has no resource seal (_CodeSignature/CodeResources): its files are not covered by its signature; re-sign the app".into(),
                    ));
                }
                continue;
            }
            Some(Some(Ok(_))) => {}
        }
        let Some(Some(plan)) = plans.get(i) else {
            continue;
        };
        for item in &plan.items {
            let abs = b.join(&item.path);
            let Some(entry) = &item.sealed else {
                changes.push(Change {
                    bundle: i,
                    path: abs,
                    what: ChangeKind::Added,
                    why: "not in the seal".into(),
                });
                continue;
            };
            let actual = match item.kind {
                ItemKind::File => {
                    let res = by_path.get(abs.as_str());
                    Actual {
                        sha1: res.and_then(|x| x.sha1.clone()),
                        sha256: res.and_then(|x| x.sha256.clone()),
                        link: None,
                        cdhashes: cdhashes_of(&abs),
                    }
                }
                ItemKind::Symlink => Actual {
                    link: links
                        .iter()
                        .find(|(_, rel)| *rel == abs)
                        .and_then(|(n, _)| tree.link_target(n).ok()),
                    ..Actual::default()
                },
                ItemKind::NestedBundle => {
                    let exe = bundles
                        .iter()
                        .find(|o| o.rel == abs)
                        .and_then(BundleMeta::exe_path);
                    Actual {
                        cdhashes: exe.map(|e| cdhashes_of(&e)).unwrap_or_default(),
                        ..Actual::default()
                    }
                }
            };
            if let Err(why) = seal::compare(entry, item.kind, &actual) {
                changes.push(Change {
                    bundle: i,
                    path: abs,
                    what: ChangeKind::Modified,
                    why,
                });
            }
        }
        for p in &plan.removed {
            changes.push(Change {
                bundle: i,
                path: b.join(p),
                what: ChangeKind::Removed,
                why: "sealed, and missing".into(),
            });
        }
    }

    // Each change belongs to the innermost bundle around it; a nested bundle's
    // own code (its executable, its _CodeSignature/) is nested code.
    let innermost = |path: &str, outer: usize| -> Option<usize> {
        let o = owner_or_self(path)?;
        (o != outer).then_some(o)
    };
    let mut resources: BTreeMap<usize, Vec<Change>> = BTreeMap::new();
    let mut nested: BTreeMap<usize, (usize, Vec<Change>)> = BTreeMap::new();
    for c in &changes {
        match innermost(&c.path, c.bundle) {
            Some(j) => {
                let nb = &bundles[j];
                let inner = under(&c.path, &nb.rel).unwrap_or("");
                let is_code = c.path == nb.rel
                    || Some(inner) == nb.executable.as_deref()
                    || inner == "_CodeSignature"
                    || inner.starts_with("_CodeSignature/");
                if is_code {
                    // A nested bundle whose own code is broken is reported as
                    // such; its parent's seal only follows from it.
                    if code_ok(j) {
                        nested
                            .entry(j)
                            .or_insert((c.bundle, Vec::new()))
                            .1
                            .push(c.clone());
                    }
                    continue;
                }
                // A resource of the nested bundle: its own seal reports it, if
                // signed; the parent's seal reports it otherwise.
                if signed(j) && changes.iter().any(|o| o.bundle == j && o.path == c.path) {
                    continue;
                }
                resources.entry(c.bundle).or_default().push(c.clone());
            }
            None => resources.entry(c.bundle).or_default().push(c.clone()),
        }
    }
    for (i, list) in resources {
        let b = &bundles[i];
        let count = |k: ChangeKind| list.iter().filter(|c| c.what == k).count();
        let shown: Vec<String> = list
            .iter()
            .take(SHOWN)
            .map(|c| {
                let p = under(&c.path, &b.rel).unwrap_or(&c.path);
                match c.what {
                    ChangeKind::Modified => format!("{p} modified ({})", c.why),
                    ChangeKind::Added => format!("{p} added"),
                    ChangeKind::Removed => format!("{p} removed"),
                }
            })
            .collect();
        let more = list.len().saturating_sub(SHOWN);
        let paths = |k: ChangeKind| -> Vec<String> {
            list.iter()
                .filter(|c| c.what == k)
                .take(100)
                .map(|c| r.shown(&c.path))
                .collect()
        };
        scan.findings.push(
            r.finding(
                Code::AppResourcesModified,
                &b.rel,
                format!(
                    "{} sealed file(s) changed since signing ({} modified, {} added, {} removed): {}{}; rebuild or re-sign the app from a trusted copy",
                    list.len(),
                    count(ChangeKind::Modified),
                    count(ChangeKind::Added),
                    count(ChangeKind::Removed),
                    shown.join("; "),
                    if more > 0 { format!("; and {more} more") } else { String::new() }
                ),
            )
            .detail("modified", paths(ChangeKind::Modified))
            .detail("added", paths(ChangeKind::Added))
            .detail("removed", paths(ChangeKind::Removed)),
        );
    }
    for (j, (parent, list)) in nested {
        let nb = &bundles[j];
        let pb = &bundles[parent];
        let what: Vec<String> = list
            .iter()
            .map(|c| {
                let p = under(&c.path, &pb.rel).unwrap_or(&c.path);
                format!("{p}: {}", c.why)
            })
            .collect();
        scan.findings.push(
            r.finding(
                Code::AppNestedCodeModified,
                &nb.rel,
                format!(
                    "was changed after {} sealed it (re-signed alone, or swapped): {}; re-sign the whole app so every seal is renewed",
                    r.shown(&pb.rel),
                    what.join("; ")
                ),
            )
            .detail("parent", r.shown(&pb.rel)),
        );
    }
}
