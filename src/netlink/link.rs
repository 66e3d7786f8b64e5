//! Link messages: `RTM_NEWLINK` to create or change, `RTM_DELLINK` to delete, and the decoding of
//! dumped or announced links.

use neli::{
    consts::{
        nl::NlmF,
        rtnl::{Arphrd, Ifla, IflaInfo, RtAddrFamily, Rtm},
    },
    rtnl::{Ifinfomsg, IfinfomsgBuilder},
};

use super::attr::{self, AttrWriter};
use super::{Body, NetlinkError, Request};
use crate::mac::MacAddr;

/// A link as the kernel reports it, borrowed from the message it came in (nothing is copied or
/// allocated while decoding). `live` turns it into a `LiveLink`, decoding the kind's data once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkMessage<'a> {
    pub index: i32,
    /// The interface name as the kernel's bytes (any byte but `/`, `:`, white space and NUL).
    pub name: &'a [u8],
    /// `IFLA_INFO_KIND`; `None` for physical NICs and kinds that report none.
    pub kind: Option<&'a str>,
    /// `IFLA_INFO_DATA`, for the kind to decode.
    pub info_data: &'a [u8],
    /// The lower device (`IFLA_LINK`), in this namespace unless `link_netnsid` is set.
    pub link: Option<i32>,
    /// `IFLA_LINK_NETNSID`: the namespace (by the id this namespace gives it) that `link` and a
    /// kind's own lower device live in.
    pub link_netnsid: Option<i32>,
    /// `IFLA_MASTER`: the bridge or bond this link is a port of.
    pub master: Option<i32>,
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
    pub name: &'a [u8],
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
    pub info: Option<(&'static str, Vec<u8>)>,
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
    attrs.cstr(Ifla::Ifname, link.name)?;
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
        attrs.nested(Ifla::Linkinfo, link_info(kind, Some(data))?)?;
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
    dump_request_in(None)
}

/// A dump of the links of another namespace, named by the id the socket's namespace gives it
/// (`IFLA_TARGET_NETNSID`, Linux 4.20): no need to enter it. The links' own namespace ids then
/// say where their lower devices are as the socket's namespace sees it.
pub fn dump_request_in(target_nsid: Option<i32>) -> Result<Request, NetlinkError> {
    let mut attrs = AttrWriter::<Ifla>::default();
    attrs.u32(Ifla::ExtMask, RTEXT_FILTER_SKIP_STATS)?;
    if let Some(id) = target_nsid {
        attrs.u32(Ifla::IfNetnsid, id as u32)?;
    }
    Ok(Request {
        kind: Rtm::Getlink,
        flags: NlmF::DUMP,
        body: Body::Link(header(0, None, attrs)?),
    })
}

/// `sizeof(struct ifinfomsg)`
const IFINFOMSG_LEN: usize = 16;

/// Decode an `RTM_NEWLINK` payload in place. Malformed input is an error, never a panic.
pub fn decode(payload: &[u8]) -> Result<LinkMessage<'_>, NetlinkError> {
    let header = payload
        .get(..IFINFOMSG_LEN)
        .ok_or_else(|| NetlinkError::Decode("a link message shorter than its header".into()))?;
    let index = i32::from_ne_bytes([header[4], header[5], header[6], header[7]]);
    let flags = u32::from_ne_bytes([header[8], header[9], header[10], header[11]]);
    let mut link = LinkMessage {
        index,
        name: &[],
        kind: None,
        info_data: &[],
        link: None,
        link_netnsid: None,
        master: None,
        mtu: 0,
        mac: None,
        permanent_mac: None,
        up: flags & libc::IFF_UP as u32 != 0,
        group: 0,
    };
    for a in attr::attrs(&payload[IFINFOMSG_LEN..]) {
        let a = a?;
        let p = a.payload;
        match a.kind_as() {
            Ifla::Ifname => link.name = attr::read_cstr(p),
            Ifla::Mtu => link.mtu = attr::read_u32(p)?,
            Ifla::Group => link.group = attr::read_u32(p)?,
            Ifla::Address => link.mac = MacAddr::from_slice(p),
            Ifla::PermAddress => {
                link.permanent_mac = MacAddr::from_slice(p).filter(|m| !m.is_zero())
            }
            Ifla::Link => link.link = Some(attr::read_i32(p)?),
            Ifla::LinkNetnsid => link.link_netnsid = Some(attr::read_i32(p)?),
            Ifla::Master => link.master = Some(attr::read_i32(p)?).filter(|m| *m != 0),
            Ifla::Linkinfo => {
                for info in attr::attrs(p) {
                    let info = info?;
                    match info.kind_as() {
                        IflaInfo::Kind => link.kind = Some(attr::read_string(info.payload)?),
                        IflaInfo::Data => link.info_data = info.payload,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    if link.name.is_empty() {
        return Err(NetlinkError::Decode(format!("link {index} has no name")));
    }
    // A physical NIC may name itself or 0 as its lower device.
    if link.link_netnsid.is_none() && (link.link == Some(index) || link.link == Some(0)) {
        link.link = None;
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
            name: b"mv0",
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
        assert_eq!(live.name, b"mv0");
        assert_eq!(live.kind, Some("macvlan"));
        assert_eq!(live.link, Some(2));
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
