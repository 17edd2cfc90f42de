//! Parsing of the attribute arguments, into one typed struct per macro.
//!
//! Every error carries the span of the offending token. Parsing goes on after an error
//! (up to the next top-level comma), so that all the mistakes in one attribute are
//! reported together.
//!
//! Over 400 lines because the parser is one recursive-descent unit: the six macros share
//! the common arguments (`name`, `skip`, `fields`, `crate`; a macro's own argument of the
//! same name shadows one, as `#[instrument_workflow(name = ..)]` does) and the recovery, and the
//! reserved-field check runs while `fields(..)` is parsed (moved to `validate`, the
//! recovery would drop the fields after an error and change which errors are reported).

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{parenthesized, Expr, Ident, LitStr, Path, Token};

use crate::errors::{did_you_mean, Errors};

// ---------------------------------------------------------------------------------------
// The arguments

/// Arguments every macro accepts: `name = "..."`, `skip(a, b)`, `fields(k = v, ..)` and
/// `crate = path`.
#[derive(Default)]
pub(crate) struct CommonArgs {
    /// `name = "..."`: the span's `otel.name`, instead of the GenAI-convention one.
    pub(crate) name: Option<LitStr>,
    /// `skip(a, b)`: parameters left out of content capture.
    pub(crate) skips: Vec<Ident>,
    /// `fields(k = v, ..)`: extra span fields.
    pub(crate) fields: Vec<Field>,
    /// `crate = path`: where llm-telemetry is, when it is re-exported.
    pub(crate) krate: Option<Path>,
}

const COMMON_KEYS: &[&str] = &["name", "skip", "fields", "crate"];

/// The typed arguments of one macro.
pub(crate) trait MacroArgs: Default {
    /// The attribute's name, as messages write it: `instrument_inference`.
    const MACRO: &'static str;
    /// The arguments only this macro accepts.
    const OWN_KEYS: &'static [&'static str];

    /// The arguments every macro accepts.
    fn common(&self) -> &CommonArgs;
    /// The arguments every macro accepts, to fill in.
    fn common_mut(&mut self) -> &mut CommonArgs;
    /// Parse the value of `key`, one of [`MacroArgs::OWN_KEYS`] (already consumed).
    fn parse_own(&mut self, key: &Ident, input: ParseStream) -> syn::Result<()>;
}

/// `#[instrument_inference(model = .., provider = .., operation = .., usage = manual)]`.
#[derive(Default)]
pub(crate) struct InferenceArgs {
    pub(crate) common: CommonArgs,
    /// `model = expr`: `gen_ai.request.model`, and the second word of `otel.name`.
    pub(crate) model: Option<Expr>,
    /// `provider = expr`: `gen_ai.provider.name`.
    pub(crate) provider: Option<Expr>,
    /// `operation = chat|...`: the span name and `gen_ai.operation.name`.
    pub(crate) operation: Operation,
    /// `usage = manual | sum`: where the token usage comes from.
    pub(crate) usage: UsageMode,
    /// `usage = ..`'s value token, for errors about it.
    pub(crate) usage_token: Option<Span>,
    /// `stream`: the function returns a stream whose type the macro cannot recognise.
    pub(crate) stream: Option<Ident>,
}

/// `#[instrument_agent_turn(agent = .., session = ..)]`.
#[derive(Default)]
pub(crate) struct AgentTurnArgs {
    pub(crate) common: CommonArgs,
    /// `agent = expr`: `gen_ai.agent.name` (default: the function's name).
    pub(crate) agent: Option<Expr>,
    /// `session = expr`: `gen_ai.conversation.id`.
    pub(crate) session: Option<Expr>,
    /// `user = expr`: `user.id`.
    pub(crate) user: Option<Expr>,
}

/// `#[instrument_tool(tool = .., call_id = ..)]`.
#[derive(Default)]
pub(crate) struct ToolArgs {
    pub(crate) common: CommonArgs,
    /// `tool = expr`: `gen_ai.tool.name` (default: the function's name).
    pub(crate) tool: Option<Expr>,
    /// `call_id = expr`: `gen_ai.tool.call.id`.
    pub(crate) call_id: Option<Expr>,
}

