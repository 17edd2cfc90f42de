//! Architecture check: the modules of `runtime/src` import downward only.
//!
//! # The rule
//!
//! `runtime/src` is organised in layers, numbered in [`LAYERS`] by top-level module (the
//! first path segment under `runtime/src`: `sinks/otlp/trace.rs` belongs to `sinks`):
//!
//! ```text
//! L8 façade       lib.rs, private.rs (`__private`, aliased `private`)
//! L7 entry points install, guard, context, event, instrument/, http/
//! L6 layer/       the tracing layer
//! L5 sinks/       console, prometheus, otlp/, sqlite/, postgres/
//! L4 store/       file format and read API
//! L3 pipeline/    L2 metrics/    L1 config/    L0 model/
//! ```
//!
//! (a) A file imports nothing from a higher layer. (b) Within one layer, the imports between
//! different top-level modules (say `guard` and `context`) form no circle. (c) Within one
//! top-level module, the imports between its files form no circle. An import of an ancestor
//! (a file's own `mod.rs`, the parent of a `foo.rs`, or `lib.rs`) is left out of (b) and (c):
//! a parent declaring and re-exporting its children is normal.
//!
//! Why: each layer can then be read, tested and changed knowing only the layers below it,
//! and no change low down has to wait for code high up.
//!
//! An import is any path into the crate in non-test code: `use crate::…`, `use super::…`,
//! `use self::…`, `use child::…` (groups, globs, `as`, `pub use` included), and paths in code
//! such as `crate::a::f()`, `super::super::x`, `child::T`. Comments, doc comments and literals
//! do not count; neither does test code: `#[cfg(test)]` items and modules, and files named
//! `tests.rs` or under a `tests/` folder (tests may use anything). A path points at the file
//! of its longest module prefix; `crate::Name` of a re-export points at `lib.rs`, the façade
//! (L8), which is upward for every other layer: low code names the real module.
//!
//! # Reading a failure
//!
//! One line per offending import, sorted:
//!
//! ```text
//! runtime/src/config/env.rs:12: crate::layer::usage_of -> runtime/src/layer/mod.rs: L1 config imports up into L6 layer
//! runtime/src/guard.rs:7: crate::context::Ctx -> runtime/src/context.rs: closes a circle in L7: guard -> context -> guard
//! runtime/src/store/a.rs:3: super::b::B -> runtime/src/store/b.rs: closes a circle: store/a.rs -> store/b.rs -> store/a.rs
//! ```
//!
//! that is: where the import is (the line of its `use`), the path as written, the file it
//! resolves to, and the rule it breaks. Fix an upward import by moving the item down (or the
//! importer up); break a circle by moving what both sides need into the lower of the two.
//!
//! # Adding a layer or an exception
//!
//! A new top-level module needs a line in [`LAYERS`] (the check fails until it has one). An
//! import that must stay against the rule goes into [`EXCEPTIONS`] as
//! `("importing/file.rs", "imported/file.rs", "why it cannot be otherwise")`, paths relative
//! to `runtime/src`; it lifts every rule for imports from the one file into the other. An
//! exception that matches no import fails the check, so stale ones get removed.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fs;
use std::path::{Path, PathBuf};

/// Layer of each top-level module of `runtime/src`: imports go to lower numbers only.
const LAYERS: &[(&str, u8)] = &[
    ("lib", 8),
    ("private", 8),
    ("install", 7),
    ("guard", 7),
    ("context", 7),
    ("instrument", 7),
    ("http", 7),
    ("ingest", 7),
    ("layer", 6),
    ("sinks", 5),
    ("store", 4),
    ("pipeline", 3),
    ("metrics", 2),
    ("config", 1),
    // The layer (L6) decodes what `log_event` encodes: the event types and their wire
    // format sit below it, beside the configuration (README, "Architecture").
    ("event", 1),
    ("model", 0),
];

/// Imports allowed against the rule: (importing file, imported file, reason), relative to
/// `runtime/src`, e.g. `("store/mod.rs", "config/mod.rs", "the default path is config's")`.
const EXCEPTIONS: &[(&str, &str, &str)] = &[];

/// How messages show the checked root.
const SRC: &str = "runtime/src";

#[test]
fn runtime_src_imports_only_downward() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let violations = check(&root, LAYERS, EXCEPTIONS);
    assert!(
        violations.is_empty(),
        "{} layering violation(s), see runtime/tests/layers.rs for the rule:\n{}\n",
        violations.len(),
        violations.join("\n")
    );
}

