use super::*;
use crate::kinds;
use crate::kinds::macvlan::{MacvlanSettings, Mode};
use crate::kinds::vlan::{Protocol, VlanSettings};

fn ok(text: &str) -> Config {
    match parse(text.as_bytes()) {
        Ok(c) => c,
        Err(errors) => panic!(
            "unexpected errors: {:#?}",
            errors
                .iter()
                .map(|e| e.render("t.conf"))
                .collect::<Vec<_>>()
        ),
    }
}

fn errors(text: &str) -> Vec<String> {
    match parse(text.as_bytes()) {
        Ok(_) => panic!("config was accepted:\n{text}"),
        Err(errors) => errors.iter().map(|e| e.render("t.conf")).collect(),
    }
}

fn one_error(text: &str) -> String {
    let e = errors(text);
    assert_eq!(e.len(), 1, "expected one error, got {e:#?}");
    e.into_iter().next().unwrap_or_default()
}

fn vlan(c: &Config, name: &str) -> VlanSettings {
    c.link(name)
        .unwrap()
        .settings
        .as_any()
        .downcast_ref::<VlanSettings>()
        .unwrap()
        .clone()
}

fn macvlan(c: &Config, name: &str) -> MacvlanSettings {
    c.link(name)
        .unwrap()
        .settings
        .as_any()
        .downcast_ref::<MacvlanSettings>()
        .unwrap()
        .clone()
}

#[test]
fn the_issue_example_parses() {
    let c = ok("# comments start with # or ;\n\
        [global]\n\
        wait = 30                  # seconds\n\
        \n\
        [vlan eth0.10]\n\
        parent = eth0\n\
        id = 10\n\
        protocol = 802.1q\n\
        mtu = 1500\n\
        mac = 02:00:00:00:00:10    # optional\n\
        reorder-header = yes\n\
        gvrp = no\n\
        mvrp = off\n\
        loose-binding = 0\n\
        ingress-qos-map = 1:2 3:4\n\
        egress-qos-map = 2:3\n\
        up = yes\n\
        \n\
        [macvlan mv10]\n\
        parent = eth0.10\n\
        mode = bridge\n\
        mac = stable\n\
        bcqueuelen = 1000\n\
        \n\
        [macvlan mvs]\n\
        parent = eth0.10\n\
        mode = source\n\
        source-mac = 02:00:00:00:00:01\n\
        source-mac = 02:00:00:00:00:02\n\
        \n\
        [macvlan mvp]\n\
        parent = eth1\n\
        mode = passthru\n\
        nopromisc = no\n\
        \n\
        [ipvlan iv0]\n\
        parent = eth2\n\
        mode = l2\n\
        flag = bridge\n\
        \n\
        [dummy dm0]\n");
    assert_eq!(c.wait_secs, 30);
    assert_eq!(c.links.len(), 6);
    let v = vlan(&c, "eth0.10");
    assert_eq!((v.id, v.protocol), (10, Protocol::Dot1Q));
    assert_eq!(v.flags, [Some(true), Some(false), Some(false), Some(false)]);
    assert_eq!(v.ingress, Some(vec![(1, 2), (3, 4)]));
    let l = c.link("eth0.10").unwrap();
    assert_eq!(l.mtu, Some(1500));
    assert_eq!(
        l.mac,
        MacChoice::Fixed(crate::mac::MacAddr([2, 0, 0, 0, 0, 0x10]))
    );
    assert_eq!(macvlan(&c, "mvs").source_macs.map(|m| m.len()), Some(2));
    assert_eq!(macvlan(&c, "mv10").bcqueuelen, Some(1000));
    assert_eq!(c.link("dm0").unwrap().parent, None);
    assert_eq!(c.link("iv0").unwrap().mac, MacChoice::Kernel);
    // A passthru macvlan carries its parent's MAC.
    assert_eq!(c.link("mvp").unwrap().mac, MacChoice::Kernel);
    assert_eq!(c.link("mv10").unwrap().mac, MacChoice::Stable);
}

