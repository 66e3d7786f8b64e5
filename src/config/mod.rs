//! From config text to the validated model. Everything that can be checked without looking at
//! the live system is checked here, so an invalid config never reaches netlink.

pub mod l3;
pub mod load;
pub mod netifd;

use std::collections::HashMap;

use crate::kinds::{self, Kind, KindSettings, MacChoice};
use crate::syntax::error::{ConfigError, Problems};
use crate::syntax::ini::{self, Section};
use crate::syntax::section::{self, SectionReader};
use crate::syntax::values;

pub use load::{Trust, load};

/// How long `apply` waits for missing parents unless `[global] wait` says otherwise.
pub const DEFAULT_WAIT_SECS: u64 = 30;

/// Keys every kind takes (`parent` and `mac` only where the kind has them).
const COMMON_KEYS: [&str; 4] = ["parent", "mtu", "mac", "up"];
const GLOBAL_KEYS: [&str; 2] = ["wait", "hotplug-parents"];

#[derive(Debug)]
pub struct Config {
    pub wait_secs: u64,
    /// Parents that come and go after boot (a USB adapter): `apply` neither waits for them nor
    /// fails without them; their links are made when they appear (`apply --parent`).
    pub hotplug_parents: Vec<String>,
    /// Parents before children; otherwise in file order.
    pub links: Vec<LinkDecl>,
    /// Position of each link in `links`, by name.
    by_name: HashMap<String, usize>,
    /// The files it was read from: the main file, then its drop-ins.
    pub files: Vec<String>,
}

#[derive(Debug)]
pub struct LinkDecl {
    pub name: String,
    /// The section header's line (for implicit links: the line of the `parent` key naming them).
    pub line: usize,
    /// Which of the config's files declares it (0: the main file).
    pub file: usize,
    /// The lines of the keys whole-file checks point at, where given.
    pub mtu_line: Option<usize>,
    pub mac_line: Option<usize>,
    pub kind: &'static Kind,
    pub parent: Option<String>,
    pub mtu: Option<u32>,
    /// The largest MTU a declared link stacked on this one needs (the kernel keeps a VLAN's,
    /// macvlan's or ipvlan's MTU at most its parent's): this link's MTU is raised to it.
    pub children_mtu: Option<u32>,
    pub mac: MacChoice,
    /// Whether `mac` was given, rather than the kind's default. A link underlay adopts keeps its
    /// MAC unless the config names one: its DHCP leases may depend on it.
    pub mac_explicit: bool,
    pub up: bool,
    pub settings: Box<dyn KindSettings>,
    /// Addresses, routes and the network namespace.
    pub l3: l3::L3,
    /// Not declared: made because a declared link names it as a parent in Docker's PARENT.ID
    /// form. It is only created (and owned) if it does not exist yet.
    pub implicit: bool,
}

impl Config {
    pub fn link(&self, name: &str) -> Option<&LinkDecl> {
        self.by_name.get(name).map(|&i| &self.links[i])
    }

    /// The position of the link `name` in `links`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// The names of links that sit on `root`, directly or through other declared links.
    pub fn links_on(&self, root: &str) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        let mut on: std::collections::HashSet<&str> = std::collections::HashSet::new();
        // Links are sorted parents first, so one pass sees every ancestor before its children.
        for link in &self.links {
            if let Some(parent) = link.parent.as_deref()
                && (parent == root || on.contains(parent))
            {
                names.push(&link.name);
                on.insert(&link.name);
            }
        }
        names
    }
}

/// One file of a config: the main file, or a drop-in.
pub struct Source<'a> {
    /// Its path, for messages; `None`: the one the caller names when it renders them.
    pub path: Option<&'a str>,
    pub bytes: &'a [u8],
}

/// Parse and validate a whole config file. On failure, every problem found, in line order.
pub fn parse(bytes: &[u8]) -> Result<Config, Vec<ConfigError>> {
    parse_files(&[Source { path: None, bytes }])
}

