//! Apple signing certificates and identities (certificate + private key): what
//! kind they are, which team, whether the key matches, whether they chain to
//! Apple, and whether they fit a provisioning profile.

use std::path::Path;

use crate::at;
use crate::certfile;
use crate::diag::{Code, Finding, Item, ItemKind, Report};
use crate::ios::profile::Profile;
use crate::ios::Ctx;
use crate::keys::PrivateKey;
use crate::secret::PasswordSpec;
use crate::x509::{build_chain, Cert, ChainResult};

/// Apple's certificate kinds, from the marker extensions Apple puts on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertKind {
    AppleDistribution,
    IPhoneDistribution,
    AppleDevelopment,
    IPhoneDeveloper,
    ApplePushDevelopment,
    ApplePushProduction,
    ApplePush,
    Other,
}

const OID_IPHONE_DEVELOPER: &str = "1.2.840.113635.100.6.1.2";
const OID_IPHONE_DISTRIBUTION: &str = "1.2.840.113635.100.6.1.4";
const OID_APPLE_DISTRIBUTION: &str = "1.2.840.113635.100.6.1.7";
const OID_APPLE_DEVELOPMENT: &str = "1.2.840.113635.100.6.1.12";
const OID_PUSH_DEVELOPMENT: &str = "1.2.840.113635.100.6.3.1";
const OID_PUSH_PRODUCTION: &str = "1.2.840.113635.100.6.3.2";
const OID_PUSH_TOPICS: &str = "1.2.840.113635.100.6.3.6";
const EKU_CODE_SIGNING: &str = "1.3.6.1.5.5.7.3.3";

impl CertKind {
    /// Classifies from OIDs, not names: apple-codesign's
    /// `apple_guess_profile()` returns None for the legacy "iPhone Distribution"
    /// (6.1.4 only) and "iPhone Developer" (6.1.2) certificates.
    pub fn of(c: &Cert) -> CertKind {
        let code_signing = c.eku.is_empty() || c.eku.iter().any(|e| e == EKU_CODE_SIGNING);
        let has = |o| c.has_extension(o);
        if code_signing {
            if has(OID_APPLE_DISTRIBUTION) {
                return CertKind::AppleDistribution;
            }
            if has(OID_IPHONE_DISTRIBUTION) {
                return CertKind::IPhoneDistribution;
            }
            if has(OID_APPLE_DEVELOPMENT) {
                return CertKind::AppleDevelopment;
            }
            if has(OID_IPHONE_DEVELOPER) {
                return CertKind::IPhoneDeveloper;
            }
        }
        match (has(OID_PUSH_DEVELOPMENT), has(OID_PUSH_PRODUCTION)) {
            (true, true) => CertKind::ApplePush,
            (true, false) => CertKind::ApplePushDevelopment,
            (false, true) => CertKind::ApplePushProduction,
            _ if has(OID_PUSH_TOPICS) => CertKind::ApplePush,
            _ => CertKind::Other,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            CertKind::AppleDistribution => "Apple Distribution",
            CertKind::IPhoneDistribution => "iPhone Distribution",
            CertKind::AppleDevelopment => "Apple Development",
            CertKind::IPhoneDeveloper => "iPhone Developer",
            CertKind::ApplePushDevelopment => "Apple Push Services (development)",
            CertKind::ApplePushProduction => "Apple Push Services (production)",
            CertKind::ApplePush => "Apple Push Services",
            CertKind::Other => "other",
        }
    }

    pub fn is_distribution(self) -> bool {
        matches!(
            self,
            CertKind::AppleDistribution | CertKind::IPhoneDistribution
        )
    }

    pub fn is_development(self) -> bool {
        matches!(self, CertKind::AppleDevelopment | CertKind::IPhoneDeveloper)
    }
}

/// The team id of an Apple certificate: its subject OU.
pub fn team_id(c: &Cert) -> Option<&str> {
    c.org_unit.as_deref()
}

