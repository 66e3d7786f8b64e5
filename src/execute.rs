//! Carrying out a plan, for `apply` and `down` alike: removals (one deletion path, children
//! first), parents up, new namespaces, creations and changes one depth at a time, addresses and
//! routes, and last the namespaces `down` deletes. Each phase is one pipelined batch per
//! namespace. The ownership record is written before every batch that creates links, and after
//! every batch that deletes them.
//!
//! With `Tense::Would` (`apply --dry-run`, `check`, `down --dry-run`) the same code runs without
//! sending anything, as if every request succeeded, so it says exactly what a real run would
//! say, in the same order, with "would" in front.

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use crate::config::Config;
use crate::error::{Doing, Error};
use crate::kinds;
use crate::live::World;
use crate::netlink::link::{self, LinkChange, NewLink};
use crate::netlink::{KernelError, Request, addr, route};
use crate::netns;
use crate::plan::{Action, Blocked, NetnsStep, Plan, RemovalWhy};
use crate::record::{NsState, Owned, OwnedAddress, Record, RecordedNamespace};
use crate::report::{self, LinkRef, Step, Tense};
use crate::sockets::Sockets;

/// What a run did, for the summary line and the exit code.
#[derive(Debug, Default)]
pub struct Outcome {
    pub created: usize,
    pub changed: usize,
    pub deleted: usize,
    pub in_sync: usize,
    /// Links that wait for a hotplug parent: expected, not a failure.
    pub later: usize,
    pub failed: usize,
}

impl Outcome {
    pub fn changed_anything(&self) -> bool {
        self.created + self.changed + self.deleted > 0
    }
}

pub struct Executor<'a> {
    pub sockets: &'a mut Sockets,
    pub record: &'a mut Record,
    /// The config `apply` works from; `down` has none.
    pub config: Option<&'a Config>,
    pub world: &'a World,
    pub deadline: Instant,
    pub tense: Tense,
    pub outcome: Outcome,
}

/// Requests bound for a namespace (`None`: the one underlay runs in).
type Batch = Vec<(Option<String>, Request)>;

