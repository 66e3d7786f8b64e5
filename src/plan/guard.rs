//! The one guard every deletion goes through: a link underlay is about to delete must carry
//! nothing that is not underlay's. The kernel deletes a link's upper devices with it (a macvlan
//! with its VLAN, in every namespace), so deleting a link someone else built on would break
//! their link too. `down`, a removal and a re-creation all ask `foreign_upper`.

use std::collections::HashSet;
use std::fmt;

use crate::live::{LiveLink, World};
use crate::record::Record;

/// How a foreign link depends on one of underlay's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// It sits on it (its lower device): the kernel deletes it with it.
    Upper,
    /// underlay's link is its port (it is a bridge or bond): it would lose the port.
    Master,
}

/// Something that depends on one of underlay's links and is not underlay's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guard {
    /// The foreign link, by name.
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
            .map(|p| format!(" ({p})"))
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
        }
    }
}

/// The first link that sits on `index` in `netns` (at any depth, in any namespace underlay
/// sees) and that underlay does not own, if any.
pub fn foreign_upper(
    index: i32,
    netns: Option<&str>,
    world: &World,
    record: &Record,
) -> Option<Guard> {
    let mut seen: HashSet<(Option<String>, i32)> = HashSet::new();
    let mut todo: Vec<(Option<String>, i32)> = vec![(netns.map(str::to_string), index)];
    while let Some((ns, index)) = todo.pop() {
        if !seen.insert((ns.clone(), index)) {
            continue;
        }
        for (upper_ns, upper, relation) in uppers(index, ns.as_deref(), world) {
            if record.owns(upper_ns, upper) {
                // underlay's own: it goes too, so what sits on it matters as well.
                todo.push((upper_ns.map(str::to_string), upper.index));
                continue;
            }
            return Some(Guard {
                upper: upper.name.to_string(),
                place: (upper_ns != ns.as_deref())
                    .then(|| upper_ns.map_or("the host".to_string(), |n| format!("netns {n}"))),
                relation,
            });
        }
    }
    None
}

/// The links that depend directly on `index` in `netns`, with the namespace each lives in.
fn uppers<'w>(
    index: i32,
    netns: Option<&str>,
    world: &'w World,
) -> Vec<(Option<&'w str>, &'w LiveLink, Relation)> {
    let mut out: Vec<(Option<&str>, &LiveLink, Relation)> = Vec::new();
    if let Some(view) = world.view(netns) {
        let here = world.named.get_key_value(netns.unwrap_or_default());
        let here = here.map(|(name, _)| name.as_str());
        let master = view.links.by_index(index).and_then(|l| l.master);
        out.extend(
            master
                .and_then(|m| view.links.by_index(m))
                .map(|m| (here, m, Relation::Master)),
        );
        out.extend(view.links.uppers(index).map(|l| (here, l, Relation::Upper)));
    }
    // Links in named namespaces report a lower device in the host as "elsewhere".
    if netns.is_none() {
        for (name, view) in &world.named {
            out.extend(
                view.links
                    .uppers_elsewhere(None, index)
                    .map(|l| (Some(name.as_str()), l, Relation::Upper)),
            );
        }
    }
    out
}
