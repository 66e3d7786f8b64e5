//! The config file as text: the INI lexer, the reader that hands each key of a section to the
//! code that understands it, single-value parsers and the error type that names file, line,
//! section and key. It knows nothing of link kinds or of what the keys mean; `config` and the
//! kinds in `kinds` give them meaning, and both build on this.

pub mod error;
pub mod ini;
pub mod section;
pub mod values;

use std::fmt;

/// Why a value cannot be used, in words for the person who wrote it: what is wrong and what
/// would be right. The caller adds file, line, section and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Invalid {}

impl From<String> for Invalid {
    fn from(message: String) -> Self {
        Invalid(message)
    }
}

impl From<&str> for Invalid {
    fn from(message: &str) -> Self {
        Invalid(message.to_string())
    }
}

impl std::ops::Deref for Invalid {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<&str> for Invalid {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// What a value parser returns.
pub type Parsed<T> = Result<T, Invalid>;