/// An import: importing file, line, path as written, imported file.
type Edge = (String, usize, String, String);

/// Checks the tree under `root` (a `src` folder with `lib.rs`); returns the violations, sorted.
fn check(root: &Path, layers: &[(&str, u8)], exceptions: &[(&str, &str, &str)]) -> Vec<String> {
    assert!(
        exceptions.iter().all(|e| !e.2.trim().is_empty()),
        "give every exception a reason"
    );
    let mut files = Vec::new();
    walk(root, Path::new(""), &mut files);
    let read = |f: &String| scan(&lex(&fs::read_to_string(root.join(f)).unwrap()));
    let scans: BTreeMap<String, Scan> = files.iter().map(|f| (f.clone(), read(f))).collect();

    // Module paths: from where a file lies (private.rs: `private`, the alias), then from the
    // `mod` declarations walked down from lib.rs (`#[path]`: `__private`; `#[cfg(test)]`).
    let mut module_of: BTreeMap<&str, Vec<String>> = files
        .iter()
        .map(|f| (f.as_str(), default_module(f)))
        .collect();
    let mut modules: HashMap<Vec<String>, &str> =
        module_of.iter().map(|(f, m)| (m.clone(), *f)).collect();
    let test_name = |f: &&String| f.split('/').any(|p| p == "tests" || p == "tests.rs");
    let mut test: BTreeSet<&str> = files.iter().filter(test_name).map(String::as_str).collect();
    test.extend(scans.iter().filter(|s| s.1.test).map(|s| s.0.as_str()));
    let (mut queue, mut seen) = (vec!["lib.rs"], BTreeSet::new());
    while let Some(file) = queue.pop() {
        let Some(s) = scans.get(file).filter(|_| seen.insert(file)) else {
            continue;
        };
        for (name, path, in_test) in &s.mods {
            let found = child_files(file, name, path)
                .into_iter()
                .find_map(|c| scans.get_key_value(&c));
            let Some(child) = found.map(|(k, _)| k.as_str()) else {
                continue;
            };
            let module: Vec<String> = module_of[file].iter().chain([name]).cloned().collect();
            if *in_test || test.contains(file) {
                test.insert(child);
            }
            modules.insert(module.clone(), child);
            module_of.insert(child, module);
            queue.push(child);
        }
    }

    let layer = |f: &str| layers.iter().find(|l| l.0 == top_of(f)).map(|l| l.1);
    let mut out: BTreeMap<(String, usize, String), String> = BTreeMap::new();
    for f in files
        .iter()
        .filter(|f| !test.contains(f.as_str()) && layer(f).is_none())
    {
        let text = format!(
            "{SRC}/{f} has no layer: add `{}` to LAYERS in runtime/tests/layers.rs",
            top_of(f)
        );
        out.insert((f.clone(), 0, String::new()), text);
    }

    // The imports, file to file: a path names the file of its longest module prefix.
    let mut edges: Vec<Edge> = Vec::new();
    for (file, s) in scans.iter().filter(|s| !test.contains(s.0.as_str())) {
        for r in &s.refs {
            let Some(path) = absolute(&module_of[file.as_str()], r) else {
                continue;
            };
            let longest = path.len() - usize::from(!r.module_last && !path.is_empty());
            let dst = (0..=longest).rev().find_map(|k| modules.get(&path[..k]));
            if let Some(&dst) = dst.filter(|&&d| d != file.as_str() && !test.contains(d)) {
                edges.push((file.clone(), r.line, r.written.clone(), dst.to_string()));
            }
        }
    }
    let excepted: BTreeSet<(&str, &str)> = exceptions.iter().map(|x| (x.0, x.1)).collect();
    let imported: BTreeSet<(&str, &str)> = edges.iter().map(|e| (&*e.0, &*e.3)).collect();
    for &(src, dst) in excepted.difference(&imported) {
        let text = format!("{SRC}/{src}: exception -> {SRC}/{dst} matches no import: remove it");
        out.insert((src.to_string(), 0, dst.to_string()), text);
    }
    edges.retain(|e| !excepted.contains(&(&*e.0, &*e.3)));

    // (a) at once; (b) between top-level modules and (c) between files once the graph is
    // complete (its two kinds of nodes, `guard` and `config/env.rs`, never meet).
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut within = Vec::new();
    for edge @ (src, _, _, dst) in &edges {
        let (Some(ls), Some(ld)) = (layer(src), layer(dst)) else {
            continue;
        };
        let (ts, td) = (top_of(src), top_of(dst));
        let (m_src, m_dst) = (&module_of[&**src], &module_of[&**dst]);
        let ancestor = m_src.len() > m_dst.len() && m_src.starts_with(m_dst);
        if ls < ld {
            report(
                &mut out,
                edge,
                format!("L{ls} {ts} imports up into L{ld} {td}"),
            );
        } else if ls == ld && !ancestor {
            let (from, to, scope) = match ts == td {
                true => (src.clone(), dst.clone(), String::new()),
                false => (ts.to_string(), td.to_string(), format!(" in L{ls}")),
            };
            graph.entry(from.clone()).or_default().insert(to.clone());
            within.push((edge, from, to, scope));
        }
    }
    for (edge, from, to, scope) in within {
        if let Some(back) = shortest_path(&graph, &to, &from) {
            let circle = format!("{from} -> {}", back.join(" -> "));
            report(&mut out, edge, format!("closes a circle{scope}: {circle}"));
        }
    }
    out.into_values().collect()
}

