//! [`RetrievedDocuments`]: how `#[instrument_retrieval]` counts the documents a retrieval
//! returned.

use super::wrappers::through_wrappers;

/// Where `#[instrument_retrieval]` finds how many documents a call returned, recorded
/// as `llm_telemetry.retrieval.document_count`.
///
/// Implemented for `Vec<T>`, `[T]` and `[T; N]` (their length, whatever `T` is), and for
/// `Option<T>`, `Result<T, E>`, `Box<T>`, `Arc<T>` and `&T` where `T: RetrievedDocuments`
/// (`None` and `Err` count nothing). Implement it for a response type that holds its
/// documents:
///
/// ```
/// use llm_telemetry::RetrievedDocuments;
///
/// struct QueryChunksResponse { chunks: Vec<String>, scores: Vec<f32> }
///
/// impl RetrievedDocuments for QueryChunksResponse {
///     fn document_count(&self) -> Option<usize> {
///         Some(self.chunks.len())
///     }
/// }
///
/// let r: Result<QueryChunksResponse, std::io::Error> =
///     Ok(QueryChunksResponse { chunks: vec!["a".into(), "b".into()], scores: vec![0.9, 0.7] });
/// assert_eq!(r.document_count(), Some(2));
/// assert_eq!(vec![1, 2, 3].document_count(), Some(3));
/// ```
#[diagnostic::on_unimplemented(
    message = "`#[instrument_retrieval]` cannot count the documents in `{Self}`",
    label = "this return type does not implement `llm_telemetry::RetrievedDocuments`",
    note = "implement `llm_telemetry::RetrievedDocuments` for the response type \
            (`fn document_count(&self) -> Option<usize>`), or return the documents as a \
            `Vec<_>` or a slice"
)]
pub trait RetrievedDocuments {
    /// How many documents this value holds, or `None` when it holds no result (an
    /// error, an empty option).
    fn document_count(&self) -> Option<usize>;
}

impl<T> RetrievedDocuments for Vec<T> {
    fn document_count(&self) -> Option<usize> {
        Some(self.len())
    }
}

impl<T> RetrievedDocuments for [T] {
    fn document_count(&self) -> Option<usize> {
        Some(self.len())
    }
}

impl<T, const N: usize> RetrievedDocuments for [T; N] {
    fn document_count(&self) -> Option<usize> {
        Some(N)
    }
}

through_wrappers!(RetrievedDocuments::document_count -> usize);
