//! Planning addresses and routes: the configured set against what the kernel has on the link.
//!
//! Only links with layer-3 keys are managed. On those underlay owns, the result is exactly the
//! configured set; on adopted links it only adds, and reports what it leaves.

use ipnet::IpNet;

use crate::config::LinkDecl;
use crate::config::l3::AddressDecl;
use crate::live::NsView;
use crate::netlink::addr::IFA_F_PERMANENT;
use crate::netlink::route::Route;

#[derive(Debug, Default, Clone)]
pub struct L3Plan {
    pub add_addresses: Vec<AddressDecl>,
    pub remove_addresses: Vec<IpNet>,
    /// Extra addresses on a link underlay does not own: reported, left alone.
    pub kept_addresses: Vec<IpNet>,
    pub add_routes: Vec<Route>,
    pub remove_routes: Vec<Route>,
    pub kept_routes: Vec<Route>,
}

pub fn show_route(r: &Route) -> String {
    let mut text = r.dst.to_string();
    if let Some(via) = r.via {
        text.push_str(&format!(" via {via}"));
    }
    if r.metric != crate::config::l3::default_metric(&r.dst) {
        text.push_str(&format!(" metric {}", r.metric));
    }
    if r.table != crate::netlink::route::RT_TABLE_MAIN {
        text.push_str(&format!(" table {}", r.table));
    }
    if let Some(src) = r.src {
        text.push_str(&format!(" src {src}"));
    }
    text
}

impl L3Plan {
    pub fn is_empty(&self) -> bool {
        self.add_addresses.is_empty()
            && self.remove_addresses.is_empty()
            && self.add_routes.is_empty()
            && self.remove_routes.is_empty()
    }

    pub fn drift(&self, name: &str) -> Vec<String> {
        let mut lines = Vec::new();
        for a in &self.add_addresses {
            lines.push(format!("{name}: address: want {}, have absent", a.net));
        }
        for a in self.remove_addresses.iter().chain(&self.kept_addresses) {
            lines.push(format!("{name}: address: want absent, have {a}"));
        }
        for r in &self.add_routes {
            lines.push(format!(
                "{name}: route: want {}, have absent",
                show_route(r)
            ));
        }
        for r in self.remove_routes.iter().chain(&self.kept_routes) {
            lines.push(format!(
                "{name}: route: want absent, have {}",
                show_route(r)
            ));
        }
        lines
    }
}

/// Is this live address one underlay manages? Configured (permanent) addresses only, and IPv6
/// link-local ones only when the config lists one: the kernel makes those itself.
fn managed_address(net: &IpNet, flags: u32, decl: &LinkDecl) -> bool {
    let link_local = matches!(net, IpNet::V6(v6) if v6.addr().segments()[0] & 0xffc0 == 0xfe80);
    flags & IFA_F_PERMANENT != 0 && (!link_local || decl.l3.addresses.iter().any(|a| a.net == *net))
}

/// `existing`: the link's namespace, when the link exists already (`None` for one about to be
/// created, which has nothing yet).
pub fn plan(decl: &LinkDecl, index: i32, existing: Option<&NsView>, owned: bool) -> Option<L3Plan> {
    if decl.l3.is_empty() {
        return None;
    }
    let mut p = L3Plan::default();
    let (live_addresses, live_routes): (Vec<IpNet>, Vec<Route>) = match existing {
        None => (Vec::new(), Vec::new()),
        Some(view) => (
            view.addresses
                .iter()
                .filter(|a| a.index == index as u32 && managed_address(&a.net, a.flags, decl))
                .map(|a| a.net)
                .collect(),
            view.routes
                .iter()
                .filter(|r| r.is_static_on(index as u32))
                .map(|r| r.route.clone())
                .collect(),
        ),
    };
    for a in &decl.l3.addresses {
        if !live_addresses.contains(&a.net) {
            p.add_addresses.push(a.clone());
        }
    }
    for net in live_addresses {
        if !decl.l3.addresses.iter().any(|a| a.net == net) {
            if owned {
                &mut p.remove_addresses
            } else {
                &mut p.kept_addresses
            }
            .push(net);
        }
    }
    for r in &decl.l3.routes {
        if !live_routes.contains(&r.route) {
            p.add_routes.push(r.route.clone());
        }
    }
    for r in live_routes {
        if !decl.l3.routes.iter().any(|d| d.route == r) {
            if owned {
                &mut p.remove_routes
            } else {
                &mut p.kept_routes
            }
            .push(r);
        }
    }
    Some(p)
}
