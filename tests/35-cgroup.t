#!/bin/bash
# Containment in cgroups (SPEC 11): --cgroup DIR checked at start, a
# cgroup per session and per task, cgroup.kill at a task's end, on
# cancel, supersede, close and in the crash sweep, and the cgroups removed
# when empty.  Needs root and a cgroup2 mount with cgroup.kill; the limit
# flags' effect is in 36-cgroup-limits.t (only where the controllers are).
. "$(dirname "$0")/lib.sh"

# This file chooses its own --cgroup (and none for the old behaviour).
unset WSTASKD_TEST_CGROUP

[ "$(id -u)" = 0 ] || skip_all "needs root to make a cgroup"
CG_MNT=$(awk '/ - cgroup2 / { print $5; exit }' /proc/self/mountinfo)
[ -n "$CG_MNT" ] || skip_all "no cgroup2 mount"
CG=$CG_MNT/wstaskd-test.$$
mkdir "$CG" 2>/dev/null || skip_all "cannot make a cgroup under $CG_MNT"
[ -e "$CG/cgroup.kill" ] || { rmdir "$CG"; skip_all "no cgroup.kill (Linux < 5.14)"; }

# Removes what a test left below $CG, deepest first, then $CG; the daemon
# is stopped first (at_exit runs before lib.sh stops it).
cg_cleanup() {
	stop_wstaskd
	[ -d "$CG" ] && find "$CG" -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null
	rmdir "$CG" 2>/dev/null
	return 0
}
at_exit cg_cleanup

