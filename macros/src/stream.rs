//! Streamed inferences: recognising, from the signature alone, a function that returns a
//! stream, and the checks of `stream` / `usage = sum` against it.
//!
//! Recognised without help, as the value a function returns (or its future's output):
//! `impl Stream<Item = T>`, `BoxStream<'_, T>` / `LocalBoxStream<'_, T>`,
//! `Pin<Box<dyn Stream<Item = T> + ..>>`, and a `Result<_, E>` of one of them (connect,
//! then stream). Any other type is a stream only when the attribute says `stream`; it is
//! then taken as an alias of `Pin<Box<dyn Stream>>` (the wrapper is boxed again to fit
//! it), and a type that is no stream at all fails to compile at the return type.

use syn::{GenericArgument, ItemFn, PathArguments, ReturnType, Type, TypeParamBound};

use crate::async_like::{self, peel, AsyncLike};
use crate::attr::{InferenceArgs, Operation, UsageMode};
use crate::errors::Errors;

/// The stream a function returns, as its signature shows it.
pub(crate) struct StreamReturn<'a> {
    /// The stream's declared type (inside the `Result`, if any).
    pub(crate) ty: &'a Type,
    /// The item type, when the signature spells it out.
    pub(crate) item: Option<&'a Type>,
    /// The declared type is a `Pin<Box<dyn Stream>>`: the wrapper is boxed to fit it.
    pub(crate) boxed: bool,
    /// The stream comes inside a `Result` (`Ok(stream)`; an `Err` ends the span).
    pub(crate) in_result: bool,
}

/// The type of the value `item` produces: its return type, or the output of the future
/// it returns (`async fn` declares that output as its return type).
pub(crate) fn produced_type(item: &ItemFn) -> Option<&Type> {
    if returns_future(item) {
        return async_like::future_output(&item.sig.output);
    }
    match &item.sig.output {
        ReturnType::Type(_, ty) => Some(ty),
        ReturnType::Default => None,
    }
}

/// Whether `item` (not an `async fn`) returns a future: an `#[async_trait]`-style body or
/// an `impl Future` return type.
pub(crate) fn returns_future(item: &ItemFn) -> bool {
    item.sig.asyncness.is_none()
        && (AsyncLike::from_fn(item).is_some()
            || async_like::impl_future_output(&item.sig.output).is_some())
}

/// The stream `ty` is, if the signature shows one, or if `forced` (`stream`).
pub(crate) fn stream_return(ty: &Type, forced: bool) -> Option<StreamReturn<'_>> {
    if let Some(ok) = result_ok_type(ty) {
        return stream_type(ok, forced).map(|s| StreamReturn {
            in_result: true,
            ..s
        });
    }
    stream_type(ty, forced)
}

fn stream_type(ty: &Type, forced: bool) -> Option<StreamReturn<'_>> {
    let found = match peel(ty) {
        Type::ImplTrait(impl_trait) => {
            stream_item_in(impl_trait.bounds.iter()).map(|item| (Some(item), false))
        }
        Type::Path(path) => {
            let last = path.path.segments.last()?;
            match last.ident.to_string().as_str() {
                "BoxStream" | "LocalBoxStream" => Some((type_args(&last.arguments).next(), true)),
                "Pin" => type_args(&last.arguments)
                    .next()
                    .and_then(boxed_dyn_stream_item)
                    .map(|item| (Some(item), true)),
                _ => None,
            }
        }
        _ => None,
    };
    match found {
        Some((item, boxed)) => Some(StreamReturn {
            ty,
            item,
            boxed,
            in_result: false,
        }),
        None if forced => Some(StreamReturn {
            ty,
            item: None,
            boxed: !matches!(peel(ty), Type::ImplTrait(_)),
            in_result: false,
        }),
        None => None,
    }
}

/// `T` in `Box<dyn Stream<Item = T> + ..>`.
fn boxed_dyn_stream_item(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = peel(ty) else {
        return None;
    };
    let last = path.path.segments.last()?;
    if last.ident != "Box" {
        return None;
    }
    match peel(type_args(&last.arguments).next()?) {
        Type::TraitObject(object) => stream_item_in(object.bounds.iter()),
        _ => None,
    }
}

