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

/// Say which kinds are missing, and that nothing was changed.
pub fn report_missing(missing: &[MissingKind]) {
    for m in missing {
        report::error(&format!(
            "cannot create {} ({}): {}",
            m.links.join(", "),
            m.kind.name,
            kinds::missing_module_hint(m.kind)
        ));
    }
    report::error("nothing was changed");
}
