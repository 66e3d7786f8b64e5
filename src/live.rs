//! The live state: one snapshot of the links, taken with a single dump and kept current with link
//! events while underlay waits for late parents, plus addresses and routes where they matter.
//! Every decision is made against this snapshot; there is never a per-link lookup. Each link's
//! kind data is decoded once, here.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::time::Instant;

use neli::consts::rtnl::Rtm;

use crate::ifname::IfName;
use crate::kinds::{self, Kind, KindSettings};
use crate::mac::MacAddr;
use crate::netlink::addr::{self, LiveAddress};
use crate::netlink::link::{self, LinkMessage};
use crate::netlink::route::{self, LiveRoute};
use crate::netlink::{NetlinkError, Rtnl, attr};

/// What kind a live link is.
#[derive(Debug, Clone)]
pub enum LiveKind {
    /// A kind underlay makes, with its settings as the kernel reports them, or why they could
    /// not be read (never taken as "in sync").
    Known {
        kind: &'static Kind,
        settings: Result<Rc<dyn KindSettings>, Rc<str>>,
    },
    /// A kind underlay does not make (veth, bridge, vxlan, ...), by the kernel's name for it.
    Other(Rc<str>),
    /// No `IFLA_INFO_KIND`: a physical interface.
    Physical,
}

impl LiveKind {
    /// The kernel's name for the kind, if it gave one.
    pub fn name(&self) -> Option<&str> {
        match self {
            LiveKind::Known { kind, .. } => Some(kind.name),
            LiveKind::Other(name) => Some(name),
            LiveKind::Physical => None,
        }
    }

    /// For reports: the kind's name, or what a link without one probably is.
    pub fn describe(&self) -> &str {
        self.name().unwrap_or("physical")
    }

    pub fn is(&self, kind: &Kind) -> bool {
        matches!(self, LiveKind::Known { kind: k, .. } if *k == kind)
    }
}

/// A lower device in another namespace: its ifindex there, and the id the link's own namespace
/// gives that namespace (`IFLA_LINK_NETNSID`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elsewhere {
    pub nsid: i32,
    pub index: i32,
}

/// A link as underlay sees it.
#[derive(Debug, Clone)]
pub struct LiveLink {
    pub index: i32,
    pub name: IfName,
    pub kind: LiveKind,
    /// The lower device (`IFLA_LINK`), when it is in this namespace.
    pub parent: Option<i32>,
    /// The lower device when it is in another namespace: a link created into a namespace on a
    /// parent in the host reports its parent this way.
    pub parent_elsewhere: Option<Elsewhere>,
    /// A lower device named by the kind's own attribute (a vxlan's `IFLA_VXLAN_LINK`), in this
    /// namespace unless the link's `IFLA_LINK_NETNSID` says otherwise.
    pub kind_lower: Option<i32>,
    /// Whether `kind_lower` is in the namespace `IFLA_LINK_NETNSID` names.
    pub kind_lower_netnsid: Option<i32>,
    /// The bridge or bond this link is a port of (`IFLA_MASTER`).
    pub master: Option<i32>,
    pub mtu: u32,
    pub mac: Option<MacAddr>,
    pub permanent_mac: Option<MacAddr>,
    /// Administratively up (`IFF_UP`).
    pub up: bool,
    /// The netdev group (`IFLA_GROUP`); 0 is the default group.
    pub group: u32,
}

/// Kinds underlay does not make that name their lower device in their own data, with the
/// attribute that does (from `<linux/if_link.h>` and `<linux/if_tunnel.h>`). Deleting that
/// lower device deletes them, or leaves them without a way out.
const KIND_LOWERS: &[(&[&str], u16)] = &[
    // IFLA_VXLAN_LINK
    (&["vxlan"], 3),
    // IFLA_GRE_LINK
    (
        &[
            "gre",
            "gretap",
            "erspan",
            "ip6gre",
            "ip6gretap",
            "ip6erspan",
        ],
        1,
    ),
    // IFLA_IPTUN_LINK
    (&["ipip", "sit", "ip6tnl"], 1),
    // IFLA_VTI_LINK
    (&["vti", "vti6"], 1),
    // IFLA_XFRM_LINK
    (&["xfrm"], 1),
];

