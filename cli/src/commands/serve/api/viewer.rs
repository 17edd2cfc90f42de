//! The JSON routes of the web viewer, under `/api/`: a page of traces with their cost and
//! models ([`list_traces`]), one trace with all its spans and events ([`get_trace`]),
//! conversations with their turns ([`list_sessions`]), tokens, cost, latency and errors
//! over time ([`get_stats`]) and the values the trace list filters by ([`get_facets`]).
//!
//! They are `GET` routes with query-string parameters (so a page's URL is its query), read
//! the store through the same pooled handles as llama-stack's routes, and answer a
//! missing store with empty results and `"store": "missing"` (the viewer says so) rather
//! than an error. Every parameter is validated and bound; a bad one is a 400 naming it.

use std::time::{Duration, SystemTime};

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use llm_telemetry::store::{
    parse_age, parse_timestamp, AttributeFilter, SessionQuery, SessionSummary, SlowSpan, Span,
    SpanEvent, StoreStats, Timeline, Trace, TraceCost, TraceFacets, TraceOrder, TraceQuery,
    TraceStatusFilter, TraceStore,
};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use super::error::ApiError;
use super::path::IdPath;
use crate::commands::serve::state::AppState;
use crate::format::short_id;

/// The most traces one page of [`list_traces`] returns.
const MAX_PAGE: usize = 500;
/// The most turns [`list_sessions`] lists per conversation.
const MAX_TURNS: usize = 200;
/// Buckets of the stats page's charts.
const BUCKETS: u64 = 48;

/// The viewer's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/traces", get(list_traces))
        .route("/api/traces/{*id}", get(get_trace))
        .route("/api/sessions", get(list_sessions))
        .route("/api/stats", get(get_stats))
        .route("/api/facets", get(get_facets))
}

/// The OpenAPI description of the viewer's routes (merged into `/openapi.json`).
#[derive(OpenApi)]
#[openapi(
    paths(list_traces, get_trace, list_sessions, get_stats, get_facets),
    tags((name = "viewer", description = "The web viewer's JSON routes"))
)]
pub struct ViewerDoc;

// ------------------------------------------------------------------ parameters

/// The query string as `(name, value)` pairs, percent-decoded.
struct Params(Vec<(String, String)>);

impl Params {
    fn new(raw: Option<String>) -> Params {
        Params(
            form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                .into_owned()
                .collect(),
        )
    }

    /// The last non-empty value of `name`.
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim())
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim())
    }

    fn count(&self, name: &str, default: usize, max: usize) -> Result<usize, ApiError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse::<usize>()
                .map(|n| n.min(max))
                .map_err(|_| ApiError::Invalid(format!("{name}={v:?} is not a whole number"))),
        }
    }

    /// A time: an age back from now (`30m`, `24h`, `7d`) or a UTC timestamp
    /// (`2026-12-03T08:00:00Z`, or the store's `2026-12-03 08:00:00`).
    fn time(&self, name: &str) -> Result<Option<SystemTime>, ApiError> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        if let Some(age) = parse_age(v) {
            return Ok(Some(
                SystemTime::now()
                    .checked_sub(age)
                    .unwrap_or(SystemTime::UNIX_EPOCH),
            ));
        }
        parse_timestamp(v.trim_end_matches('Z'))
            .map(Some)
            .ok_or_else(|| {
                ApiError::Invalid(format!(
                    "{name}={v:?} is neither an age (30m, 24h, 7d) nor a UTC time (2026-12-03T08:00:00Z)"
                ))
            })
    }
}

// ------------------------------------------------------------------ answers

/// How the store was found: `ok`, or `missing` (no file yet: every list is empty).
#[derive(Serialize, ToSchema, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
pub enum StoreState {
    /// The store exists.
    Ok,
    /// There is no store at the path yet.
    Missing,
}

/// A trace in the viewer's list: the store's trace, its short id, cost and models.
#[derive(Serialize, ToSchema)]
pub struct TraceRow {
    /// The trace, as `llm-trace list --json` prints it.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub trace: Trace,
    /// The part of the id that `llm-trace` shows and accepts (`…` and its last digits).
    pub short_id: String,
    /// `gen_ai.usage.cost` (USD) of its inference spans; `null` when none has one.
    pub cost: Option<f64>,
    /// The models of its inference spans.
    pub models: Vec<String>,
    /// Its inference spans.
    pub inference_calls: u64,
}

