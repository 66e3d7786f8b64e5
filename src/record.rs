//! The ownership record: which links, addresses and network namespaces underlay created, so
//! `down` (and a later `apply`) deletes those and nothing else.
//!
//! It lives on tmpfs (`/var/run/underlay/`), so it lasts exactly as long as the links. Each entry
//! names a link by namespace, ifindex, name, kind and parent ifindex; a link only counts as
//! underlay's when all of them match the live link. underlay picks the ifindex of every link it
//! creates before creating it and writes the entry first, so a run killed between the kernel's
//! reply and the record write still leaves an entry that matches the new link, and an entry for
//! a link that was never made matches nothing and is dropped.
//!
//! The record decides what root deletes, so nothing in it is trusted blindly: the directory
//! must be root's and closed to others, the file is opened without following symlinks, written
//! through a new file that nobody else can have prepared, and every field is checked. A record
//! that fails any check deletes nothing: the run stops and says so.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{Read as _, Write as _};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ipnet::IpNet;

use crate::error::Error;
use crate::live::LiveLink;
use crate::netns::Identity;
use crate::syntax::values;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owned {
    pub name: String,
    pub index: i32,
    pub kind: String,
    /// The parent's ifindex (in the host's namespace), or 0 for links without one.
    pub parent: i32,
    /// The named namespace the link lives in; `None` for the namespace underlay runs in.
    pub netns: Option<String>,
}

/// Where underlay is with a named namespace the record refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NsState {
    /// It is about to be created: the placeholder file may exist, nothing is mounted on it.
    Intent,
    /// It was created (its identity is known) and is about to be mounted on the placeholder.
    Pending,
    /// underlay created it (as `ip netns add` does): `down` deletes it when nothing else uses it.
    Made,
    /// Someone else's, and underlay made links in it.
    Used,
}

impl NsState {
    fn word(self) -> &'static str {
        match self {
            NsState::Intent => "intent",
            NsState::Pending => "pending",
            NsState::Made => "made",
            NsState::Used => "used",
        }
    }
}

/// A named namespace the record refers to. Its identity says it is still the same namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedNamespace {
    pub name: String,
    /// Unknown only while underlay is about to create it.
    pub identity: Option<Identity>,
    pub state: NsState,
}

impl RecordedNamespace {
    /// Whether underlay created it.
    pub fn created(&self) -> bool {
        self.state == NsState::Made
    }

    /// Whether the live namespace with `identity` is this one.
    pub fn is(&self, identity: Option<&Identity>) -> bool {
        matches!((&self.identity, identity), (Some(a), Some(b)) if a.same_as(b))
    }
}

/// An address underlay added, for kernels that do not keep `IFA_PROTO` (before 5.18).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct OwnedAddress {
    pub netns: Option<String>,
    pub index: i32,
    pub net: IpNet,
}

impl Owned {
    /// Whether `live` (seen in the namespace `netns`) is the very link this entry recorded,
    /// under the name it was given.
    pub fn matches(&self, netns: Option<&str>, live: &LiveLink) -> bool {
        self.same_link(netns, live) && live.name.is(&self.name)
    }

    /// Whether `live` is the link this entry recorded, whatever it is called now: a link is
    /// known by its namespace, ifindex, kind and parent, so one someone renamed stays
    /// underlay's.
    pub fn same_link(&self, netns: Option<&str>, live: &LiveLink) -> bool {
        // A link created into a namespace reports its host-side parent as "elsewhere".
        let parent = if self.netns.is_some() {
            live.parent_elsewhere.map(|e| e.index)
        } else {
            live.parent
        };
        self.netns.as_deref() == netns
            && live.index == self.index
            && live.kind.name() == Some(self.kind.as_str())
            && parent.unwrap_or(0) == self.parent
    }

    fn to_line(&self) -> String {
        let mut line = format!(
            "link name={} index={} kind={} parent={}",
            self.name, self.index, self.kind, self.parent
        );
        if let Some(ns) = &self.netns {
            line.push_str(&format!(" netns={ns}"));
        }
        line
    }
}

/// Where a recorded link is: its namespace (`None` for the one underlay runs in) and ifindex.
type Key = (Option<String>, i32);

