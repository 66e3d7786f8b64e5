//! Address messages: `RTM_NEWADDR`/`RTM_DELADDR`, and decoding dumped addresses.

use std::net::IpAddr;

use ipnet::IpNet;
use neli::{
    consts::{
        nl::NlmF,
        rtnl::{Ifa, IfaF, RtAddrFamily, RtScope, Rtm},
    },
    rtnl::{Ifaddrmsg, IfaddrmsgBuilder},
};

use super::attr::{self, AttrWriter};
use super::{Body, NetlinkError, Request};

/// `IFA_F_NODAD`: skip duplicate address detection (IPv6), for boot speed.
pub const IFA_F_NODAD: u32 = 0x02;
/// `IFA_F_PERMANENT`: configured, not learned (SLAAC addresses lack it).
pub const IFA_F_PERMANENT: u32 = 0x80;

/// `IFA_PROTO` (Linux 5.18): who added the address. neli's `Ifa` predates it.
pub const IFA_PROTO: u16 = 11;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveAddress {
    pub index: u32,
    /// The address with its prefix length, e.g. 192.168.0.10/24.
    pub net: IpNet,
    pub flags: u32,
    /// `IFA_PROTO`, 0 when the kernel or the adder gave none.
    pub protocol: u8,
    /// `IFA_BROADCAST` (IPv4).
    pub broadcast: Option<IpAddr>,
}

fn family(ip: &IpAddr) -> RtAddrFamily {
    match ip {
        IpAddr::V4(_) => RtAddrFamily::Inet,
        IpAddr::V6(_) => RtAddrFamily::Inet6,
    }
}

pub fn ip_bytes(ip: &IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

pub fn ip_from(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}

/// What an address is added with besides itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct AddressOptions {
    /// IPv6: skip duplicate address detection.
    pub nodad: bool,
    /// IPv4: the subnet's broadcast address (`IFA_BROADCAST`), as `ip addr add ... brd +`,
    /// networkd, ifupdown and ifconfig set it.
    pub broadcast: Option<IpAddr>,
    /// `IFA_PROTO`: who added it (Linux 5.18; older kernels ignore it).
    pub protocol: Option<u8>,
}

fn message(index: u32, net: &IpNet, options: AddressOptions) -> Result<Ifaddrmsg, NetlinkError> {
    let addr = net.addr();
    let flags = if options.nodad { IFA_F_NODAD } else { 0 };
    let mut attrs = AttrWriter::<Ifa>::default();
    // IPv4 wants the local address in IFA_LOCAL (and the peer, here the same, in IFA_ADDRESS).
    if addr.is_ipv4() {
        attrs.bytes(Ifa::Local, &ip_bytes(&addr))?;
    }
    attrs.bytes(Ifa::Address, &ip_bytes(&addr))?;
    if let Some(brd) = options.broadcast {
        attrs.bytes(Ifa::Broadcast, &ip_bytes(&brd))?;
    }
    if flags != 0 {
        attrs.u32(Ifa::Flags, flags)?;
    }
    if let Some(protocol) = options.protocol {
        attrs.bytes(Ifa::UnrecognizedConst(IFA_PROTO), &[protocol])?;
    }
    IfaddrmsgBuilder::default()
        .ifa_family(family(&addr))
        .ifa_prefixlen(net.prefix_len())
        .ifa_flags(IfaF::from_bits_truncate(flags as u8))
        .ifa_scope(RtScope::Universe)
        .ifa_index(index)
        .rtattrs(attrs.into_buffer())
        .build()
        .map_err(|e| NetlinkError::Encode(e.to_string()))
}

pub fn add(index: u32, net: &IpNet, options: AddressOptions) -> Result<Request, NetlinkError> {
    Ok(Request {
        kind: Rtm::Newaddr,
        flags: NlmF::ACK | NlmF::CREATE | NlmF::EXCL,
        body: Body::Addr(message(index, net, options)?),
    })
}

