//! OTLP/HTTP: `POST /v1/traces`, `/v1/metrics` and `/v1/logs`, bodies in protobuf
//! (`application/x-protobuf`) or JSON (`application/json`, OTLP's JSON mapping: hex ids,
//! 64-bit integers as strings or numbers), plain or `Content-Encoding: gzip`. The answer is
//! in the request's format, as the specification requires: the export response (with its
//! partial success), or a `google.rpc.Status` with
//!
//! - 400 for a body that does not decode, 413 for one larger than [`MAX_BODY`] (before or
//!   after decompression) or than the writer's queue, 415 for another content type or
//!   encoding;
//! - 429 when the writer is busy and 503 when the store cannot be written, both with
//!   `Retry-After` and a `RetryInfo`, which the OpenTelemetry exporters honour.

use std::io::Read;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{
    retry_status, Accepted, Receiver, Refused, RpcStatus, INVALID_ARGUMENT, MAX_BODY,
    RESOURCE_EXHAUSTED, RETRY_AFTER, UNAVAILABLE,
};

/// The three export routes over `receiver`.
pub fn routes(receiver: Arc<Receiver>) -> Router {
    Router::new()
        .route("/v1/traces", post(traces))
        .route("/v1/metrics", post(metrics))
        .route("/v1/logs", post(logs))
        // The body limit is checked here (with its own answer), not by axum's extractor.
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(receiver)
}

async fn traces(
    State(receiver): State<Arc<Receiver>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    export(headers, body, move |request: ExportTraceServiceRequest| {
        receiver
            .traces(request)
            .map(|a| ExportTraceServiceResponse {
                partial_success: partial(&a).map(|(rejected, error_message)| {
                    ExportTracePartialSuccess {
                        rejected_spans: rejected,
                        error_message,
                    }
                }),
            })
    })
    .await
}

async fn metrics(
    State(receiver): State<Arc<Receiver>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    export(
        headers,
        body,
        move |request: ExportMetricsServiceRequest| {
            receiver
                .metrics(request)
                .map(|a| ExportMetricsServiceResponse {
                    partial_success: partial(&a).map(|(rejected, error_message)| {
                        ExportMetricsPartialSuccess {
                            rejected_data_points: rejected,
                            error_message,
                        }
                    }),
                })
        },
    )
    .await
}

async fn logs(
    State(receiver): State<Arc<Receiver>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    export(headers, body, move |request: ExportLogsServiceRequest| {
        receiver.logs(request).map(|a| ExportLogsServiceResponse {
            partial_success: partial(&a).map(|(rejected, error_message)| {
                ExportLogsPartialSuccess {
                    rejected_log_records: rejected,
                    error_message,
                }
            }),
        })
    })
    .await
}

fn partial(a: &Accepted) -> Option<(i64, String)> {
    (a.rejected > 0).then(|| (a.rejected as i64, a.message.clone()))
}

/// The body's format, which the answer uses too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Protobuf,
    Json,
}

impl Format {
    fn content_type(self) -> &'static str {
        match self {
            Format::Protobuf => "application/x-protobuf",
            Format::Json => "application/json",
        }
    }
}

/// An answer other than success.
struct Failure {
    status: StatusCode,
    rpc: RpcStatus,
    retry: bool,
}

impl Failure {
    fn new(status: StatusCode, code: i32, message: String) -> Failure {
        Failure {
            status,
            rpc: RpcStatus {
                code,
                message,
                details: Vec::new(),
            },
            retry: false,
        }
    }

    fn retry(status: StatusCode, code: i32, message: String) -> Failure {
        Failure {
            status,
            rpc: retry_status(code, message),
            retry: true,
        }
    }

    fn into_response(self, format: Format) -> Response {
        let body = match format {
            Format::Protobuf => self.rpc.encode_to_vec(),
            Format::Json => serde_json::to_vec(&serde_json::json!({
                "code": self.rpc.code,
                "message": self.rpc.message,
            }))
            .unwrap_or_default(),
        };
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, format.content_type())],
            body,
        )
            .into_response();
        if self.retry {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(RETRY_AFTER.as_secs().max(1)),
            );
        }
        response
    }
}

async fn export<Req, Resp>(
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
    store: impl FnOnce(Req) -> Result<Resp, Refused> + Send + 'static,
) -> Response
where
    Req: Message + Default + DeserializeOwned + Send + 'static,
    Resp: Message + Serialize + Send + 'static,
{
    let format = match format_of(&headers) {
        Ok(f) => f,
        Err(failure) => return failure.into_response(Format::Json),
    };
    let body = match body {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return too_large().into_response(format)
        }
        Err(e) => {
            return Failure::new(
                StatusCode::BAD_REQUEST,
                INVALID_ARGUMENT,
                format!("cannot read the request body: {e}"),
            )
            .into_response(format)
        }
    };
    let gzip = match encoding_of(&headers) {
        Ok(g) => g,
        Err(failure) => return failure.into_response(format),
    };
    // Decompressing, decoding and mapping a large export is CPU work: off the reactor.
    let answer = tokio::task::spawn_blocking(move || {
        let request: Req = decode(&body, gzip, format)?;
        let response = store(request).map_err(|refused| match refused {
            Refused::Busy => Failure::retry(
                StatusCode::TOO_MANY_REQUESTS,
                RESOURCE_EXHAUSTED,
                "the store's writer is busy; retry later".into(),
            ),
            Refused::TooLarge(why) => {
                Failure::new(StatusCode::PAYLOAD_TOO_LARGE, INVALID_ARGUMENT, why)
            }
            Refused::Unavailable(why) => {
                Failure::retry(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE, why)
            }
        })?;
        Ok::<_, Failure>(response)
    })
    .await;
    match answer {
        Ok(Ok(response)) => {
            let body = match format {
                Format::Protobuf => response.encode_to_vec(),
                Format::Json => serde_json::to_value(&response)
                    .map(without_nulls)
                    .and_then(|v| serde_json::to_vec(&v))
                    .unwrap_or_default(),
            };
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, format.content_type())],
                body,
            )
                .into_response()
        }
        Ok(Err(failure)) => failure.into_response(format),
        Err(e) => Failure::retry(
            StatusCode::SERVICE_UNAVAILABLE,
            UNAVAILABLE,
            format!("the export was not stored: {e}"),
        )
        .into_response(format),
    }
}

