#!/bin/bash
# The fork server (wstaskd(8), PROCESSES): one child of the supervisor,
# holding nothing per session, creates every worker as the supervisor's
# own child (clone with CLONE_PARENT), so that a worker's descriptor table
# stays small however many sessions are open.  It carries the
# configuration of its moment and is replaced when a reload renews the
# spares; when it dies or hangs the supervisor forks workers itself and
# starts a new one later; it is never taken for a crashed worker's orphan,
# and it is gone when the daemon is.
. "$(dirname "$0")/lib.sh"

one_fork_server() { [ "$(fork_server "$T_DPID" | wc -l)" = 1 ]; }
ppid_of() { local l; read -r l < "/proc/$1/stat" && l=${l##*) } && set -- $l && echo "$2"; }
nfds() { ls "/proc/$1/fd" | wc -l; }
fdsize() { awk '/^FDSize:/ { print $2 }' "/proc/$1/status"; }
# pgrp PID, sid PID: its process group and session (/proc/PID/stat).
pgrp() { local l; read -r l < "/proc/$1/stat" && l=${l##*) } && set -- $l && echo "$3"; }
sid() { local l; read -r l < "/proc/$1/stat" && l=${l##*) } && set -- $l && echo "$4"; }
# signals PID: its blocked, ignored and caught signal masks.  Not glibc's
# two internal signals (32, 33): nothing can reset them through glibc, and
# make(1), for one, starts its commands with them ignored.
signals() {
	local k v
	while read -r k v; do
		case $k in
		SigIgn:) v=$(printf %016x $((0x$v & ~0x180000000))) ;;
		SigBlk:|SigCgt:) ;;
		*) continue ;;
		esac
		printf '%s%s ' "$k" "$v"
	done < "/proc/$1/status"
}
# worker_signals PID: blocks CHLD, TERM and INT; ignores HUP, USR1, USR2
# (and SIGPIPE: libwebsockets' own); catches nothing.
worker_signals() {
	[ "$(signals "$1")" = \
	    "SigBlk:0000000000014002 SigIgn:0000000000001a01 SigCgt:0000000000000000 " ]
}
# dirty PID MAPPING: KiB of its MAPPING ([heap], [stack]) it alone wrote.
dirty() {
	awk -v m="$2" '/^[0-9a-f]+-[0-9a-f]+ / { h = ($6 == m) }
	    h && /^Private_Dirty:/ { s += $2 } END { print s + 0 }' "/proc/$1/smaps"
}
new_fork_server() { local f; f=$(fork_server "$T_DPID"); [ -n "$f" ] && [ "$f" != "$1" ]; }
# run_one NAME: a session that runs one echo task to its result.
run_one() {
	client "$1" "?session=$1"
	expect "$1" '"type":"ready"' 5 &&
	send "$1" '{"type":"run","batch":"1","tasks":[{"task":"echo","args":{"n":1}}]}' &&
	expect "$1" '"type":"done","batch":"1","ok":1' 5
	local r=$?
	close_client "$1"
	return $r
}

start_wstaskd --spare 2
check "the daemon has one fork server" wait_for 3 one_fork_server
fs=$(fork_server "$T_DPID")
check "... a child of the supervisor" test "$(ppid_of "$fs")" = "$T_DPID"
check "... logged with its pid" grep -q "event=fork-server pid=$fs\$" "$WT_DIR/daemon.log"
check "... holding only stdio and its request socket (4 fds)" test "$(nfds "$fs")" = 4
spare=$(spares "$T_DPID" | head -n 1)
check "spares are children of the supervisor, not of the fork server" \
    test -n "$spare" -a "$(ppid_of "$spare")" = "$T_DPID"
check "... and it has no child" test -z "$(children "$fs")"
check "the fork server leads a session of its own (no terminal's)" \
    test "$(sid "$fs")" = "$fs"
check "... catching no signal, ignoring the worker's three" eval \
    '[ "$(signals "$fs")" = "SigBlk:$(awk "/^SigBlk:/ { print \$2 }" "/proc/$T_DPID/status") SigIgn:0000000000000a01 SigCgt:0000000000000000 " ]'
check "its spare is in that session" test "$(sid "$spare")" = "$fs"
check "... in a process group of its own" test "$(pgrp "$spare")" = "$spare"
check "... with the worker's signal dispositions and mask" worker_signals "$spare"
# The fork server took the free chunks it inherited: a spare allocates from
# the top of the heap, not on 8 pages all over it (32 KiB before).
check "a spare has written at most 24 KiB of heap" test "$(dirty "$spare" '[heap]')" -le 24

# Sessions open: the supervisor's table grows, a new worker's does not.
for i in $(seq 1 120); do
	client "idle$i" "?session=idle$i"
done
check "120 sessions are ready" wait_for 20 eval \
    '[ "$(grep -c "event=grant " "$WT_DIR/daemon.log")" -ge 120 ]'
check "the supervisor's descriptor table has grown to 128 slots or more" \
    test "$(fdsize "$T_DPID")" -ge 128
wait_for 3 eval '[ "$(spares "$T_DPID" | wc -l)" -ge 2 ]'
spare=$(spares "$T_DPID" | tail -n 1)
check "a worker created with 120 sessions open has 64 slots" \
    test "$(fdsize "$spare")" = 64
client idle121 "?session=idle121"
expect idle121 '"type":"ready"' 5
w=$(worker_of idle121)
check "... and so has the one serving the 121st session" test "$(fdsize "$w")" = 64
# Ready and idle (0.1 s on), it gave back the stack its handshake and
# claim dirtied below its loop (20 KiB before).
check "... and has written at most 16 KiB of stack" \
    wait_for 3 eval '[ "$(dirty "$w" "[stack]")" -le 16 ]'
check "... whose parent is the supervisor" test "$(ppid_of "$w")" = "$T_DPID"
for i in $(seq 1 121); do
	close_client "idle$i"
done
check "the 121 sessions are over" wait_for 20 eval \
    '[ "$(grep -c "event=session-over " "$WT_DIR/daemon.log")" -ge 121 ]'

# Sessions get distinct random ids from sibling workers.
for i in 1 2 3 4 5 6; do
	client "anon$i" ""
	send "anon$i" '["echo"]'
done
for i in 1 2 3 4 5 6; do
	expect "anon$i" '"type":"ready"' 5
done
ids=$(cat "$WT_DIR"/anon?.out | grep -o '"session":"[0-9a-f]*"' | sort -u | wc -l)
check "six workers from one fork server chose six different session ids" test "$ids" = 6
for i in 1 2 3 4 5 6; do
	close_client "anon$i"
done

# SIGTERM (a `killall wstaskd` meant for the supervisor) does not end it.
kill -TERM "$fs"
sleep 0.3
check "SIGTERM alone does not end the fork server" alive "$fs"

# It dies: workers are forked by the supervisor, then a new one comes.
kill -KILL "$fs"
check "its death is logged" wait_for 3 grep -q "event=fork-server-exit pid=$fs signal=SIGKILL" \
    "$WT_DIR/daemon.log"
check "a session is served at once without it" run_one after_kill
check "... by a worker the supervisor forked" eval \
    '! new_fork_server "$fs" && grep -q "event=fork pid=[0-9]* by=supervisor" "$WT_DIR/daemon.log"'
direct=$(grep -o "event=fork pid=[0-9]* by=supervisor" "$WT_DIR/daemon.log" | tail -n 1 |
    sed 's/.*pid=\([0-9]*\).*/\1/')
check "a worker the supervisor forks leads a session of its own" \
    test -n "$direct" -a "$(sid "$direct")" = "$direct"
check "... with the same signal dispositions and mask" worker_signals "$direct"
sleep 1.1
check "a second later, the next worker brings a new fork server" run_one with_new
check "... which is there" new_fork_server "$fs"
check "... and created it" eval '[ "$(grep "event=fork pid=" "$WT_DIR/daemon.log" | tail -n 1 | grep -c by=fork-server)" = 1 ]'
fs2=$(fork_server "$T_DPID")
check "one fork server, not two" one_fork_server

# A crashed worker's sweep kills its orphans, never the fork server.
client crash "?session=crash"
expect crash '"type":"ready"'
send crash '{"type":"run","batch":"K","tasks":[{"task":"sleep","args":30}]}'
wait_for 5 records_ge start crash K 1
kill -KILL "$(worker_of crash)"
check "the crash sweep ran" wait_for 3 grep -q 'event=orphan pid=' "$WT_DIR/daemon.log"
check "the sweep left the fork server alone" alive "$fs2"
check "... and its orphan is dead" assert_dead 3 $(batch_pids crash K)

# It hangs: after FORKER_WAIT (2 s) the supervisor stops waiting, kills it
# and forks the worker itself.
kill -STOP "$fs2"
client hang "?session=hang"
check "a session is served even with the fork server stopped" expect hang '"type":"ready"' 6
check "the stopped fork server was given up and reaped" assert_dead 3 "$fs2"
check "... saying so" grep -q "event=fork-server-lost pid=$fs2" "$WT_DIR/daemon.log"
close_client hang
sleep 1.1
run_one after_hang
check "a new one comes with the next worker after that" new_fork_server "$fs2"
stop_wstaskd

# A reload that renews the spares renews it: the new one has the new log.
LOG=$WT_DIR/wstaskd.log
: > "$WT_DIR/daemon.log"
: > "$LOG"
(
	t_close_client_fds
	exec "$WSTASKD" -l 127.0.0.1:0 -t "$T_HANDLERS" --allow-root \
	    --pass-env WT_DIR -v --log-file "$LOG" --spare 1 2>> "$WT_DIR/daemon.log"
) &
T_DPID=$!
await_daemon "$T_DPID" "$LOG" "wstaskd --log-file $LOG"
T_PORT=$(grep -o 'event=listen addr=127.0.0.1:[0-9]*' "$LOG" | tail -n 1 | sed 's/.*://')
T_URL="ws://127.0.0.1:$T_PORT/stream"
check "with --log-file it holds the log too (5 fds)" eval \
    'wait_for 3 one_fork_server && [ "$(nfds "$(fork_server "$T_DPID")")" = 5 ]'
fs=$(fork_server "$T_DPID")
mv "$LOG" "$LOG.1"
kill -HUP "$T_DPID"
check "SIGHUP replaces the fork server" wait_for 3 new_fork_server "$fs"
check "... and the old one is gone" assert_dead 3 "$fs"
fs=$(fork_server "$T_DPID")
check "the new one holds the new log file" test "$(readlink "/proc/$fs/fd/4")" = "$LOG"
check "... and so the next session logs there" run_one after_hup
check "... (its worker's lines are in the new file)" grep -q 'worker: .*session=after_hup' "$LOG"

# The daemon stops: nothing of it is left.
pids="$T_DPID $fs $(children "$T_DPID")"
kill -TERM "$T_DPID"
# shellcheck disable=SC2086
check "a stop ends the supervisor, its workers and the fork server" assert_dead 5 $pids
wait "$T_DPID" 2>/dev/null
T_DPID=
