//! Conversations ([`TraceStore::sessions`]): the spans that carry a
//! `gen_ai.conversation.id`, grouped by it, with their turns, traces, end user, tokens and
//! cost.

use super::super::backend::{pg_time, AnyText, Dialect, Param};
use super::super::types::{SessionQuery, SessionSummary};
use super::super::{StoreError, TraceStore};
use super::rows::{pg_num, spans_since, sql_count};

/// The spans of conversations (`sess`), from all spans or, with `--since`, from the traces
/// that ended since then (a span started since then is in one): `{from}` and `{since}`.
/// Then the page of conversations (`sel`, `{user}` filtering them), the spans below theirs
/// (`sub`; `UNION` keeps each span once per conversation, so a turn inside a workflow of
/// the same conversation does not count its inferences twice), their inference spans'
/// usage (`tok`) and the users of their traces (`usr`, `who`: the one seen first).
/// PostgreSQL's spelling is [`pg_sessions_sql`].
const SESSIONS_SQL: &str = r#"
WITH RECURSIVE
sess AS MATERIALIZED (
    SELECT CAST(json_extract(s.attributes, '$."gen_ai.conversation.id"') AS TEXT) AS conv,
           s.trace_id, s.span_id, s.start_time,
           COALESCE(s.end_time, s.start_time) AS end_time,
           json_extract(s.attributes, '$."gen_ai.operation.name"') IS 'invoke_agent' AS turn
      FROM {from}
     WHERE json_extract(s.attributes, '$."gen_ai.conversation.id"') IS NOT NULL {since}
),
sel AS MATERIALIZED (
    SELECT conv, MIN(start_time) AS first, MAX(end_time) AS last,
           SUM(turn) AS turns, COUNT(DISTINCT trace_id) AS traces
      FROM sess {user}
     GROUP BY conv ORDER BY last DESC, conv LIMIT {limit}
),
sub(conv, trace_id, span_id) AS (
    SELECT sess.conv, sess.trace_id, sess.span_id FROM sel CROSS JOIN sess ON sess.conv = sel.conv
    UNION
    SELECT sub.conv, c.trace_id, c.span_id
      FROM sub CROSS JOIN spans c ON c.trace_id = sub.trace_id AND c.parent_span_id = sub.span_id
),
tok AS (
    SELECT sub.conv,
           SUM(json_extract(i.attributes, '$."gen_ai.usage.input_tokens"')) AS input,
           SUM(json_extract(i.attributes, '$."gen_ai.usage.output_tokens"')) AS output,
           SUM(json_extract(i.attributes, '$."gen_ai.usage.cost"')) AS cost
      FROM sub CROSS JOIN spans i ON i.span_id = sub.span_id
     WHERE i.category = 'inference'
     GROUP BY sub.conv
),
usr AS (
    SELECT x.conv, CAST(json_extract(u.attributes, '$."user.id"') AS TEXT) AS uid,
           MIN(u.start_time) AS seen
      FROM (SELECT DISTINCT sess.conv, sess.trace_id
              FROM sel CROSS JOIN sess ON sess.conv = sel.conv) x
     CROSS JOIN spans u ON u.trace_id = x.trace_id
     WHERE json_extract(u.attributes, '$."user.id"') IS NOT NULL
     GROUP BY x.conv, uid
),
who AS (
    SELECT conv, uid, COUNT(*) OVER (PARTITION BY conv) AS users,
           ROW_NUMBER() OVER (PARTITION BY conv ORDER BY seen, uid) AS pos
      FROM usr
)
SELECT sel.conv, who.uid, COALESCE(who.users, 0), sel.turns, sel.traces,
       COALESCE(tok.input, 0), COALESCE(tok.output, 0), tok.cost, sel.first, sel.last
  FROM sel
  LEFT JOIN tok ON tok.conv = sel.conv
  LEFT JOIN who ON who.conv = sel.conv AND who.pos = 1
 ORDER BY sel.last DESC, sel.conv
"#;

/// [`SESSIONS_SQL`] in PostgreSQL's spelling: the same steps, text ordered bytewise.
fn pg_sessions_sql() -> String {
    let conv = "s.attributes ->> 'gen_ai.conversation.id'";
    format!(
        r#"
WITH RECURSIVE
sess AS MATERIALIZED (
    SELECT {conv} AS conv, s.trace_id, s.span_id, s.start_time,
           COALESCE(s.end_time, s.start_time) AS end_time,
           (CASE WHEN s.attributes ->> 'gen_ai.operation.name' = 'invoke_agent' THEN 1 ELSE 0 END) AS turn
      FROM {{from}}
     WHERE {conv} IS NOT NULL {{since}}
),
sel AS MATERIALIZED (
    SELECT conv, MIN(start_time) AS first, MAX(end_time) AS last,
           SUM(turn)::bigint AS turns, COUNT(DISTINCT trace_id) AS traces
      FROM sess {{user}}
     GROUP BY conv ORDER BY last DESC, conv COLLATE "C" LIMIT {{limit}}
),
sub(conv, trace_id, span_id) AS (
    SELECT sess.conv, sess.trace_id, sess.span_id FROM sel JOIN sess ON sess.conv = sel.conv
    UNION
    SELECT sub.conv, c.trace_id, c.span_id
      FROM sub JOIN spans c ON c.trace_id = sub.trace_id AND c.parent_span_id = sub.span_id
),
tok AS (
    SELECT sub.conv, SUM({input}) AS input, SUM({output}) AS output, SUM({cost}) AS cost
      FROM sub JOIN spans i ON i.span_id = sub.span_id
     WHERE i.category = 'inference'
     GROUP BY sub.conv
),
usr AS (
    SELECT x.conv, u.attributes ->> 'user.id' AS uid, MIN(u.start_time) AS seen
      FROM (SELECT DISTINCT sess.conv, sess.trace_id
              FROM sel JOIN sess ON sess.conv = sel.conv) x
      JOIN spans u ON u.trace_id = x.trace_id
     WHERE u.attributes ->> 'user.id' IS NOT NULL
     GROUP BY x.conv, u.attributes ->> 'user.id'
),
who AS (
    SELECT conv, uid, COUNT(*) OVER (PARTITION BY conv) AS users,
           ROW_NUMBER() OVER (PARTITION BY conv ORDER BY seen, uid COLLATE "C") AS pos
      FROM usr
)
SELECT sel.conv, who.uid, COALESCE(who.users, 0), sel.turns, sel.traces,
       COALESCE(tok.input, 0), COALESCE(tok.output, 0), tok.cost, {first}, {last}
  FROM sel
  LEFT JOIN tok ON tok.conv = sel.conv
  LEFT JOIN who ON who.conv = sel.conv AND who.pos = 1
 ORDER BY sel.last DESC, sel.conv COLLATE "C"
"#,
        input = pg_num("i", "gen_ai.usage.input_tokens"),
        output = pg_num("i", "gen_ai.usage.output_tokens"),
        cost = pg_num("i", "gen_ai.usage.cost"),
        first = pg_time("sel.first"),
        last = pg_time("sel.last"),
    )
}

