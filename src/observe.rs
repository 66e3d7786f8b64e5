//! Looking at the live state once: the host's links (already dumped by the caller, which may
//! have waited for late parents), addresses and routes where layer-3 keys need them, and every
//! named namespace the config or the record mentions, each through a socket opened inside it.

use std::time::Instant;

use crate::config::Config;
use crate::error::{Doing, Error};
use crate::live::{NsView, Snapshot, World};
use crate::netns;
use crate::plan;
use crate::record::Record;
use crate::sockets::Sockets;

/// What to look at besides links.
#[derive(Debug, Clone, Copy, Default)]
pub struct Needs {
    /// Addresses and routes in every namespace observed (`show`), not only where the config
    /// has layer-3 keys.
    pub all_l3: bool,
    /// Whether a process uses each namespace underlay made (`down`).
    pub namespace_users: bool,
}

pub fn world(
    config: Option<&Config>,
    scope: Option<&str>,
    record: &Record,
    sockets: &mut Sockets,
    host_links: Snapshot,
    deadline: Instant,
    needs: Needs,
) -> Result<World, Error> {
    let mut world = World {
        host: NsView {
            links: host_links,
            ..NsView::default()
        },
        ..World::default()
    };
    let mut names: Vec<String> = config
        .map(|c| plan::namespaces(c, scope))
        .unwrap_or_default();
    for o in record.links() {
        if let Some(ns) = &o.netns
            && !names.contains(ns)
        {
            names.push(ns.clone());
        }
    }
    for n in &record.namespaces {
        if !names.contains(&n.name) {
            names.push(n.name.clone());
        }
    }
    let wants_l3 = |netns: Option<&str>| {
        needs.all_l3
            || config.is_some_and(|c| {
                plan::in_scope(c, scope)
                    .into_iter()
                    .any(|i| c.links[i].l3.netns.as_deref() == netns && !c.links[i].l3.is_empty())
            })
    };
    if wants_l3(None) {
        world
            .host
            .take_l3(&mut sockets.host, deadline)
            .doing("reading addresses and routes")?;
    }
    for name in names {
        let Some(ns) = netns::open(&name)? else {
            continue;
        };
        let inode = ns.inode;
        let owned = record
            .namespaces
            .iter()
            .any(|n| n.name == name && n.inode == inode);
        let rtnl = sockets.add_namespace(ns)?;
        let mut view = NsView {
            inode: Some(inode),
            links: Snapshot::take(rtnl, deadline)
                .doing(&format!("reading the link table of netns {name}"))?,
            ..NsView::default()
        };
        if wants_l3(Some(&name)) {
            view.take_l3(rtnl, deadline)
                .doing(&format!("reading addresses and routes of netns {name}"))?;
        }
        if needs.namespace_users && owned {
            let names: Vec<_> = view.links.links().map(|l| l.name.clone()).collect();
            view.in_use = netns::in_use(inode, &names);
        }
        world.named.insert(name, view);
    }
    Ok(world)
}

/// Forget record entries whose link or namespace is gone, or is no longer the one underlay
/// made.
pub fn prune(record: &mut Record, world: &World) {
    record.retain(|o| {
        world
            .link(o.netns.as_deref(), &o.name)
            .is_some_and(|l| o.matches(o.netns.as_deref(), l))
    });
    record.namespaces.retain(|n| {
        world
            .named
            .get(&n.name)
            .is_some_and(|v| v.inode == Some(n.inode))
    });
}