/// A certificate, its private key when we have one, and the other certificates
/// shipped with it.
#[derive(Debug)]
pub struct Identity {
    pub file: String,
    pub cert: Cert,
    pub key: Option<PrivateKey>,
    /// The file was a PKCS#12 (where a key is expected).
    pub from_p12: bool,
    /// A key was supplied but matches no certificate in the file.
    pub orphan_key: bool,
    pub chain: Vec<Cert>,
}

impl Identity {
    pub fn kind(&self) -> CertKind {
        CertKind::of(&self.cert)
    }
    pub fn team(&self) -> Option<&str> {
        team_id(&self.cert)
    }
}

/// Loads an identity from a `.p12/.pfx` or a PEM/DER certificate, with an
/// optional separate key file ([`certfile::load_cert_file`], the loader the signers
/// use too). Errors come back as `input-unreadable` findings.
pub fn load(
    path: &Path,
    pass: Option<&PasswordSpec>,
    key_path: Option<&Path>,
) -> Result<Identity, Finding> {
    let (f, _) = certfile::load_cert_file(path, pass, key_path)?;
    Ok(Identity::from_cert_file(path.display().to_string(), f))
}

impl Identity {
    /// The identity a certificate file holds (its leaf, key and the rest).
    pub fn from_cert_file(file: String, f: certfile::CertFile) -> Identity {
        let mut chain = f.certs;
        let cert = chain.remove(f.leaf);
        Identity {
            file,
            cert,
            key: f.key,
            from_p12: f.from_p12,
            orphan_key: f.orphan_key,
            chain,
        }
    }
}

/// Facts about a certificate for reports.
pub fn cert_item(kind: ItemKind, file: &str, c: &Cert) -> Item {
    let mut i = Item::new(kind, file)
        .subject(c.subject.as_str())
        .not_after(c.not_after)
        .fact("kind", CertKind::of(c).name())
        .fact("serial", c.serial_hex.as_str())
        .fact("sha1", c.sha1.as_str())
        .fact("sha256", c.sha256.as_str())
        .fact("not_before", at::rfc3339(c.not_before))
        .fact("not_after", at::rfc3339(c.not_after))
        .fact("key", c.key.to_string());
    // Only Apple's own certificate kinds put the team id in the OU.
    if let Some(t) = team_id(c).filter(|_| CertKind::of(c) != CertKind::Other) {
        i = i.fact("team_id", t);
    }
    i
}

