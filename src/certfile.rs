//! Certificate files as `--cert` names them: a `.p12/.pfx`, or PEM/DER
//! certificates with the key inside or in `--key`. It sits above both
//! [`crate::keys`] and [`crate::pkcs12`], which it combines; the iOS identity,
//! the inventory and the signers' identity all read these files through it.

use zeroize::Zeroizing;

use crate::diag::Finding;
use crate::keys::{certs_and_key, read_key_file, PrivateKey};
use crate::pkcs12::P12Error;
use crate::secret::{self, PasswordSpec, Secret};
use crate::x509::Cert;

/// A certificate file as both the iOS identity and the inventory read it:
/// a PKCS#12 (leaf first, then the rest), or PEM/DER certificates with an
/// optional key, plus the separate `--key` file when one is given.
pub struct CertFile {
    pub certs: Vec<Cert>,
    pub leaf: usize,
    pub key: Option<PrivateKey>,
    pub from_p12: bool,
    /// A key was found or given but matches no certificate (a given key: not the leaf).
    pub orphan_key: bool,
}

/// Reads [`CertFile`] from `data` (the bytes of `file`). `open_p12` opens a
/// PKCS#12, so each caller finds its password and words its own hint.
pub fn read_cert_file(
    file: &str,
    data: &[u8],
    key_path: Option<&std::path::Path>,
    open_p12: impl FnOnce() -> Result<crate::pkcs12::Identity, Finding>,
) -> Result<CertFile, Finding> {
    use crate::sniff::{self, Kind};
    let mut f = match sniff::sniff_bytes(data) {
        Kind::Pkcs12 => {
            let id = open_p12()?;
            let mut certs = vec![id.cert];
            certs.extend(id.others);
            CertFile {
                certs,
                leaf: 0,
                key: id.key,
                from_p12: true,
                orphan_key: id.orphan_key,
            }
        }
        Kind::PemCertificate | Kind::DerCertificate => {
            let m = certs_and_key(data)
                .map_err(|e| Finding::unreadable(file, format!("{file}: {e}")))?;
            CertFile {
                certs: m.certs,
                leaf: m.leaf,
                key: m.key,
                from_p12: false,
                orphan_key: m.orphan_key,
            }
        }
        other => {
            return Err(Finding::unreadable(
                file,
                format!(
                    "{file} is a {}, not a certificate or .p12 identity",
                    other.describe()
                ),
            ))
        }
    };
    if let Some(kp) = key_path {
        let key =
            read_key_file(kp).map_err(|e| Finding::unreadable(kp.display().to_string(), e))?;
        f.orphan_key = !key.matches(&f.certs[f.leaf]);
        f.key = Some(key);
    }
    Ok(f)
}

/// Loads `--cert FILE [--cert-pass SPEC] [--key FILE]`: a `.p12/.pfx`, or PEM/DER
/// certificates with the key inside or in `key_path`. The one loader of this
/// material, for `verify` and both signers. The password is resolved (or
/// prompted for) once, and only for a PKCS#12; it is returned so the caller can
/// open the same file as a keystore. Errors are `input-unreadable` findings
/// (`password-wrong` when no password opens it) naming the file, never the password.
pub fn load_cert_file(
    path: &std::path::Path,
    pass: Option<&PasswordSpec>,
    key_path: Option<&std::path::Path>,
) -> Result<(CertFile, Option<Secret>), Finding> {
    let file = path.display().to_string();
    let unreadable = |msg: String| Finding::unreadable(&file, msg);
    let data = Zeroizing::new(
        std::fs::read(path).map_err(|e| unreadable(format!("cannot read {file}: {e}")))?,
    );
    let mut opened_with = None;
    let f = read_cert_file(&file, &data, key_path, || {
        let password = secret::resolve_or_prompt(pass, &file)
            .map_err(|e| unreadable(format!("{file}: {e}")))?
            .unwrap_or_default();
        let id = crate::pkcs12::read_identity(&data, password.expose()).map_err(|e| {
            let hint = match (&e, pass) {
                (P12Error::WrongPassword, Some(spec)) => format!(" (password from {spec})"),
                (P12Error::WrongPassword, None) => " (no password given: use --cert-pass for an iOS identity, or --ks-pass for an Android keystore: env:VAR, file:PATH or stdin)".into(),
                _ => String::new(),
            };
            // One name for a password that opens nothing, whatever the container.
            let msg = format!("cannot open {file}: {e}{hint}");
            match e {
                P12Error::WrongPassword => {
                    Finding::new(crate::diag::Code::PasswordWrong, &file, msg)
                        .detail("password", "store")
                }
                _ => unreadable(msg),
            }
        })?;
        opened_with = Some(password);
        Ok(id)
    })?;
    Ok((f, opened_with))
}
