//! Bounded, redactable content end to end: a 10 MB prompt through `#[instrument_inference]`
//! with capture on and the sinks `sqlite,otel_trace`, the latter exporting to a real
//! OpenTelemetry collector (rotel, `support/rotel.rs`); the SQLite attribute and the one
//! the collector received are both within `TELEMETRY_CAPTURE_MAX_BYTES`, valid JSON and
//! marked, and every span of the run is stored and exported. Then a redaction hook changes
//! what both see, before the bound. And a long stream keeps whole chunks within the bound.
//!
//! One collector for the whole binary: the two collector scenarios share one test.

mod common;
#[path = "support/rotel.rs"]
mod rotel;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use common::{SpanRow, TempStore};
use futures_util::stream::{self, Stream, StreamExt};
use llm_telemetry::{
    instrument_agent_turn, instrument_inference, instrument_tool, SinkKind, TelemetryConfig,
    TelemetryGuard, TokenUsage, Usage,
};
use rotel::{parse_spans, untag, OtlpSpan, Rotel};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(30);
const MIB: usize = 1 << 20;
const TRUNCATED: &str = "llm_telemetry.content.truncated";
const INPUT: &str = "gen_ai.input.messages";
const OUTPUT: &str = "gen_ai.output.messages";

#[derive(Debug)]
struct Reply {
    text: String,
}

impl TokenUsage for Reply {
    fn token_usage(&self) -> Option<Usage> {
        Some(Usage::new(10, 5))
    }
}

/// An inference whose answer is 1 MB long when the prompt is longer than that.
#[instrument_inference(model = "bounded-model", provider = "test")]
fn chat(prompt: &str) -> Result<Reply, std::io::Error> {
    let answer = if prompt.len() > MIB { MIB } else { 10 };
    Ok(Reply {
        text: format!("answer: {}", "y".repeat(answer)),
    })
}

#[instrument_tool(tool = "lookup")]
fn lookup(query: &str) -> Result<String, std::io::Error> {
    Ok(format!("found {query}"))
}

#[instrument_agent_turn(agent = "bounded-agent", session = session)]
fn turn(session: &str, prompt: &str) -> Result<String, std::io::Error> {
    let reply = chat(prompt)?;
    lookup("the address of alice@example.com")?;
    Ok(reply.text.chars().take(20).collect())
}

/// `(kept, n)` of a string that ends with `…[truncated N bytes]`.
fn cut(s: &str) -> Option<(&str, usize)> {
    let at = s.rfind("…[truncated ")?;
    let n = s[at + "…[truncated ".len()..].strip_suffix(" bytes]")?;
    Some((&s[..at], n.parse().ok()?))
}

/// The collector's spans by id, once it printed every id of `rows`.
fn received(rotel: &Rotel, rows: &[SpanRow]) -> HashMap<String, OtlpSpan> {
    let out = rotel.wait_for(WAIT, "every span of the run", |out| {
        rows.iter().all(|r| out.contains(&r.span_id))
    });
    parse_spans(&out)
        .into_iter()
        .map(|s| (s.span_id.clone(), s))
        .collect()
}

/// A string attribute as the collector received it (rotel prints `Str(...)`).
fn otlp_str<'a>(span: &'a OtlpSpan, key: &str) -> &'a str {
    let v = span
        .attr(key)
        .unwrap_or_else(|| panic!("the collector has no {key} on {}", span.name));
    assert!(v.starts_with("Str("), "{key}: {v}");
    untag(v)
}

/// Every span stored, exported and counted: nothing dropped, nothing failed.
fn assert_all_delivered(guard: &TelemetryGuard, db: &Path) -> Vec<SpanRow> {
    assert!(guard.flush(), "every sink confirms the flush");
    let rows = common::spans(db);
    let stats = guard.stats();
    for sink in ["sqlite", "otel_trace"] {
        let s = stats
            .sink(sink)
            .unwrap_or_else(|| panic!("{sink}: {stats:?}"));
        assert_eq!(s.stored, rows.len() as u64, "{sink}: {stats:?}");
        assert_eq!(s.dropped + s.failed, 0, "{sink}: {stats:?}");
    }
    rows
}

