//! Entry points for the fuzzers in `fuzz/` (cargo-fuzz) and for the regression
//! tests that replay what they found (`tests/it/fuzz_regressions.rs`). Each takes
//! untrusted bytes and drives one parser the way wrapsign itself does; none may
//! panic, hang or allocate without bound, whatever the input.
//!
//! Not a stable API: it exists so the fuzz targets call the real code rather
//! than copies of it.

use std::collections::BTreeSet;

use time::OffsetDateTime;

use crate::android::apk::{self, signing_block, v2v3};
use crate::android::keystore::{self, javaser, EntryKind, StoreType};
use crate::android::manifest;
use crate::diag::Report;
use crate::ios::{self, profile::Profile, Ctx, Trust};
use crate::zip::Source;

/// Separates the parts of a multi-file fuzz input (see [`apk_v1`]).
pub const SPLIT: &[u8] = b"\n--wrapsign-fuzz--\n";

/// A fixed instant, so a fuzz run is reproducible.
fn at() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn ctx() -> Ctx {
    Ctx::new(at(), Trust::apple())
}

/// A provisioning profile: CMS (BER or DER) around a plist, then every check.
pub fn profile(data: &[u8]) {
    let ctx = ctx();
    if let Ok(p) = Profile::parse("fuzz.mobileprovision", data, &ctx.trust) {
        let mut r = Report::default();
        ios::profile::check(&p, &ctx, &mut r);
        let _ = p.item();
    }
    // The plist reader on its own, without the CMS layer in the way.
    if let Ok(p) = Profile::from_plist("fuzz.plist", data) {
        let mut r = Report::default();
        ios::profile::check(&p, &ctx, &mut r);
    }
}

/// A PKCS#12 identity (iOS `.p12`) and the same bytes as an Android keystore.
pub fn pkcs12(data: &[u8]) {
    for pw in ["", "password"] {
        if let Ok(id) = crate::pkcs12::read_identity(data, pw) {
            if let Some(k) = &id.key {
                let _ = k.matches(&id.cert);
            }
        }
    }
    if let Ok(ks) = keystore::open(data, StoreType::Pkcs12, Some("password")) {
        walk_keystore(&ks, "password");
    }
}

fn walk_keystore(ks: &keystore::Keystore, pw: &str) {
    let _ = keystore::duplicate_aliases(ks);
    for e in &ks.entries {
        match &e.kind {
            EntryKind::PrivateKey { key, chain } => {
                if let Ok(der) = key.recover(pw) {
                    let _ = crate::keys::PrivateKey::from_pkcs8_der(&der);
                }
                for c in chain {
                    let _ = crate::x509::Cert::from_der(c);
                }
            }
            EntryKind::TrustedCert { cert } => {
                let _ = crate::x509::Cert::from_der(cert);
            }
            EntryKind::SecretKey(s) => {
                let _ = s.unseal(pw);
            }
        }
    }
}

/// JKS and JCEKS keystores, with and without the store password, every key
/// recovered; and Java serialization (JCEKS sealed secret keys) on its own.
pub fn keystore(data: &[u8]) {
    let _ = keystore::detect(data);
    for ty in [StoreType::Jks, StoreType::Jceks] {
        for pw in [None, Some("password")] {
            if let Ok(ks) = keystore::open(data, ty, pw) {
                walk_keystore(&ks, pw.unwrap_or(""));
            }
        }
    }
    if let Ok(mut r) = javaser::Reader::new(data) {
        let _ = r.read_object();
    }
}

/// The binary AndroidManifest.xml reader.
pub fn android_manifest(data: &[u8]) {
    let _ = manifest::ManifestInfo::read(data);
    if let Ok(mut x) = manifest::BinXml::new(data) {
        // Bounded: each element consumes input.
        while let Ok(Some(e)) = x.next_element() {
            if let Ok(attrs) = x.attrs(&e) {
                for a in attrs {
                    let _ = x.attr_name(a);
                    let _ = x.attr_namespace(a);
                    let _ = x.attr_int(a);
                    let _ = x.attr_string(a);
                    let _ = x.attr_resource_id(a);
                }
            }
        }
    }
}

