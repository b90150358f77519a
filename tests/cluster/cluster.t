#!/bin/bash
# Several wstaskd hosts behind HAProxy (issue 7; README "Running several
# hosts"), run by `make check-cluster` under the reaper.
#
# Three wstaskd instances on 127.0.0.1 (ports picked by the kernel, one log
# each, named ws1..ws3 like the servers of examples/haproxy.cfg; the
# `backend` handler prints that name, passed with --pass-env BACKEND), and
# Debian's haproxy in the foreground with a copy of examples/haproxy.cfg:
# the same defaults, frontend and backend, only the addresses substituted,
# checks every 200 ms (fall 1, rise 1) and a stats page to read the servers'
# state.  Then:
#   1. 300 sessions twice through HAProxy: each id lands on the same backend
#      both times (by the handler's answer and by the backends' logs), and
#      the ids spread over all three; --trusted-proxy logs the client.
#   2. Supersede through HAProxy: the second connection of an id takes
#      over, the first gets 4001, the old tasks are dead before `ready`.
#   3. SIGTERM one backend: its clients get 1001 (their tasks gone first);
#      after HAProxy marks it down its ids reconnect to the other two, the
#      ids of the other two stay where they were, their open sessions are
#      untouched.  Prints the fraction of ids that moved.
#   4. Start it again: once HAProxy sees it up, its ids come back and new
#      ids map to it; an id that moved away and back is not superseded on
#      the host it moved to (the limit README states).
#   5. Rolling restart: `wstaskctl drain` on ws1; HAProxy's health check
#      takes it out of the pool while its held sessions go on; new
#      sessions land on ws2 and ws3; once its sessions are over, ws1 is
#      restarted and resumed and takes new sessions again; no session is
#      refused or lost on the way.
#   6. examples/nginx.conf, when nginx is installed: `nginx -t` on a copy,
#      and sessions routed through it.
# At most 30 clients at once (25 per bulk run, plus the held ones).
# Everything listens on 127.0.0.1 and is stopped by pid.

# The checks given to eval expand their variables when they run.
# shellcheck disable=SC2016
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# lib.sh finds the tree from its caller's directory, one level up: give it
# an absolute build directory and set the paths it derives from the tree.
b=${WSTASKD_BUILD:-build}
case $b in /*) ;; *) b=$root/$b ;; esac
export WSTASKD_BUILD=$b
# shellcheck source=tests/lib.sh
. "$root/tests/lib.sh"
# shellcheck disable=SC2034 # lib.sh's
T_ROOT=$root
T_HANDLERS=$root/tests/handlers
SESSIONS=$here/sessions.py
PY=/usr/bin/python3
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
CTL=$b/wstaskctl
NIDS=300
CONC=25

# ---------------------------------------------------------------- helpers

declare -A B_PID B_PORT B_STATUS
H_PID=
N_PID=

# start_backend NAME [PORT]: a wstaskd whose handlers see BACKEND=NAME.
start_backend() {
	local name=$1 port=${2:-0} n
	n=$(grep -c 'event=listen ' "$WT_DIR/$name.log" 2>/dev/null)
	(
		t_close_client_fds
		BACKEND=$name exec "$WSTASKD" -l "127.0.0.1:$port" \
		    -t "$T_HANDLERS" -w '' --allow-root --kill-grace 1000 \
		    --pass-env WT_DIR --pass-env BACKEND \
		    --trusted-proxy 127.0.0.1/32 --control "$WT_DIR/$name.ctl" \
		    2>> "$WT_DIR/$name.log"
	) &
	B_PID[$name]=$!
	if ! wait_for 5 listens_more "$name" "${n:-0}"; then
		diag "$name did not start:" "$(tail -5 "$WT_DIR/$name.log")"
		return 1
	fi
	B_PORT[$name]=$(grep -o 'event=listen addr=127.0.0.1:[0-9]*' \
	    "$WT_DIR/$name.log" | tail -n 1 | sed 's/.*://')
}
listens_more() {
	[ "$(grep -c 'event=listen addr=127.0.0.1:' "$WT_DIR/$1.log")" -gt "$2" ]
}

# stop_backend NAME: SIGTERM, wait; the exit status in B_STATUS[NAME].
stop_backend() {
	local pid=${B_PID[$1]:-}
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	wait "$pid"
	B_STATUS[$1]=$?
	B_PID[$1]=
}

# Two free loopback ports, bound at once so they differ.
free_ports() {
	"$PY" -c 'import socket
s = [socket.socket() for _ in range(int(__import__("sys").argv[1]))]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))' "$1"
}

# haproxy_cfg FRONT STATS: examples/haproxy.cfg for this test on stdout.
# Its global section (syslog, chroot, user, daemon) is replaced by a log
# to stderr; the bind and server addresses are substituted; the checks
# are made fast (a refused connection marks a server down at once, a slow
# answer only after 2 s); a stats page is added.  Nothing else changes.
haproxy_cfg() {
	awk -v hp="$1" -v sp="$2" \
	    -v ports="${B_PORT[ws1]} ${B_PORT[ws2]} ${B_PORT[ws3]}" '
	BEGIN { split(ports, port, " ") }
	/^global/ { print "global\n\tlog stderr format raw local0 info"; skip = 1; next }
	skip && /^[a-z]/ { skip = 0 }
	skip { next }
	/^[ \t]+bind / { sub(/bind .*/, "bind 127.0.0.1:" hp) }
	/^[ \t]+default-server / {
		sub(/inter [0-9a-z]+/, "inter 200ms")
		sub(/fall [0-9]+/, "fall 1")
		sub(/rise [0-9]+/, "rise 1")
		# A check may take longer than 200 ms while 25 clients
		# connect (all the more with ASan): without this, a slow
		# answer would mark a backend down and move its ids.
		$0 = $0 "\n\ttimeout check 2s"
	}
	/^[ \t]+server / { n++; sub(/[0-9.]+:[0-9]+/, "127.0.0.1:" port[n]) }
	{ print }
	END {
		print "\nfrontend stats\n\tbind 127.0.0.1:" sp
		print "\tstats enable\n\tstats uri /stats"
	}' "$root/examples/haproxy.cfg"
}