#[test]
fn defaults() {
    let c = ok("[macvlan mv0]\nparent = eth0\n");
    assert_eq!(c.wait_secs, DEFAULT_WAIT_SECS);
    let l = c.link("mv0").unwrap();
    // bridge, not the kernel's vepa; stable MAC; up.
    assert_eq!(macvlan(&c, "mv0").mode, Mode::Bridge);
    assert_eq!(l.mac, MacChoice::Stable);
    assert!(l.up);
    // A VLAN keeps the kernel's MAC (its parent's) unless told otherwise.
    let c = ok("[vlan eth0.10]\n");
    assert_eq!(c.link("eth0.10").unwrap().mac, MacChoice::Kernel);
}

#[test]
fn dotted_vlan_names_give_parent_and_id() {
    let c = ok("[vlan eth0.100]\nprotocol = 802.1ad\n[vlan eth0.100.200]\n");
    assert_eq!(
        c.link("eth0.100.200").unwrap().parent.as_deref(),
        Some("eth0.100")
    );
    assert_eq!(vlan(&c, "eth0.100.200").id, 200);
    assert_eq!(vlan(&c, "eth0.100").protocol, Protocol::Dot1Ad);
    // Parents first.
    assert_eq!(c.links[0].name, "eth0.100");
}

#[test]
fn undeclared_dotted_parents_become_implicit_vlans() {
    let c = ok("[macvlan mv0]\nparent = eth0.100.200\n");
    let names: Vec<(&str, bool)> = c
        .links
        .iter()
        .map(|l| (l.name.as_str(), l.implicit))
        .collect();
    assert_eq!(
        names,
        [("eth0.100", true), ("eth0.100.200", true), ("mv0", false)]
    );
    assert_eq!(vlan(&c, "eth0.100").id, 100);
    assert_eq!(c.link("eth0.100").unwrap().parent.as_deref(), Some("eth0"));
    // A declared parent is not duplicated.
    let c = ok("[vlan eth0.10]\n[macvlan mv0]\nparent = eth0.10\n");
    assert_eq!(c.links.iter().filter(|l| l.implicit).count(), 0);
}

#[test]
fn links_on_a_parent() {
    let c = ok(
        "[macvlan a]\nparent = eth0.10\n[macvlan b]\nparent = eth1\n[vlan c]\nparent = a\nid = 5\n",
    );
    assert_eq!(c.links_on("eth0"), ["eth0.10", "a", "c"]);
    assert_eq!(c.links_on("eth1"), ["b"]);
}

#[test]
fn crlf_accepted() {
    let c = ok("[macvlan mv0]\r\nparent = eth0\r\nmode = private\r\n");
    assert_eq!(macvlan(&c, "mv0").mode, Mode::Private);
}

#[test]
fn value_errors_name_file_line_section_and_key() {
    assert_eq!(
        one_error("[global]\n\n[vlan eth0.4095]\n"),
        "t.conf:3: [vlan eth0.4095] id: 4095 is out of range 1..4094"
    );
    assert_eq!(
        one_error("[vlan lan]\nparent = eth0\n"),
        "t.conf:1: [vlan lan] id: missing; give `id = 1..4094`, or name the link PARENT.ID (e.g. [vlan eth0.10])"
    );
    assert_eq!(
        one_error("[vlan v]\nparent = eth0\nid = 4095\n"),
        "t.conf:3: [vlan v] id: 4095 is out of range 1..4094"
    );
    assert_eq!(
        one_error("[vlan v]\nparent = eth0\nid = 0\n"),
        "t.conf:3: [vlan v] id: 0 is out of range 1..4094"
    );
    assert!(
        one_error("[vlan v]\nparent = eth0\nid = -1\n")
            .starts_with("t.conf:3: [vlan v] id: `-1` is not a whole number")
    );
    assert_eq!(
        one_error("[vlan v]\nparent = eth0\nid = 010\n"),
        "t.conf:3: [vlan v] id: `010` has a leading zero; write `10`"
    );
    assert!(one_error("[vlan v]\nparent = eth0\nid = 0x10\n").contains("hexadecimal"));
    assert!(
        one_error("[vlan v]\nparent = eth0\nid = ten\n").contains("`ten` is not a whole number")
    );
    assert_eq!(
        one_error("[vlan v]\nparent = eth0\nid = 5\nprotocol = 802.1x\n"),
        "t.conf:4: [vlan v] protocol: `802.1x` is not a VLAN protocol; write 802.1q (the default) or 802.1ad"
    );
    assert!(
        one_error("[dummy d]\nmtu = 0\n")
            .starts_with("t.conf:2: [dummy d] mtu: 0 is out of range 68..65535")
    );
    assert!(one_error("[dummy d]\nmtu = 65536\n").contains("65536 is out of range 68..65535"));
    assert!(one_error("[dummy d]\nmac = 01:00:5e:00:00:01\n").contains("multicast"));
    assert!(one_error("[dummy d]\nmac = 00:00:00:00:00:00\n").contains("all-zero"));
    assert!(one_error("[dummy d]\nmac = zz\n").contains("not a MAC address"));
    assert!(
        one_error("[dummy d]\nup = maybe\n")
            .starts_with("t.conf:2: [dummy d] up: `maybe` is not a boolean")
    );
    assert!(
        one_error("[global]\nwait = 9999\n")
            .starts_with("t.conf:2: [global] wait: 9999 is out of range 0..3600")
    );
    assert!(
        one_error("[macvlan m]\nparent = eth0\nmode = l2\n").contains("`l2` is not a macvlan mode")
    );
    assert!(
        one_error("[ipvlan i]\nparent = eth0\nmode = bridge\n")
            .contains("`bridge` is not an ipvlan mode")
    );
    assert!(
        one_error("[ipvlan i]\nparent = eth0\nflag = l3\n").contains("`l3` is not an ipvlan flag")
    );
    assert!(
        one_error("[vlan v]\nparent = eth0\nid = 3\ningress-qos-map = 9:1\n")
            .contains("9 is out of range 0..7")
    );
}

