#!/bin/bash
# Contract details not covered elsewhere: `unavailable` for a claim that
# arrives while the supervisor stops (SPEC 1, 2.3); 2.4.1 with a handler's
# descendants (group child, setsid'd escapee) on a live connection, for a
# cancel and a replacing run; the SIGKILL escalation of a worker that does
# not go (--kill-grace + max(1 s, grace/2)); a grant waits for the crash
# sweep (2.4.4); pings and proof of life (2.5); workers ignore SIGHUP,
# SIGUSR1, SIGUSR2 but not SIGTERM; handlers get the RLIMIT_NOFILE soft
# limit wstaskd was started with; argv [NAME] and the exact 2 KiB stderr
# tail (3); --path; /handlers lists exactly the valid executable names (4).
. "$(dirname "$0")/lib.sh"

RAWPING=$T_ROOT/tests/rawping.py

# n_words WORD...: how many.
n_words() { echo $#; }

# alive_list PID...: the ones still alive (for diagnostics).
alive_list() {
	local p
	for p in "$@"; do alive "$p" && printf '%s ' "$p"; done
	return 0
}

# check_dead DESC PID...: every PID is dead right now (no waiting).
check_dead() {
	local desc=$1
	shift
	if all_dead "$@"; then
		ok "$desc"
	else
		fail "$desc" "pids: $* alive: $(alive_list "$@")"
	fi
}

# ================================================================ 1. unavailable
start_wstaskd
client u ""
expect u '^open'
kill -STOP "$T_DPID"
kill -TERM "$T_DPID"
send u '{"type":"hello","session":"late"}'
sleep 0.3
kill -CONT "$T_DPID"
expect u '^close ' 10
check "unavailable: a claim during the stop is closed with 1001" \
    grep -qE '^close 1001' "$WT_DIR/u.out"
check "unavailable: ... and never gets ready" no_line u '"type":"ready"'
# The claim was sent before the stop reached the worker: the go that
# overtook it is answered as a denial would be.
errs=$(grep -c '"type":"error"' "$WT_DIR/u.out")
if [ "$errs" = 1 ] &&
    grep -qE '^\{"type":"error","code":"unavailable","message":"the server is shutting down"\}$' "$WT_DIR/u.out" &&
    [ "$(line_no u '"code":"unavailable"')" -lt "$(line_no u '^close ')" ]; then
	ok "unavailable: one error, code unavailable, before the close"
else
	fail "unavailable: one error, code unavailable, before the close" \
	    "$(cat "$WT_DIR/u.out")"
fi
if ! wait_for 10 eval "! alive $T_DPID"; then
	diag "the supervisor did not exit within 10 s of its SIGTERM"
	kill -KILL "$T_DPID"
fi
wait "$T_DPID"
st=$?
T_DPID=
check "unavailable: the supervisor exits 0" test "$st" = 0
check "unavailable: no protocol violation is logged" \
    eval "! grep -q 'event=protocol-violation' '$WT_DIR/daemon.log'"
check "unavailable: no process exited by a signal" \
    eval "! grep -qE 'event=exit .*signal=' '$WT_DIR/daemon.log'"
close_client u

# ================================================================ 2. 2.4.1 with descendants
start_wstaskd --kill-grace 2000
client f "?session=fam"
expect f '"type":"ready"'
send f '{"type":"run","batch":"F1","tasks":[{"task":"family","args":30}]}'
wait_for 5 records_ge start fam F1 1
fpids="$(batch_pids fam F1) $(record_pids child fam) $(record_pids escapee fam)"
# shellcheck disable=SC2086
check "family: leader, group child and escapee recorded (3 pids: $fpids)" \
    test "$(n_words $fpids)" = 3
# shellcheck disable=SC2086
check "family: all three are alive while it runs" \
    eval "[ -z \"\$(for p in $fpids; do alive \$p || echo \$p; done)\" ]"
send f '{"type":"cancel"}'
expect f '"type":"cancelled","batch":"F1"'
# shellcheck disable=SC2086
check_dead "cancel: leader, group child and escapee are dead when cancelled arrives" $fpids
check "cancel: cancelled names reason cancel, 1 started, 1 cancelled" \
    grep -qE '^\{"type":"cancelled","batch":"F1","reason":"cancel","finished":0,"started":1,"cancelled":1\}$' "$WT_DIR/f.out"

send f '{"type":"run","batch":"F2","tasks":[{"task":"family","args":30}]}'
wait_for 5 records_ge start fam F2 1
gpids="$(batch_pids fam F2) $(record_pids child fam | tail -n 1) $(record_pids escapee fam | tail -n 1)"
new_pids() {	# the 3 pids of $gpids, none of them in $fpids
	local p
	# shellcheck disable=SC2086
	[ "$(n_words $gpids)" = 3 ] || return 1
	for p in $gpids; do
		case " $fpids " in *" $p "*) return 1 ;; esac
	done
}
check "replace: the second family's 3 pids are new ones ($gpids)" new_pids
send f '{"type":"run","batch":"F3","tasks":["echo"]}'
expect f '"type":"accepted","batch":"F3"'
# shellcheck disable=SC2086
check_dead "replace: the old leader, group child and escapee are dead when the new accepted arrives" $gpids
c=$(line_no f '"type":"cancelled","batch":"F2","reason":"replaced"')
a=$(line_no f '"type":"accepted","batch":"F3"')
check "replace: cancelled F2 (replaced) comes before accepted F3 (lines $c < $a)" \
    test "$c" -gt 0 -a "$c" -lt "$a"
