//! 802.1Q / 802.1ad VLAN sub-interfaces (`ip link add link eth0 name eth0.10 type vlan id 10`).

use std::any::Any;

use std::fmt;

use neli::consts::rtnl::{IflaVlan, IflaVlanQos};

use super::{
    Codec, Difference, Fix, Implicit, Kind, KindSettings, MacChoice, OpenWrt, same_kind, yes_no,
};
use crate::netlink::NetlinkError;
use crate::netlink::attr::{self, AttrWriter};
use crate::syntax::section::SectionReader;
use crate::syntax::{Parsed, values};

pub const VLAN: Kind = Kind {
    name: "vlan",
    module: "8021q",
    openwrt: OpenWrt::BuiltIn,
    takes_parent: true,
    flattens: None,
    default_mac: Some(MacChoice::Kernel),
    keys: &[
        "id",
        "protocol",
        "reorder-header",
        "gvrp",
        "mvrp",
        "loose-binding",
        "ingress-qos-map",
        "egress-qos-map",
    ],
    example: "eth0.10",
    codec: &VlanCodec,
};

struct VlanCodec;

/// `ETH_P_8021Q` and `ETH_P_8021AD`.
const ETH_P_8021Q: u16 = 0x8100;
const ETH_P_8021AD: u16 = 0x88a8;

/// `VLAN_FLAG_*` from `<linux/if_vlan.h>`, with the key that sets each.
const FLAGS: [(&str, u32); 4] = [
    ("reorder-header", 0x1),
    ("gvrp", 0x2),
    ("loose-binding", 0x4),
    ("mvrp", 0x8),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Dot1Q,
    Dot1Ad,
    /// An ethertype underlay does not know, as the kernel reported it.
    Other(u16),
}

impl Protocol {
    fn ethertype(self) -> u16 {
        match self {
            Protocol::Dot1Q => ETH_P_8021Q,
            Protocol::Dot1Ad => ETH_P_8021AD,
            Protocol::Other(t) => t,
        }
    }

    fn from_kernel(ethertype: u16) -> Protocol {
        match ethertype {
            ETH_P_8021Q => Protocol::Dot1Q,
            ETH_P_8021AD => Protocol::Dot1Ad,
            other => Protocol::Other(other),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Protocol::Dot1Q => f.write_str("802.1q"),
            Protocol::Dot1Ad => f.write_str("802.1ad"),
            Protocol::Other(t) => write!(f, "unknown (ethertype 0x{t:04x})"),
        }
    }
}

/// A priority map: `FROM:TO` pairs, sorted, without the zero targets the kernel never reports.
type QosMap = Vec<(u32, u32)>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VlanSettings {
    pub id: u16,
    pub protocol: Protocol,
    /// One entry per `FLAGS` element; `None` leaves the kernel's choice alone.
    pub flags: [Option<bool>; 4],
    pub ingress: Option<QosMap>,
    pub egress: Option<QosMap>,
}

impl VlanSettings {
    fn new(id: u16) -> Self {
        VlanSettings {
            id,
            protocol: Protocol::Dot1Q,
            flags: [None; 4],
            ingress: None,
            egress: None,
        }
    }
}

/// Split `eth0.10` into (`eth0`, 10) if the suffix is a VLAN id. `Some(Err)` when the name
/// has the PARENT.NUMBER shape but the number cannot be a VLAN id.
fn split_dotted(name: &str) -> Option<Parsed<(String, u16)>> {
    let (parent, suffix) = name.rsplit_once('.')?;
    if parent.is_empty() || suffix.is_empty() || !suffix.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(
        values::number(suffix, 1, 4094)
            .map(|id| (parent.to_string(), id as u16))
            .map_err(|e| format!("`{name}` reads as PARENT.ID, but VLAN id {e}").into()),
    )
}

fn parse_qos(text: &str, from_max: u64, to_max: u64) -> Parsed<QosMap> {
    let mut map = QosMap::new();
    for pair in text.split_whitespace() {
        let Some((from, to)) = pair.split_once(':') else {
            return Err(format!("`{pair}` is not a FROM:TO pair; write e.g. `1:2 3:4`").into());
        };
        let from =
            values::number(from, 0, from_max).map_err(|e| format!("in `{pair}`: {e}"))? as u32;
        let to = values::number(to, 0, to_max).map_err(|e| format!("in `{pair}`: {e}"))? as u32;
        if map.iter().any(|(f, _)| *f == from) {
            return Err(format!("priority {from} is mapped twice").into());
        }
        if to != 0 {
            map.push((from, to));
        }
    }
    map.sort_unstable();
    Ok(map)
}

