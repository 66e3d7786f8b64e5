//! One underlay run at a time: the boot script and a hotplug event may start together, and their
//! changes must not interleave.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};

use crate::error::Error;

pub struct RunLock(#[allow(dead_code)] Flock<File>);

/// Take the exclusive lock `dir/lock`, waiting until `deadline` at most.
pub fn acquire(dir: &Path, deadline: Instant) -> Result<RunLock, Error> {
    crate::record::ensure_run_dir(dir)?;
    let path = dir.join("lock");
    let started = Instant::now();
    let mut announced = false;
    // Never follow a symlink, never block on a FIFO someone put there, and lock only a regular
    // file: the lock must bound the run like everything else.
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&path)
        .map_err(|e| Error::os(format!("cannot open the lock {}", path.display()), e))?;
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return Err(Error::RunDir {
            path: dir.display().to_string(),
            problem: format!("{} is not a regular file", path.display()),
        });
    }
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => return Ok(RunLock(lock)),
            Err((f, nix::errno::Errno::EWOULDBLOCK)) => {
                file = f;
                if Instant::now() >= deadline {
                    return Err(Error::Timeout {
                        left_undone: format!(
                            "waiting for another underlay run, which held {} for {} s",
                            path.display(),
                            started.elapsed().as_secs()
                        ),
                    });
                }
                if !announced {
                    crate::report::out(&format!(
                        "waiting for another underlay run to finish ({} is held)",
                        path.display()
                    ));
                    announced = true;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Err((_, e)) => return Err(Error::os(format!("cannot lock {}", path.display()), e)),
        }
    }
}