check "replace: the new batch completes" expect f '"type":"done","batch":"F3","ok":1,"failed":0'
close_client f
stop_wstaskd

# ================================================================ 3. SIGKILL escalation
# kill_case GRACE MIN_MS MAX_MS: a SIGSTOPped worker cannot act on its
# SIGTERM: the supervisor must SIGKILL it after GRACE + max(1000, GRACE/2).
kill_case() {
	local grace=$1 lo=$2 hi=$3 s=kill$1 worker spid t0 ms
	start_wstaskd --kill-grace "$grace" --ping-interval 10 --ping-timeout 30
	client a "?session=$s"
	expect a '"type":"ready"'
	send a '{"type":"run","batch":"K","tasks":[{"task":"sleep","args":30}]}'
	wait_for 5 records_ge start "$s" K 1
	spid=$(batch_pids "$s" K)
	worker=$(worker_of "$s")
	kill -STOP "$worker"
	t0=$(t_now_ms)
	client b "?session=$s"
	if expect b "\"type\":\"ready\",\"session\":\"$s\",\"superseded\":true" 15; then
		ms=$(($(t_now_ms) - t0))
	else
		ms=999999
	fi
	check "grace $grace: a stopped worker is SIGKILLed, then ready (after $ms ms; $lo..$hi)" \
	    test "$ms" -ge "$lo" -a "$ms" -le "$hi"
	check "grace $grace: the log shows the worker killed by KILL" \
	    grep -qE "event=exit pid=$worker session=$s signal=SIGKILL\$" "$WT_DIR/daemon.log"
	# shellcheck disable=SC2086
	check_dead "grace $grace: its sleep task is dead" $spid
	close_client b
	close_client a
	stop_wstaskd
}
kill_case 2000 2800 6000
kill_case 200 1000 3000

# ================================================================ 4. grant waits for the crash sweep
start_wstaskd
client a "?session=sweep"
expect a '"type":"ready"'
send a '{"type":"run","batch":"S","tasks":["stubborn",{"task":"family","args":30}]}'
wait_for 5 records_ge start sweep S 2
spids="$(batch_pids sweep S) $(record_pids child sweep) $(record_pids escapee sweep)"
# shellcheck disable=SC2086
check "sweep: 4 pids recorded (stubborn, family, its child, its escapee)" \
    test "$(n_words $spids)" = 4
worker=$(worker_of sweep)
kill -KILL "$worker"
client b "?session=sweep"
expect b '"type":"ready","session":"sweep"' 10
# shellcheck disable=SC2086
check_dead "sweep: every old process is dead when the new ready is seen" $spids
check "sweep: the new session got ready" grep -q '"type":"ready","session":"sweep"' "$WT_DIR/b.out"
close_client a
close_client b
stop_wstaskd