# server_status NAME: HAProxy's view of server NAME (UP, DOWN, ...).
server_status() {
	curl -s --max-time 2 "http://127.0.0.1:$SP/stats;csv" |
	    awk -F, -v s="$1" '$1 == "wstaskd" && $2 == s { print $18 }'
}
status_is() { [ "$(server_status "$1")" = "$2" ]; }
all_up() { status_is ws1 UP && status_is ws2 UP && status_is ws3 UP; }

# run_map URL IDFILE OUT: each id once through URL; OUT gets "ID BACKEND".
run_map() {
	(t_close_client_fds; exec "$PY" "$SESSIONS" map -c "$CONC" -t 60 \
	    "$1" "$2") > "$3" 2> "$3.err"
}
# mapped_ok OUT N: N lines, each "ID wsN".
mapped_ok() {
	[ "$(grep -cE '^[0-9a-f-]+ ws[123]$' "$1")" = "$2" ] &&
	    [ "$(wc -l < "$1")" = "$2" ]
}
# spread OUT: "ws1=N ws2=N ws3=N".
spread() {
	awk '{ n[$2]++ } END { printf "ws1=%d ws2=%d ws3=%d", n["ws1"], n["ws2"], n["ws3"] }' "$1"
}
# same_map A B: the same backend for every id of A in B (and B has them all).
same_map() {
	[ -z "$(LC_ALL=C join -a 1 -e none -o 0,1.2,2.2 <(LC_ALL=C sort "$1") \
	    <(LC_ALL=C sort "$2") | awk '$2 != $3')" ]
}

# hold NAME IDFILE: one connection per id, kept open, each running a
# long `sleep` task (tests/cluster/sessions.py hold); a client of lib.sh
# (stdin FIFO, output in NAME.out), so `cmd NAME ask`, close_client NAME
# and the cleanup work on it.
hold() {
	local name=$1 fd
	rm -f "$WT_DIR/$name.in"
	mkfifo "$WT_DIR/$name.in"
	: > "$WT_DIR/$name.out"
	(t_close_client_fds; exec "$PY" "$SESSIONS" hold -t 120 "$H_URL" "$2" \
	    < "$WT_DIR/$name.in" > "$WT_DIR/$name.out" 2> "$WT_DIR/$name.err") &
	eval "T_PID_$name=\$!"
	exec {fd}<> "$WT_DIR/$name.in"
	eval "T_FD_$name=$fd"
	T_CLIENTS="$T_CLIENTS $name"
}

