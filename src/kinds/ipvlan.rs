//! ipvlan links (`ip link add link eth1 name iv0 type ipvlan mode l2 bridge`). They share the
//! parent's MAC, so they take no `mac` key.

use std::any::Any;

use super::{Difference, KindSettings, LinkKind, MacChoice, same_kind};
use crate::config::section::SectionReader;
use crate::netlink::NetlinkError;
use crate::netlink::attr::{self, AttrWriter};

pub struct Ipvlan;

/// `IFLA_IPVLAN_*` from `<linux/if_link.h>`.
#[neli::neli_enum(serialized_type = "u16")]
pub enum IflaIpvlan {
    Unspec = 0,
    Mode = 1,
    Flags = 2,
}
impl neli::consts::rtnl::RtaType for IflaIpvlan {}

/// `enum ipvlan_mode`, in kernel order.
const MODES: [&str; 3] = ["l2", "l3", "l3s"];
/// `IPVLAN_F_PRIVATE` and `IPVLAN_F_VEPA`; neither is bridge.
const FLAGS: [(&str, u16); 3] = [("bridge", 0), ("private", 1), ("vepa", 2)];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpvlanSettings {
    /// Index into `MODES`.
    pub mode: u16,
    /// A value from `FLAGS`.
    pub flags: u16,
}

fn flag_name(flags: u16) -> &'static str {
    FLAGS
        .iter()
        .find(|(_, f)| *f == flags)
        .map_or("?", |(n, _)| n)
}

impl LinkKind for Ipvlan {
    fn name(&self) -> &'static str {
        "ipvlan"
    }

    fn module(&self) -> &'static str {
        "ipvlan"
    }

    fn openwrt_package(&self) -> Option<&'static str> {
        Some("kmod-ipvlan")
    }

    fn takes_parent(&self) -> bool {
        true
    }

    fn default_mac(&self) -> Option<MacChoice> {
        None
    }

    fn keys(&self) -> &'static [&'static str] {
        &["mode", "flag"]
    }

    fn parse(
        &self,
        r: &mut SectionReader,
        _parent: &mut Option<String>,
    ) -> Option<Box<dyn KindSettings>> {
        let mode = r
            .value("mode", |text| {
                MODES
                    .iter()
                    .position(|m| *m == text)
                    .map(|i| i as u16)
                    .ok_or_else(|| {
                        format!("`{text}` is not an ipvlan mode; write l2 (the default), l3 or l3s")
                    })
            })
            .unwrap_or(0);
        let flags = r
            .value("flag", |text| {
                FLAGS
                    .iter()
                    .find(|(n, _)| *n == text)
                    .map(|(_, f)| *f)
                    .ok_or_else(|| format!("`{text}` is not an ipvlan flag; write bridge (the default), private or vepa"))
            })
            .unwrap_or(0);
        Some(Box::new(IpvlanSettings { mode, flags }))
    }

    fn decode(&self, info_data: &[u8]) -> Result<Box<dyn KindSettings>, NetlinkError> {
        let mut s = IpvlanSettings { mode: 0, flags: 0 };
        for a in attr::parse::<IflaIpvlan>(info_data)?.iter() {
            let p = attr::payload(a);
            match a.rta_type() {
                IflaIpvlan::Mode => s.mode = attr::read_u16(p)?,
                IflaIpvlan::Flags => s.flags = attr::read_u16(p)?,
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
        w.u16(IflaIpvlan::Mode, self.mode)?;
        w.u16(IflaIpvlan::Flags, self.flags)?;
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
            let name = |m: u16| MODES.get(m as usize).copied().unwrap_or("?");
            out.push(Difference::new(
                "mode",
                name(self.mode),
                name(live.mode),
                true,
            ));
        }
        if self.flags != live.flags {
            out.push(Difference::new(
                "flag",
                flag_name(self.flags),
                flag_name(live.flags),
                true,
            ));
        }
        out
    }

    fn summary(&self) -> String {
        format!(
            "mode {} {}",
            MODES.get(self.mode as usize).copied().unwrap_or("?"),
            flag_name(self.flags)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips() {
        let s = IpvlanSettings { mode: 2, flags: 1 };
        let bytes = s.create_data().unwrap().unwrap();
        // IFLA_IPVLAN_MODE: len 6, type 1, IPVLAN_MODE_L3S = 2, padded to 8.
        assert_eq!(&bytes[..8], &[6, 0, 1, 0, 2, 0, 0, 0]);
        assert_eq!(s.compare(Ipvlan.decode(&bytes).unwrap().as_ref()), vec![]);
    }
}