# ================================================================ 5. pings, proof of life
start_wstaskd
/usr/bin/python3 "$RAWPING" "$T_PORT" "/stream?session=silent" silent 8 > "$WT_DIR/silent.out" 2>&1 &
p1=$!
/usr/bin/python3 "$RAWPING" "$T_PORT" "/stream?session=chatty" chatty 5 > "$WT_DIR/chatty.out" 2>&1 &
p2=$!
wait "$p1" "$p2"
diag "silent: $(paste -sd' ' "$WT_DIR/silent.out")" "chatty: $(paste -sd' ' "$WT_DIR/chatty.out")"
check "ping: a silent client is sent a ping frame" \
    eval "grep -qE '^pings [1-9]' '$WT_DIR/silent.out'"
closed=$(sed -n 's/^closed-at //p' "$WT_DIR/silent.out")
check "ping: a silent client is dropped after about --ping-timeout 2 s (${closed:-never}; 1.5..5)" \
    awk -v t="${closed:-99}" 'BEGIN { exit !(t >= 1.5 && t <= 5) }'
check "ping: a silent client got its ready first" grep -q '^text 1$' "$WT_DIR/silent.out"
check "ping: a client that sends messages every 0.5 s is still open after 5 s" \
    grep -qE '^open-at [5-9]' "$WT_DIR/chatty.out"
check "ping: ... it sent 9 or 10 messages" grep -qE '^sent (9|10)$' "$WT_DIR/chatty.out"
check "ping: ... and got only its ready (cancel with nothing running: no event)" \
    grep -q '^text 1$' "$WT_DIR/chatty.out"
stop_wstaskd

# ================================================================ 6. signals to a worker
start_wstaskd
client w "?session=sig"
expect w '"type":"ready"'
worker=$(worker_of sig)
send w '{"type":"run","batch":"H","tasks":[{"task":"sleep","args":1.5}]}'
wait_for 5 records_ge start sig H 1
hpid=$(batch_pids sig H)
sleep 0.2
for sig in HUP USR1 USR2; do
	kill -"$sig" "$worker"
	sleep 0.1
done
check "worker signals: the batch still completes after SIGHUP, SIGUSR1, SIGUSR2" \
    expect w '"type":"done","batch":"H","ok":1,"failed":0' 10
check "worker signals: the task was not killed (it ran to its end)" \
    test -n "$hpid" -a "$(record_pids end sig)" = "$hpid"
check "worker signals: the client was not closed" no_line w '^close'
check "worker signals: the same worker is alive" alive "$worker"
check "worker signals: it still holds the session" test "$(worker_of sig)" = "$worker"
check "worker signals: no exit of that worker is logged" \
    eval "! grep -q 'event=exit pid=$worker ' '$WT_DIR/daemon.log'"

send w '{"type":"run","batch":"T","tasks":[{"task":"sleep","args":30},{"task":"family","args":30}]}'
wait_for 5 records_ge start sig T 2
tpids="$(batch_pids sig T) $(record_pids child sig) $(record_pids escapee sig)"
# shellcheck disable=SC2086
check "worker SIGTERM: 4 pids recorded" test "$(n_words $tpids)" = 4
kill -TERM "$worker"
check "worker SIGTERM: cancelled with reason shutdown" \
    expect w '"type":"cancelled","batch":"T","reason":"shutdown","finished":0,"started":2,"cancelled":2' 10
# shellcheck disable=SC2086
check_dead "worker SIGTERM: its tasks are dead when cancelled arrives" $tpids
check "worker SIGTERM: the client is closed with 1001" expect w '^close 1001' 10
check "worker SIGTERM: the worker exits with status 0" \
    wait_for 5 grep -qE "event=exit pid=$worker session=sig status=0\$" "$WT_DIR/daemon.log"
close_client w
stop_wstaskd

# ================================================================ 7. RLIMIT_NOFILE
WSTASKD_WRAP="prlimit --nofile=1024:4096" start_wstaskd
soft=$(awk '/^Max open files/ { print $4 }' "/proc/$T_DPID/limits")
hard=$(awk '/^Max open files/ { print $5 }' "/proc/$T_DPID/limits")
check "nofile: the supervisor ($(cat "/proc/$T_DPID/comm")) raised its soft limit to 4096 (soft $soft, hard $hard)" \
    test "$soft" = 4096 -a "$hard" = 4096
client n "?session=nofile"
expect n '"type":"ready"'
send n '{"type":"run","batch":"N","tasks":["nofile"]}'
check "nofile: a handler gets the soft limit wstaskd was started with (1024)" \
    expect n '^\{"type":"result","batch":"N","id":"0","ok":true,"exit":0,"value":1024,'
close_client n
stop_wstaskd

