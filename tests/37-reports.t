#!/bin/bash
# The worker's reports to the supervisor (worker/ctl.c) are held until its
# loop comes round and sent together: /metrics still counts every task
# exactly, in order (a "started" overtaking an "ok" would exceed --limit
# and drop the worker), when one wakeup makes more reports than are held
# at once (CTL_REPORTS_MAX, 32), and a lone "started" goes out without
# waiting for its batch to end.
. "$(dirname "$0")/lib.sh"
plan 15

start_wstaskd --metrics --spare 1 --kill-grace 500

# metric 'NAME{LABELS}': its value on a fresh page ('' if absent).
metric() {
	curl -s "http://127.0.0.1:$T_PORT/metrics" |
	    awk -v k="$1" '$1 == k { print $2 }'
}
# is 'NAME{LABELS}' VALUE: a check that the figure is VALUE.
is() { check "$1 is $2" test "$(metric "$1")" = "$2"; }
# gauge_is 'NAME{LABELS}' VALUE: poll until it is (5 s), then check.
gauge_is() {
	local i
	for i in $(seq 50); do
		[ "$(metric "$1")" = "$2" ] && break
		sleep 0.1
	done
	is "$1" "$2"
}

# 1. 300 tasks, 10 at a time: several reports a wakeup, all in order.
tasks=$(printf '"echo",%.0s' $(seq 300))
client a "?session=R1"
expect a '"type":"ready","session":"R1"'
send a "{\"type\":\"run\",\"batch\":\"many\",\"limit\":10,\"tasks\":[${tasks%,}]}"
check "300 tasks, 10 at a time: done, all ok" \
    expect a '"type":"done","batch":"many","ok":300,"failed":0' 60
is 'wstaskd_tasks_total{handler="echo",outcome="ok"}' 300
is 'wstaskd_task_duration_seconds_count{handler="echo"}' 300
is 'wstaskd_batches_total{outcome="done"}' 1
is wstaskd_tasks_running 0
check "no protocol violation in the log" \
    eval '! grep -q "violation" "$WT_DIR/daemon.log"'

# 2. One task running: its "started" alone is sent, the batch goes on.
tasks=$(printf '"echo","fail",%.0s' $(seq 60))
send a "{\"type\":\"run\",\"batch\":\"cut\",\"limit\":1,\"tasks\":[{\"task\":\"sleep\",\"args\":30},${tasks%,}]}"
check "a long task runs" wait_for 5 records_ge start R1 cut 1
gauge_is wstaskd_tasks_running 1

# 3. Cancelled: 120 runs of a handler never started, one report each,
# in the same wakeup as the running task's and the batch's end.
send a '{"type":"cancel"}'
check "... cancelled" expect a '"type":"cancelled","batch":"cut"'
is 'wstaskd_tasks_total{handler="sleep",outcome="cancelled"}' 1
is 'wstaskd_tasks_total{handler="echo",outcome="cancelled"}' 60
is 'wstaskd_tasks_total{handler="fail",outcome="cancelled"}' 60
is 'wstaskd_batches_total{outcome="cancelled"}' 1
is wstaskd_tasks_running 0
check "still no protocol violation" \
    eval '! grep -q "violation" "$WT_DIR/daemon.log"'
close_client a