/// The APK Signing Block's ID-value pairs and the v2/v3/v3.1 signer blocks in them.
/// The input is a whole block (`size | pairs | size | magic`) or one scheme block.
pub fn apk_signing_block(data: &[u8]) {
    let block = signing_block::SigningBlock {
        offset: 0,
        bytes: data.to_vec(),
    };
    let _ = block.ids();
    let no_found = BTreeSet::new();
    let v3_found: BTreeSet<u32> = [3].into_iter().collect();
    for (scheme, id) in [
        (v2v3::Scheme::V2, signing_block::V2_BLOCK_ID),
        (v2v3::Scheme::V3, signing_block::V3_BLOCK_ID),
        (v2v3::Scheme::V31, signing_block::V31_BLOCK_ID),
    ] {
        let inner = block.pair(id).ok();
        for value in [Some(data), inner].into_iter().flatten() {
            let (min_sdk, found) = match scheme {
                v2v3::Scheme::V2 => (24, &v3_found),
                v2v3::Scheme::V3 => (28, &no_found),
                _ => (33, &no_found),
            };
            let r = v2v3::parse(
                value,
                &v2v3::ParseCtx {
                    scheme,
                    min_sdk,
                    max_sdk: i32::MAX,
                    supported_ids: &[2, 3],
                    found_ids: found,
                    rotation_min_sdk: (scheme == v2v3::Scheme::V3).then_some(33),
                },
            );
            let _ = r.all_errors().count();
        }
    }
    // The same bytes as a lineage file (`wrapsign rotate --out`) and as a
    // proof-of-rotation attribute; what reads must write back and read again.
    for l in [
        apk::lineage::from_file_bytes(data).ok(),
        v2v3::Lineage::parse(data).ok(),
    ]
    .into_iter()
    .flatten()
    {
        let again = apk::lineage::from_file_bytes(&apk::lineage::to_file_bytes(&l));
        assert!(again.is_ok_and(|a| a.nodes.len() == l.nodes.len()));
    }
}

/// JAR signing (v1): the input is `MANIFEST.MF`, `CERT.SF` and `CERT.RSA`
/// (PKCS#7) separated by [`SPLIT`], put in an APK and verified for old and new
/// platforms.
pub fn apk_v1(data: &[u8]) {
    let mut parts = split(data, SPLIT);
    let mf = parts.next().unwrap_or_default();
    let sf = parts.next().unwrap_or_default();
    let sig = parts.next().unwrap_or_default();
    let mut entries: Vec<(&str, &[u8])> = vec![
        ("META-INF/MANIFEST.MF", mf),
        ("META-INF/CERT.SF", sf),
        ("META-INF/CERT.RSA", sig),
        ("classes.dex", b"dex\n035\0"),
    ];
    // Further parts become more entries (a second signer, a named file).
    let names = ["META-INF/B.SF", "META-INF/B.EC", "assets/a.txt"];
    for (name, part) in names.iter().zip(parts) {
        entries.push((name, part));
    }
    // The pieces on their own too: they are what an attacker controls.
    let _ = apk::v1::ManifestParser::new(mf).read_all();
    let _ = apk::v1::ManifestParser::new(sf).read_all();
    if let Ok(sd) = apk::pkcs7::parse(sig) {
        for s in &sd.signer_infos {
            if let Some(a) = s.signed_attrs {
                let _ = apk::pkcs7::attributes(a);
            }
        }
    }
    let zip = stored_zip(&entries);
    for (min, max) in [(18, Some(23)), (18, None)] {
        let opts = apk::Options {
            min_sdk: Some(min),
            max_sdk: max,
            ..apk::Options::default()
        };
        let mut r = Report::default();
        apk::check_source("fuzz.apk", Source::from_bytes(zip.clone()), &opts, &mut r);
    }
}

/// A whole APK: ZIP structures, signing block, every scheme, the manifest.
pub fn apk(data: &[u8]) {
    for opts in [
        apk::Options::default(),
        apk::Options {
            min_sdk: Some(14),
            max_sdk: Some(23),
            ..apk::Options::default()
        },
    ] {
        let mut r = Report::default();
        apk::check_source("fuzz.apk", Source::from_bytes(data.to_vec()), &opts, &mut r);
    }
    let _ = apk::lineage::from_apk(&Source::from_bytes(data.to_vec()));
}

/// A private folder for a run that writes files: in memory when /dev/shm is
/// there, as the fuzzers run thousands of them a second.
fn scratch() -> Option<tempfile::TempDir> {
    let base = std::path::Path::new("/dev/shm");
    if base.is_dir() {
        tempfile::Builder::new()
            .prefix("wsfuzz")
            .tempdir_in(base)
            .ok()
    } else {
        tempfile::tempdir().ok()
    }
}

