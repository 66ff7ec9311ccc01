//! A Mach-O's embedded code signature, checked the way a device checks it before
//! it runs the code: every slice of a fat file, every CodeDirectory (SHA-1,
//! SHA-256 and alternates), each code page hash up to the code limit, the
//! special slots (Info.plist, requirements, CodeResources, entitlements XML and
//! DER, launch constraints), and the CMS signature over the CodeDirectory with
//! Apple's CDHashes attributes.
//!
//! The file is never held whole. [`MachoStream`] takes the bytes as they are
//! inflated and keeps what verification needs: each slice's header and load
//! commands (parsed by goblin, as apple-codesign does), its signature blob,
//! and one digest per page of code. The signature itself is parsed by
//! apple-codesign (superblob, CodeDirectory, entitlements) and
//! cryptographic-message-syntax (CMS); a few bounds are checked first so that
//! hostile offsets cannot make those parsers index out of range or allocate
//! without limit.

use std::collections::BTreeSet;

use apple_codesign::cryptography::DigestType;
use apple_codesign::embedded_signature::{Blob, CodeSigningMagic, CodeSigningSlot};
use apple_codesign::embedded_signature_builder::{CD_DIGESTS_OID, CD_DIGESTS_PLIST_OID};
use apple_codesign::{CodeDirectoryBlob, CodeSignatureFlags, EmbeddedSignature};
use cryptographic_message_syntax::SignedData;
use goblin::mach::load_command::{CommandVariant, LoadCommand};
use plist::Dictionary;
use scroll::Pread;

use crate::crypto::{Hash, Hasher};
use crate::x509::Cert;

/// Header plus load commands of one slice: real binaries use a few KiB.
const MAX_HEAD: u64 = 4 << 20;
/// A signature blob: a CodeDirectory holds 32 bytes per 4 KiB page, so this
/// covers binaries of several GiB.
const MAX_SIGNATURE: u64 = 64 << 20;
/// Slices of a fat file (Java class files share the fat magic; their version,
/// in the same place, is 45 or more).
const MAX_SLICES: usize = 32;
/// The page size every current signer uses; page hashes are computed at it as
/// the file streams past, other sizes need a second pass.
pub const PAGE: u64 = 4096;

const FAT_MAGIC: u32 = 0xcafe_babe;
const LC_CODE_SIGNATURE: u32 = 0x1d;

/// Page hashes to compute while streaming: algorithm and page size (`None`:
/// the whole code as one page, CodeDirectory page size 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PageJob {
    pub hash: HashKind,
    pub page: Option<u64>,
}

/// The digest algorithms code signatures use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HashKind {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl HashKind {
    fn hash(self) -> Hash {
        match self {
            HashKind::Sha1 => Hash::Sha1,
            HashKind::Sha256 => Hash::Sha256,
            HashKind::Sha384 => Hash::Sha384,
            HashKind::Sha512 => Hash::Sha512,
        }
    }
    /// A CodeDirectory's hash type; `Sha256Truncated` is SHA-256 cut to its digest size.
    pub fn of(t: DigestType) -> Option<HashKind> {
        match t {
            DigestType::Sha1 => Some(HashKind::Sha1),
            DigestType::Sha256 | DigestType::Sha256Truncated => Some(HashKind::Sha256),
            DigestType::Sha384 => Some(HashKind::Sha384),
            DigestType::Sha512 => Some(HashKind::Sha512),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        self.hash().name()
    }
    /// The digest's length in bytes.
    pub fn size(self) -> usize {
        match self {
            HashKind::Sha1 => 20,
            HashKind::Sha256 => 32,
            HashKind::Sha384 => 48,
            HashKind::Sha512 => 64,
        }
    }
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        self.hash().digest(data)
    }
    pub fn hasher(self) -> Hasher {
        self.hash().hasher()
    }
    fn oid(self) -> &'static str {
        match self {
            HashKind::Sha1 => "1.3.14.3.2.26",
            HashKind::Sha256 => "2.16.840.1.101.3.4.2.1",
            HashKind::Sha384 => "2.16.840.1.101.3.4.2.2",
            HashKind::Sha512 => "2.16.840.1.101.3.4.2.3",
        }
    }
}

/// Page digests of one slice for one [`PageJob`].
struct PageHasher {
    job: PageJob,
    hasher: Hasher,
    fill: u64,
    digests: Vec<Vec<u8>>,
}

impl PageHasher {
    fn new(job: PageJob) -> PageHasher {
        PageHasher {
            job,
            hasher: job.hash.hasher(),
            fill: 0,
            digests: Vec::new(),
        }
    }
    fn update(&mut self, mut data: &[u8]) {
        let Some(page) = self.job.page else {
            self.hasher.update(data);
            self.fill += data.len() as u64;
            return;
        };
        while !data.is_empty() {
            let room = (page - self.fill) as usize;
            let n = room.min(data.len());
            let (now, rest) = data.split_at(n);
            self.hasher.update(now);
            self.fill += n as u64;
            data = rest;
            if self.fill == page {
                self.digests.push(self.hasher.finalize_reset());
                self.fill = 0;
            }
        }
    }
    fn finish(mut self) -> (PageJob, Vec<Vec<u8>>) {
        if self.fill > 0 {
            self.digests.push(self.hasher.finalize_reset());
        }
        (self.job, self.digests)
    }
}

/// What the load commands of a slice say.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    /// `LC_CODE_SIGNATURE`: offset and size of the signature within the slice.
    pub signature: Option<(u64, u64)>,
    /// Where code ends: the signature's offset, or the slice's end when unsigned.
    pub code_limit: u64,
    pub filetype: u32,
    /// Whether SHA-1 CodeDirectories are expected (deployment target before
    /// iOS 11 / macOS 10.11.4, watchOS, or none recorded), as apple-codesign decides.
    pub wants_sha1: bool,
}