fn kind_lower(kind: &str, info_data: &[u8]) -> Option<i32> {
    let (_, wanted) = KIND_LOWERS
        .iter()
        .find(|(kinds, _)| kinds.contains(&kind))?;
    for a in attr::attrs(info_data) {
        let a = a.ok()?;
        if a.kind == *wanted {
            return attr::read_i32(a.payload).ok().filter(|i| *i != 0);
        }
    }
    None
}

impl LiveLink {
    pub fn from_message(m: &LinkMessage) -> LiveLink {
        let kind = match m.kind {
            None => LiveKind::Physical,
            Some(name) => match kinds::by_name(name) {
                Some(kind) => LiveKind::Known {
                    kind,
                    settings: kind
                        .codec
                        .decode(m.info_data)
                        .map(Rc::from)
                        .map_err(|e| Rc::from(e.to_string())),
                },
                None => LiveKind::Other(Rc::from(name)),
            },
        };
        let (parent, parent_elsewhere) = match (m.link, m.link_netnsid) {
            (Some(index), Some(nsid)) => (None, Some(Elsewhere { nsid, index })),
            (link, _) => (link, None),
        };
        LiveLink {
            index: m.index,
            name: IfName::new(m.name),
            kind,
            parent,
            parent_elsewhere,
            kind_lower: m.kind.and_then(|k| kind_lower(k, m.info_data)),
            kind_lower_netnsid: m.link_netnsid,
            master: m.master,
            mtu: m.mtu,
            mac: m.mac,
            permanent_mac: m.permanent_mac,
            up: m.up,
            group: m.group,
        }
    }

    /// The link's settings, if it is of `kind` and they could be read.
    pub fn settings_of(&self, kind: &Kind) -> Option<&dyn KindSettings> {
        match &self.kind {
            LiveKind::Known {
                kind: k,
                settings: Ok(s),
            } if *k == kind => Some(s.as_ref()),
            _ => None,
        }
    }

    /// Whether this link sits on `index` of its own namespace: as its lower device (`IFLA_LINK`
    /// or a kind's own attribute).
    fn sits_on(&self, index: i32) -> bool {
        self.parent == Some(index)
            || (self.kind_lower == Some(index) && self.kind_lower_netnsid.is_none())
    }

    /// Whether this link sits on `index` of the namespace it knows as `nsid` (`None`: any
    /// namespace other than its own, when the id is not known).
    fn sits_on_elsewhere(&self, nsid: Option<i32>, index: i32) -> bool {
        let matches = |id: i32| nsid.is_none_or(|n| n == id);
        self.parent_elsewhere
            .is_some_and(|e| e.index == index && matches(e.nsid))
            || (self.kind_lower == Some(index) && self.kind_lower_netnsid.is_some_and(matches))
    }
}

#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    links: BTreeMap<i32, LiveLink>,
    /// ifindex by name, so lookups stay O(1) on tables of thousands of links.
    names: HashMap<IfName, i32>,
}

impl Snapshot {
    pub fn from_links(links: impl IntoIterator<Item = LiveLink>) -> Snapshot {
        let links: BTreeMap<i32, LiveLink> = links.into_iter().map(|l| (l.index, l)).collect();
        let names = links.values().map(|l| (l.name.clone(), l.index)).collect();
        Snapshot { links, names }
    }

    /// Dump every link. A dump that races with changes or overflows the buffer is read again.
    pub fn take(rtnl: &mut Rtnl, deadline: Instant) -> Result<Snapshot, NetlinkError> {
        Snapshot::take_in(rtnl, None, deadline)
    }

