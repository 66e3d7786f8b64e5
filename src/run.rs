//! The commands, each the same pipeline stopped at a different point: `validate` after the
//! model; `check`, `show` and `apply --dry-run` after the plan (the executor runs in the
//! "would" tense); `apply` and `down` carry their plan out.

use std::time::{Duration, Instant};

use crate::config::{self, Config, Trust};
use crate::error::{Doing, Error};
use crate::execute::{Executor, Outcome};
use crate::live::{LiveKind, Snapshot, World};
use crate::mac::{self, MacAddr};
use crate::netlink::Rtnl;
use crate::observe::{self, Needs};
use crate::plan::{self, Action, Inputs, Plan};
use crate::record::{self, Record};
use crate::report::{self, Tense};
use crate::sockets::Sockets;
use crate::syntax::values;
use crate::{EXIT_FAILED, EXIT_OK, lock, preflight};

/// The largest `--timeout`: a day. A boot-time run that needs more is stuck.
pub const MAX_TIMEOUT_SECS: u64 = 86_400;

pub struct ApplyOptions {
    pub dry_run: bool,
    pub wait: Option<u64>,
    pub parent: Option<String>,
    pub timeout: Duration,
    pub insecure_config: bool,
}

pub struct DownOptions {
    pub dry_run: bool,
    pub timeout: Duration,
}

fn machine_id() -> Option<[u8; 16]> {
    std::fs::read_to_string("/etc/machine-id")
        .ok()
        .and_then(|t| mac::parse_machine_id(&t))
}

fn random_mac() -> MacAddr {
    let mut bytes = crate::random_bytes::<6>();
    bytes[0] = (bytes[0] & 0xfe) | 0x02;
    MacAddr(bytes)
}

fn exit(outcome: &Outcome) -> u8 {
    if outcome.failed > 0 || report::stdout_failed() {
        EXIT_FAILED
    } else {
        EXIT_OK
    }
}

/// Raise the soft limit on open files to the hard one: a run keeps a socket and a namespace
/// open for each named namespace, and systemd's default soft limit (1024) is below what a few
/// hundred namespaces need. The hard limit is the real bound.
pub fn raise_file_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE)
        && soft < hard
        && let Err(e) = setrlimit(Resource::RLIMIT_NOFILE, hard, hard)
    {
        log::debug!("cannot raise the open-file limit from {soft} to {hard}: {e}");
    }
}

pub fn validate(path: &str) -> Result<u8, Error> {
    let config = config::load(path, Trust::Ignore)?;
    let implicit = config.links.iter().filter(|l| l.implicit).count();
    let drop_ins = config.files.len().saturating_sub(1);
    let read = if drop_ins == 0 {
        path.to_string()
    } else {
        format!("{path} and {}", report::count(drop_ins, "drop-in"))
    };
    let mut text = format!(
        "{read}: ok, {}",
        report::count(config.links.len() - implicit, "link")
    );
    if implicit > 0 {
        text.push_str(&format!(
            " (and {} implied by PARENT.ID parents)",
            report::count(implicit, "link")
        ));
    }
    report::out(&text);
    warn_netifd(&config, None);
    hint_parent_units(&config);
    Ok(EXIT_OK)
}

/// Where systemd keeps the units an administrator enabled; `UNDERLAY_SYSTEMD_ROOT` puts it
/// under another root (for tests).
fn systemd_root() -> std::path::PathBuf {
    std::env::var_os("UNDERLAY_SYSTEMD_ROOT").map_or_else(|| "/".into(), Into::into)
}

/// On a machine booted with systemd, name the `underlay-parent@` instance each hotplug parent
/// needs and that is not enabled yet: without it, nothing makes the parent's links when it
/// appears.
fn hint_parent_units(config: &Config) {
    let root = systemd_root();
    // sd_booted(3): systemd is the init system if this directory exists.
    if !root.join("run/systemd/system").is_dir() {
        return;
    }
    for name in &config.hotplug_parents {
        let instance = systemd_escape(name);
        let wants = root.join(format!(
            "etc/systemd/system/sys-subsystem-net-devices-{instance}.device.wants/underlay-parent@{instance}.service"
        ));
        // The link itself, as `systemctl enable` made it (its target may lie under another root).
        if std::fs::symlink_metadata(&wants).is_err() {
            report::parent_unit_hint(name, &instance);
        }
    }
}