/// Parse and validate a config read from several files, the main one first: they are one
/// config, and every problem names its own file and line.
pub fn parse_files(sources: &[Source]) -> Result<Config, Vec<ConfigError>> {
    let mut problems =
        Problems::for_files(sources.iter().map(|s| s.path.map(str::to_string)).collect());
    let mut sections = Vec::new();
    for (order, source) in sources.iter().enumerate() {
        problems.in_file(order);
        let mut lexed = ini::lex(source.bytes, &mut problems);
        for section in &mut lexed {
            section.file = order;
        }
        sections.extend(lexed);
    }
    problems.in_file(0);
    if sections.is_empty() && problems.is_empty() {
        problems.push(ConfigError::file(
            "the file declares nothing; add a link section such as [macvlan mv0] \
             (an empty [global] section says \"no links\" on purpose)"
                .into(),
        ));
    }

    let mut wait_secs = DEFAULT_WAIT_SECS;
    let mut hotplug_parents: Vec<(String, usize, usize)> = Vec::new();
    let mut global_line: Option<(usize, usize)> = None;
    let mut links: Vec<LinkDecl> = Vec::new();
    let mut declared: HashMap<String, (usize, usize)> = HashMap::new();
    // Lines of the `parent` keys, for errors about the parent relation.
    let mut parent_lines: HashMap<String, usize> = HashMap::new();

    for section in &sections {
        problems.in_file(section.file);
        if section.word == "global" {
            if let Some((file, line)) = global_line {
                let first = problems.place(file, line);
                problems.push(ConfigError::in_section(
                    section.line,
                    "[global]",
                    None,
                    format!("a second [global] section (the first is on {first}); merge them"),
                ));
            }
            global_line.get_or_insert((section.file, section.line));
            if let Some(name) = &section.name {
                problems.push(ConfigError::at(
                    section.line,
                    format!("[global] takes no name, but has `{name}`; write just [global]"),
                ));
            }
            let mut r = SectionReader::new(section, GLOBAL_KEYS.to_vec(), &mut problems);
            if let Some(wait) = r.number("wait", 0, 3600) {
                wait_secs = wait;
            }
            let line = r.line_of("hotplug-parents").unwrap_or(section.line);
            if let Some(names) = r.value("hotplug-parents", |text| {
                let mut names: Vec<String> = Vec::new();
                for name in text.split_whitespace() {
                    values::ifname(name)?;
                    if names.iter().any(|n| n == name) {
                        return Err(
                            format!("`{name}` is listed twice; list each parent once").into()
                        );
                    }
                    names.push(name.to_string());
                }
                Ok(names)
            }) {
                hotplug_parents = names.into_iter().map(|n| (n, section.file, line)).collect();
            }
            r.finish("[global]", |_| section::Elsewhere::Kinds(Vec::new()));
            continue;
        }
        let Some(kind) = kinds::by_name(&section.word) else {
            let known = kinds::names();
            let lower = section.word.to_ascii_lowercase();
            let hint = if known.contains(&lower.as_str()) {
                format!(" Kinds are lower-case: write `{lower}`.")
            } else {
                values::closest(&lower, known.iter().copied())
                    .map(|k| format!(" Did you mean `{k}`?"))
                    .unwrap_or_default()
            };
            problems.push(ConfigError::at(
                section.line,
                format!(
                    "unknown link kind `{}` in {}; underlay makes {} (and reads [global]).{hint}",
                    section.word,
                    section.label(),
                    known.join(", ")
                ),
            ));
            continue;
        };
        let Some(name) = &section.name else {
            problems.push(ConfigError::at(
                section.line,
                format!(
                    "[{}] needs an interface name: write e.g. [{} {}]",
                    section.word, section.word, kind.example
                ),
            ));
            continue;
        };
        if let Err(message) = values::ifname(name) {
            problems.push(ConfigError::at(
                section.line,
                format!("{}: {message}", section.label()),
            ));
            continue;
        }
        if let Some((file, line)) = declared.get(name) {
            let first = problems.place(*file, *line);
            problems.push(ConfigError::at(
                section.line,
                format!(
                    "{}: `{name}` is already declared on {first}; each interface may be declared once",
                    section.label()
                ),
            ));
            continue;
        }
        declared.insert(name.clone(), (section.file, section.line));
        if let Some(decl) = parse_link(section, kind, &mut problems, &mut parent_lines) {
            links.push(decl);
        }
    }

    let hotplug: std::collections::HashSet<&str> =
        hotplug_parents.iter().map(|(n, _, _)| n.as_str()).collect();
    add_implicit_parents(&mut links, &parent_lines, &hotplug, &mut problems);
    let before = problems.len();
    let links = sort_parents_first(links, &parent_lines, &mut problems);
    // In a parent cycle every link would be on one of its own family: one error says it.
    let mut links = links;
    if problems.len() == before {
        refuse_flattened(&links, &parent_lines, &mut problems);
        check_siblings(&links, &parent_lines, &mut problems);
        check_mtus(&mut links, &mut problems);
    }
    l3::check_all(&links, &mut problems);
    for (name, file, line) in &hotplug_parents {
        problems.in_file(*file);
        if links.iter().any(|l| &l.name == name && !l.implicit) {
            problems.push(ConfigError::in_section(
                *line,
                "[global]",
                Some("hotplug-parents"),
                format!("`{name}` is declared in the config, so underlay makes it itself; list only interfaces that appear on their own (a USB adapter), or remove it"),
            ));
        } else if !links
            .iter()
            .any(|l| l.parent.as_deref() == Some(name.as_str()))
        {
            problems.push(ConfigError::in_section(
                *line,
                "[global]",
                Some("hotplug-parents"),
                format!("no link sits on `{name}`; list only parents named by a `parent` key, or remove it"),
            ));
        }
    }

    if problems.is_empty() {
        let by_name = links
            .iter()
            .enumerate()
            .map(|(i, l)| (l.name.clone(), i))
            .collect();
        Ok(Config {
            files: Vec::new(),
            wait_secs,
            hotplug_parents: hotplug_parents.into_iter().map(|(n, _, _)| n).collect(),
            links,
            by_name,
        })
    } else {
        Err(problems.into_sorted())
    }
}

