//! The console sink: one readable line per finished span, then its logs, indented.
//!
//! ```text
//! 03:14:56.123 chat llama3.2:3b  412.3ms ok  in=120 out=30  trace=…29d0e0e4736
//!   03:14:56.300 WARN retrying after timeout
//! 03:14:57.020 chat llama3.2:3b  1.20s ok  in=80 out=42 ttfc=120.0ms chunks=42  trace=…29d0e0e4736
//! 03:14:57.100 retrieval docs  35.0ms ok  docs=3  trace=…29d0e0e4736
//! 03:14:57.200 apply_guardrail llama-guard  80.1ms ok  violation=warn  trace=…29d0e0e4736
//! 03:14:58.000 invoke_workflow research  3.10s ok  in=300 out=90 tools=2  trace=…29d0e0e4736
//! ```
//!
//! The facts after the status: tokens (an inference's, or a turn's or workflow's totals)
//! and tool calls; a stream's time to first chunk and chunk count; a retrieval's document
//! count; a guardrail's outcome (`violation=LEVEL`, or `ok`).

use std::io::Write;

use crate::metrics::InferenceMetrics;
use crate::model::attr::AttrValue;
use crate::model::ids::short_id;
use crate::model::log::{LogBody, LogRecord};
use crate::model::semconv::{
    guardrail_violated, EMBEDDINGS_DIMENSION, GUARDRAIL_VIOLATION_LEVEL, RETRIEVAL_DOCUMENT_COUNT,
    STREAM_CHUNKS, TIME_TO_FIRST_CHUNK, TOOL_CALLS, TOTAL_INPUT_TOKENS, TOTAL_OUTPUT_TOKENS,
    USAGE_INPUT_TOKENS, USAGE_OUTPUT_TOKENS,
};
use crate::model::span::SpanRecord;
use crate::model::vocab::{SpanCategory, SpanStatus};
use crate::pipeline::{BatchWriter, Telemetry, WriteError};

/// Writes lines to a stream (stderr by default, so the application's stdout is its own).
pub(crate) struct ConsoleWriter {
    out: Box<dyn Write + Send>,
    color: bool,
    line: String,
    // An inference's token events are shown as its metric line.
    metrics: InferenceMetrics,
}

impl ConsoleWriter {
    pub fn stderr(metrics: InferenceMetrics) -> Self {
        use std::io::IsTerminal;
        let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        ConsoleWriter {
            out: Box::new(std::io::stderr()),
            color,
            line: String::with_capacity(256),
            metrics,
        }
    }

    #[cfg(test)]
    fn to(out: Box<dyn Write + Send>) -> Self {
        ConsoleWriter {
            out,
            color: false,
            line: String::new(),
            metrics: InferenceMetrics::new("llama_stack"),
        }
    }

    fn span_line(&mut self, span: &SpanRecord, derived_events: &[LogRecord]) {
        use std::fmt::Write as _;
        let line = &mut self.line;
        line.clear();
        let (status, on, off) = match span.status {
            SpanStatus::Error => ("error", "\x1b[31m", "\x1b[0m"),
            SpanStatus::Ok => ("ok", "\x1b[32m", "\x1b[0m"),
            SpanStatus::Unset => ("-", "", ""),
        };
        let (on, off) = if self.color { (on, off) } else { ("", "") };
        let _ = write!(
            line,
            "{} {}  {}  {on}{status}{off}",
            clock(span.end_time),
            span.name,
            human_duration(span.duration_ms()),
        );
        let facts_at = line.len();
        facts(line, span);
        if line.len() > facts_at {
            // Set off from the status by two spaces, from each other by one.
            line.insert(facts_at, ' ');
        }
        if span.status == SpanStatus::Error {
            if let Some(t) = span.attr("error.type") {
                let _ = write!(line, "  {t}");
            }
            if let Some(m) = &span.status_message {
                let _ = write!(line, ": {}", one_line(m, 120));
            }
        }
        let _ = write!(line, "  trace={}", short_id(&span.trace_id.to_string()));
        line.push('\n');
        let mut events = span.events.iter().chain(derived_events).peekable();
        while let Some(event) = events.next() {
            self.line.push_str("  ");
            if let LogBody::Metric { unit, .. } = &event.body {
                // A run of metric events with the same unit and labels (an inference's
                // prompt/completion/total tokens) reads best as one line.
                let mut run = vec![event];
                while let Some(next) = events.peek() {
                    match &next.body {
                        LogBody::Metric { unit: u, .. }
                            if u == unit && next.attributes == event.attributes =>
                        {
                            run.push(events.next().expect("peeked"));
                        }
                        _ => break,
                    }
                }
                metric_line(&mut self.line, &run);
            } else {
                log_line(&mut self.line, event);
            }
        }
    }
}

