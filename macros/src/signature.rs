//! What the checks and the generated code read from the instrumented function's
//! signature: the names its parameters bind (`skip(..)` is checked against them,
//! content capture records them) and its return type (which the generated code spells
//! out to read the token usage and to type the body's `return`s).

use proc_macro2::{Span, TokenStream};
use quote::{quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{FnArg, Ident, Pat, ReturnType, Signature, Type};

use crate::async_like;

/// The names bound by the function's parameters, `self` excluded.
pub(crate) fn param_names(sig: &Signature) -> Vec<Ident> {
    let mut names = Vec::new();
    for input in &sig.inputs {
        if let FnArg::Typed(param) = input {
            collect_bindings(&param.pat, &mut names);
        }
    }
    names
}

fn collect_bindings(pat: &Pat, names: &mut Vec<Ident>) {
    match pat {
        Pat::Ident(p) => {
            names.push(p.ident.clone());
            if let Some((_, sub)) = &p.subpat {
                collect_bindings(sub, names);
            }
        }
        Pat::Reference(p) => collect_bindings(&p.pat, names),
        Pat::Type(p) => collect_bindings(&p.pat, names),
        Pat::Paren(p) => collect_bindings(&p.pat, names),
        Pat::Tuple(p) => p.elems.iter().for_each(|p| collect_bindings(p, names)),
        Pat::TupleStruct(p) => p.elems.iter().for_each(|p| collect_bindings(p, names)),
        Pat::Slice(p) => p.elems.iter().for_each(|p| collect_bindings(p, names)),
        Pat::Struct(p) => p
            .fields
            .iter()
            .for_each(|f| collect_bindings(&f.pat, names)),
        _ => {}
    }
}

/// The declared return type, `impl Trait` replaced by `_` so that it can annotate
/// a `let`.
pub(crate) fn return_type(sig: &Signature) -> Type {
    match &sig.output {
        ReturnType::Type(_, ty) => erase_impl_trait(ty),
        ReturnType::Default => syn::parse_quote!(()),
    }
}

/// The type whose `TokenUsage` is read: the return type (`async_output`: the output
/// of the returned future), `impl Trait` replaced by `_`. Without a return type,
/// `()` at the function's name; when a future's output is not spelled out, `_`.
pub(crate) fn usage_type(sig: &Signature, async_output: bool) -> TokenStream {
    let ty = if async_output {
        async_like::future_output(&sig.output)
    } else {
        match &sig.output {
            ReturnType::Type(_, ty) => Some(&**ty),
            ReturnType::Default => None,
        }
    };
    match ty {
        Some(ty) => erase_impl_trait(ty).into_token_stream(),
        None if async_output => quote_spanned!(sig.ident.span()=> _),
        None => quote_spanned!(sig.ident.span()=> ()),
    }
}

/// The return type's span, or the function name's when there is none.
pub(crate) fn return_span(sig: &Signature) -> Span {
    match &sig.output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => sig.ident.span(),
    }
}

/// `ty` with every `impl Trait` replaced by `_`.
pub(crate) fn erase_impl_trait(ty: &Type) -> Type {
    let mut ty = ty.clone();
    ImplTraitEraser.visit_type_mut(&mut ty);
    ty
}

/// Replaces every `impl Trait` in a type with `_`.
struct ImplTraitEraser;

impl VisitMut for ImplTraitEraser {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        if let Type::ImplTrait(impl_trait) = ty {
            *ty = Type::Infer(syn::TypeInfer {
                underscore_token: syn::Token![_](impl_trait.impl_token.span),
            });
        } else {
            syn::visit_mut::visit_type_mut(self, ty);
        }
    }
}
