#!/bin/bash
# wstask, the command-line client (SPEC 10), driven as a user would: each
# option and exit status, the live table under a pseudo-terminal, plain
# lines, NDJSON, SIGINT.  The real daemon where it can show the behaviour;
# tests/fakewstaskd.py for the events it does not send yet (progress, log)
# and for the ends that it cannot be made to show on demand (4002, a server
# that is not wstaskd).  wstask(1) against --help is checked at the end.
. "$(dirname "$0")/lib.sh"

FAKE=$T_ROOT/tests/fakewstaskd.py
MAN1=$T_ROOT/man/wstask.1

# ws NAME ARG...: run wstask, stdout to NAME.out, stderr to NAME.err, the
# exit status in $st.  stdin is /dev/null unless redirected by the caller.
ws() {
	local name=$1
	shift
	"$WSTASK" "$@" > "$WT_DIR/$name.out" 2> "$WT_DIR/$name.err"
	st=$?
}

# pty NAME CMD: CMD under a pseudo-terminal (script(1)); what the terminal
# got in NAME.out, the exit status in $st.
pty() {
	script -qec "$2" /dev/null < /dev/null > "$WT_DIR/$1.out" 2>&1
	st=$?
}

# fake NAME [OPT...] < SCRIPT: start the fake server; $FAKE_URL, $FAKE_PID.
fake() {
	local name=$1
	shift
	cat > "$WT_DIR/$name.script"
	rm -f "$WT_DIR/$name.port"
	/usr/bin/python3 "$FAKE" -t 20 "$@" "$WT_DIR/$name.port" \
	    "$WT_DIR/$name.sent" "$WT_DIR/$name.script" 2> "$WT_DIR/$name.fake.err" &
	FAKE_PID=$!
	wait_for 10 test -s "$WT_DIR/$name.port"
	FAKE_URL="ws://127.0.0.1:$(cat "$WT_DIR/$name.port")/stream"
}

# expect_status DESC WANT NAME: $st is WANT; else the output goes to diag.
expect_status() {
	if [ "$st" = "$2" ]; then
		ok "$1"
	else
		fail "$1" "exit $st, not $2" "stdout: $(head -c 600 "$WT_DIR/$3.out")" \
		    "stderr: $(head -c 600 "$WT_DIR/$3.err" 2>/dev/null)"
	fi
}

# one_line NAME REGEX: stderr is one line and matches.
one_line() {
	[ "$(grep -c . "$WT_DIR/$1.err")" = 1 ] && grep -qE -- "$2" "$WT_DIR/$1.err"
}

# ndjson NAME: every line of NAME.out is one JSON object.
ndjson() {
	/usr/bin/python3 -c 'import json, sys
n = 0
for line in open(sys.argv[1]):
    assert isinstance(json.loads(line), dict), line
    n += 1
assert n > 0' "$WT_DIR/$1.out"
}

READY='send {"type":"ready","session":"s1","superseded":false}'
ACCEPT='send {"type":"accepted","batch":"1","tasks":2,"limit":10}'

start_wstaskd -l "unix:$WT_DIR/d.sock"
accepts() { grep -c 'event=accept' "$WT_DIR/daemon.log"; }

# --- usage: one line naming the problem, exit 64, nothing sent ---
before=$(accepts)
ws help --help
check "--help: exit 0, usage and options on stdout" \
    grep -q -- '--describe NAME' "$WT_DIR/help.out"
ws version -V
check "-V prints the version" grep -qx 'wstask [0-9.]*' "$WT_DIR/version.out"
ws badopt -u "$T_URL" --frobnicate echo
expect_status "an unknown option: exit 64" 64 badopt
check "... one line naming it" one_line badopt -- '--frobnicate: unknown option'
ws badargs -u "$T_URL" echo=1 'echo={"a":' sleep
expect_status "a TASK whose ARGS is not JSON: exit 64" 64 badargs
check "... one line naming the TASK" one_line badargs 'echo=\{"a":: ARGS is not JSON'
ws badurl -u "http://127.0.0.1:$T_PORT/stream" echo
expect_status "a URL that is not ws, wss or ws+unix: exit 64" 64 badurl
check "... one line naming it" one_line badurl "-u http://127.0.0.1:$T_PORT/stream: not a ws"
WSTASK_URL="ws://127.0.0.1:99999/stream" ws badenv echo
expect_status "a bad port in WSTASK_URL: exit 64" 64 badenv
check "... naming WSTASK_URL" one_line badenv 'WSTASK_URL=ws://127.0.0.1:99999/stream: bad port'
ws badsess -u "$T_URL" -s 'a b' echo
expect_status "a bad -s session id: exit 64" 64 badsess
ws twosess -u "$T_URL?session=a" -s b echo
expect_status "-s and a URL that names a session: exit 64" 64 twosess
ws badlimit -u "$T_URL" -l 0 echo
expect_status "-l 0: exit 64" 64 badlimit
ws notask -u "$T_URL"
expect_status "no TASK: exit 64" 64 notask
printf '{"tasks": 3}' > "$WT_DIR/bad.json"
ws badfile -u "$T_URL" -f "$WT_DIR/bad.json"
expect_status "-f with no tasks array: exit 64" 64 badfile
check "... naming the file" one_line badfile "bad.json: neither a tasks array"
sleep 0.3
check "nothing was sent for any of them" test "$(accepts)" = "$before"

