//! The commands. Each is the same pipeline, stopped at a different point:
//! config text -> validated model -> one live snapshot -> plan -> netlink -> record -> report.
//! `validate` stops after the model, `check`, `show` and `apply --dry-run` after the plan.

use std::io::Read as _;
use std::time::{Duration, Instant};

use crate::{ApplyArgs, DownArgs};
use underlay::apply::{self, Executor, Sockets};
use underlay::config::{self, Config};
use underlay::kinds::LinkKind;
use underlay::live::{NsView, Snapshot, World};
use underlay::mac::{self, MacAddr};
use underlay::netlink::{KernelError, NetlinkError, Rtnl, link};
use underlay::plan::{self, Action, Inputs, Plan, l3::show_route};
use underlay::record::{self, Owned, Record};
use underlay::{EXIT_FAILED, EXIT_OK, EXIT_USAGE, lock, netns};

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

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    let _ = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    bytes
}

fn random_mac() -> MacAddr {
    let mut bytes = random_bytes::<6>();
    bytes[0] = (bytes[0] & 0xfe) | 0x02;
    MacAddr(bytes)
}

fn failed(e: impl std::fmt::Display) -> u8 {
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

/// Fill in the rest of the live state around an already-taken host link snapshot: addresses and
/// routes where layer-3 keys need them, and every named namespace the config or the record
/// mentions that exists, each through a socket opened inside it.
fn observe(
    config: Option<&Config>,
    scope: Option<&str>,
    record: &Record,
    sockets: &mut Sockets,
    host_links: Snapshot,
    deadline: Instant,
) -> Result<World, String> {
    let mut world = World {
        host: NsView {
            links: host_links,
            ..NsView::default()
        },
        ..World::default()
    };
    let mut names: Vec<String> = config
        .map(|c| plan::namespaces(c, scope))
        .unwrap_or_default();
    for o in &record.links {
        if let Some(ns) = &o.netns
            && !names.contains(ns)
        {
            names.push(ns.clone());
        }
    }
    for n in &record.namespaces {
        if !names.contains(&n.name) {
            names.push(n.name.clone());
        }
    }
    let wants_l3 = |netns: Option<&str>| {
        config.is_some_and(|c| {
            plan::in_scope(c, scope)
                .into_iter()
                .any(|i| c.links[i].l3.netns.as_deref() == netns && !c.links[i].l3.is_empty())
        })
    };
    if wants_l3(None) {
        world
            .host
            .take_l3(&mut sockets.host, deadline)
            .map_err(|e| e.to_string())?;
    }
    for name in names {
        let Some(ns) = netns::open(&name)? else {
            continue;
        };
        let rtnl = sockets.add_namespace(ns)?;
        let mut view = NsView {
            links: Snapshot::take(rtnl, deadline).map_err(|e| format!("netns {name}: {e}"))?,
            ..NsView::default()
        };
        if wants_l3(Some(&name)) {
            view.take_l3(rtnl, deadline)
                .map_err(|e| format!("netns {name}: {e}"))?;
        }
        world.named.insert(name, view);
    }
    Ok(world)
}

/// Forget record entries whose link is gone or is no longer the link underlay made.
fn prune(record: &mut Record, world: &World) {
    record.links.retain(|o| {
        world
            .link(o.netns.as_deref(), &o.name)
            .is_some_and(|l| o.matches(o.netns.as_deref(), l))
    });
}

/// The live state, the record and the plan.
struct Planned {
    world: World,
    record: Record,
    plan: Plan,
    sockets: Sockets,
}

fn make_plan(
    config: &Config,
    host_links: Snapshot,
    mut sockets: Sockets,
    scope: Option<&str>,
    deadline: Instant,
) -> Result<Planned, String> {
    let mut record = Record::load(&record::run_dir())?;
    let world = observe(
        Some(config),
        scope,
        &record,
        &mut sockets,
        host_links,
        deadline,
    )?;
    prune(&mut record, &world);
    let plan = plan::make(&Inputs {
        config,
        world: &world,
        record: &record,
        machine_id: machine_id(),
        scope,
        random_mac: &random_mac,
    });
    Ok(Planned {
        world,
        record,
        plan,
        sockets,
    })
}

/// For `check` and `show`: a fresh look at everything, with no waiting.
fn look(config: &Config) -> Result<Planned, String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut rtnl = Rtnl::open().map_err(|e| e.to_string())?;
    let links = Snapshot::take(&mut rtnl, deadline).map_err(|e| e.to_string())?;
    make_plan(config, links, Sockets::new(rtnl), None, deadline)
}