    /// Dump every link of the namespace the socket's namespace knows as `target_nsid` (or of
    /// the socket's own).
    pub fn take_in(
        rtnl: &mut Rtnl,
        target_nsid: Option<i32>,
        deadline: Instant,
    ) -> Result<Snapshot, NetlinkError> {
        dump_links(rtnl, target_nsid, deadline, |_| true).map(Snapshot::from_links)
    }

    /// The links of the socket's namespace in netdev group `group`, from a dump that keeps only
    /// them: a check before deleting a group, without a second copy of the whole table.
    pub fn in_group(
        rtnl: &mut Rtnl,
        group: u32,
        deadline: Instant,
    ) -> Result<Vec<LiveLink>, NetlinkError> {
        dump_links(rtnl, None, deadline, |m| m.group == group)
    }

    pub fn by_name(&self, name: &str) -> Option<&LiveLink> {
        self.names
            .get(name.as_bytes())
            .and_then(|i| self.links.get(i))
    }

    pub fn by_index(&self, index: i32) -> Option<&LiveLink> {
        self.links.get(&index)
    }

    pub fn links(&self) -> impl Iterator<Item = &LiveLink> {
        self.links.values()
    }

    pub fn len(&self) -> usize {
        self.links.len()
    }

    pub fn is_empty(&self) -> bool {
        self.links.is_empty()
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

    /// Links here that sit on `index` here, as their lower device: deleting `index` deletes
    /// them.
    pub fn uppers(&self, index: i32) -> impl Iterator<Item = &LiveLink> {
        self.links.values().filter(move |l| l.sits_on(index))
    }

    /// Links here that sit on the link `index` of the namespace this one knows as `nsid`
    /// (`None`: not known, so any other namespace).
    pub fn uppers_elsewhere(
        &self,
        nsid: Option<i32>,
        index: i32,
    ) -> impl Iterator<Item = &LiveLink> {
        self.links
            .values()
            .filter(move |l| l.sits_on_elsewhere(nsid, index))
    }

    pub fn max_index(&self) -> i32 {
        self.links.keys().next_back().copied().unwrap_or(0)
    }

    /// Fold in a link event: `RTM_NEWLINK` carries the link's whole state, `RTM_DELLINK` its end.
    pub fn apply_event(&mut self, kind: u16, payload: &[u8]) {
        let Ok(message) = link::decode(payload) else {
            return;
        };
        let live = LiveLink::from_message(&message);
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
            self.take_events(events, rtnl, deadline)?;
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
        while self.take_events(events, rtnl, Instant::now().min(deadline))? {}
        Ok(())
    }

    /// Fold in the events of one datagram, waiting for it until `until`. Whether any came.
    fn take_events(
        &mut self,
        events: &mut Rtnl,
        rtnl: &mut Rtnl,
        until: Instant,
    ) -> Result<bool, NetlinkError> {
        match events.events(until) {
            Ok(messages) => {
                for m in &messages {
                    self.apply_event(m.kind, &m.payload);
                }
                Ok(!messages.is_empty())
            }
            // The kernel dropped events for us: the snapshot may be stale, so take a new one.
            Err(NetlinkError::Overflow) => {
                log::debug!(
                    "link events were lost (the socket overflowed); dumping the links again"
                );
                *self = Snapshot::take(rtnl, until.max(Instant::now()))?;
                Ok(true)
            }
            Err(e) => Err(e),
        }
    }
}

/// A namespace underlay knows by name: the one it runs in, or a named one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NsRef {
    Host,
    Named(String),
}

/// The ids a namespace gives other namespaces (`IFLA_LINK_NETNSID` values), as far as asked.
#[derive(Debug, Default, Clone)]
pub struct Nsids {
    /// Whether the kernel was asked (`RTM_GETNSID`); if not, any id may mean any namespace.
    pub known: bool,
    pub ids: Vec<(NsRef, i32)>,
}

