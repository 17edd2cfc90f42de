//! The instrument catalogue: the name, unit, buckets and description of every metric the
//! runtime emits, read by every metric sink (OTLP, Prometheus) and by the store.

/// The unit of token counts (UCUM annotation).
pub const TOKEN_UNIT: &str = "{token}";
/// The unit of durations.
pub const SECONDS_UNIT: &str = "s";

/// `gen_ai.client.token.usage` bucket boundaries (semantic conventions): 1, 4, 16, ... 4^13.
pub const TOKEN_USAGE_BUCKETS: [f64; 14] = [
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
    16777216.0, 67108864.0,
];

/// `gen_ai.client.operation.duration` bucket boundaries in seconds (semantic conventions).
pub const OPERATION_DURATION_BUCKETS: [f64; 14] = [
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];

/// GenAI histogram of tokens per call.
pub const TOKEN_USAGE: &str = "gen_ai.client.token.usage";
/// GenAI histogram of call duration.
pub const OPERATION_DURATION: &str = "gen_ai.client.operation.duration";

/// The names of the llama-stack token counters in namespace `ns`: prompt, completion and
/// total (`{ns}.prompt_tokens`, `{ns}.completion_tokens`, `{ns}.tokens`).
pub fn llama_stack_counters(ns: &str) -> [String; 3] {
    LLAMA_STACK_COUNTERS.map(|name| format!("{ns}.{name}"))
}

/// The last segment of each llama-stack token counter's name.
pub const LLAMA_STACK_COUNTERS: [&str; 3] = ["prompt_tokens", "completion_tokens", "tokens"];

/// The semantic-convention buckets of a histogram, when it has some.
pub fn histogram_buckets(name: &str, unit: &str) -> Option<&'static [f64]> {
    match name {
        TOKEN_USAGE => Some(&TOKEN_USAGE_BUCKETS),
        OPERATION_DURATION => Some(&OPERATION_DURATION_BUCKETS),
        _ if unit == "s" => Some(&OPERATION_DURATION_BUCKETS),
        _ => None,
    }
}

/// A one-line description of a metric, for exporters that carry one.
pub fn description(name: &str) -> String {
    let what = match name.rsplit_once('.').map_or(name, |(_, last)| last) {
        _ if name == TOKEN_USAGE => "Number of input and output tokens used per GenAI operation",
        _ if name == OPERATION_DURATION => "Duration of GenAI operations",
        "prompt_tokens" => "Prompt (input) tokens of inference calls",
        "completion_tokens" => "Completion (output) tokens of inference calls",
        "tokens" => "Total tokens (prompt + completion) of inference calls",
        _ => "",
    };
    if what.is_empty() {
        format!("llm-telemetry metric {name}")
    } else {
        what.to_owned()
    }
}
