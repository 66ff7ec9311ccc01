//! Layers only point down: no module imports a module that imports it back.
//!
//! Reads every `src/**/*.rs`, builds the module graph from `crate::...` and
//! `super::...` paths (in `use` trees and in code, comments and strings
//! stripped) and from names bound by such a `use` (`use crate::ios;` then
//! `ios::profile::X`), and fails naming each cycle: between top-level modules,
//! and between sibling submodules of one parent. A parent's edges to its own
//! children, and a child's edges to its ancestors (`use super::Entry`), are
//! the usual Rust idiom and do not count.
//!
//! Run it alone with `cargo test --test it layers::`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

/// Cycles that exist today and are being removed. The list may only shrink:
/// the test also fails when a listed cycle is gone, so the entry is deleted.
/// Each entry is `PARENT: a, b` (the sibling modules of one strongly connected
/// component, sorted).
const KNOWN_CYCLES: &[&str] = &[];

type Module = Vec<String>;

fn show(m: &[String]) -> String {
    if m.is_empty() {
        "crate".to_string()
    } else {
        format!("crate::{}", m.join("::"))
    }
}

/// `src/a/b.rs` and `src/a/b/mod.rs` are `crate::a::b`; `src/lib.rs` the root.
fn module_of(rel: &Path) -> Module {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().expect("a file name");
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && !(parts.is_empty() && stem == "lib") {
        parts.push(stem.to_string());
    }
    parts
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    /// `::`
    Sep,
    Punct(char),
}

/// Identifiers, `::` and punctuation with their line numbers; comments, string
/// and character literals dropped (so `"crate::x"` or a doc link is no edge).
fn tokens(src: &str) -> Vec<(Tok, usize)> {
    let c: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && at(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    line += usize::from(c[i] == '\n');
                    i += 1;
                }
            }
        } else if ch == '"'
            || ((ch == 'r' || ch == 'b' || ch == 'c')
                && (at(i + 1) == '"'
                    || (at(i + 1) == '#' && ch == 'r')
                    || (ch != 'r' && at(i + 1) == 'r' && matches!(at(i + 2), '"' | '#'))))
        {
            // A string literal: plain, byte, C, or raw (r"..", r#".."#, br#".."#).
            while c[i] != '"' && c[i] != 'r' {
                i += 1;
            }
            let raw = c[i] == 'r';
            if raw {
                i += 1;
            }
            let mut hashes = 0;
            while at(i) == '#' {
                hashes += 1;
                i += 1;
            }
            i += 1; // the opening quote
            while i < c.len() {
                if c[i] == '\n' {
                    line += 1;
                }
                if !raw && c[i] == '\\' {
                    line += usize::from(at(i + 1) == '\n');
                    i += 2;
                    continue;
                }
                if c[i] == '"' && (0..hashes).all(|k| at(i + 1 + k) == '#') {
                    i += 1 + hashes;
                    break;
                }
                i += 1;
            }
        } else if ch == '\'' {
            // A character literal ('x', '\n', '\u{1F600}') or a lifetime ('a).
            if at(i + 1) == '\\' {
                i += 2;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                i += 1;
            }
        } else if ch.is_alphanumeric() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push((Tok::Ident(c[start..i].iter().collect()), line));
        } else if ch == ':' && at(i + 1) == ':' {
            out.push((Tok::Sep, line));
            i += 2;
        } else {
            out.push((Tok::Punct(ch), line));
            i += 1;
        }
    }
    out
}

struct Edge {
    from: Module,
    to: Module,
    /// `src/x.rs:12 crate::y::Z`
    evidence: String,
}

/// One path a `use` tree or an expression names, and the name a `use` of it
/// binds (its last segment, or its `as` rename; none for a glob).
struct Leaf {
    path: Module,
    binds: Option<String>,
}

