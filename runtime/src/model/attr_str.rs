//! [`AttrStr`]: the text of a string attribute, kept inline when short.
//!
//! Most attribute values (model and provider names, operation and function names) are
//! short, so a span's string attributes usually cost no allocation.

use std::fmt;

/// The text of an [`AttrValue::Str`](super::attr::AttrValue::Str): an immutable string that keeps up to 22 bytes
/// inline and only allocates for longer text, since most attribute values (model and
/// provider names, operation names, function names) are short.
///
/// It dereferences to `str`, compares with `str`, `&str` and `String`, displays and
/// serializes as a plain string, and converts from `String` and `&str`
/// (`model::tests::attr_str_behaves_as_a_string` shows each of these.)
#[derive(Clone)]
pub struct AttrStr(StrRepr);

const INLINE_CAP: usize = 22;

#[derive(Clone)]
enum StrRepr {
    Inline { len: u8, bytes: [u8; INLINE_CAP] },
    Heap(Box<str>),
}

impl AttrStr {
    /// The text, as a string slice.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            StrRepr::Inline { len, bytes } => {
                // SAFETY: the first `len` bytes were copied from a `&str` in `From<&str>`,
                // so they are valid UTF-8.
                unsafe { std::str::from_utf8_unchecked(&bytes[..*len as usize]) }
            }
            StrRepr::Heap(s) => s,
        }
    }
}

impl AttrStr {
    /// Format `args` straight into the inline buffer; only text longer than it
    /// allocates (once).
    pub(crate) fn format(args: fmt::Arguments<'_>) -> AttrStr {
        if let Some(s) = args.as_str() {
            return AttrStr::from(s);
        }
        struct Buf {
            len: usize,
            bytes: [u8; INLINE_CAP],
            spill: Option<String>,
        }
        impl fmt::Write for Buf {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                if let Some(spill) = &mut self.spill {
                    spill.push_str(s);
                } else if self.len + s.len() <= INLINE_CAP {
                    self.bytes[self.len..self.len + s.len()].copy_from_slice(s.as_bytes());
                    self.len += s.len();
                } else {
                    let mut spill = String::with_capacity((self.len + s.len()).max(64));
                    // Only whole `&str`s were copied in: valid UTF-8.
                    spill.push_str(std::str::from_utf8(&self.bytes[..self.len]).unwrap_or(""));
                    spill.push_str(s);
                    self.spill = Some(spill);
                }
                Ok(())
            }
        }
        let mut buf = Buf {
            len: 0,
            bytes: [0; INLINE_CAP],
            spill: None,
        };
        let _ = fmt::Write::write_fmt(&mut buf, args);
        match buf.spill {
            Some(spill) => AttrStr(StrRepr::Heap(spill.into_boxed_str())),
            None => AttrStr(StrRepr::Inline {
                len: buf.len as u8,
                bytes: buf.bytes,
            }),
        }
    }
}

impl From<&str> for AttrStr {
    #[inline]
    fn from(s: &str) -> Self {
        let src = s.as_bytes();
        let n = src.len();
        if n <= INLINE_CAP {
            let mut bytes = [0u8; INLINE_CAP];
            // Two fixed-size, possibly overlapping copies instead of a `memcpy` call.
            if n >= 16 {
                bytes[..16].copy_from_slice(&src[..16]);
                bytes[n - 16..n].copy_from_slice(&src[n - 16..]);
            } else if n >= 8 {
                bytes[..8].copy_from_slice(&src[..8]);
                bytes[n - 8..n].copy_from_slice(&src[n - 8..]);
            } else if n >= 4 {
                bytes[..4].copy_from_slice(&src[..4]);
                bytes[n - 4..n].copy_from_slice(&src[n - 4..]);
            } else {
                bytes[..n].copy_from_slice(src);
            }
            AttrStr(StrRepr::Inline {
                len: n as u8,
                bytes,
            })
        } else {
            AttrStr(StrRepr::Heap(Box::from(s)))
        }
    }
}

impl From<String> for AttrStr {
    fn from(s: String) -> Self {
        if s.len() <= INLINE_CAP {
            AttrStr::from(s.as_str())
        } else {
            AttrStr(StrRepr::Heap(s.into_boxed_str()))
        }
    }
}

impl From<&String> for AttrStr {
    fn from(s: &String) -> Self {
        AttrStr::from(s.as_str())
    }
}

impl From<Box<str>> for AttrStr {
    fn from(s: Box<str>) -> Self {
        if s.len() <= INLINE_CAP {
            AttrStr::from(&*s)
        } else {
            AttrStr(StrRepr::Heap(s))
        }
    }
}

impl From<AttrStr> for String {
    fn from(s: AttrStr) -> Self {
        match s.0 {
            StrRepr::Heap(s) => s.into_string(),
            StrRepr::Inline { .. } => s.as_str().to_owned(),
        }
    }
}

impl std::ops::Deref for AttrStr {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for AttrStr {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::borrow::Borrow<str> for AttrStr {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl Default for AttrStr {
    fn default() -> Self {
        AttrStr::from("")
    }
}

impl fmt::Display for AttrStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl fmt::Debug for AttrStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq for AttrStr {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for AttrStr {}

impl PartialEq<str> for AttrStr {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for AttrStr {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for AttrStr {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<AttrStr> for str {
    fn eq(&self, other: &AttrStr) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<AttrStr> for &str {
    fn eq(&self, other: &AttrStr) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<AttrStr> for String {
    fn eq(&self, other: &AttrStr) -> bool {
        self.as_str() == other.as_str()
    }
}

impl std::hash::Hash for AttrStr {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl PartialOrd for AttrStr {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for AttrStr {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl serde::Serialize for AttrStr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}