#[test]
fn key_errors_suggest_and_list() {
    let e = one_error("[macvlan mv0]\nparent = eth0\nmdoe = bridge\n");
    assert!(
        e.starts_with(
            "t.conf:3: [macvlan mv0] mdoe: a macvlan takes no key `mdoe`; did you mean `mode`?"
        ),
        "{e}"
    );
    assert!(
        e.contains("It takes: parent, mtu, mac, up, address, gateway, route, netns, mode, nopromisc, source-mac, bcqueuelen."),
        "{e}"
    );
    let e = one_error("[vlan eth0.10]\nmode = bridge\n");
    // The kinds that take `mode` come from the registry.
    let owners = kinds::kinds_taking("mode").join(", ");
    assert!(owners.contains("macvlan") && owners.contains("ipvlan"));
    assert!(
        e.contains(&format!(
            "a vlan takes no key `mode` (it belongs to {owners})"
        )),
        "{e}"
    );
    let e = one_error("[macvlan m]\nparent = eth0\nMTU = 1400\n");
    assert_eq!(
        e,
        "t.conf:3: [macvlan m] MTU: keys are lower-case; write `mtu`"
    );
    let e = one_error("[dummy d]\nparent = eth0\n");
    assert!(e.contains("a dummy takes no key `parent`"), "{e}");
    let e = one_error("[ipvlan i]\nparent = eth0\nmac = 02:00:00:00:00:01\n");
    assert!(
        e.contains("an ipvlan always shares its parent's MAC"),
        "{e}"
    );
    let e = one_error("[macvlan m]\nparent = eth0\nmtu = 1400\nmtu = 1500\n");
    assert_eq!(
        e,
        "t.conf:4: [macvlan m] mtu: given again (first on line 3); `mtu` may appear only once"
    );
}

#[test]
fn mode_specific_keys() {
    let e = one_error("[macvlan m]\nparent = eth0\nsource-mac = 02:00:00:00:00:01\n");
    assert!(
        e.starts_with(
            "t.conf:3: [macvlan m] source-mac: only applies to mode source, but the mode is bridge"
        ),
        "{e}"
    );
    let e = one_error("[macvlan m]\nparent = eth0\nmode = vepa\nnopromisc = yes\n");
    assert!(
        e.starts_with(
            "t.conf:4: [macvlan m] nopromisc: only applies to mode passthru, but the mode is vepa"
        ),
        "{e}"
    );
}

