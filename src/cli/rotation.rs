//! Key rotation on the command line: `wrapsign rotate`, `wrapsign lineage`,
//! and the `--lineage` options of `wrapsign sign`. The work is done in
//! `android::sign::lineage`; this only turns flags into requests.

use std::path::PathBuf;

use clap::Args;

use super::args::{ConfigArgs, PolicyArgs, ReportArgs, TimeArgs};
use super::settings::{self, Raw};
use super::{output, usage};
use crate::android::keystore::StoreType;
use crate::identity::Source;
use crate::report::{self, Format, Meta};
use crate::secret::PasswordSpec;
use crate::signer::rotate::{self, RotationRequest};

fn password(flag: &str, s: &Option<String>) -> Result<Option<PasswordSpec>, String> {
    match s {
        None => Ok(None),
        // Never echo the value: a rejected one is probably the password.
        Some(s) => s.parse().map(Some).map_err(|e| format!("--{flag}: {e}")),
    }
}

/// A signing key given by a prefixed set of flags (`--old-*`, `--new-*`).
struct KeyFlags<'a> {
    prefix: &'a str,
    keystore: &'a Option<PathBuf>,
    alias: &'a Option<String>,
    ks_pass: &'a Option<String>,
    key_pass: &'a Option<String>,
    ks_type: Option<StoreType>,
    key: &'a Option<PathBuf>,
    cert: &'a Option<PathBuf>,
}

impl KeyFlags<'_> {
    fn source(&self) -> Result<Option<Source>, String> {
        let p = self.prefix;
        match (self.keystore, self.key, self.cert) {
            (Some(ks), None, None) => Ok(Some(Source::Keystore {
                path: ks.clone(),
                ks_type: self.ks_type,
                store_pass: password(&format!("{p}-ks-pass"), self.ks_pass)?,
                key_pass: password(&format!("{p}-key-pass"), self.key_pass)?,
                alias: self.alias.clone(),
            })),
            (None, Some(key), Some(cert)) => Ok(Some(Source::Cert {
                path: cert.clone(),
                pass: None,
                key: Some(key.clone()),
            })),
            (None, None, None) => Ok(None),
            (None, _, _) => Err(format!("--{p}-key and --{p}-cert go together")),
            (Some(_), _, _) => Err(format!(
                "give either --{p}-keystore or --{p}-key/--{p}-cert, not both"
            )),
        }
    }
}

/// The original signing key of a rotation.
#[derive(Args, Debug)]
#[command(next_help_heading = "Key rotation: the old (original) key")]
pub struct OldKeyArgs {
    /// Keystore holding the old key (JKS, JCEKS or PKCS#12)
    #[arg(long, value_name = "FILE")]
    pub old_keystore: Option<PathBuf>,
    /// Alias of the old key (default: the keystore's only key)
    #[arg(long, value_name = "NAME")]
    pub old_alias: Option<String>,
    /// Password of the old keystore: pass:VALUE, env:VAR, file:PATH or stdin
    #[arg(long, value_name = "SPEC")]
    pub old_ks_pass: Option<String>,
    /// Password of the old key (default: the old keystore's)
    #[arg(long, value_name = "SPEC")]
    pub old_key_pass: Option<String>,
    /// Format of the old keystore, when sniffing the content is not enough
    #[arg(long, value_enum, value_name = "TYPE")]
    pub old_ks_type: Option<StoreType>,
    /// The old private key (PKCS#8, PEM or DER), with --old-cert
    #[arg(long, value_name = "FILE")]
    pub old_key: Option<PathBuf>,
    /// The old certificate (PEM or DER), with --old-key
    #[arg(long, value_name = "FILE")]
    pub old_cert: Option<PathBuf>,
}

impl OldKeyArgs {
    fn source(&self) -> Result<Option<Source>, String> {
        KeyFlags {
            prefix: "old",
            keystore: &self.old_keystore,
            alias: &self.old_alias,
            ks_pass: &self.old_ks_pass,
            key_pass: &self.old_key_pass,
            ks_type: self.old_ks_type,
            key: &self.old_key,
            cert: &self.old_cert,
        }
        .source()
    }
}

/// The key a rotation moves to.
#[derive(Args, Debug)]
#[command(next_help_heading = "Key rotation: the new key")]
pub struct NewKeyArgs {
    /// Keystore holding the new key (JKS, JCEKS or PKCS#12)
    #[arg(long, value_name = "FILE")]
    pub new_keystore: Option<PathBuf>,
    /// Alias of the new key (default: the keystore's only key)
    #[arg(long, value_name = "NAME")]
    pub new_alias: Option<String>,
    /// Password of the new keystore: pass:VALUE, env:VAR, file:PATH or stdin
    #[arg(long, value_name = "SPEC")]
    pub new_ks_pass: Option<String>,
    /// Password of the new key (default: the new keystore's)
    #[arg(long, value_name = "SPEC")]
    pub new_key_pass: Option<String>,
    /// Format of the new keystore, when sniffing the content is not enough
    #[arg(long, value_enum, value_name = "TYPE")]
    pub new_ks_type: Option<StoreType>,
    /// The new private key (PKCS#8, PEM or DER), with --new-cert
    #[arg(long, value_name = "FILE")]
    pub new_key: Option<PathBuf>,
    /// The new certificate (PEM or DER), with --new-key
    #[arg(long, value_name = "FILE")]
    pub new_cert: Option<PathBuf>,
}

