#!/bin/bash
# GET /metrics (SPEC 9.1): after a known sequence of sessions, supersedes,
# batches (done, cancelled, rejected) and tasks (ok, failed, cancelled,
# per handler), and a worker killed mid-task, every figure equals what
# happened, also once the workers involved have exited; the gauges say
# what runs now; the page is Prometheus text 0.0.4 (promtool clean when
# installed), behind basic auth with users.
. "$(dirname "$0")/lib.sh"

CTL=$T_BUILD/wstaskctl
start_wstaskd --metrics --control "$WT_DIR/ctl.sock" --spare 1 \
    --kill-grace 500

scrapes=0
# scrape: the page into $WT_DIR/m.txt, headers into m.hdr.
scrape() {
	scrapes=$((scrapes + 1))
	curl -s -D "$WT_DIR/m.hdr" -o "$WT_DIR/m.txt" \
	    "http://127.0.0.1:$T_PORT/metrics"
}
# metric 'NAME{LABELS}': its value on the last page ('' if absent).
metric() {
	awk -v k="$1" '$1 == k { print $2 }' "$WT_DIR/m.txt"
}
# is 'NAME{LABELS}' VALUE: a check that the figure is VALUE.
is() {
	local got
	got=$(metric "$1")
	if [ "$got" = "$2" ]; then
		ok "$1 is $2"
	else
		fail "$1 is $2" "got '$got'"
	fi
}
# gauge_is 'NAME{LABELS}' VALUE: scrape until it is (5 s), then check.
gauge_is() {
	local i
	for i in $(seq 50); do
		scrape
		[ "$(metric "$1")" = "$2" ] && break
		sleep 0.1
	done
	is "$1" "$2"
}

scrape
check "GET /metrics: 200" grep -q '^HTTP/1.1 200' "$WT_DIR/m.hdr"
check "... Content-Type text/plain; version=0.0.4" \
    grep -qi '^content-type: text/plain; version=0.0.4' "$WT_DIR/m.hdr"
is 'wstaskd_build_info{version="0.1.0"}' 1
is wstaskd_sessions 0
is wstaskd_connections_total 1
is wstaskd_supersedes_total 0

# 1. A batch that is done: echo ok twice, fail failed once.
client a "?session=S1"
expect a '"type":"ready","session":"S1"'
send a '{"type":"run","batch":"b1","tasks":["echo","echo","fail"]}'
expect a '"type":"done","batch":"b1","ok":2,"failed":1'
# 2. A batch that is rejected (no such handler).
send a '{"type":"run","batch":"bad","tasks":["no-such-handler"]}'
expect a '"type":"error".*"batch":"bad"'
# 3. A batch cancelled with one task running and two never started.
client b "?session=S2"
expect b '"type":"ready","session":"S2"'
send b '{"type":"run","batch":"slow","limit":1,"tasks":[{"task":"termslow","args":0.1},{"task":"termslow","args":0.1},{"task":"termslow","args":0.1}]}'
wait_for 5 records_ge start S2 slow 1
gauge_is wstaskd_tasks_running 1
is wstaskd_sessions 2
is 'wstaskd_workers{state="session"}' 2
send b '{"type":"cancel"}'
expect b '"type":"cancelled","batch":"slow"'
# 4. A supersede: S1 again, from a new connection.
client c "?session=S1"
expect c '"type":"ready","session":"S1","superseded":true'
expect a 'close 4001'
# 5. A session killed with a task running.
client d "?session=S3"
expect d '"type":"ready","session":"S3"'
send d '{"type":"run","batch":"k","tasks":[{"task":"sleep","args":30}]}'
wait_for 5 records_ge start S3 k 1
check "wstaskctl kill S3" "$CTL" -s "$WT_DIR/ctl.sock" kill S3
expect d '"type":"cancelled","batch":"k","reason":"killed"'
expect d 'close 4002'
# 6. A worker that crashes with a task running: it cannot report, so its
# started task counts as cancelled when the supervisor is done with it.
client e "?session=S4"
expect e '"type":"ready","session":"S4"'
send e '{"type":"run","batch":"crash","tasks":[{"task":"sleep","args":30},{"task":"echo"}],"limit":1}'
wait_for 5 records_ge start S4 crash 1
wpid=$(worker_of S4)
kill -KILL "$wpid"
check "the crashed worker's session is over" \
    wait_for 10 grep -q "event=session-over session=S4 pid=$wpid" "$WT_DIR/daemon.log"
