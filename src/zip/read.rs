//! Reading an audited archive: [`Archive::open`] runs the audit before any
//! entry can be read; [`Archive::reader`] streams one entry's data, inflating
//! it, with positioned reads on the shared [`Source`]. There is no cursor, so
//! any number of threads can read entries of one archive at once, each with
//! its own 64 KiB buffer and inflater: memory stays bounded whatever the
//! archive's size. A reader refuses data that inflate to more or less than the
//! declared size, or whose CRC-32 differs, as an `InvalidData` error carrying
//! a [`DataError`].

use std::collections::HashMap;
use std::io::{self, Read};
use std::path::Path;

pub use super::audit::Entry;
use super::audit::{self, Limits, Problem};
use super::records::{DEFLATED, FLAG_ENCRYPTED, STORED};
use super::Source;
use crate::diag::Finding;

const IO_CHUNK: usize = 64 << 10;

/// An archive that passed the audit; the only way to read an entry's data
/// (outside the APK reader, which has Android's own rules).
#[derive(Debug)]
pub struct Archive {
    src: Source,
    entries: Vec<Entry>,
    expanded: u64,
    cd_offset: u64,
    by_name: HashMap<String, usize>,
}

impl Archive {
    /// Audits `src` (see [`audit`]) and keeps what it learnt.
    pub fn open(src: Source, limits: &Limits) -> Result<Archive, Problem> {
        let a = audit::audit(&src, limits)?;
        let by_name = a
            .entries
            .iter()
            .map(|e| (e.name.clone(), e.index))
            .collect();
        Ok(Archive {
            src,
            entries: a.entries,
            expanded: a.expanded,
            cd_offset: a.cd_offset,
            by_name,
        })
    }

    /// Opens and audits the archive at `path`; errors are findings naming it.
    pub fn open_path(path: &Path, limits: &Limits) -> Result<Archive, Finding> {
        let file = path.display().to_string();
        let src = Source::open(path)
            .map_err(|e| Finding::unreadable(&file, format!("cannot read {file}: {e}")))?;
        Archive::open(src, limits).map_err(|p| p.finding(&file))
    }

    /// In central directory order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entry named `name` exactly (folders end with `/`).
    pub fn entry(&self, name: &str) -> Option<&Entry> {
        self.by_name.get(name).and_then(|&i| self.entries.get(i))
    }

    /// Sum of the declared uncompressed sizes.
    pub fn expanded(&self) -> u64 {
        self.expanded
    }

    /// Where the central directory starts (and the entries end).
    pub fn cd_offset(&self) -> u64 {
        self.cd_offset
    }

    pub fn source(&self) -> &Source {
        &self.src
    }

    /// Symbolic links must stay inside the archive, and inside `within` for
    /// links under it (see [`audit::check_links`]).
    pub fn check_links(&self, within: Option<&str>) -> Result<(), Problem> {
        audit::check_links(&self.entries, within)
    }

    /// Streams `e`'s uncompressed data. Fails at once for an encryption or a
    /// compression method other than stored and deflate.
    pub fn reader<'a>(&'a self, e: &Entry) -> io::Result<EntryReader<'a>> {
        if e.flags & FLAG_ENCRYPTED != 0 {
            return Err(DataError::Encrypted.into());
        }
        let compressed = match e.method {
            STORED => false,
            DEFLATED => true,
            m => return Err(DataError::Method(m).into()),
        };
        Ok(EntryReader::new(
            &self.src,
            e.data_offset,
            e.compressed_size,
            compressed,
            e.size,
            Some(e.crc32),
        ))
    }

    /// `e`'s whole data, when it declares at most `limit` bytes.
    pub fn read(&self, e: &Entry, limit: u64) -> io::Result<Vec<u8>> {
        if e.size > limit {
            return Err(io::Error::other(format!(
                "{} expands to {} bytes, over the {limit}-byte limit",
                e.name, e.size
            )));
        }
        let mut v = Vec::with_capacity(e.size as usize);
        self.reader(e)?.read_to_end(&mut v)?;
        Ok(v)
    }
}

/// Why an entry's data are not what its record declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataError {
    /// The deflate stream is damaged.
    Corrupt(String),
    /// More data than declared (stopped at the first byte past it).
    TooLong {
        declared: u64,
    },
    /// The data ended early.
    TooShort {
        declared: u64,
        read: u64,
    },
    Crc {
        declared: u32,
        actual: u32,
    },
    Method(u16),
    Encrypted,
}

impl std::fmt::Display for DataError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DataError::Corrupt(e) => write!(f, "compressed data is corrupt: {e}"),
            DataError::TooLong { declared } => {
                write!(f, "more than the declared {declared} bytes")
            }
            DataError::TooShort { declared, read } => {
                write!(f, "{read} bytes instead of the declared {declared}")
            }
            DataError::Crc { declared, actual } => write!(
                f,
                "CRC-32 {actual:08x} instead of the declared {declared:08x}"
            ),
            DataError::Method(m) => write!(f, "unsupported compression method {m}"),
            DataError::Encrypted => f.write_str("the entry is encrypted"),
        }
    }
}