impl TraceStore {
    /// Conversations, most recently active first: one [`SessionSummary`] per value of
    /// `gen_ai.conversation.id` (what `llm-trace sessions` shows).
    ///
    /// A conversation's spans are the spans with that `gen_ai.conversation.id`: its agent
    /// turns (`session = ...`), and workflows or other spans that carry it. From them:
    ///
    /// - `turns`: those with `gen_ai.operation.name = invoke_agent`;
    /// - `traces`: the traces they are in; `first_time` / `last_time`: their earliest
    ///   start and latest end;
    /// - tokens and cost: `gen_ai.usage.input_tokens`, `gen_ai.usage.output_tokens` and
    ///   `gen_ai.usage.cost` summed over the *inference* spans (category `inference`, as in
    ///   [`Trace::total_tokens`](super::super::Trace::total_tokens)) among them and their
    ///   descendants, each span once per conversation. Turns and workflows carry their
    ///   own totals under `llm_telemetry.usage.*`, never summed here, so a token is
    ///   counted once however the spans nest; an inference of the same trace outside the
    ///   conversation's spans (another conversation's turn) is not counted. `cost` is
    ///   `None` when no inference span has a price;
    /// - `user_id`: the `user.id` seen first in those traces, on any span (a turn's
    ///   `user = ...` or the workflow around it); `users` counts the distinct ones.
    ///
    /// [`SessionQuery::since`] counts only spans started since then (a conversation
    /// active since then, with what it did since then); [`SessionQuery::user`] keeps the
    /// conversations whose traces carry that `user.id` (on any span).
    ///
    /// It reads every span once (every trace that ended since `since`, and its spans,
    /// with `since`), then only the spans of the conversations returned.
    ///
    /// ```no_run
    /// use llm_telemetry::store::{SessionQuery, TraceStore};
    ///
    /// let store = TraceStore::open("traces.db")?;
    /// let mine = store.sessions(&SessionQuery {
    ///     user: Some("alice".into()),
    ///     limit: 10,
    ///     ..SessionQuery::default()
    /// })?;
    /// for s in &mine {
    ///     println!("{}: {} turns, {} tokens, ${:.4}", s.conversation_id, s.turns,
    ///              s.total_tokens, s.cost.unwrap_or(0.0));
    /// }
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn sessions(&self, q: &SessionQuery) -> Result<Vec<SessionSummary>, StoreError> {
        let d = self.dialect();
        let mut params = Vec::new();
        let (from, since) = spans_since(d, &mut params, q.since);
        let user = match &q.user {
            Some(user) => {
                let p = d.push(&mut params, Param::Text(user.clone()));
                let uid = match d {
                    Dialect::Sqlite => "json_extract(u.attributes, '$.\"user.id\"')",
                    Dialect::Postgres => "u.attributes ->> 'user.id'",
                };
                format!(
                    "WHERE conv IN (SELECT x.conv FROM sess x {} spans u ON u.trace_id = x.trace_id \
                     WHERE {uid} = {p})",
                    d.fixed_join()
                )
            }
            None => String::new(),
        };
        let limit = d.push(&mut params, sql_count(q.limit));
        let template = match d {
            Dialect::Sqlite => SESSIONS_SQL.to_string(),
            Dialect::Postgres => pg_sessions_sql(),
        };
        let sql = template
            .replace("{from}", &from)
            .replace("{since}", &since)
            .replace("{user}", &user)
            .replace("{limit}", &limit);
        self.collect(&sql, params, |r| {
            let input = r.get::<f64>(5)? as u64;
            let output = r.get::<f64>(6)? as u64;
            Ok(SessionSummary {
                conversation_id: r.get::<AnyText>(0)?.0.unwrap_or_default(),
                user_id: r.get(1)?,
                users: r.get::<i64>(2)? as u64,
                turns: r.get::<i64>(3)? as u64,
                traces: r.get::<i64>(4)? as u64,
                input_tokens: input,
                output_tokens: output,
                total_tokens: input + output,
                cost: r.get(7)?,
                first_time: r.get(8)?,
                last_time: r.get(9)?,
            })
        })
    }
}