pub fn delete(index: u32, net: &IpNet) -> Result<Request, NetlinkError> {
    Ok(Request {
        kind: Rtm::Deladdr,
        flags: NlmF::ACK,
        body: Body::Addr(message(index, net, AddressOptions::default())?),
    })
}

pub fn dump_request() -> Result<Request, NetlinkError> {
    let msg = IfaddrmsgBuilder::default()
        .ifa_family(RtAddrFamily::Unspecified)
        .ifa_prefixlen(0)
        .ifa_scope(RtScope::Universe)
        .ifa_index(0)
        .build()
        .map_err(|e| NetlinkError::Encode(e.to_string()))?;
    Ok(Request {
        kind: Rtm::Getaddr,
        flags: NlmF::DUMP,
        body: Body::Addr(msg),
    })
}

/// `sizeof(struct ifaddrmsg)`
const IFADDRMSG_LEN: usize = 8;

/// Decode an `RTM_NEWADDR` payload in place. `None` for families other than IPv4 and IPv6.
pub fn decode(payload: &[u8]) -> Result<Option<LiveAddress>, NetlinkError> {
    let h = payload
        .get(..IFADDRMSG_LEN)
        .ok_or_else(|| NetlinkError::Decode("an address message shorter than its header".into()))?;
    let (family, prefix_len) = (h[0], h[1]);
    let index = u32::from_ne_bytes([h[4], h[5], h[6], h[7]]);
    if family != libc::AF_INET as u8 && family != libc::AF_INET6 as u8 {
        return Ok(None);
    }
    let (mut local, mut address, mut flags) = (None, None, u32::from(h[2]));
    let mut protocol = 0;
    let mut broadcast = None;
    for a in attr::attrs(&payload[IFADDRMSG_LEN..]) {
        let a = a?;
        match a.kind_as() {
            Ifa::Local => local = ip_from(a.payload),
            Ifa::Address => address = ip_from(a.payload),
            Ifa::Broadcast => broadcast = ip_from(a.payload),
            Ifa::Flags => flags = attr::read_u32(a.payload)?,
            Ifa::UnrecognizedConst(IFA_PROTO) => protocol = attr::read_u8(a.payload)?,
            _ => {}
        }
    }
    let Some(ip) = local.or(address) else {
        return Ok(None);
    };
    let net = IpNet::new(ip, prefix_len).map_err(|_| {
        NetlinkError::Decode(format!("prefix length {prefix_len} too long for {ip}"))
    })?;
    Ok(Some(LiveAddress {
        index,
        net,
        flags,
        protocol,
        broadcast,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::encode_for_test;

    #[test]
    fn add_round_trips() {
        let net: IpNet = "2001:db8::2/64".parse().unwrap();
        let options = AddressOptions {
            nodad: true,
            broadcast: None,
            protocol: Some(85),
        };
        let bytes = encode_for_test(&add(7, &net, options).unwrap());
        // struct ifaddrmsg: AF_INET6, /64, IFA_F_NODAD, scope 0, index 7.
        assert_eq!(&bytes[..8], &[10, 64, 2, 0, 7, 0, 0, 0]);
        let back = decode(&bytes).unwrap().unwrap();
        assert_eq!(
            (back.index, back.net, back.flags, back.protocol),
            (7, net, IFA_F_NODAD, 85)
        );
        let v4: IpNet = "192.168.0.10/24".parse().unwrap();
        let brd = Some("192.168.0.255".parse().unwrap());
        let options = AddressOptions {
            broadcast: brd,
            ..AddressOptions::default()
        };
        let back = decode(&encode_for_test(&add(3, &v4, options).unwrap()))
            .unwrap()
            .unwrap();
        assert_eq!((back.net, back.broadcast), (v4, brd));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for len in 0..32 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 53 + 7) as u8).collect();
            let _ = decode(&bytes);
        }
    }
}