/// What a span did, each fact as ` key=value`: tokens (an inference's, or a turn's or
/// workflow's totals) and tool calls; a stream's time to first chunk and chunk count; a
/// retrieval's document count; a guardrail's outcome.
fn facts(line: &mut String, span: &SpanRecord) {
    use std::fmt::Write as _;
    // An inference's own tokens, or a turn's or workflow's totals.
    let tokens = |own: &str, total: &str| {
        span.attr(own)
            .or_else(|| span.attr(total))
            .and_then(AttrValue::as_u64)
    };
    let input = tokens(USAGE_INPUT_TOKENS, TOTAL_INPUT_TOKENS);
    let output = tokens(USAGE_OUTPUT_TOKENS, TOTAL_OUTPUT_TOKENS);
    // An embeddings call has input tokens only.
    match (input, output) {
        (Some(i), Some(o)) => {
            let _ = write!(line, " in={i} out={o}");
        }
        (Some(i), None) => {
            let _ = write!(line, " in={i}");
        }
        (None, Some(o)) => {
            let _ = write!(line, " in=0 out={o}");
        }
        (None, None) => {}
    }
    if let Some(d) = span.attr(EMBEDDINGS_DIMENSION).and_then(AttrValue::as_u64) {
        let _ = write!(line, " dim={d}");
    }
    if let Some(n) = span.attr(TOOL_CALLS).and_then(AttrValue::as_u64) {
        if n > 0 {
            let _ = write!(line, " tools={n}");
        }
    }
    if let Some(ttfc) = span.attr(TIME_TO_FIRST_CHUNK).and_then(AttrValue::as_f64) {
        let _ = write!(line, " ttfc={}", human_duration(ttfc * 1000.0));
    }
    if let Some(n) = span.attr(STREAM_CHUNKS).and_then(AttrValue::as_u64) {
        let _ = write!(line, " chunks={n}");
    }
    if let Some(n) = span
        .attr(RETRIEVAL_DOCUMENT_COUNT)
        .and_then(AttrValue::as_u64)
    {
        let _ = write!(line, " docs={n}");
    }
    // A guardrail that failed has no outcome: its error says what happened.
    if span.category == SpanCategory::Guardrail && span.status != SpanStatus::Error {
        match span.attr(GUARDRAIL_VIOLATION_LEVEL) {
            _ if !guardrail_violated(&span.attributes) => line.push_str(" violation=ok"),
            Some(level) => {
                let _ = write!(line, " violation={}", one_line(&level.to_string(), 20));
            }
            None => line.push_str(" violation=yes"),
        }
    }
}

fn metric_line(line: &mut String, run: &[&LogRecord]) {
    use std::fmt::Write as _;
    let _ = write!(line, "{} METRIC", clock(run[0].timestamp));
    let mut unit = "";
    for event in run {
        if let LogBody::Metric {
            metric,
            value,
            unit: u,
        } = &event.body
        {
            let _ = write!(line, " {metric}={value}");
            unit = u;
        }
    }
    let _ = write!(line, " {unit}");
    for (k, v) in &run[0].attributes {
        let _ = write!(line, " {k}={}", one_line(&v.to_string(), 60));
    }
    line.push('\n');
}

