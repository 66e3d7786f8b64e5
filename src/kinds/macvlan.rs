//! macvlan links (`ip link add link eth0 name mv0 type macvlan mode bridge`), the kind behind
//! Docker's macvlan networks, and their siblings: the code below serves every kind in this file
//! through the `Kind` it is given, as iproute2's `ip/iplink_macvlan.c` does.

use std::any::Any;
use std::fmt;

use super::{Codec, Difference, Fix, Kind, KindSettings, MacChoice, OpenWrt, same_kind, yes_no};
use crate::mac::MacAddr;
use crate::netlink::NetlinkError;
use crate::netlink::attr::{self, AttrWriter};
use crate::syntax::Parsed;
use crate::syntax::section::SectionReader;

const KEYS: &[&str] = &["mode", "nopromisc", "source-mac", "bcqueuelen"];

pub const MACVLAN: Kind = Kind {
    name: "macvlan",
    module: "macvlan",
    openwrt: OpenWrt::Package("kmod-macvlan"),
    takes_parent: true,
    flattens: Some("macvlan"),
    default_mac: Some(MacChoice::Stable),
    keys: KEYS,
    example: "mv0",
    codec: &MacvlanCodec,
};

/// A macvlan with a tap character device (`/dev/tapN`) for a VM to use, as libvirt's
/// `direct` interfaces do: the same keys and the same code.
pub const MACVTAP: Kind = Kind {
    name: "macvtap",
    module: "macvtap",
    openwrt: OpenWrt::NotPackaged,
    example: "mvt0",
    ..MACVLAN
};

struct MacvlanCodec;

/// A `source-mac`: the MAC of a host whose traffic this link receives, so never multicast or
/// all zeros.
fn parse_sender(text: &str, kind: &Kind) -> Parsed<MacAddr> {
    let mac = MacAddr::parse(text)?;
    if mac.is_zero() || mac.is_multicast() {
        return Err(format!(
            "`{text}` cannot be the MAC a host sends from (it is {}); give the unicast MAC of the \
             sender whose traffic this {kind} should receive",
            if mac.is_zero() {
                "all zeros"
            } else {
                "multicast"
            }
        )
        .into());
    }
    Ok(mac)
}

/// `IFLA_MACVLAN_*` from `<linux/if_link.h>`.
#[neli::neli_enum(serialized_type = "u16")]
pub enum IflaMacvlan {
    Unspec = 0,
    Mode = 1,
    Flags = 2,
    MacaddrMode = 3,
    Macaddr = 4,
    MacaddrData = 5,
    MacaddrCount = 6,
    BcQueueLen = 7,
    BcQueueLenUsed = 8,
}
impl neli::consts::rtnl::RtaType for IflaMacvlan {}

/// `MACVLAN_FLAG_NOPROMISC`
const FLAG_NOPROMISC: u16 = 1;
/// `MACVLAN_MACADDR_SET`: replace the whole source-MAC list.
const MACADDR_SET: u32 = 3;

/// `enum macvlan_mode`. underlay's default is bridge, not the kernel's vepa: it is what Docker
/// uses and what users expect (macvlans on one parent can talk to each other).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Private,
    Vepa,
    Bridge,
    Passthru,
    Source,
    /// A mode this version of underlay does not know, as the kernel reported it.
    Other(u32),
}

const MODES: [(&str, Mode, u32); 5] = [
    ("bridge", Mode::Bridge, 4),
    ("private", Mode::Private, 1),
    ("vepa", Mode::Vepa, 2),
    ("passthru", Mode::Passthru, 8),
    ("source", Mode::Source, 16),
];

impl Mode {
    fn value(self) -> u32 {
        match self {
            Mode::Other(v) => v,
            known => MODES
                .iter()
                .find(|(_, m, _)| *m == known)
                .map_or(0, |(_, _, v)| *v),
        }
    }

