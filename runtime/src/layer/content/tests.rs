//! The content policy inside a real layer, in front of an in-memory sink: redaction only
//! with capture on, for every content key and nothing else, before the bound; the bound
//! and its mark; a panicking hook losing nothing but its own value; telemetry from inside
//! the hook ignored; two layers with settings of their own.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing::field::Empty;
use tracing_subscriber::prelude::*;

use super::REDACTION_FAILED;
use crate::config::capture::Redactor;
use crate::config::TelemetryConfig;
use crate::layer::lookups::content_capture_max_bytes;
use crate::layer::{LayerSettings, TelemetryLayer};
use crate::model::attr::{attr, AttrValue};
use crate::model::semconv::{CONTENT_FIELDS, CONTENT_TRUNCATED};
use crate::model::span::SpanRecord;
use crate::pipeline::{Accepts, BatchWriter, Pipeline, QueueOptions, SinkHandle, Telemetry};

type Records = Arc<Mutex<Vec<Arc<SpanRecord>>>>;

/// Keeps every span it is given.
struct Memory(Records);

impl BatchWriter for Memory {
    fn write_batch(&mut self, batch: &[Telemetry]) -> Result<(), crate::pipeline::WriteError> {
        let mut spans = self.0.lock().unwrap();
        spans.extend(batch.iter().filter_map(Telemetry::span).cloned());
        Ok(())
    }
}

/// A hook from a builder, as `install` takes it from the configuration.
fn hook(f: impl Fn(&str, String) -> String + Send + Sync + 'static) -> Redactor {
    TelemetryConfig::builder()
        .redact(f)
        .build()
        .redact
        .expect("the hook is set")
}

/// Run `f` under a layer with these settings; the spans it recorded.
fn spans(
    capture: bool,
    max_bytes: usize,
    redact: Option<Redactor>,
    f: impl FnOnce(),
) -> Vec<Arc<SpanRecord>> {
    let records = Records::default();
    let sink = SinkHandle::spawn(
        "memory",
        Accepts::ALL,
        QueueOptions {
            capacity: 1024,
            max_batch: 64,
        },
        Memory(records.clone()),
    );
    let pipeline = Arc::new(Pipeline::new(vec![sink]));
    let settings = LayerSettings {
        service_name: Arc::from("content-tests"),
        capture_content: capture,
        capture_max_bytes: max_bytes,
        redact,
        metric_namespace: Arc::from("llama_stack"),
        sampler: Default::default(),
        prices: Arc::new(crate::model::price::PriceTable::new(Vec::new())),
    };
    let layer = TelemetryLayer::new(settings, pipeline.clone());
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), f);
    assert!(pipeline.flush(Duration::from_secs(10)));
    let out = records.lock().unwrap().clone();
    out
}

fn str_attr<'a>(span: &'a SpanRecord, key: &str) -> Option<&'a str> {
    attr(&span.attributes, key).and_then(AttrValue::as_str)
}

/// A span with every content field and a few others, each holding "secret".
fn span_with_everything() {
    let span = tracing::info_span!(
        "chat",
        gen_ai.operation.name = "chat",
        gen_ai.request.model = "secret-model",
        gen_ai.input.messages = Empty,
        gen_ai.output.messages = Empty,
        gen_ai.tool.call.arguments = Empty,
        gen_ai.tool.call.result = Empty,
        gen_ai.retrieval.query.text = Empty,
        gen_ai.retrieval.documents = Empty,
        gen_ai.usage.input_tokens = Empty,
    );
    for key in CONTENT_FIELDS {
        span.record(key, format!("{key}: my secret").as_str());
    }
    // `Debug`-recorded content (a return value) goes the same way.
    span.record(
        "gen_ai.output.messages",
        tracing::field::debug(&Some("the secret answer")),
    );
    span.record("gen_ai.usage.input_tokens", 7_u64);
}

#[test]
fn redaction_runs_only_with_capture_on_for_every_content_key_and_nothing_else() {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let redact = {
        let seen = seen.clone();
        hook(move |key, value| {
            seen.lock().unwrap().push(key.to_owned());
            value.replace("secret", "[redacted]")
        })
    };

    let off = spans(false, 16_384, Some(redact.clone()), span_with_everything);
    assert!(
        seen.lock().unwrap().is_empty(),
        "capture off: the hook never runs"
    );
    let span = &off[0];
    assert!(CONTENT_FIELDS
        .iter()
        .all(|k| attr(&span.attributes, k).is_none()));
    assert_eq!(str_attr(span, "gen_ai.request.model"), Some("secret-model"));

    let on = spans(true, 16_384, Some(redact), span_with_everything);
    let span = &on[0];
    let mut keys = seen.lock().unwrap().clone();
    keys.sort();
    keys.dedup();
    let mut expected: Vec<String> = CONTENT_FIELDS.iter().map(|k| k.to_string()).collect();
    expected.sort();
    assert_eq!(keys, expected, "every content key, and only those");
    for key in CONTENT_FIELDS {
        let value = str_attr(span, key).unwrap_or_else(|| panic!("{key} captured"));
        assert!(!value.contains("secret"), "{key}: {value}");
        assert!(value.contains("[redacted]"), "{key}: {value}");
    }
    assert_eq!(
        str_attr(span, "gen_ai.output.messages"),
        Some("Some(\"the [redacted] answer\")")
    );
    assert_eq!(str_attr(span, "gen_ai.request.model"), Some("secret-model"));
    assert_eq!(
        attr(&span.attributes, "gen_ai.usage.input_tokens"),
        Some(&AttrValue::U64(7))
    );
    assert!(attr(&span.attributes, CONTENT_TRUNCATED).is_none());
}

