//! One snapshot of the live links, taken with a single dump and kept current with link events
//! while underlay waits for late parents. Every decision is made against this snapshot; there is
//! never a per-link lookup.

use std::collections::BTreeMap;
use std::time::Instant;

use neli::consts::rtnl::Rtm;

use crate::netlink::link::{self, LiveLink};
use crate::netlink::{NetlinkError, Rtnl};

#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    links: BTreeMap<i32, LiveLink>,
}

impl Snapshot {
    pub fn from_links(links: impl IntoIterator<Item = LiveLink>) -> Snapshot {
        Snapshot {
            links: links.into_iter().map(|l| (l.index, l)).collect(),
        }
    }

    /// Dump every link. A dump that races with changes or overflows the buffer is read again.
    pub fn take(rtnl: &mut Rtnl, deadline: Instant) -> Result<Snapshot, NetlinkError> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let request = link::dump_request()?;
            match rtnl.dump(&request, Rtm::Newlink, deadline) {
                Ok(payloads) => {
                    let mut links = Vec::with_capacity(payloads.len());
                    for payload in payloads {
                        links.push(link::decode(&payload)?);
                    }
                    return Ok(Snapshot::from_links(links));
                }
                Err(NetlinkError::Interrupted | NetlinkError::Truncated) if attempts < 5 => {
                    log::debug!("link dump interrupted; dumping again");
                }
                Err(e) => return Err(e),
            }
        }
    }

    pub fn by_name(&self, name: &str) -> Option<&LiveLink> {
        self.links.values().find(|l| l.name == name)
    }

    pub fn by_index(&self, index: i32) -> Option<&LiveLink> {
        self.links.get(&index)
    }

    /// Links whose parent is `index`.
    pub fn children(&self, index: i32) -> impl Iterator<Item = &LiveLink> {
        self.links.values().filter(move |l| l.parent == Some(index))
    }

    pub fn max_index(&self) -> i32 {
        self.links.keys().next_back().copied().unwrap_or(0)
    }

    /// Fold in a link event: `RTM_NEWLINK` carries the link's whole state, `RTM_DELLINK` its end.
    pub fn apply_event(&mut self, kind: u16, payload: &[u8]) {
        let Ok(live) = link::decode(payload) else {
            return;
        };
        if kind == u16::from(Rtm::Newlink) {
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
                    *self = Snapshot::take(rtnl, deadline)?;
                }
                Err(e) => return Err(e),
            }
        }
    }
}