fn show_qos(map: &QosMap) -> String {
    if map.is_empty() {
        return "(none)".into();
    }
    map.iter()
        .map(|(f, t)| format!("{f}:{t}"))
        .collect::<Vec<_>>()
        .join(" ")
}

impl Codec for VlanCodec {
    fn parse(
        &self,
        _kind: &'static Kind,
        r: &mut SectionReader,
        parent: &mut Option<String>,
    ) -> Option<Box<dyn KindSettings>> {
        let explicit_id = r.line_of("id").is_some();
        let id = r.number("id", 1, 4094).map(|n| n as u16);
        // `[vlan eth0.10]` means parent eth0, id 10, unless the keys say otherwise.
        let dotted = r.name().rsplit_once('.').filter(|(p, id)| {
            !p.is_empty() && !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())
        });
        if parent.is_none() {
            *parent = dotted.map(|(p, _)| p.to_string());
        }
        let id = match (id, dotted) {
            (Some(id), _) => id,
            (None, _) if explicit_id => return None, // already reported
            (None, Some((_, suffix))) => match values::number(suffix, 1, 4094) {
                Ok(id) => id as u16,
                Err(message) => {
                    // The id comes from the name, so say so unless it is plainly out of range.
                    let message = if message.contains("out of range") {
                        message.0
                    } else {
                        format!(
                            "the name's suffix `{suffix}` is no VLAN id ({message}); rename the link, or give `id = 1..4094`"
                        )
                    };
                    let line = r.line();
                    r.error(line, Some("id"), message);
                    return None;
                }
            },
            (None, None) => {
                let line = r.line();
                r.error(
                    line,
                    Some("id"),
                    "missing; give `id = 1..4094`, or name the link PARENT.ID (e.g. [vlan eth0.10])".into(),
                );
                return None;
            }
        };
        // `[vlan eth0.10]` with `id = 20` on eth0 is surely a slip: the name says 10.
        if let (Some((prefix, suffix)), Some(line)) = (dotted, r.line_of("id"))
            && parent.as_deref() == Some(prefix)
            && suffix.parse::<u16>().ok() != Some(id)
        {
            let name = r.name().to_string();
            r.error(
                line,
                Some("id"),
                format!(
                    "{id} contradicts the name {name}, which says VLAN {suffix} on {prefix}; rename the link or drop the key"
                ),
            );
            return None;
        }
        let mut settings = VlanSettings::new(id);
        settings.protocol = r
            .value("protocol", |text| {
                match text.to_ascii_lowercase().as_str() {
                    "802.1q" => Ok(Protocol::Dot1Q),
                    "802.1ad" => Ok(Protocol::Dot1Ad),
                    _ => Err(format!(
                        "`{text}` is not a VLAN protocol; write 802.1q (the default) or 802.1ad"
                    )
                    .into()),
                }
            })
            .unwrap_or(Protocol::Dot1Q);
        for (slot, (key, _)) in settings.flags.iter_mut().zip(FLAGS) {
            *slot = r.boolean(key);
        }
        settings.ingress = r.value("ingress-qos-map", |t| parse_qos(t, 7, u32::MAX as u64));
        settings.egress = r.value("egress-qos-map", |t| parse_qos(t, u32::MAX as u64, 7));
        Some(Box::new(settings))
    }

    fn decode(&self, info_data: &[u8]) -> Result<Box<dyn KindSettings>, NetlinkError> {
        let mut settings = VlanSettings::new(0);
        settings.flags = [Some(false); 4];
        settings.ingress = Some(QosMap::new());
        settings.egress = Some(QosMap::new());
        for a in attr::attrs(info_data) {
            let a = a?;
            let p = a.payload;
            match a.kind_as() {
                IflaVlan::Id => settings.id = attr::read_u16(p)?,
                IflaVlan::Protocol => {
                    settings.protocol = Protocol::from_kernel(attr::read_be16(p)?)
                }
                IflaVlan::Flags => {
                    let flags = attr::read_u32(p)?;
                    for (slot, (_, bit)) in settings.flags.iter_mut().zip(FLAGS) {
                        *slot = Some(flags & bit != 0);
                    }
                }
                IflaVlan::IngressQos => settings.ingress = Some(decode_qos(p)?),
                IflaVlan::EgressQos => settings.egress = Some(decode_qos(p)?),
                _ => {}
            }
        }
        Ok(Box::new(settings))
    }

    fn implicit(&self, name: &str) -> Option<Implicit> {
        Some(split_dotted(name)?.map(|(parent, id)| {
            (
                parent,
                Box::new(VlanSettings::new(id)) as Box<dyn KindSettings>,
            )
        }))
    }
}

