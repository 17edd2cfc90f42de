//! `get_span_tree` (`POST /spans/{span_id}/tree`), `query_spans` (`POST /spans`) and
//! `save_spans_to_dataset` (`POST /spans/export`, JSON Lines into the datasets directory).

use std::io::Write;

use axum::extract::State;
use axum::Json;
use llm_telemetry::store;
use serde_json::{Map, Value};

use super::body::JsonBody;
use super::convert;
use super::error::ApiError;
use super::path::IdPath;
use super::wire::{Data, OrderedMap, QuerySpansRequest, SaveSpansRequest, Span, SpanTreeRequest};
use crate::commands::serve::state::AppState;

/// `POST /spans/{rest}`: `rest` is `{span_id}/tree` (the id may hold `/`).
pub async fn span_tree_route(
    state: State<AppState>,
    IdPath(rest): IdPath,
    body: JsonBody<SpanTreeRequest>,
) -> Result<Json<Data<OrderedMap<Span>>>, ApiError> {
    match rest.strip_suffix("/tree") {
        Some(span_id) if !span_id.is_empty() => {
            get_span_tree(state, span_id.to_owned(), body).await
        }
        _ => Err(ApiError::NoRoute),
    }
}

/// A span and its descendants, keyed by span id in (depth, start) order.
#[utoipa::path(post, path = "/v1/telemetry/spans/{span_id}/tree", tag = "telemetry", operation_id = "get_span_tree",
    params(("span_id" = String, Path, description = "May contain `/`")),
    request_body(content = SpanTreeRequest, description = "Optional"),
    responses((status = 200, description = "`{\"data\": {span_id: SpanWithStatus}}`", body = inline(Data<std::collections::BTreeMap<String, Span>>)),
              (status = 400, description = "No such span, or a bad field")))]
pub async fn get_span_tree(
    State(state): State<AppState>,
    span_id: String,
    JsonBody(req): JsonBody<SpanTreeRequest>,
) -> Result<Json<Data<OrderedMap<Span>>>, ApiError> {
    let keep: Option<Vec<String>> = req.attributes_to_return.filter(|k| !k.is_empty());
    let depth = convert::depth_below(req.max_depth);
    let keep2 = keep.clone();
    let tree = state
        .read(move |store| {
            let Some(store) = store else {
                return Err(ApiError::Invalid(format!("Span {span_id} not found")));
            };
            let names: Option<Vec<&str>> = keep2
                .as_ref()
                .map(|k| k.iter().map(String::as_str).collect());
            Ok(store.get_span_tree(&span_id, names.as_deref(), depth)?)
        })
        .await?;
    // (depth, start) order, as llama-stack's recursive query returned them.
    let mut nodes = Vec::with_capacity(tree.len());
    flatten(tree, &mut nodes);
    nodes.sort_by(|a, b| {
        (a.0, &a.1.start_time, &a.1.span_id).cmp(&(b.0, &b.1.start_time, &b.1.span_id))
    });
    let mut data = OrderedMap::default();
    for (_, node) in nodes {
        let mut span = convert::span(node, true);
        if let Some(keep) = &keep {
            fill_missing(&mut span.attributes, keep);
        }
        data.push(span.span_id.clone(), span);
    }
    Ok(Json(Data { data }))
}

/// The spans of a tree with their depth, moved out of it.
fn flatten(node: store::SpanWithChildren, out: &mut Vec<(u32, store::Span)>) {
    out.push((node.depth, node.span));
    for child in node.children {
        flatten(child, out);
    }
}

/// Every key of `keep` present, `null` where the span lacks it (llama-stack's `json_object`).
fn fill_missing(attributes: &mut Map<String, Value>, keep: &[String]) {
    for key in keep {
        attributes.entry(key.clone()).or_insert(Value::Null);
    }
}