struct SliceState {
    offset: u64,
    size: u64,
    arch: String,
    head: Vec<u8>,
    head_need: u64,
    layout: Option<Layout>,
    signature: Vec<u8>,
    pages: Vec<PageHasher>,
    error: Option<String>,
}

/// One slice, once its bytes have all gone past.
#[derive(Debug)]
pub struct Slice {
    /// Position in a fat file, `None` for a thin one.
    pub index: Option<usize>,
    pub arch: String,
    pub layout: Layout,
    /// The signature blob (`LC_CODE_SIGNATURE` data), when there is one.
    pub signature: Option<Vec<u8>>,
    /// Page digests per job.
    pub pages: Vec<(PageJob, Vec<Vec<u8>>)>,
}

/// A Mach-O read from a stream.
#[derive(Debug)]
pub struct Macho {
    pub fat: bool,
    /// The slices; a slice whose header cannot be read is an error instead.
    pub slices: Vec<Result<Slice, String>>,
}

enum Stage {
    /// Collecting the first bytes to learn what the file is.
    Start(Vec<u8>),
    /// Not a Mach-O: the rest is ignored.
    NotMacho,
    Slices(Vec<SliceState>),
    Broken(String),
}

/// Consumes a file's bytes in order and keeps what the signature check needs.
pub struct MachoStream {
    total: u64,
    pos: u64,
    stage: Stage,
    /// Page hashes to compute instead of the default (a second pass).
    jobs: Option<Vec<PageJob>>,
}

