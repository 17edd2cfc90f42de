//! Trace queries: [`TraceStore::query_traces`] and [`TraceStore::list_traces`] (a page of
//! traces by span filters, time, service, status, conversation and user), [`TraceStore::get_trace`] and
//! [`TraceStore::resolve_trace_id`] (a full id from its start or end).

use super::super::backend::{Dialect, Param};
use super::super::filter::{true_sql, where_clause, AttributeFilter};
use super::super::types::{Trace, TraceOrder, TraceQuery, TraceStatusFilter};
use super::super::{StoreError, TraceStore};
use super::rows::{like_pattern, sql_count, trace_cols, trace_from_row};
use crate::model::semconv::{CONVERSATION_ID, USER_ID};
use crate::model::time::sqlite_timestamp;

impl TraceStore {
    /// Traces with at least one span matching every filter, newest first by default.
    ///
    /// A trace is listed as soon as its first span is stored, so traces whose root span
    /// has not closed yet are found too (their [`Trace::root_span_id`] is `None`).
    ///
    /// ```no_run
    /// use llm_telemetry::store::{AttributeFilter, FilterOp, TraceOrder, TraceStore};
    ///
    /// let store = TraceStore::open("traces.db")?;
    /// let filters = [AttributeFilter::new("gen_ai.usage.input_tokens", FilterOp::Gt, 1000)];
    /// for t in store.query_traces(&filters, 100, 0, TraceOrder::Newest)? {
    ///     println!("{} {:?} {} ms", t.trace_id, t.root_span_name, t.duration_ms);
    /// }
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn query_traces(
        &self,
        filters: &[AttributeFilter],
        limit: usize,
        offset: usize,
        order_by: TraceOrder,
    ) -> Result<Vec<Trace>, StoreError> {
        self.list_traces(&TraceQuery {
            filters: filters.to_vec(),
            limit,
            offset,
            order: order_by,
            ..TraceQuery::default()
        })
    }

