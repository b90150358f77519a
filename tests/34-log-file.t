#!/bin/bash
# --log-file (SPEC 9.3): the supervisor's and the workers' lines go to the
# file, each with its UTC time; SIGHUP reopens it (logrotate renames the
# file, the next lines go to a new one), a reopen that fails keeps the
# old file and says why; the file is given to --user; handlers do not
# inherit it.  -D with neither --log-file nor a syslog socket refuses to
# start, saying so, before it detaches.
. "$(dirname "$0")/lib.sh"

LOGD=$WT_DIR/logs
mkdir -p "$LOGD"
LOG=$LOGD/wstaskd.log
# start_logged FILE [FLAG...]: start_wstaskd with --log-file FILE, whose
# lines (not standard error's) say where it listens.
start_logged() {
	local log=$1
	shift
	: > "$WT_DIR/daemon.log"
	(
		t_close_client_fds
		exec "$WSTASKD" -l 127.0.0.1:0 -t "$T_HANDLERS" -w "$T_ROOT/www" \
		    --allow-root --kill-grace 200 --ping-interval 1 \
		    --ping-timeout 2 --pass-env WT_DIR -v --log-file "$log" "$@" \
		    2>> "$WT_DIR/daemon.log"
	) &
	T_DPID=$!
	await_daemon "$T_DPID" "$log" "wstaskd --log-file $log"
	T_PORT=$(grep -o 'event=listen addr=127.0.0.1:[0-9]*' "$log" |
	    tail -n 1 | sed 's/.*://')
	T_URL="ws://127.0.0.1:$T_PORT/stream"
	T_HTTP="http://127.0.0.1:$T_PORT"
}
STAMP='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z wstaskd\[[0-9]+\]: '

start_logged "$LOG"
check "the log file is made" test -f "$LOG"
check "the supervisor's lines are in it, each with its UTC time" \
    grep -qE "${STAMP}supervisor: event=start pid=$T_DPID " "$LOG"
check "every line has the time" eval '! grep -vqE "$STAMP" "$LOG"'
check "standard error has none of them" test ! -s "$WT_DIR/daemon.log"
client a "?session=L1"
expect a '"type":"ready","session":"L1"'
send a '{"type":"run","batch":"b1","tasks":[{"task":"sleep","args":30}]}'
wait_for 5 records_ge start L1 b1 1
hpid=$(batch_pids L1 b1)
check "a worker's lines are in it too" \
    wait_for 5 grep -qE "${STAMP}worker: event=batch session=L1 batch=b1 " "$LOG"
check "the handler did not inherit the log file" \
    eval '! ls -l "/proc/$hpid/fd" | grep -qF "$LOG"'
send a '{"type":"cancel"}'
expect a '"type":"cancelled","batch":"b1"'

# logrotate: rename, SIGHUP, and the next lines are in a new file.
mv "$LOG" "$LOG.1"
kill -HUP "$T_DPID"
check "SIGHUP: a new file at the same path" wait_for 5 test -f "$LOG"
check "... with the reopen's line" wait_for 5 grep -qs "event=reopen-log" "$LOG"
client b "?session=L2"
expect b '"type":"ready","session":"L2"'
check "... and the next session's lines" \
    wait_for 5 grep -q "event=grant session=L2 " "$LOG"
check "... which the old file has not" eval '! grep -q "session=L2" "$LOG.1"'
check "the old file kept what came before" grep -q "event=grant session=L1 " "$LOG.1"

# A reopen that fails keeps the old file, and says why in it.
mv "$LOG" "$LOG.2"
mkdir "$LOG"
kill -HUP "$T_DPID"
check "a failed reopen is logged in the file in use" \
    wait_for 5 grep -q "reopen --log-file $LOG (still writing to the old file).*Is a directory" "$LOG.2"
client c "?session=L3"
expect c '"type":"ready","session":"L3"'
check "... which goes on being written" \
    wait_for 5 grep -q "event=grant session=L3 " "$LOG.2"
rmdir "$LOG"
kill -HUP "$T_DPID"
check "the next SIGHUP opens the file again" \
    wait_for 5 grep -qs "event=reopen-log" "$LOG"
stop_wstaskd

# With --user the file is the user's, so the reopen after the drop works.
if [ "$(id -u)" = 0 ] && id nobody > /dev/null 2>&1; then
	pub=$(public_copy nobody)
	chmod 755 "$WT_DIR"
	ND=$WT_DIR/nlogs
	mkdir -p "$ND"
	chown nobody "$ND"
	start_logged "$ND/w.log" --user nobody --spare 1 -t "$pub/handlers" \
	    -w "$pub/www"
	check "--user: the log file is the user's" test "$(stat -c %U "$ND/w.log")" = nobody
	mv "$ND/w.log" "$ND/w.log.1"
	kill -HUP "$T_DPID"
	check "--user: the reopen after the drop makes a new file" \
	    wait_for 5 grep -qs "event=reopen-log" "$ND/w.log"
	stop_wstaskd
else
	ok "# SKIP not root, or no user nobody"
	ok "# SKIP not root, or no user nobody"
fi

out=$("$WSTASKD" -n --log-file "$LOG" --syslog -t "$T_HANDLERS" -w '' --allow-root 2>&1)
check "--log-file with --syslog: exit 64" test $? = 64

# -D with no log file and no syslog socket: refused before detaching.
if [ -S /dev/log ]; then
	ok "# SKIP a syslog socket listens on /dev/log here"
	ok "# SKIP a syslog socket listens on /dev/log here"
	ok "# SKIP a syslog socket listens on /dev/log here"
else
	pf=$WT_DIR/d.pid
	out=$("$WSTASKD" -D --pidfile "$pf" -l 127.0.0.1:0 -t "$T_HANDLERS" -w '' \
	    --allow-root 2>&1)
	st=$?
	check "-D with no syslog and no --log-file: exit 1" test "$st" = 1
	check "... saying why, on standard error" \
	    grep -q "no syslog listens on /dev/log and no --log-file" <<< "$out"
	check "... before detaching: no daemon, no pid file" \
	    eval '[ ! -s "$pf" ] && ! pgrep -f -- "--pidfile $pf" > /dev/null'
fi
pf=$WT_DIR/d2.pid
"$WSTASKD" -D --pidfile "$pf" -l 127.0.0.1:0 -t "$T_HANDLERS" -w '' \
    --allow-root --log-file "$WT_DIR/d2.log" 2> "$WT_DIR/d2.err"
check "-D with --log-file starts" test $? = 0
dpid=$(cat "$pf" 2>/dev/null)
at_exit '[ -z "$dpid" ] || kill -TERM "$dpid" 2>/dev/null; [ -z "$dpid" ] || assert_dead 10 "$dpid" > /dev/null'
check "... and logs to the file once detached" \
    wait_for 5 grep -q "event=start pid=$dpid " "$WT_DIR/d2.log"
kill -TERM "$dpid"
check "... and stops" assert_dead 10 "$dpid"
check "... its last line in the file" wait_for 5 grep -q "event=exit status=0" "$WT_DIR/d2.log"
