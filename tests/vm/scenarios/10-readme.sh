# shellcheck shell=sh disable=SC2154 # sourced after /lib.sh ($IP, $U, ...)
# Scenario 10: every ini block of README.md (copied into /scenarios/readme-N.ini when the image
# was built) applies cleanly on a kernel with every module, `check` then exits 0, and `down`
# removes it all again. The examples' parents are eth0 and eth1 (the NICs) and eth2, eth3
# (dummies made here).
n=0
for conf in /scenarios/readme-*.ini; do
    n=$((n + 1))
    name=${conf##*/}
    reset_net
    "$IP" link add eth2 type dummy
    "$IP" link add eth3 type dummy
    cp "$conf" /etc/underlay.conf
    u apply
    check "$name: apply exits 0" rc_is 0
    u check
    check "$name: check exits 0 after apply" rc_is 0
    u down
    check "$name: down exits 0" rc_is 0
    check "$name: down left only lo, eth0..eth3" sh -c '[ "$(ls /sys/class/net | tr "\n" " ")" = "eth0 eth1 eth2 eth3 lo " ]'
    check "$name: down left no namespace behind" sh -c '[ -z "$(ls /run/netns)" ]'
done
check "the README has at least 7 configs ($n)" test "$n" -ge 7
