//! Named network namespaces, the way `ip netns` keeps them: a file under /run/netns that the
//! namespace is bind-mounted onto. underlay stays single-threaded: to act inside a namespace it
//! enters it with setns, opens a netlink socket there, and comes back.

use std::fs::{self, File};
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, setns, unshare};

use crate::error::Error;
use crate::ifname::IfName;

/// Where named namespaces live: iproute2's `NETNS_RUN_DIR`. On systemd machines /var/run is a
/// symlink to /run; on OpenWrt it is on the /tmp tmpfs, and /run may not exist.
pub const RUN_DIR: &str = "/var/run/netns";

/// An open handle on a named namespace.
#[derive(Debug)]
pub struct Namespace {
    pub name: String,
    file: File,
    pub inode: u64,
}

impl Namespace {
    pub fn raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }
}

fn path(name: &str) -> PathBuf {
    Path::new(RUN_DIR).join(name)
}

/// Open `/run/netns/NAME` if it is a mounted namespace; `None` if there is no such namespace.
pub fn open(name: &str) -> Result<Option<Namespace>, Error> {
    let p = path(name);
    let file = match File::open(&p) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::os(format!("cannot open {}", p.display()), e)),
    };
    let meta = file
        .metadata()
        .map_err(|e| Error::os(format!("cannot stat {}", p.display()), e))?;
    // A placeholder nothing is mounted on (left by a crashed `ip netns add`) lives on the same
    // file system as /run/netns; a namespace lives on nsfs.
    if fs::metadata(RUN_DIR).is_ok_and(|dir| dir.dev() == meta.dev()) {
        return Ok(None);
    }
    Ok(Some(Namespace {
        name: name.to_string(),
        inode: meta.ino(),
        file,
    }))
}

/// The inode of the namespace this process is in.
pub fn current_inode() -> Option<u64> {
    fs::metadata("/proc/self/ns/net").ok().map(|m| m.ino())
}

/// Run `f` inside `ns`, then return to the namespace we came from.
pub fn enter<T>(ns: &Namespace, f: impl FnOnce() -> T) -> Result<T, Error> {
    let home = File::open("/proc/self/ns/net")
        .map_err(|e| Error::os("cannot open our own network namespace", e))?;
    // CLONE_NEWNET, not 0: systemd's RestrictNamespaces=net refuses setns without a type.
    setns(ns.file.as_fd(), CloneFlags::CLONE_NEWNET)
        .map_err(|e| Error::os(format!("cannot enter netns {}", ns.name), e))?;
    let result = f();
    setns(home.as_fd(), CloneFlags::CLONE_NEWNET).map_err(|e| {
        Error::os(
            format!("cannot return from netns {} to the host namespace", ns.name),
            e,
        )
    })?;
    Ok(result)
}

