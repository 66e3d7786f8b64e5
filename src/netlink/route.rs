//! Route messages: `RTM_NEWROUTE`/`RTM_DELROUTE`, and decoding dumped routes.

use std::net::IpAddr;

use ipnet::IpNet;
use neli::{
    consts::{
        nl::NlmF,
        rtnl::{RtAddrFamily, RtScope, RtTable, Rta, Rtm, Rtn, Rtprot},
    },
    rtnl::{Rtmsg, RtmsgBuilder},
};

use super::addr::{ip_bytes, ip_from};
use super::attr::{self, AttrWriter};
use super::{Body, NetlinkError, Request};

pub const RT_TABLE_MAIN: u32 = 254;
/// The protocol underlay's routes carry (`ip route show proto 85`), so it knows its own and
/// never touches one someone else added. Unassigned in iproute2's `rt_protos` and the kernel's
/// `RTPROT_*`. The same number tags its addresses (`IFA_PROTO`).
pub const RTPROT_UNDERLAY: u8 = 85;
pub const RTN_UNICAST: u8 = 1;

/// A route, as configured or as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub dst: IpNet,
    pub via: Option<IpAddr>,
    /// The kernel's value: IPv6 routes without one get 1024.
    pub metric: u32,
    pub table: u32,
    pub src: Option<IpAddr>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveRoute {
    pub route: Route,
    pub oif: Option<u32>,
    pub protocol: u8,
    pub kind: u8,
}

impl LiveRoute {
    /// A unicast route through `oif`, outside the kernel's local table.
    pub fn is_unicast_on(&self, oif: u32) -> bool {
        self.oif == Some(oif) && self.kind == RTN_UNICAST && self.route.table != 255
    }
}

fn family(net: &IpNet) -> RtAddrFamily {
    match net {
        IpNet::V4(_) => RtAddrFamily::Inet,
        IpNet::V6(_) => RtAddrFamily::Inet6,
    }
}

/// The message for `route` on `oif`. A deletion leaves protocol, scope and type as wildcards
/// (as `ip route del` does), so it matches the route whoever added it.
fn message(oif: u32, route: &Route, deleting: bool) -> Result<Rtmsg, NetlinkError> {
    let mut attrs = AttrWriter::<Rta>::default();
    if route.dst.prefix_len() > 0 {
        attrs.bytes(Rta::Dst, &ip_bytes(&route.dst.network()))?;
    }
    attrs.u32(Rta::Oif, oif)?;
    if let Some(via) = &route.via {
        attrs.bytes(Rta::Gateway, &ip_bytes(via))?;
    }
    if let Some(src) = &route.src {
        attrs.bytes(Rta::Prefsrc, &ip_bytes(src))?;
    }
    attrs.u32(Rta::Priority, route.metric)?;
    attrs.u32(Rta::Table, route.table)?;
    let (protocol, scope, kind) = match (deleting, route.via.is_some()) {
        (true, _) => (0, RtScope::Nowhere, 0),
        (false, true) => (RTPROT_UNDERLAY, RtScope::Universe, RTN_UNICAST),
        (false, false) => (RTPROT_UNDERLAY, RtScope::Link, RTN_UNICAST),
    };
    let table_byte = u8::try_from(route.table).unwrap_or(0);
    RtmsgBuilder::default()
        .rtm_family(family(&route.dst))
        .rtm_dst_len(route.dst.prefix_len())
        .rtm_src_len(0)
        .rtm_tos(0)
        .rtm_table(RtTable::from(table_byte))
        .rtm_protocol(Rtprot::from(protocol))
        .rtm_scope(scope)
        .rtm_type(Rtn::from(kind))
        .rtattrs(attrs.into_buffer())
        .build()
        .map_err(|e| NetlinkError::Encode(e.to_string()))
}

/// Add a route. Never replaces one that exists: a route with the same destination, table and
/// metric that is not underlay's must be left alone, so that is an error (`File exists`).
pub fn add(oif: u32, route: &Route) -> Result<Request, NetlinkError> {
    Ok(Request {
        kind: Rtm::Newroute,
        flags: NlmF::ACK | NlmF::CREATE | NlmF::EXCL,
        body: Body::Route(message(oif, route, false)?),
    })
}

