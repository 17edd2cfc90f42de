//! Span queries: one span ([`TraceStore::get_span`]), a trace's spans
//! ([`TraceStore::get_trace_spans`]), a span and its descendants
//! ([`TraceStore::get_span_tree`]) and the spans of matching traces by depth
//! ([`TraceStore::query_spans`]); with the tree building and depth computation they use.

use std::collections::{HashMap, HashSet};

use super::super::backend::{Dialect, Param};
use super::super::filter::AttributeFilter;
use super::super::types::{Span, SpanWithChildren, TraceOrder, TraceQuery};
use super::super::{StoreError, TraceStore};
use super::rows::{project, span_cols, span_from_row};

impl TraceStore {
    /// One span of a trace.
    ///
    /// ```no_run
    /// let store = llm_telemetry::store::TraceStore::open("traces.db")?;
    /// let span = store.get_span("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")?;
    /// println!("{} took {:?} ms", span.name, span.duration_ms);
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn get_span(&self, trace_id: &str, span_id: &str) -> Result<Span, StoreError> {
        let d = self.dialect();
        let mut params = Vec::new();
        let span = d.push(&mut params, Param::Text(span_id.into()));
        let trace = d.push(&mut params, Param::Text(trace_id.into()));
        let sql = format!(
            "SELECT {} FROM spans s WHERE s.span_id = {span} AND s.trace_id = {trace}",
            span_cols(d)
        );
        self.collect(&sql, params, |r| span_from_row(r, None))?
            .pop()
            .ok_or_else(|| StoreError::SpanNotFound {
                span_id: span_id.into(),
            })
    }

    /// All spans of a trace, in start order (empty for an unknown trace).
    ///
    /// ```no_run
    /// let store = llm_telemetry::store::TraceStore::open("traces.db")?;
    /// let spans = store.get_trace_spans("4bf92f3577b34da6a3ce929d0e0e4736")?;
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn get_trace_spans(&self, trace_id: &str) -> Result<Vec<Span>, StoreError> {
        let d = self.dialect();
        let mut params = Vec::new();
        let trace = d.push(&mut params, Param::Text(trace_id.into()));
        let sql = format!(
            "SELECT {} FROM spans s WHERE s.trace_id = {trace} ORDER BY s.start_time, {}",
            span_cols(d),
            span_id_key(d)
        );
        self.collect(&sql, params, |r| span_from_row(r, None))
    }

    /// A span and its descendants.
    ///
    /// `max_depth` counts levels below the span: `Some(0)` is the span alone, `Some(1)`
    /// adds its children, `Some(2)` its grandchildren, ...; `None` is the whole subtree.
    /// `attributes_to_return` keeps only the named attributes of each span (`None`: all).
    /// An unknown span is [`StoreError::SpanNotFound`].
    ///
    /// ```no_run
    /// let store = llm_telemetry::store::TraceStore::open("traces.db")?;
    /// let tree = store.get_span_tree(
    ///     "00f067aa0ba902b7",
    ///     Some(&["gen_ai.request.model", "gen_ai.usage.input_tokens"]),
    ///     Some(2),
    /// )?;
    /// for node in tree.iter() {
    ///     println!("{}{} {:?}", "  ".repeat(node.depth as usize), node.span.name, node.span.attributes);
    /// }
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn get_span_tree(
        &self,
        span_id: &str,
        attributes_to_return: Option<&[&str]>,
        max_depth: Option<u32>,
    ) -> Result<SpanWithChildren, StoreError> {
        // Depth-limited walk down (trace_id, parent_span_id): the index serves each step.
        // The depth cap also ends the walk on (corrupt) cyclic parent links. CROSS JOIN
        // fixes the join order: left to itself, SQLite may scan every span and probe the
        // (small) tree instead.
        let d = self.dialect();
        let cols = span_cols(d);
        let sql = match d {
            Dialect::Sqlite => format!(
                "WITH RECURSIVE tree(span_id, trace_id, depth) AS ( \
                   SELECT span_id, trace_id, 0 FROM spans WHERE span_id = ?1 \
                   UNION ALL \
                   SELECT c.span_id, c.trace_id, tree.depth + 1 FROM tree CROSS JOIN spans c \
                     ON c.trace_id = tree.trace_id AND c.parent_span_id = tree.span_id \
                   WHERE tree.depth < ?2) \
                 SELECT {cols}, tree.depth FROM tree CROSS JOIN spans s ON s.span_id = tree.span_id \
                 ORDER BY tree.depth, s.start_time, s.span_id"
            ),
            Dialect::Postgres => format!(
                "WITH RECURSIVE tree(span_id, trace_id, depth) AS ( \
                   SELECT span_id, trace_id, 0::bigint FROM spans WHERE span_id = $1::text \
                   UNION ALL \
                   SELECT c.span_id, c.trace_id, tree.depth + 1 FROM tree JOIN spans c \
                     ON c.trace_id = tree.trace_id AND c.parent_span_id = tree.span_id \
                   WHERE tree.depth < $2::bigint) \
                 SELECT {cols}, tree.depth FROM tree JOIN spans s ON s.span_id = tree.span_id \
                 ORDER BY tree.depth, s.start_time, s.span_id COLLATE \"C\""
            ),
        };
        let depth = i64::from(max_depth.unwrap_or(100_000));
        let rows: Vec<(Span, u32)> = self.collect(
            &sql,
            vec![Param::Text(span_id.into()), Param::Integer(depth)],
            |r| Ok((span_from_row(r, attributes_to_return)?, r.get(13)?)),
        )?;
        build_tree(rows).ok_or_else(|| StoreError::SpanNotFound {
            span_id: span_id.into(),
        })
    }