fn parse_link(
    section: &Section,
    kind: &'static Kind,
    problems: &mut Problems,
    parent_lines: &mut HashMap<String, usize>,
) -> Option<LinkDecl> {
    let mut allowed: Vec<&'static str> = COMMON_KEYS
        .iter()
        .copied()
        .filter(|k| match *k {
            "parent" => kind.takes_parent,
            "mac" => kind.default_mac.is_some(),
            _ => true,
        })
        .collect();
    allowed.extend_from_slice(&l3::KEYS);
    allowed.extend_from_slice(kind.keys);
    let problems_before = problems.len();
    let mut r = SectionReader::new(section, allowed, problems);
    let name = r.name().to_string();

    let mut parent = None;
    if kind.takes_parent {
        parent = r.value("parent", |text| {
            values::ifname(text).map(|_| text.to_string())
        });
        if let Some(line) = r.line_of("parent") {
            parent_lines.insert(name.clone(), line);
        }
    }
    let mtu_line = r.line_of("mtu");
    let mac_line = r.line_of("mac");
    let mtu = r.number("mtu", 68, 65535).map(|n| n as u32);
    let mac_explicit = r.line_of("mac").is_some();
    let mac = match kind.default_mac {
        Some(default) => r.value("mac", MacChoice::parse).unwrap_or(default),
        None => MacChoice::Kernel,
    };
    let up = r.boolean("up").unwrap_or(true);
    let l3 = l3::read(&mut r);
    let settings = kind.codec.parse(kind, &mut r, &mut parent);

    if kind.takes_parent && parent.is_none() && r.line_of("parent").is_none() {
        let line = r.line();
        r.error(
            line,
            Some("parent"),
            format!(
                "missing; {} needs a parent, e.g. `parent = eth0`",
                kinds::a(kind.name)
            ),
        );
    }
    if parent.as_deref() == Some(name.as_str()) {
        let line = r.line_of("parent").unwrap_or(r.line());
        r.error(
            line,
            Some("parent"),
            format!("`{name}` cannot be its own parent"),
        );
    }
    let explain = |key: &str| match kinds::lacks_common_key(kind, key) {
        Some(why) => section::Elsewhere::Reason(why),
        None => section::Elsewhere::Kinds(kinds::kinds_taking(key)),
    };
    r.finish(&kinds::a(kind.name), explain);
    if settings.is_none() && problems.len() == problems_before {
        // A kind must report why it refused a section; never drop a link silently.
        problems.push(ConfigError::at(
            section.line,
            format!("{}: could not be read", section.label()),
        ));
    }

    let settings = settings?;
    let mac = if !mac_explicit && settings.inherits_parent_mac() {
        MacChoice::Kernel
    } else {
        mac
    };
    Some(LinkDecl {
        name,
        line: section.line,
        file: section.file,
        mtu_line,
        mac_line,
        kind,
        parent,
        mtu,
        children_mtu: None,
        mac,
        mac_explicit,
        up,
        settings,
        l3,
        implicit: false,
    })
}