/// `#[instrument_retrieval(data_source = .., top_k = .., query = ..)]`.
#[derive(Default)]
pub(crate) struct RetrievalArgs {
    pub(crate) common: CommonArgs,
    /// `data_source = expr`: `gen_ai.data_source.id`, and the second word of `otel.name`.
    pub(crate) data_source: Option<Expr>,
    /// `top_k = expr`: `gen_ai.request.top_k`, an integer.
    pub(crate) top_k: Option<Expr>,
    /// `query = expr`: the query recorded as content (default: the arguments).
    pub(crate) query: Option<Expr>,
}

/// `#[instrument_guardrail(shield = ..)]`.
#[derive(Default)]
pub(crate) struct GuardrailArgs {
    pub(crate) common: CommonArgs,
    /// `shield = expr`: `llm_telemetry.guardrail.shield_id`, and the second word of
    /// `otel.name`.
    pub(crate) shield: Option<Expr>,
}

/// `#[instrument_workflow(name = .., user = .., session = ..)]`.
#[derive(Default)]
pub(crate) struct WorkflowArgs {
    pub(crate) common: CommonArgs,
    /// `name = expr`: `gen_ai.workflow.name` (default: the function's name). It shadows
    /// the common `name = "..."`: a workflow's span is named after the workflow.
    pub(crate) name: Option<Expr>,
    /// `user = expr`: `user.id`.
    pub(crate) user: Option<Expr>,
    /// `session = expr`: `gen_ai.conversation.id`.
    pub(crate) session: Option<Expr>,
}

/// The GenAI operation of an inference.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Operation {
    #[default]
    Chat,
    TextCompletion,
    Embeddings,
    GenerateContent,
}

impl Operation {
    const ALL: [Operation; 4] = [
        Operation::Chat,
        Operation::TextCompletion,
        Operation::Embeddings,
        Operation::GenerateContent,
    ];

    /// The `gen_ai.operation.name` value, which is also the span's name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Operation::Chat => "chat",
            Operation::TextCompletion => "text_completion",
            Operation::Embeddings => "embeddings",
            Operation::GenerateContent => "generate_content",
        }
    }
}

/// Where an inference's token usage comes from.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum UsageMode {
    /// From the return value, through `TokenUsage` (the default); for a stream, the last
    /// value each counter of its items reported.
    #[default]
    FromReturn,
    /// `usage = manual`: the body calls `llm_telemetry::record_usage`.
    Manual,
    /// `usage = sum`: a stream's items report deltas, added up.
    Sum,
}

/// One `fields(..)` entry: `a.b = expr`, `a.b = %expr`, `a.b = ?expr` or just `a.b`
/// (declared empty, to be recorded later through `Span::current().record(..)`).
pub(crate) struct Field {
    pub(crate) name: Punctuated<Ident, Token![.]>,
    pub(crate) value: FieldValue,
}

/// The value of a [`Field`], with `tracing`'s sigils.
pub(crate) enum FieldValue {
    Empty,
    Value(Expr),
    Display(Token![%], Expr),
    Debug(Token![?], Expr),
}

impl Field {
    /// The dotted name, as `tracing` records it: `app.user_id`.
    pub(crate) fn name(&self) -> String {
        let mut name = String::new();
        for (i, part) in self.name.iter().enumerate() {
            if i > 0 {
                name.push('.');
            }
            name.push_str(&part.unraw().to_string());
        }
        name
    }