/// Parses the path that continues at `toks[i]` (its head, `crate`, `super` or
/// an alias, already resolved to `base`): every full path it names, each leaf
/// of a `{...}` use tree included. Returns the index after the path.
fn parse_tree(toks: &[(Tok, usize)], mut i: usize, base: Module, out: &mut Vec<Leaf>) -> usize {
    let mut path = base;
    let ident = |i: usize| match toks.get(i) {
        Some((Tok::Ident(s), _)) => Some(s.as_str()),
        _ => None,
    };
    // Ends a leaf: an `as name` rename binds `name` instead of the last segment.
    let leaf = |i: usize, path: Module, out: &mut Vec<Leaf>| {
        let (binds, next) = match (ident(i), ident(i + 1)) {
            (Some("as"), Some(n)) => (Some(n.to_string()), i + 2),
            _ => (path.last().cloned(), i),
        };
        out.push(Leaf { path, binds });
        next
    };
    loop {
        if toks.get(i).map(|t| &t.0) != Some(&Tok::Sep) {
            return leaf(i, path, out);
        }
        i += 1;
        match toks.get(i).map(|t| &t.0) {
            Some(Tok::Ident(s)) if s == "super" => {
                path.pop();
                i += 1;
            }
            Some(Tok::Ident(s)) => {
                path.push(s.clone());
                i += 1;
            }
            Some(Tok::Punct('{')) => {
                i += 1;
                loop {
                    match toks.get(i).map(|t| &t.0) {
                        Some(Tok::Punct('}')) | None => return i + 1,
                        Some(Tok::Punct(',')) => i += 1,
                        Some(Tok::Ident(s)) if s == "self" => {
                            i = leaf(i + 1, path.clone(), out);
                        }
                        Some(Tok::Ident(s)) => {
                            let mut sub = path.clone();
                            sub.push(s.clone());
                            i = parse_tree(toks, i + 1, sub, out);
                        }
                        Some(Tok::Punct('*')) => {
                            out.push(Leaf {
                                path: path.clone(),
                                binds: None,
                            });
                            i += 1;
                        }
                        Some(_) => i += 1,
                    }
                }
            }
            // `::*`, `::<T>` and the like end the path.
            _ => {
                out.push(Leaf { path, binds: None });
                return i;
            }
        }
    }
}

/// The module a path lands in: its longest prefix that is a module.
fn resolve(path: &[String], modules: &BTreeSet<Module>) -> Option<Module> {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| modules.contains(p))
}

/// The module at a point of a file: the file's, plus the inline `mod` blocks open there.
fn here(module: &Module, inline: &[(String, usize)]) -> Module {
    let mut m = module.clone();
    m.extend(inline.iter().map(|(n, _)| n.clone()));
    m
}

fn edges_of(file: &str, module: &Module, src: &str, modules: &BTreeSet<Module>) -> Vec<Edge> {
    let toks = tokens(src);
    let mut edges = Vec::new();
    // Inline `mod name { .. }` blocks: (name, brace depth inside it).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    // Names bound to a module by `use crate::a::b;` (or `as c`).
    let mut aliases: BTreeMap<String, Module> = BTreeMap::new();
    let mut i = 0;
    while i < toks.len() {
        let (tok, line) = (&toks[i].0, toks[i].1);
        let prev = i.checked_sub(1).map(|p| &toks[p].0);
        match tok {
            Tok::Punct('{') => {
                depth += 1;
                i += 1;
            }
            Tok::Punct('}') => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
                i += 1;
            }
            Tok::Ident(s)
                if s == "mod"
                    && matches!(toks.get(i + 1), Some((Tok::Ident(_), _)))
                    && toks.get(i + 2).map(|t| &t.0) == Some(&Tok::Punct('{')) =>
            {
                if let Some((Tok::Ident(name), _)) = toks.get(i + 1) {
                    inline.push((name.clone(), depth + 1));
                }
                depth += 1;
                i += 3;
            }
            Tok::Ident(s)
                if toks.get(i + 1).map(|t| &t.0) == Some(&Tok::Sep)
                    && prev != Some(&Tok::Sep)
                    && prev != Some(&Tok::Punct('$'))
                    && (s == "crate" || s == "super" || aliases.contains_key(s)) =>
            {
                let base = match s.as_str() {
                    "crate" => Vec::new(),
                    "super" => {
                        let mut m = here(module, &inline);
                        m.pop();
                        m
                    }
                    alias => aliases[alias].clone(),
                };
                let in_use = prev == Some(&Tok::Ident("use".into()));
                let mut leaves = Vec::new();
                let end = parse_tree(&toks, i + 1, base, &mut leaves);
                let from = resolve(&here(module, &inline), modules).unwrap_or_default();
                for l in leaves {
                    // `use crate::a::b;` (or `as c`) binds a name to a module.
                    if let (true, Some(name)) = (in_use, &l.binds) {
                        if modules.contains(&l.path) {
                            aliases.insert(name.clone(), l.path.clone());
                        }
                    }
                    // Items of the crate root (lib.rs) are nobody's layer.
                    if let Some(to) = resolve(&l.path, modules).filter(|m| !m.is_empty()) {
                        edges.push(Edge {
                            from: from.clone(),
                            to,
                            evidence: format!("{file}:{line} {}", show(&l.path)),
                        });
                    }
                }
                i = end.max(i + 1);
            }
            _ => i += 1,
        }
    }
    edges
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every edge of the library crate (`src/main.rs` is another crate).
fn graph(src: &Path) -> (BTreeSet<Module>, Vec<Edge>) {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.retain(|f| f.strip_prefix(src).is_ok_and(|r| r != Path::new("main.rs")));
    let modules: BTreeSet<Module> = files
        .iter()
        .map(|f| module_of(f.strip_prefix(src).unwrap()))
        .collect();
    let mut edges = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(src).unwrap();
        let text = std::fs::read_to_string(f).expect("source is UTF-8");
        let name = format!("src/{}", rel.display());
        edges.extend(edges_of(&name, &module_of(rel), &text, &modules));
    }
    (modules, edges)
}

