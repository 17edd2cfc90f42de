//! Bounding one captured content attribute (a prompt, a completion, tool arguments or a
//! result) to `TELEMETRY_CAPTURE_MAX_BYTES`: pure functions on text, so that every sink
//! gets the same bounded value and a 10 MB prompt never reaches a queue, a SQLite row or an
//! OTLP request.
//!
//! The rules ([`bound_content`]):
//!
//! - A value within the bound is returned as it is, after one length check (no parse).
//! - A longer value that is JSON (an object, an array or a string, as the macros record
//!   arguments, messages and `Debug` texts) stays valid JSON: the structure is kept and the
//!   string *values* are cut, longest first — every string longer than a common cap is cut
//!   to that cap, the largest cap with which the whole fits. A cut string ends at a
//!   character (and escape-sequence) boundary with the marker `…[truncated N bytes]`, N the
//!   bytes of the original JSON text left out of that string. Object keys, numbers,
//!   booleans and the layout are kept as they were.
//! - When even the structure is too big (100 000 tiny messages), the value is written
//!   compactly, each string cut to an eighth of the bound at most, and trailing array
//!   elements are dropped for one marker element `"…[truncated N elements]"` (trailing
//!   object members for one member `"…": "…[truncated N members]"`); a container larger
//!   than the whole bound (or the first of its parent) is cut inside, the same way.
//! - Any other text is cut at a UTF-8 boundary and ends with `…[truncated N bytes]`.
//!
//! The result is never longer than the bound, for any bound of at least [`MIN_MAX_BYTES`]
//! (the configuration accepts no smaller one). Below about 45 bytes, the marker alone may
//! be longer than the bound: then the value is the marker (as a JSON string for JSON).

use serde::de::IgnoredAny;

/// The smallest bound the configuration accepts (`TELEMETRY_CAPTURE_MAX_BYTES`): room for a
/// few markers and some text. [`bound_content`] keeps every bound of this size or more.
pub const MIN_MAX_BYTES: usize = 256;

/// Where every marker starts: a cut string ends with `…[truncated N bytes]`, a cut array
/// ends with the element `"…[truncated N elements]"`.
pub const MARKER_PREFIX: &str = "…[truncated ";

/// The longest element marker [`push_elements_marker`] writes, quotes included.
pub const ELEMENTS_MARKER_MAX_LEN: usize = 2 + MARKER_PREFIX.len() + 20 + " elements]".len();

/// A bounded value: the text to record and whether anything was cut.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bounded {
    /// The value, at most the bound long (see the module's rules).
    pub text: String,
    /// Whether the value was cut (then it carries at least one marker).
    pub truncated: bool,
}

/// Bound `text` to `max_bytes` bytes, keeping JSON valid (see the module's rules).
///
/// ```text
/// {"prompt":"aaaa…(20 000 bytes of a)"}, bound 16 384
///   -> {"prompt":"aaaa…(16 346 bytes of a)…[truncated 3654 bytes]"}, 16 384 bytes, truncated
/// ```
pub fn bound_content(text: String, max_bytes: usize) -> Bounded {
    if text.len() <= max_bytes {
        return Bounded {
            text,
            truncated: false,
        };
    }
    let text = bound_json(&text, max_bytes).unwrap_or_else(|| cut_text(&text, max_bytes));
    Bounded {
        text,
        truncated: true,
    }
}

/// `…[truncated N bytes]` (`1 byte`): the end of a cut string.
pub fn push_bytes_marker(out: &mut String, n: usize) {
    push_marker(out, n, Unit::Bytes);
}

/// `"…[truncated N elements]"` (`1 element`), quotes included: the last element of a cut
/// array. At most [`ELEMENTS_MARKER_MAX_LEN`] bytes.
pub fn push_elements_marker(out: &mut String, n: usize) {
    out.push('"');
    push_marker(out, n, Unit::Elements);
    out.push('"');
}

#[derive(Clone, Copy)]
enum Unit {
    Bytes,
    Elements,
    Members,
}

impl Unit {
    fn suffix(self, n: usize) -> &'static str {
        match (self, n == 1) {
            (Unit::Bytes, true) => " byte]",
            (Unit::Bytes, false) => " bytes]",
            (Unit::Elements, true) => " element]",
            (Unit::Elements, false) => " elements]",
            (Unit::Members, true) => " member]",
            (Unit::Members, false) => " members]",
        }
    }
}

fn push_marker(out: &mut String, n: usize, unit: Unit) {
    use std::fmt::Write as _;
    out.push_str(MARKER_PREFIX);
    let _ = write!(out, "{n}");
    out.push_str(unit.suffix(n));
}

/// The length of `push_marker(n, unit)`'s text, without writing it.
fn marker_len(n: usize, unit: Unit) -> usize {
    MARKER_PREFIX.len() + digits(n) + unit.suffix(n).len()
}

