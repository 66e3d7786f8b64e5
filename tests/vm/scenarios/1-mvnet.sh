# shellcheck shell=sh disable=SC2154 # sourced after /lib.sh ($IP, $U, ...)
# Scenario 1: mvnet. Two bridge-mode macvlans on eth0, created by underlay straight into two
# namespaces of their own (netns =), with static addresses (address =): they ping each other.
use_config 1-mvnet.conf
u --version
check "underlay --version runs on $(uname -m)" out_has "^underlay "
u validate
check "validate exits 0" rc_is 0
u apply
check "apply exits 0" rc_is 0
check "apply created netns ns1" out_has "created netns ns1"
check "mv1 is a macvlan on eth0, in ns1" nhas ns1 mv1 '"info_kind":"macvlan"'
check "mv1 mode bridge" nhas ns1 mv1 '"mode":"bridge"'
check "mv2 mode bridge" nhas ns2 mv2 '"mode":"bridge"'
check_not "mv1 is not in the root namespace" exists mv1
check "mv1 has its IPv4 address" sh -c "$IP -n ns1 addr show dev mv1 | grep -q 'inet 192.0.2.1/24'"
check "mv2 has its IPv6 address" sh -c "$IP -n ns2 addr show dev mv2 | grep -q 'inet6 2001:db8:1::2/64'"
check "ns1 reaches ns2" reach ns1 192.0.2.2
check "ns2 reaches ns1" reach ns2 192.0.2.1
check "ns1 reaches ns2 over IPv6" sh -c "$IP netns exec ns1 ping -c 1 -W 5 2001:db8:1::2"
u apply
check "second apply changes nothing" out_has "nothing to change"
u check
check "check exits 0" rc_is 0
u down
check "down exits 0" rc_is 0
check "down deleted the namespaces it made" sh -c "[ ! -e /run/netns/ns1 ] && [ ! -e /run/netns/ns2 ]"
