//! SigningCertificateLineage: the proof-of-rotation that lets an app change its
//! signing key without losing its users (APK Signature Scheme v3). The same
//! bytes as apksig's `SigningCertificateLineage`:
//!
//! - a lineage *file* (`apksigner rotate --out`): magic `0x3eff39d1`, version 1,
//!   then the length-prefixed encoded lineage;
//! - the encoded lineage (the value of the v3 proof-of-rotation attribute):
//!   version 1, then one length-prefixed node per certificate, oldest first.
//!   A node holds its signed data (certificate, the algorithm its parent signed
//!   it with), its capability flags, the algorithm its own key signs the next
//!   node with, and its parent's signature over the signed data.
//!
//! Capabilities are what an older certificate keeps once the app moved on:
//! `installed-data` (an update signed by the new key replaces an app signed by
//! this one), `shared-uid`, `permission`, `rollback` (an APK signed by this
//! older key may replace the newer one), `auth`.

use std::path::Path;

use super::signing_block::{self, Reader, V31_BLOCK_ID, V3_BLOCK_ID};
use super::v2v3::{self, Lineage, LineageNode, StoredCert, PROOF_OF_ROTATION_ATTR};
use crate::keys::PrivateKey;
use crate::x509::Cert;
use crate::zip::android as zip;
use crate::zip::Source;

/// The first four bytes of a lineage file.
pub const MAGIC: u32 = 0x3eff_39d1;
const VERSION: u32 = 1;
/// A lineage file is small: a few certificates.
const MAX_FILE: u64 = 1 << 20;
const ZIP_MAGIC: u32 = 0x0403_4b50;

/// Capability flags, as apksig numbers them.
pub const INSTALLED_DATA: u32 = 1;
pub const SHARED_UID: u32 = 2;
pub const PERMISSION: u32 = 4;
pub const ROLLBACK: u32 = 8;
pub const AUTH: u32 = 16;
/// apksig's default: everything but rollback.
pub const DEFAULT_CAPABILITIES: u32 = INSTALLED_DATA | SHARED_UID | PERMISSION | AUTH;

/// Capability names, as apksigner's `--set-<name>` options spell them.
pub const CAPABILITIES: [(&str, u32); 5] = [
    ("installed-data", INSTALLED_DATA),
    ("shared-uid", SHARED_UID),
    ("permission", PERMISSION),
    ("rollback", ROLLBACK),
    ("auth", AUTH),
];

/// The names of the capabilities set in `flags` ("none" when there are none).
pub fn capability_names(flags: u32) -> Vec<&'static str> {
    let v: Vec<&str> = CAPABILITIES
        .iter()
        .filter(|(_, f)| flags & f != 0)
        .map(|(n, _)| *n)
        .collect();
    if v.is_empty() {
        vec!["none"]
    } else {
        v
    }
}

/// Parses "installed-data,permission" (or "none", or "default") into flags.
pub fn parse_capabilities(s: &str) -> Result<u32, String> {
    let mut flags = 0;
    for name in s.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        flags |= match name {
            "none" => 0,
            "default" => DEFAULT_CAPABILITIES,
            "all" => CAPABILITIES.iter().fold(0, |a, (_, f)| a | f),
            n => CAPABILITIES
                .iter()
                .find(|(c, _)| *c == n)
                .map(|(_, f)| *f)
                .ok_or_else(|| {
                    format!(
                        "unknown capability `{n}` (expected {}, none, default or all)",
                        CAPABILITIES.map(|(c, _)| c).join(", ")
                    )
                })?,
        };
    }
    Ok(flags)
}

