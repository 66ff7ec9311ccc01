//! Certificates of every kind in the inventory: Apple signing and push
//! identities, SSL/TLS server, SAML, CA and PKI user certificates. Each file is
//! parsed once into a [`Material`]; its kind decides which checks run (an `ssl`
//! certificate gets validity, chain and host names, not Apple's distribution rules).

use std::path::Path;

use super::CertClass;
use crate::at;
use crate::certfile;
use crate::diag::{Code, Finding, ItemKind, Report};
use crate::ios::{self, apns, Ctx};
use crate::keys::PrivateKey;
use crate::pkcs12::{self, P12Error};
use crate::secret::Secret;
use crate::x509::{build_chain, pem_blocks, Cert, ChainResult};

/// Certificate files are small; anything bigger is not one.
const MAX_CERT_BYTES: u64 = 4 << 20;

use crate::material::eku::{
    ANY as EKU_ANY, CLIENT as EKU_CLIENT, EMAIL as EKU_EMAIL, SERVER as EKU_SERVER,
};

/// A certificate file as read: every certificate in file order, the leaf, the key.
#[derive(Debug)]
pub struct Material {
    pub file: String,
    /// In the order of the file (for PEM bundles this order is what servers send).
    pub certs: Vec<Cert>,
    pub leaf: usize,
    pub key: Option<PrivateKey>,
    pub from_p12: bool,
    /// A key was present but matches no certificate.
    pub orphan_key: bool,
    /// A PEM bundle, whose order matters.
    pub pem: bool,
}

impl Material {
    pub fn leaf(&self) -> &Cert {
        // `leaf` is always an index into a non-empty `certs` (see `load`).
        &self.certs[self.leaf.min(self.certs.len() - 1)]
    }

    pub fn others(&self) -> Vec<Cert> {
        self.certs
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != self.leaf)
            .map(|(_, c)| c.clone())
            .collect()
    }

    /// The iOS view of this material, for the existing identity checks.
    pub fn identity(&self) -> ios::certificate::Identity {
        ios::certificate::Identity {
            file: self.file.clone(),
            cert: self.leaf().clone(),
            key: self.key.clone(),
            from_p12: self.from_p12,
            orphan_key: self.orphan_key,
            chain: self.others(),
        }
    }
}

/// Reads a certificate file (PEM bundle, DER, PKCS#12) with an optional separate
/// key. `passwords` are tried in turn on a PKCS#12 (the empty one when there is
/// none); `source` names where they came from, for messages.
pub fn load(
    path: &Path,
    passwords: &[Secret],
    source: Option<&str>,
    key_path: Option<&Path>,
) -> Result<Material, Finding> {
    let file = path.display().to_string();
    let size = std::fs::metadata(path)
        .map_err(|e| Finding::unreadable(&file, format!("cannot read {file}: {e}")))?
        .len();
    if size > MAX_CERT_BYTES {
        return Err(Finding::unreadable(
            &file,
            format!("{file} is {size} bytes, too large to be a certificate file"),
        ));
    }
    let data = std::fs::read(path)
        .map_err(|e| Finding::unreadable(&file, format!("cannot read {file}: {e}")))?;
    let f = certfile::read_cert_file(&file, &data, key_path, || {
        let empty = [Secret::default()];
        let tries: &[Secret] = if passwords.is_empty() {
            &empty
        } else {
            passwords
        };
        for pw in tries {
            match pkcs12::read_identity(&data, pw.expose()) {
                Ok(id) => return Ok(id),
                Err(P12Error::WrongPassword) => continue,
                Err(e) => {
                    return Err(Finding::unreadable(
                        &file,
                        format!("cannot open {file}: {e}"),
                    ))
                }
            }
        }
        let from = match source {
            Some(s) => format!(" (password from {s})"),
            None if !passwords.is_empty() => {
                " (none of the passwords given opens it: list it in wrapsign.toml with its own password = \"env:VAR\")".into()
            }
            None => " (no password given: add password = \"env:VAR\" to its entry in wrapsign.toml, or pass --cert-pass)".into(),
        };
        Err(Finding::new(
            Code::PasswordWrong,
            &file,
            format!("cannot open {file}: {}{from}", P12Error::WrongPassword),
        )
        .detail("password", "store"))
    })?;
    Ok(Material {
        // Only PEM says which blocks it holds; a .p12 or DER does not.
        pem: !f.from_p12 && pem_blocks(&data).is_some(),
        file,
        certs: f.certs,
        leaf: f.leaf,
        key: f.key,
        from_p12: f.from_p12,
        orphan_key: f.orphan_key,
    })
}

