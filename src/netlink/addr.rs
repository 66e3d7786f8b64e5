//! Address messages: `RTM_NEWADDR`/`RTM_DELADDR`, and decoding dumped addresses.

use std::io::Cursor;
use std::net::IpAddr;

use ipnet::IpNet;
use neli::{
    FromBytesWithInput,
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveAddress {
    pub index: u32,
    /// The address with its prefix length, e.g. 192.168.0.10/24.
    pub net: IpNet,
    pub flags: u32,
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

fn message(index: u32, net: &IpNet, flags: u32) -> Result<Ifaddrmsg, NetlinkError> {
    let addr = net.addr();
    let mut attrs = AttrWriter::<Ifa>::default();
    // IPv4 wants the local address in IFA_LOCAL (and the peer, here the same, in IFA_ADDRESS).
    if addr.is_ipv4() {
        attrs.bytes(Ifa::Local, &ip_bytes(&addr))?;
    }
    attrs.bytes(Ifa::Address, &ip_bytes(&addr))?;
    if flags != 0 {
        attrs.u32(Ifa::Flags, flags)?;
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

pub fn add(index: u32, net: &IpNet, nodad: bool) -> Result<Request, NetlinkError> {
    let flags = if nodad { IFA_F_NODAD } else { 0 };
    Ok(Request {
        kind: Rtm::Newaddr,
        flags: NlmF::ACK | NlmF::CREATE | NlmF::EXCL,
        body: Body::Addr(message(index, net, flags)?),
    })
}

pub fn delete(index: u32, net: &IpNet) -> Result<Request, NetlinkError> {
    Ok(Request {
        kind: Rtm::Deladdr,
        flags: NlmF::ACK,
        body: Body::Addr(message(index, net, 0)?),
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

/// Decode an `RTM_NEWADDR` payload. `None` for families other than IPv4 and IPv6.
pub fn decode(payload: &[u8]) -> Result<Option<LiveAddress>, NetlinkError> {
    let msg = Ifaddrmsg::from_bytes_with_input(&mut Cursor::new(payload), payload.len())
        .map_err(|e| NetlinkError::Decode(format!("address message: {e}")))?;
    let (mut local, mut address, mut flags) = (None, None, u32::from(msg.ifa_flags().bits()));
    for a in msg.rtattrs().iter() {
        let p = attr::payload(a);
        match a.rta_type() {
            Ifa::Local => local = ip_from(p),
            Ifa::Address => address = ip_from(p),
            Ifa::Flags => flags = attr::read_u32(p)?,
            _ => {}
        }
    }
    let Some(ip) = local.or(address) else {
        return Ok(None);
    };
    let net = IpNet::new(ip, *msg.ifa_prefixlen()).map_err(|_| {
        NetlinkError::Decode(format!(
            "prefix length {} too long for {ip}",
            msg.ifa_prefixlen()
        ))
    })?;
    Ok(Some(LiveAddress {
        index: *msg.ifa_index(),
        net,
        flags,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::encode_for_test;

    #[test]
    fn add_round_trips() {
        let net: IpNet = "2001:db8::2/64".parse().unwrap();
        let bytes = encode_for_test(&add(7, &net, true).unwrap());
        // struct ifaddrmsg: AF_INET6, /64, IFA_F_NODAD, scope 0, index 7.
        assert_eq!(&bytes[..8], &[10, 64, 2, 0, 7, 0, 0, 0]);
        let back = decode(&bytes).unwrap().unwrap();
        assert_eq!((back.index, back.net, back.flags), (7, net, IFA_F_NODAD));
        let v4: IpNet = "192.168.0.254/32".parse().unwrap();
        let back = decode(&encode_for_test(&add(3, &v4, false).unwrap()))
            .unwrap()
            .unwrap();
        assert_eq!(back.net, v4);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for len in 0..32 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 53 + 7) as u8).collect();
            let _ = decode(&bytes);
        }
    }
}
