//! Carrying out a plan: removals (children first), then new namespaces, then creations and
//! changes one depth at a time, each depth one pipelined batch, then addresses and routes. The
//! ownership record is written before every batch that creates links, and after every batch that
//! deletes them.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::config::{Config, LinkDecl};
use crate::kinds::{self, LinkKind};
use crate::live::{Snapshot, World};
use crate::mac::MacAddr;
use crate::netlink::link::{self, LinkChange, NewLink};
use crate::netlink::{KernelError, NetlinkError, Request, Rtnl, addr, route};
use crate::netns::{self, Namespace};
use crate::plan::{Action, Plan, describe, l3::show_route};
use crate::record::{Owned, OwnedNamespace, Record};

/// What a run did, for the summary line and the exit code.
#[derive(Debug, Default)]
pub struct Outcome {
    pub created: usize,
    pub changed: usize,
    pub deleted: usize,
    pub in_sync: usize,
    pub failed: usize,
}

/// The netlink sockets of one run: the host's, and one opened inside each named namespace.
pub struct Sockets {
    pub host: Rtnl,
    pub named: BTreeMap<String, (Namespace, Rtnl)>,
}

impl Sockets {
    pub fn new(host: Rtnl) -> Sockets {
        Sockets {
            host,
            named: BTreeMap::new(),
        }
    }

    /// Open a socket inside `ns` (entering it and coming back) and keep both.
    pub fn add_namespace(&mut self, ns: Namespace) -> Result<&mut Rtnl, String> {
        let rtnl = netns::enter(&ns, Rtnl::open)?.map_err(|e| format!("netns {}: {e}", ns.name))?;
        let name = ns.name.clone();
        let entry = self.named.entry(name).or_insert((ns, rtnl));
        Ok(&mut entry.1)
    }

    fn socket(&mut self, netns: Option<&str>) -> Result<&mut Rtnl, String> {
        match netns {
            None => Ok(&mut self.host),
            Some(name) => self
                .named
                .get_mut(name)
                .map(|(_, r)| r)
                .ok_or_else(|| format!("netns {name} is not open")),
        }
    }

    /// A fresh link snapshot of `netns`, if underlay has a socket there.
    pub fn snapshot(
        &mut self,
        netns: Option<&str>,
        deadline: Instant,
    ) -> Result<Option<Snapshot>, String> {
        let Ok(socket) = self.socket(netns) else {
            return Ok(None);
        };
        Snapshot::take(socket, deadline)
            .map(Some)
            .map_err(|e| e.to_string())
    }

    fn namespace_fd(&self, netns: Option<&str>) -> Option<i32> {
        netns
            .and_then(|n| self.named.get(n))
            .map(|(ns, _)| ns.raw_fd())
    }

    /// Execute requests that each belong to a namespace: one pipelined batch per namespace, the
    /// results in the order of `items`.
    pub fn execute(
        &mut self,
        items: Vec<(Option<String>, Request)>,
        deadline: Instant,
    ) -> Result<Vec<Result<(), KernelError>>, String> {
        let mut groups: BTreeMap<Option<String>, (Vec<usize>, Vec<Request>)> = BTreeMap::new();
        for (i, (ns, request)) in items.into_iter().enumerate() {
            let group = groups.entry(ns).or_default();
            group.0.push(i);
            group.1.push(request);
        }
        let total: usize = groups.values().map(|g| g.0.len()).sum();
        let mut results: Vec<Result<(), KernelError>> = vec![Ok(()); total];
        for (ns, (positions, requests)) in groups {
            let socket = self.socket(ns.as_deref())?;
            let answers = socket
                .execute(&requests, deadline)
                .map_err(|e| e.to_string())?;
            for (position, answer) in positions.into_iter().zip(answers) {
                results[position] = answer;
            }
        }
        Ok(results)
    }
}

/// A probe per kind about to be created, before any change: a create request the kernel must
/// refuse (a multicast MAC, no parent), which it refuses with EOPNOTSUPP only when the kind's
/// module is missing. So a missing module stops the run before it creates anything.
pub fn unsupported_kinds(
    rtnl: &mut Rtnl,
    kinds: &[&'static dyn LinkKind],
    deadline: Instant,
) -> Result<Vec<&'static dyn LinkKind>, NetlinkError> {
    let mut requests = Vec::new();
    for kind in kinds {
        requests.push(link::create(NewLink {
            name: "",
            kind: kind.name(),
            index: 0,
            parent: None,
            mtu: None,
            mac: Some(MacAddr([0x01, 0, 0x5e, 0, 0, 1])),
            up: false,
            info_data: None,
            netns_fd: None,
        })?);
    }
    let results = rtnl.execute(&requests, deadline)?;
    let mut missing = Vec::new();
    for (kind, result) in kinds.iter().zip(results) {
        match result {
            Err(KernelError {
                errno: libc::EOPNOTSUPP,
                ..
            }) => missing.push(*kind),
            Err(e) => log::debug!("{} is supported (its probe was refused: {e})", kind.name()),
            Ok(()) => log::warn!(
                "the kernel accepted a {} probe that should have failed",
                kind.name()
            ),
        }
    }
    Ok(missing)
}

