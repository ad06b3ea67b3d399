//! Why a corpus could not be generated.

use std::path::PathBuf;

/// A refused option or a failed write; the corpus is then incomplete.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The options are inconsistent, or the output already holds files.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Writing the corpus or the truth failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done (`write`, `create folder`...).
        action: &'static str,
        /// The path concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl Error {
    /// Wraps an I/O error with the action and path it concerns.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    }
}
