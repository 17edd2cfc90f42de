//! The console sink: one readable line per finished span, then its logs, indented.
//!
//! ```text
//! 03:14:56.123 chat llama3.2:3b  412.3ms ok  in=120 out=30  trace=4bf92f35
//!   03:14:56.300 WARN retrying after timeout
//! ```

use std::io::Write;

use crate::metrics::InferenceMetrics;
use crate::model::log::{LogBody, LogRecord};
use crate::model::span::SpanRecord;
use crate::model::vocab::SpanStatus;
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
        let input = span
            .attr("gen_ai.usage.input_tokens")
            .and_then(|v| v.as_u64());
        let output = span
            .attr("gen_ai.usage.output_tokens")
            .and_then(|v| v.as_u64());
        if input.is_some() || output.is_some() {
            let _ = write!(
                line,
                "  in={} out={}",
                input.unwrap_or(0),
                output.unwrap_or(0)
            );
        }
        if let Some(n) = span
            .attr("llm_telemetry.tool_calls")
            .and_then(|v| v.as_u64())
        {
            if n > 0 {
                let _ = write!(line, " tools={n}");
            }
        }
        if span.status == SpanStatus::Error {
            if let Some(t) = span.attr("error.type") {
                let _ = write!(line, "  {t}");
            }
            if let Some(m) = &span.status_message {
                let _ = write!(line, ": {}", one_line(m, 120));
            }
        }
        let trace = span.trace_id.to_string();
        let _ = write!(line, "  trace={}", &trace[..8]);
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
                // metric events; repeating each histogram point would be a dump.
                Telemetry::Metrics(_) => {}
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
            "22:13:20.412 chat llama3.2:3b  412.0ms  error  in=120 out=30  Timeout: model unavailable  trace=4bf92f35"
        );
        assert_eq!(lines[1], "  22:13:20.000 WARN retrying");
    }
}