/// Give every undeclared PARENT.ID parent a VLAN of its own, one level at a time, as Docker's
/// macvlan driver does for `-o parent=eth0.50`. Not one listed in `hotplug-parents`: that one
/// someone else makes (netifd, for a VLAN `/etc/config/network` names), and underlay waits for
/// it to appear.
fn add_implicit_parents(
    links: &mut Vec<LinkDecl>,
    parent_lines: &HashMap<String, usize>,
    hotplug_parents: &std::collections::HashSet<&str>,
    problems: &mut Problems,
) {
    let mut names: std::collections::HashSet<String> =
        links.iter().map(|l| l.name.clone()).collect();
    let mut origin: HashMap<String, String> = HashMap::new();
    let mut i = 0;
    while i < links.len() {
        let Some(parent) = links[i].parent.clone() else {
            i += 1;
            continue;
        };
        let line = parent_lines
            .get(&links[i].name)
            .copied()
            .unwrap_or(links[i].line);
        // An implicit link's problem is the declared section's: that is where the name is.
        let child = origin
            .get(&links[i].name)
            .cloned()
            .unwrap_or_else(|| format!("[{} {}]", links[i].kind.name, links[i].name));
        let child_file = links[i].file;
        problems.in_file(child_file);
        i += 1;
        if names.contains(&parent) || hotplug_parents.contains(parent.as_str()) {
            continue;
        }
        for kind in kinds::KINDS {
            match kind.codec.implicit(&parent) {
                None => continue,
                Some(Err(message)) => problems.push(ConfigError::at(
                    line,
                    format!("{child} parent: {message}; declare `{parent}` with its own section, or fix the id"),
                )),
                Some(Ok((grandparent, settings))) => {
                    names.insert(parent.clone());
                    origin.insert(parent.clone(), child.clone());
                    links.push(LinkDecl {
                    name: parent.clone(),
                    line,
                    file: child_file,
                    mtu_line: None,
                    mac_line: None,
                    kind,
                    parent: Some(grandparent),
                    mtu: None,
                    children_mtu: None,
                    mac: kind.default_mac.unwrap_or(MacChoice::Kernel),
                    mac_explicit: false,
                    up: true,
                    settings,
                    l3: l3::L3::default(),
                    implicit: true,
                })
                }
            }
            break;
        }
    }
}

