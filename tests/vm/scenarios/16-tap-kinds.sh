# shellcheck shell=sh disable=SC2154 # sourced after /lib.sh ($IP, $U, ...)
# Scenario 16: macvtap and ipvtap are made, checked clean, repaired in place and removed.
use_config 16-tap-kinds.conf
u apply
check "apply exits 0" rc_is 0
check "mvt0 is a macvtap" has mvt0 '"info_kind":"macvtap"'
check "mvt0 has mtu 1400" has mvt0 '"mtu":1400'
check "mvt0 has its tap device" sh -c "[ -c /dev/tap$(ifindex mvt0) ] || [ -d /sys/class/net/mvt0/macvtap ]"
check "ivt0 is an ipvtap" has ivt0 '"info_kind":"ipvtap"'
check "ivt0 on eth0.40" has ivt0 '"link":"eth0.40"'
u check
check "check exits 0 after apply" rc_is 0
before=$(ifindex ivt0)
"$IP" link set ivt0 type ipvtap mode l3
u check
check "check sees the ipvtap mode changed" rc_is 1
check "check says the change in apply's words" out_has "would change ipvtap ivt0: mode l3 → l2"
u apply
check "apply repairs it" out_has "changed ipvtap ivt0: mode l3 → l2"
check "in place: same ifindex" test "$(ifindex ivt0)" = "$before"
check "ivt0 is l2 again" has ivt0 '"mode":"l2"'
u check
check "check exits 0 after the repair" rc_is 0
u down
check "down exits 0" rc_is 0
check "mvt0 is gone" absent mvt0
check "ivt0 is gone" absent ivt0
check "eth0.40 (implied, underlay's) is gone" absent eth0.40
