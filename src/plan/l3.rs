//! Planning addresses and routes: the configured set against what the kernel has on the link.
//!
//! Only links with layer-3 keys are managed, and only underlay's own addresses and routes are
//! ever removed: those it added, which it tags (`IFA_PROTO` on addresses, Linux 5.18, and its
//! own route protocol, 85) and, for kernels that drop `IFA_PROTO`, records. An address or route
//! someone else added (systemd-networkd, netifd, NetworkManager, a person) is left alone, on
//! any link, so two owners can share a link without removing each other's.

use ipnet::IpNet;

use crate::config::LinkDecl;
use crate::config::l3::AddressDecl;
use crate::live::NsView;
use crate::netlink::addr::{IFA_F_PERMANENT, LiveAddress};
use crate::netlink::route::{RTPROT_UNDERLAY, Route};
use crate::record::{OwnedAddress, Record};

#[derive(Debug, Default, Clone)]
pub struct L3Plan {
    pub add_addresses: Vec<AddressDecl>,
    /// underlay's own addresses the config no longer lists.
    pub remove_addresses: Vec<IpNet>,
    pub add_routes: Vec<Route>,
    /// underlay's own routes the config no longer lists.
    pub remove_routes: Vec<Route>,
    /// Configured IPv6 addresses someone else holds with another prefix length (wanted, held):
    /// IPv6 keeps one prefix per address, so adding would fail, and replacing theirs is not
    /// underlay's to do.
    pub held: Vec<(IpNet, IpNet)>,
}

impl L3Plan {
    pub fn is_empty(&self) -> bool {
        self.add_addresses.is_empty()
            && self.remove_addresses.is_empty()
            && self.add_routes.is_empty()
            && self.remove_routes.is_empty()
            && self.held.is_empty()
    }
}

/// Whether a live address on the link `index` in `netns` is one underlay added: tagged with
/// its protocol, or (where the kernel keeps no tag) recorded.
pub fn address_is_ours(a: &LiveAddress, netns: Option<&str>, index: i32, record: &Record) -> bool {
    a.flags & IFA_F_PERMANENT != 0
        && (a.protocol == RTPROT_UNDERLAY
            || record.addresses.contains(&OwnedAddress {
                netns: netns.map(str::to_string),
                index,
                net: a.net,
            }))
}

/// `existing`: the link's namespace, when the link exists already (`None` for one about to be
/// created, which has nothing yet).
pub fn plan(
    decl: &LinkDecl,
    index: i32,
    existing: Option<&NsView>,
    record: &Record,
) -> Option<L3Plan> {
    if decl.l3.is_empty() {
        return None;
    }
    let netns = decl.l3.netns.as_deref();
    let mut p = L3Plan::default();
    let (live_addresses, live_routes): (Vec<&LiveAddress>, Vec<(&Route, bool)>) = match existing {
        None => (Vec::new(), Vec::new()),
        Some(view) => (
            view.addresses
                .iter()
                .filter(|a| a.index == index as u32)
                .collect(),
            view.routes
                .iter()
                .filter(|r| r.is_unicast_on(index as u32))
                .map(|r| (&r.route, r.protocol == RTPROT_UNDERLAY))
                .collect(),
        ),
    };
    for a in &decl.l3.addresses {
        if live_addresses.iter().any(|l| l.net == a.net) {
            continue;
        }
        let theirs = live_addresses.iter().find(|l| {
            a.net.addr().is_ipv6()
                && l.net.addr() == a.net.addr()
                && !address_is_ours(l, netns, index, record)
        });
        match theirs {
            Some(l) => p.held.push((a.net, l.net)),
            None => p.add_addresses.push(a.clone()),
        }
    }
    for a in &live_addresses {
        if address_is_ours(a, netns, index, record)
            && !decl.l3.addresses.iter().any(|d| d.net == a.net)
        {
            p.remove_addresses.push(a.net);
        }
    }
    for r in &decl.l3.routes {
        // Whoever added it: the kernel keeps one route per destination, table and metric.
        if !live_routes.iter().any(|(l, _)| *l == &r.route) {
            p.add_routes.push(r.route.clone());
        }
    }
    for (r, ours) in live_routes {
        if ours && !decl.l3.routes.iter().any(|d| d.route == *r) {
            p.remove_routes.push(r.clone());
        }
    }
    Some(p)
}
