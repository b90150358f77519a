# common.sh - what every tests/stress/*.t sources: tests/lib.sh with the
# paths it derives from the tree set right (it looks one directory up from
# the test, which is tests/ here), the load generator, and helpers that
# read the supervisor's state from /proc.
#
#   sup_fds                 the supervisor's open fds (ls /proc/PID/fd)
#   sup_rss                 its VmRSS in kB
#   sup_workers             how many children it has (workers, spares)
#   sup_zombies             how many of them are zombies
#   sup_spares              how many of them are idle spare workers
#   quiet SPARE [SECS]      wait until only SPARE workers are left, none a
#                           zombie, and the fd count is the same twice
#   load MODE ARG...        tests/stress/load.py, output to $WT_DIR/MODE.out
#   fig NAME                a figure of the last load run (key=value)
#   alive_count PID...      how many of them are still alive
#   our_procs               live processes with our handler dir as cwd
#   daemon_crashes          worker exits other than status 0 in the log
#   spawned_pids            the pids of every handler the workers spawned

S_HERE=$(cd "$(dirname "$0")" && pwd)
S_ROOT=$(cd "$S_HERE/../.." && pwd)
b=${WSTASKD_BUILD:-build}
case $b in /*) ;; *) b=$S_ROOT/$b ;; esac
export WSTASKD_BUILD=$b
# shellcheck source=tests/lib.sh
. "$S_ROOT/tests/lib.sh"
# shellcheck disable=SC2034 # lib.sh's
T_ROOT=$S_ROOT
# The handlers: tests/handlers, plus monorec compiled here (a C program
# starts in ~1 ms: a shell or Perl handler spends ~15 ms before it can
# record anything, and cancels under load hit most of them in that time).
mkdir "$WT_DIR/handlers"
ln -s "$S_ROOT"/tests/handlers/* "$WT_DIR/handlers/"
if ! ${CC:-cc} -O2 -Wall -Wextra -Werror -o "$WT_DIR/handlers/monorec" \
    "$S_HERE/monorec.c"; then
	bail_out "cannot compile $S_HERE/monorec.c"
fi
# shellcheck disable=SC2034
T_HANDLERS=$WT_DIR/handlers
# shellcheck disable=SC2034
PYCLIENT=$S_ROOT/tests/pyclient.py
LOADPY=$S_HERE/load.py
PY=/usr/bin/python3
S_LAST=

# shellcheck disable=SC2012 # fd names are numbers
sup_fds() { ls "/proc/$T_DPID/fd" 2>/dev/null | wc -l; }
sup_rss() { awk '/^VmRSS/ { print $2 }' "/proc/$T_DPID/status"; }
# The supervisor's children but its fork server: workers, and zombies.
sup_workers() {
	echo $(($(children "$T_DPID" | wc -l) - $(fork_server "$T_DPID" | wc -l)))
}
sup_spares() { spares "$T_DPID" | wc -l; }
sup_zombies() {
	local p n=0 st
	for p in $(children "$T_DPID"); do
		st=$(awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$p/stat" 2>/dev/null)
		[ "$st" = Z ] && n=$((n + 1))
	done
	echo "$n"
}

# quiet SPARE [SECS]: only the spares are left and the fd count is stable.
S_QUIET_FDS=
quiet_once() {
	local fds
	if [ "$(sup_workers)" != "$1" ] || [ "$(sup_zombies)" != 0 ]; then
		S_QUIET_FDS=
		return 1
	fi
	fds=$(sup_fds)
	if [ "$fds" = "$S_QUIET_FDS" ]; then
		return 0
	fi
	S_QUIET_FDS=$fds
	return 1
}
quiet() {
	S_QUIET_FDS=
	wait_for "${2:-20}" eval 'quiet_once '"$1"' && sleep 0.2'
}

# load MODE ARG...: run the load generator; its output is kept and shown
# as diag lines (the figures), and fig reads it.
load() {
	local mode=$1
	S_LAST=$WT_DIR/$mode.out
	"$PY" "$LOADPY" "$@" > "$S_LAST" 2> "$WT_DIR/$mode.err"
	local rc=$?
	sed 's/^/# /' "$S_LAST"
	if [ -s "$WT_DIR/$mode.err" ]; then
		diag "load.py $mode stderr:"
		head -n 20 "$WT_DIR/$mode.err" | sed 's/^/#   /'
	fi
	return $rc
}
fig() { sed -n "s/^$1=//p" "$S_LAST" | tail -n 1; }
bad_lines() { grep -c '^bad ' "$S_LAST"; }

alive_count() {
	local p line n=0 st
	for p in "$@"; do
		{ read -r line < "/proc/$p/stat"; } 2>/dev/null || continue
		st=${line##*) }
		st=${st%% *}
		[ "$st" != Z ] && [ "$st" != X ] && n=$((n + 1))
	done
	echo "$n"
}

# our_procs: the live processes whose working directory is our handler
# directory: handlers, and whatever they started (pid reuse cannot fool it).
our_procs() {
	local d
	for d in /proc/[0-9]*; do
		[ "$(readlink "$d/cwd" 2>/dev/null)" = "$T_HANDLERS" ] &&
		    [ "$(alive_count "${d#/proc/}")" = 1 ] && echo "${d#/proc/}"
	done
	return 0
}

# Worker exits other than status 0 (a crash, a signal, a non-zero status).
daemon_crashes() {
	grep -cE 'event=exit pid=[0-9]+ .*(status=[1-9]|signal=)' "$WT_DIR/daemon.log"
}

spawned_pids() {
	sed -n 's/.*event=spawn .* pid=\([0-9]*\).*/\1/p' "$WT_DIR/daemon.log"
}

# le A B, ge A B: numeric comparisons for check (empty counts as failure).
le() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }
ge() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
