//! Head sampling (`OTEL_TRACES_SAMPLER`): the trace sinks get whole sampled traces and
//! nothing of the others, the metrics count every call, an incoming `traceparent`'s sampled
//! flag is honoured and passed on, and a sampled-out span formats no content.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use common::{by_trace, count, TempStore};
use llm_telemetry::{
    context, instrument_agent_turn, instrument_inference, instrument_tool, ModelPrice, Sampler,
    SinkKind, TelemetryConfig, TokenUsage, Usage,
};

#[derive(Debug)]
struct Reply {
    prompt: u64,
    completion: u64,
}

impl TokenUsage for Reply {
    fn token_usage(&self) -> Option<Usage> {
        Some(Usage::new(self.prompt, self.completion))
    }
}

#[instrument_inference(model = "m-1", provider = "test")]
fn chat(prompt: u64, completion: u64) -> Reply {
    Reply { prompt, completion }
}

#[instrument_tool(tool = "lookup")]
fn lookup(key: u64) -> u64 {
    key * 2
}

#[instrument_agent_turn(agent = "sampler-test", session = "s-1")]
fn turn(i: u64) -> u64 {
    let a = chat(10 + i % 7, 3 + i % 5);
    let b = lookup(i);
    let c = chat(20, 1 + i % 3);
    a.completion + b + c.completion
}

/// The tokens of turn `i`, as the model reported them: (prompt, completion).
fn reported(i: u64) -> (u64, u64) {
    (10 + i % 7 + 20, 3 + i % 5 + 1 + i % 3)
}

fn config(store: &TempStore, sampler: Sampler) -> TelemetryConfig {
    TelemetryConfig::builder()
        .sinks([SinkKind::Sqlite, SinkKind::Prometheus])
        .sqlite_db_path(&store.path)
        .prometheus_addr("none")
        // $1 and $2 per million tokens: the cost counter is exact too.
        .price("m-1", ModelPrice::new(1.0, 2.0))
        .sampler(sampler)
        .build()
}

/// Sum of a metric's values in the store (all series, all seconds).
fn metric_sum(store: &TempStore, name: &str) -> f64 {
    store
        .open()
        .query_row(
            "SELECT COALESCE(SUM(value), 0) FROM metrics WHERE name = ?1",
            [name],
            |r| r.get(0),
        )
        .unwrap()
}

/// Sum of a Prometheus counter over all its series in a scrape.
fn scraped_sum(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[test]
fn at_ratio_one_tenth_whole_traces_are_stored_and_the_metrics_count_every_call() {
    let store = TempStore::new();
    let turns = 600u64;
    let guard = config(&store, Sampler::TraceIdRatio(0.1))
        .init_local()
        .unwrap();
    for i in 0..turns {
        turn(i);
    }
    let scrape = guard.prometheus_text().expect("prometheus text");
    drop(guard);

    // About a tenth of the traces, each one whole: a turn, its two inferences, its tool.
    let spans = store.spans();
    let traces = by_trace(&spans);
    assert!(
        (20..=120).contains(&traces.len()),
        "{} of {turns} traces stored at ratio 0.1",
        traces.len()
    );
    for (trace, spans) in &traces {
        let mut names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "chat m-1",
                "chat m-1",
                "execute_tool lookup",
                "invoke_agent sampler-test"
            ],
            "trace {trace}"
        );
    }
    assert_eq!(
        count(&store.path, "SELECT COUNT(*) FROM traces"),
        traces.len() as i64
    );

    // The metrics are those of all 600 turns.
    let (prompt, completion): (u64, u64) = (0..turns)
        .map(reported)
        .fold((0, 0), |(p, c), (dp, dc)| (p + dp, c + dc));
    assert_eq!(
        metric_sum(&store, "llama_stack.prompt_tokens"),
        prompt as f64
    );
    assert_eq!(
        metric_sum(&store, "llama_stack.completion_tokens"),
        completion as f64
    );
    assert_eq!(
        metric_sum(&store, "llama_stack.tokens"),
        (prompt + completion) as f64
    );
    assert_eq!(
        metric_sum(&store, "gen_ai.client.token.usage"),
        (prompt + completion) as f64
    );
    let cost = metric_sum(&store, "llama_stack.cost");
    let want = (prompt as f64 + 2.0 * completion as f64) / 1e6;
    assert!((cost - want).abs() < 1e-9, "{cost} vs {want}");
    let calls: i64 = store
        .open()
        .query_row(
            "SELECT SUM(count) FROM metrics WHERE name = 'gen_ai.client.operation.duration'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(calls, 2 * turns as i64);
    assert_eq!(
        scraped_sum(&scrape, "llama_stack_prompt_tokens_total"),
        prompt as f64
    );
    assert_eq!(
        scraped_sum(&scrape, "llama_stack_completion_tokens_total"),
        completion as f64
    );
}