fn be32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map_or(0, |s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// Whether these first bytes start a Mach-O, thin or fat. Java class files
/// share the fat magic; their second word (a version, >= 45) tells them apart.
pub fn is_macho_magic(first: &[u8]) -> bool {
    match be32(first, 0) {
        0xfeed_face | 0xfeed_facf | 0xcefa_edfe | 0xcffa_edfe => true,
        FAT_MAGIC => first.len() >= 8 && (1..=MAX_SLICES as u32).contains(&be32(first, 4)),
        _ => false,
    }
}

impl MachoStream {
    /// A reader for a file of `total` bytes. `jobs` overrides the page hashes
    /// computed (for a second pass); by default SHA-256 at 4 KiB, plus SHA-1
    /// when the slice's deployment target predicts a SHA-1 CodeDirectory.
    pub fn new(total: u64, jobs: Option<Vec<PageJob>>) -> MachoStream {
        MachoStream {
            total,
            pos: 0,
            stage: Stage::Start(Vec::new()),
            jobs,
        }
    }

    /// Whether the file turned out not to be a Mach-O (so its bytes are not needed).
    pub fn not_macho(&self) -> bool {
        matches!(self.stage, Stage::NotMacho)
    }

    pub fn update(&mut self, data: &[u8]) {
        let at = self.pos;
        self.pos += data.len() as u64;
        match &mut self.stage {
            Stage::NotMacho | Stage::Broken(_) => {}
            Stage::Slices(slices) => feed(slices, at, data, self.jobs.as_deref()),
            Stage::Start(buf) => {
                buf.extend_from_slice(data);
                let buf = std::mem::take(buf);
                match layout_of_file(&buf, self.total) {
                    Ok(None) => self.stage = Stage::Start(buf),
                    Ok(Some(None)) => self.stage = Stage::NotMacho,
                    Ok(Some(Some(mut slices))) => {
                        feed(&mut slices, 0, &buf, self.jobs.as_deref());
                        self.stage = Stage::Slices(slices);
                    }
                    Err(e) => self.stage = Stage::Broken(e),
                }
            }
        }
    }

    /// The slices read. `None` when the file is not a Mach-O.
    pub fn finish(self) -> Option<Result<Macho, String>> {
        if matches!(self.stage, Stage::NotMacho) {
            return None;
        }
        if self.pos != self.total {
            return Some(Err(format!(
                "{} bytes read instead of {}",
                self.pos, self.total
            )));
        }
        match self.stage {
            Stage::NotMacho => None,
            Stage::Start(buf) => {
                if is_macho_magic(&buf) {
                    Some(Err("the file is too short for a Mach-O header".into()))
                } else {
                    None
                }
            }
            Stage::Broken(e) => Some(Err(e)),
            Stage::Slices(slices) => {
                let fat = slices.len() > 1 || slices.first().is_some_and(|s| s.offset > 0);
                let slices = slices
                    .into_iter()
                    .enumerate()
                    .map(|(i, s)| {
                        if let Some(e) = s.error {
                            return Err(format!("slice {} ({}): {e}", i, s.arch));
                        }
                        let layout = s.layout.ok_or_else(|| {
                            format!("slice {} ({}): the header is cut short", i, s.arch)
                        })?;
                        let signature = layout.signature.map(|_| s.signature);
                        Ok(Slice {
                            index: fat.then_some(i),
                            arch: s.arch,
                            layout,
                            signature,
                            pages: s.pages.into_iter().map(PageHasher::finish).collect(),
                        })
                    })
                    .collect();
                Some(Ok(Macho { fat, slices }))
            }
        }
    }
}

/// From the first bytes: `Ok(None)` needs more, `Ok(Some(None))` is not a
/// Mach-O, else the slices (offset, size) to follow.
#[allow(clippy::type_complexity)]
fn layout_of_file(buf: &[u8], total: u64) -> Result<Option<Option<Vec<SliceState>>>, String> {
    let need = |n: u64| buf.len() as u64 >= n.min(total);
    if !need(8) {
        return Ok(None);
    }
    if !is_macho_magic(buf) {
        return Ok(Some(None));
    }
    if be32(buf, 0) != FAT_MAGIC {
        return Ok(Some(Some(vec![slice_state(0, total, None)])));
    }
    let n = be32(buf, 4) as u64;
    if !need(8 + 20 * n) {
        return Ok(None);
    }
    let multi = goblin::mach::MultiArch::new(buf).map_err(|e| format!("fat header: {e}"))?;
    let arches = multi.arches().map_err(|e| format!("fat header: {e}"))?;
    let mut slices: Vec<SliceState> = Vec::new();
    for a in arches {
        let (off, size) = (u64::from(a.offset), u64::from(a.size));
        if off.checked_add(size).is_none_or(|end| end > total) || off < 8 + 20 * n {
            return Err(format!(
                "a fat slice ({off}+{size} bytes) lies outside the {total}-byte file"
            ));
        }
        slices.push(slice_state(off, size, Some((a.cputype, a.cpusubtype))));
    }
    slices.sort_by_key(|s| s.offset);
    for w in slices.windows(2) {
        if let [a, b] = w {
            if a.offset + a.size > b.offset {
                return Err("fat slices overlap".into());
            }
        }
    }
    Ok(Some(Some(slices)))
}

fn arch_name(cpu: Option<(u32, u32)>) -> String {
    match cpu {
        Some((t, s)) => goblin::mach::cputype::get_arch_name_from_types(t, s)
            .map(str::to_string)
            .unwrap_or_else(|| format!("cpu {t:#x}")),
        None => String::new(),
    }
}

fn slice_state(offset: u64, size: u64, cpu: Option<(u32, u32)>) -> SliceState {
    SliceState {
        offset,
        size,
        arch: arch_name(cpu),
        head: Vec::new(),
        head_need: 32.min(size),
        layout: None,
        signature: Vec::new(),
        pages: Vec::new(),
        error: None,
    }
}

/// Gives each slice the part of `data` (at file offset `at`) that is its own.
fn feed(slices: &mut [SliceState], at: u64, data: &[u8], jobs: Option<&[PageJob]>) {
    let end = at + data.len() as u64;
    for s in slices.iter_mut() {
        let (lo, hi) = (s.offset.max(at), (s.offset + s.size).min(end));
        if lo >= hi {
            continue;
        }
        let part = data
            .get((lo - at) as usize..(hi - at) as usize)
            .unwrap_or_default();
        s.feed(lo - s.offset, part, jobs);
    }
}

impl SliceState {
    /// `data` sits at `rel` within the slice.
    fn feed(&mut self, rel: u64, data: &[u8], jobs: Option<&[PageJob]>) {
        if self.error.is_some() {
            return;
        }
        let mut data = data;
        let mut rel = rel;
        while self.layout.is_none() && !data.is_empty() {
            // Everything before the layout is known is held in `head` (bounded),
            // then replayed through the page hashers.
            let want = (self.head_need - self.head.len() as u64) as usize;
            let n = want.min(data.len());
            self.head
                .extend_from_slice(data.get(..n).unwrap_or_default());
            data = data.get(n..).unwrap_or_default();
            rel += n as u64;
            if self.head.len() as u64 == self.head_need {
                if let Err(e) = self.parse_head(jobs) {
                    self.error = Some(e);
                    return;
                }
                if self.layout.is_some() {
                    // Not needed once parsed: hashed, then dropped.
                    let head = std::mem::take(&mut self.head);
                    self.consume(0, &head);
                }
            }
        }
        if !data.is_empty() && self.layout.is_some() {
            self.consume(rel, data);
        }
    }

    /// Header first (its size gives the load commands' size), then the commands.
    fn parse_head(&mut self, jobs: Option<&[PageJob]>) -> Result<(), String> {
        let (_, ctx) = goblin::mach::parse_magic_and_ctx(&self.head, 0)
            .map_err(|e| format!("unreadable Mach-O header: {e}"))?;
        let ctx = ctx.ok_or("not a Mach-O slice")?;
        let header: goblin::mach::header::Header = self
            .head
            .pread_with(0, ctx)
            .map_err(|e| format!("unreadable Mach-O header: {e}"))?;
        if self.arch.is_empty() {
            self.arch = arch_name(Some((header.cputype, header.cpusubtype)));
        }
        let hsize = if ctx.container.is_big() { 32u64 } else { 28 };
        let need = hsize + u64::from(header.sizeofcmds);
        if need > self.size || need > MAX_HEAD {
            return Err(format!(
                "its load commands ({} bytes) do not fit",
                header.sizeofcmds
            ));
        }
        if (self.head.len() as u64) < need {
            self.head_need = need;
            return Ok(());
        }
        if header.ncmds as u64 * 8 > u64::from(header.sizeofcmds) {
            return Err(format!(
                "{} load commands cannot fit in {} bytes",
                header.ncmds, header.sizeofcmds
            ));
        }
        let mut layout = Layout {
            filetype: header.filetype,
            wants_sha1: true,
            ..Layout::default()
        };
        let mut off = hsize as usize;
        let mut target = None;
        for _ in 0..header.ncmds {
            let start = off;
            let lc = LoadCommand::parse(&self.head, &mut off, ctx.le)
                .map_err(|e| format!("unreadable load command: {e}"))?;
            if off < start + 8 || off as u64 > need {
                return Err("a load command runs past the load commands".into());
            }
            match lc.command {
                CommandVariant::CodeSignature(c) if c.cmd == LC_CODE_SIGNATURE => {
                    layout.signature = Some((u64::from(c.dataoff), u64::from(c.datasize)));
                }
                CommandVariant::BuildVersion(b) => target = Some((b.platform, b.minos)),
                CommandVariant::VersionMinIphoneos(v) if target.is_none() => {
                    target = Some((2, v.version))
                }
                CommandVariant::VersionMinMacosx(v) if target.is_none() => {
                    target = Some((1, v.version))
                }
                CommandVariant::VersionMinTvos(v) if target.is_none() => {
                    target = Some((3, v.version))
                }
                CommandVariant::VersionMinWatchos(v) if target.is_none() => {
                    target = Some((4, v.version))
                }
                _ => {}
            }
        }
        layout.wants_sha1 = match target {
            // Nibbles xxxx.yy.zz; the thresholds of apple-codesign's sha256_digest_support.
            Some((1, v)) => v < 0x000a_0b04,
            Some((2 | 3 | 6 | 7 | 8, v)) => v < 0x000b_0000,
            Some((4 | 9, _)) => true,
            Some(_) => false,
            None => true,
        };
        match layout.signature {
            Some((off, size)) => {
                if off < need || off.checked_add(size).is_none_or(|e| e > self.size) {
                    return Err(format!(
                        "its code signature ({size} bytes at {off}) lies outside the {}-byte slice",
                        self.size
                    ));
                }
                if size > MAX_SIGNATURE {
                    return Err(format!(
                        "its code signature is {size} bytes, over the limit"
                    ));
                }
                layout.code_limit = off;
            }
            None => layout.code_limit = self.size,
        }
        let default = [PageJob {
            hash: HashKind::Sha256,
            page: Some(PAGE),
        }];
        let sha1 = [PageJob {
            hash: HashKind::Sha1,
            page: Some(PAGE),
        }];
        let jobs: Vec<PageJob> = match jobs {
            Some(j) => j.to_vec(),
            None if layout.signature.is_none() => Vec::new(),
            None if layout.wants_sha1 => default.iter().chain(sha1.iter()).copied().collect(),
            None => default.to_vec(),
        };
        self.pages = jobs.into_iter().map(PageHasher::new).collect();
        self.layout = Some(layout);
        Ok(())
    }

    /// Bytes at `rel`, after the layout is known: page hashes below the code
    /// limit, the signature kept.
    fn consume(&mut self, rel: u64, data: &[u8]) {
        let Some(l) = &self.layout else { return };
        let end = rel + data.len() as u64;
        if rel < l.code_limit {
            let n = (l.code_limit.min(end) - rel) as usize;
            let code = data.get(..n).unwrap_or_default();
            for p in &mut self.pages {
                p.update(code);
            }
        }
        if let Some((off, size)) = l.signature {
            let (lo, hi) = (off.max(rel), (off + size).min(end));
            if lo < hi {
                self.signature.extend_from_slice(
                    data.get((lo - rel) as usize..(hi - rel) as usize)
                        .unwrap_or_default(),
                );
            }
        }
    }
}

/// The bundle files a main executable's signature binds (special slots -1 and
/// -3). `None` for code outside a bundle's main executable (loose dylibs).
#[derive(Clone, Copy, Debug, Default)]
pub struct Bound<'a> {
    pub info_plist: Option<&'a [u8]>,
    /// `Some(None)`: the bundle has no `_CodeSignature/CodeResources`.
    pub code_resources: Option<Option<&'a [u8]>>,
}