fn decode_qos(bytes: &[u8]) -> Result<QosMap, NetlinkError> {
    let mut map = QosMap::new();
    for a in attr::attrs(bytes) {
        let a = a?;
        let p = a.payload;
        if a.kind_as::<IflaVlanQos>() == IflaVlanQos::Mapping && p.len() >= 8 {
            let (from, to) = (attr::read_u32(p)?, attr::read_u32(&p[4..])?);
            if to != 0 {
                map.push((from, to));
            }
        }
    }
    map.sort_unstable();
    Ok(map)
}

fn encode_qos(map: &[(u32, u32)]) -> Result<AttrWriter<IflaVlanQos>, NetlinkError> {
    let mut w = AttrWriter::default();
    for (from, to) in map {
        let mut pair = from.to_ne_bytes().to_vec();
        pair.extend_from_slice(&to.to_ne_bytes());
        w.bytes(IflaVlanQos::Mapping, &pair)?;
    }
    Ok(w)
}

/// `struct ifla_vlan_flags { flags, mask }` for the flags this config sets.
fn flags_payload(flags: &[Option<bool>; 4]) -> Option<Vec<u8>> {
    let (mut value, mut mask) = (0u32, 0u32);
    for (wanted, (_, bit)) in flags.iter().zip(FLAGS) {
        if let Some(on) = wanted {
            mask |= bit;
            if *on {
                value |= bit;
            }
        }
    }
    (mask != 0).then(|| [value.to_ne_bytes(), mask.to_ne_bytes()].concat())
}

/// Mappings that turn `live` into `wanted`: every wanted pair, and a zero for each live one the
/// config drops.
fn qos_changes(wanted: &QosMap, live: &QosMap) -> QosMap {
    let mut changes = wanted.clone();
    for (from, _) in live {
        if !wanted.iter().any(|(f, _)| f == from) {
            changes.push((*from, 0));
        }
    }
    changes
}

impl VlanSettings {
    fn data(
        &self,
        include_identity: bool,
        live: Option<&VlanSettings>,
    ) -> Result<Option<Vec<u8>>, NetlinkError> {
        let mut w = AttrWriter::<IflaVlan>::default();
        if include_identity {
            w.u16(IflaVlan::Id, self.id)?;
            w.be16(IflaVlan::Protocol, self.protocol.ethertype())?;
        }
        if let Some(payload) = flags_payload(&self.flags) {
            w.bytes(IflaVlan::Flags, &payload)?;
        }
        let empty = QosMap::new();
        if let Some(map) = &self.ingress {
            let live_map = live.and_then(|l| l.ingress.as_ref()).unwrap_or(&empty);
            w.nested(
                IflaVlan::IngressQos,
                encode_qos(&qos_changes(map, live_map))?,
            )?;
        }
        if let Some(map) = &self.egress {
            let live_map = live.and_then(|l| l.egress.as_ref()).unwrap_or(&empty);
            w.nested(
                IflaVlan::EgressQos,
                encode_qos(&qos_changes(map, live_map))?,
            )?;
        }
        if w.is_empty() {
            return Ok(None);
        }
        w.into_bytes().map(Some)
    }
}

impl KindSettings for VlanSettings {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn create_data(&self) -> Result<Option<Vec<u8>>, NetlinkError> {
        self.data(true, None)
    }

