# shellcheck shell=sh disable=SC2154 # sourced after /lib.sh ($IP, $U, ...)
# Scenario 12: OpenWrt hotplug.  netifd makes its bridge br-lan after
# S14underlay, and deletes and makes it again on `service network restart`;
# the kernel deletes underlay's links on it with it.  They come back through
# the package's hotplug script (/etc/hotplug.d/net/10-underlay), run by the
# hotplug-call stand-in of tests/boot, triggered by the kernel's own uevents:
# busybox's `uevent` reads them from the netlink socket procd reads, and runs
# 12-procd-net for each, one at a time, as procd does (see that file).  This
# is the path procd takes, with the real variables (ACTION, INTERFACE,
# IFINDEX, DEVPATH, DEVPATH_OLD) of the real events, underlay's own links'
# included; `ip` here plays netifd.
use_config 12-openwrt-hotplug.conf
syslogd -O /tmp/messages 2> /dev/null
mkdir -p /etc/hotplug.d/net /tmp/s12bin
cp /scenarios/12-underlay.hotplug /etc/hotplug.d/net/10-underlay
cp /scenarios/12-hotplug-call /sbin/hotplug-call
chmod 0755 /sbin/hotplug-call
# In front of the real underlay for the hotplug script only: logs each call,
# then waits 2 s (it stands for an apply that waits for underlay's lock or
# for a slow parent), so that handing off to the background shows.
cat > /tmp/s12bin/underlay << 'EOF'
#!/bin/sh
echo "$*" >> /tmp/s12-applies
sleep 2
exec /usr/sbin/underlay "$@"
EOF
chmod 0755 /tmp/s12bin/underlay
: > /tmp/s12-events
: > /tmp/s12-applies
uevent /scenarios/12-procd-net > /dev/null 2>&1 &
uevent_pid=$!

# until SECONDS CMD...: poll CMD every 0.2 s for up to SECONDS.
until_ok() {
    _n=$(($1 * 5))
    shift
    while [ "$_n" -gt 0 ]; do
        "$@" > /dev/null 2>&1 && return 0
        sleep 0.2
        _n=$((_n - 1))
    done
    "$@"
}
links_up() { exists mvbr0 && exists br-lan.20 && exists mvbr20; }
links_gone() { absent mvbr0 && absent br-lan.20 && absent mvbr20; }
# netifd: the bridge with eth0 as its port, up.
make_bridge() {
    "$IP" link add br-lan type bridge &&
        "$IP" link set eth0 master br-lan &&
        "$IP" link set br-lan up
}
big() { [ "$(ifindex "$1")" -ge 1048576 ]; }

"$IP" link set eth1 down
/etc/init.d/underlay enable
/etc/init.d/underlay boot > /tmp/init.out 2>&1
rc=$?
sed 's/^/#   /' /tmp/init.out
check "boot (S14, before netifd): exits 0 without br-lan and lan9 (hotplug-parents)" test "$rc" = 0
check "boot printed nothing (procd logs a boot script's output)" test ! -s /tmp/init.out
check "no link on the missing bridge yet" links_gone

make_bridge
check "netifd makes br-lan: its links appear through hotplug" until_ok 30 links_up
check "the macvlan sits on br-lan" has mvbr0 '"link":"br-lan"'
check "the VLAN sits on br-lan" has br-lan.20 '"link":"br-lan"'
check "the hotplug script ran apply --parent br-lan" grep -q -- "--parent br-lan " /tmp/s12-applies
u check
check "check exits 0 after the hotplug apply" rc_is 0

old=$(ifindex br-lan)
"$IP" link del br-lan
check "network restart deletes br-lan: the kernel takes underlay's links along" until_ok 10 links_gone
make_bridge
check "br-lan is a new bridge" test "$(ifindex br-lan)" != "$old"
check "br-lan made again: the links come back through hotplug" until_ok 30 links_up
check "the hotplug script ran apply --parent br-lan once for each bridge" \
    test "$(grep -c -- "--parent br-lan " /tmp/s12-applies)" = 2
u check
check "check exits 0 again" rc_is 0

"$IP" link set eth1 name lan9
check "eth1 renamed lan9 (move event): its macvlan appears" until_ok 30 exists mvlan9
check "the macvlan sits on lan9" has mvlan9 '"link":"lan9"'
check "the hotplug script ran apply --parent lan9" grep -q -- "--parent lan9 " /tmp/s12-applies

# hotplug-call's own time, for the bridge's events: procd's queue waited that
# long, not for the apply (the wrapper alone sleeps 2 s).
quick() { awk '$2 == "br-lan" && $1 == "add" { n++; sub(/ms$/, "", $4); if ($4 + 0 >= 2000) bad++ } END { exit !(n >= 2 && !bad) }' /tmp/s12-events; }
check "hotplug-call returned before its apply ended (queue not held)" quick

# underlay gives its own links ifindex 2^20 and up; the hotplug script skips them.
own_big() { big mvbr0 && big br-lan.20 && big mvbr20 && big mvlan9; }
check "underlay's links have ifindex >= 2^20" own_big
not_own() { ! grep -E -- "--parent (mvbr0|br-lan\.20|mvbr20|mvlan9) " /tmp/s12-applies; }
check "the hotplug script never ran for underlay's own links" not_own

/etc/init.d/underlay stop > /tmp/init.out 2>&1
check "stop exits 0" test $? = 0
check "stop removed the links" links_gone
check "stop removed the mark" test ! -e /var/run/underlay.started
: > /tmp/s12-applies
"$IP" link del br-lan
make_bridge
sleep 3
check "after stop, a new br-lan gets no links" links_gone
check "after stop, the hotplug script ran no apply" test ! -s /tmp/s12-applies
check "syslog has the hotplug applies" grep -q "underlay.*mvbr0" /tmp/messages

kill "$uevent_pid" 2> /dev/null
sed 's/^/#   event: /' /tmp/s12-events | head -n 40
"$IP" link set lan9 down
"$IP" link set lan9 name eth1
"$IP" link set eth1 up
rm -f /etc/hotplug.d/net/10-underlay /etc/rc.d/S14underlay /etc/rc.d/K91underlay