pub use crate::material::{acts_as_ca, detect};

/// What the inventory asks of a certificate entry.
#[derive(Clone, Debug, Default)]
pub struct Expect<'a> {
    pub team_id: Option<&'a str>,
    pub topic: Option<&'a str>,
    pub hosts: &'a [String],
    /// The kind was declared (wrapsign.toml's `kind`), not detected: a declared
    /// development certificate is fine where a detected one is not the
    /// distribution certificate a signing identity must be.
    pub declared: bool,
}

fn advice(class: CertClass) -> (&'static str, &'static str) {
    match class {
        CertClass::Apns => (
            "renew it with the same Apple ID and App ID (developer portal, or identity.apple.com for MDM push) and install it on the push server; a new topic would mean re-enrolling devices",
            "renew it now with the same Apple ID; Apple's own reminder mails come at 30 and 10 days",
        ),
        CertClass::Ssl => (
            "issue a new certificate for the same host names and install it with its chain",
            "renew it now and install it with its chain before the old one expires",
        ),
        CertClass::Saml => (
            "create a new signing certificate and publish it in the SAML metadata of both the identity and the service provider",
            "roll it over now: publish the new certificate in the metadata next to the old one first",
        ),
        CertClass::Ca => (
            "re-issue the CA certificate and distribute it (MDM payload, trust stores)",
            "re-issue it now: every certificate under it stops validating when it expires",
        ),
        CertClass::PkiUser => (
            "issue the user or device a new certificate",
            "renew it now (MDM or SCEP renewal)",
        ),
        _ => ("replace it", "renew it now"),
    }
}

/// Checks a certificate entry of any kind. Pushes findings and one item.
pub fn check(m: &Material, class: CertClass, expect: &Expect, ctx: &Ctx, report: &mut Report) {
    match class {
        CertClass::Distribution | CertClass::Development => {
            let id = m.identity();
            let mut r = Report::default();
            ios::certificate::check(&id, ctx, &mut r);
            if class == CertClass::Development && expect.declared {
                r.findings.retain(|f| f.code != Code::CertNotDistribution);
                if !id.kind().is_development() {
                    r.push(kind_mismatch(
                        m,
                        class,
                        &format!("is of kind {}", id.kind().name()),
                    ));
                }
            }
            for i in &mut r.items {
                i.facts.insert("inventory_kind".into(), class.name().into());
            }
            report.extend(r);
            check_order(m, report);
            chain_expiring(m, ctx, report);
        }
        _ => check_generic(m, class, expect, ctx, report),
    }
    check_team(m, expect, report);
}

fn kind_mismatch(m: &Material, class: CertClass, what: &str) -> Finding {
    let c = m.leaf();
    Finding::new(
        Code::CertKindMismatch,
        &m.file,
        format!(
            "\"{}\" is listed as {} but {what}; fix the kind in wrapsign.toml or use the right certificate",
            c.name(),
            class.name()
        ),
    )
    .subject(c.name())
    .detail("declared", class.name())
}

fn check_team(m: &Material, expect: &Expect, report: &mut Report) {
    let Some(want) = expect.team_id else { return };
    let c = m.leaf();
    let have = c.org_unit.as_deref();
    if have != Some(want) {
        report.push(
            Finding::new(
                Code::CertTeamMismatch,
                &m.file,
                format!(
                    "\"{}\" belongs to team {}, but wrapsign.toml expects team {want}; use the team's certificate",
                    c.name(),
                    have.unwrap_or("(none)")
                ),
            )
            .subject(c.name())
            .detail("expected_team", want)
            .detail("team", have.unwrap_or("")),
        );
    }
}