    fn change_data(&self, live: &dyn KindSettings) -> Result<Option<Vec<u8>>, NetlinkError> {
        self.data(false, same_kind::<VlanSettings>(live))
    }

    fn compare(&self, live: &dyn KindSettings) -> Vec<Difference> {
        let Some(live) = same_kind::<VlanSettings>(live) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if self.id != live.id {
            out.push(Difference::setting("id", live.id, self.id, Fix::Recreate));
        }
        if self.protocol != live.protocol {
            out.push(Difference::setting(
                "protocol",
                live.protocol,
                self.protocol,
                Fix::Recreate,
            ));
        }
        for ((wanted, have), (key, _)) in self.flags.iter().zip(&live.flags).zip(FLAGS) {
            if let (Some(w), Some(h)) = (wanted, have)
                && w != h
            {
                out.push(Difference::setting(
                    key,
                    yes_no(*h),
                    yes_no(*w),
                    Fix::InPlace,
                ));
            }
        }
        for (key, wanted, have) in [
            ("ingress-qos-map", &self.ingress, &live.ingress),
            ("egress-qos-map", &self.egress, &live.egress),
        ] {
            if let (Some(w), Some(h)) = (wanted, have)
                && w != h
            {
                out.push(Difference::setting(
                    key,
                    show_qos(h),
                    show_qos(w),
                    Fix::InPlace,
                ));
            }
        }
        out
    }

    fn summary(&self) -> String {
        match self.protocol {
            Protocol::Dot1Q => format!("id {}", self.id),
            other => format!("id {}, {other}", self.id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_names() {
        assert_eq!(
            split_dotted("eth0.10").unwrap().unwrap(),
            ("eth0".to_string(), 10)
        );
        assert_eq!(
            split_dotted("eth0.100.200").unwrap().unwrap(),
            ("eth0.100".to_string(), 200)
        );
        assert!(split_dotted("eth0").is_none());
        assert!(split_dotted("br.lan").is_none());
        assert!(
            split_dotted("eth0.4095")
                .unwrap()
                .unwrap_err()
                .contains("4095 is out of range 1..4094")
        );
    }

    #[test]
    fn qos_maps() {
        assert_eq!(
            parse_qos("3:4 1:2", 7, u32::MAX as u64).unwrap(),
            vec![(1, 2), (3, 4)]
        );
        assert_eq!(parse_qos("1:0", 7, 7).unwrap(), vec![]);
        assert!(
            parse_qos("8:1", 7, 7)
                .unwrap_err()
                .contains("8 is out of range 0..7")
        );
        assert!(parse_qos("1-2", 7, 7).unwrap_err().contains("FROM:TO"));
        assert!(
            parse_qos("1:2 1:3", 7, 7)
                .unwrap_err()
                .contains("mapped twice")
        );
        assert_eq!(
            qos_changes(&vec![(1, 2)], &vec![(1, 3), (4, 5)]),
            vec![(1, 2), (4, 0)]
        );
    }

    #[test]
    fn encode_then_decode_round_trips() {
        let mut s = VlanSettings::new(10);
        s.protocol = Protocol::Dot1Ad;
        s.flags = [Some(true), Some(false), Some(true), Some(false)];
        s.ingress = Some(vec![(1, 2)]);
        s.egress = Some(vec![(2, 3)]);
        let bytes = s.create_data().unwrap().unwrap();
        // IFLA_VLAN_ID comes first: len 6, type 1, value 10, then 2 bytes of padding.
        assert_eq!(&bytes[..8], &[6, 0, 1, 0, 10, 0, 0, 0]);
        // IFLA_VLAN_PROTOCOL is big-endian 0x88a8.
        assert_eq!(&bytes[8..14], &[6, 0, 5, 0, 0x88, 0xa8]);
        let back = VlanCodec.decode(&bytes).unwrap();
        assert_eq!(s.compare(back.as_ref()), vec![]);
    }

    #[test]
    fn id_and_protocol_are_not_changed_in_place() {
        let want = VlanSettings::new(10);
        let mut have = VlanSettings::new(11);
        have.protocol = Protocol::Dot1Ad;
        let diffs = want.compare(&have);
        assert_eq!(diffs.len(), 2);
        assert!(diffs.iter().all(|d| d.fix == Fix::Recreate));
    }
}
