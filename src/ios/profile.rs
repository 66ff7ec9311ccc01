//! Provisioning profiles (`.mobileprovision`): a CMS SignedData (DER or BER) over
//! a plist. Parsing never depends on the signature verifying; the signature, its
//! chain and the signer's expiry are reported as findings.

use plist::{Dictionary, Value};
use time::OffsetDateTime;

use crate::at::{self, Window};
use crate::diag::{Code, Finding, Item, ItemKind, Report};
use crate::ios::trust::Trust;
use crate::ios::Ctx;
use crate::x509::{build_chain, Cert, ChainResult};

/// What kind of distribution a profile allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProfileType {
    Development,
    AdHoc,
    Enterprise,
    AppStore,
}

impl ProfileType {
    pub fn name(self) -> &'static str {
        match self {
            ProfileType::Development => "development",
            ProfileType::AdHoc => "ad-hoc",
            ProfileType::Enterprise => "enterprise",
            ProfileType::AppStore => "app-store",
        }
    }
    pub fn is_distribution(self) -> bool {
        self != ProfileType::Development
    }
}

/// The outcome of checking the CMS signature.
#[derive(Clone, Debug)]
pub enum SignatureStatus {
    /// Signature and digest verify; `chain` is leaf..anchor when trusted.
    Valid {
        signer: Box<Cert>,
        chain: ChainResult,
        signing_time: Option<OffsetDateTime>,
    },
    Invalid(String),
}

/// A parsed provisioning profile.
#[derive(Clone, Debug)]
pub struct Profile {
    pub file: String,
    pub name: Option<String>,
    pub uuid: Option<String>,
    pub team_ids: Vec<String>,
    pub team_name: Option<String>,
    pub app_id_name: Option<String>,
    /// `Entitlements.application-identifier`, e.g. `TEAMID.com.example.app` or `TEAMID.*`.
    pub app_id: Option<String>,
    pub creation: Option<OffsetDateTime>,
    pub expiration: OffsetDateTime,
    pub developer_certs: Vec<Cert>,
    pub devices: Option<Vec<String>>,
    pub all_devices: bool,
    pub entitlements: Dictionary,
    pub platforms: Vec<String>,
    pub kind: ProfileType,
    pub signature: SignatureStatus,
}

fn plist_date(v: Option<&Value>) -> Option<OffsetDateTime> {
    let d = v?.as_date()?;
    let st: std::time::SystemTime = d.into();
    Some(OffsetDateTime::from(st))
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_string().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Why bytes that are not CMS signed data are no profile, in the user's words:
/// what the file really is, and the parser's error only when it is CMS-like.
fn not_a_profile(data: &[u8], err: &str) -> String {
    use crate::sniff::{self, Kind};
    match sniff::sniff_bytes(data) {
        Kind::Empty => "it is empty (0 bytes), not a provisioning profile; download the profile again".into(),
        Kind::Plist => format!(
            "it is an unsigned {} plist, not a signed provisioning profile; use the .mobileprovision as downloaded from the Apple Developer portal or Xcode (CMS-signed), not its decoded content (`security cms -D` output)",
            if data.starts_with(b"bplist") { "binary" } else { "plain-XML" }
        ),
        Kind::Cms | Kind::Unknown => format!("not a CMS-signed provisioning profile: {err}"),
        other => format!("it is a {}, not a provisioning profile", other.describe()),
    }
}

fn chrono_to_time(t: &chrono::DateTime<chrono::Utc>) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(t.timestamp()).ok()
}

impl Profile {
    /// Parses a profile. Errors mean the file is not a profile at all.
    pub fn parse(file: &str, data: &[u8], trust: &Trust) -> Result<Profile, String> {
        let sd = cryptographic_message_syntax::SignedData::parse_ber(data)
            .map_err(|e| not_a_profile(data, &e.to_string()))?;
        let content = sd.signed_content().ok_or(
            "the CMS structure has no embedded content (a detached signature, not a profile)",
        )?;
        let signature = check_signature(&sd, trust);
        let mut p = Self::from_plist(file, content)?;
        p.signature = signature;
        Ok(p)
    }

