//! The files of an app, wherever they live: the entries of an IPA read in
//! place (never extracted), or an `.app` folder on disk. Verification sees one
//! list of nodes (file, link, folder) and streams each file once; nothing here
//! knows about bundles or signatures.
//!
//! The IPA side is an audited `crate::zip::Archive`: only an archive whose
//! records agree is read, every read is positioned on one shared source (so
//! workers on both cores read at once), and each entry is inflated to exactly
//! its declared size and CRC-32, or refused.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::diag::Finding;
use crate::zip::audit::entry_damaged;
use crate::zip::{Archive, Limits, Source};

/// At most this many files in an `.app` folder (as many as an archive may hold).
const MAX_DIR_ENTRIES: usize = crate::zip::audit::MAX_ENTRIES as usize;
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

/// What a sink answers after each chunk: keep the bytes coming, or stop early
/// (the rest of the file is not needed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    More,
    Stop,
}

enum Backing {
    Ipa {
        archive: Archive,
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
        let archive = Archive::open(src, limits).map_err(|p| p.finding(file))?;
        let root =
            crate::ios::bundle::payload_app_root(archive.entries().iter().map(|e| e.name.as_str()))
                .ok_or_else(|| {
                    Finding::unreadable(file, format!("{file} has no Payload/*.app: not an IPA"))
                })?;
        archive
            .check_links(Some(&root))
            .map_err(|p| p.finding(file))?;
        let nodes: Vec<Node> = archive
            .entries()
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
                archive,
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
            Backing::Ipa { archive, file } => {
                let e = archive
                    .entries()
                    .get(node.at)
                    .ok_or_else(|| ReadError::Entry(format!("{}: not listed", node.path)))?;
                let damaged =
                    |x: std::io::Error| ReadError::Damaged(entry_damaged(file, &e.name, x));
                // The reader enforces the declared size and checks the CRC-32
                // once the data end (not when the sink stops early).
                let mut r = archive.reader(e).map_err(damaged)?;
                let mut buf = vec![0u8; chunk_for(node.size)];
                loop {
                    let n = r.read(&mut buf).map_err(damaged)?;
                    if n == 0 {
                        return Ok(());
                    }
                    if sink(buf.get(..n).unwrap_or_default()) == Flow::Stop {
                        return Ok(());
                    }
                }
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
            Backing::Ipa { archive, .. } => archive
                .entries()
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
