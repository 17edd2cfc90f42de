//! What a stream and a guardrail yield: their points, names, units, labels and buckets.

use std::borrow::Cow;

use super::inference::stream_points;
use super::instruments::{
    description, histogram_buckets, is_whole_count, OPERATION_DURATION_BUCKETS,
    OPERATION_TIME_PER_OUTPUT_CHUNK, OPERATION_TIME_TO_FIRST_CHUNK, VIOLATION_UNIT,
};
use super::InferenceMetrics;
use crate::model::attr::{AttrValue, Attributes};
use crate::model::span::SpanRecord;
use crate::model::vocab::{Instrument, SpanCategory};

fn attrs(pairs: &[(&'static str, AttrValue)]) -> Attributes {
    pairs
        .iter()
        .map(|(k, v)| (Cow::Borrowed(*k), v.clone()))
        .collect()
}

fn chat(extra: &[(&'static str, AttrValue)], intervals: Vec<f32>) -> SpanRecord {
    let mut attributes = attrs(&[
        ("gen_ai.operation.name", AttrValue::Str("chat".into())),
        ("gen_ai.provider.name", AttrValue::Str("ollama".into())),
        ("gen_ai.request.model", AttrValue::Str("m".into())),
        ("gen_ai.response.model", AttrValue::Str("m-1".into())),
        ("gen_ai.usage.input_tokens", AttrValue::U64(5)),
        ("gen_ai.usage.output_tokens", AttrValue::U64(7)),
    ]);
    attributes.extend(attrs(extra));
    SpanRecord {
        category: SpanCategory::Inference,
        attributes,
        chunk_intervals: intervals,
        ..SpanRecord::test("chat m")
    }
}

#[test]
fn a_stream_yields_its_time_to_first_chunk_and_one_point_per_interval() {
    let span = chat(
        &[
            ("gen_ai.response.time_to_first_chunk", AttrValue::F64(0.25)),
            ("error.type", AttrValue::Str("Timeout".into())),
        ],
        vec![0.5, 0.125],
    );
    let points: Vec<_> = stream_points(&span).collect();
    let got: Vec<(&str, f64)> = points.iter().map(|p| (&*p.name, p.value)).collect();
    assert_eq!(
        got,
        [
            (OPERATION_TIME_TO_FIRST_CHUNK, 0.25),
            (OPERATION_TIME_PER_OUTPUT_CHUNK, 0.5),
            (OPERATION_TIME_PER_OUTPUT_CHUNK, 0.125),
        ]
    );
    for p in &points {
        assert_eq!((p.instrument, &*p.unit), (Instrument::Histogram, "s"));
        assert_eq!(
            (p.trace_id, p.span_id),
            (Some(span.trace_id), Some(span.span_id))
        );
        assert_eq!(p.timestamp, span.end_time);
        // The GenAI attributes, but no `error.type` (the conventions list none here).
        let keys: Vec<&str> = p.attributes.iter().map(|(k, _)| &**k).collect();
        assert_eq!(
            keys,
            [
                "gen_ai.operation.name",
                "gen_ai.provider.name",
                "gen_ai.request.model",
                "gen_ai.response.model"
            ]
        );
    }
    // All of a span's points, after the call's own (5 counters and histograms, duration).
    let all = InferenceMetrics::new("ns").measure_span(&span);
    assert_eq!(all.len(), 6 + 3);
    assert_eq!(all[6..], points[..]);
}

#[test]
fn a_call_that_was_not_streamed_yields_no_stream_points() {
    let span = chat(&[], Vec::new());
    assert_eq!(stream_points(&span).count(), 0);
    assert_eq!(InferenceMetrics::new("ns").measure_span(&span).len(), 6);
}

#[test]
fn stream_histograms_have_the_operation_duration_buckets() {
    for name in [
        OPERATION_TIME_TO_FIRST_CHUNK,
        OPERATION_TIME_PER_OUTPUT_CHUNK,
    ] {
        assert_eq!(
            histogram_buckets(name, "s"),
            Some(&OPERATION_DURATION_BUCKETS[..])
        );
        assert!(description(name).contains("stream"), "{name}");
    }
    assert_eq!(
        OPERATION_DURATION_BUCKETS,
        [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
    );
}

#[test]
fn a_violated_guardrail_counts_once_by_shield_and_level() {
    let metrics = InferenceMetrics::new("ns");
    let guardrail = |pairs: &[(&'static str, AttrValue)]| SpanRecord {
        category: SpanCategory::Guardrail,
        attributes: attrs(pairs),
        ..SpanRecord::test("apply_guardrail llama-guard")
    };
    let shield = (
        "llm_telemetry.guardrail.shield_id",
        AttrValue::Str("llama-guard".into()),
    );
    let violated = ("llm_telemetry.guardrail.violated", AttrValue::Bool(true));
    let level = (
        "llm_telemetry.guardrail.violation.level",
        AttrValue::Str("warn".into()),
    );
    let points = metrics.measure_guardrail(&guardrail(&[shield.clone(), violated.clone(), level]));
    assert_eq!(points.len(), 1);
    let p = &points[0];
    assert_eq!(&*p.name, "ns.guardrail_violations");
    assert_eq!(
        (p.instrument, &*p.unit, p.value),
        (Instrument::Counter, VIOLATION_UNIT, 1.0)
    );
    assert!(is_whole_count(&p.unit));
    assert_eq!(
        p.attributes,
        attrs(&[
            ("shield", AttrValue::Str("llama-guard".into())),
            ("level", AttrValue::Str("warn".into())),
        ])
    );
    assert!(description(&p.name).contains("Guardrail"));
    // No level recorded: the label is left out, the violation still counts.
    let points = metrics.measure_guardrail(&guardrail(&[shield.clone(), violated]));
    assert_eq!(
        points[0].attributes,
        attrs(&[("shield", AttrValue::Str("llama-guard".into()))])
    );
    // No violation (or not a boolean): nothing.
    let passed = ("llm_telemetry.guardrail.violated", AttrValue::Bool(false));
    assert!(metrics
        .measure_guardrail(&guardrail(&[shield.clone(), passed]))
        .is_empty());
    let text = (
        "llm_telemetry.guardrail.violated",
        AttrValue::Str("true".into()),
    );
    assert!(metrics
        .measure_guardrail(&guardrail(&[shield, text]))
        .is_empty());
}

#[test]
fn a_priced_inference_yields_a_cost_counter_with_the_token_counters_labels() {
    let metrics = InferenceMetrics::new("ns");
    let priced = chat(&[("gen_ai.usage.cost", AttrValue::F64(0.0125))], vec![]);
    let points = metrics.measure_call(&priced);
    let cost: Vec<_> = points.iter().filter(|p| p.name == "ns.cost").collect();
    assert_eq!(cost.len(), 1);
    assert_eq!(
        (cost[0].instrument, &*cost[0].unit, cost[0].value),
        (Instrument::Counter, "USD", 0.0125)
    );
    let tokens = points.iter().find(|p| p.name == "ns.tokens").unwrap();
    assert_eq!(cost[0].attributes, tokens.attributes);
    assert!(!is_whole_count("USD"));
    assert!(description("ns.cost").contains("USD"));
    // No price: no cost point (not a zero).
    let unpriced = metrics.measure_call(&chat(&[], vec![]));
    assert!(unpriced.iter().all(|p| p.name != "ns.cost"));
    assert_eq!(points.len(), unpriced.len() + 1);
    assert!(
        crate::metrics::prometheus_names::prometheus_names("ns.cost", "counter", Some("USD"))
            .contains(&"ns_cost_usd_total".to_string())
    );
}