/// The record of one network namespace, in `dir`.
#[derive(Debug, Clone)]
pub struct Record {
    path: PathBuf,
    /// By namespace and ifindex, so ownership is one lookup per link.
    links: BTreeMap<Key, Owned>,
    pub namespaces: Vec<RecordedNamespace>,
    pub addresses: BTreeSet<OwnedAddress>,
}

/// Where records and the lock live: `/var/run/underlay`, or `$UNDERLAY_RUN_DIR` (for tests, and
/// for running several independent instances). /var/run, as iproute2 uses for its namespaces,
/// is volatile everywhere underlay runs: a symlink to the /run tmpfs on systemd machines, and on
/// the /tmp tmpfs on OpenWrt, where /run may not exist (base-files links /var to /tmp).
pub fn run_dir() -> PathBuf {
    std::env::var_os("UNDERLAY_RUN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/run/underlay"))
}

/// Make the run directory if it is missing (0700, whatever the umask), and refuse one that is
/// not a directory only its owner, root, can use: whoever can write there decides what root
/// deletes.
pub fn ensure_run_dir(dir: &Path) -> Result<(), Error> {
    let refuse = |problem: String| Error::RunDir {
        path: dir.display().to_string(),
        problem,
    };
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
                .map_err(|e| Error::os(format!("cannot set the mode of {}", dir.display()), e))?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // The directory above is missing (/var/run on a system booting): make it too.
            if let Some(parent) = dir.parent() {
                fs::create_dir_all(parent)
                    .map_err(|e| Error::os(format!("cannot create {}", parent.display()), e))?;
            }
            return ensure_run_dir(dir);
        }
        Err(e) => return Err(Error::os(format!("cannot create {}", dir.display()), e)),
    }
    let meta = fs::symlink_metadata(dir)
        .map_err(|e| Error::os(format!("cannot check {}", dir.display()), e))?;
    if meta.file_type().is_symlink() {
        return Err(refuse("it is a symlink".into()));
    }
    if !meta.is_dir() {
        return Err(refuse("it is not a directory".into()));
    }
    let me = nix::unistd::geteuid().as_raw();
    if meta.uid() != me {
        return Err(refuse(format!("it belongs to uid {}", meta.uid())));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(refuse(format!(
            "others may use it (mode {:04o})",
            meta.mode() & 0o7777
        )));
    }
    Ok(())
}

/// More `key=value` words than any entry has (a namespace has five).
const MAX_FIELDS: usize = 8;

/// The `key=value` words of one record line, borrowed from it: a record of a thousand links is
/// read without a map (and its allocations) per line.
struct Fields<'a> {
    pairs: [(&'a str, &'a str); MAX_FIELDS],
    len: usize,
}

impl<'a> Fields<'a> {
    fn all(&self) -> &[(&'a str, &'a str)] {
        self.pairs.get(..self.len).unwrap_or_default()
    }

    fn get(&self, key: &str) -> Option<&&'a str> {
        self.all().iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    fn len(&self) -> usize {
        self.len
    }

    fn keys(&self) -> impl Iterator<Item = &&'a str> {
        self.all().iter().map(|(k, _)| k)
    }
}

/// `key=value` words after the first word of a record line; `None` if a word has no `=`, a key
/// comes twice, or there are more than `MAX_FIELDS`.
fn fields(words: std::str::SplitWhitespace<'_>) -> Option<Fields<'_>> {
    let mut out = Fields {
        pairs: [("", ""); MAX_FIELDS],
        len: 0,
    };
    for w in words {
        let (k, v) = w.split_once('=')?;
        if out.contains_key(k) {
            return None;
        }
        *out.pairs.get_mut(out.len)? = (k, v);
        out.len += 1;
    }
    Some(out)
}

/// A namespace name as `netns =` takes it: a plain file name under /var/run/netns.
fn plain_name(text: &str) -> Result<String, String> {
    if text.is_empty()
        || text == "."
        || text == ".."
        || text.contains('/')
        || text.len() > 255
        || text.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(format!("`{text}` is not a plain namespace name"));
    }
    Ok(text.to_string())
}