    /// Parses the plist inside a profile.
    pub fn from_plist(file: &str, content: &[u8]) -> Result<Profile, String> {
        let dict: Dictionary = plist::from_bytes(content)
            .map_err(|e| format!("the profile content is not a valid plist: {e}"))?;
        let get = |k: &str| dict.get(k);
        let expiration =
            plist_date(get("ExpirationDate")).ok_or("the profile has no ExpirationDate")?;
        let entitlements = get("Entitlements")
            .and_then(Value::as_dictionary)
            .cloned()
            .unwrap_or_default();
        let mut developer_certs = Vec::new();
        for v in get("DeveloperCertificates")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(der) = v.as_data() {
                match Cert::from_der(der) {
                    Ok(c) => developer_certs.push(c),
                    Err(e) => {
                        return Err(format!(
                            "DeveloperCertificates holds an invalid certificate: {e}"
                        ))
                    }
                }
            }
        }
        let devices = get("ProvisionedDevices").map(|v| strings(Some(v)));
        let all_devices = get("ProvisionsAllDevices")
            .and_then(Value::as_boolean)
            .unwrap_or(false);
        let get_task_allow = entitlements
            .get("get-task-allow")
            .and_then(Value::as_boolean)
            .unwrap_or(false);
        // As Xcode and the developer portal classify them: listed devices mean
        // development (get-task-allow) or ad-hoc; otherwise ProvisionsAllDevices
        // means enterprise, and neither means App Store.
        let kind = match (&devices, all_devices) {
            (Some(d), _) if !d.is_empty() => {
                if get_task_allow {
                    ProfileType::Development
                } else {
                    ProfileType::AdHoc
                }
            }
            (_, true) => ProfileType::Enterprise,
            _ => ProfileType::AppStore,
        };
        Ok(Profile {
            file: file.to_string(),
            name: get("Name").and_then(Value::as_string).map(str::to_string),
            uuid: get("UUID").and_then(Value::as_string).map(str::to_string),
            team_ids: strings(get("TeamIdentifier")),
            team_name: get("TeamName")
                .and_then(Value::as_string)
                .map(str::to_string),
            app_id_name: get("AppIDName")
                .and_then(Value::as_string)
                .map(str::to_string),
            app_id: entitlements
                .get("application-identifier")
                .and_then(Value::as_string)
                .map(str::to_string),
            creation: plist_date(get("CreationDate")),
            expiration,
            developer_certs,
            devices,
            all_devices,
            entitlements,
            platforms: strings(get("Platform")),
            kind,
            signature: SignatureStatus::Invalid("not signed".into()),
        })
    }

    /// The bundle id part of the App ID (`com.example.app`, `*`, `com.example.*`).
    pub fn bundle_pattern(&self) -> Option<&str> {
        self.app_id
            .as_deref()
            .and_then(|a| a.split_once('.').map(|(_, b)| b))
    }

    pub fn app_id_prefix(&self) -> Option<&str> {
        self.app_id
            .as_deref()
            .and_then(|a| a.split_once('.').map(|(t, _)| t))
    }

    pub fn is_wildcard(&self) -> bool {
        self.bundle_pattern()
            .is_some_and(|b| b == "*" || b.ends_with(".*"))
    }

    /// Whether the App ID covers `bundle_id`, wildcard-aware.
    pub fn matches_bundle_id(&self, bundle_id: &str) -> bool {
        self.bundle_pattern()
            .is_some_and(|p| crate::ios::entitlements::pattern_matches(p, bundle_id))
    }

    /// Whether `cert` is listed in DeveloperCertificates.
    pub fn lists(&self, cert: &Cert) -> bool {
        self.developer_certs.iter().any(|c| c.der == cert.der)
    }

    pub fn display_name(&self) -> String {
        match (&self.name, &self.app_id) {
            (Some(n), Some(a)) => format!("{n} ({a})"),
            (Some(n), None) => n.clone(),
            (None, Some(a)) => a.clone(),
            (None, None) => self.file.clone(),
        }
    }

    pub fn item(&self) -> Item {
        let mut i = Item::new(ItemKind::Profile, &self.file)
            .subject(self.display_name())
            .not_after(self.expiration)
            .fact("type", self.kind.name())
            .fact("expiration", at::rfc3339(self.expiration))
            .fact("team_ids", self.team_ids.clone())
            .fact(
                "developer_certificates_sha1",
                self.developer_certs
                    .iter()
                    .map(|c| c.sha1.clone())
                    .collect::<Vec<_>>(),
            );
        if let Some(v) = &self.uuid {
            i = i.fact("uuid", v.as_str());
        }
        if let Some(v) = &self.app_id {
            i = i.fact("app_id", v.as_str());
        }
        if let Some(v) = &self.name {
            i = i.fact("name", v.as_str());
        }
        if let Some(v) = self.creation {
            i = i.fact("creation", at::rfc3339(v));
        }
        if let Some(d) = &self.devices {
            i = i.fact("provisioned_devices", d.len());
        }
        i
    }
}

