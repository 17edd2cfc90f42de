//! `llm-trace show`: one trace as a tree of spans, each with its duration, tokens (an
//! inference's, or a turn's or workflow's totals), what a stream, retrieval or guardrail
//! did, and status, its error message, its logs and (with `--attributes`) its attributes.

use std::collections::HashMap;
use std::io::Write;

use llm_telemetry::store::{Span, SpanEvent, Trace, TraceStore};
use serde_json::{json, Value};

use crate::args::ShowArgs;
use crate::error::Error;
use crate::format::{duration, fit, one_line, time};
use crate::ui::{Style, Ui};

pub fn run<W: Write>(store: &TraceStore, args: ShowArgs, ui: &mut Ui<W>) -> Result<(), Error> {
    let id = store.resolve_trace_id(&args.trace_id)?;
    let trace = store.get_trace(&id)?;
    let spans = store.get_trace_spans(&id)?;
    let events = store.get_trace_events(&id)?;
    if ui.json {
        return ui.write_json(&json!({ "trace": trace, "spans": spans, "events": events }));
    }
    summary(ui, &trace)?;
    Tree::new(&spans, &events, args.attributes).write(ui)
}

/// The trace's id, service, start, duration, span count, tokens and status.
fn summary<W: Write>(ui: &mut Ui<W>, trace: &Trace) -> Result<(), Error> {
    let title = ui.paint("Trace", Style::Bold);
    writeln!(ui.out, "{title} {}", trace.trace_id)?;
    writeln!(
        ui.out,
        "  {}  started {} UTC  {}",
        fit(trace.service_name.as_deref().unwrap_or("-"), 30),
        time(&trace.start_time),
        duration(trace.duration_ms),
    )?;
    writeln!(
        ui.out,
        "  {} spans  {} tokens ({} in, {} out)  {}",
        trace.span_count,
        trace.total_tokens,
        trace.input_tokens,
        trace.output_tokens,
        ui.status(&trace.status)
    )?;
    Ok(())
}