/// What is wrong with one slice's signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// A page or slot hash does not match what it seals (`app-code-modified`).
    Modified(String),
    /// The signature is malformed, the CMS does not verify, or the CDHashes
    /// disagree (`app-signature-invalid`).
    Invalid(String),
}

/// One slice's signature, checked.
#[derive(Clone, Debug, Default)]
pub struct SliceCheck {
    pub arch: String,
    /// The Mach-O file type (`MH_EXECUTE`, `MH_DYLIB`, ...).
    pub filetype: u32,
    pub signed: bool,
    pub adhoc: bool,
    pub identifier: Option<String>,
    pub team: Option<String>,
    /// Hash of each CodeDirectory as stored (its own algorithm), primary first.
    pub cdhashes: Vec<(HashKind, Vec<u8>)>,
    pub entitlements: Option<Result<Dictionary, String>>,
    /// The CMS signer, when one was found.
    pub signer: Option<Cert>,
    /// Every certificate the CMS carries (for the chain).
    pub certs: Vec<Cert>,
    pub problems: Vec<Problem>,
    /// Page hashes not computed while streaming (unusual page size or
    /// algorithm): verify again with these.
    pub rehash: Vec<PageJob>,
}

fn slot_name(slot: CodeSigningSlot) -> String {
    let n = u32::from(slot);
    let what = match slot {
        CodeSigningSlot::Info => "Info.plist",
        CodeSigningSlot::RequirementSet => "requirements",
        CodeSigningSlot::ResourceDir => "CodeResources",
        CodeSigningSlot::Application => "application",
        CodeSigningSlot::Entitlements => "entitlements",
        CodeSigningSlot::RepSpecific => "rep-specific",
        CodeSigningSlot::EntitlementsDer => "DER entitlements",
        CodeSigningSlot::LaunchConstraintsSelf => "launch constraints (self)",
        CodeSigningSlot::LaunchConstraintsParent => "launch constraints (parent)",
        CodeSigningSlot::LaunchConstraintsResponsibleProcess => "launch constraints (responsible)",
        CodeSigningSlot::LibraryConstraints => "library constraints",
        _ => "",
    };
    if what.is_empty() {
        format!("slot {n}")
    } else {
        format!("slot -{n} ({what})")
    }
}

/// Bounds apple-codesign's superblob parser relies on: the index fits, and
/// blob offsets lie in the data in increasing order.
fn superblob_sane(data: &[u8]) -> Result<(), String> {
    let count = be32(data, 8) as usize;
    if data.len() < 12 || count > 64 || 12 + 8 * count > data.len() {
        return Err("the signature superblob's index does not fit".into());
    }
    let mut last = 12 + 8 * count;
    for i in 0..count {
        let off = be32(data, 12 + 8 * i + 4) as usize;
        if off < last || off > data.len() {
            return Err("the signature superblob's blobs are out of order or out of range".into());
        }
        last = off;
    }
    Ok(())
}

