//! Writing ZIPs: local headers, raw copies of existing entries (their
//! compressed bytes untouched), new stored or deflated entries, the central
//! directory and the end record, with Zip64 records when sizes, offsets or
//! the entry count need them.
//!
//! [`Writer`] is the whole-archive writer (IPA sign, device bundles, tests).
//! The APK signer lays entries out itself (apksig's order and alignment, then
//! a signing block before the directory) with the same pieces: [`Header`],
//! [`copy_range`], [`patch_end_record`] and [`Counting`].

use std::collections::HashSet;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

use super::audit::unsafe_name;
use super::read::{Archive, Entry};
use super::records::{
    DosTime, CD_SIG, DEFLATED, EOCD64_LOCATOR_SIG, EOCD64_SIG, EOCD_SIG, FLAG_UTF8, HOST_UNIX,
    LFH_HEADER, LFH_SIG, MAX16, MAX32, STORED, S_IFDIR, S_IFLNK, S_IFREG, ZIP64_EXTRA,
};
use super::Source;

const IO_CHUNK: usize = 256 << 10;
/// Files up to this size are compressed in memory (no seek back to patch the header).
const IN_MEMORY: u64 = 4 << 20;
const VERSION_DEFAULT: u16 = 20;
const VERSION_ZIP64: u16 = 45;
/// MS-DOS "directory" attribute, which Windows tools look at.
const DOS_DIR: u32 = 0x10;

/// A writer that counts what went through it (and shows it on a progress bar).
pub struct Counting<W: Write> {
    pub inner: W,
    pub pos: u64,
    pub progress: Option<indicatif::ProgressBar>,
}

impl<W: Write> Counting<W> {
    pub fn new(inner: W) -> Counting<W> {
        Counting {
            inner,
            pos: 0,
            progress: None,
        }
    }
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.pos += n as u64;
        if let Some(p) = &self.progress {
            p.inc(n as u64);
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Copies `len` bytes at `from` in `src` to `out`, through `buf`.
pub fn copy_range<W: Write>(
    src: &Source,
    from: u64,
    len: u64,
    out: &mut W,
    buf: &mut [u8],
) -> io::Result<()> {
    let mut off = 0;
    while off < len {
        let n = ((len - off) as usize).min(buf.len());
        src.read_exact_at(&mut buf[..n], from + off)?;
        out.write_all(&buf[..n])?;
        off += n as u64;
    }
    Ok(())
}

/// One entry's header fields, encoded as a local header and a central
/// directory record. Zip64 fields are added for sizes or an offset that do
/// not fit 32 bits (or always, with `zip64`).
#[derive(Clone, Debug, Default)]
pub struct Header {
    pub made_by: u16,
    pub version_needed: u16,
    pub flags: u16,
    pub method: u16,
    pub time: DosTime,
    pub crc32: u32,
    pub compressed_size: u64,
    pub size: u64,
    pub name: Vec<u8>,
    /// Extra fields (no Zip64 field: it is added here as needed).
    pub local_extra: Vec<u8>,
    pub central_extra: Vec<u8>,
    pub comment: Vec<u8>,
    pub internal_attrs: u16,
    pub external_attrs: u32,
    /// Where the local header starts.
    pub offset: u64,
    /// Zip64 fields even where 32 bits suffice.
    pub zip64: bool,
}

fn put16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_le_bytes());
}

fn put32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_le_bytes());
}

fn put64(v: &mut Vec<u8>, x: u64) {
    v.extend_from_slice(&x.to_le_bytes());
}

/// A 32-bit field, or the marker that sends readers to the Zip64 field.
fn field32(v: u64, zip64: bool) -> u32 {
    if zip64 || v >= MAX32 {
        MAX32 as u32
    } else {
        v as u32
    }
}

impl Header {
    /// Sizes in the local header need Zip64.
    pub fn local_zip64(&self) -> bool {
        self.zip64 || self.size >= MAX32 || self.compressed_size >= MAX32
    }

