//! The PKCS#7 SignedData of a JAR signature block (`META-INF/*.RSA|DSA|EC`).
//!
//! Why not the `cms` or `cryptographic-message-syntax` crates: JAR verification
//! needs the *original bytes* of two things, and both crates re-encode them.
//! Android (and apksig) identify a signer by its certificate's encoded form,
//! compared byte for byte across v1 and v2/v3 and fingerprinted, and verify the
//! signature over the signed attributes exactly as encoded (only the first tag
//! byte changed to SET). `cms` also rejects BER and re-sorts SETs; c-m-s
//! rebuilds certificates from parsed fields (its own docs warn that this
//! round trip "may lead to correctness bugs"). So this module walks the BER
//! structure and hands out slices; certificates are parsed by
//! [`crate::x509::Cert`] and signatures checked by [`crate::crypto`].

const MAX_DEPTH: usize = 32;

/// A BER element: its tag byte, whole encoding, and content.
#[derive(Clone, Copy, Debug)]
pub struct Tlv<'a> {
    pub tag: u8,
    pub raw: &'a [u8],
    pub content: &'a [u8],
}

impl<'a> Tlv<'a> {
    fn constructed(&self) -> bool {
        self.tag & 0x20 != 0
    }

    /// The child elements of a constructed element.
    pub fn children(&self) -> Result<Vec<Tlv<'a>>, String> {
        if !self.constructed() {
            return Err(format!(
                "element with tag {:#04x} is not constructed",
                self.tag
            ));
        }
        let mut out = Vec::new();
        let mut rest = self.content;
        while !rest.is_empty() {
            let (t, n) = read(rest, 0)?;
            out.push(t);
            rest = &rest[n..];
        }
        Ok(out)
    }

    /// The bytes of an OCTET STRING, joining BER constructed segments.
    pub fn octets(&self) -> Result<Vec<u8>, String> {
        match self.tag {
            0x04 => Ok(self.content.to_vec()),
            0x24 => {
                let mut v = Vec::new();
                for c in self.children()? {
                    v.extend(c.octets()?);
                }
                Ok(v)
            }
            t => Err(format!("expected an OCTET STRING, found tag {t:#04x}")),
        }
    }

    pub fn oid(&self) -> Result<String, String> {
        if self.tag != 0x06 {
            return Err(format!(
                "expected an OBJECT IDENTIFIER, found tag {:#04x}",
                self.tag
            ));
        }
        der::asn1::ObjectIdentifier::from_bytes(self.content)
            .map(|o| o.to_string())
            .map_err(|e| format!("invalid OBJECT IDENTIFIER: {e}"))
    }
}

/// Reads one element from the start of `input`; returns it and its length.
pub fn read(input: &[u8], depth: usize) -> Result<(Tlv<'_>, usize), String> {
    if depth > MAX_DEPTH {
        return Err("ASN.1 nesting too deep".into());
    }
    let short = || "truncated ASN.1 element".to_string();
    let tag = *input.first().ok_or_else(short)?;
    if tag & 0x1f == 0x1f {
        return Err("high-tag-number ASN.1 tags are not used in PKCS#7".into());
    }
    let l0 = *input.get(1).ok_or_else(short)?;
    let (header, len) = match l0 {
        0..=0x7f => (2, Some(l0 as usize)),
        0x80 => (2, None),
        0x81..=0x84 => {
            let n = (l0 - 0x80) as usize;
            let bytes = input.get(2..2 + n).ok_or_else(short)?;
            (
                2 + n,
                Some(bytes.iter().fold(0usize, |a, b| (a << 8) | *b as usize)),
            )
        }
        _ => return Err("ASN.1 length too large".into()),
    };
    match len {
        Some(len) => {
            let end = header.checked_add(len).ok_or_else(short)?;
            let content = input.get(header..end).ok_or_else(short)?;
            Ok((
                Tlv {
                    tag,
                    raw: &input[..end],
                    content,
                },
                end,
            ))
        }
        None => {
            // Indefinite length: constructed only, children up to an end-of-contents.
            if tag & 0x20 == 0 {
                return Err("indefinite length on a primitive ASN.1 element".into());
            }
            let mut pos = header;
            loop {
                let rest = input.get(pos..).ok_or_else(short)?;
                if rest.starts_with(&[0, 0]) {
                    let content = &input[header..pos];
                    return Ok((
                        Tlv {
                            tag,
                            raw: &input[..pos + 2],
                            content,
                        },
                        pos + 2,
                    ));
                }
                let (_, n) = read(rest, depth + 1)?;
                pos += n;
            }
        }
    }
}

fn expect<'a>(t: Option<&Tlv<'a>>, tag: u8, what: &str) -> Result<Tlv<'a>, String> {
    match t {
        Some(t) if t.tag == tag => Ok(*t),
        Some(t) => Err(format!(
            "{what}: expected tag {tag:#04x}, found {:#04x}",
            t.tag
        )),
        None => Err(format!("{what} missing")),
    }
}

