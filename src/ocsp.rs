//! Revocation by OCSP (RFC 6960), only when the user asks with `--online`:
//! wrapsign never touches the network otherwise. The request and response types
//! come from `x509-ocsp`; the response signature is verified through
//! [`crate::crypto`] against the issuer or a responder it delegated to.

use std::io::Read;
use std::time::Duration;

use der::{Decode, Encode};
use time::OffsetDateTime;
use x509_ocsp::builder::OcspRequestBuilder;
use x509_ocsp::{BasicOcspResponse, CertStatus, OcspResponse, OcspResponseStatus, Request};

use crate::crypto::{self, SigAlg};
use crate::x509::Cert;

/// What the responder said about a certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Good,
    Revoked {
        at: OffsetDateTime,
        reason: Option<String>,
    },
    Unknown,
}

/// Why no answer could be had.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OcspError {
    /// The certificate names no OCSP responder.
    #[error("the certificate names no OCSP responder")]
    NoResponder,
    /// Connection refused, timed out, HTTP error.
    #[error("the OCSP responder could not be reached: {0}")]
    Unreachable(String),
    /// An answer that is not a valid, signed, matching OCSP response.
    #[error("the OCSP responder's answer is not usable: {0}")]
    BadResponse(String),
}

const MAX_RESPONSE: u64 = 1 << 20;
const EKU_OCSP_SIGNING: &str = "1.3.6.1.5.5.7.3.9";

/// Asks the certificate's OCSP responder about it.
pub fn check(cert: &Cert, issuer: &Cert, timeout: Duration) -> Result<(String, Status), OcspError> {
    let url = cert.ocsp_urls.first().ok_or(OcspError::NoResponder)?;
    let bad = |e: &dyn std::fmt::Display| OcspError::BadResponse(e.to_string());
    let c = x509_cert::Certificate::from_der(&cert.der).map_err(|e| bad(&e))?;
    let i = x509_cert::Certificate::from_der(&issuer.der).map_err(|e| bad(&e))?;
    let request = Request::from_cert::<sha1::Sha1>(&i, &c).map_err(|e| bad(&e))?;
    let body = OcspRequestBuilder::default()
        .with_request(request)
        .build()
        .to_der()
        .map_err(|e| bad(&e))?;
    let agent = ureq::AgentBuilder::new()
        .timeout(timeout)
        .redirects(0)
        .build();
    let resp = agent
        .post(url)
        .set("Content-Type", "application/ocsp-request")
        .send_bytes(&body)
        .map_err(|e| OcspError::Unreachable(e.to_string()))?;
    let mut data = Vec::new();
    resp.into_reader()
        .take(MAX_RESPONSE)
        .read_to_end(&mut data)
        .map_err(|e| OcspError::Unreachable(e.to_string()))?;
    let status = parse_response(&data, cert, issuer)?;
    Ok((url.clone(), status))
}

/// Decodes and verifies a DER OCSPResponse for `cert`.
pub fn parse_response(data: &[u8], cert: &Cert, issuer: &Cert) -> Result<Status, OcspError> {
    let bad = |m: String| OcspError::BadResponse(m);
    let resp =
        OcspResponse::from_der(data).map_err(|e| bad(format!("not an OCSP response: {e}")))?;
    if resp.response_status != OcspResponseStatus::Successful {
        return Err(bad(format!("status {:?}", resp.response_status)));
    }
    let bytes = resp
        .response_bytes
        .ok_or_else(|| bad("no response bytes".into()))?;
    let basic = BasicOcspResponse::from_der(bytes.response.as_bytes())
        .map_err(|e| bad(format!("not a basic OCSP response: {e}")))?;
    let tbs = basic
        .tbs_response_data
        .to_der()
        .map_err(|e| bad(e.to_string()))?;
    let alg =
        SigAlg::from_oid(&basic.signature_algorithm.oid.to_string(), None).ok_or_else(|| {
            bad(format!(
                "unsupported signature algorithm {}",
                basic.signature_algorithm.oid
            ))
        })?;
    let sig = basic.signature.raw_bytes();
    // The issuer signs, or a responder certificate it issued for OCSP signing.
    let mut signers = vec![issuer.clone()];
    for c in basic.certs.iter().flatten() {
        if let Ok(der) = c.to_der() {
            if let Ok(rc) = Cert::from_der(&der) {
                if rc.is_issued_by(issuer) && rc.eku.iter().any(|e| e == EKU_OCSP_SIGNING) {
                    signers.push(rc);
                }
            }
        }
    }
    if !signers
        .iter()
        .any(|s| crypto::verify(&s.spki, alg, &tbs, sig).is_ok())
    {
        return Err(bad(
            "its signature does not verify against the issuer or a delegated responder".into(),
        ));
    }
    let serial = hex::decode(&cert.serial_hex).unwrap_or_default();
    let single = basic
        .tbs_response_data
        .responses
        .iter()
        .find(|r| r.cert_id.serial_number.as_bytes() == serial.as_slice())
        .ok_or_else(|| bad("it does not answer for this certificate".into()))?;
    Ok(match &single.cert_status {
        CertStatus::Good(_) => Status::Good,
        CertStatus::Unknown(_) => Status::Unknown,
        CertStatus::Revoked(info) => {
            let st: std::time::SystemTime = info.revocation_time.0.to_system_time();
            Status::Revoked {
                at: OffsetDateTime::from(st),
                reason: info.revocation_reason.map(|r| format!("{r:?}")),
            }
        }
    })
}
