//! The plan: every change a run would make, worked out from the validated config, one live
//! snapshot and the ownership record before anything is changed. `apply` carries it out;
//! `check`, `show` and `apply --dry-run` print it. `down` is a plan too (`teardown`): removals
//! only, carried out by the same executor, through the same guard.

pub mod guard;
pub mod l3;

use std::collections::{HashMap, HashSet};

use crate::config::{Config, LinkDecl};
use crate::kinds::{Attribute, Difference, Fix, MacChoice, yes_no};
use crate::live::{LiveKind, LiveLink, Snapshot, World};
use crate::mac::{self, MacAddr, MacSeed};
use crate::netlink::NetlinkError;
use crate::netlink::link::LinkChange;
use crate::record::{NsState, Owned, Record, RecordedNamespace};

pub use guard::Guard;
pub use l3::L3Plan;

/// The MAC a new link is created with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewMac {
    /// The kernel's choice (a VLAN inherits its parent's).
    Kernel,
    /// A fixed or stable MAC.
    Chosen(MacAddr),
    /// `mac = random`: drawn when the plan is made, shown as "a random MAC".
    Random(MacAddr),
}

impl NewMac {
    pub fn address(self) -> Option<MacAddr> {
        match self {
            NewMac::Kernel => None,
            NewMac::Chosen(m) | NewMac::Random(m) => Some(m),
        }
    }
}

/// Why a declared link cannot be set up this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocked {
    /// Its external parent does not exist.
    ParentMissing { parent: String },
    /// Its external parent is a hotplug parent that is not there yet: expected, not a failure.
    ParentLater { parent: String },
    /// Its declared parent will not be set up this run.
    ParentBlocked { parent: String, later: bool },
    /// It must be re-created, but something else sits on it and would go with it.
    Guarded {
        guard: Guard,
        diffs: Vec<Difference>,
    },
    /// Its change could not be put into a netlink message.
    Unencodable { diffs: Vec<Difference>, why: String },
    /// Its namespace's name holds something else.
    NotANamespace { netns: String, what: String },
    /// underlay made it, and someone renamed it: the link under the new name still holds what
    /// a new one would need (its MAC).
    Renamed { now: String },
    /// Its parent is of its own family (a macvlan on a macvlan): the kernel would put it on the
    /// parent's parent.
    Flattened { parent: String, kind: String },
    /// The kernel would refuse to make it, for `why`; `fix` says what to change.
    KernelWouldRefuse { why: String, fix: String },
}

impl Blocked {
    /// Expected and harmless: a hotplug parent that is not there yet.
    pub fn is_later(&self) -> bool {
        matches!(
            self,
            Blocked::ParentLater { .. } | Blocked::ParentBlocked { later: true, .. }
        )
    }
}

/// What happens to one declared link.
#[derive(Debug)]
pub enum Action {
    /// Present and matching. `adopted`: it existed before underlay and is not underlay's.
    InSync { index: i32, adopted: bool },
    Create {
        index: i32,
        parent: Option<i32>,
        mac: NewMac,
    },
    /// Only attributes that can change in place differ.
    Change {
        index: i32,
        diffs: Vec<Difference>,
        change: LinkChange,
    },
    /// underlay's own link differs in something only a new link can have: delete and create.
    /// The old link's deletion is among the plan's removals.
    Recreate {
        old: i32,
        index: i32,
        parent: Option<i32>,
        mac: NewMac,
        diffs: Vec<Difference>,
    },
    /// Someone else's link with this name differs in a way underlay could only fix by deleting
    /// it, which it never does.
    Conflict { diffs: Vec<Difference> },
    /// Cannot be done this run.
    Blocked(Blocked),
    /// An implicit PARENT.ID parent that exists and is not underlay's: used, not managed.
    External { index: i32 },
}

impl Action {
    /// The link's ifindex once the plan is carried out, if it will exist.
    pub fn index(&self) -> Option<i32> {
        match self {
            Action::InSync { index, .. }
            | Action::Change { index, .. }
            | Action::Create { index, .. }
            | Action::Recreate { index, .. }
            | Action::External { index } => Some(*index),
            Action::Conflict { .. } | Action::Blocked(_) => None,
        }
    }

    /// Whether the link is made new this run.
    pub fn creates(&self) -> bool {
        matches!(self, Action::Create { .. } | Action::Recreate { .. })
    }

