//! llama-stack 0.2.x's telemetry models on the wire (`llama_stack/apis/telemetry/telemetry.py`
//! at v0.2.23): the request bodies the client sends and the responses it parses, field for
//! field and in its order, with `null`s present. Fields after llama-stack's own are ours
//! (the client ignores what it does not know). Each type derives its OpenAPI schema.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// `{"data": ...}`: the envelope `query_traces`, `query_spans`, `get_span_tree` and
/// `query_metrics` answer in.
#[derive(Serialize, ToSchema)]
pub struct Data<T> {
    /// The result.
    pub data: T,
}

/// A JSON object whose keys keep the order they were pushed in (`get_span_tree`'s
/// `{span_id: span}`, in depth then start order).
pub struct OrderedMap<T>(Vec<(String, T)>);

impl<T> Default for OrderedMap<T> {
    fn default() -> Self {
        OrderedMap(Vec::new())
    }
}

impl<T> OrderedMap<T> {
    /// Append an entry.
    pub fn push(&mut self, key: String, value: T) {
        self.0.push((key, value));
    }
}

impl<T: Serialize> Serialize for OrderedMap<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// A trace.
#[derive(Serialize, ToSchema)]
pub struct Trace {
    /// 32 lowercase hex digits.
    pub trace_id: String,
    /// The root span; `null` while it has not ended.
    pub root_span_id: Option<String>,
    /// RFC 3339, UTC (`Z`).
    pub start_time: String,
    /// RFC 3339, UTC (`Z`).
    pub end_time: Option<String>,
    /// `service.name` of the root span.
    pub service_name: Option<String>,
    /// The root span's name.
    pub root_span_name: Option<String>,
    /// Milliseconds.
    pub duration_ms: f64,
    /// Spans stored.
    pub span_count: u64,
    /// Of which failed.
    pub error_count: u64,
    /// Input tokens of its inferences.
    pub input_tokens: u64,
    /// Output tokens of its inferences.
    pub output_tokens: u64,
    /// `ok`, `error` or `open`.
    pub status: String,
}

/// A span (`Span`, and `SpanWithStatus` when `status` is set).
#[derive(Serialize, ToSchema)]
pub struct Span {
    /// 16 lowercase hex digits.
    pub span_id: String,
    /// The span's own trace.
    pub trace_id: String,
    /// `null` for a root.
    pub parent_span_id: Option<String>,
    /// The span's name.
    pub name: String,
    /// RFC 3339, UTC (`Z`).
    pub start_time: String,
    /// RFC 3339, UTC (`Z`).
    pub end_time: Option<String>,
    /// Its attributes, a JSON object keyed by dotted names.
    #[schema(value_type = Object)]
    pub attributes: Map<String, Value>,
    /// `ok` or `error`; `null` when the span set neither (OpenTelemetry's unset).
    #[serde(skip_serializing_if = "StatusField::is_absent")]
    #[schema(value_type = Option<String>)]
    pub status: StatusField,
    /// `internal`, `client`, `server`, `producer` or `consumer`.
    pub kind: String,
    /// The error message of a failed span.
    pub status_message: Option<String>,
    /// Milliseconds.
    pub duration_ms: Option<f64>,
}

/// A span's `status` field: absent (plain `Span`), or `ok` / `error` / `null`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusField {
    /// Not part of the response (`query_spans`, `get_span`).
    Absent,
    /// `"ok"`.
    Ok,
    /// `"error"`.
    Error,
    /// `null`.
    Unset,
}

impl StatusField {
    fn is_absent(&self) -> bool {
        *self == StatusField::Absent
    }
}

impl Serialize for StatusField {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            StatusField::Ok => s.serialize_str("ok"),
            StatusField::Error => s.serialize_str("error"),
            StatusField::Absent | StatusField::Unset => s.serialize_none(),
        }
    }
}

/// One condition of `attribute_filters`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryCondition {
    /// An attribute name (dotted names are one key).
    pub key: String,
    /// `eq`, `ne`, `gt` or `lt`.
    pub op: QueryConditionOp,
    /// A string, number or boolean.
    #[schema(value_type = Object)]
    pub value: Value,
}

/// The operators of a [`QueryCondition`].
#[derive(Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum QueryConditionOp {
    /// Equal.
    Eq,
    /// Not equal.
    Ne,
    /// Greater than.
    Gt,
    /// Less than.
    Lt,
}

/// `POST /v1/telemetry/traces`.
#[derive(Default, Deserialize, ToSchema)]
pub struct QueryTracesRequest {
    /// A trace matches when one of its spans matches every condition.
    pub attribute_filters: Option<Vec<QueryCondition>>,
    /// At most this many (default 100).
    pub limit: Option<u64>,
    /// Skip this many first.
    pub offset: Option<u64>,
    /// Trace columns, `-` first for descending: trace_id, service_name, root_span_id,
    /// start_time, end_time, duration. Default: newest first.
    pub order_by: Option<Vec<String>>,
}

/// `POST /v1/telemetry/spans/{span_id}/tree`.
#[derive(Default, Deserialize, ToSchema)]
pub struct SpanTreeRequest {
    /// Only these attributes, each present (`null` when the span lacks it).
    pub attributes_to_return: Option<Vec<String>>,
    /// Levels to return counting the span itself as 1 (`null`: all).
    pub max_depth: Option<i64>,
}

