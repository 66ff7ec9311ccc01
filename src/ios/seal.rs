//! The resource seal of a bundle, `_CodeSignature/CodeResources`: which files
//! the bundle's signature covers besides its executable, with their digests,
//! and the rules that say which files must be sealed.
//!
//! Apple's rules, as its verifier applies them (and as apple-codesign writes
//! them): `files2`/`rules2` (SHA-256 `hash2`, symlinks, nested code by
//! `cdhash`) when both are present, else the old `files`/`rules` (SHA-1).
//! Each path relative to the bundle takes the matching rule of highest weight
//! (patterns are unanchored regular expressions); `omit` rules leave a file
//! unsealed, `optional` ones let a sealed file be missing, `nested` ones seal a
//! nested bundle (a folder with a `.` in its name) or a Mach-O by its
//! CodeDirectory hash. The verifier adds its own exclusions: the
//! `_CodeSignature` folder, a top-level `CodeResources`, `_MASReceipt` and the
//! main executable (sealed by its own CodeDirectory).
//!
//! apple-codesign's `CodeResources` type reads this file but keeps its
//! entries private, so the plist is read with the `plist` crate here; the
//! patterns are compiled with `regex`, as apple-codesign does.

use std::collections::{BTreeMap, BTreeSet};

use plist::Value;
use regex::{Regex, RegexBuilder};

/// More rules than any signer writes (Apple's default has about ten).
const MAX_RULES: usize = 256;
/// Compiled size of one pattern; real ones are a few hundred bytes.
const MAX_PATTERN: usize = 1 << 20;

/// What the seal records for one path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    /// A file's content: SHA-1 (`hash`, and every `files` entry) and/or SHA-256 (`hash2`).
    File {
        sha1: Option<Vec<u8>>,
        sha256: Option<Vec<u8>>,
        optional: bool,
    },
    /// A symbolic link and its target.
    Symlink { target: String, optional: bool },
    /// Nested code, by the hash of its CodeDirectory.
    Nested {
        cdhash: Vec<u8>,
        requirement: Option<String>,
        optional: bool,
    },
}

impl Entry {
    pub fn optional(&self) -> bool {
        match self {
            Entry::File { optional, .. }
            | Entry::Symlink { optional, .. }
            | Entry::Nested { optional, .. } => *optional,
        }
    }
}

/// One rule of `rules`/`rules2`.
#[derive(Clone, Debug)]
pub struct Rule {
    pub pattern: String,
    re: Regex,
    pub weight: f64,
    pub omit: bool,
    pub optional: bool,
    pub nested: bool,
}

/// A parsed `CodeResources`.
#[derive(Clone, Debug)]
pub struct Seal {
    /// `files2`/`rules2` (else the SHA-1 `files`/`rules`).
    pub v2: bool,
    pub entries: BTreeMap<String, Entry>,
    pub rules: Vec<Rule>,
}

fn bool_of(v: Option<&Value>, what: &str) -> Result<bool, String> {
    match v {
        None => Ok(false),
        Some(Value::Boolean(b)) => Ok(*b),
        Some(_) => Err(format!("{what} is not a boolean")),
    }
}

fn data_of(v: Option<&Value>, what: &str) -> Result<Option<Vec<u8>>, String> {
    match v {
        None => Ok(None),
        Some(Value::Data(d)) => Ok(Some(d.clone())),
        Some(_) => Err(format!("{what} is not <data>")),
    }
}

fn entry_v1(path: &str, v: &Value) -> Result<Entry, String> {
    match v {
        Value::Data(d) => Ok(Entry::File {
            sha1: Some(d.clone()),
            sha256: None,
            optional: false,
        }),
        Value::Dictionary(d) => Ok(Entry::File {
            sha1: Some(
                data_of(d.get("hash"), "hash")?
                    .ok_or_else(|| format!("files entry {path} has no hash"))?,
            ),
            sha256: None,
            optional: bool_of(d.get("optional"), "optional")?,
        }),
        _ => Err(format!("files entry {path} is neither <data> nor <dict>")),
    }
}

