#!/bin/bash
# Crashes (SPEC 1): a worker killed with SIGKILL leaves its tasks to the
# supervisor, whose crash sweep kills and reaps them before the id can be
# granted again; a supervisor killed with SIGKILL makes every worker see
# EOF on its control socket, cancel its tasks and exit.
. "$(dirname "$0")/lib.sh"

start_wstaskd

client a "?session=crash"
expect a '"type":"ready"'
send a '{"type":"run","batch":"K","tasks":[{"task":"sleep","args":30},{"task":"family","args":30},"stubborn"]}'
wait_for 5 records_ge start crash K 3
pids="$(batch_pids crash K) $(record_pids child crash) $(record_pids escapee crash)"
worker=$(worker_of crash)
kill -KILL "$worker"
t0=$(t_now_ms)
# shellcheck disable=SC2086
if assert_dead 3 $pids "$worker"; then
	ok "SIGKILLed worker: its tasks, grandchildren and escapee are gone in $(($(t_now_ms) - t0)) ms"
else
	fail "SIGKILLed worker: its tasks are gone" "alive: $(for p in $pids; do alive "$p" && echo "$p"; done)"
fi
check "... within 1 s" test $(($(t_now_ms) - t0)) -lt 1000
check "the supervisor logged the orphans at info level" \
    grep -q 'event=orphan pid=' "$WT_DIR/daemon.log"
check "the client saw its connection drop" expect a '^close 1006'
client b "?session=crash"
check "the id can be claimed again" expect b '"type":"ready","session":"crash"'
check "the supervisor is still alive and serving" \
    test "$(curl -s "$T_HTTP/healthz")" = ok

# Now the supervisor dies.
send b '{"type":"run","batch":"L","tasks":[{"task":"sleep","args":30},{"task":"family","args":30}]}'
client c "?session=other"
expect c '"type":"ready"'
wait_for 5 records_ge start crash L 2
pids="$(batch_pids crash L) $(record_pids child crash | tail -n 1) $(record_pids escapee crash | tail -n 1)"
workers=$(children "$T_DPID")
kill -KILL "$T_DPID"
wait "$T_DPID" 2>/dev/null
T_DPID=
t0=$(t_now_ms)
# shellcheck disable=SC2086
if assert_dead 3 $pids $workers; then
	ok "SIGKILLed supervisor: every worker and task is gone in $(($(t_now_ms) - t0)) ms"
else
	fail "SIGKILLed supervisor: every worker and task is gone"
fi
check "... within 1 s" test $(($(t_now_ms) - t0)) -lt 1000
check "its clients were closed (1001)" eval "expect b '^close 1001' && expect c '^close 1001'"