#[test]
fn section_errors() {
    assert!(
        one_error("[bridge br0]\n")
            .starts_with("t.conf:1: unknown link kind `bridge` in [bridge br0]")
    );
    assert!(one_error("[macvlna m]\nparent = eth0\n").contains("Did you mean `macvlan`?"));
    assert_eq!(
        one_error("[macvlan]\n"),
        "t.conf:1: [macvlan] needs an interface name: write e.g. [macvlan mv0]"
    );
    assert!(
        one_error("[dummy abcdefghijklmnop]\n")
            .contains("is 16 bytes long; the kernel allows at most 15")
    );
    assert!(one_error("[dummy a/b]\n").contains("`/`"));
    assert!(one_error("[dummy a:b]\n").contains("`:`"));
    assert!(
        one_error("[global]\n[global]\n")
            .contains("a second [global] section (the first is on line 1)")
    );
    assert_eq!(
        one_error("[dummy d]\n[macvlan d]\nparent = eth0\n"),
        "t.conf:2: [macvlan d]: `d` is already declared on line 1; each interface may be declared once"
    );
    assert!(one_error("").contains("the file declares nothing"));
    assert!(one_error("# only a comment\n").contains("the file declares nothing"));
    assert!(ok("[global]\n").links.is_empty());
}

#[test]
fn parent_errors() {
    assert_eq!(
        one_error("[macvlan m]\nmode = bridge\n"),
        "t.conf:1: [macvlan m] parent: missing; a macvlan needs a parent, e.g. `parent = eth0`"
    );
    assert_eq!(
        one_error("[macvlan m]\nparent = m\n"),
        "t.conf:2: [macvlan m] parent: `m` cannot be its own parent"
    );
    let e =
        one_error("[macvlan a]\nparent = b\n[macvlan b]\nparent = c\n[macvlan c]\nparent = a\n");
    assert!(e.starts_with("t.conf:2: parent cycle: "), "{e}");
    assert!(
        e.contains("a -> ") && e.contains("b -> ") && e.contains("c -> "),
        "{e}"
    );
    let e = one_error("[macvlan m]\nparent = eth0.5000\n");
    assert!(e.starts_with("t.conf:2: [macvlan m] parent: `eth0.5000` reads as PARENT.ID, but VLAN id 5000 is out of range 1..4094"), "{e}");
    assert!(one_error("[macvlan m]\nparent = has space\n").contains("white space"));
}

#[test]
fn every_error_is_reported_at_once() {
    let e = errors(
        "[vlan v]\nparent = eth0\nid = 0\n[macvlan m]\nparent = eth0\nmode = nope\n[bogus x]\n",
    );
    assert_eq!(e.len(), 3, "{e:#?}");
    assert!(
        e[0].starts_with("t.conf:3:")
            && e[1].starts_with("t.conf:6:")
            && e[2].starts_with("t.conf:7:")
    );
}

#[test]
fn lexer_errors_reach_the_user() {
    assert!(
        one_error("[global]\nno equals sign\n")
            .starts_with("t.conf:2: `no equals sign` is not a `key = value` line")
    );
}

#[test]
fn layer3_keys_parse() {
    let c = ok(
        "[macvlan c1]\nparent = eth0\nnetns = web\naddress = 192.168.0.10/24\naddress = 2001:db8:abc8::2/64 nodad\n\
        gateway = 192.168.0.1\ngateway = 2001:db8:abc8::10\nroute = 10.9.0.0/16 via 192.168.0.5 metric 50\n",
    );
    let l3 = &c.link("c1").unwrap().l3;
    assert_eq!(l3.netns.as_deref(), Some("web"));
    assert_eq!(l3.addresses.len(), 2);
    assert!(l3.addresses[1].nodad);
    let dsts: Vec<String> = l3.routes.iter().map(|r| r.route.dst.to_string()).collect();
    assert_eq!(dsts, ["10.9.0.0/16", "0.0.0.0/0", "::/0"]);
    assert_eq!(l3.routes[2].route.metric, 1024);
}

