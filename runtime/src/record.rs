//! The immutable records the layer builds once per finished span, metric point or
//! free-standing log, and hands to every enabled sink (shared through an `Arc`).

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use crate::ids::{SpanId, TraceId};

/// An attribute key: field names are `'static`, keys built at run time are owned.
pub type Key = Cow<'static, str>;

/// A typed attribute value, as OpenTelemetry and the SQLite JSON column both keep it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum AttrValue {
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    I64(i64),
    /// An unsigned integer (token counts).
    U64(u64),
    /// A float.
    F64(f64),
    /// A string (short ones are stored inline, without an allocation).
    Str(AttrStr),
}

/// The text of an [`AttrValue::Str`]: an immutable string that keeps up to 22 bytes
/// inline and only allocates for longer text, since most attribute values (model and
/// provider names, operation names, function names) are short.
///
/// It dereferences to `str`, compares with `str`, `&str` and `String`, displays and
/// serializes as a plain string, and converts from `String` and `&str`.
///
/// ```
/// use llm_telemetry::AttrValue;
///
/// let value = AttrValue::Str("llama3.2:3b".into());
/// if let AttrValue::Str(text) = &value {
///     assert_eq!(text, "llama3.2:3b");
///     assert_eq!(text.len(), 11);
///     let s: &str = text;
///     assert_eq!(s.to_uppercase(), "LLAMA3.2:3B");
/// }
/// assert_eq!(value.as_str(), Some("llama3.2:3b"));
/// assert_eq!(value.to_string(), "llama3.2:3b");
/// assert_eq!(serde_json::to_string(&value).unwrap(), r#""llama3.2:3b""#);
///
/// let long = AttrValue::Str(String::from("a value longer than twenty-two bytes").into());
/// assert_eq!(long.as_str(), Some("a value longer than twenty-two bytes"));
/// ```
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

impl fmt::Display for AttrValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttrValue::Bool(v) => v.fmt(f),
            AttrValue::I64(v) => v.fmt(f),
            AttrValue::U64(v) => v.fmt(f),
            AttrValue::F64(v) => v.fmt(f),
            AttrValue::Str(v) => v.fmt(f),
        }
    }
}

impl AttrValue {
    /// The value as an unsigned integer, when it is a non-negative number.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            AttrValue::U64(v) => Some(v),
            AttrValue::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }
    /// The value as a string slice, when it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttrValue::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// An ordered list of attributes. Few enough per span that a `Vec` beats a map.
pub type Attributes = Vec<(Key, AttrValue)>;

/// Look an attribute up by key.
pub fn attr<'a>(attrs: &'a Attributes, key: &str) -> Option<&'a AttrValue> {
    attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// The OpenTelemetry span kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SpanKind {
    /// In-process work (agent turns, tools, user spans).
    Internal,
    /// A call to a remote service (inference).
    Client,
    /// Handling an incoming request.
    Server,
    /// Sending a message.
    Producer,
    /// Receiving a message.
    Consumer,
}

impl SpanKind {
    /// Lowercase name, as stored in SQLite and accepted in `otel.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            SpanKind::Internal => "internal",
            SpanKind::Client => "client",
            SpanKind::Server => "server",
            SpanKind::Producer => "producer",
            SpanKind::Consumer => "consumer",
        }
    }
    /// Parse `otel.kind` values, case-insensitively.
    pub fn parse(s: &str) -> Option<Self> {
        // Case-insensitive without allocating: this runs for every span.
        [
            ("internal", SpanKind::Internal),
            ("client", SpanKind::Client),
            ("server", SpanKind::Server),
            ("producer", SpanKind::Producer),
            ("consumer", SpanKind::Consumer),
        ]
        .into_iter()
        .find(|(name, _)| s.eq_ignore_ascii_case(name))
        .map(|(_, kind)| kind)
    }
}

/// What kind of GenAI work a span is, from its `gen_ai.operation.name`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanCategory {
    /// `chat`, `text_completion`, `embeddings`, `generate_content`.
    Inference,
    /// `invoke_agent`.
    AgentTurn,
    /// `execute_tool`.
    Tool,
    /// Any other span (a user's own `tracing` span).
    Other,
}