fn log_line(line: &mut String, event: &LogRecord) {
    use std::fmt::Write as _;
    let _ = write!(line, "{} ", clock(event.timestamp));
    match &event.body {
        LogBody::Unstructured { message, severity } => {
            let _ = write!(
                line,
                "{} {}",
                severity.as_str().to_uppercase(),
                one_line(message, 200)
            );
        }
        LogBody::Metric {
            metric,
            value,
            unit,
        } => {
            let _ = write!(line, "METRIC {metric}={value} {unit}");
        }
        LogBody::SpanStart { name, .. } => {
            let _ = write!(line, "SPAN_START {name}");
        }
        LogBody::SpanEnd { status } => {
            let _ = write!(line, "SPAN_END {}", status.as_str());
        }
    }
    for (k, v) in &event.attributes {
        let _ = write!(line, " {k}={}", one_line(&v.to_string(), 60));
    }
    line.push('\n');
}

impl BatchWriter for ConsoleWriter {
    fn write_batch(&mut self, batch: &[Telemetry]) -> Result<(), WriteError> {
        let mut text = String::new();
        for item in batch {
            match item {
                Telemetry::Span(span) | Telemetry::Inference(span) | Telemetry::Guardrail(span) => {
                    let derived = item.derived_events(&self.metrics);
                    self.span_line(span, &derived);
                    text.push_str(&self.line);
                }
                Telemetry::Log(log) => log_line(&mut text, log),
                // Inference metrics are shown on the span's line (tokens) and as its
                // metric events; repeating each histogram point would be a dump. A
                // sampled-out span has no line.
                Telemetry::Metrics(_) | Telemetry::SampledOut(_) => {}
            }
        }
        self.out.write_all(text.as_bytes())?;
        Ok(())
    }

    fn flush(&mut self) -> Result<(), WriteError> {
        self.out.flush()?;
        Ok(())
    }
}

/// `HH:MM:SS.mmm` UTC.
fn clock(t: std::time::SystemTime) -> String {
    let ts = crate::model::time::sqlite_timestamp(t);
    ts.get(11..23).unwrap_or(&ts).to_owned()
}

fn human_duration(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.2}s", ms / 1000.0)
    } else if ms >= 1.0 {
        format!("{ms:.1}ms")
    } else {
        format!("{:.0}µs", ms * 1000.0)
    }
}

