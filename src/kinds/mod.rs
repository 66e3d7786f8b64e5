//! Link kinds. Everything about one kind lives in its own file: the keys it takes, their
//! validation, the netlink attributes it sends and how it reads the live state back. The kind
//! fills in a `LinkKind` and registers itself in `KINDS`; nothing else in underlay knows kinds
//! by name. (The model is systemd-networkd's `NetDevVTable` and iproute2's `link_util`.)

use std::any::Any;
use std::fmt;

use crate::config::section::SectionReader;
use crate::mac::MacAddr;
use crate::netlink::NetlinkError;

pub mod dummy;
pub mod ipvlan;
pub mod macvlan;
pub mod vlan;

/// Every kind underlay can make. Adding one is a new file and one line here.
pub static KINDS: &[&dyn LinkKind] = &[
    &vlan::Vlan,
    &macvlan::Macvlan,
    &ipvlan::Ipvlan,
    &dummy::Dummy,
];

pub fn by_name(name: &str) -> Option<&'static dyn LinkKind> {
    KINDS.iter().copied().find(|k| k.name() == name)
}

/// The names of the kinds that take `key`, for hints like "`mode` belongs to macvlan, ipvlan".
pub fn kinds_taking(key: &str) -> Vec<&'static str> {
    KINDS
        .iter()
        .filter(|k| k.keys().contains(&key))
        .map(|k| k.name())
        .collect()
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
    pub fn parse(text: &str) -> Result<MacChoice, String> {
        match text {
            "stable" => Ok(MacChoice::Stable),
            "random" => Ok(MacChoice::Random),
            _ => MacAddr::parse_unicast(text)
                .map(MacChoice::Fixed)
                .map_err(|e| format!("{e}, or `stable` or `random`")),
        }
    }
}

/// How booleans read in reports, as the config writes them.
pub fn yes_no(on: bool) -> &'static str {
    if on { "yes" } else { "no" }
}

/// One attribute that differs between the config and the live link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub attribute: &'static str,
    pub want: String,
    pub have: String,
    /// The kernel can change it on the live link; otherwise the link must be re-created.
    pub in_place: bool,
}

impl Difference {
    pub fn new(
        attribute: &'static str,
        want: impl fmt::Display,
        have: impl fmt::Display,
        in_place: bool,
    ) -> Self {
        Difference {
            attribute,
            want: want.to_string(),
            have: have.to_string(),
            in_place,
        }
    }
}

/// What `LinkKind::implicit` gives: the implicit link's own parent and settings, or why a name
/// that has the kind's shape cannot be made.
pub type Implicit = Result<(String, Box<dyn KindSettings>), String>;

/// A kind: its name, its keys and how it reads them, and how it reads live links back.
pub trait LinkKind: Sync {
    /// The section word and the kernel's `IFLA_INFO_KIND`.
    fn name(&self) -> &'static str;
    /// The kernel module that provides the kind, for "Operation not supported" errors.
    fn module(&self) -> &'static str;
    /// The OpenWrt package that ships the module, if it is not built in.
    fn openwrt_package(&self) -> Option<&'static str>;
    /// Whether links of this kind sit on a parent (`parent = ...` / `IFLA_LINK`).
    fn takes_parent(&self) -> bool;
    /// The MAC choice when `mac` is absent; `None` if the kind takes no `mac` key at all.
    fn default_mac(&self) -> Option<MacChoice>;
    /// The kind's own keys, besides the common ones.
    fn keys(&self) -> &'static [&'static str];
    /// Read the kind's own keys. `parent` is the `parent` key's value, which a kind may fill in
    /// from the name (a VLAN named `eth0.10`). Problems go to the reader; `None` means some.
    fn parse(
        &self,
        reader: &mut SectionReader,
        parent: &mut Option<String>,
    ) -> Option<Box<dyn KindSettings>>;
    /// Decode the kernel's `IFLA_INFO_DATA` (empty if there was none).
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
    /// A few words for reports: `id 10`, `mode bridge`.
    fn summary(&self) -> String;
    /// Whether links with these settings always carry their parent's MAC (a passthru macvlan),
    /// so the kind's default MAC does not apply.
    fn inherits_parent_mac(&self) -> bool {
        false
    }
}

/// Downcast `live` to the settings type of the same kind. A mismatch means the live link is of
/// another kind, which the caller has already reported, so an empty comparison is right.
pub fn same_kind<T: 'static>(live: &dyn KindSettings) -> Option<&T> {
    live.as_any().downcast_ref::<T>()
}

/// Where the kernel reports unsupported kinds, explain it as the missing module.
pub fn missing_module_hint(kind: &dyn LinkKind) -> String {
    match kind.openwrt_package() {
        Some(package) => format!(
            "the kernel has no {} support: load the `{}` module (modprobe {}; on OpenWrt install {})",
            kind.name(),
            kind.module(),
            kind.module(),
            package
        ),
        None => format!(
            "the kernel has no {} support: load the `{}` module (modprobe {})",
            kind.name(),
            kind.module(),
            kind.module()
        ),
    }
}

impl fmt::Debug for dyn LinkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