/// Standalone checks of a distribution identity.
pub fn check(id: &Identity, ctx: &Ctx, report: &mut Report) {
    let file = &id.file;
    let c = &id.cert;
    let who = c.name().to_string();
    if let Some(f) = crate::x509::validity_finding(
        c,
        c.name(),
        file,
        ctx.at,
        &ctx.horizon,
        (Code::CertExpired, Code::CertNotYetValid, Code::CertExpiring),
        ("create a new certificate and re-sign", "renew it now"),
    ) {
        report.push(f);
    }
    let kind = id.kind();
    if !kind.is_distribution() {
        report.push(
            Finding::new(
                Code::CertNotDistribution,
                file,
                format!(
                    "\"{who}\" is of kind {}, not Apple/iPhone Distribution; use the team's distribution certificate",
                    kind.name()
                ),
            )
            .subject(who.clone())
            .detail("kind", kind.name()),
        );
    }
    match &id.key {
        Some(_) if id.orphan_key => report.push(
            Finding::new(
                Code::CertKeyMismatch,
                file,
                format!("the private key does not belong to \"{who}\"; export the certificate together with its own key"),
            )
            .subject(who.clone()),
        ),
        None if id.from_p12 => report.push(
            Finding::new(
                Code::CertKeyMissing,
                file,
                format!("{file} holds \"{who}\" but no private key; export the identity with its key"),
            )
            .subject(who.clone()),
        ),
        _ => {}
    }
    let mut pool = id.chain.clone();
    pool.extend(ctx.trust.intermediates.iter().cloned());
    let mut item =
        cert_item(ItemKind::Certificate, file, c).fact("has_private_key", id.key.is_some());
    match build_chain(c, &pool, &ctx.trust.anchors) {
        ChainResult::Trusted(chain) => {
            item = item.fact(
                "chain",
                chain
                    .iter()
                    .skip(1)
                    .map(|c| c.name().to_string())
                    .collect::<Vec<_>>(),
            );
            if let (Some(timeout), Some(issuer)) = (ctx.online, chain.get(1)) {
                check_revocation(c, issuer, file, timeout, report);
            }
            // Intermediates only: an expired root is judged by the platform's store.
            let n = chain.len();
            for ca in chain.iter().take(n.saturating_sub(1)).skip(1) {
                if ca.not_after < ctx.at {
                    report.push(
                        Finding::new(
                            Code::CertIssuerRetired,
                            file,
                            format!(
                                "\"{who}\" was issued by \"{}\", which expired on {}; create a new certificate",
                                ca.name(),
                                at::day(ca.not_after)
                            ),
                        )
                        .subject(who.clone())
                        .detail("issuer", ca.subject.as_str())
                        .detail("issuer_not_after", at::rfc3339(ca.not_after)),
                    );
                }
            }
        }
        ChainResult::Untrusted {
            partial,
            missing_issuer,
        } => {
            let last = partial.last().unwrap_or(c);
            let f = if last.is_self_issued() {
                Finding::new(
                    Code::CertUntrusted,
                    file,
                    format!(
                        "\"{who}\" chains to \"{}\", a self-signed certificate that is not a trusted root (Apple's, or one given with --trust-root)",
                        last.name()
                    ),
                )
            } else {
                Finding::new(
                    Code::ChainIncomplete,
                    file,
                    format!(
                        "the chain of \"{who}\" stops at \"{}\": its issuer \"{missing_issuer}\" is not in {file} nor a known Apple intermediate; include it, or pass your root CA with --trust-root",
                        last.name()
                    ),
                )
            };
            report.push(
                f.subject(who.clone())
                    .detail("missing_issuer", missing_issuer)
                    .detail(
                        "chain",
                        partial
                            .iter()
                            .map(|c| c.subject.clone())
                            .collect::<Vec<_>>(),
                    ),
            );
        }
    }
    report.item(item);
}

/// Asks the certificate's OCSP responder (only with `--online`).
pub fn check_revocation(
    c: &Cert,
    issuer: &Cert,
    file: &str,
    timeout: std::time::Duration,
    report: &mut Report,
) {
    let who = c.name().to_string();
    match crate::ocsp::check(c, issuer, timeout) {
        Ok((_, crate::ocsp::Status::Good)) => {}
        Ok((url, crate::ocsp::Status::Revoked { at: when, reason })) => report.push(
            Finding::new(
                Code::CertRevoked,
                file,
                format!(
                    "\"{who}\" was revoked on {}{} according to {url}; create a new certificate and re-sign",
                    at::day(when),
                    reason.map(|r| format!(" ({r})")).unwrap_or_default()
                ),
            )
            .subject(who)
            .detail("revoked_at", at::rfc3339(when))
            .detail("responder", url),
        ),
        Ok((url, crate::ocsp::Status::Unknown)) => report.push(
            Finding::new(
                Code::RevocationUnknown,
                file,
                format!("the OCSP responder {url} does not know \"{who}\"; check where this certificate comes from"),
            )
            .subject(who)
            .detail("responder", url),
        ),
        Err(crate::ocsp::OcspError::NoResponder) => {}
        Err(e) => report.push(
            Finding::new(Code::OcspUnavailable, file, format!("revocation of \"{who}\" was not checked: {e}"))
                .subject(who),
        ),
    }
}

