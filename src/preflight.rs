//! Checks against the live kernel before the first change, so a run that cannot succeed stops
//! with nothing changed.

use std::time::Instant;

use crate::config::Config;
use crate::error::{Doing, Error};
use crate::kinds::{self, Kind};
use crate::mac::MacAddr;
use crate::netlink::link::{self, NewLink};
use crate::netlink::{KernelError, Rtnl};
use crate::plan::Plan;
use crate::report;

/// A kind the kernel cannot make, and the declared links of that kind the plan would create.
pub struct MissingKind {
    pub kind: &'static Kind,
    pub links: Vec<String>,
}

/// Probe each kind the plan is about to create: a create request the kernel must refuse (a
/// multicast MAC, no parent), which it refuses with EOPNOTSUPP only when the kind's module is
/// missing.
pub fn missing_kinds(
    rtnl: &mut Rtnl,
    config: &Config,
    plan: &Plan,
    deadline: Instant,
) -> Result<Vec<MissingKind>, Error> {
    let mut creating: Vec<&'static Kind> = Vec::new();
    for lp in &plan.links {
        let kind = config.links[lp.decl].kind;
        if lp.action.creates() && !creating.contains(&kind) {
            creating.push(kind);
        }
    }
    if creating.is_empty() {
        return Ok(Vec::new());
    }
    let mut requests = Vec::new();
    for kind in &creating {
        requests.push(
            link::create(NewLink {
                name: b"",
                kind: kind.name,
                index: 0,
                parent: None,
                mtu: None,
                mac: Some(MacAddr([0x01, 0, 0x5e, 0, 0, 1])),
                up: false,
                info_data: None,
                netns_fd: None,
            })
            .doing("building a probe")?,
        );
    }
    let results = rtnl
        .execute(&requests, deadline)
        .doing("asking the kernel which link kinds it has")?;
    let mut missing = Vec::new();
    for (kind, result) in creating.iter().zip(results) {
        match result {
            Err(KernelError {
                errno: libc::EOPNOTSUPP,
                ..
            }) => missing.push(MissingKind {
                kind,
                links: plan
                    .links
                    .iter()
                    .filter(|lp| lp.action.creates())
                    .map(|lp| &config.links[lp.decl])
                    .filter(|d| d.kind == *kind)
                    .map(|d| d.name.clone())
                    .collect(),
            }),
            Err(e) => log::debug!("{} is supported (its probe was refused: {e})", kind.name),
            Ok(()) => report::warning(&format!(
                "the kernel accepted a {} probe that should have failed",
                kind.name
            )),
        }
    }
    Ok(missing)
}

/// Links whose MTU would be above their parent's, where the parent is not underlay's: it does
/// not change a parent it did not make (its owner, a network manager or netifd, would set it
/// back), so the run stops before any change and says which parent needs what.
pub fn mtu_problems(config: &Config, world: &crate::live::World) -> Vec<String> {
    let mut out = Vec::new();
    for decl in &config.links {
        let Some(parent) = decl.parent.as_deref() else {
            continue;
        };
        if config.link(parent).is_some() {
            continue;
        }
        let Some(need) = decl.mtu.max(decl.children_mtu) else {
            continue;
        };
        if let Some(p) = world.host.links.by_name(parent)
            && p.mtu < need
        {
            out.push(format!(
                "{} {} needs mtu {need}, but its parent {parent} has mtu {}, and underlay does not change a parent it did not make; raise {parent}'s mtu (ip link set {parent} mtu {need}, or where {parent} is configured), or lower {}'s",
                decl.kind.name, decl.name, p.mtu, decl.name
            ));
        }
    }
    out
}

/// Everything that stops a run before its first change, each in words that say what to do:
/// a parent underlay does not manage with too small an MTU, a namespace that would not outlive
/// the run, a kind the kernel lacks.
pub fn problems(
    config: &Config,
    rtnl: &mut Rtnl,
    world: &crate::live::World,
    plan: &Plan,
    deadline: Instant,
) -> Result<Vec<String>, Error> {
    let mut out = mtu_problems(config, world);
    if plan
        .namespaces
        .iter()
        .any(|n| matches!(n, crate::plan::NetnsStep::Create(_)))
        && let Err(why) = crate::netns::mounts_reach_the_host()
    {
        out.push(why);
    }
    for m in missing_kinds(rtnl, config, plan, deadline)? {
        out.push(format!(
            "cannot create {} ({}): {}",
            m.links.join(", "),
            m.kind.name,
            kinds::missing_module_hint(m.kind)
        ));
    }
    Ok(out)
}
