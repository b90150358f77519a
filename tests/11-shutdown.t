#!/bin/bash
# Signals to the supervisor (SPEC 5): SIGTERM and SIGINT stop gracefully
# (clients get `cancelled` reason shutdown and close 1001, every task is
# reaped, exit 0); SIGUSR1 logs the session table; SIGHUP reopens the log.
. "$(dirname "$0")/lib.sh"
plan 10

start_wstaskd
client a "?session=sd1"
client b "?session=sd2"
expect a '"type":"ready"'
expect b '"type":"ready"'
send a '{"type":"run","batch":"X","tasks":[{"task":"sleep","args":30},{"task":"termslow","args":0.1}]}'
wait_for 5 records_ge start sd1 X 2
pids=$(batch_pids sd1 X)

kill -USR1 "$T_DPID"
check "SIGUSR1 logs the session table" \
    wait_for 5 grep -q 'event=session id=sd1 holder=[1-9]' "$WT_DIR/daemon.log"
check "... with each worker's state and running tasks" \
    wait_for 5 grep -q 'event=worker pid=[0-9]* state=granted session=sd1 .*batch=X running=2' "$WT_DIR/daemon.log"
kill -HUP "$T_DPID"
check "SIGHUP is handled (log reopened), the daemon lives on" \
    eval "wait_for 5 grep -q event=reopen-log '$WT_DIR/daemon.log' && test \"\$(curl -s $T_HTTP/healthz)\" = ok"

stop_wstaskd
check "SIGTERM: exit status 0" test "$T_DSTATUS" = 0
# shellcheck disable=SC2086
check "SIGTERM: every task is dead when the supervisor has exited" all_dead $pids
check "the running batch was cancelled with reason shutdown" \
    expect a '"type":"cancelled","batch":"X","reason":"shutdown"'
check "clients were closed with 1001" \
    eval "expect a '^close 1001' && expect b '^close 1001'"

(trap - INT; exec "$WSTASKD" -l 127.0.0.1:0 -t "$T_HANDLERS" -w '' --allow-root -v \
    2> "$WT_DIR/int.log") &
ipid=$!
wait_for 5 grep -q 'event=listen' "$WT_DIR/int.log"
kill -INT "$ipid"
wait "$ipid"
check "SIGINT stops it too, status 0 (even when started with SIGINT ignored)" test $? = 0

# Started from a shell that ignores SIGINT, as `wstaskd &` in a script is.
( trap '' INT; exec "$WSTASKD" -l 127.0.0.1:0 -t "$T_HANDLERS" -w '' --allow-root \
    -v 2> "$WT_DIR/int2.log" ) &
ipid=$!
wait_for 5 grep -q 'event=listen' "$WT_DIR/int2.log"
kill -INT "$ipid"
if wait_for 5 eval "! alive $ipid"; then
	wait "$ipid"
	check "an inherited ignored SIGINT is restored: SIGINT stops it" test $? = 0
else
	kill -KILL "$ipid"; wait "$ipid"
	fail "an inherited ignored SIGINT is restored: SIGINT stops it"
fi
check "no worker was left by the SIGINT stops" \
    eval "! grep -q 'event=kill' '$WT_DIR/int.log' '$WT_DIR/int2.log'"
