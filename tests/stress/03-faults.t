#!/bin/bash
# Faults (issue 5, stress 3):
#   A. The supervisor cannot fork (RLIMIT_NPROC).  Root ignores that limit,
#      so the daemon runs with --user nobody and prlimit lowers the
#      supervisor's and its fork server's soft limit (prlimit runs as nobody: changing another
#      user's process needs CAP_SYS_RESOURCE, which root may lack, as
#      here; a soft limit can be raised back up to the hard one).  Once
#      the spare workers are used up new connections get 503, the failure
#      is logged (event=fork-failed, and "refusing connections: cannot
#      fork a worker" at most once per 10 s), the retries back off (100 ms
#      doubling to 5 s: a handful of lines, not a loop), and the daemon
#      serves again when processes are freed (a session closed while the
#      limit stays) and when the limit is raised.
#   B. A worker cannot start tasks (RLIMIT_NPROC on the worker): each task
#      fails with "cannot start handler: Resource temporarily unavailable",
#      the batch is done with every task failed, the session carries on
#      once the limit is raised, other sessions are served meanwhile.
#   C. --max-sessions 50 under 300 concurrent connection attempts: each
#      one is a session or a 503, none hangs or is reset; afterwards the
#      supervisor's fd count and worker count are back to their start.
#   D. kill -9 of a worker mid-batch while 10 other sessions run tasks: its
#      tasks are gone within 1 s, its id can be claimed at once, and the
#      other sessions' tasks are untouched.
# The checks given to eval expand their variables when they run.
# shellcheck disable=SC2016
# shellcheck source=tests/stress/common.sh
. "$(dirname "$0")/common.sh"

nobody_ok=
[ "$(id -u)" = 0 ] && id nobody > /dev/null 2>&1 && nobody_ok=1

code_of() { curl -s -o /dev/null --max-time 5 -w '%{http_code}' "$T_HTTP/healthz"; }
healthz_ok() { [ "$(code_of)" = 200 ]; }
nobody_tasks() { ps -L -u nobody --no-headers 2>/dev/null | wc -l; }
as_nobody() { setpriv --reuid nobody --regid "$(id -g nobody)" --clear-groups "$@"; }
# set_nproc PID SOFT|max: the soft RLIMIT_NPROC of a process of nobody's.
set_nproc() {
	local soft=$2
	[ "$soft" = max ] &&
	    soft=$(as_nobody prlimit --pid "$1" --nproc -o HARD --noheadings | tr -d ' ')
	as_nobody prlimit --pid "$1" --nproc="$soft:"
}
# set_nproc_daemon SOFT|max: the same for the supervisor and its fork
# server, which creates the workers (a clone counts against the caller's
# limit, CLONE_PARENT or not).
set_nproc_daemon() {
	local p
	for p in "$T_DPID" $(fork_server "$T_DPID"); do
		set_nproc "$p" "$1" || return
	done
}
forkfail_lines() { grep -c 'event=fork-failed' "$WT_DIR/daemon.log"; }