impl SpanCategory {
    /// Classify a `gen_ai.operation.name` value.
    pub fn from_operation(op: &str) -> Self {
        match op {
            "invoke_agent" | "create_agent" => SpanCategory::AgentTurn,
            "execute_tool" => SpanCategory::Tool,
            _ => SpanCategory::Inference,
        }
    }
}

/// Span status, as OpenTelemetry defines it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SpanStatus {
    /// Nothing was recorded (a user span that never said).
    Unset,
    /// Finished successfully.
    Ok,
    /// Returned `Err`, panicked, or was cancelled.
    Error,
}

impl SpanStatus {
    /// `unset`, `ok` or `error`: the text stored in SQLite.
    pub fn as_str(self) -> &'static str {
        match self {
            SpanStatus::Unset => "unset",
            SpanStatus::Ok => "ok",
            SpanStatus::Error => "error",
        }
    }
}

/// One finished span.
#[derive(Clone, Debug)]
pub struct SpanRecord {
    /// W3C trace id shared by every span of the trace.
    pub trace_id: TraceId,
    /// W3C span id.
    pub span_id: SpanId,
    /// Parent span, local or remote (from an incoming `traceparent`).
    pub parent_span_id: Option<SpanId>,
    /// True when the parent came from another process.
    pub parent_is_remote: bool,
    /// Display name, e.g. `chat llama3.2:3b`, `execute_tool get_weather`.
    pub name: String,
    /// OpenTelemetry span kind.
    pub kind: SpanKind,
    /// GenAI category.
    pub category: SpanCategory,
    /// Wall-clock start.
    pub start_time: SystemTime,
    /// Wall-clock end (start + monotonic elapsed time, so never before start).
    pub end_time: SystemTime,
    /// Final status.
    pub status: SpanStatus,
    /// Error message when `status` is `Error`.
    pub status_message: Option<String>,
    /// Attributes, GenAI names first; content attributes only when capture is on.
    pub attributes: Attributes,
    /// Logs and metric events recorded inside the span, in order.
    pub events: Vec<LogRecord>,
    /// `service.name` of the emitting process.
    pub service_name: Arc<str>,
    /// `tracing` target (usually the module path) of the instrumented code.
    pub target: &'static str,
}

impl SpanRecord {
    /// Duration in milliseconds (fractional).
    pub fn duration_ms(&self) -> f64 {
        self.end_time
            .duration_since(self.start_time)
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(0.0)
    }
    /// Look an attribute up by key.
    pub fn attr(&self, key: &str) -> Option<&AttrValue> {
        attr(&self.attributes, key)
    }
}

/// Log severity, llama-stack's levels.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Finest detail (`tracing` TRACE).
    Verbose,
    /// `tracing` DEBUG.
    Debug,
    /// `tracing` INFO.
    Info,
    /// `tracing` WARN.
    Warn,
    /// `tracing` ERROR.
    Error,
    /// Worse than an error.
    Critical,
}

impl Severity {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Verbose => "verbose",
            Severity::Debug => "debug",
            Severity::Info => "info",
            Severity::Warn => "warn",
            Severity::Error => "error",
            Severity::Critical => "critical",
        }
    }
    /// Parse a lowercase name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "verbose" | "trace" => Severity::Verbose,
            "debug" => Severity::Debug,
            "info" => Severity::Info,
            "warn" | "warning" => Severity::Warn,
            "error" => Severity::Error,
            "critical" => Severity::Critical,
            _ => return None,
        })
    }
    /// Map a `tracing` level.
    pub fn from_level(level: &tracing::Level) -> Self {
        match *level {
            tracing::Level::TRACE => Severity::Verbose,
            tracing::Level::DEBUG => Severity::Debug,
            tracing::Level::INFO => Severity::Info,
            tracing::Level::WARN => Severity::Warn,
            _ => Severity::Error,
        }
    }
}