# The handlers' start records of SESSION (the pids of its `sleep` tasks).
session_pids() { awk -v s="$1" '$1 == "start" && $3 == s { print $2 }' "$WT_DIR/records"; }

cl_cleanup() {
	local name
	[ -n "$N_PID" ] && kill -TERM "$N_PID" 2>/dev/null && wait "$N_PID"
	[ -n "$H_PID" ] && kill -TERM "$H_PID" 2>/dev/null && wait "$H_PID"
	for name in "${!B_PID[@]}"; do
		stop_backend "$name"
	done
	# For lib.sh's scan of the daemon log (sanitizer, protocol reports).
	cat "$WT_DIR"/ws[123].log >> "$WT_DIR/daemon.log" 2>/dev/null
	return 0
}
at_exit cl_cleanup

# ---------------------------------------------------------------- setup

check "examples/haproxy.cfg is valid (haproxy -c)" \
    "$HAPROXY" -c -q -f "$root/examples/haproxy.cfg"

for name in ws1 ws2 ws3; do
	start_backend "$name" || { fail "$name starts"; exit 1; }
done
read -r HP SP <<< "$(free_ports 2)"
haproxy_cfg "$HP" "$SP" > "$WT_DIR/haproxy.cfg"
H_URL="ws://127.0.0.1:$HP/stream"
# shellcheck disable=SC2034 # lib.sh's clients go through HAProxy too
T_URL=$H_URL
keeps() { grep -qE "^[[:space:]]+$1\$" "$WT_DIR/haproxy.cfg"; }
if "$HAPROXY" -c -q -f "$WT_DIR/haproxy.cfg" && keeps 'balance url_param session' &&
    keeps 'hash-type consistent' && keeps 'option httpchk GET /healthz' &&
    keeps 'http-check expect status 200' && keeps 'option forwardfor' &&
    keeps 'timeout tunnel 60s' && [ "$(grep -c '127.0.0.1:' "$WT_DIR/haproxy.cfg")" = 5 ]; then
	ok "the test's copy of it is valid and routes as the example does"
else
	fail "the test's copy of it is valid and routes as the example does" \
	    "$(cat "$WT_DIR/haproxy.cfg")"
fi
(t_close_client_fds; exec "$HAPROXY" -db -f "$WT_DIR/haproxy.cfg" \
    >> "$WT_DIR/haproxy.log" 2>&1) &
H_PID=$!
check "haproxy and three backends (ports ${B_PORT[ws1]} ${B_PORT[ws2]} ${B_PORT[ws3]}) are up" \
    wait_for 10 all_up
diag "haproxy on 127.0.0.1:$HP, stats on 127.0.0.1:$SP"

# ---------------------------------------------------------------- 1. routing

"$PY" "$SESSIONS" ids "$NIDS" 7 > "$WT_DIR/ids"
t0=$(t_now_ms)
run_map "$H_URL" "$WT_DIR/ids" "$WT_DIR/map1"
run_map "$H_URL" "$WT_DIR/ids" "$WT_DIR/map2"
t1=$(t_now_ms)
check "$NIDS sessions through HAProxy, twice: each got ready and its backend's name" \
    eval 'mapped_ok "$WT_DIR/map1" $NIDS && mapped_ok "$WT_DIR/map2" $NIDS'
diag "$((2 * NIDS)) connections in $((t1 - t0)) ms, at most $CONC at once"
check "each id landed on the same backend both times" same_map "$WT_DIR/map1" "$WT_DIR/map2"
# The backends' own logs: every grant of these ids is in the log of the
# backend that answered for it, twice.
grants_match() {
	local name ids
	for name in ws1 ws2 ws3; do
		ids=$(awk -v b="$name" '$2 == b { print $1 }' "$WT_DIR/map1" | LC_ALL=C sort)
		[ "$(grep -o 'event=grant session=[0-9a-f-]* ' "$WT_DIR/$name.log" |
		    sed 's/.*=//; s/ $//' | LC_ALL=C sort | uniq -c |
		    awk '$1 == 2 { print $2 }')" = "$ids" ] || return 1
	done
}
check "the backends' logs agree: each id granted twice, by the backend that answered" \
    grants_match