fn number<T: std::str::FromStr>(f: &Fields, key: &str) -> Result<T, String> {
    let text = f.get(key).ok_or(format!("`{key}` is missing"))?;
    if !text.bytes().all(|b| b.is_ascii_digit()) || text.is_empty() {
        return Err(format!("`{key}={text}` is not a plain number"));
    }
    text.parse()
        .map_err(|_| format!("`{key}={text}` is out of range"))
}

fn link_from(f: &Fields) -> Result<Owned, String> {
    let name = f.get("name").ok_or("`name` is missing")?.to_string();
    values::ifname(&name).map_err(|e| e.0)?;
    let kind = f.get("kind").ok_or("`kind` is missing")?.to_string();
    if crate::kinds::by_name(&kind).is_none() {
        return Err(format!("`{kind}` is not a kind underlay makes"));
    }
    let index: i32 = number(f, "index")?;
    if index < crate::plan::FIRST_OWN_INDEX {
        return Err(format!(
            "index {index} is below {}, where underlay numbers its links",
            crate::plan::FIRST_OWN_INDEX
        ));
    }
    let parent: i32 = number(f, "parent")?;
    let netns = f.get("netns").map(|n| plain_name(n)).transpose()?;
    for key in f.keys() {
        if !["name", "kind", "index", "parent", "netns"].contains(key) {
            return Err(format!("unknown field `{key}`"));
        }
    }
    Ok(Owned {
        name,
        index,
        kind,
        parent,
        netns,
    })
}

fn namespace_from(f: &Fields) -> Result<RecordedNamespace, String> {
    let name = plain_name(f.get("name").ok_or("`name` is missing")?)?;
    let state = match f.get("state") {
        Some(&"intent") => NsState::Intent,
        Some(&"pending") => NsState::Pending,
        Some(&"made") => NsState::Made,
        Some(&"used") => NsState::Used,
        // Written by underlay 0.1.0: a namespace it made, known by inode alone. That is no
        // proof (inodes are reused), so it will not match any namespace, and is never deleted.
        None if f.contains_key("inode") && f.len() == 2 => {
            return Ok(RecordedNamespace {
                name,
                identity: Some(Identity {
                    inode: number(f, "inode")?,
                    ctime: 0,
                    cookie: None,
                }),
                state: NsState::Made,
            });
        }
        _ => return Err("`state` must be intent, pending, made or used".into()),
    };
    let identity = if state == NsState::Intent {
        None
    } else {
        Some(Identity {
            inode: number(f, "inode")?,
            ctime: number(f, "ctime")?,
            cookie: match f.get("cookie") {
                None | Some(&"-") => None,
                Some(_) => Some(number(f, "cookie")?),
            },
        })
    };
    Ok(RecordedNamespace {
        name,
        identity,
        state,
    })
}

fn address_from(f: &Fields) -> Result<OwnedAddress, String> {
    let text = f.get("net").ok_or("`net` is missing")?;
    Ok(OwnedAddress {
        netns: f.get("netns").map(|n| plain_name(n)).transpose()?,
        index: number(f, "index")?,
        net: text
            .parse()
            .map_err(|_| format!("`net={text}` is not an address with a prefix length"))?,
    })
}

/// The most a record may hold: far more than a config can declare.
const MAX_RECORD_BYTES: u64 = 8 << 20;

impl Record {
    /// The record of the namespace underlay runs in: ifindexes are per namespace, so each host
    /// namespace has its own record, named by the namespace's inode.
    pub fn load(dir: &Path) -> Result<Record, Error> {
        let id = crate::netns::current_inode().map_or("default".to_string(), |i| i.to_string());
        let path = dir.join(format!("links-{id}"));
        let mut record = Record::empty(path);
        if let Some(text) = record.read()? {
            record.parse(&text)?;
        }
        Ok(record)
    }

