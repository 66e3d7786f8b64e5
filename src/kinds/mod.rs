//! Link kinds. Everything about one kind lives in its file: its fixed facts (a `Kind` value), the
//! keys it takes and their validation, the netlink attributes it sends and how it reads the live
//! state back. Sibling kinds share their file's code with the kind as a parameter, as iproute2's
//! `ip/iplink_macvlan.c` serves macvlan and macvtap and networkd's macvlan and macvtap tables
//! point at the same functions: a sibling costs one `Kind` value and one line in `KINDS`.
//! Nothing outside this module names a kind; help text, hints and suggestions come from `KINDS`.

use std::any::Any;
use std::fmt;

use crate::mac::MacAddr;
use crate::netlink::NetlinkError;
use crate::syntax::section::SectionReader;
use crate::syntax::{Invalid, Parsed};

pub mod dummy;
pub mod ipvlan;
pub mod macvlan;
pub mod vlan;

/// Every kind underlay can make, in the order help text lists them.
pub static KINDS: &[&Kind] = &[
    &vlan::VLAN,
    &macvlan::MACVLAN,
    &macvlan::MACVTAP,
    &ipvlan::IPVLAN,
    &ipvlan::IPVTAP,
    &dummy::DUMMY,
];

/// A kind's fixed facts.
pub struct Kind {
    /// The section word and the kernel's `IFLA_INFO_KIND`.
    pub name: &'static str,
    /// The kernel module that provides it, for "the kernel has no ... support" errors.
    pub module: &'static str,
    /// How OpenWrt provides the module.
    pub openwrt: OpenWrt,
    /// Whether links of this kind sit on a parent (`parent = ...`, `IFLA_LINK`).
    pub takes_parent: bool,
    /// The MAC choice when `mac` is absent; `None` if the kind takes no `mac` key because it
    /// always shares its parent's MAC.
    pub default_mac: Option<MacChoice>,
    /// The family of kinds the kernel does not stack: a link of this kind made on a link of
    /// the same family goes onto that link's own parent instead (`macvlan_common_newlink`,
    /// `ipvlan_link_new`). `None`: it stacks where it is put.
    pub flattens: Option<&'static str>,
    /// The kind's own keys, besides the common ones.
    pub keys: &'static [&'static str],
    /// An interface name for examples in messages (`[macvlan mv0]`).
    pub example: &'static str,
    /// The code that reads, writes and compares its settings.
    pub codec: &'static dyn Codec,
}

impl PartialEq for Kind {
    fn eq(&self, other: &Kind) -> bool {
        self.name == other.name
    }
}

impl fmt::Debug for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// How OpenWrt provides a kind's kernel module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenWrt {
    /// Built into every OpenWrt kernel.
    BuiltIn,
    /// In this kmod package.
    Package(&'static str),
    /// Not packaged: a custom kernel build is needed.
    NotPackaged,
}

/// What `Codec::implicit` gives: the implicit link's own parent and settings, or why a name
/// that has the kind's shape cannot be made.
pub type Implicit = Result<(String, Box<dyn KindSettings>), Invalid>;

/// The code behind one kind or a family of siblings. `kind` says which sibling is meant, so
/// messages name the right one.
pub trait Codec: Sync {
    /// Read the kind's own keys. `parent` is the `parent` key's value, which a kind may fill in
    /// from the name (a VLAN named `eth0.10`). Problems go to the reader; `None` means some.
    fn parse(
        &self,
        kind: &'static Kind,
        reader: &mut SectionReader,
        parent: &mut Option<String>,
    ) -> Option<Box<dyn KindSettings>>;
    /// Decode the kernel's `IFLA_INFO_DATA` (empty if there was none). Values underlay does not
    /// know are kept as they are, never dropped.
    fn decode(&self, info_data: &[u8]) -> Result<Box<dyn KindSettings>, NetlinkError>;
    /// The link this kind would make for a parent named `name` that is neither declared nor
    /// present (Docker's `eth0.50` convention): its own parent and settings.
    /// `Some(Err)` when the name has the kind's shape but cannot be made (`eth0.5000`).
    fn implicit(&self, _name: &str) -> Option<Implicit> {
        None
    }
}

/// A kind's own settings, either as configured or as read back from the kernel.
pub trait KindSettings: fmt::Debug {
    fn as_any(&self) -> &dyn Any;
    /// `IFLA_INFO_DATA` for creating the link, if the kind has any.
    fn create_data(&self) -> Result<Option<Vec<u8>>, NetlinkError>;
    /// `IFLA_INFO_DATA` that changes a live link with settings `live` into these, touching only
    /// what can change in place.
    fn change_data(&self, live: &dyn KindSettings) -> Result<Option<Vec<u8>>, NetlinkError>;
    /// Every kind-specific difference between these (wanted) and `live` (what the kernel has).
    fn compare(&self, live: &dyn KindSettings) -> Vec<Difference>;
    /// A few words for reports: `id 10`, `mode bridge`; empty if there is nothing to say.
    fn summary(&self) -> String;
    /// Whether links with these settings always carry their parent's MAC (a passthru macvlan),
    /// so the kind's default MAC does not apply.
    fn inherits_parent_mac(&self) -> bool {
        false
    }
    /// Whether a link with these settings must be the only one of its family on its parent
    /// (a passthru macvlan takes the parent over).
    fn takes_parent_alone(&self) -> bool {
        false
    }
}

