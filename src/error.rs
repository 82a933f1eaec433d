//! One error type for the whole crate. Its `code` is what JavaScript sees as `error.code`
//! (the `ErrorCode` type of the package's TypeScript declarations lists them); the message says what and where.

use std::fmt;

/// The error classes of the public API. They mirror containerd's errdefs and the Docker
/// Engine's status classes, so callers can branch on them without parsing messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    NotFound,
    Ambiguous,
    AlreadyExists,
    Conflict,
    InvalidArgument,
    FailedPrecondition,
    DataCorrupt,
    UnsupportedFormat,
    Aborted,
    QuotaExceeded,
    /// A limit of this package was reached (the memory backend is full, an upload inflates
    /// beyond its limits); the store is unchanged.
    ResourceExhausted,
    Unavailable,
    /// A bug: an internal error (a caught panic) that should never happen.
    Internal,
}

impl ErrorCode {
    /// The snake_case name used in JavaScript (`error.code`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NotFound => "not_found",
            ErrorCode::Ambiguous => "ambiguous",
            ErrorCode::AlreadyExists => "already_exists",
            ErrorCode::Conflict => "conflict",
            ErrorCode::InvalidArgument => "invalid_argument",
            ErrorCode::FailedPrecondition => "failed_precondition",
            ErrorCode::DataCorrupt => "data_corrupt",
            ErrorCode::UnsupportedFormat => "unsupported_format",
            ErrorCode::Aborted => "aborted",
            ErrorCode::QuotaExceeded => "quota_exceeded",
            ErrorCode::ResourceExhausted => "resource_exhausted",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
        }
    }

    /// The code named `s` ([`ErrorCode::as_str`]'s inverse), e.g. from a JS storage adapter's error.
    pub fn parse(s: &str) -> Option<ErrorCode> {
        use ErrorCode::*;
        [
            NotFound,
            Ambiguous,
            AlreadyExists,
            Conflict,
            InvalidArgument,
            FailedPrecondition,
            DataCorrupt,
            UnsupportedFormat,
            Aborted,
            QuotaExceeded,
            Unavailable,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error { code, message: message.into() }
    }
    pub fn not_found(m: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, m)
    }
    pub fn ambiguous(m: impl Into<String>) -> Self {
        Self::new(ErrorCode::Ambiguous, m)
    }
    pub fn already_exists(m: impl Into<String>) -> Self {
        Self::new(ErrorCode::AlreadyExists, m)
    }
    pub fn conflict(m: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, m)
    }
    pub fn invalid(m: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidArgument, m)
    }
    pub fn precondition(m: impl Into<String>) -> Self {
        Self::new(ErrorCode::FailedPrecondition, m)
    }
    pub fn corrupt(m: impl Into<String>) -> Self {
        Self::new(ErrorCode::DataCorrupt, m)
    }
    pub fn unsupported(m: impl Into<String>) -> Self {
        Self::new(ErrorCode::UnsupportedFormat, m)
    }
    pub fn aborted(m: impl Into<String>) -> Self {
        Self::new(ErrorCode::Aborted, m)
    }
    pub fn unavailable(m: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unavailable, m)
    }
    pub fn exhausted(m: impl Into<String>) -> Self {
        Self::new(ErrorCode::ResourceExhausted, m)
    }

    /// Prefixes the message with where the error happened (an entry name, a digest).
    pub fn context(mut self, at: impl fmt::Display) -> Self {
        self.message = format!("{at}: {}", self.message);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::corrupt(e.to_string())
    }
}