pub fn check(path: &str) -> u8 {
    let config = match load_config(path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let planned = match look(&config) {
        Ok(p) => p,
        Err(e) => return failed(e),
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

/// Refuse a config that anyone but root could have changed, as sshd's StrictModes does: underlay
/// runs as root at boot, so whoever can write the file (or replace it, through its directory)
/// controls the machine's network.
pub fn config_is_trusted(path: &str) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let file = std::path::Path::new(path);
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    for (what, p) in [
        ("the config file", file.to_path_buf()),
        ("its directory", dir),
    ] {
        let meta =
            std::fs::metadata(&p).map_err(|e| format!("cannot check {}: {e}", p.display()))?;
        let mode = meta.mode() & 0o7777;
        if meta.uid() != 0 {
            return Err(format!(
                "{what} {} belongs to uid {}, not root; anyone who can change it controls this machine's network. \
                 Fix it with `chown root {}`, or pass --insecure-config",
                p.display(),
                meta.uid(),
                p.display()
            ));
        }
        if mode & 0o022 != 0 {
            return Err(format!(
                "{what} {} is writable by {} (mode {mode:04o}); anyone who can change it controls this machine's \
                 network. Fix it with `chmod go-w {}`, or pass --insecure-config",
                p.display(),
                match (mode & 0o020 != 0, mode & 0o002 != 0) {
                    (true, true) => "group and others",
                    (true, false) => "its group",
                    _ => "everyone",
                },
                p.display()
            ));
        }
    }
    Ok(())
}

pub fn apply(path: &str, args: &ApplyArgs) -> u8 {
    let started = Instant::now();
    if let Err(e) = config_is_trusted(path) {
        if !args.insecure_config {
            log::error!("{e}");
            return EXIT_USAGE;
        }
        log::warn!("{e} (applying anyway: --insecure-config)");
    }
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
            Err(e) => return failed(e),
        }
    };
    match run_apply(&config, args, started, deadline) {
        Ok(code) => code,
        Err(e) => failed(e),
    }
}

