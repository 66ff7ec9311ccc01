//! Binary `AndroidManifest.xml` (Android's compiled "AXML") reader.
//!
//! It reads what signature verification needs (minSdkVersion, targetSdkVersion,
//! maxSdkVersion, targetSandboxVersion, package, debuggable) with the same rules
//! as AOSP apksig's `AndroidBinXmlParser` and `ApkUtils`, so SDK ranges, and thus
//! which signature schemes must verify, come out as Android computes them.
//! Every offset is checked and every loop consumes input: malformed manifests
//! give an error, never a panic or an unbounded allocation.

/// `android:minSdkVersion`.
pub const ATTR_MIN_SDK_VERSION: u32 = 0x0101_020c;
/// `android:targetSdkVersion`.
pub const ATTR_TARGET_SDK_VERSION: u32 = 0x0101_0270;
/// `android:maxSdkVersion`.
pub const ATTR_MAX_SDK_VERSION: u32 = 0x0101_0271;
/// `android:targetSandboxVersion`.
pub const ATTR_TARGET_SANDBOX_VERSION: u32 = 0x0101_054c;
/// `android:debuggable`.
pub const ATTR_DEBUGGABLE: u32 = 0x0101_000f;
/// `android:extractNativeLibs`.
pub const ATTR_EXTRACT_NATIVE_LIBS: u32 = 0x0101_04ea;

const CHUNK_STRING_POOL: u16 = 0x0001;
const CHUNK_XML: u16 = 0x0003;
const CHUNK_START_ELEMENT: u16 = 0x0102;
const CHUNK_END_ELEMENT: u16 = 0x0103;
const CHUNK_RESOURCE_MAP: u16 = 0x0180;
const NO_INDEX: u32 = 0xffff_ffff;

const TYPE_REFERENCE: u8 = 0x01;
const TYPE_STRING: u8 = 0x03;
const TYPE_INT_DEC: u8 = 0x10;
const TYPE_INT_HEX: u8 = 0x11;
const TYPE_INT_BOOLEAN: u8 = 0x12;

/// Why a binary manifest could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct XmlError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, XmlError> {
    Err(XmlError(msg.into()))
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

struct Chunk<'a> {
    typ: u16,
    header: &'a [u8],
    contents: &'a [u8],
}

/// Reads the chunk at `*pos`. Like Android, a last chunk that does not fit in
/// the input ends the stream instead of failing.
fn next_chunk<'a>(input: &'a [u8], pos: &mut usize) -> Result<Option<Chunk<'a>>, XmlError> {
    let start = *pos;
    let remaining = input.len().saturating_sub(start);
    if remaining < 8 {
        *pos = input.len();
        return Ok(None);
    }
    let (Some(typ), Some(header_size), Some(chunk_size)) = (
        u16_at(input, start),
        u16_at(input, start + 2),
        u32_at(input, start + 4),
    ) else {
        *pos = input.len();
        return Ok(None);
    };
    let chunk_size = chunk_size as usize;
    if chunk_size > remaining {
        *pos = input.len();
        return Ok(None);
    }
    let header_size = header_size as usize;
    if header_size < 8 {
        return err(format!(
            "malformed chunk: header too short: {header_size} bytes"
        ));
    }
    if header_size > chunk_size {
        return err(format!(
            "malformed chunk: header too long: {header_size} bytes, chunk size {chunk_size} bytes"
        ));
    }
    // chunk_size >= header_size >= 8, so the stream always advances.
    let end = start + chunk_size;
    *pos = end;
    Ok(Some(Chunk {
        typ,
        header: &input[start..start + header_size],
        contents: &input[start + header_size..end],
    }))
}

struct StringPool<'a> {
    /// The chunk contents (the offsets table starts here).
    contents: &'a [u8],
    strings: &'a [u8],
    count: u32,
    utf8: bool,
}

