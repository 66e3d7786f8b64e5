//! Link messages: `RTM_NEWLINK` to create or change, `RTM_DELLINK` to delete, and the decoding of
//! dumped or announced links into `LiveLink`.

use std::io::Cursor;

use neli::{
    FromBytesWithInput,
    consts::{
        nl::NlmF,
        rtnl::{Arphrd, Iff, Ifla, IflaInfo, RtAddrFamily, Rtm},
    },
    rtnl::{Ifinfomsg, IfinfomsgBuilder},
};

use super::attr::{self, AttrWriter};
use super::{Body, NetlinkError, Request};
use crate::mac::MacAddr;

/// A link as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveLink {
    pub index: i32,
    pub name: String,
    /// `IFLA_INFO_KIND`; `None` for physical NICs and kinds that report none.
    pub kind: Option<String>,
    /// `IFLA_INFO_DATA`, decoded by the kind when needed.
    pub info_data: Vec<u8>,
    /// The lower device (`IFLA_LINK`), when it is in this namespace.
    pub parent: Option<i32>,
    /// The lower device's ifindex when it is in another namespace (`IFLA_LINK_NETNSID` is set):
    /// a link created into a namespace on a parent in the host reports its parent this way.
    pub parent_elsewhere: Option<i32>,
    pub mtu: u32,
    pub mac: Option<MacAddr>,
    pub permanent_mac: Option<MacAddr>,
    /// Administratively up (`IFF_UP`).
    pub up: bool,
    /// The netdev group (`IFLA_GROUP`); 0 is the default group.
    pub group: u32,
}

/// Everything needed to create one link.
pub struct NewLink<'a> {
    pub name: &'a str,
    pub kind: &'a str,
    /// The ifindex to create it with: chosen up front so the ownership record can name the link
    /// before it exists (see `record`).
    pub index: i32,
    pub parent: Option<i32>,
    pub mtu: Option<u32>,
    pub mac: Option<MacAddr>,
    pub up: bool,
    pub info_data: Option<Vec<u8>>,
    /// Create the link straight inside this namespace (`IFLA_NET_NS_FD`), so it never appears
    /// half-made in the host's.
    pub netns_fd: Option<i32>,
}

/// What to change on a live link; `None` leaves an attribute alone.
#[derive(Debug, Default, Clone)]
pub struct LinkChange {
    pub mtu: Option<u32>,
    pub mac: Option<MacAddr>,
    pub up: Option<bool>,
    /// Move the link into this netdev group (`down` uses it to delete many links at once).
    pub group: Option<u32>,
    /// The kind and its `IFLA_INFO_DATA`, for kind-specific changes.
    pub info: Option<(String, Vec<u8>)>,
}

fn header(
    index: i32,
    up: Option<bool>,
    attrs: AttrWriter<Ifla>,
) -> Result<Ifinfomsg, NetlinkError> {
    let mut b = IfinfomsgBuilder::default()
        .ifi_family(RtAddrFamily::Unspecified)
        .ifi_type(Arphrd::from(0))
        .ifi_index(index)
        .rtattrs(attrs.into_buffer());
    b = match up {
        Some(true) => b.up(),
        Some(false) => b.down(),
        None => b,
    };
    b.build().map_err(|e| NetlinkError::Encode(e.to_string()))
}

fn link_info(kind: &str, data: Option<Vec<u8>>) -> Result<AttrWriter<IflaInfo>, NetlinkError> {
    let mut info = AttrWriter::<IflaInfo>::default();
    info.string(IflaInfo::Kind, kind)?;
    if let Some(data) = data {
        info.bytes(IflaInfo::Data, &data)?;
    }
    Ok(info)
}

/// `ip link add`: everything, MAC included, in the one message, so udev never sees the link
/// with another MAC.
pub fn create(link: NewLink) -> Result<Request, NetlinkError> {
    let mut attrs = AttrWriter::<Ifla>::default();
    attrs.string(Ifla::Ifname, link.name)?;
    if let Some(parent) = link.parent {
        attrs.u32(Ifla::Link, parent as u32)?;
    }
    if let Some(mtu) = link.mtu {
        attrs.u32(Ifla::Mtu, mtu)?;
    }
    if let Some(mac) = link.mac {
        attrs.bytes(Ifla::Address, &mac.0)?;
    }
    if let Some(fd) = link.netns_fd {
        attrs.u32(Ifla::NetNsFd, fd as u32)?;
    }
    attrs.nested(Ifla::Linkinfo, link_info(link.kind, link.info_data)?)?;
    Ok(Request {
        kind: Rtm::Newlink,
        flags: NlmF::ACK | NlmF::CREATE | NlmF::EXCL,
        body: Body::Link(header(link.index, link.up.then_some(true), attrs)?),
    })
}

/// `ip link set`: only the attributes that differ.
pub fn change(index: i32, change: LinkChange) -> Result<Request, NetlinkError> {
    let mut attrs = AttrWriter::<Ifla>::default();
    if let Some(mtu) = change.mtu {
        attrs.u32(Ifla::Mtu, mtu)?;
    }
    if let Some(mac) = change.mac {
        attrs.bytes(Ifla::Address, &mac.0)?;
    }
    if let Some(group) = change.group {
        attrs.u32(Ifla::Group, group)?;
    }
    if let Some((kind, data)) = change.info {
        attrs.nested(Ifla::Linkinfo, link_info(&kind, Some(data))?)?;
    }
    Ok(Request {
        kind: Rtm::Newlink,
        flags: NlmF::ACK,
        body: Body::Link(header(index, change.up, attrs)?),
    })
}