    /// `name = value` for `tracing::span!`, declaring an empty field through `empty`.
    pub(crate) fn to_span_field(&self, empty: &TokenStream) -> TokenStream {
        let name = &self.name;
        match &self.value {
            FieldValue::Empty => quote!(#name = #empty),
            FieldValue::Value(expr) => quote!(#name = #expr),
            FieldValue::Display(sigil, expr) => quote!(#name = #sigil #expr),
            FieldValue::Debug(sigil, expr) => quote!(#name = #sigil #expr),
        }
    }
}

// ---------------------------------------------------------------------------------------
// The macros' own arguments

impl MacroArgs for InferenceArgs {
    const MACRO: &'static str = "instrument_inference";
    const OWN_KEYS: &'static [&'static str] =
        &["model", "provider", "operation", "usage", "stream"];

    fn common(&self) -> &CommonArgs {
        &self.common
    }

    fn common_mut(&mut self) -> &mut CommonArgs {
        &mut self.common
    }

    fn parse_own(&mut self, key: &Ident, input: ParseStream) -> syn::Result<()> {
        match key.to_string().as_str() {
            "model" => self.model = Some(parse_expr_value(input)?),
            "provider" => self.provider = Some(parse_expr_value(input)?),
            "operation" => self.operation = parse_operation(input)?,
            "usage" => {
                let (usage, span) = parse_usage(input)?;
                self.usage = usage;
                self.usage_token = Some(span);
            }
            // A flag: no value.
            "stream" => {
                if input.peek(Token![=]) {
                    return Err(syn::Error::new(
                        key.span(),
                        "`stream` takes no value: write `stream` alone, for a function whose \
                         stream return type the macro does not recognise",
                    ));
                }
                self.stream = Some(key.clone());
            }
            _ => return Err(unknown_argument::<Self>(key)),
        }
        Ok(())
    }
}

impl MacroArgs for AgentTurnArgs {
    const MACRO: &'static str = "instrument_agent_turn";
    const OWN_KEYS: &'static [&'static str] = &["agent", "session", "user"];

    fn common(&self) -> &CommonArgs {
        &self.common
    }

    fn common_mut(&mut self) -> &mut CommonArgs {
        &mut self.common
    }

    fn parse_own(&mut self, key: &Ident, input: ParseStream) -> syn::Result<()> {
        match key.to_string().as_str() {
            "agent" => self.agent = Some(parse_expr_value(input)?),
            "session" => self.session = Some(parse_expr_value(input)?),
            "user" => self.user = Some(parse_expr_value(input)?),
            _ => return Err(unknown_argument::<Self>(key)),
        }
        Ok(())
    }
}

impl MacroArgs for ToolArgs {
    const MACRO: &'static str = "instrument_tool";
    const OWN_KEYS: &'static [&'static str] = &["tool", "call_id"];

    fn common(&self) -> &CommonArgs {
        &self.common
    }

    fn common_mut(&mut self) -> &mut CommonArgs {
        &mut self.common
    }

    fn parse_own(&mut self, key: &Ident, input: ParseStream) -> syn::Result<()> {
        match key.to_string().as_str() {
            "tool" => self.tool = Some(parse_expr_value(input)?),
            "call_id" => self.call_id = Some(parse_expr_value(input)?),
            _ => return Err(unknown_argument::<Self>(key)),
        }
        Ok(())
    }
}

impl MacroArgs for RetrievalArgs {
    const MACRO: &'static str = "instrument_retrieval";
    const OWN_KEYS: &'static [&'static str] = &["data_source", "top_k", "query"];

    fn common(&self) -> &CommonArgs {
        &self.common
    }

    fn common_mut(&mut self) -> &mut CommonArgs {
        &mut self.common
    }

    fn parse_own(&mut self, key: &Ident, input: ParseStream) -> syn::Result<()> {
        let slot = match key.to_string().as_str() {
            "data_source" => &mut self.data_source,
            "top_k" => &mut self.top_k,
            "query" => &mut self.query,
            _ => return Err(unknown_argument::<Self>(key)),
        };
        *slot = Some(parse_expr_value(input)?);
        Ok(())
    }
}