/// A name as a unit name holds it (`systemd-escape`): `br-lan` is `br\x2dlan`, since systemd
/// reads `-` in a unit name as `/`. The device unit of a network device and the instance of
/// `underlay-parent@` both use this form.
fn systemd_escape(name: &str) -> String {
    let mut out = String::new();
    for (i, b) in name.bytes().enumerate() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b':' || (b == b'.' && i > 0) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// Warn about each declared link in `scope` that OpenWrt's netifd names too.
fn warn_netifd(config: &Config, scope: Option<&str>) {
    let path = config::netifd::config_path();
    let names = plan::in_scope(config, scope)
        .into_iter()
        .map(|i| config.links[i].name.as_str());
    for name in config::netifd::overlaps(&path, names) {
        report::netifd_overlap(&path, &name);
    }
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
    needs: Needs,
) -> Result<Planned, Error> {
    let mut record = Record::load(&record::run_dir())?;
    let mut world = observe::world(
        Some(config),
        scope,
        &record,
        &mut sockets,
        host_links,
        deadline,
        needs,
    )?;
    observe::prune(&mut record, &world);
    let machine_id = machine_id();
    let make = |world: &World| {
        plan::make(&Inputs {
            config,
            world,
            record: &record,
            machine_id,
            scope,
            random_mac: &random_mac,
        })
    };
    let mut plan = make(&world);
    // A deletion must see everything that could sit on the link: every namespace on the
    // machine. Looking costs a walk of /proc, so it is done only when the plan deletes.
    if plan.deletes() || needs.all_l3 {
        observe::widen(&mut world, &mut sockets, deadline)?;
        plan = make(&world);
    }
    Ok(Planned {
        world,
        record,
        plan,
        sockets,
    })
}

/// For `check` and `show`: a fresh look at everything, with no waiting.
fn look(config: &Config, needs: Needs) -> Result<Planned, Error> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut rtnl = Rtnl::open().doing("opening a netlink socket")?;
    let links = Snapshot::take(&mut rtnl, deadline).doing("reading the link table")?;
    make_plan(config, links, Sockets::new(rtnl)?, None, deadline, needs)
}

/// Say what carrying out `planned` would do (or do it), in one voice.
fn execute(
    planned: &mut Planned,
    config: Option<&Config>,
    tense: Tense,
    deadline: Instant,
) -> Result<Outcome, Error> {
    Executor {
        sockets: &mut planned.sockets,
        record: &mut planned.record,
        config,
        world: &planned.world,
        deadline,
        tense,
        outcome: Outcome::default(),
    }
    .run(&planned.plan)
}

pub fn check(path: &str) -> Result<u8, Error> {
    let config = config::load(path, Trust::Ignore)?;
    let mut planned = look(&config, Needs::default())?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let outcome = execute(&mut planned, Some(&config), Tense::Would, deadline)?;
    if planned.plan.is_noop() && outcome.failed == 0 {
        let n = planned.plan.links.len();
        report::out(&format!(
            "in sync: {} {} {path}",
            report::count(n, "link"),
            if n == 1 { "matches" } else { "match" }
        ));
        Ok(exit(&outcome))
    } else {
        Ok(EXIT_FAILED)
    }
}

