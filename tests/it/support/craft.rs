//! A raw ZIP writer for hostile-archive tests: it writes whatever it is told
//! (duplicate names, `..`, NUL bytes, local headers that disagree with the
//! central directory, lying sizes), which no real zip tool (nor the `zip`
//! crate's writer) will.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::Path;

#[derive(Clone, Debug)]
pub struct RawEntry {
    /// The name in the central directory.
    pub name: Vec<u8>,
    /// A different name for the local header, when set.
    pub lfh_name: Option<Vec<u8>>,
    /// The bytes as stored (already deflated for method 8).
    pub data: Vec<u8>,
    pub method: u16,
    pub crc32: u32,
    /// Declared uncompressed size (central directory and local header).
    pub size: u32,
    /// A different declared size for the local header only.
    pub lfh_size: Option<u32>,
    /// Unix mode (with file type bits); the entry is then "made on Unix".
    pub unix_mode: Option<u32>,
}

impl RawEntry {
    pub fn stored(name: &str, data: &[u8]) -> RawEntry {
        RawEntry::stored_raw(name.as_bytes(), data)
    }

    pub fn stored_raw(name: &[u8], data: &[u8]) -> RawEntry {
        RawEntry {
            name: name.to_vec(),
            lfh_name: None,
            data: data.to_vec(),
            method: 0,
            crc32: crc32fast::hash(data),
            size: data.len() as u32,
            lfh_size: None,
            unix_mode: Some(0o100644),
        }
    }

    pub fn deflated(name: &str, data: &[u8]) -> RawEntry {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(data).expect("deflate");
        RawEntry {
            data: e.finish().expect("deflate"),
            method: 8,
            ..RawEntry::stored(name, data)
        }
    }

    pub fn symlink(name: &str, target: &str) -> RawEntry {
        RawEntry {
            unix_mode: Some(0o120777),
            ..RawEntry::stored(name, target.as_bytes())
        }
    }
}

/// Every entry of an existing archive, raw (compressed bytes kept as they are).
pub fn entries_of(path: &Path) -> Vec<RawEntry> {
    let mut z = zip::ZipArchive::new(std::fs::File::open(path).expect("open")).expect("zip");
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index_raw(i).expect("entry");
            let mut data = Vec::new();
            f.read_to_end(&mut data).expect("read");
            RawEntry {
                name: f.name_raw().to_vec(),
                lfh_name: None,
                data,
                method: match f.compression() {
                    zip::CompressionMethod::Stored => 0,
                    _ => 8,
                },
                crc32: f.crc32(),
                size: f.size() as u32,
                lfh_size: None,
                unix_mode: f.unix_mode(),
            }
        })
        .collect()
}

/// Writes the entries as a ZIP, exactly as described.
pub fn write(entries: &[RawEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut cd = Vec::new();
    for e in entries {
        let off = out.len() as u32;
        let lname = e.lfh_name.as_ref().unwrap_or(&e.name);
        let lsize = e.lfh_size.unwrap_or(e.size);
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&20u16.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // flags
        out.extend_from_slice(&e.method.to_le_bytes());
        out.extend_from_slice(&[0, 0, 0x21, 0]); // 1980-01-01
        out.extend_from_slice(&e.crc32.to_le_bytes());
        out.extend_from_slice(&(e.data.len() as u32).to_le_bytes());
        out.extend_from_slice(&lsize.to_le_bytes());
        out.extend_from_slice(&(lname.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(lname);
        out.extend_from_slice(&e.data);

        let made_by: u16 = if e.unix_mode.is_some() { 0x031e } else { 20 };
        cd.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        cd.extend_from_slice(&made_by.to_le_bytes());
        cd.extend_from_slice(&20u16.to_le_bytes());
        cd.extend_from_slice(&0u16.to_le_bytes());
        cd.extend_from_slice(&e.method.to_le_bytes());
        cd.extend_from_slice(&[0, 0, 0x21, 0]);
        cd.extend_from_slice(&e.crc32.to_le_bytes());
        cd.extend_from_slice(&(e.data.len() as u32).to_le_bytes());
        cd.extend_from_slice(&e.size.to_le_bytes());
        cd.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
        cd.extend_from_slice(&[0; 8]); // extra, comment, disk, internal attributes
        cd.extend_from_slice(&(e.unix_mode.unwrap_or(0) << 16).to_le_bytes());
        cd.extend_from_slice(&off.to_le_bytes());
        cd.extend_from_slice(&e.name);
    }
    let cd_off = out.len() as u32;
    out.extend_from_slice(&cd);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    let n = entries.len() as u16;
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&(cd.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_off.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// Every file and folder under `dir`, relative, sorted.
pub fn tree(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| {
            e.path()
                .strip_prefix(dir)
                .expect("under dir")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    v.sort();
    v
}