/// `POST /v1/telemetry/spans`.
#[derive(Deserialize, ToSchema)]
pub struct QuerySpansRequest {
    /// Selects traces, as in `query_traces`.
    pub attribute_filters: Vec<QueryCondition>,
    /// Only spans that have all of these, with just these (empty: every attribute).
    pub attributes_to_return: Vec<String>,
    /// Levels from each trace's root, the root being 1 (`null`: all).
    pub max_depth: Option<i64>,
}

/// `POST /v1/telemetry/spans/export`.
#[derive(Deserialize, ToSchema)]
pub struct SaveSpansRequest {
    /// Selects traces, as in `query_traces`.
    pub attribute_filters: Vec<QueryCondition>,
    /// The attributes written with each span.
    pub attributes_to_save: Vec<String>,
    /// The data set: the file `<datasets dir>/<dataset_id>.jsonl` (letters, digits, `.`,
    /// `_`, `-`; not starting with `.`).
    pub dataset_id: String,
    /// As in `query_spans`.
    pub max_depth: Option<i64>,
}

/// `POST /v1/telemetry/events`.
#[derive(Deserialize, ToSchema)]
pub struct LogEventRequest {
    /// The event.
    pub event: Event,
    /// Accepted for compatibility; the store's retention (`llm-trace prune`,
    /// `TELEMETRY_SQLITE_RETENTION`) decides how long events are kept.
    #[allow(dead_code)]
    pub ttl_seconds: Option<i64>,
}

/// One of llama-stack's three event types, by `type`.
#[derive(Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A log line.
    UnstructuredLog {
        /// 32 hex digits.
        trace_id: String,
        /// 16 hex digits.
        span_id: String,
        /// ISO 8601 (UTC when it has no offset).
        timestamp: String,
        /// Strings, numbers, booleans.
        #[schema(value_type = Option<Object>)]
        attributes: Option<BTreeMap<String, Value>>,
        /// The text.
        message: String,
        /// verbose, debug, info, warn, error, critical.
        severity: String,
    },
    /// A metric point.
    Metric {
        /// 32 hex digits.
        trace_id: String,
        /// 16 hex digits.
        span_id: String,
        /// ISO 8601 (UTC when it has no offset).
        timestamp: String,
        /// Strings, numbers, booleans; the labels `query_metrics` matches.
        #[schema(value_type = Option<Object>)]
        attributes: Option<BTreeMap<String, Value>>,
        /// Its name, as `query_metrics` asks for it.
        metric: String,
        /// Its value.
        value: f64,
        /// Its unit.
        unit: String,
    },
    /// A span's start or end.
    StructuredLog {
        /// 32 hex digits.
        trace_id: String,
        /// 16 hex digits.
        span_id: String,
        /// ISO 8601 (UTC when it has no offset).
        timestamp: String,
        /// Strings, numbers, booleans.
        #[schema(value_type = Option<Object>)]
        attributes: Option<BTreeMap<String, Value>>,
        /// `span_start` or `span_end`.
        payload: StructuredLogPayload,
    },
}

/// What a structured log says.
#[derive(Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StructuredLogPayload {
    /// The span started.
    SpanStart {
        /// Its name.
        name: String,
        /// Its parent (16 hex digits).
        parent_span_id: Option<String>,
    },
    /// The span ended.
    SpanEnd {
        /// `ok` or `error`.
        status: SpanEndStatus,
    },
}

/// The status of a `span_end`.
#[derive(Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SpanEndStatus {
    /// Succeeded.
    Ok,
    /// Failed.
    Error,
}

/// `POST /v1/telemetry/metrics/{metric_name}`.
#[derive(Deserialize, ToSchema)]
pub struct QueryMetricsRequest {
    /// Unix seconds.
    pub start_time: i64,
    /// Unix seconds (default: now).
    pub end_time: Option<i64>,
    /// Bucket length (`1m`, `5m`, `1h`, `1d`), buckets aligned on the clock (UTC); a range
    /// query without one has a point per measurement.
    pub granularity: Option<String>,
    /// `range` (default) or `instant` (one point per series).
    pub query_type: Option<MetricQueryType>,
    /// PromQL-style label matchers.
    pub label_matchers: Option<Vec<MetricLabelMatcher>>,
}

/// `range` or `instant`.
#[derive(Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MetricQueryType {
    /// Points over time.
    Range,
    /// One point per series.
    Instant,
}

/// A label matcher.
#[derive(Deserialize, ToSchema)]
pub struct MetricLabelMatcher {
    /// The label.
    pub name: String,
    /// The value (a regular expression for `=~` and `!~`, anchored).
    pub value: String,
    /// `=` (default), `!=`, `=~`, `!~`.
    pub operator: Option<String>,
}

/// A metric series.
#[derive(Serialize, ToSchema)]
pub struct MetricSeries {
    /// The metric's name.
    pub metric: String,
    /// Its labels.
    pub labels: Vec<MetricLabel>,
    /// Its points, in time order.
    pub values: Vec<MetricDataPoint>,
}

/// A label of a series.
#[derive(Serialize, ToSchema)]
pub struct MetricLabel {
    /// Name.
    pub name: String,
    /// Value.
    pub value: String,
}

/// A point of a series.
#[derive(Serialize, ToSchema)]
pub struct MetricDataPoint {
    /// Unix seconds: the bucket's start (range) or the query's end (instant).
    pub timestamp: i64,
    /// Sum of the measurements.
    pub value: f64,
    /// The unit.
    pub unit: String,
}

/// `GET /v1/health`.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `OK`.
    pub status: &'static str,
}