fn lp(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// A node's signed data: the certificate and the algorithm its parent signs it with.
fn signed_data(cert: &[u8], parent_sig_alg: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(cert.len() + 8);
    lp(&mut out, cert);
    out.extend_from_slice(&parent_sig_alg.to_le_bytes());
    out
}

/// The encoded lineage: the value of the v3 proof-of-rotation attribute.
pub fn encode(l: &Lineage) -> Vec<u8> {
    let mut out = VERSION.to_le_bytes().to_vec();
    for n in &l.nodes {
        let mut node = Vec::new();
        lp(&mut node, &signed_data(&n.cert.raw, n.parent_sig_alg));
        node.extend_from_slice(&n.flags.to_le_bytes());
        node.extend_from_slice(&n.sig_alg.to_le_bytes());
        lp(&mut node, &n.signature);
        lp(&mut out, &node);
    }
    out
}

/// The lineage file apksigner writes (`apksigner rotate --out`).
pub fn to_file_bytes(l: &Lineage) -> Vec<u8> {
    let body = encode(l);
    let mut out = Vec::with_capacity(body.len() + 12);
    out.extend_from_slice(&MAGIC.to_le_bytes());
    out.extend_from_slice(&VERSION.to_le_bytes());
    lp(&mut out, &body);
    out
}

/// Reads a lineage file's bytes; every node's proof is verified.
pub fn from_file_bytes(data: &[u8]) -> Result<Lineage, String> {
    let mut r = Reader::new(data);
    let short = |_| "the lineage file is truncated".to_string();
    if r.u32().map_err(short)? != MAGIC {
        return Err("not a SigningCertificateLineage file (wrong magic)".into());
    }
    let version = r.u32().map_err(short)?;
    if version != VERSION {
        return Err(format!(
            "unsupported SigningCertificateLineage version {version}"
        ));
    }
    let body = r.prefixed().map_err(short)?;
    if !r.is_empty() {
        return Err("trailing bytes after the lineage".into());
    }
    Lineage::parse(body)
}

/// The lineage an APK carries: the proof-of-rotation attributes of its v3.1 and
/// v3 signers, the longest one, which every other must begin (apksig's
/// `readFromApkDataSource`). Signatures over the APK are not checked here.
pub fn from_apk(src: &Source) -> Result<Lineage, String> {
    let sections = zip::find_sections(src).map_err(|e| e.to_string())?;
    let block = signing_block::find(src, &sections)
        .map_err(|e| e.to_string())?
        .map_err(|why| format!("the APK has no APK Signing Block ({why}), so no v3 lineage"))?;
    let mut lineages = Vec::new();
    let mut v3_found = false;
    for id in [V31_BLOCK_ID, V3_BLOCK_ID] {
        let Ok(value) = block.pair(id) else { continue };
        v3_found = true;
        for attr in v3_attributes(value).map_err(|e| format!("malformed v3 block: {e}"))? {
            if attr.0 == PROOF_OF_ROTATION_ATTR {
                lineages.push(Lineage::parse(&attr.1)?);
            }
        }
    }
    if !v3_found {
        return Err("the APK has no APK Signature Scheme v3 signature, so no lineage".into());
    }
    let longest = lineages
        .iter()
        .max_by_key(|l| l.nodes.len())
        .cloned()
        .ok_or("the APK's v3 signers carry no proof-of-rotation (its key was never rotated)")?;
    for l in &lineages {
        let prefix = longest.nodes.iter().zip(&l.nodes);
        if prefix
            .clone()
            .any(|(a, b)| a.cert.raw != b.cert.raw || a.flags != b.flags)
        {
            return Err(
                "the APK's signers carry lineages that are not subsets of each other".into(),
            );
        }
    }
    Ok(longest)
}

/// Every additional attribute (id, value) of every signer of a v3/v3.1 block.
fn v3_attributes(block: &[u8]) -> Result<Vec<(u32, Vec<u8>)>, String> {
    let short = |_| "truncated".to_string();
    let mut out = Vec::new();
    let mut signers = Reader::new(Reader::new(block).prefixed().map_err(short)?);
    while !signers.is_empty() {
        let mut signer = Reader::new(signers.prefixed().map_err(short)?);
        let mut sd = Reader::new(signer.prefixed().map_err(short)?);
        sd.prefixed().map_err(short)?; // digests
        sd.prefixed().map_err(short)?; // certificates
        sd.u32().map_err(short)?; // minSdk
        sd.u32().map_err(short)?; // maxSdk
        let mut attrs = Reader::new(sd.prefixed().map_err(short)?);
        while !attrs.is_empty() {
            let mut a = Reader::new(attrs.prefixed().map_err(short)?);
            let id = a.u32().map_err(short)?;
            out.push((id, a.rest().to_vec()));
        }
    }
    Ok(out)
}

/// Reads a lineage from a lineage file or from a signed APK, recognised by
/// their first bytes, as apksigner's `--lineage` and `--in` do.
pub fn read(path: &Path) -> Result<Lineage, String> {
    let shown = path.display();
    let len = std::fs::metadata(path)
        .map_err(|e| format!("cannot read {shown}: {e}"))?
        .len();
    let src = Source::open(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let head = src
        .read_vec(0, 4.min(len))
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    let magic = (head.len() == 4).then(|| u32::from_le_bytes([head[0], head[1], head[2], head[3]]));
    match magic {
        Some(MAGIC) if len <= MAX_FILE => {
            let data = src
                .read_vec(0, len)
                .map_err(|e| format!("cannot read {shown}: {e}"))?;
            from_file_bytes(&data).map_err(|e| format!("{shown}: {e}"))
        }
        Some(MAGIC) => Err(format!("{shown} is {len} bytes, too large for a lineage file")),
        Some(ZIP_MAGIC) => from_apk(&src).map_err(|e| format!("{shown}: {e}")),
        _ => Err(format!(
            "{shown} is neither a SigningCertificateLineage file (apksigner rotate --out) nor a signed APK"
        )),
    }
}

/// The lineage up to and including `raw` (apksig's `getSubLineage`).
pub fn sub_lineage(l: &Lineage, raw: &[u8]) -> Option<Lineage> {
    let end = l.position(raw)?;
    Some(Lineage {
        nodes: l.nodes[..=end].to_vec(),
    })
}

/// What signs a lineage entry: a private key and its certificate.
pub struct Signer<'a> {
    pub key: &'a PrivateKey,
    /// DER, as it will be stored.
    pub cert: &'a [u8],
}

/// The v3 algorithm a key signs lineage entries with (apksig's first
/// suggested v3 algorithm for the key).
pub fn node_algorithm(key: &PrivateKey) -> Result<&'static v2v3::Algorithm, String> {
    use rsa::traits::PublicKeyParts;
    let id = match key {
        PrivateKey::Rsa(k) if k.n().bits() <= 3072 => 0x0103,
        PrivateKey::Rsa(_) => 0x0104,
        PrivateKey::P256(_) => 0x0201,
        PrivateKey::P384(_) => 0x0202,
        PrivateKey::Dsa(_) => {
            return Err(
                "DSA keys cannot sign a rotation with wrapsign (apksigner rotate can); rotate from a DSA key with apksigner"
                    .into(),
            )
        }
    };
    v2v3::algorithm(id).ok_or_else(|| format!("no algorithm {id:#06x}"))
}

