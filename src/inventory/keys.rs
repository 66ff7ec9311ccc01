//! Checks across the whole inventory: two different certificates with one
//! public key (`duplicate-public-key`), and a renewal that kept the old key
//! (`renewal-reused-key`). The same certificate in several files (a .pem and
//! its .p12) is one certificate, not a finding.

use std::collections::BTreeMap;

use super::KeyUse;
use crate::at;
use crate::diag::{Code, Finding, Report};

pub fn check(uses: &[KeyUse], report: &mut Report) {
    // Group by SubjectPublicKeyInfo, one representative per distinct certificate.
    let mut groups: BTreeMap<&[u8], Vec<&KeyUse>> = BTreeMap::new();
    for u in uses {
        let g = groups.entry(u.cert.spki.as_slice()).or_default();
        if !g.iter().any(|x| x.cert.der == u.cert.der) {
            g.push(u);
        }
    }
    for group in groups.values_mut().filter(|g| g.len() > 1) {
        group.sort_by(|a, b| {
            a.cert
                .not_before
                .cmp(&b.cert.not_before)
                .then_with(|| a.file.cmp(&b.file))
        });
        // Renewals: the same subject, a later start, the same key.
        let mut renewed = Vec::new();
        for (i, newer) in group.iter().enumerate() {
            let older = group[..i].iter().rev().find(|o| {
                o.cert.subject == newer.cert.subject && o.cert.not_before < newer.cert.not_before
            });
            if let Some(older) = older {
                renewed.push(i);
                report.push(
                    Finding::new(
                        Code::RenewalReusedKey,
                        &newer.file,
                        format!(
                            "\"{}\" (valid from {}) renews the certificate in {} (valid from {}) with the same key pair; a renewal must use a new key: create a new key and CSR, re-issue, and retire the old key",
                            newer.cert.name(),
                            at::day(newer.cert.not_before),
                            older.file,
                            at::day(older.cert.not_before)
                        ),
                    )
                    .subject(newer.label.clone())
                    .note(format!("the earlier certificate: {} ({}), serial {}", older.label, older.file, older.cert.serial_hex))
                    .detail("previous_file", older.file.as_str())
                    .detail("previous_serial", older.cert.serial_hex.as_str())
                    .detail("spki_sha256", spki_fingerprint(&newer.cert.spki)),
                );
            }
        }
        // Different subjects (or same-day re-issues) sharing the key.
        let mut subjects: Vec<&str> = group.iter().map(|u| u.cert.subject.as_str()).collect();
        subjects.sort_unstable();
        subjects.dedup();
        let same_day_reissue = subjects.len() == 1 && renewed.len() + 1 < group.len();
        if subjects.len() > 1 || same_day_reissue {
            let first = group[0];
            let mut f = Finding::new(
                Code::DuplicatePublicKey,
                &first.file,
                format!(
                    "{} certificates share one key pair: {}; a server (and a keychain) holds one certificate per key, and one leaked key compromises all of them: give each its own key",
                    group.len(),
                    group
                        .iter()
                        .map(|u| format!("\"{}\" ({})", u.cert.name(), u.file))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .subject(first.label.clone())
            .detail("spki_sha256", spki_fingerprint(&first.cert.spki))
            .detail(
                "certificates",
                group
                    .iter()
                    .map(|u| serde_json::json!({"file": u.file, "subject": u.cert.subject, "serial": u.cert.serial_hex}))
                    .collect::<Vec<_>>(),
            );
            for u in group.iter().skip(1) {
                f = f.note(format!("also uses this key: {} ({})", u.label, u.file));
            }
            report.push(f);
        }
    }
}

fn spki_fingerprint(spki: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(spki))
}