pub fn delete(index: i32) -> Result<Request, NetlinkError> {
    Ok(Request {
        kind: Rtm::Dellink,
        flags: NlmF::ACK,
        body: Body::Link(header(index, None, AttrWriter::default())?),
    })
}

/// `RTEXT_FILTER_SKIP_STATS`: leave the counters out of the dump; underlay never reads them,
/// and they are a third of every message.
const RTEXT_FILTER_SKIP_STATS: u32 = 1 << 3;

/// Delete every link of a netdev group in one batch (`ip link delete group N`).
pub fn delete_group(group: u32) -> Result<Request, NetlinkError> {
    let mut attrs = AttrWriter::<Ifla>::default();
    attrs.u32(Ifla::Group, group)?;
    Ok(Request {
        kind: Rtm::Dellink,
        flags: NlmF::ACK,
        body: Body::Link(header(0, None, attrs)?),
    })
}

pub fn dump_request() -> Result<Request, NetlinkError> {
    let mut attrs = AttrWriter::<Ifla>::default();
    attrs.u32(Ifla::ExtMask, RTEXT_FILTER_SKIP_STATS)?;
    Ok(Request {
        kind: Rtm::Getlink,
        flags: NlmF::DUMP,
        body: Body::Link(header(0, None, attrs)?),
    })
}

/// Decode an `RTM_NEWLINK` payload. Malformed input is an error, never a panic.
pub fn decode(payload: &[u8]) -> Result<LiveLink, NetlinkError> {
    let msg = Ifinfomsg::from_bytes_with_input(&mut Cursor::new(payload), payload.len())
        .map_err(|e| NetlinkError::Decode(format!("link message: {e}")))?;
    let mut link = LiveLink {
        index: *msg.ifi_index(),
        name: String::new(),
        kind: None,
        info_data: Vec::new(),
        parent: None,
        parent_elsewhere: None,
        mtu: 0,
        mac: None,
        permanent_mac: None,
        up: msg.ifi_flags().contains(Iff::UP),
        group: 0,
    };
    let mut other_namespace = false;
    for a in msg.rtattrs().iter() {
        let p = attr::payload(a);
        match a.rta_type() {
            // The kernel allows any bytes but `/`, `:` and white space in names; a foreign
            // link's odd name must not stop the run (no config can name it anyway).
            Ifla::Ifname => link.name = attr::read_string_lossy(p),
            Ifla::Mtu => link.mtu = attr::read_u32(p)?,
            Ifla::Group => link.group = attr::read_u32(p)?,
            Ifla::Address => link.mac = MacAddr::from_slice(p),
            Ifla::PermAddress => {
                link.permanent_mac = MacAddr::from_slice(p).filter(|m| !m.is_zero())
            }
            Ifla::Link => link.parent = Some(attr::read_u32(p)? as i32),
            Ifla::LinkNetnsid => other_namespace = true,
            Ifla::Linkinfo => {
                for info in attr::parse::<IflaInfo>(p)?.iter() {
                    match info.rta_type() {
                        IflaInfo::Kind => link.kind = Some(attr::read_string(attr::payload(info))?),
                        IflaInfo::Data => link.info_data = attr::payload(info).to_vec(),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    if link.name.is_empty() {
        return Err(NetlinkError::Decode(format!(
            "link {} has no name",
            link.index
        )));
    }
    // A lower device in another namespace (a veth peer, a link moved away) is not a parent
    // here; a physical NIC may report itself.
    if other_namespace {
        link.parent_elsewhere = link.parent.take();
    } else if link.parent == Some(link.index) || link.parent == Some(0) {
        link.parent = None;
    }
    Ok(link)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::encode_for_test;

    #[test]
    fn create_message_layout() {
        let req = create(NewLink {
            name: "mv0",
            kind: "macvlan",
            index: 42,
            parent: Some(2),
            mtu: Some(1400),
            mac: Some(MacAddr([2, 0, 0, 0, 0, 1])),
            up: true,
            info_data: None,
            netns_fd: None,
        })
        .unwrap();
        assert_eq!(req.flags, NlmF::ACK | NlmF::CREATE | NlmF::EXCL);
        let bytes = encode_for_test(&req);
        // struct ifinfomsg: family 0, pad, type 0, index 42, flags IFF_UP, change IFF_UP.
        assert_eq!(
            &bytes[..16],
            &[0, 0, 0, 0, 42, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]
        );
        // IFLA_IFNAME "mv0\0".
        assert_eq!(&bytes[16..24], &[8, 0, 3, 0, b'm', b'v', b'0', 0]);
        // IFLA_LINK 2, IFLA_MTU 1400.
        assert_eq!(&bytes[24..32], &[8, 0, 5, 0, 2, 0, 0, 0]);
        assert_eq!(&bytes[32..40], &[8, 0, 4, 0, 0x78, 0x05, 0, 0]);
        // IFLA_ADDRESS, 6 bytes padded to 8.
        assert_eq!(&bytes[40..52], &[10, 0, 1, 0, 2, 0, 0, 0, 0, 1, 0, 0]);
        // IFLA_LINKINFO { IFLA_INFO_KIND "macvlan\0" }.
        assert_eq!(&bytes[52..56], &[16, 0, 18, 0]);
        assert_eq!(
            &bytes[56..68],
            &[12, 0, 1, 0, b'm', b'a', b'c', b'v', b'l', b'a', b'n', 0]
        );
        // And it decodes back.
        let live = decode(&bytes).unwrap();
        assert_eq!(live.name, "mv0");
        assert_eq!(live.kind.as_deref(), Some("macvlan"));
        assert_eq!(live.parent, Some(2));
        assert_eq!(live.mtu, 1400);
        assert!(live.up);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for len in 0..40 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let _ = decode(&bytes);
        }
        assert!(decode(&[0; 16]).is_err());
    }
}
