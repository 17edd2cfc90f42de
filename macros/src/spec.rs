//! What each macro puts on its span: the span's name and GenAI operation, its
//! `otel.kind`, the field `otel.name` is made from, the GenAI fields it declares
//! (with the argument or literal that sets each one), where captured content goes,
//! and whether the token usage is read from the return value.
//!
//! This is where the macros differ; the code generator reads a [`SpanSpec`]
//! and does the same for all of them.

use syn::ext::IdentExt;
use syn::{Expr, ExprLit, Ident, Lit};

use crate::attr::{
    AgentTurnArgs, GuardrailArgs, InferenceArgs, MacroArgs, Operation, RetrievalArgs, ToolArgs,
    UsageMode, WorkflowArgs,
};
use crate::errors::Errors;

/// The arguments of a macro, as the span they describe.
pub(crate) trait SpanArgs: MacroArgs {
    /// The span for the function named `fn_name`.
    fn span_spec(&self, fn_name: &Ident) -> SpanSpec<'_>;

    /// How a stream the function returns is instrumented: `None` for the macros whose
    /// span ends when the function returns.
    fn stream_settings(&self) -> Option<StreamSettings> {
        None
    }

    /// This macro's own checks of its arguments against the function.
    fn check_item(&self, _item: &syn::ItemFn) -> Errors {
        Errors::default()
    }
}

/// How `#[instrument_inference]` instruments a returned stream.
#[derive(Clone, Copy)]
pub(crate) struct StreamSettings {
    /// `stream`: the return type is a stream even if the macro does not recognise it.
    pub(crate) forced: bool,
    /// Where the usage comes from: the items (last value or sum), or the body.
    pub(crate) usage: UsageMode,
}

/// The name, kind and GenAI fields of a span.
pub(crate) struct SpanSpec<'a> {
    /// The span's static name and `gen_ai.operation.name`.
    pub(crate) operation: &'static str,
    /// `otel.kind`.
    pub(crate) otel_kind: &'static str,
    /// The field whose value follows the operation in `otel.name` (`chat {model}`).
    pub(crate) subject: &'static str,
    /// The GenAI fields, in order.
    pub(crate) fields: Vec<(&'static str, Value<'a>)>,
    /// Where captured content goes: (arguments, return value).
    pub(crate) content_fields: (&'static str, &'static str),
    /// Read `gen_ai.usage.*` from the return value through `TokenUsage`.
    pub(crate) read_usage: bool,
    /// The expression whose `Display` is the input content (`query = expr`), instead of
    /// the arguments as JSON.
    pub(crate) input_content: Option<&'a Expr>,
    /// What else is read from the return value, after the status.
    pub(crate) hooks: Vec<OutcomeHook>,
}

/// Something an outcome records from the return value `ret: &R`, after the status,
/// through a runtime function `__private::{recorder}(span, value)`.
pub(crate) enum OutcomeHook {
    /// `value = <R as __private::{trait_name}>::{method}(ret)`, unless `ret` is an
    /// `Err`: `R` must implement the trait, or the trait's `on_unimplemented` message
    /// points at the return type.
    Required {
        trait_name: &'static str,
        method: &'static str,
        recorder: &'static str,
    },
    /// `value = (&&__private::{probe}(ret)).{method}()`, with the dispatch traits in
    /// scope: a type without the trait gives `None`, no error.
    Probed {
        probe: &'static str,
        traits: [&'static str; 2],
        method: &'static str,
        recorder: &'static str,
    },
}

/// The value of a GenAI field.
pub(crate) enum Value<'a> {
    /// Declared `Empty`, recorded later (or never).
    Empty,
    /// Known when the macro expands: a string literal, or the function's name.
    Str(String),
    /// An argument's expression, evaluated once before the body, recorded with `Display`.
    Expr(&'a Expr),
    /// An argument's expression, evaluated once before the body, recorded as a number
    /// (it must be an integer).
    Integer(&'a Expr),
}

impl<'a> Value<'a> {
    /// The value an optional argument gives the field: a string literal is known now,
    /// another expression is recorded at run time, no argument leaves the field empty.
    fn of(expr: Option<&'a Expr>) -> Self {
        match expr {
            Some(Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            })) => Value::Str(s.value()),
            Some(expr) => Value::Expr(expr),
            None => Value::Empty,
        }
    }