    /// The spans of the traces that match `filters` (as in [`TraceStore::query_traces`]),
    /// each with its own real `trace_id`, in trace then start order.
    ///
    /// `max_depth` counts from each trace's top: depth 0 is the root span (or, while the
    /// root is still open, each span whose parent is not stored), 1 its children, ...;
    /// `None` returns every level. With `attributes_to_return`, only spans that carry all
    /// of the named attributes are returned, with just those attributes (llama-stack's
    /// behaviour, for building evaluation data sets).
    ///
    /// ```no_run
    /// use llm_telemetry::store::{AttributeFilter, TraceStore};
    ///
    /// let store = TraceStore::open("traces.db")?;
    /// let spans = store.query_spans(
    ///     &[AttributeFilter::eq("gen_ai.agent.name", "planner")],
    ///     Some(&["gen_ai.request.model", "gen_ai.usage.output_tokens"]),
    ///     None,
    /// )?;
    /// # Ok::<(), llm_telemetry::store::StoreError>(())
    /// ```
    pub fn query_spans(
        &self,
        filters: &[AttributeFilter],
        attributes_to_return: Option<&[&str]>,
        max_depth: Option<u32>,
    ) -> Result<Vec<Span>, StoreError> {
        let traces = self.list_traces(&TraceQuery {
            filters: filters.to_vec(),
            limit: usize::MAX >> 1,
            order: TraceOrder::Oldest,
            ..TraceQuery::default()
        })?;
        let mut out = Vec::new();
        for trace in traces {
            let spans = self.get_trace_spans(&trace.trace_id)?;
            let depths = depths(&spans);
            for (span, depth) in spans.into_iter().zip(depths) {
                if max_depth.is_some_and(|m| depth > m) {
                    continue;
                }
                match attributes_to_return {
                    Some(keep) => {
                        if keep
                            .iter()
                            .all(|k| span.attributes.get(*k).is_some_and(|v| !v.is_null()))
                        {
                            out.push(project(span, keep));
                        }
                    }
                    None => out.push(span),
                }
            }
        }
        Ok(out)
    }
}

/// The span id as the last ORDER BY key: bytewise, as SQLite sorts it.
fn span_id_key(d: Dialect) -> &'static str {
    match d {
        Dialect::Sqlite => "s.span_id",
        Dialect::Postgres => "s.span_id COLLATE \"C\"",
    }
}

/// Rows in (depth, start) order, the first being the top: assemble the tree.
fn build_tree(rows: Vec<(Span, u32)>) -> Option<SpanWithChildren> {
    let mut nodes: Vec<SpanWithChildren> = rows
        .into_iter()
        .map(|(span, depth)| SpanWithChildren {
            span,
            depth,
            children: Vec::new(),
        })
        .collect();
    if nodes.is_empty() {
        return None;
    }
    // Attach deepest first, so each node is complete when it moves into its parent.
    let index: HashMap<String, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.span.span_id.clone(), i))
        .collect();
    let mut slots: Vec<Option<SpanWithChildren>> = nodes.drain(..).map(Some).collect();
    for i in (1..slots.len()).rev() {
        let node = slots[i].take().expect("each node moves once");
        let parent = node
            .span
            .parent_span_id
            .as_ref()
            .and_then(|p| index.get(p))
            .copied();
        if let Some(p) = parent.filter(|&p| p < i) {
            slots[p]
                .as_mut()
                .expect("parents are shallower")
                .children
                .push(node);
        }
    }
    let mut root = slots[0].take()?;
    fn order(n: &mut SpanWithChildren) {
        n.children.reverse();
        n.children.sort_by(|a, b| {
            a.span
                .start_time
                .cmp(&b.span.start_time)
                .then_with(|| a.span.span_id.cmp(&b.span.span_id))
        });
        n.children.iter_mut().for_each(order);
    }
    order(&mut root);
    Some(root)
}

/// The depth of each span of one trace below the trace's top spans (a span whose parent
/// is not among them has depth 0).
fn depths(spans: &[Span]) -> Vec<u32> {
    let ids: HashMap<&str, usize> = spans
        .iter()
        .enumerate()
        .map(|(i, s)| (s.span_id.as_str(), i))
        .collect();
    let mut memo: Vec<Option<u32>> = vec![None; spans.len()];
    for i in 0..spans.len() {
        // Walk up until a known depth or a top; guard against cycles.
        let mut chain = Vec::new();
        let mut seen = HashSet::new();
        let mut cur = i;
        let base = loop {
            if let Some(d) = memo[cur] {
                break d + 1;
            }
            if !seen.insert(cur) {
                break 0;
            }
            chain.push(cur);
            match spans[cur]
                .parent_span_id
                .as_deref()
                .and_then(|p| ids.get(p))
            {
                Some(&p) => cur = p,
                None => break 0,
            }
        };
        for (d, &c) in (base..).zip(chain.iter().rev()) {
            memo[c] = Some(d);
        }
    }
    memo.into_iter().map(|d| d.unwrap_or(0)).collect()
}