    /// Traces selected by a [`TraceQuery`] (what `llm-trace list` shows).
    ///
    /// ```no_run
    /// use llm_telemetry::store::{TraceQuery, TraceStatusFilter, TraceStore};
    ///
    /// let store = TraceStore::open("traces.db")?;
    /// let failed = store.list_traces(&TraceQuery {
    ///     status: Some(TraceStatusFilter::Error),
    ///     ..TraceQuery::default()
    /// })?;
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn list_traces(&self, q: &TraceQuery) -> Result<Vec<Trace>, StoreError> {
        let d = self.dialect();
        let mut params = Vec::new();
        let mut conds = Vec::new();
        if let Some(since) = q.since {
            let p = d.push_time(&mut params, sqlite_timestamp(since));
            conds.push(format!("t.timestamp >= {p}"));
        }
        if let Some(until) = q.until {
            let p = d.push_time(&mut params, sqlite_timestamp(until));
            conds.push(format!("t.timestamp < {p}"));
        }
        if let Some(service) = &q.service {
            let p = d.push(&mut params, Param::Text(service.clone()));
            conds.push(format!("t.service_name = {p}"));
        }
        match q.status {
            Some(TraceStatusFilter::Error) => conds.push("t.error_count > 0".into()),
            Some(TraceStatusFilter::Ok) => {
                conds.push("t.error_count = 0 AND t.root_span_id IS NOT NULL".into())
            }
            Some(TraceStatusFilter::Open) => {
                conds.push("t.error_count = 0 AND t.root_span_id IS NULL".into())
            }
            None => {}
        }
        // Each group of filters holds on one span of the trace; the groups may hold on
        // different spans (the user on a workflow span, the conversation on its turns).
        let session = q
            .session
            .iter()
            .map(|v| AttributeFilter::eq(CONVERSATION_ID, v.as_str()));
        let user = q
            .user
            .iter()
            .map(|v| AttributeFilter::eq(USER_ID, v.as_str()));
        let groups = std::iter::once(q.filters.clone())
            .chain(session.chain(user).map(|f| vec![f]))
            .filter(|g| !g.is_empty());
        for group in groups {
            let span_conds = where_clause(d, &group, "s", &mut params)?;
            conds.push(format!(
                "EXISTS (SELECT 1 FROM spans s WHERE s.trace_id = t.trace_id AND {span_conds})"
            ));
        }
        if let Some(text) = q.text.as_deref().filter(|t| !t.is_empty()) {
            let p = d.push(&mut params, Param::Text(like_pattern(text)));
            conds.push(match d {
                Dialect::Sqlite => format!(
                    "(EXISTS (SELECT 1 FROM spans s WHERE s.trace_id = t.trace_id \
                       AND (s.name LIKE {p} ESCAPE '\\' OR s.status_message LIKE {p} ESCAPE '\\' \
                            OR EXISTS (SELECT 1 FROM json_each(s.attributes) j \
                                        WHERE j.type NOT IN ('object', 'array', 'null') \
                                          AND CAST(j.value AS TEXT) LIKE {p} ESCAPE '\\'))) \
                      OR EXISTS (SELECT 1 FROM span_logs e WHERE e.trace_id = t.trace_id \
                       AND e.event_type = 'unstructured_log' AND e.message LIKE {p} ESCAPE '\\'))"
                ),
                // SQLite's LIKE is ASCII case-insensitive: ILIKE in the C collation.
                Dialect::Postgres => format!(
                    "(EXISTS (SELECT 1 FROM spans s WHERE s.trace_id = t.trace_id \
                       AND (s.name COLLATE \"C\" ILIKE {p} ESCAPE '\\' \
                            OR s.status_message COLLATE \"C\" ILIKE {p} ESCAPE '\\' \
                            OR EXISTS (SELECT 1 FROM jsonb_each(s.attributes) j \
                                        WHERE jsonb_typeof(j.value) IN ('string', 'number', 'boolean') \
                                          AND {} COLLATE \"C\" ILIKE {p} ESCAPE '\\'))) \
                      OR EXISTS (SELECT 1 FROM span_logs e WHERE e.trace_id = t.trace_id \
                       AND e.event_type = 'unstructured_log' \
                       AND e.message COLLATE \"C\" ILIKE {p} ESCAPE '\\'))",
                    pg_scalar_text("j.value")
                ),
            });
        }
        let conds = if conds.is_empty() {
            true_sql(d).to_string()
        } else {
            conds.join(" AND ")
        };
        let limit = d.push(&mut params, sql_count(q.limit));
        let offset = d.push(&mut params, sql_count(q.offset));
        // Select the page of ids first (a subquery with LIMIT is never flattened), then the
        // figures of just those traces: the planner cannot trade the index walk for
        // another plan, whatever the limit.
        let mut keys: Vec<String> = std::iter::once(q.order)
            .chain(q.then_by.iter().copied())
            .map(|o| o.key_sql(d))
            .collect();
        keys.push(match d {
            Dialect::Sqlite => "t.trace_id".into(),
            Dialect::Postgres => "t.trace_id COLLATE \"C\"".into(),
        });
        let order = keys.join(", ");
        let cols = trace_cols(d);
        let join = d.fixed_join();
        let sql = format!(
            "SELECT {cols} FROM \
               (SELECT t.trace_id FROM traces t WHERE {conds} ORDER BY {order} \
                LIMIT {limit} OFFSET {offset}) page \
             {join} traces t ON t.trace_id = page.trace_id ORDER BY {order}"
        );
        self.collect(&sql, params, trace_from_row)
    }

    /// One trace.
    ///
    /// ```no_run
    /// use llm_telemetry::store::{StoreError, TraceStore};
    ///
    /// let store = TraceStore::open("traces.db")?;
    /// match store.get_trace("00000000000000000000000000000000") {
    ///     Err(StoreError::TraceNotFound { trace_id }) => println!("no trace {trace_id}"),
    ///     other => println!("{other:?}"),
    /// }
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn get_trace(&self, trace_id: &str) -> Result<Trace, StoreError> {
        let d = self.dialect();
        let mut params = Vec::new();
        let id = d.push(&mut params, Param::Text(trace_id.into()));
        let sql = format!(
            "SELECT {} FROM traces t WHERE t.trace_id = {id}",
            trace_cols(d)
        );
        self.collect(&sql, params, trace_from_row)?
            .pop()
            .ok_or_else(|| StoreError::TraceNotFound {
                trace_id: trace_id.into(),
            })
    }