impl<'a> StringPool<'a> {
    fn new(chunk: &Chunk<'a>) -> Result<Self, XmlError> {
        let h = chunk.header;
        if h.len() < 8 + 20 {
            return err(format!(
                "string pool header too short: need 28 bytes, have {}",
                h.len()
            ));
        }
        let field = |i: usize| u32_at(h, 8 + 4 * i).unwrap_or(0);
        let (count, style_count, flags, strings_start, styles_start) =
            (field(0), field(1), field(2), field(3), field(4));
        if count > i32::MAX as u32 {
            return err(format!("too many strings: {count}"));
        }
        if style_count > i32::MAX as u32 {
            return err(format!("too many styles: {style_count}"));
        }
        let contents = chunk.contents;
        let strings = if count > 0 {
            let hs = h.len() as i64;
            let start = strings_start as i64 - hs;
            let end = if style_count > 0 {
                if styles_start < strings_start {
                    return err(format!(
                        "styles offset ({styles_start}) < strings offset ({strings_start})"
                    ));
                }
                styles_start as i64 - hs
            } else {
                contents.len() as i64
            };
            if start < 0 || end < start || end > contents.len() as i64 {
                return err(format!(
                    "string pool section [{start}, {end}) outside the chunk ({} bytes)",
                    contents.len()
                ));
            }
            &contents[start as usize..end as usize]
        } else {
            &[][..]
        };
        Ok(StringPool {
            contents,
            strings,
            count,
            utf8: flags & (1 << 8) != 0,
        })
    }

    fn get(&self, index: u32) -> Result<String, XmlError> {
        if index >= self.count {
            return err(format!(
                "string index {index} out of range ({} strings)",
                self.count
            ));
        }
        let offset = (index as usize)
            .checked_mul(4)
            .and_then(|at| u32_at(self.contents, at))
            .ok_or_else(|| XmlError(format!("string index {index}: offsets table truncated")))?
            as usize;
        if offset >= self.strings.len() {
            return err(format!("string {index} offset {offset} out of bounds"));
        }
        let s = &self.strings[offset..];
        if self.utf8 {
            utf8_string(s)
        } else {
            utf16_string(s)
        }
    }
}

fn utf16_string(s: &[u8]) -> Result<String, XmlError> {
    let truncated = || XmlError("UTF-16 string truncated".into());
    let mut pos: usize = 2;
    let mut chars = u16_at(s, 0).ok_or_else(truncated)? as usize;
    if chars & 0x8000 != 0 {
        chars = ((chars & 0x7fff) << 16) | u16_at(s, 2).ok_or_else(truncated)? as usize;
        pos = 4;
    }
    let len = chars.checked_mul(2).ok_or_else(truncated)?;
    let end = pos
        .checked_add(len)
        .and_then(|e| e.checked_add(2))
        .ok_or_else(truncated)?;
    let bytes = s.get(pos..end).ok_or_else(truncated)?;
    let (text, nul) = bytes.split_at(len);
    // Android requires the NUL terminator; so does apksig.
    if nul != [0, 0] {
        return err("UTF-16 encoded form of string not NULL terminated");
    }
    let units: Vec<u16> = text
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    Ok(String::from_utf16_lossy(&units))
}

fn utf8_string(s: &[u8]) -> Result<String, XmlError> {
    let truncated = || XmlError("UTF-8 string truncated".into());
    let mut pos = 0;
    // A length is one byte, or two with the high bit set. The UTF-16 length
    // comes first and is skipped.
    let len = |pos: &mut usize| -> Result<usize, XmlError> {
        let b = *s.get(*pos).ok_or_else(truncated)? as usize;
        *pos += 1;
        if b & 0x80 != 0 {
            let b2 = *s.get(*pos).ok_or_else(truncated)? as usize;
            *pos += 1;
            Ok(((b & 0x7f) << 8) | b2)
        } else {
            Ok(b)
        }
    };
    len(&mut pos)?;
    let n = len(&mut pos)?;
    let bytes = s.get(pos..pos + n + 1).ok_or_else(truncated)?;
    if bytes[n] != 0 {
        return err("UTF-8 encoded form of string not NULL terminated");
    }
    Ok(String::from_utf8_lossy(&bytes[..n]).into_owned())
}

/// One attribute of a start element, resolved lazily as apksig does (a bad
/// attribute only matters when it is read).
#[derive(Clone, Copy)]
pub struct Attr {
    ns: u32,
    name: u32,
    value_type: u8,
    data: u32,
}

/// A start element: depth (the root is 1), namespace, name and attributes.
pub struct Element {
    pub depth: u32,
    pub namespace: String,
    pub name: String,
    attrs: Result<Vec<Attr>, XmlError>,
}

enum Event {
    Start(Element),
    End,
}

/// A pull parser over the events of a binary XML document.
pub struct BinXml<'a> {
    xml: &'a [u8],
    pos: usize,
    pool: Option<StringPool<'a>>,
    resource_map: Option<&'a [u8]>,
    depth: u32,
    pending_end: bool,
}

