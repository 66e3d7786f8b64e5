# shellcheck shell=sh disable=SC2154 # sourced after /lib.sh ($IP, $U, ...)
# Scenario 2: VLAN trunk. Dot-notation parents are auto-created; across the
# hub VLAN 10 reaches VLAN 10 on eth1, not VLAN 20; `down` removes them all.
use_config 2-vlan-trunk.conf
u apply
check "apply exits 0" rc_is 0
check "eth0.10 is vlan id 10" has eth0.10 '"id":10'
check "eth0.10 is 802.1Q" has eth0.10 '"protocol":"802.1Q"'
check "eth0.20 is vlan id 20" has eth0.20 '"id":20'
check "mv10 on eth0.10" has mv10 '"link":"eth0.10"'
check "mv20 on eth0.20" has mv20 '"link":"eth0.20"'

# far end: eth1 in netns peer with eth1.10 and eth1.20
peer_ns
"$IP" -n peer link add link eth1 name eth1.10 type vlan id 10
"$IP" -n peer link add link eth1 name eth1.20 type vlan id 20
"$IP" -n peer addr add 192.0.2.2/24 dev eth1.10
"$IP" -n peer addr add 198.51.100.2/24 dev eth1.20
"$IP" -n peer link set eth1.10 up
"$IP" -n peer link set eth1.20 up
ns n10
ns n20
check "mv10 into n10" to_ns mv10 n10 192.0.2.1/24
check "mv20 into n20" to_ns mv20 n20 198.51.100.1/24
check "VLAN 10 reaches VLAN 10 across the hub" reach n10 192.0.2.2
check "VLAN 20 reaches VLAN 20 across the hub" reach n20 198.51.100.2
# Move the far end's 192.0.2.2 from VLAN 10 to VLAN 20 (eth1.10 goes, so
# that nothing on VLAN 10 answers): only a leak between VLANs could reply.
"$IP" -n peer link del eth1.10
"$IP" -n peer addr add 192.0.2.2/24 dev eth1.20
"$IP" -n n10 neigh flush dev mv10
check "VLAN 10 does not reach VLAN 20" noreach n10 192.0.2.2

# bring the macvlans home so that down sees them
"$IP" -n n10 link set mv10 netns 1
"$IP" -n n20 link set mv20 netns 1
u down
check "down exits 0" rc_is 0
check "down removed mv10" absent mv10
check "down removed mv20" absent mv20
check "down removed auto-created eth0.10" absent eth0.10
check "down removed auto-created eth0.20" absent eth0.20
check "eth0 is still there" exists eth0