fn one_line(s: &str, max: usize) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() > max {
        let cut: String = flat.chars().take(max).collect();
        format!("{cut}…")
    } else {
        flat
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::attr::AttrValue;
    use crate::model::ids::TraceId;
    use crate::model::vocab::{Severity, SpanCategory, SpanKind};
    use std::borrow::Cow;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, SystemTime};

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn one_line_per_span_with_tokens_status_and_logs() {
        let buf = Buf::default();
        let mut w = ConsoleWriter::to(Box::new(buf.clone()));
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let span = SpanRecord {
            trace_id: "4bf92f3577b34da6a3ce929d0e0e4736"
                .parse::<TraceId>()
                .unwrap(),
            kind: SpanKind::Client,
            category: SpanCategory::Inference,
            start_time: start,
            end_time: start + Duration::from_millis(412),
            status: SpanStatus::Error,
            status_message: Some("model\nunavailable".into()),
            attributes: vec![
                (
                    Cow::Borrowed("gen_ai.usage.input_tokens"),
                    AttrValue::U64(120),
                ),
                (
                    Cow::Borrowed("gen_ai.usage.output_tokens"),
                    AttrValue::U64(30),
                ),
                (
                    Cow::Borrowed("error.type"),
                    AttrValue::Str("Timeout".into()),
                ),
            ],
            events: vec![LogRecord {
                timestamp: start,
                trace_id: None,
                span_id: None,
                body: LogBody::Unstructured {
                    message: "retrying".into(),
                    severity: Severity::Warn,
                },
                attributes: vec![],
            }],
            ..SpanRecord::test("chat llama3.2:3b")
        };
        w.write_batch(&[Telemetry::Span(Arc::new(span))]).unwrap();
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(
            lines[0],
            "22:13:20.412 chat llama3.2:3b  412.0ms  error  in=120 out=30  Timeout: model unavailable  trace=…29d0e0e4736"
        );
        assert_eq!(lines[1], "  22:13:20.000 WARN retrying");
    }

    #[test]
    fn streams_retrievals_guardrails_and_workflows_show_what_they_did() {
        let buf = Buf::default();
        let mut w = ConsoleWriter::to(Box::new(buf.clone()));
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let trace = "4bf92f3577b34da6a3ce929d0e0e4736"
            .parse::<TraceId>()
            .unwrap();
        let span = |name: &str, category, attrs: Vec<(&'static str, AttrValue)>| {
            let span = SpanRecord {
                trace_id: trace,
                category,
                start_time: start,
                end_time: start + Duration::from_millis(120),
                attributes: attrs
                    .into_iter()
                    .map(|(k, v)| (Cow::Borrowed(k), v))
                    .collect(),
                ..SpanRecord::test(name)
            };
            Telemetry::Span(Arc::new(span))
        };
        let guardrail = |name, violated: bool| {
            let mut attrs = vec![(
                "llm_telemetry.guardrail.violated",
                AttrValue::Bool(violated),
            )];
            if violated {
                let level = AttrValue::Str("warn".into());
                attrs.push(("llm_telemetry.guardrail.violation.level", level));
            }
            span(name, SpanCategory::Guardrail, attrs)
        };
        let batch = [
            span(
                "chat m",
                SpanCategory::Inference,
                vec![
                    ("gen_ai.usage.input_tokens", AttrValue::U64(80)),
                    ("gen_ai.usage.output_tokens", AttrValue::U64(42)),
                    (
                        "gen_ai.response.time_to_first_chunk",
                        AttrValue::F64(0.1234),
                    ),
                    ("llm_telemetry.stream.chunks", AttrValue::U64(42)),
                ],
            ),
            span(
                "retrieval docs",
                SpanCategory::Retrieval,
                vec![("llm_telemetry.retrieval.document_count", AttrValue::U64(3))],
            ),
            guardrail("apply_guardrail a", true),
            guardrail("apply_guardrail b", false),
            span(
                "invoke_workflow research",
                SpanCategory::Workflow,
                vec![
                    ("llm_telemetry.usage.input_tokens", AttrValue::U64(300)),
                    ("llm_telemetry.usage.output_tokens", AttrValue::U64(90)),
                    ("llm_telemetry.inference_calls", AttrValue::U64(3)),
                    ("llm_telemetry.tool_calls", AttrValue::U64(2)),
                ],
            ),
            span("mine", SpanCategory::Other, vec![]),
        ];
        w.write_batch(&batch).unwrap();
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let at = "22:13:20.120";
        let tail = "120.0ms  ok";
        let expected = [
            format!("{at} chat m  {tail}  in=80 out=42 ttfc=123.4ms chunks=42  trace=…29d0e0e4736"),
            format!("{at} retrieval docs  {tail}  docs=3  trace=…29d0e0e4736"),
            format!("{at} apply_guardrail a  {tail}  violation=warn  trace=…29d0e0e4736"),
            format!("{at} apply_guardrail b  {tail}  violation=ok  trace=…29d0e0e4736"),
            format!(
                "{at} invoke_workflow research  {tail}  in=300 out=90 tools=2  trace=…29d0e0e4736"
            ),
            format!("{at} mine  {tail}  trace=…29d0e0e4736"),
        ];
        assert_eq!(text.lines().collect::<Vec<_>>(), expected, "{text}");
    }

    #[test]
    fn an_embeddings_call_shows_its_input_tokens_and_dimension_only() {
        let buf = Buf::default();
        let mut w = ConsoleWriter::to(Box::new(buf.clone()));
        let span = SpanRecord {
            category: SpanCategory::Inference,
            attributes: vec![
                (
                    Cow::Borrowed("gen_ai.usage.input_tokens"),
                    AttrValue::U64(4),
                ),
                (
                    Cow::Borrowed("gen_ai.embeddings.dimension.count"),
                    AttrValue::U64(768),
                ),
            ],
            ..SpanRecord::test("embeddings nomic-embed-text")
        };
        w.write_batch(&[Telemetry::Span(Arc::new(span))]).unwrap();
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("  in=4 dim=768  trace=…"), "{text}");
        assert!(!text.contains("out="), "{text}");
    }
}