fn run_apply(
    config: &Config,
    args: &ApplyArgs,
    started: Instant,
    deadline: Instant,
) -> Result<u8, String> {
    let scope = args.parent.as_deref();
    let net = |e: NetlinkError| e.to_string();
    // Subscribe before the dump, so a parent that appears in between is not missed.
    let mut events = Rtnl::open_link_events().map_err(net)?;
    let mut rtnl = Rtnl::open().map_err(net)?;
    let mut links = Snapshot::take(&mut rtnl, deadline).map_err(net)?;
    links
        .drain_events(&mut events, &mut rtnl, deadline)
        .map_err(net)?;

    let (later, missing): (Vec<String>, Vec<String>) = plan::external_parents(config, scope)
        .into_iter()
        .filter(|n| links.by_name(n).is_none())
        .partition(|n| config.hotplug_parents.contains(n));
    for name in &later {
        log::info!("{name} is not there yet: its links are made when it appears (hotplug-parents)");
    }
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
        let still = links
            .wait_for(&missing, &mut events, &mut rtnl, wait_deadline)
            .map_err(net)?;
        for name in &still {
            log::warn!("{name} did not appear within {} s", wait.as_secs());
        }
    }
    drop(events);

    let Planned {
        world,
        mut record,
        plan,
        mut sockets,
    } = make_plan(config, links, Sockets::new(rtnl), scope, deadline)?;
    if args.dry_run {
        print_plan(&plan, config);
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
        let missing =
            apply::unsupported_kinds(&mut sockets.host, &creating, deadline).map_err(net)?;
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

    let outcome = Executor {
        sockets: &mut sockets,
        record: &mut record,
        config,
        world: &world,
        deadline,
    }
    .run(&plan)?;
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

fn print_plan(plan: &Plan, config: &Config) {
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
    for ns in &plan.new_namespaces {
        changes += 1;
        println!("would create netns {ns}");
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
            }
            Action::External => println!("in sync: {name} exists and is used as a parent"),
            Action::Create { mac, .. } => {
                let mac = mac.map(|m| format!(", mac {m}")).unwrap_or_default();
                println!("would create {kind} {name} ({parent}{summary}{mac})");
                changes += 1;
            }
            Action::Change { diffs, .. } => {
                println!("would change {kind} {name}: {}", plan::describe(diffs));
                changes += 1;
            }
            Action::Recreate { diffs, .. } => {
                println!("would re-create {kind} {name}: {}", plan::describe(diffs));
                changes += 1;
            }
            Action::Conflict { diffs } => {
                println!(
                    "would refuse {kind} {name}: a foreign link with this name differs ({})",
                    plan::describe(diffs)
                );
                changes += 1;
            }
            Action::Blocked { reason, .. } => {
                println!("would skip {kind} {name}: {reason}");
                changes += 1;
            }
        }
        if let Some(l3) = &lp.l3 {
            for a in &l3.remove_addresses {
                println!("would remove address {a} from {name}");
            }
            for r in &l3.remove_routes {
                println!("would remove route {} from {name}", show_route(r));
            }
            for a in &l3.add_addresses {
                println!("would add address {} to {name}", a.net);
            }
            for r in &l3.add_routes {
                println!("would add route {} to {name}", show_route(r));
            }
            changes += usize::from(!l3.is_empty());
        }
    }
    if changes == 0 {
        println!("nothing to change: {} links in sync", plan.links.len());
    }
}

pub fn show(path: &str) -> u8 {
    let config = match load_config(path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let Planned { world, plan, .. } = match look(&config) {
        Ok(p) => p,
        Err(e) => return failed(e),
    };
    println!(
        "{:<15} {:<8} {:<15} {:<18} {:<17} {:>5} {:<3} STATE",
        "NAME", "KIND", "PARENT", "ID/MODE", "MAC", "MTU", "UP"
    );
    for lp in &plan.links {
        let d = &config.links[lp.decl];
        let netns = d.l3.netns.as_deref();
        let l = world.link(netns, &d.name);
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
        if let Some(ns) = netns {
            println!("{:<15} netns {ns}", "");
        }
        if let (Some(l), Some(view)) = (l, world.view(netns)) {
            for a in view.addresses.iter().filter(|a| a.index == l.index as u32) {
                println!("{:<15} address {}", "", a.net);
            }
            for r in view
                .routes
                .iter()
                .filter(|r| r.is_static_on(l.index as u32))
            {
                println!("{:<15} route {}", "", show_route(&r.route));
            }
        }
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
            Err(e) => return failed(e),
        }
    };
    match run_down(args, deadline) {
        Ok(code) => code,
        Err(e) => failed(e),
    }
}

