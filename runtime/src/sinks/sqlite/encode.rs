//! How the writer turns values into SQLite TEXT without allocating: ids as lowercase hex
//! and timestamps as `YYYY-MM-DD HH:MM:SS.ffffff` into stack buffers, attributes into one
//! JSON object in a buffer the writer reuses, all bound as borrowed [`Text`]. A span costs
//! no allocation here.

use std::time::SystemTime;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::ToSql;

use crate::ids::{SpanId, TraceId};
use crate::record::{AttrValue, Instrument, SpanCategory};

/// Borrowed UTF-8 bytes bound as SQLite TEXT (ids, timestamps, JSON built in buffers).
pub(super) struct Text<'a>(pub(super) &'a [u8]);

impl ToSql for Text<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(ValueRef::Text(self.0)))
    }
}

fn hex_into(out: &mut [u8], bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = HEX[usize::from(b >> 4)];
        pair[1] = HEX[usize::from(b & 0xf)];
    }
}

pub(super) fn trace_hex(id: &TraceId) -> [u8; 32] {
    let mut out = [0u8; 32];
    hex_into(&mut out, &id.0);
    out
}

pub(super) fn span_hex(id: &SpanId) -> [u8; 16] {
    let mut out = [0u8; 16];
    hex_into(&mut out, &id.0);
    out
}

/// `YYYY-MM-DD HH:MM:SS.ffffff` (UTC), as [`crate::record::sqlite_timestamp`], without
/// allocating. Years outside 0..=9999 are clamped to that range.
pub(super) fn timestamp(t: SystemTime) -> [u8; 26] {
    let micros: i64 = match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_micros()).map_or(i64::MIN, |m| -m),
    };
    // 0000-01-01 and 9999-12-31 23:59:59.999999, in microseconds since the epoch.
    let micros = micros.clamp(-62_167_219_200_000_000, 253_402_300_799_999_999);
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let mut out = *b"0000-00-00 00:00:00.000000";
    let mut put = |at: usize, width: usize, mut v: i64| {
        for i in (at..at + width).rev() {
            out[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, y);
    put(5, 2, i64::from(m));
    put(8, 2, i64::from(d));
    put(11, 2, sod / 3600);
    put(14, 2, sod % 3600 / 60);
    put(17, 2, sod % 60);
    put(20, 6, frac);
    out
}

// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `value` as a JSON string. Attribute names and most values need no escaping: those are
/// copied as they are (serde_json's escaper, per string, was ~5 % of the writer's time).
pub(super) fn json_str(buf: &mut Vec<u8>, value: &str) -> Result<(), serde_json::Error> {
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
pub(super) struct JsonObject<'a> {
    buf: &'a mut Vec<u8>,
    empty: bool,
}

impl<'a> JsonObject<'a> {
    pub(super) fn new(buf: &'a mut Vec<u8>) -> Self {
        buf.clear();
        Self::append(buf)
    }

    /// Start the object at the end of what `buf` already holds.
    pub(super) fn append(buf: &'a mut Vec<u8>) -> Self {
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

    pub(super) fn attr(&mut self, key: &str, value: &AttrValue) -> Result<(), serde_json::Error> {
        self.key(key)?;
        match value {
            AttrValue::Str(s) => json_str(self.buf, s),
            // Numbers stay numbers (a non-finite float becomes null).
            _ => serde_json::to_writer(&mut *self.buf, value),
        }
    }

    pub(super) fn str(&mut self, key: &str, value: &str) -> Result<(), serde_json::Error> {
        self.key(key)?;
        json_str(self.buf, value)
    }

    /// A value that is already plain ASCII (hex ids): no escaping needed.
    pub(super) fn str_bytes(&mut self, key: &str, value: &[u8]) -> Result<(), serde_json::Error> {
        self.key(key)?;
        self.buf.push(b'"');
        self.buf.extend_from_slice(value);
        self.buf.push(b'"');
        Ok(())
    }

    pub(super) fn null(&mut self, key: &str) -> Result<(), serde_json::Error> {
        self.key(key)?;
        self.buf.extend_from_slice(b"null");
        Ok(())
    }

    pub(super) fn finish(self) -> &'a [u8] {
        self.buf.push(b'}');
        self.buf
    }
}

/// A span's `spans.category` value.
pub(super) fn category(c: SpanCategory) -> &'static str {
    match c {
        SpanCategory::Inference => "inference",
        SpanCategory::AgentTurn => "agent_turn",
        SpanCategory::Tool => "tool",
        SpanCategory::Other => "other",
    }
}

/// A metric row's `metrics.instrument` value.
pub(super) fn instrument(i: Instrument) -> &'static str {
    match i {
        Instrument::Counter => "counter",
        Instrument::Histogram => "histogram",
        Instrument::Gauge => "gauge",
    }
}