/// The body of a log record: one of llama-stack's three event types.
#[derive(Clone, Debug, PartialEq)]
pub enum LogBody {
    /// A free-text log line (`tracing::info!`, `UnstructuredLogEvent`).
    Unstructured {
        /// The message.
        message: String,
        /// Its severity.
        severity: Severity,
    },
    /// A metric point (`MetricEvent`).
    Metric {
        /// Metric name, e.g. `prompt_tokens`.
        metric: String,
        /// Value.
        value: f64,
        /// Unit, e.g. `tokens`.
        unit: String,
    },
    /// Span start marker (`StructuredLogEvent::SpanStart`).
    SpanStart {
        /// Span name.
        name: String,
        /// Parent, if any.
        parent_span_id: Option<SpanId>,
    },
    /// Span end marker (`StructuredLogEvent::SpanEnd`).
    SpanEnd {
        /// Final status.
        status: SpanStatus,
    },
}

impl LogBody {
    /// `unstructured_log`, `metric` or `structured_log`: the `event_type` column.
    pub fn event_type(&self) -> &'static str {
        match self {
            LogBody::Unstructured { .. } => "unstructured_log",
            LogBody::Metric { .. } => "metric",
            LogBody::SpanStart { .. } | LogBody::SpanEnd { .. } => "structured_log",
        }
    }
}

/// A log or metric event, inside a span (then in its `events`) or free-standing.
#[derive(Clone, Debug, PartialEq)]
pub struct LogRecord {
    /// When it happened.
    pub timestamp: SystemTime,
    /// The trace it belongs to, if any.
    pub trace_id: Option<TraceId>,
    /// The span it belongs to, if any.
    pub span_id: Option<SpanId>,
    /// What it says.
    pub body: LogBody,
    /// Extra fields.
    pub attributes: Attributes,
}

/// How a metric point aggregates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Instrument {
    /// Monotonic sum.
    Counter,
    /// Distribution with explicit buckets.
    Histogram,
    /// Up-down value.
    Gauge,
}

/// One metric measurement (one `add` or `record`).
#[derive(Clone, Debug, PartialEq)]
pub struct MetricRecord {
    /// OpenTelemetry instrument name, e.g. `llama_stack.prompt_tokens` or
    /// `gen_ai.client.token.usage`.
    pub name: Cow<'static, str>,
    /// Counter, histogram or gauge.
    pub instrument: Instrument,
    /// UCUM unit: `{token}` or `s`.
    pub unit: &'static str,
    /// The measurement.
    pub value: f64,
    /// Labels (`model_id`, `provider_id`, `gen_ai.*`).
    pub attributes: Attributes,
    /// When it was measured.
    pub timestamp: SystemTime,
    /// The span that produced it.
    pub trace_id: Option<TraceId>,
    /// The span that produced it.
    pub span_id: Option<SpanId>,
}

/// What flows from the layer to the sinks.
#[derive(Clone, Debug)]
pub enum Telemetry {
    /// A finished span.
    Span(Arc<SpanRecord>),
    /// Metric measurements on their own (inferences send theirs with the span, as
    /// [`Telemetry::Inference`]; the sinks' tests and future request metrics use this).
    #[allow(dead_code)]
    Metrics(Arc<[MetricRecord]>),
    /// A log outside any recorded span.
    Log(Arc<LogRecord>),
    /// A finished inference span, in one queue item with its metrics: one `try_send` per
    /// inference instead of two, one queue slot per span. The metric points are derived
    /// from the span (usage attributes, duration) by [`Telemetry::metrics`] on the sinks'
    /// threads that want them, not built on the application's thread.
    Inference(Arc<SpanRecord>, Arc<crate::metrics::InferenceMetrics>),
}

impl Telemetry {
    /// The span this item carries, if any.
    pub fn span(&self) -> Option<&Arc<SpanRecord>> {
        match self {
            Telemetry::Span(span) | Telemetry::Inference(span, _) => Some(span),
            _ => None,
        }
    }

    /// Events of the span derived on the sink's thread, which follow `span.events`: an
    /// inference's llama-stack token `MetricEvent`s (prompt, completion, total).
    pub fn derived_events(&self) -> Vec<LogRecord> {
        match self {
            Telemetry::Inference(span, metrics) => metrics.token_events_of(span),
            _ => Vec::new(),
        }
    }