/// `wrapsign sign` for APKs: the input's ZIP read by the signer (which trusts
/// nothing the verifier checked), stripped, aligned, signed v1+v2+v3 with the
/// TEST ONLY release key into a private folder. Panics if the input file
/// changes or a failed run leaves an output behind.
pub fn apk_sign(data: &[u8]) {
    use crate::signer::apk as sign;
    let Some(dir) = scratch() else {
        return;
    };
    let input = dir.path().join("in.apk");
    let ks = dir.path().join("release.jks");
    let out = dir.path().join("out.apk");
    let keystore = include_bytes!("../signing/android/release.jks");
    if std::fs::write(&input, data).is_err() || std::fs::write(&ks, keystore).is_err() {
        return;
    }
    let Ok(pass) = "pass:wrapsign-test".parse() else {
        return;
    };
    let settings = crate::signer::Settings::new(
        input.clone(),
        sign::Destination::To(out.clone()),
        crate::identity::Source::Keystore {
            path: ks,
            ks_type: None,
            store_pass: Some(pass),
            key_pass: None,
            alias: None,
        },
        crate::context::Context::new(
            Ctx {
                archive: limits(),
                ..ctx()
            },
            &Default::default(),
            Default::default(),
        ),
    );
    let mut req = sign::Request::new(settings);
    // Both branches of the v1 decision, by the low bit of the input's length.
    req.min_sdk = Some(if data.len() % 2 == 0 { 21 } else { 24 });
    req.alignment.preserve = data.len() % 3 == 0;
    let outcome = sign::run(
        &req,
        &crate::diag::Policy::default(),
        None,
        crate::diag::FailOn::Error,
    );
    assert_eq!(
        std::fs::read(&input).ok().as_deref(),
        Some(data),
        "signing changed its input"
    );
    if outcome.written.is_none() {
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert_eq!(
            left.len(),
            2,
            "a failed signing left files behind: {left:?}"
        );
    }
}

