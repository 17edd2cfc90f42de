//! `llm-trace show`: one trace as a tree of spans, each with its duration, tokens and
//! status, its error message, its logs and (with `--attributes`) its attributes.

use std::collections::HashMap;
use std::io::Write;

use llm_telemetry::store::{Span, SpanEvent, Trace, TraceStore};
use serde_json::{json, Value};

use crate::args::ShowArgs;
use crate::error::Error;
use crate::format::{duration, fit, one_line};
use crate::ui::Ui;

pub fn run<W: Write>(
    store: &TraceStore,
    args: ShowArgs,
    json: bool,
    ui: &mut Ui<W>,
) -> Result<(), Error> {
    let id = store.resolve_trace_id(&args.trace_id)?;
    let trace = store.get_trace(&id)?;
    let spans = store.get_trace_spans(&id)?;
    let events = store.get_trace_events(&id)?;
    if json {
        return ui.json(&json!({ "trace": trace, "spans": spans, "events": events }));
    }
    tree(ui, &trace, &spans, &events, args.attributes)
}

fn tree<W: Write>(
    ui: &mut Ui<W>,
    trace: &Trace,
    spans: &[Span],
    events: &[SpanEvent],
    attributes: bool,
) -> Result<(), Error> {
    writeln!(ui.out, "{} {}", ui.paint("Trace", "1"), trace.trace_id)?;
    writeln!(
        ui.out,
        "  {}  started {} UTC  {}",
        fit(trace.service_name.as_deref().unwrap_or("-"), 30),
        &trace.start_time[..19.min(trace.start_time.len())],
        duration(trace.duration_ms),
    )?;
    writeln!(
        ui.out,
        "  {} spans  {} tokens ({} in, {} out)  {}",
        trace.span_count,
        trace.total_tokens,
        trace.input_tokens,
        trace.output_tokens,
        ui.status(&trace.status, 0)
    )?;
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
        if e.event_type == "unstructured_log" {
            if let Some(s) = e.span_id.as_deref() {
                logs.entry(s).or_default().push(e);
            }
        }
    }
    let ctx = ShowCtx {
        spans,
        children: &children,
        logs: &logs,
        attributes,
    };
    let n = tops.len();
    let mut seen = vec![false; spans.len()];
    for (k, &i) in tops.iter().enumerate() {
        render(ui, &ctx, i, "", k + 1 == n, &mut seen)?;
    }
    Ok(())
}

struct ShowCtx<'a> {
    spans: &'a [Span],
    children: &'a [Vec<usize>],
    logs: &'a HashMap<&'a str, Vec<&'a SpanEvent>>,
    attributes: bool,
}

fn render<W: Write>(
    ui: &mut Ui<W>,
    ctx: &ShowCtx<'_>,
    i: usize,
    prefix: &str,
    last: bool,
    seen: &mut [bool],
) -> Result<(), Error> {
    if std::mem::replace(&mut seen[i], true) {
        return Ok(());
    }
    let s = &ctx.spans[i];
    let branch = if last { "└─ " } else { "├─ " };
    let mut facts = vec![duration(s.duration_ms.unwrap_or(0.0))];
    if let (Some(input), Some(output)) = (
        s.attr_u64("gen_ai.usage.input_tokens"),
        s.attr_u64("gen_ai.usage.output_tokens"),
    ) {
        facts.push(format!("{input}→{output} tok"));
    }
    let head = format!("{prefix}{branch}");
    let tail = format!("  {}  ", facts.join("  "));
    let room = ui
        .width
        .saturating_sub(head.chars().count() + tail.chars().count() + s.status.len());
    writeln!(
        ui.out,
        "{head}{}{tail}{}",
        ui.paint(&fit(&s.name, room.max(8)), "1"),
        ui.status(&s.status, 0)
    )?;
    let inner = format!("{prefix}{}", if last { "   " } else { "│  " });
    let kids = &ctx.children[i];
    let bar = if kids.is_empty() { "   " } else { "│  " };
    if let Some(msg) = s.status_message.as_deref().filter(|_| s.status == "error") {
        let line = format!("{inner}{bar}error: {}", one_line(msg));
        writeln!(ui.out, "{}", ui.paint(&fit(&line, ui.width), "31"))?;
    }
    if ctx.attributes {
        for (k, v) in &s.attributes {
            let v = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let line = format!("{inner}{bar}{k} = {}", one_line(&v));
            writeln!(ui.out, "{}", ui.paint(&fit(&line, ui.width), "2"))?;
        }
    }
    for e in ctx.logs.get(s.span_id.as_str()).into_iter().flatten() {
        let line = format!(
            "{inner}{bar}[{}] {}",
            e.severity.as_deref().unwrap_or("log"),
            one_line(e.message.as_deref().unwrap_or(""))
        );
        writeln!(ui.out, "{}", fit(&line, ui.width))?;
    }
    let n = kids.len();
    for (k, &c) in kids.iter().enumerate() {
        render(ui, ctx, c, &inner, k + 1 == n, seen)?;
    }
    Ok(())
}