diag "spread of $NIDS ids: $(spread "$WT_DIR/map1")"
spread_ok() {
	awk -v min=$((NIDS / 6)) '{ n[$2]++ } END { exit !(n["ws1"] >= min &&
	    n["ws2"] >= min && n["ws3"] >= min) }' "$WT_DIR/map1"
}
check "the ids spread over all three backends (each has at least 1/6)" spread_ok

# --trusted-proxy 127.0.0.1/32 on every backend: the client that HAProxy
# names in X-Forwarded-For is logged.  A client on 127.0.0.2 that sends an
# X-Forwarded-For of its own: the rightmost untrusted address is the one
# HAProxy added, so the forged one is not believed.
clients_logged() {
	local name
	for name in ws1 ws2 ws3; do
		[ "$(grep -cE 'event=client peer=127\.0\.0\.1:[0-9]+ client=127\.0\.0\.1$' \
		    "$WT_DIR/$name.log")" -ge "$(grep -c "event=grant session=" "$WT_DIR/$name.log")" ] ||
		    return 1
	done
}
check "every backend logged event=client peer=127.0.0.1:PORT client=127.0.0.1 for each session" \
    clients_logged
curl -s -o /dev/null --max-time 1 --interface 127.0.0.2 \
    -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
    -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
    -H 'X-Forwarded-For: 203.0.113.66' "http://127.0.0.1:$HP/stream?session=xff-1"
check "a client on 127.0.0.2 forging X-Forwarded-For is logged as client=127.0.0.2" \
    eval 'wait_for 5 grep -qE "event=client peer=127\.0\.0\.1:[0-9]+ client=127\.0\.0\.2$" "$WT_DIR"/ws[123].log &&
    ! grep -q "client=203.0.113.66" "$WT_DIR"/ws[123].log'

# ---------------------------------------------------------------- 2. supersede

run3='{"type":"run","batch":"old","limit":3,"tasks":[{"task":"termslow","args":0.3},{"task":"termslow","args":0.3},{"task":"termslow","args":0.3}]}'
client a -T "?session=sup-1"
expect a '"type":"ready","session":"sup-1","superseded":false'
send a "$run3"
wait_for 5 records_ge start sup-1 old 3
old_pids=$(batch_pids sup-1 old)
client b -T "?session=sup-1"
check "through HAProxy a second connection of an id takes over (superseded:true)" \
    expect b '"type":"ready","session":"sup-1","superseded":true'
# shellcheck disable=SC2086
check "every old task is dead when the new ready is seen" all_dead $old_pids
check "ready came after the last old task's cleanup (3 end records)" \
    eval 'test "$(n_records end sup-1 old)" = 3 &&
    test "$(stamp b "\"type\":\"ready\"")" -gt "$(max_record_ns end sup-1 old)"'
check "the first connection got cancelled (superseded), then close 4001" \
    eval 'expect a "\"type\":\"cancelled\",\"batch\":\"old\",\"reason\":\"superseded\"" &&
    expect a "^[0-9]+ close 4001"'
sup_logs=$(grep -l 'event=grant session=sup-1 ' "$WT_DIR"/ws[123].log)
check "both connections were granted by one backend (${sup_logs##*/})" \
    eval '[ "$(echo "$sup_logs" | wc -l)" = 1 ] &&
    [ "$(grep -c "event=grant session=sup-1 " "$sup_logs")" = 2 ]'
close_client a
close_client b

# ---------------------------------------------------------------- 3. stop ws2

# Nine open sessions on each backend, each running a 60 s task.
for name in ws1 ws2 ws3; do
	awk -v b="$name" '$2 == b { print $1 }' "$WT_DIR/map1" | head -n 9
done > "$WT_DIR/held"
hold h "$WT_DIR/held"
check "27 sessions held open through HAProxy, each on its backend, each running a task" \
    eval 'expect h "^opened 27$" 20 && [ -z "$(LC_ALL=C join <(awk "\$2 == \"open\" { print \$1, \$3 }" "$WT_DIR/h.out" | LC_ALL=C sort) \
	<(LC_ALL=C sort "$WT_DIR/map1") | awk "\$2 != \$3")" ] &&
	[ "$(grep -c " open " "$WT_DIR/h.out")" = 27 ]'
