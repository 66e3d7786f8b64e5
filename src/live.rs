//! One snapshot of the live links, taken with a single dump and kept current with link events
//! while underlay waits for late parents. Every decision is made against this snapshot; there is
//! never a per-link lookup.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use neli::consts::rtnl::Rtm;

use crate::netlink::addr::{self, LiveAddress};
use crate::netlink::link::{self, LiveLink};
use crate::netlink::route::{self, LiveRoute};
use crate::netlink::{NetlinkError, Rtnl};

#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    links: BTreeMap<i32, LiveLink>,
    /// ifindex by name, so lookups stay O(1) on tables of thousands of links.
    names: HashMap<String, i32>,
}

impl Snapshot {
    pub fn from_links(links: impl IntoIterator<Item = LiveLink>) -> Snapshot {
        let links: BTreeMap<i32, LiveLink> = links.into_iter().map(|l| (l.index, l)).collect();
        let names = links.values().map(|l| (l.name.clone(), l.index)).collect();
        Snapshot { links, names }
    }

    /// Dump every link. A dump that races with changes or overflows the buffer is read again.
    pub fn take(rtnl: &mut Rtnl, deadline: Instant) -> Result<Snapshot, NetlinkError> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let request = link::dump_request()?;
            let mut links = Vec::new();
            let dumped = rtnl.dump_each(&request, Rtm::Newlink, deadline, |payload| {
                links.push(link::decode(payload)?);
                Ok(())
            });
            match dumped {
                Ok(()) => return Ok(Snapshot::from_links(links)),
                Err(NetlinkError::Interrupted | NetlinkError::Truncated) if attempts < 5 => {
                    log::debug!("link dump interrupted; dumping again");
                }
                Err(e) => return Err(e),
            }
        }
    }

    pub fn by_name(&self, name: &str) -> Option<&LiveLink> {
        self.names.get(name).and_then(|i| self.links.get(i))
    }

    pub fn links(&self) -> impl Iterator<Item = &LiveLink> {
        self.links.values()
    }

    /// How many ancestors the link `index` has here (bounded, in case of a loop).
    pub fn depth(&self, index: i32) -> usize {
        let mut depth = 0;
        let mut cur = self.by_index(index).and_then(|l| l.parent);
        while let Some(p) = cur {
            depth += 1;
            if depth > 64 {
                break;
            }
            cur = self.by_index(p).and_then(|l| l.parent);
        }
        depth
    }

    pub fn by_index(&self, index: i32) -> Option<&LiveLink> {
        self.links.get(&index)
    }

    /// Links whose parent is `index`.
    pub fn children(&self, index: i32) -> impl Iterator<Item = &LiveLink> {
        self.links.values().filter(move |l| l.parent == Some(index))
    }

    /// Links in this (named) namespace whose parent is the host's link `index`.
    pub fn links_on_host_parent(&self, index: i32) -> impl Iterator<Item = &LiveLink> {
        self.links
            .values()
            .filter(move |l| l.parent_elsewhere == Some(index))
    }

    pub fn max_index(&self) -> i32 {
        self.links.keys().next_back().copied().unwrap_or(0)
    }

    /// Fold in a link event: `RTM_NEWLINK` carries the link's whole state, `RTM_DELLINK` its end.
    pub fn apply_event(&mut self, kind: u16, payload: &[u8]) {
        let Ok(live) = link::decode(payload) else {
            return;
        };
        // A rename arrives as RTM_NEWLINK with the old index and a new name.
        if let Some(old) = self.links.get(&live.index)
            && self.names.get(&old.name) == Some(&live.index)
        {
            self.names.remove(&old.name);
        }
        if kind == u16::from(Rtm::Newlink) {
            self.names.insert(live.name.clone(), live.index);
            self.links.insert(live.index, live);
        } else if kind == u16::from(Rtm::Dellink) {
            self.links.remove(&live.index);
        }
    }

    /// Wait until every link in `names` exists, or `deadline`. Woken by link events, never by
    /// polling. Returns the names still missing.
    pub fn wait_for(
        &mut self,
        names: &[String],
        events: &mut Rtnl,
        rtnl: &mut Rtnl,
        deadline: Instant,
    ) -> Result<Vec<String>, NetlinkError> {
        loop {
            let missing: Vec<String> = names
                .iter()
                .filter(|n| self.by_name(n).is_none())
                .cloned()
                .collect();
            if missing.is_empty() || Instant::now() >= deadline {
                return Ok(missing);
            }
            match events.events(deadline) {
                Ok(messages) => {
                    for m in messages {
                        self.apply_event(m.kind, &m.payload);
                    }
                }
                // The kernel dropped events for us: the snapshot may be stale, so take a new one.
                Err(NetlinkError::Io(_, e)) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    log::debug!(
                        "link events were lost (the socket overflowed); dumping the links again"
                    );
                    *self = Snapshot::take(rtnl, deadline)?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Take in every event already queued, without waiting, so the snapshot reflects changes
    /// made between subscribing and the end of the dump.
    pub fn drain_events(
        &mut self,
        events: &mut Rtnl,
        rtnl: &mut Rtnl,
        deadline: Instant,
    ) -> Result<(), NetlinkError> {
        loop {
            match events.events(Instant::now()) {
                Ok(messages) if messages.is_empty() => return Ok(()),
                Ok(messages) => {
                    for m in messages {
                        self.apply_event(m.kind, &m.payload);
                    }
                }
                Err(NetlinkError::Io(_, e)) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    log::debug!(
                        "link events were lost (the socket overflowed); dumping the links again"
                    );
                    *self = Snapshot::take(rtnl, deadline)?;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// Everything underlay looks at in one namespace.
#[derive(Debug, Default, Clone)]
pub struct NsView {
    pub links: Snapshot,
    /// Only dumped when some link there has layer-3 keys.
    pub addresses: Vec<LiveAddress>,
    pub routes: Vec<LiveRoute>,
}

impl NsView {
    /// Dump addresses and routes too.
    pub fn take_l3(&mut self, rtnl: &mut Rtnl, deadline: Instant) -> Result<(), NetlinkError> {
        let mut addresses = Vec::new();
        rtnl.dump_each(&addr::dump_request()?, Rtm::Newaddr, deadline, |payload| {
            addresses.extend(addr::decode(payload)?);
            Ok(())
        })?;
        let mut routes = Vec::new();
        rtnl.dump_each(
            &route::dump_request()?,
            Rtm::Newroute,
            deadline,
            |payload| {
                routes.extend(route::decode(payload)?);
                Ok(())
            },
        )?;
        self.addresses = addresses;
        self.routes = routes;
        Ok(())
    }
}

/// The live state: the namespace underlay runs in, and the named namespaces the config or the
/// record mention that exist.
#[derive(Debug, Default, Clone)]
pub struct World {
    pub host: NsView,
    pub named: BTreeMap<String, NsView>,
}

impl World {
    pub fn view(&self, netns: Option<&str>) -> Option<&NsView> {
        match netns {
            None => Some(&self.host),
            Some(name) => self.named.get(name),
        }
    }

    /// The live link `name` in `netns`, if both exist.
    pub fn link(&self, netns: Option<&str>, name: &str) -> Option<&LiveLink> {
        self.view(netns)?.links.by_name(name)
    }

    /// The highest ifindex anywhere, so new links get indexes that are free everywhere.
    pub fn max_index(&self) -> i32 {
        self.named
            .values()
            .map(|v| v.links.max_index())
            .fold(self.host.links.max_index(), i32::max)
    }
}