/// A page of traces.
#[derive(Serialize, ToSchema)]
pub struct TracePage {
    /// `ok` or `missing`.
    pub store: StoreState,
    /// The store's path.
    pub path: String,
    /// The traces, newest first.
    pub traces: Vec<TraceRow>,
    /// The offset of the first.
    pub offset: usize,
    /// The page size asked for.
    pub limit: usize,
    /// Whether more traces match after this page.
    pub has_more: bool,
}

/// One trace with everything the waterfall shows.
#[derive(Serialize, ToSchema)]
pub struct TraceDetail {
    /// The trace, its short id, cost and models.
    pub trace: TraceRow,
    /// Its spans, in start order, with all their attributes.
    #[schema(value_type = Vec<Object>)]
    pub spans: Vec<Span>,
    /// The logs and metric events of its spans, in time order.
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<SpanEvent>,
}

/// A conversation and its turns.
#[derive(Serialize, ToSchema)]
pub struct Session {
    /// As `llm-trace sessions --json` prints it.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub summary: SessionSummary,
    /// Its traces, oldest first (at most 200): its turns, each a trace.
    pub trace_rows: Vec<TraceRow>,
}

/// Conversations, most recently active first.
#[derive(Serialize, ToSchema)]
pub struct Sessions {
    /// `ok` or `missing`.
    pub store: StoreState,
    /// The conversations.
    pub sessions: Vec<Session>,
}

/// What the stats page draws.
#[derive(Serialize, ToSchema)]
pub struct Stats {
    /// `ok` or `missing`.
    pub store: StoreState,
    /// Counts, error rate, tokens and cost by model, latency p50/p95 by span name.
    #[schema(value_type = Object)]
    pub summary: Option<StoreStats>,
    /// Traces, errors, tokens and cost by model over time.
    #[schema(value_type = Object)]
    pub timeline: Option<Timeline>,
    /// The slowest spans.
    #[schema(value_type = Vec<Object>)]
    pub slowest: Vec<SlowSpan>,
}

/// The values the trace list filters by.
#[derive(Serialize, ToSchema)]
pub struct Facets {
    /// `ok` or `missing`.
    pub store: StoreState,
    /// Services and models.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub facets: TraceFacets,
}

fn state_of(store: Option<&TraceStore>) -> StoreState {
    if store.is_some() {
        StoreState::Ok
    } else {
        StoreState::Missing
    }
}

/// Rows for `traces`, with their costs (one query for the page).
fn rows(store: &TraceStore, traces: Vec<Trace>) -> Result<Vec<TraceRow>, ApiError> {
    let ids: Vec<&str> = traces.iter().map(|t| t.trace_id.as_str()).collect();
    let mut costs = store.trace_costs(&ids)?;
    Ok(traces
        .into_iter()
        .map(|trace| {
            let cost = costs
                .iter()
                .position(|c| c.trace_id == trace.trace_id)
                .map(|i| costs.swap_remove(i));
            row(trace, cost)
        })
        .collect())
}

fn row(trace: Trace, cost: Option<TraceCost>) -> TraceRow {
    let (cost, models, inference_calls) = match cost {
        Some(c) => (c.cost, c.models, c.inference_calls),
        None => (None, Vec::new(), 0),
    };
    TraceRow {
        short_id: short_id(&trace.trace_id),
        trace,
        cost,
        models,
        inference_calls,
    }
}

// ------------------------------------------------------------------ routes

/// A page of traces, newest first. Filters: `since` / `until` (an age such as `1h`, or a
/// UTC time), `status` (`ok`, `error`, `open`), `service`, `model`, `q` (text in a span's
/// name, error, attribute values or logs), `session`, `filter` (repeatable,
/// `KEY:OP:VALUE` with op `eq`, `ne`, `gt`, `lt`: one span matches them all); `limit`
/// (default 50, at most 500) and `offset`.
#[utoipa::path(get, path = "/api/traces", tag = "viewer", operation_id = "viewer_list_traces",
    params(
        ("since" = Option<String>, Query, description = "An age (30m, 24h, 7d) or a UTC time"),
        ("until" = Option<String>, Query, description = "An age or a UTC time"),
        ("status" = Option<String>, Query, description = "ok, error or open"),
        ("service" = Option<String>, Query), ("model" = Option<String>, Query),
        ("q" = Option<String>, Query, description = "Free text: span names, errors, attribute values, logs"),
        ("session" = Option<String>, Query, description = "gen_ai.conversation.id"),
        ("filter" = Option<Vec<String>>, Query, description = "KEY:OP:VALUE, repeatable"),
        ("limit" = Option<usize>, Query), ("offset" = Option<usize>, Query)),
    responses((status = 200, body = TracePage), (status = 400, description = "A bad parameter")))]
