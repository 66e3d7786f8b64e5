# shellcheck shell=sh disable=SC2154 # sourced after /lib.sh ($IP, $U, ...)
# Scenario B (the benchmark, run by tests/vm/bench, not by default): N VLANs on eth0 plus one
# macvlan on each, made and removed by underlay, by `ip -batch`, and by a shell loop of
# `ip link add` (one process per link), alternating, 3 rounds each. Prints BENCH lines that
# tests/vm/bench turns into a table. Times come from the kernel's monotonic clock (ns).
now() { awk '/^now at/ { print $3; exit }' /proc/timer_list; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", (b - a) / 1e9 }'; }
bench() { # N TOOL OP CMD...: run CMD, print its time
    _n=$1 _tool=$2 _op=$3
    shift 3
    _t0=$(now)
    "$@" >/tmp/bench.out 2>&1
    _rc=$?
    _t1=$(now)
    echo "BENCH arch=$(uname -m) n=$_n tool=$_tool op=$_op secs=$(secs "$_t0" "$_t1") rc=$_rc"
    [ "$_rc" = 0 ] || sed 's/^/#   /' /tmp/bench.out | tail -n 5
}
sizes=${BENCH_SIZES:-}
if [ -z "$sizes" ]; then
    case $(uname -m) in
    x86_64) sizes="50 100 200 400" ;;
    *) sizes="100" ;;
    esac
fi
"$IP" link set eth0 up
for n in $sizes; do
    conf=/tmp/bench-$n.conf add=/tmp/add-$n.batch del=/tmp/del-$n.batch loop=/tmp/loop-$n.sh
    printf '[global]\nwait = 0\n' >"$conf"
    : >"$add"
    : >"$del"
    echo ". /lib.sh" >"$loop"
    i=1
    while [ "$i" -le "$n" ]; do
        printf '\n[vlan eth0.%s]\n\n[macvlan mvb%s]\nparent = eth0.%s\n' "$i" "$i" "$i" >>"$conf"
        echo "link add link eth0 name eth0.$i up type vlan id $i" >>"$add"
        echo "link add link eth0.$i name mvb$i up type macvlan mode bridge" >>"$add"
        echo "link del mvb$i" >>"$del"
        echo "link del eth0.$i" >>"$del"
        echo "\"\$IP\" link add link eth0 name eth0.$i up type vlan id $i" >>"$loop"
        echo "\"\$IP\" link add link eth0.$i name mvb$i up type macvlan mode bridge" >>"$loop"
        i=$((i + 1))
    done
    cp "$conf" /etc/underlay.conf
    for round in 1 2 3; do
        bench "$n" underlay create "$U" -q apply
        bench "$n" underlay noop "$U" -q apply
        bench "$n" underlay down "$U" -q down
        bench "$n" ip-batch create "$IP" -batch "$add"
        bench "$n" ip-batch down "$IP" -batch "$del"
        bench "$n" shell-loop create sh "$loop"
        "$IP" -batch "$del" >/dev/null 2>&1
        echo "# round $round of n=$n done"
    done
    # Peak memory of one apply of n links (busybox time -v), and the in-process time from
    # start to the first netlink message (underlay -v prints it).
    if [ "$n" = 400 ] || [ "$sizes" = "$n" ]; then
        busybox time -v "$U" -q apply >/tmp/rss.out 2>&1
        # busybox time takes ru_maxrss (KiB) for a page count and multiplies it by 4 (4 KiB pages).
        rss=$(awk -F: '/Maximum resident/ { gsub(/ /, "", $2); print int($2 / 4) }' /tmp/rss.out)
        echo "BENCH arch=$(uname -m) n=$n tool=underlay op=peak-rss-kib secs=$rss rc=0"
        "$U" -q down >/dev/null 2>&1
        start=$("$U" -v apply --dry-run 2>&1 | awk '/first netlink message/ { print $(NF-3); exit }')
        echo "BENCH arch=$(uname -m) n=$n tool=underlay op=first-netlink-us secs=$start rc=0"
    fi
done
check "the benchmark ran" test -n "$sizes"