impl Nsids {
    /// What links in this namespace must say to name a lower device in `ns`: `Some(Some(id))`
    /// its id, `Some(None)` no id (so no link here sits on one there), `None` not known.
    pub fn of(&self, ns: &NsRef) -> Option<Option<i32>> {
        self.known
            .then(|| self.ids.iter().find(|(r, _)| r == ns).map(|(_, id)| *id))
    }
}

/// Everything underlay looks at in one namespace.
#[derive(Debug, Default, Clone)]
pub struct NsView {
    /// Who the namespace is, for named namespaces.
    pub identity: Option<crate::netns::Identity>,
    /// The ids this namespace gives the others.
    pub nsids: Nsids,
    /// Why the namespace is in use besides its links (a process lives in it), when asked.
    pub in_use: Option<String>,
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

/// The live state: the namespace underlay runs in, the named namespaces the config or the record
/// mention that exist and, when the plan deletes something, every other namespace on the
/// machine.
#[derive(Debug, Default, Clone)]
pub struct World {
    pub host: NsView,
    pub named: BTreeMap<String, NsView>,
    /// The other namespaces, by who holds them (`process 539 (sleep)`, `Docker's netns 1a2b`).
    pub others: Vec<(String, NsView)>,
    /// Namespaces that could not be looked into, described.
    pub unseen: Vec<String>,
    /// Whether `others` and `unseen` were looked for.
    pub widened: bool,
    /// Names under /var/run/netns the config or record mention that hold no namespace, with
    /// what they hold instead.
    pub not_namespaces: Vec<(String, String)>,
}

impl World {
    pub fn view(&self, netns: Option<&str>) -> Option<&NsView> {
        match netns {
            None => Some(&self.host),
            Some(name) => self.named.get(name),
        }
    }

    /// Whether /var/run/netns/NAME is a placeholder nothing is mounted on.
    pub fn placeholder(&self, name: &str) -> bool {
        self.not_namespaces
            .iter()
            .any(|(n, what)| n == name && what.starts_with("an empty file"))
    }

    /// The live link `name` in `netns`, if both exist.
    pub fn link(&self, netns: Option<&str>, name: &str) -> Option<&LiveLink> {
        self.view(netns)?.links.by_name(name)
    }

    /// Whether the ifindex is used by a link in any namespace underlay looked at.
    pub fn index_used(&self, index: i32) -> bool {
        self.host.links.by_index(index).is_some()
            || self
                .named
                .values()
                .any(|v| v.links.by_index(index).is_some())
    }
}

/// Dump the links of the namespace the socket's namespace knows as `target_nsid` (or of the
/// socket's own), keeping those `keep` accepts. A namespace whose links keep changing is read
/// again, for up to ten seconds (within the deadline): a burst of changes ends, and a view that
/// is not whole is never taken for one.
fn dump_links(
    rtnl: &mut Rtnl,
    target_nsid: Option<i32>,
    deadline: Instant,
    keep: impl Fn(&link::LinkMessage) -> bool,
) -> Result<Vec<LiveLink>, NetlinkError> {
    let give_up = deadline.min(Instant::now() + std::time::Duration::from_secs(10));
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let request = link::dump_request_in(target_nsid)?;
        let mut links = Vec::new();
        let dumped = rtnl.dump_each(&request, Rtm::Newlink, deadline, |payload| {
            let message = link::decode(payload)?;
            if keep(&message) {
                links.push(LiveLink::from_message(&message));
            }
            Ok(())
        });
        match dumped {
            Ok(()) => return Ok(links),
            Err(NetlinkError::Interrupted | NetlinkError::Truncated)
                if attempts < 5 || Instant::now() < give_up =>
            {
                log::debug!("link dump interrupted; dumping again");
                if attempts >= 5 {
                    std::thread::sleep(std::time::Duration::from_millis(
                        10 * u64::from(attempts.min(20)),
                    ));
                }
            }
            Err(e) => return Err(e),
        }
    }
}