# --- the real daemon: NDJSON, statuses, options ---
ws ok -u "$T_URL" echo='{"a":1}' sleep=0.2 emit='"number"'
expect_status "all tasks ok: exit 0" 0 ok
check "stdout not a terminal: NDJSON, every line an object" ndjson ok
check "... every event, up to done" grep -q '"type":"done","batch":"1","ok":3,"failed":0' "$WT_DIR/ok.out"
check "... NAME=ARGS sent ARGS as JSON" grep -q '"value":{"a":1}' "$WT_DIR/ok.out"

ws failed -u "$T_URL" echo=1 fail=3
expect_status "a task failed: exit 1" 1 failed
ws refused -u "$T_URL" echo nosuchhandler
expect_status "the batch refused (error event): exit 2" 2 refused
check "... the server's message on stderr" one_line refused 'unknown handler.*nosuchhandler.*bad_batch'
check "... and the error event on stdout" grep -q '"type":"error"' "$WT_DIR/refused.out"

ws limit -u "$T_URL" -l 1 echo=1 echo=2
check "-l 1: the batch runs with limit 1" grep -q '"type":"accepted".*"limit":1' "$WT_DIR/limit.out"
ws sess -u "$T_URL" -s wt-26.a echo=1
check "-s ID: the session is ID" grep -q '"type":"ready","session":"wt-26.a"' "$WT_DIR/sess.out"
check "... claimed by the daemon" grep -q 'event=claim session=wt-26.a ' "$WT_DIR/daemon.log"

printf '[{"id":"x","task":"echo","args":[1]}, "sleep"]\n' > "$WT_DIR/tasks.json"
ws file -u "$T_URL" -f "$WT_DIR/tasks.json"
check "-f FILE with a tasks array" grep -q '"id":"x","ok":true,"exit":0,"value":\[1\]' "$WT_DIR/file.out"
printf '{"type":"run","batch":"nightly","tasks":["echo"]}' |
    "$WSTASK" -u "$T_URL" -f - > "$WT_DIR/stdin.out" 2> "$WT_DIR/stdin.err"
check "-f - reads a run object from stdin" grep -q '"type":"done","batch":"nightly"' "$WT_DIR/stdin.out"

ws quiet -u "$T_URL" -q echo=1 fail=4
expect_status "-q: the exit status still says a task failed" 1 quiet
check "... nothing on stdout" test ! -s "$WT_DIR/quiet.out"
check "... the failure on stderr" one_line quiet 'task 1 \(fail\) failed: exit status 4'

ws after echo=1 -u "$T_URL" -l 1
expect_status "options may follow the TASKs" 0 after
WSTASK_URL=$T_URL ws env echo=1
expect_status "WSTASK_URL is the default URL" 0 env
ws unix -u "ws+unix:$WT_DIR/d.sock" echo=1
expect_status "ws+unix:PATH" 0 unix
ws path404 -u "ws://127.0.0.1:$T_PORT/nowhere" echo
expect_status "a refused upgrade: exit 3" 3 path404
check "... one line with the HTTP status" one_line path404 'refused the upgrade: HTTP 404'

ws list -u "$T_URL" --list
check "--list: the handler names, one a line" grep -qx sleep "$WT_DIR/list.out"
ws nodesc -u "$T_URL" --describe no-such-handler
expect_status "--describe of a missing handler: exit 1" 1 nodesc
check "... no such handler" one_line nodesc 'no-such-handler: no such handler'

