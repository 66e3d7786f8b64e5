//! The commands. Each is the same pipeline, stopped at a different point:
//! config text -> validated model -> one live snapshot -> plan -> netlink -> record -> report.
//! `validate` stops after the model, `check`, `show` and `apply --dry-run` after the plan.

use std::io::Read as _;
use std::time::{Duration, Instant};

use crate::{ApplyArgs, DownArgs};
use underlay::apply::{self, Executor};
use underlay::config::{self, Config};
use underlay::kinds::LinkKind;
use underlay::live::Snapshot;
use underlay::mac::{self, MacAddr};
use underlay::netlink::link;
use underlay::netlink::{NetlinkError, Rtnl};
use underlay::plan::{self, Action, Inputs, Plan};
use underlay::record::{self, Record};
use underlay::{EXIT_FAILED, EXIT_OK, EXIT_USAGE, lock};

/// Read and validate the config; on failure every problem is printed as `FILE:LINE: ...`.
fn load_config(path: &str) -> Result<Config, u8> {
    let bytes = match read_limited(path) {
        Ok(bytes) => bytes,
        Err(e) => {
            log::error!("{path}: {e}");
            return Err(EXIT_USAGE);
        }
    };
    config::parse(&bytes).map_err(|errors| {
        for e in &errors {
            eprintln!("{}", e.render(path));
        }
        EXIT_USAGE
    })
}

/// Read at most one byte more than the limit, so a huge file cannot exhaust memory.
fn read_limited(path: &str) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            "no such file; write a config there, or point -c at one".to_string()
        }
        _ => format!("cannot read it: {e}"),
    })?;
    let mut bytes = Vec::new();
    file.take(config::ini::MAX_CONFIG_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read it: {e}"))?;
    Ok(bytes)
}

fn machine_id() -> Option<[u8; 16]> {
    std::fs::read_to_string("/etc/machine-id")
        .ok()
        .and_then(|t| mac::parse_machine_id(&t))
}

fn random_mac() -> MacAddr {
    let mut bytes = [0u8; 6];
    let _ = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    bytes[0] = (bytes[0] & 0xfe) | 0x02;
    MacAddr(bytes)
}

fn netlink_failed(e: NetlinkError) -> u8 {
    log::error!("{e}");
    EXIT_FAILED
}

pub fn validate(path: &str) -> u8 {
    match load_config(path) {
        Ok(config) => {
            let implicit = config.links.iter().filter(|l| l.implicit).count();
            let mut text = format!("{path}: ok, {} links", config.links.len() - implicit);
            if implicit > 0 {
                text.push_str(&format!(" (and {implicit} implied PARENT.ID VLANs)"));
            }
            println!("{text}");
            EXIT_OK
        }
        Err(code) => code,
    }
}

/// The live state, the record (pruned of entries whose links are gone) and the plan.
struct Planned {
    live: Snapshot,
    record: Record,
    plan: Plan,
}

fn make_plan(config: &Config, live: Snapshot, scope: Option<&str>) -> Result<Planned, u8> {
    let mut record = Record::load(&record::run_dir()).map_err(|e| {
        log::error!("{e}");
        EXIT_FAILED
    })?;
    record
        .links
        .retain(|o| live.by_index(o.index).is_some_and(|l| o.matches(l)));
    let plan = plan::make(&Inputs {
        config,
        live: &live,
        record: &record,
        machine_id: machine_id(),
        scope,
        random_mac: &random_mac,
    });
    Ok(Planned { live, record, plan })
}

