//! The one voice: every line a person reads comes from here, in the same words whether it says
//! what a run did, what it would do (`apply --dry-run`, `check`, `down --dry-run`) or why it
//! could not. Reports go to stdout; problems go to stderr, each line prefixed `error: ` or
//! `warning: `.

use std::fmt::Write as _;
use std::io::Write as _;

use crate::config::LinkDecl;
use crate::config::l3::default_metric;
use crate::kinds::Difference;
use crate::netlink::route::{RT_TABLE_MAIN, Route};
use crate::plan::{Blocked, Guard, NewMac, RemovalWhy};
use crate::record::Owned;

/// Whether a line says what was done or what would be done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tense {
    /// `apply --dry-run`, `check`, `down --dry-run`: "would create ...".
    Would,
    /// A real run: "created ...".
    Did,
}

/// A link as reports name it: `macvlan mv0`, `macvlan c1 in netns web`.
#[derive(Debug, Clone, Copy)]
pub struct LinkRef<'a> {
    pub kind: &'a str,
    pub name: &'a str,
    pub netns: Option<&'a str>,
}

impl<'a> LinkRef<'a> {
    pub fn of(decl: &'a LinkDecl) -> LinkRef<'a> {
        LinkRef {
            kind: decl.kind.name,
            name: &decl.name,
            netns: decl.l3.netns.as_deref(),
        }
    }

    pub fn owned(owned: &'a Owned) -> LinkRef<'a> {
        LinkRef {
            kind: &owned.kind,
            name: &owned.name,
            netns: owned.netns.as_deref(),
        }
    }
}

impl std::fmt::Display for LinkRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind, self.name)?;
        if let Some(ns) = self.netns {
            write!(f, " in netns {ns}")?;
        }
        Ok(())
    }
}

/// One thing a run does.
#[derive(Debug)]
pub enum Step<'a> {
    Delete {
        link: LinkRef<'a>,
        why: RemovalWhy,
    },
    /// A removal the guard refused.
    Keep {
        link: LinkRef<'a>,
        guard: &'a Guard,
    },
    RaiseParent {
        name: &'a str,
        child: &'a str,
    },
    CreateNetns {
        name: &'a str,
    },
    ClearPlaceholder {
        name: &'a str,
    },
    DeleteNetns {
        name: &'a str,
    },
    KeepNetns {
        name: &'a str,
        why: &'a str,
    },
    Create {
        decl: &'a LinkDecl,
        parent: Option<&'a str>,
        mac: NewMac,
    },
    Recreate {
        decl: &'a LinkDecl,
        parent: Option<&'a str>,
        mac: NewMac,
        diffs: &'a [Difference],
    },
    Change {
        decl: &'a LinkDecl,
        diffs: &'a [Difference],
    },
    Skip {
        decl: &'a LinkDecl,
        blocked: &'a Blocked,
    },
    /// Someone else's link with a declared name differs.
    LeaveAlone {
        decl: &'a LinkDecl,
        diffs: &'a [Difference],
    },
    AddAddress {
        decl: &'a LinkDecl,
        net: &'a ipnet::IpNet,
    },
    /// A configured IPv6 address someone else holds with another prefix length.
    AddressHeld {
        decl: &'a LinkDecl,
        net: &'a ipnet::IpNet,
        held: &'a ipnet::IpNet,
    },
    RemoveAddress {
        decl: &'a LinkDecl,
        net: &'a ipnet::IpNet,
    },

    AddRoute {
        decl: &'a LinkDecl,
        route: &'a Route,
    },
    RemoveRoute {
        decl: &'a LinkDecl,
        route: &'a Route,
    },
}