    /// Whether carrying it out changes anything.
    pub fn changes(&self) -> bool {
        matches!(
            self,
            Action::Create { .. } | Action::Recreate { .. } | Action::Change { .. }
        )
    }
}

#[derive(Debug)]
pub struct LinkPlan {
    /// Index into `Config::links`.
    pub decl: usize,
    /// What the config asks for that this kernel does not have (said, not done).
    pub unsupported: Vec<Difference>,
    /// 0 for links whose parent is not declared, parent's depth + 1 otherwise.
    pub depth: usize,
    pub action: Action,
    /// Addresses and routes to converge, for links with layer-3 keys.
    pub l3: Option<L3Plan>,
}

/// Why one of underlay's links is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemovalWhy {
    /// The config no longer declares it.
    Undeclared,
    /// `underlay down`.
    Down,
    /// The old half of a re-creation.
    Recreate,
}

/// One of underlay's links to delete.
#[derive(Debug)]
pub struct Removal {
    pub owned: Owned,
    pub why: RemovalWhy,
    /// Something else sits on it: it stays, and the run fails.
    pub blocked: Option<Guard>,
}

/// A parent that is not underlay's but is down while a child is meant to be up.
#[derive(Debug)]
pub struct ParentUp {
    pub index: i32,
    pub name: String,
    pub child: String,
}

/// What happens to a named network namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetnsStep {
    /// A run making it was killed before the mount: the placeholder file it left goes.
    ClearPlaceholder(String),
    /// It does not exist: made (and recorded) before the links that go in it.
    Create(String),
    /// underlay made it and nothing else uses it: deleted after the links in it.
    Delete(RecordedNamespace),
    /// underlay made it, but something still uses it.
    Keep { name: String, why: String },
}

#[derive(Debug, Default)]
pub struct Plan {
    /// Deletions first, children before parents; the executor works out the batches.
    pub removals: Vec<Removal>,
    pub parent_ups: Vec<ParentUp>,
    pub namespaces: Vec<NetnsStep>,
    pub links: Vec<LinkPlan>,
}

impl Plan {
    /// Whether carrying out the plan changes nothing (blocked work aside).
    pub fn is_noop(&self) -> bool {
        self.removals.iter().all(|r| r.blocked.is_some())
            && self.parent_ups.is_empty()
            && self
                .namespaces
                .iter()
                .all(|n| matches!(n, NetnsStep::Keep { .. }))
            && self
                .links
                .iter()
                .all(|l| !l.action.changes() && l.l3.as_ref().is_none_or(|p| p.is_empty()))
    }

    /// Whether the plan deletes a link (so the guard must have seen everything).
    pub fn deletes(&self) -> bool {
        !self.removals.is_empty()
    }
}

/// The ifindexes underlay gives the links it creates start here, far above where the kernel
/// numbers links by itself (it counts up from 1, one per link ever created in the namespace).
/// If the kernel handed out an index underlay had used before, a link someone else made with the
/// same name, kind and parent after underlay's was deleted behind its back could match a stale
/// record entry; with separate ranges it cannot. It also makes underlay's links easy to spot.
pub const FIRST_OWN_INDEX: i32 = 1 << 20;

/// The ifindexes for the links a run creates: from past the last one underlay recorded upwards
/// (an index is not reused while the record remembers it), skipping every index in use in any
/// namespace underlay looks at. A foreign link near the top of the range cannot make the next
/// index overflow: the search wraps once to `FIRST_OWN_INDEX`.
struct IndexPool<'a> {
    next: i32,
    world: &'a World,
    recorded: HashSet<i32>,
    wrapped: bool,
}