/// OTLP/JSON leaves unset fields out (`{}` is a full success), where serde writes `null`.
fn without_nulls(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(map) => map
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k, without_nulls(v)))
            .collect(),
        other => other,
    }
}

fn too_large() -> Failure {
    Failure::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        INVALID_ARGUMENT,
        format!("the request body is larger than {MAX_BODY} bytes; send smaller batches"),
    )
}

fn format_of(headers: &HeaderMap) -> Result<Format, Failure> {
    let value = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = value.split(';').next().unwrap_or("").trim();
    match essence.to_ascii_lowercase().as_str() {
        "application/x-protobuf" | "application/protobuf" => Ok(Format::Protobuf),
        "application/json" => Ok(Format::Json),
        _ => Err(Failure::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            INVALID_ARGUMENT,
            format!(
                "Content-Type {value:?} is not an OTLP encoding; send application/x-protobuf \
                 or application/json"
            ),
        )),
    }
}

/// Whether the body is gzip-compressed (`identity` and no header: not).
fn encoding_of(headers: &HeaderMap) -> Result<bool, Failure> {
    let value = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity")
        .trim()
        .to_ascii_lowercase();
    match value.as_str() {
        "gzip" => Ok(true),
        "identity" | "" => Ok(false),
        other => Err(Failure::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            INVALID_ARGUMENT,
            format!("Content-Encoding {other:?} is not supported; send gzip or identity"),
        )),
    }
}

fn decode<Req: Message + Default + DeserializeOwned>(
    body: &[u8],
    gzip: bool,
    format: Format,
) -> Result<Req, Failure> {
    let inflated;
    let bytes = if gzip {
        let mut out = Vec::new();
        let read = flate2::read::GzDecoder::new(body)
            .take(MAX_BODY as u64 + 1)
            .read_to_end(&mut out);
        if let Err(e) = read {
            return Err(bad(format!("the gzip body does not decompress: {e}")));
        }
        if out.len() > MAX_BODY {
            return Err(too_large());
        }
        inflated = out;
        &inflated[..]
    } else {
        body
    };
    match format {
        Format::Protobuf => Req::decode(bytes)
            .map_err(|e| bad(format!("the body is not an OTLP protobuf export: {e}"))),
        Format::Json => serde_json::from_slice(bytes)
            .map_err(|e| bad(format!("the body is not an OTLP JSON export: {e}"))),
    }
}

fn bad(message: String) -> Failure {
    Failure::new(StatusCode::BAD_REQUEST, INVALID_ARGUMENT, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otlp_json_decodes_with_hex_ids_and_string_integers() {
        let json = br#"{"resourceSpans":[{"resource":{"attributes":[
            {"key":"service.name","value":{"stringValue":"curl"}}]},
          "scopeSpans":[{"scope":{"name":"manual"},"spans":[{
            "traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
            "parentSpanId":"eee19b7ec3c1b173","name":"chat","kind":3,
            "startTimeUnixNano":"1700000000000000000","endTimeUnixNano":1700000000500000000,
            "attributes":[{"key":"gen_ai.usage.input_tokens","value":{"intValue":"12"}}],
            "status":{"code":2,"message":"boom"}}]}]}]}"#;
        let request: ExportTraceServiceRequest = decode(json, false, Format::Json).ok().unwrap();
        let out = super::super::spans::convert(request);
        let span = &out.records[0];
        assert_eq!(
            span.trace_id.to_string(),
            "5b8efff798038103d269b633813fc60c"
        );
        assert_eq!(span.parent_span_id.unwrap().to_string(), "eee19b7ec3c1b173");
        assert_eq!(&*span.service_name, "curl");
        assert_eq!(span.status_message.as_deref(), Some("boom"));
    }

    #[test]
    fn garbage_and_bombs_are_refused() {
        let e = decode::<ExportTraceServiceRequest>(b"\xff\xff\xff", false, Format::Protobuf)
            .err()
            .unwrap();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        let e = decode::<ExportTraceServiceRequest>(b"not gzip", true, Format::Json)
            .err()
            .unwrap();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        // 21 MiB of zeros, a few KiB compressed.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &vec![0u8; MAX_BODY + 1024 * 1024]).unwrap();
        let bomb = gz.finish().unwrap();
        let e = decode::<ExportTraceServiceRequest>(&bomb, true, Format::Protobuf)
            .err()
            .unwrap();
        assert_eq!(e.status, StatusCode::PAYLOAD_TOO_LARGE);
    }
}