impl MacroArgs for GuardrailArgs {
    const MACRO: &'static str = "instrument_guardrail";
    const OWN_KEYS: &'static [&'static str] = &["shield"];

    fn common(&self) -> &CommonArgs {
        &self.common
    }

    fn common_mut(&mut self) -> &mut CommonArgs {
        &mut self.common
    }

    fn parse_own(&mut self, key: &Ident, input: ParseStream) -> syn::Result<()> {
        match key.to_string().as_str() {
            "shield" => self.shield = Some(parse_expr_value(input)?),
            _ => return Err(unknown_argument::<Self>(key)),
        }
        Ok(())
    }
}

impl MacroArgs for WorkflowArgs {
    const MACRO: &'static str = "instrument_workflow";
    // `name` shadows the common `name = "..."` (see `parse_args`).
    const OWN_KEYS: &'static [&'static str] = &["name", "user", "session"];

    fn common(&self) -> &CommonArgs {
        &self.common
    }

    fn common_mut(&mut self) -> &mut CommonArgs {
        &mut self.common
    }

    fn parse_own(&mut self, key: &Ident, input: ParseStream) -> syn::Result<()> {
        let slot = match key.to_string().as_str() {
            "name" => &mut self.name,
            "user" => &mut self.user,
            "session" => &mut self.session,
            _ => return Err(unknown_argument::<Self>(key)),
        };
        *slot = Some(parse_expr_value(input)?);
        Ok(())
    }
}

/// Each macro's own arguments, to say which macro takes an argument given to another.
const OWN_KEYS_BY_MACRO: [(&str, &[&str]); 6] = [
    (InferenceArgs::MACRO, InferenceArgs::OWN_KEYS),
    (AgentTurnArgs::MACRO, AgentTurnArgs::OWN_KEYS),
    (ToolArgs::MACRO, ToolArgs::OWN_KEYS),
    (RetrievalArgs::MACRO, RetrievalArgs::OWN_KEYS),
    (GuardrailArgs::MACRO, GuardrailArgs::OWN_KEYS),
    (WorkflowArgs::MACRO, WorkflowArgs::OWN_KEYS),
];

/// The common arguments `A` accepts: those its own arguments do not shadow.
fn common_keys<A: MacroArgs>() -> impl Iterator<Item = &'static &'static str> {
    COMMON_KEYS.iter().filter(|key| !A::OWN_KEYS.contains(key))
}

/// Every argument `A` accepts, its own first.
fn accepted_keys<A: MacroArgs>() -> impl Iterator<Item = &'static &'static str> {
    A::OWN_KEYS.iter().chain(common_keys::<A>())
}

/// "`#[instrument_agent_turn]` or `#[instrument_workflow]`": the macros other than `A`
/// whose own argument `key` is; `None` when there is none.
fn other_owners<A: MacroArgs>(key: &str) -> Option<String> {
    let owners: Vec<String> = OWN_KEYS_BY_MACRO
        .iter()
        .filter(|(owner, keys)| *owner != A::MACRO && keys.contains(&key))
        .map(|(owner, _)| format!("`#[{owner}]`"))
        .collect();
    (!owners.is_empty()).then(|| owners.join(" or "))
}

// ---------------------------------------------------------------------------------------
// The parser

/// Parse the arguments of macro `A`. Returns what could be parsed, and every error.
pub(crate) fn parse<A: MacroArgs>(tokens: TokenStream) -> (A, Errors) {
    let mut args = A::default();
    let mut errors = Errors::default();
    let parser = |input: ParseStream| parse_args(&mut args, &mut errors, input);
    if let Err(error) = parser.parse2(tokens) {
        errors.push(error);
    }
    (args, errors)
}

fn parse_args<A: MacroArgs>(
    args: &mut A,
    errors: &mut Errors,
    input: ParseStream,
) -> syn::Result<()> {
    let mut seen: Vec<String> = Vec::new();
    while !input.is_empty() {
        // `Ident::parse_any` accepts the keyword of `crate = path`.
        let key = input.call(Ident::parse_any)?;
        let key_name = key.to_string();
        let parsed = if seen.contains(&key_name) {
            Err(syn::Error::new(
                key.span(),
                format!("duplicate argument `{key}`: give each argument once"),
            ))
        } else if A::OWN_KEYS.contains(&key_name.as_str()) {
            // First: a macro's own argument shadows a common one of the same name.
            args.parse_own(&key, input)
        } else if COMMON_KEYS.contains(&key_name.as_str()) {
            parse_common::<A>(args.common_mut(), &key, input)
        } else {
            Err(unknown_argument::<A>(&key))
        };
        seen.push(key_name);
        if let Err(error) = parsed {
            errors.push(error);
            skip_to_next_argument(input)?;
        }
        if input.is_empty() {
            break;
        }
        input.parse::<Token![,]>()?;
    }
    Ok(())
}

