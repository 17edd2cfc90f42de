//! The one error type of `llm-trace`: what the store refused, or what writing the output
//! failed on. `main` prints it as the one line `llm-trace: {error}` and exits 1, except
//! for a closed pipe (`llm-trace list | head`), which is a success.

use std::io;

use llm_telemetry::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store's message as it is: it names the path, the id or the filter.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// `llm-trace serve` cannot start: the message says why and what to do.
    #[error("{0}")]
    Serve(String),
    /// Writing stdout failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl Error {
    /// The reader of stdout went away: not a failure of `llm-trace`.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Io(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}

/// Writing JSON fails as its writer does: as an I/O error, so that a closed pipe is still
/// seen as one.
impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Io(e.into())
    }
}
