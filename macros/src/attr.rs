//! Parsing of the attribute arguments, into one typed struct per macro.
//!
//! Every error carries the span of the offending token. Parsing goes on after an error
//! (up to the next top-level comma), so that all the mistakes in one attribute are
//! reported together.
//!
//! Over 400 lines because the parser is one recursive-descent unit: the three macros share
//! the common arguments (`name`, `skip`, `fields`, `crate`) and the recovery, and the
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
    const OWN_KEYS: &'static [&'static str] = &["agent", "session"];

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

/// Each macro's own arguments, to say which macro takes an argument given to another.
const OWN_KEYS_BY_MACRO: [(&str, &[&str]); 3] = [
    (InferenceArgs::MACRO, InferenceArgs::OWN_KEYS),
    (AgentTurnArgs::MACRO, AgentTurnArgs::OWN_KEYS),
    (ToolArgs::MACRO, ToolArgs::OWN_KEYS),
];

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
        } else if COMMON_KEYS.contains(&key_name.as_str()) {
            parse_common(args.common_mut(), &key, input)
        } else if A::OWN_KEYS.contains(&key_name.as_str()) {
            args.parse_own(&key, input)
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

fn parse_common(common: &mut CommonArgs, key: &Ident, input: ParseStream) -> syn::Result<()> {
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
            for field in fields {
                check_field_name(&common.fields, &field)?;
                common.fields.push(field);
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
const RESERVED_FIELDS: &[(&str, Option<&str>)] = &[
    ("otel.name", Some("name = \"...\"")),
    ("otel.kind", None),
    ("otel.status_code", None),
    ("otel.status_message", None),
    ("error.type", None),
    ("code.function", None),
    ("gen_ai.operation.name", Some("operation = ...")),
    ("gen_ai.provider.name", Some("provider = ...")),
    ("gen_ai.request.model", Some("model = ...")),
    ("gen_ai.response.model", None),
    ("gen_ai.usage.input_tokens", None),
    ("gen_ai.usage.output_tokens", None),
    ("gen_ai.usage.cache_read.input_tokens", None),
    ("gen_ai.usage.reasoning.output_tokens", None),
    ("gen_ai.input.messages", None),
    ("gen_ai.output.messages", None),
    ("gen_ai.agent.name", Some("agent = ...")),
    ("gen_ai.conversation.id", Some("session = ...")),
    ("gen_ai.tool.name", Some("tool = ...")),
    ("gen_ai.tool.type", None),
    ("gen_ai.tool.call.id", Some("call_id = ...")),
    ("gen_ai.tool.call.arguments", None),
    ("gen_ai.tool.call.result", None),
];

fn check_field_name(previous: &[Field], field: &Field) -> syn::Result<()> {
    let name = field.name();
    if let Some((_, argument)) = RESERVED_FIELDS.iter().find(|(n, _)| *n == name) {
        let hint = match argument {
            Some(argument) => format!("set it with the `{argument}` argument"),
            None => "llm-telemetry records it itself".to_owned(),
        };
        return Err(syn::Error::new_spanned(
            &field.name,
            format!("field `{name}` is declared by the macro: {hint}"),
        ));
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
    if let Some((owner, _)) = OWN_KEYS_BY_MACRO
        .iter()
        .find(|(owner, keys)| *owner != A::MACRO && keys.contains(&name.as_str()))
    {
        return syn::Error::new(
            key.span(),
            format!(
                "`{name}` is only accepted by `#[{owner}]`; `#[{}]` accepts {}",
                A::MACRO,
                accepted_list::<A>()
            ),
        );
    }
    let suggestion = did_you_mean(&name, A::OWN_KEYS.iter().chain(COMMON_KEYS)).unwrap_or_default();
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
    let keys: Vec<String> = A::OWN_KEYS
        .iter()
        .chain(COMMON_KEYS)
        .map(|key| format!("`{key}`"))
        .collect();
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
}
