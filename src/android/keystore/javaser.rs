//! Just enough of Java object serialization (the `java.io.ObjectOutputStream`
//! grammar) to walk the objects JCEKS stores for secret keys: a JCEKS secret-key
//! entry has no length prefix, so the only way past it is to parse it.
//!
//! Bounded: every length is checked against the remaining input, nesting is
//! limited, and nothing is allocated before the bytes it describes were seen.

use std::rc::Rc;

use super::bytes::Bytes;

const MAGIC: [u8; 4] = [0xac, 0xed, 0x00, 0x05];
const TC_NULL: u8 = 0x70;
const TC_REFERENCE: u8 = 0x71;
const TC_CLASSDESC: u8 = 0x72;
const TC_OBJECT: u8 = 0x73;
const TC_STRING: u8 = 0x74;
const TC_ARRAY: u8 = 0x75;
const TC_CLASS: u8 = 0x76;
const TC_BLOCKDATA: u8 = 0x77;
const TC_ENDBLOCKDATA: u8 = 0x78;
const TC_RESET: u8 = 0x79;
const TC_BLOCKDATALONG: u8 = 0x7a;
const TC_LONGSTRING: u8 = 0x7c;
const TC_PROXYCLASSDESC: u8 = 0x7d;
const TC_ENUM: u8 = 0x7e;
const BASE_HANDLE: u32 = 0x7e_0000;
const SC_WRITE_METHOD: u8 = 0x01;
const SC_SERIALIZABLE: u8 = 0x02;
const SC_EXTERNALIZABLE: u8 = 0x04;
const SC_BLOCK_DATA: u8 = 0x08;
const MAX_DEPTH: usize = 32;

/// A deserialized value. Only what keystores need is kept: strings, byte
/// arrays and objects' fields; other primitives are read and dropped.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Str(String),
    Bytes(Vec<u8>),
    Array(Vec<Value>),
    Object(Object),
    Enum {
        class: String,
        constant: String,
    },
    /// A class descriptor, a back-reference, or a primitive.
    Other,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Object {
    /// The most derived class name.
    pub class: String,
    /// Every class in the hierarchy, most derived first.
    pub classes: Vec<String>,
    /// Fields of every class in the hierarchy.
    pub fields: Vec<(String, Value)>,
}

impl Object {
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
    pub fn string(&self, name: &str) -> Option<&str> {
        match self.field(name) {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        }
    }
    pub fn bytes(&self, name: &str) -> Option<&[u8]> {
        match self.field(name) {
            Some(Value::Bytes(b)) => Some(b),
            _ => None,
        }
    }
}

/// Bytes of a primitive field or array element by its type code; `None` for objects.
fn prim_size(type_code: u8) -> Option<usize> {
    match type_code {
        b'B' | b'Z' => Some(1),
        b'C' | b'S' => Some(2),
        b'I' | b'F' => Some(4),
        b'J' | b'D' => Some(8),
        _ => None,
    }
}

#[derive(Debug)]
struct ClassDesc {
    name: String,
    flags: u8,
    fields: Vec<Field>,
    super_desc: Option<Rc<ClassDesc>>,
}

#[derive(Debug)]
struct Field {
    type_code: u8,
    name: String,
}

#[derive(Clone, Debug)]
enum Handle {
    Class(Rc<ClassDesc>),
    Str(String),
    Other,
}

pub struct Reader<'a> {
    b: Bytes<'a>,
    handles: Vec<Handle>,
}

type R<T> = Result<T, String>;

fn truncated(at: usize) -> String {
    format!("serialized object truncated at byte {at}")
}

impl<'a> Reader<'a> {
    /// A reader positioned at a stream header (`AC ED 00 05`).
    pub fn new(data: &'a [u8]) -> R<Reader<'a>> {
        if data.get(..4) != Some(&MAGIC[..]) {
            return Err("not a Java serialization stream".into());
        }
        Ok(Reader {
            b: Bytes::new(data, 4),
            handles: Vec::new(),
        })
    }

    /// Bytes consumed so far, header included.
    pub fn position(&self) -> usize {
        self.b.pos()
    }

    fn take(&mut self, n: usize) -> R<&'a [u8]> {
        let at = self.b.pos();
        self.b.take(n).ok_or_else(|| truncated(at))
    }

