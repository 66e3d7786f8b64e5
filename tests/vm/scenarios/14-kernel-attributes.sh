# shellcheck shell=sh disable=SC2154,SC2034 # sourced after /lib.sh ($IP, $U, ...)
# Scenario 14: each attribute underlay sets reaches the kernel and comes back in `ip -d link`,
# and `check` agrees right after `apply`, on every kernel. An older kernel that ignores an
# attribute it does not know (netlink drops unknown nested attributes silently) shows here:
# underlay reads every link back and warns, naming the Linux version the attribute needs.
use_config 14-kernel-attributes.conf
# bcqueuelen (IFLA_MACVLAN_BC_QUEUE_LEN) came in Linux 5.11.
kver=$(uname -r)
old_kernel=no
case $kver in [0-4].* | 5.[0-9].* | 5.10.*) old_kernel=yes ;; esac
u apply
check "apply exits 0" rc_is 0
if [ $old_kernel = yes ]; then
    check "apply warns that this kernel ($kver) dropped bcqueuelen, and which needs it" \
        out_has "warning: this kernel ($kver) does not have bcqueuelen for macvlan: mvb runs without bcqueuelen 1234; it needs Linux 5.11"
else
    check_not "apply warns about nothing the kernel dropped" out_has "does not have"
fi
# link IF STRING: `ip -d link show IF` contains STRING
link() { "$IP" -d link show dev "$1" | tee /tmp/link.out | grep -qF -- "$2" || { cat /tmp/link.out; false; }; }
check "eth0.11 mtu 1400" link eth0.11 " mtu 1400 "
check "eth0.11 mac" link eth0.11 "link/ether 02:00:00:00:00:11 "
check "eth0.11 flags without REORDER_HDR" link eth0.11 "<GVRP,MVRP,LOOSE_BINDING>"
check "eth0.11 ingress-qos-map" link eth0.11 "ingress-qos-map { 1:2 3:4 }"
check "eth0.11 egress-qos-map" link eth0.11 "egress-qos-map { 2:3 }"
check "eth0.12 802.1ad" link eth0.12 "vlan protocol 802.1ad id 12 "
check "mvb mode bridge" link mvb "macvlan mode bridge "
check "mvb mtu 1400" link mvb " mtu 1400 "
check "mvb mac" link mvb "link/ether 02:00:00:00:00:21 "
if [ $old_kernel = no ]; then
    check "mvb bcqueuelen 1234" link mvb "bcqueuelen 1234 "
fi
check "mvs mode source" link mvs "macvlan mode source "
check "mvs source MAC 1" link mvs "02:00:00:00:00:31"
check "mvs source MAC 2" link mvs "02:00:00:00:00:32"
check "mvp passthru nopromisc" link mvp "macvlan mode passthru nopromisc "
check "iv3s l3s vepa" link iv3s "mode l3s vepa"
check "dm0 mtu 9000" link dm0 " mtu 9000 "
check "dm0 mac" link dm0 "link/ether 02:00:00:00:00:41 "
u check
check "check exits 0 right after apply" rc_is 0
if [ $old_kernel = yes ]; then
    check "check says bcqueuelen is unsupported here, not a change it would make" \
        out_has "does not have bcqueuelen for macvlan: mvb runs without bcqueuelen 1234; it needs Linux 5.11"
fi
u apply
check "a second apply changes nothing" out_has "nothing to change"
u down
check "down exits 0" rc_is 0
