# shellcheck shell=sh disable=SC2154 # sourced after /lib.sh ($IP, $U, ...)
# Scenario 3: macvlan modes judged by traffic. bridge pairs reach each
# other; private pairs do not; vepa pairs do not (a hub is no hairpin
# switch). Private and vepa still reach the far end of the hub (eth1).
use_config 3-macvlan-modes.conf
u apply
check "apply exits 0" rc_is 0
check "mvb1 mode bridge" has mvb1 '"mode":"bridge"'
check "mvp1 mode private" has mvp1 '"mode":"private"'
check "mvv1 mode vepa" has mvv1 '"mode":"vepa"'
peer_ns
"$IP" -n peer addr add 192.0.2.254/24 dev eth1
"$IP" -n peer addr add 198.51.100.254/24 dev eth1
"$IP" -n peer addr add 203.0.113.254/24 dev eth1
for l in mvb1:192.0.2.1 mvb2:192.0.2.2 mvp1:198.51.100.1 mvp2:198.51.100.2 \
    mvv1:203.0.113.1 mvv2:203.0.113.2; do
    ns "n${l%%:*}"
    check "${l%%:*} into its netns" to_ns "${l%%:*}" "n${l%%:*}" "${l#*:}/24"
done
check "bridge: mvb1 reaches mvb2" reach nmvb1 192.0.2.2
check "private: mvp1 does not reach mvp2" noreach nmvp1 198.51.100.2
check "vepa: mvv1 does not reach mvv2" noreach nmvv1 203.0.113.2
check "private: mvp1 reaches the far end" reach nmvp1 198.51.100.254
check "vepa: mvv1 reaches the far end" reach nmvv1 203.0.113.254