    /// The full trace id that starts or ends with `short` (at least 4 hex digits; a
    /// leading `…` or `...`, as `llm-trace list` prints the end of an id, is ignored). Fails
    /// with [`StoreError::TraceNotFound`] when none does and
    /// [`StoreError::AmbiguousTraceId`] when several do.
    ///
    /// Both ends are accepted because llm-telemetry's ids start with their time and a
    /// per-process sequence (so that the store's indexes append): traces of one process
    /// and second share their first 18 digits, and it is the end of an id, random, that
    /// tells them apart. Ids from other tracers (random throughout) work either way.
    ///
    /// ```no_run
    /// let store = llm_telemetry::store::TraceStore::open("traces.db")?;
    /// let id = store.resolve_trace_id("4bf92f35")?; // a prefix
    /// assert_eq!(id, store.resolve_trace_id("…0e0e4736")?); // or the end
    /// assert_eq!(id.len(), 32);
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn resolve_trace_id(&self, short: &str) -> Result<String, StoreError> {
        let short = short.trim();
        let short = short
            .strip_prefix('…')
            .or_else(|| short.strip_prefix("..."))
            .unwrap_or(short)
            .to_ascii_lowercase();
        if short.len() < 4 || short.len() > 32 || !short.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(StoreError::InvalidFilter {
                reason: format!(
                    "{short:?} is not a trace id or the start or end of one (4 to 32 hex digits)"
                ),
            });
        }
        // Range scan on the primary key: ids are lowercase hex, so every id with the
        // prefix sorts in [prefix, prefix + 'g').
        let upper = format!("{short}g");
        let d = self.dialect();
        let (by_start, by_end) = match d {
            Dialect::Sqlite => (
                "SELECT trace_id FROM traces WHERE trace_id >= ?1 AND trace_id < ?2 ORDER BY trace_id LIMIT 6",
                "SELECT trace_id FROM traces WHERE substr(trace_id, -?2) = ?1 LIMIT 6",
            ),
            Dialect::Postgres => (
                "SELECT trace_id FROM traces WHERE trace_id COLLATE \"C\" >= $1::text \
                   AND trace_id COLLATE \"C\" < $2::text ORDER BY trace_id COLLATE \"C\" LIMIT 6",
                "SELECT trace_id FROM traces WHERE right(trace_id, ($2::bigint)::int) = $1::text \
                   ORDER BY trace_id COLLATE \"C\" LIMIT 6",
            ),
        };
        let mut ids: Vec<String> = self.collect(
            by_start,
            vec![Param::Text(short.clone()), Param::Text(upper)],
            |r| r.get(0),
        )?;
        if short.len() < 32 {
            // No index serves the end of an id: one pass over the primary key (~10 ms per
            // 100,000 traces), only when it is asked for.
            let ends: Vec<String> = self.collect(
                by_end,
                vec![
                    Param::Text(short.clone()),
                    Param::Integer(short.len() as i64),
                ],
                |r| r.get(0),
            )?;
            for id in ends {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        match ids.len() {
            0 => Err(StoreError::TraceNotFound { trace_id: short }),
            1 => Ok(ids.into_iter().next().expect("one")),
            _ => {
                ids.truncate(6);
                Err(StoreError::AmbiguousTraceId {
                    prefix: short,
                    candidates: ids,
                })
            }
        }
    }
}

/// The PostgreSQL text of the scalar `jsonb` value `v` as SQLite's `CAST(value AS TEXT)`
/// renders a JSON scalar: a string unquoted, a number as written, `true` / `false` as
/// `1` / `0`.
pub(super) fn pg_scalar_text(v: &str) -> String {
    format!(
        "(CASE jsonb_typeof({v}) WHEN 'string' THEN {v} #>> '{{}}' \
          WHEN 'boolean' THEN (CASE WHEN {v}::text = 'true' THEN '1' ELSE '0' END) \
          ELSE {v}::text END)"
    )
}
