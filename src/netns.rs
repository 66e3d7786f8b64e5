//! Network namespaces. Named ones are kept the way `ip netns` keeps them: a file under
//! /var/run/netns that the namespace is bind-mounted onto. underlay stays single-threaded: to act
//! inside a namespace it enters it with setns, opens a netlink socket there, and comes back.
//!
//! Before it deletes one of its links, underlay also looks into every other namespace on the
//! machine (`scan`): what sits on its links may live in a container's unnamed namespace.

use std::collections::HashSet;
use std::fs::{self, File};
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, setns, unshare};
use nix::sys::statfs::{NSFS_MAGIC, fstatfs};

use crate::error::Error;

/// Where named namespaces live: iproute2's `NETNS_RUN_DIR`. On systemd machines /var/run is a
/// symlink to /run; on OpenWrt it is on the /tmp tmpfs, and /run may not exist.
pub const RUN_DIR: &str = "/var/run/netns";

/// Where Docker keeps its containers' namespaces (bind mounts, like /var/run/netns).
pub const DOCKER_DIR: &str = "/var/run/docker/netns";

/// Who a namespace is. The kernel reuses nsfs inode numbers, so an inode alone is not an
/// identity: a namespace made after underlay's was deleted can get the same one. The cookie
/// (`SO_NETNS_COOKIE`, Linux 5.14) is never reused. Before 5.14 the inode is paired with the
/// time its nsfs inode was made (nanoseconds): a namespace that reuses the number was made
/// later. Both must then match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    pub inode: u64,
    /// The nsfs inode's ctime, in nanoseconds since the epoch.
    pub ctime: i128,
    pub cookie: Option<u64>,
}

impl Identity {
    fn of(meta: &fs::Metadata) -> Identity {
        Identity {
            inode: meta.ino(),
            ctime: i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
            cookie: None,
        }
    }

    /// Whether `other` is certainly the same namespace.
    pub fn same_as(&self, other: &Identity) -> bool {
        match (self.cookie, other.cookie) {
            (Some(a), Some(b)) => a == b,
            _ => self.inode == other.inode && self.ctime == other.ctime,
        }
    }
}

/// An open handle on a network namespace.
#[derive(Debug)]
pub struct Namespace {
    /// Its name under /var/run/netns, or who holds it (`process 539 (sleep)`).
    pub name: String,
    file: File,
    pub identity: Identity,
}

impl Namespace {
    pub fn raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }

    pub fn inode(&self) -> u64 {
        self.identity.inode
    }
}

fn path(name: &str) -> PathBuf {
    Path::new(RUN_DIR).join(name)
}

/// What is at a path that should hold a namespace.
#[derive(Debug)]
pub enum Found {
    /// Nothing there.
    Absent,
    /// Something that is not a namespace: a placeholder nothing is mounted on (left by a
    /// crashed `ip netns add`), or anything else, described.
    NotNamespace(String),
    Namespace(Namespace),
}

/// Open `path` as a namespace: non-blocking (a FIFO there must not hang the run), without
/// following a symlink, and only if it is one (nsfs).
pub fn open_path(path: &Path, name: &str) -> Result<Found, Error> {
    open_with(path, name, libc::O_NOFOLLOW)
}

/// `/proc/PID/ns/net` (a link the kernel resolves itself) as a namespace.
fn open_proc(path: &Path, name: &str) -> Result<Found, Error> {
    open_with(path, name, 0)
}

fn open_with(path: &Path, name: &str, follow: libc::c_int) -> Result<Found, Error> {
    let file = match File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | follow | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Found::Absent),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Ok(Found::NotNamespace("a symlink".into()));
        }
        Err(e) => return Err(Error::os(format!("cannot open {}", path.display()), e)),
    };
    let meta = file
        .metadata()
        .map_err(|e| Error::os(format!("cannot stat {}", path.display()), e))?;
    let is_nsfs = fstatfs(&file).is_ok_and(|fs| fs.filesystem_type() == NSFS_MAGIC);
    if !is_nsfs {
        let what = if meta.file_type().is_file() && meta.len() == 0 {
            "an empty file nothing is mounted on".to_string()
        } else if meta.file_type().is_file() {
            "a regular file".to_string()
        } else {
            "not a namespace".to_string()
        };
        return Ok(Found::NotNamespace(what));
    }
    Ok(Found::Namespace(Namespace {
        name: name.to_string(),
        identity: Identity::of(&meta),
        file,
    }))
}