    fn from_kernel(value: u32) -> Mode {
        MODES
            .iter()
            .find(|(_, _, v)| *v == value)
            .map_or(Mode::Other(value), |(_, m, _)| *m)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mode::Other(v) => write!(f, "unknown ({v})"),
            known => f.write_str(
                MODES
                    .iter()
                    .find(|(_, m, _)| m == known)
                    .map_or("?", |(n, _, _)| n),
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacvlanSettings {
    pub mode: Mode,
    pub nopromisc: Option<bool>,
    /// Sorted; `None` when the config does not manage the list.
    pub source_macs: Option<Vec<MacAddr>>,
    pub bcqueuelen: Option<u32>,
}

impl Codec for MacvlanCodec {
    fn parse(
        &self,
        kind: &'static Kind,
        r: &mut SectionReader,
        _parent: &mut Option<String>,
    ) -> Option<Box<dyn KindSettings>> {
        let mode = r
            .value("mode", |text| {
                MODES.iter().find(|(n, _, _)| *n == text).map(|(_, m, _)| *m).ok_or_else(|| {
                    format!(
                        "`{text}` is not a {kind} mode; write bridge (the default), private, vepa, passthru or source"
                    )
                    .into()
                })
            })
            .unwrap_or(Mode::Bridge);
        let nopromisc = r.boolean("nopromisc");
        if nopromisc.is_some() && mode != Mode::Passthru {
            let line = r.line_of("nopromisc").unwrap_or(r.line());
            r.error(
                line,
                Some("nopromisc"),
                format!("only applies to mode passthru, but the mode is {mode}; remove it or set `mode = passthru`"),
            );
        }
        let sources = r.values("source-mac", |text| parse_sender(text, kind));
        if let Some((_, line)) = sources.first()
            && mode != Mode::Source
        {
            r.error(
                *line,
                Some("source-mac"),
                format!("only applies to mode source, but the mode is {mode}; remove it or set `mode = source`"),
            );
        }
        let mut macs: Vec<MacAddr> = Vec::new();
        for (mac, line) in &sources {
            if macs.contains(mac) {
                r.error(
                    *line,
                    Some("source-mac"),
                    format!("{mac} is given twice; list each sender once"),
                );
            }
            macs.push(*mac);
        }
        macs.sort_unstable();
        macs.dedup();
        let bcqueuelen = r.number("bcqueuelen", 0, u32::MAX as u64).map(|n| n as u32);
        Some(Box::new(MacvlanSettings {
            mode,
            nopromisc,
            source_macs: (mode == Mode::Source).then_some(macs),
            bcqueuelen,
        }))
    }

    fn decode(&self, info_data: &[u8]) -> Result<Box<dyn KindSettings>, NetlinkError> {
        // A macvlan dumped with no data at all is the kernel's default: vepa.
        let mut s = MacvlanSettings {
            mode: Mode::Vepa,
            nopromisc: Some(false),
            source_macs: Some(Vec::new()),
            bcqueuelen: None,
        };
        for a in attr::attrs(info_data) {
            let a = a?;
            match a.kind_as() {
                IflaMacvlan::Mode => s.mode = Mode::from_kernel(attr::read_u32(a.payload)?),
                IflaMacvlan::Flags => {
                    s.nopromisc = Some(attr::read_u16(a.payload)? & FLAG_NOPROMISC != 0)
                }
                IflaMacvlan::BcQueueLen => s.bcqueuelen = Some(attr::read_u32(a.payload)?),
                IflaMacvlan::MacaddrData => {
                    let mut macs = Vec::new();
                    for m in attr::attrs(a.payload) {
                        let m = m?;
                        if m.kind_as::<IflaMacvlan>() == IflaMacvlan::Macaddr
                            && let Some(mac) = MacAddr::from_slice(m.payload)
                        {
                            macs.push(mac);
                        }
                    }
                    macs.sort_unstable();
                    s.source_macs = Some(macs);
                }
                _ => {}
            }
        }
        Ok(Box::new(s))
    }
}

impl MacvlanSettings {
    fn data(&self) -> Result<Option<Vec<u8>>, NetlinkError> {
        let mut w = AttrWriter::<IflaMacvlan>::default();
        w.u32(IflaMacvlan::Mode, self.mode.value())?;
        if let Some(nopromisc) = self.nopromisc {
            w.u16(
                IflaMacvlan::Flags,
                if nopromisc { FLAG_NOPROMISC } else { 0 },
            )?;
        }
        if let Some(macs) = &self.source_macs {
            w.u32(IflaMacvlan::MacaddrMode, MACADDR_SET)?;
            let mut list = AttrWriter::<IflaMacvlan>::default();
            for mac in macs {
                list.bytes(IflaMacvlan::Macaddr, &mac.0)?;
            }
            w.nested(IflaMacvlan::MacaddrData, list)?;
        }
        if let Some(len) = self.bcqueuelen {
            w.u32(IflaMacvlan::BcQueueLen, len)?;
        }
        w.into_bytes().map(Some)
    }
}

impl KindSettings for MacvlanSettings {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn create_data(&self) -> Result<Option<Vec<u8>>, NetlinkError> {
        self.data()
    }

    fn change_data(&self, _live: &dyn KindSettings) -> Result<Option<Vec<u8>>, NetlinkError> {
        // Everything the config sets can be changed in place (passthru aside, which `compare`
        // marks for re-creation), so the full set is the change.
        self.data()
    }

    fn compare(&self, live: &dyn KindSettings) -> Vec<Difference> {
        let Some(live) = same_kind::<MacvlanSettings>(live) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if self.mode != live.mode {
            // The kernel cannot switch a macvlan into or out of passthru on a live link.
            let fix = if (self.mode == Mode::Passthru) == (live.mode == Mode::Passthru) {
                Fix::InPlace
            } else {
                Fix::Recreate
            };
            out.push(Difference::setting("mode", live.mode, self.mode, fix));
        }
        if let (Some(w), Some(h)) = (self.nopromisc, live.nopromisc)
            && w != h
        {
            out.push(Difference::setting(
                "nopromisc",
                yes_no(h),
                yes_no(w),
                Fix::InPlace,
            ));
        }
        if let (Some(w), Some(h)) = (&self.source_macs, &live.source_macs)
            && w != h
        {
            out.push(Difference::setting(
                "source-mac",
                macs(h),
                macs(w),
                Fix::InPlace,
            ));
        }
        match (self.bcqueuelen, live.bcqueuelen) {
            (Some(w), Some(h)) if w != h => {
                out.push(Difference::setting("bcqueuelen", h, w, Fix::InPlace))
            }
            // Kernels before 5.11 neither take nor report it (IFLA_MACVLAN_BC_QUEUE_LEN).
            (Some(w), None) => out.push(Difference::setting(
                "bcqueuelen",
                "none",
                w,
                Fix::NeedsKernel("5.11"),
            )),
            _ => {}
        }
        out
    }

    fn summary(&self) -> String {
        format!("mode {}", self.mode)
    }

    fn inherits_parent_mac(&self) -> bool {
        // passthru takes the lower device over, MAC included.
        self.mode == Mode::Passthru
    }

    fn takes_parent_alone(&self) -> bool {
        // The kernel refuses a passthru macvlan beside any other on the same lower device.
        self.mode == Mode::Passthru
    }
}

fn macs(list: &[MacAddr]) -> String {
    if list.is_empty() {
        return "(none)".into();
    }
    list.iter()
        .map(|m| m.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_mode_encoding() {
        let s = MacvlanSettings {
            mode: Mode::Source,
            nopromisc: None,
            source_macs: Some(vec![MacAddr([2, 0, 0, 0, 0, 1])]),
            bcqueuelen: Some(1000),
        };
        let bytes = s.create_data().unwrap().unwrap();
        // IFLA_MACVLAN_MODE: len 8, type 1, MACVLAN_MODE_SOURCE = 16.
        assert_eq!(&bytes[..8], &[8, 0, 1, 0, 16, 0, 0, 0]);
        let back = MacvlanCodec.decode(&bytes).unwrap();
        assert_eq!(s.compare(back.as_ref()), vec![]);
    }

    #[test]
    fn passthru_changes_need_recreation() {
        let want = MacvlanSettings {
            mode: Mode::Passthru,
            nopromisc: None,
            source_macs: None,
            bcqueuelen: None,
        };
        let have = MacvlanSettings {
            mode: Mode::Bridge,
            ..want.clone()
        };
        assert_eq!(want.compare(&have)[0].fix, Fix::Recreate);
        let vepa = MacvlanSettings {
            mode: Mode::Vepa,
            ..want.clone()
        };
        assert_eq!(vepa.compare(&have)[0].fix, Fix::InPlace);
    }

    #[test]
    fn an_unknown_mode_is_kept_and_differs() {
        // IFLA_MACVLAN_MODE 32: a mode from a kernel newer than underlay.
        let live = MacvlanCodec.decode(&[8, 0, 1, 0, 32, 0, 0, 0]).unwrap();
        let want = MacvlanSettings {
            mode: Mode::Bridge,
            nopromisc: None,
            source_macs: None,
            bcqueuelen: None,
        };
        let diffs = want.compare(live.as_ref());
        assert_eq!(diffs.len(), 1);
        assert_eq!(
            (diffs[0].have.as_str(), diffs[0].want.as_str()),
            ("unknown (32)", "bridge")
        );
        assert_eq!(live.summary(), "mode unknown (32)");
    }
}
