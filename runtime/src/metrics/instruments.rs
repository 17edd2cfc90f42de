//! The instrument catalogue: the name, unit, buckets and description of every metric the
//! runtime emits, read by every metric sink (OTLP, Prometheus) and by the store.

/// The unit of token counts (UCUM annotation).
pub const TOKEN_UNIT: &str = "{token}";
/// The unit of durations.
pub const SECONDS_UNIT: &str = "s";
/// The unit of request counts (UCUM annotation).
pub const REQUEST_UNIT: &str = "{request}";
/// The unit of costs: US dollars (ISO 4217), which Prometheus renders as the `_usd` suffix.
pub const COST_UNIT: &str = "USD";
/// The unit of guardrail violation counts (UCUM annotation).
pub const VIOLATION_UNIT: &str = "{violation}";

/// Whether a counter in `unit` counts whole things (tokens, requests, violations): sinks
/// keep it as an integer.
pub fn is_whole_count(unit: &str) -> bool {
    unit == TOKEN_UNIT || unit == REQUEST_UNIT || unit == VIOLATION_UNIT
}

/// `gen_ai.client.token.usage` bucket boundaries (semantic conventions): 1, 4, 16, ... 4^13.
pub const TOKEN_USAGE_BUCKETS: [f64; 14] = [
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
    16777216.0, 67108864.0,
];

/// `gen_ai.client.operation.duration` bucket boundaries in seconds (semantic conventions).
pub const OPERATION_DURATION_BUCKETS: [f64; 14] = [
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];

/// `http.server.request.duration` bucket boundaries in seconds (HTTP semantic conventions),
/// the buckets of `{ns}.request_duration`.
pub const REQUEST_DURATION_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// GenAI histogram of tokens per call.
pub const TOKEN_USAGE: &str = "gen_ai.client.token.usage";
/// GenAI histogram of call duration.
pub const OPERATION_DURATION: &str = "gen_ai.client.operation.duration";
/// GenAI histogram of a stream's time to its first chunk, in seconds (buckets of
/// [`OPERATION_DURATION_BUCKETS`]).
pub const OPERATION_TIME_TO_FIRST_CHUNK: &str = "gen_ai.client.operation.time_to_first_chunk";
/// GenAI histogram of the time between a stream's consecutive chunks, from the second on,
/// in seconds (buckets of [`OPERATION_DURATION_BUCKETS`]).
pub const OPERATION_TIME_PER_OUTPUT_CHUNK: &str = "gen_ai.client.operation.time_per_output_chunk";

/// The name of the guardrail violation counter in namespace `ns`:
/// `{ns}.guardrail_violations` (a counter in `{violation}`, labels `shield` and `level`),
/// which Prometheus renders as `{ns}_guardrail_violations_total`.
pub fn guardrail_violations(ns: &str) -> String {
    format!("{ns}.{GUARDRAIL_VIOLATIONS}")
}

/// The name of the cost counter in namespace `ns`: `{ns}.cost`, a counter in `USD`
/// (labels `model_id`, `provider_id`, as the token counters) of the inferences whose
/// model has a price, which Prometheus renders as `{ns}_cost_usd_total`.
pub fn cost_counter(ns: &str) -> String {
    format!("{ns}.{COST}")
}

/// The last segment of the cost counter's name.
const COST: &str = "cost";

/// The last segment of the guardrail violation counter's name.
const GUARDRAIL_VIOLATIONS: &str = "guardrail_violations";

/// The names of the llama-stack token counters in namespace `ns`: prompt, completion and
/// total (`{ns}.prompt_tokens`, `{ns}.completion_tokens`, `{ns}.tokens`).
pub fn llama_stack_counters(ns: &str) -> [String; 3] {
    LLAMA_STACK_COUNTERS.map(|name| format!("{ns}.{name}"))
}

/// The last segment of each llama-stack token counter's name.
pub const LLAMA_STACK_COUNTERS: [&str; 3] = ["prompt_tokens", "completion_tokens", "tokens"];

/// The names of the HTTP request metrics of namespace `ns` (the `tower` middleware's), as
/// llama-stack's RequestMetricsMiddleware meant them. Stored under their OpenTelemetry
/// names; Prometheus renders them as the names llama-stack used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestMetricNames {
    /// `{ns}.requests`: a counter in `{request}`, labels `api`, `status`; Prometheus
    /// `{ns}_requests_total`.
    pub requests: String,
    /// `{ns}.request_duration`: a histogram in `s`, labels `api`, `status`; Prometheus
    /// `{ns}_request_duration_seconds` (`_bucket`, `_sum`, `_count`).
    pub duration: String,
    /// `{ns}.concurrent_requests`: a gauge in `{request}`, label `api`; Prometheus
    /// `{ns}_concurrent_requests`.
    pub concurrent: String,
}

impl RequestMetricNames {
    /// The names in namespace `ns`.
    pub fn new(ns: &str) -> Self {
        RequestMetricNames {
            requests: format!("{ns}.{REQUESTS}"),
            duration: format!("{ns}.{REQUEST_DURATION}"),
            concurrent: format!("{ns}.{CONCURRENT_REQUESTS}"),
        }
    }
}

/// The last segment of the request counter's name.
const REQUESTS: &str = "requests";
/// The last segment of the request duration histogram's name.
const REQUEST_DURATION: &str = "request_duration";
/// The last segment of the requests-in-flight gauge's name.
const CONCURRENT_REQUESTS: &str = "concurrent_requests";

/// The semantic-convention buckets of a histogram, when it has some.
pub fn histogram_buckets(name: &str, unit: &str) -> Option<&'static [f64]> {
    match name {
        TOKEN_USAGE => Some(&TOKEN_USAGE_BUCKETS),
        OPERATION_DURATION | OPERATION_TIME_TO_FIRST_CHUNK | OPERATION_TIME_PER_OUTPUT_CHUNK => {
            Some(&OPERATION_DURATION_BUCKETS)
        }
        _ if name
            .rsplit_once('.')
            .is_some_and(|(_, last)| last == REQUEST_DURATION) =>
        {
            Some(&REQUEST_DURATION_BUCKETS)
        }
        _ if unit == "s" => Some(&OPERATION_DURATION_BUCKETS),
        _ => None,
    }
}

/// A one-line description of a metric, for exporters that carry one.
pub fn description(name: &str) -> String {
    let what = match name.rsplit_once('.').map_or(name, |(_, last)| last) {
        _ if name == TOKEN_USAGE => "Number of input and output tokens used per GenAI operation",
        _ if name == OPERATION_DURATION => "Duration of GenAI operations",
        _ if name == OPERATION_TIME_TO_FIRST_CHUNK => {
            "Time to receive the first chunk of a streamed GenAI response"
        }
        _ if name == OPERATION_TIME_PER_OUTPUT_CHUNK => {
            "Time between consecutive chunks of a streamed GenAI response, after the first"
        }
        "prompt_tokens" => "Prompt (input) tokens of inference calls",
        "completion_tokens" => "Completion (output) tokens of inference calls",
        "tokens" => "Total tokens (prompt + completion) of inference calls",
        GUARDRAIL_VIOLATIONS => "Guardrail violations, by shield and violation level",
        COST => "Cost of inference calls in USD, from the model price table (priced calls only)",
        REQUESTS => "HTTP requests served, by API and status code",
        REQUEST_DURATION => "Duration of HTTP requests, by API and status code",
        CONCURRENT_REQUESTS => "HTTP requests in flight, by API",
        _ => "",
    };
    if what.is_empty() {
        format!("llm-telemetry metric {name}")
    } else {
        what.to_owned()
    }
}
