# Helpers for the scenario scripts (busybox sh). Sourced by /init and by
# each scenario; $SC is the scenario number.
#
# Debian's iproute2 is /usr/sbin/ip; busybox sh would run its own `ip`
# applet for a bare `ip`, so always use $IP.
IP=/usr/sbin/ip
U=/usr/sbin/underlay

# Expected failures. A scenario may set XFAIL (at its top) to a file of lines
#   TARGETS PATTERN REASON...
# TARGETS is "*" or a comma list of globs on ARCH-KERNEL (x86_64-5.10, *-6.1),
# PATTERN a glob on the check's description, REASON why it fails today (a
# feature underlay lacks). A listed check still runs. If it fails, it prints
# "not ok ... # TODO REASON" and does not fail the scenario; if it passes, it
# prints "ok ... # TODO passed" so that the line can go.
# _xfail_load: once per scenario, the lines for this target -> /tmp/xfail.$SC
_xfail_load() {
    [ -f "/tmp/xfail.$SC" ] && return 0
    : >"/tmp/xfail.$SC"
    _t="$(cat /etc/arch)-$(cat /etc/kernel)"
    set -f
    while read -r _ts _pat _why; do
        case $_ts in '' | '#'*) continue ;; esac
        _ifs=$IFS
        IFS=,
        for _g in $_ts; do
            # shellcheck disable=SC2254 # the glob is wanted
            case $_t in $_g)
                printf '%s %s\n' "$_pat" "$_why" >>"/tmp/xfail.$SC"
                break
                ;;
            esac
        done
        IFS=$_ifs
    done <"$XFAIL"
    set +f
}
# xfail DESC: succeeds, with the reason in $xfail_why, if DESC is listed
xfail() {
    [ -n "${XFAIL:-}" ] && [ -f "$XFAIL" ] || return 1
    _xfail_load
    while read -r _pat xfail_why; do
        # shellcheck disable=SC2254
        case $1 in $_pat) return 0 ;; esac
    done <"/tmp/xfail.$SC"
    return 1
}
ok() {
    if xfail "$*"; then
        echo "ok - S$SC $* [$(cut -d" " -f1 /proc/uptime)] # TODO passed, though listed as failing: $xfail_why"
    else
        echo "ok - S$SC $* [$(cut -d" " -f1 /proc/uptime)]"
    fi
    echo ok >>/tmp/results
}
nok() {
    if xfail "$*"; then
        echo "not ok - S$SC $* [$(cut -d" " -f1 /proc/uptime)] # TODO $xfail_why"
        echo todo >>/tmp/results
    else
        echo "not ok - S$SC $* [$(cut -d" " -f1 /proc/uptime)]"
        echo fail >>/tmp/results
    fi
}

# check DESC CMD...: passes when CMD succeeds; shows its output otherwise
check() {
    _d=$1
    shift
    if "$@" >/tmp/check.out 2>&1; then
        ok "$_d"
    else
        nok "$_d"
        sed 's/^/#   /' /tmp/check.out | head -n 20
    fi
}
# check_not DESC CMD...: passes when CMD fails
check_not() {
    _d=$1
    shift
    if "$@" >/tmp/check.out 2>&1; then
        nok "$_d"
        sed 's/^/#   /' /tmp/check.out | head -n 20
    else
        ok "$_d"
    fi
}

# u ARGS...: run underlay, echo its output with a prefix, keep it in
# $u_out and the exit code in $u_rc
u() {
    "$U" "$@" >/tmp/u.out 2>&1
    u_rc=$?
    u_out=$(cat /tmp/u.out)
    echo "# \$ underlay $* -> exit $u_rc"
    sed 's/^/#   /' /tmp/u.out | head -n 30
    return 0
}
rc_is() { [ "$u_rc" = "$1" ]; }
out_has() { echo "$u_out" | grep -qi -- "$1"; }

# use_config FILE: install a scenario's config as /etc/underlay.conf
use_config() { cp "/scenarios/$1" /etc/underlay.conf; }

exists() { [ -e "/sys/class/net/$1" ]; }
absent() { ! exists "$1"; }
ifindex() { cat "/sys/class/net/$1/ifindex"; }
# has IF PATTERN: `ip -d -j link show IF` contains PATTERN (fixed string)
has() { "$IP" -d -j link show dev "$1" 2>/dev/null | grep -qF -- "$2"; }
# nhas NS IF PATTERN: same inside netns NS
nhas() { "$IP" -n "$1" -d -j link show dev "$2" 2>/dev/null | grep -qF -- "$3"; }

# reach NS ADDR: ping from netns NS ("-" for the root namespace)
reach() {
    if [ "$1" = - ]; then
        ping -c 1 -W 5 -w 5 -q "$2" >/dev/null 2>&1 || ping -c 2 -W 2 -w 4 "$2"
    else
        "$IP" netns exec "$1" ping -c 1 -W 5 -w 5 -q "$2" >/dev/null 2>&1 ||
            "$IP" netns exec "$1" ping -c 2 -W 2 -w 4 "$2"
    fi
}
# noreach NS ADDR: succeeds when no reply comes back within ~3 s
noreach() {
    if [ "$1" = - ]; then
        ! ping -c 3 -W 1 -w 3 -q "$2"
    else
        ! "$IP" netns exec "$1" ping -c 3 -W 1 -w 3 -q "$2"
    fi
}

# ns NAME: create a netns with lo up
ns() { "$IP" netns add "$1" && "$IP" -n "$1" link set lo up; }
# to_ns IF NS ADDR/PREFIX: move a link into NS, address it, bring it up
to_ns() {
    "$IP" link set "$1" netns "$2" &&
        "$IP" -n "$2" addr add "$3" dev "$1" &&
        "$IP" -n "$2" link set "$1" up
}
# peer_ns: move eth1 into netns "peer" (the far end of the hub), up
peer_ns() { ns peer && "$IP" link set eth1 netns peer && "$IP" -n peer link set eth1 up; }

# Back to a clean slate: eth1 home, no namespaces, only lo/eth0/eth1.
reset_net() {
    for n in $("$IP" netns list 2>/dev/null | cut -d' ' -f1); do
        "$IP" -n "$n" link set eth1 netns 1 2>/dev/null
        "$IP" netns del "$n"
    done
    # twice: a link whose parent went first is gone already
    for _ in 1 2; do
        for l in /sys/class/net/*; do
            l=${l##*/}
            case $l in lo | eth0 | eth1) ;; *) "$IP" link del "$l" 2>/dev/null ;; esac
        done
    done
    for l in eth0 eth1; do
        exists $l || continue
        "$IP" addr flush dev $l
        "$IP" link set $l mtu 1500 up
    done
    rm -rf /run/underlay /etc/underlay.conf
}
