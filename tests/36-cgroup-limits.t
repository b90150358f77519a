#!/bin/bash
# The limits of SPEC 11 where the cgroup has the controllers: a fork bomb
# under --task-pids-max fails its own task and nothing else; a task over
# --task-memory-max fails with "out of memory".  Runs only where a fresh
# cgroup below the cgroup2 mount lists pids and memory in
# cgroup.controllers (a pure cgroup v2 host); elsewhere it skips, and
# 35-cgroup.t tests that the flags are refused naming the controller.
. "$(dirname "$0")/lib.sh"

unset WSTASKD_TEST_CGROUP

[ "$(id -u)" = 0 ] || skip_all "needs root to make a cgroup"
CG_MNT=$(awk '/ - cgroup2 / { print $5; exit }' /proc/self/mountinfo)
[ -n "$CG_MNT" ] || skip_all "no cgroup2 mount"
CG=$CG_MNT/wstaskd-limits.$$
mkdir "$CG" 2>/dev/null || skip_all "cannot make a cgroup under $CG_MNT"
cg_cleanup() {
	stop_wstaskd
	[ -d "$CG" ] && find "$CG" -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null
	rmdir "$CG" 2>/dev/null
	return 0
}
at_exit cg_cleanup
for c in pids memory; do
	grep -qw "$c" "$CG/cgroup.controllers" ||
	    skip_all "no $c controller in $CG/cgroup.controllers (not a pure cgroup v2 host)"
done

start_wstaskd --cgroup "$CG" --task-pids-max 20 --session-pids-max 100 \
    --task-memory-max 33554432
check "the session cgroups got pids and memory" \
    grep -qw pids "$CG/cgroup.subtree_control"

client a "?session=lim-a"
client b "?session=lim-b"
expect a '"type":"ready"'
expect b '"type":"ready"'
send a '{"type":"run","batch":"F","tasks":[{"task":"forkbomb","args":200}]}'
send b '{"type":"run","batch":"E","tasks":[{"task":"echo","args":"fine"}]}'
expect a '"type":"result","batch":"F"' 20
check "fork bomb: its task fails (a refused fork is the handler's error)" \
    grep -qE '"type":"result","batch":"F","id":"0","ok":false,.*"exit":3' "$WT_DIR/a.out"
check "fork bomb: its stderr says a fork was refused" \
    grep -qE '"batch":"F".*fork [0-9]+ refused' "$WT_DIR/a.out"
expect b '"type":"result","batch":"E"' 10
check "another session's task is fine meanwhile" \
    grep -qE '"type":"result","batch":"E","id":"0","ok":true' "$WT_DIR/b.out"

send a '{"type":"run","batch":"M","tasks":[{"task":"memhog","args":256}]}'
expect a '"type":"result","batch":"M"' 20
check "over --task-memory-max: the task fails with out of memory" \
    grep -qE '"type":"result","batch":"M","id":"0","ok":false,"error":"out of memory"' "$WT_DIR/a.out"
send a '{"type":"run","batch":"m","tasks":[{"task":"memhog","args":4}]}'
expect a '"type":"result","batch":"m"' 20
check "under it: the same handler succeeds" \
    grep -qE '"type":"result","batch":"m","id":"0","ok":true' "$WT_DIR/a.out"
close_client a
close_client b