# ================================================================ 8, 10. argv, stderr tail, /handlers
TD=$WT_DIR/tasks
N64=h$(printf 'x%.0s' $(seq 63))
N65=h$(printf 'x%.0s' $(seq 64))
mkdir -p "$TD/subd"
printf '#!/bin/sh\necho ok1\n' > "$TD/ok1"
printf '#!/bin/sh\necho n64\n' > "$TD/$N64"
cp "$TD/ok1" "$TD/.hid"
cp "$TD/ok1" "$TD/sp ace"
cp "$TD/ok1" "$TD/a+b"
cp "$TD/ok1" "$TD/$N65"
cp "$TD/ok1" "$TD/plain"
chmod 755 "$TD/ok1" "$TD/$N64" "$TD/.hid" "$TD/sp ace" "$TD/a+b" "$TD/$N65" "$TD/subd"
chmod 644 "$TD/plain"
ln -s "$TD/no-such-file" "$TD/dangling"
ln -s /usr/bin/sleep "$TD/argv0"
cp "$T_HANDLERS/errbig" "$TD/errbig"
check "handlers: the 64- and 65-character names have those lengths" \
    test "${#N64}" = 64 -a "${#N65}" = 65
start_wstaskd -t "$TD"
body=$(curl -s --max-time 5 "$T_HTTP/handlers")
expected=$(printf '"%s"\n' argv0 errbig "$N64" ok1 | LC_ALL=C sort | paste -sd, |
    sed 's/^/[/; s/$/]/')
check "/handlers lists exactly the valid executable names, sorted" \
    test "$body" = "$expected"
[ "$body" = "$expected" ] || diag "got:      $body" "expected: $expected"

client h "?session=names"
expect h '"type":"ready"'
send h '{"type":"run","batch":"sp","tasks":["sp ace"]}'
check "handlers: running \"sp ace\" is bad_batch" \
    expect h '^\{"type":"error","code":"bad_batch","message":"([^"\\]|\\.)+","batch":"sp"\}$'
send h '{"type":"run","batch":"plus","tasks":["a+b"]}'
check "handlers: running \"a+b\" is bad_batch" \
    expect h '^\{"type":"error","code":"bad_batch","message":"([^"\\]|\\.)+","batch":"plus"\}$'
check "handlers: neither was accepted" \
    eval "no_line h '\"type\":\"accepted\",\"batch\":\"(sp|plus)\"'"
send h "{\"type\":\"run\",\"batch\":\"long\",\"tasks\":[\"$N64\"]}"
check "handlers: the 64-character handler runs" \
    expect h '^\{"type":"result","batch":"long","id":"0","ok":true,"exit":0,"value":"n64",'

# argv is [NAME]: coreutils names itself by argv[0] in its messages.
send h '{"type":"run","batch":"argv","tasks":["argv0"]}'
expect h '"type":"result","batch":"argv"'
check "argv: argv[0] is the handler's NAME (sleep says \"argv0: missing operand\")" \
    grep -qE '^\{"type":"result","batch":"argv","id":"0","ok":false,"error":"exit status 1","exit":1,.*"stderr":"argv0: missing operand\\n' "$WT_DIR/h.out"

send h '{"type":"run","batch":"err","tasks":["errbig"]}'
expect h '"type":"result","batch":"err"'
tail=$(grep -E '^\{"type":"result","batch":"err",' "$WT_DIR/h.out" | head -n 1 |
    /usr/bin/python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
e = r.get("stderr", "")
print(len(e), e == "y" * 2045 + "END", r.get("ok"), r.get("exit"))')
check "stderr: the tail is exactly the last 2048 bytes, ending in END ($tail)" \
    test "$tail" = "2048 True False 1"
close_client h
stop_wstaskd

# ================================================================ 9. --path
start_wstaskd --path /ws
# shellcheck disable=SC2034	# lib.sh's client uses it
T_URL="ws://127.0.0.1:$T_PORT/ws"
client p "?session=path"
check "--path /ws: a client on /ws gets ready" expect p '"type":"ready","session":"path"'
code=$(curl -s -o /dev/null --max-time 5 -w '%{http_code}' \
    -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
    -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
    "$T_HTTP/stream?session=x")
check "--path /ws: an upgrade on /stream gets 404 (got $code)" test "$code" = 404
close_client p
stop_wstaskd
