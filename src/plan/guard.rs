//! The one guard every deletion goes through: a link underlay is about to delete must carry
//! nothing that is not underlay's. The kernel deletes a link's upper devices with it (a macvlan
//! with its VLAN, in every namespace), so deleting a link someone else built on would break
//! their link too. `down`, a removal and a re-creation all ask `foreign_upper`.

use std::collections::HashSet;
use std::fmt;

use crate::live::{LiveLink, NsRef, NsView, World};
use crate::record::Record;

/// How a foreign link depends on one of underlay's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// It sits on it (its lower device): the kernel deletes it with it.
    Upper,
    /// underlay's link is its port (it is a bridge or bond): it would lose the port.
    Master,
    /// A namespace underlay cannot look into: a link there may sit on it.
    Unseen,
}

/// Something that depends on one of underlay's links and is not underlay's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guard {
    /// The foreign link, by name (for `Unseen`, the namespace).
    pub upper: String,
    /// Where it lives, when that is not the namespace of the link it depends on.
    pub place: Option<String>,
    pub relation: Relation,
}

impl fmt::Display for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let place = self
            .place
            .as_ref()
            .map(|p| format!(" (in {p})"))
            .unwrap_or_default();
        match self.relation {
            Relation::Upper => write!(
                f,
                "the foreign link {}{place} sits on it and would be deleted with it",
                self.upper
            ),
            Relation::Master => write!(
                f,
                "it is a port of the foreign link {}{place}, which would lose it",
                self.upper
            ),
            Relation::Unseen => write!(
                f,
                "underlay cannot look into the network namespace of {}, and a link there may sit on it",
                self.upper
            ),
        }
    }
}

impl Guard {
    /// What to do about it.
    pub fn advice(&self) -> String {
        match self.relation {
            Relation::Upper => format!("remove {} first", self.upper),
            Relation::Master => format!("take it out of {} first", self.upper),
            // Neither entering it nor reading it through netlink by its namespace id worked.
            Relation::Unseen => format!(
                "stop {} or move what sits on it away, or run underlay as root with all capabilities",
                self.upper
            ),
        }
    }
}

/// A namespace in the world: the host, a named one, or another one (by its holder).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Place<'w> {
    Host,
    Named(&'w str),
    Other(usize),
}

impl<'w> Place<'w> {
    fn of(netns: Option<&'w str>) -> Place<'w> {
        netns.map_or(Place::Host, Place::Named)
    }

    fn view(&self, world: &'w World) -> Option<&'w NsView> {
        match self {
            Place::Host => Some(&world.host),
            Place::Named(name) => world.named.get(*name),
            Place::Other(i) => world.others.get(*i).map(|(_, v)| v),
        }
    }

    fn netns(&self) -> Option<&'w str> {
        match self {
            Place::Named(name) => Some(name),
            _ => None,
        }
    }

    fn describe(&self, world: &World) -> String {
        match self {
            Place::Host => "the host's namespace".to_string(),
            Place::Named(name) => format!("netns {name}"),
            Place::Other(i) => world
                .others
                .get(*i)
                .map_or("another namespace".to_string(), |(who, _)| {
                    format!("the network namespace of {who}")
                }),
        }
    }

    fn as_ref(&self) -> Option<NsRef> {
        match self {
            Place::Host => Some(NsRef::Host),
            Place::Named(name) => Some(NsRef::Named(name.to_string())),
            Place::Other(_) => None,
        }
    }
}

/// The first link that depends on `index` in `netns` (at any depth, in any namespace underlay
/// sees) and that underlay does not own, if any. A namespace it could not look into counts:
/// what cannot be classified blocks the deletion.
pub fn foreign_upper(
    index: i32,
    netns: Option<&str>,
    world: &World,
    record: &Record,
) -> Option<Guard> {
    if let Some(who) = world.unseen.first() {
        return Some(Guard {
            upper: who.clone(),
            place: None,
            relation: Relation::Unseen,
        });
    }
    let mut seen: HashSet<(Place, i32)> = HashSet::new();
    let mut todo: Vec<(Place, i32)> = vec![(Place::of(netns), index)];
    while let Some((place, index)) = todo.pop() {
        if !seen.insert((place.clone(), index)) {
            continue;
        }
        for (upper_place, upper, relation) in uppers(index, &place, world) {
            if record.owns(upper_place.netns(), upper)
                && matches!(upper_place, Place::Host | Place::Named(_))
            {
                // underlay's own: it goes too, so what depends on it matters as well.
                todo.push((upper_place, upper.index));
                continue;
            }
            return Some(Guard {
                upper: upper.name.to_string(),
                place: (upper_place != place).then(|| upper_place.describe(world)),
                relation,
            });
        }
    }
    None
}

/// The links that depend directly on `index` in `place`, with the namespace each lives in.
fn uppers<'w>(
    index: i32,
    place: &Place<'w>,
    world: &'w World,
) -> Vec<(Place<'w>, &'w LiveLink, Relation)> {
    let mut out = Vec::new();
    if let Some(view) = place.view(world) {
        let master = view.links.by_index(index).and_then(|l| l.master);
        out.extend(
            master
                .and_then(|m| view.links.by_index(m))
                .map(|m| (place.clone(), m, Relation::Master)),
        );
        out.extend(
            view.links
                .uppers(index)
                .map(|l| (place.clone(), l, Relation::Upper)),
        );
    }
    // Links in other namespaces name a lower device here by the id their namespace gives this
    // one (`IFLA_LINK_NETNSID`).
    let Some(target) = place.as_ref() else {
        return out;
    };
    let mut others: Vec<(Place<'w>, &'w NsView)> = Vec::new();
    if *place != Place::Host {
        others.push((Place::Host, &world.host));
    }
    for (name, view) in &world.named {
        if *place != Place::Named(name) {
            others.push((Place::Named(name), view));
        }
    }
    for (i, (_, view)) in world.others.iter().enumerate() {
        others.push((Place::Other(i), view));
    }
    for (other, view) in others {
        let nsid = match view.nsids.of(&target) {
            // This namespace gives the target no id: nothing here can sit on it.
            Some(None) => continue,
            Some(Some(id)) => Some(id),
            // Not asked: any link here with a lower device elsewhere may mean the target.
            None => None,
        };
        out.extend(
            view.links
                .uppers_elsewhere(nsid, index)
                .map(|l| (other.clone(), l, Relation::Upper)),
        );
    }
    out
}
