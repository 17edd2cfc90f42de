//! The database under a [`TraceStore`](super::TraceStore): a SQLite file, or (feature
//! `postgres`) a PostgreSQL database with the same tables. What the query families share
//! whatever the database: the [`Dialect`] their SQL is written in, the bound parameters
//! ([`Param`]), and [`Row`], which reads a row of either database into the same Rust
//! values, so that each family decodes its rows once for both.
//!
//! Each family keeps its SQL per dialect side by side; the PostgreSQL spelling returns
//! the columns the decoders read in the types SQLite returns them (timestamps as the
//! store's UTC text, attributes as JSON text, counts as `bigint`, sums as
//! `double precision`), so that both return identical values.

#[cfg(feature = "postgres")]
use std::cell::RefCell;

use rusqlite::types::Value as SqlValue;

/// A decoding or driver error of one row or statement.
pub(crate) type DbError = Box<dyn std::error::Error + Send + Sync>;

/// The connection a store reads through.
pub(crate) enum Backend {
    /// A SQLite file, opened read-only.
    Sqlite(rusqlite::Connection),
    /// A PostgreSQL database (the synchronous client: never call it on a tokio worker).
    #[cfg(feature = "postgres")]
    Postgres(PgClient),
}

/// The PostgreSQL client of a store, closed on a thread of its own when dropped (closing
/// blocks on the driver's runtime, which panics on a thread that drives tokio's).
#[cfg(feature = "postgres")]
pub(crate) struct PgClient(RefCell<Option<postgres::Client>>);

#[cfg(feature = "postgres")]
impl PgClient {
    pub(crate) fn new(client: postgres::Client) -> PgClient {
        PgClient(RefCell::new(Some(client)))
    }
}

#[cfg(feature = "postgres")]
impl PgClient {
    /// The connection is gone (the server closed it, or a query found it broken).
    pub(crate) fn is_closed(&self) -> bool {
        self.0
            .borrow()
            .as_ref()
            .is_none_or(postgres::Client::is_closed)
    }
}

#[cfg(feature = "postgres")]
impl Drop for PgClient {
    fn drop(&mut self) {
        if let Some(client) = self.0.get_mut().take() {
            crate::config::postgres::connect::on_own_thread(move || drop(client));
        }
    }
}

/// The SQL dialect of a [`Backend`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// SQLite: `?N` parameters, `json_extract`, text timestamps.
    Sqlite,
    /// PostgreSQL: `$N::type` parameters, `jsonb` operators, `timestamptz`.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    Postgres,
}

impl Dialect {
    /// The placeholder of parameter number `n` (1-based), holding `p`: `?n` in SQLite,
    /// `$n::text` / `$n::bigint` / `$n::float8` in PostgreSQL (which must know its type).
    pub(crate) fn placeholder(self, n: usize, p: &Param) -> String {
        match self {
            Dialect::Sqlite => format!("?{n}"),
            Dialect::Postgres => {
                let ty = match p {
                    Param::Text(_) => "text",
                    Param::Integer(_) => "bigint",
                    Param::Real(_) => "float8",
                };
                format!("${n}::{ty}")
            }
        }
    }

    /// Push `p` onto `params` and return its placeholder.
    pub(crate) fn push(self, params: &mut Vec<Param>, p: Param) -> String {
        let placeholder = self.placeholder(params.len() + 1, &p);
        params.push(p);
        placeholder
    }

    /// The join that keeps its written order: SQLite's `CROSS JOIN` (its planner does not
    /// reorder it), PostgreSQL's `JOIN` (which has no `CROSS JOIN ... ON`).
    pub(crate) fn fixed_join(self) -> &'static str {
        match self {
            Dialect::Sqlite => "CROSS JOIN",
            Dialect::Postgres => "JOIN",
        }
    }

    /// A timestamp parameter compared with timestamp columns: SQLite compares the text,
    /// PostgreSQL reads the text as UTC.
    pub(crate) fn push_time(self, params: &mut Vec<Param>, text: String) -> String {
        let p = self.push(params, Param::Text(text));
        match self {
            Dialect::Sqlite => p,
            Dialect::Postgres => format!("({p}::timestamp AT TIME ZONE 'UTC')"),
        }
    }

    /// The lower bound "since the beginning": the empty text in SQLite (below every
    /// timestamp), `-infinity` in PostgreSQL.
    pub(crate) fn since_text(self, since: Option<std::time::SystemTime>) -> String {
        match (since, self) {
            (Some(t), _) => crate::model::time::sqlite_timestamp(t),
            (None, Dialect::Sqlite) => String::new(),
            (None, Dialect::Postgres) => "-infinity".into(),
        }
    }
}

