//! The layer-3 keys every kind takes: `address`, `gateway`, `route` and `netns`. Their checks
//! that need the whole config (duplicate addresses, reachable gateways) run in `check_all`.

use std::net::IpAddr;

use ipnet::IpNet;

use super::LinkDecl;
use crate::netlink::route::{RT_TABLE_MAIN, Route};
use crate::syntax::error::{ConfigError, Problems};
use crate::syntax::section::SectionReader;
use crate::syntax::{Parsed, values};

pub const KEYS: [&str; 4] = ["address", "gateway", "route", "netns"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressDecl {
    pub net: IpNet,
    /// IPv6: skip duplicate address detection.
    pub nodad: bool,
    /// IPv4: no broadcast address (`nobroadcast`); by default a subnet of /30 or wider gets one.
    pub nobroadcast: bool,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteDecl {
    pub route: Route,
    /// The key it came from: `route`, or `gateway` for a default route.
    pub key: &'static str,
    /// Whether `metric` was given; otherwise the kernel's default applies (0, or 1024 for IPv6).
    pub line: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct L3 {
    pub addresses: Vec<AddressDecl>,
    /// Default routes: `gateway` keys become routes to 0.0.0.0/0 or ::/0.
    pub routes: Vec<RouteDecl>,
    pub netns: Option<String>,
}

impl L3 {
    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty() && self.routes.is_empty()
    }
}

impl AddressDecl {
    /// The broadcast address it gets: its subnet's, for IPv4 subnets of /30 and wider (a /31
    /// and a /32 have none, RFC 3021), unless `nobroadcast`.
    pub fn broadcast(&self) -> Option<IpAddr> {
        match self.net {
            IpNet::V4(v4) if v4.prefix_len() < 31 && !self.nobroadcast => {
                Some(IpAddr::V4(v4.broadcast()))
            }
            _ => None,
        }
    }
}

/// The kernel's metric for a route given none: 0 for IPv4, 1024 for IPv6.
pub fn default_metric(dst: &IpNet) -> u32 {
    if dst.addr().is_ipv6() { 1024 } else { 0 }
}

fn parse_address(text: &str) -> Parsed<AddressDecl> {
    let mut words = text.split_whitespace();
    let cidr = words.next().unwrap_or("");
    let mut nodad = false;
    let mut nobroadcast = false;
    for word in words {
        match word {
            "nodad" => nodad = true,
            "nobroadcast" => nobroadcast = true,
            _ => {
                return Err(format!(
                    "`{word}` is not an address option; they are `nodad` (IPv6) and `nobroadcast` (IPv4)"
                )
                .into());
            }
        }
    }
    let net = parse_cidr(cidr)?;
    let ip = net.addr();
    if ip.is_unspecified() || ip.is_multicast() || ip.is_loopback() {
        return Err(format!("{ip} cannot be an interface address; give a unicast address").into());
    }
    if let IpNet::V4(v4) = net
        && v4.prefix_len() < 31
    {
        if v4.addr() == v4.network() {
            return Err(format!(
                "{cidr} is the network address of its subnet; give a host address such as {}/{}",
                v4.hosts().next().map_or(v4.addr(), |h| h),
                v4.prefix_len()
            )
            .into());
        }
        if v4.addr() == v4.broadcast() {
            return Err(format!(
                "{cidr} is the broadcast address of its subnet; give a host address"
            )
            .into());
        }
    }
    if nodad && ip.is_ipv4() {
        return Err(
            "`nodad` applies to IPv6 addresses only (IPv4 does no duplicate address detection)"
                .into(),
        );
    }
    if nobroadcast && ip.is_ipv6() {
        return Err("`nobroadcast` applies to IPv4 addresses only (IPv6 has no broadcast)".into());
    }
    Ok(AddressDecl {
        net,
        nodad,
        nobroadcast,
        line: 0,
    })
}

fn parse_cidr(text: &str) -> Parsed<IpNet> {
    if text.is_empty() {
        return Err("an address is missing; write e.g. 192.168.0.10/24 or 2001:db8::10/64".into());
    }
    text.parse::<IpNet>().map_err(|_| {
        match text.parse::<IpAddr>() {
        Ok(ip) => format!(
            "`{text}` has no prefix length; write e.g. {ip}/{} (or /{} for this address alone)",
            if ip.is_ipv4() { 24 } else { 64 },
            if ip.is_ipv4() { 32 } else { 128 }
        ),
        Err(_) => match text
            .split_once('/')
            .map(|(ip, len)| (ip.parse::<IpAddr>(), len.parse::<u8>()))
        {
            Some((Ok(ip), Ok(len))) => format!(
                "`{text}`: /{len} is too long for {} (at most /{})",
                if ip.is_ipv4() { "IPv4" } else { "IPv6" },
                if ip.is_ipv4() { 32 } else { 128 }
            ),
            _ => format!(
                "`{text}` is not an address with a prefix length, such as 192.168.0.10/24 or 2001:db8::10/64"
            ),
        },
        }
        .into()
    })
}

fn parse_ip(text: &str) -> Parsed<IpAddr> {
    text.parse::<IpAddr>()
        .map_err(|_| format!("`{text}` is not an IPv4 or IPv6 address").into())
}

/// `DEST [via GW] [metric N] [table N] [src ADDR]`
fn parse_route(text: &str) -> Parsed<Route> {
    let mut words = text.split_whitespace();
    let dest = words
        .next()
        .ok_or("a destination is missing; write e.g. `192.168.0.192/27 via 192.168.0.1`")?;
    let (mut via, mut metric, mut table, mut src) = (None, None, None, None);
    let mut seen: Vec<&str> = Vec::new();
    while let Some(word) = words.next() {
        if seen.contains(&word) {
            return Err(format!("`{word}` is given twice; give each route option once").into());
        }
        seen.push(word);
        let mut value = |what: &str| {
            words
                .next()
                .ok_or_else(|| format!("`{word}` needs a value, e.g. `{word} {what}`"))
        };
        match word {
            "via" => via = Some(parse_ip(value("192.168.0.1")?)?),
            "metric" => {
                let m = value("100")?;
                let n = values::number(m, 0, u32::MAX as u64)
                    .map_err(|e| format!("`metric {m}`: {e}"))?;
                metric = Some(n as u32);
            }
            "table" => {
                let t = value("100")?;
                table = Some(match t {
                    "main" => RT_TABLE_MAIN,
                    _ => values::number(t, 1, u32::MAX as u64)
                        .map_err(|e| format!("`table {t}`: {e}"))? as u32,
                });
                if table == Some(255) {
                    return Err("table 255 is the kernel's local table; pick another".into());
                }
            }
            "src" => src = Some(parse_ip(value("192.168.0.10")?)?),
            _ => {
                return Err(format!(
                    "`{word}` is not a route option; write DEST [via GW] [metric N] [table N] [src ADDR]"
                ).into());
            }
        }
    }
    let dst = match dest {
        "default" => match via {
            Some(IpAddr::V4(_)) => "0.0.0.0/0".parse().map_err(|_| String::new())?,
            Some(IpAddr::V6(_)) => "::/0".parse().map_err(|_| String::new())?,
            None => {
                return Err(
                    "`default` needs `via GW` to say its family; or write 0.0.0.0/0 or ::/0".into(),
                );
            }
        },
        _ => {
            let net = parse_cidr(dest)?;
            if net != net.trunc() {
                return Err(format!(
                    "{dest} has host bits set; write the network, {}",
                    net.trunc()
                )
                .into());
            }
            net
        }
    };
    for (what, ip) in [("via", via), ("src", src)] {
        if let Some(ip) = ip
            && ip.is_ipv4() != dst.addr().is_ipv4()
        {
            return Err(format!("{what} {ip} is not of the same family as {dst}").into());
        }
    }
    Ok(Route {
        dst,
        via,
        metric: metric.unwrap_or_else(|| default_metric(&dst)),
        table: table.unwrap_or(RT_TABLE_MAIN),
        src,
    })
}

fn parse_netns(text: &str) -> Parsed<String> {
    if text.is_empty()
        || text == "."
        || text == ".."
        || text.contains('/')
        || text.chars().any(char::is_whitespace)
    {
        return Err(format!(
            "`{text}` cannot name a network namespace (a file in /var/run/netns): no `/`, no white space, not `.` or `..`"
        ).into());
    }
    if text.len() > 255 {
        return Err("a namespace name may be at most 255 bytes".into());
    }
    Ok(text.to_string())
}

/// Read one section's layer-3 keys.
pub fn read(r: &mut SectionReader) -> L3 {
    let mut l3 = L3 {
        netns: r.value("netns", parse_netns),
        ..L3::default()
    };
    for (mut address, line) in r.values("address", parse_address) {
        address.line = line;
        if let Some(first) = l3
            .addresses
            .iter()
            .find(|a| a.net.addr() == address.net.addr())
        {
            let first = first.line;
            r.error(
                line,
                Some("address"),
                format!(
                    "{} is given twice (first on line {first})",
                    address.net.addr()
                ),
            );
            continue;
        }
        l3.addresses.push(address);
    }
    let mut gateways: Vec<(IpAddr, usize)> = Vec::new();
    for (gw, line) in r.values("gateway", parse_ip) {
        if let Some((other, first)) = gateways.iter().find(|(g, _)| g.is_ipv4() == gw.is_ipv4()) {
            r.error(
                line,
                Some("gateway"),
                format!(
                    "a second {} gateway ({other} is on line {first}); a link has at most one per address family",
                    if gw.is_ipv4() { "IPv4" } else { "IPv6" }
                ),
            );
            continue;
        }
        gateways.push((gw, line));
    }
    for (route, line) in r.values("route", parse_route) {
        l3.routes.push(RouteDecl {
            route,
            key: "route",
            line,
        });
    }
    for (gw, line) in gateways {
        let dst: IpNet = if gw.is_ipv4() {
            IpNet::new(IpAddr::from([0u8; 4]), 0)
        } else {
            IpNet::new(IpAddr::from([0u8; 16]), 0)
        }
        .unwrap_or_default();
        l3.routes.push(RouteDecl {
            key: "gateway",
            route: Route {
                dst,
                via: Some(gw),
                metric: default_metric(&dst),
                table: RT_TABLE_MAIN,
                src: None,
            },
            line,
        });
    }
    l3
}

/// Whether `ip` can be reached directly on a link with these addresses and on-link routes.
fn on_link(ip: &IpAddr, l3: &L3) -> bool {
    if let IpAddr::V6(v6) = ip
        && v6.segments()[0] & 0xffc0 == 0xfe80
    {
        return l3.addresses.iter().any(|a| a.net.addr().is_ipv6());
    }
    l3.addresses.iter().any(|a| a.net.contains(ip))
        || l3
            .routes
            .iter()
            .any(|r| r.route.via.is_none() && r.route.dst.contains(ip))
}

/// Why `gw` cannot be a next hop on a link with these addresses, if it cannot.
fn not_a_gateway(gw: &IpAddr, l3: &L3) -> Option<String> {
    if gw.is_unspecified() || gw.is_multicast() || gw.is_loopback() {
        return Some(format!(
            "{gw} cannot be a gateway; give the router's unicast address"
        ));
    }
    if l3.addresses.iter().any(|a| a.net.addr() == *gw) {
        return Some(format!(
            "{gw} is this link's own address; give the router's address"
        ));
    }
    for a in &l3.addresses {
        if let IpNet::V4(v4) = a.net
            && v4.prefix_len() < 31
            && let IpAddr::V4(g) = gw
            && (*g == v4.network() || *g == v4.broadcast())
        {
            let what = if *g == v4.network() {
                "network"
            } else {
                "broadcast"
            };
            return Some(format!(
                "{gw} is the {what} address of {}; give the router's address",
                v4.trunc()
            ));
        }
    }
    None
}

/// Checks across the whole config: every address used once, every gateway reachable, links in
/// namespaces only on parents in the host.
pub fn check_all(links: &[LinkDecl], problems: &mut Problems) {
    let by_name: std::collections::HashMap<&str, &LinkDecl> =
        links.iter().map(|l| (l.name.as_str(), l)).collect();
    let mut seen: std::collections::HashMap<IpAddr, (&str, usize, usize)> =
        std::collections::HashMap::new();
    // (netns, destination, table, metric) -> (link, line)
    type RouteKey = (Option<String>, IpNet, u32, u32);
    let mut routes: std::collections::HashMap<RouteKey, (String, usize, usize)> =
        std::collections::HashMap::new();
    for link in links {
        problems.in_file(link.file);
        let label = format!("[{} {}]", link.kind.name, link.name);
        for a in &link.l3.addresses {
            let ip = a.net.addr();
            if let Some((other, file, line)) = seen.get(&ip) {
                let first = problems.place(*file, *line);
                problems.push(ConfigError::in_section(
                    a.line,
                    &label,
                    Some("address"),
                    format!("{ip} is already the address of {other} ({first}); each address may be used once"),
                ));
            } else {
                seen.insert(ip, (&link.name, link.file, a.line));
            }
        }
        for r in &link.l3.routes {
            let Some(gw) = r.route.via else { continue };
            let key = r.key;
            if let Some(why) = not_a_gateway(&gw, &link.l3) {
                problems.push(ConfigError::in_section(r.line, &label, Some(key), why));
                continue;
            }
            let same_family = link
                .l3
                .addresses
                .iter()
                .any(|a| a.net.addr().is_ipv4() == gw.is_ipv4());
            if !same_family
                && !link
                    .l3
                    .routes
                    .iter()
                    .any(|o| o.route.via.is_none() && o.route.dst.contains(&gw))
            {
                let (mine, theirs) = if gw.is_ipv4() {
                    ("IPv4", "IPv6")
                } else {
                    ("IPv6", "IPv4")
                };
                let has = if link.l3.addresses.is_empty() {
                    "no address".to_string()
                } else {
                    format!("only {theirs} addresses")
                };
                problems.push(ConfigError::in_section(
                    r.line,
                    &label,
                    Some(key),
                    format!("{gw} is an {mine} gateway, but the link has {has}; add an {mine} `address` in {gw}'s subnet"),
                ));
            } else if !on_link(&gw, &link.l3) {
                let subnets: Vec<String> = link
                    .l3
                    .addresses
                    .iter()
                    .filter(|a| a.net.addr().is_ipv4() == gw.is_ipv4())
                    .map(|a| a.net.trunc().to_string())
                    .collect();
                problems.push(ConfigError::in_section(
                    r.line,
                    &label,
                    Some(key),
                    format!(
                        "{gw} is outside the link's subnets ({}); a gateway must be on the link: \
                         fix the address or gateway, or add an on-link `route` that covers it",
                        subnets.join(", ")
                    ),
                ));
            }
        }
        // In file order, so the later of two clashing lines is the one reported.
        let mut in_order: Vec<&RouteDecl> = link.l3.routes.iter().collect();
        in_order.sort_by_key(|r| r.line);
        for r in in_order {
            let route = &r.route;
            let key = (link.l3.netns.clone(), route.dst, route.table, route.metric);
            match routes.get(&key) {
                Some((other, file, line)) => {
                    let first = problems.place(*file, *line);
                    problems.push(ConfigError::in_section(
                        r.line,
                        &label,
                        Some(r.key),
                        format!(
                            "a second route to {} in table {} with metric {} (the first is {other}'s, {first}); \
                             the kernel keeps one: give one of them another metric",
                            route.dst, route.table, route.metric
                        ),
                    ))
                }
                None => {
                    routes.insert(key, (link.name.clone(), link.file, r.line));
                }
            }
        }
        if let Some(parent) = link.parent.as_deref()
            && let Some(p) = by_name.get(parent)
            && let Some(ns) = &p.l3.netns
        {
            problems.push(ConfigError::in_section(
                link.line,
                &label,
                Some("parent"),
                format!("{parent} lives in netns {ns}; a link can only sit on a parent in the host's namespace"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let a = parse_address("2001:db8::2/64 nodad").unwrap();
        assert!(a.nodad);
        assert!(
            parse_address("192.168.0.10")
                .unwrap_err()
                .contains("no prefix length; write e.g. 192.168.0.10/24")
        );
        assert!(
            parse_address("192.168.0.300/24")
                .unwrap_err()
                .contains("is not an address with a prefix length")
        );
        assert_eq!(
            parse_address("192.168.0.10/33").unwrap_err(),
            "`192.168.0.10/33`: /33 is too long for IPv4 (at most /32)"
        );
        assert!(
            parse_address("192.168.0.0/24").unwrap_err().contains(
                "network address of its subnet; give a host address such as 192.168.0.1/24"
            )
        );
        assert!(
            parse_address("192.168.0.255/24")
                .unwrap_err()
                .contains("broadcast")
        );
        assert!(
            parse_address("2001:db8::2/64 nobroadcast")
                .unwrap_err()
                .contains("IPv4 addresses only")
        );
        assert_eq!(
            parse_address("192.168.0.10/24").unwrap().broadcast(),
            Some("192.168.0.255".parse().unwrap())
        );
        assert_eq!(
            parse_address("192.168.0.10/24 nobroadcast")
                .unwrap()
                .broadcast(),
            None
        );
        assert_eq!(parse_address("192.168.0.10/31").unwrap().broadcast(), None);
        assert!(
            parse_address("192.168.0.10/24 nodad")
                .unwrap_err()
                .contains("IPv6 addresses only")
        );
        assert!(
            parse_address("192.168.0.10/24 fast")
                .unwrap_err()
                .contains("not an address option")
        );
        assert!(parse_address("192.168.0.254/32").is_ok());
    }

    #[test]
    fn routes() {
        let r =
            parse_route("192.168.0.192/27 via 192.168.0.1 metric 100 table 10 src 192.168.0.254")
                .unwrap();
        assert_eq!(r.dst.to_string(), "192.168.0.192/27");
        assert_eq!((r.metric, r.table), (100, 10));
        assert_eq!(parse_route("2001:db8:1::/48").unwrap().metric, 1024);
        assert_eq!(
            parse_route("default via 2001:db8::1")
                .unwrap()
                .dst
                .to_string(),
            "::/0"
        );
        assert_eq!(
            parse_route("10.1.2.3/8").unwrap_err(),
            "10.1.2.3/8 has host bits set; write the network, 10.0.0.0/8"
        );
        assert!(
            parse_route("10.0.0.0/8 metric 5 metric 6")
                .unwrap_err()
                .contains("`metric` is given twice")
        );
        assert!(
            parse_route("10.0.0.0/8 table 0")
                .unwrap_err()
                .starts_with("`table 0`: 0 is out of range")
        );
        assert!(
            parse_route("default")
                .unwrap_err()
                .contains("needs `via GW`")
        );
        assert!(
            parse_route("10.0.0.0/8 via")
                .unwrap_err()
                .contains("`via` needs a value")
        );
        assert!(
            parse_route("10.0.0.0/8 via 2001:db8::1")
                .unwrap_err()
                .contains("not of the same family")
        );
        assert!(
            parse_route("10.0.0.0/8 dev eth0")
                .unwrap_err()
                .contains("`dev` is not a route option")
        );
        assert!(
            parse_route("10.0.0.0/8 table 255")
                .unwrap_err()
                .contains("local table")
        );
        assert_eq!(
            parse_route("10.0.0.0/8 table main").unwrap().table,
            RT_TABLE_MAIN
        );
    }

    #[test]
    fn namespaces() {
        assert!(parse_netns("web").is_ok());
        assert!(parse_netns("a/b").is_err());
        assert!(parse_netns("..").is_err());
    }
}
