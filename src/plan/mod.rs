//! The plan: what to do to each declared link, worked out from the validated config, one live
//! snapshot and the ownership record, before anything is changed. `apply` carries it out;
//! `check`, `show` and `apply --dry-run` only print it.

pub mod l3;

use std::collections::HashMap;

use crate::config::{Config, LinkDecl};
use crate::kinds::{Difference, MacChoice, yes_no};
use crate::live::World;
use crate::mac::{self, MacAddr, MacSeed};
use crate::netlink::link::{LinkChange, LiveLink};
use crate::record::{Owned, Record};

pub use l3::L3Plan;

/// What happens to one declared link.
#[derive(Debug)]
pub enum Action {
    /// Present and matching. `adopted`: it existed before underlay and is not underlay's.
    InSync { index: i32, adopted: bool },
    Create {
        index: i32,
        parent: Option<i32>,
        mac: Option<MacAddr>,
    },
    /// Only attributes that can change in place differ.
    Change {
        index: i32,
        diffs: Vec<Difference>,
        change: LinkChange,
    },
    /// underlay's own link differs in kind, parent, VLAN id or protocol: delete and create.
    Recreate {
        old: i32,
        index: i32,
        parent: Option<i32>,
        mac: Option<MacAddr>,
        diffs: Vec<Difference>,
    },
    /// Someone else's link with this name differs in a way underlay could only fix by deleting
    /// it, which it never does.
    Conflict { diffs: Vec<Difference> },
    /// Cannot be done this run; `missing` names a parent that does not exist.
    Blocked {
        reason: String,
        missing: Option<String>,
        /// It waits for a hotplug parent (`[global] hotplug-parents`) that is not there yet:
        /// expected, not a failure.
        later: bool,
    },
    /// An implicit PARENT.ID parent that already exists and is not underlay's: used, not managed.
    External,
}

impl Action {
    /// The link's ifindex once the plan is carried out, if it will exist.
    pub fn index(&self) -> Option<i32> {
        match self {
            Action::InSync { index, .. }
            | Action::Change { index, .. }
            | Action::Create { index, .. }
            | Action::Recreate { index, .. } => Some(*index),
            _ => None,
        }
    }

    /// Whether the link will be underlay's own after this run.
    fn creates(&self) -> bool {
        matches!(self, Action::Create { .. } | Action::Recreate { .. })
    }
}

#[derive(Debug)]
pub struct LinkPlan {
    /// Index into `Config::links`.
    pub decl: usize,
    /// 0 for links whose parent is not declared, parent's depth + 1 otherwise.
    pub depth: usize,
    pub action: Action,
    /// Addresses and routes to converge, for links with layer-3 keys.
    pub l3: Option<L3Plan>,
}

/// A link underlay owns but the config no longer declares.
#[derive(Debug)]
pub struct Removal {
    pub owned: Owned,
    /// Why it stays after all (a foreign link sits on it), if it does.
    pub refused: Option<String>,
}

/// A parent that is not underlay's but is down while a child is meant to be up.
#[derive(Debug)]
pub struct ParentUp {
    pub index: i32,
    pub name: String,
    pub child: String,
}

#[derive(Debug, Default)]
pub struct Plan {
    pub links: Vec<LinkPlan>,
    pub removals: Vec<Removal>,
    pub parent_ups: Vec<ParentUp>,
    /// Named namespaces that do not exist yet; created (and recorded) before their links.
    pub new_namespaces: Vec<String>,
}

/// The ifindexes underlay gives the links it creates start here, far above where the kernel
/// numbers links by itself (it counts up from 1, one per link ever created in the namespace).
/// If the kernel handed out an index underlay had used before, a link someone else made with the
/// same name, kind and parent after underlay's was deleted behind its back could match a stale
/// record entry; with separate ranges it cannot. It also makes underlay's links easy to spot.
pub const FIRST_OWN_INDEX: i32 = 1 << 20;

pub struct Inputs<'a> {
    pub config: &'a Config,
    pub world: &'a World,
    pub record: &'a Record,
    /// The machine-id, if the machine has one; otherwise stable MACs come from parents.
    pub machine_id: Option<[u8; 16]>,
    /// `--parent`: only links that sit on this interface, and no removals.
    pub scope: Option<&'a str>,
    /// Where to get random MACs from (`mac = random`).
    pub random_mac: &'a dyn Fn() -> MacAddr,
}

/// The declared links in scope: all, or those on `--parent`.
pub fn in_scope(config: &Config, scope: Option<&str>) -> Vec<usize> {
    match scope {
        None => (0..config.links.len()).collect(),
        Some(root) => {
            let names = config.links_on(root);
            (0..config.links.len())
                .filter(|&i| names.contains(&config.links[i].name.as_str()))
                .collect()
        }
    }
}

