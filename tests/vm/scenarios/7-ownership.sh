# shellcheck shell=sh disable=SC2154 # sourced after /lib.sh ($IP, $U, ...)
# Scenario 7: down deletes only what underlay created
"$IP" link add link eth0 name eth0.50 type vlan id 50
"$IP" link add link eth0 name mvh type macvlan mode bridge
hand="$(ifindex eth0.50) $(ifindex mvh)"
use_config 7-ownership.conf
u apply
check "apply exits 0" rc_is 0
check "hand-made links kept their ifindex" [ "$hand" = "$(ifindex eth0.50) $(ifindex mvh)" ]
check "mv51 created" exists mv51
check "eth0.51 auto-created" exists eth0.51
check "dm51 created" exists dm51
u down --dry-run
check "down --dry-run exits 0" rc_is 0
check "down --dry-run deletes nothing" exists mv51
u down
check "down exits 0" rc_is 0
check "hand-made eth0.50 survives down" exists eth0.50
check "hand-made mvh survives down" exists mvh
check "mv51 removed" absent mv51
check "eth0.51 removed" absent eth0.51
check "dm51 removed" absent dm51