pub fn check(path: &str) -> u8 {
    let config = match load_config(path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let live = match Rtnl::open().and_then(|mut r| Snapshot::take(&mut r, deadline)) {
        Ok(live) => live,
        Err(e) => return netlink_failed(e),
    };
    let planned = match make_plan(&config, live, None) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let lines = plan::drift(&planned.plan, &config);
    for line in &lines {
        println!("{line}");
    }
    if lines.is_empty() {
        log::info!("in sync: {} links match {path}", planned.plan.links.len());
        EXIT_OK
    } else {
        EXIT_FAILED
    }
}

pub fn apply(path: &str, args: &ApplyArgs) -> u8 {
    let started = Instant::now();
    let config = match load_config(path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if let Some(p) = &args.parent
        && let Err(e) = config::values::ifname(p)
    {
        eprintln!("underlay: --parent: {e}");
        return EXIT_USAGE;
    }
    let deadline = started + Duration::from_secs(args.timeout);
    let _lock = if args.dry_run {
        None
    } else {
        match lock::acquire(&record::run_dir(), deadline) {
            Ok(l) => Some(l),
            Err(e) => {
                log::error!("{e}");
                return EXIT_FAILED;
            }
        }
    };
    match run_apply(&config, args, started, deadline) {
        Ok(code) => code,
        Err(e) => netlink_failed(e),
    }
}

fn run_apply(
    config: &Config,
    args: &ApplyArgs,
    started: Instant,
    deadline: Instant,
) -> Result<u8, NetlinkError> {
    let scope = args.parent.as_deref();
    // Subscribe before the dump, so a parent that appears in between is not missed.
    let mut events = Rtnl::open_link_events()?;
    let mut rtnl = Rtnl::open()?;
    let mut live = Snapshot::take(&mut rtnl, deadline)?;
    live.drain_events(&mut events, &mut rtnl, deadline)?;

    let wanted = plan::external_parents(config, scope);
    let missing: Vec<String> = wanted
        .iter()
        .filter(|n| live.by_name(n).is_none())
        .cloned()
        .collect();
    if !missing.is_empty() {
        let wait = Duration::from_secs(args.wait.unwrap_or(config.wait_secs));
        let wait_deadline = (started + wait).min(deadline);
        if wait_deadline > Instant::now() {
            log::info!(
                "waiting up to {} s for {}",
                wait.as_secs(),
                missing.join(", ")
            );
        }
        let still = live.wait_for(&missing, &mut events, &mut rtnl, wait_deadline)?;
        for name in &still {
            log::warn!("{name} did not appear within {} s", wait.as_secs());
        }
    }
    drop(events);

    let Planned {
        live,
        mut record,
        plan,
    } = match make_plan(config, live, scope) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    if args.dry_run {
        print_plan(&plan, config, &live);
        return Ok(EXIT_OK);
    }

    // A kind the kernel lacks fails the whole run before anything changes.
    let mut creating: Vec<&'static dyn LinkKind> = Vec::new();
    for lp in &plan.links {
        let kind = config.links[lp.decl].kind;
        if matches!(lp.action, Action::Create { .. } | Action::Recreate { .. })
            && !creating.iter().any(|k| k.name() == kind.name())
        {
            creating.push(kind);
        }
    }
    if !creating.is_empty() {
        let missing = apply::unsupported_kinds(&mut rtnl, &creating, deadline)?;
        if !missing.is_empty() {
            for kind in &missing {
                let names: Vec<&str> = plan
                    .links
                    .iter()
                    .map(|lp| &config.links[lp.decl])
                    .filter(|d| d.kind.name() == kind.name())
                    .map(|d| d.name.as_str())
                    .collect();
                log::error!(
                    "cannot create {} ({}): {}",
                    names.join(", "),
                    kind.name(),
                    underlay::kinds::missing_module_hint(*kind)
                );
            }
            log::error!("nothing was changed");
            return Ok(EXIT_FAILED);
        }
    }

    let mut executor = Executor {
        rtnl: &mut rtnl,
        record: &mut record,
        config,
        live: &live,
        deadline,
    };
    let outcome = match executor.run(&plan) {
        Ok(o) => o,
        Err(e) => {
            log::error!("{e}");
            return Ok(EXIT_FAILED);
        }
    };
    if outcome.created + outcome.changed + outcome.deleted == 0 && outcome.failed == 0 {
        log::info!("nothing to change: {} links in sync", outcome.in_sync);
    } else {
        log::debug!(
            "{} created, {} changed, {} deleted, {} in sync, {} failed",
            outcome.created,
            outcome.changed,
            outcome.deleted,
            outcome.in_sync,
            outcome.failed
        );
    }
    Ok(if outcome.failed > 0 {
        EXIT_FAILED
    } else {
        EXIT_OK
    })
}

fn print_plan(plan: &Plan, config: &Config, live: &Snapshot) {
    let mut changes = 0;
    for r in &plan.removals {
        changes += 1;
        match &r.refused {
            None => println!(
                "would delete {} {} (no longer declared)",
                r.owned.kind, r.owned.name
            ),
            Some(why) => println!("would keep {} {}: {why}", r.owned.kind, r.owned.name),
        }
    }
    for u in &plan.parent_ups {
        changes += 1;
        println!("would set {} up (parent of {})", u.name, u.child);
    }
    for lp in &plan.links {
        let d = &config.links[lp.decl];
        let (kind, name) = (d.kind.name(), &d.name);
        let parent = d
            .parent
            .as_deref()
            .map(|p| format!("parent {p}, "))
            .unwrap_or_default();
        let summary = d.settings.summary();
        match &lp.action {
            Action::InSync { adopted, .. } => {
                let how = if *adopted {
                    " (existing link, adopted)"
                } else {
                    ""
                };
                println!("in sync: {kind} {name}{how}");
                continue;
            }
            Action::External => {
                println!("in sync: {name} exists and is used as a parent");
                continue;
            }
            Action::Create { mac, .. } => {
                let mac = mac.map(|m| format!(", mac {m}")).unwrap_or_default();
                println!("would create {kind} {name} ({parent}{summary}{mac})");
            }
            Action::Change { diffs, .. } => {
                println!("would change {kind} {name}: {}", plan::describe(diffs))
            }
            Action::Recreate { diffs, .. } => {
                println!("would re-create {kind} {name}: {}", plan::describe(diffs))
            }
            Action::Conflict { diffs } => println!(
                "would refuse {kind} {name}: a foreign link with this name differs ({})",
                plan::describe(diffs)
            ),
            Action::Blocked { reason, .. } => println!("would skip {kind} {name}: {reason}"),
        }
        changes += 1;
    }
    if changes == 0 {
        println!("nothing to change: {} links in sync", plan.links.len());
    }
    let _ = live;
}

pub fn show(path: &str) -> u8 {
    let config = match load_config(path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let live = match Rtnl::open().and_then(|mut r| Snapshot::take(&mut r, deadline)) {
        Ok(live) => live,
        Err(e) => return netlink_failed(e),
    };
    let Planned { live, record, plan } = match make_plan(&config, live, None) {
        Ok(p) => p,
        Err(code) => return code,
    };
    println!(
        "{:<15} {:<8} {:<15} {:<18} {:<17} {:>5} {:<3} STATE",
        "NAME", "KIND", "PARENT", "ID/MODE", "MAC", "MTU", "UP"
    );
    for lp in &plan.links {
        let d = &config.links[lp.decl];
        let l = live.by_name(&d.name);
        let settings = l
            .filter(|l| l.kind.as_deref() == Some(d.kind.name()))
            .and_then(|l| d.kind.decode(&l.info_data).ok())
            .map(|s| s.summary())
            .unwrap_or_else(|| d.settings.summary());
        let state = match &lp.action {
            Action::InSync { adopted: false, .. } => "ok (created by underlay)".to_string(),
            Action::InSync { adopted: true, .. } => "ok (pre-existing, adopted)".to_string(),
            Action::External => "ok (pre-existing parent)".to_string(),
            Action::Create { .. } => "missing".to_string(),
            Action::Change { diffs, .. } | Action::Recreate { diffs, .. } => {
                format!("differs: {}", plan::describe(diffs))
            }
            Action::Conflict { diffs } => format!("foreign, differs: {}", plan::describe(diffs)),
            Action::Blocked { reason, .. } => format!("blocked: {reason}"),
        };
        let owned = l.is_some_and(|l| record.owns(l));
        let _ = owned;
        println!(
            "{:<15} {:<8} {:<15} {:<18} {:<17} {:>5} {:<3} {state}",
            d.name,
            d.kind.name(),
            d.parent.as_deref().unwrap_or("-"),
            if settings.is_empty() {
                "-".to_string()
            } else {
                settings
            },
            l.and_then(|l| l.mac)
                .map_or("-".to_string(), |m| m.to_string()),
            l.map_or("-".to_string(), |l| l.mtu.to_string()),
            l.map_or("-", |l| if l.up { "yes" } else { "no" }),
        );
    }
    EXIT_OK
}

pub fn down(args: &DownArgs) -> u8 {
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    let dir = record::run_dir();
    let _lock = if args.dry_run {
        None
    } else {
        match lock::acquire(&dir, deadline) {
            Ok(l) => Some(l),
            Err(e) => {
                log::error!("{e}");
                return EXIT_FAILED;
            }
        }
    };
    let result = (|| -> Result<u8, NetlinkError> {
        let mut rtnl = Rtnl::open()?;
        let live = Snapshot::take(&mut rtnl, deadline)?;
        let mut record = match Record::load(&dir) {
            Ok(r) => r,
            Err(e) => {
                log::error!("{e}");
                return Ok(EXIT_FAILED);
            }
        };
        let mut failed = 0;
        // Entries whose link is gone, or is no longer the link underlay made, are forgotten.
        let mut doomed = Vec::new();
        for owned in record.links.clone() {
            match live.by_index(owned.index) {
                Some(l) if owned.matches(l) => {
                    if let Some(foreign) = plan::foreign_descendant(l.index, &live, &record) {
                        log::error!(
                            "kept {} {}: the foreign link {foreign} sits on it, and deleting {} would delete {foreign} too",
                            owned.kind,
                            owned.name,
                            owned.name
                        );
                        failed += 1;
                    } else {
                        doomed.push(owned);
                    }
                }
                Some(l) => {
                    log::debug!(
                        "forgetting {}: ifindex {} is now {} ({:?})",
                        owned.name,
                        owned.index,
                        l.name,
                        l.kind
                    );
                    record.remove_index(owned.index);
                }
                None => record.remove_index(owned.index),
            }
        }
        // Children first.
        let depth = |index: i32| {
            let mut d = 0;
            let mut cur = live.by_index(index).and_then(|l| l.parent);
            while let Some(p) = cur {
                d += 1;
                if d > 64 {
                    break;
                }
                cur = live.by_index(p).and_then(|l| l.parent);
            }
            d
        };
        doomed.sort_by_key(|o| std::cmp::Reverse(depth(o.index)));
        if args.dry_run {
            for o in &doomed {
                println!("would delete {} {}", o.kind, o.name);
            }
            if doomed.is_empty() {
                println!("nothing to delete");
            }
            return Ok(if failed > 0 { EXIT_FAILED } else { EXIT_OK });
        }
        let requests = doomed
            .iter()
            .map(|o| link::delete(o.index))
            .collect::<Result<Vec<_>, _>>()?;
        let results = rtnl.execute(&requests, deadline)?;
        for (o, result) in doomed.iter().zip(results) {
            match result {
                Ok(())
                | Err(underlay::netlink::KernelError {
                    errno: libc::ENODEV,
                    ..
                }) => {
                    log::info!("deleted {} {}", o.kind, o.name);
                    record.remove_index(o.index);
                }
                Err(e) => {
                    log::error!("could not delete {} {}: {e}", o.kind, o.name);
                    failed += 1;
                }
            }
        }
        if let Err(e) = record.save() {
            log::error!("{e}");
            failed += 1;
        }
        if doomed.is_empty() && failed == 0 {
            log::info!("nothing to delete");
        }
        Ok(if failed > 0 { EXIT_FAILED } else { EXIT_OK })
    })();
    result.unwrap_or_else(netlink_failed)
}