fn digits(mut n: usize) -> usize {
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}

/// The member that ends a cut object: `"…":"…[truncated N members]"`.
fn members_marker_len(n: usize) -> usize {
    "\"…\":\"\"".len() + marker_len(n, Unit::Members)
}

fn push_members_marker(out: &mut String, n: usize) {
    out.push_str("\"…\":\"");
    push_marker(out, n, Unit::Members);
    out.push('"');
}

/// Non-JSON text: the longest prefix (at a UTF-8 boundary) that fits with its marker.
fn cut_text(text: &str, max_bytes: usize) -> String {
    let mut keep = max_bytes.saturating_sub(marker_len(text.len(), Unit::Bytes));
    while !text.is_char_boundary(keep) {
        keep -= 1;
    }
    let mut out = String::with_capacity(max_bytes);
    out.push_str(&text[..keep]);
    push_bytes_marker(&mut out, text.len() - keep);
    out
}

/// JSON text, bounded; `None` when `text` is not JSON (an object, an array or a string).
fn bound_json(text: &str, max_bytes: usize) -> Option<String> {
    let first = text.trim_start().as_bytes().first()?;
    if !matches!(first, b'{' | b'[' | b'"') {
        return None;
    }
    // Validated by serde_json (which also limits the depth to 128), so that the small
    // parser below only has to find where things are.
    serde_json::from_str::<IgnoredAny>(text).ok()?;
    let root = Parser::new(text).document()?;
    let mut strings = Vec::new();
    root.value_strings(&mut strings);
    let saving = |cap: usize| -> usize {
        strings
            .iter()
            .map(|&(s, e)| (e - s) - planned_len(e - s, cap))
            .sum()
    };
    let fits = |cap: usize| text.len() - saving(cap) <= max_bytes;
    if fits(0) {
        // The largest cap with which the whole fits (`fits` is monotone: a larger cap
        // never makes a cut string shorter).
        let longest = strings.iter().map(|&(s, e)| e - s).max().unwrap_or(0);
        let (mut lo, mut hi) = (0, longest);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if fits(mid) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return Some(cut_strings(text, &strings, lo, max_bytes));
    }
    let emitter = Emitter {
        text,
        cap: max_bytes / 8,
    };
    let mut out = String::with_capacity(max_bytes);
    if emitter.within(&root, max_bytes, &mut out) {
        return Some(out);
    }
    // Not even the outermost container and its marker fit (a bound far below
    // `MIN_MAX_BYTES`): the value becomes one marker string.
    let mut out = String::from("\"");
    push_bytes_marker(&mut out, text.len());
    out.push('"');
    Some(out)
}

/// The length a string's content of `len` bytes takes when cut to `cap` bytes plus its
/// marker; `len` when that would not make it shorter.
fn planned_len(len: usize, cap: usize) -> usize {
    if len <= cap {
        return len;
    }
    let cut = cap + marker_len(len - cap, Unit::Bytes);
    cut.min(len)
}

/// `text` with each string value of content range `strings[i]` cut to `cap` bytes (at a
/// boundary) plus its marker, where that makes it shorter; the rest verbatim.
fn cut_strings(text: &str, strings: &[(usize, usize)], cap: usize, max_bytes: usize) -> String {
    let mut out = String::with_capacity(max_bytes);
    let mut pos = 0;
    for &(s, e) in strings {
        let len = e - s;
        if planned_len(len, cap) < len {
            let keep = json_floor(&text[s..e], cap);
            out.push_str(&text[pos..s + keep]);
            push_bytes_marker(&mut out, len - keep);
            pos = e;
        }
    }
    out.push_str(&text[pos..]);
    out
}

/// The largest cut point at most `max` bytes into a JSON string's content (`content`: the
/// text between its quotes) that splits neither a UTF-8 character nor an escape sequence
/// (a `\uD83D\uDE00` surrogate pair counts as one).
fn json_floor(content: &str, max: usize) -> usize {
    let b = content.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let step = match b[i] {
            b'\\' if b.get(i + 1) == Some(&b'u') => {
                let high = b
                    .get(i + 2..i + 6)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u16::from_str_radix(h, 16).ok())
                    .is_some_and(|u| (0xD800..0xDC00).contains(&u));
                if high && b.get(i + 6) == Some(&b'\\') && b.get(i + 7) == Some(&b'u') {
                    12
                } else {
                    6
                }
            }
            b'\\' => 2,
            c if c < 0x80 => 1,
            c if c >= 0xF0 => 4,
            c if c >= 0xE0 => 3,
            _ => 2,
        };
        if i + step > max {
            break;
        }
        i += step;
    }
    // On valid input `i` is a character boundary; never slice inside one regardless.
    while !content.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Where the parts of a JSON document are, as byte ranges into its text.