impl<'a> BinXml<'a> {
    pub fn new(data: &'a [u8]) -> Result<Self, XmlError> {
        let mut pos = 0;
        while pos < data.len() {
            match next_chunk(data, &mut pos)? {
                Some(c) if c.typ == CHUNK_XML => {
                    return Ok(BinXml {
                        xml: c.contents,
                        pos: 0,
                        pool: None,
                        resource_map: None,
                        depth: 0,
                        pending_end: false,
                    })
                }
                Some(_) => {}
                None => break,
            }
        }
        err("no XML chunk in file")
    }

    fn string(&self, index: u32) -> Result<String, XmlError> {
        match &self.pool {
            Some(p) => p.get(index),
            None => err("named element encountered before string pool"),
        }
    }

    fn next_event(&mut self) -> Result<Option<Event>, XmlError> {
        if self.pending_end {
            self.depth = self.depth.saturating_sub(1);
            self.pending_end = false;
        }
        while self.pos < self.xml.len() {
            let Some(chunk) = next_chunk(self.xml, &mut self.pos)? else {
                break;
            };
            match chunk.typ {
                CHUNK_STRING_POOL => {
                    if self.pool.is_some() {
                        return err("multiple string pools not supported");
                    }
                    self.pool = Some(StringPool::new(&chunk)?);
                }
                CHUNK_RESOURCE_MAP => {
                    if self.resource_map.is_some() {
                        return err("multiple resource maps not supported");
                    }
                    self.resource_map = Some(chunk.contents);
                }
                CHUNK_START_ELEMENT => {
                    if self.pool.is_none() {
                        return err("named element encountered before string pool");
                    }
                    let c = chunk.contents;
                    if c.len() < 20 {
                        return err(format!("start element chunk too short: {} bytes", c.len()));
                    }
                    let get32 = |at| u32_at(c, at).unwrap_or(0);
                    let get16 = |at| u16_at(c, at).unwrap_or(0) as usize;
                    let (ns, name) = (get32(0), get32(4));
                    let (attr_start, attr_size, attr_count) = (get16(8), get16(10), get16(12));
                    let attr_end = attr_start as u64 + attr_size as u64 * attr_count as u64;
                    if attr_start > c.len() || attr_end > c.len() as u64 {
                        return err(format!(
                            "attributes [{attr_start}, {attr_end}) outside the element chunk ({} bytes)",
                            c.len()
                        ));
                    }
                    let name = self.string(name)?;
                    let namespace = if ns == NO_INDEX {
                        String::new()
                    } else {
                        self.string(ns)?
                    };
                    let attrs = if attr_count > 0 && attr_size < 20 {
                        Err(XmlError(format!(
                            "attribute records of {attr_size} bytes are too short"
                        )))
                    } else {
                        Ok((0..attr_count)
                            .map(|i| {
                                let a = attr_start + i * attr_size;
                                let at = |o| u32_at(c, a + o).unwrap_or(0);
                                Attr {
                                    ns: at(0),
                                    name: at(4),
                                    value_type: c.get(a + 15).copied().unwrap_or(0),
                                    data: at(16),
                                }
                            })
                            .collect())
                    };
                    self.depth += 1;
                    return Ok(Some(Event::Start(Element {
                        depth: self.depth,
                        namespace,
                        name,
                        attrs,
                    })));
                }
                CHUNK_END_ELEMENT => {
                    if self.pool.is_none() {
                        return err("named element encountered before string pool");
                    }
                    let c = chunk.contents;
                    if c.len() < 8 {
                        return err(format!("end element chunk too short: {} bytes", c.len()));
                    }
                    let (ns, name) = (u32_at(c, 0).unwrap_or(0), u32_at(c, 4).unwrap_or(0));
                    self.string(name)?;
                    if ns != NO_INDEX {
                        self.string(ns)?;
                    }
                    self.pending_end = true;
                    return Ok(Some(Event::End));
                }
                _ => {}
            }
        }
        Ok(None)
    }

    /// The next start element, skipping end elements.
    pub fn next_element(&mut self) -> Result<Option<Element>, XmlError> {
        loop {
            match self.next_event()? {
                Some(Event::Start(e)) => return Ok(Some(e)),
                Some(Event::End) => continue,
                None => return Ok(None),
            }
        }
    }

