//! APK signing mechanics, as apksig's `ApkSigner` does them: v1 (JAR), v2
//! and v3 signatures written in one streaming pass. The signer that drives
//! them through the pipeline (gate, destination, self-checks, commit) is
//! [`crate::signer::apk`].
//!
//! [`write_signed`], so that a reader never sees half a signature:
//! 1. one streaming pass copies the kept entries raw into the (temporary)
//!    output, aligning uncompressed ones, while the v1 entry digests are
//!    computed on the other core;
//! 2. the JAR signature files are appended, then the central directory; the
//!    v2/v3 content digest is computed once, in parallel, for both schemes;
//! 3. the APK Signing Block goes in before the central directory.

pub mod blocks;
pub mod jar;
pub mod lineage;
pub mod zipout;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufWriter, Seek, SeekFrom, Write};

use rayon::prelude::*;

use crate::android::apk::digest::{self, Content};
use crate::atomic::AtomicFile;
use crate::keys::PrivateKey;
use crate::zip::{android as zip, Source};
use blocks::Algorithm;
use jar::V1Digest;
pub use zipout::Alignment;
use zipout::Counting;

/// What to write: the schemes, their algorithms, the layout.
pub struct Plan {
    /// v1 (JAR signing) with this digest, or none.
    pub v1: Option<V1Digest>,
    pub v2: bool,
    pub v3: bool,
    /// The v2/v3 signature algorithm (with v2 or v3).
    pub alg: Option<Algorithm>,
    pub alignment: Alignment,
    /// Base name of the JAR signature files.
    pub signer_name: String,
    /// The lowest API level signed for.
    pub min_sdk: i32,
    /// Key rotation: who signs which scheme and SDK range (the key given signs
    /// only its part; the oldest key signs v1/v2).
    pub rotation: Option<lineage::Schemes>,
}

/// The signing key and what signatures embed about it.
#[derive(Clone, Copy)]
pub struct Key<'a> {
    pub key: &'a PrivateKey,
    /// The certificate chain (DER), leaf first.
    pub chain: &'a [Vec<u8>],
    /// The leaf's SubjectPublicKeyInfo (DER).
    pub public_key: &'a [u8],
}

/// What was written.
pub struct Written {
    /// Name and data offset of every stored (uncompressed) entry.
    pub stored: Vec<(String, u64)>,
    pub v1_files: Vec<String>,
    pub entries: usize,
    pub size: u64,
}

/// The v1 digests of every kept entry's uncompressed data, on all cores.
fn entry_digests<F: Fn(&zipout::Entry) -> bool + Sync>(
    input: &zipout::Input,
    keep: &F,
    d: V1Digest,
) -> Result<BTreeMap<String, Vec<u8>>, String> {
    input
        .entries
        .par_iter()
        .filter(|e| keep(e))
        .map(|e| {
            let mut h = d.hash().hasher();
            zip::stream_entry(&input.src, &e.rec, input.lfh_end, &mut |b| h.update(b))
                .map_err(|err| format!("{}: {err}", e.name()))?;
            Ok((e.name().to_string(), h.finalize_reset()))
        })
        .collect()
}