enum Node {
    /// A string value: the range of its content, between the quotes.
    Str(usize, usize),
    /// A number, `true`, `false` or `null`.
    Atom(usize, usize),
    Array(Vec<Node>),
    /// Members: the key's range (quotes included) and the value.
    Object(Vec<((usize, usize), Node)>),
}

impl Node {
    /// The content ranges of every string value (not keys), in document order.
    fn value_strings(&self, out: &mut Vec<(usize, usize)>) {
        match self {
            Node::Str(s, e) => out.push((*s, *e)),
            Node::Atom(..) => {}
            Node::Array(items) => items.iter().for_each(|i| i.value_strings(out)),
            Node::Object(members) => members.iter().for_each(|(_, v)| v.value_strings(out)),
        }
    }
}

/// Finds where things are in JSON that serde_json has validated; `None` on anything it
/// does not expect (then the value is cut as text).
struct Parser<'a> {
    text: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Parser {
            text,
            b: text.as_bytes(),
            i: 0,
        }
    }

    fn document(mut self) -> Option<Node> {
        let root = self.value()?;
        self.ws();
        (self.i == self.b.len()).then_some(root)
    }

    fn ws(&mut self) {
        while matches!(self.b.get(self.i), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        let hit = self.b.get(self.i) == Some(&c);
        if hit {
            self.i += 1;
        }
        hit
    }

    fn value(&mut self) -> Option<Node> {
        self.ws();
        match *self.b.get(self.i)? {
            b'{' => {
                self.i += 1;
                let mut members = Vec::new();
                if !self.eat(b'}') {
                    loop {
                        self.ws();
                        let key = self.string()?;
                        if !self.eat(b':') {
                            return None;
                        }
                        members.push((key, self.value()?));
                        if self.eat(b'}') {
                            break;
                        }
                        if !self.eat(b',') {
                            return None;
                        }
                    }
                }
                Some(Node::Object(members))
            }
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                if !self.eat(b']') {
                    loop {
                        items.push(self.value()?);
                        if self.eat(b']') {
                            break;
                        }
                        if !self.eat(b',') {
                            return None;
                        }
                    }
                }
                Some(Node::Array(items))
            }
            b'"' => {
                let (s, e) = self.string()?;
                Some(Node::Str(s + 1, e - 1))
            }
            _ => {
                let start = self.i;
                while let Some(&c) = self.b.get(self.i) {
                    if matches!(c, b',' | b']' | b'}' | b' ' | b'\n' | b'\r' | b'\t') {
                        break;
                    }
                    self.i += 1;
                }
                (self.i > start).then_some(Node::Atom(start, self.i))
            }
        }
    }

    /// At an opening quote: the string's range, quotes included. The closing quote is
    /// the next one after an even run of backslashes (found with `str::find`, which
    /// searches fast: a 10 MB prompt is one string).
    fn string(&mut self) -> Option<(usize, usize)> {
        if self.b.get(self.i) != Some(&b'"') {
            return None;
        }
        let start = self.i;
        // Always just after a quote: a character boundary.
        let mut from = start + 1;
        loop {
            let quote = from + self.text.get(from..)?.find('"')?;
            let backslashes = self.b[from..quote]
                .iter()
                .rev()
                .take_while(|&&c| c == b'\\')
                .count();
            if backslashes % 2 == 0 {
                self.i = quote + 1;
                return Some((start, quote + 1));
            }
            from = quote + 1;
        }
    }
}

/// Writes a parsed document compactly within a budget, strings cut to `cap` bytes at most:
/// what a value too big even with every string cut becomes.
struct Emitter<'a> {
    text: &'a str,
    cap: usize,
}