fn parse_common<A: MacroArgs>(
    common: &mut CommonArgs,
    key: &Ident,
    input: ParseStream,
) -> syn::Result<()> {
    match key.to_string().as_str() {
        "name" => {
            input.parse::<Token![=]>()?;
            common.name = Some(input.parse::<LitStr>().map_err(|e| {
                syn::Error::new(e.span(), "expected a string literal: `name = \"...\"`")
            })?);
        }
        "skip" => {
            let content;
            parenthesized!(content in input);
            let skips = content.parse_terminated(Ident::parse_any, Token![,])?;
            common.skips.extend(skips);
        }
        "fields" => {
            let content;
            parenthesized!(content in input);
            let fields = content.parse_terminated(parse_field, Token![,])?;
            // Every reserved or duplicate field is reported, not only the first.
            let mut errors = Errors::default();
            for field in fields {
                match check_field_name::<A>(&common.fields, &field) {
                    Ok(()) => common.fields.push(field),
                    Err(error) => errors.push(error),
                }
            }
            if let Some(error) = errors.0 {
                return Err(error);
            }
        }
        "crate" => {
            input.parse::<Token![=]>()?;
            common.krate = Some(input.call(Path::parse_mod_style)?);
        }
        _ => return Err(syn::Error::new(key.span(), "not a common argument")),
    }
    Ok(())
}

/// `= expr`.
fn parse_expr_value(input: ParseStream) -> syn::Result<Expr> {
    input.parse::<Token![=]>()?;
    input.parse()
}

/// `= word` or `= "word"`, with the word's span.
fn parse_word_value(input: ParseStream) -> syn::Result<(String, Span)> {
    input.parse::<Token![=]>()?;
    if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        Ok((lit.value(), lit.span()))
    } else {
        let ident = input.call(Ident::parse_any)?;
        Ok((ident.unraw().to_string(), ident.span()))
    }
}

fn parse_operation(input: ParseStream) -> syn::Result<Operation> {
    let (word, span) = parse_word_value(input)?;
    Operation::ALL
        .into_iter()
        .find(|op| op.as_str() == word)
        .ok_or_else(|| {
            syn::Error::new(
                span,
                format!(
                    "unknown operation `{word}`: expected one of `chat`, `text_completion`, \
                     `embeddings` or `generate_content`"
                ),
            )
        })
}

fn parse_usage(input: ParseStream) -> syn::Result<(UsageMode, Span)> {
    let (word, span) = parse_word_value(input)?;
    match word.as_str() {
        "manual" => Ok((UsageMode::Manual, span)),
        "sum" => Ok((UsageMode::Sum, span)),
        _ => Err(syn::Error::new(
            span,
            format!(
                "unknown usage mode `{word}`: expected `usage = manual` (the body calls \
                 `llm_telemetry::record_usage`) or `usage = sum` (a stream whose items report \
                 deltas); without `usage`, the token usage is read from the return value (or \
                 a stream's items) through `TokenUsage`"
            ),
        )),
    }
}

/// `a.b`, `a.b = expr`, `a.b = %expr` or `a.b = ?expr`.
fn parse_field(input: ParseStream) -> syn::Result<Field> {
    let mut name = Punctuated::new();
    name.push_value(input.call(Ident::parse_any)?);
    while input.peek(Token![.]) {
        name.push_punct(input.parse()?);
        name.push_value(input.call(Ident::parse_any)?);
    }
    let value = if input.peek(Token![=]) {
        input.parse::<Token![=]>()?;
        if input.peek(Token![%]) {
            FieldValue::Display(input.parse()?, input.parse()?)
        } else if input.peek(Token![?]) {
            FieldValue::Debug(input.parse()?, input.parse()?)
        } else {
            FieldValue::Value(input.parse()?)
        }
    } else {
        FieldValue::Empty
    };
    Ok(Field { name, value })
}

