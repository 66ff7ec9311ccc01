//! Choosing a provisioning profile for each target of an app from many
//! candidates, and saying why every other candidate lost. The order is what a
//! release engineer would pick by hand: explicit App ID before wildcard, then the
//! most specific App ID, then one that lists the signing certificate, then the one
//! that stays valid longest.

use time::OffsetDateTime;

use crate::at;
use crate::ios::certificate::{team_id, CertKind};
use crate::ios::profile::{Profile, SignatureStatus};
use crate::x509::{Cert, ChainResult};

/// The outcome of choosing a profile for one bundle id.
#[derive(Debug)]
pub struct Selection<'a> {
    pub chosen: Option<&'a Profile>,
    /// Every other candidate with the reason it lost.
    pub rejected: Vec<(&'a Profile, String)>,
}

impl Selection<'_> {
    /// One line per rejected candidate whose App ID covers the bundle (the others
    /// are summed up in one line, not listed: a folder may hold hundreds).
    pub fn reasons(&self, bundle_id: &str) -> Vec<String> {
        let (covering, other): (Vec<_>, Vec<_>) = self
            .rejected
            .iter()
            .partition(|(p, _)| p.matches_bundle_id(bundle_id));
        let mut out: Vec<String> = covering
            .iter()
            .map(|(p, why)| format!("{} [{}] not used: {why}", p.display_name(), p.file))
            .collect();
        if !other.is_empty() {
            out.push(format!(
                "{} candidate(s) have App IDs that do not cover {bundle_id}",
                other.len()
            ));
        }
        out
    }
}

/// Why `p` cannot be used for `bundle_id` at all, if it cannot.
fn disqualify(
    p: &Profile,
    bundle_id: &str,
    identity: Option<&Cert>,
    at: OffsetDateTime,
) -> Option<String> {
    if !p.matches_bundle_id(bundle_id) {
        return Some(format!(
            "its App ID {} does not cover {bundle_id}",
            p.app_id.as_deref().unwrap_or("(none)")
        ));
    }
    if p.expiration < at {
        return Some(format!("expired on {}", at::day(p.expiration)));
    }
    match &p.signature {
        SignatureStatus::Invalid(why) => return Some(format!("its signature is invalid ({why})")),
        SignatureStatus::Valid {
            chain: ChainResult::Untrusted { .. },
            ..
        } => return Some("it is not signed through Apple's root (or a --trust-root)".to_string()),
        SignatureStatus::Valid { .. } => {}
    }
    if let Some(cert) = identity {
        if let Some(team) = team_id(cert) {
            if !p.team_ids.iter().any(|t| t == team) {
                return Some(format!(
                    "team {}, but the identity is team {team}",
                    p.team_ids.join(", ")
                ));
            }
        }
        let kind = CertKind::of(cert);
        if p.kind.is_distribution() == kind.is_development()
            && (kind.is_distribution() || kind.is_development())
        {
            return Some(format!(
                "a {} profile, but the identity is {}",
                p.kind.name(),
                kind.name()
            ));
        }
    }
    None
}

/// How specific an App ID pattern is: explicit beats any wildcard, longer prefixes
/// beat shorter ones.
fn specificity(p: &Profile) -> (bool, usize) {
    let pat = p.bundle_pattern().unwrap_or("");
    (!p.is_wildcard(), pat.trim_end_matches('*').len())
}

