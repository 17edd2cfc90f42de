//! The expansion of the attributes: parse the item and the arguments, check them,
//! then generate the instrumented function.
//!
//! What differs between the macros is in their [`SpanSpec`]; the code generated from
//! it is the same for all of them. It refers only to `::llm_telemetry::__private` (or
//! `<crate = path>::__private`), whose items are documented in the runtime's
//! `private.rs`. Its locals use `Span::mixed_site()` hygiene, so they can neither
//! clash with nor be seen by the user's code.
//!
//! This is the largest file of the crate because the four shapes of function (plain,
//! `async fn`, returning `impl Future`, tail async block as `#[async_trait]` writes
//! it) each get their own body template, around one shared prelude, span and outcome;
//! split apart, a template would no longer be read next to the pieces it assembles.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{AttrStyle, Block, Ident, ItemFn};

use crate::async_like::{self, AsyncLike};
use crate::attr;
use crate::item::ParsedItem;
use crate::spec::{OutcomeHook, SpanArgs, SpanSpec, StreamSettings, Value};
use crate::stream::{self, StreamReturn};
use crate::{signature, validate};

/// Expand one of the attributes: parse, validate, generate. On any error, emit
/// all the errors and the function unchanged, so that one mistake gives one error.
pub(crate) fn instrument<A: SpanArgs>(args: TokenStream, item: TokenStream) -> TokenStream {
    let item_fn = match ParsedItem::parse::<A>(item.clone()) {
        ParsedItem::Fn(item_fn) => item_fn,
        ParsedItem::NotAFunction(error) => {
            let error = error.to_compile_error();
            return quote!(#error #item);
        }
        // A syntax error in the function: hand it back untouched, rustc reports it.
        ParsedItem::Unparsable => return item,
    };
    let (args, mut errors) = attr::parse::<A>(args);
    errors.extend(validate::check(&args, &item_fn));
    errors.extend(args.check_item(&item_fn));
    if let Some(errors) = errors.to_compile_errors() {
        return quote!(#errors #item);
    }
    Generator::new(&args, &item_fn).function()
}

/// Names of the generated locals, all with `mixed_site` hygiene.
struct Locals {
    span: Ident,
    capture: Ident,
    guard: Ident,
    entered: Ident,
    ret: Ident,
    future: Ident,
    args: Ident,
    out_span: Ident,
    out: Ident,
    started: Ident,
    stream_span: Ident,
    value: Ident,
    item: Ident,
}

impl Locals {
    fn new() -> Self {
        let local = |name: &str| Ident::new(name, Span::mixed_site());
        Locals {
            span: local("__llm_span"),
            capture: local("__llm_capture"),
            guard: local("__llm_guard"),
            entered: local("__llm_entered"),
            ret: local("__llm_ret"),
            future: local("__llm_future"),
            args: local("__llm_args"),
            out_span: local("__llm_out_span"),
            out: local("__llm_out"),
            started: local("__llm_started"),
            stream_span: local("__llm_stream_span"),
            value: local("__llm_value"),
            item: local("__llm_item"),
        }
    }
}

/// The generator of one instrumented function, from the arguments of macro `A`.
struct Generator<'a, A> {
    args: &'a A,
    item: &'a ItemFn,
    spec: SpanSpec<'a>,
    /// `::llm_telemetry::__private`, or `<crate = path>::__private`.
    private: TokenStream,
    locals: Locals,
    /// The stream the function returns, when its span lasts as long as that stream.
    stream: Option<(StreamReturn<'a>, StreamSettings)>,
}

impl<'a, A: SpanArgs> Generator<'a, A> {
    fn new(args: &'a A, item: &'a ItemFn) -> Self {
        let private = match &args.common().krate {
            Some(path) => quote!(#path::__private),
            None => quote!(::llm_telemetry::__private),
        };
        let stream = args.stream_settings().and_then(|settings| {
            let produced = stream::produced_type(item)?;
            Some((stream::stream_return(produced, settings.forced)?, settings))
        });
        Generator {
            args,
            item,
            spec: args.span_spec(&item.sig.ident),
            private,
            locals: Locals::new(),
            stream,
        }
    }

    /// The instrumented function: same attributes and signature, new body.
    fn function(&self) -> TokenStream {
        let ItemFn {
            attrs,
            vis,
            sig,
            block,
            ..
        } = self.item;
        let outer = attrs.iter().filter(|a| matches!(a.style, AttrStyle::Outer));
        let inner = attrs
            .iter()
            .filter(|a| matches!(a.style, AttrStyle::Inner(_)));
        let body = if self.stream.is_some() {
            self.stream_body(block)
        } else if sig.asyncness.is_some() {
            self.async_fn_body(block)
        } else if let Some(async_like) = AsyncLike::from_fn(self.item) {
            self.async_like_body(&async_like)
        } else if async_like::impl_future_output(&sig.output).is_some() {
            self.returns_future_body(block)
        } else {
            self.sync_body(block)
        };
        quote! {
            #(#outer)*
            #vis #sig {
                #(#inner)*
                #body
            }
        }
    }

    /// `fn f(..) -> R { body }`: the span is entered around the body, which runs in a
    /// closure so that `return` and `?` come back to us.
    fn sync_body(&self, block: &Block) -> TokenStream {
        let Locals { span, ret, .. } = &self.locals;
        let prelude = self.prelude();
        let run = self.run_entered(ret, block, true);
        let outcome = self.outcome(
            &quote!(&#span),
            &quote!(&#ret),
            &signature::usage_type(&self.item.sig, false),
        );
        quote! {
            #prelude
            #run
            if !#span.is_disabled() {
                #outcome
            }
            #ret
        }
    }

    /// `let binding = <body>;`, the body run once inside the entered span, a panic
    /// recorded on it. With `typed`, the body sees the function's return type (its
    /// `return`s and the binding are typed by it); without, it is a function returning a
    /// future, whose body is the future's expression.
    fn run_entered(&self, binding: &Ident, block: &Block, typed: bool) -> TokenStream {
        let p = &self.private;
        let Locals {
            span,
            guard,
            entered,
            ..
        } = &self.locals;
        let (ty, body) = if typed {
            let ret_ty = signature::return_type(&self.item.sig);
            let fake_return = self.fake_return();
            (quote!(: #ret_ty), quote!({ #fake_return #block }))
        } else {
            (TokenStream::new(), block.to_token_stream())
        };
        quote! {
            let #guard = #p::PanicGuard::new(&#span);
            #[allow(clippy::let_unit_value)]
            let #binding #ty = {
                let #entered = #span.enter();
                #p::call_once(move || #body)
            };
            #guard.disarm();
        }
    }

    /// `async fn f(..) -> R { body }`: the body becomes an async block, instrumented.
    fn async_fn_body(&self, block: &Block) -> TokenStream {
        let prelude = self.prelude();
        let fake_return = self.fake_return();
        let instrumented = self.instrument_future(
            &quote!(async move { #fake_return #block }),
            &signature::usage_type(&self.item.sig, false),
        );
        quote! {
            #prelude
            #instrumented.await
        }
    }

    /// `fn f(..) -> impl Future<Output = X> { body }`: the span covers the call, and
    /// the returned future is instrumented.
    fn returns_future_body(&self, block: &Block) -> TokenStream {
        let future = &self.locals.future;
        let prelude = self.prelude();
        let run = self.run_entered(future, block, false);
        let instrumented = self.instrument_future(
            &quote!(#future),
            &signature::usage_type(&self.item.sig, true),
        );
        quote! {
            #prelude
            #run
            #instrumented
        }
    }

    /// A function whose tail is `Box::pin(async move { .. })` (an `#[async_trait]`
    /// method) or `async move { .. }`: that async block is instrumented.
    fn async_like_body(&self, async_like: &AsyncLike<'_>) -> TokenStream {
        let prelude = self.prelude();
        let leading = async_like.leading;
        let block = async_like.block;
        let instrumented = self.instrument_future(
            &block.to_token_stream(),
            &signature::usage_type(&self.item.sig, true),
        );
        let tail = match async_like.pin {
            Some(pin) => quote!(#pin(#instrumented)),
            None => instrumented,
        };
        quote! {
            #prelude
            #(#leading)*
            #tail
        }
    }

    /// `__private::instrument_future(future, span, |span, output| outcome)`.
    fn instrument_future(&self, future: &TokenStream, output_ty: &TokenStream) -> TokenStream {
        let p = &self.private;
        let Locals {
            span,
            out_span,
            out,
            ..
        } = &self.locals;
        let outcome = self.outcome(&quote!(#out_span), &quote!(#out), output_ty);
        quote! {
            #p::instrument_future(#future, #span, move |#out_span, #out| { #outcome })
        }
    }

    /// A function whose span lasts as long as the stream it returns: the body runs as in
    /// the other shapes (entered, guarded; a future instrumented, with no outcome of its
    /// own), then the stream it produced is wrapped, and the span moves into the wrapper.
    fn stream_body(&self, block: &Block) -> TokenStream {
        let p = &self.private;
        let Locals {
            span,
            future,
            stream_span,
            value,
            ..
        } = &self.locals;
        let start = self.prelude();
        let sig = &self.item.sig;
        let produced_ty = signature::usage_type(sig, stream::returns_future(self.item));
        let wrap = self.wrap_stream(&quote!(#value), stream_span, &produced_ty);
        let no_outcome = quote!(|_, _| {});
        if sig.asyncness.is_some() {
            let fake_return = self.fake_return();
            return quote! {
                #start
                let #stream_span = #span.clone();
                let #value = #p::instrument_future(
                    async move { #fake_return #block }, #span, #no_outcome
                ).await;
                #wrap
            };
        }
        if let Some(async_like) = AsyncLike::from_fn(self.item) {
            let leading = async_like.leading;
            let inner = async_like.block;
            let instrumented = quote! {
                async move {
                    let #stream_span = #span.clone();
                    let #value = #p::instrument_future(#inner, #span, #no_outcome).await;
                    #wrap
                }
            };
            let tail = match async_like.pin {
                Some(pin) => quote!(#pin(#instrumented)),
                None => instrumented,
            };
            return quote! {
                #start
                #(#leading)*
                #tail
            };
        }
        if async_like::impl_future_output(&sig.output).is_some() {
            let run = self.run_entered(future, block, false);
            return quote! {
                #start
                #run
                async move {
                    let #stream_span = #span.clone();
                    let #value = #p::instrument_future(#future, #span, #no_outcome).await;
                    #wrap
                }
            };
        }
        let run = self.run_entered(value, block, true);
        quote! {
            #start
            #run
            let #stream_span = #span;
            #wrap
        }
    }

    /// The produced value `value` (a stream, or a `Result` of one) with its stream
    /// wrapped around `span`, typed as the signature declares it (`produced_ty`), so that
    /// a boxed wrapper coerces to the declared `Pin<Box<dyn Stream>>`.
    fn wrap_stream(
        &self,
        value: &TokenStream,
        span: &Ident,
        produced_ty: &TokenStream,
    ) -> TokenStream {
        let p = &self.private;
        let Locals {
            started,
            item,
            out,
            capture,
            ..
        } = &self.locals;
        let Some((shape, settings)) = &self.stream else {
            return value.clone();
        };
        let item_ty = match shape.item {
            Some(ty) => signature::erase_impl_trait(ty).into_token_stream(),
            None => quote!(_),
        };
        let usage = match settings.usage {
            attr::UsageMode::Manual => quote!(::core::option::Option::None),
            _ => quote!(<#item_ty as #p::TokenUsage>::token_usage(#item)),
        };
        let mode = match settings.usage {
            attr::UsageMode::Sum => quote!(#p::StreamUsage::Sum),
            _ => quote!(#p::StreamUsage::Last),
        };
        let on_item = quote! {
            move |#item| {
                use #p::{ChunkErr as _, ChunkErrDebug as _, ChunkErrDisplay as _, ChunkValue as _};
                #p::ChunkReport {
                    usage: #usage,
                    error: (&&&&#p::ChunkItem(#item)).__llm_chunk_error(),
                    content: if #capture {
                        use #p::{CaptureDebug as _, CaptureNone as _};
                        (&&#p::Capture(#item)).__llm_debug().map(|d| ::std::format!("{d:?}"))
                    } else {
                        ::core::option::Option::None
                    },
                }
            }
        };
        // A boxed type is wrapped and boxed again through its `DeclaredStream` impl,
        // written with the user's type: a type that is no stream is reported there.
        let wrapped = if shape.boxed {
            let ty = signature::erase_impl_trait(shape.ty);
            quote_spanned! {shape.ty.span()=>
                <#ty as #p::DeclaredStream>::__llm_instrument(#out, #span, #started, #mode, #on_item)
            }
        } else {
            quote!(#p::instrument_stream(#out, #span, #started, #mode, #on_item))
        };
        let produced = if shape.in_result {
            quote! {
                if #value.is_err() {
                    use #p::{OutcomeErr as _, OutcomeErrDebug as _, OutcomeErrDisplay as _, OutcomeValue as _};
                    (&&&&#p::Outcome(&#value)).__llm_outcome(&#span, ::core::option::Option::None);
                }
                match #value {
                    ::core::result::Result::Ok(#out) => ::core::result::Result::Ok(#wrapped),
                    ::core::result::Result::Err(e) => ::core::result::Result::Err(e),
                }
            }
        } else {
            quote! {
                let #out = #value;
                #wrapped
            }
        };
        quote! {
            #[allow(clippy::let_and_return)]
            let #out: #produced_ty = { #produced };
            #out
        }
    }

    /// Open the span, then capture the arguments when content capture is on.
    fn prelude(&self) -> TokenStream {
        let p = &self.private;
        let Locals {
            span,
            capture,
            args,
            ..
        } = &self.locals;
        let new_span = self.new_span();
        let skips = &self.args.common().skips;
        // `_name` parameters are unused by the function: not content.
        let pushes = signature::param_names(&self.item.sig)
            .into_iter()
            .filter(|param| !skips.contains(param) && !param.to_string().starts_with('_'))
            .map(|param| {
                let name = param.unraw().to_string();
                quote!(#args.arg(#name, (&&#p::Capture(&#param)).__llm_debug());)
            });
        let args_field = self.spec.content_fields.0;
        // A stream's time to first chunk counts from here: the span's start.
        let started = &self.locals.started;
        let clock = self
            .stream
            .as_ref()
            .map(|_| quote!(let #started = ::std::time::Instant::now();));
        let input = match self.spec.input_content {
            // Spanned at the expression, so that "doesn't implement `Display`" points at it.
            Some(expr) => quote_spanned! {expr.span()=>
                #p::record_display_content(&#span, #args_field, &(#expr));
            },
            None => quote! {
                let mut #args = #p::ArgsJson::new();
                {
                    use #p::{CaptureDebug as _, CaptureNone as _};
                    #(#pushes)*
                }
                #args.record(&#span, #args_field);
            },
        };
        quote! {
            let #span = #new_span;
            #clock
            let #capture = #p::capture_enabled(&#span);
            if #capture {
                #input
            }
        }
    }

    /// `tracing::span!(..)` with every field declared, the argument expressions
    /// evaluated once (by reference) beforehand.
    fn new_span(&self) -> TokenStream {
        let p = &self.private;
        let spec = &self.spec;
        let empty = quote!(#p::tracing::field::Empty);
        let mut bindings = Vec::new();
        let mut fields = Vec::new();
        let mut subject = None;
        for (name, value) in &spec.fields {
            let key = field_key(name);
            let value = match value {
                Value::Empty => empty.clone(),
                Value::Str(s) => {
                    if *name == spec.subject {
                        let full = format!("{} {s}", spec.operation);
                        subject = Some(quote!(#full));
                    }
                    quote!(#s)
                }
                Value::Expr(expr) => {
                    // Spanned at the expression, so that "doesn't implement `Display`"
                    // points at it.
                    let binding = bind(&mut bindings, expr);
                    if *name == spec.subject {
                        let format = format!("{} {{}}", spec.operation);
                        subject = Some(quote!(%::core::format_args!(#format, #binding)));
                    }
                    quote!(%#binding)
                }
                Value::Integer(expr) => {
                    // Spanned at the expression, so that "is not an integer" points at it.
                    let binding = bind(&mut bindings, expr);
                    quote_spanned!(expr.span()=> #p::integer_field(#binding))
                }
            };
            fields.push(quote!(#key = #value));
        }
        let operation = spec.operation;
        let otel_name = match (&self.args.common().name, subject) {
            (Some(name), _) => quote!(#name),
            (None, Some(subject)) => subject,
            (None, None) => quote!(#operation),
        };
        let otel_kind = spec.otel_kind;
        let function = self.item.sig.ident.unraw().to_string();
        let user_fields = self
            .args
            .common()
            .fields
            .iter()
            .map(|f| f.to_span_field(&empty));
        if self.stream.is_some() {
            fields.push(quote!(gen_ai.request.stream = true));
            fields.push(quote!(gen_ai.response.time_to_first_chunk = #empty));
            fields.push(quote!(llm_telemetry.stream.chunks = #empty));
        }
        let span = quote! {
            #p::tracing::span!(
                target: ::core::module_path!(),
                #p::tracing::Level::INFO,
                #operation,
                otel.name = #otel_name,
                otel.kind = #otel_kind,
                otel.status_code = #empty,
                otel.status_message = #empty,
                error.type = #empty,
                gen_ai.operation.name = #operation,
                #(#fields,)*
                code.function = #function,
                #(#user_fields,)*
            )
        };
        if bindings.is_empty() {
            span
        } else {
            quote!({ #(#bindings)* #span })
        }
    }

    /// Record the outcome from `ret` (a `&R` expression, `R` being `output_ty`) on `span`
    /// (a `&Span` expression): token usage, status, and the return value if capture is on.
    fn outcome(
        &self,
        span: &TokenStream,
        ret: &TokenStream,
        output_ty: &TokenStream,
    ) -> TokenStream {
        let p = &self.private;
        let capture = &self.locals.capture;
        // `<R as TokenUsage>` keeps the tokens of the user's type: without `TokenUsage`,
        // the trait's `on_unimplemented` message underlines that type.
        // The usage and the status are recorded together (one `record` on success).
        let usage = if self.spec.read_usage {
            quote!(<#output_ty as #p::TokenUsage>::token_usage(#ret))
        } else {
            quote!(::core::option::Option::None)
        };
        let content_field = self.spec.content_fields.1;
        let hooks = self
            .spec
            .hooks
            .iter()
            .map(|hook| self.outcome_hook(hook, span, ret, output_ty));
        quote! {
            {
                use #p::{OutcomeErr as _, OutcomeErrDebug as _, OutcomeErrDisplay as _, OutcomeValue as _};
                (&&&&#p::Outcome(#ret)).__llm_outcome(#span, #usage);
            }
            #(#hooks)*
            if #capture {
                use #p::{CaptureDebug as _, CaptureNone as _};
                #p::record_content(#span, #content_field, (&&#p::Capture(#ret)).__llm_debug());
            }
        }
    }

    /// Record what `hook` reads from `ret` (a `&R` expression, `R` being `output_ty`) on
    /// `span` (a `&Span` expression).
    fn outcome_hook(
        &self,
        hook: &OutcomeHook,
        span: &TokenStream,
        ret: &TokenStream,
        output_ty: &TokenStream,
    ) -> TokenStream {
        let p = &self.private;
        let ident = |name: &str| Ident::new(name, Span::call_site());
        match hook {
            OutcomeHook::Required {
                trait_name,
                method,
                recorder,
            } => {
                let (trait_name, method, recorder) =
                    (ident(trait_name), ident(method), ident(recorder));
                // `<R as Trait>` keeps the tokens of the user's type, as for `TokenUsage`.
                quote! {
                    {
                        use #p::{ReturnedErr as _, ReturnedValue as _};
                        if !(&&#p::Returned(#ret)).__llm_failed() {
                            #p::#recorder(#span, <#output_ty as #p::#trait_name>::#method(#ret));
                        }
                    }
                }
            }
            OutcomeHook::Probed {
                probe,
                traits: [specific, fallback],
                method,
                recorder,
            } => {
                let (probe, specific, fallback) = (ident(probe), ident(specific), ident(fallback));
                let (method, recorder) = (ident(method), ident(recorder));
                quote! {
                    {
                        use #p::{#specific as _, #fallback as _};
                        #p::#recorder(#span, (&&#p::#probe(#ret)).#method());
                    }
                }
            }
        }
    }

    /// A statement that fixes the type of the closure's or async block's `return`s to
    /// the function's return type before the body is checked, as `tracing-attributes`
    /// does: the body then sees the expected type it had in the function, so that
    /// `return Err(e.into())` infers and `Ok(&string)` coerces to `Ok(&str)`.
    fn fake_return(&self) -> TokenStream {
        let ret_ty = signature::return_type(&self.item.sig);
        quote_spanned! {signature::return_span(&self.item.sig)=>
            #[allow(
                unknown_lints,
                unreachable_code,
                clippy::diverging_sub_expression,
                clippy::empty_loop,
                clippy::let_unit_value,
                clippy::let_with_type_underscore,
                clippy::needless_return,
                clippy::unreachable
            )]
            if false {
                let __llm_fake_return: #ret_ty = loop {};
                return __llm_fake_return;
            }
        }
    }
}

/// `let __llm_fieldN = &(expr);`, spanned at `expr`, pushed onto `bindings`: the
/// binding's name.
fn bind(bindings: &mut Vec<TokenStream>, expr: &syn::Expr) -> Ident {
    let binding = Ident::new(&format!("__llm_field{}", bindings.len()), expr.span());
    bindings.push(quote_spanned!(expr.span()=> let #binding = &(#expr);));
    binding
}

/// `gen_ai.request.model` as the tokens `gen_ai . request . model`.
fn field_key(name: &str) -> TokenStream {
    let parts = name
        .split('.')
        .map(|part| Ident::new(part, Span::call_site()));
    quote!(#(#parts).*)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attr::ToolArgs;

    fn tool(args: TokenStream, item: TokenStream) -> String {
        instrument::<ToolArgs>(args, item).to_string()
    }

    #[test]
    fn a_mistake_leaves_the_function_unchanged() {
        let item = quote!(
            fn f(x: u8) -> u8 {
                x
            }
        );
        let out = tool(quote!(model = "m"), item.clone());
        assert!(out.starts_with(":: core :: compile_error !"), "{out}");
        assert!(out.ends_with(&item.to_string()), "{out}");
    }

    #[test]
    fn a_syntax_error_in_the_body_is_left_to_rustc() {
        let item = quote!(fn f(x: u8) -> u8 { let y = x +; y });
        assert_eq!(tool(quote!(), item.clone()), item.to_string());
    }

    #[test]
    fn not_a_function_keeps_the_item() {
        let item = quote!(
            struct Agent;
        );
        let out = tool(quote!(), item.clone());
        assert!(
            out.contains("can only be applied to a function, not to a struct"),
            "{out}"
        );
        assert!(out.ends_with(&item.to_string()), "{out}");
    }

    #[test]
    fn a_declaration_without_body_is_refused() {
        let out = tool(
            quote!(),
            quote!(
                fn f(&self) -> u8;
            ),
        );
        assert!(out.contains("needs the function's body"), "{out}");
    }

    #[test]
    fn shapes_are_recognised() {
        let sync = tool(
            quote!(),
            quote!(
                fn f() -> u8 {
                    1
                }
            ),
        );
        assert!(sync.contains("call_once") && !sync.contains("instrument_future"));
        let async_fn = tool(
            quote!(),
            quote!(
                async fn f() -> u8 {
                    1
                }
            ),
        );
        assert!(async_fn.contains("instrument_future") && async_fn.contains(". await"));
        let returns_future = tool(
            quote!(),
            quote!(
                fn f() -> impl Future<Output = u8> {
                    ready(1)
                }
            ),
        );
        assert!(
            returns_future.contains("call_once") && returns_future.contains("instrument_future")
        );
        let async_trait = tool(
            quote!(),
            quote!(
                fn f<'a>(&'a self) -> Pin<Box<dyn Future<Output = u8> + Send + 'a>> {
                    Box::pin(async move {
                        let __self = self;
                        1
                    })
                }
            ),
        );
        assert!(async_trait.contains(
            "Box :: pin (:: llm_telemetry :: __private :: instrument_future (async move"
        ));
    }

    #[test]
    fn content_capture_leaves_out_self_skipped_and_unused_parameters() {
        let out = tool(
            quote!(skip(key)),
            quote!(
                fn f(&self, city: &str, key: &str, _unused: u8, (a, b): (u8, u8)) {}
            ),
        );
        let captured: Vec<&str> = out
            .split(". arg (\"")
            .skip(1)
            .filter_map(|s| s.split('"').next())
            .collect();
        assert_eq!(captured, ["city", "a", "b"]);
    }

    #[test]
    fn crate_argument_changes_the_path() {
        let out = tool(
            quote!(crate = my::telemetry),
            quote!(
                fn f() {}
            ),
        );
        assert!(
            out.contains("my :: telemetry :: __private :: tracing :: span !"),
            "{out}"
        );
        assert!(!out.contains(":: llm_telemetry ::"), "{out}");
    }

    #[test]
    fn span_kinds_record_their_hooks() {
        use crate::attr::{GuardrailArgs, InferenceArgs, RetrievalArgs};
        let item = quote!(
            fn f(q: &str) -> Vec<u8> {
                Vec::new()
            }
        );
        let retrieval =
            instrument::<RetrievalArgs>(quote!(top_k = 3, query = q), item.clone()).to_string();
        assert!(retrieval.contains(
            "< Vec < u8 > as :: llm_telemetry :: __private :: RetrievedDocuments > :: document_count"
        ));
        assert!(retrieval.contains("integer_field"), "{retrieval}");
        assert!(retrieval.contains("record_display_content"), "{retrieval}");
        assert!(!retrieval.contains("ArgsJson"), "{retrieval}");
        let guardrail = instrument::<GuardrailArgs>(quote!(), item.clone()).to_string();
        assert!(
            guardrail.contains("GuardrailVerdict > :: violation"),
            "{guardrail}"
        );
        assert!(guardrail.contains("__llm_failed"), "{guardrail}");
        let embeddings = instrument::<InferenceArgs>(
            quote!(operation = embeddings, usage = manual),
            item.clone(),
        )
        .to_string();
        assert!(embeddings.contains("DimensionProbe"), "{embeddings}");
        assert!(!embeddings.contains("output_tokens"), "{embeddings}");
        let chat = instrument::<InferenceArgs>(quote!(usage = manual), item).to_string();
        assert!(!chat.contains("DimensionProbe") && chat.contains("output_tokens"));
    }
}
