# lib.sh - the test harness every tests/*.t sources.
#
# A test starts its own wstaskd on a free loopback port (port 0, read back
# from the log) with the handlers in tests/handlers, drives it with
# clients that read commands from a FIFO and write every message they
# receive to a file, and checks the process table.  Output is TAP.  On
# exit everything the test started is stopped by pid and waited for; the
# reaper that runs each file (tests/reaper.c) fails the file if anything
# is left alive anyway.
#
#   start_wstaskd [FLAG...]      expect_n NAME REGEX COUNT [SECS]
#   stop_wstaskd                 no_line NAME REGEX        (nothing matches)
#   client NAME [OPT...] QUERY   record_pids KIND [SESSION] (from handlers)
#   send NAME TEXT               assert_dead SECS PID...
#   close_client NAME            alive PID, all_alive/all_dead PID...
#   expect NAME REGEX [SECS]     ok/fail/check DESC [CMD...]
#   wait_for SECS CMD...         public_copy USER          (for --user)
#   children/spares/fork_server PID, titled PID TEXT (from /proc)
#   at_exit CMD                  plan N                    (optional)
#   skip_all REASON
#
# The plan is counted, not kept by hand: at exit lib.sh prints TAP's
# trailing plan, 1..N for the N tests that ran.  A file cut short cannot
# pass: if it exits with a non-zero status (a bash error, set -u, `exit 1`)
# a `not ok` saying so comes before the plan and the status stays, which
# prove fails as well; a file killed by a signal prints no plan at all
# (an `exit 0` is taken for a deliberate end, though).  A file that still
# declares `plan N` (at its top, as before) gets 1..N, and fails if
# another number of tests ran.  So a file must not print a plan of its
# own (skip_all prints the one of a file that skips everything), and its
# own clean-up goes to at_exit, not to a trap of its own (t_cleanup must
# see the exit status first).
#
# start_wstaskd ends the file with `Bail out!` (prove stops the whole run)
# and the daemon's log tail when the daemon does not come up; a test that
# expects a start to fail runs $WSTASKD itself.  all_dead, all_alive and
# assert_dead fail, with a diag, on an empty list or a word that is not a
# pid: pids that were never recorded must not pass for dead ones.

set -u