/// Picks the best profile for `bundle_id` among `candidates`.
pub fn select<'a>(
    bundle_id: &str,
    candidates: &'a [Profile],
    identity: Option<&Cert>,
    at: OffsetDateTime,
) -> Selection<'a> {
    let mut rejected = Vec::new();
    let mut eligible = Vec::new();
    for p in candidates {
        match disqualify(p, bundle_id, identity, at) {
            Some(why) => rejected.push((p, why)),
            None => eligible.push(p),
        }
    }
    let lists = |p: &Profile| identity.is_some_and(|c| p.lists(c));
    // Ties are broken by file name, so the choice never depends on folder order.
    let key = |p: &'a Profile| {
        (
            specificity(p),
            lists(p),
            p.expiration,
            std::cmp::Reverse(p.file.as_str()),
        )
    };
    let chosen = eligible.iter().copied().max_by_key(|p| key(p));
    if let Some(best) = chosen {
        for p in eligible {
            if std::ptr::eq(p, best) {
                continue;
            }
            let why = if specificity(best).0 && !specificity(p).0 {
                format!(
                    "a wildcard App ID ({}); an explicit one was available",
                    p.app_id.as_deref().unwrap_or("")
                )
            } else if specificity(p) < specificity(best) {
                format!(
                    "a less specific App ID ({} vs {})",
                    p.app_id.as_deref().unwrap_or(""),
                    best.app_id.as_deref().unwrap_or("")
                )
            } else if lists(best) && !lists(p) {
                "does not list the signing certificate".to_string()
            } else if p.expiration < best.expiration {
                format!(
                    "expires earlier ({} vs {})",
                    at::day(p.expiration),
                    at::day(best.expiration)
                )
            } else {
                "equally suitable; ties go to the first file name".to_string()
            };
            rejected.push((p, why));
        }
    }
    Selection { chosen, rejected }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ios::profile::ProfileType;

    fn profile(app_id: &str, expires: &str) -> Profile {
        let xml = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
<key>Name</key><string>{app_id}</string>
<key>TeamIdentifier</key><array><string>T</string></array>
<key>ExpirationDate</key><date>{expires}T00:00:00Z</date>
<key>ProvisionsAllDevices</key><true/>
<key>Entitlements</key><dict><key>application-identifier</key><string>{app_id}</string></dict>
</dict></plist>"#
        );
        let mut p = Profile::from_plist(app_id, xml.as_bytes()).unwrap();
        // Pretend it verified; the selection only reads the variant.
        p.signature = SignatureStatus::Valid {
            signer: Box::new(crate::x509::Cert::from_der(&test_cert()).unwrap()),
            chain: crate::x509::ChainResult::Trusted(vec![]),
            signing_time: None,
        };
        assert_eq!(p.kind, ProfileType::Enterprise);
        p
    }

    fn test_cert() -> Vec<u8> {
        let pem =
            std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/signing/ios/dist.pem")).unwrap();
        crate::x509::certs_from_pem_or_der(&pem).remove(0)
    }

    #[test]
    fn explicit_then_specific_then_longest() {
        let at = at::parse("2026-01-01").unwrap();
        let ps = vec![
            profile("T.*", "2040-01-01"),
            profile("T.com.example.*", "2040-01-01"),
            profile("T.com.example.app", "2030-01-01"),
            profile("T.com.example.app", "2035-01-01"),
            profile("T.com.example.app", "2025-06-01"),
            profile("T.org.other", "2040-01-01"),
        ];
        let s = select("com.example.app", &ps, None, at);
        let chosen = s.chosen.unwrap();
        assert_eq!(chosen.app_id.as_deref(), Some("T.com.example.app"));
        assert_eq!(at::day(chosen.expiration), "2035-01-01");
        let reasons = s
            .rejected
            .iter()
            .map(|(_, r)| r.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        assert!(reasons.contains("expired on 2025-06-01"), "{reasons}");
        assert!(
            reasons.contains("expires earlier (2030-01-01 vs 2035-01-01)"),
            "{reasons}"
        );
        assert!(reasons.contains("wildcard App ID (T.*)"), "{reasons}");
        assert!(
            reasons.contains("does not cover com.example.app"),
            "{reasons}"
        );
        assert_eq!(s.rejected.len(), 5);
        // Among wildcards only, the longer prefix wins.
        let s = select("com.example.other", &ps, None, at);
        assert_eq!(s.chosen.unwrap().app_id.as_deref(), Some("T.com.example.*"));
        // Nothing fits.
        let s = select("net.nothing", &ps[2..5], None, at);
        assert!(s.chosen.is_none());
    }
}
