//! The ownership record: which links underlay created, so `down` (and a later `apply`) deletes
//! those and nothing else.
//!
//! It lives on tmpfs (`/run/underlay/`), so it lasts exactly as long as the links. Each entry
//! names a link by ifindex, name, kind and parent ifindex; a link only counts as underlay's when
//! all four match the live link. underlay picks the ifindex of every link it creates before
//! creating it and writes the entry first, so a run killed between the kernel's reply and the
//! record write still leaves an entry that matches the new link, and an entry for a link that
//! was never made matches nothing and is dropped.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::netlink::link::LiveLink;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owned {
    pub name: String,
    pub index: i32,
    pub kind: String,
    /// The parent's ifindex, or 0 for links without one.
    pub parent: i32,
}

impl Owned {
    /// Whether `live` is the very link this entry recorded.
    pub fn matches(&self, live: &LiveLink) -> bool {
        live.index == self.index
            && live.name == self.name
            && live.kind.as_deref() == Some(self.kind.as_str())
            && live.parent.unwrap_or(0) == self.parent
    }

    fn to_line(&self) -> String {
        format!(
            "link name={} index={} kind={} parent={}\n",
            self.name, self.index, self.kind, self.parent
        )
    }

    fn from_line(line: &str) -> Option<Owned> {
        let mut words = line.split_whitespace();
        if words.next()? != "link" {
            return None;
        }
        let (mut name, mut index, mut kind, mut parent) = (None, None, None, None);
        for word in words {
            let (key, value) = word.split_once('=')?;
            match key {
                "name" => name = Some(value.to_string()),
                "index" => index = value.parse().ok(),
                "kind" => kind = Some(value.to_string()),
                "parent" => parent = value.parse().ok(),
                _ => {}
            }
        }
        Some(Owned {
            name: name?,
            index: index?,
            kind: kind?,
            parent: parent?,
        })
    }
}

/// The record of one network namespace, in `dir`.
pub struct Record {
    path: PathBuf,
    pub links: Vec<Owned>,
}

/// Where records and the lock live: `/run/underlay`, or `$UNDERLAY_RUN_DIR` (for tests, and for
/// running several independent instances).
pub fn run_dir() -> PathBuf {
    std::env::var_os("UNDERLAY_RUN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/run/underlay"))
}

/// ifindexes are per network namespace, so each namespace has its own record, named by the
/// namespace's inode.
fn namespace_id() -> String {
    fs::metadata("/proc/self/ns/net")
        .map(|m| std::os::unix::fs::MetadataExt::ino(&m).to_string())
        .unwrap_or_else(|_| "default".into())
}

impl Record {
    pub fn load(dir: &Path) -> Result<Record, String> {
        let path = dir.join(format!("links-{}", namespace_id()));
        let links = match fs::read_to_string(&path) {
            Ok(text) => text.lines().filter_map(Owned::from_line).collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => {
                return Err(format!(
                    "cannot read the ownership record {}: {e}",
                    path.display()
                ));
            }
        };
        Ok(Record { path, links })
    }

    /// Whether `live` is a link underlay created.
    pub fn owns(&self, live: &LiveLink) -> bool {
        self.links.iter().any(|o| o.matches(live))
    }

    pub fn add(&mut self, owned: Owned) {
        self.links
            .retain(|o| o.name != owned.name && o.index != owned.index);
        self.links.push(owned);
    }

    pub fn remove_index(&mut self, index: i32) {
        self.links.retain(|o| o.index != index);
    }

    /// Write the record atomically: a reader (or a crash) sees the old or the new one, whole.
    pub fn save(&self) -> Result<(), String> {
        let fail = |e: std::io::Error| {
            format!(
                "cannot write the ownership record {}: {e}",
                self.path.display()
            )
        };
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir).map_err(fail)?;
        }
        let tmp = self.path.with_extension("tmp");
        let mut file = fs::File::create(&tmp).map_err(fail)?;
        let mut text =
            String::from("# Links underlay created in this network namespace. Do not edit.\n");
        for owned in &self.links {
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
            kind: Some(kind.into()),
            info_data: Vec::new(),
            parent,
            mtu: 1500,
            mac: None,
            permanent_mac: None,
            up: true,
        }
    }

    #[test]
    fn entries_round_trip_and_match_only_their_link() {
        let o = Owned {
            name: "mv0".into(),
            index: 40,
            kind: "macvlan".into(),
            parent: 2,
        };
        assert_eq!(Owned::from_line(&o.to_line()), Some(o.clone()));
        assert!(o.matches(&live(40, "mv0", "macvlan", Some(2))));
        // Same name, other ifindex: someone re-created it by hand; not ours.
        assert!(!o.matches(&live(41, "mv0", "macvlan", Some(2))));
        assert!(!o.matches(&live(40, "mv0", "macvlan", Some(3))));
        assert!(!o.matches(&live(40, "mv0", "ipvlan", Some(2))));
        assert!(!o.matches(&live(40, "mv1", "macvlan", Some(2))));
    }

    #[test]
    fn save_and_load() {
        let dir = std::env::temp_dir().join(format!("underlay-record-test-{}", std::process::id()));
        let mut r = Record::load(&dir).unwrap();
        assert!(r.links.is_empty());
        r.add(Owned {
            name: "a".into(),
            index: 5,
            kind: "dummy".into(),
            parent: 0,
        });
        r.save().unwrap();
        let back = Record::load(&dir).unwrap();
        assert_eq!(back.links, r.links);
        fs::remove_dir_all(&dir).unwrap();
    }
}
