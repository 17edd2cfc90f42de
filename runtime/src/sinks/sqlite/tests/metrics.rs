//! Metric points: summed per series and second within a batch, and an inference's points
//! (a stream's too) and a guardrail's summed on the fast path exactly as on the general one.

use crate::model::time::sqlite_timestamp;

use super::*;

#[test]
fn inference_points_summed_per_series_as_the_general_path_sums_them() {
    // Consecutive inferences that share their series (the fast path) and ones that
    // do not: another second, model, error, no usage, a number where text was; streamed
    // ones, and guardrail violations between them.
    let metrics = inference_metrics();
    let base = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let mut items = Vec::new();
    for i in 0..40u64 {
        let mut attributes = vec![
            ("gen_ai.operation.name", AttrValue::Str("chat".into())),
            ("gen_ai.provider.name", AttrValue::Str("ollama".into())),
            (
                "gen_ai.request.model",
                AttrValue::Str(if i % 7 < 5 { "a" } else { "b" }.into()),
            ),
        ];
        if i % 9 != 4 {
            attributes.push(("gen_ai.usage.input_tokens", AttrValue::U64(i)));
            attributes.push(("gen_ai.usage.output_tokens", AttrValue::U64(2 * i + 1)));
        }
        if i % 11 == 3 {
            attributes.push(("error.type", AttrValue::Str("Timeout".into())));
        }
        if i == 20 {
            attributes[2].1 = AttrValue::U64(7);
        }
        let mut s = S::new(TraceId::random(), None, "chat a");
        s.attributes = attributes;
        if i % 3 == 1 {
            s.attributes.push((
                "gen_ai.response.time_to_first_chunk",
                AttrValue::F64(0.01 * i as f64),
            ));
            s.chunk_intervals = (0..i % 5).map(|k| 0.02 * (k + i) as f32).collect();
        }
        s.start = base + Duration::from_millis(i * 150);
        s.ms = 40 + i;
        items.push(s.inference());
        if i % 8 == 2 {
            let mut g = S::new(TraceId::random(), None, "apply_guardrail shield");
            g.attributes = vec![
                (
                    "llm_telemetry.guardrail.shield_id",
                    AttrValue::Str("shield".into()),
                ),
                ("llm_telemetry.guardrail.violated", AttrValue::Bool(true)),
                (
                    "llm_telemetry.guardrail.violation.level",
                    AttrValue::Str("warn".into()),
                ),
            ];
            g.start = base + Duration::from_millis(i * 150);
            items.push(g.guardrail());
        }
    }
    let general: Vec<Telemetry> = items
        .iter()
        .map(|item| Telemetry::Metrics(item.metrics(&metrics).unwrap().into_owned().into()))
        .collect();
    let rows = |items: &[Telemetry], name: &str| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        open(&path).write_batch(items).unwrap();
        select::<(
            String,
            String,
            String,
            f64,
            i64,
            String,
            String,
            String,
            String,
        )>(
            &reader(&path),
            "SELECT name, instrument, unit, value, count, timestamp, attributes, \
             trace_id, span_id FROM metrics ORDER BY id",
        )
        .iter()
        .map(|row| format!("{row:?}"))
        .collect::<Vec<_>>()
    };
    let fast = rows(&items, "fast.db");
    assert_eq!(fast, rows(&general, "general.db"));
    for name in [
        "gen_ai.client.operation.time_to_first_chunk",
        "gen_ai.client.operation.time_per_output_chunk",
        "llama_stack.guardrail_violations",
    ] {
        assert!(
            fast.iter().any(|row| row.contains(name)),
            "{name}: {fast:#?}"
        );
    }
    // Several series and seconds, and fewer rows than points.
    assert!(fast.len() > 12 && fast.len() < 200, "{}", fast.len());
}

#[test]
fn metric_points_are_summed_per_series_and_second_within_a_batch() {
    let (_dir, path, mut w) = temp_store();
    // A whole second, so that "the same second" below cannot straddle two.
    let second = SystemTime::UNIX_EPOCH
        + Duration::from_secs(
            at(60.0)
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        );
    let ms = |n: u64| second + Duration::from_millis(n);
    let mut first = point("llama_stack.tokens", 10.0, "a", ms(100));
    first.trace_id = Some(TraceId::random());
    first.span_id = Some(SpanId::random());
    let batch: Arc<[MetricRecord]> = vec![
        first.clone(),
        point("llama_stack.tokens", 20.0, "b", ms(200)),
        point("llama_stack.tokens", 5.0, "a", ms(900)),
        point("llama_stack.tokens", 1.0, "a", ms(1_100)), // the next second
        point("llama_stack.prompt_tokens", 7.0, "a", ms(300)),
    ]
    .into();
    w.write_batch(&[Telemetry::Metrics(batch.clone())]).unwrap();
    // A second batch with the same points: rows of its own, never merged into stored ones.
    w.write_batch(&[Telemetry::Metrics(batch)]).unwrap();
    let conn = reader(&path);
    type Row = (String, f64, i64, String, String, Option<String>);
    let rows: Vec<Row> = select(
        &conn,
        "SELECT name, value, count, timestamp, attributes, span_id FROM metrics ORDER BY id",
    );
    assert_eq!(rows.len(), 8, "{rows:#?}");
    let a = r#"{"model_id":"a"}"#.to_string();
    let b = r#"{"model_id":"b"}"#.to_string();
    let first_span = first.span_id.map(|s| s.to_string());
    let expected: Vec<Row> = vec![
        // The latest measurement's time; the first contributing span as exemplar.
        (
            "llama_stack.tokens".into(),
            15.0,
            2,
            sqlite_timestamp(ms(900)),
            a.clone(),
            first_span,
        ),
        (
            "llama_stack.tokens".into(),
            20.0,
            1,
            sqlite_timestamp(ms(200)),
            b,
            None,
        ),
        (
            "llama_stack.tokens".into(),
            1.0,
            1,
            sqlite_timestamp(ms(1_100)),
            a.clone(),
            None,
        ),
        (
            "llama_stack.prompt_tokens".into(),
            7.0,
            1,
            sqlite_timestamp(ms(300)),
            a,
            None,
        ),
    ];
    assert_eq!(rows[..4], expected[..]);
    assert_eq!(rows[4..], expected[..]);
    // What a reader sums is what was measured.
    assert_eq!(
        count(
            &conn,
            "SELECT SUM(count) FROM metrics WHERE name = 'llama_stack.tokens'"
        ),
        8
    );
    assert_eq!(
        count(
            &conn,
            "SELECT CAST(SUM(value) AS INTEGER) FROM metrics WHERE name = 'llama_stack.tokens'"
        ),
        72
    );
}