/// Bounds apple-codesign's CodeDirectory parser relies on (it indexes with
/// these offsets unchecked). Returns the raw page-size exponent.
fn code_directory_sane(data: &[u8]) -> Result<u8, String> {
    if data.len() < 44 {
        return Err("a CodeDirectory is too short".into());
    }
    let len = (be32(data, 4) as usize).min(data.len());
    let version = be32(data, 8);
    let digest_offset = be32(data, 16) as u64;
    let ident_offset = be32(data, 20) as usize;
    let n_special = be32(data, 24) as u64;
    let n_code = be32(data, 28) as u64;
    let digest_size = u64::from(data.get(36).copied().unwrap_or(0));
    let page_log2 = data.get(39).copied().unwrap_or(0);
    let fixed = match version {
        v if v >= 0x20600 => 0x68,
        v if v >= 0x20500 => 0x60,
        v if v >= 0x20400 => 0x58,
        v if v >= 0x20300 => 0x40,
        v if v >= 0x20200 => 0x34,
        v if v >= 0x20100 => 0x30,
        _ => 0x2c,
    };
    if len < fixed || data.len() < fixed {
        return Err("a CodeDirectory is shorter than its version's header".into());
    }
    let bad = |what: &str| Err(format!("a CodeDirectory's {what} is out of range"));
    if !(1..=64).contains(&digest_size) {
        return bad("digest size");
    }
    if ident_offset >= len {
        return bad("identifier offset");
    }
    if version >= 0x20200 {
        let team = be32(data, 0x30) as usize;
        if team != 0 && team >= len {
            return bad("team offset");
        }
    }
    let specials = n_special * digest_size;
    if specials > digest_offset || digest_offset + n_code * digest_size > len as u64 {
        return bad("hash table");
    }
    if page_log2 != 0 && !(9..=24).contains(&page_log2) {
        return Err(format!(
            "a CodeDirectory's page size (2^{page_log2}) is not one a device uses"
        ));
    }
    Ok(page_log2)
}

/// Checks one slice's signature against the slice's page hashes and the files
/// it binds.
pub fn verify_slice(slice: &Slice, bound: &Bound) -> SliceCheck {
    let mut out = SliceCheck {
        arch: slice.arch.clone(),
        filetype: slice.layout.filetype,
        ..SliceCheck::default()
    };
    let Some(data) = slice.signature.as_deref() else {
        return out;
    };
    out.signed = true;
    let invalid = |out: &mut SliceCheck, m: String| out.problems.push(Problem::Invalid(m));
    if let Err(e) = superblob_sane(data) {
        invalid(&mut out, e);
        return out;
    }
    let sig = match EmbeddedSignature::from_bytes(data) {
        Ok(s) => s,
        Err(e) => {
            invalid(&mut out, format!("the code signature cannot be read: {e}"));
            return out;
        }
    };
    // Every CodeDirectory: the primary (slot 0) first, then the alternates.
    let mut cds: Vec<(CodeSigningSlot, &[u8], CodeDirectoryBlob, u8)> = Vec::new();
    for b in &sig.blobs {
        if b.slot != CodeSigningSlot::CodeDirectory && !b.slot.is_alternative_code_directory() {
            continue;
        }
        if b.magic != CodeSigningMagic::CodeDirectory {
            invalid(
                &mut out,
                format!("{:?} does not hold a CodeDirectory", b.slot),
            );
            return out;
        }
        let parsed = code_directory_sane(b.data).and_then(|log2| {
            CodeDirectoryBlob::from_blob_bytes(b.data)
                .map(|cd| (cd, log2))
                .map_err(|e| format!("a CodeDirectory cannot be read: {e}"))
        });
        match parsed {
            Ok((cd, log2)) => cds.push((b.slot, b.data, cd, log2)),
            Err(e) => {
                invalid(&mut out, e);
                return out;
            }
        }
    }
    cds.sort_by_key(|(slot, ..)| u32::from(*slot));
    if cds.first().map(|c| c.0) != Some(CodeSigningSlot::CodeDirectory) {
        invalid(&mut out, "the code signature has no CodeDirectory".into());
        return out;
    }
    let mut seen = BTreeSet::new();
    for (_, raw, cd, log2) in &cds {
        let Some(kind) = HashKind::of(cd.digest_type) else {
            invalid(
                &mut out,
                format!(
                    "a CodeDirectory uses an unknown hash type ({:?})",
                    cd.digest_type
                ),
            );
            continue;
        };
        let want_len = if cd.digest_type == DigestType::Sha256Truncated {
            20
        } else {
            kind.size()
        };
        if usize::from(cd.digest_size) != want_len {
            invalid(
                &mut out,
                format!(
                    "a {} CodeDirectory has {}-byte hashes",
                    kind.name(),
                    cd.digest_size
                ),
            );
            continue;
        }
        if !seen.insert(kind) {
            invalid(&mut out, format!("two {} CodeDirectories", kind.name()));
        }
        out.cdhashes.push((kind, kind.digest(raw)));
        check_code_directory(slice, &sig, cd, kind, *log2, bound, &mut out);
    }
    let primary = cds.first().map(|c| &c.2);
    out.identifier = primary.map(|cd| cd.ident.to_string());
    out.team = primary.and_then(|cd| cd.team_name.as_ref().map(|t| t.to_string()));
    let adhoc_flag = primary.is_some_and(|cd| cd.flags.contains(CodeSignatureFlags::ADHOC));
    out.entitlements = entitlements(&sig);
    // Blobs in the special range that no CodeDirectory seals were added later.
    if let Some((_, _, cd, _)) = cds.first() {
        for b in &sig.blobs {
            if b.slot.is_code_directory_specials_expressible()
                && !b.slot.has_external_content()
                && !cd.special_digests.contains_key(&b.slot)
            {
                out.problems.push(Problem::Modified(format!(
                    "{} is in the signature but no CodeDirectory seals it",
                    slot_name(b.slot)
                )));
            }
        }
    }
    let cms = sig
        .blobs
        .iter()
        .find(|b| b.slot == CodeSigningSlot::Signature);
    let payload = match cms {
        Some(b) if b.magic == CodeSigningMagic::BlobWrapper => b.payload().ok(),
        Some(_) => {
            invalid(
                &mut out,
                "the CMS signature slot holds something else".into(),
            );
            return out;
        }
        None => None,
    };
    match payload {
        None | Some([]) => out.adhoc = true,
        Some(p) => {
            if let Some((_, raw, ..)) = cds.first() {
                check_cms(p, raw, &out.cdhashes.clone(), &mut out);
            }
        }
    }
    if adhoc_flag && !out.adhoc {
        invalid(
            &mut out,
            "the CodeDirectory says ad-hoc but a CMS signature is attached".into(),
        );
    }
    out
}

