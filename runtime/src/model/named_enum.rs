//! [`named_enum!`]: a fieldless enum and its one table of names.
//!
//! Every closed vocabulary of the crate (span kinds and statuses, severities, sink kinds,
//! OTLP protocols, filter operators, ...) is written as text somewhere: in the store, in
//! an environment variable, on the wire. The macro declares the enum and its names
//! together, so that a name is written once and `as_str` and parsing cannot disagree.

/// Declare a fieldless enum whose variants each have a name (`Variant = "name"`) and,
/// optionally, aliases accepted when parsing (`Variant = "name" | "alias"`).
///
/// Generates `as_str(self) -> &'static str` (public), `from_name(&str)` (the name or an
/// alias, exactly) and `from_name_ignore_case(&str)` (ASCII case ignored) — the latter two
/// crate-private, for the enum's own public parsers to call.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal $(| $alias:literal)* ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// The name of this value, as it is written in the store, in configuration
            /// and on the wire.
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text ),+
                }
            }

            /// The value named `s` (its name or an alias), exactly as written.
            #[allow(dead_code)]
            pub(crate) fn from_name(s: &str) -> Option<Self> {
                match s {
                    $( $text $(| $alias)* => Some($name::$variant), )+
                    _ => None,
                }
            }

            /// The value named `s` (its name or an alias), ignoring ASCII case; does not
            /// allocate.
            #[allow(dead_code)]
            pub(crate) fn from_name_ignore_case(s: &str) -> Option<Self> {
                $(
                    if s.eq_ignore_ascii_case($text) $(|| s.eq_ignore_ascii_case($alias))* {
                        return Some($name::$variant);
                    }
                )+
                None
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use named_enum;