#[test]
fn layer3_errors_carry_line_numbers() {
    assert_eq!(
        one_error("[macvlan m]\nparent = eth0\naddress = 192.168.0.10/24\ngateway = 192.168.1.1\n"),
        "t.conf:4: [macvlan m] gateway: 192.168.1.1 is outside the link's subnets (192.168.0.0/24); a gateway must be on \
         the link: fix the address or gateway, or add an on-link `route` that covers it"
    );
    // Reachable through an on-link route: fine.
    ok(
        "[macvlan m]\nparent = eth0\naddress = 192.168.0.10/32\nroute = 192.168.0.0/24\ngateway = 192.168.0.1\n",
    );
    assert_eq!(
        one_error("[macvlan m]\nparent = eth0\naddress = 192.168.0.10/24\ngateway = 2001:db8::1\n"),
        "t.conf:4: [macvlan m] gateway: 2001:db8::1 is an IPv6 gateway, but the link has only IPv4 addresses; add an \
         IPv6 `address` in 2001:db8::1's subnet"
    );
    assert!(
        one_error("[macvlan m]\nparent = eth0\naddress = 192.168.0.10/33\n").starts_with(
            "t.conf:3: [macvlan m] address: `192.168.0.10/33`: /33 is too long for IPv4"
        )
    );
    assert!(
        one_error(
            "[macvlan m]\nparent = eth0\naddress = 192.168.1.5/24\ngateway = 192.168.1.255\n"
        )
        .contains("192.168.1.255 is the broadcast address of 192.168.1.0/24")
    );
    assert!(
        one_error("[macvlan m]\nparent = eth0\naddress = 192.168.1.5/24\ngateway = 192.168.1.5\n")
            .contains("is this link's own address")
    );
    assert!(
        one_error("[macvlan m]\nparent = eth0\naddress = 192.168.1.5/24\ngateway = 0.0.0.0\n")
            .contains("0.0.0.0 cannot be a gateway")
    );
    assert!(
        one_error("[macvlan m]\nparent = eth0\naddress = 192.168.1.5/24\ngateway = 192.168.1.1\nroute = default via 192.168.1.2\n")
            .contains("a second route to 0.0.0.0/0 in table 254 with metric 0")
    );
    assert!(
        one_error("[macvlan m]\nparent = eth0\naddress = 10.0.0.1\n")
            .starts_with("t.conf:3: [macvlan m] address: `10.0.0.1` has no prefix length")
    );
    assert_eq!(
        one_error(
            "[macvlan a]\nparent = eth0\naddress = 192.168.0.10/24\n[macvlan b]\nparent = eth0\naddress = 192.168.0.10/32\n"
        ),
        "t.conf:6: [macvlan b] address: 192.168.0.10 is already the address of a (line 3); each address may be used once"
    );
    assert!(
        one_error(
            "[macvlan m]\nparent = eth0\naddress = 192.168.0.10/24\naddress = 192.168.0.10/25\n"
        )
        .contains("given twice (first on line 3)")
    );
    assert!(one_error("[macvlan m]\nparent = eth0\naddress = 192.168.0.10/24\ngateway = 192.168.0.1\ngateway = 192.168.0.2\n")
        .starts_with("t.conf:5: [macvlan m] gateway: a second IPv4 gateway (192.168.0.1 is on line 4)"));
    assert!(
        one_error("[macvlan m]\nparent = eth0\nroute = 10.0.0.0/8 via 192.168.0.1\n")
            .contains("but the link has no address")
    );
    assert!(
        one_error("[macvlan a]\nparent = eth0\nnetns = web\n[macvlan b]\nparent = a\n")
            .contains("a lives in netns web")
    );
}

