//! The errors of one expansion, collected so that they are all reported at once, and
//! the "did you mean" suggestion their messages share.
//!
//! The argument parser, the checks and the item parser each push what they find;
//! the expansion then emits every error as a `compile_error!` at its own span.

use proc_macro2::TokenStream;
use std::fmt::Display;

/// Several errors, reported together.
#[derive(Default)]
pub(crate) struct Errors(
    /// Every error so far, combined into one; `None` while there is none.
    pub(crate) Option<syn::Error>,
);

impl Errors {
    /// Add one error.
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(errors) => errors.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// Add all of `other`'s errors.
    pub(crate) fn extend(&mut self, other: Errors) {
        if let Some(error) = other.0 {
            self.push(error);
        }
    }

    /// `compile_error!`s for every error, or `None` when there is none.
    pub(crate) fn to_compile_errors(&self) -> Option<TokenStream> {
        self.0.as_ref().map(syn::Error::to_compile_error)
    }
}

/// ": did you mean `model`?", naming the first of the closest `candidates` at most two
/// edits away from `name`, or `None` when none is that close.
pub(crate) fn did_you_mean<T: Display>(
    name: &str,
    candidates: impl IntoIterator<Item = T>,
) -> Option<String> {
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(name, &candidate.to_string()), candidate))
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| format!(": did you mean `{candidate}`?"))
}

/// Levenshtein distance, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("modle", "model"), 2);
        assert_eq!(edit_distance("tool", "tool"), 0);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
