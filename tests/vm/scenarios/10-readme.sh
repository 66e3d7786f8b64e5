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
    # --dry-run says what apply then does, line for line, with "would" in front.
    "$U" apply --dry-run >/tmp/dry.out 2>/dev/null
    u apply
    check "$name: apply exits 0" rc_is 0
    sed -e 's/^would set /set /' -e 's/^would leave /left /' -e 's/^would keep /kept /' \
        -e 's/^would skip /skipped /' -e 's/^would \([a-z-]*e\) /\1d /' \
        -e 's/^would \([a-z-]*\) /\1ed /' /tmp/dry.out >/tmp/dry.past
    grep -v '^\(warning\|error\): ' /tmp/u.out >/tmp/apply.out
    check "$name: --dry-run printed what apply did" cmp /tmp/dry.past /tmp/apply.out
    u check
    check "$name: check exits 0 after apply" rc_is 0
    u down
    check "$name: down exits 0" rc_is 0
    check "$name: down left only lo, eth0..eth3" sh -c '[ "$(ls /sys/class/net | tr "\n" " ")" = "eth0 eth1 eth2 eth3 lo " ]'
    check "$name: down left no namespace behind" sh -c '[ -z "$(ls /run/netns)" ]'
done
check "the README has at least 7 configs ($n)" test "$n" -ge 7