impl<'a> IndexPool<'a> {
    fn new(world: &'a World, record: &Record) -> IndexPool<'a> {
        let recorded: HashSet<i32> = record.indexes().collect();
        let next = recorded
            .iter()
            .max()
            .map_or(FIRST_OWN_INDEX, |m| m.saturating_add(1))
            .max(FIRST_OWN_INDEX);
        IndexPool {
            next,
            world,
            recorded,
            wrapped: false,
        }
    }

    fn take(&mut self) -> i32 {
        loop {
            let index = self.next;
            if index == i32::MAX {
                if self.wrapped {
                    // Every index is taken: the kernel will say so.
                    return index;
                }
                self.wrapped = true;
                self.next = FIRST_OWN_INDEX;
                continue;
            }
            self.next += 1;
            if !self.world.index_used(index) && !self.recorded.contains(&index) {
                return index;
            }
        }
    }
}

pub struct Inputs<'a> {
    pub config: &'a Config,
    pub world: &'a World,
    pub record: &'a Record,
    /// The machine-id, if the machine has one; otherwise stable MACs come from parents.
    pub machine_id: Option<[u8; 16]>,
    /// `--parent`: only links that sit on this interface (and it, if declared), no removals.
    pub scope: Option<&'a str>,
    /// Where to get random MACs from (`mac = random`).
    pub random_mac: &'a dyn Fn() -> MacAddr,
}

/// The declared links in scope: all, or `--parent`'s and those that sit on it.
pub fn in_scope(config: &Config, scope: Option<&str>) -> Vec<usize> {
    match scope {
        None => (0..config.links.len()).collect(),
        Some(root) => {
            let names = config.links_on(root);
            (0..config.links.len())
                .filter(|&i| {
                    let name = config.links[i].name.as_str();
                    name == root || names.contains(&name)
                })
                .collect()
        }
    }
}

/// Parents that no declared link provides: interfaces that must exist (NICs, bridges, ...).
/// An implied PARENT.ID link that exists already is used as it is, so its own parent is not
/// needed.
pub fn external_parents(config: &Config, scope: Option<&str>, host: &Snapshot) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in in_scope(config, scope) {
        let decl = &config.links[i];
        if decl.implicit && host.by_name(&decl.name).is_some() {
            continue;
        }
        if let Some(parent) = &decl.parent
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

/// The removal of one of underlay's links, with the one guard every deletion goes through.
/// It is named as it is called now (someone may have renamed it).
fn removal(
    owned: &Owned,
    live: &LiveLink,
    why: RemovalWhy,
    world: &World,
    record: &Record,
) -> Removal {
    let mut owned = owned.clone();
    owned.name = live.name.to_string();
    Removal {
        blocked: guard::foreign_upper(owned.index, owned.netns.as_deref(), world, record),
        owned,
        why,
    }
}

/// Why the kernel would refuse to make `decl` on `parent` with `mac`, checked before anything
/// is deleted or made: a parent carries macvlan-like or ipvlan-like links, not both; a
/// passthru macvlan is alone on its parent; a MAC is one link's only. `replacing` is the link a
/// re-creation deletes first; links `removals` delete do not count either.
fn refusal(
    decl: &LinkDecl,
    parent: Option<i32>,
    mac: NewMac,
    replacing: Option<i32>,
    world: &World,
    removals: &[Removal],
) -> Option<Blocked> {
    let netns = decl.l3.netns.as_deref();
    let going = |ns: Option<&str>, l: &LiveLink| {
        (ns == netns && Some(l.index) == replacing)
            || removals.iter().any(|r| {
                r.blocked.is_none() && r.owned.netns.as_deref() == ns && r.owned.index == l.index
            })
    };
    if let (Some(family), Some(parent)) = (decl.kind.flattens, parent) {
        let mut on_parent: Vec<(Option<&str>, &LiveLink)> =
            world.host.links.uppers(parent).map(|l| (None, l)).collect();
        for (name, view) in &world.named {
            on_parent.extend(
                view.links
                    .uppers_elsewhere(None, parent)
                    .map(|l| (Some(name.as_str()), l)),
            );
        }
        for (ns, l) in on_parent {
            if going(ns, l) {
                continue;
            }
            let LiveKind::Known { kind, settings } = &l.kind else {
                continue;
            };
            let Some(theirs) = kind.flattens else {
                continue;
            };
            let alone = |s: &Result<
                std::rc::Rc<dyn crate::kinds::KindSettings>,
                std::rc::Rc<str>,
            >| { s.as_ref().is_ok_and(|s| s.takes_parent_alone()) };
            let why = if theirs != family {
                Some(format!(
                    "{} carries {} {}, and a parent carries {family}-like or {theirs}-like links, not both",
                    decl.parent.as_deref().unwrap_or_default(),
                    kind.name,
                    l.name
                ))
            } else if decl.settings.takes_parent_alone() || alone(settings) {
                Some(format!(
                    "{} carries {} {}, and a {family} in passthru mode must be alone on its parent",
                    decl.parent.as_deref().unwrap_or_default(),
                    kind.name,
                    l.name
                ))
            } else {
                None
            };
            if let Some(why) = why {
                return Some(Blocked::KernelWouldRefuse {
                    why,
                    fix: "give one of them another parent".into(),
                });
            }
        }
    }
    if let NewMac::Chosen(mac) = mac {
        let holders = std::iter::once((None, &world.host))
            .chain(world.named.iter().map(|(n, v)| (Some(n.as_str()), v)));
        for (ns, view) in holders {
            if let Some(l) = view
                .links
                .links()
                .find(|l| l.mac == Some(mac) && !going(ns, l))
            {
                return Some(Blocked::KernelWouldRefuse {
                    why: format!("its MAC {mac} is already {}'s", l.name),
                    fix: "give it another `mac`".into(),
                });
            }
        }
    }
    None
}

/// underlay's live link in `netns` that was recorded as `name` but is called something else now.
fn renamed<'w>(
    name: &str,
    netns: Option<&str>,
    world: &'w World,
    record: &Record,
) -> Option<&'w LiveLink> {
    let o = record
        .links()
        .find(|o| o.name == name && o.netns.as_deref() == netns)?;
    let live = world.view(netns)?.links.by_index(o.index)?;
    (o.same_link(netns, live) && !live.name.is(name)).then_some(live)
}

