# shellcheck shell=sh disable=SC2154 # sourced after /lib.sh ($IP, $U, ...)
# Scenario 6: apply twice changes nothing; drift made with ip is reported
# by check and repaired by apply.
use_config 6-idempotence.conf
u apply
check "apply exits 0" rc_is 0
before=""
for l in eth0.40 mv40 iv40 dm40; do before="$before $l=$(ifindex $l 2>/dev/null)"; done
u check
check "check exits 0 right after apply" rc_is 0
u show
check "show exits 0" rc_is 0
check "show lists mv40" out_has "mv40"
u apply
check "second apply exits 0" rc_is 0
after=""
for l in eth0.40 mv40 iv40 dm40; do after="$after $l=$(ifindex $l 2>/dev/null)"; done
echo "# ifindexes before:$before after:$after"
check "ifindexes unchanged by the second apply" [ "$before" = "$after" ]
u check
check "check exits 0 after the second apply" rc_is 0

"$IP" link set mv40 type macvlan mode private
u check
check "check exits 1 after macvlan mode changed by hand" rc_is 1
check "check names mv40 and the mode" out_has "macvlan mv40: mode"
u apply
check "apply after drift exits 0" rc_is 0
check "apply restored mode bridge" has mv40 '"mode":"bridge"'
u check
check "check exits 0 after repair" rc_is 0

"$IP" link set mv40 down
u check
check "check exits 1 with mv40 set down by hand" rc_is 1
u apply
check "apply sets mv40 up again" has mv40 '"UP"'

"$IP" link del dm40
u check
check "check exits 1 with dm40 deleted by hand" rc_is 1
check "check names dm40" out_has "dm40"
u apply
check "apply recreates dm40" exists dm40
u check
check "check exits 0 after recreating" rc_is 0

# a reboot recreates everything: a stable MAC must come back the same
mac=$(cat /sys/class/net/mv40/address)
u down
check "down exits 0" rc_is 0
check "down removed mv40" absent mv40
u apply
check "apply after down exits 0" rc_is 0
check "mv40 gets the same stable MAC again ($mac)" [ "$(cat /sys/class/net/mv40/address 2>/dev/null)" = "$mac" ]