/// What a span did, beside its duration: tokens (`120→30 tok`), a stream's time to first
/// chunk and chunk count (`ttfc=120.0ms chunks=42`), a retrieval's document count (`docs=3`),
/// a guardrail's outcome (`violation=warn`, or `violation=ok`).
fn span_facts(s: &Span) -> Vec<String> {
    let mut facts = Vec::new();
    // An inference's own tokens, or a turn's or workflow's totals (`llm_telemetry.usage.*`;
    // stores written before 2026-12 have them under `gen_ai.usage.*`, read the same way).
    let tokens = |key: &str| {
        s.attr_u64(&format!("gen_ai.usage.{key}"))
            .or_else(|| s.attr_u64(&format!("llm_telemetry.usage.{key}")))
    };
    if let (Some(input), Some(output)) = (tokens("input_tokens"), tokens("output_tokens")) {
        facts.push(format!("{input}→{output} tok"));
    }
    let ttfc = s
        .attributes
        .get("gen_ai.response.time_to_first_chunk")
        .and_then(Value::as_f64);
    let stream: Vec<String> = [
        ttfc.map(|t| format!("ttfc={}", crate::format::duration(t * 1000.0))),
        s.attr_u64("llm_telemetry.stream.chunks")
            .map(|n| format!("chunks={n}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !stream.is_empty() {
        facts.push(stream.join(" "));
    }
    if let Some(n) = s.attr_u64("llm_telemetry.retrieval.document_count") {
        facts.push(format!("docs={n}"));
    }
    // A guardrail that failed has no outcome: its error says what happened.
    if s.category.as_deref() == Some("guardrail") && s.status != "error" {
        let violated =
            s.attributes.get("llm_telemetry.guardrail.violated") == Some(&Value::Bool(true));
        let level = s.attr_str("llm_telemetry.guardrail.violation.level");
        facts.push(match (violated, level) {
            (false, _) => "violation=ok".to_owned(),
            (true, Some(level)) => format!("violation={}", fit(&one_line(level), 20)),
            (true, None) => "violation=yes".to_owned(),
        });
    }
    facts
}

/// A trace's spans as a tree, with each span's logs.
struct Tree<'a> {
    spans: &'a [Span],
    /// Each span's children, as indexes into `spans`.
    children: Vec<Vec<usize>>,
    /// The spans whose parent is not in the trace (the root, and spans whose parent was
    /// never stored), drawn at the top level.
    tops: Vec<usize>,
    /// The `unstructured_log` events of each span, by span id.
    logs: HashMap<&'a str, Vec<&'a SpanEvent>>,
    /// `--attributes`: print every span's attributes.
    attributes: bool,
}

/// The MetricEvents the store derives from every inference span.
const TOKEN_EVENTS: [&str; 3] = ["prompt_tokens", "completion_tokens", "total_tokens"];

impl<'a> Tree<'a> {
    fn new(spans: &'a [Span], events: &'a [SpanEvent], attributes: bool) -> Self {
        let index: HashMap<&str, usize> = spans
            .iter()
            .enumerate()
            .map(|(i, s)| (s.span_id.as_str(), i))
            .collect();
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); spans.len()];
        let mut tops = Vec::new();
        for (i, s) in spans.iter().enumerate() {
            match s.parent_span_id.as_deref().and_then(|p| index.get(p)) {
                Some(&p) if p != i => children[p].push(i),
                _ => tops.push(i),
            }
        }
        let mut logs: HashMap<&str, Vec<&SpanEvent>> = HashMap::new();
        for e in events {
            let Some(span) = e.span_id.as_deref() else {
                continue;
            };
            let shown = match e.event_type.as_str() {
                "unstructured_log" => true,
                // Not the token events the store derives from each inference (its
                // tokens are on the span's line already).
                "metric" => {
                    !(TOKEN_EVENTS.contains(&e.metric.as_deref().unwrap_or(""))
                        && index
                            .get(span)
                            .is_some_and(|&i| spans[i].category.as_deref() == Some("inference")))
                }
                _ => false,
            };
            if shown {
                logs.entry(span).or_default().push(e);
            }
        }
        Tree {
            spans,
            children,
            tops,
            logs,
            attributes,
        }
    }

    /// Draws the spans from the top level down, each at most once (a bad store's parent
    /// links may form a cycle).
    fn write<W: Write>(&self, ui: &mut Ui<W>) -> Result<(), Error> {
        let mut seen = vec![false; self.spans.len()];
        self.write_level(ui, &self.tops, "", &mut seen)
    }

    /// Draws the spans `level`, siblings, below the tree lines in `prefix`.
    fn write_level<W: Write>(
        &self,
        ui: &mut Ui<W>,
        level: &[usize],
        prefix: &str,
        seen: &mut [bool],
    ) -> Result<(), Error> {
        for (k, &i) in level.iter().enumerate() {
            if !std::mem::replace(&mut seen[i], true) {
                self.write_span(ui, i, prefix, k + 1 == level.len(), seen)?;
            }
        }
        Ok(())
    }

    /// Draws span `i`, its details and its children; `last` when it is the last sibling.
    fn write_span<W: Write>(
        &self,
        ui: &mut Ui<W>,
        i: usize,
        prefix: &str,
        last: bool,
        seen: &mut [bool],
    ) -> Result<(), Error> {
        let s = &self.spans[i];
        let branch = if last { "└─ " } else { "├─ " };
        let mut facts = vec![duration(s.duration_ms.unwrap_or(0.0))];
        facts.extend(span_facts(s));
        let head = format!("{prefix}{branch}");
        let tail = format!("  {}  ", facts.join("  "));
        let room = ui
            .width
            .saturating_sub(head.chars().count() + tail.chars().count() + s.status.len());
        writeln!(
            ui.out,
            "{head}{}{tail}{}",
            ui.paint(&fit(&s.name, room.max(8)), Style::Bold),
            ui.status(&s.status)
        )?;
        let inner = format!("{prefix}{}", if last { "   " } else { "│  " });
        let kids = &self.children[i];
        // The details hang below the span, beside the line down to its children.
        let detail = format!("{inner}{}", if kids.is_empty() { "   " } else { "│  " });
        if let Some(msg) = s.status_message.as_deref().filter(|_| s.status == "error") {
            ui.line(&format!("{detail}error: {}", one_line(msg)), Style::Red)?;
        }
        if self.attributes {
            for (k, v) in &s.attributes {
                let v = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                ui.line(&format!("{detail}{k} = {}", one_line(&v)), Style::Dim)?;
            }
        }
        for e in self.logs.get(s.span_id.as_str()).into_iter().flatten() {
            let line = if e.event_type == "metric" {
                format!(
                    "{detail}[metric] {} = {} {}",
                    one_line(e.metric.as_deref().unwrap_or("")),
                    e.value.unwrap_or(f64::NAN),
                    one_line(e.unit.as_deref().unwrap_or(""))
                )
            } else {
                let severity = e.severity.as_deref().unwrap_or("log");
                let message = one_line(e.message.as_deref().unwrap_or(""));
                format!("{detail}[{severity}] {message}")
            };
            ui.line(line.trim_end(), Style::Plain)?;
        }
        self.write_level(ui, kids, &inner, seen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(category: &str, status: &str, attributes: Value) -> Span {
        serde_json::from_value(json!({
            "span_id": "00f067aa0ba902b7",
            "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
            "parent_span_id": null,
            "name": "x",
            "kind": "internal",
            "status": status,
            "status_message": null,
            "category": category,
            "service_name": "svc",
            "start_time": "2026-01-01 00:00:00.000000",
            "end_time": "2026-01-01 00:00:01.000000",
            "duration_ms": 1000.0,
            "attributes": attributes,
        }))
        .unwrap()
    }

    #[test]
    fn facts_of_streams_retrievals_guardrails_and_workflows() {
        let stream = span(
            "inference",
            "ok",
            json!({
                "gen_ai.usage.input_tokens": 80,
                "gen_ai.usage.output_tokens": 42,
                "gen_ai.response.time_to_first_chunk": 0.1234,
                "llm_telemetry.stream.chunks": 42,
            }),
        );
        assert_eq!(span_facts(&stream), ["80→42 tok", "ttfc=123.4ms chunks=42"]);
        let retrieval = span(
            "retrieval",
            "ok",
            json!({"llm_telemetry.retrieval.document_count": 3}),
        );
        assert_eq!(span_facts(&retrieval), ["docs=3"]);
        let violated = span(
            "guardrail",
            "ok",
            json!({
                "llm_telemetry.guardrail.violated": true,
                "llm_telemetry.guardrail.violation.level": "warn",
            }),
        );
        assert_eq!(span_facts(&violated), ["violation=warn"]);
        let passed = span(
            "guardrail",
            "ok",
            json!({"llm_telemetry.guardrail.violated": false}),
        );
        assert_eq!(span_facts(&passed), ["violation=ok"]);
        let failed = span("guardrail", "error", json!({}));
        assert!(span_facts(&failed).is_empty());
        let workflow = span(
            "workflow",
            "ok",
            json!({"llm_telemetry.usage.input_tokens": 300, "llm_telemetry.usage.output_tokens": 90}),
        );
        assert_eq!(span_facts(&workflow), ["300→90 tok"]);
        // A turn of an older store: its totals under the inference keys.
        let old_turn = span(
            "agent_turn",
            "ok",
            json!({"gen_ai.usage.input_tokens": 30, "gen_ai.usage.output_tokens": 9}),
        );
        assert_eq!(span_facts(&old_turn), ["30→9 tok"]);
        assert!(span_facts(&span("other", "ok", json!({}))).is_empty());
    }
}