/// The plan for `apply` (and `check`, `show`, `--dry-run`).
pub fn make(inputs: &Inputs) -> Plan {
    let config = inputs.config;
    let world = inputs.world;
    let host = &world.host.links;
    let mut plan = Plan::default();
    let mut indexes = IndexPool::new(world, inputs.record);
    let mut take_index = || indexes.take();
    // What each declared name will be once the plan is carried out: its ifindex, or not there
    // (and whether that is because of a hotplug parent).
    let mut outcome: HashMap<&str, Result<i32, bool>> = HashMap::new();
    let mut depth: HashMap<&str, usize> = HashMap::new();

    // Names under /var/run/netns that hold something else: the links that go there cannot be
    // made, unless it is a placeholder underlay itself left.
    let mut not_namespaces: HashMap<&str, &str> = HashMap::new();
    for ns in namespaces(config, inputs.scope) {
        if world.view(Some(&ns)).is_some() {
            continue;
        }
        if let Some((_, what)) = world.not_namespaces.iter().find(|(n, _)| *n == ns) {
            if !ours_to_clear(&ns, world, inputs.record) {
                not_namespaces.insert(config_name(config, &ns), what);
                continue;
            }
            plan.namespaces
                .push(NetnsStep::ClearPlaceholder(ns.clone()));
        }
        plan.namespaces.push(NetnsStep::Create(ns));
    }

    // Links the config no longer declares go first; what they leave free (a MAC, room on a
    // parent) counts for what is made after them.
    if inputs.scope.is_none() {
        for owned in inputs.record.links() {
            let ns = owned.netns.as_deref();
            let Some(l) = world
                .view(ns)
                .and_then(|v| v.links.by_index(owned.index))
                .filter(|l| owned.same_link(ns, l))
            else {
                continue;
            };
            // Declared under the name underlay gave it (even if someone renamed it since).
            let declared = config
                .link(&owned.name)
                .is_some_and(|d| d.l3.netns.as_deref() == ns);
            if !declared {
                plan.removals.push(removal(
                    owned,
                    l,
                    RemovalWhy::Undeclared,
                    world,
                    inputs.record,
                ));
            }
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
        if let Some(ns) = netns
            && let Some(what) = not_namespaces.get(ns)
        {
            outcome.insert(&decl.name, Err(false));
            plan.links.push(LinkPlan {
                decl: i,
                unsupported: Vec::new(),
                depth: d,
                action: Action::Blocked(Blocked::NotANamespace {
                    netns: ns.to_string(),
                    what: what.to_string(),
                }),
                l3: None,
            });
            continue;
        }
        let live = world.link(netns, &decl.name);
        let owned = live.is_some_and(|l| inputs.record.owns(netns, l));

        // An implied PARENT.ID link that exists and is not underlay's is used as it is,
        // whatever its own parent.
        if decl.implicit
            && let Some(l) = live
            && !owned
        {
            outcome.insert(&decl.name, Ok(l.index));
            plan.links.push(LinkPlan {
                decl: i,
                unsupported: Vec::new(),
                depth: d,
                action: Action::External { index: l.index },
                l3: None,
            });
            continue;
        }

        // The parent: a declared link's outcome, or a live interface in the host.
        let parent: Result<Option<i32>, Blocked> = match decl.parent.as_deref() {
            None => Ok(None),
            Some(p) => match outcome.get(p) {
                Some(Ok(index)) => Ok(Some(*index)),
                Some(Err(later)) => Err(Blocked::ParentBlocked {
                    parent: p.to_string(),
                    later: *later,
                }),
                None => match host.by_name(p) {
                    Some(l)
                        if decl.kind.flattens.is_some()
                            && matches!(&l.kind, LiveKind::Known { kind, .. } if kind.flattens == decl.kind.flattens) =>
                    {
                        Err(Blocked::Flattened {
                            parent: p.to_string(),
                            kind: l.kind.describe().to_string(),
                        })
                    }
                    Some(l) => Ok(Some(l.index)),
                    None if config.hotplug_parents.iter().any(|h| h == p) => {
                        Err(Blocked::ParentLater {
                            parent: p.to_string(),
                        })
                    }
                    None => Err(Blocked::ParentMissing {
                        parent: p.to_string(),
                    }),
                },
            },
        };
        let parent = match parent {
            Ok(parent) => parent,
            Err(blocked) => {
                outcome.insert(&decl.name, Err(blocked.is_later()));
                plan.links.push(LinkPlan {
                    decl: i,
                    unsupported: Vec::new(),
                    depth: d,
                    action: Action::Blocked(blocked),
                    l3: None,
                });
                continue;
            }
        };

        let mut unsupported = Vec::new();
        let action = match live {
            None => match renamed(&decl.name, netns, world, inputs.record) {
                Some(now) => Action::Blocked(Blocked::Renamed {
                    now: now.name.to_string(),
                }),
                None => {
                    let mac = creation_mac(decl, inputs);
                    match refusal(decl, parent, mac, None, world, &plan.removals) {
                        Some(blocked) => Action::Blocked(blocked),
                        None => Action::Create {
                            index: take_index(),
                            parent,
                            mac,
                        },
                    }
                }
            },
            Some(l) => {
                let (lacking, diffs): (Vec<_>, Vec<_>) =
                    differences(decl, l, parent, owned, inputs)
                        .into_iter()
                        .partition(|d| matches!(d.fix, Fix::NeedsKernel(_)));
                unsupported = lacking;
                if diffs.is_empty() {
                    Action::InSync {
                        index: l.index,
                        adopted: !owned,
                    }
                } else if diffs.iter().all(|d| d.fix == Fix::InPlace) {
                    match change_for(decl, l, &diffs, inputs) {
                        Ok(change) => Action::Change {
                            index: l.index,
                            change,
                            diffs,
                        },
                        Err(e) => Action::Blocked(Blocked::Unencodable {
                            diffs,
                            why: e.to_string(),
                        }),
                    }
                } else if !owned {
                    Action::Conflict { diffs }
                } else if let Some(blocked) = refusal(
                    decl,
                    parent,
                    creation_mac(decl, inputs),
                    Some(l.index),
                    world,
                    &plan.removals,
                ) {
                    // The new link could not be made: keep the old one.
                    Action::Blocked(blocked)
                } else {
                    let old = inputs
                        .record
                        .get(netns, l.index)
                        .map(|o| removal(o, l, RemovalWhy::Recreate, world, inputs.record));
                    match old {
                        Some(Removal {
                            blocked: Some(guard),
                            ..
                        }) => Action::Blocked(Blocked::Guarded { guard, diffs }),
                        Some(old) => {
                            plan.removals.push(old);
                            Action::Recreate {
                                old: l.index,
                                index: take_index(),
                                parent,
                                mac: creation_mac(decl, inputs),
                                diffs,
                            }
                        }
                        // `owned` says the record has it; this cannot happen.
                        None => Action::Conflict { diffs },
                    }
                }
            }
        };
        outcome.insert(&decl.name, action.index().ok_or(false));

        // A child that should be up needs its parent up; bring up parents underlay does not
        // manage (as Docker's macvlan driver does), never down.
        if decl.up
            && let Some(p) = decl.parent.as_deref()
            && config.link(p).is_none_or(|pd| pd.implicit)
            && let Some(pl) = host.by_name(p)
            && !pl.up
            && !inputs.record.owns(None, pl)
            && !plan.parent_ups.iter().any(|u| u.index == pl.index)
        {
            plan.parent_ups.push(ParentUp {
                index: pl.index,
                name: p.to_string(),
                child: decl.name.clone(),
            });
        }
        let l3 = action.index().and_then(|index| {
            let existing = if action.creates() {
                None
            } else {
                world.view(netns)
            };
            l3::plan(decl, index, existing, inputs.record)
        });
        plan.links.push(LinkPlan {
            decl: i,
            unsupported,
            depth: d,
            action,
            l3,
        });
    }

    sort_removals(&mut plan.removals, world);
    plan
}

/// Whether /var/run/netns/NAME is a placeholder underlay left while creating that namespace.
fn ours_to_clear(name: &str, world: &World, record: &Record) -> bool {
    world.placeholder(name)
        && record
            .namespace(name)
            .is_some_and(|n| matches!(n.state, NsState::Intent | NsState::Pending))
}

/// The config's own copy of a namespace name, to borrow from.
fn config_name<'c>(config: &'c Config, name: &str) -> &'c str {
    config
        .links
        .iter()
        .filter_map(|l| l.l3.netns.as_deref())
        .find(|n| *n == name)
        .unwrap_or_default()
}

