//! Named network namespaces, the way `ip netns` keeps them: a file under /run/netns that the
//! namespace is bind-mounted onto. underlay stays single-threaded: to act inside a namespace it
//! enters it with setns, opens a netlink socket there, and comes back.

use std::fs::{self, File};
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, setns, unshare};

pub const RUN_DIR: &str = "/run/netns";

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
pub fn open(name: &str) -> Result<Option<Namespace>, String> {
    let p = path(name);
    let file = match File::open(&p) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot open {}: {e}", p.display())),
    };
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot stat {}: {e}", p.display()))?;
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
pub fn enter<T>(ns: &Namespace, f: impl FnOnce() -> T) -> Result<T, String> {
    let home = File::open("/proc/self/ns/net")
        .map_err(|e| format!("cannot open our own network namespace: {e}"))?;
    // CLONE_NEWNET, not 0: systemd's RestrictNamespaces=net refuses setns without a type.
    setns(ns.file.as_fd(), CloneFlags::CLONE_NEWNET)
        .map_err(|e| format!("cannot enter netns {}: {e}", ns.name))?;
    let result = f();
    setns(home.as_fd(), CloneFlags::CLONE_NEWNET).map_err(|e| {
        format!(
            "cannot return from netns {} to the host namespace: {e}",
            ns.name
        )
    })?;
    Ok(result)
}

/// Create a named namespace as `ip netns add` does: make /run/netns a shared mount point, create
/// the file, and bind-mount a fresh namespace onto it.
pub fn create(name: &str) -> Result<Namespace, String> {
    let dir = Path::new(RUN_DIR);
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {RUN_DIR}: {e}"))?;
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
        .map_err(|e| format!("cannot make {RUN_DIR} a mount point: {e}"))?;
        mount(None::<&str>, dir, Some("none"), shared, None::<&str>)
            .map_err(|e| format!("cannot make {RUN_DIR} shared: {e}"))?;
    }
    let p = path(name);
    File::options()
        .write(true)
        .create_new(true)
        .open(&p)
        .map_err(|e| format!("cannot create {}: {e}", p.display()))?;
    let home = File::open("/proc/self/ns/net")
        .map_err(|e| format!("cannot open our own network namespace: {e}"))?;
    let made = unshare(CloneFlags::CLONE_NEWNET)
        .map_err(|e| format!("cannot create a network namespace: {e}"))
        .and_then(|_| {
            mount(
                Some("/proc/self/ns/net"),
                &p,
                Some("none"),
                MsFlags::MS_BIND,
                None::<&str>,
            )
            .map_err(|e| format!("cannot bind the new namespace to {}: {e}", p.display()))
        });
    let back = setns(home.as_fd(), CloneFlags::CLONE_NEWNET);
    if let Err(e) = made {
        let _ = fs::remove_file(&p);
        return Err(e);
    }
    back.map_err(|e| format!("cannot return to the host namespace: {e}"))?;
    open(name)?.ok_or_else(|| format!("{} vanished right after it was made", p.display()))
}

/// Remove a named namespace as `ip netns delete` does. The namespace itself goes away once
/// nothing holds it any more.
pub fn remove(name: &str) -> Result<(), String> {
    let p = path(name);
    umount2(&p, MntFlags::MNT_DETACH)
        .map_err(|e| format!("cannot unmount {}: {e}", p.display()))?;
    fs::remove_file(&p).map_err(|e| format!("cannot remove {}: {e}", p.display()))
}

/// A process (other than this one) living in the namespace with this inode, if any.
pub fn user_process(inode: u64) -> Option<u32> {
    let me = std::process::id();
    let wanted = format!("net:[{inode}]");
    for entry in fs::read_dir("/proc").ok()?.flatten() {
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
        if fs::read_link(entry.path().join("ns/net")).is_ok_and(|l| l.to_string_lossy() == wanted) {
            return Some(pid);
        }
    }
    None
}