/// The fields every span of these macros declares: a user's `fields(..)` must not
/// declare them again. With the argument that sets each one, where there is one.
const RESERVED_FIELDS: &[(&str, Option<Setter>)] = &[
    ("otel.name", Some(Setter::Common("name = \"...\""))),
    ("otel.kind", None),
    ("otel.status_code", None),
    ("otel.status_message", None),
    ("error.type", None),
    ("code.function", None),
    (
        "gen_ai.operation.name",
        Some(Setter::Own("operation = ...")),
    ),
    ("gen_ai.provider.name", Some(Setter::Own("provider = ..."))),
    ("gen_ai.request.model", Some(Setter::Own("model = ..."))),
    ("gen_ai.response.model", None),
    ("gen_ai.usage.input_tokens", None),
    ("gen_ai.usage.output_tokens", None),
    ("gen_ai.usage.cache_read.input_tokens", None),
    ("gen_ai.usage.reasoning.output_tokens", None),
    ("gen_ai.embeddings.dimension.count", None),
    ("gen_ai.input.messages", None),
    ("gen_ai.output.messages", None),
    ("gen_ai.agent.name", Some(Setter::Own("agent = ..."))),
    ("gen_ai.conversation.id", Some(Setter::Own("session = ..."))),
    ("user.id", Some(Setter::Own("user = ..."))),
    ("gen_ai.tool.name", Some(Setter::Own("tool = ..."))),
    ("gen_ai.tool.type", None),
    ("gen_ai.tool.call.id", Some(Setter::Own("call_id = ..."))),
    ("gen_ai.tool.call.arguments", None),
    ("gen_ai.tool.call.result", None),
    (
        "gen_ai.data_source.id",
        Some(Setter::Own("data_source = ...")),
    ),
    ("gen_ai.request.top_k", Some(Setter::Own("top_k = ..."))),
    (
        "gen_ai.retrieval.query.text",
        Some(Setter::Own("query = ...")),
    ),
    ("gen_ai.retrieval.documents", None),
    ("llm_telemetry.retrieval.document_count", None),
    (
        "llm_telemetry.guardrail.shield_id",
        Some(Setter::Own("shield = ...")),
    ),
    ("llm_telemetry.guardrail.violated", None),
    ("llm_telemetry.guardrail.violation.level", None),
    ("llm_telemetry.guardrail.violation.message", None),
    ("gen_ai.workflow.name", Some(Setter::Own("name = ..."))),
];

