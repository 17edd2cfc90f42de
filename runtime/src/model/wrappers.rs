//! [`through_wrappers!`]: the impls of a return-value trait (`RetrievedDocuments`,
//! `GuardrailVerdict`, `Embeddings`) for the wrappers a function's result comes in.

/// Implement `$trait` (one method `fn $method(&self) -> Option<$out>`) for `Option<T>`
/// and `Result<T, E>` (`None` and `Err` give `None`), and for `Box<T>`, `Arc<T>` and `&T`
/// (the inner value's), where `T: $trait`.
macro_rules! through_wrappers {
    ($trait:ident :: $method:ident -> $out:ty) => {
        impl<T: $trait> $trait for Option<T> {
            fn $method(&self) -> Option<$out> {
                self.as_ref().and_then(T::$method)
            }
        }

        impl<T: $trait, E> $trait for Result<T, E> {
            fn $method(&self) -> Option<$out> {
                self.as_ref().ok().and_then(T::$method)
            }
        }

        impl<T: $trait + ?Sized> $trait for Box<T> {
            fn $method(&self) -> Option<$out> {
                (**self).$method()
            }
        }

        impl<T: $trait + ?Sized> $trait for std::sync::Arc<T> {
            fn $method(&self) -> Option<$out> {
                (**self).$method()
            }
        }

        impl<T: $trait + ?Sized> $trait for &T {
            fn $method(&self) -> Option<$out> {
                (**self).$method()
            }
        }
    };
}

pub(crate) use through_wrappers;
