#!/bin/bash
# Running as a daemon (SPEC 5): -D detaches (double fork, no controlling
# terminal, cwd /), --pidfile is held so a second instance refuses to
# start, is removed on a clean stop; --user drops privileges after
# binding (workers and handlers run as that user); --shutdown-timeout
# bounds a stop.
. "$(dirname "$0")/lib.sh"

pf=$WT_DIR/run/wstaskd.pid
mkdir -p "$WT_DIR/run"
"$WSTASKD" -D --pidfile "$pf" -l 127.0.0.1:0 -l "unix:$WT_DIR/run/sock" \
    -t "$T_HANDLERS" -w '' --allow-root --log-file "$WT_DIR/d.file" \
    2> "$WT_DIR/d.log"
check "-D: the command returns 0 once the daemon runs" test $? = 0
check "... and only then: the pidfile already names the live supervisor" \
    eval 'alive "$(cat "$pf")"'
dpid=$(cat "$pf")
read -r -a st < <(sed 's/.*) //' "/proc/$dpid/stat")
check "-D: no controlling terminal (tty_nr 0)" test "${st[4]}" = 0
check "-D: not a session leader (double fork)" test "${st[3]}" != "$dpid"
check "-D: working directory /" test "$(readlink "/proc/$dpid/cwd")" = /
check "-D: stdin is /dev/null" test "$(readlink "/proc/$dpid/fd/0")" = /dev/null
check "the daemon serves" \
    test "$(curl -s --unix-socket "$WT_DIR/run/sock" http://x/healthz)" = ok
out=$("$WSTASKD" --pidfile "$pf" -l 127.0.0.1:0 -t "$T_HANDLERS" -w '' --allow-root 2>&1)
status=$?
check "a second instance on the same pidfile exits 1" test "$status" = 1
case $out in *"already running as pid $dpid"*) ok "... naming the running pid" ;;
*) fail "... naming the running pid" "$out" ;; esac
kill -TERM "$dpid"
check "SIGTERM stops the daemon" assert_dead 5 "$dpid"
check "the pidfile is removed on a clean stop" test ! -e "$pf"

out=$("$WSTASKD" -n -l 127.0.0.1:1 -t "$T_HANDLERS" -w '' --allow-root 2>&1)
status=$?
check "-n: a good configuration exits 0" \
    eval '[ "$status" = 0 ] && [ "$out" = "wstaskd: configuration ok" ]'
check "-n: ... and binds nothing (port 1 would need it)" \
    eval '! ss -ltn | grep -q "127.0.0.1:1 "'
"$WSTASKD" -n -t /nonexistent -w '' --allow-root 2>/dev/null
check "-n: a bad one exits 64" test $? = 64

# --user: bind as root, then run (and run handlers) as nobody, with
# handlers and www that nobody can reach wherever the checkout is.
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	pub=$(public_copy nobody)
	chmod 755 "$WT_DIR"
	start_wstaskd --user nobody --spare 1 -l "unix:$WT_DIR/u.sock" \
	    -t "$pub/handlers" -w "$pub/www"
	uid=$(id -u nobody)
	check "--user: a unix socket is the user's, mode 0660" \
	    test "$(stat -c '%U %a' "$WT_DIR/u.sock")" = "nobody 660"
	check "--user: the supervisor runs as nobody" \
	    test "$(awk '/^Uid:/ { print $2 $3 $4 $5 }' "/proc/$T_DPID/status")" = "$uid$uid$uid$uid"
	client u "?session=user"
	send u '{"type":"run","tasks":["procstate"]}'
	check "--user: handlers run as nobody" expect u "\"uid\":$uid,"
	w=$(worker_of user)
	check "--user: workers run as nobody" \
	    test "$(awk '/^Uid:/ { print $3 }' "/proc/$w/status")" = "$uid"
	close_client u
	stop_wstaskd
else
	fail "--user needs root and a nobody user to be tested"
	fail "--user: unix socket"
	fail "--user: handlers"
	fail "--user: workers"
fi

# --shutdown-timeout: a worker whose cancel would wait a long grace.
start_wstaskd --kill-grace 60000 --shutdown-timeout 1
client s "?session=slow"
send s '{"type":"run","batch":"st","tasks":["stubborn"]}'
wait_for 5 records_ge start slow st 1
spid=$(batch_pids slow st)
t0=$(t_now_ms)
stop_wstaskd
t1=$(t_now_ms)
check "--shutdown-timeout 1: stopped in $((t1 - t0)) ms (< 4 s), status 0" \
    eval "[ $((t1 - t0)) -lt 4000 ] && [ '$T_DSTATUS' = 0 ]"
check "... and the straggler's handler was swept" all_dead "$spid"
