//! The closed vocabularies of a record: span kind, GenAI category, status, severity and
//! metric instrument, each with its one table of names ([`named_enum!`]).

use super::named_enum::named_enum;

named_enum! {
    /// The OpenTelemetry span kind.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
    #[serde(rename_all = "lowercase")]
    pub enum SpanKind {
        /// In-process work (agent turns, tools, user spans).
        Internal = "internal",
        /// A call to a remote service (inference).
        Client = "client",
        /// Handling an incoming request.
        Server = "server",
        /// Sending a message.
        Producer = "producer",
        /// Receiving a message.
        Consumer = "consumer",
    }
}

impl SpanKind {
    /// Parse `otel.kind` values, case-insensitively.
    pub fn parse(s: &str) -> Option<Self> {
        Self::from_name_ignore_case(s)
    }
}

named_enum! {
    /// What kind of GenAI work a span is, from its `gen_ai.operation.name`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
    #[serde(rename_all = "snake_case")]
    pub enum SpanCategory {
        /// `chat`, `text_completion`, `embeddings`, `generate_content`.
        Inference = "inference",
        /// `invoke_agent`.
        AgentTurn = "agent_turn",
        /// `execute_tool`.
        Tool = "tool",
        /// `retrieval`: a search of a data source (an index, a vector store).
        Retrieval = "retrieval",
        /// `apply_guardrail`: a shield checking content.
        Guardrail = "guardrail",
        /// `invoke_workflow`: a multi-agent workflow, with totals like a turn.
        Workflow = "workflow",
        /// Any other span: a user's own `tracing` span, or one whose
        /// `gen_ai.operation.name` is none of the above.
        Other = "other",
    }
}

impl SpanCategory {
    /// Classify a `gen_ai.operation.name` value.
    ///
    /// An operation the GenAI conventions do not name is [`SpanCategory::Other`], not an
    /// inference: a user's span with its own operation name yields no inference metrics,
    /// and its `gen_ai.usage.*` (if it records any) are not added to a turn's totals —
    /// which would count them twice when they are already a total.
    pub fn from_operation(op: &str) -> Self {
        match op {
            "chat" | "text_completion" | "embeddings" | "generate_content" => {
                SpanCategory::Inference
            }
            "invoke_agent" | "create_agent" => SpanCategory::AgentTurn,
            "execute_tool" => SpanCategory::Tool,
            "retrieval" => SpanCategory::Retrieval,
            "apply_guardrail" => SpanCategory::Guardrail,
            "invoke_workflow" => SpanCategory::Workflow,
            _ => SpanCategory::Other,
        }
    }

    /// Whether spans of this category carry the totals of the work below them (tokens,
    /// inference and tool calls): agent turns and workflows.
    pub fn is_aggregate(self) -> bool {
        matches!(self, SpanCategory::AgentTurn | SpanCategory::Workflow)
    }

    /// Whether spans of this category may yield metric points (inferences; guardrails that
    /// found a violation), which are measured even when the span's trace is sampled out.
    pub fn yields_metrics(self) -> bool {
        matches!(self, SpanCategory::Inference | SpanCategory::Guardrail)
    }
}

named_enum! {
    /// Span status, as OpenTelemetry defines it; the name is the text stored in SQLite.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
    #[serde(rename_all = "lowercase")]
    pub enum SpanStatus {
        /// Nothing was recorded (a user span that never said).
        Unset = "unset",
        /// Finished successfully.
        Ok = "ok",
        /// Returned `Err`, panicked, or was cancelled.
        Error = "error",
    }
}

named_enum! {
    /// Log severity, llama-stack's levels.
    #[derive(
        Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
    )]
    #[serde(rename_all = "lowercase")]
    pub enum Severity {
        /// Finest detail (`tracing` TRACE).
        Verbose = "verbose" | "trace",
        /// `tracing` DEBUG.
        Debug = "debug",
        /// `tracing` INFO.
        Info = "info",
        /// `tracing` WARN.
        Warn = "warn" | "warning",
        /// `tracing` ERROR.
        Error = "error",
        /// Worse than an error.
        Critical = "critical",
    }
}

impl Severity {
    /// Parse a lowercase name (`trace` and `warning` are accepted too).
    ///
    /// ```
    /// use llm_telemetry::Severity;
    /// assert_eq!(Severity::parse("warning"), Some(Severity::Warn));
    /// assert_eq!(Severity::Warn.as_str(), "warn");
    /// ```
    pub fn parse(s: &str) -> Option<Self> {
        Self::from_name(s)
    }

    /// Map a `tracing` level.
    pub fn from_level(level: &tracing::Level) -> Self {
        match *level {
            tracing::Level::TRACE => Severity::Verbose,
            tracing::Level::DEBUG => Severity::Debug,
            tracing::Level::INFO => Severity::Info,
            tracing::Level::WARN => Severity::Warn,
            _ => Severity::Error,
        }
    }
}

named_enum! {
    /// How a metric point aggregates; the name is the store's `metrics.instrument` text.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
    #[serde(rename_all = "lowercase")]
    pub enum Instrument {
        /// Monotonic sum.
        Counter = "counter",
        /// Distribution with explicit buckets.
        Histogram = "histogram",
        /// The last value measured (a level, such as the requests in flight).
        Gauge = "gauge",
    }
}