    /// The metric measurements this item carries, if any (an inference's are computed
    /// from its span here, on the calling sink's thread).
    pub fn metrics(&self) -> Option<std::borrow::Cow<'_, [MetricRecord]>> {
        match self {
            Telemetry::Metrics(points) => Some(std::borrow::Cow::Borrowed(points)),
            Telemetry::Inference(span, metrics) => {
                Some(std::borrow::Cow::Owned(metrics.measure_span(span)))
            }
            _ => None,
        }
    }
}

/// Format a time as SQLite's own UTC text form `YYYY-MM-DD HH:MM:SS.ffffff`, so
/// `datetime()` and `julianday()` comparisons on stored text are correct.
pub fn sqlite_timestamp(t: SystemTime) -> String {
    let micros = match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_micros() as i64,
        Err(e) => -(e.duration().as_micros() as i64),
    };
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{frac:06}",
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60
    )
}

/// Parse the form written by [`sqlite_timestamp`] (fraction optional, `T` accepted).
pub fn parse_sqlite_timestamp(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    let (date, time) = s.split_once([' ', 'T'])?;
    let mut dp = date.splitn(3, '-');
    let y: i64 = dp.next()?.parse().ok()?;
    let m: u32 = dp.next()?.parse().ok()?;
    let d: u32 = dp.next()?.parse().ok()?;
    let time = time.trim_end_matches('Z');
    let (hms, frac) = match time.split_once('.') {
        Some((a, b)) => (a, b),
        None => (time, ""),
    };
    let mut tp = hms.splitn(3, ':');
    let hh: i64 = tp.next()?.parse().ok()?;
    let mm: i64 = tp.next()?.parse().ok()?;
    let ss: i64 = tp.next().unwrap_or("0").parse().ok()?;
    let mut micros: i64 = 0;
    if !frac.is_empty() {
        let digits: String = frac.chars().take(6).collect();
        micros = digits.parse::<i64>().ok()? * 10i64.pow(6 - digits.len() as u32);
    }
    let days = days_from_civil(y, m, d);
    let total = (days * 86_400 + hh * 3600 + mm * 60 + ss) * 1_000_000 + micros;
    let t = if total >= 0 {
        SystemTime::UNIX_EPOCH + std::time::Duration::from_micros(total as u64)
    } else {
        SystemTime::UNIX_EPOCH - std::time::Duration::from_micros(total.unsigned_abs())
    };
    Some(t)
}

// Howard Hinnant's civil-date algorithms: exact for the proleptic Gregorian calendar.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn attr_str_keeps_every_length() {
        let text = "abcdefghijklmnopqrstuvwxyzé0123456789";
        for end in 0..=text.len() {
            let Some(s) = text.get(..end) else { continue };
            let mid = (0..=s.len() / 2)
                .rev()
                .find(|&i| s.is_char_boundary(i))
                .unwrap_or(0);
            for value in [
                AttrStr::from(s),
                AttrStr::from(s.to_owned()),
                AttrStr::format(format_args!("{s}")),
                AttrStr::format(format_args!("{}{}", &s[..mid], &s[mid..])),
            ] {
                assert_eq!(value, s);
                assert_eq!(value.len(), s.len());
                assert_eq!(String::from(value.clone()), s);
                assert_eq!(
                    serde_json::to_string(&value).unwrap(),
                    serde_json::to_string(s).unwrap()
                );
            }
        }
        assert_eq!(
            serde_json::to_string(&AttrValue::Str("x".into())).unwrap(),
            r#""x""#
        );
        assert!(std::mem::size_of::<AttrValue>() <= 32);
    }

    #[test]
    fn sqlite_timestamps_round_trip() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_micros(1_732_245_296_123_456);
        let s = sqlite_timestamp(t);
        assert_eq!(s, "2024-11-22 03:14:56.123456");
        assert_eq!(parse_sqlite_timestamp(&s), Some(t));
        assert_eq!(
            sqlite_timestamp(SystemTime::UNIX_EPOCH),
            "1970-01-01 00:00:00.000000"
        );
        assert_eq!(
            parse_sqlite_timestamp("2000-02-29 12:00:00"),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(951_825_600))
        );
    }
}