    fn u8(&mut self) -> R<u8> {
        let at = self.b.pos();
        self.b.u8().ok_or_else(|| truncated(at))
    }
    fn u16(&mut self) -> R<u16> {
        let at = self.b.pos();
        self.b.u16().ok_or_else(|| truncated(at))
    }
    fn u32(&mut self) -> R<u32> {
        let at = self.b.pos();
        self.b.u32().ok_or_else(|| truncated(at))
    }
    fn peek(&self) -> R<u8> {
        self.b.peek().ok_or_else(|| truncated(self.b.pos()))
    }

    fn utf(&mut self) -> R<String> {
        let n = self.u16()? as usize;
        Ok(super::modified_utf8(self.take(n)?))
    }

    fn new_handle(&mut self, h: Handle) {
        self.handles.push(h);
    }

    fn handle(&self, idx: u32) -> R<&Handle> {
        idx.checked_sub(BASE_HANDLE)
            .and_then(|i| self.handles.get(i as usize))
            .ok_or_else(|| format!("dangling back-reference {idx:#x}"))
    }

    /// Reads one top-level object.
    pub fn read_object(&mut self) -> R<Value> {
        self.content(0)
    }

    fn content(&mut self, depth: usize) -> R<Value> {
        if depth > MAX_DEPTH {
            return Err("serialized object nested too deeply".into());
        }
        // Class descriptors read their own tag.
        if matches!(self.peek()?, TC_CLASSDESC | TC_PROXYCLASSDESC) {
            self.class_desc(depth)?;
            return Ok(Value::Other);
        }
        let tc = self.u8()?;
        match tc {
            TC_NULL => Ok(Value::Null),
            TC_REFERENCE => {
                let idx = self.u32()?;
                Ok(match self.handle(idx)? {
                    Handle::Str(s) => Value::Str(s.clone()),
                    _ => Value::Other,
                })
            }
            TC_STRING | TC_LONGSTRING => {
                let s = if tc == TC_STRING {
                    self.utf()?
                } else {
                    let b = self.take(8)?;
                    let n = u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
                    let n = usize::try_from(n).map_err(|_| "string too long".to_string())?;
                    super::modified_utf8(self.take(n)?)
                };
                self.new_handle(Handle::Str(s.clone()));
                Ok(Value::Str(s))
            }
            TC_CLASS => {
                self.class_desc(depth)?;
                self.new_handle(Handle::Other);
                Ok(Value::Other)
            }
            TC_ENUM => {
                let desc = self.class_desc(depth)?.ok_or("enum without a class")?;
                self.new_handle(Handle::Other);
                let constant = match self.content(depth + 1)? {
                    Value::Str(s) => s,
                    _ => return Err("enum constant name is not a string".into()),
                };
                Ok(Value::Enum {
                    class: desc.name.clone(),
                    constant,
                })
            }
            TC_ARRAY => self.array(depth),
            TC_OBJECT => self.object(depth),
            TC_RESET => {
                self.handles.clear();
                self.content(depth)
            }
            other => Err(format!(
                "unexpected serialization tag {other:#04x} at byte {}",
                self.b.pos() - 1
            )),
        }
    }