/// The plan for `down`: every link underlay made, and then the namespaces it made.
pub fn teardown(world: &World, record: &Record) -> Plan {
    let mut plan = Plan::default();
    for owned in record.links() {
        let ns = owned.netns.as_deref();
        if let Some(l) = world
            .view(ns)
            .and_then(|v| v.links.by_index(owned.index))
            .filter(|l| owned.same_link(ns, l))
        {
            plan.removals
                .push(removal(owned, l, RemovalWhy::Down, world, record));
        }
    }
    sort_removals(&mut plan.removals, world);
    for n in &record.namespaces {
        if ours_to_clear(&n.name, world, record) {
            plan.namespaces
                .push(NetnsStep::ClearPlaceholder(n.name.clone()));
        }
    }
    for n in record.namespaces.iter().filter(|n| n.created()) {
        let Some(view) = world.named.get(&n.name) else {
            continue;
        };
        if !n.is(view.identity.as_ref()) {
            // Replaced by someone else's namespace of the same name: not underlay's to delete.
            continue;
        }
        let staying: Vec<String> = view
            .links
            .links()
            .filter(|l| !l.name.is("lo"))
            .filter(|l| {
                !plan.removals.iter().any(|r| {
                    r.blocked.is_none()
                        && r.owned.netns.as_deref() == Some(&n.name)
                        && r.owned.index == l.index
                })
            })
            .map(|l| l.name.to_string())
            .collect();
        let step = if !staying.is_empty() {
            NetnsStep::Keep {
                name: n.name.clone(),
                why: format!("links still live there ({})", staying.join(", ")),
            }
        } else if let Some(why) = &view.in_use {
            NetnsStep::Keep {
                name: n.name.clone(),
                why: why.clone(),
            }
        } else {
            NetnsStep::Delete(n.clone())
        };
        plan.namespaces.push(step);
    }
    plan
}