fn check_generic(m: &Material, class: CertClass, expect: &Expect, ctx: &Ctx, report: &mut Report) {
    let c = m.leaf();
    let who = c.name().to_string();
    let file = &m.file;
    if let Some(f) = crate::x509::validity_finding(
        c,
        &who,
        file,
        ctx.at,
        &ctx.horizon,
        (Code::CertExpired, Code::CertNotYetValid, Code::CertExpiring),
        advice(class),
    ) {
        report.push(f);
    }
    // Keys: a .p12 is an identity and must carry its key (CAs excepted).
    if m.orphan_key {
        report.push(
            Finding::new(
                Code::CertKeyMismatch,
                file,
                format!("the private key in {file} does not belong to \"{who}\"; export the certificate with its own key"),
            )
            .subject(who.clone()),
        );
    } else if m.from_p12 && m.key.is_none() && class != CertClass::Ca {
        report.push(
            Finding::new(
                Code::CertKeyMissing,
                file,
                format!("{file} holds \"{who}\" but no private key; export it with its key"),
            )
            .subject(who.clone()),
        );
    }
    // Does the certificate fit its declared kind?
    let has = |o: &str| c.eku.iter().any(|e| e == o || e == EKU_ANY);
    let mismatch = match class {
        CertClass::Apns if apns::read(c).is_none() => {
            Some("has no Apple Push Services marker (1.2.840.113635.100.6.3.1/.2/.6)".to_string())
        }
        CertClass::Ssl if acts_as_ca(c) => Some("is a CA certificate".into()),
        CertClass::Ssl if !c.eku.is_empty() && !has(EKU_SERVER) => {
            Some("its extended key usage does not allow TLS server authentication".into())
        }
        CertClass::PkiUser if acts_as_ca(c) => Some("is a CA certificate".into()),
        CertClass::PkiUser if !c.eku.is_empty() && !has(EKU_CLIENT) && !has(EKU_EMAIL) => {
            Some("its extended key usage allows neither client authentication nor e-mail".into())
        }
        CertClass::Ca if !acts_as_ca(c) => Some(
            "is not a CA certificate (basicConstraints CA:FALSE or absent, or a keyUsage without keyCertSign)".into(),
        ),
        _ => None,
    };
    if let Some(what) = mismatch {
        report.push(kind_mismatch(m, class, &what));
    }

    let mut item = ios::certificate::cert_item(ItemKind::Certificate, file, c)
        .fact("kind", class.name())
        .fact("inventory_kind", class.name())
        .fact("has_private_key", m.key.is_some());
    if class == CertClass::Apns || apns::read(c).is_some() {
        if let Some(push) = apns::read(c) {
            item = item
                .fact("apns_environment", push.environment.name())
                .fact("apns_topics", push.topics.clone());
            if let Some(t) = push.topics.first() {
                item = item.fact("bundle_id", t.as_str());
            }
            if let Some(want) = expect.topic {
                if !apns::covers(&push, want) {
                    report.push(
                        Finding::new(
                            Code::ApnsTopicMismatch,
                            file,
                            format!(
                                "\"{who}\" pushes to {} but wrapsign.toml expects topic {want}; create the push certificate for the App ID {want}",
                                if push.topics.is_empty() { "no topic".to_string() } else { push.topics.join(", ") }
                            ),
                        )
                        .subject(who.clone())
                        .detail("expected_topic", want)
                        .detail("topics", push.topics.clone()),
                    );
                }
            }
        }
    }
    if class == CertClass::Ssl || !expect.hosts.is_empty() {
        let names = c.dns_names();
        item = item.fact("dns_names", names.clone());
        for h in expect.hosts {
            if !names.iter().any(|n| host_matches(n, h)) {
                let why = if names.is_empty() {
                    "it has no subjectAltName DNS names (iOS, Android and browsers ignore the CN)"
                        .to_string()
                } else {
                    format!("its names are {}", names.join(", "))
                };
                report.push(
                    Finding::new(
                        Code::CertHostnameMismatch,
                        file,
                        format!("\"{who}\" does not cover {h}: {why}; re-issue it with {h} in subjectAltName"),
                    )
                    .subject(who.clone())
                    .detail("host", h.as_str())
                    .detail("dns_names", names.clone()),
                );
            }
        }
    }
    let chain = check_chain(m, class, ctx, report);
    item = item.fact(
        "chain",
        chain
            .iter()
            .skip(1)
            .map(|c| c.name().to_string())
            .collect::<Vec<_>>(),
    );
    if let Some(first) = chain.iter().skip(1).map(|c| c.not_after).min() {
        if first < c.not_after {
            item = item.fact("chain_not_after", at::rfc3339(first));
        }
    }
    check_order(m, report);
    report.item(item);
}