for n in a b c d e; do close_client "$n"; done
check "every session is over" \
    wait_for 10 eval '[ "$(grep -c "event=session-over" "$WT_DIR/daemon.log")" -ge 5 ]'

gauge_is wstaskd_sessions 0
gauge_is 'wstaskd_workers{state="session"}' 0
is wstaskd_tasks_running 0
is 'wstaskd_workers{state="draining"}' 0
# The connections: five clients and every scrape, this one included.
is wstaskd_connections_total $((5 + scrapes))
is wstaskd_supersedes_total 1
is 'wstaskd_batches_total{outcome="done"}' 1
is 'wstaskd_batches_total{outcome="cancelled"}' 2
is 'wstaskd_batches_total{outcome="rejected"}' 1
is 'wstaskd_tasks_total{handler="echo",outcome="ok"}' 2
is 'wstaskd_tasks_total{handler="echo",outcome="failed"}' 0
is 'wstaskd_tasks_total{handler="echo",outcome="cancelled"}' 0
is 'wstaskd_tasks_total{handler="fail",outcome="failed"}' 1
is 'wstaskd_tasks_total{handler="fail",outcome="ok"}' 0
is 'wstaskd_tasks_total{handler="termslow",outcome="cancelled"}' 3
is 'wstaskd_tasks_total{handler="termslow",outcome="ok"}' 0
is 'wstaskd_tasks_total{handler="sleep",outcome="cancelled"}' 2
check "no label for a handler that never ran" \
    eval '! grep -q "no-such-handler" "$WT_DIR/m.txt"'
is 'wstaskd_task_duration_seconds_count{handler="echo"}' 2
is 'wstaskd_task_duration_seconds_bucket{handler="echo",le="+Inf"}' 2
is 'wstaskd_task_duration_seconds_count{handler="fail"}' 1
is 'wstaskd_task_duration_seconds_count{handler="termslow"}' 0
is 'wstaskd_refused_total{reason="max_sessions"}' 0
is 'wstaskd_refused_total{reason="draining"}' 0
is wstaskd_fork_failures_total 0
swept=$(grep -c "event=orphan-reaped" "$WT_DIR/daemon.log")
check "the crash left orphans to sweep ($swept)" test "$swept" -ge 1
is wstaskd_orphans_swept_total "$swept"
check "every family has HELP and TYPE" eval '
    for f in build_info start_time_seconds sessions workers tasks_running \
        connections_total refused_total supersedes_total batches_total \
        tasks_total task_duration_seconds orphans_swept_total \
        fork_failures_total; do
	    grep -q "^# TYPE wstaskd_$f " "$WT_DIR/m.txt" || exit 1
	    grep -q "^# HELP wstaskd_$f " "$WT_DIR/m.txt" || exit 1
    done'
if command -v promtool > /dev/null; then
	out=$(promtool check metrics < "$WT_DIR/m.txt" 2>&1)
	check "promtool check metrics is clean" test -z "$out"
	[ -z "$out" ] || diag "$out"
else
	ok "# SKIP promtool is not installed (Debian package prometheus)"
fi

# HEAD gets the headers alone; a POST is refused.
check "HEAD /metrics: 200, no body" eval \
    '[ -z "$(curl -s -I "http://127.0.0.1:$T_PORT/metrics" -o /dev/null -w "%{size_download}" | tr -d 0)" ]'
stop_wstaskd

# With users, /metrics is behind basic auth like everything but /healthz.
start_wstaskd --metrics --credential "op:secret1"
check "with users: /metrics without credentials is 401" test \
    "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$T_PORT/metrics")" = 401
check "... and 200 with them" test \
    "$(curl -s -u op:secret1 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$T_PORT/metrics")" = 200
stop_wstaskd

start_wstaskd
check "without --metrics: /metrics is 404" test \
    "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$T_PORT/metrics")" = 404