    /// Take in the record's text: every line checked, or the whole record refused.
    pub fn parse(&mut self, text: &str) -> Result<(), Error> {
        let corrupt = |line: usize, problem: String| Error::Record {
            path: self.path.display().to_string(),
            problem: format!("line {line}: {problem}"),
        };
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut words = line.split_whitespace();
            let what = words.next().unwrap_or_default();
            let f = fields(words).ok_or_else(|| corrupt(n, "a malformed field".into()))?;
            match what {
                "link" => {
                    let o = link_from(&f).map_err(|e| corrupt(n, e))?;
                    self.links.insert((o.netns.clone(), o.index), o);
                }
                "netns" => {
                    let ns = namespace_from(&f).map_err(|e| corrupt(n, e))?;
                    self.namespaces.push(ns);
                }
                "address" => {
                    let a = address_from(&f).map_err(|e| corrupt(n, e))?;
                    self.addresses.insert(a);
                }
                other => return Err(corrupt(n, format!("unknown entry `{other}`"))),
            }
        }
        Ok(())
    }

    /// An empty record kept at `path` (for tests and the fuzz target).
    pub fn empty(path: PathBuf) -> Record {
        Record {
            path,
            links: BTreeMap::new(),
            namespaces: Vec::new(),
            addresses: BTreeSet::new(),
        }
    }

    /// The record's text, if there is one: opened without following a symlink and only if it is
    /// a regular file of root's that nobody else can write.
    fn read(&self) -> Result<Option<String>, Error> {
        let refuse = |problem: &str| Error::Record {
            path: self.path.display().to_string(),
            problem: problem.to_string(),
        };
        let file = match fs::File::options()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(&self.path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                return Err(refuse("it is a symlink"));
            }
            Err(e) => {
                return Err(Error::os(
                    format!("cannot read the ownership record {}", self.path.display()),
                    e,
                ));
            }
        };
        let meta = file
            .metadata()
            .map_err(|e| Error::os(format!("cannot stat {}", self.path.display()), e))?;
        if !meta.is_file() {
            return Err(refuse("it is not a regular file"));
        }
        if meta.uid() != nix::unistd::geteuid().as_raw() || meta.mode() & 0o022 != 0 {
            return Err(refuse("someone else could have written it"));
        }
        let mut text = String::with_capacity(meta.len().min(MAX_RECORD_BYTES) as usize);
        file.take(MAX_RECORD_BYTES)
            .read_to_string(&mut text)
            .map_err(|_| refuse("it is not text"))?;
        Ok(Some(text))
    }

    /// Every recorded link.
    pub fn links(&self) -> impl Iterator<Item = &Owned> {
        self.links.values()
    }

    /// The entry for the link `index` in `netns`, if any.
    pub fn get(&self, netns: Option<&str>, index: i32) -> Option<&Owned> {
        self.links.get(&(netns.map(str::to_string), index))
    }

    /// Every ifindex underlay has given a link (in any namespace).
    pub fn indexes(&self) -> impl Iterator<Item = i32> + '_ {
        self.links.keys().map(|(_, i)| *i)
    }

    /// Whether `live`, seen in namespace `netns`, is a link underlay created (renamed or not).
    pub fn owns(&self, netns: Option<&str>, live: &LiveLink) -> bool {
        self.get(netns, live.index)
            .is_some_and(|o| o.same_link(netns, live))
    }

    /// Record a link (replacing any entry for the same name in the same namespace).
    pub fn add(&mut self, owned: Owned) {
        self.links
            .retain(|(ns, _), o| *ns != owned.netns || o.name != owned.name);
        self.links.insert((owned.netns.clone(), owned.index), owned);
    }

    pub fn remove(&mut self, netns: Option<&str>, index: i32) {
        self.links.remove(&(netns.map(str::to_string), index));
        self.addresses
            .retain(|a| a.netns.as_deref() != netns || a.index != index);
    }

    /// Keep only the entries `keep` says still name their link.
    pub fn retain(&mut self, mut keep: impl FnMut(&Owned) -> bool) {
        self.links.retain(|_, o| keep(o));
        let links = &self.links;
        self.addresses
            .retain(|a| links.contains_key(&(a.netns.clone(), a.index)));
    }

    /// The recorded namespace `name`, if any.
    pub fn namespace(&self, name: &str) -> Option<&RecordedNamespace> {
        self.namespaces.iter().find(|n| n.name == name)
    }

    /// Note a namespace underlay is creating (`Intent`, `Pending`, `Made`) or made links in
    /// (`Used`). A namespace underlay made stays `Made` when links are made in it.
    pub fn note_namespace(&mut self, name: &str, identity: Option<Identity>, state: NsState) {
        match self.namespaces.iter_mut().find(|n| n.name == name) {
            Some(n) => {
                if !(n.state == NsState::Made && state == NsState::Used) {
                    n.state = state;
                }
                if identity.is_some() {
                    n.identity = identity;
                }
            }
            None => self.namespaces.push(RecordedNamespace {
                name: name.to_string(),
                identity,
                state,
            }),
        }
    }

    /// The text of the record.
    fn text(&self) -> String {
        // About 64 bytes an entry: grown once, not doubled a dozen times.
        let entries = self.namespaces.len() + self.links.len() + self.addresses.len();
        let mut text = String::with_capacity(128 + 64 * entries);
        text.push_str("# Links, addresses and namespaces underlay created. Do not edit.\n");
        for ns in &self.namespaces {
            text.push_str(&format!("netns name={} state={}", ns.name, ns.state.word()));
            if let Some(id) = &ns.identity {
                let cookie = id.cookie.map_or("-".to_string(), |c| c.to_string());
                text.push_str(&format!(
                    " inode={} ctime={} cookie={cookie}",
                    id.inode, id.ctime
                ));
            }
            text.push('\n');
        }
        for owned in self.links.values() {
            text.push_str(&owned.to_line());
            text.push('\n');
        }
        for a in &self.addresses {
            text.push_str(&format!("address index={} net={}", a.index, a.net));
            if let Some(ns) = &a.netns {
                text.push_str(&format!(" netns={ns}"));
            }
            text.push('\n');
        }
        text
    }

    /// Write the record atomically: a reader (or a crash) sees the old or the new one, whole.
    /// The new text goes to a file made for it (`O_EXCL`, never a file someone prepared or a
    /// symlink), which then replaces the record. Text the file already holds is not written
    /// again, so a run that changes nothing writes (and syncs) nothing.
    pub fn save(&self) -> Result<(), Error> {
        let text = self.text();
        // Only a file as save makes it (0600) is left alone; one someone opened up is replaced.
        let private = fs::symlink_metadata(&self.path).is_ok_and(|m| m.mode() & 0o077 == 0);
        if private && self.read().ok().flatten().as_deref() == Some(text.as_str()) {
            return Ok(());
        }
        let fail = |e: std::io::Error| {
            Error::os(
                format!("cannot write the ownership record {}", self.path.display()),
                e,
            )
        };
        let dir = self.path.parent().unwrap_or(Path::new("."));
        ensure_run_dir(dir)?;
        let suffix = u64::from_ne_bytes(crate::random_bytes::<8>());
        let tmp = dir.join(format!(
            ".{}.{}-{suffix:016x}",
            self.path
                .file_name()
                .map_or("record".into(), |n| n.to_string_lossy()),
            std::process::id()
        ));
        let mut file = fs::File::options()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp)
            .map_err(fail)?;
        let written = file
            .write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .and_then(|()| fs::rename(&tmp, &self.path));
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        written.map_err(fail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(index: i32, name: &str, kind: &str, parent: Option<i32>) -> LiveLink {
        LiveLink {
            index,
            name: name.into(),
            kind: crate::live::LiveKind::Other(kind.into()),
            parent,
            parent_elsewhere: None,
            kind_lower: None,
            kind_lower_netnsid: None,
            master: None,
            mtu: 1500,
            mac: None,
            permanent_mac: None,
            up: true,
            group: 0,
        }
    }

    fn parse_link(line: &str) -> Result<Owned, String> {
        let mut words = line.split_whitespace();
        assert_eq!(words.next(), Some("link"));
        link_from(&fields(words).ok_or("malformed")?)
    }

    const FIRST: i32 = crate::plan::FIRST_OWN_INDEX;

    #[test]
    fn entries_round_trip_and_match_only_their_link() {
        let o = Owned {
            name: "mv0".into(),
            index: FIRST,
            kind: "macvlan".into(),
            parent: 2,
            netns: None,
        };
        assert_eq!(parse_link(&o.to_line()), Ok(o.clone()));
        assert!(o.matches(None, &live(FIRST, "mv0", "macvlan", Some(2))));
        // Same name, other ifindex: someone re-created it by hand; not ours.
        assert!(!o.matches(None, &live(FIRST + 1, "mv0", "macvlan", Some(2))));
        assert!(!o.matches(None, &live(FIRST, "mv0", "macvlan", Some(3))));
        assert!(!o.matches(None, &live(FIRST, "mv0", "ipvlan", Some(2))));
        assert!(!o.matches(None, &live(FIRST, "mv1", "macvlan", Some(2))));
        // The same ifindex in another namespace is another link.
        assert!(!o.matches(Some("web"), &live(FIRST, "mv0", "macvlan", Some(2))));
        // Renamed, it is still the same link, no longer under its name.
        assert!(o.same_link(None, &live(FIRST, "mv9", "macvlan", Some(2))));
        assert!(!o.matches(None, &live(FIRST, "mv9", "macvlan", Some(2))));
    }

    #[test]
    fn namespaced_entries_match_by_their_host_parent() {
        let o = Owned {
            name: "c1".into(),
            index: FIRST,
            kind: "macvlan".into(),
            parent: 2,
            netns: Some("web".into()),
        };
        assert_eq!(parse_link(&o.to_line()), Ok(o.clone()));
        let mut l = live(FIRST, "c1", "macvlan", None);
        l.parent_elsewhere = Some(crate::live::Elsewhere { nsid: 0, index: 2 });
        assert!(o.matches(Some("web"), &l));
        assert!(!o.matches(None, &l));
    }

    #[test]
    fn forged_fields_are_refused() {
        for line in [
            "link name=br0 index=3 kind=macvlan parent=2",
            "link name=mv0 index=1048576 kind=bridge parent=2",
            "link name=mv0 index=1048576 kind=macvlan parent=2 netns=../../proc/1/ns/net",
            "link name=a/b index=1048576 kind=macvlan parent=2",
            "link name=mv0 index=+1048576 kind=macvlan parent=2",
            "link name=mv0 index=1048576 kind=macvlan parent=2 extra=1",
            "link name=mv0 name=mv1 index=1048576 kind=macvlan parent=2",
            "link name=mv0 index=1048576 kind=macvlan parent=2 a=1 b=2 c=3 d=4",
        ] {
            assert!(parse_link(line).is_err(), "{line}");
        }
    }

    #[test]
    fn save_and_load() {
        let dir = std::env::temp_dir().join(format!("underlay-record-test-{}", std::process::id()));
        let mut r = Record::load(&dir).unwrap();
        assert!(r.links().next().is_none());
        r.add(Owned {
            name: "a".into(),
            index: FIRST + 5,
            kind: "dummy".into(),
            parent: 0,
            netns: None,
        });
        r.note_namespace(
            "web",
            Some(Identity {
                inode: 4026532000,
                ctime: 1_700_000_000_123_456_789,
                cookie: Some(4096),
            }),
            NsState::Made,
        );
        r.note_namespace("new", None, NsState::Intent);
        r.addresses.insert(OwnedAddress {
            netns: Some("web".into()),
            index: FIRST + 5,
            net: "192.0.2.1/24".parse().unwrap(),
        });
        r.save().unwrap();
        let mode = fs::metadata(&dir).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o700);
        let back = Record::load(&dir).unwrap();
        assert_eq!(back.links, r.links);
        assert!(back.get(None, FIRST + 5).is_some());
        assert_eq!(back.namespaces, r.namespaces);
        assert_eq!(back.addresses, r.addresses);
        // Saving what the file holds writes nothing (the file is replaced on every write).
        let inode = || fs::metadata(&back.path).unwrap().ino();
        let before = inode();
        back.save().unwrap();
        r.save().unwrap();
        assert_eq!(inode(), before);
        // The same text in a file others may read is written again, as 0600.
        fs::set_permissions(&back.path, fs::Permissions::from_mode(0o644)).unwrap();
        back.save().unwrap();
        assert_ne!(inode(), before);
        assert_eq!(fs::metadata(&back.path).unwrap().mode() & 0o777, 0o600);
        let before = inode();
        let mut changed = back.clone();
        changed.remove(None, FIRST + 5);
        changed.save().unwrap();
        assert_ne!(inode(), before);
        fs::remove_dir_all(&dir).unwrap();
    }
}