/// Open `/var/run/netns/NAME` if it is a namespace; `None` if there is no such namespace (a
/// placeholder or anything else is reported once, and counts as no namespace).
pub fn open(name: &str) -> Result<Option<Namespace>, Error> {
    match open_path(&path(name), name)? {
        Found::Absent => Ok(None),
        Found::NotNamespace(what) => {
            log::debug!("{}: {what}, not a namespace", path(name).display());
            Ok(None)
        }
        Found::Namespace(ns) => Ok(Some(ns)),
    }
}

/// The namespace this process is in.
pub fn current() -> Result<Namespace, Error> {
    match open_proc(Path::new("/proc/self/ns/net"), "the host")? {
        Found::Namespace(ns) => Ok(ns),
        _ => Err(Error::Os {
            doing: "cannot open our own network namespace".into(),
            error: std::io::ErrorKind::NotFound.into(),
        }),
    }
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

/// `SO_NETNS_COOKIE` of a socket: the id of its namespace (Linux 5.14), if the kernel has it.
pub fn socket_cookie(fd: RawFd) -> Option<u64> {
    const SO_NETNS_COOKIE: libc::c_int = 71;
    let mut cookie: u64 = 0;
    let mut len = std::mem::size_of::<u64>() as libc::socklen_t;
    // SAFETY: the pointer and length describe `cookie`, which outlives the call.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            SO_NETNS_COOKIE,
            (&raw mut cookie).cast(),
            &mut len,
        )
    };
    (rc == 0 && len as usize == std::mem::size_of::<u64>()).then_some(cookie)
}

/// The identity of the namespace this thread is in now.
fn identity_here() -> Result<Identity, Error> {
    let meta = fs::metadata("/proc/thread-self/ns/net")
        .map_err(|e| Error::os("cannot look at the new network namespace", e))?;
    let mut identity = Identity::of(&meta);
    // Any socket carries its namespace's cookie; a datagram unix socket is the cheapest.
    if let Ok(socket) = std::os::unix::net::UnixDatagram::unbound() {
        identity.cookie = socket_cookie(socket.as_raw_fd());
    }
    Ok(identity)
}

/// Whether `/var/run/netns/NAME` is a placeholder nothing is mounted on (an empty file, as `ip
/// netns add` and underlay make before the mount).
pub fn is_placeholder(name: &str) -> bool {
    matches!(
        open_path(&path(name), name),
        Ok(Found::NotNamespace(what)) if what.starts_with("an empty file")
    )
}

/// Remove a placeholder an interrupted run left (it must still be one).
pub fn remove_placeholder(name: &str) -> Result<(), Error> {
    if !is_placeholder(name) {
        return Ok(());
    }
    fs::remove_file(path(name))
        .map_err(|e| Error::os(format!("cannot remove {}", path(name).display()), e))
}