/// Records one violation per (file, line, imported file): the first path written there.
fn report(out: &mut BTreeMap<(String, usize, String), String>, edge: &Edge, rule: String) {
    let (src, line, written, dst) = edge;
    let text = format!("{SRC}/{src}:{line}: {written} -> {SRC}/{dst}: {rule}");
    out.entry((src.clone(), *line, dst.clone())).or_insert(text);
}

/// The shortest path `from` … `to` along the graph's edges, both ends included.
fn shortest_path(
    g: &BTreeMap<String, BTreeSet<String>>,
    from: &str,
    to: &str,
) -> Option<Vec<String>> {
    let (mut prev, mut queue) = (BTreeMap::<&str, &str>::new(), VecDeque::from([from]));
    while let Some(node) = queue.pop_front() {
        if node == to {
            let mut path = vec![to.to_string()];
            while path.last().unwrap() != from {
                path.push(prev[path.last().unwrap().as_str()].to_string());
            }
            path.reverse();
            return Some(path);
        }
        for next in g.get(node).into_iter().flatten().filter(|&n| n != from) {
            if !prev.contains_key(next.as_str()) {
                prev.insert(next.as_str(), node);
                queue.push_back(next.as_str());
            }
        }
    }
    None
}

/// Every `.rs` file under `dir`, as a `/`-separated path relative to the root.
fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(root.join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let rel = dir.join(path.file_name().unwrap());
        if path.is_dir() {
            walk(root, &rel, out);
        } else if rel.extension().is_some_and(|e| e == "rs") {
            out.push(slashed(&rel));
        }
    }
}