fn stored(der: &[u8]) -> Result<StoredCert, String> {
    Ok(StoredCert {
        raw: der.to_vec(),
        cert: Cert::from_der(der)?,
    })
}

/// A new lineage: `old` is the first certificate, `new` the second, signed by
/// `old`'s key (apksig's `SigningCertificateLineage.Builder`).
pub fn create(old: &Signer, old_caps: u32, new: &Signer, new_caps: u32) -> Result<Lineage, String> {
    if !old.key.matches(&Cert::from_der(old.cert)?) {
        return Err("the old key does not belong to the old certificate".into());
    }
    // The first node needs an algorithm too: apksig refuses keys it cannot use.
    node_algorithm(old.key)?;
    let first = Lineage {
        nodes: vec![LineageNode {
            cert: stored(old.cert)?,
            flags: old_caps,
            parent_sig_alg: 0,
            sig_alg: 0,
            signature: Vec::new(),
        }],
    };
    spawn(&first, old, new, new_caps)
}

/// Extends a lineage whose newest certificate is `parent`'s with `child`
/// (apksig's `spawnDescendant`): the parent's key signs the child's entry.
pub fn spawn(
    l: &Lineage,
    parent: &Signer,
    child: &Signer,
    child_caps: u32,
) -> Result<Lineage, String> {
    let last = l.nodes.last().ok_or("the lineage is empty")?;
    if last.cert.raw != parent.cert {
        return Err(format!(
            "the old signer ({}) is not the newest certificate of the lineage ({}); a lineage only grows from its newest key",
            Cert::from_der(parent.cert).map(|c| c.name().to_string()).unwrap_or_default(),
            last.cert.cert.name()
        ));
    }
    if l.position(child.cert).is_some() {
        return Err("the new certificate is already in the lineage".into());
    }
    let child_cert = Cert::from_der(child.cert)?;
    if !child.key.matches(&child_cert) {
        return Err("the new key does not belong to the new certificate".into());
    }
    let alg = node_algorithm(parent.key)?;
    let data = signed_data(child.cert, alg.id);
    let signature = crate::signing::sign(parent.key, alg.sig, &data)?;
    let mut nodes = l.nodes.clone();
    if let Some(n) = nodes.last_mut() {
        n.sig_alg = alg.id;
    }
    nodes.push(LineageNode {
        cert: StoredCert {
            raw: child.cert.to_vec(),
            cert: child_cert,
        },
        flags: child_caps,
        parent_sig_alg: alg.id,
        sig_alg: 0,
        signature,
    });
    let out = Lineage { nodes };
    // What we wrote must read back and verify, as any other lineage.
    Lineage::parse(&encode(&out)).map_err(|e| format!("the new lineage does not verify: {e}"))?;
    Ok(out)
}

