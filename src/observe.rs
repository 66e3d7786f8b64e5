//! Looking at the live state once: the host's links (already dumped by the caller, which may
//! have waited for late parents), addresses and routes where layer-3 keys need them, and every
//! named namespace the config or the record mentions, each through a socket opened inside it.
//! When the plan deletes a link, `widen` looks into every other namespace on the machine too.

use std::time::Instant;

use crate::config::Config;
use crate::error::{Doing, Error};
use crate::live::{NsRef, NsView, Nsids, Snapshot, World};
use crate::netlink::{NetlinkError, NsSelector, Rtnl};
use crate::netns::{self, Found, Namespace};
use crate::plan;
use crate::record::{NsState, Record};
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
        let ns = match netns::open_path(&std::path::Path::new(netns::RUN_DIR).join(&name), &name)? {
            Found::Absent => continue,
            Found::NotNamespace(what) => {
                world.not_namespaces.push((name, what));
                continue;
            }
            Found::Namespace(ns) => ns,
        };
        let rtnl = sockets.add_namespace(ns)?;
        let mut view = NsView {
            links: Snapshot::take(rtnl, deadline)
                .doing(&format!("reading the link table of netns {name}"))?,
            ..NsView::default()
        };
        if wants_l3(Some(&name)) {
            view.take_l3(rtnl, deadline)
                .doing(&format!("reading addresses and routes of netns {name}"))?;
        }
        view.identity = sockets.identity(&name);
        let made = record
            .namespace(&name)
            .is_some_and(|n| n.created() && n.is(view.identity.as_ref()));
        if needs.namespace_users && made {
            let inode = view.identity.map(|i| i.inode).unwrap_or_default();
            let socket = sockets.named.get(&name).and_then(|(_, r)| r.inode());
            view.in_use = netns::in_use(inode, socket);
        }
        world.named.insert(name, view);
    }
    Ok(world)
}