fn row<'a>(rows: &'a [SpanRow], name_prefix: &str) -> &'a SpanRow {
    rows.iter()
        .find(|r| r.name.starts_with(name_prefix))
        .unwrap_or_else(|| panic!("no {name_prefix} span in {rows:#?}"))
}

#[test]
fn a_10_mb_prompt_and_a_redaction_hook_reach_the_store_and_the_collector_bounded() {
    let Some(rotel) = Rotel::start() else { return };

    // 1. From the environment, `TELEMETRY_CAPTURE_MAX_BYTES=16KiB`: a 10 MB prompt.
    let store = TempStore::new();
    let vars: HashMap<&str, String> = [
        ("TELEMETRY_SINKS", "sqlite,otel_trace".to_owned()),
        ("TELEMETRY_SQLITE_DB_PATH", store.path.display().to_string()),
        ("TELEMETRY_CAPTURE_CONTENT", "true".to_owned()),
        ("TELEMETRY_CAPTURE_MAX_BYTES", "16KiB".to_owned()),
        ("OTEL_SERVICE_NAME", "content-limits-bounded".to_owned()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", rotel.http_endpoint()),
    ]
    .into();
    let config = TelemetryConfig::from_lookup(|k| vars.get(k).cloned()).expect("config");
    let max = config.capture_max_bytes();
    assert_eq!(max, 16_384);
    let guard = config.init_local().expect("init");
    let prompt = "x".repeat(10 * MIB);
    turn("s-big", &prompt).expect("turn");
    for i in 0..5 {
        turn(&format!("s-{i}"), "a short question").expect("turn");
    }
    let rows = assert_all_delivered(&guard, &store.path);
    drop(guard);
    assert_eq!(rows.len(), 18, "six turns of three spans");
    let otlp = received(&rotel, &rows);

    let chat_row = row(&rows, "chat bounded-model");
    let chat_otlp = &otlp[&chat_row.span_id];
    for (what, input) in [
        ("sqlite", chat_row.attr_str(INPUT).expect("captured input")),
        ("collector", otlp_str(chat_otlp, INPUT)),
    ] {
        assert!(input.len() <= max, "{what}: {} bytes", input.len());
        let args: Value = serde_json::from_str(input).unwrap_or_else(|e| panic!("{what}: {e}"));
        let (kept, n) = cut(args["prompt"].as_str().expect("the prompt argument"))
            .unwrap_or_else(|| panic!("{what}: no marker"));
        assert!(
            kept.bytes().all(|b| b == b'x') && kept.len() > 16_000,
            "{what}"
        );
        assert_eq!(
            kept.len() + n,
            prompt.len(),
            "{what}: N counts what was left out"
        );
    }
    assert_eq!(chat_row.attr(TRUNCATED), Some(&Value::Bool(true)));
    assert_eq!(chat_otlp.attr(TRUNCATED), Some("Bool(true)"));
    assert_eq!(
        otlp_str(chat_otlp, INPUT),
        chat_row.attr_str(INPUT).unwrap()
    );
    // The 1 MB answer is `Debug` text, not JSON: cut as text, marked.
    let output = chat_row.attr_str(OUTPUT).expect("captured output");
    assert!(output.len() <= max && output.starts_with("Ok(Reply { text: \"answer: yyy"));
    assert!(cut(output).is_some(), "{output:.100}");
    assert_eq!(otlp_str(chat_otlp, OUTPUT), output);
    // The turn's own arguments held the prompt too; the small turns are untouched.
    let big_turn = rows
        .iter()
        .find(|r| r.attr_str(INPUT).is_some_and(|i| i.contains("s-big")))
        .expect("the big turn");
    assert!(big_turn.attr_str(INPUT).unwrap().len() <= max);
    assert_eq!(big_turn.attr(TRUNCATED), Some(&Value::Bool(true)));
    let small: Vec<&SpanRow> = rows
        .iter()
        .filter(|r| r.trace_id != chat_row.trace_id)
        .collect();
    assert_eq!(small.len(), 15);
    for r in small {
        assert!(r.attr(TRUNCATED).is_none(), "{}", r.name);
        assert!(otlp[&r.span_id].attr(TRUNCATED).is_none());
    }

    // 2. A redaction hook, from the builder: both sinks see what it returned, and it sees
    // the prompt before the bound: the address straddles the chat input's cut (at 4 055
    // bytes of the prompt), so bounding first would keep "alice" of it.
    let store = TempStore::new();
    let guard = TelemetryConfig::builder()
        .sinks([SinkKind::Sqlite, SinkKind::OtelTrace])
        .sqlite_db_path(&store.path)
        .service_name("content-limits-redacted")
        .otlp_endpoint(rotel.http_endpoint())
        .capture_content(true)
        .capture_max_bytes(4_096)
        .redact(|_key, value| value.replace("alice@example.com", "[email]"))
        .build()
        .init_local()
        .expect("init");
    let at_the_cut = format!("{}alice@example.com{}", "x".repeat(4_050), "x".repeat(MIB));
    turn("s-redact", &at_the_cut).expect("turn");
    turn("s-small", "mail alice@example.com the forecast").expect("turn");
    let rows = assert_all_delivered(&guard, &store.path);
    drop(guard);
    assert_eq!(rows.len(), 6);
    let otlp = received(&rotel, &rows);
    let mut redacted = 0;
    for r in &rows {
        let exported = &otlp[&r.span_id];
        for key in [
            INPUT,
            OUTPUT,
            "gen_ai.tool.call.arguments",
            "gen_ai.tool.call.result",
        ] {
            let Some(stored) = r.attr_str(key) else {
                continue;
            };
            let sent = otlp_str(exported, key);
            assert_eq!(stored, sent, "{} {key}", r.name);
            assert!(stored.len() <= 4_096, "{} {key}", r.name);
            assert!(!stored.contains("alice"), "{} {key}: {stored:.200}", r.name);
            redacted += usize::from(stored.contains("[email]"));
        }
    }
    // The small turn's and chat's inputs, both tools' arguments and results.
    assert_eq!(redacted, 6);
    let small_chat = rows
        .iter()
        .find(|r| r.name.starts_with("chat") && r.attr(TRUNCATED).is_none())
        .expect("the small chat");
    assert_eq!(
        small_chat.attr_str(INPUT),
        Some(r#"{"prompt":"mail [email] the forecast"}"#)
    );
}

#[derive(Debug)]
struct Token(usize);

impl TokenUsage for Token {
    fn token_usage(&self) -> Option<Usage> {
        // The totals in the last chunk, as OpenAI and Ollama send them.
        (self.0 == 1_999).then(|| Usage::new(3, 2_000))
    }
}

#[instrument_inference(model = "stream-model", provider = "test")]
fn long_stream() -> impl Stream<Item = Token> {
    stream::iter((0..2_000).map(Token))
}

#[test]
fn a_long_stream_keeps_whole_chunks_within_the_bound_and_is_marked() {
    let store = TempStore::new();
    let guard = TelemetryConfig::builder()
        .sinks([SinkKind::Sqlite])
        .sqlite_db_path(&store.path)
        .capture_content(true)
        .capture_max_bytes(1_024)
        .build()
        .init_local()
        .unwrap();
    let items = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(long_stream().collect::<Vec<_>>());
    assert_eq!(items.len(), 2_000);
    drop(guard);
    let spans = store.spans();
    let span = &spans[0];
    assert_eq!(span.attr_u64("llm_telemetry.stream.chunks"), Some(2_000));
    assert_eq!(span.attr_u64("gen_ai.usage.output_tokens"), Some(2_000));
    assert_eq!(span.status, "ok");
    let output = span.attr_str(OUTPUT).expect("captured output");
    assert!(output.len() <= 1_024, "{}", output.len());
    let chunks: Vec<String> = serde_json::from_str(output).expect("a JSON array");
    let kept = chunks.len() - 1;
    for (i, c) in chunks[..kept].iter().enumerate() {
        assert_eq!(*c, format!("Token({i})"));
    }
    assert_eq!(
        chunks[kept],
        format!("…[truncated {} elements]", 2_000 - kept)
    );
    assert_eq!(span.attr(TRUNCATED), Some(&Value::Bool(true)));
}