fn run_down(args: &DownArgs, deadline: Instant) -> Result<u8, String> {
    let net = |e: NetlinkError| e.to_string();
    let mut record = Record::load(&record::run_dir())?;
    let mut rtnl = Rtnl::open().map_err(net)?;
    let links = Snapshot::take(&mut rtnl, deadline).map_err(net)?;
    let mut sockets = Sockets::new(rtnl);
    let world = observe(None, None, &record, &mut sockets, links, deadline)?;
    prune(&mut record, &world);
    let mut failures = 0;

    let mut doomed: Vec<Owned> = Vec::new();
    for owned in &record.links {
        let ns = owned.netns.as_deref();
        let Some(l) = world.link(ns, &owned.name) else {
            continue;
        };
        match plan::foreign_descendant(l.index, ns, &world, &record) {
            Some(foreign) => {
                log::error!(
                    "kept {} {}: the foreign link {foreign} sits on it, and deleting {} would delete {foreign} too",
                    owned.kind,
                    owned.name,
                    owned.name
                );
                failures += 1;
            }
            None => doomed.push(owned.clone()),
        }
    }
    // Children first: links in named namespaces sit on host links; then deeper host links.
    let depth = |o: &Owned| -> usize {
        let below = world
            .view(o.netns.as_deref())
            .map_or(0, |v| v.links.depth(o.index));
        below + usize::from(o.netns.is_some()) * 100
    };
    doomed.sort_by_key(|o| std::cmp::Reverse(depth(o)));
    if args.dry_run {
        for o in &doomed {
            println!("would delete {} {}", o.kind, o.name);
        }
        for n in &record.namespaces {
            println!("would delete netns {} if nothing else uses it", n.name);
        }
        if doomed.is_empty() && record.namespaces.is_empty() {
            println!("nothing to delete");
        }
        return Ok(if failures > 0 { EXIT_FAILED } else { EXIT_OK });
    }
    // The kernel deletes a link's children with it, in one batch, which is far quicker than one
    // by one (each deletion waits for an RCU grace period). So only the topmost of the doomed
    // links are deleted; a second look confirms the rest went with them.
    let doomed_at = |ns: Option<&str>, index: i32| {
        doomed
            .iter()
            .any(|d| d.netns.as_deref() == ns && d.index == index)
    };
    let roots: Vec<&Owned> = doomed
        .iter()
        .filter(|o| {
            let Some(l) = world.link(o.netns.as_deref(), &o.name) else {
                return true;
            };
            let parent_doomed = match o.netns {
                None => l.parent.is_some_and(|p| doomed_at(None, p)),
                Some(_) => l.parent_elsewhere.is_some_and(|p| doomed_at(None, p)),
            };
            !parent_doomed
        })
        .collect();
    // Deleting links one by one costs an RCU grace period each (tens of milliseconds). So the
    // roots first join a netdev group of their own, chosen at random among the groups no live
    // link uses, and one RTM_DELLINK per namespace deletes that group in a single batch. Any
    // root that did not make it into the group is deleted on its own afterwards.
    let group = unused_group(&world);
    let mut items = Vec::new();
    for o in &roots {
        let change = link::LinkChange {
            group: Some(group),
            ..Default::default()
        };
        items.push((o.netns.clone(), link::change(o.index, change).map_err(net)?));
    }
    let grouped = sockets.execute(items, deadline)?;
    let mut in_group: Vec<Option<String>> = roots
        .iter()
        .zip(&grouped)
        .filter(|(_, r)| r.is_ok())
        .map(|(o, _)| o.netns.clone())
        .collect();
    in_group.sort();
    in_group.dedup();
    let mut items = Vec::new();
    for ns in &in_group {
        items.push((ns.clone(), link::delete_group(group).map_err(net)?));
    }
    for (ns, result) in in_group.iter().zip(sockets.execute(items, deadline)?) {
        if let Err(e) = result {
            log::debug!("deleting group {group} in {ns:?} failed ({e}); deleting one by one");
        }
    }
    let mut items = Vec::new();
    let mut singles = Vec::new();
    for (o, result) in roots.iter().zip(&grouped) {
        if result.is_err() || !in_group.contains(&o.netns) {
            items.push((o.netns.clone(), link::delete(o.index).map_err(net)?));
            singles.push(*o);
        }
    }
    let mut leftovers: Vec<(Option<String>, i32)> = Vec::new();
    for ns in &in_group {
        let Some(now) = sockets.snapshot(ns.as_deref(), deadline)? else {
            continue;
        };
        leftovers.extend(
            now.links()
                .filter(|l| l.group == group)
                .map(|l| (ns.clone(), l.index)),
        );
    }
    for o in &roots {
        if leftovers
            .iter()
            .any(|(ns, i)| *ns == o.netns && *i == o.index)
            && !singles.contains(o)
        {
            items.push((o.netns.clone(), link::delete(o.index).map_err(net)?));
            singles.push(*o);
        }
    }
    let results = sockets.execute(items, deadline)?;
    for (o, result) in singles.iter().zip(results) {
        match result {
            Ok(())
            | Err(KernelError {
                errno: libc::ENODEV,
                ..
            }) => {}
            Err(e) => {
                log::error!("could not delete {} {}: {e}", o.kind, o.name);
                failures += 1;
            }
        }
    }
    // What is left of the doomed links, namespace by namespace.
    let mut left: Vec<(Option<String>, i32)> = Vec::new();
    let mut namespaces: Vec<Option<String>> = doomed.iter().map(|o| o.netns.clone()).collect();
    namespaces.sort();
    namespaces.dedup();
    for ns in namespaces {
        let Some(now) = sockets.snapshot(ns.as_deref(), deadline)? else {
            continue;
        };
        left.extend(now.links().map(|l| (ns.clone(), l.index)));
    }
    for o in &doomed {
        if left.iter().any(|(ns, i)| *ns == o.netns && *i == o.index) {
            if !roots
                .iter()
                .any(|r| r.netns == o.netns && r.index == o.index)
            {
                log::error!(
                    "{} {} outlived its deleted parent; run `underlay down` again",
                    o.kind,
                    o.name
                );
                failures += 1;
            }
        } else {
            log::info!("deleted {} {}", o.kind, o.name);
            record.remove(o.netns.as_deref(), o.index);
        }
    }
    failures += remove_namespaces(&mut record, &mut sockets, deadline);
    record.save()?;
    if doomed.is_empty() && failures == 0 {
        log::info!("nothing to delete");
    }
    Ok(if failures > 0 { EXIT_FAILED } else { EXIT_OK })
}

