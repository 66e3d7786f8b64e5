//! underlay's engine, as a library, so that the tests and fuzz targets reach every part of it.
//! `main.rs` parses the command line and maps results to exit codes; everything else is here.
//!
//! Data flows one way: config text (`syntax`, `config`, `kinds`) → validated model → one live
//! snapshot (`observe`, `live`) → plan (`plan`) → netlink (`execute`, `netlink`) → record
//! (`record`) → report (`report`). `run` strings the stages together for each command; `check`,
//! `apply --dry-run` and `down` are the same pipeline.

pub mod config;
pub mod error;
pub mod execute;
pub mod ifname;
pub mod kinds;
pub mod live;
pub mod lock;
pub mod mac;
pub mod netlink;
pub mod netns;
pub mod observe;
pub mod plan;
pub mod preflight;
pub mod record;
pub mod report;
pub mod run;
pub mod sockets;
pub mod syntax;

pub use error::Error;

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

/// Random bytes from the kernel (for `mac = random` and batch-delete group numbers).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    use std::io::Read as _;
    let mut bytes = [0u8; N];
    let _ = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    bytes
}