    /// `default()` when the field would be empty.
    fn or_str(self, default: impl FnOnce() -> String) -> Self {
        match self {
            Value::Empty => Value::Str(default()),
            value => value,
        }
    }
}

impl SpanArgs for InferenceArgs {
    fn span_spec(&self, _fn_name: &Ident) -> SpanSpec<'_> {
        SpanSpec {
            operation: self.operation.as_str(),
            otel_kind: "client",
            subject: "gen_ai.request.model",
            fields: vec![
                ("gen_ai.provider.name", Value::of(self.provider.as_ref())),
                ("gen_ai.request.model", Value::of(self.model.as_ref())),
                ("gen_ai.response.model", Value::Empty),
                ("gen_ai.usage.input_tokens", Value::Empty),
                ("gen_ai.usage.output_tokens", Value::Empty),
                ("gen_ai.usage.cache_read.input_tokens", Value::Empty),
                ("gen_ai.usage.reasoning.output_tokens", Value::Empty),
                ("gen_ai.input.messages", Value::Empty),
                ("gen_ai.output.messages", Value::Empty),
            ],
            content_fields: ("gen_ai.input.messages", "gen_ai.output.messages"),
            read_usage: self.usage == UsageMode::FromReturn,
            input_content: None,
            hooks: Vec::new(),
        }
        .for_operation(self.operation)
    }

    fn stream_settings(&self) -> Option<StreamSettings> {
        Some(StreamSettings {
            forced: self.stream.is_some(),
            usage: self.usage,
        })
    }

    fn check_item(&self, item: &syn::ItemFn) -> Errors {
        crate::stream::check(self, item)
    }
}

impl SpanArgs for AgentTurnArgs {
    fn span_spec(&self, fn_name: &Ident) -> SpanSpec<'_> {
        let agent = Value::of(self.agent.as_ref()).or_str(|| fn_name.unraw().to_string());
        SpanSpec {
            operation: "invoke_agent",
            otel_kind: "internal",
            subject: "gen_ai.agent.name",
            fields: vec![
                ("gen_ai.agent.name", agent),
                ("gen_ai.conversation.id", Value::of(self.session.as_ref())),
                ("user.id", Value::of(self.user.as_ref())),
                ("gen_ai.input.messages", Value::Empty),
                ("gen_ai.output.messages", Value::Empty),
            ],
            content_fields: ("gen_ai.input.messages", "gen_ai.output.messages"),
            read_usage: false,
            input_content: None,
            hooks: Vec::new(),
        }
    }
}

impl SpanArgs for ToolArgs {
    fn span_spec(&self, fn_name: &Ident) -> SpanSpec<'_> {
        let tool = Value::of(self.tool.as_ref()).or_str(|| fn_name.unraw().to_string());
        SpanSpec {
            operation: "execute_tool",
            otel_kind: "internal",
            subject: "gen_ai.tool.name",
            fields: vec![
                ("gen_ai.tool.name", tool),
                ("gen_ai.tool.type", Value::Str("function".to_owned())),
                ("gen_ai.tool.call.id", Value::of(self.call_id.as_ref())),
                ("gen_ai.tool.call.arguments", Value::Empty),
                ("gen_ai.tool.call.result", Value::Empty),
            ],
            content_fields: ("gen_ai.tool.call.arguments", "gen_ai.tool.call.result"),
            read_usage: false,
            input_content: None,
            hooks: Vec::new(),
        }
    }
}