    /// The local file header (name and extra field included).
    pub fn local(&self) -> Vec<u8> {
        let z = self.local_zip64();
        let mut extra = Vec::new();
        if z {
            put16(&mut extra, ZIP64_EXTRA);
            put16(&mut extra, 16);
            put64(&mut extra, self.size);
            put64(&mut extra, self.compressed_size);
        }
        extra.extend_from_slice(&self.local_extra);
        let mut h = Vec::with_capacity(LFH_HEADER + self.name.len() + extra.len());
        put32(&mut h, LFH_SIG);
        put16(
            &mut h,
            if z {
                self.version_needed.max(VERSION_ZIP64)
            } else {
                self.version_needed
            },
        );
        put16(&mut h, self.flags);
        put16(&mut h, self.method);
        put16(&mut h, self.time.time);
        put16(&mut h, self.time.date);
        put32(&mut h, self.crc32);
        put32(&mut h, field32(self.compressed_size, z));
        put32(&mut h, field32(self.size, z));
        put16(&mut h, self.name.len() as u16);
        put16(&mut h, extra.len() as u16);
        h.extend_from_slice(&self.name);
        h.extend_from_slice(&extra);
        h
    }

    /// The central directory record.
    pub fn central(&self) -> Vec<u8> {
        let big = [
            self.zip64 || self.size >= MAX32,
            self.zip64 || self.compressed_size >= MAX32,
            self.zip64 || self.offset >= MAX32,
        ];
        let z = big.contains(&true);
        let mut extra = Vec::new();
        if z {
            let values = [self.size, self.compressed_size, self.offset];
            put16(&mut extra, ZIP64_EXTRA);
            put16(&mut extra, 8 * big.iter().filter(|b| **b).count() as u16);
            for (b, v) in big.iter().zip(values) {
                if *b {
                    put64(&mut extra, v);
                }
            }
        }
        extra.extend_from_slice(&self.central_extra);
        let mut c = Vec::with_capacity(46 + self.name.len() + extra.len() + self.comment.len());
        put32(&mut c, CD_SIG);
        put16(&mut c, self.made_by);
        put16(
            &mut c,
            if z {
                self.version_needed.max(VERSION_ZIP64)
            } else {
                self.version_needed
            },
        );
        put16(&mut c, self.flags);
        put16(&mut c, self.method);
        put16(&mut c, self.time.time);
        put16(&mut c, self.time.date);
        put32(&mut c, self.crc32);
        put32(&mut c, field32(self.compressed_size, big[1]));
        put32(&mut c, field32(self.size, big[0]));
        put16(&mut c, self.name.len() as u16);
        put16(&mut c, extra.len() as u16);
        put16(&mut c, self.comment.len() as u16);
        put16(&mut c, 0); // disk
        put16(&mut c, self.internal_attrs);
        put32(&mut c, self.external_attrs);
        put32(&mut c, field32(self.offset, big[2]));
        c.extend_from_slice(&self.name);
        c.extend_from_slice(&extra);
        c.extend_from_slice(&self.comment);
        c
    }
}

/// When the archive gets Zip64 end records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Zip64 {
    /// When the entry count, the directory's size or offset need it.
    WhenNeeded,
    /// Never: an archive that would need it is an error (APKs).
    Never,
    /// Always, with every 32-bit field saturated (tests of the Zip64 paths).
    Always,
}

/// The end of an archive whose central directory (`cd_size` bytes at
/// `cd_offset`) holds `count` records: the Zip64 end record and locator when
/// needed, then the End of Central Directory record with `comment`.
pub fn end_records(
    count: u64,
    cd_size: u64,
    cd_offset: u64,
    comment: &[u8],
    zip64: Zip64,
) -> io::Result<Vec<u8>> {
    let needed = count >= MAX16 || cd_size >= MAX32 || cd_offset >= MAX32;
    let z = match zip64 {
        Zip64::Never if needed => {
            return Err(io::Error::other(format!(
                "{count} entries or {} bytes need Zip64, which this archive may not use",
                cd_offset.saturating_add(cd_size)
            )))
        }
        Zip64::Never => false,
        Zip64::WhenNeeded => needed,
        Zip64::Always => true,
    };
    let all = zip64 == Zip64::Always;
    let mut e = Vec::with_capacity(22 + 76 + comment.len());
    if z {
        let at = cd_offset + cd_size;
        put32(&mut e, EOCD64_SIG);
        put64(&mut e, 44);
        put16(&mut e, (u16::from(HOST_UNIX) << 8) | VERSION_ZIP64);
        put16(&mut e, VERSION_ZIP64);
        put32(&mut e, 0);
        put32(&mut e, 0);
        put64(&mut e, count);
        put64(&mut e, count);
        put64(&mut e, cd_size);
        put64(&mut e, cd_offset);
        put32(&mut e, EOCD64_LOCATOR_SIG);
        put32(&mut e, 0);
        put64(&mut e, at);
        put32(&mut e, 1);
    }
    let count16 = if all || count >= MAX16 {
        MAX16 as u16
    } else {
        count as u16
    };
    put32(&mut e, EOCD_SIG);
    put16(&mut e, 0);
    put16(&mut e, 0);
    put16(&mut e, count16);
    put16(&mut e, count16);
    put32(&mut e, field32(cd_size, all));
    put32(&mut e, field32(cd_offset, all));
    let comment = comment.get(..0xffff).unwrap_or(comment);
    put16(&mut e, comment.len() as u16);
    e.extend_from_slice(comment);
    Ok(e)
}

