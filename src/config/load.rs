//! Reading the config file: opened once, checked through the descriptor that is read, so what
//! is checked is what is parsed.

use std::fs::File;
use std::io::Read as _;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use super::Config;
use crate::error::Error;
use crate::syntax::ini::MAX_CONFIG_BYTES;

/// Whether `apply` insists that only root can change the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// Refuse a config others could change (apply).
    Required,
    /// Warn, and go on (`apply --insecure-config`).
    Warn,
    /// Do not look (validate, check, show: they change nothing).
    Ignore,
}

/// Read and validate the config at `path` and its drop-ins: every `*.conf` in the directory
/// beside it named after it (`/etc/underlay.d/` for `/etc/underlay.conf`), in lexical order,
/// so packages and scripts can add links without editing the main file. Each file is checked
/// and read the same way.
pub fn load(path: &str, trust: Trust) -> Result<Config, Error> {
    let mut files = vec![(path.to_string(), read(path, trust)?)];
    for drop_in in drop_ins(path)? {
        let bytes = read(&drop_in, trust)?;
        files.push((drop_in, bytes));
    }
    let sources: Vec<super::Source> = files
        .iter()
        .map(|(p, bytes)| super::Source {
            path: Some(p),
            bytes,
        })
        .collect();
    let mut config = super::parse_files(&sources).map_err(|problems| Error::Config {
        path: path.to_string(),
        problems,
    })?;
    config.files = files.into_iter().map(|(p, _)| p).collect();
    Ok(config)
}

/// The drop-in directory of the config at `path`: `NAME.d` beside `NAME.conf`.
pub fn drop_in_dir(path: &str) -> std::path::PathBuf {
    let p = Path::new(path);
    let stem = p
        .file_stem()
        .map_or("underlay".into(), |s| s.to_string_lossy());
    p.with_file_name(format!("{stem}.d"))
}

/// The drop-in files of the config at `path`, in lexical (byte) order.
fn drop_ins(path: &str) -> Result<Vec<String>, Error> {
    let dir = drop_in_dir(path);
    let shown = dir.display().to_string();
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(Error::ConfigFile {
                path: shown,
                problem: format!(
                    "cannot read the drop-in directory: {}; make it a directory of *.conf files, or remove it",
                    os_text(&e)
                ),
            });
        }
    };
    let mut names: Vec<std::path::PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "conf")
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    names.sort_by(|a, b| {
        a.as_os_str()
            .as_encoded_bytes()
            .cmp(b.as_os_str().as_encoded_bytes())
    });
    Ok(names.into_iter().map(|p| p.display().to_string()).collect())
}

/// Open the file once: non-blocking (a FIFO must not hang the run), never as a controlling
/// terminal, and refuse anything but a regular file. Read at most one byte more than the limit,
/// so a huge file cannot exhaust memory.
fn read(path: &str, trust: Trust) -> Result<Vec<u8>, Error> {
    let fail = |problem: String| Error::ConfigFile {
        path: path.to_string(),
        problem,
    };
    let file = File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                fail("no such file; write a config there, or point -c at one".into())
            }
            _ => fail(format!("cannot open it: {}", os_text(&e))),
        })?;
    let meta = file
        .metadata()
        .map_err(|e| fail(format!("cannot stat it: {}", os_text(&e))))?;
    if !meta.file_type().is_file() {
        return Err(fail(format!(
            "is {}, not a regular file; point -c at the config file itself",
            file_type_words(&meta)
        )));
    }
    match trust {
        Trust::Ignore => {}
        Trust::Required => check_trusted(path, &file, &meta).map_err(|why| Error::Untrusted {
            why: format!(
                "{why}; anyone who can change it controls this machine's network \
                     (pass --insecure-config to apply it anyway)"
            ),
        })?,
        Trust::Warn => {
            if let Err(why) = check_trusted(path, &file, &meta) {
                crate::report::warning(&format!(
                    "{why}; anyone who can change it controls this machine's network \
                     (applying it anyway, as --insecure-config asks)"
                ));
            }
        }
    }
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(format!("cannot read it: {}", os_text(&e))))?;
    Ok(bytes)
}

fn os_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    text.split(" (os error").next().unwrap_or(&text).to_string()
}

fn file_type_words(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else {
        "not a regular file"
    }
}

/// Refuse a config anyone but root could have changed, as sshd's StrictModes does: underlay runs
/// as root at boot, so whoever can write the file, or replace it through a directory above it,
/// controls the machine's network. Like OpenSSH's `safe_path`, every directory from the file's
/// resolved location up to `/` is checked, through the descriptor that is read (no second open).
///
/// A directory others may write is accepted when it is root's and sticky (`/tmp`): there only
/// root can rename or delete root's file, so nobody else can replace it.
fn check_trusted(path: &str, file: &File, meta: &std::fs::Metadata) -> Result<(), String> {
    use std::os::fd::AsRawFd;
    let untrusted = |why: String| format!("{path}: {why}");
    if meta.uid() != 0 {
        return Err(untrusted(format!(
            "the file belongs to uid {}, not root; fix it with `chown root {path}`",
            meta.uid()
        )));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(untrusted(format!(
            "the file is writable by {} (mode {mode:04o}); fix it with `chmod go-w {path}`",
            writers(mode)
        )));
    }
    // Where the descriptor really points, with every symlink resolved.
    let resolved =
        std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).map_err(|e| {
            untrusted(format!(
                "its real location cannot be found ({})",
                os_text(&e)
            ))
        })?;
    let mut dir: Option<&Path> = resolved.parent();
    while let Some(d) = dir {
        let m = std::fs::metadata(d).map_err(|e| {
            untrusted(format!(
                "its directory {} cannot be checked ({})",
                d.display(),
                os_text(&e)
            ))
        })?;
        let dmode = m.mode() & 0o7777;
        let shown = d.display();
        if m.uid() != 0 {
            return Err(untrusted(format!(
                "its directory {shown} belongs to uid {}, not root, so its owner can replace the file; \
                 move the config to a directory only root controls, such as /etc",
                m.uid()
            )));
        }
        let sticky = dmode & 0o1000 != 0;
        if dmode & 0o022 != 0 && !sticky {
            return Err(untrusted(format!(
                "its directory {shown} is writable by {} (mode {dmode:04o}), so they can replace the file; \
                 move the config to a directory only root can write, such as /etc",
                writers(dmode)
            )));
        }
        dir = d.parent();
    }
    Ok(())
}

fn writers(mode: u32) -> &'static str {
    match (mode & 0o020 != 0, mode & 0o002 != 0) {
        (true, true) => "its group and others",
        (true, false) => "its group",
        _ => "everyone",
    }
}
