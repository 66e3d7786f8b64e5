# shellcheck shell=sh disable=SC2154 # sourced after /lib.sh ($IP, $U, ...)
# Scenario 11: boot integration as OpenWrt does it. The package's init script
# (/etc/init.d/underlay), run through the stand-in /etc/rc.common from tests/boot, starts
# underlay at boot, re-applies on reload and restart, reports a failure in its exit
# status and in syslog, and stops it.
use_config 11-openwrt-init.conf
syslogd -O /tmp/messages 2> /dev/null
check "the init script is the package's" grep -q "^START=14" /etc/init.d/underlay
/etc/init.d/underlay start > /tmp/init.out 2>&1
rc=$?
sed 's/^/#   /' /tmp/init.out
check "init.d/underlay start exits 0" test "$rc" = 0
check "the VLAN appeared" has eth0.42 '"id":42'
check "the macvlan appeared" has owrt0 '"info_kind":"macvlan"'
check "the macvlan sits on the VLAN" has owrt0 '"link":"eth0.42"'
/etc/init.d/underlay reload > /tmp/init.out 2>&1
check "reload exits 0" test $? = 0
check "reload changed nothing" grep -q "nothing to change" /tmp/init.out
idx=$(ifindex owrt0)
/etc/init.d/underlay restart > /tmp/init.out 2>&1
check "restart exits 0" test $? = 0
check "restart changed nothing (LuCI's Restart applies)" grep -q "nothing to change" /tmp/init.out
check "restart kept the macvlan" test "$(ifindex owrt0)" = "$idx"
# A link on a parent that never comes: apply exits 1, and so must start.
sed -i 's/^wait = .*/wait = 1/' /etc/underlay.conf
printf '[macvlan owrtbad]\nparent = nosuch0\n' >> /etc/underlay.conf
/etc/init.d/underlay start > /tmp/init.out 2>&1
rc=$?
sed 's/^/#   /' /tmp/init.out
check "start exits 1 when a link cannot be made" test "$rc" = 1
check "the failure is in syslog as daemon.err" grep -q "daemon.err underlay" /tmp/messages
use_config 11-openwrt-init.conf
/etc/init.d/underlay stop > /tmp/init.out 2>&1
check "init.d/underlay stop exits 0" test $? = 0
check "stop removed the links" sh -c '! [ -e /sys/class/net/owrt0 ] && ! [ -e /sys/class/net/eth0.42 ]'