/// An existing End of Central Directory record (comment included) with its
/// entry count, directory size and offset replaced, as apksig writes it. No
/// Zip64: an APK cannot use it.
pub fn patch_end_record(
    template: &[u8],
    count: u64,
    cd_size: u64,
    cd_offset: u64,
) -> io::Result<Vec<u8>> {
    if count > MAX16 || cd_size > MAX32 || cd_offset > MAX32 {
        return Err(io::Error::other(format!(
            "{count} entries or {} bytes need ZIP64, which APKs cannot use",
            cd_offset.saturating_add(cd_size)
        )));
    }
    let mut e = template.to_vec();
    if e.len() < 22 {
        return Err(io::Error::other(
            "End of Central Directory record too short",
        ));
    }
    e[8..10].copy_from_slice(&(count as u16).to_le_bytes());
    e[10..12].copy_from_slice(&(count as u16).to_le_bytes());
    e[12..16].copy_from_slice(&(cd_size as u32).to_le_bytes());
    e[16..20].copy_from_slice(&(cd_offset as u32).to_le_bytes());
    Ok(e)
}

/// How a new entry is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// As is: the entry's bytes are the file's bytes.
    Stored,
    /// Deflated at this level (0-9; 6 is zlib's default).
    Deflated(u32),
}

/// A new entry's metadata.
#[derive(Clone, Debug)]
pub struct Options {
    pub method: Method,
    pub time: DosTime,
    /// Permission bits (the file type is set by the kind of entry).
    pub permissions: u32,
}

impl Options {
    /// Stored, 0644, dated 1980-01-01 (reproducible; set a time with [`Options::time`]).
    pub fn stored() -> Options {
        Options {
            method: Method::Stored,
            time: DosTime::EPOCH,
            permissions: 0o644,
        }
    }

    /// Deflated at zlib's default level, otherwise as [`Options::stored`].
    pub fn deflated() -> Options {
        Options {
            method: Method::Deflated(6),
            ..Options::stored()
        }
    }

    pub fn time(mut self, t: DosTime) -> Options {
        self.time = t;
        self
    }

    pub fn permissions(mut self, mode: u32) -> Options {
        self.permissions = mode & 0o7777;
        self
    }
}

/// Writes a whole archive: entries in the order given, then the central
/// directory and end record on [`Writer::finish`]. Names are checked as every
/// reader checks them (no `..`, absolute paths, backslashes, duplicates), so
/// what it writes, wrapsign reads back.
pub struct Writer<W: Write> {
    out: Counting<W>,
    central: Vec<u8>,
    count: u64,
    names: HashSet<Vec<u8>>,
    zip64: Zip64,
    buf: Vec<u8>,
}

impl<W: Write> Writer<W> {
    pub fn new(out: W) -> Writer<W> {
        Writer {
            out: Counting::new(out),
            central: Vec::new(),
            count: 0,
            names: HashSet::new(),
            zip64: Zip64::WhenNeeded,
            buf: Vec::new(),
        }
    }

    /// When to write Zip64 records (by default, when needed).
    pub fn zip64(mut self, z: Zip64) -> Writer<W> {
        self.zip64 = z;
        self
    }

    /// Counts the bytes written on `bar`.
    pub fn progress(mut self, bar: indicatif::ProgressBar) -> Writer<W> {
        self.out.progress = Some(bar);
        self
    }

    /// Bytes written so far.
    pub fn position(&self) -> u64 {
        self.out.pos
    }

