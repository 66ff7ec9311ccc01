//! The files of an app, wherever they live: the entries of an IPA read in
//! place (never extracted), or an `.app` folder on disk. Verification sees one
//! list of nodes (file, link, folder) and streams each file once; nothing here
//! knows about bundles or signatures.
//!
//! The IPA side reads through the archive audit (`crate::archive::audit`):
//! only an archive whose records agree is read, every read is positioned on
//! one shared `Source` (so workers on both cores read at once), and each entry
//! is inflated to exactly its declared size and CRC-32, or refused.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::android::apk::zip::Source;
use crate::archive::{self, Audit, Limits};
use crate::diag::Finding;

/// At most this many files in an `.app` folder.
const MAX_DIR_ENTRIES: usize = archive::MAX_ENTRIES as usize;
/// Compressed bytes read per positioned read.
const IO_CHUNK: usize = 256 << 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    File,
    Symlink,
    Dir,
}

/// One entry of the tree.
#[derive(Clone, Debug)]
pub struct Node {
    /// `/`-separated, relative to the tree's top, no trailing slash: for an IPA
    /// the entry name (`Payload/A.app/Info.plist`), for a folder the path below
    /// it (`Info.plist`).
    pub path: String,
    pub kind: Kind,
    /// Declared (IPA) or on-disk size in bytes.
    pub size: u64,
    /// Index into the audit entries (IPA) or the on-disk paths (folder).
    at: usize,
}

/// Why a node could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// This file's own problem (unreadable, over a limit): named, not fatal for the app.
    Entry(String),
    /// The archive's data contradict its directory: the whole app is refused.
    Damaged(Finding),
}

impl ReadError {
    /// The message, for callers that only report it.
    pub fn message(&self) -> String {
        match self {
            ReadError::Entry(m) => m.clone(),
            ReadError::Damaged(f) => f.message.clone(),
        }
    }
}

/// What a sink answers after each chunk: keep the bytes coming, or stop early
/// (the rest of the file is not needed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    More,
    Stop,
}

enum Backing {
    Ipa {
        src: Source,
        audit: Audit,
        /// Name of the file, for findings.
        file: String,
    },
    Dir {
        paths: Vec<PathBuf>,
    },
}

/// An IPA or an `.app` folder, listed once.
pub struct Tree {
    backing: Backing,
    nodes: Vec<Node>,
    /// Path -> position in `nodes`.
    index: HashMap<String, usize>,
    /// Where the main app is: `Payload/A.app` in an IPA, empty for a folder.
    pub app_root: String,
    /// The app folder's own name (`A.app`), for messages and subjects.
    pub app_name: String,
}