S_T0=$(t_now_ms)
if [ -n "$nobody_ok" ]; then
	# Handlers run as nobody, from a copy nobody can reach wherever the
	# checkout is, and append to $WT_DIR/records.
	pub=$(public_copy nobody)
	chmod 755 "$WT_DIR"
	chmod 666 "$WT_DIR/records"
	SPARE=2
	start_wstaskd --user nobody -t "$pub/handlers" -w "$pub/www" \
	    --spare $SPARE --kill-grace 300 \
	    --ping-interval 5 --ping-timeout 20
	quiet $SPARE

	# A. Fork failures.
	client a "?session=np-a"
	expect a '"type":"ready"'
	send a '{"type":"run","batch":"hold","tasks":[{"task":"monorec","args":{"conn":"a","run":60}}]}'
	wait_for 5 records_ge start np-a hold 1
	wait_for 5 eval '[ "$(sup_spares)" = $SPARE ]'
	set_nproc_daemon 1
	# The spares still take two connections; their replacements cannot
	# be forked.
	client b1 "?session=np-b1"
	client b2 "?session=np-b2"
	check "the spares forked before the limit still serve two sessions" \
	    eval 'expect b1 "\"type\":\"ready\"" && expect b2 "\"type\":\"ready\""'
	t0=$(t_now_ms)
	n503=0
	for i in $(seq 20); do
		[ "$(code_of)" = 503 ] && n503=$((n503 + 1))
		sleep 0.15
	done
	client c "?session=np-c"
	check "no worker can be forked: 20 HTTP requests over 3 s all got 503 ($n503)" \
	    test "$n503" = 20
	check "... and a WebSocket client got 503" expect c '^status 503'
	ff=$(forkfail_lines)
	dt=$(($(t_now_ms) - t0))
	retries=$(sed -n 's/.*event=fork-failed retry_ms=\([0-9]*\).*/\1/p' "$WT_DIR/daemon.log" | paste -sd' ')
	check "the failed forks are logged (event=fork-failed: $ff lines in $dt ms)" \
	    test "$ff" -ge 1
	check "... with back-off, not in a loop: <= 8 lines, retry_ms growing ($retries)" \
	    eval '[ "$ff" -le 8 ] && [ "$(echo "$retries" | tr " " "\n" | sort -n | paste -sd" ")" = "$retries" ] &&
	        [ "${retries##* }" -ge 800 ]'
	check "\"refusing connections: cannot fork a worker\" is logged once (rate-limited)" \
	    test "$(grep -c 'refusing connections: cannot fork a worker' "$WT_DIR/daemon.log")" = 1
	check "the sessions already open still work" \
	    eval 'send b1 "{\"type\":\"run\",\"batch\":\"e\",\"tasks\":[\"echo\"]}" &&
	        expect b1 "\"type\":\"done\",\"batch\":\"e\",\"ok\":1"'
	# Free processes while the limit stays: the limit becomes what the
	# user runs now, and session a (a worker and its task) leaves.
	n=$(nobody_tasks)
	set_nproc_daemon "$n"
	diag "RLIMIT_NPROC of the supervisor and the fork server now $n (nobody's tasks); closing session a"
	close_client a
	t0=$(t_now_ms)
	wait_for 8 healthz_ok
	rc=$?
	check "once a session has left, the daemon serves again (in $(($(t_now_ms) - t0)) ms; back-off <= 5 s)" \
	    test $rc = 0
	set_nproc_daemon max
	check "with the limit raised: the $SPARE spares are back" \
	    wait_for 8 eval '[ "$(sup_spares)" = $SPARE ]'
	# Spares forked while the limit was low keep it (limits are inherited
	# at fork): use them up, so a worker forked after the raise serves d.
	for i in $(seq $SPARE); do code_of > /dev/null; done
	wait_for 8 eval '[ "$(sup_spares)" = $SPARE ]'
	client d "?session=np-d"
	send d '{"type":"run","batch":"e","tasks":["echo","echo"]}'
	check "... and new sessions run tasks" expect d '"type":"done","batch":"e","ok":2'
	close_client b1
	close_client b2
	close_client c
	close_client d

	# B. Tasks that cannot be started.
	client t "?session=np-task"
	expect t '"type":"ready"'
	w=$(worker_of np-task)
	set_nproc "$w" 1
	send t '{"type":"run","batch":"nf","tasks":[{"task":"monorec","args":{"run":0}},{"task":"monorec","args":{"run":0}},{"task":"echo"}]}'
	check "a task that cannot be spawned fails with a clear error" \
	    expect t '"type":"result","batch":"nf","id":"0","ok":false,"error":"cannot start handler: Resource temporarily unavailable"'
	check "... every task of the batch did, and the batch is done (ok 0, failed 3)" \
	    expect t '"type":"done","batch":"nf","ok":0,"failed":3'
	check "... none of them was reported started" no_line t '"type":"started","batch":"nf"'
	check "... the worker logged event=spawn-failed" \
	    grep -q 'event=spawn-failed session=np-task ' "$WT_DIR/daemon.log"
	client o "?session=np-other"
	send o '{"type":"run","batch":"x","tasks":["echo"]}'
	check "other sessions are served meanwhile" expect o '"type":"done","batch":"x","ok":1'
	set_nproc "$w" max
	send t '{"type":"run","batch":"ok","tasks":[{"task":"monorec","args":{"run":0}},"echo"]}'
	check "the session carries on once processes can be spawned again" \
	    expect t '"type":"done","batch":"ok","ok":2,"failed":0'
	close_client t
	close_client o
	check "no worker exited other than with status 0 ($(daemon_crashes) did)" \
	    test "$(daemon_crashes)" = 0
	stop_wstaskd
	check "the daemon stopped cleanly (status $T_DSTATUS)" test "$T_DSTATUS" = 0