# --- SIGINT: cancel, wait for cancelled, exit 130, nothing left ---
"$WSTASK" -u "$T_URL" -s wt-26.int sleep=30 sleep=30 > "$WT_DIR/int.out" 2>&1 &
pid=$!
wait_for 10 grep -q '"started","batch":"1","id":"1"' "$WT_DIR/int.out"
# started comes at the spawn: wait until both handlers have said their pid
wait_for 10 records_ge start wt-26.int 1 2
kill -INT "$pid"
wait "$pid"
st=$?
expect_status "SIGINT: exit 130" 130 int
check "... after the cancelled event" grep -q '"type":"cancelled","batch":"1","reason":"cancel"' "$WT_DIR/int.out"
check "... the daemon logged the client's cancel" \
    grep -q 'event=cancel session=wt-26.int batch=1 reason=cancel' "$WT_DIR/daemon.log"
mapfile -t pids < <(record_pids start wt-26.int)
if [ "${#pids[@]}" = 2 ] && assert_dead 2 "${pids[@]}"; then
	ok "... and no task of it is left"
else
	fail "... and no task of it is left" "pids: ${pids[*]}"
fi

"$WSTASK" -u "$T_URL" sleep=30 > "$WT_DIR/term.out" 2>&1 &
pid=$!
wait_for 10 grep -q '"started"' "$WT_DIR/term.out"
kill -TERM "$pid"
wait "$pid"
st=$?
expect_status "SIGTERM: the same, exit 143" 143 term
check "... after the cancelled event" grep -q '"type":"cancelled"' "$WT_DIR/term.out"

"$WSTASK" -u "$T_URL" -s wt-26.pipe sleep=30 sleep=30 2> "$WT_DIR/pipe.err" |
    head -n 1 > "$WT_DIR/pipe.out"
st=${PIPESTATUS[0]}
expect_status "stdout's reader gone (| head): exit 141" 141 pipe
check "... quietly" test ! -s "$WT_DIR/pipe.err"
# wstask may see its reader gone before it has sent the run (then nothing
# ran); else the daemon cancels the batch that began.
pipe_over() {
	local log=$WT_DIR/daemon.log
	grep -q 'event=going session=wt-26.pipe reason=closed' "$log" &&
	    { ! grep -q 'event=batch session=wt-26.pipe' "$log" ||
	    grep -q 'event=cancelled session=wt-26.pipe batch=1 reason=closed' "$log"; }
}
check "... and the daemon ends the session, cancelling its batch if it began" \
    wait_for 5 pipe_over

# Superseded and shut down, by the real daemon.
"$WSTASK" -u "$T_URL" -s wt-26.sup sleep=30 > "$WT_DIR/sup1.out" 2> "$WT_DIR/sup1.err" &
pid=$!
wait_for 10 grep -q '"started"' "$WT_DIR/sup1.out"
ws sup2 -u "$T_URL" -s wt-26.sup echo=1
expect_status "a second wstask of the session runs its batch" 0 sup2
check "... ready says it superseded one" grep -q '"superseded":true' "$WT_DIR/sup2.out"
wait "$pid"
st=$?
expect_status "the first one: superseded, exit 4" 4 sup1
check "... saying so" one_line sup1 'superseded: a newer connection of session wt-26.sup took over'

# --- a terminal: the live table, plain lines, --json ---
pty table "TERM=xterm '$WSTASK' -u '$T_URL' sleep=0.6 echo='\"hi\"' fail"
expect_status "under a terminal: exit 1 (a task failed)" 1 table
check "... the table is redrawn in place (cursor up, lines cleared)" \
    grep -qaP '\r\e\[\d+A.*\e\[K' "$WT_DIR/table.out"
check "... never a full clear" bash -c "! grep -qaF \$'\\e[2J' '$WT_DIR/table.out'"
check "... the final table has every row and the summary" bash -c "
    tail -c 2000 '$WT_DIR/table.out' | grep -qaE '0 +sleep.*ok.*slept' &&
    tail -c 2000 '$WT_DIR/table.out' | grep -qaE '2 +fail.*failed.*exit status 3' &&
    tail -c 2000 '$WT_DIR/table.out' | grep -qaE 'batch 1 done: 2 ok, 1 failed'"
check "... and the cursor is shown again" grep -qaF $'\e[?25h' "$WT_DIR/table.out"
pty dumb "TERM=dumb '$WSTASK' -u '$T_URL' echo=1 fail"
check "TERM=dumb: plain lines, no escape" bash -c "
    grep -qa '^1 fail failed' '$WT_DIR/dumb.out' && ! grep -qaF \$'\\e' '$WT_DIR/dumb.out'"