impl Tree {
    /// Lists an IPA after the archive audit (hostile archives are refused
    /// before anything is inflated).
    pub fn open_ipa(file: &str, src: Source, limits: &Limits) -> Result<Tree, Finding> {
        let audit = archive::audit(&src, limits).map_err(|p| p.finding(file))?;
        let root =
            crate::ios::bundle::payload_app_root(audit.entries.iter().map(|e| e.name.as_str()))
                .ok_or_else(|| {
                    Finding::unreadable(file, format!("{file} has no Payload/*.app: not an IPA"))
                })?;
        archive::check_links(&audit, Some(&root)).map_err(|p| p.finding(file))?;
        let nodes: Vec<Node> = audit
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| Node {
                path: e.name.trim_end_matches('/').to_string(),
                kind: if e.is_dir() {
                    Kind::Dir
                } else if e.is_symlink() {
                    Kind::Symlink
                } else {
                    Kind::File
                },
                size: e.size,
                at: i,
            })
            .collect();
        let app_name = root.rsplit('/').next().unwrap_or(&root).to_string();
        let index = index_of(&nodes);
        Ok(Tree {
            index,
            backing: Backing::Ipa {
                src,
                audit,
                file: file.to_string(),
            },
            nodes,
            app_root: root,
            app_name,
        })
    }

    /// Lists an `.app` folder (links are listed, never followed).
    pub fn open_dir(file: &str, dir: &Path) -> Result<Tree, Finding> {
        let unreadable = |m: String| Finding::unreadable(file, m);
        let mut nodes = Vec::new();
        let mut paths = Vec::new();
        for e in walkdir::WalkDir::new(dir)
            .follow_links(false)
            .sort_by_file_name()
            .min_depth(1)
        {
            let e = e.map_err(|e| unreadable(format!("cannot read {file}: {e}")))?;
            if paths.len() >= MAX_DIR_ENTRIES {
                return Err(unreadable(format!(
                    "{file} has more than {MAX_DIR_ENTRIES} files"
                )));
            }
            let Ok(rel) = e.path().strip_prefix(dir) else {
                continue;
            };
            let ft = e.file_type();
            let kind = if ft.is_dir() {
                Kind::Dir
            } else if ft.is_symlink() {
                Kind::Symlink
            } else if ft.is_file() {
                Kind::File
            } else {
                // Sockets, devices, pipes: nothing an app holds; not read.
                continue;
            };
            let size = if kind == Kind::File {
                e.metadata().map(|m| m.len()).unwrap_or(0)
            } else {
                0
            };
            nodes.push(Node {
                path: rel.to_string_lossy().replace('\\', "/"),
                kind,
                size,
                at: paths.len(),
            });
            paths.push(e.into_path());
        }
        let app_name = dir
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "App.app".into());
        let index = index_of(&nodes);
        Ok(Tree {
            index,
            backing: Backing::Dir { paths },
            nodes,
            app_root: String::new(),
            app_name,
        })
    }

    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Whether this is an IPA (archive) rather than a folder.
    pub fn is_archive(&self) -> bool {
        matches!(self.backing, Backing::Ipa { .. })
    }

    /// The node at `path` (relative to the tree's top), if any.
    pub fn find(&self, path: &str) -> Option<&Node> {
        self.index.get(path).and_then(|i| self.nodes.get(*i))
    }

    /// Streams a file's bytes to `sink`, in order, each byte once. For an IPA:
    /// inflated, and checked to be exactly the declared size with the declared
    /// CRC-32 (unless the sink stopped early).
    pub fn stream(
        &self,
        node: &Node,
        sink: &mut dyn FnMut(&[u8]) -> Flow,
    ) -> Result<(), ReadError> {
        match &self.backing {
            Backing::Dir { paths } => {
                let p = paths
                    .get(node.at)
                    .ok_or_else(|| ReadError::Entry(format!("{}: not listed", node.path)))?;
                let mut f = std::fs::File::open(p)
                    .map_err(|e| ReadError::Entry(format!("{}: {e}", node.path)))?;
                // Small files are the many: a buffer their size (a few KiB), not 256.
                let mut buf = vec![0u8; chunk_for(node.size)];
                loop {
                    let n = f
                        .read(&mut buf)
                        .map_err(|e| ReadError::Entry(format!("{}: {e}", node.path)))?;
                    if n == 0 {
                        return Ok(());
                    }
                    if sink(buf.get(..n).unwrap_or_default()) == Flow::Stop {
                        return Ok(());
                    }
                }
            }
            Backing::Ipa { src, audit, file } => {
                let e = audit
                    .entries
                    .get(node.at)
                    .ok_or_else(|| ReadError::Entry(format!("{}: not listed", node.path)))?;
                stream_entry(src, e, sink)
                    .map_err(|why| ReadError::Damaged(archive::entry_damaged(file, &e.name, why)))
            }
        }
    }

    /// Reads a whole (small) file, refusing one over `limit` bytes.
    pub fn read(&self, node: &Node, limit: u64) -> Result<Vec<u8>, ReadError> {
        if node.size > limit {
            return Err(ReadError::Entry(format!(
                "{} is {} bytes, over the {limit}-byte limit",
                node.path, node.size
            )));
        }
        let mut out = Vec::with_capacity(node.size as usize);
        let mut over = false;
        self.stream(node, &mut |b| {
            if out.len() as u64 + b.len() as u64 > limit {
                over = true;
                return Flow::Stop;
            }
            out.extend_from_slice(b);
            Flow::More
        })?;
        if over {
            return Err(ReadError::Entry(format!(
                "{} is over the {limit}-byte limit",
                node.path
            )));
        }
        Ok(out)
    }

    /// A symbolic link's target, as stored.
    pub fn link_target(&self, node: &Node) -> Result<String, ReadError> {
        match &self.backing {
            Backing::Dir { paths } => {
                let p = paths
                    .get(node.at)
                    .ok_or_else(|| ReadError::Entry(format!("{}: not listed", node.path)))?;
                let t = std::fs::read_link(p)
                    .map_err(|e| ReadError::Entry(format!("{}: {e}", node.path)))?;
                Ok(t.to_string_lossy().replace('\\', "/"))
            }
            Backing::Ipa { audit, .. } => audit
                .entries
                .get(node.at)
                .and_then(|e| e.link_target.clone())
                .ok_or_else(|| {
                    ReadError::Entry(format!("{}: the link target is unreadable", node.path))
                }),
        }
    }
}