fn slashed(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// `lib` for lib.rs, `sinks` for sinks/otlp/trace.rs, `config` for config.rs.
fn top_of(file: &str) -> &str {
    let first = file.split('/').next().unwrap();
    first.strip_suffix(".rs").unwrap_or(first)
}

fn is_mod_rs(file: &str) -> bool {
    file == "lib.rs" || file == "mod.rs" || file.ends_with("/mod.rs")
}

/// lib.rs: the crate root; a/mod.rs: `a`; a/b.rs: `a::b`.
fn default_module(file: &str) -> Vec<String> {
    let path = file.strip_suffix(".rs").unwrap();
    let path = if is_mod_rs(file) {
        path.rsplit_once('/').map_or("", |p| p.0)
    } else {
        path
    };
    path.split('/')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

/// Where `mod name;` (or `#[path = "…"] mod name;`) in `file` may load its module from.
fn child_files(file: &str, name: &str, path_attr: &Option<String>) -> Vec<String> {
    let parent = Path::new(file).parent().unwrap();
    let stem = Path::new(file).file_stem().unwrap();
    let dir = if is_mod_rs(file) {
        parent.to_path_buf()
    } else {
        parent.join(stem)
    };
    match path_attr {
        Some(path) => vec![slashed(&parent.join(path))],
        None => vec![
            slashed(&dir.join(format!("{name}.rs"))),
            slashed(&dir.join(name).join("mod.rs")),
        ],
    }
}

/// A path's module segments from the crate root, seen from the file's module.
fn absolute(module: &[String], r: &Ref) -> Option<Vec<String>> {
    let mut path: Vec<String> = module.iter().chain(&r.base).cloned().collect();
    let mut rest = r.segs.as_slice();
    match rest[0].as_str() {
        "crate" => {
            path.clear();
            rest = &rest[1..];
        }
        "self" => rest = &rest[1..],
        _ => {
            while rest.first().is_some_and(|s| s == "super") {
                path.pop()?;
                rest = &rest[1..];
            }
        }
    }
    path.extend(rest.iter().cloned());
    Some(path)
}

// ---- reading the source -------------------------------------------------------------------

/// A token and its line. A literal is one token: `"` and, for a string, its text (for
/// `#[path]`); so nothing in a literal, nor the literal, ever reads as a name or keyword.
type Tok = (String, usize);

/// Splits Rust source into tokens, dropping whitespace, comments (nested ones too) and
/// lifetimes (`'a` is one, `'a'` is a literal).
fn lex(src: &str) -> Vec<Tok> {
    let c: Vec<char> = src.chars().collect();
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    let name = |ch: char| ch.is_alphanumeric() || ch == '_';
    // the first index from `i` on where `stop` holds, or the end
    let until = |mut i: usize, stop: &dyn Fn(usize) -> bool| {
        while i < c.len() && !stop(i) {
            i += 1;
        }
        i
    };
    let escaped = |j: usize| c[..j].iter().rev().take_while(|&&ch| ch == '\\').count() % 2 == 1;
    let (mut out, mut i, mut line, mut counted) = (Vec::new(), 0, 1, 0);
    while i < c.len() {
        let lit = || Some("\"".to_string());
        let (end, token) = match (c[i], at(i + 1)) {
            (ch, _) if ch.is_whitespace() => (i + 1, None),
            ('/', '/') => (until(i, &|j| c[j] == '\n'), None),
            ('/', '*') => {
                let (mut depth, mut j) = (0, i);
                while j < c.len() && (j == i || depth > 0) {
                    let pair = (c[j], at(j + 1));
                    depth += i32::from(pair == ('/', '*')) - i32::from(pair == ('*', '/'));
                    j += if pair == ('/', '*') || pair == ('*', '/') {
                        2
                    } else {
                        1
                    };
                }
                (j, None)
            }
            ('"', _) => {
                let close = until(i + 1, &|j| c[j] == '"' && !escaped(j));
                (
                    close + 1,
                    Some(format!("\"{}", c[i + 1..close].iter().collect::<String>())),
                )
            }
            ('\'', '\\') => (until(i + 3, &|j| c[j] == '\'') + 1, lit()), // '\n', '\u{22}'
            ('\'', _) if at(i + 2) == '\'' => (i + 3, lit()),
            ('\'', _) => (until(i + 1, &|j| !name(c[j])), None),
            (':', ':') => (i + 2, Some("::".into())),
            (ch, _) if ch.is_ascii_digit() => (
                until(i, &|j| {
                    !(name(c[j]) || c[j] == '.' && at(j + 1).is_ascii_digit())
                }),
                lit(),
            ),
            (ch, _) if name(ch) => {
                let end = until(i, &|j| !name(c[j]));
                let word: String = c[i..end].iter().collect();
                let hashes = until(end, &|j| c[j] != '#') - end;
                if matches!(word.as_str(), "r" | "br" | "cr") && at(end + hashes) == '"' {
                    let close: Vec<char> = "\"".chars().chain("#".repeat(hashes).chars()).collect();
                    let body = end + hashes + 1;
                    let stop = until(body, &|j| c[j..].starts_with(&close));
                    let text: String = c[body..stop].iter().collect();
                    (stop + close.len(), Some(format!("\"{text}")))
                } else {
                    (end, Some(word))
                }
            }
            (ch, _) => (i + 1, Some(ch.to_string())),
        };
        if let Some(token) = token {
            line += c[counted..i].iter().filter(|&&ch| ch == '\n').count();
            counted = i;
            out.push((token, line));
        }
        i = end;
    }
    out
}

/// What one file says: whether it is test code as a whole (`#![cfg(test)]`), its `mod x;`
/// declarations (name, `#[path]`, under `#[cfg(test)]`) and its paths into the crate.
#[derive(Default)]
struct Scan {
    test: bool,
    mods: Vec<(String, Option<String>, bool)>,
    refs: Vec<Ref>,
}

struct Ref {
    line: usize,
    written: String,
    segs: Vec<String>, // starting with crate, self or super
    module_last: bool, // a `use` leaf may name a module, a path in code names an item
    base: Vec<String>, // the inline modules (`mod x { … }`) around it
}

fn txt(t: &[Tok], i: usize) -> &str {
    t.get(i).map_or("", |t| t.0.as_str())
}

fn is_name(word: &str) -> bool {
    word.starts_with(|ch: char| ch.is_alphabetic() || ch == '_')
}

fn scan(t: &[Tok]) -> Scan {
    let mut s = Scan::default();
    let mod_decl = |i: usize| txt(t, i) == "mod" && txt(t, i + 2) == ";";
    let children: BTreeSet<&str> = (0..t.len())
        .filter(|&i| mod_decl(i))
        .map(|i| txt(t, i + 1))
        .collect();
    let (mut i, mut depth, mut test_until) = (0, 0i32, 0);
    let (mut attrs, mut path_attr) = (Vec::<String>::new(), None); // `#[path]`: on a `mod` only
    let mut scopes: Vec<(i32, String)> = Vec::new(); // inline `mod x {`: depth, name
    while i < t.len() {
        let inner = txt(t, i + 1) == "!";
        if txt(t, i) == "#" && txt(t, i + 1 + usize::from(inner)) == "[" {
            let open = i + 1 + usize::from(inner);
            let close = item_end(t, open + 1);
            let text: String = t[open + 1..close].iter().map(|t| t.0.as_str()).collect();
            s.test |= inner && scopes.is_empty() && text == "cfg(test)";
            if !inner {
                attrs.push(text);
            }
            i = close + 1;
            continue;
        }
        if attrs.iter().any(|a| a == "cfg(test)") {
            test_until = test_until.max(item_end(t, i));
        }
        if let Some(path) = attrs.iter().find_map(|a| a.strip_prefix("path=\"")) {
            path_attr = Some(path.to_string());
        }
        attrs.clear();
        let in_test = s.test || i < test_until;
        let base: Vec<String> = scopes.iter().map(|sc| sc.1.clone()).collect();
        let (word, prev) = (txt(t, i), txt(t, i.wrapping_sub(1)));
        let rooted = |w: &str| {
            matches!(w, "crate" | "self" | "super") || base.is_empty() && children.contains(w)
        };
        match word {
            "{" | "(" | "[" => depth += 1,
            "}" | ")" | "]" => {
                depth -= 1;
                if scopes.last().is_some_and(|sc| sc.0 == depth) {
                    scopes.pop();
                }
            }
            "mod" if mod_decl(i) && base.is_empty() => {
                s.mods
                    .push((txt(t, i + 1).into(), path_attr.take(), in_test));
            }
            "mod" if txt(t, i + 2) == "{" => scopes.push((depth, txt(t, i + 1).into())),
            "use" => {
                let (mut leaves, line) = (Vec::new(), t[i].1);
                i += 1;
                use_tree(t, &mut i, Vec::new(), &mut leaves);
                for segs in leaves
                    .into_iter()
                    .filter(|l| !in_test && l.first().is_some_and(|w| rooted(w)))
                {
                    s.refs.push(new_ref(line, segs, true, &base));
                }
                continue;
            }
            // a path in code (but not the visibility `pub(in crate::a)`)
            _ if rooted(word)
                && txt(t, i + 1) == "::"
                && prev != "::"
                && (prev, txt(t, i.wrapping_sub(2))) != ("in", "(") =>
            {
                let (line, mut segs) = (t[i].1, vec![word.to_string()]);
                while txt(t, i + 1) == "::" && is_name(txt(t, i + 2)) {
                    segs.push(txt(t, i + 2).into());
                    i += 2;
                }
                if !in_test {
                    s.refs.push(new_ref(line, segs, false, &base));
                }
            }
            _ => {}
        }
        i += 1;
    }
    s
}

fn new_ref(line: usize, mut segs: Vec<String>, module_last: bool, base: &[String]) -> Ref {
    let written = segs.join("::");
    if !matches!(segs[0].as_str(), "crate" | "self" | "super") {
        segs.insert(0, "self".into()); // `child::x`: relative to this module
    }
    Ref {
        line,
        written,
        segs,
        module_last,
        base: base.to_vec(),
    }
}

/// Parses the tree of a `use` (after the keyword), pushing each leaf's full path.
fn use_tree(t: &[Tok], i: &mut usize, mut prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    loop {
        let word = txt(t, *i);
        *i += 1;
        match word {
            "::" if prefix.is_empty() => prefix.push("::".into()), // an extern crate
            "{" => {
                while !matches!(txt(t, *i), "}" | "") {
                    use_tree(t, i, prefix.clone(), out);
                    *i += usize::from(txt(t, *i) == ",");
                }
                *i += 1;
                return;
            }
            "*" => return out.push(prefix.into_iter().chain(["*".to_string()]).collect()),
            "self" if !prefix.is_empty() => break,
            w if is_name(w) => {
                prefix.push(w.to_string());
                if txt(t, *i) != "::" {
                    break;
                }
                *i += 1;
            }
            _ => return,
        }
    }
    *i += 2 * usize::from(txt(t, *i) == "as");
    out.push(prefix);
}

/// Past the end of the item (or field, or statement) that starts at `i`; or at the bracket
/// closing the group it is in (`#[` + 1: at the `]`).
fn item_end(t: &[Tok], mut i: usize) -> usize {
    let (mut depth, mut angle) = (0, 0);
    while i < t.len() {
        let word = txt(t, i);
        match word {
            "{" | "(" | "[" => depth += 1,
            "}" | ")" | "]" if depth == 0 => return i,
            "}" | ")" | "]" => {
                depth -= 1;
                if depth == 0 && word == "}" {
                    return i + 1;
                }
            }
            "<" if depth == 0 => angle += 1,
            ">" if depth == 0 && angle > 0 && !matches!(txt(t, i - 1), "-" | "=") => angle -= 1,
            ";" if depth == 0 => return i + 1,
            "," if depth == 0 && angle == 0 => return i + 1,
            _ => {}
        }
        i += 1;
    }
    i
}

// ---- checking the checker -----------------------------------------------------------------

/// A source tree in a fresh temporary folder, removed on drop.
struct TempTree(PathBuf);

impl TempTree {
    fn new(name: &str, files: &[(&str, &str)]) -> TempTree {
        let dir = format!("llm-telemetry-layers-{}-{name}", std::process::id());
        let root = std::env::temp_dir().join(dir);
        let _ = fs::remove_dir_all(&root);
        for (path, text) in files {
            fs::create_dir_all(root.join(path).parent().unwrap()).unwrap();
            fs::write(root.join(path), text).unwrap();
        }
        TempTree(root)
    }
}

impl Drop for TempTree {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

const MINI_LAYERS: &[(&str, u8)] = &[
    ("lib", 8),
    ("private", 8),
    ("guard", 7),
    ("context", 7),
    ("layer", 6),
    ("config", 1),
    // The layer (L6) decodes what `log_event` encodes: the event types and their wire
    // format sit below it, beside the configuration (README, "Architecture").
    ("event", 1),
    ("model", 0),
];

/// Imports down and into its ancestor only; the upward "imports" are no code, or test code.
const SPAN: &str = r##"use super::Id; // crate::layer::x in a comment
/* a /* nested crate::layer::y */ block: crate::layer::z */
/// Docs: [crate::layer::Layer]
pub struct Span<'a>(&'a str, char, Id);
const S: &str = "crate::layer::s \" crate::layer::t";
const R: &str = r#"a" crate::layer::r "#;
const Q: [char; 4] = ['"', '\'', 'x', '\u{22}'];
const B: u8 = b'"';
fn f<'a>(x: &'a str) -> &'a str { 'outer: loop { break 'outer x; } }
#[cfg(test)]
fn only_in_tests(_: crate::layer::Layer) {}
#[cfg(test)]
mod tests {
    use crate::layer::Layer;
}
"##;

const CLEAN: &[(&str, &str)] = &[
    (
        "lib.rs",
        "//! crate::layer::Layer in the crate docs\nmod config;\nmod layer;\nmod model;\n\
         pub mod context;\npub mod guard;\n#[path = \"private.rs\"]\npub mod __private;\n\
         pub(crate) use __private as private;\npub use model::{span::Span, Id};\n\
         pub fn build() -> layer::Layer { crate::private::record(); layer::Layer }\n",
    ),
    ("private.rs", "pub fn record() { crate::layer::touch() }\n"),
    (
        "guard.rs",
        "use crate::{layer::Layer, model::Id as _};\npub struct Guard(pub Layer);\n",
    ),
    (
        "context.rs",
        "pub fn current() { crate::guard::Guard(crate::layer::Layer); }\n",
    ),
    (
        "layer.rs",
        "use crate::config::Config;\npub struct Layer;\npub fn touch() {}\n",
    ),
    (
        "config/mod.rs",
        "mod a;\nmod b;\npub use a::*;\npub struct Config;\n",
    ),
    (
        "config/a.rs",
        "use super::Config;\npub struct A(Config);\npub fn g() -> super::b::B { super::b::B }\n",
    ),
    ("config/b.rs", "pub struct B;\n"),
    (
        "model/mod.rs",
        "pub mod span;\n#[cfg(test)]\nmod more;\npub struct Id;\npub use self::span::Span;\n",
    ),
    ("model/span.rs", SPAN),
    ("model/more.rs", "use crate::layer::Layer;\n"),
    ("model/tests.rs", "use crate::guard::Guard;\n"),
];

#[test]
fn the_check_reports_planted_violations_and_passes_a_clean_tree() {
    let clean = TempTree::new("clean", CLEAN);
    assert_eq!(check(&clean.0, MINI_LAYERS, &[]), Vec::<String>::new());

    let span = format!("{SPAN}const D: char = '\"'; use crate::layer::x;\nfn g(_: super::super::layer::Layer) {{}}\n");
    let mut files: BTreeMap<&str, &str> = CLEAN.iter().copied().collect();
    files.extend([
        ("model/span.rs", span.as_str()),
        ("model/mod.rs", "pub mod span;\n#[cfg(test)]\nmod more;\npub fn id() -> Id { crate::Id }\n"),
        ("config/b.rs", "pub struct B;\npub fn back() { super::a::g(); }\n"),
        ("guard.rs", "use crate::{context::{self as ctx}, layer::{self, Layer}};\npub fn f() { ctx::current() }\n"),
        ("layer.rs", "pub struct Layer;\npub fn touch() {}\npub fn up() {\n    crate::__private::record();\n}\n"),
        ("extra.rs", "pub fn orphan() {}\n"),
    ]);
    let planted = TempTree::new("planted", &files.into_iter().collect::<Vec<_>>());
    let span_line = SPAN.lines().count() + 1;
    let expected = [
        "runtime/src/config/a.rs:3: super::b::B -> runtime/src/config/b.rs: closes a circle: config/a.rs -> config/b.rs -> config/a.rs".to_string(),
        "runtime/src/config/b.rs:2: super::a::g -> runtime/src/config/a.rs: closes a circle: config/b.rs -> config/a.rs -> config/b.rs".into(),
        "runtime/src/context.rs:1: crate::guard::Guard -> runtime/src/guard.rs: closes a circle in L7: context -> guard -> context".into(),
        "runtime/src/extra.rs has no layer: add `extra` to LAYERS in runtime/tests/layers.rs".into(),
        "runtime/src/guard.rs:1: crate::context -> runtime/src/context.rs: closes a circle in L7: guard -> context -> guard".into(),
        "runtime/src/layer.rs:4: crate::__private::record -> runtime/src/private.rs: L6 layer imports up into L8 private".into(),
        "runtime/src/model/mod.rs:4: crate::Id -> runtime/src/lib.rs: L0 model imports up into L8 lib".into(),
        format!("runtime/src/model/span.rs:{span_line}: crate::layer::x -> runtime/src/layer.rs: L0 model imports up into L6 layer"),
        format!("runtime/src/model/span.rs:{}: super::super::layer::Layer -> runtime/src/layer.rs: L0 model imports up into L6 layer", span_line + 1),
    ];
    assert_eq!(check(&planted.0, MINI_LAYERS, &[]), expected);

    // An exception lifts the rules for its pair of files; one that matches nothing is reported.
    let exceptions = [
        ("model/mod.rs", "lib.rs", "a test"),
        ("config/b.rs", "guard.rs", "a test"),
    ];
    let got = check(&planted.0, MINI_LAYERS, &exceptions);
    assert!(!got.iter().any(|v| v.contains("crate::Id")), "{got:#?}");
    let stale =
        "runtime/src/config/b.rs: exception -> runtime/src/guard.rs matches no import: remove it";
    assert!(got.iter().any(|v| v == stale), "{got:#?}");
}
