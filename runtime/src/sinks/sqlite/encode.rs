//! How the SQLite writer turns values into TEXT without allocating: ids as lowercase hex
//! and timestamps as `YYYY-MM-DD HH:MM:SS.ffffff` into stack buffers, attributes into one
//! JSON object in a buffer the writer reuses (the encoders are the sinks' shared
//! [`aggregate::json`](crate::sinks::aggregate::json)), all bound as borrowed [`Text`]. A
//! span costs no allocation here.

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::ToSql;

#[cfg(test)]
pub(super) use crate::sinks::aggregate::json::json_str;
pub(super) use crate::sinks::aggregate::json::{span_hex, trace_hex, JsonObject};

/// Borrowed UTF-8 bytes bound as SQLite TEXT (ids, timestamps, JSON built in buffers).
pub(super) struct Text<'a>(pub(super) &'a [u8]);

impl ToSql for Text<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(ValueRef::Text(self.0)))
    }
}

pub(super) use crate::model::time::write_timestamp as timestamp;