/// Writes the signed APK into `out` (a temporary file beside the destination,
/// not committed: the caller checks it and puts it in place).
pub fn write_signed(
    input: &zipout::Input,
    id: &Key,
    plan: &Plan,
    out: AtomicFile,
    label: &str,
    bar: Option<indicatif::ProgressBar>,
) -> Result<(AtomicFile, Written), String> {
    let io = |e: std::io::Error| format!("cannot write {label}: {e}");
    let tmp_path = out.path().to_path_buf();
    let chain = id.chain;
    // With a rotation, v1 (and v2) are the oldest key's.
    let v1_key = plan.rotation.as_ref().map_or(*id, |r| r.oldest(id));

    let keep = |e: &zipout::Entry| jar::needs_digest(e.name());
    let mut w = Counting {
        inner: BufWriter::with_capacity(1 << 20, out),
        pos: 0,
        progress: bar.clone(),
    };
    // Copy on this thread while the other core digests entries for v1.
    let (copied, digests) = rayon::join(
        || zipout::copy_entries(input, &keep, plan.alignment, &mut w),
        || plan.v1.map(|d| entry_digests(input, &keep, d)),
    );
    let copied = copied.map_err(io)?;
    let mut cd_records = copied.cd_records;
    let mut v1_files = Vec::new();
    if let Some(d) = plan.v1 {
        let digests = digests.unwrap_or_else(|| Ok(BTreeMap::new()))?;
        let source_manifest = input
            .entries
            .iter()
            .find(|e| e.name() == jar::MANIFEST)
            .map(|e| zip::read_entry(&input.src, &e.rec, input.lfh_end))
            .transpose()
            .map_err(|e| format!("{}: {e}", jar::MANIFEST))?;
        let manifest = jar::manifest(source_manifest.as_deref(), d, &digests);
        let mut schemes = Vec::new();
        if plan.v2 {
            schemes.push(2);
        }
        if plan.v3 {
            schemes.push(3);
        }
        let sf = jar::signature_file(&manifest, d, &schemes);
        let block = jar::signature_block(v1_key.key, v1_key.chain, d, &sf)?;
        let when = copied.newest.unwrap_or((0x3a21, 0));
        let files = [
            (format!("META-INF/{}.SF", plan.signer_name), sf),
            (
                format!(
                    "META-INF/{}.{}",
                    plan.signer_name,
                    jar::block_extension(v1_key.key)
                ),
                block,
            ),
            (jar::MANIFEST.to_string(), manifest.bytes),
        ];
        for (name, data) in files {
            cd_records.push(zipout::write_new_entry(&mut w, &name, &data, when).map_err(io)?);
            v1_files.push(name);
        }
    }
    let entries_end = w.pos;
    let cd: Vec<u8> = cd_records.concat();
    let count = cd_records.len();
    let signing = plan.v2 || plan.v3;
    // The signing block starts on a 4 KiB page, as apksig writes it.
    let block_start = if signing {
        entries_end.div_ceil(4096) * 4096
    } else {
        entries_end
    };
    w.write_all(&vec![0u8; (block_start - entries_end) as usize])
        .map_err(io)?;
    let eocd_for =
        |cd_offset: u64| zipout::eocd(input, count, cd.len() as u64, cd_offset).map_err(io);
    // Without v2/v3 the directory goes right here; with them, it is written
    // here first only so the digest pass can read it, then moved after the block.
    w.write_all(&cd).map_err(io)?;
    w.write_all(&eocd_for(block_start)?).map_err(io)?;
    let mut out = w.inner.into_inner().map_err(|e| io(e.into_error()))?;
    let mut size = block_start + cd.len() as u64 + input.sections.eocd.len() as u64;
    if let (true, Some(alg)) = (signing, plan.alg) {
        if let Some(b) = &bar {
            b.set_message("digest");
        }
        out.flush().map_err(io)?;
        let src = Source::open(&tmp_path).map_err(io)?;
        let eocd = eocd_for(block_start)?;
        let content = Content::new(
            &src,
            block_start,
            block_start,
            block_start + cd.len() as u64,
            &eocd,
        );
        let pairs = match &plan.rotation {
            Some(r) => {
                let wanted: BTreeSet<_> = r.digests(id, plan.v2)?.into_iter().collect();
                let digests = digest::compute(&content, &wanted)
                    .map_err(|e| format!("cannot digest {label}: {e}"))?;
                r.blocks(id, plan.v2, plan.v3, &digests)?
            }
            None => {
                let wanted = BTreeSet::from([alg.digest]);
                let digests = digest::compute(&content, &wanted)
                    .map_err(|e| format!("cannot digest {label}: {e}"))?;
                let cd_digest = digests.get(&alg.digest).ok_or("content digest missing")?;
                let signer = blocks::Signer {
                    key: id.key,
                    chain,
                    public_key: id.public_key,
                    alg,
                };
                let mut pairs = Vec::new();
                if plan.v2 {
                    pairs.push((blocks::V2, blocks::v2_block(&signer, cd_digest, plan.v3)?));
                }
                if plan.v3 {
                    pairs.push((blocks::V3, blocks::v3_block(&signer, cd_digest)?));
                }
                pairs
            }
        };
        let block = blocks::signing_block(&pairs);
        let cd_offset = block_start + block.len() as u64;
        if cd_offset > u64::from(u32::MAX) {
            return Err("the signed APK would exceed 4 GiB".into());
        }
        out.seek(SeekFrom::Start(block_start)).map_err(io)?;
        let mut tail = BufWriter::new(&mut out);
        tail.write_all(&block).map_err(io)?;
        tail.write_all(&cd).map_err(io)?;
        tail.write_all(&eocd_for(cd_offset)?).map_err(io)?;
        tail.flush().map_err(io)?;
        drop(tail);
        size = cd_offset + cd.len() as u64 + input.sections.eocd.len() as u64;
        out.file().and_then(|f| f.set_len(size)).map_err(io)?;
    }
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    out.flush().map_err(io)?;
    Ok((
        out,
        Written {
            stored: copied.stored,
            v1_files,
            entries: count,
            size,
        },
    ))
}