/// The PostgreSQL expression of the timestamp `col` as the store's UTC text
/// (`YYYY-MM-DD HH:MM:SS.ffffff`), what the SQLite store holds.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) fn pg_time(col: &str) -> String {
    format!("to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')")
}

/// The PostgreSQL expression of SQLite's `julianday()` of the timestamp `col`, to the
/// bit: SQLite reads the text's seconds as a double, rounds them to whole milliseconds
/// (`(int)(s * 1000 + 0.5)`) and divides its integer milliseconds by 86,400,000. Orders
/// that SQLite computes from `julianday()` differences sort identically with it.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) fn pg_julianday(col: &str) -> String {
    let sec = format!("floor(extract(second FROM {col} AT TIME ZONE 'UTC'))");
    let micros = format!("mod(extract(microseconds FROM {col} AT TIME ZONE 'UTC'), 1000000)");
    let minute_ms = format!("((floor(extract(epoch FROM {col})) - {sec}) * 1000)::bigint");
    format!(
        "((210866760000000 + {minute_ms} \
           + trunc(({sec}::float8 + {micros}::float8 / 1000000.0) * 1000.0 + 0.5)::bigint)::float8 \
          / 86400000.0)"
    )
}

/// A bound parameter.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Param {
    Text(String),
    Integer(i64),
    Real(f64),
}

impl Param {
    fn sqlite(self) -> SqlValue {
        match self {
            Param::Text(s) => SqlValue::Text(s),
            Param::Integer(i) => SqlValue::Integer(i),
            Param::Real(f) => SqlValue::Real(f),
        }
    }

    #[cfg(feature = "postgres")]
    fn postgres(self) -> Box<dyn postgres::types::ToSql + Sync> {
        match self {
            Param::Text(s) => Box::new(s),
            Param::Integer(i) => Box::new(i),
            Param::Real(f) => Box::new(f),
        }
    }
}

/// A row of either database.
pub(crate) enum Row<'a> {
    Sqlite(&'a rusqlite::Row<'a>),
    #[cfg(feature = "postgres")]
    Postgres(&'a postgres::Row),
}

impl Row<'_> {
    /// Column `i` (0-based) as a `T`.
    pub(crate) fn get<T: Column>(&self, i: usize) -> Result<T, DbError> {
        match self {
            Row::Sqlite(r) => T::sqlite(r, i),
            #[cfg(feature = "postgres")]
            Row::Postgres(r) => T::postgres(r, i),
        }
    }
}

/// A Rust value a column is read as.
pub(crate) trait Column: Sized {
    fn sqlite(r: &rusqlite::Row<'_>, i: usize) -> Result<Self, DbError>;
    #[cfg(feature = "postgres")]
    fn postgres(r: &postgres::Row, i: usize) -> Result<Self, DbError>;
}

/// A column read as text whatever its type (SQLite numbers rendered, `NULL`: `None`);
/// PostgreSQL's spelling returns such columns as `text`.
pub(crate) struct AnyText(pub(crate) Option<String>);

impl Column for AnyText {
    fn sqlite(r: &rusqlite::Row<'_>, i: usize) -> Result<Self, DbError> {
        Ok(AnyText(match r.get::<_, SqlValue>(i)? {
            SqlValue::Text(s) => Some(s),
            SqlValue::Integer(i) => Some(i.to_string()),
            SqlValue::Real(f) => Some(f.to_string()),
            SqlValue::Blob(_) => Some(String::new()),
            SqlValue::Null => None,
        }))
    }

