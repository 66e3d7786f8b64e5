# shellcheck shell=sh disable=SC2154 # sourced after /lib.sh ($IP, $U, ...)
# Scenario 1: mvnet. Two bridge-mode macvlans on eth0, each moved into a
# namespace of its own with a static address, ping each other.
use_config 1-mvnet.conf
u --version
check "underlay --version runs on $(uname -m)" out_has "^underlay "
u validate
check "validate exits 0" rc_is 0
u apply
check "apply exits 0" rc_is 0
check "mv1 is a macvlan on eth0" has mv1 '"info_kind":"macvlan"'
check "mv1 mode bridge" has mv1 '"mode":"bridge"'
check "mv2 mode bridge" has mv2 '"mode":"bridge"'
check "mv1 parent is eth0" has mv1 '"link":"eth0"'
ns ns1
ns ns2
check "mv1 into ns1" to_ns mv1 ns1 192.0.2.1/24
check "mv2 into ns2" to_ns mv2 ns2 192.0.2.2/24
check "ns1 reaches ns2" reach ns1 192.0.2.2
check "ns2 reaches ns1" reach ns2 192.0.2.1