/// Parents that no declared link provides: interfaces that must exist (NICs, bridges, ...).
pub fn external_parents(config: &Config, scope: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in in_scope(config, scope) {
        if let Some(parent) = &config.links[i].parent
            && config.link(parent).is_none()
            && !out.contains(parent)
        {
            out.push(parent.clone());
        }
    }
    out
}

/// The named namespaces the links in scope live in.
pub fn namespaces(config: &Config, scope: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in in_scope(config, scope) {
        if let Some(ns) = &config.links[i].l3.netns
            && !out.contains(ns)
        {
            out.push(ns.clone());
        }
    }
    out
}

pub fn make(inputs: &Inputs) -> Plan {
    let config = inputs.config;
    let world = inputs.world;
    let host = &world.host.links;
    let mut plan = Plan::default();
    let own_max = inputs
        .record
        .links
        .iter()
        .map(|o| o.index)
        .max()
        .unwrap_or(0);
    let mut next_index = world.max_index().max(own_max).max(FIRST_OWN_INDEX - 1) + 1;
    let mut take_index = || {
        let index = next_index;
        next_index += 1;
        index
    };
    // What each declared name will be once the plan is carried out: its ifindex, or why not.
    let mut outcome: HashMap<&str, Result<i32, String>> = HashMap::new();
    let mut depth: HashMap<&str, usize> = HashMap::new();
    // Links that wait for a hotplug parent, directly or through other declared links.
    let mut later: Vec<&str> = Vec::new();

    for ns in namespaces(config, inputs.scope) {
        if world.view(Some(&ns)).is_none() {
            plan.new_namespaces.push(ns);
        }
    }

    for i in in_scope(config, inputs.scope) {
        let decl = &config.links[i];
        let netns = decl.l3.netns.as_deref();
        let d = decl
            .parent
            .as_deref()
            .and_then(|p| depth.get(p))
            .map_or(0, |d| d + 1);
        depth.insert(&decl.name, d);

        // Resolve the parent: a declared link's outcome, or a live interface in the host.
        let parent: Result<Option<i32>, (String, Option<String>, bool)> = match decl
            .parent
            .as_deref()
        {
            None => Ok(None),
            Some(p) => match outcome.get(p) {
                Some(Ok(index)) => Ok(Some(*index)),
                Some(Err(why)) => Err((format!("parent {p} {why}"), None, later.contains(&p))),
                None => match host.by_name(p) {
                    Some(l) => Ok(Some(l.index)),
                    None if config.hotplug_parents.iter().any(|h| h == p) => Err((
                        format!(
                            "parent {p} is not there yet (a hotplug parent: its links are made when it appears)"
                        ),
                        Some(p.to_string()),
                        true,
                    )),
                    None => Err((
                        format!("parent {p} does not exist"),
                        Some(p.to_string()),
                        false,
                    )),
                },
            },
        };
        let parent = match parent {
            Ok(parent) => parent,
            Err((reason, missing, is_later)) => {
                if is_later {
                    later.push(&decl.name);
                }
                outcome.insert(&decl.name, Err("was not set up".into()));
                plan.links.push(LinkPlan {
                    decl: i,
                    depth: d,
                    action: Action::Blocked {
                        reason,
                        missing,
                        later: is_later,
                    },
                    l3: None,
                });
                continue;
            }
        };

        let live = world.link(netns, &decl.name);
        let action = match live {
            None => Action::Create {
                index: take_index(),
                parent,
                mac: creation_mac(decl, inputs),
            },
            Some(l) if decl.implicit && !inputs.record.owns(netns, l) => Action::External,
            Some(l) => {
                let owned = inputs.record.owns(netns, l);
                let diffs = differences(decl, l, parent, owned, inputs);
                if diffs.is_empty() {
                    Action::InSync {
                        index: l.index,
                        adopted: !owned,
                    }
                } else if diffs.iter().all(|d| d.in_place) {
                    Action::Change {
                        index: l.index,
                        change: change_for(decl, l, &diffs, inputs),
                        diffs,
                    }
                } else if !owned {
                    Action::Conflict { diffs }
                } else if let Some(foreign) =
                    foreign_descendant(l.index, netns, world, inputs.record)
                {
                    Action::Blocked {
                        later: false,
                        reason: format!(
                            "it must be re-created ({}), but the foreign link {foreign} sits on it and would be deleted too",
                            describe(&diffs)
                        ),
                        missing: None,
                    }
                } else {
                    Action::Recreate {
                        old: l.index,
                        index: take_index(),
                        parent,
                        mac: creation_mac(decl, inputs),
                        diffs,
                    }
                }
            }
        };
        let result = match &action {
            Action::External => live.map(|l| l.index).ok_or_else(|| "vanished".to_string()),
            Action::Conflict { .. } => Err("is a foreign link that differs from the config".into()),
            a => a.index().ok_or_else(|| "was not set up".to_string()),
        };
        outcome.insert(&decl.name, result);

        // A child that should be up needs its parent up; bring up parents underlay does not
        // manage (as Docker's macvlan driver does), never down.
        if decl.up
            && let Some(p) = decl.parent.as_deref()
            && config.link(p).is_none_or(|pd| pd.implicit)
            && let Some(pl) = host.by_name(p)
            && !pl.up
            && !plan.parent_ups.iter().any(|u| u.index == pl.index)
        {
            plan.parent_ups.push(ParentUp {
                index: pl.index,
                name: p.to_string(),
                child: decl.name.clone(),
            });
        }
        let l3 = action.index().and_then(|index| {
            // A link created this run (or underlay's own) gets exactly the configured set;
            // a pre-existing one only gains what is missing.
            let owned = action.creates() || live.is_some_and(|l| inputs.record.owns(netns, l));
            let existing = if action.creates() {
                None
            } else {
                world.view(netns)
            };
            l3::plan(decl, index, existing, owned)
        });
        plan.links.push(LinkPlan {
            decl: i,
            depth: d,
            action,
            l3,
        });
    }

    if inputs.scope.is_none() {
        for owned in &inputs.record.links {
            let ns = owned.netns.as_deref();
            let Some(l) = world.link(ns, &owned.name).filter(|l| owned.matches(ns, l)) else {
                continue;
            };
            let declared = config
                .link(&owned.name)
                .is_some_and(|d| d.l3.netns.as_deref() == ns);
            if declared {
                continue;
            }
            let refused = foreign_descendant(l.index, ns, world, inputs.record).map(|f| {
                format!(
                    "the foreign link {f} sits on it, and deleting {} would delete {f} too",
                    owned.name
                )
            });
            plan.removals.push(Removal {
                owned: owned.clone(),
                refused,
            });
        }
    }
    plan
}