fn entry_v2(path: &str, v: &Value) -> Result<Entry, String> {
    let d = match v {
        // Some signers write a bare hash, as in `files`.
        Value::Data(d) => {
            return Ok(Entry::File {
                sha1: Some(d.clone()),
                sha256: None,
                optional: false,
            })
        }
        Value::Dictionary(d) => d,
        _ => return Err(format!("files2 entry {path} is not a <dict>")),
    };
    let optional = bool_of(d.get("optional"), "optional")?;
    if let Some(t) = d.get("symlink") {
        let target = t
            .as_string()
            .ok_or_else(|| format!("files2 entry {path}: symlink is not a string"))?;
        return Ok(Entry::Symlink {
            target: target.to_string(),
            optional,
        });
    }
    if let Some(cdhash) = data_of(d.get("cdhash"), "cdhash")? {
        let requirement = match d.get("requirement") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(format!("files2 entry {path}: requirement is not a string")),
        };
        return Ok(Entry::Nested {
            cdhash,
            requirement,
            optional,
        });
    }
    let sha1 = data_of(d.get("hash"), "hash")?;
    let sha256 = data_of(d.get("hash2"), "hash2")?;
    if sha1.is_none() && sha256.is_none() {
        return Err(format!("files2 entry {path} has no hash"));
    }
    Ok(Entry::File {
        sha1,
        sha256,
        optional,
    })
}

fn rules(v: &Value, section: &str) -> Result<Vec<Rule>, String> {
    let d = v
        .as_dictionary()
        .ok_or_else(|| format!("{section} is not a <dict>"))?;
    if d.len() > MAX_RULES {
        return Err(format!(
            "{section} holds {} rules, more than any signer writes",
            d.len()
        ));
    }
    let mut out = Vec::with_capacity(d.len());
    for (pattern, value) in d {
        let re = RegexBuilder::new(pattern)
            .size_limit(MAX_PATTERN)
            .dfa_size_limit(MAX_PATTERN)
            .build()
            .map_err(|e| format!("{section} pattern {pattern:?} is not a valid expression: {e}"))?;
        let (weight, omit, optional, nested) = match value {
            // `false` omits, as in Apple's reader.
            Value::Boolean(b) => (1.0, !*b, false, false),
            Value::Dictionary(r) => {
                let weight = match r.get("weight") {
                    None => 1.0,
                    Some(Value::Real(w)) => *w,
                    Some(Value::Integer(i)) => i.as_signed().map(|x| x as f64).unwrap_or(1.0),
                    Some(_) => {
                        return Err(format!(
                            "{section} rule {pattern:?}: weight is not a number"
                        ))
                    }
                };
                (
                    weight,
                    bool_of(r.get("omit"), "omit")?,
                    bool_of(r.get("optional"), "optional")?,
                    bool_of(r.get("nested"), "nested")?,
                )
            }
            _ => {
                return Err(format!(
                    "{section} rule {pattern:?} is neither <true/> nor <dict>"
                ))
            }
        };
        out.push(Rule {
            pattern: pattern.clone(),
            re,
            weight,
            omit,
            optional,
            nested,
        });
    }
    Ok(out)
}

impl Seal {
    /// Reads a `CodeResources` plist (XML, or binary).
    pub fn parse(data: &[u8]) -> Result<Seal, String> {
        let v: Value = plist::from_bytes(data).map_err(|e| format!("not a plist: {e}"))?;
        let d = v.as_dictionary().ok_or("not a <dict> plist")?;
        let (v2, files, rule_section) = match (d.get("files2"), d.get("rules2")) {
            (Some(f), Some(r)) => (true, f, r),
            _ => match (d.get("files"), d.get("rules")) {
                (Some(f), Some(r)) => (false, f, r),
                _ => return Err("it holds neither files2/rules2 nor files/rules".into()),
            },
        };
        let rules = rules(rule_section, if v2 { "rules2" } else { "rules" })?;
        let files = files
            .as_dictionary()
            .ok_or_else(|| format!("{} is not a <dict>", if v2 { "files2" } else { "files" }))?;
        let mut entries = BTreeMap::new();
        for (path, e) in files {
            let entry = if v2 {
                entry_v2(path, e)?
            } else {
                entry_v1(path, e)?
            };
            entries.insert(path.clone(), entry);
        }
        Ok(Seal { v2, entries, rules })
    }