impl Step<'_> {
    /// The verb, as "would VERB" and as the past tense.
    fn verb(&self) -> (&'static str, &'static str) {
        match self {
            Step::Delete { .. } | Step::DeleteNetns { .. } => ("delete", "deleted"),
            Step::Keep { .. } | Step::KeepNetns { .. } => ("keep", "kept"),
            Step::RaiseParent { .. } => ("set", "set"),
            Step::Create { .. } | Step::CreateNetns { .. } => ("create", "created"),
            Step::Recreate { .. } => ("re-create", "re-created"),
            Step::Change { .. } => ("change", "changed"),
            Step::Skip { .. } | Step::AddressHeld { .. } => ("skip", "skipped"),
            Step::LeaveAlone { .. } => ("leave", "left"),
            Step::AddAddress { .. } | Step::AddRoute { .. } => ("add", "added"),
            Step::RemoveAddress { .. }
            | Step::RemoveRoute { .. }
            | Step::ClearPlaceholder { .. } => ("remove", "removed"),
        }
    }

    /// Whether a real run reports this as a problem (stderr, and a failed run).
    pub fn is_problem(&self) -> bool {
        match self {
            Step::Keep { .. } | Step::LeaveAlone { .. } | Step::AddressHeld { .. } => true,
            Step::Skip { blocked, .. } => !blocked.is_later(),
            _ => false,
        }
    }

    /// Everything after the verb.
    fn rest(&self) -> String {
        match self {
            Step::Delete { link, why } => match why {
                RemovalWhy::Undeclared => format!("{link} (no longer declared)"),
                RemovalWhy::Down | RemovalWhy::Recreate => link.to_string(),
            },
            Step::Keep { link, guard } => format!(
                "{link}: {guard}; {}, or keep {} in the config",
                guard.advice(),
                link.name
            ),
            Step::RaiseParent { name, child } => format!("{name} up (parent of {child})"),
            Step::CreateNetns { name } | Step::DeleteNetns { name } => format!("netns {name}"),
            Step::ClearPlaceholder { name } => format!(
                "{}/{name}, a placeholder an interrupted run left",
                crate::netns::RUN_DIR
            ),
            Step::KeepNetns { name, why } => format!("netns {name}: {why}"),
            Step::Create { decl, parent, mac } => {
                format!("{}{}", LinkRef::of(decl), details(decl, *parent, *mac))
            }
            Step::Recreate {
                decl,
                parent,
                mac,
                diffs,
            } => format!(
                "{}{}: {}",
                LinkRef::of(decl),
                details(decl, *parent, *mac),
                changes(diffs)
            ),
            Step::Change { decl, diffs } => format!("{}: {}", LinkRef::of(decl), changes(diffs)),
            Step::Skip { decl, blocked } => format!("{}: {}", LinkRef::of(decl), why(blocked)),
            Step::LeaveAlone { decl, diffs } => format!(
                "{} alone: a link with this name exists that underlay did not create, and it \
                 differs ({}); delete or rename it, or change the config",
                LinkRef::of(decl),
                changes(diffs)
            ),
            Step::AddAddress { decl, net } => format!("address {net} to {}", decl.name),
            Step::AddressHeld { decl, net, held } => format!(
                "address {net} on {name}: {held} is there already, and not underlay's; an IPv6 \
                 address has one prefix length, and underlay does not replace another owner's \
                 address: remove it (ip {ns}address del {held} dev {name}), or write {held} in \
                 the config",
                name = decl.name,
                ns = decl
                    .l3
                    .netns
                    .as_ref()
                    .map_or(String::new(), |n| format!("-n {n} "))
            ),
            Step::RemoveAddress { decl, net } => {
                format!("address {net} from {} (not in the config)", decl.name)
            }
            Step::AddRoute { decl, route } => {
                format!("route {} to {}", show_route(route), decl.name)
            }
            Step::RemoveRoute { decl, route } => format!(
                "route {} from {} (not in the config)",
                show_route(route),
                decl.name
            ),
        }
    }

    /// The line, in `tense`.
    pub fn line(&self, tense: Tense) -> String {
        let (present, past) = self.verb();
        match tense {
            Tense::Would => format!("would {present} {}", self.rest()),
            Tense::Did => format!("{past} {}", self.rest()),
        }
    }

    /// The line for a step the kernel (or the system) refused.
    pub fn failed(&self, error: &dyn std::fmt::Display) -> String {
        format!("could not {} {}: {error}", self.verb().0, self.rest())
    }
}

/// Say `step` in `tense`: on stdout, or as an error when a real run could not do it.
pub fn step(step: &Step, tense: Tense) {
    let line = step.line(tense);
    if tense == Tense::Did && step.is_problem() {
        error(&line);
    } else {
        out(&line);
    }
}