#[test]
fn a_panicking_hook_loses_its_value_only_and_poisons_nothing() {
    let redact = hook(|key, value| {
        if key == "gen_ai.input.messages" {
            panic!("the hook's own bug");
        }
        value.replace("secret", "[redacted]")
    });
    let recorded = spans(true, 16_384, Some(redact), || {
        span_with_everything();
        // The layer is still fine afterwards, on the same thread.
        span_with_everything();
    });
    assert_eq!(recorded.len(), 2);
    for span in &recorded {
        assert_eq!(
            str_attr(span, "gen_ai.input.messages"),
            Some(REDACTION_FAILED)
        );
        assert_eq!(
            str_attr(span, "gen_ai.tool.call.result"),
            Some("gen_ai.tool.call.result: my [redacted]")
        );
        assert_eq!(str_attr(span, "gen_ai.operation.name"), Some("chat"));
        assert_eq!(str_attr(span, "gen_ai.request.model"), Some("secret-model"));
        assert_eq!(
            attr(&span.attributes, "gen_ai.usage.input_tokens"),
            Some(&AttrValue::U64(7))
        );
        assert_eq!(span.name, "chat");
    }
}

#[test]
fn the_bound_applies_after_redaction_and_marks_the_span() {
    let max = 1_024;
    // A secret straddling the bound: the hook sees it whole, before anything is cut.
    let value = format!(
        "{}sk-SECRETSECRET{}",
        "a".repeat(max - 28),
        "b".repeat(5_000)
    );
    let recorded = spans(
        true,
        max,
        Some(hook(|_, v| v.replace("sk-SECRETSECRET", "[key]"))),
        || {
            let span = tracing::info_span!(
                "chat",
                gen_ai.input.messages = Empty,
                gen_ai.output.messages = Empty
            );
            span.record("gen_ai.input.messages", value.as_str());
            span.record("gen_ai.output.messages", "short");
        },
    );
    let span = &recorded[0];
    let input = str_attr(span, "gen_ai.input.messages").unwrap();
    assert!(input.len() <= max, "{}", input.len());
    assert!(
        !input.contains("sk-") && !input.contains("SECRET"),
        "{input}"
    );
    assert!(input.ends_with(" bytes]"), "{input}");
    assert_eq!(str_attr(span, "gen_ai.output.messages"), Some("short"));
    assert_eq!(
        attr(&span.attributes, CONTENT_TRUNCATED),
        Some(&AttrValue::Bool(true))
    );

    // Without a hook, the same bound; a value within it is not marked.
    let recorded = spans(true, max, None, || {
        let span = tracing::info_span!("chat", gen_ai.input.messages = Empty);
        span.record("gen_ai.input.messages", r#"{"q":"short"}"#);
    });
    assert_eq!(
        str_attr(&recorded[0], "gen_ai.input.messages"),
        Some(r#"{"q":"short"}"#)
    );
    assert!(attr(&recorded[0].attributes, CONTENT_TRUNCATED).is_none());
}

#[test]
fn telemetry_from_inside_the_hook_is_ignored() {
    let recorded = spans(
        true,
        16_384,
        Some(hook(|_, v| {
            tracing::info!("redacting");
            let _inner = tracing::info_span!("inside the hook").entered();
            v
        })),
        || {
            let span = tracing::info_span!("chat", gen_ai.input.messages = Empty);
            let _entered = span.enter();
            span.record("gen_ai.input.messages", "hello");
        },
    );
    assert_eq!(recorded.len(), 1, "only the span itself");
    assert_eq!(
        str_attr(&recorded[0], "gen_ai.input.messages"),
        Some("hello")
    );
    assert!(recorded[0].events.is_empty());
}

#[test]
fn each_layer_tells_its_own_bound() {
    let probe = || content_capture_max_bytes(&tracing::info_span!("probe"));
    let mut seen = Vec::new();
    spans(true, 300, None, || seen.push(probe()));
    spans(true, 5_000, None, || seen.push(probe()));
    spans(false, 5_000, None, || seen.push(probe()));
    seen.push(probe());
    assert_eq!(seen, [Some(300), Some(5_000), None, None]);
}
