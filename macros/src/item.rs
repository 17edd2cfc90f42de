//! The item an attribute is applied to: a function with a body, or the error that
//! says what it is instead (a struct, a trait method without a body, ...), naming the
//! item's head so that the error points at it.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::ItemFn;

use crate::attr::MacroArgs;

/// What an attribute was applied to.
pub(crate) enum ParsedItem {
    /// A function with a body: what the macros instrument.
    Fn(Box<ItemFn>),
    /// Another item, or a declaration without a body: the error that says so.
    NotAFunction(syn::Error),
    /// Tokens that do not parse (a syntax error in the function).
    Unparsable,
}

impl ParsedItem {
    /// Parse the item that macro `A`'s attribute was applied to (`A` names the macro in
    /// the errors).
    pub(crate) fn parse<A: MacroArgs>(item: TokenStream) -> Self {
        if let Ok(item_fn) = syn::parse2::<ItemFn>(item.clone()) {
            return ParsedItem::Fn(Box::new(item_fn));
        }
        if let Ok(method) = syn::parse2::<syn::TraitItemFn>(item.clone()) {
            if method.default.is_none() {
                return ParsedItem::NotAFunction(syn::Error::new_spanned(
                    &method.sig,
                    format!(
                        "`#[{}]` needs the function's body: put it on the implementation, \
                         not on the declaration",
                        A::MACRO
                    ),
                ));
            }
        }
        match syn::parse2::<syn::Item>(item) {
            Ok(syn::Item::Fn(_) | syn::Item::Verbatim(_)) | Err(_) => ParsedItem::Unparsable,
            Ok(other) => ParsedItem::NotAFunction(not_a_function::<A>(&other)),
        }
    }
}

/// "can only be applied to a function", pointing at what the item is (`struct Foo`).
fn not_a_function<A: MacroArgs>(item: &syn::Item) -> syn::Error {
    use syn::Item;
    let (what, head) = match item {
        Item::Struct(i) => ("a struct", pair(&i.struct_token, &i.ident)),
        Item::Enum(i) => ("an enum", pair(&i.enum_token, &i.ident)),
        Item::Union(i) => ("a union", pair(&i.union_token, &i.ident)),
        Item::Trait(i) => ("a trait", pair(&i.trait_token, &i.ident)),
        Item::Impl(i) => ("an impl block", pair(&i.impl_token, &i.self_ty)),
        Item::Mod(i) => ("a module", pair(&i.mod_token, &i.ident)),
        Item::Const(i) => ("a constant", pair(&i.const_token, &i.ident)),
        Item::Static(i) => ("a static", pair(&i.static_token, &i.ident)),
        Item::Type(i) => ("a type alias", pair(&i.type_token, &i.ident)),
        Item::Use(i) => ("a `use` declaration", pair(&i.use_token, &i.tree)),
        Item::ExternCrate(i) => ("an `extern crate`", pair(&i.extern_token, &i.ident)),
        Item::ForeignMod(i) => ("an `extern` block", i.abi.to_token_stream()),
        Item::Macro(i) => ("a macro", i.mac.path.to_token_stream()),
        other => ("not a function", other.to_token_stream()),
    };
    syn::Error::new_spanned(
        head,
        format!(
            "`#[{}]` can only be applied to a function, not to {what}",
            A::MACRO
        ),
    )
}

/// `a b`: an item's head (`struct Foo`), for the error to point at.
fn pair(a: &impl ToTokens, b: &impl ToTokens) -> TokenStream {
    quote!(#a #b)
}