fn entitlements(sig: &EmbeddedSignature) -> Option<Result<Dictionary, String>> {
    let b = sig.find_slot(CodeSigningSlot::Entitlements)?;
    if b.magic != CodeSigningMagic::Entitlements {
        return Some(Err("the entitlements slot holds something else".into()));
    }
    Some(
        apple_codesign::embedded_signature::EntitlementsBlob::from_blob_bytes(b.data)
            .map_err(|e| format!("unreadable entitlements: {e}"))
            .and_then(|e| {
                plist::from_bytes::<Dictionary>(e.as_str().as_bytes())
                    .map_err(|e| format!("entitlements are not a valid plist: {e}"))
            }),
    )
}

fn is_zero(d: &[u8]) -> bool {
    d.iter().all(|b| *b == 0)
}

fn hex_short(d: &[u8]) -> String {
    hex::encode(d.get(..8).unwrap_or(d))
}

fn check_code_directory(
    slice: &Slice,
    sig: &EmbeddedSignature,
    cd: &CodeDirectoryBlob,
    kind: HashKind,
    log2: u8,
    bound: &Bound,
    out: &mut SliceCheck,
) {
    let name = kind.name();
    let trunc = usize::from(cd.digest_size);
    let code_limit = cd
        .code_limit_64
        .filter(|l| *l != 0)
        .unwrap_or(u64::from(cd.code_limit));
    if code_limit != slice.layout.code_limit {
        out.problems.push(Problem::Modified(format!(
            "the {name} CodeDirectory covers {code_limit} bytes of code, the file has {}",
            slice.layout.code_limit
        )));
    }
    // Code pages.
    let job = PageJob {
        hash: kind,
        page: (log2 != 0).then(|| 1u64 << log2),
    };
    match slice.pages.iter().find(|(j, _)| *j == job) {
        None => {
            if !out.rehash.contains(&job) {
                out.rehash.push(job);
            }
        }
        Some((_, actual)) => {
            let sealed = &cd.code_digests;
            if sealed.len() != actual.len() {
                out.problems.push(Problem::Modified(format!(
                    "the {name} CodeDirectory seals {} code pages, the file has {}",
                    sealed.len(),
                    actual.len()
                )));
            }
            let bad: Vec<usize> = sealed
                .iter()
                .zip(actual)
                .enumerate()
                .filter(|(_, (s, a))| a.get(..trunc) != Some(&s.data[..]))
                .map(|(i, _)| i)
                .collect();
            if let Some(first) = bad.first() {
                out.problems.push(Problem::Modified(format!(
                    "code page {first} (bytes {}..) does not match its {name} hash{}",
                    *first as u64 * job.page.unwrap_or(0),
                    if bad.len() > 1 {
                        format!(" ({} of {} pages differ)", bad.len(), sealed.len())
                    } else {
                        String::new()
                    }
                )));
            }
        }
    }
    // Special slots.
    for (slot, sealed) in &cd.special_digests {
        let sealed = &sealed.data[..];
        let zero = is_zero(sealed);
        let what = slot_name(*slot);
        let actual: Option<Vec<u8>> = match slot {
            CodeSigningSlot::Info => match bound.info_plist {
                Some(b) => Some(kind.digest(b)),
                None => continue,
            },
            CodeSigningSlot::ResourceDir => match bound.code_resources {
                Some(Some(b)) => Some(kind.digest(b)),
                Some(None) => None,
                None => continue,
            },
            // Contents outside the signature that iOS bundles never use.
            CodeSigningSlot::Application | CodeSigningSlot::RepSpecific => continue,
            s => sig.find_slot(*s).map(|b| kind.digest(b.data)),
        };
        match actual {
            None if zero => {}
            None => out.problems.push(Problem::Modified(format!(
                "{what} is sealed ({name} {}) but {} is missing",
                hex_short(sealed),
                match slot {
                    CodeSigningSlot::ResourceDir => "_CodeSignature/CodeResources",
                    _ => "its blob",
                }
            ))),
            Some(_) if zero => out.problems.push(Problem::Modified(if slot.has_external_content() {
                format!("{what} is empty in the {name} CodeDirectory: the bundle's file is not bound to the signature")
            } else {
                format!("{what} is present but its {name} hash is empty: it was added after signing")
            })),
            Some(a) => {
                if a.get(..trunc) != Some(sealed) {
                    out.problems.push(Problem::Modified(format!(
                        "{what} does not match its {name} hash (sealed {}, actual {})",
                        hex_short(sealed),
                        hex_short(&a)
                    )));
                }
            }
        }
    }
    // A bundle's main executable must bind its Info.plist and its resource seal.
    for (slot, file, present) in [
        (
            CodeSigningSlot::Info,
            "Info.plist",
            bound.info_plist.is_some(),
        ),
        (
            CodeSigningSlot::ResourceDir,
            "_CodeSignature/CodeResources",
            matches!(bound.code_resources, Some(Some(_))),
        ),
    ] {
        if present && !cd.special_digests.contains_key(&slot) {
            out.problems.push(Problem::Modified(format!(
                "the {name} CodeDirectory does not seal the bundle's {file} ({})",
                slot_name(slot)
            )));
        }
    }
}

