#!/usr/bin/env python3
"""Capture real rtnetlink traffic as seeds for the `link_decode` and `addr_route_decode` fuzz
targets.

Run as root:  tests/fuzz/capture-links.py [CORPUS]   (default: tests/fuzz/corpus)

It makes a throwaway network namespace holding a veth pair and macvlans in every mode (and
vlan, ipvlan and dummy links where the kernel has them), with IPv4 and IPv6 addresses and static
routes. It dumps the link table with RTM_GETLINK over a raw AF_NETLINK socket, and writes to
CORPUS/link_decode/:

  link-NAME      each RTM_NEWLINK payload (the bytes after the 16-byte nlmsghdr), the input of
                 underlay::netlink::link::decode;
  dump-N         each whole dump datagram, for underlay::netlink::split_messages;
  ack-*          whole NLMSG_ERROR datagrams: a plain ACK, an error with extended-ACK text, and
                 one capped, for underlay::netlink::parse_ack.

and to CORPUS/addr_route_decode/ the RTM_GETADDR and RTM_GETROUTE dumps the same way:

  addr-N, route-N   each RTM_NEWADDR / RTM_NEWROUTE payload, the input of
                    underlay::netlink::addr::decode and route::decode;
  addrdump-N, routedump-N   the whole datagrams.

The namespaces are deleted afterwards, whatever happens.
"""

import os
import socket
import struct
import subprocess
import sys

NETLINK_ROUTE = 0
NLMSG_ERROR, NLMSG_DONE = 2, 3
RTM_NEWLINK, RTM_GETLINK = 16, 18
RTM_NEWADDR, RTM_GETADDR = 20, 22
RTM_NEWROUTE, RTM_GETROUTE = 24, 26
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 0x1, 0x4, 0x300
NLM_F_CREATE, NLM_F_EXCL = 0x400, 0x200
SOL_NETLINK = 270
NETLINK_CAP_ACK, NETLINK_EXT_ACK = 10, 11
IFLA_IFNAME, IFLA_LINKINFO, IFLA_INFO_KIND = 3, 18, 1


def attr(kind, payload):
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * ((4 - length % 4) % 4)


def message(kind, flags, seq, body):
    return struct.pack("=IHHII", 16 + len(body), kind, flags, seq, 0) + body


def ifinfomsg(index=0):
    return struct.pack("=BxHiII", 0, 0, index, 0, 0)


def receive_until_done(sock, seq):
    """Every datagram answering request `seq`, up to NLMSG_DONE or NLMSG_ERROR."""
    datagrams = []
    while True:
        data = sock.recv(1 << 20)
        datagrams.append(data)
        offset = 0
        while offset + 16 <= len(data):
            length, kind, _, mseq, _ = struct.unpack_from("=IHHII", data, offset)
            if length < 16:
                return datagrams
            if mseq == seq and kind in (NLMSG_DONE, NLMSG_ERROR):
                return datagrams
            offset += (length + 3) & ~3


def dump_payloads(sock, seq, request, kind, outdir, prefix):
    """Dump with `request`; write each datagram and each `kind` payload. The number of them."""
    if request == RTM_GETADDR:
        body = struct.pack("=BBBBI", 0, 0, 0, 0, 0)  # struct ifaddrmsg, AF_UNSPEC: every family
    else:
        body = struct.pack("=BBBBBBBBI", 0, 0, 0, 0, 0, 0, 0, 0, 0)  # struct rtmsg
    sock.send(message(request, NLM_F_REQUEST | NLM_F_DUMP, seq, body))
    count = 0
    for n, data in enumerate(receive_until_done(sock, seq)):
        with open(os.path.join(outdir, f"{prefix}dump-{n}"), "wb") as f:
            f.write(data)
        offset = 0
        while offset + 16 <= len(data):
            length, mkind, _, _, _ = struct.unpack_from("=IHHII", data, offset)
            if length < 16:
                break
            if mkind == kind:
                with open(os.path.join(outdir, f"{prefix}-{count}"), "wb") as f:
                    f.write(data[offset + 16 : offset + length])
                count += 1
            offset += (length + 3) & ~3
    return count