    pub fn attrs<'e>(&self, e: &'e Element) -> Result<&'e [Attr], XmlError> {
        e.attrs.as_deref().map_err(Clone::clone)
    }

    /// The attribute's resource id (0 when the resource map has none).
    pub fn attr_resource_id(&self, a: &Attr) -> u32 {
        let Some(map) = self.resource_map else {
            return 0;
        };
        (a.name as usize)
            .checked_mul(4)
            .and_then(|at| u32_at(map, at))
            .unwrap_or(0)
    }

    pub fn attr_name(&self, a: &Attr) -> Result<String, XmlError> {
        self.string(a.name)
    }

    pub fn attr_namespace(&self, a: &Attr) -> Result<String, XmlError> {
        if a.ns == NO_INDEX {
            Ok(String::new())
        } else {
            self.string(a.ns)
        }
    }

    /// The value as an int: references, decimal, hex and boolean values.
    pub fn attr_int(&self, a: &Attr) -> Result<i32, XmlError> {
        match a.value_type {
            TYPE_REFERENCE | TYPE_INT_DEC | TYPE_INT_HEX | TYPE_INT_BOOLEAN => Ok(a.data as i32),
            t => err(format!("cannot coerce value type {t:#x} to int")),
        }
    }

    /// The value as a string, formatted as Android formats non-string values.
    pub fn attr_string(&self, a: &Attr) -> Result<String, XmlError> {
        match a.value_type {
            TYPE_STRING => self.string(a.data),
            TYPE_INT_DEC => Ok((a.data as i32).to_string()),
            TYPE_INT_HEX => Ok(format!("0x{:x}", a.data)),
            TYPE_INT_BOOLEAN => Ok((a.data != 0).to_string()),
            TYPE_REFERENCE => Ok(format!("@{:x}", a.data)),
            t => err(format!("cannot coerce value type {t:#x} to string")),
        }
    }

    pub fn is_string(a: &Attr) -> bool {
        a.value_type == TYPE_STRING
    }

    pub fn is_int(a: &Attr) -> bool {
        matches!(a.value_type, TYPE_INT_DEC | TYPE_INT_HEX)
    }
}

/// API level for a pre-release codename used as minSdkVersion (apksig's rule:
/// only the first letter counts).
fn codename_api_level(codename: &str) -> Result<i32, XmlError> {
    const KNOWN: [(u8, i32); 13] = [
        (b'C', 2),
        (b'D', 3),
        (b'E', 4),
        (b'F', 7),
        (b'G', 8),
        (b'H', 10),
        (b'I', 13),
        (b'J', 15),
        (b'K', 18),
        (b'L', 20),
        (b'M', 22),
        (b'N', 23),
        (b'O', 25),
    ];
    let first = codename.bytes().next().unwrap_or(b' ');
    if !first.is_ascii_uppercase() {
        return err(format!(
            "unsupported codename in minSdkVersion: \"{codename}\""
        ));
    }
    Ok(match KNOWN.iter().rev().find(|(c, _)| *c <= first) {
        Some((c, level)) => level + i32::from(first - c),
        // 'A' and 'B' were never released.
        None => 1,
    })
}

/// The effective minSdkVersion: the largest over the `<uses-sdk>` children of
/// `<manifest>` (default 1), as the package manager computes it.
pub fn min_sdk_version(data: &[u8]) -> Result<i32, XmlError> {
    let mut p = BinXml::new(data)?;
    let mut result = 1;
    while let Some(e) = p.next_element()? {
        if e.depth != 2 || e.name != "uses-sdk" || !e.namespace.is_empty() {
            continue;
        }
        let mut min = 1;
        for a in p.attrs(&e)? {
            if p.attr_resource_id(a) == ATTR_MIN_SDK_VERSION {
                min = if BinXml::is_int(a) {
                    p.attr_int(a)?
                } else if BinXml::is_string(a) {
                    codename_api_level(&p.attr_string(a)?)?
                } else {
                    return err(
                        "minSdkVersion has an unsupported value type (only integers are supported)",
                    );
                };
                break;
            }
        }
        result = result.max(min);
    }
    Ok(result)
}