ws2_held=$(awk '$2 == "open" && $3 == "ws2" { print $1 }' "$WT_DIR/h.out")
ws2_task_pids=$(for s in $ws2_held; do session_pids "$s"; done)
t_stop=$(t_now_ms)
kill -TERM "${B_PID[ws2]}"
check "SIGTERM to ws2: its 9 clients got close 1001" expect_n h ' close 1001$' 9 10
t_closed=$(t_now_ms)
# shellcheck disable=SC2086
check "... and their tasks were already dead" all_dead $ws2_task_pids
closed_ws2=$(awk '$2 == "close" { print $1 }' "$WT_DIR/h.out" | LC_ALL=C sort)
check "... only ws2's clients were closed" \
    test "$closed_ws2" = "$(echo "$ws2_held" | LC_ALL=C sort)"
stop_backend ws2
check "ws2 stopped gracefully (status ${B_STATUS[ws2]})" test "${B_STATUS[ws2]}" = 0
check "HAProxy marks ws2 down" wait_for 5 status_is ws2 DOWN
t_down=$(t_now_ms)
diag "ws2: 1001 to its clients $((t_closed - t_stop)) ms after SIGTERM, marked down after $((t_down - t_stop)) ms"
cmd h ask
check "the 18 held sessions of ws1 and ws3 are untouched: open, answering from the same backend" \
    eval 'expect h "^asked 18$" 15 && [ "$(grep -c " close " "$WT_DIR/h.out")" = 9 ] &&
    [ -z "$(LC_ALL=C join <(awk "\$2 == \"answer\" { print \$1, \$3 }" "$WT_DIR/h.out" | LC_ALL=C sort) \
	<(LC_ALL=C sort "$WT_DIR/map1") | awk "\$2 != \$3")" ] &&
    [ "$(grep -c " answer " "$WT_DIR/h.out")" = 18 ]'
close_client h

run_map "$H_URL" "$WT_DIR/ids" "$WT_DIR/map3"
check "with ws2 down all $NIDS ids reconnect, none to ws2" \
    eval 'mapped_ok "$WT_DIR/map3" $NIDS && ! grep -q " ws2$" "$WT_DIR/map3"'
LC_ALL=C join <(LC_ALL=C sort "$WT_DIR/map1") <(LC_ALL=C sort "$WT_DIR/map3") > "$WT_DIR/moves"
stayed_ok() { [ -z "$(awk '$2 != "ws2" && $2 != $3' "$WT_DIR/moves")" ]; }
check "every id of ws1 and ws3 stayed on its backend" stayed_ok
n_ws2=$(awk '$2 == "ws2"' "$WT_DIR/moves" | wc -l)
n_moved=$(awk '$2 != $3' "$WT_DIR/moves" | wc -l)
check "every id of ws2 moved, and nothing else: $n_moved of $NIDS" test "$n_moved" = "$n_ws2"
diag "$(awk -v n="$NIDS" '$2 != $3 { m++; to[$3]++ } END {
    printf "moved when ws2 stopped: %d of %d ids = %.1f%% (to ws1 %d, to ws3 %d)", m, n, 100 * m / n, to["ws1"], to["ws3"] }' "$WT_DIR/moves")"

# ---------------------------------------------------------------- 4. ws2 back

# Five ids that moved away, held open (with a task) where they are now.
awk '$2 == "ws2" { print $1 }' "$WT_DIR/moves" | head -n 5 > "$WT_DIR/held2"
hold h2 "$WT_DIR/held2"
expect h2 '^opened 5$' 15
held2_ids=$(< "$WT_DIR/held2")
moved_pids=$(for s in $held2_ids; do session_pids "$s"; done)
t_start=$(t_now_ms)
start_backend ws2 "${B_PORT[ws2]}" || fail "ws2 restarts on port ${B_PORT[ws2]}"
check "ws2 restarted on its port; HAProxy marks it up" wait_for 10 status_is ws2 UP
diag "ws2 up in HAProxy $(($(t_now_ms) - t_start)) ms after its restart"
run_map "$H_URL" "$WT_DIR/ids" "$WT_DIR/map4"
check "all $NIDS ids map as before ws2 stopped: its ids came back" \
    eval 'mapped_ok "$WT_DIR/map4" $NIDS && same_map "$WT_DIR/map1" "$WT_DIR/map4"'