/// Say that `step` failed.
pub fn step_failed(step: &Step, error_text: &dyn std::fmt::Display) {
    error(&step.failed(error_text));
}

/// The parts of a creation line in parentheses, after a space: parent, the kind's summary, MTU,
/// MAC. Nothing at all for a link with none of them (a plain dummy).
fn details(decl: &LinkDecl, parent: Option<&str>, mac: NewMac) -> String {
    let mut parts = Vec::new();
    if let Some(p) = parent {
        parts.push(format!("parent {p}"));
    }
    let summary = decl.settings.summary();
    if !summary.is_empty() {
        parts.push(summary);
    }
    if let Some(mtu) = crate::plan::creation_mtu(decl) {
        parts.push(format!("mtu {mtu}"));
    }
    match mac {
        NewMac::Kernel => {}
        NewMac::Chosen(m) => parts.push(format!("mac {m}")),
        NewMac::Random(_) => parts.push("a random MAC".into()),
    }
    if !decl.up {
        parts.push("down".into());
    }
    if decl.implicit {
        parts.push("implied by a PARENT.ID parent".into());
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}

/// Differences as changes: `mtu 1300 → 1400, mode vepa → bridge`.
pub fn changes(diffs: &[Difference]) -> String {
    let mut out = String::new();
    for (i, d) in diffs.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{} {} → {}", d.attribute, d.have, d.want);
    }
    out
}

/// An attribute this kernel does not have: what it is, and what Linux it needs.
pub fn unsupported(decl: &LinkDecl, d: &Difference) -> String {
    let since = match d.fix {
        crate::kinds::Fix::NeedsKernel(version) => format!("; it needs Linux {version}"),
        _ => String::new(),
    };
    format!(
        "this kernel ({}) does not have {} for {}: {} runs without {} {}{since}",
        kernel_release(),
        d.attribute,
        decl.kind.name,
        decl.name,
        d.attribute,
        d.want
    )
}

/// `uname -r`.
fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|r| r.trim().to_string())
        .unwrap_or_else(|_| "this one".into())
}

/// Why a link is not set up this run.
pub fn why(blocked: &Blocked) -> String {
    match blocked {
        Blocked::ParentMissing { parent } => format!("parent {parent} does not exist"),
        Blocked::ParentLater { parent } => format!(
            "parent {parent} is not there yet (a hotplug parent: its links are made when it appears)"
        ),
        Blocked::ParentBlocked { parent, .. } => format!("parent {parent} is not set up"),
        Blocked::Guarded { guard, diffs } => format!(
            "it must be re-created ({}), but {guard}; {}",
            changes(diffs),
            guard.advice()
        ),
        Blocked::Unencodable { diffs, why } => {
            format!("its change ({}) cannot be sent: {why}", changes(diffs))
        }
        Blocked::Renamed { now } => format!(
            "underlay made it, and someone renamed it {now}, which still holds its MAC; rename it \
             back (`ip link set {now} name NAME`), or delete {now} and underlay makes it anew"
        ),
        Blocked::KernelWouldRefuse { why, fix } => {
            format!("the kernel would refuse it: {why}; {fix}")
        }
        Blocked::Flattened { parent, kind } => format!(
            "parent {parent} is {}, and the kernel would put this link on {parent}'s own parent \
             instead; give that as its parent",
            crate::kinds::a(kind)
        ),
        Blocked::NotANamespace { netns, what } => format!(
            "{}/{netns} is {what}, not a network namespace; remove it, or name another netns",
            crate::netns::RUN_DIR
        ),
    }
}

/// A route the way `ip route` writes it: `default via 192.168.0.1`, `10.0.0.0/8 metric 100`.
pub fn show_route(r: &Route) -> String {
    let mut text = if r.dst.prefix_len() == 0 {
        "default".to_string()
    } else {
        r.dst.to_string()
    };
    if let Some(via) = r.via {
        let _ = write!(text, " via {via}");
    }
    if r.metric != default_metric(&r.dst) {
        let _ = write!(text, " metric {}", r.metric);
    }
    if r.table != RT_TABLE_MAIN {
        let _ = write!(text, " table {}", r.table);
    }
    if let Some(src) = r.src {
        let _ = write!(text, " src {src}");
    }
    text
}