/// A macvlan on a macvlan (an ipvlan on an ipvlan) is put by the kernel on the lower one's own
/// parent: underlay would then find it where the config does not say, every run. Refuse it,
/// and say which parent to write.
fn refuse_flattened(
    links: &[LinkDecl],
    parent_lines: &HashMap<String, usize>,
    problems: &mut Problems,
) {
    let by_name: HashMap<&str, &LinkDecl> = links.iter().map(|l| (l.name.as_str(), l)).collect();
    for link in links {
        let (Some(family), Some(parent)) = (link.kind.flattens, link.parent.as_deref()) else {
            continue;
        };
        // A link that is its own parent, or sits on one in a namespace, is reported already.
        let Some(lower) = by_name
            .get(parent)
            .filter(|p| p.kind.flattens == Some(family) && p.name != link.name)
            .filter(|p| p.l3.netns.is_none())
        else {
            continue;
        };
        let line = parent_lines.get(&link.name).copied().unwrap_or(link.line);
        problems.in_file(link.file);
        let instead = lower
            .parent
            .as_deref()
            .map(|p| format!("write `parent = {p}`"))
            .unwrap_or_else(|| "give it the parent of that one".into());
        problems.push(ConfigError::in_section(
            line,
            &format!("[{} {}]", link.kind.name, link.name),
            Some("parent"),
            format!(
                "{parent} is {} itself, and the kernel puts {} made on it onto {parent}'s own parent, so it would never be where this says; {instead}",
                kinds::a(lower.kind.name),
                kinds::a(link.kind.name)
            ),
        ));
    }
}

/// What the kernel refuses among links on one parent, found before any change: a parent
/// carries macvlans or ipvlans, not both; a passthru macvlan is alone on its parent; and no two
/// links have the same fixed MAC.
fn check_siblings(
    links: &[LinkDecl],
    parent_lines: &HashMap<String, usize>,
    problems: &mut Problems,
) {
    let label = |l: &LinkDecl| format!("[{} {}]", l.kind.name, l.name);
    let line_of = |l: &LinkDecl| parent_lines.get(&l.name).copied().unwrap_or(l.line);
    let mut on: HashMap<&str, Vec<&LinkDecl>> = HashMap::new();
    for link in links {
        if let (Some(parent), Some(_)) = (link.parent.as_deref(), link.kind.flattens) {
            on.entry(parent).or_default().push(link);
        }
    }
    for (parent, children) in &on {
        let Some(first) = children.first() else {
            continue;
        };
        for other in children.iter().skip(1) {
            if other.kind.flattens != first.kind.flattens {
                problems.in_file(other.file);
                problems.push(ConfigError::in_section(
                    line_of(other),
                    &label(other),
                    Some("parent"),
                    format!(
                        "{parent} already carries {} {} ({}); a parent carries {}-like or {}-like links, not both: give one of them another parent",
                        first.kind.name,
                        first.name,
                        problems.place(first.file, line_of(first)),
                        first.kind.flattens.unwrap_or_default(),
                        other.kind.flattens.unwrap_or_default()
                    ),
                ));
            }
        }
        let same_family = |l: &&&LinkDecl, alone: &LinkDecl| {
            l.name != alone.name && l.kind.flattens == alone.kind.flattens
        };
        for alone in children.iter().filter(|l| l.settings.takes_parent_alone()) {
            if let Some(other) = children.iter().find(|l| same_family(l, alone)) {
                problems.in_file(alone.file);
                problems.push(ConfigError::in_section(
                    line_of(alone),
                    &label(alone),
                    Some("parent"),
                    format!(
                        "passthru takes {parent} over alone, but {} {} ({}) sits on {parent} too; give one of them another parent, or another mode",
                        other.kind.name,
                        other.name,
                        problems.place(other.file, line_of(other))
                    ),
                ));
            }
        }
    }
    let mut fixed: HashMap<crate::mac::MacAddr, &LinkDecl> = HashMap::new();
    for link in links {
        if let MacChoice::Fixed(mac) = link.mac {
            if let Some(first) = fixed.get(&mac) {
                problems.in_file(link.file);
                problems.push(ConfigError::in_section(
                    link.mac_line.unwrap_or(link.line),
                    &label(link),
                    Some("mac"),
                    format!(
                        "{mac} is already the MAC of {} ({}); each link needs its own",
                        first.name,
                        problems.place(first.file, first.mac_line.unwrap_or(first.line))
                    ),
                ));
            } else {
                fixed.insert(mac, link);
            }
        }
    }
}

