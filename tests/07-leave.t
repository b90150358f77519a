#!/bin/bash
# Leave (SPEC 1, 2.5): when the client closes, vanishes, or stops
# answering pings, its tasks are cancelled and reaped and its worker
# exits.  A client that stops reading holds back the batch (backpressure)
# instead of growing the worker's memory.
. "$(dirname "$0")/lib.sh"

start_wstaskd --kill-grace 500

leave_case() {	# NAME HOW: start 6 sleepers, make the client go, time the reap
	local name=$1 how=$2 pids worker t0 t1
	client "$name" "?session=leave-$name"
	expect "$name" '"type":"ready"'
	send "$name" '{"type":"run","batch":"L","tasks":[{"task":"sleep","args":30},{"task":"sleep","args":30},{"task":"sleep","args":30},{"task":"family","args":30},{"task":"stubborn"},{"task":"sleep","args":30}]}'
	wait_for 5 records_ge start "leave-$name" L 6
	T_NSTART=$(batch_pids "leave-$name" L | wc -l)
	T_CHILD=$(record_pids child "leave-$name")
	T_ESCAPEE=$(record_pids escapee "leave-$name")
	pids="$(batch_pids "leave-$name" L) $T_CHILD $T_ESCAPEE"
	worker=$(worker_of "leave-$name")
	# Nothing recorded would make the checks below pass vacuously.
	# shellcheck disable=SC2086
	if [ "$T_NSTART" = 6 ] && [ -n "$T_CHILD" ] && [ -n "$T_ESCAPEE" ] &&
	    all_alive $pids "$worker"; then
		ok "$how: 6 handlers, a grandchild, an escapee and the worker recorded and alive"
	else
		fail "$how: 6 handlers, a grandchild, an escapee and the worker recorded and alive" \
		    "starts $T_NSTART child '$T_CHILD' escapee '$T_ESCAPEE' worker '$worker'"
	fi
	t0=$(t_now_ms)
	case $how in
	close) close_client "$name" ;;
	kill) kill_client "$name" KILL ;;
	stop) kill_client "$name" STOP ;;
	esac
	# shellcheck disable=SC2086
	if assert_dead 6 $pids $worker; then
		t1=$(t_now_ms)
		ok "$how: every task process (and the worker) gone, in $((t1 - t0)) ms"
		T_LEAVE_MS=$((t1 - t0))
	else
		fail "$how: every task process (and the worker) gone" \
		    "still alive: $(for p in $pids $worker; do alive "$p" && echo "$p"; done)"
		T_LEAVE_MS=999999
	fi
}

leave_case a close
check "a close is answered within the kill grace (500 ms + slack)" test "$T_LEAVE_MS" -lt 2500
check "... and the server echoed the client's close 1000" expect a '^close 1000( |$)'
child_a=$T_CHILD
leave_case b kill
escapee_b=$T_ESCAPEE
check "a vanished client is noticed at once (TCP FIN)" test "$T_LEAVE_MS" -lt 2500
leave_case c stop
check "a half-open client is dropped after --ping-timeout (2 s)" \
    test "$T_LEAVE_MS" -ge 1500
check "... and not much later (ping timeout + grace + slack)" test "$T_LEAVE_MS" -lt 5000
kill -CONT "$(client_pid c)"
check "the half-open client finds its connection gone" expect c '^close '
# shellcheck disable=SC2086
check "a grandchild in the task's group was reaped" all_dead $child_a
# shellcheck disable=SC2086
check "a setsid'd escapee was reaped too" all_dead $escapee_b
grep -q 'event=exit pid=.* status=[1-9]\|signal=' "$WT_DIR/daemon.log"
check "every worker exited with status 0 (nothing of its own left)" test $? = 1

# Backpressure: 300 results of 100 kB (30 MB) to a client that stops
# reading (for longer than a ping timeout of 2 s would allow).  ASan's
# quarantine would hold freed buffers: keep it small for a fair RSS.
stop_wstaskd
ASAN_OPTIONS=$ASAN_OPTIONS:quarantine_size_mb=4 \
    start_wstaskd --ping-interval 10 --ping-timeout 30
client bp "?session=bp"
expect bp '"type":"ready"'
worker=$(worker_of bp)
rss0=$(awk '/^VmRSS/ { print $2 }' "/proc/$worker/status")
send bp '{"type":"run","batch":"big","limit":4,"tasks":['"$(printf '{"task":"bigout","args":100000},%.0s' $(seq 299))"'{"task":"bigout","args":100000}]}'
expect bp '"type":"result","batch":"big"'
kill -STOP "$(client_pid bp)"
sleep 2
started=$(grep -c "event=spawn session=bp " "$WT_DIR/daemon.log")
sleep 1
started2=$(grep -c "event=spawn session=bp " "$WT_DIR/daemon.log")
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$worker/status")
check "a client that does not read stalls the batch ($started2 of 300 started)" \
    eval "[ $started2 -lt 300 ] && [ $started2 = $started ]"
check "the worker's memory stays bounded (VmRSS ${rss0} -> ${rss} kB, < +16 MB)" \
    test "$rss" -lt $((rss0 + 16384))
kill -CONT "$(client_pid bp)"
check "once it reads again the batch completes" \
    expect bp '"type":"done","batch":"big","ok":300,"failed":0' 30