/// The cycles: for each parent, the strongly connected components (of two or
/// more children) of the graph between its children, as `(name, evidence)`.
fn cycles(edges: &[Edge]) -> BTreeMap<String, Vec<String>> {
    // parent -> child -> child -> evidence
    let mut sib: BTreeMap<Module, BTreeMap<String, BTreeMap<String, Vec<String>>>> =
        BTreeMap::new();
    for e in edges {
        let common = e.from.iter().zip(&e.to).take_while(|(a, b)| a == b).count();
        // A parent's edge to its descendants, a child's edge to its ancestors.
        if common == e.from.len() || common == e.to.len() {
            continue;
        }
        sib.entry(e.from[..common].to_vec())
            .or_default()
            .entry(e.from[common].clone())
            .or_default()
            .entry(e.to[common].clone())
            .or_default()
            .push(e.evidence.clone());
    }
    let mut found = BTreeMap::new();
    for (parent, g) in &sib {
        let reach = |from: &str| {
            let mut seen = BTreeSet::new();
            let mut todo = vec![from.to_string()];
            while let Some(n) = todo.pop() {
                for next in g.get(&n).into_iter().flat_map(|m| m.keys()) {
                    if seen.insert(next.clone()) {
                        todo.push(next.clone());
                    }
                }
            }
            seen
        };
        let nodes: BTreeSet<&String> = g.keys().collect();
        let reaches: BTreeMap<&String, BTreeSet<String>> =
            nodes.iter().map(|n| (*n, reach(n))).collect();
        let mut done = BTreeSet::new();
        for n in &nodes {
            if done.contains(*n) || !reaches[n].contains(*n) {
                continue;
            }
            let scc: BTreeSet<String> = reaches[n]
                .iter()
                .filter(|m| reaches.get(m).is_some_and(|r| r.contains(*n)))
                .cloned()
                .collect();
            done.extend(scc.iter().cloned());
            let name = format!(
                "{}: {}",
                show(parent),
                scc.iter().cloned().collect::<Vec<_>>().join(", ")
            );
            let mut why = vec![format!("cycle {}", shortest_cycle(g, n, &scc))];
            for a in &scc {
                for (b, ev) in g.get(a).into_iter().flatten() {
                    if scc.contains(b) {
                        let more = if ev.len() > 1 {
                            format!(" (and {} more)", ev.len() - 1)
                        } else {
                            String::new()
                        };
                        why.push(format!("{a} -> {b}: {}{more}", ev[0]));
                    }
                }
            }
            found.insert(name, why);
        }
    }
    found
}

/// `LAYERS_GRAPH=1`: every edge between distinct top-level or sibling modules,
/// with how often it occurs, for seeing the layers (or drawing them).
fn print_graph(edges: &[Edge]) {
    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    for e in edges {
        let common = e.from.iter().zip(&e.to).take_while(|(a, b)| a == b).count();
        if common < e.from.len() && common < e.to.len() {
            let a = show(&e.from[..=common]);
            let b = show(&e.to[..=common]);
            *seen.entry((a, b)).or_default() += 1;
        }
    }
    for ((a, b), n) in seen {
        eprintln!("{a} -> {b} ({n})");
    }
}

/// `a -> b -> a`: the shortest way back to `start` inside its component.
fn shortest_cycle(
    g: &BTreeMap<String, BTreeMap<String, Vec<String>>>,
    start: &str,
    scc: &BTreeSet<String>,
) -> String {
    let mut prev: BTreeMap<String, String> = BTreeMap::new();
    let mut queue = VecDeque::from([start.to_string()]);
    while let Some(n) = queue.pop_front() {
        for next in g.get(&n).into_iter().flat_map(|m| m.keys()) {
            if !scc.contains(next) {
                continue;
            }
            if next == start {
                let mut path = vec![start.to_string()];
                let mut cur = n.clone();
                while cur != start {
                    path.push(cur.clone());
                    cur = prev[&cur].clone();
                }
                path.push(start.to_string());
                path.reverse();
                return path.join(" -> ");
            }
            if !prev.contains_key(next) {
                prev.insert(next.clone(), n.clone());
                queue.push_back(next.clone());
            }
        }
    }
    start.to_string()
}