/// One `lineage-signer` item per certificate, oldest first.
pub fn report_items(file: &str, l: &Lineage, report: &mut crate::diag::Report) {
    use crate::diag::{Item, ItemKind};
    let n = l.nodes.len();
    for (i, node) in l.nodes.iter().enumerate() {
        let c = &node.cert.cert;
        report.item(
            Item::new(ItemKind::LineageSigner, file)
                .subject(c.subject.clone())
                .not_after(c.not_after)
                .fact("position", format!("{}/{n}", i + 1))
                .fact("key", c.key.to_string())
                .fact("sha256", c.sha256.clone())
                .fact("sha1", c.sha1.clone())
                .fact("capabilities", capability_names(node.flags).join(", "))
                .fact("flags", node.flags),
        );
    }
}

/// `wrapsign lineage FILE|APK`: the lineage's certificates and capabilities.
pub fn print(path: &Path, report: &mut crate::diag::Report) {
    let file = path.display().to_string();
    match read(path) {
        Ok(l) => report_items(&file, &l, report),
        Err(m) => report.push(crate::diag::Finding::unreadable(&file, m)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_names_round_trip() {
        assert_eq!(parse_capabilities("default").unwrap(), 23);
        assert_eq!(
            capability_names(23),
            ["installed-data", "shared-uid", "permission", "auth"]
        );
        assert_eq!(capability_names(0), ["none"]);
        assert_eq!(parse_capabilities("rollback,permission").unwrap(), 12);
        assert!(parse_capabilities("installed").is_err());
    }

    #[test]
    fn apksigs_lineage_reads_back_byte_for_byte_and_damage_is_an_error() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/conformance/apksig/rsa-2048-lineage-2-signers");
        let Ok(data) = std::fs::read(&path) else {
            {
                use std::io::Write as _;
                let _ = writeln!(std::io::stderr(), "SKIP: {} not present", path.display());
            }
            return;
        };
        let l = from_file_bytes(&data).unwrap();
        assert_eq!(l.nodes.len(), 2);
        assert_eq!(l.nodes[0].flags, DEFAULT_CAPABILITIES);
        assert_eq!(
            (l.nodes[0].sig_alg, l.nodes[1].parent_sig_alg),
            (0x0103, 0x0103)
        );
        assert_eq!(to_file_bytes(&l), data);
        // Every single-byte change is an error or, outside what the nodes
        // sign (the capability flags, the last node's algorithm field), reads
        // as exactly those bytes; never a panic.
        for i in 0..data.len() {
            let mut d = data.clone();
            d[i] ^= 0x41;
            if let Ok(m) = from_file_bytes(&d) {
                assert_eq!(to_file_bytes(&m), d, "byte {i}");
            }
        }
        for n in 0..data.len() {
            assert!(from_file_bytes(&data[..n]).is_err(), "cut at {n}");
        }
    }

    #[test]
    fn malformed_files_are_errors() {
        for data in [
            &b""[..],
            &[0xd1, 0x39, 0xff, 0x3e][..],
            &[0xd1, 0x39, 0xff, 0x3e, 1, 0, 0, 0, 9, 0, 0, 0][..],
            &[0xd1, 0x39, 0xff, 0x3e, 2, 0, 0, 0, 0, 0, 0, 0][..],
            &[1, 2, 3, 4, 5, 6, 7, 8][..],
        ] {
            assert!(from_file_bytes(data).is_err(), "{data:?}");
        }
    }
}