/// `1 link`, `2 links`.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

thread_local! {
    /// Lines said while `capture` runs, instead of printing them.
    static CAPTURED: std::cell::RefCell<Option<Vec<String>>> = const { std::cell::RefCell::new(None) };
}

/// Run `f` and return every line it said (errors and warnings with their prefixes), for tests
/// that check the words.
pub fn capture<T>(f: impl FnOnce() -> T) -> (T, Vec<String>) {
    CAPTURED.with(|c| *c.borrow_mut() = Some(Vec::new()));
    let result = f();
    let lines = CAPTURED.with(|c| c.borrow_mut().take()).unwrap_or_default();
    (result, lines)
}

fn captured(line: String) -> Option<String> {
    CAPTURED.with(|c| match c.borrow_mut().as_mut() {
        Some(lines) => {
            lines.push(line);
            None
        }
        None => Some(line),
    })
}

/// A report line on stdout (`-q` keeps it quiet).
pub fn out(line: &str) {
    if let Some(line) = captured(line.to_string()) {
        log::info!("{line}");
    }
}

/// Output a command exists to print (`show`'s table): on stdout even with `-q`.
pub fn data(line: &str) {
    if writeln!(std::io::stdout().lock(), "{line}").is_err() {
        note_stdout_failure();
    }
}

/// A row of `show`'s table: NAME, KIND, PARENT, SETTINGS, MAC, MTU, UP, STATE.
pub fn table_row(cells: &[&str; 8]) -> String {
    let [name, kind, parent, settings, mac, mtu, up, state] = cells;
    format!("{name:<15} {kind:<8} {parent:<15} {settings:<22} {mac:<17} {mtu:>5} {up:<3} {state}")
}

/// A line under a row of `show`'s table (its namespace, an address, a route).
pub fn detail(text: &str) -> String {
    format!("{:<15} {text}", "")
}

/// A problem on stderr, prefixed `error: `.
pub fn error(line: &str) {
    if captured(format!("error: {line}")).is_some() {
        log::error!("{line}");
    }
}

/// A doubt on stderr, prefixed `warning: `.
pub fn warning(line: &str) {
    if captured(format!("warning: {line}")).is_some() {
        log::warn!("{line}");
    }
}

/// Why the kernel refused an IPv6 address with EACCES.
pub fn ipv6_disabled(link: &str) -> String {
    format!(
        "IPv6 is disabled on {link} (net.ipv6.conf.{link}.disable_ipv6 = 1, often inherited from \
         net.ipv6.conf.default); underlay writes no sysctls: enable IPv6 there (a file in \
         /etc/sysctl.d), or drop the IPv6 keys"
    )
}

/// A hotplug parent whose `underlay-parent@` instance is not enabled (`run::validate`).
pub fn parent_unit_hint(name: &str, instance: &str) {
    let unit = format!("underlay-parent@{instance}.service");
    let unit = if unit.contains('\\') {
        format!("'{unit}'")
    } else {
        unit
    };
    out(&format!(
        "{name} is a hotplug parent: run `systemctl enable {unit}` so that its links are made when it appears"
    ));
}

/// A link underlay declares that OpenWrt's netifd names too (`config::netifd`).
pub fn netifd_overlap(path: &std::path::Path, name: &str) {
    warning(&format!(
        "{} names {name} too: netifd takes over, resets or deletes the devices it names (at its start, on ifdown, on `service network restart`), and underlay's links on {name} go with it; declare {name} in one of the two only (to put links on a device netifd makes, leave it to netifd and list it in hotplug-parents)",
        path.display()
    ));
}

/// Reports on stdout and problems on stderr, so the output of a boot-time run reads in order and
/// errors still stand out. env_logger supplies the level filter and `RUST_LOG`.
///
/// A write to stdout that fails (a closed pipe, a full disk) must not stop a run halfway: the
/// line is dropped, the failure noted once on stderr, and the run goes on to its end.
struct Output {
    filter: env_logger::Logger,
}

