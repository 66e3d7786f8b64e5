//! underlay's engine, as a library so that the fuzz targets and tests can reach the parser and
//! the netlink decoders. The command line lives in `main.rs`.

pub mod apply;
pub mod config;
pub mod kinds;
pub mod live;
pub mod lock;
pub mod mac;
pub mod netlink;
pub mod netns;
pub mod plan;
pub mod record;

static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// Note when the program started, for the "first netlink message" figure of `-v`.
pub fn mark_start() {
    STARTED.get_or_init(std::time::Instant::now);
}

/// Time since `mark_start`, if it was called.
pub fn since_start() -> Option<std::time::Duration> {
    STARTED.get().map(|t| t.elapsed())
}

/// Exit codes: success or in sync; a runtime failure or drift; an invalid config or usage.
pub const EXIT_OK: u8 = 0;
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