impl std::error::Error for DataError {}

impl From<DataError> for io::Error {
    fn from(e: DataError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }
}

impl DataError {
    /// The data error inside an I/O error, if it is one.
    pub fn of(e: &io::Error) -> Option<&DataError> {
        e.get_ref().and_then(|x| x.downcast_ref::<DataError>())
    }
}

/// The uncompressed data of one entry, read from its own offset (never a
/// shared cursor). Declared size enforced; CRC-32 checked at the end when
/// one is given.
pub struct EntryReader<'a> {
    src: &'a Source,
    /// Next compressed byte to read, and the end of the compressed data.
    pos: u64,
    end: u64,
    inflate: Option<Box<Inflate>>,
    declared: u64,
    produced: u64,
    crc: Option<(crc32fast::Hasher, u32)>,
    done: bool,
}

struct Inflate {
    d: flate2::Decompress,
    buf: Vec<u8>,
    start: usize,
    filled: usize,
    ended: bool,
}

impl<'a> EntryReader<'a> {
    /// `len` bytes of data at `offset`, deflated or stored, that must give
    /// `declared` bytes (and `crc32`, when given).
    pub fn new(
        src: &'a Source,
        offset: u64,
        len: u64,
        compressed: bool,
        declared: u64,
        crc32: Option<u32>,
    ) -> EntryReader<'a> {
        let inflate = compressed.then(|| {
            Box::new(Inflate {
                d: flate2::Decompress::new(false),
                buf: vec![0u8; IO_CHUNK.min(len.max(1) as usize)],
                start: 0,
                filled: 0,
                ended: false,
            })
        });
        EntryReader {
            src,
            pos: offset,
            end: offset.saturating_add(len),
            inflate,
            declared,
            produced: 0,
            crc: crc32.map(|c| (crc32fast::Hasher::new(), c)),
            done: false,
        }
    }

    fn finish(&mut self) -> io::Result<usize> {
        self.done = true;
        if self.produced != self.declared {
            return Err(DataError::TooShort {
                declared: self.declared,
                read: self.produced,
            }
            .into());
        }
        if let Some((h, declared)) = self.crc.take() {
            let actual = h.finalize();
            if actual != declared {
                return Err(DataError::Crc { declared, actual }.into());
            }
        }
        Ok(0)
    }

    fn produce(&mut self, out: &[u8]) -> io::Result<usize> {
        self.produced += out.len() as u64;
        if self.produced > self.declared {
            self.done = true;
            return Err(DataError::TooLong {
                declared: self.declared,
            }
            .into());
        }
        if let Some((h, _)) = &mut self.crc {
            h.update(out);
        }
        Ok(out.len())
    }
}

impl Read for EntryReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.done || out.is_empty() {
            return Ok(0);
        }
        let Some(inf) = self.inflate.as_mut() else {
            // Stored: the data are the bytes.
            let n = (self.end - self.pos).min(out.len() as u64) as usize;
            if n == 0 {
                return self.finish();
            }
            self.src.read_exact_at(&mut out[..n], self.pos)?;
            self.pos += n as u64;
            return self.produce(&out[..n]);
        };
        loop {
            if inf.ended {
                return self.finish();
            }
            if inf.start == inf.filled && self.pos < self.end {
                let n = (self.end - self.pos).min(inf.buf.len() as u64) as usize;
                self.src.read_exact_at(&mut inf.buf[..n], self.pos)?;
                self.pos += n as u64;
                inf.start = 0;
                inf.filled = n;
            }
            // With the compressed bytes all used, calls only drain what the
            // inflater still holds.
            let input = &inf.buf[inf.start..inf.filled];
            let exhausted = input.is_empty();
            let (before_in, before_out) = (inf.d.total_in(), inf.d.total_out());
            let status = inf
                .d
                .decompress(input, out, flate2::FlushDecompress::None)
                .map_err(|e| io::Error::from(DataError::Corrupt(e.to_string())))?;
            let used = (inf.d.total_in() - before_in) as usize;
            let made = (inf.d.total_out() - before_out) as usize;
            inf.start += used;
            if status == flate2::Status::StreamEnd {
                inf.ended = true;
            }
            if made > 0 {
                return self.produce(&out[..made]);
            }
            if exhausted {
                // The compressed bytes ran out (Android tolerates a stream
                // without its end marker when the size is right).
                return self.finish();
            }
            if used == 0 && !inf.ended {
                // No progress with input left and room to write: a damaged stream.
                return Err(
                    DataError::Corrupt("the deflate stream makes no progress".into()).into(),
                );
            }
        }
    }
}