    /// classDesc: a new descriptor, a proxy descriptor, null, or a reference.
    fn class_desc(&mut self, depth: usize) -> R<Option<Rc<ClassDesc>>> {
        if depth > MAX_DEPTH {
            return Err("serialized object nested too deeply".into());
        }
        match self.u8()? {
            TC_NULL => Ok(None),
            TC_REFERENCE => {
                let idx = self.u32()?;
                match self.handle(idx)? {
                    Handle::Class(c) => Ok(Some(c.clone())),
                    _ => Err("back-reference to a class descriptor points elsewhere".into()),
                }
            }
            TC_CLASSDESC => {
                let name = self.utf()?;
                self.take(8)?; // serialVersionUID
                let slot = self.handles.len();
                self.new_handle(Handle::Other);
                let flags = self.u8()?;
                let count = self.u16()? as usize;
                let mut fields = Vec::new();
                for _ in 0..count {
                    let type_code = self.u8()?;
                    let fname = self.utf()?;
                    match type_code {
                        t if prim_size(t).is_some() => {}
                        // Object fields name their type (`[B`, `Ljava/lang/String;`).
                        b'[' | b'L' => {
                            if !matches!(self.content(depth + 1)?, Value::Str(_)) {
                                return Err("field type name is not a string".into());
                            }
                        }
                        t => return Err(format!("unknown field type code {t:#04x}")),
                    }
                    fields.push(Field {
                        type_code,
                        name: fname,
                    });
                }
                self.skip_annotation(depth)?;
                let super_desc = self.class_desc(depth + 1)?;
                let desc = Rc::new(ClassDesc {
                    name,
                    flags,
                    fields,
                    super_desc,
                });
                self.handles[slot] = Handle::Class(desc.clone());
                Ok(Some(desc))
            }
            TC_PROXYCLASSDESC => {
                let slot = self.handles.len();
                self.new_handle(Handle::Other);
                let n = self.u32()?;
                let mut names = Vec::new();
                for _ in 0..n {
                    names.push(self.utf()?);
                }
                self.skip_annotation(depth)?;
                let super_desc = self.class_desc(depth + 1)?;
                let desc = Rc::new(ClassDesc {
                    name: format!("proxy[{}]", names.join(",")),
                    flags: SC_SERIALIZABLE,
                    fields: Vec::new(),
                    super_desc,
                });
                self.handles[slot] = Handle::Class(desc.clone());
                Ok(Some(desc))
            }
            t => Err(format!("expected a class descriptor, found tag {t:#04x}")),
        }
    }

    /// Block data and objects up to TC_ENDBLOCKDATA (class and object annotations).
    fn skip_annotation(&mut self, depth: usize) -> R<()> {
        loop {
            match self.peek()? {
                TC_ENDBLOCKDATA => {
                    self.u8()?;
                    return Ok(());
                }
                TC_BLOCKDATA => {
                    self.u8()?;
                    let n = self.u8()? as usize;
                    self.take(n)?;
                }
                TC_BLOCKDATALONG => {
                    self.u8()?;
                    let n = self.u32()? as usize;
                    self.take(n)?;
                }
                _ => {
                    self.content(depth + 1)?;
                }
            }
        }
    }

    fn array(&mut self, depth: usize) -> R<Value> {
        let desc = self.class_desc(depth + 1)?.ok_or("array without a class")?;
        self.new_handle(Handle::Other);
        let n = self.u32()? as usize;
        let elem = desc.name.as_bytes().get(1).copied().unwrap_or(b'L');
        let size = prim_size(elem).unwrap_or(0);
        if size > 0 {
            let bytes = self.take(n.checked_mul(size).ok_or("array too large")?)?;
            return Ok(if elem == b'B' {
                Value::Bytes(bytes.to_vec())
            } else {
                Value::Other
            });
        }
        // Object elements take at least one byte each: bound the count by the input.
        if n > self.b.rest().len() {
            return Err("array longer than the data holding it".into());
        }
        let mut items = Vec::new();
        for _ in 0..n {
            items.push(self.content(depth + 1)?);
        }
        Ok(Value::Array(items))
    }

