//! One error type for the whole crate. Its `code` is what JavaScript sees as `error.code`
//! (the `ErrorCode` type of the package's TypeScript declarations, written from the same list); the message says
//! what and where.

use std::fmt;

/// Defines [`ErrorCode`], its JavaScript names and the TypeScript union of those names from one
/// list, so that a code cannot be added to one of them and missed in another.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $code:ident = $name:literal,)*) => {
        /// The error classes of the public API. They mirror containerd's errdefs and the Docker
        /// Engine's status classes, so callers can branch on them without parsing messages.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $code,)*
        }

        impl ErrorCode {
            /// Every code with its JavaScript name, in declaration order: the one table
            /// [`ErrorCode::as_str`] (by index) and [`ErrorCode::parse`] read.
            const NAMES: &'static [(ErrorCode, &'static str)] = &[$((ErrorCode::$code, $name),)*];

            /// The TypeScript declaration of the codes (the bindings put it in the `.d.ts`).
            pub const TYPESCRIPT: &'static str = concat!(
                "/** The `code` of every error this package rejects with. */\nexport type ErrorCode =",
                $("\n  | \"", $name, "\"",)*
                ";\n"
            );
        }
    };
}

error_codes! {
    NotFound = "not_found",
    Ambiguous = "ambiguous",
    AlreadyExists = "already_exists",
    Conflict = "conflict",
    InvalidArgument = "invalid_argument",
    FailedPrecondition = "failed_precondition",
    DataCorrupt = "data_corrupt",
    UnsupportedFormat = "unsupported_format",
    Aborted = "aborted",
    QuotaExceeded = "quota_exceeded",
    /// A limit of this package was reached (the memory backend is full, an upload inflates
    /// beyond its limits); the store is unchanged.
    ResourceExhausted = "resource_exhausted",
    Unavailable = "unavailable",
    /// A bug: an internal error (a caught panic) that should never happen.
    Internal = "internal",
}

impl ErrorCode {
    /// The snake_case name used in JavaScript (`error.code`).
    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize].1
    }

    /// Every code, in declaration order.
    pub fn all() -> impl Iterator<Item = ErrorCode> {
        Self::NAMES.iter().map(|(code, _)| *code)
    }

    /// The code named `s` ([`ErrorCode::as_str`]'s inverse), e.g. from a JS storage adapter's error.
    pub fn parse(s: &str) -> Option<ErrorCode> {
        Self::NAMES.iter().find(|(_, name)| *name == s).map(|(c, _)| *c)
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
    pub fn internal(m: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, m)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_one_name_and_parses_back() {
        let names: std::collections::BTreeSet<&str> = ErrorCode::NAMES.iter().map(|(_, n)| *n).collect();
        assert_eq!(names.len(), ErrorCode::NAMES.len(), "names are distinct");
        for (i, &(code, name)) in ErrorCode::NAMES.iter().enumerate() {
            assert_eq!(code as usize, i, "{name} is in declaration order");
            assert_eq!(code.as_str(), name);
            assert_eq!(ErrorCode::parse(name), Some(code));
            assert!(ErrorCode::TYPESCRIPT.contains(&format!("\n  | \"{name}\"")), "{name} is in the TypeScript union");
        }
        assert_eq!(ErrorCode::all().count(), ErrorCode::NAMES.len());
        assert_eq!(ErrorCode::TYPESCRIPT.matches(" | ").count(), ErrorCode::NAMES.len());
        assert_eq!(ErrorCode::parse("resource_exhausted"), Some(ErrorCode::ResourceExhausted));
        assert_eq!(ErrorCode::parse("no_such_code"), None);
    }
}