"$PY" "$SESSIONS" ids 60 8 > "$WT_DIR/ids-new"
run_map "$H_URL" "$WT_DIR/ids-new" "$WT_DIR/map5"
diag "60 new ids: $(spread "$WT_DIR/map5")"
check "new sessions map to ws2 again" \
    eval 'mapped_ok "$WT_DIR/map5" 60 && grep -q " ws2$" "$WT_DIR/map5"'
# The limit: ws2 granted the 5 ids afresh (superseded=false) while their
# moved sessions still run on ws1/ws3, which nothing told to go.
back_unsuperseded() {
	local s
	for s in $held2_ids; do
		grep -q "event=grant session=$s .*superseded=false" "$WT_DIR/ws2.log" || return 1
	done
	! grep -q ' close ' "$WT_DIR/h2.out"
}
# shellcheck disable=SC2086
check "limit: the 5 moved ids got new sessions on ws2 while their old ones still run elsewhere" \
    eval 'back_unsuperseded && all_alive $moved_pids'
close_client h2
# shellcheck disable=SC2086
check "... and closing those clients ends their tasks" assert_dead 5 $moved_pids

# ---------------------------------------------------------------- 5. rolling restart

# ctl NAME ARGS: wstaskctl on backend NAME's control socket.
ctl() { local n=$1; shift; "$CTL" -s "$WT_DIR/$n.ctl" "$@"; }
# sessions_on NAME: the sessions backend NAME holds now (wstaskctl -j).
sessions_on() {
	ctl "$1" -j status | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["sessions"])'
}
awk '$2 == "ws1" { print $1 }' "$WT_DIR/map1" | head -n 5 > "$WT_DIR/held3"
hold h3 "$WT_DIR/held3"
check "5 sessions held on ws1, each running a task" expect h3 '^opened 5$' 15
# These ids were held in part 3 too: their newest task is this hold's.
held3_pids=$(for s in $(< "$WT_DIR/held3"); do session_pids "$s" | tail -n 1; done)
t_drain=$(t_now_ms)
check "wstaskctl drain on ws1: exit 0" ctl ws1 drain
check "HAProxy's health check takes ws1 out of the pool" wait_for 10 status_is ws1 DOWN
diag "ws1 marked down $(($(t_now_ms) - t_drain)) ms after the drain"
"$PY" "$SESSIONS" ids 90 9 > "$WT_DIR/ids-drain"
run_map "$H_URL" "$WT_DIR/ids-drain" "$WT_DIR/map6"
diag "90 new ids while ws1 drains: $(spread "$WT_DIR/map6")"
check "while ws1 drains, 90 new sessions are all served, by ws2 and ws3 alone" \
    eval 'mapped_ok "$WT_DIR/map6" 90 && ! grep -q " ws1$" "$WT_DIR/map6"'
# shellcheck disable=SC2086
check "... while ws1's held sessions go on: their tasks still run" all_alive $held3_pids
# (an ask is a new batch: it replaces the held task)
cmd h3 ask
check "... and they answer, from ws1" \
    eval 'expect h3 "^asked 5$" 15 && [ "$(grep -c " answer ws1$" "$WT_DIR/h3.out")" = 5 ] &&
    ! grep -q " close " "$WT_DIR/h3.out"'
close_client h3
check "ws1's sessions finish: wstaskctl status says 0 sessions" \
    wait_for 10 eval '[ "$(sessions_on ws1)" = 0 ]'
stop_backend ws1
check "ws1 stopped gracefully (status ${B_STATUS[ws1]})" test "${B_STATUS[ws1]}" = 0
start_backend ws1 "${B_PORT[ws1]}" || fail "ws1 restarts on port ${B_PORT[ws1]}"
check "wstaskctl resume on the restarted ws1: exit 0" ctl ws1 resume
check "HAProxy puts ws1 back in the pool" wait_for 10 status_is ws1 UP
run_map "$H_URL" "$WT_DIR/ids-drain" "$WT_DIR/map7"
diag "the same 90 ids after ws1's restart: $(spread "$WT_DIR/map7")"
check "ws1 takes new sessions again, and none of the 90 is refused" \
    eval 'mapped_ok "$WT_DIR/map7" 90 && grep -q " ws1$" "$WT_DIR/map7"'