pub async fn list_traces(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<TracePage>, ApiError> {
    let p = Params::new(raw);
    let mut filters = p
        .all("filter")
        .map(|f| f.parse::<AttributeFilter>().map_err(ApiError::from))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(model) = p.get("model") {
        filters.push(AttributeFilter::eq("gen_ai.request.model", model));
    }
    let limit = p.count("limit", 50, MAX_PAGE)?;
    let offset = p.count("offset", 0, usize::MAX)?;
    let query = TraceQuery {
        filters,
        since: p.time("since")?,
        until: p.time("until")?,
        service: p.get("service").map(str::to_owned),
        status: p
            .get("status")
            .map(str::parse::<TraceStatusFilter>)
            .transpose()?,
        session: p.get("session").map(str::to_owned),
        text: p.get("q").map(str::to_owned),
        // One more than asked: whether there is a next page.
        limit: limit + 1,
        offset,
        order: TraceOrder::Newest,
        ..TraceQuery::default()
    };
    let path = state.db_shown().to_owned();
    state
        .read(move |store| {
            let Some(store) = store else {
                return Ok(TracePage {
                    store: StoreState::Missing,
                    path,
                    traces: Vec::new(),
                    offset,
                    limit,
                    has_more: false,
                });
            };
            let mut traces = store.list_traces(&query)?;
            let has_more = traces.len() > limit;
            traces.truncate(limit);
            Ok(TracePage {
                store: StoreState::Ok,
                path,
                traces: rows(store, traces)?,
                offset,
                limit,
                has_more,
            })
        })
        .await
        .map(Json)
}

/// One trace with all its spans and their logs and events. `id` is the full id or the
/// start or end of one, as `llm-trace show` accepts it (`…0e0e4736`).
#[utoipa::path(get, path = "/api/traces/{id}", tag = "viewer", operation_id = "viewer_get_trace",
    params(("id" = String, Path, description = "A trace id, or its start or end (4+ hex digits)")),
    responses((status = 200, body = TraceDetail), (status = 400, description = "No such trace, or an ambiguous id")))]
pub async fn get_trace(
    State(state): State<AppState>,
    IdPath(id): IdPath,
) -> Result<Json<TraceDetail>, ApiError> {
    state
        .read(move |store| {
            let Some(store) = store else {
                return Err(ApiError::Invalid(format!(
                    "Trace {id} not found: there is no store yet"
                )));
            };
            let full = store.resolve_trace_id(&id).map_err(|e| match e {
                llm_telemetry::store::StoreError::AmbiguousTraceId { .. } => {
                    ApiError::Invalid(e.to_string())
                }
                other => ApiError::from(other),
            })?;
            let trace = store.get_trace(&full)?;
            let spans = store.get_trace_spans(&full)?;
            let events = store.get_trace_events(&full)?;
            let mut row = rows(store, vec![trace])?;
            Ok(TraceDetail {
                trace: row.pop().expect("one row per trace"),
                spans,
                events,
            })
        })
        .await
        .map(Json)
}

/// Conversations (`gen_ai.conversation.id`), most recently active first, each with its
/// traces oldest first. `since` (an age or a UTC time), `user`, `limit` (default 50).
#[utoipa::path(get, path = "/api/sessions", tag = "viewer", operation_id = "viewer_list_sessions",
    params(("since" = Option<String>, Query), ("user" = Option<String>, Query), ("limit" = Option<usize>, Query)),
    responses((status = 200, body = Sessions), (status = 400, description = "A bad parameter")))]