impl SpanSpec<'_> {
    /// An inference's spec for its operation: `embeddings` yield no output tokens, and
    /// the vectors' dimension when the return value tells it (`Embeddings`, optional).
    fn for_operation(mut self, operation: Operation) -> Self {
        if operation == Operation::Embeddings {
            self.fields.retain(|(name, _)| {
                !matches!(
                    *name,
                    "gen_ai.usage.output_tokens" | "gen_ai.usage.reasoning.output_tokens"
                )
            });
            self.fields
                .push(("gen_ai.embeddings.dimension.count", Value::Empty));
            self.hooks.push(OutcomeHook::Probed {
                probe: "DimensionProbe",
                traits: ["DimensionOf", "DimensionNone"],
                method: "__llm_dimension",
                recorder: "record_dimension",
            });
        }
        self
    }
}

impl SpanArgs for RetrievalArgs {
    fn span_spec(&self, _fn_name: &Ident) -> SpanSpec<'_> {
        SpanSpec {
            operation: "retrieval",
            otel_kind: "client",
            subject: "gen_ai.data_source.id",
            fields: vec![
                (
                    "gen_ai.data_source.id",
                    Value::of(self.data_source.as_ref()),
                ),
                (
                    "gen_ai.request.top_k",
                    self.top_k.as_ref().map_or(Value::Empty, Value::Integer),
                ),
                ("llm_telemetry.retrieval.document_count", Value::Empty),
                ("gen_ai.retrieval.query.text", Value::Empty),
                ("gen_ai.retrieval.documents", Value::Empty),
            ],
            content_fields: ("gen_ai.retrieval.query.text", "gen_ai.retrieval.documents"),
            read_usage: false,
            input_content: self.query.as_ref(),
            hooks: vec![OutcomeHook::Required {
                trait_name: "RetrievedDocuments",
                method: "document_count",
                recorder: "record_document_count",
            }],
        }
    }
}

impl SpanArgs for GuardrailArgs {
    fn span_spec(&self, _fn_name: &Ident) -> SpanSpec<'_> {
        SpanSpec {
            operation: "apply_guardrail",
            otel_kind: "internal",
            subject: "llm_telemetry.guardrail.shield_id",
            fields: vec![
                (
                    "llm_telemetry.guardrail.shield_id",
                    Value::of(self.shield.as_ref()),
                ),
                ("llm_telemetry.guardrail.violated", Value::Empty),
                ("llm_telemetry.guardrail.violation.level", Value::Empty),
                ("llm_telemetry.guardrail.violation.message", Value::Empty),
                ("gen_ai.input.messages", Value::Empty),
                ("gen_ai.output.messages", Value::Empty),
            ],
            content_fields: ("gen_ai.input.messages", "gen_ai.output.messages"),
            read_usage: false,
            input_content: None,
            hooks: vec![OutcomeHook::Required {
                trait_name: "GuardrailVerdict",
                method: "violation",
                recorder: "record_verdict",
            }],
        }
    }
}

impl SpanArgs for WorkflowArgs {
    fn span_spec(&self, fn_name: &Ident) -> SpanSpec<'_> {
        let workflow = Value::of(self.name.as_ref()).or_str(|| fn_name.unraw().to_string());
        SpanSpec {
            operation: "invoke_workflow",
            otel_kind: "internal",
            subject: "gen_ai.workflow.name",
            fields: vec![
                ("gen_ai.workflow.name", workflow),
                ("gen_ai.conversation.id", Value::of(self.session.as_ref())),
                ("user.id", Value::of(self.user.as_ref())),
                ("gen_ai.input.messages", Value::Empty),
                ("gen_ai.output.messages", Value::Empty),
            ],
            content_fields: ("gen_ai.input.messages", "gen_ai.output.messages"),
            read_usage: false,
            input_content: None,
            hooks: Vec::new(),
        }
    }
}
