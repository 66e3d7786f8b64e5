//! Carrying out a plan: removals (children first), then creations and changes one depth at a
//! time, each depth one pipelined batch. The ownership record is written before every batch
//! that creates links, and after every batch that deletes them.

use std::time::Instant;

use crate::config::Config;
use crate::kinds::{self, LinkKind};
use crate::live::Snapshot;
use crate::mac::MacAddr;
use crate::netlink::link::{self, LinkChange, NewLink};
use crate::netlink::{KernelError, NetlinkError, Request, Rtnl};
use crate::plan::{Action, Plan, describe};
use crate::record::{Owned, Record};

/// What a run did, for the summary line and the exit code.
#[derive(Debug, Default)]
pub struct Outcome {
    pub created: usize,
    pub changed: usize,
    pub deleted: usize,
    pub in_sync: usize,
    pub failed: usize,
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

pub struct Executor<'a> {
    pub rtnl: &'a mut Rtnl,
    pub record: &'a mut Record,
    pub config: &'a Config,
    pub live: &'a Snapshot,
    pub deadline: Instant,
}

impl Executor<'_> {
    pub fn run(&mut self, plan: &Plan) -> Result<Outcome, String> {
        let mut outcome = Outcome::default();
        let net = |e: NetlinkError| e.to_string();

        // 1. Deletions: links no longer declared, and the old halves of re-creations.
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
                let decl = &self.config.links[lp.decl];
                let owned = self.record.links.iter().find(|o| o.index == *old).cloned();
                if let Some(owned) = owned {
                    deletions.push((owned, format!("to re-create it: {}", describe(diffs))));
                }
                log::debug!("{} will be re-created", decl.name);
            }
        }
        // Children first: deeper links go before their parents.
        deletions.sort_by_key(|(o, _)| std::cmp::Reverse(self.depth_of(o.index)));
        if !deletions.is_empty() {
            let requests: Vec<Request> = deletions
                .iter()
                .map(|(o, _)| link::delete(o.index))
                .collect::<Result<_, _>>()
                .map_err(net)?;
            let results = self.rtnl.execute(&requests, self.deadline).map_err(net)?;
            for ((owned, why), result) in deletions.iter().zip(results) {
                match result {
                    // Gone already (with a parent deleted before it): what we wanted.
                    Ok(())
                    | Err(KernelError {
                        errno: libc::ENODEV,
                        ..
                    }) => {
                        log::info!("deleted {} {} ({why})", owned.kind, owned.name);
                        self.record.remove_index(owned.index);
                        outcome.deleted += 1;
                    }
                    Err(e) => {
                        log::error!("could not delete {} {}: {e}", owned.kind, owned.name);
                        outcome.failed += 1;
                    }
                }
            }
            self.record.save()?;
        }

        // 2. Parents underlay does not manage but a child needs up.
        if !plan.parent_ups.is_empty() {
            let requests: Vec<Request> = plan
                .parent_ups
                .iter()
                .map(|u| {
                    link::change(
                        u.index,
                        LinkChange {
                            up: Some(true),
                            ..Default::default()
                        },
                    )
                })
                .collect::<Result<_, _>>()
                .map_err(net)?;
            for (u, result) in plan
                .parent_ups
                .iter()
                .zip(self.rtnl.execute(&requests, self.deadline).map_err(net)?)
            {
                match result {
                    Ok(()) => log::info!("set {} up (parent of {})", u.name, u.child),
                    Err(e) => {
                        log::error!("could not set {} up (parent of {}): {e}", u.name, u.child);
                        outcome.failed += 1;
                    }
                }
            }
        }

        // 3. Creations and changes, one depth at a time.
        let max_depth = plan.links.iter().map(|l| l.depth).max().unwrap_or(0);
        let mut failed_names: Vec<&str> = Vec::new();
        for depth in 0..=max_depth {
            let mut batch: Vec<(usize, Option<Owned>)> = Vec::new();
            let mut requests: Vec<Request> = Vec::new();
            for (n, lp) in plan
                .links
                .iter()
                .enumerate()
                .filter(|(_, l)| l.depth == depth)
            {
                let decl = &self.config.links[lp.decl];
                if let Some(p) = decl.parent.as_deref()
                    && failed_names.contains(&p)
                {
                    log::error!(
                        "skipped {} {}: its parent {p} could not be set up",
                        decl.kind.name(),
                        decl.name
                    );
                    failed_names.push(&decl.name);
                    outcome.failed += 1;
                    continue;
                }
                match &lp.action {
                    Action::InSync { .. } | Action::External => outcome.in_sync += 1,
                    Action::Create { index, parent, mac }
                    | Action::Recreate {
                        index, parent, mac, ..
                    } => {
                        let request = link::create(NewLink {
                            name: &decl.name,
                            kind: decl.kind.name(),
                            index: *index,
                            parent: *parent,
                            mtu: decl.mtu,
                            mac: *mac,
                            up: decl.up,
                            info_data: decl.settings.create_data().map_err(net)?,
                        })
                        .map_err(net)?;
                        let owned = Owned {
                            name: decl.name.clone(),
                            index: *index,
                            kind: decl.kind.name().to_string(),
                            parent: parent.unwrap_or(0),
                        };
                        batch.push((n, Some(owned)));
                        requests.push(request);
                    }
                    Action::Change { index, change, .. } => {
                        let request = link::change(*index, change.clone()).map_err(net)?;
                        batch.push((n, None));
                        requests.push(request);
                    }
                    Action::Conflict { diffs } => {
                        log::error!(
                            "{}: a link with this name exists but was not created by underlay, and it differs \
                             ({}); underlay leaves it alone: delete or rename it, or change the config",
                            decl.name,
                            describe(diffs)
                        );
                        failed_names.push(&decl.name);
                        outcome.failed += 1;
                    }
                    Action::Blocked { reason, .. } => {
                        log::error!("skipped {} {}: {reason}", decl.kind.name(), decl.name);
                        failed_names.push(&decl.name);
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
            let results = self.rtnl.execute(&requests, self.deadline).map_err(net)?;
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
                        log::info!(
                            "{verb} {} {} ({})",
                            decl.kind.name(),
                            decl.name,
                            self.details(decl, *parent, *mac)
                        );
                        outcome.created += 1;
                    }
                    (Ok(()), Action::Change { diffs, .. }) => {
                        log::info!(
                            "changed {} {}: {}",
                            decl.kind.name(),
                            decl.name,
                            describe(diffs)
                        );
                        outcome.changed += 1;
                    }
                    (Ok(()), _) => {}
                    (Err(e), _) => {
                        let verb = if owned.is_some() { "create" } else { "change" };
                        log::error!(
                            "could not {verb} {} {}: {}",
                            decl.kind.name(),
                            decl.name,
                            fail_message(decl.kind, &e)
                        );
                        if let Some(o) = owned {
                            self.record.remove_index(o.index);
                        }
                        failed_names.push(&decl.name);
                        outcome.failed += 1;
                    }
                }
            }
            self.record.save()?;
        }
        Ok(outcome)
    }

    fn details(
        &self,
        decl: &crate::config::LinkDecl,
        parent: Option<i32>,
        mac: Option<MacAddr>,
    ) -> String {
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

    /// How many live ancestors a link has.
    fn depth_of(&self, index: i32) -> usize {
        let mut depth = 0;
        let mut cur = self.live.by_index(index).and_then(|l| l.parent);
        while let Some(p) = cur {
            depth += 1;
            if depth > 64 {
                break;
            }
            cur = self.live.by_index(p).and_then(|l| l.parent);
        }
        depth
    }
}
