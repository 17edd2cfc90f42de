//! [`Embeddings`]: how `#[instrument_inference(operation = embeddings)]` reads the
//! dimension of the vectors a call returned.

use super::wrappers::through_wrappers;

/// Where `#[instrument_inference(operation = embeddings)]` finds the dimension of the
/// embeddings a call returned, recorded as `gen_ai.embeddings.dimension.count`.
///
/// Optional: a return type without it records no dimension (and is no error).
/// Implemented for vectors of `f32` or `f64` (`Vec`, slice, array: their length), for
/// batches of them (`Vec<E>`, `[E]`, `[E; N]` where `E: Embeddings`: the first one's
/// dimension), and for `Option<T>`, `Result<T, E>`, `Box<T>`, `Arc<T>` and `&T` where
/// `T: Embeddings`. Implement it for a response type:
///
/// ```
/// use llm_telemetry::Embeddings;
///
/// struct EmbeddingsResponse { embeddings: Vec<Vec<f32>> }
///
/// impl Embeddings for EmbeddingsResponse {
///     fn dimension(&self) -> Option<usize> {
///         self.embeddings.dimension()
///     }
/// }
///
/// let r = EmbeddingsResponse { embeddings: vec![vec![0.0; 768], vec![0.0; 768]] };
/// assert_eq!(r.dimension(), Some(768));
/// assert_eq!(vec![0.5_f64; 3].dimension(), Some(3));
/// ```
pub trait Embeddings {
    /// The number of dimensions of the vectors, or `None` when there is none (an
    /// empty batch, an error).
    fn dimension(&self) -> Option<usize>;
}

/// One vector of floats: its length.
macro_rules! vector {
    ($($float:ty),*) => {$(
        impl Embeddings for [$float] {
            fn dimension(&self) -> Option<usize> {
                Some(self.len())
            }
        }

        impl<const N: usize> Embeddings for [$float; N] {
            fn dimension(&self) -> Option<usize> {
                Some(N)
            }
        }

        impl Embeddings for Vec<$float> {
            fn dimension(&self) -> Option<usize> {
                Some(self.len())
            }
        }
    )*};
}

vector!(f32, f64);

impl<E: Embeddings> Embeddings for [E] {
    fn dimension(&self) -> Option<usize> {
        self.first().and_then(E::dimension)
    }
}

impl<E: Embeddings, const N: usize> Embeddings for [E; N] {
    fn dimension(&self) -> Option<usize> {
        self.first().and_then(E::dimension)
    }
}

impl<E: Embeddings> Embeddings for Vec<E> {
    fn dimension(&self) -> Option<usize> {
        self.first().and_then(E::dimension)
    }
}

through_wrappers!(Embeddings::dimension -> usize);