/// The argument that sets a reserved field, as messages write it (`user = ...`).
#[derive(Clone, Copy)]
enum Setter {
    /// A common argument (unless the macro's own argument of that name shadows it).
    Common(&'static str),
    /// Some macros' own argument.
    Own(&'static str),
}

impl Setter {
    /// The error message for a user field `name` that this argument sets, for the
    /// arguments of `A`: which argument to use instead, or which macros take it.
    fn message<A: MacroArgs>(self, name: &str) -> String {
        let (Setter::Common(argument) | Setter::Own(argument)) = self;
        let key = argument.split(' ').next().unwrap_or(argument);
        let accepted = match self {
            Setter::Common(_) => common_keys::<A>().any(|k| *k == key),
            Setter::Own(_) => A::OWN_KEYS.contains(&key),
        };
        match other_owners::<A>(key) {
            _ if accepted => {
                format!("field `{name}` is declared by the macro: set it with the `{argument}` argument")
            }
            Some(owners) if matches!(self, Setter::Own(_)) => format!(
                "field `{name}` is reserved: {owners} sets it, with the `{argument}` argument"
            ),
            _ => recorded_by_the_macro(name),
        }
    }
}

/// "field `{name}` is declared by the macro: llm-telemetry records it itself".
fn recorded_by_the_macro(name: &str) -> String {
    format!("field `{name}` is declared by the macro: llm-telemetry records it itself")
}

fn check_field_name<A: MacroArgs>(previous: &[Field], field: &Field) -> syn::Result<()> {
    let name = field.name();
    if let Some((_, setter)) = RESERVED_FIELDS.iter().find(|(n, _)| *n == name) {
        let message = match setter {
            Some(setter) => setter.message::<A>(&name),
            None => recorded_by_the_macro(&name),
        };
        return Err(syn::Error::new_spanned(&field.name, message));
    }
    if previous.iter().any(|f| f.name() == name) {
        return Err(syn::Error::new_spanned(
            &field.name,
            format!("duplicate field `{name}`"),
        ));
    }
    Ok(())
}

/// After an error: drop the rest of the argument, up to the next top-level comma.
fn skip_to_next_argument(input: ParseStream) -> syn::Result<()> {
    input.step(|cursor| {
        let mut rest = *cursor;
        while let Some((tt, next)) = rest.token_tree() {
            if matches!(&tt, proc_macro2::TokenTree::Punct(p) if p.as_char() == ',') {
                break;
            }
            rest = next;
        }
        Ok(((), rest))
    })
}

/// The error for an argument `A` does not take: another macro's argument, or a typo.
fn unknown_argument<A: MacroArgs>(key: &Ident) -> syn::Error {
    let name = key.to_string();
    if let Some(owners) = other_owners::<A>(&name) {
        return syn::Error::new(
            key.span(),
            format!(
                "`{name}` is only accepted by {owners}; `#[{}]` accepts {}",
                A::MACRO,
                accepted_list::<A>()
            ),
        );
    }
    let suggestion = did_you_mean(&name, accepted_keys::<A>()).unwrap_or_default();
    syn::Error::new(
        key.span(),
        format!(
            "unknown argument `{name}`{suggestion} `#[{}]` accepts {}",
            A::MACRO,
            accepted_list::<A>()
        ),
    )
}

/// "`model`, `provider`, ... and `crate`".
fn accepted_list<A: MacroArgs>() -> String {
    let keys: Vec<String> = accepted_keys::<A>().map(|key| format!("`{key}`")).collect();
    match keys.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => keys.concat(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors_of<A: MacroArgs>(tokens: TokenStream) -> Vec<String> {
        let (_, errors) = parse::<A>(tokens);
        errors
            .0
            .into_iter()
            .flat_map(|e| e.into_iter().map(|e| e.to_string()).collect::<Vec<_>>())
            .collect()
    }

    #[test]
    fn parses_every_argument() {
        let (args, errors) = parse::<InferenceArgs>(quote!(
            model = req.model, provider = "ollama", operation = embeddings, usage = manual,
            name = "embed", skip(req), fields(app.user = %user, n = 3, later), crate = my::telemetry
        ));
        assert!(errors.0.is_none());
        assert!(args.model.is_some() && args.provider.is_some());
        assert!(args.operation == Operation::Embeddings && args.usage == UsageMode::Manual);
        assert_eq!(
            args.common.name.map(|n| n.value()).as_deref(),
            Some("embed")
        );
        assert_eq!(args.common.skips.len(), 1);
        let names: Vec<String> = args.common.fields.iter().map(Field::name).collect();
        assert_eq!(names, ["app.user", "n", "later"]);
        assert!(args.common.krate.is_some());
    }

    #[test]
    fn reports_every_error() {
        let errors = errors_of::<ToolArgs>(quote!(modle = 1, model = 2, tool = "a", tool = "b"));
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(
            errors[0].contains("did you mean `model`")
                || errors[0].contains("unknown argument `modle`")
        );
        assert!(errors[1].contains("only accepted by `#[instrument_inference]`"));
        assert!(errors[2].contains("duplicate argument `tool`"));
    }

    #[test]
    fn suggests_close_names() {
        let errors = errors_of::<InferenceArgs>(quote!(modle = 1));
        assert!(errors[0].contains("did you mean `model`?"), "{errors:?}");
        let errors = errors_of::<InferenceArgs>(quote!(temperature = 1));
        assert!(!errors[0].contains("did you mean"), "{errors:?}");
    }

    #[test]
    fn rejects_reserved_fields() {
        let errors = errors_of::<ToolArgs>(quote!(fields(otel.name = "x")));
        assert!(errors[0].contains("`name = \"...\"`"), "{errors:?}");
    }

    #[test]
    fn parses_the_new_kinds() {
        let (args, errors) = parse::<RetrievalArgs>(quote!(
            data_source = self.index,
            top_k = req.k,
            query = req.text,
            name = "search"
        ));
        assert!(errors.0.is_none());
        assert!(args.data_source.is_some() && args.top_k.is_some() && args.query.is_some());
        assert!(args.common.name.is_some());

        let (args, errors) = parse::<GuardrailArgs>(quote!(shield = "llama-guard"));
        assert!(errors.0.is_none() && args.shield.is_some());

        let (args, errors) = parse::<AgentTurnArgs>(quote!(user = self.user));
        assert!(errors.0.is_none() && args.user.is_some());
    }

    #[test]
    fn a_workflow_name_shadows_the_common_name() {
        // An expression, not only a string literal: the workflow's own `name`.
        let (args, errors) =
            parse::<WorkflowArgs>(quote!(name = req.workflow, user = u, session = s));
        assert!(errors.0.is_none());
        assert!(args.name.is_some() && args.user.is_some() && args.session.is_some());
        assert!(args.common.name.is_none());
        let errors = errors_of::<WorkflowArgs>(quote!(crate_ = x));
        assert!(
            errors[0].contains(
                "`#[instrument_workflow]` accepts `name`, `user`, `session`, `skip`, `fields` and `crate`"
            ),
            "{errors:?}"
        );
        let errors = errors_of::<WorkflowArgs>(quote!(name = "a", name = "b"));
        assert!(
            errors[0].contains("duplicate argument `name`"),
            "{errors:?}"
        );
    }

    #[test]
    fn names_every_macro_that_takes_an_argument() {
        let errors = errors_of::<ToolArgs>(quote!(user = u, data_source = d, shield = s));
        assert!(
            errors[0].contains(
                "`user` is only accepted by `#[instrument_agent_turn]` or `#[instrument_workflow]`"
            ),
            "{errors:?}"
        );
        assert!(errors[1].contains("only accepted by `#[instrument_retrieval]`"));
        assert!(errors[2].contains("only accepted by `#[instrument_guardrail]`"));
        let errors = errors_of::<RetrievalArgs>(quote!(data_sorce = d));
        assert!(
            errors[0].contains("did you mean `data_source`?"),
            "{errors:?}"
        );
    }

    #[test]
    fn reserved_fields_name_their_argument_and_its_macros() {
        let errors = errors_of::<ToolArgs>(quote!(fields(user.id = 1, gen_ai.workflow.name = 2)));
        assert_eq!(
            errors.len(),
            2,
            "every reserved field is reported: {errors:?}"
        );
        assert!(errors[0].contains("field `user.id` is reserved: `#[instrument_agent_turn]` or `#[instrument_workflow]` sets it"), "{errors:?}");
        assert!(
            errors[1].contains("`#[instrument_workflow]` sets it, with the `name = ...` argument"),
            "{errors:?}"
        );
        let errors = errors_of::<AgentTurnArgs>(quote!(fields(user.id = 1)));
        assert!(
            errors[0].contains("set it with the `user = ...` argument"),
            "{errors:?}"
        );
        // The workflow's `name` is not the common one: `otel.name` is the macro's.
        let errors = errors_of::<WorkflowArgs>(quote!(fields(otel.name = "x")));
        assert!(
            errors[0].contains("llm-telemetry records it itself"),
            "{errors:?}"
        );
    }
}
