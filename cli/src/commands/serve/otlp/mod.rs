//! `llm-trace serve`'s OTLP receiver: any OpenTelemetry application's traces, metrics
//! and logs into the store, over OTLP/HTTP ([`http`]: protobuf or JSON, gzip or not) and
//! OTLP/gRPC ([`grpc`]).
//!
//! Both transports hand a decoded export to one [`Receiver`], which maps it into the
//! store's records ([`spans`], [`metrics`], [`logs`]) and gives them to the same bounded
//! writer `log_event` uses. A batch is taken whole or refused whole: when the writer's
//! queue has no room, the sender is told to retry later (HTTP 429 / gRPC
//! `RESOURCE_EXHAUSTED`, with a retry delay), and nothing of it is stored, so that the
//! retry stores it exactly once. Records that cannot be stored (a span without a valid id)
//! are left out and reported as the export's partial success, as the OTLP specification
//! asks; they are not retried.

pub mod grpc;
pub mod http;
pub mod logs;
pub mod metrics;
pub mod spans;
pub mod values;

use std::time::Duration;

use llm_telemetry::ingest::{IngestError, StoreIngest};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use super::state::AppState;
use metrics::Cumulative;

/// The largest request body taken, compressed or not (the OpenTelemetry Collector's
/// default, 20 MiB); a larger one is refused as too large.
pub const MAX_BODY: usize = 20 * 1024 * 1024;

/// The delay a sender told to retry is given.
pub const RETRY_AFTER: Duration = Duration::from_secs(1);

/// The records of one export that can be stored, and how many could not (with the first
/// reason).
#[derive(Debug)]
pub struct Converted<T> {
    /// What is stored.
    pub records: Vec<T>,
    /// How many items were left out.
    pub rejected: u64,
    /// Why the first one was.
    pub error: Option<String>,
}

impl<T> Default for Converted<T> {
    fn default() -> Self {
        Converted {
            records: Vec::new(),
            rejected: 0,
            error: None,
        }
    }
}

impl<T> Converted<T> {
    fn reject(&mut self, why: String) {
        self.rejected += 1;
        self.error.get_or_insert(why);
    }
}

/// An export stored, but for `rejected` items (OTLP's partial success).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Accepted {
    /// Items left out; they are not worth sending again.
    pub rejected: u64,
    /// Why (empty when none was).
    pub message: String,
}

/// Why an export was not stored at all.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// The writer is busy: send it again after [`RETRY_AFTER`].
    Busy,
    /// The export is larger than the writer's queue: send smaller batches.
    TooLarge(String),
    /// The store cannot be written (a broken file, a full disk): retryable.
    Unavailable(String),
}

/// What the transports share: the store's writer and the cumulative series.
pub struct Receiver {
    state: AppState,
    cumulative: Cumulative,
}

impl Receiver {
    /// A receiver writing through `state`'s writer.
    pub fn new(state: AppState) -> Receiver {
        Receiver {
            state,
            cumulative: Cumulative::default(),
        }
    }

    fn ingest(&self) -> Result<std::sync::Arc<StoreIngest>, Refused> {
        self.state.ingest().map_err(|e| {
            Refused::Unavailable(match e {
                super::api::error::ApiError::Store(why) => why,
                other => format!("{other:?}"),
            })
        })
    }

    /// Store a trace export.
    pub fn traces(&self, request: ExportTraceServiceRequest) -> Result<Accepted, Refused> {
        let converted = spans::convert(request);
        let ingest = self.ingest()?;
        ingest.write_spans(converted.records).map_err(refused)?;
        Ok(accepted(converted.rejected, converted.error))
    }

    /// Store a metrics export (cumulative points as increases; see [`metrics`]).
    pub fn metrics(&self, request: ExportMetricsServiceRequest) -> Result<Accepted, Refused> {
        let ingest = self.ingest()?;
        let mut changes = self.cumulative.begin();
        let converted = metrics::convert(request, &mut changes);
        ingest.write_metrics(converted.records).map_err(refused)?;
        changes.commit();
        Ok(accepted(converted.rejected, converted.error))
    }

    /// Store a logs export.
    pub fn logs(&self, request: ExportLogsServiceRequest) -> Result<Accepted, Refused> {
        let converted = logs::convert(request);
        let ingest = self.ingest()?;
        ingest.write_logs(converted.records).map_err(refused)?;
        Ok(accepted(converted.rejected, converted.error))
    }
}

fn accepted(rejected: u64, error: Option<String>) -> Accepted {
    Accepted {
        rejected,
        message: error.unwrap_or_default(),
    }
}

fn refused(e: IngestError) -> Refused {
    match e {
        IngestError::TooLarge { .. } => Refused::TooLarge(e.to_string()),
        _ => Refused::Busy,
    }
}

/// `google.rpc.Status`, the body of an OTLP error response (and of gRPC's
/// `grpc-status-details-bin`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcStatus {
    /// A gRPC status code.
    #[prost(int32, tag = "1")]
    pub code: i32,
    /// What went wrong.
    #[prost(string, tag = "2")]
    pub message: String,
    /// Details: a `RetryInfo` when the sender should retry.
    #[prost(message, repeated, tag = "3")]
    pub details: Vec<ProtoAny>,
}

/// `google.protobuf.Any`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProtoAny {
    /// The type of `value`.
    #[prost(string, tag = "1")]
    pub type_url: String,
    /// The encoded message.
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

/// `google.rpc.RetryInfo`: when to send again.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RetryInfo {
    /// The delay.
    #[prost(message, optional, tag = "1")]
    pub retry_delay: Option<ProtoDuration>,
}

/// `google.protobuf.Duration`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProtoDuration {
    /// Whole seconds.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// And nanoseconds.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

/// gRPC's `INVALID_ARGUMENT`.
pub const INVALID_ARGUMENT: i32 = 3;
/// gRPC's `RESOURCE_EXHAUSTED`.
pub const RESOURCE_EXHAUSTED: i32 = 8;
/// gRPC's `UNAVAILABLE`.
pub const UNAVAILABLE: i32 = 14;

/// The encoded `RetryInfo` of [`RETRY_AFTER`].
pub fn retry_info() -> Vec<u8> {
    use prost::Message;
    RetryInfo {
        retry_delay: Some(ProtoDuration {
            seconds: RETRY_AFTER.as_secs() as i64,
            nanos: RETRY_AFTER.subsec_nanos() as i32,
        }),
    }
    .encode_to_vec()
}

/// A `google.rpc.Status` that tells the sender to retry after [`RETRY_AFTER`].
pub fn retry_status(code: i32, message: String) -> RpcStatus {
    RpcStatus {
        code,
        message,
        details: vec![ProtoAny {
            type_url: "type.googleapis.com/google.rpc.RetryInfo".into(),
            value: retry_info(),
        }],
    }
}
