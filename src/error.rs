//! The errors a run can end with. Each says what went wrong in words for the person at the
//! console, and what to do where that is known; `exit_code` maps it to underlay's exit codes.

use std::fmt;

use crate::netlink::NetlinkError;
use crate::syntax::error::ConfigError;
use crate::{EXIT_FAILED, EXIT_USAGE};

#[derive(Debug)]
pub enum Error {
    /// The config file cannot be read as one (missing, not a regular file, unreadable).
    ConfigFile { path: String, problem: String },
    /// The config is invalid: every problem found, in line order.
    Config {
        path: String,
        problems: Vec<ConfigError>,
    },
    /// Someone other than root could change the config (or a directory above it).
    Untrusted { why: String },
    /// The command line is wrong.
    Usage(String),
    /// Talking to the kernel failed (the socket, a dump, a timeout).
    Netlink { doing: String, error: NetlinkError },
    /// A system call or file operation failed.
    Os {
        doing: String,
        error: std::io::Error,
    },
    /// The ownership record cannot be trusted.
    Record { path: String, problem: String },
    /// The run directory (record and lock) cannot be trusted.
    RunDir { path: String, problem: String },
    /// The run's `--timeout` passed before the work was done.
    Timeout { left_undone: String },
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::ConfigFile { .. }
            | Error::Config { .. }
            | Error::Untrusted { .. }
            | Error::Usage(_) => EXIT_USAGE,
            _ => EXIT_FAILED,
        }
    }

    pub fn os(doing: impl Into<String>, error: impl Into<std::io::Error>) -> Error {
        Error::Os {
            doing: doing.into(),
            error: error.into(),
        }
    }

    pub fn netlink(doing: impl Into<String>, error: NetlinkError) -> Error {
        match error {
            NetlinkError::Timeout => Error::Timeout {
                left_undone: doing.into(),
            },
            error => Error::Netlink {
                doing: doing.into(),
                error,
            },
        }
    }

    /// The lines to print, each a complete message (a config error has one per problem).
    pub fn lines(&self) -> Vec<String> {
        match self {
            Error::Config { path, problems } => problems.iter().map(|p| p.render(path)).collect(),
            other => vec![other.to_string()],
        }
    }
}

/// Wrap netlink failures with what underlay was doing.
pub trait Doing<T> {
    fn doing(self, what: &str) -> Result<T, Error>;
}

impl<T> Doing<T> for Result<T, NetlinkError> {
    fn doing(self, what: &str) -> Result<T, Error> {
        self.map_err(|e| Error::netlink(what, e))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::ConfigFile { path, problem } => write!(f, "{path}: {problem}"),
            Error::Config { path, problems } => {
                let lines: Vec<String> = problems.iter().map(|p| p.render(path)).collect();
                f.write_str(&lines.join("\n"))
            }
            Error::Untrusted { why } => f.write_str(why),
            Error::Usage(message) => f.write_str(message),
            Error::Netlink { doing, error } => write!(f, "{doing}: {error}"),
            Error::Os { doing, error } => {
                let text = error.to_string();
                // Rust appends " (os error N)"; the number is noise for people.
                let text = text.split(" (os error").next().unwrap_or(&text);
                write!(f, "{doing}: {text}")
            }
            Error::Record { path, problem } => write!(
                f,
                "the ownership record {path} cannot be trusted: {problem}; nothing was changed"
            ),
            Error::RunDir { path, problem } => write!(
                f,
                "the run directory {path} cannot be trusted: {problem}; the run directory must \
                 be a directory only root can use (mode 0700): remove it, and underlay makes it \
                 anew; nothing was changed"
            ),
            Error::Timeout { left_undone } => write!(
                f,
                "the run's --timeout passed before underlay could finish {left_undone}; \
                 give it a larger --timeout, or find what is slowing the kernel down"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Netlink { error, .. } => Some(error),
            Error::Os { error, .. } => Some(error),
            _ => None,
        }
    }
}
