#!/bin/bash
# A burst of connections with no spare left (listen.c): each new one waits
# for a fork, so the supervisor accepts one, goes round its loop (granting
# the claims of those already handed off), then accepts the next.  If it
# forked for the whole burst first, every session of the burst would be
# granted at once, after the last fork.
. "$(dirname "$0")/lib.sh"
plan 4

N=30
start_wstaskd --spare 0
# Stopped, the supervisor finds the whole burst queued when it resumes.
kill -STOP "$T_DPID"
for i in $(seq 1 $N); do
	client "b$i" "?session=b$i"
done
sleep 0.5
kill -CONT "$T_DPID"
for i in $(seq 1 $N); do
	expect "b$i" '"type":"ready"' 20 || break
done
check "all $N sessions of the burst are ready" eval \
    '[ "$(grep -c "event=grant session=b" "$WT_DIR/daemon.log")" = $N ]'
first_grant=$(grep -n 'event=grant session=b' "$WT_DIR/daemon.log" | head -n 1 | cut -d: -f1)
last_accept=$(grep -n 'event=accept ' "$WT_DIR/daemon.log" | tail -n 1 | cut -d: -f1)
check "the first was granted before the last was accepted" \
    test -n "$first_grant" -a -n "$last_accept" -a "${first_grant:-0}" -lt "${last_accept:-0}"
for i in $(seq 1 $N); do
	close_client "b$i"
done
check "the $N sessions are over" wait_for 20 eval \
    '[ "$(grep -c "event=session-over " "$WT_DIR/daemon.log")" -ge $N ]'
stop_wstaskd
check "nothing of the daemon is left" eval '! kill -0 "$T_DPID" 2>/dev/null'
