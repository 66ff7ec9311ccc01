//! Apple Push Notification service certificates: which environment they reach
//! and which topics (bundle ids) they may push to, read from Apple's marker
//! extensions (…6.3.1 development/sandbox, …6.3.2 production, …6.3.6 topics of a
//! universal certificate) and the subject's UID (the app's bundle id).

use crate::x509::Cert;

const OID_DEVELOPMENT: &str = "1.2.840.113635.100.6.3.1";
const OID_PRODUCTION: &str = "1.2.840.113635.100.6.3.2";
const OID_TOPICS: &str = "1.2.840.113635.100.6.3.6";

/// Which APNs gateway the certificate authenticates to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
    /// Universal certificates (both markers) reach sandbox and production.
    Both,
}

impl Environment {
    pub fn name(self) -> &'static str {
        match self {
            Environment::Development => "development",
            Environment::Production => "production",
            Environment::Both => "both",
        }
    }
}

/// What a push certificate is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Push {
    pub environment: Environment,
    /// The bundle id (subject UID) first, then every topic of the topics extension.
    pub topics: Vec<String>,
}

/// `None` when the certificate is not an Apple Push Services certificate.
pub fn read(c: &Cert) -> Option<Push> {
    let dev = c.has_extension(OID_DEVELOPMENT);
    let prod = c.has_extension(OID_PRODUCTION);
    let topics_ext = c.extension_value(OID_TOPICS);
    let environment = match (dev, prod) {
        (true, false) => Environment::Development,
        (false, true) => Environment::Production,
        (true, true) => Environment::Both,
        (false, false) if topics_ext.is_some() => Environment::Both,
        (false, false) => return None,
    };
    let mut topics: Vec<String> = c.uid.iter().cloned().collect();
    for t in topics_ext.map(|v| parse_topics(&v)).unwrap_or_default() {
        if !topics.contains(&t) {
            topics.push(t);
        }
    }
    Some(Push {
        environment,
        topics,
    })
}

/// The topics extension is a SEQUENCE alternating a topic (UTF8String) and a
/// SEQUENCE of its types ("app", "voip", "complication"...). Only the topics are
/// kept; anything unexpected is skipped rather than trusted.
pub fn parse_topics(value: &[u8]) -> Vec<String> {
    use x509_parser::der_parser::ber::BerObjectContent;
    let Ok((_, obj)) = x509_parser::der_parser::parse_der(value) else {
        return Vec::new();
    };
    let Ok(items) = obj.as_sequence() else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|o| match &o.content {
            BerObjectContent::UTF8String(s) => Some(s.to_string()),
            _ => None,
        })
        .collect()
}

/// Whether `expected` is one of the certificate's topics (exact, as APNs compares).
pub fn covers(push: &Push, expected: &str) -> bool {
    push.topics.iter().any(|t| t == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_extension() {
        // SEQUENCE { UTF8String "com.a.b", SEQUENCE { UTF8String "app" },
        //            UTF8String "com.a.b.voip", SEQUENCE { UTF8String "voip" } }
        let mut inner = Vec::new();
        for (topic, kind) in [("com.a.b", "app"), ("com.a.b.voip", "voip")] {
            inner.push(0x0c);
            inner.push(topic.len() as u8);
            inner.extend_from_slice(topic.as_bytes());
            inner.extend_from_slice(&[0x30, kind.len() as u8 + 2, 0x0c, kind.len() as u8]);
            inner.extend_from_slice(kind.as_bytes());
        }
        let mut der = vec![0x30, inner.len() as u8];
        der.extend(inner);
        assert_eq!(parse_topics(&der), ["com.a.b", "com.a.b.voip"]);
        assert!(parse_topics(b"\x30\x05garbage").is_empty());
        assert!(parse_topics(b"").is_empty());
    }
}
