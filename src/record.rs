//! The ownership record: which links (and network namespaces) underlay created, so `down` (and a
//! later `apply`) deletes those and nothing else.
//!
//! It lives on tmpfs (`/run/underlay/`), so it lasts exactly as long as the links. Each entry
//! names a link by namespace, ifindex, name, kind and parent ifindex; a link only counts as
//! underlay's when all of them match the live link. underlay picks the ifindex of every link it
//! creates before creating it and writes the entry first, so a run killed between the kernel's
//! reply and the record write still leaves an entry that matches the new link, and an entry for
//! a link that was never made matches nothing and is dropped.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::live::LiveLink;

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

/// A namespace underlay created (as `ip netns add` does), identified by its inode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedNamespace {
    pub name: String,
    pub inode: u64,
}

impl Owned {
    /// Whether `live` (seen in the namespace `netns`) is the very link this entry recorded.
    pub fn matches(&self, netns: Option<&str>, live: &LiveLink) -> bool {
        // A link created into a namespace reports its host-side parent as "elsewhere".
        let parent = if self.netns.is_some() {
            live.parent_elsewhere.map(|e| e.index)
        } else {
            live.parent
        };
        self.netns.as_deref() == netns
            && live.index == self.index
            && live.name.is(&self.name)
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
        line.push('\n');
        line
    }
}