impl Emitter<'_> {
    /// An upper bound of what [`Emitter::full`] writes for `node`.
    fn size(&self, node: &Node) -> usize {
        match node {
            Node::Str(s, e) => 2 + planned_len(e - s, self.cap),
            Node::Atom(s, e) => e - s,
            Node::Array(items) => {
                2 + items.iter().map(|i| self.size(i)).sum::<usize>()
                    + items.len().saturating_sub(1)
            }
            Node::Object(members) => {
                2 + members
                    .iter()
                    .map(|((ks, ke), v)| ke - ks + 1 + self.size(v))
                    .sum::<usize>()
                    + members.len().saturating_sub(1)
            }
        }
    }

    /// `node`, compact, its strings cut to `cap`.
    fn full(&self, node: &Node, out: &mut String) {
        match node {
            Node::Str(s, e) => {
                out.push('"');
                let content = &self.text[*s..*e];
                if planned_len(content.len(), self.cap) < content.len() {
                    let keep = json_floor(content, self.cap);
                    out.push_str(&content[..keep]);
                    push_bytes_marker(out, content.len() - keep);
                } else {
                    out.push_str(content);
                }
                out.push('"');
            }
            Node::Atom(s, e) => out.push_str(&self.text[*s..*e]),
            Node::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    self.full(item, out);
                }
                out.push(']');
            }
            Node::Object(members) => {
                out.push('{');
                for (i, ((ks, ke), v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&self.text[*ks..*ke]);
                    out.push(':');
                    self.full(v, out);
                }
                out.push('}');
            }
        }
    }

    /// Write `node` in at most `budget` bytes: whole if it fits, else cut inside (see the
    /// module's rules). `false`, with nothing written, when not even its marker fits.
    fn within(&self, node: &Node, budget: usize, out: &mut String) -> bool {
        if self.size(node) <= budget {
            self.full(node, out);
            return true;
        }
        match node {
            Node::Atom(..) => false,
            Node::Str(s, e) => {
                let content = &self.text[*s..*e];
                let Some(room) = budget.checked_sub(2 + marker_len(content.len(), Unit::Bytes))
                else {
                    return false;
                };
                let keep = json_floor(content, room);
                out.push('"');
                out.push_str(&content[..keep]);
                push_bytes_marker(out, content.len() - keep);
                out.push('"');
                true
            }
            Node::Array(items) => self.container(
                items,
                budget,
                out,
                ('[', ']'),
                |n| 1 + 2 + marker_len(n, Unit::Elements),
                push_elements_marker,
                |item| (0, item),
                |_, _| {},
            ),
            Node::Object(members) => self.container(
                members,
                budget,
                out,
                ('{', '}'),
                |n| 1 + members_marker_len(n),
                push_members_marker,
                |((ks, ke), v)| (ke - ks + 1, v),
                |((ks, ke), _), out| {
                    out.push_str(&self.text[*ks..*ke]);
                    out.push(':');
                },
            ),
        }
    }

    /// The elements (or members) of a container that does not fit whole: those that fit,
    /// then the first that does not, cut inside if it can be, then a marker for the rest.
    /// `marker_len(n)` counts the marker for `n` left out with its comma; `part(c)` gives a
    /// child's key length (with its colon) and value; `prefix` writes the key.
    #[allow(clippy::too_many_arguments)]
    fn container<T>(
        &self,
        children: &[T],
        budget: usize,
        out: &mut String,
        (open, close): (char, char),
        marker_len: impl Fn(usize) -> usize,
        push_marker: fn(&mut String, usize),
        part: impl Fn(&T) -> (usize, &Node),
        prefix: impl Fn(&T, &mut String),
    ) -> bool {
        // The closing bracket, always written last.
        const CLOSE: usize = 1;
        let n = children.len();
        // The least this container can be: its brackets around a marker for everything.
        if budget < 2 + marker_len(n) - 1 {
            return false;
        }
        let start = out.len();
        out.push(open);
        let sizes: Vec<usize> = children
            .iter()
            .map(|c| {
                let (key, v) = part(c);
                key + self.size(v)
            })
            .collect();
        let mut rest: usize = sizes.iter().sum::<usize>() + n.saturating_sub(1);
        let mut dropped = 0;
        for (i, child) in children.iter().enumerate() {
            let sep = usize::from(i > 0);
            let used = out.len() - start;
            // Everything from here on fits: write it all.
            if used + sep + rest + CLOSE <= budget {
                for c in &children[i..] {
                    if out.len() - start > 1 {
                        out.push(',');
                    }
                    prefix(c, out);
                    self.full(part(c).1, out);
                }
                break;
            }
            let left_after = n - i - 1;
            // This child whole, with room left for a marker for the ones after it.
            if used + sep + sizes[i] + marker_len(left_after) + CLOSE <= budget {
                if sep == 1 {
                    out.push(',');
                }
                prefix(child, out);
                self.full(part(child).1, out);
                rest -= sizes[i] + usize::from(left_after > 0);
                continue;
            }
            // This child cut inside, then a marker for the ones after it — when it could
            // never fit whole or nothing was kept yet; else the rest is left out from here.
            let mark = out.len();
            let (key, value) = part(child);
            let cut_inside = sizes[i] > budget || used == 1;
            let after = if left_after > 0 {
                marker_len(left_after)
            } else {
                0
            };
            let room = budget.checked_sub(used + sep + key + after + CLOSE);
            if sep == 1 {
                out.push(',');
            }
            prefix(child, out);
            if cut_inside && room.is_some_and(|room| self.within(value, room, out)) {
                dropped = left_after;
            } else {
                out.truncate(mark);
                dropped = n - i;
            }
            break;
        }
        if dropped > 0 {
            if out.len() - start > 1 {
                out.push(',');
            }
            push_marker(out, dropped);
        }
        out.push(close);
        true
    }
}

#[cfg(test)]
mod tests;