pub fn apply(path: &str, options: &ApplyOptions) -> Result<u8, Error> {
    let started = Instant::now();
    let deadline = started + options.timeout;
    let trust = match (options.dry_run, options.insecure_config) {
        (true, _) => Trust::Ignore,
        (false, true) => Trust::Warn,
        (false, false) => Trust::Required,
    };
    let config = config::load(path, trust)?;
    let scope = options.parent.as_deref();
    if let Some(p) = scope {
        values::ifname(p).map_err(|e| Error::Usage(format!("--parent: {e}")))?;
        if plan::in_scope(&config, Some(p)).is_empty() {
            // The hotplug path calls this for every interface that appears: answer at once.
            log::debug!("nothing in {path} is {p} or sits on it");
            return Ok(EXIT_OK);
        }
    }
    warn_netifd(&config, scope);
    let _lock = if options.dry_run {
        None
    } else {
        Some(lock::acquire(&record::run_dir(), deadline)?)
    };

    // Subscribe before the dump, so a parent that appears in between is not missed.
    let mut events = Rtnl::open_link_events().doing("subscribing to link events")?;
    let mut rtnl = Rtnl::open().doing("opening a netlink socket")?;
    let mut links = Snapshot::take(&mut rtnl, deadline).doing("reading the link table")?;
    links
        .drain_events(&mut events, &mut rtnl, deadline)
        .doing("reading link events")?;
    let (later, missing): (Vec<String>, Vec<String>) =
        plan::external_parents(&config, scope, &links)
            .into_iter()
            .filter(|n| links.by_name(n).is_none())
            .partition(|n| config.hotplug_parents.contains(n));
    for name in &later {
        report::out(&format!(
            "{name} is not there yet: its links are made when it appears (hotplug-parents)"
        ));
    }
    if !missing.is_empty() {
        let wait = Duration::from_secs(options.wait.unwrap_or(config.wait_secs));
        // The wait never takes the whole run: a quarter of --timeout (at most 15 s) is kept
        // for the work after it, so a parent that never comes does not cost the rest.
        let reserve = (options.timeout / 4).min(Duration::from_secs(15));
        let wait_deadline = (started + wait).min(deadline - reserve);
        // What the wait really is: never past the run's own --timeout.
        let bound = wait_deadline.saturating_duration_since(started);
        if wait_deadline > Instant::now() {
            report::out(&format!(
                "waiting up to {} for {}",
                seconds(bound),
                missing.join(", ")
            ));
        }
        let still = links
            .wait_for(&missing, &mut events, &mut rtnl, wait_deadline)
            .doing("waiting for link events")?;
        for name in &still {
            report::warning(&format!("{name} did not appear within {}", seconds(bound)));
        }
    }
    drop(events);

    let mut planned = make_plan(
        &config,
        links,
        Sockets::new(rtnl)?,
        scope,
        deadline,
        Needs::default(),
    )?;
    // What the kernel or the machine would refuse stops the run before its first change; a
    // dry run says the same, and exits the same.
    let problems = preflight::problems(
        &config,
        &mut planned.sockets.host,
        &planned.world,
        &planned.plan,
        deadline,
    )?;
    if !problems.is_empty() {
        for problem in &problems {
            report::error(problem);
        }
        report::error(if options.dry_run {
            "apply would stop here, and change nothing"
        } else {
            "nothing was changed"
        });
        return Ok(EXIT_FAILED);
    }
    if options.dry_run {
        let outcome = execute(&mut planned, Some(&config), Tense::Would, deadline)?;
        if planned.plan.is_noop() && outcome.failed == 0 {
            in_sync(&outcome);
        }
        return Ok(EXIT_OK);
    }

    let outcome = execute(&mut planned, Some(&config), Tense::Did, deadline)?;
    if !outcome.changed_anything() && outcome.failed == 0 {
        in_sync(&outcome);
    }
    log::debug!(
        "{} created, {} changed, {} deleted, {} in sync, {} waiting for hotplug parents, {} failed",
        outcome.created,
        outcome.changed,
        outcome.deleted,
        outcome.in_sync,
        outcome.later,
        outcome.failed
    );
    Ok(exit(&outcome))
}

fn in_sync(outcome: &Outcome) {
    report::out(&format!(
        "nothing to change: {} in sync",
        report::count(outcome.in_sync, "link")
    ));
}

/// `12 s`, `1.5 s`.
fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

pub fn down(options: &DownOptions) -> Result<u8, Error> {
    let deadline = Instant::now() + options.timeout;
    let dir = record::run_dir();
    let _lock = if options.dry_run {
        None
    } else {
        Some(lock::acquire(&dir, deadline)?)
    };
    let mut record = Record::load(&dir)?;
    let mut rtnl = Rtnl::open().doing("opening a netlink socket")?;
    let links = Snapshot::take(&mut rtnl, deadline).doing("reading the link table")?;
    let mut sockets = Sockets::new(rtnl)?;
    let needs = Needs {
        namespace_users: true,
        ..Needs::default()
    };
    let mut world = observe::world(None, None, &record, &mut sockets, links, deadline, needs)?;
    observe::prune(&mut record, &world);
    let mut plan = plan::teardown(&world, &record);
    if plan.deletes() {
        observe::widen(&mut world, &mut sockets, deadline)?;
        plan = plan::teardown(&world, &record);
    }
    let nothing = plan.removals.is_empty() && plan.namespaces.is_empty();
    let mut planned = Planned {
        world,
        record,
        plan,
        sockets,
    };
    let tense = if options.dry_run {
        Tense::Would
    } else {
        Tense::Did
    };
    let outcome = execute(&mut planned, None, tense, deadline)?;
    if nothing {
        // The record may still name links that are gone: forget them.
        if !options.dry_run {
            planned.record.save()?;
        }
        report::out("nothing to delete");
    }
    Ok(exit(&outcome))
}