# sessions / tasks: the cgroup directories below $CG now.
sessions() { find "$CG" -mindepth 1 -maxdepth 1 -type d -name 'session.*' | sort; }
tasks() { find "$CG" -mindepth 2 -maxdepth 2 -type d -name 'task.*' | sort; }
no_cgroups() { [ -z "$(sessions)" ]; }
n_words() { echo $#; }

# ================================================================ refused at start
refused() {	# DESC REGEX FLAG...: exit 64 and one line matching REGEX
	local desc=$1 re=$2 out st
	shift 2
	out=$("$WSTASKD" -t "$T_HANDLERS" -w "$T_ROOT/www" --allow-root -n "$@" 2>&1)
	st=$?
	if [ "$st" = 64 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] &&
	    printf '%s\n' "$out" | grep -qE -- "$re"; then
		ok "$desc"
	else
		fail "$desc" "status $st, output: $out"
	fi
}
refused "a directory that is not cgroup2 is refused" \
    '^wstaskd: --cgroup /tmp: not a cgroup v2 directory$' --cgroup /tmp
refused "a missing directory is refused" \
    "^wstaskd: --cgroup $CG/missing: No such file or directory\$" --cgroup "$CG/missing"
PUB=$(public_copy nobody) || bail_out "cannot make a copy of the handlers for nobody"
mkdir "$CG/ro" && chmod 755 "$CG/ro"
out=$(setpriv --reuid nobody --regid "$(id -g nobody)" --clear-groups \
    "$WSTASKD" -t "$PUB/handlers" -w "$PUB/www" -n --cgroup "$CG/ro" 2>&1)
st=$?
check "a directory the daemon's user cannot write is refused (status $st: $out)" \
    eval '[ "$st" = 64 ] && [ "$out" = "wstaskd: --cgroup: $CG/ro: Permission denied" ]'
refused "a limit without --cgroup is refused" \
    '^wstaskd: --task-pids-max: needs --cgroup$' --task-pids-max 10
check "-n accepts a usable cgroup2 directory" eval \
    '"$WSTASKD" -t "$T_HANDLERS" -w "$T_ROOT/www" --allow-root -n --cgroup "$CG" 2>/dev/null'
if grep -qw pids "$CG/cgroup.controllers"; then
	ok "# SKIP pids is a controller here: no refusal to see"
else
	refused "--task-pids-max where the pids controller is missing: refused naming it" \
	    '^wstaskd: --cgroup .*: no pids controller \(needed by --task-pids-max\)$' \
	    --cgroup "$CG" --task-pids-max 10
	refused "--session-pids-max likewise" \
	    '^wstaskd: --cgroup .*: no pids controller \(needed by --session-pids-max\)$' \
	    --cgroup "$CG" --session-pids-max 100
fi
if grep -qw memory "$CG/cgroup.controllers"; then
	ok "# SKIP memory is a controller here: no refusal to see"
else
	refused "--task-memory-max where the memory controller is missing: refused naming it" \
	    '^wstaskd: --cgroup .*: no memory controller \(needed by --task-memory-max\)$' \
	    --cgroup "$CG" --task-memory-max 64000000
fi

# ================================================================ escaped descendants die with their task
start_wstaskd --cgroup "$CG"
client a "?session=cg-a"
expect a '"type":"ready"'
worker=$(worker_of cg-a)
check "the session's cgroup is made at the grant: $CG/session.$worker" \
    test -d "$CG/session.$worker"
send a '{"type":"run","batch":"S","tasks":[{"task":"scatter","args":100}]}'
expect a '"type":"result","batch":"S","id":"0","ok":true' 20
spids=$(record_pids scatter cg-a)
# shellcheck disable=SC2086
check "scatter recorded 100 setsid'd, double-forked sleepers" test "$(n_words $spids)" = 100
# shellcheck disable=SC2086
check "all 100 are dead when its result has arrived" t_none_alive $spids
check "... and the task's cgroup is gone" test -z "$(tasks)"
check "... the session's is still there" test -d "$CG/session.$worker"

# ================================================================ cancel
send a '{"type":"run","batch":"C","tasks":[{"task":"family","args":30},{"task":"scatter","args":[5,30]}]}'
wait_for 5 records_ge start cg-a C 1
wait_for 5 eval '[ "$(record_pids escapee cg-a | wc -w)" -ge 1 ]'
check "two task cgroups while C runs" eval '[ "$(tasks | wc -l)" = 2 ]'
cpids="$(batch_pids cg-a C) $(record_pids child cg-a) $(record_pids escapee cg-a)"
send a '{"type":"cancel"}'
expect a '"type":"cancelled","batch":"C"'
# shellcheck disable=SC2086
check "cancel: family, its child and its escapee are dead at cancelled" t_none_alive $cpids
check "cancel: no task cgroup is left" test -z "$(tasks)"

# ================================================================ supersede
send a '{"type":"run","batch":"P","tasks":[{"task":"family","args":30}]}'
wait_for 5 records_ge start cg-a P 1
ppids="$(batch_pids cg-a P) $(record_pids escapee cg-a)"
client b "?session=cg-a"
expect b '"type":"ready","session":"cg-a","superseded":true'
# shellcheck disable=SC2086
check "supersede: the old batch's processes (escapee too) are dead at the new ready" \
    t_none_alive $ppids
check "supersede: the old worker's session cgroup is removed" test ! -d "$CG/session.$worker"
worker_b=$(worker_of cg-a)
check "supersede: the new holder has its own" test -d "$CG/session.$worker_b"

# ================================================================ close
send b '{"type":"run","batch":"Q","tasks":[{"task":"family","args":30}]}'
wait_for 5 records_ge start cg-a Q 1
qpids="$(batch_pids cg-a Q) $(record_pids escapee cg-a)"
close_client b
close_client a
# shellcheck disable=SC2086
check "close: every process of the session is dead" assert_dead 5 $qpids
check "close: no cgroup is left below $CG" wait_for 5 no_cgroups

# ================================================================ crash sweep
client c "?session=cg-c"
expect c '"type":"ready"'
worker=$(worker_of cg-c)
send c '{"type":"run","batch":"K","tasks":["stubborn",{"task":"scatter","args":[20,30]}]}'
wait_for 5 eval '[ "$(record_pids scatter cg-c | wc -w)" -ge 20 ]'
kpids="$(record_pids scatter cg-c)"
kill -KILL "$worker"
client d "?session=cg-c"
expect d '"type":"ready","session":"cg-c"' 10
# shellcheck disable=SC2086
check "sweep: the crashed worker's tasks' escapees are dead at the next ready" \
    t_none_alive $kpids
check "sweep: its session cgroup was killed and removed" test ! -d "$CG/session.$worker"
check "sweep: the log says the cgroup was killed" \
    grep -q "event=cgroup-kill dir=$CG/session.$worker\$" "$WT_DIR/daemon.log"
close_client c
close_client d
stop_wstaskd
check "the daemon left no cgroup below $CG" no_cgroups

# ================================================================ root with --user gives DIR to the user
start_wstaskd --user nobody -t "$PUB/handlers" -w "$PUB/www" --cgroup "$CG/ro"
check "started as root with --user, the daemon gave the directory to the user" \
    test "$(stat -c %U "$CG/ro")" = nobody
check "... with its cgroup.procs (delegation)" test "$(stat -c %U "$CG/ro/cgroup.procs")" = nobody
check "... the daemon moved itself into DIR/daemon, which stays root's" \
    eval 'grep -qx "0::${CG#$CG_MNT}/ro/daemon" /proc/$T_DPID/cgroup && [ "$(stat -c %U "$CG/ro/daemon")" = root ]'
client g "?session=given"
expect g '"type":"ready"'
send g '{"type":"run","batch":"G","tasks":[{"task":"echo","args":"in a cgroup"}]}'
expect g '"type":"result","batch":"G","id":"0","ok":true' 10
check "... and its worker made its session cgroup there" \
    test -d "$CG/ro/session.$(worker_of given)"
close_client g
stop_wstaskd
rmdir "$CG/ro/daemon" "$CG/ro"

# ================================================================ without --cgroup: as before
start_wstaskd
client e "?session=nocg"
expect e '"type":"ready"'
send e '{"type":"run","batch":"N","tasks":[{"task":"scatter","args":10}]}'
expect e '"type":"result","batch":"N","id":"0","ok":true' 20
npids=$(record_pids scatter nocg)
# shellcheck disable=SC2086
check "without --cgroup the 10 escapees outlive their task's result (wstaskd(8) CAVEATS)" \
    all_alive $npids
close_client e
# shellcheck disable=SC2086
check "... and die when the session ends" assert_dead 5 $npids
check "... and no cgroup was made" no_cgroups