/// Each link's MTU must fit under its parent's. A parent the config declares without an MTU
/// is raised to what its children need (as systemd-networkd raises a netdev's lower device);
/// one declared with a smaller MTU is a mistake.
fn check_mtus(links: &mut [LinkDecl], problems: &mut Problems) {
    let index: HashMap<String, usize> = links
        .iter()
        .enumerate()
        .map(|(i, l)| (l.name.clone(), i))
        .collect();
    // Children come after their parents: walk backwards, passing each need up one level.
    for i in (0..links.len()).rev() {
        let need = links[i].mtu.max(links[i].children_mtu);
        let (Some(need), Some(&p)) = (need, links[i].parent.as_deref().and_then(|p| index.get(p)))
        else {
            continue;
        };
        match links[p].mtu {
            Some(parent_mtu) if parent_mtu < need => {
                let child = &links[i];
                problems.in_file(child.file);
                problems.push(ConfigError::in_section(
                    child.mtu_line.unwrap_or(child.line),
                    &format!("[{} {}]", child.kind.name, child.name),
                    Some("mtu"),
                    format!(
                        "{need} is above the mtu of its parent {} ({parent_mtu}, {}); raise {}'s mtu or lower this one",
                        links[p].name,
                        problems.place(links[p].file, links[p].mtu_line.unwrap_or(links[p].line)),
                        links[p].name
                    ),
                ));
            }
            _ => links[p].children_mtu = links[p].children_mtu.max(Some(need)),
        }
    }
}

/// Order links parents first (stable otherwise), reporting parent cycles.
fn sort_parents_first(
    links: Vec<LinkDecl>,
    parent_lines: &HashMap<String, usize>,
    problems: &mut Problems,
) -> Vec<LinkDecl> {
    let index: HashMap<&str, usize> = links
        .iter()
        .enumerate()
        .map(|(i, l)| (l.name.as_str(), i))
        .collect();
    // Each link's depth (1 for a link on an undeclared parent), walking up each chain once:
    // a link whose depth is known stops the walk, so the whole file takes linear time.
    let parent_of: Vec<Option<usize>> = links
        .iter()
        .map(|l| l.parent.as_deref().and_then(|p| index.get(p)).copied())
        .collect();
    const NEW: u8 = 0;
    const ON_PATH: u8 = 1;
    const DONE: u8 = 2;
    let mut state = vec![NEW; links.len()];
    let mut depth = vec![0usize; links.len()];
    let mut position = vec![0usize; links.len()];
    for start in 0..links.len() {
        if state[start] == DONE {
            continue;
        }
        let mut path: Vec<usize> = Vec::new();
        let mut cur = Some(start);
        let base = loop {
            match cur {
                None => break 0,
                Some(c) if state[c] == DONE => break depth[c],
                Some(c) if state[c] == ON_PATH => {
                    // A cycle: the path from where it met itself.
                    let cycle = &path[position[c]..];
                    if cycle.len() > 1 {
                        let names: Vec<&str> = cycle
                            .iter()
                            .rev()
                            .map(|&x| links[x].name.as_str())
                            .collect();
                        let first = cycle.iter().copied().min().unwrap_or(start);
                        let line = parent_lines
                            .get(&links[first].name)
                            .copied()
                            .unwrap_or(links[first].line);
                        problems.in_file(links[first].file);
                        problems.push(ConfigError::at(
                            line,
                            format!(
                                "parent cycle: {} -> {}; a link cannot sit on itself",
                                names.join(" -> "),
                                names[0]
                            ),
                        ));
                    }
                    for &x in cycle {
                        state[x] = DONE;
                        depth[x] = 1;
                    }
                    path.truncate(position[c]);
                    break 1;
                }
                Some(c) => {
                    state[c] = ON_PATH;
                    position[c] = path.len();
                    path.push(c);
                    cur = parent_of[c];
                }
            }
        };
        let mut d = base;
        for &x in path.iter().rev() {
            d += 1;
            depth[x] = d;
            state[x] = DONE;
        }
    }
    let mut order: Vec<(usize, usize)> = depth.iter().enumerate().map(|(i, d)| (*d, i)).collect();
    order.sort();
    let mut slots: Vec<Option<LinkDecl>> = links.into_iter().map(Some).collect();
    order
        .into_iter()
        .filter_map(|(_, i)| slots[i].take())
        .collect()
}

#[cfg(test)]
mod tests;
