# shellcheck shell=sh disable=SC2154,SC2034 # sourced after /lib.sh ($IP, $U, ...)
# vm: arch=x86_64,aarch64 timeout=300
# Scenario 13: parity with systemd-networkd's own test suite. Each case of
# test/test-network/systemd-networkd-tests.py that asserts on `ip -d link` or `ip address` for
# a VLAN, macvlan, macvtap, ipvlan, ipvtap or dummy link, translated into an underlay config
# (13-networkd-peer/*.conf), set up as networkd's test sets it up, and checked with networkd's
# own assertion strings: one ok / not ok line per assertion, tagged TEST[SUBTEST]:LINE, where
# LINE is the assertion's line in systemd v254.26 (Debian's bookworm-backports source; the
# netdev tests are the same in v252). assertIn is a fixed-string search, assertRegex an
# extended regex (grep -E), in the output of the same ip command networkd's test runs.
# Cases underlay handles differently on purpose are left out and listed in tests/vm/README.md.
# Checks that fail because underlay lacks a feature today are listed, with the feature, in
# 13-networkd-peer/expected-failures: they still run, and print "# TODO".
D=/scenarios/13-networkd-peer
XFAIL=$D/expected-failures
OUT=/tmp/nw.out

# setup: a fresh guest network and config NAME, with LINES appended (as networkd's test appends
# "[MACVLAN] Mode=..." to the .netdev)
setup() {
    reset_net
    cp "$D/$1" /etc/underlay.conf
    shift
    for _l in "$@"; do echo "$_l" >>/etc/underlay.conf; done
}
# sh_ CMD...: a setup command of networkd's test (ip ..., sysctl), shown
sh_() {
    "$@" >/tmp/sh.out 2>&1 || echo "# ($* exited $?)"
    echo "# \$ $*"
    sed 's/^/#   /' /tmp/sh.out | head -n 5
}
# out CMD...: run ip as networkd's test does (check_output('ip ...')), output in $OUT
out() {
    _cmd="ip $*"
    "$IP" "$@" >"$OUT" 2>&1 || echo "# ($_cmd exited $?)"
}
# sysfs FILE: read a link attribute as networkd's check_link_attr does
sysfs() {
    _cmd="cat $1"
    cat "$1" >"$OUT" 2>&1 || echo "# ($_cmd failed)"
}
_assert() { # TAG WHAT CMD...
    _tag=$1 _what=$2
    shift 2
    if "$@"; then
        ok "$_tag $_what"
    else
        nok "$_tag $_what"
        echo "#   in the output of \`$_cmd\`:"
        sed 's/^/#   | /' "$OUT" | head -n 25
    fi
}
assertIn() { _assert "$1" "assertIn('$2')" grep -qF -- "$2" "$OUT"; }
assertRegex() { _assert "$1" "assertRegex('$2')" grep -qE -- "$2" "$OUT"; }
# assertEqual TAG VALUE: the whole output is VALUE (check_link_attr, check_ipv6_sysctl_attr)
assertEqual() { _assert "$1" "assertEqual('$2')" [ "$(cat "$OUT")" = "$2" ]; }
# for i in range(1, 254): assertIn(f'inet 10.3.3.{i}/16 brd 10.3.255.255'), one line for all
assertIn_enobufs() {
    _miss=$(awk '{ buf = buf $0 "\n" }
        END { for (i = 1; i < 254; i++) if (!index(buf, "inet 10.3.3." i "/16 brd 10.3.255.255")) m = m " " i
              print m }' "$OUT")
    _assert "$1" "assertIn(f'inet 10.3.3.{i}/16 brd 10.3.255.255') for i in 1..253${_miss:+ (missing:$(echo "$_miss" | cut -c1-60)...)}" \
        [ -z "$_miss" ]
}

# ---- NetworkdNetDevTests.test_vlan (v254.26 line 1381)
T=test_vlan
setup vlan.conf
u apply
out -d link show test1
assertRegex $T:1390 ' mtu 2000 '
out -d link show vlan99
assertIn $T:1394 ' mtu 2000 '
assertIn $T:1395 'REORDER_HDR'
assertIn $T:1396 'LOOSE_BINDING'
assertIn $T:1397 'GVRP'
assertIn $T:1398 'MVRP'
assertIn $T:1399 ' id 99 '
assertIn $T:1400 'ingress-qos-map { 4:100 7:13 }'
assertIn $T:1401 'egress-qos-map { 0:1 1:3 6:6 7:7 10:3 }'
out -4 address show dev test1
assertRegex $T:1405 'inet 192.168.24.5/24 brd 192.168.24.255 scope global test1'
assertRegex $T:1406 'inet 192.168.25.5/24 brd 192.168.25.255 scope global test1'
out -4 address show dev vlan99
assertRegex $T:1410 'inet 192.168.23.5/24 brd 192.168.23.255 scope global vlan99'

# ---- NetworkdNetDevTests.test_macvtap (line 1437)
for mode in private vepa bridge passthru; do
    T="test_macvtap[$mode]"
    setup macvtap.conf "mode = $mode"
    u apply
    out -d link show macvtap99
    assertRegex "$T:1458" "macvtap mode $mode "
done

# ---- NetworkdNetDevTests.test_macvlan (line 1461)
for mode in private vepa bridge passthru; do
    T="test_macvlan[$mode]"
    setup macvlan.conf "mode = $mode"
    u apply
    out -d link show test1
    assertRegex "$T:1482" ' mtu 2000 '
    out -d link show macvlan99
    assertRegex "$T:1486" ' mtu 2000 '
    assertRegex "$T:1487" "macvlan mode $mode "
    # networkd's test deletes test1 (the kernel takes macvlan99 with it) and makes a new one
    # by hand; networkd puts macvlan99 back on it. underlay does so through the hotplug path.
    sh_ "$IP" link del test1
    sleep 1
    sh_ "$IP" link add test1 type dummy
    u apply --parent test1
    out -d link show test1
    assertRegex "$T:1498" ' mtu 2000 '
    out -d link show macvlan99
    assertRegex "$T:1502" ' mtu 2000 '
    assertRegex "$T:1503" "macvlan mode $mode "
done

# ---- NetworkdNetDevTests.test_ipvlan (line 1506) and test_ipvtap (line 1529)
for kind in ipvlan ipvtap; do
    if [ $kind = ipvlan ]; then line=1526; else line=1549; fi
    # networkd's Mode=L2, L3, L3S; its assertion has mode.lower(), as underlay's config does
    for mf in l2:private l3:vepa l3s:bridge; do
        mode=${mf%%:*}
        flag=${mf#*:}
        T="test_${kind}[$mode,$flag]"
        setup $kind.conf "mode = $mode" "flag = $flag"
        u apply
        out -d link show ${kind}99
        assertRegex "$T:$line" "$kind  *mode $mode $flag"
    done
done

# ---- NetworkctlTests.test_reconfigure (line 1018)
T=test_reconfigure
setup address-static.conf
u apply
out -4 address show dev dummy98
assertIn $T:1025 'inet 10.1.2.3/16 brd 10.1.255.255 scope global dummy98'
assertIn $T:1026 'inet 10.1.2.4/16 brd 10.1.255.255 scope global secondary dummy98'
assertIn $T:1027 'inet 10.2.2.4/16 brd 10.2.255.255 scope global dummy98'
sh_ "$IP" address del 10.1.2.3/16 dev dummy98
sh_ "$IP" address del 10.1.2.4/16 dev dummy98
sh_ "$IP" address del 10.2.2.4/16 dev dummy98
# networkctl reconfigure dummy98
u apply
out -4 address show dev dummy98
assertIn $T:1038 'inet 10.1.2.3/16 brd 10.1.255.255 scope global dummy98'
assertIn $T:1039 'inet 10.1.2.4/16 brd 10.1.255.255 scope global secondary dummy98'
assertIn $T:1040 'inet 10.2.2.4/16 brd 10.2.255.255 scope global dummy98'
# (lines 1043-1051, the .network removed and its addresses gone: left out, see README)
# the .network back, networkctl reload
u apply
out -4 address show dev dummy98
assertIn $T:1059 'inet 10.1.2.3/16 brd 10.1.255.255 scope global dummy98'
assertIn $T:1060 'inet 10.1.2.4/16 brd 10.1.255.255 scope global secondary dummy98'
assertIn $T:1061 'inet 10.2.2.4/16 brd 10.2.255.255 scope global dummy98'

# ---- NetworkdNetworkTests.test_address_static (line 2383)
T=test_address_static
setup address-static.conf
# test for #22515: the /128 is replaced by the configured /64
sh_ "$IP" link add dummy98 type dummy
sh_ "$IP" link set dev dummy98 up
sh_ "$IP" -6 address add 2001:db8:0:f101::15/128 dev dummy98
sh_ "$IP" -4 address add 10.3.2.3/16 brd 10.3.255.250 scope global label dummy98:hoge dev dummy98
u apply
out -4 address show dev dummy98
assertIn $T:2399 'inet 10.1.2.3/16 brd 10.1.255.255 scope global dummy98'
assertIn $T:2400 'inet 10.1.2.4/16 brd 10.1.255.255 scope global secondary dummy98'
assertIn $T:2401 'inet 10.2.2.4/16 brd 10.2.255.255 scope global dummy98'
assertRegex $T:2405 'inet 10.9.0.1/16 (metric 128 |)brd 10.9.255.255 scope global dummy98'
assertIn_enobufs $T:2409
out -6 address show dev dummy98
assertIn $T:2433 'inet6 2001:db8:0:f101::15/64 scope global'
assertIn $T:2434 'inet6 2001:db8:0:f101::16/64 scope global'
assertIn $T:2435 'inet6 2001:db8:0:f102::15/64 scope global'
assertIn $T:2436 'inet6 2001:db8:0:f102::16/64 scope global'
# networkctl reconfigure dummy98
u apply
out -4 address show dev dummy98
assertIn_enobufs $T:2469

# ---- NetworkdNetworkTests.test_ip_link_mac_address (line 3185)
T=test_ip_link_mac_address
setup link-mac.conf
u apply
out link show dummy98
assertRegex $T:3191 '00:01:02:aa:bb:cc'

# ---- NetworkdNetworkTests.test_sysctl_disable_ipv6 (line 3354)
T=test_sysctl_disable_ipv6
setup sysctl-disable-ipv6.conf
# ## Disable ipv6
sh_ sysctl -w net.ipv6.conf.all.disable_ipv6=1
sh_ sysctl -w net.ipv6.conf.default.disable_ipv6=1
u apply
out -4 address show dummy98
assertRegex "${T}[disabled]:3365" 'inet 10.2.3.4/16 brd 10.2.255.255 scope global dummy98'
out -6 address show dummy98
assertRegex "${T}[disabled]:3368" 'inet6 2607:5300:203:3906::/64 scope global'
assertRegex "${T}[disabled]:3369" 'inet6 .* scope link'
out -4 route show dev dummy98
assertRegex "${T}[disabled]:3372" '10.2.0.0/16 proto kernel scope link src 10.2.3.4'
out -6 route show default
assertRegex "${T}[disabled]:3375" 'default'
assertRegex "${T}[disabled]:3376" 'via 2607:5300:203:39ff:ff:ff:ff:ff'
sh_ "$IP" link del dummy98
# ## Enable ipv6
sh_ sysctl -w net.ipv6.conf.all.disable_ipv6=0
sh_ sysctl -w net.ipv6.conf.default.disable_ipv6=0
# restart_networkd
u apply
out -4 address show dummy98
assertRegex "${T}[enabled]:3389" 'inet 10.2.3.4/16 brd 10.2.255.255 scope global dummy98'
out -6 address show dummy98
assertRegex "${T}[enabled]:3392" 'inet6 2607:5300:203:3906::/64 scope global'
assertRegex "${T}[enabled]:3393" 'inet6 .* scope link'
out -4 route show dev dummy98
assertRegex "${T}[enabled]:3396" '10.2.0.0/16 proto kernel scope link src 10.2.3.4'
out -6 route show default
assertRegex "${T}[enabled]:3399" 'via 2607:5300:203:39ff:ff:ff:ff:ff'

# ---- NetworkdMTUTests.test_mtu_network (line 6060) and test_mtu_netdev (line 6064): check_mtu
# (line 6030) starts networkd and restarts it, checking both times; test_mtu_network then sets
# the MTU to 1501 and 1500 by hand and does it again (reset_check_mtu, line 6047). underlay's
# start and restart are both `apply`.
check_mtu() { # TAG PHASE
    u apply
    sysfs /sys/class/net/dummy98/mtu
    assertEqual "$1[$2 start]:6036" 1600
    sysfs /proc/sys/net/ipv6/conf/dummy98/mtu
    assertEqual "$1[$2 start]:6037" 1600
    u apply
    sysfs /sys/class/net/dummy98/mtu
    assertEqual "$1[$2 restart]:6042" 1600
    sysfs /proc/sys/net/ipv6/conf/dummy98/mtu
    assertEqual "$1[$2 restart]:6043" 1600
}
T=test_mtu_network
setup mtu.conf
check_mtu $T first
sh_ "$IP" link set up mtu 1501 dev dummy98
sh_ "$IP" link set up mtu 1500 dev dummy98
sysfs /sys/class/net/dummy98/mtu
assertEqual "${T}[reset]:6055" 1500
sysfs /proc/sys/net/ipv6/conf/dummy98/mtu
assertEqual "${T}[reset]:6056" 1500
check_mtu $T "after reset"
T=test_mtu_netdev
setup mtu.conf
check_mtu $T first

reset_net