/// TLS name matching (RFC 6125): case-insensitive; `*` only as the whole
/// left-most label, matching exactly one label.
pub fn host_matches(pattern: &str, host: &str) -> bool {
    let p = pattern.trim_end_matches('.').to_ascii_lowercase();
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    match p.strip_prefix("*.") {
        Some(rest) => h
            .split_once('.')
            .is_some_and(|(first, tail)| !first.is_empty() && tail == rest),
        None => p == h,
    }
}

/// Builds the chain from the file's certificates, the inventory's CAs and the
/// trust anchors; reports a missing issuer and the validity of every chain
/// certificate. Returns the chain as built (leaf first).
fn check_chain(m: &Material, class: CertClass, ctx: &Ctx, report: &mut Report) -> Vec<Cert> {
    let c = m.leaf();
    let who = c.name().to_string();
    let mut pool = m.others();
    pool.extend(ctx.trust.intermediates.iter().cloned());
    let chain = match build_chain(c, &pool, &ctx.trust.anchors) {
        ChainResult::Trusted(chain) => chain,
        ChainResult::Untrusted {
            partial,
            missing_issuer,
        } => {
            let last = partial.last().unwrap_or(c);
            if !last.is_self_issued() {
                report.push(
                    Finding::new(
                        Code::ChainIncomplete,
                        &m.file,
                        format!(
                            "the chain of \"{who}\" stops at \"{}\": its issuer \"{missing_issuer}\" is in neither {} nor the inventory's CAs; add it to the file (servers must send every intermediate), or list the CA in wrapsign.toml / --trust-root",
                            last.name(),
                            m.file
                        ),
                    )
                    .subject(who.clone())
                    .detail("missing_issuer", missing_issuer)
                    .detail("chain", partial.iter().map(|c| c.subject.clone()).collect::<Vec<_>>()),
                );
            } else if partial.len() == 1
                && matches!(class, CertClass::Ssl | CertClass::PkiUser | CertClass::Apns)
            {
                // A self-signed leaf where clients need a CA-issued certificate.
                report.push(
                    Finding::new(
                        Code::CertUntrusted,
                        &m.file,
                        format!(
                            "\"{who}\" is self-signed and not a trust anchor; clients reject it unless it is pinned: use a certificate from your CA (list the CA in wrapsign.toml or --trust-root)"
                        ),
                    )
                    .subject(who.clone()),
                );
            } else if class == CertClass::Apns {
                report.push(
                    Finding::new(
                        Code::CertUntrusted,
                        &m.file,
                        format!("\"{who}\" chains to \"{}\", which is not Apple's root; APNs rejects it", last.name()),
                    )
                    .subject(who.clone()),
                );
            }
            partial
        }
    };
    for ca in chain.iter().skip(1) {
        validity_of_chain_cert(&m.file, &who, ca, ctx, report);
    }
    chain
}