/// The CMS signature: it verifies, its message digest is the primary
/// CodeDirectory's hash, and Apple's CDHashes attributes name every CodeDirectory.
fn check_cms(
    data: &[u8],
    primary_cd: &[u8],
    cdhashes: &[(HashKind, Vec<u8>)],
    out: &mut SliceCheck,
) {
    let invalid = |out: &mut SliceCheck, m: String| out.problems.push(Problem::Invalid(m));
    let sd = match SignedData::parse_ber(data) {
        Ok(sd) => sd,
        Err(e) => {
            invalid(out, format!("the CMS signature cannot be read: {e}"));
            return;
        }
    };
    out.certs = sd
        .certificates()
        .filter_map(|c| Cert::from_der(c.constructed_data()).ok())
        .collect();
    let mut signers = sd.signers();
    let Some(signer) = signers.next() else {
        invalid(out, "the CMS signature has no signer".into());
        return;
    };
    if signers.next().is_some() {
        invalid(out, "the CMS signature has more than one signer".into());
    }
    out.signer = sd
        .certificates()
        .find(|c| signer.signature_verifier(std::iter::once(*c)).is_ok())
        .and_then(|c| Cert::from_der(c.constructed_data()).ok());
    if out.signer.is_none() {
        invalid(
            out,
            "the CMS signature does not carry its signer's certificate".into(),
        );
        return;
    }
    if let Err(e) = signer.verify_signature_with_signed_data(&sd) {
        invalid(out, format!("the CMS signature does not verify ({e})"));
    }
    if let Err(e) = signer.verify_message_digest_with_content(primary_cd) {
        invalid(
            out,
            format!("the CMS signature is not over this CodeDirectory ({e})"),
        );
    }
    let Some(attrs) = signer.signed_attributes() else {
        return;
    };
    let mut plist_hashes: Option<Vec<Vec<u8>>> = None;
    let mut asn1_hashes: Option<Vec<(String, Vec<u8>)>> = None;
    for attr in attrs.attributes().iter() {
        if attr.typ == CD_DIGESTS_PLIST_OID {
            let found = attr.values.first().and_then(|v| {
                std::ops::Deref::deref(v)
                    .clone()
                    .decode(bcder::OctetString::take_from)
                    .ok()
                    .map(|o| o.into_bytes().to_vec())
            });
            let list = found
                .and_then(|x| plist::from_bytes::<Dictionary>(&x).ok())
                .and_then(|d| {
                    d.get("cdhashes").and_then(|a| a.as_array()).map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_data().map(<[u8]>::to_vec))
                            .collect::<Vec<_>>()
                    })
                });
            match list {
                Some(l) => plist_hashes = Some(l),
                None => invalid(out, "the CMS CDHashes attribute cannot be read".into()),
            }
        } else if attr.typ == CD_DIGESTS_OID {
            let mut pairs = Vec::new();
            let mut ok = true;
            for v in &attr.values {
                let r = std::ops::Deref::deref(v).clone().decode(|cons| {
                    while let Some(()) = cons.take_opt_sequence(|cons| {
                        let oid = bcder::Oid::take_from(cons)?;
                        let value = bcder::OctetString::take_from(cons)?;
                        pairs.push((oid.to_string(), value.into_bytes().to_vec()));
                        Ok(())
                    })? {}
                    Ok(())
                });
                ok &= r.is_ok();
            }
            if ok {
                asn1_hashes = Some(pairs);
            } else {
                invalid(out, "the CMS CDHashes2 attribute cannot be read".into());
            }
        }
    }
    if let Some(list) = &plist_hashes {
        let want: BTreeSet<Vec<u8>> = cdhashes
            .iter()
            .map(|(_, h)| h.get(..20).unwrap_or(h).to_vec())
            .collect();
        let got: BTreeSet<Vec<u8>> = list.iter().cloned().collect();
        if want != got {
            invalid(
                out,
                format!(
                    "the CMS CDHashes attribute names {} CodeDirectory hash(es) that are not this signature's ({})",
                    got.difference(&want).count().max(want.difference(&got).count()),
                    got.iter().map(|h| hex_short(h)).collect::<Vec<_>>().join(", ")
                ),
            );
        }
    }
    if let Some(pairs) = &asn1_hashes {
        let want: BTreeSet<(String, Vec<u8>)> = cdhashes
            .iter()
            .map(|(k, h)| (k.oid().to_string(), h.clone()))
            .collect();
        let got: BTreeSet<(String, Vec<u8>)> = pairs.iter().cloned().collect();
        if want != got {
            invalid(
                out,
                "the CMS CDHashes2 attribute does not match this signature's CodeDirectories"
                    .into(),
            );
        }
    }
    if cdhashes.len() > 1 && plist_hashes.is_none() && asn1_hashes.is_none() {
        invalid(
            out,
            "the alternate CodeDirectories are not bound by the CMS signature (no CDHashes attribute)".into(),
        );
    }
}

/// Reads a whole Mach-O held in memory (tests, fuzzing, small files): the
/// same stream, fed at once.
pub fn read_bytes(data: &[u8], jobs: Option<Vec<PageJob>>) -> Option<Result<Macho, String>> {
    let mut s = MachoStream::new(data.len() as u64, jobs);
    for chunk in data.chunks(64 << 10) {
        s.update(chunk);
    }
    s.finish()
}