def capture(corpus):
    outdir = os.path.join(corpus, "link_decode")
    l3dir = os.path.join(corpus, "addr_route_decode")
    os.makedirs(outdir, exist_ok=True)
    os.makedirs(l3dir, exist_ok=True)
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
    sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
    sock.bind((0, 0))

    # The link table, as underlay's one dump sees it.
    sock.send(message(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 1, ifinfomsg()))
    links = 0
    for n, data in enumerate(receive_until_done(sock, 1)):
        with open(os.path.join(outdir, f"dump-{n}"), "wb") as f:
            f.write(data)
        offset = 0
        while offset + 16 <= len(data):
            length, kind, _, _, _ = struct.unpack_from("=IHHII", data, offset)
            if kind == RTM_NEWLINK:
                payload = data[offset + 16 : offset + length]
                name = "?"
                pos = 16
                while pos + 4 <= len(payload):
                    alen, atype = struct.unpack_from("=HH", payload, pos)
                    if alen < 4:
                        break
                    if atype == IFLA_IFNAME:
                        name = payload[pos + 4 : pos + alen].rstrip(b"\0").decode()
                    pos += (alen + 3) & ~3
                with open(os.path.join(outdir, f"link-{name}"), "wb") as f:
                    f.write(payload)
                links += 1
            offset += (length + 3) & ~3

    # A plain ACK: set the name of lo to what it already is.
    lo = socket.if_nametoindex("lo")
    sock.send(message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 2,
                      ifinfomsg(lo) + attr(IFLA_IFNAME, b"lo\0")))
    with open(os.path.join(outdir, "ack-ok"), "wb") as f:
        f.write(receive_until_done(sock, 2)[-1])

    # An error with extended-ACK text: a link of a kind that does not exist.
    bogus = ifinfomsg() + attr(IFLA_IFNAME, b"bogus0\0") + attr(
        IFLA_LINKINFO, attr(IFLA_INFO_KIND, b"no-such-kind\0"))
    sock.send(message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 3, bogus))
    with open(os.path.join(outdir, "ack-error-full"), "wb") as f:
        f.write(receive_until_done(sock, 3)[-1])

    # The same with NETLINK_CAP_ACK: the kernel copies only the request's header.
    sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
    sock.send(message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 4, bogus))
    with open(os.path.join(outdir, "ack-error-capped"), "wb") as f:
        f.write(receive_until_done(sock, 4)[-1])

    # A duplicate name: EEXIST, usually without text.
    sock.send(message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 5,
                      ifinfomsg() + attr(IFLA_IFNAME, b"lo\0")
                      + attr(IFLA_LINKINFO, attr(IFLA_INFO_KIND, b"veth\0"))))
    with open(os.path.join(outdir, "ack-error-exists"), "wb") as f:
        f.write(receive_until_done(sock, 5)[-1])
    addrs = dump_payloads(sock, 6, RTM_GETADDR, RTM_NEWADDR, l3dir, "addr")
    routes = dump_payloads(sock, 7, RTM_GETROUTE, RTM_NEWROUTE, l3dir, "route")
    print(f"captured {links} links into {outdir}, {addrs} addresses and {routes} routes into {l3dir}")


def ip(ns, *args, check=True):
    return subprocess.run(["ip", "-n", ns, *args], check=check,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--inside":
        capture(sys.argv[2])
        return
    here = os.path.dirname(os.path.abspath(__file__))
    outdir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus"))
    if os.geteuid() != 0:
        sys.exit("capture-links.py needs root (it makes a network namespace)")
    ns = f"underlay-capture-{os.getpid()}"
    far = f"{ns}-far"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    subprocess.run(["ip", "netns", "add", far], check=True)
    try:
        ip(ns, "link", "set", "lo", "up")
        ip(ns, "link", "add", "ve0", "type", "veth", "peer", "name", "ve1")
        ip(ns, "link", "set", "ve0", "address", "02:00:00:00:aa:01")
        ip(ns, "link", "set", "ve0", "up")
        ip(ns, "link", "add", "ve2", "type", "veth", "peer", "name", "ve3")
        ip(ns, "link", "add", "mvb", "link", "ve0", "type", "macvlan", "mode", "bridge")
        ip(ns, "link", "add", "mvpriv", "link", "ve0", "type", "macvlan", "mode", "private")
        ip(ns, "link", "add", "mvvepa", "link", "ve0", "type", "macvlan", "mode", "vepa",
           "bcqueuelen", "2000")
        ip(ns, "link", "add", "mvsrc", "link", "ve0", "type", "macvlan", "mode", "source")
        ip(ns, "link", "set", "mvsrc", "type", "macvlan", "macaddr", "add", "02:00:00:00:00:01")
        ip(ns, "link", "set", "mvsrc", "type", "macvlan", "macaddr", "add", "02:00:00:00:00:02")
        ip(ns, "link", "add", "mvpt", "link", "ve2", "type", "macvlan", "mode", "passthru",
           "nopromisc")
        ip(ns, "link", "set", "mvb", "mtu", "1400", "up")
        ip(ns, "addr", "add", "192.168.50.1/24", "dev", "mvb")
        ip(ns, "addr", "add", "10.255.0.1/32", "dev", "lo")
        ip(ns, "addr", "add", "2001:db8:50::1/64", "dev", "mvb", "nodad")
        ip(ns, "route", "add", "10.20.0.0/16", "via", "192.168.50.254", "metric", "100",
           "proto", "static")
        ip(ns, "route", "add", "default", "via", "192.168.50.254", "proto", "static")
        ip(ns, "route", "add", "10.30.0.0/16", "via", "192.168.50.253", "table", "1000",
           "src", "192.168.50.1")
        ip(ns, "route", "add", "2001:db8:60::/48", "via", "2001:db8:50::fe", "metric", "5")
        ip(ns, "route", "add", "default", "via", "fe80::1", "dev", "mvb")
        # Kinds this kernel may lack; skipped quietly if so.
        ip(ns, "link", "add", "dm0", "type", "dummy", check=False)
        ip(ns, "link", "add", "link", "ve0", "name", "ve0.10", "type", "vlan", "id", "10",
           "egress-qos-map", "1:2", check=False)
        ip(ns, "link", "add", "link", "ve0", "name", "ve0.20", "type", "vlan", "id", "20",
           "protocol", "802.1ad", check=False)
        ip(ns, "link", "add", "iv0", "link", "ve0", "type", "ipvlan", "mode", "l3", check=False)
        # A veth whose peer sits in another namespace (IFLA_LINK_NETNSID).
        ip(ns, "link", "add", "vx0", "type", "veth", "peer", "name", "vx1", "netns", far)
        subprocess.run(["ip", "netns", "exec", ns, sys.executable, os.path.abspath(__file__),
                        "--inside", outdir], check=True)
    finally:
        subprocess.run(["ip", "netns", "del", ns])
        subprocess.run(["ip", "netns", "del", far])


if __name__ == "__main__":
    main()