/// A link that sits on `index` in `netns` (at any depth, in any namespace) and that underlay
/// does not own, if any: deleting `index` would delete it too.
pub fn foreign_descendant(
    index: i32,
    netns: Option<&str>,
    world: &World,
    record: &Record,
) -> Option<String> {
    let mut on_top: Vec<(Option<&str>, &LiveLink)> = Vec::new();
    if let Some(view) = world.view(netns) {
        on_top.extend(view.links.children(index).map(|c| (netns, c)));
    }
    // Links in named namespaces report host parents as "elsewhere".
    if netns.is_none() {
        for (name, view) in &world.named {
            on_top.extend(
                view.links
                    .links_on_host_parent(index)
                    .map(|c| (Some(name.as_str()), c)),
            );
        }
    }
    for (ns, child) in on_top {
        if !record.owns(ns, child) {
            return Some(match ns {
                Some(n) => format!("{} (netns {n})", child.name),
                None => child.name.clone(),
            });
        }
        if let Some(found) = foreign_descendant(child.index, ns, world, record) {
            return Some(found);
        }
    }
    None
}

pub fn describe(diffs: &[Difference]) -> String {
    diffs
        .iter()
        .map(|d| format!("{}: want {}, have {}", d.attribute, d.want, d.have))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The MAC to put in the creation message itself, so udev never sees another one.
fn creation_mac(decl: &LinkDecl, inputs: &Inputs) -> Option<MacAddr> {
    match decl.mac {
        MacChoice::Kernel => None,
        MacChoice::Fixed(mac) => Some(mac),
        MacChoice::Random => Some((inputs.random_mac)()),
        MacChoice::Stable => stable_mac(decl, inputs),
    }
}

/// The MAC a link should have on every boot, if the config asks for one that can be checked.
fn expected_mac(decl: &LinkDecl, inputs: &Inputs) -> Option<MacAddr> {
    match decl.mac {
        MacChoice::Fixed(mac) => Some(mac),
        MacChoice::Stable => stable_mac(decl, inputs),
        MacChoice::Kernel | MacChoice::Random => None,
    }
}

fn stable_mac(decl: &LinkDecl, inputs: &Inputs) -> Option<MacAddr> {
    let seed = match inputs.machine_id {
        Some(id) => MacSeed::MachineId(id),
        None => MacSeed::ParentMac(root_parent_mac(decl, inputs)?),
    };
    Some(mac::stable_mac(&seed, &decl.name))
}

/// Without a machine-id (OpenWrt), the seed is the permanent MAC of the NIC at the bottom of the
/// link's parent chain: stable across reboots, and different on every box.
fn root_parent_mac(decl: &LinkDecl, inputs: &Inputs) -> Option<MacAddr> {
    let mut name = decl.parent.as_deref()?;
    for _ in 0..inputs.config.links.len() + 1 {
        match inputs.config.link(name).and_then(|d| d.parent.as_deref()) {
            Some(up) => name = up,
            None => break,
        }
    }
    let root = inputs.world.host.links.by_name(name)?;
    root.permanent_mac.or(root.mac)
}

/// Every difference between `decl` and the live link `l` whose parent should be `parent`.
/// `owned`: the link is underlay's; an adopted one keeps its MAC unless the config names one.
pub fn differences(
    decl: &LinkDecl,
    l: &LiveLink,
    parent: Option<i32>,
    owned: bool,
    inputs: &Inputs,
) -> Vec<Difference> {
    let mut diffs = Vec::new();
    let kind = decl.kind.name();
    if l.kind.as_deref() != Some(kind) {
        diffs.push(Difference::new(
            "kind",
            kind,
            l.kind.as_deref().unwrap_or("none (a physical interface?)"),
            false,
        ));
        return diffs;
    }
    // A link in a named namespace reports its host-side parent as "elsewhere".
    let live_parent = if decl.l3.netns.is_some() {
        l.parent_elsewhere
    } else {
        l.parent
    };
    if live_parent != parent {
        let name_of = |index: Option<i32>| match index {
            None => "none".to_string(),
            Some(i) => inputs
                .world
                .host
                .links
                .by_index(i)
                .map(|p| p.name.clone())
                .unwrap_or_else(|| format!("ifindex {i}")),
        };
        let want = decl.parent.clone().unwrap_or_else(|| "none".into());
        let mut have = name_of(live_parent);
        if have == want {
            have.push_str(" (an earlier one, since re-created)");
        }
        diffs.push(Difference::new("parent", want, have, false));
    }
    match decl.kind.decode(&l.info_data) {
        Ok(settings) => diffs.extend(decl.settings.compare(settings.as_ref())),
        Err(e) => log::debug!("{}: cannot read its {kind} settings: {e}", decl.name),
    }
    if let Some(mtu) = decl.mtu
        && mtu != l.mtu
    {
        diffs.push(Difference::new("mtu", mtu, l.mtu, true));
    }
    if let Some(mac) = expected_mac(decl, inputs)
        && (owned || decl.mac_explicit)
        && Some(mac) != l.mac
    {
        let have = l.mac.map_or("none".to_string(), |m| m.to_string());
        diffs.push(Difference::new("mac", mac, have, true));
    }
    if decl.up != l.up {
        diffs.push(Difference::new("up", yes_no(decl.up), yes_no(l.up), true));
    }
    diffs
}

/// The in-place change that removes `diffs`.
fn change_for(decl: &LinkDecl, l: &LiveLink, diffs: &[Difference], inputs: &Inputs) -> LinkChange {
    let mut change = LinkChange::default();
    let mut kind_specific = false;
    for d in diffs {
        match d.attribute {
            "mtu" => change.mtu = decl.mtu,
            "mac" => change.mac = expected_mac(decl, inputs),
            "up" => change.up = Some(decl.up),
            _ => kind_specific = true,
        }
    }
    if kind_specific
        && let Ok(live_settings) = decl.kind.decode(&l.info_data)
        && let Ok(Some(data)) = decl.settings.change_data(live_settings.as_ref())
    {
        change.info = Some((decl.kind.name().to_string(), data));
    }
    change
}

/// `check`: one line per difference, `NAME: ATTRIBUTE: want X, have Y`.
pub fn drift(plan: &Plan, config: &Config) -> Vec<String> {
    let mut lines = Vec::new();
    for ns in &plan.new_namespaces {
        lines.push(format!("netns {ns}: namespace: want present, have absent"));
    }
    for lp in &plan.links {
        let name = &config.links[lp.decl].name;
        match &lp.action {
            Action::InSync { .. } | Action::External => {}
            Action::Create { .. } => lines.push(format!("{name}: link: want present, have absent")),
            Action::Change { diffs, .. }
            | Action::Recreate { diffs, .. }
            | Action::Conflict { diffs } => {
                for d in diffs {
                    lines.push(format!(
                        "{name}: {}: want {}, have {}",
                        d.attribute, d.want, d.have
                    ));
                }
            }
            Action::Blocked { later: true, .. } => {}
            Action::Blocked {
                missing: Some(p), ..
            } => {
                lines.push(format!("{name}: parent: want {p}, have absent"));
            }
            Action::Blocked { reason, .. } => lines.push(format!("{name}: {reason}")),
        }
        if let Some(l3) = &lp.l3
            && !matches!(lp.action, Action::Create { .. })
        {
            lines.extend(l3.drift(name));
        }
    }
    for u in &plan.parent_ups {
        lines.push(format!(
            "{}: up: want yes (parent of {}), have no",
            u.name, u.child
        ));
    }
    for r in &plan.removals {
        lines.push(format!(
            "{}: link: want absent (no longer declared; underlay created it), have present",
            r.owned.name
        ));
    }
    lines
}

#[cfg(test)]
mod tests;
