//! OTLP/gRPC: the trace, metrics and logs collector services of `opentelemetry-proto`,
//! served by tonic, gzip accepted, messages up to [`MAX_BODY`].
//!
//! A busy writer is `RESOURCE_EXHAUSTED` and a store that cannot be written `UNAVAILABLE`,
//! both with a `google.rpc.RetryInfo` (in `grpc-status-details-bin` and in the
//! `google.rpc.retryinfo-bin` trailer the OpenTelemetry exporters read), so that senders
//! retry rather than drop; a message that does not decode, one over [`MAX_BODY`] and an
//! export larger than the writer's queue are `INVALID_ARGUMENT`.
//! With a token, a call without `authorization: Bearer TOKEN` is `UNAUTHENTICATED`.

use std::future::Future;
use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;
use tonic::codec::CompressionEncoding;
use tonic::metadata::MetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::{Code, Request, Response, Status};

use super::{retry_info, retry_status, Accepted, Receiver, Refused, MAX_BODY};

/// Serve the three services on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    receiver: Arc<Receiver>,
    token: Option<String>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), tonic::transport::Error> {
    let services = Services(receiver);
    let auth = Auth(token.map(Arc::from));
    let traces = TraceServiceServer::new(services.clone())
        .accept_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(MAX_BODY);
    let metrics = MetricsServiceServer::new(services.clone())
        .accept_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(MAX_BODY);
    let logs = LogsServiceServer::new(services)
        .accept_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(MAX_BODY);
    tonic::transport::Server::builder()
        .layer(tower::util::MapResponseLayer::new(
            decode_errors_are_invalid_arguments as fn(_) -> _,
        ))
        .add_service(InterceptedService::new(traces, auth.clone()))
        .add_service(InterceptedService::new(metrics, auth.clone()))
        .add_service(InterceptedService::new(logs, auth))
        .serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(listener),
            shutdown,
        )
        .await
}

/// tonic answers a message that does not decode with `INTERNAL`, and one over the size
/// limit with `OUT_OF_RANGE`, which the OpenTelemetry exporters retry; for OTLP both are the
/// sender's error, `INVALID_ARGUMENT` (not retried), with tonic's message.
fn decode_errors_are_invalid_arguments(
    mut response: axum::http::Response<tonic::body::Body>,
) -> axum::http::Response<tonic::body::Body> {
    let headers = response.headers_mut();
    let status = headers.get("grpc-status").map(|v| v.as_bytes().to_vec());
    let message = headers
        .get("grpc-message")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let decode = status.as_deref() == Some(b"13") && message.to_ascii_lowercase().contains("decod");
    let too_large = status.as_deref() == Some(b"11") && message.contains("too%20large");
    if decode || too_large {
        headers.insert(
            "grpc-status",
            axum::http::HeaderValue::from(Code::InvalidArgument as i32),
        );
    }
    response
}

/// The token check: `authorization: Bearer TOKEN`, compared in constant time.
#[derive(Clone)]
struct Auth(Option<Arc<str>>);

impl tonic::service::Interceptor for Auth {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        let Some(token) = &self.0 else {
            return Ok(request);
        };
        let given = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .unwrap_or("");
        if bool::from(given.trim().as_bytes().ct_eq(token.as_bytes())) {
            Ok(request)
        } else {
            Err(Status::unauthenticated(
                "this server needs `authorization: Bearer TOKEN` (the token of --token or LLM_TRACE_TOKEN)",
            ))
        }
    }
}

#[derive(Clone)]
struct Services(Arc<Receiver>);

impl Services {
    async fn run<Req: Send + 'static, Resp: Send + 'static>(
        &self,
        request: Request<Req>,
        store: fn(&Receiver, Req) -> Result<Accepted, Refused>,
        respond: fn(Accepted) -> Resp,
    ) -> Result<Response<Resp>, Status> {
        let receiver = self.0.clone();
        let request = request.into_inner();
        let stored = tokio::task::spawn_blocking(move || store(&receiver, request))
            .await
            .map_err(|e| retry(Code::Unavailable, format!("the export was not stored: {e}")))?;
        match stored {
            Ok(accepted) => Ok(Response::new(respond(accepted))),
            Err(Refused::Busy) => Err(retry(
                Code::ResourceExhausted,
                "the store's writer is busy; retry later".into(),
            )),
            Err(Refused::Unavailable(why)) => Err(retry(Code::Unavailable, why)),
            Err(Refused::TooLarge(why)) => Err(Status::invalid_argument(why)),
        }
    }
}

/// A status that tells the sender to retry, with a `RetryInfo`.
fn retry(code: Code, message: String) -> Status {
    let details = retry_status(code as i32, message.clone()).encode_to_vec();
    let mut status = Status::with_details(code, message, details.into());
    status.metadata_mut().insert_bin(
        "google.rpc.retryinfo-bin",
        MetadataValue::from_bytes(&retry_info()),
    );
    status
}

fn partial(a: &Accepted) -> Option<(i64, String)> {
    (a.rejected > 0).then(|| (a.rejected as i64, a.message.clone()))
}

#[tonic::async_trait]
impl TraceService for Services {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        self.run(request, Receiver::traces, |a| ExportTraceServiceResponse {
            partial_success: partial(&a).map(|(rejected_spans, error_message)| {
                ExportTracePartialSuccess {
                    rejected_spans,
                    error_message,
                }
            }),
        })
        .await
    }
}

#[tonic::async_trait]
impl MetricsService for Services {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        self.run(request, Receiver::metrics, |a| {
            ExportMetricsServiceResponse {
                partial_success: partial(&a).map(|(rejected_data_points, error_message)| {
                    ExportMetricsPartialSuccess {
                        rejected_data_points,
                        error_message,
                    }
                }),
            }
        })
        .await
    }
}

#[tonic::async_trait]
impl LogsService for Services {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        self.run(request, Receiver::logs, |a| ExportLogsServiceResponse {
            partial_success: partial(&a).map(|(rejected_log_records, error_message)| {
                ExportLogsPartialSuccess {
                    rejected_log_records,
                    error_message,
                }
            }),
        })
        .await
    }
}