/// Every profile in a folder (`--profiles-dir`), with its bytes. A damaged file
/// in a folder is a warning and is skipped; only named files are fatal.
pub fn load_dir(
    dir: &std::path::Path,
    trust: &Trust,
    report: &mut Report,
) -> Vec<(Profile, Vec<u8>)> {
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
    {
        let path = e.path();
        let is_profile = path.is_file()
            && path
                .extension()
                .is_some_and(|x| x == "mobileprovision" || x == "provisionprofile");
        if !is_profile {
            continue;
        }
        let file = path.display().to_string();
        match std::fs::read(path)
            .map_err(|e| e.to_string())
            .and_then(|d| Profile::parse(&file, &d, trust).map(|p| (p, d)))
        {
            Ok(c) => out.push(c),
            Err(err) => report.push(
                Finding::unreadable(&file, format!("{file}: {err}; skipped"))
                    .severity(crate::diag::Severity::Warning),
            ),
        }
    }
    out
}

/// Verifies each signer's signature and message digest, then its chain.
fn check_signature(
    sd: &cryptographic_message_syntax::SignedData,
    trust: &Trust,
) -> SignatureStatus {
    let certs: Vec<Cert> = sd
        .certificates()
        .filter_map(|c| Cert::from_der(c.constructed_data()).ok())
        .collect();
    let Some(signer) = sd.signers().next() else {
        return SignatureStatus::Invalid("the profile has no signer".into());
    };
    // Find the signer's certificate: the one the SignerInfo's issuer/serial names.
    let signer_cert = sd
        .certificates()
        .position(|c| signer.signature_verifier(std::iter::once(c)).is_ok())
        .and_then(|i| sd.certificates().nth(i))
        .and_then(|c| Cert::from_der(c.constructed_data()).ok());
    let Some(signer_cert) = signer_cert else {
        return SignatureStatus::Invalid("the signer's certificate is not in the profile".into());
    };
    if let Err(e) = signer.verify_message_digest_with_signed_data(sd) {
        return SignatureStatus::Invalid(format!("content digest does not match ({e})"));
    }
    if let Err(e) = signer.verify_signature_with_signed_data(sd) {
        return SignatureStatus::Invalid(format!("signature does not verify ({e})"));
    }
    let signing_time = signer
        .signed_attributes()
        .and_then(|a| a.signing_time())
        .and_then(chrono_to_time);
    let mut pool = certs;
    pool.extend(trust.intermediates.iter().cloned());
    let chain = build_chain(&signer_cert, &pool, &trust.anchors);
    SignatureStatus::Valid {
        signer: Box::new(signer_cert),
        chain,
        signing_time,
    }
}