#[test]
fn always_off_stores_no_span_and_keeps_every_metric() {
    let store = TempStore::new();
    let guard = config(&store, Sampler::AlwaysOff).init_local().unwrap();
    for i in 0..50 {
        turn(i);
    }
    let stats = guard.stats();
    drop(guard);
    assert_eq!(count(&store.path, "SELECT COUNT(*) FROM spans"), 0);
    assert_eq!(count(&store.path, "SELECT COUNT(*) FROM span_events"), 0);
    let prompt: u64 = (0..50).map(|i| reported(i).0).sum();
    assert_eq!(
        metric_sum(&store, "llama_stack.prompt_tokens"),
        prompt as f64
    );
    // Nothing was dropped on the way: the sampled-out inferences reached the sinks.
    for sink in &stats.sinks {
        assert_eq!(sink.dropped + sink.failed, 0, "{sink:?}");
    }
}

#[test]
fn a_remote_parent_s_sampled_flag_is_honoured_by_parent_based_samplers() {
    let remote = |flags: &str| {
        let value = format!("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-{flags}");
        let mut headers = http::HeaderMap::new();
        headers.insert("traceparent", value.parse().unwrap());
        headers
    };
    for (sampler, flags, stored) in [
        (Sampler::ParentBasedAlwaysOn, "01", true),
        (Sampler::ParentBasedAlwaysOn, "00", false),
        (Sampler::ParentBasedAlwaysOff, "01", true),
        (Sampler::ParentBasedTraceIdRatio(0.0), "01", true),
        (Sampler::AlwaysOn, "00", true),
        (Sampler::AlwaysOff, "01", false),
    ] {
        let store = TempStore::new();
        let guard = config(&store, sampler).init_local().unwrap();
        let next = context::extract(&remote(flags)).in_scope(|| {
            let _turn = tracing::info_span!("invoke_agent remote-child").entered();
            turn(1);
            context::traceparent().unwrap()
        });
        drop(guard);
        let spans = count(&store.path, "SELECT COUNT(*) FROM spans");
        assert_eq!(spans > 0, stored, "{sampler:?} with flags {flags}");
        // The decision travels on: `-01` when this process records the trace, `-00` when not.
        assert!(
            next.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
            "{next}"
        );
        assert_eq!(next.ends_with("-01"), stored, "{sampler:?} {flags}: {next}");
        // The metrics count the call either way.
        assert_eq!(
            metric_sum(&store, "llama_stack.prompt_tokens"),
            reported(1).0 as f64
        );
    }
}

/// Counts how often it is formatted: content capture formats arguments with `Debug`.
struct Watched;

static FORMATTED: AtomicUsize = AtomicUsize::new(0);

impl std::fmt::Debug for Watched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        FORMATTED.fetch_add(1, Ordering::SeqCst);
        f.write_str("\"watched\"")
    }
}

#[instrument_tool(tool = "watched")]
fn watched_tool(arg: &Watched) -> u64 {
    let _ = arg;
    1
}

#[test]
fn a_sampled_out_span_formats_no_content() {
    let store = TempStore::new();
    let on = TelemetryConfig::builder()
        .sinks([SinkKind::Sqlite])
        .sqlite_db_path(&store.path)
        .capture_content(true);
    let guard = on
        .clone()
        .sampler(Sampler::AlwaysOff)
        .build()
        .init_local()
        .unwrap();
    watched_tool(&Watched);
    drop(guard);
    assert_eq!(FORMATTED.load(Ordering::SeqCst), 0);

    // The same call in a sampled trace is captured.
    let guard = on.sampler(Sampler::AlwaysOn).build().init_local().unwrap();
    watched_tool(&Watched);
    drop(guard);
    assert!(FORMATTED.load(Ordering::SeqCst) > 0);
    let spans = store.spans();
    let tool = spans
        .iter()
        .find(|s| s.name == "execute_tool watched")
        .unwrap();
    assert!(tool
        .attr_str("gen_ai.tool.call.arguments")
        .unwrap()
        .contains("watched"));
}

#[test]
fn the_sampler_is_read_from_the_environment_names() {
    let config = TelemetryConfig::from_lookup(|k| match k {
        "OTEL_TRACES_SAMPLER" => Some("traceidratio".into()),
        "OTEL_TRACES_SAMPLER_ARG" => Some("0.1".into()),
        _ => None,
    })
    .unwrap();
    assert_eq!(config.sampler(), Sampler::TraceIdRatio(0.1));
    let err =
        TelemetryConfig::from_lookup(|k| (k == "OTEL_TRACES_SAMPLER_ARG").then(|| "0.5".into()))
            .map(|c| c.sampler());
    // The argument alone changes nothing: the default sampler takes none.
    assert_eq!(err.unwrap(), Sampler::ParentBasedAlwaysOn);
}