/// `key=value` words after the first word of a record line.
fn fields(line: &str, first: &str) -> Option<Vec<(String, String)>> {
    let mut words = line.split_whitespace();
    if words.next()? != first {
        return None;
    }
    words
        .map(|w| {
            w.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect()
}

fn field<T: std::str::FromStr>(fields: &[(String, String)], key: &str) -> Option<T> {
    fields
        .iter()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v.parse().ok())
}

impl Owned {
    fn from_line(line: &str) -> Option<Owned> {
        let f = fields(line, "link")?;
        Some(Owned {
            name: field(&f, "name")?,
            index: field(&f, "index")?,
            kind: field(&f, "kind")?,
            parent: field(&f, "parent")?,
            netns: field(&f, "netns"),
        })
    }
}

impl OwnedNamespace {
    fn from_line(line: &str) -> Option<OwnedNamespace> {
        let f = fields(line, "netns")?;
        Some(OwnedNamespace {
            name: field(&f, "name")?,
            inode: field(&f, "inode")?,
        })
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
    pub namespaces: Vec<OwnedNamespace>,
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

impl Record {
    /// The record of the namespace underlay runs in: ifindexes are per namespace, so each host
    /// namespace has its own record, named by the namespace's inode.
    pub fn load(dir: &Path) -> Result<Record, Error> {
        let id = crate::netns::current_inode().map_or("default".to_string(), |i| i.to_string());
        let path = dir.join(format!("links-{id}"));
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                return Err(Error::os(
                    format!("cannot read the ownership record {}", path.display()),
                    e,
                ));
            }
        };
        Ok(Record {
            links: text
                .lines()
                .filter_map(Owned::from_line)
                .map(|o| ((o.netns.clone(), o.index), o))
                .collect(),
            namespaces: text.lines().filter_map(OwnedNamespace::from_line).collect(),
            path,
        })
    }

    /// Every recorded link.
    pub fn links(&self) -> impl Iterator<Item = &Owned> {
        self.links.values()
    }

    /// The entry for the link `index` in `netns`, if any.
    pub fn get(&self, netns: Option<&str>, index: i32) -> Option<&Owned> {
        self.links.get(&(netns.map(str::to_string), index))
    }

    /// The highest ifindex underlay has given a link, if any.
    pub fn max_index(&self) -> Option<i32> {
        self.links.keys().map(|(_, i)| *i).max()
    }

    /// Whether `live`, seen in namespace `netns`, is a link underlay created.
    pub fn owns(&self, netns: Option<&str>, live: &LiveLink) -> bool {
        self.get(netns, live.index)
            .is_some_and(|o| o.matches(netns, live))
    }

    /// Record a link (replacing any entry for the same name in the same namespace).
    pub fn add(&mut self, owned: Owned) {
        self.links
            .retain(|(ns, _), o| *ns != owned.netns || o.name != owned.name);
        self.links.insert((owned.netns.clone(), owned.index), owned);
    }

    pub fn remove(&mut self, netns: Option<&str>, index: i32) {
        self.links.remove(&(netns.map(str::to_string), index));
    }

    /// Keep only the entries `keep` says still name their link.
    pub fn retain(&mut self, mut keep: impl FnMut(&Owned) -> bool) {
        self.links.retain(|_, o| keep(o));
    }

    /// Write the record atomically: a reader (or a crash) sees the old or the new one, whole.
    pub fn save(&self) -> Result<(), Error> {
        let fail = |e: std::io::Error| {
            Error::os(
                format!("cannot write the ownership record {}", self.path.display()),
                e,
            )
        };
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir).map_err(fail)?;
        }
        let tmp = self.path.with_extension("tmp");
        let mut file = fs::File::create(&tmp).map_err(fail)?;
        let mut text = String::from("# Links and namespaces underlay created. Do not edit.\n");
        for ns in &self.namespaces {
            text.push_str(&format!("netns name={} inode={}\n", ns.name, ns.inode));
        }
        for owned in self.links.values() {
            text.push_str(&owned.to_line());
        }
        file.write_all(text.as_bytes()).map_err(fail)?;
        file.sync_all().map_err(fail)?;
        fs::rename(&tmp, &self.path).map_err(fail)
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

    #[test]
    fn entries_round_trip_and_match_only_their_link() {
        let o = Owned {
            name: "mv0".into(),
            index: 40,
            kind: "macvlan".into(),
            parent: 2,
            netns: None,
        };
        assert_eq!(Owned::from_line(&o.to_line()), Some(o.clone()));
        assert!(o.matches(None, &live(40, "mv0", "macvlan", Some(2))));
        // Same name, other ifindex: someone re-created it by hand; not ours.
        assert!(!o.matches(None, &live(41, "mv0", "macvlan", Some(2))));
        assert!(!o.matches(None, &live(40, "mv0", "macvlan", Some(3))));
        assert!(!o.matches(None, &live(40, "mv0", "ipvlan", Some(2))));
        assert!(!o.matches(None, &live(40, "mv1", "macvlan", Some(2))));
        // The same ifindex in another namespace is another link.
        assert!(!o.matches(Some("web"), &live(40, "mv0", "macvlan", Some(2))));
    }

    #[test]
    fn namespaced_entries_match_by_their_host_parent() {
        let o = Owned {
            name: "c1".into(),
            index: 40,
            kind: "macvlan".into(),
            parent: 2,
            netns: Some("web".into()),
        };
        assert_eq!(Owned::from_line(&o.to_line()), Some(o.clone()));
        let mut l = live(40, "c1", "macvlan", None);
        l.parent_elsewhere = Some(crate::live::Elsewhere { nsid: 0, index: 2 });
        assert!(o.matches(Some("web"), &l));
        assert!(!o.matches(None, &l));
    }

    #[test]
    fn save_and_load() {
        let dir = std::env::temp_dir().join(format!("underlay-record-test-{}", std::process::id()));
        let mut r = Record::load(&dir).unwrap();
        assert!(r.links().next().is_none());
        r.add(Owned {
            name: "a".into(),
            index: 5,
            kind: "dummy".into(),
            parent: 0,
            netns: None,
        });
        r.namespaces.push(OwnedNamespace {
            name: "web".into(),
            inode: 4026532000,
        });
        r.save().unwrap();
        let back = Record::load(&dir).unwrap();
        assert_eq!(back.links, r.links);
        assert!(back.get(None, 5).is_some());
        assert_eq!(back.namespaces, r.namespaces);
        fs::remove_dir_all(&dir).unwrap();
    }
}
