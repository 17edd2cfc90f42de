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

/// The arguments of a macro, as the span they describe.
pub(crate) trait SpanArgs: MacroArgs {
    /// The span for the function named `fn_name`.
    fn span_spec(&self, fn_name: &Ident) -> SpanSpec<'_>;
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