pty nocolor "TERM=xterm NO_COLOR=1 '$WSTASK' -u '$T_URL' echo=1"
check "NO_COLOR: plain lines, no escape" bash -c "
    grep -qa '^0 echo ok .* 1' '$WT_DIR/nocolor.out' && ! grep -qaF \$'\\e' '$WT_DIR/nocolor.out'"
pty ttyjson "TERM=xterm '$WSTASK' --json -u '$T_URL' echo=1"
tr -d '\r' < "$WT_DIR/ttyjson.out" > "$WT_DIR/ttyjson2.out"
check "--json on a terminal: NDJSON, every line an object" ndjson ttyjson2

# --- progress and log events (SPEC 7), from the fake ---
fake prog <<EOF2
$READY
recv run
$ACCEPT
send {"type":"started","batch":"1","id":"0"}
send {"type":"started","batch":"1","id":"1"}
send {"type":"progress","batch":"1","id":"0","data":{"done":3,"total":10,"message":"copying"}}
send {"type":"progress","batch":"1","id":"1","data":"warming up"}
send {"type":"log","batch":"1","id":"1","line":"a line on stderr"}
sleep 0.4
send {"type":"progress","batch":"1","id":"0","data":{"done":10,"total":10}}
send {"type":"result","batch":"1","id":"0","ok":true,"exit":0,"value":1,"ms":400}
send {"type":"result","batch":"1","id":"1","ok":true,"exit":0,"value":"x","ms":400}
send {"type":"done","batch":"1","ok":2,"failed":0,"ms":400}
EOF2
pty progtable "TERM=xterm COLUMNS=100 '$WSTASK' --log -u '$FAKE_URL' copy warm"
wait "$FAKE_PID"
expect_status "progress under a terminal: exit 0" 0 progtable
check "--log sends \"log\":true" grep -q '"log":true' "$WT_DIR/prog.sent"
check "... a bar for done/total, with the message" grep -qaF '[####........] 3/10 copying' "$WT_DIR/progtable.out"
check "... text for any other progress" grep -qaE '1 +warm .*warming up' "$WT_DIR/progtable.out"
check "... the log line above the table" grep -qaF '1 warm: ' "$WT_DIR/progtable.out"
check "... the bar full at the end" grep -qaF '[############] 10/10' "$WT_DIR/progtable.out"

fake prog2 < "$WT_DIR/prog.script"
pty progplain "TERM=dumb '$WSTASK' --log -u '$FAKE_URL' copy warm"
wait "$FAKE_PID"
check "progress and log as plain lines" bash -c "
    grep -qa '^0 copy progress 3/10 copying' '$WT_DIR/progplain.out' &&
    grep -qa '^1 warm progress warming up' '$WT_DIR/progplain.out' &&
    grep -qa '^1 warm log a line on stderr' '$WT_DIR/progplain.out'"

# --- how a batch can end, from the fake ---
# ends NAME WANT DESC SCRIPT-LINES...: the fake plays ready, the run, an
# accepted and a started, then the lines; wstask must exit WANT.
ends() {
	local name=$1 want=$2 desc=$3
	shift 3
	fake "$name" < <(printf '%s\n' "$READY" 'recv run' "$ACCEPT" \
	    'send {"type":"started","batch":"1","id":"0"}' "$@")
	ws "$name" -u "$FAKE_URL" a b
	wait "$FAKE_PID"
	expect_status "$desc" "$want" "$name"
}
ends superseded 4 "superseded (cancelled, then close 4001): exit 4" \
    'send {"type":"cancelled","batch":"1","reason":"superseded","finished":0,"started":1,"cancelled":2}' \
    'close 4001 superseded'
check "... saying so" one_line superseded 'superseded.*4001'
ends killed 4 "killed (close 4002): exit 4" \
    'send {"type":"cancelled","batch":"1","reason":"killed","finished":0,"started":1,"cancelled":2}' \
    'close 4002 killed'
check "... saying so" one_line killed 'killed.*4002'
ends shutdown 5 "the server shut down (close 1001): exit 5" \
    'send {"type":"cancelled","batch":"1","reason":"shutdown","finished":0,"started":1,"cancelled":2}' \
    'close 1001 shutting down'
ends dropped 3 "the connection lost without a close: exit 3" 'drop'
ends garbage 3 "a message that is not an event: exit 3" 'send hello there'
check "... not a wstaskd server" one_line garbage 'not a wstaskd server'