fn validity_of_chain_cert(file: &str, who: &str, ca: &Cert, ctx: &Ctx, report: &mut Report) {
    let days = at::days_until(ctx.at, ca.not_after);
    if ca.not_after < ctx.at {
        report.push(
            Finding::new(
                Code::CertIssuerRetired,
                file,
                format!(
                    "\"{who}\" chains through \"{}\", which expired on {}; re-issue the certificate under a current CA",
                    ca.name(),
                    at::day(ca.not_after)
                ),
            )
            .subject(who)
            .detail("issuer", ca.subject.as_str())
            .detail("issuer_not_after", at::rfc3339(ca.not_after)),
        );
    } else if days < ctx.horizon.warn_days {
        let (sev, reminder) = crate::diag::expiring(Code::ChainCertExpiring, &ctx.horizon, days);
        report.push(
            Finding::new(
                Code::ChainCertExpiring,
                file,
                format!(
                    "\"{who}\" chains through \"{}\", which expires on {} (in {days} days){reminder}; install the CA's renewed certificate and re-issue under it",
                    ca.name(),
                    at::day(ca.not_after)
                ),
            )
            .severity(sev)
            .subject(who)
            .detail("issuer", ca.subject.as_str())
            .detail("issuer_not_after", at::rfc3339(ca.not_after))
            .detail("days_left", days),
        );
    }
}

/// Chain certificates of iOS identities: the iOS check reports expired ones
/// (`cert-issuer-retired`); this adds the warning ahead of time.
fn chain_expiring(m: &Material, ctx: &Ctx, report: &mut Report) {
    let c = m.leaf();
    let mut pool = m.others();
    pool.extend(ctx.trust.intermediates.iter().cloned());
    let chain = match build_chain(c, &pool, &ctx.trust.anchors) {
        ChainResult::Trusted(ch) => ch,
        ChainResult::Untrusted { partial, .. } => partial,
    };
    for ca in chain.iter().skip(1) {
        if ca.not_after >= ctx.at {
            validity_of_chain_cert(&m.file, c.name(), ca, ctx, report);
        }
    }
}

/// A PEM bundle is sent as is by servers: leaf first, then each certificate's
/// issuer (RFC 5246 7.4.2). Reports the first certificate whose issuer is in the
/// file but not right after it.
fn check_order(m: &Material, report: &mut Report) {
    if !m.pem || m.certs.len() < 2 {
        return;
    }
    let order = |certs: &[Cert]| {
        certs
            .iter()
            .map(|c| c.name().to_string())
            .collect::<Vec<_>>()
    };
    let who = m.leaf().name().to_string();
    let problem = if m.leaf != 0 {
        Some(format!(
            "the leaf \"{who}\" is certificate {} of {}, not the first",
            m.leaf + 1,
            m.certs.len()
        ))
    } else {
        m.certs.iter().enumerate().find_map(|(i, c)| {
            if c.is_self_issued() {
                return None;
            }
            let j = m
                .certs
                .iter()
                .enumerate()
                .position(|(j, x)| j != i && c.is_issued_by(x))?;
            (j != i + 1).then(|| {
                format!(
                    "the issuer of \"{}\" (certificate {}) is certificate {}, not the next one",
                    c.name(),
                    i + 1,
                    j + 1
                )
            })
        })
    };
    if let Some(p) = problem {
        report.push(
            Finding::new(
                Code::ChainOutOfOrder,
                &m.file,
                format!("the certificates in {} are out of order: {p}; put the leaf first, then each certificate's issuer (TLS 1.2 clients and many appliances reject other orders)", m.file),
            )
            .subject(who)
            .detail("order", order(&m.certs)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_one_label() {
        assert!(host_matches("*.example.com", "mdm.example.com"));
        assert!(host_matches("MDM.example.com", "mdm.EXAMPLE.com"));
        assert!(!host_matches("*.example.com", "a.b.example.com"));
        assert!(!host_matches("*.example.com", "example.com"));
        assert!(!host_matches("mdm.example.com", "mail.example.com"));
    }
}