    fn claim(&mut self, name: &[u8]) -> io::Result<()> {
        if let Some(why) = unsafe_name(name) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "the entry \"{}\" {why}; refusing to write it",
                    String::from_utf8_lossy(name).escape_debug()
                ),
            ));
        }
        if !self
            .names
            .insert(name.strip_suffix(b"/").unwrap_or(name).to_vec())
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "the entry \"{}\" is already in the archive",
                    String::from_utf8_lossy(name).escape_debug()
                ),
            ));
        }
        if self.zip64 == Zip64::Never && self.out.pos >= MAX32 {
            return Err(io::Error::other("the archive would need Zip64"));
        }
        Ok(())
    }

    fn header(&self, name: &str, kind: u32, opts: &Options, method: u16) -> Header {
        let mode = kind | (opts.permissions & 0o7777);
        Header {
            made_by: (u16::from(HOST_UNIX) << 8) | VERSION_DEFAULT,
            version_needed: VERSION_DEFAULT,
            flags: if name.is_ascii() { 0 } else { FLAG_UTF8 },
            method,
            time: opts.time,
            name: name.as_bytes().to_vec(),
            external_attrs: (mode << 16) | if kind == S_IFDIR { DOS_DIR } else { 0 },
            offset: self.out.pos,
            zip64: self.zip64 == Zip64::Always,
            ..Header::default()
        }
    }

    fn push(&mut self, h: &Header) {
        self.central.extend_from_slice(&h.central());
        self.count += 1;
    }

    /// A file whose data are in memory.
    pub fn add_bytes(&mut self, name: &str, data: &[u8], opts: &Options) -> io::Result<()> {
        self.add_kind(name, data, S_IFREG, opts)
    }

    fn add_kind(&mut self, name: &str, data: &[u8], kind: u32, opts: &Options) -> io::Result<()> {
        self.claim(name.as_bytes())?;
        let (method, body) = match opts.method {
            Method::Stored => (STORED, std::borrow::Cow::Borrowed(data)),
            Method::Deflated(level) => {
                let mut e = flate2::write::DeflateEncoder::new(
                    Vec::with_capacity(data.len() / 2),
                    flate2::Compression::new(level),
                );
                e.write_all(data)?;
                (DEFLATED, std::borrow::Cow::Owned(e.finish()?))
            }
        };
        let mut h = self.header(name, kind, opts, method);
        h.crc32 = crc32fast::hash(data);
        h.size = data.len() as u64;
        h.compressed_size = body.len() as u64;
        self.out.write_all(&h.local())?;
        self.out.write_all(&body)?;
        self.push(&h);
        Ok(())
    }

    /// A folder (`/` is appended to the name if missing).
    pub fn add_dir(&mut self, name: &str, opts: &Options) -> io::Result<()> {
        let name = if name.ends_with('/') {
            name.to_string()
        } else {
            format!("{name}/")
        };
        let opts = Options {
            method: Method::Stored,
            ..opts.clone()
        };
        self.add_kind(&name, &[], S_IFDIR, &opts)
    }

    /// A symbolic link to `target` (stored, as every tool writes links).
    pub fn add_symlink(&mut self, name: &str, target: &str, opts: &Options) -> io::Result<()> {
        let opts = Options {
            method: Method::Stored,
            ..opts.clone()
        };
        self.add_kind(name, target.as_bytes(), S_IFLNK, &opts)
    }

    /// Copies an entry of an audited archive as it is: local header, the
    /// compressed data and any data descriptor, byte for byte; its central
    /// record keeps every field but the offset.
    pub fn copy_entry(&mut self, from: &Archive, e: &Entry) -> io::Result<()> {
        self.claim(&e.raw_name)?;
        let h = Header {
            made_by: e.made_by,
            version_needed: e.version_needed,
            flags: e.flags,
            method: e.method,
            time: e.time,
            crc32: e.crc32,
            compressed_size: e.compressed_size,
            size: e.size,
            name: e.raw_name.clone(),
            local_extra: Vec::new(),
            central_extra: e.central_extra.clone(),
            comment: e.comment.clone(),
            internal_attrs: e.internal_attrs,
            external_attrs: e.external_attrs,
            offset: self.out.pos,
            zip64: self.zip64 == Zip64::Always,
        };
        if self.buf.is_empty() {
            self.buf = vec![0u8; IO_CHUNK];
        }
        copy_range(
            from.source(),
            e.lfh_offset,
            e.record_end - e.lfh_offset,
            &mut self.out,
            &mut self.buf,
        )?;
        self.push(&h);
        Ok(())
    }

    /// Writes the central directory and the end record; returns the output.
    pub fn finish(self) -> io::Result<W> {
        self.finish_with_comment(&[])
    }

    pub fn finish_with_comment(mut self, comment: &[u8]) -> io::Result<W> {
        let cd_offset = self.out.pos;
        let central = std::mem::take(&mut self.central);
        self.out.write_all(&central)?;
        let end = end_records(
            self.count,
            central.len() as u64,
            cd_offset,
            comment,
            self.zip64,
        )?;
        self.out.write_all(&end)?;
        self.out.flush()?;
        Ok(self.out.inner)
    }
}

