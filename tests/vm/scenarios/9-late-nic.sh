# shellcheck shell=sh disable=SC2154 # sourced after /lib.sh ($IP, $U, ...)
# vm: arch=x86_64 without=virtio_net
# Scenario 9 (own boot, virtio_net not loaded): apply waits for the NICs
check "eth0 absent at start" absent eth0
use_config 9-late-nic.conf
t0=$(cut -d' ' -f1 /proc/uptime)
"$U" apply >/tmp/late.out 2>&1 &
pid=$!
sleep 2
insmod /modules/virtio_net.ko
wait $pid
rc=$?
t1=$(cut -d' ' -f1 /proc/uptime)
echo "# underlay apply (started at $t0, NIC at +2s) exited $rc at $t1"
sed 's/^/#   /' /tmp/late.out
check "apply exits 0" [ "$rc" = 0 ]
check "apply returned once the NICs were there, not after the 10 s wait" \
    [ "$(echo "$t0 $t1" | awk '{ print ($2 - $1 < 8) }')" = 1 ]
check "eth0 appeared" exists eth0
check "eth0.70 created" exists eth0.70
check "mv70 created" exists mv70
check "iv70 created on eth1" has iv70 '"link":"eth1"'
