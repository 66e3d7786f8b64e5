# shellcheck shell=sh disable=SC2154 # sourced after /lib.sh ($IP, $U, ...)
# vm: arch=x86_64 without=macvlan
# Scenario 8 (own boot, macvlan.ko not loaded and not installed): apply
# fails naming the module and creates none of the links.
check "macvlan is not loaded" [ ! -d /sys/module/macvlan ]
use_config 8-missing-module.conf
u apply
check "apply exits 1" rc_is 1
check "message names the kernel module macvlan" out_has "macvlan"
check "message says kernel module" out_has "module"
check "eth0.60 not created" absent eth0.60
check "dm60 not created" absent dm60
check "mv60 not created" absent mv60
