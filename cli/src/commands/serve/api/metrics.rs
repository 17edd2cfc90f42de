//! `query_metrics` (`POST /metrics/{metric_name}`): the store's metric points and
//! llama-stack MetricEvents by label set, honouring the label matchers.

use axum::extract::State;
use axum::Json;
use llm_telemetry::store::{self, LabelMatcher, MatchOp};

use super::body::JsonBody;
use super::convert;
use super::error::ApiError;
use super::path::IdPath;
use super::wire::{
    Data, MetricDataPoint, MetricLabel, MetricQueryType, MetricSeries, QueryMetricsRequest,
};
use crate::commands::serve::state::AppState;

/// Points of a metric: by OTel name (`llama_stack.tokens`), Prometheus name
/// (`llama_stack_tokens_total`) or MetricEvent name (`prompt_tokens`); one series per
/// label set.
#[utoipa::path(post, path = "/v1/telemetry/metrics/{metric_name}", tag = "telemetry", operation_id = "query_metrics",
    params(("metric_name" = String, Path)),
    request_body = QueryMetricsRequest,
    responses((status = 200, body = inline(Data<Vec<MetricSeries>>)), (status = 400, description = "A bad matcher, granularity or field")))]
pub async fn query_metrics(
    State(state): State<AppState>,
    IdPath(metric): IdPath,
    JsonBody(req): JsonBody<QueryMetricsRequest>,
) -> Result<Json<Data<Vec<MetricSeries>>>, ApiError> {
    let instant = req.query_type == Some(MetricQueryType::Instant);
    // Instant: one point per series; range: a point per bucket, or per measurement.
    let granularity = match (&req.granularity, instant) {
        (_, true) | (None, false) => None,
        (Some(g), false) => Some(store::parse_age(g).filter(|d| !d.is_zero()).ok_or_else(
            || {
                ApiError::body(
                    &["granularity"],
                    format!("{g:?} is not a bucket length: use {}", store::AGE_FORMS),
                    "value_error",
                )
            },
        )?),
    };
    let mut matchers = Vec::new();
    for (i, m) in req.label_matchers.iter().flatten().enumerate() {
        let op: MatchOp =
            m.operator
                .as_deref()
                .unwrap_or("=")
                .parse()
                .map_err(|e: store::StoreError| {
                    ApiError::body(
                        &["label_matchers", &i.to_string(), "operator"],
                        e.to_string(),
                        "enum",
                    )
                })?;
        matchers.push(LabelMatcher::new(m.name.clone(), op, m.value.clone()));
    }
    let start = convert::from_unix(req.start_time);
    let end = req.end_time.map(convert::from_unix);
    let series = state
        .read(move |store| match store {
            Some(store) if !instant && granularity.is_none() => {
                Ok(store.query_metric_points(&metric, start, end, &matchers)?)
            }
            Some(store) => Ok(store.query_metrics(&metric, start, end, granularity, &matchers)?),
            None => Ok(Vec::new()),
        })
        .await?;
    let end_seconds = req.end_time.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    });
    let data = series
        .into_iter()
        .map(|s| {
            let unit = s.unit.clone().unwrap_or_default();
            MetricSeries {
                metric: s.metric,
                labels: s
                    .labels
                    .into_iter()
                    .map(|(name, value)| MetricLabel { name, value })
                    .collect(),
                values: s
                    .values
                    .into_iter()
                    .map(|p| MetricDataPoint {
                        timestamp: if instant {
                            end_seconds
                        } else {
                            convert::unix_seconds(&p.timestamp)
                        },
                        value: p.value,
                        unit: unit.clone(),
                    })
                    .collect(),
            }
        })
        .collect();
    Ok(Json(Data { data }))
}