/// A read buffer for a file of `size` bytes: room for all of it and one more
/// byte (to notice a longer stream), at most [`IO_CHUNK`].
fn chunk_for(size: u64) -> usize {
    usize::try_from(size.saturating_add(1))
        .unwrap_or(IO_CHUNK)
        .clamp(4096, IO_CHUNK)
}

fn index_of(nodes: &[Node]) -> HashMap<String, usize> {
    nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.path.clone(), i))
        .collect()
}

/// Inflates one audited entry to `sink` with positioned reads; the size and
/// CRC-32 must be the declared ones.
fn stream_entry(
    src: &Source,
    e: &archive::Entry,
    sink: &mut dyn FnMut(&[u8]) -> Flow,
) -> Result<(), String> {
    let mut crc = crc32fast::Hasher::new();
    let mut produced = 0u64;
    let end = e
        .data_offset
        .checked_add(e.compressed_size)
        .ok_or("its data runs past the end of the file")?;
    let mut offset = e.data_offset;
    let mut input = vec![0u8; IO_CHUNK.min(e.compressed_size.max(1) as usize)];
    let mut stopped = false;
    match e.method {
        0 => {
            if e.compressed_size != e.size {
                return Err("a stored entry whose sizes differ".into());
            }
            while offset < end && !stopped {
                let n = ((end - offset) as usize).min(input.len());
                let chunk = input.get_mut(..n).unwrap_or_default();
                src.read_exact_at(chunk, offset)
                    .map_err(|x| format!("read error: {x}"))?;
                offset += n as u64;
                produced += n as u64;
                crc.update(chunk);
                stopped = sink(chunk) == Flow::Stop;
            }
        }
        8 => {
            let mut inflater = flate2::Decompress::new(false);
            let mut out = vec![0u8; chunk_for(e.size)];
            let mut done = false;
            'feed: while offset < end && !done && !stopped {
                let n = ((end - offset) as usize).min(input.len());
                src.read_exact_at(input.get_mut(..n).unwrap_or_default(), offset)
                    .map_err(|x| format!("read error: {x}"))?;
                offset += n as u64;
                let mut chunk = input.get(..n).unwrap_or_default();
                loop {
                    let (bi, bo) = (inflater.total_in(), inflater.total_out());
                    let status = inflater
                        .decompress(chunk, &mut out, flate2::FlushDecompress::None)
                        .map_err(|x| format!("its compressed data are corrupt: {x}"))?;
                    let used = (inflater.total_in() - bi) as usize;
                    let made = (inflater.total_out() - bo) as usize;
                    chunk = chunk.get(used..).unwrap_or_default();
                    if made > 0 {
                        produced += made as u64;
                        if produced > e.size {
                            return Err(format!(
                                "it inflates to more than the declared {} bytes",
                                e.size
                            ));
                        }
                        let part = out.get(..made).unwrap_or_default();
                        crc.update(part);
                        if sink(part) == Flow::Stop {
                            stopped = true;
                            break 'feed;
                        }
                    }
                    if status == flate2::Status::StreamEnd {
                        done = true;
                        break;
                    }
                    if (chunk.is_empty() && made < out.len()) || (used == 0 && made == 0) {
                        break;
                    }
                }
            }
            if !done && !stopped {
                return Err("its compressed data end early".into());
            }
        }
        m => {
            return Err(format!(
                "it uses compression method {m}, which IPAs never do"
            ))
        }
    }
    if stopped {
        return Ok(());
    }
    if produced != e.size {
        return Err(format!(
            "{produced} bytes instead of the declared {}",
            e.size
        ));
    }
    if crc.finalize() != e.crc32 {
        return Err("its CRC-32 does not match".into());
    }
    Ok(())
}
