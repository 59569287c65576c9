//! The library's one error type.

use std::path::PathBuf;

/// Everything that can go wrong inside the claimdex library.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The search engine failed (corrupt index, lock held, disk full...).
    #[error("index error: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    /// The search query could not be parsed.
    #[error("invalid query: {0}")]
    QueryParse(String),
    /// A record in an input file is malformed.
    #[error("{path}:{line}: field `{field}`: {message}")]
    Ingest {
        /// The file the record came from.
        path: PathBuf,
        /// 1-based line (or record) number in that file.
        line: u64,
        /// The field at fault (`-` when the whole record is unreadable).
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// A record was asked for by id and does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// A request is invalid (empty query, limit out of range, unknown filter value...).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A model or other resource is missing or could not be loaded.
    #[error("model error: {0}")]
    Model(String),
}

/// `Result` with the library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }

    /// An ingest error for `path:line`, naming the field at fault.
    pub fn ingest(path: impl Into<PathBuf>, line: u64, field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Ingest { path: path.into(), line, field: field.into(), message: message.into() }
    }

    /// True for errors caused by the caller's input rather than by the system.
    pub fn is_client_error(&self) -> bool {
        matches!(self, Error::QueryParse(_) | Error::Ingest { .. } | Error::NotFound(_) | Error::InvalidRequest(_))
    }
}
