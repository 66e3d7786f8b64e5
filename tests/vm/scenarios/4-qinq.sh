# shellcheck shell=sh disable=SC2154 # sourced after /lib.sh ($IP, $U, ...)
# Scenario 4: QinQ across the hub
use_config 4-qinq.conf
u apply
check "apply exits 0" rc_is 0
check "eth0.100 is 802.1ad" has eth0.100 '"protocol":"802.1ad"'
check "eth0.100 id 100" has eth0.100 '"id":100'
check "eth0.100.200 is 802.1Q" has eth0.100.200 '"protocol":"802.1Q"'
check "eth0.100.200 id 200 on eth0.100" has eth0.100.200 '"link":"eth0.100"'
check "eth0.100.200 id 200" has eth0.100.200 '"id":200'
peer_ns
"$IP" -n peer link add link eth1 name eth1.100 type vlan proto 802.1ad id 100
"$IP" -n peer link add link eth1.100 name eth1.100.200 type vlan proto 802.1Q id 200
"$IP" -n peer link set eth1.100 up
"$IP" -n peer link set eth1.100.200 up
"$IP" -n peer addr add 192.0.2.2/24 dev eth1.100.200
"$IP" link set eth0.100 up
"$IP" link set eth0.100.200 up
"$IP" addr add 192.0.2.1/24 dev eth0.100.200
check "QinQ 100/200 reaches the far end" reach - 192.0.2.2
# the inner tag matters: with 100/200 gone and the address on 100/201,
# nothing may answer
"$IP" -n peer link del eth1.100.200
"$IP" -n peer link add link eth1.100 name eth1.100.201 type vlan id 201
"$IP" -n peer addr add 192.0.2.2/24 dev eth1.100.201
"$IP" -n peer link set eth1.100.201 up
"$IP" neigh flush dev eth0.100.200
check "QinQ 100/200 does not reach 100/201" noreach - 192.0.2.2
