//! How a writer encodes values without allocating: ids as lowercase hex into stack buffers,
//! attributes into one JSON object in a buffer the writer reuses. Shared by the SQLite and
//! PostgreSQL sinks (SQLite binds the bytes as TEXT, PostgreSQL casts them to `jsonb`).

use crate::model::attr::AttrValue;
use crate::model::ids::{SpanId, TraceId};

fn hex_into(out: &mut [u8], bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = HEX[usize::from(b >> 4)];
        pair[1] = HEX[usize::from(b & 0xf)];
    }
}

pub(crate) fn trace_hex(id: &TraceId) -> [u8; 32] {
    let mut out = [0u8; 32];
    hex_into(&mut out, &id.0);
    out
}

pub(crate) fn span_hex(id: &SpanId) -> [u8; 16] {
    let mut out = [0u8; 16];
    hex_into(&mut out, &id.0);
    out
}

/// `value` as a JSON string. Attribute names and most values need no escaping: those are
/// copied as they are (serde_json's escaper, per string, was ~5 % of the writer's time).
pub(crate) fn json_str(buf: &mut Vec<u8>, value: &str) -> Result<(), serde_json::Error> {
    // Without short-circuit, so that the check is vectorised.
    let needs_escape = value.bytes().fold(false, |any, b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if !needs_escape {
        buf.reserve(value.len() + 2);
        buf.push(b'"');
        buf.extend_from_slice(value.as_bytes());
        buf.push(b'"');
        Ok(())
    } else {
        serde_json::to_writer(&mut *buf, value)
    }
}

/// Builds one JSON object in a reused buffer.
pub(crate) struct JsonObject<'a> {
    buf: &'a mut Vec<u8>,
    empty: bool,
}

impl<'a> JsonObject<'a> {
    pub(crate) fn new(buf: &'a mut Vec<u8>) -> Self {
        buf.clear();
        Self::append(buf)
    }

    /// Start the object at the end of what `buf` already holds.
    pub(crate) fn append(buf: &'a mut Vec<u8>) -> Self {
        buf.push(b'{');
        JsonObject { buf, empty: true }
    }

    fn key(&mut self, key: &str) -> Result<(), serde_json::Error> {
        if !self.empty {
            self.buf.push(b',');
        }
        self.empty = false;
        json_str(self.buf, key)?;
        self.buf.push(b':');
        Ok(())
    }

    pub(crate) fn attr(&mut self, key: &str, value: &AttrValue) -> Result<(), serde_json::Error> {
        self.key(key)?;
        match value {
            AttrValue::Str(s) => json_str(self.buf, s),
            // Numbers stay numbers (a non-finite float becomes null).
            _ => serde_json::to_writer(&mut *self.buf, value),
        }
    }

    pub(crate) fn str(&mut self, key: &str, value: &str) -> Result<(), serde_json::Error> {
        self.key(key)?;
        json_str(self.buf, value)
    }

    /// A value that is already plain ASCII (hex ids): no escaping needed.
    pub(crate) fn str_bytes(&mut self, key: &str, value: &[u8]) -> Result<(), serde_json::Error> {
        self.key(key)?;
        self.buf.push(b'"');
        self.buf.extend_from_slice(value);
        self.buf.push(b'"');
        Ok(())
    }

    pub(crate) fn null(&mut self, key: &str) -> Result<(), serde_json::Error> {
        self.key(key)?;
        self.buf.extend_from_slice(b"null");
        Ok(())
    }

    pub(crate) fn finish(self) -> &'a [u8] {
        self.buf.push(b'}');
        self.buf
    }
}