pub async fn list_sessions(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Sessions>, ApiError> {
    let p = Params::new(raw);
    let query = SessionQuery {
        since: p.time("since")?,
        user: p.get("user").map(str::to_owned),
        limit: p.count("limit", 50, MAX_PAGE)?,
    };
    state
        .read(move |store| {
            let Some(store) = store else {
                return Ok(Sessions {
                    store: StoreState::Missing,
                    sessions: Vec::new(),
                });
            };
            let summaries = store.sessions(&query)?;
            // The traces of all of them in one pass, then each trace by its id.
            let ids: Vec<&str> = summaries
                .iter()
                .map(|s| s.conversation_id.as_str())
                .collect();
            let pairs = store.conversation_traces(&ids, query.since)?;
            let mut sessions = Vec::new();
            for summary in summaries {
                let traces = pairs
                    .iter()
                    .filter(|(conv, _)| *conv == summary.conversation_id)
                    .take(MAX_TURNS)
                    .map(|(_, id)| store.get_trace(id))
                    .collect::<Result<Vec<_>, _>>()?;
                sessions.push(Session {
                    summary,
                    trace_rows: rows(store, traces)?,
                });
            }
            Ok(Sessions {
                store: StoreState::Ok,
                sessions,
            })
        })
        .await
        .map(Json)
}

/// Counts, tokens and cost by model (in total and over time), latency p50/p95 by span
/// name, the error rate over time and the slowest spans, since `since` (default `24h`;
/// `all` for everything), in 48 buckets.
#[utoipa::path(get, path = "/api/stats", tag = "viewer", operation_id = "viewer_stats",
    params(("since" = Option<String>, Query, description = "An age, a UTC time, or `all`")),
    responses((status = 200, body = Stats), (status = 400, description = "A bad parameter")))]
pub async fn get_stats(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Stats>, ApiError> {
    let p = Params::new(raw);
    let since = match p.get("since") {
        Some("all") => None,
        None => Some(SystemTime::now() - Duration::from_secs(24 * 3600)),
        Some(_) => p.time("since")?,
    };
    state
        .read(move |store| {
            let Some(store) = store else {
                return Ok(Stats {
                    store: StoreState::Missing,
                    summary: None,
                    timeline: None,
                    slowest: Vec::new(),
                });
            };
            let summary = store.stats(since)?;
            // The time axis: from `since` (or the oldest trace) to now.
            let from = match since {
                Some(t) => Some(t),
                None => store
                    .list_traces(&TraceQuery {
                        order: TraceOrder::Oldest,
                        limit: 1,
                        ..TraceQuery::default()
                    })?
                    .first()
                    .and_then(Trace::start),
            };
            let timeline = match from {
                Some(from) => {
                    let span = SystemTime::now()
                        .duration_since(from)
                        .unwrap_or_default()
                        .as_secs();
                    Some(store.timeline(from, Duration::from_secs(nice_bucket(span / BUCKETS)))?)
                }
                None => None,
            };
            let slowest = store.slowest_spans(since, 10)?;
            Ok(Stats {
                store: StoreState::Ok,
                summary: Some(summary),
                timeline,
                slowest,
            })
        })
        .await
        .map(Json)
}

/// The services and models to offer as filters, of the traces since `since` (default all).
#[utoipa::path(get, path = "/api/facets", tag = "viewer", operation_id = "viewer_facets",
    params(("since" = Option<String>, Query)),
    responses((status = 200, body = Facets), (status = 400, description = "A bad parameter")))]
pub async fn get_facets(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Facets>, ApiError> {
    let since = Params::new(raw).time("since")?;
    state
        .read(move |store| {
            let facets = match store {
                Some(store) => store.trace_facets(since)?,
                None => TraceFacets::default(),
            };
            Ok(Facets {
                store: state_of(store),
                facets,
            })
        })
        .await
        .map(Json)
}

/// The smallest of 1 s, 10 s, 1 min, 5 min, 15 min, 1 h, 6 h, 1 d, 7 d at least `secs`.
fn nice_bucket(secs: u64) -> u64 {
    [1, 10, 60, 300, 900, 3600, 6 * 3600, 86400, 7 * 86400]
        .into_iter()
        .find(|&b| b >= secs)
        .unwrap_or(7 * 86400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_decoded_and_checked() {
        let p = Params::new(Some(
            "status=error&filter=gen_ai.request.model%3Aeq%3Allama3&filter=&q=rate+limited&limit=x"
                .into(),
        ));
        assert_eq!(p.get("status"), Some("error"));
        assert_eq!(
            p.all("filter").collect::<Vec<_>>(),
            ["gen_ai.request.model:eq:llama3"]
        );
        assert_eq!(p.get("q"), Some("rate limited"));
        assert!(p.count("limit", 50, 500).is_err());
        assert!(p.time("since").unwrap().is_none());
        let p = Params::new(Some(
            "since=1h&until=2026-12-03T08:00:00Z&x=yesterday".into(),
        ));
        assert!(p.time("since").unwrap().is_some());
        assert!(p.time("until").unwrap().is_some());
        assert!(p.time("x").is_err());
        assert_eq!(nice_bucket(0), 1);
        assert_eq!(nice_bucket(1800), 3600);
    }
}