T_ROOT=$(cd "$(dirname "$0")/.." && pwd)
T_BUILD=${WSTASKD_BUILD:-build}
case $T_BUILD in /*) ;; *) T_BUILD=$T_ROOT/$T_BUILD ;; esac
WSTASKD=$T_BUILD/wstaskd
WSCLIENT=$T_BUILD/tests/wsclient
WSTASK=$T_BUILD/wstask
PYCLIENT=$T_ROOT/tests/pyclient.py
T_HANDLERS=$T_ROOT/tests/handlers
WT_DIR=$(mktemp -d /tmp/wstaskd-test.XXXXXX)
export WT_DIR
: > "$WT_DIR/records"

T_N=0
T_FAILED=0
T_PLANNED=	# set by plan N
T_ENDED=	# set by bail_out and skip_all: no plan after theirs
T_CLEANED=	# set once t_cleanup has run
T_END_BAD=	# set by t_end when the count or the daemon log fails the file
T_AT_EXIT=()
T_DPID=
T_PORT=
T_CLIENTS=
T_CLIENT_KIND=${T_CLIENT_KIND:-c}	# c: our wsclient, py: python3-websockets
# A sanitizer report anywhere fails the test file (see t_cleanup).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# plan N: N tests are expected; at exit the plan is 1..N, and another
# count fails the file.  Optional: without it the plan is the count.
plan() { T_PLANNED=$1; }
diag() { printf '# %s\n' "$@"; }
# diag_err TEXT...: diag lines, every line of TEXT, on stderr (prove shows
# stderr without -v, and $(...) does not take it).
diag_err() { printf '%s\n' "$@" | sed 's/^/# /' >&2; }

# at_exit CMD: eval CMD at exit (in the order given), before lib.sh stops
# the daemon and the clients and prints the plan.
at_exit() { T_AT_EXIT+=("$1"); }

# bail_out REASON [DIAG...]: the DIAG lines (to stderr, which prove shows
# without -v), then `Bail out! REASON`; ends the file, and prove's run.
bail_out() {
	local reason=$1
	shift
	[ $# -gt 0 ] && diag_err "$@"
	echo "Bail out! $reason"
	T_ENDED=1
	T_FAILED=$((T_FAILED + 1))
	exit 1
}

# skip_all REASON: the file tests nothing here (TAP's 1..0 # SKIP); ends it.
skip_all() {
	echo "1..0 # SKIP $1"
	T_ENDED=1
	exit 0
}

ok() {
	T_N=$((T_N + 1))
	echo "ok $T_N - $1"
}

fail() {
	T_N=$((T_N + 1))
	T_FAILED=$((T_FAILED + 1))
	echo "not ok $T_N - $1"
	shift
	[ $# -gt 0 ] && diag "$@"
	return 0
}

# check DESC CMD...: ok if CMD succeeds.
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else fail "$desc" "failed: $*"; fi
}

t_now_ms() {
	local t=${EPOCHREALTIME/./}
	echo $((t / 1000))
}

# wait_for SECS CMD...: poll CMD every 20 ms until it succeeds or SECS pass.
wait_for() {
	local ms end
	ms=$(awk -v s="$1" 'BEGIN { printf "%d", s * 1000 }')
	shift
	end=$(($(t_now_ms) + ms))
	while :; do
		"$@" && return 0
		[ "$(t_now_ms)" -ge "$end" ] && return 1
		sleep 0.02
	done
}

# start_wstaskd [FLAG...]: fast timings by default; flags given override.
# With WSTASKD_TEST_CGROUP set (make check-cgroup) every daemon runs with
# --cgroup that directory.
start_wstaskd() {
	: > "$WT_DIR/daemon.log"
	(
		t_close_client_fds
		# shellcheck disable=SC2086
		exec ${WSTASKD_WRAP:-} "$WSTASKD" -l 127.0.0.1:0 -t "$T_HANDLERS" -w "$T_ROOT/www" \
		    --allow-root --kill-grace 200 --ping-interval 1 \
		    --ping-timeout 2 --pass-env WT_DIR -v \
		    ${WSTASKD_TEST_CGROUP:+--cgroup "$WSTASKD_TEST_CGROUP"} "$@" \
		    2>> "$WT_DIR/daemon.log"
	) &
	T_DPID=$!
	await_daemon "$T_DPID" "$WT_DIR/daemon.log" "wstaskd${*:+ $*}"
	T_PORT=$(grep -o 'event=listen addr=127.0.0.1:[0-9]*' "$WT_DIR/daemon.log" |
	    head -n 1 | sed 's/.*://')
	T_URL="ws://127.0.0.1:$T_PORT/stream"
	T_HTTP="http://127.0.0.1:$T_PORT"
}

# await_daemon PID LOG DESC: wait until the daemon PID logs to LOG that it
# listens on 127.0.0.1 (T_START_SECS, default 5 s); if it exits or does
# not get there, bail out (DESC names it) with the end of LOG: every later
# expect would wait its full time for a daemon that is not there.
await_daemon() {
	local st
	if wait_for "${T_START_SECS:-5}" t_listening_or_gone "$1" "$2" &&
	    grep -q 'event=listen addr=127.0.0.1:' "$2"; then
		return 0
	fi
	if alive "$1"; then
		st="did not listen within ${T_START_SECS:-5} s"
		kill -TERM "$1" 2>/dev/null
		wait_for 2 eval "! alive $1" || kill -KILL "$1" 2>/dev/null
		wait "$1" 2>/dev/null
	else
		wait "$1" 2>/dev/null
		st="exited with status $? before listening"
	fi
	[ "$1" = "$T_DPID" ] && T_DPID=
	bail_out "$3: $st" "$3: $st; the end of $2:" \
	    "$(tail -n 20 "$2")"
}
t_listening_or_gone() {
	grep -q 'event=listen addr=127.0.0.1:' "$2" || ! alive "$1"
}

# public_copy USER: a copy of the handlers ($T_HANDLERS, links followed)
# and of www that USER can read and run, for a daemon that drops to USER
# (--user): the checkout may be in a directory USER cannot enter (a clone
# in /root or in a mktemp -d directory, mode 0700).  Prints the copy's
# directory (handlers/, www/), under $WT_DIR, which it makes enterable;
# fails with a diag if USER still cannot read all of it.
public_copy() {
	local d bad
	d=$(mktemp -d "$WT_DIR/public.XXXXXX") &&
	    chmod go+x "$WT_DIR" && chmod 755 "$d" &&
	    cp -RL "$T_HANDLERS" "$d/handlers" && cp -RL "$T_ROOT/www" "$d/www" &&
	    chmod -R a+rX "$d" || return 1
	bad=$(setpriv --reuid "$1" --regid "$(id -g "$1")" --clear-groups \
	    find "$d" ! -readable 2>&1) || bad="find failed: $bad"
	if [ -n "$bad" ]; then
		diag_err "public_copy: $1 cannot read everything in $d:" "$bad"
		return 1
	fi
	echo "$d"
}

# In a child about to exec: drop the write ends of the clients' FIFOs, or
# a client would never see EOF on its stdin while the child lives.
t_close_client_fds() {
	local name fd
	for name in $T_CLIENTS; do
		eval "fd=\${T_FD_$name:-}"
		[ -n "$fd" ] && exec {fd}>&-
	done
	return 0
}

# stop_wstaskd: SIGTERM and wait; sets T_DSTATUS.
stop_wstaskd() {
	T_DSTATUS=
	[ -n "$T_DPID" ] || return 0
	kill -TERM "$T_DPID" 2>/dev/null
	wait "$T_DPID"
	T_DSTATUS=$?
	T_DPID=
}

# client NAME [CLIENT-OPTION...] QUERY: QUERY is appended to the URL
# ("?session=x", or "" for none).  Output goes to $WT_DIR/NAME.out.
client() {
	local name=$1 query fd
	shift
	query=${!#}
	set -- "${@:1:$(($# - 1))}"
	rm -f "$WT_DIR/$name.in"
	mkfifo "$WT_DIR/$name.in"
	: > "$WT_DIR/$name.out"
	if [ "$T_CLIENT_KIND" = py ]; then
		(t_close_client_fds; exec /usr/bin/python3 "$PYCLIENT" -t 60 "$@" \
		    "$T_URL$query" < "$WT_DIR/$name.in" > "$WT_DIR/$name.out" \
		    2> "$WT_DIR/$name.err") &
	else
		(t_close_client_fds; exec "$WSCLIENT" -t 60 "$@" "$T_URL$query" \
		    < "$WT_DIR/$name.in" > "$WT_DIR/$name.out" \
		    2> "$WT_DIR/$name.err") &
	fi
	eval "T_PID_$name=\$!"
	# Read-write: never blocks, even if the client died before opening it.
	exec {fd}<> "$WT_DIR/$name.in"
	eval "T_FD_$name=$fd"
	T_CLIENTS="$T_CLIENTS $name"
}

client_pid() { eval "echo \${T_PID_$1:-}"; }

# send NAME TEXT: one text message.
send() {
	local fd
	eval "fd=\${T_FD_$1:-}"
	[ -n "$fd" ] || return 1
	printf 'send %s\n' "$2" >&"$fd"
}

# cmd NAME LINE: any client command (close 4000, frag 3 ..., sendfile F).
cmd() {
	local fd
	eval "fd=\${T_FD_$1:-}"
	[ -n "$fd" ] || return 1
	printf '%s\n' "$2" >&"$fd"
}

# close_client NAME: stdin EOF (a close 1000), then wait for the client.
close_client() {
	local fd pid
	eval "fd=\${T_FD_$1:-}; pid=\${T_PID_$1:-}"
	if [ -n "$fd" ]; then
		exec {fd}>&-
		eval "T_FD_$1="
	fi
	if [ -n "$pid" ]; then
		wait "$pid" 2>/dev/null
		eval "T_PID_$1="
	fi
}

# kill_client NAME [SIG]: the client vanishes (default SIGKILL).
kill_client() {
	local pid
	pid=$(client_pid "$1")
	[ -n "$pid" ] && kill -"${2:-KILL}" "$pid" 2>/dev/null
	if [ "${2:-KILL}" != STOP ]; then
		wait "$pid" 2>/dev/null
		eval "T_PID_$1="
		close_client "$1"
	fi
}

count_lines() { grep -cE -- "$2" "$WT_DIR/$1.out"; }

# expect NAME REGEX [SECS]: wait until a line of NAME's output matches.
expect() {
	local secs=${3:-10}
	wait_for "$secs" grep -qE -- "$2" "$WT_DIR/$1.out"
}

# expect_n NAME REGEX N [SECS]: wait until N lines match.
expect_n() {
	wait_for "${4:-10}" lines_ge "$1" "$2" "$3"
}
lines_ge() { [ "$(grep -cE -- "$2" "$WT_DIR/$1.out")" -ge "$3" ]; }

no_line() { ! grep -qE -- "$2" "$WT_DIR/$1.out"; }

# line_no NAME REGEX: number of the first matching line (0: none).
line_no() {
	local n
	n=$(grep -nE -- "$2" "$WT_DIR/$1.out" | head -n 1 | cut -d: -f1)
	echo "${n:-0}"
}

# record_pids KIND [SESSION]: pids the handlers recorded (start, child, ...).
record_pids() {
	if [ $# -gt 1 ]; then
		awk -v k="$1" -v s="$2" '$1 == k && $3 == s { print $2 }' "$WT_DIR/records"
	else
		awk -v k="$1" '$1 == k { print $2 }' "$WT_DIR/records"
	fi
}

# alive PID: the process exists and is not a zombie.
alive() {
	local st
	st=$(awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# all_dead PID...: none of them is alive.  An empty list, or a word that
# is not a pid, fails with a diag (see the header): "no pid" is a bug of
# the test, not a death.
all_dead() {
	t_pids all_dead "$@" || return 1
	t_none_alive "$@"
}

# all_alive PID...: every one is alive (the same rules for the list).
all_alive() {
	local p
	t_pids all_alive "$@" || return 1
	for p in "$@"; do
		alive "$p" || return 1
	done
	return 0
}

# assert_dead SECS PID...: all gone within SECS (the same rules).
assert_dead() {
	local secs=$1 p left=
	shift
	t_pids assert_dead "$@" || return 1
	wait_for "$secs" t_none_alive "$@" && return 0
	for p in "$@"; do alive "$p" && left="$left $p"; done
	diag "assert_dead: still alive after $secs s:$left"
	return 1
}

t_none_alive() {
	local p
	for p in "$@"; do
		alive "$p" && return 1
	done
	return 0
}

# t_pids WHO WORD...: true if the WORDs are one or more pids.
t_pids() {
	local who=$1 p
	shift
	if [ $# = 0 ]; then
		diag "$who: no pid given, nothing to check (were they recorded?)"
		return 1
	fi
	for p in "$@"; do
		case $p in
		'' | *[!0-9]*)
			diag "$who: '$p' is not a pid (in: $*)"
			return 1 ;;
		esac
	done
	return 0
}

# worker_of SESSION: pid of the worker the supervisor granted SESSION to last.
worker_of() {
	grep -E "event=grant session=$1 pid=" "$WT_DIR/daemon.log" | tail -n 1 |
	    sed 's/.* pid=\([0-9]*\).*/\1/'
}

