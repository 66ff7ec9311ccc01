//! Trust anchors: Apple's public root and intermediate certificates (as shipped
//! inside apple-codesign), plus any `--trust-root` given for test or private CAs.

use std::path::PathBuf;

use apple_codesign::KnownCertificate;

use crate::diag::{Finding, Report};

use crate::x509::{certs_from_pem_or_der, Cert};

#[derive(Clone, Debug, Default)]
pub struct Trust {
    pub anchors: Vec<Cert>,
    /// Known intermediates used to complete chains that omit them.
    pub intermediates: Vec<Cert>,
}

impl Trust {
    /// Apple's roots as anchors and Apple's intermediates (WWDR G1-G8 and others).
    pub fn apple() -> Trust {
        let roots: Vec<Cert> = KnownCertificate::all_roots()
            .iter()
            .filter_map(|c| Cert::from_der(c.constructed_data()).ok())
            .collect();
        let intermediates = KnownCertificate::all()
            .iter()
            .filter_map(|c| Cert::from_der(c.constructed_data()).ok())
            .filter(|c| !roots.iter().any(|r| r.der == c.der))
            .collect();
        Trust {
            anchors: roots,
            intermediates,
        }
    }

    /// Adds the certificates of a PEM/DER file as anchors. Returns how many.
    pub fn add_roots_from(&mut self, data: &[u8]) -> usize {
        let certs: Vec<Cert> = certs_from_pem_or_der(data)
            .iter()
            .filter_map(|d| Cert::from_der(d).ok())
            .collect();
        let n = certs.len();
        self.anchors.extend(certs);
        n
    }
    /// Apple's anchors plus each `--trust-root` file; unreadable or empty files
    /// become `input-unreadable` findings.
    pub fn with_roots(extra: &[PathBuf], report: &mut Report) -> Trust {
        let mut trust = Trust::apple();
        for root in extra {
            let file = root.display().to_string();
            match std::fs::read(root) {
                Ok(data) if trust.add_roots_from(&data) > 0 => {}
                Ok(_) => report.push(Finding::unreadable(
                    &file,
                    format!("--trust-root {file} holds no certificate"),
                )),
                Err(e) => report.push(Finding::unreadable(
                    &file,
                    format!("cannot read {file}: {e}"),
                )),
            }
        }
        trust
    }
}
