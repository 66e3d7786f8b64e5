# shellcheck shell=sh disable=SC2154 # sourced after /lib.sh ($IP, $U, ...)
# Scenario 5: ipvlan l2 and l3 each reach a peer across the hub
use_config 5-ipvlan.conf
u apply
check "apply exits 0" rc_is 0
check "ivl2 is ipvlan l2" has ivl2 '"mode":"l2"'
check "ivl3 is ipvlan l3" has ivl3 '"mode":"l3"'
check "ivl2 on eth0.30" has ivl2 '"link":"eth0.30"'
check "eth0.30 is vlan 30" has eth0.30 '"id":30'
peer_ns
"$IP" -n peer link add link eth1 name eth1.30 type vlan id 30
"$IP" -n peer link add link eth1 name eth1.31 type vlan id 31
"$IP" -n peer addr add 192.0.2.2/24 dev eth1.30
"$IP" -n peer addr add 198.51.100.2/24 dev eth1.31
"$IP" -n peer link set eth1.30 up
"$IP" -n peer link set eth1.31 up
"$IP" link set eth0.30 up
"$IP" link set eth0.31 up
ns nl2
ns nl3
check "ivl2 into nl2" to_ns ivl2 nl2 192.0.2.1/24
check "ivl3 into nl3" to_ns ivl3 nl3 198.51.100.1/24
"$IP" -n nl3 route add default dev ivl3
# An l3 ipvlan is NOARP and nobody answers ARP for its address: the peer
# gets a static neighbour entry (the ipvlan shares its parent's MAC).
"$IP" -n peer neigh replace 198.51.100.1 lladdr "$(cat /sys/class/net/eth0.31/address)" dev eth1.31
check "ipvlan l2 reaches the peer" reach nl2 192.0.2.2
check "ipvlan l3 reaches the peer" reach nl3 198.51.100.2