/// The spans of the traces matching the filters, each with its own trace id.
#[utoipa::path(post, path = "/v1/telemetry/spans", tag = "telemetry", operation_id = "query_spans",
    request_body = QuerySpansRequest,
    responses((status = 200, body = inline(Data<Vec<Span>>)), (status = 400, description = "A bad filter or field")))]
pub async fn query_spans(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<QuerySpansRequest>,
) -> Result<Json<Data<Vec<Span>>>, ApiError> {
    let spans = select_spans(
        &state,
        &req.attribute_filters,
        req.attributes_to_return,
        req.max_depth,
    )
    .await?;
    Ok(Json(Data {
        data: spans.into_iter().map(|s| convert::span(s, false)).collect(),
    }))
}

async fn select_spans(
    state: &AppState,
    conditions: &[super::wire::QueryCondition],
    attributes: Vec<String>,
    max_depth: Option<i64>,
) -> Result<Vec<store::Span>, ApiError> {
    let filters = convert::filters(conditions, "attribute_filters")?;
    let depth = convert::depth_below(max_depth);
    state
        .read(move |store| {
            let Some(store) = store else {
                return Ok(Vec::new());
            };
            let keep: Vec<&str> = attributes.iter().map(String::as_str).collect();
            let keep = (!keep.is_empty()).then_some(&keep[..]);
            Ok(store.query_spans(&filters, keep, depth)?)
        })
        .await
}

/// The spans `query_spans` selects (those with every attribute to save) appended as JSON
/// Lines to `<datasets dir>/<dataset_id>.jsonl`, one object per span: its ids, name, times
/// and the attributes to save.
#[utoipa::path(post, path = "/v1/telemetry/spans/export", tag = "telemetry", operation_id = "save_spans_to_dataset",
    request_body = SaveSpansRequest,
    responses((status = 200, description = "`null`; the rows are written"), (status = 400, description = "A bad dataset_id, filter or field")))]
pub async fn save_spans_to_dataset(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<SaveSpansRequest>,
) -> Result<Json<Value>, ApiError> {
    validate_dataset_id(&req.dataset_id)?;
    // The spans that have every attribute to save, as llama-stack selected them.
    let spans = select_spans(
        &state,
        &req.attribute_filters,
        req.attributes_to_save.clone(),
        req.max_depth,
    )
    .await?;
    let mut lines = Vec::new();
    for s in spans {
        let mut row = Map::new();
        row.insert("trace_id".into(), s.trace_id.clone().into());
        row.insert("span_id".into(), s.span_id.clone().into());
        row.insert("parent_span_id".into(), s.parent_span_id.clone().into());
        row.insert("name".into(), s.name.clone().into());
        row.insert("start_time".into(), convert::rfc3339(&s.start_time).into());
        row.insert(
            "end_time".into(),
            s.end_time.as_deref().map(convert::rfc3339).into(),
        );
        for key in &req.attributes_to_save {
            row.insert(
                key.clone(),
                s.attributes.get(key).cloned().unwrap_or(Value::Null),
            );
        }
        serde_json::to_writer(&mut lines, &row).map_err(|e| ApiError::Store(e.to_string()))?;
        lines.push(b'\n');
    }
    let dir = state.datasets_dir().to_path_buf();
    let path = dir.join(format!("{}.jsonl", req.dataset_id));
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        std::fs::create_dir_all(&dir)?;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        f.write_all(&lines)?;
        f.sync_data()
    })
    .await
    .map_err(|e| ApiError::Store(e.to_string()))?
    .map_err(|e| ApiError::Store(format!("cannot write the data set: {e}")))?;
    Ok(Json(Value::Null))
}

/// A data set id is a file name: 1–128 of letters, digits, `.`, `_`, `-`, not starting with `.`.
fn validate_dataset_id(id: &str) -> Result<(), ApiError> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::body(
            &["dataset_id"],
            format!("{id:?} is not a data set name: use 1 to 128 letters, digits, '.', '_' or '-', not starting with '.'"),
            "value_error",
        ))
    }
}