/// One SignerInfo.
#[derive(Clone, Debug)]
pub struct SignerInfo<'a> {
    /// The issuer Name (whole encoding) and serial (INTEGER content) when the
    /// signer is identified by IssuerAndSerialNumber, the only form Android supports.
    pub issuer_and_serial: Option<(&'a [u8], &'a [u8])>,
    pub digest_alg: String,
    /// The signed attributes exactly as encoded (`[0] IMPLICIT SET OF`).
    pub signed_attrs: Option<&'a [u8]>,
    pub sig_alg: String,
    pub signature: Vec<u8>,
}

#[derive(Clone, Debug)]
pub struct SignedData<'a> {
    pub econtent_type: String,
    /// Each certificate's encoding, as stored.
    pub certificates: Vec<&'a [u8]>,
    pub signer_infos: Vec<SignerInfo<'a>>,
}

const OID_SIGNED_DATA: &str = "1.2.840.113549.1.7.2";

/// Parses ContentInfo { signedData, [0] SignedData }.
pub fn parse(data: &[u8]) -> Result<SignedData<'_>, String> {
    let (ci, _) = read(data, 0)?;
    let ci = ci.children()?;
    let ct = expect(ci.first(), 0x06, "ContentInfo.contentType")?.oid()?;
    if ct != OID_SIGNED_DATA {
        return Err(format!("unsupported ContentInfo.contentType {ct}"));
    }
    let wrapped = expect(ci.get(1), 0xa0, "ContentInfo.content")?.children()?;
    let sd = expect(wrapped.first(), 0x30, "SignedData")?.children()?;
    let mut it = sd.iter().peekable();
    expect(it.next(), 0x02, "SignedData.version")?;
    expect(it.next(), 0x31, "SignedData.digestAlgorithms")?;
    let eci = expect(it.next(), 0x30, "SignedData.encapContentInfo")?.children()?;
    let econtent_type = expect(eci.first(), 0x06, "eContentType")?.oid()?;
    let mut certificates = Vec::new();
    if let Some(t) = it.peek().filter(|t| t.tag == 0xa0) {
        certificates = t.children()?.iter().map(|c| c.raw).collect();
        it.next();
    }
    if it.peek().is_some_and(|t| t.tag == 0xa1) {
        it.next();
    }
    let infos = expect(it.next(), 0x31, "SignedData.signerInfos")?.children()?;
    let signer_infos = infos.iter().map(signer_info).collect::<Result<_, _>>()?;
    Ok(SignedData {
        econtent_type,
        certificates,
        signer_infos,
    })
}

fn alg_oid(t: Option<&Tlv<'_>>, what: &str) -> Result<String, String> {
    let alg = expect(t, 0x30, what)?.children()?;
    expect(alg.first(), 0x06, what)?.oid()
}

fn signer_info<'a>(t: &Tlv<'a>) -> Result<SignerInfo<'a>, String> {
    let f = t.children()?;
    let mut it = f.iter().peekable();
    expect(it.next(), 0x02, "SignerInfo.version")?;
    let sid = it.next().ok_or("SignerInfo.sid missing")?;
    let issuer_and_serial = match sid.tag {
        0x30 => {
            let parts = sid.children()?;
            let issuer = expect(parts.first(), 0x30, "IssuerAndSerialNumber.issuer")?;
            let serial = expect(parts.get(1), 0x02, "IssuerAndSerialNumber.serialNumber")?;
            Some((issuer.raw, serial.content))
        }
        // [0] SubjectKeyIdentifier: valid CMS, but Android cannot use it.
        0x80 | 0xa0 => None,
        t => return Err(format!("SignerInfo.sid: unexpected tag {t:#04x}")),
    };
    let digest_alg = alg_oid(it.next(), "SignerInfo.digestAlgorithm")?;
    let mut signed_attrs = None;
    if let Some(a) = it.peek().filter(|t| t.tag == 0xa0) {
        signed_attrs = Some(a.raw);
        it.next();
    }
    let sig_alg = alg_oid(it.next(), "SignerInfo.signatureAlgorithm")?;
    let signature = it.next().ok_or("SignerInfo.signature missing")?.octets()?;
    Ok(SignerInfo {
        issuer_and_serial,
        digest_alg,
        signed_attrs,
        sig_alg,
        signature,
    })
}

