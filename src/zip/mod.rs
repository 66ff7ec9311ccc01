//! One ZIP layer for every archive wrapsign reads or writes: APKs (verify and
//! sign), IPAs (verify, sign's extraction and re-zipping) and device bundles.
//!
//! - [`records`]: the structures on disk (end records with Zip64, central
//!   directory records, local headers, data descriptors), parsed in one place.
//! - [`audit`]: what a hostile or damaged archive is refused for (zip slip,
//!   duplicates, links out, bombs, contradictions, truncation), before
//!   anything is inflated.
//! - [`read`]: [`Archive`], an audited archive whose entries are read with
//!   positioned reads on one shared [`Source`] (no cursor), so entries inflate
//!   in parallel with bounded memory; declared sizes and CRC-32 are enforced.
//! - [`android`]: the same records read with Android's (apksig's) tolerance
//!   and error wording, for APKs; it shares the audit's name and size checks.
//! - [`write`]: local headers, raw copies of existing entries, new stored or
//!   deflated entries, the central directory and the end record (Zip64 when
//!   needed).
//!
//! Nothing here knows about apps or signatures; the layers above decide what
//! an entry means.

pub mod android;
pub mod audit;
pub mod read;
pub mod records;
pub mod write;

use std::fs::File;
use std::io;
use std::path::Path;

pub use audit::{parse_size, Limits, Problem};
pub use read::{Archive, Entry, EntryReader};
pub use records::DosTime;
pub use write::{Method, Options, Writer};

/// The entry names of the ZIP at `path`, from its central directory alone
/// (to tell an IPA from an APK or a device bundle); `None` when it has no
/// readable directory. Reading content always goes through the audit.
pub fn names(path: &Path) -> Option<Vec<String>> {
    names_of(&Source::open(path).ok()?)
}

/// [`names`] of an opened file.
pub fn names_of(src: &Source) -> Option<Vec<String>> {
    records::list_names(src)
}

/// Largest structure (central directory, signing block, metadata entry) the
/// APK reader reads into memory. Real APKs stay far below (a 50 000-entry
/// directory is about 4 MiB).
pub const MAX_IN_MEMORY: u64 = 64 << 20;

/// Why the APK reader could not read a ZIP structure.
#[derive(Debug)]
pub enum ZipError {
    /// Not a ZIP archive at all (no End of Central Directory record).
    NotZip(String),
    /// A ZIP whose structures contradict each other or the file.
    Malformed(String),
    Io(io::Error),
}

impl std::fmt::Display for ZipError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ZipError::NotZip(m) | ZipError::Malformed(m) => f.write_str(m),
            ZipError::Io(e) => write!(f, "read error: {e}"),
        }
    }
}

impl std::error::Error for ZipError {}

impl From<io::Error> for ZipError {
    fn from(e: io::Error) -> Self {
        ZipError::Io(e)
    }
}

/// Little-endian fields; out-of-range reads give 0 (callers check lengths first).
pub fn le16(b: &[u8], at: usize) -> u16 {
    b.get(at..at + 2)
        .map_or(0, |s| u16::from_le_bytes([s[0], s[1]]))
}

pub fn le32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

pub fn le64(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8).map_or(0, |s| {
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        u64::from_le_bytes(a)
    })
}

/// A file read with positioned reads (shareable across threads: there is no
/// cursor), or bytes already in memory (tests and the fuzzers).
pub struct Source {
    inner: Inner,
    len: u64,
}

enum Inner {
    File(File),
    Bytes(Vec<u8>),
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.inner {
            Inner::File(_) => "file",
            Inner::Bytes(_) => "bytes",
        };
        write!(f, "Source({kind}, {} bytes)", self.len)
    }
}

impl Source {
    pub fn open(path: &Path) -> io::Result<Source> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        Ok(Source {
            inner: Inner::File(file),
            len,
        })
    }

    /// An archive held in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> Source {
        Source {
            len: bytes.len() as u64,
            inner: Inner::Bytes(bytes),
        }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Fills `buf` from `offset`; reading past the end is an error.
    pub fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        if offset
            .checked_add(buf.len() as u64)
            .is_none_or(|end| end > self.len)
        {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "read past the end of the file",
            ));
        }
        let file = match &self.inner {
            Inner::Bytes(b) => {
                let start = offset as usize;
                let src = b
                    .get(start..start + buf.len())
                    .ok_or(io::ErrorKind::UnexpectedEof)?;
                buf.copy_from_slice(src);
                return Ok(());
            }
            Inner::File(f) => f,
        };
        #[cfg(unix)]
        {
            std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
        }
        #[cfg(windows)]
        {
            let mut done = 0;
            while done < buf.len() {
                let n = std::os::windows::fs::FileExt::seek_read(
                    file,
                    &mut buf[done..],
                    offset + done as u64,
                )?;
                if n == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                done += n;
            }
            Ok(())
        }
    }

    /// Reads `len` bytes at `offset` into a new buffer, refusing sizes above
    /// [`MAX_IN_MEMORY`].
    pub fn read_vec(&self, offset: u64, len: u64) -> Result<Vec<u8>, ZipError> {
        if len > MAX_IN_MEMORY {
            return Err(ZipError::Malformed(format!(
                "refusing to read {len} bytes into memory"
            )));
        }
        // A lying length must not cost memory: check it against the file first.
        if offset.checked_add(len).is_none_or(|end| end > self.len) {
            return Err(ZipError::Io(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "read past the end of the file",
            )));
        }
        let mut v = vec![0u8; len as usize];
        self.read_exact_at(&mut v, offset)?;
        Ok(v)
    }
}

#[cfg(test)]
mod tests;