/// Create a named namespace as `ip netns add` does: make /run/netns a shared mount point, create
/// the file, and bind-mount a fresh namespace onto it.
pub fn create(name: &str) -> Result<Namespace, Error> {
    let dir = Path::new(RUN_DIR);
    fs::create_dir_all(dir).map_err(|e| Error::os(format!("cannot create {RUN_DIR}"), e))?;
    // Shared propagation lets an unmount in one mount namespace reach the others, so a deleted
    // namespace is really freed. If /run/netns is not a mount point yet, make it one first.
    let shared = MsFlags::MS_SHARED | MsFlags::MS_REC;
    if mount(None::<&str>, dir, Some("none"), shared, None::<&str>).is_err() {
        mount(
            Some(dir),
            dir,
            Some("none"),
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(|e| Error::os(format!("cannot make {RUN_DIR} a mount point"), e))?;
        mount(None::<&str>, dir, Some("none"), shared, None::<&str>)
            .map_err(|e| Error::os(format!("cannot make {RUN_DIR} shared"), e))?;
    }
    let p = path(name);
    File::options()
        .write(true)
        .create_new(true)
        .open(&p)
        .map_err(|e| Error::os(format!("cannot create {}", p.display()), e))?;
    let home = File::open("/proc/self/ns/net")
        .map_err(|e| Error::os("cannot open our own network namespace", e))?;
    let made = unshare(CloneFlags::CLONE_NEWNET)
        .map_err(|e| Error::os("cannot create a network namespace", e))
        .and_then(|_| {
            mount(
                Some("/proc/self/ns/net"),
                &p,
                Some("none"),
                MsFlags::MS_BIND,
                None::<&str>,
            )
            .map_err(|e| {
                Error::os(
                    format!("cannot bind the new namespace to {}", p.display()),
                    e,
                )
            })
        });
    let back = setns(home.as_fd(), CloneFlags::CLONE_NEWNET);
    if let Err(e) = made {
        let _ = fs::remove_file(&p);
        return Err(e);
    }
    back.map_err(|e| Error::os("cannot return to the host namespace", e))?;
    open(name)?.ok_or_else(|| Error::Os {
        doing: format!("{} vanished right after it was made", p.display()),
        error: std::io::ErrorKind::NotFound.into(),
    })
}

/// Remove a named namespace as `ip netns delete` does. The namespace itself goes away once
/// nothing holds it any more.
pub fn remove(name: &str) -> Result<(), Error> {
    let p = path(name);
    umount2(&p, MntFlags::MNT_DETACH)
        .map_err(|e| Error::os(format!("cannot unmount {}", p.display()), e))?;
    fs::remove_file(&p).map_err(|e| Error::os(format!("cannot remove {}", p.display()), e))
}

/// Why the namespace with this inode is in use by a process (other than this one), if it is.
/// `links` are the names of the links in it now.
///
/// Reading another process's `/proc/PID/ns/net` needs ptrace access to it (EACCES otherwise:
/// underlay lacks CAP_SYS_PTRACE over it). Such a process may live in the namespace, so it
/// counts as a user, unless its `/proc/PID/net/dev` (readable without ptrace access) lists an
/// interface the namespace does not have: then it lives somewhere else. A namespace is only
/// deleted when nobody can be in it.
pub fn in_use(inode: u64, links: &[IfName]) -> Option<String> {
    let me = std::process::id();
    let wanted = format!("net:[{inode}]");
    let entries = match fs::read_dir("/proc") {
        Ok(entries) => entries,
        Err(e) => {
            return Some(format!(
                "/proc cannot be read ({e}), so its users are unknown"
            ));
        }
    };
    let mut unreadable: Option<u32> = None;
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        match fs::read_link(entry.path().join("ns/net")) {
            Ok(l) if l.as_os_str().as_encoded_bytes() == wanted.as_bytes() => {
                return Some(format!("process {pid} still uses it"));
            }
            Ok(_) => {}
            // Gone meanwhile, or a zombie (which holds no namespace).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {}
            Err(_) => {
                if !lives_elsewhere(&entry.path(), links) {
                    unreadable.get_or_insert(pid);
                }
            }
        }
    }
    unreadable.map(|pid| {
        format!(
            "the namespace of process {pid} cannot be read (underlay lacks CAP_SYS_PTRACE over it), \
             so it may be in use"
        )
    })
}

/// Whether the process at `proc_dir` is certainly in another namespace than one holding exactly
/// `links`: its `net/dev` lists an interface that namespace lacks.
fn lives_elsewhere(proc_dir: &Path, links: &[IfName]) -> bool {
    let Ok(text) = fs::read(proc_dir.join("net/dev")) else {
        return false;
    };
    // After two header lines, each line is `NAME: counters...`.
    text.split(|&b| b == b'\n')
        .skip(2)
        .filter_map(|line| {
            let colon = line.iter().position(|&b| b == b':')?;
            Some(line[..colon].trim_ascii())
        })
        .any(|name| !name.is_empty() && !links.iter().any(|l| l.as_bytes() == name))
}