    #[cfg(feature = "postgres")]
    fn postgres(r: &postgres::Row, i: usize) -> Result<Self, DbError> {
        Ok(AnyText(r.try_get(i)?))
    }
}

macro_rules! text_columns {
    ($($t:ty),*) => {$(
        impl Column for $t {
            fn sqlite(r: &rusqlite::Row<'_>, i: usize) -> Result<Self, DbError> {
                Ok(r.get(i)?)
            }
            #[cfg(feature = "postgres")]
            fn postgres(r: &postgres::Row, i: usize) -> Result<Self, DbError> {
                Ok(r.try_get(i)?)
            }
        }
    )*};
}
text_columns!(String, Option<String>, bool);

/// Integers: PostgreSQL's `bigint`, `integer` or `smallint`.
#[cfg(feature = "postgres")]
fn pg_int(r: &postgres::Row, i: usize) -> Result<Option<i64>, DbError> {
    if let Ok(v) = r.try_get::<_, Option<i64>>(i) {
        return Ok(v);
    }
    if let Ok(v) = r.try_get::<_, Option<i32>>(i) {
        return Ok(v.map(i64::from));
    }
    Ok(r.try_get::<_, Option<i16>>(i)?.map(i64::from))
}

/// Reals: PostgreSQL's `double precision` or `real`, or an integer.
#[cfg(feature = "postgres")]
fn pg_real(r: &postgres::Row, i: usize) -> Result<Option<f64>, DbError> {
    if let Ok(v) = r.try_get::<_, Option<f64>>(i) {
        return Ok(v);
    }
    if let Ok(v) = r.try_get::<_, Option<f32>>(i) {
        return Ok(v.map(f64::from));
    }
    Ok(pg_int(r, i)?.map(|v| v as f64))
}

#[cfg(feature = "postgres")]
fn null(i: usize) -> DbError {
    format!("column {i} is NULL").into()
}

impl Column for i64 {
    fn sqlite(r: &rusqlite::Row<'_>, i: usize) -> Result<Self, DbError> {
        Ok(r.get(i)?)
    }
    #[cfg(feature = "postgres")]
    fn postgres(r: &postgres::Row, i: usize) -> Result<Self, DbError> {
        pg_int(r, i)?.ok_or_else(|| null(i))
    }
}

impl Column for u32 {
    fn sqlite(r: &rusqlite::Row<'_>, i: usize) -> Result<Self, DbError> {
        Ok(r.get(i)?)
    }
    #[cfg(feature = "postgres")]
    fn postgres(r: &postgres::Row, i: usize) -> Result<Self, DbError> {
        let v = pg_int(r, i)?.ok_or_else(|| null(i))?;
        Ok(u32::try_from(v)?)
    }
}

impl Column for u64 {
    fn sqlite(r: &rusqlite::Row<'_>, i: usize) -> Result<Self, DbError> {
        Ok(r.get::<_, i64>(i)?.max(0) as u64)
    }
    #[cfg(feature = "postgres")]
    fn postgres(r: &postgres::Row, i: usize) -> Result<Self, DbError> {
        Ok(pg_int(r, i)?.ok_or_else(|| null(i))?.max(0) as u64)
    }
}

impl Column for Option<i64> {
    fn sqlite(r: &rusqlite::Row<'_>, i: usize) -> Result<Self, DbError> {
        Ok(r.get(i)?)
    }
    #[cfg(feature = "postgres")]
    fn postgres(r: &postgres::Row, i: usize) -> Result<Self, DbError> {
        pg_int(r, i)
    }
}

impl Column for f64 {
    fn sqlite(r: &rusqlite::Row<'_>, i: usize) -> Result<Self, DbError> {
        Ok(r.get(i)?)
    }
    #[cfg(feature = "postgres")]
    fn postgres(r: &postgres::Row, i: usize) -> Result<Self, DbError> {
        pg_real(r, i)?.ok_or_else(|| null(i))
    }
}

impl Column for Option<f64> {
    fn sqlite(r: &rusqlite::Row<'_>, i: usize) -> Result<Self, DbError> {
        Ok(r.get(i)?)
    }
    #[cfg(feature = "postgres")]
    fn postgres(r: &postgres::Row, i: usize) -> Result<Self, DbError> {
        pg_real(r, i)
    }
}

impl Backend {
    /// The dialect of this backend's SQL.
    pub(crate) fn dialect(&self) -> Dialect {
        match self {
            Backend::Sqlite(_) => Dialect::Sqlite,
            #[cfg(feature = "postgres")]
            Backend::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Run `sql` with `params` and hand every row to `f`, in order. SQLite statements are
    /// cached, so each family's fixed SQL text is prepared once per handle.
    pub(crate) fn for_each(
        &self,
        sql: &str,
        params: Vec<Param>,
        mut f: impl FnMut(&Row<'_>) -> Result<(), DbError>,
    ) -> Result<(), DbError> {
        match self {
            Backend::Sqlite(conn) => {
                let mut stmt = conn.prepare_cached(sql)?;
                let mut rows = stmt.query(rusqlite::params_from_iter(
                    params.into_iter().map(Param::sqlite),
                ))?;
                while let Some(r) = rows.next()? {
                    f(&Row::Sqlite(r))?;
                }
                Ok(())
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres(client) => {
                let params: Vec<_> = params.into_iter().map(Param::postgres).collect();
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
                    params.iter().map(|p| p.as_ref()).collect();
                let mut client = client.0.borrow_mut();
                let client = client.as_mut().ok_or("the connection is closed")?;
                let rows = client
                    .query(sql, &refs)
                    .map_err(|e| crate::config::postgres::connect::describe(&e))?;
                for r in &rows {
                    f(&Row::Postgres(r))?;
                }
                Ok(())
            }
        }
    }
}