/// `T` of the `Stream<Item = T>` bound among `bounds`.
fn stream_item_in<'a>(bounds: impl Iterator<Item = &'a TypeParamBound>) -> Option<&'a Type> {
    async_like::assoc_type_in(bounds, "Stream", "Item")
}

/// `T` when `ty` is `Result<T, ..>` (any path ending in `Result`: `io::Result<T>`,
/// `anyhow::Result<T>`).
fn result_ok_type(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = peel(ty) else {
        return None;
    };
    let last = path.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    type_args(&last.arguments).next()
}

/// The type arguments of a path segment, lifetimes skipped.
fn type_args(args: &PathArguments) -> impl Iterator<Item = &Type> {
    let args = match args {
        PathArguments::AngleBracketed(args) => Some(args.args.iter()),
        _ => None,
    };
    args.into_iter().flatten().filter_map(|arg| match arg {
        GenericArgument::Type(ty) => Some(ty),
        _ => None,
    })
}

/// Check `stream` and `usage = sum` against the function: `stream` needs a return type,
/// cannot go with `operation = embeddings`; `usage = sum` needs a stream.
pub(crate) fn check(args: &InferenceArgs, item: &ItemFn) -> Errors {
    let mut errors = Errors::default();
    let produced = produced_type(item);
    let streams = produced.is_some_and(|ty| stream_return(ty, args.stream.is_some()).is_some());
    if let Some(flag) = &args.stream {
        if produced.is_none() {
            errors.push(syn::Error::new(
                flag.span(),
                format!(
                    "`stream` instruments the stream a function returns, but `{}` returns \
                     nothing",
                    item.sig.ident
                ),
            ));
        }
        if args.operation == Operation::Embeddings {
            errors.push(syn::Error::new(
                flag.span(),
                "`stream` cannot go with `operation = embeddings`: an embeddings call \
                 returns its vectors at once",
            ));
        }
    }
    if let (UsageMode::Sum, Some(span), false) = (args.usage, args.usage_token, streams) {
        errors.push(syn::Error::new(
            span,
            format!(
                "`usage = sum` adds up the usage a stream's items report, but `{}` does not \
                 return a stream that the macro recognises; write `stream` if its return type \
                 is one",
                item.sig.ident
            ),
        ));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens;
    use syn::parse_quote;

    fn shape(ty: Type, forced: bool) -> Option<(String, bool, bool)> {
        stream_return(&ty, forced).map(|s| {
            (
                s.item
                    .map(|t| t.to_token_stream().to_string())
                    .unwrap_or_default(),
                s.boxed,
                s.in_result,
            )
        })
    }

    #[test]
    fn recognises_stream_types() {
        let item = |s: &str| Some((s.to_owned(), false, false));
        assert_eq!(
            shape(parse_quote!(impl Stream<Item = Chunk> + Send), false),
            item("Chunk")
        );
        assert_eq!(
            shape(parse_quote!(BoxStream<'static, Result<Chunk, E>>), false),
            Some(("Result < Chunk , E >".to_owned(), true, false))
        );
        assert_eq!(
            shape(
                parse_quote!(Pin<Box<dyn futures::Stream<Item = Chunk> + Send + 'a>>),
                false
            ),
            Some(("Chunk".to_owned(), true, false))
        );
        assert_eq!(
            shape(
                parse_quote!(Result<impl Stream<Item = Chunk>, std::io::Error>),
                false
            ),
            Some(("Chunk".to_owned(), false, true))
        );
    }

    #[test]
    fn other_types_are_streams_only_when_forced() {
        assert!(shape(parse_quote!(ChatStream), false).is_none());
        assert!(shape(parse_quote!(Vec<Chunk>), false).is_none());
        assert!(shape(parse_quote!(Pin<Box<dyn Future<Output = u8>>>), false).is_none());
        assert_eq!(
            shape(parse_quote!(ChatStream), true),
            Some((String::new(), true, false))
        );
        assert_eq!(
            shape(parse_quote!(anyhow::Result<ChatStream>), true),
            Some((String::new(), true, true))
        );
    }

    #[test]
    fn produced_type_looks_through_futures() {
        let item: ItemFn = parse_quote! {
            fn f(&self) -> impl Future<Output = BoxStream<'static, u8>> { async move { todo!() } }
        };
        let ty = produced_type(&item).expect("a type");
        assert!(stream_return(ty, false).is_some());
    }
}
