//! Checks of the arguments against the function they instrument (`const fn`, `skip`
//! of a parameter that does not exist), apart from the code generation: they read the
//! arguments and the signature only. Every problem is collected, so that they are all
//! reported at once.

use syn::{Ident, ItemFn};

use crate::attr::MacroArgs;
use crate::errors::{did_you_mean, Errors};
use crate::signature::param_names;

/// Check `args` against `item`.
pub(crate) fn check<A: MacroArgs>(args: &A, item: &ItemFn) -> Errors {
    let mut errors = Errors::default();
    let sig = &item.sig;

    if let Some(constness) = &sig.constness {
        errors.push(syn::Error::new(
            constness.span,
            format!(
                "`#[{}]` cannot instrument a `const fn`: its span is opened at run time; \
                 remove `const`, or instrument the non-const function that calls it",
                A::MACRO
            ),
        ));
    }

    let params = param_names(sig);
    let has_receiver = sig.receiver().is_some();
    for skip in &args.common().skips {
        let exists = if skip == "self" {
            has_receiver
        } else {
            params.iter().any(|param| param == skip)
        };
        if !exists {
            errors.push(syn::Error::new(
                skip.span(),
                format!(
                    "cannot skip `{skip}`: `{}` has no parameter named `{skip}`{}",
                    sig.ident,
                    skip_hint(skip, &params, has_receiver)
                ),
            ));
        }
    }

    errors
}

/// ": did you mean `api_key`?", or the list of the parameters.
fn skip_hint(skip: &Ident, params: &[Ident], has_receiver: bool) -> String {
    if let Some(suggestion) = did_you_mean(&skip.to_string(), params) {
        return suggestion;
    }
    let names: Vec<String> = has_receiver
        .then(|| "`self`".to_owned())
        .into_iter()
        .chain(params.iter().map(|param| format!("`{param}`")))
        .collect();
    if names.is_empty() {
        " (it has no parameters)".to_owned()
    } else {
        format!(" (its parameters are {})", names.join(", "))
    }
}
