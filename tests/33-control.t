#!/bin/bash
# The control socket and wstaskctl (SPEC 9.2): status (text and -j), kill
# (close 4002, reason killed, every process reaped; an unknown id exits
# 1), drain and resume (/healthz 503 draining while everything else is
# served), reload; usage errors exit 64; the socket is mode 0600 and the
# starting user's, a stale one is replaced and a live one refuses a
# second daemon; hostile clients (garbage, half a line then silence,
# 1,000 connections) leave the supervisor responsive and its descriptors
# as they were.  wstaskctl(8) and --help list the same options and
# commands.
. "$(dirname "$0")/lib.sh"
. "$T_ROOT/tests/manpage.sh"

CTL=$T_BUILD/wstaskctl
MAN=$T_ROOT/man/wstaskctl.8
SOCK=$WT_DIR/ctl.sock
PY=/usr/bin/python3

# The man page and --help, table-driven: the options, then the commands.
help=$(help_rows "$CTL")
man=$(man_rows "$MAN")
check "wstaskctl(8) OPTIONS has the flags of --help, same short, long, argument" \
    test "$(printf '%s\n' "$help" | awk '{ print $1, $2, $3 }' | sort)" = \
    "$(printf '%s\n' "$man" | sort)"
check "... and there are three of them" test "$(printf '%s\n' "$help" | grep -c .)" = 3
help_cmds=$("$CTL" --help | sed -n '/^commands:/,$p' | awk 'NR > 1 { print $1, ($2 == "ID" ? "id" : "-") }' | sort)
man_cmds=$(awk '/^\.Sh /{ in_c = ($0 == ".Sh COMMANDS"); next }
    in_c && /^\.It Ic / { print $3, (NF > 3 ? $5 : "-") }' "$MAN" | sort)
check "wstaskctl(8) COMMANDS has the commands of --help, with their arguments" \
    test "$help_cmds" = "$man_cmds"
[ "$help_cmds" = "$man_cmds" ] || diag "help: $help_cmds" "man: $man_cmds"
check_lint "$MAN"

# Bad usage: 64, with a one-line reason.
for args in "" "bogus" "kill" "status extra" "drain now" "-x status" "kill a b"; do
	# shellcheck disable=SC2086
	out=$("$CTL" -s "$SOCK" $args 2>&1)
	st=$?
	check "wstaskctl $args: exit 64" test "$st" = 64
done
out=$("$CTL" -s "$SOCK" status 2>&1)
st=$?
check "no daemon: exit 1 with one line" \
    eval '[ "$st" = 1 ] && [ "$(printf "%s\n" "$out" | wc -l)" = 1 ]'
check "... that says it cannot reach it" grep -q "cannot reach wstaskd" <<< "$out"

# A stale socket (its listener is gone) is replaced.
$PY -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$SOCK"
check "a stale socket is there" test -S "$SOCK"
start_wstaskd --control "$SOCK" --spare 2
check "... and the daemon replaced it" grep -q "event=control path=$SOCK" "$WT_DIR/daemon.log"
check "the socket is mode 0600" test "$(stat -c %a "$SOCK")" = 600
check "... and the starting user's" test "$(stat -c %U "$SOCK")" = "$(id -un)"

# A live one refuses a second daemon.
out=$("$WSTASKD" -l 127.0.0.1:0 -t "$T_HANDLERS" -w '' --allow-root \
    --control "$SOCK" 2>&1)
st=$?
check "a second daemon on a live control socket exits 1" test "$st" = 1
check "... with one line saying so" \
    eval '[ "$(printf "%s\n" "$out" | wc -l)" = 1 ] && grep -q "another process is listening" <<< "$out"'
check "... and the first still serves" eval '"$CTL" -s "$SOCK" status > /dev/null'

# status
client a "?session=A1"
expect a '"type":"ready","session":"A1"'
send a '{"type":"run","batch":"r","tasks":[{"task":"sleep","args":30}]}'
wait_for 5 records_ge start A1 r 1
apid=$(worker_of A1)
out=$("$CTL" -s "$SOCK" status)
check "status: exit 0" test $? = 0
check "status: the daemon's line" \
    grep -qE "^wstaskd 0\.1\.0 pid $T_DPID, up [0-9]+ s, 1 sessions, 1 tasks running, accepting$" <<< "$out"
check "status: the worker's line (pid, state, session, peer, tasks)" \
    grep -qE "^$apid +session +A1 +127\.0\.0\.1:[0-9]+ +[0-9]+s +1$" <<< "$out"
check "status: the spares" grep -qE "^[0-9]+ +spare " <<< "$out"
json=$("$CTL" -s "$SOCK" -j status)
check "status -j: JSON with the daemon and its workers" $PY -c '
import json, sys
d = json.loads(sys.argv[1])
w = [x for x in d["workers"] if x["session"] == "A1"]
assert d["pid"] == int(sys.argv[2]) and d["sessions"] == 1
assert d["tasks_running"] == 1 and d["draining"] is False
assert len(w) == 1 and w[0]["pid"] == int(sys.argv[3]) and w[0]["tasks"] == 1
assert w[0]["state"] == "session" and w[0]["peer"].startswith("127.0.0.1:")
assert isinstance(w[0]["since"], int) and w[0]["user"] == ""
' "$json" "$T_DPID" "$apid"

# kill
spid=$(batch_pids A1 r)
out=$("$CTL" -s "$SOCK" kill nope 2>&1)
st=$?
check "kill of an unknown id: exit 1" test "$st" = 1
check "... 'no such session'" test "$out" = "wstaskctl: kill: no such session"
check "kill A1: exit 0" "$CTL" -s "$SOCK" kill A1
check "... the client gets cancelled with reason killed" \
    expect a '"type":"cancelled","batch":"r","reason":"killed"'
check "... then close 4002" expect a '^close 4002 killed'
check "... and the worker and the handler are gone" assert_dead 5 "$apid" $spid
check "... its session is over" \
    wait_for 5 grep -q "event=session-over session=A1 pid=$apid" "$WT_DIR/daemon.log"
client a2 "?session=A1"
check "the id can be claimed again, not as a supersede" \
    expect a2 '"type":"ready","session":"A1","superseded":false'
close_client a2

# drain / resume
check "drain: exit 0" "$CTL" -s "$SOCK" drain
codes=
for i in 1 2 3 4 5; do
	codes="$codes $(curl -s -o "$WT_DIR/h.txt" -w '%{http_code}' "$T_HTTP/healthz")"
done
check "draining: /healthz answers 503 to every probe (spares forked since too)" \
    test "$codes" = " 503 503 503 503 503"
check "... with the body 'draining'" test "$(cat "$WT_DIR/h.txt")" = draining
check "... status says draining" \
    eval '"$CTL" -s "$SOCK" status | head -n 1 | grep -q ", draining$"'
client b "?session=B1"
check "draining: a new session is accepted" expect b '"type":"ready","session":"B1"'
send b '{"type":"run","batch":"d","tasks":["echo"]}'
check "... and runs its batches" expect b '"type":"done","batch":"d","ok":1'
check "... and pages are served" test \
    "$(curl -s -o /dev/null -w '%{http_code}' "$T_HTTP/")" = 200
check "resume: exit 0" "$CTL" -s "$SOCK" resume
check "resumed: /healthz is 200 ok again" test "$(curl -s "$T_HTTP/healthz")" = ok
send b '{"type":"run","batch":"d2","tasks":["echo"]}'
check "... and the session drained through goes on" expect b '"type":"done","batch":"d2","ok":1'

# reload
n=$(grep -c "event=reopen-log" "$WT_DIR/daemon.log")
check "reload: exit 0" "$CTL" -s "$SOCK" reload
check "... as SIGHUP: the log is reopened" \
    wait_for 5 eval '[ "$(grep -c "event=reopen-log" "$WT_DIR/daemon.log")" -gt "$n" ]'

# Hostile clients.  fds: the supervisor's descriptors now.
fds() { ls "/proc/$T_DPID/fd" | wc -l; }
base=$(fds)
out=$(printf 'GET / HTTP/1.1\r\n\r\n\001\002\n' | $PY -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(sys.stdin.buffer.read()); s.shutdown(socket.SHUT_WR)
print(s.makefile("rb").read().decode(errors="replace"), end="")' "$SOCK")
check "garbage: 'error: unknown command'" test "$out" = "error: unknown command"
long=$(head -c 600 /dev/zero | tr '\0' x)
out=$($PY -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
try:
    s.sendall(sys.argv[2].encode()); print(len(s.recv(100)))
except OSError as e:
    print("reset")' "$SOCK" "$long")
check "a line over 512 bytes: dropped without an answer ($out)" \
    eval '[ "$out" = 0 ] || [ "$out" = reset ]'
# Half a line, then silence: dropped at the time-out, while the
# supervisor serves others meanwhile.
$PY -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b"sta"); t = time.time()
n = len(s.recv(100)); print(n, round(time.time() - t, 1))' "$SOCK" > "$WT_DIR/half.out" &
hpid=$!
sleep 0.5
check "half a line pending: the supervisor still answers status" \
    eval '"$CTL" -s "$SOCK" status > /dev/null'
wait "$hpid"
read -r n secs < "$WT_DIR/half.out"
check "... and drops the staller at the 5 s time-out (${secs}s)" \
    eval '[ "$n" = 0 ] && awk -v s="$secs" "BEGIN { exit !(s >= 4.5 && s < 8) }"'

# 1,000 connections, held, in a bounded loop (those past the backlog are
# refused at once), while a WebSocket session runs a batch: measured.
$PY - "$SOCK" > "$WT_DIR/flood.out" <<'EOF' &
import socket, sys, time
held, refused = [], 0
for i in range(1000):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.setblocking(False)
    try:
        s.connect(sys.argv[1]); held.append(s)
    except (BlockingIOError, ConnectionRefusedError, OSError):
        refused += 1; s.close()
print(len(held), refused, flush=True)
time.sleep(3)
for s in held:
    s.close()
EOF
fpid=$!
sleep 0.5
t0=$(t_now_ms)
send b '{"type":"run","batch":"f","tasks":["echo","echo","echo"]}'
check "during the flood a WebSocket batch is done" \
    expect b '"type":"done","batch":"f","ok":3' 5
t1=$(t_now_ms)
diag "batch of 3 echo tasks during the flood: $((t1 - t0)) ms"
check "... within 2 s" test $((t1 - t0)) -lt 2000
client c "?session=C1"
check "... and a new session is granted" expect c '"type":"ready","session":"C1"' 5
wait "$fpid"
read -r held refused < "$WT_DIR/flood.out"
diag "flood: $held connections held, $refused refused at connect"
check "the flood made 1,000 attempts" test $((held + refused)) = 1000
# 1,000 clients one after another that connect, send half a line and
# hang up: each is dropped at its EOF, none waits for the time-out.
out=$($PY - "$SOCK" <<'EOF'
import socket, sys, time
done = 0
for i in range(1000):
    for attempt in range(100):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(1)
        try:
            s.connect(sys.argv[1]); break
        except (BlockingIOError, OSError):
            s.close(); time.sleep(0.01)
    else:
        continue
    s.sendall(b"kil"); s.close(); done += 1
print(done)
EOF
)
check "1,000 clients that hang up mid-line: all connected ($out)" test "$out" = 1000
check "after the flood, status answers" \
    wait_for 10 eval '"$CTL" -s "$SOCK" status > /dev/null'
close_client c
check "... and the supervisor's descriptors are back to $base" \
    wait_for 10 eval '[ "$(fds)" -le "$base" ]'
check "the supervisor is alive" alive "$T_DPID"
close_client b
stop_wstaskd
check "a clean stop removes the control socket" test ! -e "$SOCK"

# With users, kill takes user/id, and a bare id kills it for every user.
start_wstaskd --control "$SOCK" --credential "ann:secret1" --credential "bob:secret2"
client u1 -a ann:secret1 "?session=X"
client u2 -a bob:secret2 "?session=X"
client u3 -a bob:secret2 "?session=Y"
expect u1 '"type":"ready","session":"X"'
expect u2 '"type":"ready","session":"X"'
expect u3 '"type":"ready","session":"Y"'
check "status -j names the user apart from the id" \
    eval '"$CTL" -s "$SOCK" -j status | grep -q "\"session\":\"X\",\"peer\":\"[^\"]*\",\"user\":\"ann\""'
check "kill bob/Y" "$CTL" -s "$SOCK" kill bob/Y
check "... closes bob's Y with 4002" expect u3 'close 4002'
check "kill X: both users' X" "$CTL" -s "$SOCK" kill X
check "... ann's" expect u1 'close 4002'
check "... and bob's" expect u2 'close 4002'
check "kill ann/X again: no such session" eval '! "$CTL" -s "$SOCK" kill ann/X 2>/dev/null'
