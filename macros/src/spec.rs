//! What each macro puts on its span: the span's name and GenAI operation, its
//! `otel.kind`, the field `otel.name` is made from, the GenAI fields it declares
//! (with the argument or literal that sets each one), where captured content goes,
//! and whether the token usage is read from the return value.
//!
//! This is where the three macros differ; the code generator reads a [`SpanSpec`]
//! and does the same for all of them.

use syn::ext::IdentExt;
use syn::{Expr, ExprLit, Ident, Lit};

use crate::attr::{AgentTurnArgs, InferenceArgs, MacroArgs, ToolArgs, UsageMode};
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
}

/// The value of a GenAI field.
pub(crate) enum Value<'a> {
    /// Declared `Empty`, recorded later (or never).
    Empty,
    /// Known when the macro expands: a string literal, or the function's name.
    Str(String),
    /// An argument's expression, evaluated once before the body, recorded with `Display`.
    Expr(&'a Expr),
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
        }
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
                ("gen_ai.input.messages", Value::Empty),
                ("gen_ai.output.messages", Value::Empty),
            ],
            content_fields: ("gen_ai.input.messages", "gen_ai.output.messages"),
            read_usage: false,
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
        }
    }
}