check "the ids of ws2 and ws3 stayed where they were" \
    eval '[ -z "$(LC_ALL=C join <(LC_ALL=C sort "$WT_DIR/map6") <(LC_ALL=C sort "$WT_DIR/map7") |
	awk "\$3 != \"ws1\" && \$2 != \$3")" ]'

# ---------------------------------------------------------------- 6. nginx

nginx_cfg() {	# PORT: examples/nginx.conf with test addresses
	awk -v np="$1" -v ports="${B_PORT[ws1]} ${B_PORT[ws2]} ${B_PORT[ws3]}" '
	BEGIN { split(ports, port, " ") }
	/^[ \t]+listen / { sub(/listen [^;]*;/, "listen 127.0.0.1:" np ";") }
	/^[ \t]+server [0-9]/ { n++; sub(/[0-9.]+:[0-9]+/, "127.0.0.1:" port[n]) }
	{ print }' "$root/examples/nginx.conf"
}
if [ -x "$NGINX" ]; then
	nd=$WT_DIR/nginx
	mkdir -p "$nd"
	read -r NP <<< "$(free_ports 1)"
	nginx_cfg "$NP" > "$nd/wstaskd.conf"
	cat > "$nd/nginx.conf" <<-EOF
	daemon off;
	worker_processes 1;
	pid $nd/nginx.pid;
	error_log $nd/error.log;
	events { worker_connections 128; }
	http {
		access_log $nd/access.log;
		client_body_temp_path $nd/body;
		proxy_temp_path $nd/proxy;
		fastcgi_temp_path $nd/fastcgi;
		uwsgi_temp_path $nd/uwsgi;
		scgi_temp_path $nd/scgi;
		include $nd/wstaskd.conf;
	}
	EOF
	check "examples/nginx.conf, with test addresses, passes nginx -t" \
	    "$NGINX" -q -t -e "$nd/error.log" -p "$nd" -c "$nd/nginx.conf"
	(t_close_client_fds; exec "$NGINX" -e "$nd/error.log" -p "$nd" \
	    -c "$nd/nginx.conf" 2> "$nd/stderr") &
	N_PID=$!
	wait_for 5 curl -sf -o /dev/null "http://127.0.0.1:$NP/healthz"
	head -n 60 "$WT_DIR/ids" > "$WT_DIR/ids-nginx"
	run_map "ws://127.0.0.1:$NP/stream" "$WT_DIR/ids-nginx" "$WT_DIR/mapn1"
	run_map "ws://127.0.0.1:$NP/stream" "$WT_DIR/ids-nginx" "$WT_DIR/mapn2"
	diag "60 ids through nginx: $(spread "$WT_DIR/mapn1")"
	check "through nginx (hash \$arg_session consistent) each id lands on one backend, over all three" \
	    eval 'mapped_ok "$WT_DIR/mapn1" 60 && same_map "$WT_DIR/mapn1" "$WT_DIR/mapn2" &&
	    grep -q " ws1$" "$WT_DIR/mapn1" && grep -q " ws2$" "$WT_DIR/mapn1" &&
	    grep -q " ws3$" "$WT_DIR/mapn1"'
	kill -TERM "$N_PID"
	wait "$N_PID"
	check "nginx stopped" test $? = 0
	N_PID=
else
	for d in "examples/nginx.conf passes nginx -t" "sessions through nginx" "nginx stopped"; do
		ok "$d # SKIP nginx is not installed"
	done
fi

# ---------------------------------------------------------------- the end

kill -USR1 "$H_PID"	# soft stop: no connection is left to wait for
wait "$H_PID"
hs=$?
H_PID=
check "haproxy stopped (soft stop, status $hs)" test "$hs" = 0
for name in ws1 ws2 ws3; do
	stop_backend "$name"
done
check "the three backends stopped gracefully (status ${B_STATUS[ws1]} ${B_STATUS[ws2]} ${B_STATUS[ws3]})" \
    test "${B_STATUS[ws1]}${B_STATUS[ws2]}${B_STATUS[ws3]}" = 000
