//! Layer 3 and namespaces on the real kernel: addresses, gateways and routes, links created
//! straight into network namespaces, and the host <-> macvlan containers shim.

mod common;

use std::process::{Command, Stdio};

use common::{Lab, field, sh};

/// `ip -j addr show dev NAME` (in `netns` if given, else the lab) as text.
fn addrs(lab: &Lab, netns: Option<&str>, dev: &str) -> String {
    let ns = netns.unwrap_or(&lab.ns);
    sh(&["ip", "-n", ns, "-j", "addr", "show", "dev", dev])
}

fn routes(lab: &Lab, netns: Option<&str>, family: &str) -> String {
    let ns = netns.unwrap_or(&lab.ns);
    sh(&["ip", "-n", ns, family, "route", "show", "table", "all"])
}

fn ping(ns: &str, target: &str) -> bool {
    Command::new("ip")
        .args(["netns", "exec", ns, "ping", "-c", "1", "-W", "2", target])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
}

/// A namespace name unique to this test run, removed on drop.
struct Netns(String);

impl Netns {
    fn name(test: &str) -> Netns {
        let n = Netns(format!("ul{}{test}", std::process::id()));
        let _ = Command::new("ip").args(["netns", "del", &n.0]).output();
        n
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

#[test]
fn addresses_gateways_and_routes_on_both_families() {
    let Some(lab) = Lab::new() else { return };
    lab.config(
        "[macvlan mv0]\nparent = vp0\n\
         address = 192.168.0.10/24\naddress = 2001:db8:abc8::2/64 nodad\n\
         gateway = 192.168.0.1\ngateway = 2001:db8:abc8::10\n\
         route = 10.9.0.0/16 via 192.168.0.5 metric 50\n\
         route = 2001:db8:9::/48 via 2001:db8:abc8::5 metric 70\n\
         route = 192.168.5.0/24\n",
    );
    let run = lab.underlay(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    let a = addrs(&lab, None, "mv0");
    assert!(
        a.contains("\"local\":\"192.168.0.10\",\"prefixlen\":24,\"broadcast\":\"192.168.0.255\""),
        "an IPv4 address gets its subnet's broadcast, as networkd and ifupdown give it: {a}"
    );
    assert!(
        a.contains("\"local\":\"2001:db8:abc8::2\",\"prefixlen\":64"),
        "{a}"
    );
    let v4 = routes(&lab, None, "-4");
    assert!(
        v4.contains("default via 192.168.0.1 dev mv0 proto 85"),
        "{v4}"
    );
    assert!(
        v4.contains("10.9.0.0/16 via 192.168.0.5 dev mv0 proto 85 metric 50"),
        "{v4}"
    );
    assert!(
        v4.contains("192.168.5.0/24 dev mv0 proto 85 scope link"),
        "{v4}"
    );
    let v6 = routes(&lab, None, "-6");
    assert!(
        v6.contains("default via 2001:db8:abc8::10 dev mv0 proto 85 metric 1024"),
        "{v6}"
    );
    assert!(
        v6.contains("2001:db8:9::/48 via 2001:db8:abc8::5 dev mv0 proto 85 metric 70"),
        "{v6}"
    );
    let again = lab.underlay(&["apply"]);
    assert!(again.stdout.contains("nothing to change"), "{again:?}");
    let check = lab.underlay(&["check"]);
    assert_eq!(check.code, 0, "{check:?}");
    let show = lab.underlay(&["show"]);
    assert!(
        show.stdout.contains("address 192.168.0.10/24")
            && show
                .stdout
                .contains("route 10.9.0.0/16 via 192.168.0.5 metric 50"),
        "{show:?}"
    );
}

/// underlay removes only the addresses and routes it added (tagged `proto 85`), on any link:
/// another owner's (networkd, netifd, a person) on the same link survive every apply.
#[test]
fn only_underlays_own_addresses_and_routes_are_removed() {
    let Some(lab) = Lab::new() else { return };
    lab.config("[macvlan mv0]\nparent = vp0\naddress = 10.1.0.1/24\naddress = 10.2.0.1/24\nroute = 10.66.0.0/16 via 10.1.0.254\n");
    assert_eq!(lab.underlay(&["apply"]).code, 0);
    // Someone else adds an address and a route on underlay's link.
    lab.ip(&["addr", "add", "10.3.0.1/24", "dev", "mv0"]);
    lab.ip(&[
        "route",
        "add",
        "10.77.0.0/16",
        "dev",
        "mv0",
        "proto",
        "static",
    ]);
    let check = lab.underlay(&["check"]);
    assert_eq!(check.code, 0, "theirs is no drift: {check:?}");
    // The config drops one of underlay's addresses and its route, and adds another address.
    lab.config("[macvlan mv0]\nparent = vp0\naddress = 10.1.0.1/24\naddress = 10.4.0.1/24\n");
    let check = lab.underlay(&["check"]);
    assert_eq!(
        check.stdout,
        "would remove route 10.66.0.0/16 via 10.1.0.254 from mv0 (not in the config)\n\
         would remove address 10.2.0.1/24 from mv0 (not in the config)\n\
         would add address 10.4.0.1/24 to mv0\n"
    );
    let run = lab.underlay(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    let a = addrs(&lab, None, "mv0");
    assert!(a.contains("10.1.0.1") && a.contains("10.4.0.1"), "{a}");
    assert!(
        !a.contains("10.2.0.1"),
        "underlay's own extra address is removed: {a}"
    );
    assert!(
        a.contains("10.3.0.1"),
        "the other owner's address survives: {a}"
    );
    let r = routes(&lab, None, "-4");
    assert!(!r.contains("10.66.0.0/16"), "{r}");
    assert!(
        r.contains("10.77.0.0/16"),
        "the other owner's route survives: {r}"
    );
    assert_eq!(lab.underlay(&["check"]).code, 0);
    let show = lab.underlay(&["show"]);
    assert!(
        show.stdout.contains("address 10.3.0.1/24 (not underlay's)")
            && show.stdout.contains("address 10.4.0.1/24\n"),
        "{show:?}"
    );

    // The same on a link underlay adopted: it adds, and takes only its own away.
    lab.ip(&[
        "link",
        "add",
        "link",
        "vp0",
        "name",
        "theirs",
        "address",
        "02:00:00:00:00:77",
        "type",
        "macvlan",
        "mode",
        "bridge",
    ]);
    lab.ip(&["link", "set", "theirs", "up"]);
    lab.ip(&["addr", "add", "10.8.0.1/24", "dev", "theirs"]);
    lab.config("[macvlan theirs]\nparent = vp0\nmac = 02:00:00:00:00:77\naddress = 10.9.0.1/24\n");
    let run = lab.underlay(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    let a = addrs(&lab, None, "theirs");
    assert!(a.contains("10.8.0.1") && a.contains("10.9.0.1"), "{a}");
}

/// An IPv6 address has one prefix length. When someone else holds a configured address with
/// another one (networkd's test #22515), underlay neither replaces theirs nor fails with a bare
/// "File exists": it says what to do, and exits 1. Its own address with the old prefix is
/// replaced.
#[test]
fn an_ipv6_address_someone_holds_with_another_prefix_is_explained() {
    let Some(lab) = Lab::new() else { return };
    lab.config("[macvlan mv6]\nparent = vp0\naddress = 2001:db8::15/128 nodad\n");
    assert_eq!(lab.underlay(&["apply"]).code, 0);
    lab.config("[macvlan mv6]\nparent = vp0\naddress = 2001:db8::15/64 nodad\n");
    let run = lab.underlay(&["apply"]);
    assert_eq!(run.code, 0, "underlay's own /128 is replaced: {run:?}");
    assert!(addrs(&lab, None, "mv6").contains("\"prefixlen\":64"));

    lab.ip(&["addr", "del", "2001:db8::15/64", "dev", "mv6"]);
    lab.ip(&["addr", "add", "2001:db8::15/128", "dev", "mv6", "nodad"]);
    let held = "address 2001:db8::15/64 on mv6: 2001:db8::15/128 is there already, and not \
                underlay's; an IPv6 address has one prefix length, and underlay does not replace \
                another owner's address: remove it (ip address del 2001:db8::15/128 dev mv6), or \
                write 2001:db8::15/128 in the config";
    let check = lab.underlay(&["check"]);
    assert_eq!(check.code, 1, "{check:?}");
    assert!(
        check.stdout.contains(&format!("would skip {held}")),
        "{check:?}"
    );
    let run = lab.underlay(&["apply"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stderr, format!("error: skipped {held}\n"), "{run:?}");
    let a = addrs(&lab, None, "mv6");
    assert!(
        a.contains("\"prefixlen\":128") && !a.contains("\"prefixlen\":64"),
        "{a}"
    );
}

#[test]
fn links_are_created_straight_into_their_namespace() {
    let Some(lab) = Lab::new() else { return };
    let web = Netns::name("web");
    lab.config(&format!(
        "[macvlan c1]\nparent = vp0\nnetns = {}\naddress = 192.168.7.10/24\ngateway = 192.168.7.1\n",
        web.0
    ));
    // Watch the lab's link events during apply: c1 must never show up there.
    let mut monitor = Command::new("ip")
        .args(["-n", &lab.ns, "monitor", "link"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let run = lab.underlay(&["apply"]);
    // A control event, so we know the monitor was listening.
    lab.ip(&[
        "link", "add", "ctl0", "type", "veth", "peer", "name", "ctl1",
    ]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    monitor.kill().unwrap();
    let events = String::from_utf8_lossy(&monitor.wait_with_output().unwrap().stdout).into_owned();
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains(&format!("created netns {}", web.0)),
        "{run:?}"
    );
    assert!(
        events.contains("ctl0"),
        "the monitor saw nothing at all: {events}"
    );
    let appeared = events.lines().any(|l| {
        l.split(": ")
            .nth(1)
            .is_some_and(|n| n.starts_with("c1@") || n.starts_with("c1:"))
    });
    assert!(!appeared, "c1 appeared in the parent namespace: {events}");
    assert!(lab.link("c1").is_none());
    let inside = sh(&["ip", "-n", &web.0, "-d", "-j", "link", "show", "dev", "c1"]);
    assert_eq!(field(&inside, "info_kind").as_deref(), Some("macvlan"));
    assert!(addrs(&lab, Some(&web.0), "c1").contains("192.168.7.10"));
    assert!(routes(&lab, Some(&web.0), "-4").contains("default via 192.168.7.1 dev c1"));
    assert_eq!(lab.underlay(&["apply"]).code, 0);
    assert_eq!(lab.underlay(&["check"]).code, 0);

    // down deletes the link and the namespace underlay made.
    let run = lab.underlay(&["down"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains(&format!("deleted netns {}", web.0)),
        "{run:?}"
    );
    assert!(!std::path::Path::new("/run/netns").join(&web.0).exists());
}

#[test]
fn namespaces_in_use_or_not_underlays_are_kept() {
    let Some(lab) = Lab::new() else { return };
    let theirs = Netns::name("theirs");
    let busy = Netns::name("busy");
    sh(&["ip", "netns", "add", &theirs.0]);
    lab.config(&format!(
        "[macvlan a1]\nparent = vp0\nnetns = {}\n[macvlan b1]\nparent = vp0\nnetns = {}\n",
        theirs.0, busy.0
    ));
    assert_eq!(lab.underlay(&["apply"]).code, 0);
    // A process now lives in the namespace underlay made.
    let mut sleeper = Command::new("ip")
        .args(["netns", "exec", &busy.0, "sleep", "30"])
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let run = lab.underlay(&["down"]);
    sleeper.kill().unwrap();
    let _ = sleeper.wait();
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("deleted macvlan a1") && run.stdout.contains("deleted macvlan b1"),
        "{run:?}"
    );
    assert!(
        run.stdout
            .contains(&format!("kept netns {}: process", busy.0)),
        "{run:?}"
    );
    assert!(
        std::path::Path::new("/run/netns").join(&theirs.0).exists(),
        "not underlay's: kept"
    );
    assert!(std::path::Path::new("/run/netns").join(&busy.0).exists());
    // Once the process is gone, the next down removes it.
    let run = lab.underlay(&["down"]);
    assert!(
        run.stdout.contains(&format!("deleted netns {}", busy.0)),
        "{run:?}"
    );
}

/// The README's shim: the host cannot reach its own macvlan containers through the parent, but
/// can through a host-side macvlan with a route to them.
#[test]
fn the_host_shim_reaches_macvlan_containers_both_ways() {
    let Some(host) = Lab::new() else { return };
    let lan = Netns::name("lan");
    let c1 = Netns::name("c1");
    sh(&["ip", "netns", "add", &lan.0]);
    // The LAN: the far end of the host's eth0, with the router's address.
    host.ip(&[
        "link", "add", "eth0", "type", "veth", "peer", "name", "lan0", "netns", &lan.0,
    ]);
    sh(&[
        "ip",
        "-n",
        &lan.0,
        "addr",
        "add",
        "192.168.0.1/24",
        "dev",
        "lan0",
    ]);
    sh(&["ip", "-n", &lan.0, "link", "set", "lan0", "up"]);
    host.ip(&["addr", "add", "192.168.0.2/24", "dev", "eth0"]);
    host.ip(&["link", "set", "eth0", "up"]);
    let container = format!(
        "[macvlan c1]\nparent = eth0\nnetns = {}\naddress = 192.168.0.10/24\ngateway = 192.168.0.1\n",
        c1.0
    );
    let shim =
        "[macvlan shim]\nparent = eth0\naddress = 192.168.0.254/32\nroute = 192.168.0.8/29\n";

    // Without the shim: the container reaches the LAN, the host cannot reach the container.
    host.config(&container);
    assert_eq!(host.underlay(&["apply"]).code, 0);
    assert!(
        ping(&c1.0, "192.168.0.1"),
        "the container reaches the router"
    );
    assert!(
        !ping(&host.ns, "192.168.0.10"),
        "without the shim the host must not reach the container"
    );

    // With it: both directions.
    host.config(&format!("{container}\n{shim}"));
    let run = host.underlay(&["apply"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        ping(&host.ns, "192.168.0.10"),
        "host -> container through the shim"
    );
    assert!(
        ping(&c1.0, "192.168.0.254"),
        "container -> host's shim address"
    );
    assert_eq!(host.underlay(&["check"]).code, 0);

    // The shim's route is what makes it work.
    host.ip(&["route", "del", "192.168.0.8/29", "dev", "shim"]);
    assert!(
        !ping(&host.ns, "192.168.0.10"),
        "without the shim's route the host must not reach it"
    );
    let check = host.underlay(&["check"]);
    assert!(
        check
            .stdout
            .contains("would add route 192.168.0.8/29 to shim"),
        "{check:?}"
    );
    assert_eq!(host.underlay(&["apply"]).code, 0);
    assert!(ping(&host.ns, "192.168.0.10"));
    assert_eq!(host.underlay(&["down"]).code, 0);
}

/// With IPv6 disabled by sysctl before the link exists (networkd's test_sysctl_disable_ipv6),
/// the kernel refuses an IPv6 address with a bare EACCES. underlay writes no sysctls; it says
/// why and what to do.
#[test]
fn an_ipv6_address_on_a_link_with_ipv6_disabled_is_explained() {
    let Some(lab) = Lab::new() else { return };
    let sysctl = |value: &str| {
        let status = std::process::Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", lab.ns))
            .args(["sysctl", "-q", "-w"])
            .arg(format!("net.ipv6.conf.default.disable_ipv6={value}"))
            .status()
            .unwrap();
        assert!(status.success());
    };
    sysctl("1");
    lab.config(
        "[macvlan nov6]\nparent = vp0\naddress = 2001:db8:6::1/64 nodad\naddress = 10.6.0.1/24\n",
    );
    let run = lab.underlay(&["apply"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stderr,
        "error: could not add address 2001:db8:6::1/64 to nov6: IPv6 is disabled on nov6 \
         (net.ipv6.conf.nov6.disable_ipv6 = 1, often inherited from net.ipv6.conf.default); \
         underlay writes no sysctls: enable IPv6 there (a file in /etc/sysctl.d), or drop the \
         IPv6 keys\n",
        "{run:?}"
    );
    assert!(
        addrs(&lab, None, "nov6").contains("10.6.0.1"),
        "the rest is applied"
    );
    sysctl("0");
}
