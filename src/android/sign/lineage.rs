//! Signing with a rotated key, as apksig's `DefaultApkSignerEngine` does by
//! default: v1 and v2 with the oldest signer, v3 (and v3.1) signers cut by
//! SDK range from the newest down, the lineage attached to the ranges from the
//! rotation SDK up. With a rotation SDK of 33 (Android 13, apksig's default)
//! and an older minSdk, the v3.0 block keeps the original key for API 24-32
//! (with the rotation-min-sdk stripping protection) and the v3.1 block carries
//! the new key and the lineage from 33. [`plan`] decides; [`Schemes`] writes
//! the blocks. Loading the keys and the `rotate` command are
//! [`crate::signer::rotate`]'s.

use std::collections::BTreeMap;
use std::path::Path;

use super::{blocks, Key};
use crate::android::apk::digest::ContentDigest;
use crate::android::apk::lineage;
use crate::android::apk::v2v3::{Lineage, PROOF_OF_ROTATION_ATTR, ROTATION_MIN_SDK_ATTR};
use crate::keys::PrivateKey;

/// apksig's default first SDK of the rotated key: Android 13, the first
/// release that reads v3.1 blocks (`V3SchemeConstants.DEFAULT_ROTATION_MIN_SDK_VERSION`).
pub const DEFAULT_ROTATION_MIN_SDK: i32 = 33;
const SDK_P: i32 = 28;
const SDK_T: i32 = 33;

/// The original key of a rotation, owned: it signs v1, v2 and the v3 range
/// before the rotation SDK.
pub struct OldKey {
    pub key: PrivateKey,
    /// DER, leaf first.
    pub chain: Vec<Vec<u8>>,
    /// The leaf's SubjectPublicKeyInfo.
    pub public_key: Vec<u8>,
    /// The certificate's name, for messages.
    pub name: String,
    /// The default base name of its JAR signature files.
    pub signer_name: String,
}

impl OldKey {
    fn key(&self) -> Key<'_> {
        Key {
            key: &self.key,
            chain: &self.chain,
            public_key: &self.public_key,
        }
    }
}

/// Which of the two keys signs a v3 range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Old,
    New,
}

/// One v3/v3.1 signer: the key, its SDK range, and the lineage it carries.
#[derive(Debug)]
struct V3Config {
    who: Who,
    min_sdk: i32,
    max_sdk: i32,
    lineage: Option<Lineage>,
}

/// What a rotated signing run writes, decided before anything is written.
pub struct Schemes {
    old: Option<OldKey>,
    /// Newest first, as apksig lists them.
    v3: Vec<V3Config>,
    v31: Vec<V3Config>,
    /// Set when a v3.1 block rotates the key: the v3.0 signers say so.
    rotation_min_sdk_attr: Option<i32>,
}

impl Schemes {
    /// The signer of v1 and v2: the oldest key given.
    pub fn oldest<'a>(&'a self, new: &Key<'a>) -> Key<'a> {
        self.old.as_ref().map_or(*new, OldKey::key)
    }

    /// The oldest key's default JAR signer name, when it is not the new key.
    pub fn old_signer_name(&self) -> Option<&str> {
        self.old.as_ref().map(|o| o.signer_name.as_str())
    }

    fn key<'a>(&'a self, who: Who, new: &Key<'a>) -> Key<'a> {
        match who {
            Who::Old => self.oldest(new),
            Who::New => *new,
        }
    }

    /// Whether a v3.1 block carries the rotated key.
    pub fn has_v31(&self) -> bool {
        !self.v31.is_empty()
    }

    /// One line per scheme, for the `signed-apk` item.
    pub fn describe(&self, new_name: &str) -> Vec<String> {
        let name = |who: Who| match (who, &self.old) {
            (Who::Old, Some(o)) => o.name.clone(),
            _ => new_name.to_string(),
        };
        let line = |scheme: &str, c: &V3Config| {
            format!(
                "{scheme}: {} for API {}..{}{}",
                name(c.who),
                c.min_sdk,
                if c.max_sdk == i32::MAX {
                    "latest".to_string()
                } else {
                    c.max_sdk.to_string()
                },
                c.lineage
                    .as_ref()
                    .map(|l| format!(" with a lineage of {}", l.nodes.len()))
                    .unwrap_or_default()
            )
        };
        let mut out = vec![format!("v1/v2: {}", name(Who::Old))];
        out.extend(self.v3.iter().map(|c| line("v3", c)));
        out.extend(self.v31.iter().map(|c| line("v3.1", c)));
        out
    }