fake noproto -P none <<< "$READY"
ws noproto -u "$FAKE_URL" a
kill "$FAKE_PID" 2>/dev/null
wait "$FAKE_PID" 2>/dev/null
expect_status "a WebSocket server without wstask.v1: exit 3" 3 noproto
check "... one line: not a wstaskd server" one_line noproto 'not a wstaskd server'
fake forbidden -S 403 -t 3 < /dev/null
ws forbidden -u "$FAKE_URL" a
kill "$FAKE_PID" 2>/dev/null
wait "$FAKE_PID" 2>/dev/null
expect_status "an upgrade refused with 403: exit 3" 3 forbidden

# SIGINT against a server that never answers the cancel: the second
# SIGINT leaves at once.
fake deaf < <(printf '%s\n' "$READY" 'recv run' "$ACCEPT" 'recv cancel' 'sleep 15')
"$WSTASK" -u "$FAKE_URL" a > "$WT_DIR/deaf.out" 2> "$WT_DIR/deaf.err" &
pid=$!
wait_for 10 grep -q accepted "$WT_DIR/deaf.out"
kill -INT "$pid"
wait_for 10 grep -q cancel "$WT_DIR/deaf.sent"
check "SIGINT sends cancel" grep -q '{"type":"cancel"}' "$WT_DIR/deaf.sent"
sleep 0.3
check "... and waits for cancelled" alive "$pid"
kill -INT "$pid"
if wait_for 2 bash -c "! kill -0 $pid 2>/dev/null"; then
	wait "$pid"
	st=$?
	expect_status "a second SIGINT: exit 130 at once" 130 deaf
else
	fail "a second SIGINT: exit 130 at once" "still running"
	kill -KILL "$pid"
fi
kill "$FAKE_PID" 2>/dev/null
wait "$FAKE_PID" 2>/dev/null

# --- the daemon stops under a batch: exit 5; then TLS and basic auth ---
"$WSTASK" -u "$T_URL" sleep=30 > "$WT_DIR/down.out" 2> "$WT_DIR/down.err" &
pid=$!
wait_for 10 grep -q '"started"' "$WT_DIR/down.out"
stop_wstaskd
wait "$pid"
st=$?
expect_status "the server shuts down under a batch: exit 5" 5 down
check "... saying so" one_line down 'shutting down'
pki=$WT_DIR/pki
mkdir -p "$pki"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$pki/key.pem" -out "$pki/cert.pem" -days 2 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 > "$WT_DIR/pki.log" 2>&1
start_wstaskd --ssl-cert "$pki/cert.pem" --ssl-key "$pki/key.pem" \
    --credential 'alice:s3cret'
WSS="wss://127.0.0.1:$T_PORT/stream"
SSL_CERT_FILE=$pki/cert.pem ws wss -u "wss://alice:s3cret@127.0.0.1:$T_PORT/stream" echo=1
expect_status "wss:// with user and password in the URL" 0 wss
SSL_CERT_FILE=$pki/cert.pem WSTASK_AUTH=alice:s3cret ws wssenv -u "$WSS" echo=1
expect_status "... or in WSTASK_AUTH" 0 wssenv
SSL_CERT_FILE=$pki/cert.pem WSTASK_AUTH=alice:wrong ws wssbad -u "$WSS" echo=1
expect_status "a wrong password: exit 3" 3 wssbad
check "... one line: HTTP 401" one_line wssbad 'HTTP 401'
SSL_CERT_FILE=/dev/null WSTASK_AUTH=alice:s3cret ws tlsbad -u "$WSS" echo=1
expect_status "a certificate not trusted: exit 3" 3 tlsbad
check "... one line: TLS failed" one_line tlsbad 'TLS failed'
SSL_CERT_FILE=$pki/cert.pem WSTASK_AUTH=alice:s3cret ws wsslist -u "$WSS" --list
check "--list over wss with auth" grep -qx echo "$WT_DIR/wsslist.out"

# --- wstask(1) against --help ---
. "$T_ROOT/tests/manpage.sh"
check_options "$WSTASK" "$MAN1"
check_lint "$MAN1"

# Under SANITIZE=1 wstask itself is instrumented: no report in anything
# it wrote (lib.sh checks only the daemon's log).
if grep -lE 'AddressSanitizer|LeakSanitizer|runtime error:' "$WT_DIR"/*.out "$WT_DIR"/*.err > "$WT_DIR/san.list" 2>/dev/null; then
	fail "no sanitizer report from wstask" "$(cat "$WT_DIR/san.list")"
else
	ok "no sanitizer report from wstask"
fi
