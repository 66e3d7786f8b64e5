# shellcheck shell=sh disable=SC2154 # sourced after /lib.sh ($IP, $U, ...)
# Scenario 15: a container's macvlan on underlay's VLAN, in an unnamed network namespace held
# by a process (as Docker's containers are): down, a removal and a re-creation of the VLAN must
# all keep it, exit 1 and name the foreign link and its holder; check, show and --dry-run say
# the same. Nothing is deleted.
use_config 15-foreign-holder.conf
u apply
check "apply exits 0" rc_is 0
unshare -n sleep 600 &
holder=$!
sleep 1
"$IP" link add link eth0.10 name cmv type macvlan mode bridge
"$IP" link set cmv netns "$holder"
vlan=$(ifindex eth0.10)
held="the foreign link cmv (in the network namespace of process $holder (sleep)) sits on it and would be deleted with it"
still() {
    [ "$(ifindex eth0.10)" = "$vlan" ] && nsenter -t "$holder" -n "$IP" link show cmv >/dev/null
}

u down --dry-run
check "down --dry-run warns" out_has "would keep vlan eth0.10: $held"
u down
check "down exits 1" rc_is 1
check "down names the foreign link and its holder" out_has "kept vlan eth0.10: $held"
check "down deleted nothing" still

cp /scenarios/15-foreign-removed.conf /etc/underlay.conf
u check
check "check exits 1 for the removal it cannot make" rc_is 1
check "check warns" out_has "would keep vlan eth0.10: $held"
u apply
check "a removal exits 1" rc_is 1
check "a removal names the foreign link and its holder" out_has "kept vlan eth0.10: $held"
check "a removal deleted nothing" still

cp /scenarios/15-foreign-recreate.conf /etc/underlay.conf
u apply --dry-run
check "apply --dry-run warns" out_has "would skip vlan eth0.10: it must be re-created (protocol 802.1q → 802.1ad), but $held"
u apply
check "a re-creation exits 1" rc_is 1
check "a re-creation names the foreign link and its holder" out_has "skipped vlan eth0.10: it must be re-created (protocol 802.1q → 802.1ad), but $held"
check "a re-creation deleted nothing" still
u show
check "show warns" out_has "$held: down would keep eth0.10"

kill "$holder"
wait "$holder" 2>/dev/null
sleep 1
u down
check "once the container is gone, down exits 0" rc_is 0
check "and the VLAN is gone" absent eth0.10