fn fail_message(kind: &dyn LinkKind, error: &KernelError) -> String {
    if error.errno == libc::EOPNOTSUPP {
        format!("{error}: {}", kinds::missing_module_hint(kind))
    } else {
        error.to_string()
    }
}

fn label(decl: &LinkDecl) -> String {
    match &decl.l3.netns {
        Some(ns) => format!("{} {} in netns {ns}", decl.kind.name(), decl.name),
        None => format!("{} {}", decl.kind.name(), decl.name),
    }
}

pub struct Executor<'a> {
    pub sockets: &'a mut Sockets,
    pub record: &'a mut Record,
    pub config: &'a Config,
    pub world: &'a World,
    pub deadline: Instant,
}

impl Executor<'_> {
    pub fn run(&mut self, plan: &Plan) -> Result<Outcome, String> {
        let mut outcome = Outcome::default();
        self.delete_links(plan, &mut outcome)?;
        self.raise_parents(plan, &mut outcome)?;
        self.create_namespaces(plan, &mut outcome)?;
        let failed = self.converge_links(plan, &mut outcome)?;
        self.converge_l3(plan, &failed, &mut outcome)?;
        Ok(outcome)
    }

    /// Links no longer declared, and the old halves of re-creations; children first.
    fn delete_links(&mut self, plan: &Plan, outcome: &mut Outcome) -> Result<(), String> {
        let mut deletions: Vec<(Owned, String)> = Vec::new();
        for r in &plan.removals {
            match &r.refused {
                Some(why) => {
                    log::error!("kept {} {}: {why}", r.owned.kind, r.owned.name);
                    outcome.failed += 1;
                }
                None => deletions.push((r.owned.clone(), "no longer declared".into())),
            }
        }
        for lp in &plan.links {
            if let Action::Recreate { old, diffs, .. } = &lp.action {
                let ns = self.config.links[lp.decl].l3.netns.clone();
                if let Some(owned) = self
                    .record
                    .links
                    .iter()
                    .find(|o| o.index == *old && o.netns == ns)
                {
                    deletions.push((
                        owned.clone(),
                        format!("to re-create it: {}", describe(diffs)),
                    ));
                }
            }
        }
        if deletions.is_empty() {
            return Ok(());
        }
        deletions.sort_by_key(|(o, _)| std::cmp::Reverse(self.depth_of(o)));
        let mut items = Vec::new();
        for (o, _) in &deletions {
            items.push((
                o.netns.clone(),
                link::delete(o.index).map_err(|e| e.to_string())?,
            ));
        }
        let results = self.sockets.execute(items, self.deadline)?;
        for ((owned, why), result) in deletions.iter().zip(results) {
            match result {
                // Gone already (with a parent deleted before it): what we wanted.
                Ok(())
                | Err(KernelError {
                    errno: libc::ENODEV,
                    ..
                }) => {
                    log::info!("deleted {} {} ({why})", owned.kind, owned.name);
                    self.record.remove(owned.netns.as_deref(), owned.index);
                    outcome.deleted += 1;
                }
                Err(e) => {
                    log::error!("could not delete {} {}: {e}", owned.kind, owned.name);
                    outcome.failed += 1;
                }
            }
        }
        self.record.save()
    }

    /// Parents underlay does not manage but a child needs up.
    fn raise_parents(&mut self, plan: &Plan, outcome: &mut Outcome) -> Result<(), String> {
        let mut items = Vec::new();
        for u in &plan.parent_ups {
            let change = LinkChange {
                up: Some(true),
                ..Default::default()
            };
            items.push((
                None,
                link::change(u.index, change).map_err(|e| e.to_string())?,
            ));
        }
        for (u, result) in plan
            .parent_ups
            .iter()
            .zip(self.sockets.execute(items, self.deadline)?)
        {
            match result {
                Ok(()) => log::info!("set {} up (parent of {})", u.name, u.child),
                Err(e) => {
                    log::error!("could not set {} up (parent of {}): {e}", u.name, u.child);
                    outcome.failed += 1;
                }
            }
        }
        Ok(())
    }

    fn create_namespaces(&mut self, plan: &Plan, outcome: &mut Outcome) -> Result<(), String> {
        for name in &plan.new_namespaces {
            match netns::create(name) {
                Ok(ns) => {
                    log::info!("created netns {name}");
                    self.record.namespaces.push(OwnedNamespace {
                        name: name.clone(),
                        inode: ns.inode,
                    });
                    self.record.save()?;
                    self.sockets.add_namespace(ns)?;
                }
                Err(e) => {
                    // Its links then fail to be created, each with its own error.
                    log::error!("could not create netns {name}: {e}");
                    outcome.failed += 1;
                }
            }
        }
        Ok(())
    }

    /// Creations and changes, one depth at a time. Returns the names that failed.
    fn converge_links(
        &mut self,
        plan: &Plan,
        outcome: &mut Outcome,
    ) -> Result<Vec<String>, String> {
        let net = |e: NetlinkError| e.to_string();
        let max_depth = plan.links.iter().map(|l| l.depth).max().unwrap_or(0);
        let mut failed: Vec<String> = Vec::new();
        for depth in 0..=max_depth {
            let mut batch: Vec<(usize, Option<Owned>)> = Vec::new();
            let mut items: Vec<(Option<String>, Request)> = Vec::new();
            for (n, lp) in plan
                .links
                .iter()
                .enumerate()
                .filter(|(_, l)| l.depth == depth)
            {
                let decl = &self.config.links[lp.decl];
                let ns = decl.l3.netns.clone();
                if let Some(p) = decl.parent.as_deref()
                    && failed.iter().any(|f| f == p)
                    && !matches!(lp.action, Action::Blocked { later: true, .. })
                {
                    log::error!(
                        "skipped {}: its parent {p} could not be set up",
                        label(decl)
                    );
                    failed.push(decl.name.clone());
                    outcome.failed += 1;
                    continue;
                }
                match &lp.action {
                    Action::InSync { .. } | Action::External => outcome.in_sync += 1,
                    Action::Create { index, parent, mac }
                    | Action::Recreate {
                        index, parent, mac, ..
                    } => {
                        let netns_fd = self.sockets.namespace_fd(ns.as_deref());
                        if ns.is_some() && netns_fd.is_none() {
                            log::error!(
                                "skipped {}: its namespace could not be opened",
                                label(decl)
                            );
                            failed.push(decl.name.clone());
                            outcome.failed += 1;
                            continue;
                        }
                        let request = link::create(NewLink {
                            name: &decl.name,
                            kind: decl.kind.name(),
                            index: *index,
                            parent: *parent,
                            mtu: decl.mtu,
                            mac: *mac,
                            up: decl.up,
                            info_data: decl.settings.create_data().map_err(net)?,
                            netns_fd,
                        })
                        .map_err(net)?;
                        let owned = Owned {
                            name: decl.name.clone(),
                            index: *index,
                            kind: decl.kind.name().to_string(),
                            parent: parent.unwrap_or(0),
                            netns: ns,
                        };
                        batch.push((n, Some(owned)));
                        // Created from the host (the parent is here); IFLA_NET_NS_FD puts it there.
                        items.push((None, request));
                    }
                    Action::Change { index, change, .. } => {
                        batch.push((n, None));
                        items.push((ns, link::change(*index, change.clone()).map_err(net)?));
                    }
                    Action::Conflict { diffs } => {
                        log::error!(
                            "{}: a link with this name exists but was not created by underlay, and it differs \
                             ({}); underlay leaves it alone: delete or rename it, or change the config",
                            decl.name,
                            describe(diffs)
                        );
                        failed.push(decl.name.clone());
                        outcome.failed += 1;
                    }
                    Action::Blocked {
                        reason,
                        later: true,
                        ..
                    } => {
                        log::info!("skipped {}: {reason}", label(decl));
                        failed.push(decl.name.clone());
                    }
                    Action::Blocked { reason, .. } => {
                        log::error!("skipped {}: {reason}", label(decl));
                        failed.push(decl.name.clone());
                        outcome.failed += 1;
                    }
                }
            }
            if batch.is_empty() {
                continue;
            }
            // Record first: a run killed mid-batch leaves entries that name the new links by the
            // ifindex they were created with.
            for (_, owned) in &batch {
                if let Some(o) = owned {
                    self.record.add(o.clone());
                }
            }
            self.record.save()?;
            let results = self.sockets.execute(items, self.deadline)?;
            for ((n, owned), result) in batch.iter().zip(results) {
                let lp = &plan.links[*n];
                let decl = &self.config.links[lp.decl];
                match (result, &lp.action) {
                    (
                        Ok(()),
                        Action::Create { parent, mac, .. } | Action::Recreate { parent, mac, .. },
                    ) => {
                        let verb = if matches!(lp.action, Action::Recreate { .. }) {
                            "re-created"
                        } else {
                            "created"
                        };
                        log::info!("{verb} {} ({})", label(decl), details(decl, *parent, *mac));
                        outcome.created += 1;
                    }
                    (Ok(()), Action::Change { diffs, .. }) => {
                        log::info!("changed {}: {}", label(decl), describe(diffs));
                        outcome.changed += 1;
                    }
                    (Ok(()), _) => {}
                    (Err(e), _) => {
                        let verb = if owned.is_some() { "create" } else { "change" };
                        log::error!(
                            "could not {verb} {}: {}",
                            label(decl),
                            fail_message(decl.kind, &e)
                        );
                        if let Some(o) = owned {
                            self.record.remove(o.netns.as_deref(), o.index);
                        }
                        failed.push(decl.name.clone());
                        outcome.failed += 1;
                    }
                }
            }
            self.record.save()?;
        }
        Ok(failed)
    }

    /// Addresses and routes, in bring-up order: stale ones out, then addresses in, then routes
    /// (a gateway is only reachable once the address that covers it is there).
    fn converge_l3(
        &mut self,
        plan: &Plan,
        failed: &[String],
        outcome: &mut Outcome,
    ) -> Result<(), String> {
        let net = |e: NetlinkError| e.to_string();
        let mut removals: Vec<(Option<String>, Request, String)> = Vec::new();
        let mut addresses: Vec<(Option<String>, Request, String)> = Vec::new();
        let mut routes: Vec<(Option<String>, Request, String)> = Vec::new();
        for lp in &plan.links {
            let decl = &self.config.links[lp.decl];
            let (Some(l3), Some(index)) = (&lp.l3, lp.action.index()) else {
                continue;
            };
            if failed.contains(&decl.name) {
                continue;
            }
            let ns = decl.l3.netns.clone();
            let oif = index as u32;
            for r in &l3.remove_routes {
                let what = format!(
                    "route {} from {} (not in the config)",
                    show_route(r),
                    decl.name
                );
                removals.push((ns.clone(), route::delete(oif, r).map_err(net)?, what));
            }
            for a in &l3.remove_addresses {
                let what = format!("address {a} from {} (not in the config)", decl.name);
                removals.push((ns.clone(), addr::delete(oif, a).map_err(net)?, what));
            }
            for a in &l3.kept_addresses {
                log::info!(
                    "left address {a} on {}: not in the config, and {} is not underlay's",
                    decl.name,
                    decl.name
                );
            }
            for r in &l3.kept_routes {
                log::info!(
                    "left route {} on {}: not in the config, and {} is not underlay's",
                    show_route(r),
                    decl.name,
                    decl.name
                );
            }
            for a in &l3.add_addresses {
                let what = format!("address {} to {}", a.net, decl.name);
                addresses.push((
                    ns.clone(),
                    addr::add(oif, &a.net, a.nodad).map_err(net)?,
                    what,
                ));
            }
            for r in &l3.add_routes {
                let what = format!("route {} to {}", show_route(r), decl.name);
                routes.push((ns.clone(), route::add(oif, r).map_err(net)?, what));
            }
        }
        for (phase, done, doing) in [
            (removals, "removed", "remove"),
            (addresses, "added", "add"),
            (routes, "added", "add"),
        ] {
            if phase.is_empty() {
                continue;
            }
            let (items, reports): (Vec<_>, Vec<_>) = phase
                .into_iter()
                .map(|(ns, r, what)| ((ns, r), what))
                .unzip();
            for (what, result) in reports
                .iter()
                .zip(self.sockets.execute(items, self.deadline)?)
            {
                match result {
                    Ok(()) => {
                        log::info!("{done} {what}");
                        outcome.changed += 1;
                    }
                    Err(e) => {
                        log::error!("could not {doing} {what}: {e}");
                        outcome.failed += 1;
                    }
                }
            }
        }
        Ok(())
    }

    /// How many live ancestors a recorded link has.
    fn depth_of(&self, owned: &Owned) -> usize {
        self.world
            .view(owned.netns.as_deref())
            .map_or(0, |view| view.links.depth(owned.index))
    }
}

fn details(decl: &LinkDecl, parent: Option<i32>, mac: Option<MacAddr>) -> String {
    let mut parts = Vec::new();
    if let Some(p) = &decl.parent {
        parts.push(format!("parent {p}"));
    } else if let Some(i) = parent {
        parts.push(format!("parent ifindex {i}"));
    }
    let summary = decl.settings.summary();
    if !summary.is_empty() {
        parts.push(summary);
    }
    if let Some(mac) = mac {
        parts.push(format!("mac {mac}"));
    }
    if let Some(mtu) = decl.mtu {
        parts.push(format!("mtu {mtu}"));
    }
    if decl.implicit {
        parts.push("implied by a PARENT.ID parent".into());
    }
    parts.join(", ")
}