/// A netdev group number no live link uses, to gather the links `down` deletes in one batch.
fn unused_group(world: &World) -> u32 {
    let mut group = u32::from_ne_bytes(random_bytes::<4>()) | 0x4000_0000;
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

/// Delete the namespaces underlay created, if nothing else lives in them any more.
fn remove_namespaces(record: &mut Record, sockets: &mut Sockets, deadline: Instant) -> usize {
    let mut failures = 0;
    let mut keep = Vec::new();
    for n in std::mem::take(&mut record.namespaces) {
        let ns = match netns::open(&n.name) {
            Ok(Some(ns)) if ns.inode == n.inode => ns,
            // Gone, or replaced by someone else's namespace of the same name: not ours to delete.
            Ok(_) => continue,
            Err(e) => {
                log::error!("netns {}: {e}", n.name);
                failures += 1;
                keep.push(n);
                continue;
            }
        };
        let inode = ns.inode;
        let remaining: Vec<String> = match sockets
            .add_namespace(ns)
            .and_then(|r| Snapshot::take(r, deadline).map_err(|e| e.to_string()))
        {
            Ok(s) => s
                .links()
                .map(|l| l.name.as_str())
                .filter(|name| *name != "lo")
                .map(str::to_string)
                .collect(),
            Err(e) => {
                log::error!("netns {}: {e}", n.name);
                failures += 1;
                keep.push(n);
                continue;
            }
        };
        sockets.named.remove(&n.name);
        if !remaining.is_empty() {
            log::info!(
                "kept netns {}: links still live there ({})",
                n.name,
                remaining.join(", ")
            );
            keep.push(n);
        } else if let Some(pid) = netns::user_process(inode) {
            log::info!("kept netns {}: process {pid} still uses it", n.name);
            keep.push(n);
        } else {
            match netns::remove(&n.name) {
                Ok(()) => log::info!("deleted netns {}", n.name),
                Err(e) => {
                    log::error!("could not delete netns {}: {e}", n.name);
                    failures += 1;
                    keep.push(n);
                }
            }
        }
    }
    record.namespaces = keep;
    failures
}