#[test]
fn review_findings_read_well() {
    // Keys after a broken header are not blamed on the section before.
    let e = errors("[dummy dm0]\n[macvlan mv0 x]\nparent = eth0\n");
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].starts_with("t.conf:2: section header"), "{e:?}");
    assert_eq!(errors("[macvlan mv0\nparent = eth0\n").len(), 1);
    // Implied parents: the error names the section that wrote the parent.
    let e = one_error("[macvlan mv0]\nparent = eth0.5000.10\n");
    assert!(
        e.starts_with("t.conf:2: [macvlan mv0] parent: `eth0.5000` reads as PARENT.ID"),
        "{e}"
    );
    // Articles.
    assert!(one_error("[ipvlan iv0]\nmode = l2\n").contains("missing; an ipvlan needs a parent"));
    // An ipvlan's mac: no spelling guess, the reason instead.
    let e = one_error("[ipvlan iv0]\nparent = eth0\nmac = 02:00:00:00:00:01\n");
    assert!(
        e.contains("an ipvlan always shares its parent's MAC") && !e.contains("did you mean"),
        "{e}"
    );
    // A sender's MAC is not an interface's.
    let e =
        one_error("[macvlan m]\nparent = eth0\nmode = source\nsource-mac = 33:33:00:00:00:01\n");
    assert!(
        e.contains("cannot be the MAC a host sends from (it is multicast)"),
        "{e}"
    );
    assert!(one_error("[macvlan m]\nparent = eth0\nmode = source\nsource-mac = 02:00:00:00:00:01\nsource-mac = 02:00:00:00:00:01\n")
        .contains("is given twice"));
    // Empty values say what to write.
    assert_eq!(
        one_error("[dummy d]\nup =\n"),
        "t.conf:2: [dummy d] up: a value is missing after `=`; write yes or no (true/false, on/off and 1/0 work too)"
    );
    assert!(
        one_error("[macvlan m]\nparent = eth0\nmode =\n")
            .contains("a value is missing after `=`; write bridge (the default)")
    );
    assert!(one_error("[dummy d]\nmtu =\n").contains("a number is missing; give one in 68..65535"));
    // Too many problems: the rest are counted, not dropped silently.
    let junk: String = (0..60).map(|i| format!("junk{i}\n")).collect();
    let e = errors(&format!("[global]\n{junk}"));
    assert_eq!(e.len(), 51);
    assert!(
        e[50].contains("the file has 10 more problems, not shown"),
        "{:?}",
        e[50]
    );
    // CR-only line endings.
    assert!(one_error("[dummy d]\rmtu = 1400\r").contains("CR-only"));
    // Kinds are lower-case; one pair of brackets.
    assert!(one_error("[VLAN eth0.10]\n").contains("Kinds are lower-case: write `vlan`."));
    assert!(
        one_error("[[dummy dm0]]\n")
            .contains("more than one pair of brackets; write `[dummy dm0]`")
    );
    // A dotted name whose suffix is no id, and a key that contradicts the name.
    let e = one_error("[vlan eth0.010]\n");
    assert!(
        e.contains("the name's suffix `010` is no VLAN id")
            && e.contains("rename the link, or give `id = 1..4094`"),
        "{e}"
    );
    assert!(
        one_error("[vlan eth0.10]\nid = 20\n")
            .contains("20 contradicts the name eth0.10, which says VLAN 10 on eth0")
    );
    ok("[vlan lan.5]\nparent = eth0\nid = 7\n");
}

#[test]
fn hotplug_parents_must_be_external_parents() {
    let c = ok(
        "[global]\nhotplug-parents = usb0 usb1\n[macvlan a]\nparent = usb0\n[macvlan b]\nparent = usb1\n",
    );
    assert_eq!(c.hotplug_parents, ["usb0", "usb1"]);
    assert_eq!(
        one_error("[global]\nhotplug-parents = usb9\n[macvlan a]\nparent = usb0\n"),
        "t.conf:2: [global] hotplug-parents: no link sits on `usb9`; list only parents named by a `parent` key, or remove it"
    );
    assert!(
        one_error("[global]\nhotplug-parents = d0\n[dummy d0]\n[macvlan a]\nparent = d0\n")
            .contains("`d0` is declared in the config")
    );
    assert!(
        one_error("[global]\nhotplug-parents = a a\n[macvlan m]\nparent = a\n")
            .contains("listed twice")
    );
}

/// A PARENT.ID parent listed in hotplug-parents is someone else's to make (netifd makes the
/// VLANs /etc/config/network names): underlay does not make it a VLAN of its own. One level up
/// still counts as a PARENT.ID parent of its own.
#[test]
fn a_hotplug_parent_is_never_an_implied_vlan() {
    let c = ok("[global]\nhotplug-parents = eth0.10\n[macvlan a]\nparent = eth0.10\n");
    assert_eq!(c.links.len(), 1, "{:?}", c.links);
    let c = ok("[macvlan a]\nparent = eth0.10\n");
    assert!(c.links.iter().any(|l| l.name == "eth0.10" && l.implicit));
}