/// `wrapsign sign --lineage`: sign with a rotated key.
#[derive(Args, Debug)]
#[command(next_help_heading = "Key rotation (APK Signature Scheme v3)")]
pub struct SignRotationArgs {
    /// SigningCertificateLineage (from wrapsign/apksigner rotate) or an APK signed with it: the signing key is its newest certificate
    #[arg(long, value_name = "FILE|APK")]
    pub lineage: Option<PathBuf>,
    /// First API level that uses the new key (default 33, as apksig; 28 puts the rotation in the v3.0 block)
    #[arg(long, alias = "rotation-min-sdk-version", value_name = "N", requires = "lineage",
          value_parser = clap::value_parser!(u32).range(1..=i32::MAX as i64))]
    pub rotation_min_sdk: Option<u32>,
    #[command(flatten)]
    pub old: OldKeyArgs,
}

impl SignRotationArgs {
    /// The rotation request, if `--lineage` was given.
    pub fn request(&self) -> Result<Option<RotationRequest>, String> {
        let old_key = self.old.source()?;
        let Some(lineage) = &self.lineage else {
            if old_key.is_some() {
                return Err("--old-keystore/--old-key only make sense with --lineage".into());
            }
            return Ok(None);
        };
        Ok(Some(RotationRequest {
            lineage: lineage.clone(),
            rotation_min_sdk: self.rotation_min_sdk.map(|v| v as i32),
            old_key,
        }))
    }
}

#[derive(Args, Debug)]
pub struct RotateArgs {
    /// Where to write the SigningCertificateLineage (byte-compatible with apksigner's)
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Extend this lineage (file, or an APK signed with it) instead of starting one; the old key must be its newest
    #[arg(long = "in", value_name = "FILE|APK")]
    pub input: Option<PathBuf>,
    /// Capabilities the old certificate keeps: installed-data, shared-uid, permission, rollback, auth, none, default (comma-separated; default: installed-data, shared-uid, permission, auth)
    #[arg(long, value_name = "LIST", value_parser = parse_caps)]
    pub old_capabilities: Option<u32>,
    /// Capabilities recorded for the new certificate, the defaults of its next rotation
    #[arg(long, value_name = "LIST", value_parser = parse_caps)]
    pub new_capabilities: Option<u32>,
    #[command(flatten)]
    pub old: OldKeyArgs,
    #[command(flatten)]
    pub new: NewKeyArgs,
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub time: TimeArgs,
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

fn parse_caps(s: &str) -> Result<u32, String> {
    crate::android::apk::lineage::parse_capabilities(s)
}

#[derive(Args, Debug)]
pub struct LineageArgs {
    /// A SigningCertificateLineage file or an APK signed with a lineage
    #[arg(value_name = "FILE|APK")]
    pub input: PathBuf,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Instant the certificates' days are counted from: YYYY-MM-DD or RFC 3339 (default: now)
    #[arg(long, value_name = "TIME", value_parser = crate::at::parse)]
    pub at: Option<time::OffsetDateTime>,
}

pub fn run_rotate(a: RotateArgs) -> i32 {
    let old_key = match a.old.source() {
        Ok(Some(k)) => k,
        Ok(None) => return usage("rotate needs the old key: --old-keystore FILE [--old-alias A] or --old-key KEY --old-cert CERT"),
        Err(e) => return usage(e),
    };
    let new_flags = KeyFlags {
        prefix: "new",
        keystore: &a.new.new_keystore,
        alias: &a.new.new_alias,
        ks_pass: &a.new.new_ks_pass,
        key_pass: &a.new.new_key_pass,
        ks_type: a.new.new_ks_type,
        key: &a.new.new_key,
        cert: &a.new.new_cert,
    };
    let new_key = match new_flags.source() {
        Ok(Some(k)) => k,
        Ok(None) => return usage("rotate needs the new key: --new-keystore FILE [--new-alias A] or --new-key KEY --new-cert CERT"),
        Err(e) => return usage(e),
    };
    let mut writes: Vec<(&str, &std::path::Path)> = vec![("--out", a.out.as_path())];
    if let Some(p) = &a.report.file.report {
        writes.push(("--report", p.as_path()));
    }
    let s = match settings::resolve(Raw {
        config: &a.config,
        time: &a.time,
        trust: &Default::default(),
        passwords: &Default::default(),
        android: &super::args::AndroidArgs::defaults(),
        archive: &super::args::ArchiveArgs {
            max_expanded_size: 8 << 30,
            max_expand_ratio: 100,
        },
        policy: Some(&a.policy),
        signer_certs: &[],
        writes: &writes,
    }) {
        Ok(s) => s,
        Err(e) => return usage(e),
    };
    let req = rotate::RotateRequest {
        old_key,
        new_key,
        input: a.input,
        out: a.out,
        old_capabilities: a.old_capabilities,
        new_capabilities: a.new_capabilities,
        context: s.context.clone(),
    };
    let outcome = rotate::rotate(&req, &s.policy, s.baseline.as_ref(), s.fail_on);
    crate::atomic::hold_if_interrupted();
    let warn_days = s.context.base().horizon.warn_days;
    output::render(
        "rotate",
        &outcome.report,
        outcome.exit_code,
        s.context.at(),
        warn_days,
        &a.report,
    )
}

pub fn run_lineage(a: LineageArgs) -> i32 {
    let mut r = crate::diag::Report::default();
    crate::android::apk::lineage::print(&a.input, &mut r);
    let code = r.exit_code(crate::diag::FailOn::Error);
    let meta = Meta {
        command: "lineage",
        at: a.at.unwrap_or_else(time::OffsetDateTime::now_utc),
        warn_days: crate::at::Horizon::default().warn_days,
        exit_code: code,
        color: a.format == Format::Human && report::use_color(),
        verbosity: 0,
    };
    match output::emit(&report::render(&r, a.format, &meta), None) {
        Ok(()) => code,
        Err(e) => usage(e),
    }
}