pub fn show(path: &str) -> Result<u8, Error> {
    let config = config::load(path, Trust::Ignore)?;
    let needs = Needs {
        all_l3: true,
        ..Needs::default()
    };
    let Planned {
        world,
        plan,
        record,
        ..
    } = look(&config, needs)?;
    report::data(&report::table_row(&[
        "NAME", "KIND", "PARENT", "SETTINGS", "MAC", "MTU", "UP", "STATE",
    ]));
    for lp in &plan.links {
        let d = &config.links[lp.decl];
        let netns = d.l3.netns.as_deref();
        let l = world.link(netns, &d.name);
        // What exists is described as the kernel has it, never from the config or the name.
        let (kind, settings) = match l {
            Some(l) => (
                l.kind.describe().to_string(),
                match &l.kind {
                    LiveKind::Known {
                        settings: Ok(s), ..
                    } => s.summary(),
                    LiveKind::Known {
                        settings: Err(e), ..
                    } => format!("unreadable ({e})"),
                    _ => String::new(),
                },
            ),
            None => (d.kind.name.to_string(), d.settings.summary()),
        };
        let parent = match l {
            Some(l) => {
                let index = match netns {
                    Some(_) => l.parent_elsewhere.map(|e| e.index),
                    None => l.parent,
                };
                index.map(|i| {
                    world
                        .host
                        .links
                        .by_index(i)
                        .map_or(format!("ifindex {i}"), |p| p.name.to_string())
                })
            }
            None => d.parent.clone(),
        };
        let state = match &lp.action {
            Action::InSync { adopted: false, .. } => "ok (created by underlay)".to_string(),
            Action::InSync { adopted: true, .. } => "ok (pre-existing, adopted)".to_string(),
            Action::External { .. } => "ok (pre-existing parent)".to_string(),
            Action::Create { .. } => "missing".to_string(),
            Action::Change { diffs, .. } | Action::Recreate { diffs, .. } => {
                format!("differs: {}", report::changes(diffs))
            }
            Action::Conflict { diffs } => {
                format!("someone else's, differs: {}", report::changes(diffs))
            }
            Action::Blocked(b) => format!("not set up: {}", report::why(b)),
        };
        let dash = || "-".to_string();
        report::data(&report::table_row(&[
            &d.name,
            &kind,
            &parent.unwrap_or_else(dash),
            &if settings.is_empty() {
                dash()
            } else {
                settings
            },
            &l.and_then(|l| l.mac).map_or_else(dash, |m| m.to_string()),
            &l.map_or_else(dash, |l| l.mtu.to_string()),
            l.map_or("-", |l| crate::kinds::yes_no(l.up)),
            &state,
        ]));
        if let Some(ns) = netns {
            report::data(&report::detail(&format!("netns {ns}")));
        }
        if let (Some(l), Some(view)) = (l, world.view(netns)) {
            // Every address and route on the link, and whose each is.
            let mark = |ours: bool| if ours { "" } else { " (not underlay's)" };
            for a in view.addresses.iter().filter(|a| a.index == l.index as u32) {
                let ours = crate::plan::l3::address_is_ours(a, netns, l.index, &record);
                report::data(&report::detail(&format!("address {}{}", a.net, mark(ours))));
            }
            for r in view
                .routes
                .iter()
                .filter(|r| r.is_unicast_on(l.index as u32))
            {
                let ours = r.protocol == crate::netlink::route::RTPROT_UNDERLAY;
                report::data(&report::detail(&format!(
                    "route {}{}",
                    report::show_route(&r.route),
                    mark(ours)
                )));
            }
            if record.owns(netns, l)
                && let Some(guard) =
                    crate::plan::guard::foreign_upper(l.index, netns, &world, &record)
            {
                report::data(&report::detail(&format!(
                    "{guard}: down would keep {}",
                    d.name
                )));
            }
        }
    }
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    /// As `systemd-escape br-lan` prints it (systemd 252).
    #[test]
    fn unit_names_escape_as_systemd_escape_does() {
        assert_eq!(super::systemd_escape("ens8"), "ens8");
        assert_eq!(super::systemd_escape("br-lan"), "br\\x2dlan");
        assert_eq!(super::systemd_escape("eth0.10"), "eth0.10");
        assert_eq!(super::systemd_escape(".x"), "\\x2ex");
        assert_eq!(super::systemd_escape("a@b"), "a\\x40b");
    }
}