/// The page hashes a second pass must compute when some CodeDirectory uses a
/// page size or algorithm the first pass did not (`None`: no second pass):
/// those of the first pass too, so every slice is checked again in full.
pub fn second_pass(m: &Macho, checks: &[SliceCheck]) -> Option<Vec<PageJob>> {
    let mut extra: Vec<PageJob> = checks
        .iter()
        .flat_map(|c| c.rehash.iter().copied())
        .collect();
    if extra.is_empty() {
        return None;
    }
    for s in m.slices.iter().flatten() {
        extra.extend(s.pages.iter().map(|(j, _)| *j));
    }
    extra.sort();
    extra.dedup();
    Some(extra)
}

/// Checks every slice of an in-memory Mach-O (second pass included).
/// `None`: not a Mach-O.
pub fn verify_bytes(data: &[u8], bound: &Bound) -> Option<Result<Vec<SliceCheck>, String>> {
    let verify_all = |m: &Macho| -> Result<Vec<SliceCheck>, String> {
        m.slices
            .iter()
            .map(|s| {
                s.as_ref()
                    .map(|s| verify_slice(s, bound))
                    .map_err(Clone::clone)
            })
            .collect()
    };
    let m = match read_bytes(data, None)? {
        Ok(m) => m,
        Err(e) => return Some(Err(e)),
    };
    let checks = match verify_all(&m) {
        Ok(c) => c,
        Err(e) => return Some(Err(e)),
    };
    Some(match second_pass(&m, &checks) {
        None => Ok(checks),
        Some(jobs) => match read_bytes(data, Some(jobs)) {
            Some(Ok(m2)) => verify_all(&m2),
            Some(Err(e)) => Err(e),
            None => Err("the file changed between two reads".into()),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sample app's main executable (arm64, SHA-256, signed by rcodesign).
    fn sample() -> Vec<u8> {
        let ipa = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/WrapDemo.ipa");
        let mut z = zip::ZipArchive::new(std::fs::File::open(ipa).unwrap()).unwrap();
        let mut f = z.by_name("Payload/WrapDemo.app/WrapDemo").unwrap();
        let mut d = Vec::new();
        std::io::Read::read_to_end(&mut f, &mut d).unwrap();
        d
    }

    #[test]
    fn magic() {
        assert!(is_macho_magic(&[0xcf, 0xfa, 0xed, 0xfe, 0, 0, 0, 0]));
        assert!(is_macho_magic(&[0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 2]));
        // A Java class file (major version 52) shares the fat magic.
        assert!(!is_macho_magic(&[0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 52]));
        assert!(!is_macho_magic(b"PK\x03\x04"));
    }

    #[test]
    fn the_stream_is_the_same_whatever_the_chunks() {
        let d = sample();
        let whole = verify_bytes(&d, &Bound::default()).unwrap().unwrap();
        assert!(
            whole.iter().all(|c| c.signed && c.problems.is_empty()),
            "{whole:?}"
        );
        for chunk in [1, 7, 31, 4095, 4097, 65536] {
            let mut s = MachoStream::new(d.len() as u64, None);
            for c in d.chunks(chunk) {
                s.update(c);
            }
            let m = s.finish().unwrap().unwrap();
            let c: Vec<SliceCheck> = m
                .slices
                .iter()
                .map(|s| verify_slice(s.as_ref().unwrap(), &Bound::default()))
                .collect();
            assert_eq!(c.len(), whole.len());
            assert_eq!(c[0].cdhashes, whole[0].cdhashes, "chunk {chunk}");
            assert!(
                c[0].problems.is_empty(),
                "chunk {chunk}: {:?}",
                c[0].problems
            );
        }
    }

    #[test]
    fn a_page_flip_is_named_with_its_page() {
        let mut d = sample();
        d[3 * 4096 + 5] ^= 1;
        let c = verify_bytes(&d, &Bound::default()).unwrap().unwrap();
        assert!(
            c[0].problems
                .iter()
                .any(|p| matches!(p, Problem::Modified(m) if m.contains("code page 3 "))),
            "{:?}",
            c[0].problems
        );
    }

    #[test]
    fn hostile_superblobs_and_code_directories_are_refused_not_indexed() {
        // Index past the data; offsets out of order.
        let mut sb = vec![0xfa, 0xde, 0x0c, 0xc0, 0, 0, 0, 28, 0, 0, 0, 2];
        sb.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 28]);
        assert!(superblob_sane(&sb).is_err());
        sb.extend_from_slice(&[0, 0, 0, 2, 0, 0, 0, 20]);
        assert!(
            superblob_sane(&sb).is_err(),
            "second offset before the first"
        );
        let mut cd = vec![0u8; 0x58];
        cd[..4].copy_from_slice(&[0xfa, 0xde, 0x0c, 0x02]);
        cd[4..8].copy_from_slice(&(0x58u32).to_be_bytes());
        cd[8..12].copy_from_slice(&0x20400u32.to_be_bytes());
        cd[36] = 32;
        // Identifier offset past the end.
        cd[20..24].copy_from_slice(&0x1000u32.to_be_bytes());
        assert!(code_directory_sane(&cd).is_err());
        cd[20..24].copy_from_slice(&0x50u32.to_be_bytes());
        // More special slots than the hash table's offset leaves room for.
        cd[16..20].copy_from_slice(&0x50u32.to_be_bytes());
        cd[24..28].copy_from_slice(&100u32.to_be_bytes());
        assert!(code_directory_sane(&cd).is_err());
        cd[24..28].copy_from_slice(&0u32.to_be_bytes());
        cd[39] = 40;
        assert!(code_directory_sane(&cd).is_err(), "page size 2^40");
    }
}
