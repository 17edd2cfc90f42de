//! Functions that are not `async fn` but return a future: `#[async_trait]` methods,
//! functions returning `impl Future`.
//!
//! An attribute on a method inside an `#[async_trait]` impl sees the method after
//! async-trait has rewritten it:
//!
//! ```text
//! fn turn<'life0, 'async_trait>(&'life0 self, ..)
//!     -> Pin<Box<dyn Future<Output = R> + Send + 'async_trait>>
//! {
//!     Box::pin(async move { let __self = self; ..; let __ret: R = { body }; __ret })
//! }
//! ```
//!
//! Instrumenting the function itself would only time the creation of the future. Like
//! `tracing-attributes`, we recognise a body whose tail is an async block, pinned in a
//! box or not, and instrument that block; the usage and the status come from its output.

use syn::{
    Expr, ExprAsync, ExprCall, GenericArgument, ItemFn, PathArguments, ReturnType, Stmt, Type,
    TypeParamBound,
};

/// A function whose tail expression is `async { .. }` or `Box::pin(async { .. })`.
pub(crate) struct AsyncLike<'a> {
    /// The statements before the tail (none in async-trait's output).
    pub(crate) leading: &'a [Stmt],
    /// The `Box::pin` callee when the block is pinned.
    pub(crate) pin: Option<&'a Expr>,
    /// The async block.
    pub(crate) block: &'a ExprAsync,
}

impl<'a> AsyncLike<'a> {
    /// Recognise the pattern in `item`, which must not be an `async fn`.
    pub(crate) fn from_fn(item: &'a ItemFn) -> Option<Self> {
        if item.sig.asyncness.is_some() {
            return None;
        }
        let (tail, leading) = item.block.stmts.split_last()?;
        let Stmt::Expr(tail, None) = tail else {
            return None;
        };
        match tail {
            Expr::Async(block) => Some(AsyncLike {
                leading,
                pin: None,
                block,
            }),
            Expr::Call(ExprCall { func, args, .. }) if is_box_pin(func) && args.len() == 1 => {
                match args.first()? {
                    Expr::Async(block) => Some(AsyncLike {
                        leading,
                        pin: Some(func),
                        block,
                    }),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

/// `Box::pin`, `std::boxed::Box::pin`, `::alloc::boxed::Box::pin`, ...
fn is_box_pin(func: &Expr) -> bool {
    let Expr::Path(path) = func else {
        return false;
    };
    let segments: Vec<_> = path.path.segments.iter().rev().take(2).collect();
    matches!(segments.as_slice(), [pin, boxed] if pin.ident == "pin" && boxed.ident == "Box")
}

/// `X` when the return type is `impl Future<Output = X>`.
pub(crate) fn impl_future_output(output: &ReturnType) -> Option<&Type> {
    match output {
        ReturnType::Type(_, ty) => match peel(ty) {
            Type::ImplTrait(impl_trait) => future_output_in(impl_trait.bounds.iter()),
            _ => None,
        },
        ReturnType::Default => None,
    }
}

/// `X` when the return type is a future with a spelled-out output: `impl Future<Output
/// = X>`, `Pin<Box<dyn Future<Output = X> + Send + 'a>>`, ...
pub(crate) fn future_output(output: &ReturnType) -> Option<&Type> {
    match output {
        ReturnType::Type(_, ty) => future_output_of(ty),
        ReturnType::Default => None,
    }
}

fn future_output_of(ty: &Type) -> Option<&Type> {
    match peel(ty) {
        Type::ImplTrait(impl_trait) => future_output_in(impl_trait.bounds.iter()),
        Type::TraitObject(object) => future_output_in(object.bounds.iter()),
        // `Pin<Box<..>>`: look inside the type arguments.
        Type::Path(path) => {
            let PathArguments::AngleBracketed(args) = &path.path.segments.last()?.arguments else {
                return None;
            };
            args.args.iter().find_map(|arg| match arg {
                GenericArgument::Type(ty) => future_output_of(ty),
                _ => None,
            })
        }
        _ => None,
    }
}

fn future_output_in<'a>(bounds: impl Iterator<Item = &'a TypeParamBound>) -> Option<&'a Type> {
    assoc_type_in(bounds, "Future", "Output")
}

/// `X` of the bound `Trait<Assoc = X>` among `bounds` (`Future<Output = X>`,
/// `Stream<Item = X>`), the trait named by its last path segment.
pub(crate) fn assoc_type_in<'a>(
    mut bounds: impl Iterator<Item = &'a TypeParamBound>,
    trait_name: &str,
    assoc_name: &str,
) -> Option<&'a Type> {
    bounds.find_map(|bound| {
        let TypeParamBound::Trait(bound) = bound else {
            return None;
        };
        let last = bound.path.segments.last()?;
        if last.ident != trait_name {
            return None;
        }
        let PathArguments::AngleBracketed(args) = &last.arguments else {
            return None;
        };
        args.args.iter().find_map(|arg| match arg {
            GenericArgument::AssocType(assoc) if assoc.ident == assoc_name => Some(&assoc.ty),
            _ => None,
        })
    })
}

/// Strip parentheses and invisible groups.
pub(crate) fn peel(ty: &Type) -> &Type {
    match ty {
        Type::Paren(inner) => peel(&inner.elem),
        Type::Group(inner) => peel(&inner.elem),
        _ => ty,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens;
    use syn::parse_quote;

    #[test]
    fn recognises_async_trait_output() {
        let item: ItemFn = parse_quote! {
            fn turn<'life0, 'async_trait>(&'life0 self)
                -> ::core::pin::Pin<Box<dyn ::core::future::Future<Output = Result<u8, E>>
                    + ::core::marker::Send + 'async_trait>>
            {
                Box::pin(async move { let __self = self; Ok(1) })
            }
        };
        let found = AsyncLike::from_fn(&item).expect("async-like");
        assert!(found.pin.is_some() && found.leading.is_empty());
        let output = future_output(&item.sig.output).expect("output");
        assert_eq!(output.to_token_stream().to_string(), "Result < u8 , E >");
        assert!(impl_future_output(&item.sig.output).is_none());
    }

    #[test]
    fn recognises_impl_future() {
        let item: ItemFn = parse_quote! {
            fn call(x: u8) -> impl Future<Output = u8> + Send { let y = x; async move { y } }
        };
        let found = AsyncLike::from_fn(&item).expect("async-like");
        assert!(found.pin.is_none() && found.leading.len() == 1);
        assert!(impl_future_output(&item.sig.output).is_some());
    }

    #[test]
    fn ignores_other_bodies() {
        let item: ItemFn = parse_quote!(
            fn f() -> Pin<Box<u8>> {
                Box::pin(3)
            }
        );
        assert!(AsyncLike::from_fn(&item).is_none());
        let item: ItemFn = parse_quote!(
            async fn f() {
                async {}.await
            }
        );
        assert!(AsyncLike::from_fn(&item).is_none());
    }
}