/// Checks that an identity can sign with a profile: listed, same team, right type.
pub fn check_against_profile(id: &Identity, p: &Profile, report: &mut Report) {
    let who = id.cert.name().to_string();
    let pname = p.display_name();
    if !p.lists(&id.cert) {
        let mut notes: Vec<String> = p
            .developer_certs
            .iter()
            .map(|c| {
                format!(
                    "the profile lists \"{}\" (serial {}, SHA-1 {}, expiry {})",
                    c.name(),
                    c.serial_hex,
                    c.sha1_fingerprint(),
                    at::day(c.not_after)
                )
            })
            .collect();
        // The closest match is what the profile was made for: same team and kind.
        let closest = p
            .developer_certs
            .iter()
            .filter(|c| team_id(c) == id.team() && CertKind::of(c) == id.kind())
            .max_by_key(|c| c.not_after);
        if let Some(c) = closest {
            notes.push(format!(
                "closest match: \"{}\" (serial {}, same team and kind); the profile was made for that certificate: regenerate it to include the one you sign with{}",
                c.name(),
                c.serial_hex,
                if c.same_key(&id.cert) { " (it has the same key: a renewal that reused the key)" } else { "" }
            ));
        } else if p.developer_certs.is_empty() {
            notes.push("the profile lists no certificate at all".to_string());
        } else {
            notes.push(format!(
                "none of them is a {} certificate of team {}",
                id.kind().name(),
                id.team().unwrap_or("?")
            ));
        }
        let f = Finding::new(
                Code::ProfileCertMissing,
                &p.file,
                format!(
                    "profile {pname} does not list \"{who}\" (serial {}, SHA-1 {}) among its {} certificate(s); add it to the profile in the developer portal and download it again",
                    id.cert.serial_hex,
                    id.cert.sha1_fingerprint(),
                    p.developer_certs.len()
                ),
            )
            .subject(pname.clone())
            .detail("certificate", id.cert.subject.as_str())
            .detail("certificate_sha1", id.cert.sha1.as_str())
            .detail("certificate_serial", id.cert.serial_hex.as_str())
            .detail(
                "profile_certificates",
                p.developer_certs
                    .iter()
                    .map(|c| serde_json::json!({"subject": c.subject, "serial": c.serial_hex, "sha1": c.sha1, "not_after": at::rfc3339(c.not_after)}))
                    .collect::<Vec<_>>(),
            );
        let mut f = match closest {
            Some(c) => f.detail("closest_match_sha1", c.sha1.as_str()),
            None => f,
        };
        for n in notes {
            f = f.note(n);
        }
        report.push(f);
    }
    if let Some(team) = id.team() {
        let prefix_ok = p.app_id_prefix().is_none_or(|t| t == team);
        if !p.team_ids.iter().any(|t| t == team) || !prefix_ok {
            report.push(
                Finding::new(
                    Code::ProfileTeamMismatch,
                    &p.file,
                    format!(
                        "profile {pname} belongs to team {}, but \"{who}\" is team {team}; use a profile from team {team}",
                        p.team_ids.join(", ")
                    ),
                )
                .subject(pname.clone())
                .detail("certificate_team", team)
                .detail("profile_teams", p.team_ids.clone()),
            );
        }
    }
    let kind = id.kind();
    let mismatch = (p.kind.is_distribution() && kind.is_development())
        || (!p.kind.is_distribution() && kind.is_distribution());
    if mismatch {
        report.push(
            Finding::new(
                Code::ProfileTypeMismatch,
                &p.file,
                format!(
                    "profile {pname} is of type {} but \"{who}\" is of kind {}; pair distribution profiles with distribution certificates, development with development",
                    p.kind.name(),
                    kind.name()
                ),
            )
            .subject(pname)
            .detail("profile_type", p.kind.name())
            .detail("certificate_kind", kind.name()),
        );
    }
}