pub fn by_name(name: &str) -> Option<&'static Kind> {
    KINDS.iter().copied().find(|k| k.name == name)
}

/// Every kind's name, for "underlay makes vlan, macvlan, ...".
pub fn names() -> Vec<&'static str> {
    KINDS.iter().map(|k| k.name).collect()
}

/// The names of the kinds that take `key`, for hints like "`mode` belongs to macvlan, ipvlan".
pub fn kinds_taking(key: &str) -> Vec<&'static str> {
    KINDS
        .iter()
        .filter(|k| match key {
            "parent" => k.takes_parent,
            "mac" => k.default_mac.is_some(),
            _ => k.keys.contains(&key),
        })
        .map(|k| k.name)
        .collect()
}

/// Why `kind` does not take the common key `key`, when that is a fact of the kind.
pub fn lacks_common_key(kind: &Kind, key: &str) -> Option<String> {
    match key {
        "parent" if !kind.takes_parent => Some(format!("{} has no parent", a(kind.name))),
        "mac" if kind.default_mac.is_none() => {
            Some(format!("{} always shares its parent's MAC", a(kind.name)))
        }
        _ => None,
    }
}

/// "a vlan", "an ipvlan": the kind's name with its article.
pub fn a(name: &str) -> String {
    let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {name}")
}

/// How a link's MAC address is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacChoice {
    /// Whatever the kernel gives (a VLAN inherits its parent's MAC).
    Kernel,
    /// Derived from the machine and the name: the same on every boot.
    Stable,
    /// A fresh random address at creation; never reported as drift.
    Random,
    Fixed(MacAddr),
}

impl MacChoice {
    pub fn parse(text: &str) -> Parsed<MacChoice> {
        match text {
            "stable" => Ok(MacChoice::Stable),
            "random" => Ok(MacChoice::Random),
            _ => MacAddr::parse_unicast(text)
                .map(MacChoice::Fixed)
                .map_err(|e| format!("{e}, or `stable` or `random`").into()),
        }
    }
}

/// How booleans read in reports, as the config writes them.
pub fn yes_no(on: bool) -> &'static str {
    if on { "yes" } else { "no" }
}

/// What differs between the config and a live link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attribute {
    Kind,
    Parent,
    Mtu,
    Mac,
    Up,
    /// The netdev group: underlay's own links live in the default group.
    Group,
    /// A kind's own setting, by its config key (`mode`, `id`, `egress-qos-map`).
    Setting(&'static str),
    /// The kind's settings as a whole, when the kernel's could not be read.
    Settings,
}

impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Attribute::Kind => "kind",
            Attribute::Parent => "parent",
            Attribute::Mtu => "mtu",
            Attribute::Mac => "mac",
            Attribute::Up => "up",
            Attribute::Group => "group",
            Attribute::Setting(key) => key,
            Attribute::Settings => "settings",
        })
    }
}

/// How a difference can be removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fix {
    /// The kernel changes it on the live link.
    InPlace,
    /// Only a new link has it: delete and create.
    Recreate,
    /// This kernel does not have it: it needs Linux of this version. Nothing underlay sends
    /// changes that, so it is said, not done.
    NeedsKernel(&'static str),
}

/// One attribute that differs: what the kernel has, and what the config wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub attribute: Attribute,
    pub have: String,
    pub want: String,
    pub fix: Fix,
}

impl Difference {
    pub fn new(
        attribute: Attribute,
        have: impl fmt::Display,
        want: impl fmt::Display,
        fix: Fix,
    ) -> Self {
        Difference {
            attribute,
            have: have.to_string(),
            want: want.to_string(),
            fix,
        }
    }

    /// A kind's own setting.
    pub fn setting(
        key: &'static str,
        have: impl fmt::Display,
        want: impl fmt::Display,
        fix: Fix,
    ) -> Self {
        Difference::new(Attribute::Setting(key), have, want, fix)
    }
}

/// Downcast `live` to the settings type of the same kind. A mismatch means the live link is of
/// another kind, which the caller compares (and reports) before it compares settings.
pub fn same_kind<T: 'static>(live: &dyn KindSettings) -> Option<&T> {
    live.as_any().downcast_ref::<T>()
}

/// The kernel has no support for `kind`: say which module (and OpenWrt package) brings it.
pub fn missing_module_hint(kind: &Kind) -> String {
    let mut hint = format!(
        "the kernel has no {} support: load the `{}` module (modprobe {}",
        kind.name, kind.module, kind.module
    );
    match kind.openwrt {
        OpenWrt::BuiltIn => {}
        OpenWrt::Package(package) => hint.push_str(&format!("; on OpenWrt install {package}")),
        OpenWrt::NotPackaged => {
            hint.push_str("; OpenWrt does not package it: enable it in a custom kernel build")
        }
    }
    hint.push(')');
    hint
}