static STDOUT_BROKEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether a report line could not be written (the run then exits 1).
pub fn stdout_failed() -> bool {
    STDOUT_BROKEN.load(std::sync::atomic::Ordering::Relaxed)
}

impl log::Log for Output {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        self.filter.enabled(metadata)
    }

    fn log(&self, record: &log::Record) {
        if !self.filter.matches(record) {
            return;
        }
        let written = match record.level() {
            log::Level::Info => writeln!(std::io::stdout().lock(), "{}", record.args()),
            level => {
                let prefix = match level {
                    log::Level::Warn => "warning".to_string(),
                    other => other.as_str().to_ascii_lowercase(),
                };
                let text = record.args().to_string();
                let mut err = std::io::stderr().lock();
                let mut result = Ok(());
                // Every line of a multi-line message carries the prefix.
                for line in text.lines() {
                    result = result.and(writeln!(err, "{prefix}: {line}"));
                }
                result
            }
        };
        if written.is_err() && record.level() == log::Level::Info {
            note_stdout_failure();
        }
    }

    fn flush(&self) {
        let _ = std::io::stdout().flush();
    }
}

/// A report line could not be written: say so once, on stderr, and carry on.
fn note_stdout_failure() {
    if !STDOUT_BROKEN.swap(true, std::sync::atomic::Ordering::Relaxed) {
        let _ = writeln!(
            std::io::stderr(),
            "error: cannot write the report to stdout; the run goes on, and exits 1"
        );
    }
}

/// How much to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// `-q`: problems only.
    Quiet,
    Normal,
    /// `-v`: debug detail.
    Debug,
    /// `-v -v`: every netlink message sent and received.
    Trace,
}

/// Install the output. `RUST_LOG`, when set, has the last word.
pub fn init(verbosity: Verbosity) {
    let level = match verbosity {
        Verbosity::Quiet => log::LevelFilter::Error,
        Verbosity::Normal => log::LevelFilter::Info,
        Verbosity::Debug => log::LevelFilter::Debug,
        Verbosity::Trace => log::LevelFilter::Trace,
    };
    let mut builder = env_logger::Builder::new();
    builder.filter_level(level);
    if let Ok(spec) = std::env::var("RUST_LOG") {
        builder.parse_filters(&spec);
    }
    let filter = builder.build();
    log::set_max_level(filter.filter());
    let _ = log::set_boxed_logger(Box::new(Output { filter }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::{Attribute, Fix};

    #[test]
    fn counts_agree_with_nouns() {
        assert_eq!(count(1, "link"), "1 link");
        assert_eq!(count(0, "link"), "0 links");
        assert_eq!(count(2, "link"), "2 links");
    }

    #[test]
    fn changes_read_as_changes() {
        let diffs = [
            Difference::new(Attribute::Mtu, 1300, 1400, Fix::InPlace),
            Difference::new(Attribute::Up, "no", "yes", Fix::InPlace),
        ];
        assert_eq!(changes(&diffs), "mtu 1300 → 1400, up no → yes");
    }

    /// A link with nothing to add after its name reads `created dummy d0`, not `... d0 ()`.
    #[test]
    fn creation_lines_have_parentheses_only_around_something() {
        let config =
            crate::config::parse(b"[dummy d0]\nmac = 02:00:00:00:00:01\n[dummy d1]\n").unwrap();
        let with = Step::Create {
            decl: &config.links[0],
            parent: None,
            mac: NewMac::Chosen(crate::mac::MacAddr([2, 0, 0, 0, 0, 1])),
        };
        assert_eq!(
            with.line(Tense::Did),
            "created dummy d0 (mac 02:00:00:00:00:01)"
        );
        let bare = Step::Create {
            decl: &config.links[1],
            parent: None,
            mac: NewMac::Kernel,
        };
        assert_eq!(bare.line(Tense::Would), "would create dummy d1");
    }

    #[test]
    fn default_routes_read_as_ip_route_writes_them() {
        let r = Route {
            dst: "0.0.0.0/0".parse().unwrap(),
            via: Some("192.168.0.1".parse().unwrap()),
            metric: 0,
            table: RT_TABLE_MAIN,
            src: None,
        };
        assert_eq!(show_route(&r), "default via 192.168.0.1");
    }
}