impl Executor<'_> {
    pub fn run(mut self, plan: &Plan) -> Result<Outcome, Error> {
        self.remove_links(plan)?;
        self.raise_parents(plan)?;
        self.create_namespaces(plan)?;
        let failed = self.converge_links(plan)?;
        self.converge_l3(plan, &failed)?;
        self.delete_namespaces(plan)?;
        // The record as the run leaves it, entries for links that are gone included: a stale
        // entry is dropped as soon as a run sees its link absent.
        self.save()?;
        Ok(self.outcome)
    }

    fn real(&self) -> bool {
        self.tense == Tense::Did
    }

    /// Send a batch, or pretend every request succeeded in a dry run.
    fn send(&mut self, items: Batch, doing: &str) -> Result<Vec<Result<(), KernelError>>, Error> {
        if !self.real() {
            return Ok(vec![Ok(()); items.len()]);
        }
        if items.is_empty() {
            return Ok(Vec::new());
        }
        if Instant::now() >= self.deadline {
            return Err(Error::Timeout {
                left_undone: doing.to_string(),
            });
        }
        self.sockets.execute(items, self.deadline)
    }

    fn save(&self) -> Result<(), Error> {
        if self.real() {
            self.record.save()
        } else {
            Ok(())
        }
    }

    fn say(&mut self, step: &Step) {
        report::step(step, self.tense);
    }

    /// Skip `decl` because what it needs (`parent`: a link, or `netns NAME`) failed.
    fn skip_for(&mut self, decl: &crate::config::LinkDecl, parent: String) {
        let blocked = Blocked::ParentBlocked {
            parent,
            later: false,
        };
        self.say(&Step::Skip {
            decl,
            blocked: &blocked,
        });
        self.outcome.failed += 1;
    }

    fn said_failed(&mut self, step: &Step, error: &dyn std::fmt::Display) {
        report::step_failed(step, error);
        self.outcome.failed += 1;
    }

    /// The one deletion path: links no longer declared, the old halves of re-creations, and
    /// everything `down` removes. The guard has already been asked (in the plan); a link it
    /// refused stays, and the run fails.
    fn remove_links(&mut self, plan: &Plan) -> Result<(), Error> {
        for r in &plan.removals {
            if let Some(guard) = &r.blocked {
                let step = Step::Keep {
                    link: LinkRef::owned(&r.owned),
                    guard,
                };
                self.say(&step);
                self.outcome.failed += 1;
            }
        }
        let doomed: Vec<(&Owned, RemovalWhy)> = plan
            .removals
            .iter()
            .filter(|r| r.blocked.is_none())
            .map(|r| (&r.owned, r.why))
            .collect();
        if doomed.is_empty() {
            return Ok(());
        }
        let gone = if self.real() {
            self.delete(&doomed)?
        } else {
            doomed.iter().map(|(o, _)| Ok((*o).clone())).collect()
        };
        for ((owned, why), result) in doomed.iter().zip(gone) {
            let step = Step::Delete {
                link: LinkRef::owned(owned),
                why: *why,
            };
            match result {
                Ok(_) => {
                    self.record.remove(owned.netns.as_deref(), owned.index);
                    self.outcome.deleted += 1;
                    // A re-creation says so when it creates the new link.
                    if *why != RemovalWhy::Recreate {
                        self.say(&step);
                    }
                }
                Err(e) => self.said_failed(&step, &e),
            }
        }
        self.save()
    }

    /// Delete `doomed` (children first) and return, for each, whether it is gone.
    ///
    /// The kernel deletes a link's children with it, so only the topmost doomed links (the
    /// roots) are deleted. Deleting links one by one costs an RCU grace period each (tens of
    /// milliseconds), so where a namespace has several roots they first join a netdev group no
    /// live link uses, the group is checked to hold exactly them, and one request deletes it.
    /// On any doubt the roots are deleted one by one. A fresh look then confirms what is gone.
    fn delete(
        &mut self,
        doomed: &[(&Owned, RemovalWhy)],
    ) -> Result<Vec<Result<Owned, String>>, Error> {
        let doomed_at = |ns: Option<&str>, index: i32| {
            doomed
                .iter()
                .any(|(d, _)| d.netns.as_deref() == ns && d.index == index)
        };
        let world = self.world;
        let roots: Vec<&Owned> = doomed
            .iter()
            .map(|(o, _)| *o)
            .filter(|o| {
                let Some(l) = world.link(o.netns.as_deref(), &o.name) else {
                    return true;
                };
                let parent_doomed = match o.netns {
                    None => l.parent.is_some_and(|p| doomed_at(None, p)),
                    Some(_) => l.parent_elsewhere.is_some_and(|e| doomed_at(None, e.index)),
                };
                !parent_doomed
            })
            .collect();
        let mut by_ns: BTreeMap<Option<String>, Vec<&Owned>> = BTreeMap::new();
        for o in &roots {
            by_ns.entry(o.netns.clone()).or_default().push(o);
        }
        let mut refused: BTreeMap<(Option<String>, i32), KernelError> = BTreeMap::new();
        let mut singles: Vec<&Owned> = Vec::new();
        for (ns, ns_roots) in &by_ns {
            if ns_roots.len() < 2 {
                singles.extend(ns_roots);
                continue;
            }
            match self.delete_as_group(ns.as_deref(), ns_roots)? {
                Some(left) => singles.extend(left),
                None => continue,
            }
        }
        let mut items: Batch = Vec::new();
        for o in &singles {
            items.push((
                o.netns.clone(),
                link::delete(o.index).doing("building a request")?,
            ));
        }
        let results = self.send(items, "deleting links")?;
        for (o, result) in singles.iter().zip(results) {
            match result {
                // Gone already (with a parent deleted before it): what we wanted.
                Ok(())
                | Err(KernelError {
                    errno: libc::ENODEV,
                    ..
                }) => {}
                Err(e) => {
                    refused.insert((o.netns.clone(), o.index), e);
                }
            }
        }
        // What is left of the doomed links, namespace by namespace.
        let mut left: HashSet<(Option<String>, i32)> = HashSet::new();
        let namespaces: HashSet<Option<String>> =
            doomed.iter().map(|(o, _)| o.netns.clone()).collect();
        for ns in namespaces {
            if let Some(now) = self.sockets.snapshot(ns.as_deref(), self.deadline)? {
                left.extend(now.links().map(|l| (ns.clone(), l.index)));
            }
        }
        Ok(doomed
            .iter()
            .map(|(o, _)| {
                let key = (o.netns.clone(), o.index);
                if !left.contains(&key) {
                    return Ok((*o).clone());
                }
                Err(match refused.remove(&key) {
                    Some(e) => kinds::by_name(&o.kind)
                        .filter(|_| e.errno == libc::EOPNOTSUPP)
                        .map_or(e.to_string(), |k| {
                            format!("{e}: {}", kinds::missing_module_hint(k))
                        }),
                    None if roots
                        .iter()
                        .any(|r| r.netns == o.netns && r.index == o.index) =>
                    {
                        "it is still there after it was deleted; run `underlay down` again".into()
                    }
                    None => "it outlived its deleted parent; run `underlay down` again".into(),
                })
            })
            .collect())
    }

    /// Delete `roots` of one namespace as a netdev group. Returns the roots still to delete one
    /// by one: those that did not join the group, or all of them if the group holds anything
    /// else right before the deletion.
    fn delete_as_group<'o>(
        &mut self,
        ns: Option<&str>,
        roots: &[&'o Owned],
    ) -> Result<Option<Vec<&'o Owned>>, Error> {
        let group = unused_group(self.world);
        let mut items: Batch = Vec::new();
        for o in roots {
            let change = LinkChange {
                group: Some(group),
                ..Default::default()
            };
            items.push((
                o.netns.clone(),
                link::change(o.index, change).doing("building a request")?,
            ));
        }
        let grouped = self.send(items, "deleting links")?;
        let mut singles: Vec<&Owned> = Vec::new();
        let mut members: Vec<i32> = Vec::new();
        for (o, result) in roots.iter().zip(&grouped) {
            match result {
                Ok(()) => members.push(o.index),
                Err(_) => singles.push(o),
            }
        }
        // The group must hold exactly underlay's roots: a link that joined it since (however
        // unlikely: the number was unused a moment ago) must not be deleted with them.
        let Some(in_group) = self.sockets.links_in_group(ns, group, self.deadline)? else {
            return Ok(Some(roots.to_vec()));
        };
        let strangers: Vec<String> = in_group
            .iter()
            .filter(|l| !members.contains(&l.index))
            .map(|l| l.name.to_string())
            .collect();
        if !strangers.is_empty() {
            report::warning(&format!(
                "netdev group {group} holds {} besides underlay's links; deleting one by one",
                strangers.join(", ")
            ));
            return Ok(Some(roots.to_vec()));
        }
        let request = link::delete_group(group).doing("building a request")?;
        let result = self.send(vec![(ns.map(str::to_string), request)], "deleting links")?;
        if let Some(Err(e)) = result.first() {
            log::debug!("deleting group {group} failed ({e}); deleting one by one");
            return Ok(Some(roots.to_vec()));
        }
        Ok(Some(singles))
    }

    /// Parents underlay does not manage but a child needs up.
    fn raise_parents(&mut self, plan: &Plan) -> Result<(), Error> {
        let mut items: Batch = Vec::new();
        for u in &plan.parent_ups {
            let change = LinkChange {
                up: Some(true),
                ..Default::default()
            };
            items.push((
                None,
                link::change(u.index, change).doing("building a request")?,
            ));
        }
        let results = self.send(items, "setting parents up")?;
        for (u, result) in plan.parent_ups.iter().zip(results) {
            let step = Step::RaiseParent {
                name: &u.name,
                child: &u.child,
            };
            match result {
                Ok(()) => {
                    self.say(&step);
                    self.outcome.changed += 1;
                }
                Err(e) => self.said_failed(&step, &e),
            }
        }
        Ok(())
    }

    /// Placeholders an interrupted run left, then new namespaces. Each new one is recorded
    /// before anything is made (its name), and again once it exists and before it is mounted
    /// (its identity), so a run killed at any point leaves a record that names what it left.
    fn create_namespaces(&mut self, plan: &Plan) -> Result<(), Error> {
        for step in &plan.namespaces {
            match step {
                NetnsStep::ClearPlaceholder(name) => {
                    let step = Step::ClearPlaceholder { name };
                    if !self.real() {
                        self.say(&step);
                        continue;
                    }
                    match netns::remove_placeholder(name) {
                        Ok(()) => {
                            self.record.namespaces.retain(|n| &n.name != name);
                            self.save()?;
                            self.say(&step);
                        }
                        Err(e) => self.said_failed(&step, &e),
                    }
                }
                NetnsStep::Create(name) => {
                    let step = Step::CreateNetns { name };
                    if !self.real() {
                        self.say(&step);
                        continue;
                    }
                    self.record.note_namespace(name, None, NsState::Intent);
                    self.save()?;
                    let record = &mut *self.record;
                    let made = netns::create(name, |identity| {
                        record.note_namespace(name, Some(identity), NsState::Pending);
                        record.save()
                    });
                    match made {
                        Ok(ns) => {
                            let identity = ns.identity;
                            self.sockets.add_namespace(ns)?;
                            let identity = self.sockets.identity(name).unwrap_or(identity);
                            self.record
                                .note_namespace(name, Some(identity), NsState::Made);
                            self.save()?;
                            self.say(&step);
                        }
                        // Its links then fail to be created, each with its own error.
                        Err(e) => {
                            self.record.namespaces.retain(|n| &n.name != name);
                            self.save()?;
                            self.said_failed(&step, &e);
                        }
                    }
                }
                NetnsStep::Delete(_) | NetnsStep::Keep { .. } => {}
            }
        }
        Ok(())
    }

    /// Creations and changes, one depth at a time. Returns the declared links that are not set
    /// up (by index into the config), whose children and addresses are then skipped.
    fn converge_links(&mut self, plan: &Plan) -> Result<HashSet<usize>, Error> {
        let mut failed: HashSet<usize> = HashSet::new();
        let Some(config) = self.config else {
            return Ok(failed);
        };
        let max_depth = plan.links.iter().map(|l| l.depth).max().unwrap_or(0);
        // The links made or changed, by their place in the plan, to read back at the end.
        let mut made: Vec<usize> = Vec::new();
        for depth in 0..=max_depth {
            let mut batch: Vec<(usize, Option<Owned>)> = Vec::new();
            let mut items: Batch = Vec::new();
            for (n, lp) in plan
                .links
                .iter()
                .enumerate()
                .filter(|(_, l)| l.depth == depth)
            {
                let decl = &config.links[lp.decl];
                let ns = decl.l3.netns.clone();
                let parent_failed = decl
                    .parent
                    .as_deref()
                    .and_then(|p| config.position(p))
                    .filter(|p| failed.contains(p));
                if parent_failed.is_some() && !matches!(lp.action, Action::Blocked(_)) {
                    self.skip_for(decl, decl.parent.clone().unwrap_or_default());
                    failed.insert(lp.decl);
                    continue;
                }
                for d in &lp.unsupported {
                    report::warning(&report::unsupported(decl, d));
                }
                match &lp.action {
                    Action::InSync { .. } | Action::External { .. } => self.outcome.in_sync += 1,
                    Action::Create { index, parent, mac }
                    | Action::Recreate {
                        index, parent, mac, ..
                    } => {
                        let netns_fd = self.sockets.namespace_fd(ns.as_deref());
                        if self.real() && ns.is_some() && netns_fd.is_none() {
                            self.skip_for(
                                decl,
                                format!("netns {}", ns.as_deref().unwrap_or_default()),
                            );
                            failed.insert(lp.decl);
                            continue;
                        }
                        let info_data = decl
                            .settings
                            .create_data()
                            .doing("encoding the link's settings")?;
                        let request = link::create(NewLink {
                            name: decl.name.as_bytes(),
                            kind: decl.kind.name,
                            index: *index,
                            parent: *parent,
                            mtu: crate::plan::creation_mtu(decl),
                            mac: mac.address(),
                            up: decl.up,
                            info_data,
                            netns_fd,
                        })
                        .doing("building a request")?;
                        let owned = Owned {
                            name: decl.name.clone(),
                            index: *index,
                            kind: decl.kind.name.to_string(),
                            parent: parent.unwrap_or(0),
                            netns: ns,
                        };
                        batch.push((n, Some(owned)));
                        // Created from the host (the parent is here); IFLA_NET_NS_FD puts it
                        // in its namespace.
                        items.push((None, request));
                    }
                    Action::Change { index, change, .. } => {
                        batch.push((n, None));
                        items.push((
                            ns,
                            link::change(*index, change.clone()).doing("building a request")?,
                        ));
                    }
                    Action::Conflict { diffs } => {
                        self.say(&Step::LeaveAlone { decl, diffs });
                        failed.insert(lp.decl);
                        self.outcome.failed += 1;
                    }
                    Action::Blocked(blocked) => {
                        self.say(&Step::Skip { decl, blocked });
                        failed.insert(lp.decl);
                        if blocked.is_later() {
                            self.outcome.later += 1;
                        } else {
                            self.outcome.failed += 1;
                        }
                    }
                }
            }
            if batch.is_empty() {
                continue;
            }
            // Record first: a run killed mid-batch leaves entries that name the new links by the
            // ifindex they were created with, in namespaces the record names too.
            for (_, owned) in &batch {
                if let Some(o) = owned {
                    if let Some(ns) = o.netns.as_deref()
                        && let Some(identity) = self.sockets.identity(ns)
                    {
                        self.record
                            .note_namespace(ns, Some(identity), NsState::Used);
                    }
                    self.record.add(o.clone());
                }
            }
            self.save()?;
            let results = self.send(items, "creating and changing links")?;
            for ((n, owned), result) in batch.iter().zip(results) {
                let lp = &plan.links[*n];
                let decl = &config.links[lp.decl];
                let step = match &lp.action {
                    Action::Create { mac, .. } => Step::Create {
                        decl,
                        parent: decl.parent.as_deref(),
                        mac: *mac,
                    },
                    Action::Recreate { mac, diffs, .. } => Step::Recreate {
                        decl,
                        parent: decl.parent.as_deref(),
                        mac: *mac,
                        diffs,
                    },
                    Action::Change { diffs, .. } => Step::Change { decl, diffs },
                    _ => continue,
                };
                match result {
                    Ok(()) => {
                        self.say(&step);
                        made.push(*n);
                        if owned.is_some() {
                            self.outcome.created += 1;
                        } else {
                            self.outcome.changed += 1;
                        }
                    }
                    Err(e) => {
                        if let Some(o) = owned {
                            self.record.remove(o.netns.as_deref(), o.index);
                        }
                        let text = if e.errno == libc::EOPNOTSUPP {
                            format!("{e}: {}", kinds::missing_module_hint(decl.kind))
                        } else {
                            e.to_string()
                        };
                        self.said_failed(&step, &text);
                        failed.insert(lp.decl);
                    }
                }
            }
            self.save()?;
        }
        self.read_back(plan, config, &made)?;
        Ok(failed)
    }

    /// After the links are made and changed, read them back: an attribute the kernel accepted
    /// but did not keep (an older kernel drops what it does not know, without a word) is said
    /// at once, with the kernel version it needs where that is known.
    fn read_back(&mut self, plan: &Plan, config: &Config, made: &[usize]) -> Result<(), Error> {
        if !self.real() || made.is_empty() {
            return Ok(());
        }
        let mut namespaces: Vec<Option<String>> = made
            .iter()
            .map(|n| config.links[plan.links[*n].decl].l3.netns.clone())
            .collect();
        namespaces.sort();
        namespaces.dedup();
        for ns in namespaces {
            let Some(now) = self.sockets.snapshot(ns.as_deref(), self.deadline)? else {
                continue;
            };
            for n in made {
                let lp = &plan.links[*n];
                let decl = &config.links[lp.decl];
                if decl.l3.netns != ns {
                    continue;
                }
                let Some(live) = now.by_name(&decl.name) else {
                    continue;
                };
                let mut diffs = live
                    .settings_of(decl.kind)
                    .map(|s| decl.settings.compare(s))
                    .unwrap_or_default();
                if let Some(mtu) = crate::plan::creation_mtu(decl).or(decl.mtu)
                    && mtu != live.mtu
                {
                    diffs.push(kinds::Difference::new(
                        kinds::Attribute::Mtu,
                        live.mtu,
                        mtu,
                        kinds::Fix::InPlace,
                    ));
                }
                for d in diffs {
                    let line = match d.fix {
                        kinds::Fix::NeedsKernel(_) => report::unsupported(decl, &d),
                        _ => format!(
                            "the kernel did not keep {} {} on {} (it has {})",
                            d.attribute,
                            d.want,
                            LinkRef::of(decl),
                            d.have
                        ),
                    };
                    report::warning(&line);
                }
            }
        }
        Ok(())
    }

    /// Addresses and routes, in bring-up order: stale ones out, then addresses in, then routes
    /// (a gateway is only reachable once the address that covers it is there). Each address is
    /// recorded before it is added (for kernels that drop its `IFA_PROTO` tag), and forgotten
    /// once removed.
    fn converge_l3(&mut self, plan: &Plan, failed: &HashSet<usize>) -> Result<(), Error> {
        let Some(config) = self.config else {
            return Ok(());
        };
        type Phase<'s> = Vec<(Option<String>, Request, Step<'s>, Option<OwnedAddress>)>;
        let mut removals: Phase = Vec::new();
        let mut addresses: Phase = Vec::new();
        let mut routes: Phase = Vec::new();
        for lp in &plan.links {
            let decl = &config.links[lp.decl];
            let (Some(l3), Some(index)) = (&lp.l3, lp.action.index()) else {
                continue;
            };
            if failed.contains(&lp.decl) {
                continue;
            }
            for (net, held) in &l3.held {
                self.say(&Step::AddressHeld { decl, net, held });
                self.outcome.failed += 1;
            }
            let ns = decl.l3.netns.clone();
            let oif = index as u32;
            let owned = |net: &ipnet::IpNet| OwnedAddress {
                netns: ns.clone(),
                index,
                net: *net,
            };
            for r in &l3.remove_routes {
                let request = route::delete(oif, r).doing("building a request")?;
                removals.push((
                    ns.clone(),
                    request,
                    Step::RemoveRoute { decl, route: r },
                    None,
                ));
            }
            for a in &l3.remove_addresses {
                let request = addr::delete(oif, a).doing("building a request")?;
                let step = Step::RemoveAddress { decl, net: a };
                removals.push((ns.clone(), request, step, Some(owned(a))));
            }
            for a in &l3.add_addresses {
                let options = addr::AddressOptions {
                    nodad: a.nodad,
                    broadcast: a.broadcast(),
                    protocol: Some(route::RTPROT_UNDERLAY),
                };
                let request = addr::add(oif, &a.net, options).doing("building a request")?;
                let step = Step::AddAddress { decl, net: &a.net };
                addresses.push((ns.clone(), request, step, Some(owned(&a.net))));
            }
            for r in &l3.add_routes {
                let request = route::add(oif, r).doing("building a request")?;
                routes.push((ns.clone(), request, Step::AddRoute { decl, route: r }, None));
            }
        }
        for (phase, adding) in [(removals, false), (addresses, true), (routes, true)] {
            if phase.is_empty() {
                continue;
            }
            if adding {
                for (_, _, _, owned) in &phase {
                    if let Some(a) = owned {
                        self.record.addresses.insert(a.clone());
                    }
                }
                self.save()?;
            }
            let mut items: Batch = Vec::new();
            let mut rest = Vec::new();
            for (ns, request, step, owned) in phase {
                items.push((ns, request));
                rest.push((step, owned));
            }
            let results = self.send(items, "converging addresses and routes")?;
            for ((step, owned), result) in rest.iter().zip(results) {
                match result {
                    Ok(()) => {
                        if !adding && let Some(a) = owned {
                            self.record.addresses.remove(a);
                        }
                        self.say(step);
                        self.outcome.changed += 1;
                    }
                    Err(e) => {
                        if adding && let Some(a) = owned {
                            self.record.addresses.remove(a);
                        }
                        match step {
                            // The kernel's EACCES for an IPv6 address says nothing of why.
                            Step::AddAddress { decl, net }
                                if e.errno == libc::EACCES && net.addr().is_ipv6() =>
                            {
                                let why = report::ipv6_disabled(&decl.name);
                                self.said_failed(step, &why);
                            }
                            _ => self.said_failed(step, &e),
                        }
                    }
                }
            }
            self.save()?;
        }
        Ok(())
    }

    /// The namespaces `down` deletes, after the links in them: only if underlay made them and
    /// nothing else lives there, checked again right before.
    fn delete_namespaces(&mut self, plan: &Plan) -> Result<(), Error> {
        for step in &plan.namespaces {
            match step {
                NetnsStep::Create(_) | NetnsStep::ClearPlaceholder(_) => {}
                NetnsStep::Keep { name, why } => self.say(&Step::KeepNetns { name, why }),
                NetnsStep::Delete(n) => {
                    if !self.real() {
                        self.say(&Step::DeleteNetns { name: &n.name });
                        continue;
                    }
                    match self.still_unused(n)? {
                        Some(why) => self.say(&Step::KeepNetns {
                            name: &n.name,
                            why: &why,
                        }),
                        None => {
                            self.sockets.remove_namespace(&n.name);
                            let step = Step::DeleteNetns { name: &n.name };
                            match netns::remove(&n.name) {
                                Ok(()) => {
                                    self.record.namespaces.retain(|r| r != n);
                                    self.save()?;
                                    self.outcome.deleted += 1;
                                    self.say(&step);
                                }
                                Err(e) => self.said_failed(&step, &e),
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Why a namespace underlay made is still in use, right before deleting it; `None` if not.
    fn still_unused(&mut self, n: &RecordedNamespace) -> Result<Option<String>, Error> {
        let Some(ns) = netns::open(&n.name)? else {
            return Ok(Some("it is gone already".into()));
        };
        let inode = ns.inode();
        self.sockets.remove_namespace(&n.name);
        let rtnl = self.sockets.add_namespace(ns)?;
        let socket = rtnl.inode();
        if !n.is(self.sockets.identity(&n.name).as_ref()) {
            return Ok(Some("it is someone else's now".into()));
        }
        let rtnl = self
            .sockets
            .socket(Some(&n.name))
            .ok_or_else(|| Error::os("netns vanished", std::io::ErrorKind::NotFound))?;
        let links = crate::live::Snapshot::take(rtnl, self.deadline)
            .doing(&format!("reading the link table of netns {}", n.name))?;
        let staying: Vec<String> = links
            .links()
            .filter(|l| !l.name.is("lo"))
            .map(|l| l.name.to_string())
            .collect();
        if !staying.is_empty() {
            return Ok(Some(format!(
                "links still live there ({})",
                staying.join(", ")
            )));
        }
        Ok(netns::in_use(inode, socket))
    }
}

/// A netdev group number no live link uses, to gather the links a run deletes in one batch.
fn unused_group(world: &World) -> u32 {
    let mut group = u32::from_ne_bytes(crate::random_bytes::<4>()) | 0x4000_0000;
    let used = |g: u32| {
        world.host.links.links().any(|l| l.group == g)
            || world
                .named
                .values()
                .any(|v| v.links.links().any(|l| l.group == g))
    };
    while used(group) || group == u32::MAX {
        group = group.wrapping_add(1) | 0x4000_0000;
    }
    group
}