    /// The content digests every signer needs.
    pub fn digests(&self, new: &Key, v2: bool) -> Result<Vec<ContentDigest>, String> {
        let mut out = Vec::new();
        if v2 {
            out.push(blocks::Algorithm::for_key(self.oldest(new).key)?.digest);
        }
        for c in self.v3.iter().chain(&self.v31) {
            out.push(blocks::Algorithm::for_key(self.key(c.who, new).key)?.digest);
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// The scheme blocks (id, value) in apksig's order: v2, v3.1, v3.
    pub fn blocks(
        &self,
        new: &Key,
        v2: bool,
        v3: bool,
        digests: &BTreeMap<ContentDigest, Vec<u8>>,
    ) -> Result<Vec<(u32, Vec<u8>)>, String> {
        fn signer(k: Key<'_>) -> Result<blocks::Signer<'_>, String> {
            Ok(blocks::Signer {
                key: k.key,
                chain: k.chain,
                public_key: k.public_key,
                alg: blocks::Algorithm::for_key(k.key)?,
            })
        }
        let mut pairs = Vec::new();
        if v2 {
            let s = signer(self.oldest(new))?;
            let d = digests.get(&s.alg.digest).ok_or("content digest missing")?;
            pairs.push((blocks::V2, blocks::v2_block(&s, d, v3)?));
        }
        if !v3 {
            return Ok(pairs);
        }
        let configs = |list: &[V3Config], rotation_attr: Option<i32>| {
            list.iter()
                .map(|c| {
                    let attributes = match (&c.lineage, rotation_attr) {
                        (Some(l), _) => {
                            blocks::attribute(PROOF_OF_ROTATION_ATTR, &lineage::encode(l))
                        }
                        (None, Some(r)) => {
                            blocks::attribute(ROTATION_MIN_SDK_ATTR, &r.to_le_bytes())
                        }
                        (None, None) => Vec::new(),
                    };
                    Ok(blocks::V3Signer {
                        signer: signer(self.key(c.who, new))?,
                        min_sdk: c.min_sdk as u32,
                        max_sdk: c.max_sdk as u32,
                        attributes,
                    })
                })
                .collect::<Result<Vec<_>, String>>()
        };
        if !self.v31.is_empty() {
            let v31 = configs(&self.v31, None)?;
            pairs.push((blocks::V31, blocks::v3_block_signers(&v31, digests)?));
        }
        let v3_signers = configs(&self.v3, self.rotation_min_sdk_attr)?;
        pairs.push((blocks::V3, blocks::v3_block_signers(&v3_signers, digests)?));
        Ok(pairs)
    }
}

/// Decides the signers of every scheme for a rotated run (apksig's
/// `processV3Configs` and `processV31SignerConfigs`), or says why it cannot.
#[allow(clippy::too_many_arguments)]
pub fn plan(
    lineage_path: &Path,
    full: &Lineage,
    rotation_min_sdk: Option<i32>,
    new: (&[u8], &str),
    old: Option<OldKey>,
    min_sdk: i32,
    (v1, v2, v3): (bool, bool, bool),
) -> Result<Schemes, String> {
    let shown = lineage_path.display();
    let (new_cert, new_name) = new;
    let pos = |der: &[u8]| full.position(der);
    let new_pos = pos(new_cert).ok_or_else(|| {
        format!(
            "the signing certificate {new_name} is not in the lineage {shown} ({}); sign with its newest key, or extend it with wrapsign rotate",
            names(full)
        )
    })?;
    if let Some(o) = &old {
        let old_pos = pos(&o.chain[0]).ok_or_else(|| {
            format!(
                "the old certificate {} is not in the lineage {shown} ({})",
                o.name,
                names(full)
            )
        })?;
        if old_pos >= new_pos {
            return Err(format!(
                "the old certificate {} does not come before {new_name} in the lineage {shown}; swap the keys",
                o.name
            ));
        }
    }
    if !v3 {
        // Several lineage signers and no v3: apksig refuses to guess which one signs.
        return Err(format!(
            "a lineage is only used by APK Signature Scheme v3, which is disabled; enable --v3 or sign without --lineage (with {} only)",
            full.nodes[0].cert.cert.name()
        ));
    }
    let rotation = rotation_min_sdk
        .unwrap_or(DEFAULT_ROTATION_MIN_SDK)
        .max(SDK_P);
    let oldest_pos = old
        .as_ref()
        .and_then(|o| pos(&o.chain[0]))
        .unwrap_or(new_pos);
    let needs_root = |why: &str| -> Result<(), String> {
        if oldest_pos == 0 {
            return Ok(());
        }
        Err(format!(
            "{why} must be signed with the first certificate of the lineage, {}; pass its key with --old-keystore/--old-alias or --old-key/--old-cert",
            full.nodes[0].cert.cert.name()
        ))
    };
    if v1 || v2 {
        let what = match (v1, v2) {
            (true, true) => "the v1/v2 signatures (what Android before 9 checks)",
            (true, false) => "the v1 signature (what Android before 7.0 checks)",
            _ => "the v2 signature (what Android 7.0-8.1 checks)",
        };
        needs_root(what).map_err(|e| {
            if min_sdk >= SDK_P {
                format!("{e}, or disable them (--v1 false --v2 false): the APK's minSdk {min_sdk} only needs v3")
            } else {
                e
            }
        })?;
    }
    let v31_support = rotation >= SDK_T && min_sdk < rotation;
    if v31_support {
        needs_root(&format!(
            "the v3.0 block (API {}..{}, before the rotation SDK {rotation})",
            blocks::V3_ALGORITHM_MIN_SDK,
            rotation - 1
        ))?;
    }
    // From the newest signer down, each covers the SDKs below the next one.
    let mut signers = vec![(Who::New, new_pos)];
    if let Some(p) = old.as_ref().and_then(|o| pos(&o.chain[0])) {
        signers.insert(0, (Who::Old, p));
    }
    let mut configs: Vec<V3Config> = Vec::new();
    let mut current_min = i32::MAX;
    for (i, (who, at)) in signers.iter().enumerate().rev() {
        let max_sdk = if i == signers.len() - 1 {
            i32::MAX
        } else {
            current_min - 1
        };
        let mut min_sdk_of = blocks::V3_ALGORITHM_MIN_SDK as i32;
        let mut lineage_of = None;
        if max_sdk >= rotation {
            lineage_of = Some(Lineage {
                nodes: full.nodes[..=*at].to_vec(),
            });
            min_sdk_of = min_sdk_of.max(rotation);
        }
        configs.push(V3Config {
            who: *who,
            min_sdk: min_sdk_of,
            max_sdk,
            lineage: lineage_of,
        });
        current_min = min_sdk_of;
        if current_min <= min_sdk || current_min <= SDK_P {
            break;
        }
    }
    if current_min > SDK_P && current_min > min_sdk {
        return Err(format!(
            "the new key applies from API {current_min}, but the APK supports API {min_sdk}: pass the old key (--old-keystore or --old-key) to sign the earlier levels, or raise --min-sdk"
        ));
    }
    let (v31, v3): (Vec<V3Config>, Vec<V3Config>) = if v31_support {
        configs.into_iter().partition(|c| c.min_sdk >= rotation)
    } else {
        (Vec::new(), configs)
    };
    Ok(Schemes {
        old,
        rotation_min_sdk_attr: (v31_support && !v31.is_empty()).then_some(rotation),
        v3,
        v31,
    })
}

fn names(l: &Lineage) -> String {
    l.nodes
        .iter()
        .map(|n| n.cert.cert.name().to_string())
        .collect::<Vec<_>>()
        .join(" -> ")
}