/// Children first: links in named namespaces sit on host links; then deeper host links.
fn sort_removals(removals: &mut [Removal], world: &World) {
    let depth = |o: &Owned| -> usize {
        let below = world
            .view(o.netns.as_deref())
            .map_or(0, |v| v.links.depth(o.index));
        below + usize::from(o.netns.is_some()) * 100
    };
    removals.sort_by_key(|r| std::cmp::Reverse(depth(&r.owned)));
}

/// The MAC to put in the creation message itself, so udev never sees another one.
fn creation_mac(decl: &LinkDecl, inputs: &Inputs) -> NewMac {
    match decl.mac {
        MacChoice::Kernel => NewMac::Kernel,
        MacChoice::Fixed(mac) => NewMac::Chosen(mac),
        MacChoice::Random => NewMac::Random((inputs.random_mac)()),
        MacChoice::Stable => stable_mac(decl, inputs).map_or(NewMac::Kernel, NewMac::Chosen),
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
    if !l.kind.is(decl.kind) {
        diffs.push(Difference::new(
            Attribute::Kind,
            l.kind.describe(),
            decl.kind.name,
            Fix::Recreate,
        ));
        return diffs;
    }
    // A link in a named namespace reports its host-side parent as "elsewhere".
    let live_parent = if decl.l3.netns.is_some() {
        l.parent_elsewhere.map(|e| e.index)
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
                .map(|p| p.name.to_string())
                .unwrap_or_else(|| format!("ifindex {i}")),
        };
        let want = decl.parent.clone().unwrap_or_else(|| "none".into());
        let mut have = name_of(live_parent);
        if have == want {
            have.push_str(" (an earlier one, since re-created)");
        }
        diffs.push(Difference::new(
            Attribute::Parent,
            have,
            want,
            Fix::Recreate,
        ));
    }
    match l.settings_of(decl.kind) {
        Some(settings) => diffs.extend(decl.settings.compare(settings)),
        None => {
            // The kernel's data could not be read: never take that as "in sync".
            let why = match &l.kind {
                crate::live::LiveKind::Known {
                    settings: Err(e), ..
                } => e.to_string(),
                _ => "not reported".to_string(),
            };
            diffs.push(Difference::new(
                Attribute::Settings,
                format!("unreadable ({why})"),
                decl.settings.summary(),
                Fix::Recreate,
            ));
        }
    }
    if let Some(mtu) = wanted_mtu(decl, l.mtu)
        && mtu != l.mtu
    {
        diffs.push(Difference::new(Attribute::Mtu, l.mtu, mtu, Fix::InPlace));
    }
    if let Some(mac) = expected_mac(decl, inputs)
        && (owned || decl.mac_explicit)
        && Some(mac) != l.mac
    {
        let have = l.mac.map_or("none".to_string(), |m| m.to_string());
        diffs.push(Difference::new(Attribute::Mac, have, mac, Fix::InPlace));
    }
    if decl.up != l.up {
        diffs.push(Difference::new(
            Attribute::Up,
            yes_no(l.up),
            yes_no(decl.up),
            Fix::InPlace,
        ));
    }
    if owned && l.group != 0 {
        // Left in a batch-delete group by a `down` that was killed: back to the default group.
        diffs.push(Difference::new(Attribute::Group, l.group, 0, Fix::InPlace));
    }
    diffs
}