    /// The rule that decides `path` (relative to the bundle): the matching rule
    /// of highest weight, the first one on a tie.
    ///
    /// Apple breaks ties by its dictionary's hash order, which a reader cannot
    /// reproduce; Xcode 7's rules tie `^` with `^Info\.plist$` (omit), for
    /// example. When tied rules disagree on `omit`, the seal itself tells what
    /// the signer decided: sealed if the path is listed, omitted if not.
    pub fn rule_for(&self, path: &str) -> Option<&Rule> {
        let mut best: Option<&Rule> = None;
        let mut tied_omit: Option<&Rule> = None;
        let mut tied_sealed: Option<&Rule> = None;
        for r in &self.rules {
            if !r.re.is_match(path) {
                continue;
            }
            match best {
                Some(b) if r.weight < b.weight => continue,
                Some(b) if r.weight == b.weight => {}
                _ => {
                    best = Some(r);
                    tied_omit = None;
                    tied_sealed = None;
                }
            }
            let slot = if r.omit {
                &mut tied_omit
            } else {
                &mut tied_sealed
            };
            if slot.is_none() {
                *slot = Some(r);
            }
        }
        match (tied_omit, tied_sealed) {
            (Some(o), Some(s)) => Some(if self.entries.contains_key(path) {
                s
            } else {
                o
            }),
            _ => best,
        }
    }
}

/// What a bundle holds, as the seal sees it (paths relative to the bundle).
#[derive(Clone, Debug, Default)]
pub struct Listing {
    pub files: Vec<String>,
    pub symlinks: Vec<String>,
    /// Every folder, explicit or implied by a file below it.
    pub dirs: BTreeSet<String>,
    /// The main executable, sealed by its CodeDirectory instead.
    pub main_executable: Option<String>,
}

/// A path the seal must account for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub path: String,
    pub kind: ItemKind,
    /// What the seal records for it; `None`: it was added after sealing.
    pub sealed: Option<Entry>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemKind {
    File,
    Symlink,
    /// A folder sealed as nested code (a bundle under a `nested` rule).
    NestedBundle,
}

/// The seal's plan for a bundle: the items to compare, and the sealed paths
/// that are gone.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub items: Vec<Item>,
    pub removed: Vec<String>,
}

/// Whether `path` lies inside one of `dirs` (checked ancestor by ancestor).
fn below_any(path: &str, dirs: &BTreeSet<String>) -> bool {
    let mut p = path;
    while let Some((parent, _)) = p.rsplit_once('/') {
        if dirs.contains(parent) {
            return true;
        }
        p = parent;
    }
    false
}

/// Paths the verifier never seals.
fn excluded(path: &str, main: Option<&str>) -> bool {
    let under = |p: &str| path == p || path.starts_with(&format!("{p}/"));
    under("_CodeSignature") || path == "CodeResources" || under("_MASReceipt") || Some(path) == main
}

impl Seal {
    /// Which paths of `listing` must be sealed, and with what.
    pub fn plan(&self, listing: &Listing) -> Plan {
        let main = listing.main_executable.as_deref();
        let mut skip: BTreeSet<String> = BTreeSet::new();
        let mut items = Vec::new();
        // Folders first (in path order), so nested bundles and their contents
        // are decided before the files within them.
        for d in &listing.dirs {
            if below_any(d, &skip) || excluded(d, main) {
                continue;
            }
            if let Some(r) = self.rule_for(d) {
                let name = d.rsplit('/').next().unwrap_or(d);
                if self.v2 && r.nested && name.contains('.') {
                    items.push(Item {
                        path: d.clone(),
                        kind: ItemKind::NestedBundle,
                        sealed: self.entries.get(d).cloned(),
                    });
                    skip.insert(d.clone());
                }
            }
        }
        let mut consider = |path: &String, kind: ItemKind| {
            if below_any(path, &skip) || excluded(path, main) {
                return;
            }
            let Some(r) = self.rule_for(path) else {
                return;
            };
            if r.omit {
                return;
            }
            // The old `files` cannot seal links.
            if kind == ItemKind::Symlink && !self.v2 {
                return;
            }
            items.push(Item {
                path: path.clone(),
                kind,
                sealed: self.entries.get(path).cloned(),
            });
        };
        for f in &listing.files {
            consider(f, ItemKind::File);
        }
        for s in &listing.symlinks {
            consider(s, ItemKind::Symlink);
        }
        let seen: BTreeSet<&str> = items.iter().map(|i| i.path.as_str()).collect();
        let removed = self
            .entries
            .iter()
            .filter(|(p, e)| !seen.contains(p.as_str()) && !e.optional())
            .map(|(p, _)| p.clone())
            .collect();
        items.sort_by(|a, b| a.path.cmp(&b.path));
        Plan { items, removed }
    }
}