/// Signed attributes as (type OID, encoded values). A type given twice is an
/// error, as in apksig.
pub fn attributes(signed_attrs: &[u8]) -> Result<Vec<(String, Vec<Tlv<'_>>)>, String> {
    let (set, _) = read(signed_attrs, 0)?;
    let mut out: Vec<(String, Vec<Tlv<'_>>)> = Vec::new();
    for attr in set.children()? {
        let parts = attr.children()?;
        let oid = expect(parts.first(), 0x06, "Attribute.attrType")?.oid()?;
        let values = expect(parts.get(1), 0x31, "Attribute.attrValues")?.children()?;
        if out.iter().any(|(o, _)| *o == oid) {
            return Err(format!("duplicate signed attribute {oid}"));
        }
        out.push((oid, values));
    }
    Ok(out)
}

/// Whether two encoded X.500 Names are equal the way Java's `X500Principal`
/// compares them: same attributes in the same RDNs, string values compared
/// case-insensitively with whitespace collapsed, whatever their string type
/// (jarsigner writes the signer's issuer as PrintableString even when the
/// certificate uses UTF8String).
pub fn names_equal(a: &[u8], b: &[u8]) -> bool {
    if a == b {
        return true;
    }
    match (canonical_name(a), canonical_name(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

type CanonicalName = Vec<Vec<(String, Result<String, Vec<u8>>)>>;

fn canonical_name(der: &[u8]) -> Result<CanonicalName, String> {
    let (name, _) = read(der, 0)?;
    let mut rdns = Vec::new();
    for rdn in name.children()? {
        let mut atvs = Vec::new();
        for atv in rdn.children()? {
            let parts = atv.children()?;
            let oid = expect(parts.first(), 0x06, "AttributeType")?.oid()?;
            let v = parts.get(1).ok_or("AttributeValue missing")?;
            let text = match v.tag {
                0x0c | 0x13 | 0x16 | 0x1a => Some(String::from_utf8_lossy(v.content).into_owned()),
                0x14 => Some(v.content.iter().map(|&b| b as char).collect()),
                0x1e => {
                    let units: Vec<u16> = v
                        .content
                        .chunks(2)
                        .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                        .collect();
                    Some(String::from_utf16_lossy(&units))
                }
                _ => None,
            };
            let value = match text {
                Some(t) => Ok(t
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .to_lowercase()),
                None => Err(v.raw.to_vec()),
            };
            atvs.push((oid, value));
        }
        atvs.sort();
        rdns.push(atvs);
    }
    Ok(rdns)
}

/// A serial number's magnitude: its bytes without leading zeros, so that equal
/// serials compare equal however they were encoded (x509-parser, for one,
/// drops the sign byte).
pub fn normalize_integer(mut b: &[u8]) -> &[u8] {
    while b.len() > 1 && b[0] == 0 {
        b = &b[1..];
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definite_and_indefinite_lengths() {
        // SEQUENCE (indefinite) { OCTET STRING (constructed, indefinite) { "ab", "c" } }
        let ber = [
            0x30, 0x80, 0x24, 0x80, 0x04, 0x02, b'a', b'b', 0x04, 0x01, b'c', 0, 0, 0, 0,
        ];
        let (t, n) = read(&ber, 0).unwrap();
        assert_eq!(n, ber.len());
        let kids = t.children().unwrap();
        assert_eq!(kids[0].octets().unwrap(), b"abc");
        assert_eq!(read(&[0x04, 0x81, 0x01, 9], 0).unwrap().0.content, &[9]);
    }

    #[test]
    fn hostile_input_is_an_error() {
        for bad in [
            &[][..],
            &[0x30],
            &[0x30, 0x05, 0x00],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
            &[0x04, 0x80, 0, 0],
            &[0x1f, 0x01, 0x00],
            &[0x30, 0x80, 0x04, 0x01],
        ] {
            assert!(read(bad, 0).is_err(), "{bad:?}");
        }
        // Deep nesting is bounded.
        let mut deep = Vec::new();
        for _ in 0..100 {
            deep.extend_from_slice(&[0x30, 0x80]);
        }
        assert!(read(&deep, 0).is_err());
        assert!(parse(b"\x30\x03\x06\x01\x01").is_err());
    }

    #[test]
    fn names_compare_like_java() {
        // CN=rsa-2048 as UTF8String and as PrintableString.
        let utf8 = hex::decode("30133111300f06035504030c087273612d32303438").unwrap();
        let printable = hex::decode("30133111300f060355040313087273612d32303438").unwrap();
        let upper = hex::decode("30133111300f060355040313085253412d32303438").unwrap();
        let other = hex::decode("30133111300f060355040313087273612d34303936").unwrap();
        assert!(names_equal(&utf8, &printable));
        assert!(names_equal(&utf8, &upper));
        assert!(!names_equal(&utf8, &other));
        assert!(!names_equal(&utf8, b"garbage"));
    }

    #[test]
    fn integers_normalize() {
        assert_eq!(normalize_integer(&[0, 0, 0x12]), &[0x12]);
        assert_eq!(normalize_integer(&[0, 0x80]), &[0x80]);
        assert_eq!(normalize_integer(&[0]), &[0]);
    }
}