    fn object(&mut self, depth: usize) -> R<Value> {
        let desc = self
            .class_desc(depth + 1)?
            .ok_or("object without a class")?;
        self.new_handle(Handle::Other);
        // Class data is written from the top-most serializable superclass down.
        let mut chain = Vec::new();
        let mut cur = Some(desc.clone());
        while let Some(c) = cur {
            if chain.len() > MAX_DEPTH {
                return Err("class hierarchy too deep".into());
            }
            cur = c.super_desc.clone();
            chain.push(c);
        }
        let classes = chain.iter().map(|c| c.name.clone()).collect();
        let mut fields = Vec::new();
        for c in chain.iter().rev() {
            if c.flags & SC_EXTERNALIZABLE != 0 {
                if c.flags & SC_BLOCK_DATA == 0 {
                    return Err(format!("{} uses the old externalizable protocol", c.name));
                }
                self.skip_annotation(depth)?;
                continue;
            }
            if c.flags & SC_SERIALIZABLE == 0 {
                continue;
            }
            for f in &c.fields {
                let v = match prim_size(f.type_code) {
                    Some(n) => {
                        self.take(n)?;
                        Value::Other
                    }
                    None => self.content(depth + 1)?,
                };
                fields.push((f.name.clone(), v));
            }
            if c.flags & SC_WRITE_METHOD != 0 {
                self.skip_annotation(depth)?;
            }
        }
        Ok(Value::Object(Object {
            class: desc.name.clone(),
            classes,
            fields,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A serialized `javax.crypto.spec.SecretKeySpec("AES", 16 bytes)` as
    /// `ObjectOutputStream` writes it (fields: byte[] key, String algorithm).
    fn secret_key_spec() -> Vec<u8> {
        let mut v = MAGIC.to_vec();
        v.push(TC_OBJECT);
        v.push(TC_CLASSDESC);
        let name = b"javax.crypto.spec.SecretKeySpec";
        v.extend((name.len() as u16).to_be_bytes());
        v.extend(name);
        v.extend([0x5b, 0x47, 0x0b, 0x66, 0xe2, 0x30, 0x61, 0x4d]);
        v.push(SC_SERIALIZABLE);
        v.extend(2u16.to_be_bytes());
        v.push(b'[');
        v.extend(3u16.to_be_bytes());
        v.extend(b"key");
        v.push(TC_STRING);
        v.extend(2u16.to_be_bytes());
        v.extend(b"[B");
        v.push(b'L');
        v.extend(9u16.to_be_bytes());
        v.extend(b"algorithm");
        v.push(TC_STRING);
        v.extend(18u16.to_be_bytes());
        v.extend(b"Ljava/lang/String;");
        v.push(TC_ENDBLOCKDATA);
        v.push(TC_NULL);
        // values: key = new byte[16], algorithm = "AES"
        v.push(TC_ARRAY);
        v.push(TC_CLASSDESC);
        v.extend(2u16.to_be_bytes());
        v.extend(b"[B");
        v.extend([0xac, 0xf3, 0x17, 0xf8, 0x06, 0x08, 0x54, 0xe0]);
        v.push(SC_SERIALIZABLE);
        v.extend(0u16.to_be_bytes());
        v.push(TC_ENDBLOCKDATA);
        v.push(TC_NULL);
        v.extend(16u32.to_be_bytes());
        v.extend([7u8; 16]);
        v.push(TC_STRING);
        v.extend(3u16.to_be_bytes());
        v.extend(b"AES");
        v
    }

    #[test]
    fn reads_an_object_with_fields() {
        let data = secret_key_spec();
        let mut r = Reader::new(&data).unwrap();
        let Value::Object(o) = r.read_object().unwrap() else {
            panic!("not an object")
        };
        assert_eq!(o.class, "javax.crypto.spec.SecretKeySpec");
        assert_eq!(o.bytes("key"), Some(&[7u8; 16][..]));
        assert_eq!(o.string("algorithm"), Some("AES"));
        assert_eq!(r.position(), data.len());
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let data = secret_key_spec();
        for n in 0..data.len() {
            let res = Reader::new(&data[..n]).and_then(|mut r| r.read_object());
            assert!(res.is_err(), "prefix of {n} bytes parsed");
        }
    }

    #[test]
    fn huge_lengths_and_deep_nesting_are_refused() {
        let mut v = MAGIC.to_vec();
        v.extend([
            TC_ARRAY,
            TC_CLASSDESC,
            0,
            2,
            b'[',
            b'B',
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            SC_SERIALIZABLE,
            0,
            0,
        ]);
        v.extend([TC_ENDBLOCKDATA, TC_NULL, 0xff, 0xff, 0xff, 0xff]);
        assert!(Reader::new(&v).unwrap().read_object().is_err());
        // Arrays of arrays of arrays...: refused past the nesting limit.
        let mut deep = MAGIC.to_vec();
        let name = b"[Ljava.lang.Object;";
        deep.extend([TC_ARRAY, TC_CLASSDESC, 0, name.len() as u8]);
        deep.extend(name);
        deep.extend([
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            SC_SERIALIZABLE,
            0,
            0,
            TC_ENDBLOCKDATA,
            TC_NULL,
            0,
            0,
            0,
            1,
        ]);
        for _ in 0..100 {
            deep.extend([TC_ARRAY, TC_REFERENCE, 0x00, 0x7e, 0x00, 0x00, 0, 0, 0, 1]);
        }
        deep.push(TC_NULL);
        let err = Reader::new(&deep).unwrap().read_object().unwrap_err();
        assert!(err.contains("nested too deeply"), "{err}");
    }
}