impl<W: Write + Seek> Writer<W> {
    /// A file read from `data` to its end, streamed (bounded memory): the
    /// local header is written first and its CRC and sizes filled in after.
    /// `size_hint` (the length, when known) decides whether the local header
    /// needs Zip64 sizes; data past 4 GiB without it are an error.
    pub fn add_reader(
        &mut self,
        name: &str,
        mut data: impl Read,
        size_hint: Option<u64>,
        opts: &Options,
    ) -> io::Result<()> {
        self.claim(name.as_bytes())?;
        let method = match opts.method {
            Method::Stored => STORED,
            Method::Deflated(_) => DEFLATED,
        };
        let mut h = self.header(name, S_IFREG, opts, method);
        // Deflate can grow incompressible data a little: leave a margin.
        let large = size_hint.is_some_and(|s| s.saturating_add(s / 256 + 1024) >= MAX32);
        if large {
            // Room for Zip64 sizes in the local header, filled in below.
            h.zip64 = true;
        }
        let local = h.local();
        self.out.write_all(&local)?;
        let data_start = self.out.pos;
        let mut crc = crc32fast::Hasher::new();
        let mut size = 0u64;
        let mut buf = vec![0u8; IO_CHUNK];
        match opts.method {
            Method::Stored => pump(&mut data, &mut self.out, &mut buf, &mut crc, &mut size)?,
            Method::Deflated(level) => {
                let mut enc = flate2::write::DeflateEncoder::new(
                    &mut self.out,
                    flate2::Compression::new(level),
                );
                pump(&mut data, &mut enc, &mut buf, &mut crc, &mut size)?;
                enc.finish()?;
            }
        }
        let end = self.out.pos;
        h.crc32 = crc.finalize();
        h.size = size;
        h.compressed_size = end - data_start;
        if !large && (h.size >= MAX32 || h.compressed_size >= MAX32) {
            return Err(io::Error::other(format!(
                "{name} is over 4 GiB but was announced smaller; it cannot be written without Zip64 sizes"
            )));
        }
        let patched = h.local();
        if patched.len() != local.len() {
            return Err(io::Error::other("the local header changed size"));
        }
        self.out.inner.seek(SeekFrom::Start(h.offset))?;
        self.out.inner.write_all(&patched)?;
        self.out.inner.seek(SeekFrom::Start(end))?;
        self.push(&h);
        Ok(())
    }

    /// A file from disk: small ones through memory, large ones streamed.
    pub fn add_file(&mut self, name: &str, path: &Path, opts: &Options) -> io::Result<()> {
        let f = std::fs::File::open(path)?;
        let len = f.metadata()?.len();
        if len <= IN_MEMORY {
            let mut data = Vec::with_capacity(len as usize);
            f.take(IN_MEMORY + 1).read_to_end(&mut data)?;
            if data.len() as u64 <= IN_MEMORY {
                return self.add_bytes(name, &data, opts);
            }
            return self.add_reader(name, std::io::Cursor::new(data), Some(len), opts);
        }
        self.add_reader(name, f, Some(len), opts)
    }
}

/// Copies `data` to its end into `sink`, hashing and counting it.
fn pump(
    data: &mut impl Read,
    sink: &mut impl Write,
    buf: &mut [u8],
    crc: &mut crc32fast::Hasher,
    size: &mut u64,
) -> io::Result<()> {
    loop {
        let n = match data.read(buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        crc.update(&buf[..n]);
        *size += n as u64;
        sink.write_all(&buf[..n])?;
    }
}

/// A minimal ZIP of stored entries written exactly as told (no name checks:
/// tests and the fuzzers build hostile archives with it).
#[doc(hidden)]
pub fn stored_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut cd = Vec::new();
    for (name, data) in entries {
        let h = Header {
            made_by: VERSION_DEFAULT,
            version_needed: VERSION_DEFAULT,
            time: DosTime::EPOCH,
            crc32: crc32fast::hash(data),
            compressed_size: data.len() as u64,
            size: data.len() as u64,
            name: name.as_bytes().to_vec(),
            offset: out.len() as u64,
            ..Header::default()
        };
        out.extend_from_slice(&h.local());
        out.extend_from_slice(data);
        cd.extend_from_slice(&h.central());
    }
    let cd_off = out.len() as u64;
    out.extend_from_slice(&cd);
    out.extend(
        end_records(
            entries.len() as u64,
            cd.len() as u64,
            cd_off,
            &[],
            Zip64::Never,
        )
        .unwrap_or_default(),
    );
    out
}
