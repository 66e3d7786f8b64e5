# shellcheck shell=bash
# Helpers for the guest side of tests/systemd-vm (sourced by bash).
#
# Lines go to the host over the virtio port org.underlay.test, opened once as
# fd 3 (a virtio port can be open only once at a time):
#   ok - NAME / FAIL - NAME   one per check, details indented below a FAIL
#   # TEXT                    a note
#   REQ WHAT ARGS             a request the host answers with "ACK WHAT ..."
# Everything is also echoed to stdout (the journal and the serial console).

PORT=/dev/virtio-ports/org.underlay.test

open_port() {
	# udev makes the port's /dev/virtio-ports/ link during coldplug, which a loaded
	# host under TCG can stretch well past the start of this service.
	local end=$((SECONDS + 120))
	while [ "$SECONDS" -lt "$end" ]; do
		[ -c "$PORT" ] && exec 3<>"$PORT" && return 0
		sleep 0.2
	done
	echo "no $PORT" >&2
	return 1
}

say() {
	printf '%s\n' "$*" >&3
	printf '%s\n' "$*"
}
note() { say "# $*"; }

# check NAME COMMAND...: run COMMAND; "ok - NAME", or "FAIL - NAME" with its
# output indented below.
check() {
	local name=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ]; then
		say "ok - $name"
	else
		say "FAIL - $name"
		[ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/    /' | while IFS= read -r l; do say "$l"; done
	fi
	return "$rc"
}

# request WHAT ARGS...: ask the host (QMP) and wait for "ACK WHAT".
request() {
	local reply
	say "REQ $*"
	while IFS= read -r -t 120 reply <&3; do
		reply=${reply%$'\r'}
		case $reply in
		"ACK $1"*) return 0 ;;
		"NAK $1"*)
			echo "host: $reply"
			return 1
			;;
		esac
	done
	echo "no answer from the host to: $*"
	return 1
}

prop() { systemctl show -P "$2" "$1"; }

# us UNIT PROPERTY: a monotonic timestamp in microseconds (0 if never).
us() {
	local v
	v=$(prop "$1" "$2")
	echo "${v:-0}"
}

# unit_is UNIT ACTIVESTATE [RESULT]
unit_is() {
	local a r
	a=$(prop "$1" ActiveState)
	r=$(prop "$1" Result)
	if [ "$a" != "$2" ] || { [ -n "${3:-}" ] && [ "$r" != "$3" ]; }; then
		echo "$1: ActiveState=$a Result=$r, want ActiveState=$2${3:+ Result=$3}"
		systemctl status --no-pager -n 20 "$1" 2>&1 | head -n 30
		return 1
	fi
}

# wait_for SECONDS COMMAND...: retry COMMAND every 0.2 s until it succeeds.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$end" ] || {
			"$@"
			return 1
		}
		sleep 0.2
	done
}

# link_is [-n NS] NAME KIND PARENT: NAME exists with that kind ("vlan id N",
# "macvlan", "dummy") on that parent (a name; "-" for none; "ifN" for a
# parent in another namespace), per `ip -d link`.
link_is() {
	local ns=()
	if [ "$1" = -n ]; then
		ns=(-n "$2")
		shift 2
	fi
	local name=$1 kind=$2 parent=$3 line
	line=$(ip "${ns[@]}" -d -o link show dev "$name" 2>&1) || {
		echo "$name: $line"
		return 1
	}
	case $parent in
	-) case $line in *": $name: "*) ;; *)
		echo "$name should have no parent: $line"
		return 1
		;;
	esac ;;
	*) case $line in *": $name@$parent: "*) ;; *)
		echo "$name should sit on $parent: $line"
		return 1
		;;
	esac ;;
	esac
	case $kind in
	"vlan id "*) case $line in *" vlan protocol 802.1Q id ${kind#vlan id } "*) return 0 ;; esac ;;
	macvlan) case $line in *" macvlan mode "*) return 0 ;; esac ;;
	dummy) case $line in *" dummy "*) return 0 ;; esac ;;
	esac
	echo "$name should be a $kind: $line"
	return 1
}

# absent [-n NS] NAME...: none of these links exists.
absent() {
	local ns=() n bad=0
	if [ "$1" = -n ]; then
		ns=(-n "$2")
		shift 2
	fi
	for n in "$@"; do
		if ip "${ns[@]}" link show dev "$n" >/dev/null 2>&1; then
			echo "still there: $(ip "${ns[@]}" -d -o link show dev "$n")"
			bad=1
		fi
	done
	return $bad
}

ifindex() { cat "/sys/class/net/$1/ifindex"; }