/// The int value of `attr_id` on the first element named `element` that has it.
pub fn attribute_int(data: &[u8], element: &str, attr_id: u32) -> Result<i32, XmlError> {
    let mut p = BinXml::new(data)?;
    while let Some(e) = p.next_element()? {
        if e.name != element {
            continue;
        }
        for a in p.attrs(&e)? {
            if p.attr_resource_id(a) == attr_id {
                if BinXml::is_int(a) || BinXml::is_string(a) {
                    return p.attr_int(a);
                }
                return err(format!(
                    "unsupported value type for attribute {attr_id:#010x} under element {element}"
                ));
            }
        }
    }
    err(format!("no {element} attribute {attr_id:#010x}"))
}

/// targetSdkVersion; defaults to the minSdkVersion, then 1, as Android does.
pub fn target_sdk_version(data: &[u8]) -> i32 {
    attribute_int(data, "uses-sdk", ATTR_TARGET_SDK_VERSION)
        .or_else(|_| min_sdk_version(data))
        .unwrap_or(1)
}

/// targetSandboxVersion (default 1).
pub fn target_sandbox_version(data: &[u8]) -> i32 {
    attribute_int(data, "manifest", ATTR_TARGET_SANDBOX_VERSION).unwrap_or(1)
}

/// maxSdkVersion, when declared (Android ignores it since 2.0.1; reported for information).
pub fn max_sdk_version(data: &[u8]) -> Option<i32> {
    attribute_int(data, "uses-sdk", ATTR_MAX_SDK_VERSION).ok()
}

/// The `package` attribute of the root `<manifest>` (looked up by name, as the
/// package manager does).
pub fn package_name(data: &[u8]) -> Result<Option<String>, XmlError> {
    let mut p = BinXml::new(data)?;
    while let Some(e) = p.next_element()? {
        if e.depth == 1 && e.name == "manifest" && e.namespace.is_empty() {
            for a in p.attrs(&e)? {
                if p.attr_name(a)? == "package" && p.attr_namespace(a)?.is_empty() {
                    return p.attr_string(a).map(Some);
                }
            }
            return Ok(None);
        }
    }
    Ok(None)
}

/// `android:debuggable` on the first `<application>`.
pub fn debuggable(data: &[u8]) -> Result<bool, XmlError> {
    let mut p = BinXml::new(data)?;
    while let Some(e) = p.next_element()? {
        if e.depth == 2 && e.name == "application" && e.namespace.is_empty() {
            for a in p.attrs(&e)? {
                if p.attr_resource_id(a) == ATTR_DEBUGGABLE {
                    if a.value_type == TYPE_REFERENCE {
                        return err("android:debuggable references a resource");
                    }
                    let v = p.attr_string(a)?;
                    return Ok(v == "true" || v == "TRUE" || v == "1");
                }
            }
            return Ok(false);
        }
    }
    Ok(false)
}

/// `android:extractNativeLibs` on the first `<application>`: `None` when it is
/// absent (Android's default is true: libraries are extracted at install) or
/// a resource reference that cannot be resolved without resources.arsc.
pub fn extract_native_libs(data: &[u8]) -> Result<Option<bool>, XmlError> {
    let mut p = BinXml::new(data)?;
    while let Some(e) = p.next_element()? {
        if e.depth == 2 && e.name == "application" && e.namespace.is_empty() {
            for a in p.attrs(&e)? {
                if p.attr_resource_id(a) == ATTR_EXTRACT_NATIVE_LIBS {
                    return Ok(match a.value_type {
                        TYPE_INT_BOOLEAN | TYPE_INT_DEC | TYPE_INT_HEX => Some(a.data != 0),
                        TYPE_STRING => {
                            let v = p.attr_string(a)?;
                            Some(v.eq_ignore_ascii_case("true") || v == "1")
                        }
                        _ => None,
                    });
                }
            }
            return Ok(None);
        }
    }
    Ok(None)
}

/// The facts wrapsign reports about a manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestInfo {
    pub package: Option<String>,
    pub min_sdk: Result<i32, XmlError>,
    pub target_sdk: i32,
    pub max_sdk: Option<i32>,
    pub target_sandbox: i32,
    pub debuggable: Option<bool>,
    /// `android:extractNativeLibs` when declared (and not a resource reference).
    pub extract_native_libs: Option<bool>,
}