/// What a path actually is, for [`compare`].
#[derive(Clone, Debug, Default)]
pub struct Actual {
    pub sha1: Option<Vec<u8>>,
    pub sha256: Option<Vec<u8>>,
    pub link: Option<String>,
    /// The CodeDirectory hashes of the code at this path (a Mach-O, or a
    /// nested bundle's main executable), full length.
    pub cdhashes: Vec<Vec<u8>>,
}

/// Whether `actual` is what `entry` seals; `Err` says how it differs.
pub fn compare(entry: &Entry, kind: ItemKind, actual: &Actual) -> Result<(), String> {
    match entry {
        Entry::File { sha1, sha256, .. } => {
            if kind == ItemKind::Symlink {
                return Err("a file was replaced by a symbolic link".into());
            }
            if kind == ItemKind::NestedBundle {
                return Err("sealed as a file, found a folder".into());
            }
            // The strongest digest recorded decides (as Apple's verifier does).
            if let Some(want) = sha256 {
                return match &actual.sha256 {
                    Some(a) if a == want => Ok(()),
                    Some(_) => Err("its SHA-256 differs from the seal".into()),
                    None => Err("its content could not be hashed".into()),
                };
            }
            match (sha1, &actual.sha1) {
                (Some(w), Some(a)) if a == w => Ok(()),
                (Some(_), Some(_)) => Err("its SHA-1 differs from the seal".into()),
                _ => Err("its content could not be hashed".into()),
            }
        }
        Entry::Symlink { target, .. } => match (&actual.link, kind) {
            (Some(t), ItemKind::Symlink) if t == target => Ok(()),
            (Some(t), ItemKind::Symlink) => Err(format!(
                "the link points to {t:?}, the seal says {target:?}"
            )),
            _ => Err("sealed as a symbolic link, found something else".into()),
        },
        Entry::Nested { cdhash, .. } => {
            if actual.cdhashes.is_empty() {
                return Err("sealed as signed code, found no code signature".into());
            }
            let hit = actual
                .cdhashes
                .iter()
                .any(|h| h.len() >= cdhash.len() && h.get(..cdhash.len()) == Some(&cdhash[..]));
            if hit {
                Ok(())
            } else {
                Err(format!(
                    "its CodeDirectory hash differs from the seal's cdhash {}",
                    hex::encode(cdhash)
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V2: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict>
<key>files</key><dict><key>a.png</key><data>AAAA</data></dict>
<key>files2</key><dict>
  <key>a.png</key><dict><key>hash2</key><data>AAECAw==</data></dict>
  <key>en.lproj/x.strings</key><dict><key>hash2</key><data>AAECAw==</data><key>optional</key><true/></dict>
  <key>link</key><dict><key>symlink</key><string>a.png</string></dict>
  <key>PlugIns/X.appex</key><dict><key>cdhash</key><data>AAECAw==</data><key>requirement</key><string>identifier "x"</string></dict>
</dict>
<key>rules</key><dict><key>^.*</key><true/></dict>
<key>rules2</key><dict>
  <key>^.*</key><true/>
  <key>^.*\.lproj/</key><dict><key>optional</key><true/><key>weight</key><real>1000</real></dict>
  <key>^Info\.plist$</key><dict><key>omit</key><true/><key>weight</key><real>20</real></dict>
  <key>^(Frameworks|PlugIns)/</key><dict><key>nested</key><true/><key>weight</key><real>10</real></dict>
  <key>^(.*/)?\.DS_Store$</key><dict><key>omit</key><true/><key>weight</key><real>2000</real></dict>
</dict>
</dict></plist>"#;

    fn listing(files: &[&str], links: &[&str]) -> Listing {
        let mut dirs = BTreeSet::new();
        for f in files.iter().chain(links) {
            let mut p = *f;
            while let Some((parent, _)) = p.rsplit_once('/') {
                dirs.insert(parent.to_string());
                p = parent;
            }
        }
        Listing {
            files: files.iter().map(|s| s.to_string()).collect(),
            symlinks: links.iter().map(|s| s.to_string()).collect(),
            dirs,
            main_executable: Some("App".into()),
        }
    }

    #[test]
    fn reads_files2_and_rules2() {
        let s = Seal::parse(V2.as_bytes()).unwrap();
        assert!(s.v2);
        assert_eq!(s.entries.len(), 4);
        assert!(matches!(s.entries["link"], Entry::Symlink { .. }));
        assert!(s.entries["en.lproj/x.strings"].optional());
        assert_eq!(s.rule_for("Info.plist").unwrap().pattern, "^Info\\.plist$");
        assert_eq!(
            s.rule_for("a/.DS_Store").unwrap().pattern,
            "^(.*/)?\\.DS_Store$"
        );
        assert!(s.rule_for("PlugIns/X.appex").unwrap().nested);
    }

    #[test]
    fn plans_added_removed_and_nested() {
        let s = Seal::parse(V2.as_bytes()).unwrap();
        let l = listing(
            &[
                "App",
                "Info.plist",
                "a.png",
                "new.dylib",
                ".DS_Store",
                "_CodeSignature/CodeResources",
                "PlugIns/X.appex/X",
                "PlugIns/X.appex/Info.plist",
            ],
            &[],
        );
        let p = s.plan(&l);
        let paths: Vec<&str> = p.items.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(paths, ["PlugIns/X.appex", "a.png", "new.dylib"]);
        assert_eq!(p.items[0].kind, ItemKind::NestedBundle);
        assert!(p.items[2].sealed.is_none(), "added");
        // The link is gone; the optional localisation may be.
        assert_eq!(p.removed, ["link"]);
    }

    #[test]
    fn compares() {
        let f = Entry::File {
            sha1: None,
            sha256: Some(vec![1, 2]),
            optional: false,
        };
        let ok = Actual {
            sha256: Some(vec![1, 2]),
            ..Actual::default()
        };
        assert!(compare(&f, ItemKind::File, &ok).is_ok());
        let bad = Actual {
            sha256: Some(vec![9]),
            ..Actual::default()
        };
        assert!(compare(&f, ItemKind::File, &bad).is_err());
        let n = Entry::Nested {
            cdhash: vec![7; 20],
            requirement: None,
            optional: false,
        };
        let code = Actual {
            cdhashes: vec![vec![7; 32]],
            ..Actual::default()
        };
        assert!(compare(&n, ItemKind::NestedBundle, &code).is_ok());
        assert!(compare(&n, ItemKind::NestedBundle, &Actual::default()).is_err());
    }

    #[test]
    fn old_files_use_sha1_and_unanchored_rules() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
<key>files</key><dict><key>PkgInfo</key><data>AAEC</data></dict>
<key>rules</key><dict><key>.*</key><true/>
<key>Info.plist</key><dict><key>omit</key><true/><key>weight</key><real>10</real></dict></dict>
</dict></plist>"#;
        let s = Seal::parse(xml).unwrap();
        assert!(!s.v2);
        // Unanchored, as Apple's regexec: nested Info.plist files are omitted too.
        assert!(
            s.rule_for("en.lproj/Main.storyboardc/Info.plist")
                .unwrap()
                .omit
        );
    }

    #[test]
    fn refuses_hostile_rules() {
        let xml = br#"<plist version="1.0"><dict><key>files2</key><dict/>
<key>rules2</key><dict><key>(</key><true/></dict></dict></plist>"#;
        assert!(Seal::parse(xml).is_err());
    }
}