# children PID: the children of PID (from /proc/*/stat, no fork per entry).
children() {
	local f line fields
	for f in /proc/[0-9]*/stat; do
		{ read -r line < "$f"; } 2>/dev/null || continue
		read -ra fields <<< "${line##*) }"
		if [ "${fields[1]}" = "$1" ]; then
			f=${f#/proc/}
			echo "${f%/stat}"
		fi
	done
}

# titled PID TEXT: the children of PID whose title (cmdline) has TEXT.
titled() {
	local p
	for p in $(children "$1"); do
		grep -qF -- "$2" "/proc/$p/cmdline" 2>/dev/null && echo "$p"
	done
	return 0
}
# spares PID: the children of PID titled as spare workers.
spares() { titled "$1" 'worker (spare)'; }
# fork_server PID: the child of PID titled as its fork server, if any.
fork_server() { titled "$1" 'fork server'; }

# The EXIT trap: the file's at_exit commands, then everything started here
# is stopped, the daemon log scanned, and the plan printed (see the header).
# ST, default $?, is the file's exit status.
t_cleanup() {
	local st=${1:-$?} name pid fd cmd
	[ -z "$T_CLEANED" ] || return 0
	T_CLEANED=1
	for cmd in "${T_AT_EXIT[@]}"; do
		eval "$cmd"
	done
	for name in $T_CLIENTS; do
		pid=$(client_pid "$name")
		[ -n "$pid" ] && kill -CONT "$pid" 2>/dev/null
		eval "fd=\${T_FD_$name:-}"
		if [ -n "$fd" ]; then
			exec {fd}>&-
			eval "T_FD_$name="
		fi
	done
	wait_for 5 true_if_clients_gone
	for name in $T_CLIENTS; do
		pid=$(client_pid "$name")
		[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	done
	stop_wstaskd
	wait
	[ -n "$T_ENDED" ] || t_end "$st"
	if [ "$T_FAILED" -gt 0 ] || [ -n "${KEEP:-}" ]; then
		diag "log and client output kept in $WT_DIR"
	else
		rm -rf "$WT_DIR"
	fi
	# Not only a not ok: the status says it too, as for a bash error.
	if [ "$st" = 0 ] && [ -n "$T_END_BAD" ]; then
		trap - EXIT
		exit 1
	fi
}

# t_end ST: a not ok for a daemon log with a report or a file that did not
# run to its end (status ST), then the plan.
t_end() {
	T_END_BAD=
	if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:|protocol-violation|ERROR SUMMARY: [1-9]|definitely lost: [1-9]' \
	    "$WT_DIR/daemon.log" 2>/dev/null; then
		fail "no sanitizer, valgrind or protocol report in the daemon log"
		grep -E -A20 'Sanitizer|runtime error:|protocol-violation|ERROR SUMMARY: [1-9]|definitely lost: [1-9]' \
		    "$WT_DIR/daemon.log" | head -40 | sed 's/^/# /'
		T_END_BAD=1
	fi
	if [ "$1" != 0 ]; then
		fail "the test file ran to its end" \
		    "it exited with status $1 after test $T_N"
	fi
	if [ -z "$T_PLANNED" ]; then
		echo "1..$T_N"
	else
		echo "1..$T_PLANNED"
		if [ "$T_N" != "$T_PLANNED" ]; then
			diag "planned $T_PLANNED tests, ran $T_N"
			T_END_BAD=1
		fi
	fi
}
true_if_clients_gone() {
	local name pid
	for name in $T_CLIENTS; do
		pid=$(client_pid "$name")
		[ -n "$pid" ] && alive "$pid" && return 1
	done
	return 0
}
trap t_cleanup EXIT

# stamp NAME REGEX: the -T timestamp (usec) of NAME's first line matching.
stamp() {
	grep -E -- "$2" "$WT_DIR/$1.out" | head -n 1 | cut -d' ' -f1
}

# max_record_ns KIND [SESSION [BATCH]]: the latest usec stamp of such records.
max_record_ns() {
	awk -v k="$1" -v s="${2:-}" -v b="${3:-}" '$1 == k && (s == "" || $3 == s) &&
	    (b == "" || $4 == b) { if ($6 > m) m = $6 } END { printf "%.0f\n", m }' \
	    "$WT_DIR/records"
}

# min_record_ns KIND [SESSION [BATCH]]: the earliest usec stamp of such records.
min_record_ns() {
	awk -v k="$1" -v s="${2:-}" -v b="${3:-}" '$1 == k && (s == "" || $3 == s) &&
	    (b == "" || $4 == b) { if (m == "" || $6 < m) m = $6 } END { printf "%.0f\n", m }' \
	    "$WT_DIR/records"
}

# batch_pids SESSION BATCH: pids of the handlers that started for BATCH.
batch_pids() {
	awk -v s="$1" -v b="$2" '$1 == "start" && $3 == s && $4 == b { print $2 }' \
	    "$WT_DIR/records"
}

# n_records KIND SESSION BATCH
n_records() {
	awk -v k="$1" -v s="$2" -v b="$3" '$1 == k && $3 == s && $4 == b' \
	    "$WT_DIR/records" | wc -l
}

# records_ge KIND SESSION BATCH N: at least N such records (for wait_for).
records_ge() { [ "$(n_records "$1" "$2" "$3")" -ge "$4" ]; }