/// Standalone checks of one profile at `ctx.at`.
pub fn check(p: &Profile, ctx: &Ctx, report: &mut Report) {
    let file = &p.file;
    let who = p.display_name();
    match &p.signature {
        SignatureStatus::Invalid(why) => report.push(
            Finding::new(
                Code::ProfileSignatureInvalid,
                file,
                format!("profile {who}: {why}; download a fresh copy, never edit a profile"),
            )
            .subject(who.clone()),
        ),
        SignatureStatus::Valid {
            signer,
            chain,
            signing_time,
        } => match chain {
            ChainResult::Untrusted { missing_issuer, .. } => report.push(
                Finding::new(
                    Code::ProfileUntrusted,
                    file,
                    format!(
                        "profile {who} is signed by \"{}\", which does not chain to Apple's root (no issuer \"{missing_issuer}\"); use a profile from the Apple Developer portal or pass the CA with --trust-root",
                        signer.name()
                    ),
                )
                .subject(who.clone())
                .detail("signer", signer.subject.as_str()),
            ),
            ChainResult::Trusted(chain) => {
                // Apple's signer certificates expire long before the profiles they
                // signed are retired (pre-2022 profiles chain through an
                // intermediate that expired on 2022-04-12, their signer in 2020);
                // judge the chain as of signing.
                let signed_at = signing_time.or(p.creation);
                let expired: Vec<&Cert> = chain.iter().filter(|c| c.not_after < ctx.at).collect();
                let valid_when_signed = signed_at
                    .map(|t| chain.iter().all(|c| c.not_before <= t && t <= c.not_after))
                    .unwrap_or(true);
                if !valid_when_signed {
                    report.push(
                        Finding::new(
                            Code::ProfileUntrusted,
                            file,
                            format!("profile {who} was signed outside the validity of its signing chain; download a fresh copy"),
                        )
                        .subject(who.clone()),
                    );
                } else if let Some(first) = expired.first() {
                    report.push(
                        Finding::new(
                            Code::ProfileSignerExpired,
                            file,
                            format!(
                                "profile {who} was signed through \"{}\", expired {}; valid when signed, regenerate to move to Apple's current chain",
                                first.name(),
                                at::day(first.not_after)
                            ),
                        )
                        .subject(who.clone())
                        .detail("expired_certificate", first.subject.as_str())
                        .detail("expired_on", at::rfc3339(first.not_after)),
                    );
                }
            }
        },
    }

    match at::window(None, p.expiration, ctx.at, ctx.horizon.warn_days) {
        Window::Expired { days_ago } => report.push(
            Finding::new(
                Code::ProfileExpired,
                file,
                format!(
                    "profile {who} expired on {} ({days_ago} days ago); regenerate it in the Apple Developer portal",
                    at::day(p.expiration)
                ),
            )
            .subject(who.clone())
            .detail("expiration", at::rfc3339(p.expiration)),
        ),
        Window::Expiring { days_left } => report.push({
            let (sev, reminder) = crate::diag::expiring(Code::ProfileExpiring, &ctx.horizon, days_left);
            Finding::new(
                Code::ProfileExpiring,
                file,
                format!(
                    "profile {who} expires on {} (in {days_left} days){reminder}; regenerate it and re-sign before then",
                    at::day(p.expiration)
                ),
            )
            .severity(sev)
            .subject(who.clone())
            .detail("expiration", at::rfc3339(p.expiration))
            .detail("days_left", days_left)
        }),
        _ => {}
    }

    if p.is_wildcard() {
        report.push(
            Finding::new(
                Code::ProfileWildcardAppId,
                file,
                format!(
                    "profile {who} has the wildcard App ID {}; wrapping needs one explicit App ID per app: create an explicit App ID and profile",
                    p.app_id.as_deref().unwrap_or("")
                ),
            )
            .subject(who.clone()),
        );
    }
    report.item(p.item());
}