else
	for i in $(seq 18); do
		fail "RLIMIT_NPROC tests need root and a user nobody"
	done
fi

diag "A and B took $(($(t_now_ms) - S_T0)) ms"
S_T0=$(t_now_ms)

# C. --max-sessions under load.
SPARE=4
start_wstaskd --max-sessions 50 --spare $SPARE --ping-interval 5 --ping-timeout 20
quiet $SPARE
fds0=$(sup_fds)
w0=$(sup_workers)
load maxsess --url "$T_URL" --pid "$T_DPID" --n 300 --hold 1.5
check "300 attempts at once with --max-sessions 50: each a session or a 503 ($(fig maxsess_session) sessions, $(fig maxsess_503) 503s)" \
    test $(($(fig maxsess_session) + $(fig maxsess_503))) = 300
check "... none hung, was reset or broke (in $(fig maxsess_secs) s; slowest attempt $(fig maxsess_max_attempt_s) s)" \
    eval '[ "$(bad_lines)" = 0 ] && le "$(fig maxsess_max_attempt_s)" 10'
check "... the limit was used and enforced (>= 50 sessions, >= 1 refusal)" \
    eval '[ "$(fig maxsess_session)" -ge 50 ] && [ "$(fig maxsess_503)" -ge 1 ]'
check "the refusals are logged once (rate-limited line naming --max-sessions)" \
    test "$(grep -c 'refusing connections: --max-sessions' "$WT_DIR/daemon.log")" = 1
check "afterwards: workers back to $w0, the fd count back to $fds0 (no leak)" \
    eval 'quiet $SPARE 15 && [ "$(sup_workers)" = "$w0" ] && [ "$(sup_fds)" = "$fds0" ]'
check "the daemon serves again" healthz_ok

diag "C took $(($(t_now_ms) - S_T0)) ms"
S_T0=$(t_now_ms)

# D. kill -9 of a worker under load.
for i in $(seq 10); do
	client "l$i" "?session=load-$i"
	send "l$i" "{\"type\":\"run\",\"batch\":\"L\",\"tasks\":[{\"task\":\"monorec\",\"args\":{\"conn\":\"l$i\",\"run\":60}},{\"task\":\"family\",\"args\":60}]}"
done
client k "?session=victim"
send k '{"type":"run","batch":"K","tasks":[{"task":"monorec","args":{"conn":"k","run":60}},{"task":"family","args":60},"stubborn"]}'
wait_for 10 records_ge start victim K 3
for i in $(seq 10); do wait_for 5 records_ge start "load-$i" L 2; done
victim_pids="$(batch_pids victim K) $(record_pids child victim) $(record_pids escapee victim)"
others=$(awk '$1 == "start" && $3 ~ /^load-/ { print $2 }' "$WT_DIR/records")
vw=$(worker_of victim)
kill -KILL "$vw"
t0=$(t_now_ms)
# shellcheck disable=SC2086
assert_dead 3 $vw $victim_pids
t1=$(t_now_ms)
check "kill -9 of a worker mid-batch: its $(echo "$victim_pids" | wc -w) task processes gone in $((t1 - t0)) ms (< 1000)" \
    eval '[ $((t1 - t0)) -lt 1000 ] && all_dead $victim_pids'
check "... logged as orphans swept" grep -q 'event=orphan pid=' "$WT_DIR/daemon.log"
client k2 "?session=victim"
check "... its id can be claimed again at once" expect k2 '"type":"ready","session":"victim"' 3
# shellcheck disable=SC2086
check "... the other 10 sessions' $(echo "$others" | wc -w) tasks still run" \
    test "$(alive_count $others)" = "$(echo "$others" | wc -w)"
check "... the only abnormal worker exit is the one killed ($(daemon_crashes))" \
    eval '[ "$(daemon_crashes)" = 1 ] && grep -q "event=exit pid=$vw .*signal=SIGKILL" "$WT_DIR/daemon.log"'
for i in $(seq 10); do close_client "l$i"; done
close_client k
close_client k2
check "after they all close: no task left, only the spares" \
    eval 'quiet $SPARE 10 && [ -z "$(our_procs)" ]'
check "no protocol violation in the daemon log" \
    eval '! grep -q protocol-violation "$WT_DIR/daemon.log"'
diag "D took $(($(t_now_ms) - S_T0)) ms"
