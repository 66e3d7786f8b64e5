//! ipvlan links (`ip link add link eth1 name iv0 type ipvlan mode l2 bridge`) and their
//! siblings, served by the same code through the `Kind` it is given. They share the parent's
//! MAC, so they take no `mac` key.

use std::any::Any;
use std::fmt;

use super::{Codec, Difference, Fix, Kind, KindSettings, OpenWrt, same_kind};
use crate::netlink::NetlinkError;
use crate::netlink::attr::{self, AttrWriter};
use crate::syntax::section::SectionReader;

const KEYS: &[&str] = &["mode", "flag"];

pub const IPVLAN: Kind = Kind {
    name: "ipvlan",
    module: "ipvlan",
    openwrt: OpenWrt::Package("kmod-ipvlan"),
    takes_parent: true,
    flattens: Some("ipvlan"),
    default_mac: None,
    keys: KEYS,
    example: "iv0",
    codec: &IpvlanCodec,
};

/// An ipvlan with a tap character device (`/dev/tapN`) for a VM to use: the same keys and the
/// same code.
pub const IPVTAP: Kind = Kind {
    name: "ipvtap",
    module: "ipvtap",
    openwrt: OpenWrt::NotPackaged,
    example: "ivt0",
    ..IPVLAN
};

struct IpvlanCodec;

/// `IFLA_IPVLAN_*` from `<linux/if_link.h>`.
#[neli::neli_enum(serialized_type = "u16")]
pub enum IflaIpvlan {
    Unspec = 0,
    Mode = 1,
    Flags = 2,
}
impl neli::consts::rtnl::RtaType for IflaIpvlan {}

/// `enum ipvlan_mode`, in kernel order: l2 is 0, l3 is 1, l3s is 2.
const MODES: [&str; 3] = ["l2", "l3", "l3s"];
/// `IPVLAN_F_PRIVATE` and `IPVLAN_F_VEPA`; neither is bridge.
const FLAGS: [(&str, u16); 3] = [("bridge", 0), ("private", 1), ("vepa", 2)];

/// An `enum ipvlan_mode` value, named if underlay knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpvlanMode(pub u16);

impl fmt::Display for IpvlanMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match MODES.get(self.0 as usize) {
            Some(name) => f.write_str(name),
            None => write!(f, "unknown ({})", self.0),
        }
    }
}

/// The `IPVLAN_F_*` flags, named if underlay knows the combination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpvlanFlags(pub u16);

impl fmt::Display for IpvlanFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match FLAGS.iter().find(|(_, v)| *v == self.0) {
            Some((name, _)) => f.write_str(name),
            None => write!(f, "unknown ({})", self.0),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpvlanSettings {
    pub mode: IpvlanMode,
    pub flags: IpvlanFlags,
}

impl Codec for IpvlanCodec {
    fn parse(
        &self,
        kind: &'static Kind,
        r: &mut SectionReader,
        _parent: &mut Option<String>,
    ) -> Option<Box<dyn KindSettings>> {
        let mode = r
            .value("mode", |text| {
                MODES
                    .iter()
                    .position(|m| *m == text)
                    .map(|i| IpvlanMode(i as u16))
                    .ok_or_else(|| {
                        format!("`{text}` is not an {kind} mode; write l2 (the default), l3 or l3s")
                            .into()
                    })
            })
            .unwrap_or(IpvlanMode(0));
        let flags = r
            .value("flag", |text| {
                FLAGS
                    .iter()
                    .find(|(n, _)| *n == text)
                    .map(|(_, f)| IpvlanFlags(*f))
                    .ok_or_else(|| {
                        format!(
                            "`{text}` is not an {kind} flag; write bridge (the default), private or vepa"
                        )
                        .into()
                    })
            })
            .unwrap_or(IpvlanFlags(0));
        Some(Box::new(IpvlanSettings { mode, flags }))
    }

    fn decode(&self, info_data: &[u8]) -> Result<Box<dyn KindSettings>, NetlinkError> {
        let mut s = IpvlanSettings {
            mode: IpvlanMode(0),
            flags: IpvlanFlags(0),
        };
        for a in attr::attrs(info_data) {
            let a = a?;
            match a.kind_as() {
                IflaIpvlan::Mode => s.mode = IpvlanMode(attr::read_u16(a.payload)?),
                IflaIpvlan::Flags => s.flags = IpvlanFlags(attr::read_u16(a.payload)?),
                _ => {}
            }
        }
        Ok(Box::new(s))
    }
}

impl KindSettings for IpvlanSettings {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn create_data(&self) -> Result<Option<Vec<u8>>, NetlinkError> {
        let mut w = AttrWriter::<IflaIpvlan>::default();
        w.u16(IflaIpvlan::Mode, self.mode.0)?;
        w.u16(IflaIpvlan::Flags, self.flags.0)?;
        w.into_bytes().map(Some)
    }

    fn change_data(&self, _live: &dyn KindSettings) -> Result<Option<Vec<u8>>, NetlinkError> {
        self.create_data()
    }

    fn compare(&self, live: &dyn KindSettings) -> Vec<Difference> {
        let Some(live) = same_kind::<IpvlanSettings>(live) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if self.mode != live.mode {
            out.push(Difference::setting(
                "mode",
                live.mode,
                self.mode,
                Fix::InPlace,
            ));
        }
        if self.flags != live.flags {
            out.push(Difference::setting(
                "flag",
                live.flags,
                self.flags,
                Fix::InPlace,
            ));
        }
        out
    }

    fn summary(&self) -> String {
        format!("mode {}, flag {}", self.mode, self.flags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips() {
        let s = IpvlanSettings {
            mode: IpvlanMode(2),
            flags: IpvlanFlags(1),
        };
        let bytes = s.create_data().unwrap().unwrap();
        // IFLA_IPVLAN_MODE: len 6, type 1, IPVLAN_MODE_L3S = 2, padded to 8.
        assert_eq!(&bytes[..8], &[6, 0, 1, 0, 2, 0, 0, 0]);
        assert_eq!(
            s.compare(IpvlanCodec.decode(&bytes).unwrap().as_ref()),
            vec![]
        );
        assert_eq!(s.summary(), "mode l3s, flag private");
    }

    #[test]
    fn unknown_values_are_shown_and_differ() {
        let live = IpvlanSettings {
            mode: IpvlanMode(7),
            flags: IpvlanFlags(3),
        };
        let want = IpvlanSettings {
            mode: IpvlanMode(0),
            flags: IpvlanFlags(0),
        };
        let diffs = want.compare(&live);
        assert_eq!(diffs.len(), 2);
        assert_eq!(diffs[0].have, "unknown (7)");
        assert_eq!(live.summary(), "mode unknown (7), flag unknown (3)");
    }
}