/// Look into every other network namespace on the machine, for what sits on underlay's links:
/// a container's macvlan on underlay's VLAN lives in an unnamed namespace. Also learn which id
/// each namespace gives the host and the named ones, so a lower device "in namespace 3" can be
/// told apart from one elsewhere.
pub fn widen(world: &mut World, sockets: &mut Sockets, deadline: Instant) -> Result<(), Error> {
    if world.widened {
        return Ok(());
    }
    let mut known: Vec<u64> = vec![sockets.host_ns.inode()];
    known.extend(sockets.named.values().map(|(ns, _)| ns.inode()));
    let scan = netns::scan(&known, &sockets.socket_inodes())?;
    let targets: Vec<(NsRef, NsSelector)> =
        std::iter::once((NsRef::Host, NsSelector::Fd(sockets.host_ns.raw_fd())))
            .chain(
                sockets.named.iter().map(|(name, (ns, _))| {
                    (NsRef::Named(name.clone()), NsSelector::Fd(ns.raw_fd()))
                }),
            )
            .collect();
    let nsids_of = |rtnl: &mut Rtnl, me: Option<&NsRef>| -> Nsids {
        let mut nsids = Nsids {
            known: true,
            ids: Vec::new(),
        };
        for (target, selector) in &targets {
            if Some(target) == me {
                continue;
            }
            match rtnl.nsid_of(*selector, deadline) {
                Ok(Some(id)) => nsids.ids.push((target.clone(), id)),
                Ok(None) => {}
                Err(e) => {
                    log::debug!("cannot ask for namespace ids ({e}); treating any as possible");
                    nsids.known = false;
                }
            }
        }
        nsids
    };
    for (name, (_, rtnl)) in sockets.named.iter_mut() {
        if let Some(view) = world.named.get_mut(name) {
            view.nsids = nsids_of(rtnl, Some(&NsRef::Named(name.clone())));
        }
    }
    world.host.nsids = nsids_of(&mut sockets.host, Some(&NsRef::Host));
    for ns in scan.found {
        // A namespace may be on its way out (its last process exiting): try it a few times.
        let mut looked = look_into(&ns, deadline);
        for _ in 0..2 {
            if looked.is_ok() {
                break;
            }
            if let Err(e) = &looked {
                log::debug!("looking into {}: {e}; trying again", ns.name);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
            looked = look_into(&ns, deadline);
        }
        match looked {
            Ok((mut rtnl, links)) => {
                let nsids = nsids_of(&mut rtnl, None);
                world.others.push((
                    ns.name.clone(),
                    NsView {
                        identity: Some(ns.identity),
                        nsids,
                        links,
                        ..NsView::default()
                    },
                ));
            }
            Err(e) => world.unseen.push(format!("{} ({e})", ns.name)),
        }
    }
    world.unseen.extend(scan.unseen);
    // Namespaces underlay cannot enter: read their links by the id the host gives them. The
    // links' namespace ids then name lower devices as the host sees them.
    let mut read: Vec<i32> = Vec::new();
    for (pid, who) in scan.unplaced {
        let host = &mut sockets.host;
        let id = match host.nsid_of(NsSelector::Pid(pid), deadline) {
            Ok(Some(id)) => Ok(id),
            Ok(None) => host
                .assign_nsid(NsSelector::Pid(pid), deadline)
                .and_then(|()| host.nsid_of(NsSelector::Pid(pid), deadline))
                .and_then(|id| id.ok_or(NetlinkError::Decode("no id was given".into()))),
            Err(e) => Err(e),
        };
        let id = match id {
            Ok(id) => id,
            // It exited meanwhile: its namespace holds nothing of its any more, or lives on in
            // another process, which the walk of /proc saw too.
            Err(_) if !std::path::Path::new(&format!("/proc/{pid}")).exists() => continue,
            Err(NetlinkError::Kernel(k)) if k.errno == libc::ESRCH => continue,
            Err(e) => {
                world.unseen.push(format!("{who} ({e})"));
                continue;
            }
        };
        if read.contains(&id) {
            continue;
        }
        read.push(id);
        match Snapshot::take_in(host, Some(id), deadline) {
            Ok(links) => {
                let mut nsids = nsids_of(host, None);
                // A lower device in the host shows as the host's id for itself.
                match host.nsid_of(NsSelector::Pid(std::process::id()), deadline) {
                    Ok(Some(own)) => nsids.ids.push((NsRef::Host, own)),
                    Ok(None) => {}
                    Err(_) => nsids.known = false,
                }
                nsids.ids.retain(|(r, _)| *r != NsRef::Host || nsids.known);
                world.others.push((
                    who,
                    NsView {
                        nsids,
                        links,
                        ..NsView::default()
                    },
                ));
            }
            Err(e) => world.unseen.push(format!("{who} ({e})")),
        }
    }
    world.widened = true;
    Ok(())
}

/// A socket inside `ns` and its links.
fn look_into(ns: &Namespace, deadline: Instant) -> Result<(Rtnl, Snapshot), Error> {
    let mut rtnl = netns::enter(ns, Rtnl::open)?.doing("opening a netlink socket there")?;
    let links = Snapshot::take(&mut rtnl, deadline).doing("reading its link table")?;
    Ok((rtnl, links))
}

/// Forget record entries whose link or namespace is gone, or is no longer the one underlay
/// made. A namespace underlay was creating when a run was killed is taken for made if it is the
/// one the record names; one that never got mounted is forgotten (its placeholder file is
/// cleared by the plan).
pub fn prune(record: &mut Record, world: &World) {
    record.namespaces.retain_mut(|n| {
        let live = world.named.get(&n.name).and_then(|v| v.identity);
        match n.state {
            NsState::Intent => world.placeholder(&n.name),
            NsState::Pending if n.is(live.as_ref()) => {
                n.state = NsState::Made;
                true
            }
            NsState::Pending => world.placeholder(&n.name),
            NsState::Made | NsState::Used => n.is(live.as_ref()),
        }
    });
    let namespaces = record.namespaces.clone();
    record.retain(|o| {
        let ns_ok = o.netns.as_deref().is_none_or(|name| {
            namespaces.iter().any(|n| {
                n.name == name
                    && matches!(n.state, NsState::Made | NsState::Used)
                    && n.is(world.named.get(name).and_then(|v| v.identity).as_ref())
            })
        });
        // By ifindex, not name: a link someone renamed is still underlay's.
        ns_ok
            && world
                .view(o.netns.as_deref())
                .and_then(|v| v.links.by_index(o.index))
                .is_some_and(|l| o.same_link(o.netns.as_deref(), l))
    });
}