/// Create a named namespace as `ip netns add` does: make /var/run/netns a shared mount point,
/// create the placeholder file, make a fresh namespace and bind-mount it onto the file.
/// `made` is told the new namespace's identity before it is mounted, so the record can name it
/// before anyone else can see it (a run killed after the mount leaves a namespace the record
/// already names).
pub fn create(
    name: &str,
    made: impl FnOnce(Identity) -> Result<(), Error>,
) -> Result<Namespace, Error> {
    let dir = Path::new(RUN_DIR);
    fs::create_dir_all(dir).map_err(|e| Error::os(format!("cannot create {RUN_DIR}"), e))?;
    // Shared propagation lets an unmount in one mount namespace reach the others, so a deleted
    // namespace is really freed. If /var/run/netns is not a mount point yet, make it one first.
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
        .mode(0o444)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&p)
        .map_err(|e| Error::os(format!("cannot create {}", p.display()), e))?;
    let home = File::open("/proc/self/ns/net")
        .map_err(|e| Error::os("cannot open our own network namespace", e))?;
    let result = unshare(CloneFlags::CLONE_NEWNET)
        .map_err(|e| Error::os("cannot create a network namespace", e))
        .and_then(|()| identity_here())
        .and_then(made)
        .and_then(|()| {
            mount(
                Some("/proc/thread-self/ns/net"),
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
    if let Err(e) = result {
        let _ = fs::remove_file(&p);
        back.map_err(|e| Error::os("cannot return to the host namespace", e))?;
        return Err(e);
    }
    back.map_err(|e| Error::os("cannot return to the host namespace", e))?;
    open(name)?.ok_or_else(|| Error::Os {
        doing: format!("{} vanished right after it was made", p.display()),
        error: std::io::ErrorKind::NotFound.into(),
    })
}

/// Whether a namespace underlay creates here will be seen by the rest of the machine. It
/// creates one by bind-mounting it onto a file under /var/run/netns; in a mount namespace of
/// its own whose mounts do not propagate back (`ip netns exec`, a service with
/// `PrivateMounts=`, `ProtectSystem=` and friends, which make every mount a slave), that mount
/// dies with underlay and the namespace with it. `Err` says why it would not be seen.
pub fn mounts_reach_the_host() -> Result<(), String> {
    let run_dir = fs::canonicalize(RUN_DIR)
        .or_else(|_| fs::canonicalize("/var/run").map(|p| p.join("netns")))
        .unwrap_or_else(|_| PathBuf::from(RUN_DIR));
    let Ok(mountinfo) = fs::read_to_string("/proc/self/mountinfo") else {
        return Ok(());
    };
    // `ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [TAGS...] - FSTYPE SOURCE SUPER`: the mount
    // that holds the run directory is the one with the longest mount point above it.
    let mut best: Option<(usize, Vec<&str>)> = None;
    for line in mountinfo.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(point) = fields.get(4) else { continue };
        // mountinfo writes a space in a path as the four characters `\040`.
        let point = point.replace(r"\040", " ");
        if !run_dir.starts_with(&point) {
            continue;
        }
        let tags: Vec<&str> = fields
            .iter()
            .skip(6)
            .take_while(|f| **f != "-")
            .copied()
            .collect();
        if best.as_ref().is_none_or(|(len, _)| point.len() >= *len) {
            best = Some((point.len(), tags));
        }
    }
    let Some((_, tags)) = best else {
        return Ok(());
    };
    let shared = tags.iter().any(|t| t.starts_with("shared:"));
    let slave = tags.iter().any(|t| t.starts_with("master:"));
    if shared {
        return Ok(());
    }
    if slave {
        return Err(format!(
            "underlay runs in a mount namespace of its own whose mounts do not reach the rest of \
             the machine ({} is a slave mount here), so a namespace it made would vanish when it \
             exits; run it in the host's mount namespace (nsenter --net=/var/run/netns/NAME \
             instead of ip netns exec), or make the namespace first with `ip netns add`",
            run_dir.display()
        ));
    }
    // Private: fine in the machine's own mount namespace, lost anywhere else.
    match (
        fs::read_link("/proc/self/ns/mnt"),
        fs::read_link("/proc/1/ns/mnt"),
    ) {
        (Ok(mine), Ok(init)) if mine != init => Err(format!(
            "underlay runs in a mount namespace of its own ({} is a private mount, not the \
             init process's), so a namespace it made would vanish when it exits; run it in the \
             host's mount namespace, or make the namespace first with `ip netns add`",
            run_dir.display()
        )),
        _ => Ok(()),
    }
}

/// Remove a named namespace as `ip netns delete` does. The namespace itself goes away once
/// nothing holds it any more.
pub fn remove(name: &str) -> Result<(), Error> {
    let p = path(name);
    umount2(&p, MntFlags::MNT_DETACH)
        .map_err(|e| Error::os(format!("cannot unmount {}", p.display()), e))?;
    fs::remove_file(&p).map_err(|e| Error::os(format!("cannot remove {}", p.display()), e))
}

/// The processes on the machine, each with its namespace: its inode when `/proc/PID/ns/net` can
/// be read, otherwise what its `/proc/PID/net/netlink` says.
struct Process {
    pid: u32,
    /// `Some(inode)` when `/proc/PID/ns/net` could be read.
    inode: Option<u64>,
}

fn processes() -> Result<Vec<Process>, Error> {
    let me = std::process::id();
    let mut out = Vec::new();
    let entries = fs::read_dir("/proc").map_err(|e| Error::os("cannot read /proc", e))?;
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
            Ok(link) => {
                let text = link.to_string_lossy();
                let inode = text
                    .strip_prefix("net:[")
                    .and_then(|t| t.strip_suffix(']'))
                    .and_then(|t| t.parse().ok());
                if inode.is_some() {
                    out.push(Process { pid, inode });
                }
            }
            // Gone meanwhile, or a zombie (which holds no namespace).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {}
            // EACCES: underlay lacks ptrace access to it (CAP_SYS_PTRACE).
            Err(_) => out.push(Process { pid, inode: None }),
        }
    }
    Ok(out)
}