/// Splits on a separator (no allocation of the parts).
pub fn split<'a>(data: &'a [u8], sep: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let r = rest?;
        match r.windows(sep.len()).position(|w| w == sep) {
            Some(i) => {
                rest = r.get(i + sep.len()..);
                r.get(..i)
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

pub use crate::zip::write::stored_zip;

/// Limits small enough that a fuzzer never inflates or writes much.
fn limits() -> crate::zip::Limits {
    crate::zip::Limits {
        max_expanded: 64 << 20,
        max_ratio: 100,
        ratio_floor: 1 << 20,
    }
}

/// ZIP structures: the APK reader (Android's rules: end record, central
/// directory, local headers, every entry streamed), the audit every other
/// reader starts with and the entries it lets through (inflated, size and CRC
/// checked), and the writer's raw copy of them.
pub fn zip(data: &[u8]) {
    use crate::zip::android as z;
    if let Ok(a) = crate::zip::Archive::open(Source::from_bytes(data.to_vec()), &limits()) {
        let mut w = crate::zip::Writer::new(std::io::Cursor::new(Vec::new()));
        let mut copied = true;
        for e in a.entries() {
            if let Ok(mut r) = a.reader(e) {
                let _ = std::io::copy(&mut r, &mut std::io::sink());
            }
            copied &= w.copy_entry(&a, e).is_ok();
        }
        if let (true, Ok(out)) = (copied, w.finish()) {
            // What the writer copied reads back as the same entries (the gaps
            // it dropped can raise the ratio: no limits here).
            let open = crate::zip::Limits {
                max_expanded: u64::MAX,
                max_ratio: u64::MAX,
                ratio_floor: u64::MAX,
            };
            let back = crate::zip::Archive::open(Source::from_bytes(out.into_inner()), &open);
            let names = |x: &crate::zip::Archive| {
                x.entries()
                    .iter()
                    .map(|e| e.raw_name.clone())
                    .collect::<Vec<_>>()
            };
            assert_eq!(back.map(|b| names(&b)), Ok(names(&a)));
        }
    }
    let src = Source::from_bytes(data.to_vec());
    let _ = crate::zip::audit::truncation(&src);
    let _ = crate::zip::names_of(&src);
    let Ok(dir) = z::open(&src, &limits(), false) else {
        return;
    };
    let _ = z::layout(&src, &dir.records, dir.sections.cd_offset);
    let _ = signing_block::find(&src, &dir.sections);
    for r in &dir.records {
        let mut n = 0usize;
        let _ = z::stream_entry(&src, r, dir.sections.cd_offset, &mut |b| n += b.len());
    }
}

/// An IPA read in place (never extracted): archive audit, bundles, plists,
/// profiles, Mach-O signatures, and the checks on them.
pub fn ipa(data: &[u8]) {
    let mut ctx = ctx();
    ctx.archive = limits();
    if let Ok(app) = ios::app::open_bytes("fuzz.ipa", data.to_vec(), &ctx) {
        let mut r = Report::default();
        let sources = ios::app::Profiles {
            candidates: &[],
            identity: None,
            fallback_embedded: true,
        };
        let _ = ios::app::check(&app, sources, &ctx, &mut r);
    }
}

/// The code-signature checks of issue 13 on untrusted bytes. Parts split by
/// [`SPLIT`]: a Mach-O, an Info.plist, a `CodeResources`, and a file listing
/// (one path per line, `@` before a symbolic link, `/` after a folder).
/// The Mach-O is streamed in chunks of a size the input picks (the stream's
/// boundaries are where a reader goes wrong), its bytes are also checked as a
/// bare signature superblob, and the seal is planned against the listing and
/// compared with digests the input supplies.
pub fn code_signature(data: &[u8]) {
    use crate::ios::code_signature::{self as cs, Bound, HashKind, Layout, PageJob, Slice};
    use crate::ios::seal::{self, Actual, Seal};
    let mut parts = split(data, SPLIT);
    let macho = parts.next().unwrap_or_default();
    let info = parts.next().unwrap_or_default();
    let resources = parts.next().unwrap_or_default();
    let listing = parts.next().unwrap_or_default();
    let bound = Bound {
        info_plist: Some(info),
        code_resources: Some(Some(resources)),
    };
    // As a file, streamed.
    let chunk = usize::from(macho.first().copied().unwrap_or(1)).max(1) * 7;
    let mut stream = cs::MachoStream::new(macho.len() as u64, None);
    for c in macho.chunks(chunk) {
        stream.update(c);
    }
    if let Some(Ok(m)) = stream.finish() {
        for s in m.slices.iter().flatten() {
            let _ = cs::verify_slice(s, &bound);
        }
    }
    let _ = cs::verify_bytes(macho, &Bound::default());
    // As a signature blob on its own, over page hashes of the input itself.
    let job = PageJob {
        hash: HashKind::Sha256,
        page: Some(cs::PAGE),
    };
    let pages: Vec<Vec<u8>> = info
        .chunks(cs::PAGE as usize)
        .map(|p| HashKind::Sha256.digest(p))
        .collect();
    let slice = Slice {
        index: None,
        arch: String::new(),
        layout: Layout {
            signature: Some((info.len() as u64, macho.len() as u64)),
            code_limit: info.len() as u64,
            filetype: 2,
            wants_sha1: false,
        },
        signature: Some(macho.to_vec()),
        pages: vec![(job, pages)],
    };
    let _ = cs::verify_slice(&slice, &bound);
    // The seal and its rules.
    if let Ok(s) = Seal::parse(resources) {
        let mut l = seal::Listing {
            main_executable: Some("App".into()),
            ..seal::Listing::default()
        };
        for line in String::from_utf8_lossy(listing).lines().take(4096) {
            if let Some(link) = line.strip_prefix('@') {
                l.symlinks.push(link.to_string());
            } else if let Some(dir) = line.strip_suffix('/') {
                l.dirs.insert(dir.to_string());
            } else {
                l.files.push(line.to_string());
            }
        }
        let plan = s.plan(&l);
        let actual = Actual {
            sha1: Some(HashKind::Sha1.digest(info)),
            sha256: Some(HashKind::Sha256.digest(info)),
            link: Some(String::from_utf8_lossy(info).into_owned()),
            cdhashes: vec![HashKind::Sha256.digest(macho)],
        };
        for item in &plan.items {
            if let Some(e) = &item.sealed {
                let _ = seal::compare(e, item.kind, &actual);
            }
        }
    }
}

/// `wrapsign sign`'s extraction of an IPA into a private folder. Panics (a
/// finding for the fuzzer) if anything lands outside that folder.
pub fn ipa_extract(data: &[u8]) {
    let Some(dir) = scratch() else {
        return;
    };
    let input = dir.path().join("in.ipa");
    // Deep, so that an entry climbing out with `..` still lands where we look.
    let root = dir.path().join("a/b/c/root");
    if std::fs::write(&input, data).is_err() || std::fs::create_dir_all(&root).is_err() {
        return;
    }
    let bar = indicatif::ProgressBar::hidden();
    let _ = ios::bundle::extract_ipa(&input, &root, &limits(), &bar);
    let allowed = ["in.ipa", "a", "a/b", "a/b/c", "a/b/c/root"];
    let outside: Vec<String> = walkdir::WalkDir::new(dir.path())
        .min_depth(1)
        .follow_links(false)
        .into_iter()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let rel = e
                .path()
                .strip_prefix(dir.path())
                .ok()?
                .to_string_lossy()
                .into_owned();
            (!allowed.contains(&rel.as_str()) && !rel.starts_with("a/b/c/root/")).then_some(rel)
        })
        .collect();
    assert!(
        outside.is_empty(),
        "extraction wrote outside its folder: {outside:?}"
    );
}

/// The bulk device zip (`[[devices]]`): archive audit and bounded reads.
pub fn device_zip(data: &[u8]) {
    let mut r = Report::default();
    let _ = crate::inventory::bulk::read_zip(
        "fuzz.zip",
        Source::from_bytes(data.to_vec()),
        &limits(),
        &mut r,
    );
}