#[test]
fn no_module_imports_a_module_that_imports_it_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let (modules, edges) = graph(&src);
    // The parser must see the crate: guard against a test that checks nothing.
    assert!(modules.len() > 20, "only {} modules found", modules.len());
    assert!(edges.len() > 100, "only {} edges found", edges.len());
    if std::env::var_os("LAYERS_GRAPH").is_some() {
        print_graph(&edges);
    }
    let found = cycles(&edges);
    let known: BTreeSet<&str> = KNOWN_CYCLES.iter().copied().collect();
    let mut problems = Vec::new();
    for (name, why) in &found {
        if !known.contains(name.as_str()) {
            problems.push(format!("new cycle {name}\n    {}", why.join("\n    ")));
        }
    }
    for k in &known {
        if !found.contains_key(*k) {
            problems.push(format!(
                "{k} is no longer a cycle: remove it from KNOWN_CYCLES in tests/it/layers.rs"
            ));
        }
    }
    for (name, why) in found.iter().filter(|(n, _)| known.contains(n.as_str())) {
        eprintln!("known cycle {name} (to remove)\n    {}", why.join("\n    "));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// The checker itself, on small crates whose graph is known.

fn graph_of(files: &[(&str, &str)]) -> Vec<Edge> {
    let modules: BTreeSet<Module> = files.iter().map(|(p, _)| module_of(Path::new(p))).collect();
    files
        .iter()
        .flat_map(|(p, text)| edges_of(p, &module_of(Path::new(p)), text, &modules))
        .collect()
}

fn pairs(edges: &[Edge]) -> BTreeSet<(String, String)> {
    edges.iter().map(|e| (show(&e.from), show(&e.to))).collect()
}

#[test]
fn use_trees_super_and_aliases_are_edges_and_text_is_not() {
    let edges = graph_of(&[
        ("lib.rs", "pub mod a; pub mod b; pub mod c;"),
        (
            "a/mod.rs",
            "mod x; mod y;\n// crate::c in a comment\nconst S: &str = \"crate::c\";\nconst R: &str = r#\"crate::c\"#;\nfn f<'a>(q: &'a str) -> char { '\"' }",
        ),
        (
            "a/x.rs",
            "use crate::{b::{self, Z}, c as see};\nuse super::y;\nfn g() { see::h(); y::k(); }",
        ),
        ("a/y.rs", "pub(crate) fn k() {}\n#[cfg(test)] mod tests { use super::super::x; }"),
        ("b.rs", "pub struct Z; fn f() { crate::c::h(); }"),
        ("c.rs", "pub fn h() {}"),
    ]);
    let got = pairs(&edges);
    let want: BTreeSet<(String, String)> = [
        ("crate::a::x", "crate::b"),
        ("crate::a::x", "crate::c"),
        ("crate::a::x", "crate::a::y"),
        ("crate::a::y", "crate::a::x"),
        ("crate::b", "crate::c"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, want);
}

#[test]
fn cycles_are_found_between_top_level_modules_and_between_siblings() {
    let edges = graph_of(&[
        ("lib.rs", "pub mod a; pub mod b; pub mod c; pub mod d;"),
        // The parent uses its children and they use it back: the Rust idiom.
        ("a/mod.rs", "mod x; mod y; use x::X; pub struct P;"),
        ("a/x.rs", "use super::P; use super::y::Y; pub struct X;"),
        ("a/y.rs", "pub struct Y; fn f() { super::x::X; }"),
        ("b.rs", "use crate::c::C; pub struct B;"),
        ("c.rs", "use crate::d::D; pub struct C;"),
        ("d.rs", "use crate::b::B; pub struct D;"),
    ]);
    let found = cycles(&edges);
    assert_eq!(
        found.keys().collect::<Vec<_>>(),
        ["crate: b, c, d", "crate::a: x, y"]
    );
    assert_eq!(found["crate: b, c, d"][0], "cycle b -> c -> d -> b");
    assert!(found["crate::a: x, y"]
        .iter()
        .any(|l| l == "x -> y: a/x.rs:1 crate::a::y::Y"));
}
