#!/bin/bash
# Signals to the supervisor (SPEC 5): SIGTERM and SIGINT stop gracefully
# (clients get `cancelled` reason shutdown and close 1001, every task is
# reaped, exit 0), also when SIGINT was inherited ignored; SIGUSR1 logs
# the session table; SIGHUP reopens the log (syslog) and disturbs nothing.
. "$(dirname "$0")/lib.sh"

start_wstaskd
client a "?session=sd1"
client b "?session=sd2"
expect a '"type":"ready"'
expect b '"type":"ready"'
send a '{"type":"run","batch":"X","tasks":[{"task":"sleep","args":30},{"task":"termslow","args":0.1}]}'
wait_for 5 records_ge start sd1 X 2
pids=$(batch_pids sd1 X | paste -sd" ")

kill -USR1 "$T_DPID"
check "SIGUSR1 logs the session table" \
    wait_for 5 grep -q 'event=session id=sd1 holder=[1-9]' "$WT_DIR/daemon.log"
check "... with each worker's state and running tasks" \
    wait_for 5 grep -q 'event=worker pid=[0-9]* state=granted session=sd1 .*batch=X running=2' "$WT_DIR/daemon.log"
# SIGHUP: the supervisor reopens its log.  That means the syslog
# connection (--syslog, -D); standard error has nothing to reopen
# (wstaskd(8)), so here: the line it writes, and that nothing else
# happens.  Workers ignore SIGHUP, so one sent to them too (as
# `killall -HUP wstaskd` would) does no harm either.
worker_a=$(worker_of sd1)
kill -HUP "$T_DPID" "$worker_a"
check "SIGHUP: the supervisor logs event=reopen-log" \
    wait_for 5 grep -qE "^wstaskd\[$T_DPID\]: supervisor: event=reopen-log\$" "$WT_DIR/daemon.log"
sleep 0.5
# shellcheck disable=SC2086
check "... the supervisor, the HUP'd worker and its running handlers live on" \
    eval "test \"\$(echo $pids | wc -w)\" = 2 && all_alive $T_DPID '$worker_a' $pids"
check "... and its client saw nothing of it (no cancel, no close)" \
    eval "no_line a '\"type\":\"cancelled\"' && no_line a '^close'"
client c "?session=sd3"
send c '{"type":"run","batch":"H","tasks":[{"task":"echo","args":"after-hup"}]}'
check "... and a new session is served after it" \
    expect c '^\{"type":"done","batch":"H","ok":1,"failed":0,'
check "... with the result" expect c '"type":"result","batch":"H","id":"0","ok":true,"exit":0,"value":"after-hup"'
close_client c

stop_wstaskd
check "SIGTERM: exit status 0" test "$T_DSTATUS" = 0
# shellcheck disable=SC2086
check "SIGTERM: every task is dead when the supervisor has exited" \
    eval "test \"\$(echo $pids | wc -w)\" = 2 && all_dead $pids"
check "the running batch was cancelled with reason shutdown" \
    expect a '"type":"cancelled","batch":"X","reason":"shutdown"'
check "clients were closed with 1001" \
    eval "expect a '^close 1001' && expect b '^close 1001'"

# int_daemon MODE LOG: a daemon started with SIGINT at its default (MODE
# default) or ignored (MODE ignore, as `wstaskd &` from a script leaves
# it), logging to LOG; it becomes the harness's daemon (T_DPID, T_URL).
int_daemon() {
	: > "$2"
	if [ "$1" = ignore ]; then
		( t_close_client_fds; trap '' INT; exec "$WSTASKD" -l 127.0.0.1:0 \
		    -t "$T_HANDLERS" -w '' --allow-root --kill-grace 200 \
		    --pass-env WT_DIR -v 2>> "$2" ) &
	else
		( t_close_client_fds; trap - INT; exec "$WSTASKD" -l 127.0.0.1:0 \
		    -t "$T_HANDLERS" -w '' --allow-root --kill-grace 200 \
		    --pass-env WT_DIR -v 2>> "$2" ) &
	fi
	T_DPID=$!
	await_daemon "$T_DPID" "$2" "wstaskd (SIGINT $1)"
	T_PORT=$(grep -o 'event=listen addr=127.0.0.1:[0-9]*' "$2" |
	    head -n 1 | sed 's/.*://')
	T_URL="ws://127.0.0.1:$T_PORT/stream"
}

# int_case MODE NAME DESC: a session with two running handlers, SIGINT.
int_case() {
	local st ipids
	int_daemon "$1" "$WT_DIR/$2.log"
	client "$2" "?session=$2"
	expect "$2" '"type":"ready"'
	send "$2" '{"type":"run","batch":"I","tasks":[{"task":"sleep","args":30},{"task":"termslow","args":0.1}]}'
	wait_for 5 records_ge start "$2" I 2
	ipids=$(batch_pids "$2" I | paste -sd" ")
	kill -INT "$T_DPID"
	if wait_for 5 eval "! alive $T_DPID"; then
		wait "$T_DPID"
		st=$?
	else
		kill -KILL "$T_DPID"
		wait "$T_DPID"
		st="still running after 5 s"
	fi
	T_DPID=
	check "$3: status 0" test "$st" = 0
	# shellcheck disable=SC2086
	check "... every handler of its running batch is dead" \
	    eval "test \"\$(echo $ipids | wc -w)\" = 2 && assert_dead 2 $ipids"
	check "... its client got cancelled (shutdown) and close 1001" \
	    eval "expect $2 '\"type\":\"cancelled\",\"batch\":\"I\",\"reason\":\"shutdown\"' 3 && expect $2 '^close 1001' 3"
	close_client "$2"
}

int_case default int "SIGINT (started with SIGINT at its default) stops it too"
int_case ignore int2 "an inherited ignored SIGINT is restored: SIGINT stops it"
check "no worker was left by the SIGINT stops" \
    eval "! grep -q 'event=kill' '$WT_DIR/int.log' '$WT_DIR/int2.log'"