/// The inodes of the bound netlink sockets in the namespace process `pid` lives in.
fn netlink_inodes(pid: u32) -> Option<HashSet<u64>> {
    let text = fs::read_to_string(format!("/proc/{pid}/net/netlink")).ok()?;
    // `sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode`: the inode is the last column.
    Some(
        text.lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().last()?.parse().ok())
            .collect(),
    )
}

fn comm(pid: u32) -> String {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|c| c.trim().to_string())
        .unwrap_or_default()
}

/// Why the namespace with this inode is in use by a process (other than this one), if it is.
/// `socket_inode` is the inode of a netlink socket underlay holds open inside it.
///
/// Reading another process's `/proc/PID/ns/net` needs ptrace access to it (EACCES otherwise:
/// underlay lacks CAP_SYS_PTRACE over it). Such a process may still be placed: its
/// `/proc/PID/net/netlink`, readable without that access, lists every bound netlink socket of
/// its namespace, so it lives in the namespace if and only if underlay's socket there is listed.
/// If that cannot be read either, it counts as a user: a namespace is only deleted when nobody
/// can be in it.
pub fn in_use(inode: u64, socket_inode: Option<u64>) -> Option<String> {
    let procs = match processes() {
        Ok(p) => p,
        Err(e) => return Some(format!("its users are unknown: {e}")),
    };
    for p in procs {
        let inside = match p.inode {
            Some(i) => i == inode,
            None => match (socket_inode, netlink_inodes(p.pid)) {
                (Some(socket), Some(sockets)) => sockets.contains(&socket),
                _ => {
                    return Some(format!(
                        "the namespace of process {} ({}) cannot be read (underlay lacks CAP_SYS_PTRACE over it), so it may be in use",
                        p.pid,
                        comm(p.pid)
                    ));
                }
            },
        };
        if inside {
            return Some(format!("process {} ({}) still uses it", p.pid, comm(p.pid)));
        }
    }
    None
}

/// Every network namespace on the machine besides `known` (by inode): those processes live in
/// (`/proc/*/ns/net`), the named ones (/var/run/netns) and Docker's (/var/run/docker/netns).
/// `sockets` are the inodes of underlay's netlink sockets in the namespaces it knows.
pub struct Scan {
    /// Each namespace found, open, named by who holds it.
    pub found: Vec<Namespace>,
    /// Namespaces that could not be looked into, described.
    pub unseen: Vec<String>,
    /// Processes whose namespace cannot be opened (no ptrace access) and is none underlay
    /// has a socket in: their links can still be read by namespace id.
    pub unplaced: Vec<(u32, String)>,
}

pub fn scan(known: &[u64], sockets: &[u64]) -> Result<Scan, Error> {
    let mut seen: HashSet<u64> = known.iter().copied().collect();
    let mut scan = Scan {
        found: Vec::new(),
        unseen: Vec::new(),
        unplaced: Vec::new(),
    };
    for p in processes()? {
        match p.inode {
            Some(inode) if seen.contains(&inode) => {}
            Some(_) => {
                let label = format!("process {} ({})", p.pid, comm(p.pid));
                if let Ok(Found::Namespace(ns)) =
                    open_proc(Path::new(&format!("/proc/{}/ns/net", p.pid)), &label)
                    && seen.insert(ns.inode())
                {
                    scan.found.push(ns);
                }
            }
            None => {
                // Placed by underlay's own sockets, or not at all.
                let placed = netlink_inodes(p.pid)
                    .is_some_and(|inodes| sockets.iter().any(|s| inodes.contains(s)));
                if !placed {
                    scan.unplaced
                        .push((p.pid, format!("process {} ({})", p.pid, comm(p.pid))));
                }
            }
        }
    }
    for (dir, owner) in [(RUN_DIR, "netns"), (DOCKER_DIR, "Docker's netns")] {
        let Ok(entries) = fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let label = format!("{owner} {name}");
            match open_path(&entry.path(), &label) {
                Ok(Found::Namespace(ns)) => {
                    if seen.insert(ns.inode()) {
                        scan.found.push(ns);
                    }
                }
                Ok(_) => {}
                Err(e) => scan.unseen.push(format!("{label} ({e})")),
            }
        }
    }
    Ok(scan)
}