/// The MTU a live link with MTU `live` should have: the config's, or else raised to what the
/// links on it need.
fn wanted_mtu(decl: &LinkDecl, live: u32) -> Option<u32> {
    decl.mtu.or(decl.children_mtu.filter(|need| *need > live))
}

/// The MTU to create a link with: the config's or, for a link without a parent (whose kernel
/// default is 1500), what the links on it need. A link on a parent starts with its parent's
/// MTU, which is enough for its children (the parent is raised first, or the run stops).
pub fn creation_mtu(decl: &LinkDecl) -> Option<u32> {
    decl.mtu.or(decl
        .children_mtu
        .filter(|need| !decl.kind.takes_parent && *need > 1500))
}

/// The in-place change that removes `diffs`.
fn change_for(
    decl: &LinkDecl,
    l: &LiveLink,
    diffs: &[Difference],
    inputs: &Inputs,
) -> Result<LinkChange, NetlinkError> {
    let mut change = LinkChange::default();
    let mut kind_specific = false;
    for d in diffs {
        match d.attribute {
            Attribute::Mtu => change.mtu = wanted_mtu(decl, l.mtu),
            Attribute::Mac => change.mac = expected_mac(decl, inputs),
            Attribute::Up => change.up = Some(decl.up),
            Attribute::Group => change.group = Some(0),
            Attribute::Setting(_) => kind_specific = true,
            // Never in place; `make` only calls this when every difference is.
            Attribute::Kind | Attribute::Parent | Attribute::Settings => {}
        }
    }
    if kind_specific
        && let Some(live) = l.settings_of(decl.kind)
        && let Some(data) = decl.settings.change_data(live)?
    {
        change.info = Some((decl.kind.name, data));
    }
    Ok(change)
}

#[cfg(test)]
mod tests;