impl ManifestInfo {
    pub fn read(data: &[u8]) -> ManifestInfo {
        ManifestInfo {
            package: package_name(data).ok().flatten(),
            min_sdk: min_sdk_version(data),
            target_sdk: target_sdk_version(data),
            max_sdk: max_sdk_version(data),
            target_sandbox: target_sandbox_version(data),
            debuggable: debuggable(data).ok(),
            extract_native_libs: extract_native_libs(data).ok().flatten(),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A test-only AXML writer: enough to produce manifests with chosen values.
    pub struct Axml {
        strings: Vec<String>,
        res_ids: Vec<u32>,
        body: Vec<u8>,
        utf8: bool,
    }

    pub enum Val<'a> {
        Int(i32),
        Str(&'a str),
        Bool(bool),
        Ref(u32),
    }

    impl Axml {
        pub fn new(utf8: bool) -> Self {
            Axml {
                strings: Vec::new(),
                res_ids: Vec::new(),
                body: Vec::new(),
                utf8,
            }
        }

        /// Interns a string; attribute names with resource ids come first (the
        /// resource map is indexed by string index).
        fn intern(&mut self, s: &str, res_id: Option<u32>) -> u32 {
            if let Some(i) = self.strings.iter().position(|x| x == s) {
                return i as u32;
            }
            if let Some(id) = res_id {
                let at = self.res_ids.len();
                self.strings.insert(at, s.to_string());
                self.res_ids.push(id);
                assert!(
                    self.body.is_empty(),
                    "attributes with ids must be interned first"
                );
                return at as u32;
            }
            self.strings.push(s.to_string());
            (self.strings.len() - 1) as u32
        }

        pub fn prepare_attrs(&mut self, names: &[(&str, u32)]) {
            for (n, id) in names {
                self.intern(n, Some(*id));
            }
        }

        pub fn start(&mut self, name: &str, ns: Option<&str>, attrs: &[(&str, Option<&str>, Val)]) {
            let ns_i = ns.map(|n| self.intern(n, None)).unwrap_or(NO_INDEX);
            let name_i = self.intern(name, None);
            let mut a = Vec::new();
            for (an, ans, v) in attrs {
                let ans_i = ans.map(|n| self.intern(n, None)).unwrap_or(NO_INDEX);
                let an_i = self.intern(an, None);
                let (t, d) = match v {
                    Val::Int(i) => (TYPE_INT_DEC, *i as u32),
                    Val::Str(s) => (TYPE_STRING, self.intern(s, None)),
                    Val::Bool(b) => (TYPE_INT_BOOLEAN, if *b { 0xffff_ffff } else { 0 }),
                    Val::Ref(r) => (TYPE_REFERENCE, *r),
                };
                let raw = if t == TYPE_STRING { d } else { NO_INDEX };
                a.extend_from_slice(&ans_i.to_le_bytes());
                a.extend_from_slice(&an_i.to_le_bytes());
                a.extend_from_slice(&raw.to_le_bytes());
                a.extend_from_slice(&8u16.to_le_bytes());
                a.push(0);
                a.push(t);
                a.extend_from_slice(&d.to_le_bytes());
            }
            let mut c = Vec::new();
            c.extend_from_slice(&ns_i.to_le_bytes());
            c.extend_from_slice(&name_i.to_le_bytes());
            c.extend_from_slice(&20u16.to_le_bytes());
            c.extend_from_slice(&20u16.to_le_bytes());
            c.extend_from_slice(&(attrs.len() as u16).to_le_bytes());
            c.extend_from_slice(&[0u8; 6]);
            c.extend_from_slice(&a);
            self.chunk(CHUNK_START_ELEMENT, 16, &c);
        }

        pub fn end(&mut self, name: &str, ns: Option<&str>) {
            let ns_i = ns.map(|n| self.intern(n, None)).unwrap_or(NO_INDEX);
            let name_i = self.intern(name, None);
            let mut c = Vec::new();
            c.extend_from_slice(&ns_i.to_le_bytes());
            c.extend_from_slice(&name_i.to_le_bytes());
            self.chunk(CHUNK_END_ELEMENT, 16, &c);
        }

        fn chunk(&mut self, typ: u16, header: u16, contents: &[u8]) {
            // Element chunks carry an 8-byte line/comment extension in their header.
            self.body.extend_from_slice(&typ.to_le_bytes());
            self.body.extend_from_slice(&header.to_le_bytes());
            self.body
                .extend_from_slice(&((8 + 8 + contents.len()) as u32).to_le_bytes());
            self.body
                .extend_from_slice(&[1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
            self.body.extend_from_slice(contents);
        }

        pub fn finish(&self) -> Vec<u8> {
            let mut data = Vec::new();
            let mut offsets = Vec::new();
            for s in &self.strings {
                offsets.push(data.len() as u32);
                if self.utf8 {
                    let n16 = s.encode_utf16().count();
                    data.push(n16 as u8);
                    data.push(s.len() as u8);
                    data.extend_from_slice(s.as_bytes());
                    data.push(0);
                } else {
                    let u: Vec<u16> = s.encode_utf16().collect();
                    data.extend_from_slice(&(u.len() as u16).to_le_bytes());
                    for c in u {
                        data.extend_from_slice(&c.to_le_bytes());
                    }
                    data.extend_from_slice(&[0, 0]);
                }
            }
            while data.len() % 4 != 0 {
                data.push(0);
            }
            let header = 28u32;
            let strings_start = header + 4 * offsets.len() as u32;
            let mut pool = Vec::new();
            pool.extend_from_slice(&CHUNK_STRING_POOL.to_le_bytes());
            pool.extend_from_slice(&(header as u16).to_le_bytes());
            pool.extend_from_slice(&(strings_start + data.len() as u32).to_le_bytes());
            pool.extend_from_slice(&(offsets.len() as u32).to_le_bytes());
            pool.extend_from_slice(&0u32.to_le_bytes());
            pool.extend_from_slice(&(if self.utf8 { 1u32 << 8 } else { 0 }).to_le_bytes());
            pool.extend_from_slice(&strings_start.to_le_bytes());
            pool.extend_from_slice(&0u32.to_le_bytes());
            for o in offsets {
                pool.extend_from_slice(&o.to_le_bytes());
            }
            pool.extend_from_slice(&data);
            let mut map = Vec::new();
            map.extend_from_slice(&CHUNK_RESOURCE_MAP.to_le_bytes());
            map.extend_from_slice(&8u16.to_le_bytes());
            map.extend_from_slice(&(8 + 4 * self.res_ids.len() as u32).to_le_bytes());
            for id in &self.res_ids {
                map.extend_from_slice(&id.to_le_bytes());
            }
            let total = 8 + pool.len() + map.len() + self.body.len();
            let mut out = Vec::new();
            out.extend_from_slice(&CHUNK_XML.to_le_bytes());
            out.extend_from_slice(&8u16.to_le_bytes());
            out.extend_from_slice(&(total as u32).to_le_bytes());
            out.extend_from_slice(&pool);
            out.extend_from_slice(&map);
            out.extend_from_slice(&self.body);
            out
        }
    }

    const ANDROID: &str = "http://schemas.android.com/apk/res/android";

    pub fn manifest(min: Val, target: Option<i32>, sandbox: Option<i32>, utf8: bool) -> Vec<u8> {
        let mut x = Axml::new(utf8);
        x.prepare_attrs(&[
            ("minSdkVersion", ATTR_MIN_SDK_VERSION),
            ("targetSdkVersion", ATTR_TARGET_SDK_VERSION),
            ("targetSandboxVersion", ATTR_TARGET_SANDBOX_VERSION),
            ("debuggable", ATTR_DEBUGGABLE),
        ]);
        let mut root = vec![("package", None, Val::Str("com.example.demo"))];
        if let Some(s) = sandbox {
            root.push(("targetSandboxVersion", Some(ANDROID), Val::Int(s)));
        }
        x.start("manifest", None, &root);
        let mut sdk = vec![("minSdkVersion", Some(ANDROID), min)];
        if let Some(t) = target {
            sdk.push(("targetSdkVersion", Some(ANDROID), Val::Int(t)));
        }
        x.start("uses-sdk", None, &sdk);
        x.end("uses-sdk", None);
        x.start(
            "application",
            None,
            &[("debuggable", Some(ANDROID), Val::Bool(true))],
        );
        x.end("application", None);
        x.end("manifest", None);
        x.finish()
    }

    #[test]
    fn reads_sdk_levels_utf16_and_utf8() {
        for utf8 in [false, true] {
            let m = manifest(Val::Int(21), Some(34), Some(2), utf8);
            let info = ManifestInfo::read(&m);
            assert_eq!(info.min_sdk, Ok(21));
            assert_eq!(info.target_sdk, 34);
            assert_eq!(info.target_sandbox, 2);
            assert_eq!(info.package.as_deref(), Some("com.example.demo"));
            assert_eq!(info.debuggable, Some(true));
            assert_eq!(info.max_sdk, None);
        }
    }

    fn with_extract(v: Option<Val>) -> Vec<u8> {
        let mut x = Axml::new(false);
        x.prepare_attrs(&[
            ("minSdkVersion", ATTR_MIN_SDK_VERSION),
            ("extractNativeLibs", ATTR_EXTRACT_NATIVE_LIBS),
        ]);
        x.start("manifest", None, &[("package", None, Val::Str("p"))]);
        x.start(
            "uses-sdk",
            None,
            &[("minSdkVersion", Some(ANDROID), Val::Int(23))],
        );
        x.end("uses-sdk", None);
        let attrs: Vec<(&str, Option<&str>, Val)> = v
            .into_iter()
            .map(|v| ("extractNativeLibs", Some(ANDROID), v))
            .collect();
        x.start("application", None, &attrs);
        x.end("application", None);
        x.end("manifest", None);
        x.finish()
    }

    #[test]
    fn extract_native_libs_as_the_package_manager_reads_it() {
        assert_eq!(extract_native_libs(&with_extract(None)), Ok(None));
        assert_eq!(
            extract_native_libs(&with_extract(Some(Val::Bool(false)))),
            Ok(Some(false))
        );
        assert_eq!(
            extract_native_libs(&with_extract(Some(Val::Bool(true)))),
            Ok(Some(true))
        );
        assert_eq!(
            extract_native_libs(&with_extract(Some(Val::Str("false")))),
            Ok(Some(false))
        );
        // A resource reference cannot be resolved from the manifest alone.
        assert_eq!(
            extract_native_libs(&with_extract(Some(Val::Ref(0x7f05_0001)))),
            Ok(None)
        );
        assert_eq!(
            ManifestInfo::read(&with_extract(Some(Val::Bool(false)))).extract_native_libs,
            Some(false)
        );
    }

    #[test]
    fn defaults_follow_android() {
        // No targetSdkVersion: it defaults to minSdkVersion; no sandbox: 1.
        let m = manifest(Val::Int(19), None, None, false);
        assert_eq!(target_sdk_version(&m), 19);
        assert_eq!(target_sandbox_version(&m), 1);
        // A codename minSdkVersion maps by its first letter.
        assert_eq!(
            min_sdk_version(&manifest(Val::Str("O"), None, None, false)),
            Ok(25)
        );
        assert_eq!(
            min_sdk_version(&manifest(Val::Str("P"), None, None, false)),
            Ok(26)
        );
        assert_eq!(
            min_sdk_version(&manifest(Val::Str("B"), None, None, false)),
            Ok(1)
        );
        assert!(min_sdk_version(&manifest(Val::Str("tiramisu"), None, None, false)).is_err());
        // A reference is not a usable minSdkVersion.
        assert!(min_sdk_version(&manifest(Val::Ref(0x7f01_0001), None, None, false)).is_err());
    }

    #[test]
    fn real_manifests_from_the_apksig_corpus() {
        // Android's own binary manifests, when the shared corpus is present.
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/apksig");
        let Ok(data) = std::fs::read(dir.join("v1-ec-p256-targetSdk-30.apk")) else {
            {
                use std::io::Write as _;
                let _ = writeln!(std::io::stderr(), "SKIP: ../shared/conformance not present");
            }
            return;
        };
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(data)).unwrap();
        let mut m = Vec::new();
        std::io::Read::read_to_end(&mut z.by_name("AndroidManifest.xml").unwrap(), &mut m).unwrap();
        assert_eq!(target_sdk_version(&m), 30);
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        let good = manifest(Val::Int(21), Some(30), None, false);
        assert!(BinXml::new(b"").is_err());
        assert!(BinXml::new(&[3, 0, 8, 0, 8, 0, 0, 0]).is_ok());
        // Every truncation and every single-byte corruption must be handled.
        for cut in 0..good.len() {
            let _ = ManifestInfo::read(&good[..cut]);
        }
        for i in 0..good.len() {
            for v in [0u8, 0x7f, 0x80, 0xff] {
                let mut m = good.clone();
                m[i] = v;
                let _ = ManifestInfo::read(&m);
            }
        }
        // A huge UTF-16 length must not allocate or read out of bounds.
        let mut m = good.clone();
        let pool_strings = 8 + 28 + 4 * 9;
        m[pool_strings] = 0xff;
        m[pool_strings + 1] = 0xff;
        let _ = ManifestInfo::read(&m);
    }
}