pub fn delete(oif: u32, route: &Route) -> Result<Request, NetlinkError> {
    Ok(Request {
        kind: Rtm::Delroute,
        flags: NlmF::ACK,
        body: Body::Route(message(oif, route, true)?),
    })
}

pub fn dump_request() -> Result<Request, NetlinkError> {
    let msg = RtmsgBuilder::default()
        .rtm_family(RtAddrFamily::Unspecified)
        .rtm_dst_len(0)
        .rtm_src_len(0)
        .rtm_tos(0)
        .rtm_table(RtTable::from(0))
        .rtm_protocol(Rtprot::from(0))
        .rtm_scope(RtScope::Universe)
        .rtm_type(Rtn::from(0))
        .build()
        .map_err(|e| NetlinkError::Encode(e.to_string()))?;
    Ok(Request {
        kind: Rtm::Getroute,
        flags: NlmF::DUMP,
        body: Body::Route(msg),
    })
}

/// `sizeof(struct rtmsg)`
const RTMSG_LEN: usize = 12;

/// Decode an `RTM_NEWROUTE` payload in place. `None` for families other than IPv4 and IPv6.
pub fn decode(payload: &[u8]) -> Result<Option<LiveRoute>, NetlinkError> {
    let h = payload
        .get(..RTMSG_LEN)
        .ok_or_else(|| NetlinkError::Decode("a route message shorter than its header".into()))?;
    let (family, dst_len, table, protocol, kind) = (h[0], h[1], h[4], h[5], h[7]);
    let unspecified: IpAddr = match i32::from(family) {
        libc::AF_INET => IpAddr::from([0u8; 4]),
        libc::AF_INET6 => IpAddr::from([0u8; 16]),
        _ => return Ok(None),
    };
    let mut dst = unspecified;
    let mut route = Route {
        dst: IpNet::new(unspecified, 0).map_err(|_| NetlinkError::Decode("bad family".into()))?,
        via: None,
        metric: 0,
        table: u32::from(table),
        src: None,
    };
    let mut oif = None;
    for a in attr::attrs(&payload[RTMSG_LEN..]) {
        let a = a?;
        let p = a.payload;
        match a.kind_as() {
            Rta::Dst => dst = ip_from(p).unwrap_or(unspecified),
            Rta::Gateway => route.via = ip_from(p),
            Rta::Prefsrc => route.src = ip_from(p),
            Rta::Priority => route.metric = attr::read_u32(p)?,
            Rta::Table => route.table = attr::read_u32(p)?,
            Rta::Oif => oif = Some(attr::read_u32(p)?),
            _ => {}
        }
    }
    route.dst = IpNet::new(dst, dst_len)
        .map_err(|_| NetlinkError::Decode(format!("prefix length {dst_len} too long")))?;
    Ok(Some(LiveRoute {
        route,
        oif,
        protocol,
        kind,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::encode_for_test;

    #[test]
    fn add_round_trips() {
        let route = Route {
            dst: "192.168.0.192/27".parse().unwrap(),
            via: Some("192.168.0.1".parse().unwrap()),
            metric: 100,
            table: 1000,
            src: Some("192.168.0.254".parse().unwrap()),
        };
        let bytes = encode_for_test(&add(9, &route).unwrap());
        // struct rtmsg: AF_INET, /27, src 0, tos 0, table 0 (RTA_TABLE has 1000), protocol 85,
        // universe, unicast.
        assert_eq!(&bytes[..8], &[2, 27, 0, 0, 0, 85, 0, 1]);
        let back = decode(&bytes).unwrap().unwrap();
        assert_eq!(back.route, route);
        assert_eq!(
            (back.oif, back.protocol, back.kind),
            (Some(9), RTPROT_UNDERLAY, RTN_UNICAST)
        );
    }

    #[test]
    fn default_route_has_no_destination_attribute() {
        let route = Route {
            dst: "::/0".parse().unwrap(),
            via: Some("2001:db8::1".parse().unwrap()),
            metric: 1024,
            table: RT_TABLE_MAIN,
            src: None,
        };
        let back = decode(&encode_for_test(&add(2, &route).unwrap()))
            .unwrap()
            .unwrap();
        assert_eq!(back.route, route);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for len in 0..40 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 29 + 3) as u8).collect();
            let _ = decode(&bytes);
        }
    }
}
