#!/bin/bash
# Batches (SPEC 2.2, 2.3, 3): accepted/started/result/done with their exact
# fields, results in completion order and each at once (not held back
# for the batch), done's counts, batch names (auto "1", "2", ... skipping
# used ones; a reused one is bad_batch), task ids (index, integer, string), the bare-array form, an empty batch; the value
# rules (text, white space, JSON, "007", invalid UTF-8 and NUL, failures
# with exit/signal/stderr), checked with both our client and python's; the
# handler contract (stdin, exact environment, --pass-env PATH, fds, signal
# state, process group, cwd); timeouts (--task-timeout, timeout_ms, the
# smaller wins, SIGKILL after the grace), --max-output, and a background
# child holding stdout that must not hold the result back.
. "$(dirname "$0")/lib.sh"

HDIR=$(cd "$T_HANDLERS" && pwd -P)
MS='"ms":[0-9]+'

# result_line NAME BATCH ID: the result line of task ID of BATCH.
result_line() {
	grep -E "^\{\"type\":\"result\",\"batch\":\"$2\",\"id\":\"$3\"," \
	    "$WT_DIR/$1.out" | head -n 1
}

# send1 NAME TEXT: TEXT written over several lines, sent as one message.
send1() { send "$1" "$(printf '%s' "$2" | tr -d '\n\t')"; }

# has_line NAME REGEX DESC: ok if a line matches (waiting up to 10 s).
has_line() {
	if expect "$1" "$2"; then
		ok "$3"
	else
		fail "$3" "no line matches: $2" "got:" "$(cat "$WT_DIR/$1.out")"
	fi
}

# has_fixed NAME TEXT DESC: ok if a line contains TEXT (bytes, no regex).
has_fixed() {
	if wait_for 10 grep -qaF -- "$2" "$WT_DIR/$1.out"; then
		ok "$3"
	else
		fail "$3" "no line contains: $2" "got:" "$(cat "$WT_DIR/$1.out")"
	fi
}

start_wstaskd --spare 1 --task-timeout 2 --max-output 1000

# ---------------------------------------------------------------- order
client o "?session=order"
expect o '"type":"ready"'
send o '{"type":"run","limit":3,"tasks":[{"task":"sleep","args":1.0},{"task":"sleep","args":0.1},{"task":"sleep","args":0.5}]}'
has_line o '^\{"type":"accepted","batch":"1","tasks":3,"limit":3\}$' \
    'accepted: type, batch (auto "1"), tasks, limit'
expect o '"type":"done","batch":"1"'
for id in 0 1 2; do
	s=$(line_no o "^\\{\"type\":\"started\",\"batch\":\"1\",\"id\":\"$id\"\\}$")
	r=$(line_no o "^\\{\"type\":\"result\",\"batch\":\"1\",\"id\":\"$id\",")
	a=$(line_no o '"type":"accepted","batch":"1"')
	if [ "$a" -gt 0 ] && [ "$s" -gt "$a" ] && [ "$r" -gt "$s" ]; then
		ok "task $id: accepted < started < result"
	else
		fail "task $id: accepted < started < result" "lines $a $s $r"
	fi
done
order=$(grep -E '^\{"type":"result","batch":"1",' "$WT_DIR/o.out" |
    sed 's/.*"id":"\([0-9]*\)".*/\1/' | paste -sd' ')
check "results come in completion order (1 2 0), not submission order" \
    test "$order" = "1 2 0"

# Each result as soon as its task has finished (2.4.5), not held back for
# the batch: task 1 (0.1 s) must arrive while task 0 (1.5 s) still runs.
client ot -T "?session=order-t"
expect ot '"type":"ready"'
send ot '{"type":"run","batch":"hb","limit":2,"tasks":[{"task":"sleep","args":1.5},{"task":"sleep","args":0.1}]}'
wait_for 5 records_ge start order-t hb 2
hb0=$(awk '$1 == "start" && $3 == "order-t" && $4 == "hb" && $5 == "0" { print $2 }' "$WT_DIR/records")
if expect ot '"type":"result","batch":"hb","id":"1","ok":true' 5 &&
    test -n "$hb0" && alive "$hb0"; then
	ok "task 1's result is seen while task 0's handler still runs"
else
	fail "task 1's result is seen while task 0's handler still runs" \
	    "task 0 pid '$hb0'" "$(cat "$WT_DIR/ot.out")"
fi
expect ot '"type":"done","batch":"hb"' 10
t_r1=$(stamp ot '"type":"result","batch":"hb","id":"1"')
t_r0=$(stamp ot '"type":"result","batch":"hb","id":"0"')
t_end0=$(awk '$1 == "end" && $3 == "order-t" && $4 == "hb" && $5 == "0" { print $6 }' "$WT_DIR/records")
if [ -n "$t_r1" ] && [ -n "$t_r0" ] && [ -n "$t_end0" ] &&
    [ "$t_r1" -lt "$t_end0" ] && [ $((t_r0 - t_r1)) -ge 700000 ]; then
	ok "... before task 0 ended, and $(((t_r0 - t_r1) / 1000)) ms (>= 700) before task 0's result"
else
	fail "... before task 0 ended, and >= 700 ms before task 0's result" \
	    "result 1 $t_r1, task 0 end $t_end0, result 0 $t_r0"
fi
close_client ot

check "a result has exactly type,batch,id,ok,exit,value,ms" \
    grep -qE '^\{"type":"result","batch":"1","id":"1","ok":true,"exit":0,"value":\{"slept":0.1\},"ms":[0-9]+\}$' "$WT_DIR/o.out"
d=$(line_no o '^\{"type":"done","batch":"1","ok":3,"failed":0,"ms":[0-9]+\}$')
last=$(grep -nE '"type":"result","batch":"1"' "$WT_DIR/o.out" | tail -n 1 | cut -d: -f1)
if [ "$d" -gt 0 ] && [ "$d" -gt "${last:-0}" ] &&
    [ "$d" = "$(wc -l < "$WT_DIR/o.out")" ]; then
	ok "done (ok 3, failed 0) comes after every result and is the last line"
else
	fail "done (ok 3, failed 0) comes after every result and is the last line" \
	    "$(cat "$WT_DIR/o.out")"
fi

# ---------------------------------------------------------------- names
send o '{"type":"run","batch":"3","tasks":["echo"]}'
expect o '"type":"done","batch":"3"'
send o '{"type":"run","tasks":["echo"]}'
has_line o '^\{"type":"accepted","batch":"2","tasks":1,"limit":10\}$' \
    'the next unnamed batch is "2" (limit from --limit default 10)'
expect o '"type":"done","batch":"2"'
send o '{"type":"run","tasks":["echo"]}'
has_line o '^\{"type":"accepted","batch":"4",' \
    'an unnamed batch skips the used name "3"'
expect o '"type":"done","batch":"4"'
send o '{"type":"run","batch":"2","tasks":["echo"]}'
has_line o '^\{"type":"error","code":"bad_batch","message":"batch name already used on this connection"\}$' \
    'a reused batch name is bad_batch, without naming the ended batch (2.4.2)'
sleep 0.5
check "... and the reused name did not run again" \
    test "$(grep -c '"type":"accepted","batch":"2"' "$WT_DIR/o.out")" = 1

# ---------------------------------------------------------------- ids, counts
send o '{"type":"run","batch":"ids","tasks":["echo",{"id":7,"task":"echo"},{"id":"abc","task":"echo"},{"task":"echo"}]}'
expect o '"type":"done","batch":"ids"'
ids=$(grep -E '^\{"type":"started","batch":"ids",' "$WT_DIR/o.out" |
    sed 's/.*"id":\("[^"]*"\).*/\1/' | sort | paste -sd' ')
check 'ids: index default, integer 7 -> "7", string kept' \
    test "$ids" = '"0" "3" "7" "abc"'
check "every id got its result" \
    test "$(grep -cE '^\{"type":"result","batch":"ids","id":"(0|7|abc|3)","ok":true,' "$WT_DIR/o.out")" = 4

send o '{"type":"run","batch":"mix","tasks":["echo","fail","segv",{"task":"fail","args":5}]}'
has_line o '^\{"type":"done","batch":"mix","ok":1,"failed":3,"ms":[0-9]+\}$' \
    'done counts ok 1, failed 3'
has_line o '^\{"type":"result","batch":"mix","id":"1","ok":false,"error":"exit status 3","exit":3,"value":null,"ms":[0-9]+,"stderr":"failing with 3\\n"\}$' \
    'exit status 3: error, exit, null value, stderr tail'
has_line o '^\{"type":"result","batch":"mix","id":"3","ok":false,"error":"exit status 5","exit":5,' \
    'exit status 5 is reported as such'
has_line o '^\{"type":"result","batch":"mix","id":"2","ok":false,"error":"killed by SIGSEGV","signal":"SIGSEGV","value":null,"ms":[0-9]+,"stderr":"[^"]*"\}$' \
    'a crash: "killed by SIGSEGV", "signal":"SIGSEGV", no exit'

send o '["echo",{"task":"echo","args":[1]}]'
has_line o '^\{"type":"accepted","batch":"5","tasks":2,"limit":10\}$' \
    'a bare array is a run (next auto name "5")'
has_line o '^\{"type":"done","batch":"5","ok":2,"failed":0,' '... and it completes'

send o '{"type":"run","batch":"empty","tasks":[]}'
expect o '"type":"done","batch":"empty"'
a=$(line_no o '^\{"type":"accepted","batch":"empty","tasks":0,"limit":10\}$')
d=$(line_no o '^\{"type":"done","batch":"empty","ok":0,"failed":0,"ms":[0-9]+\}$')
check "an empty batch: accepted, then done at once" \
    test "$a" -gt 0 -a "$d" = $((a + 1))
close_client o

# ---------------------------------------------------------------- values
# The same checks through our client and through python-websockets.
for kind in c py; do
	T_CLIENT_KIND=$kind
	client v "?session=values-$kind"
	expect v '"type":"ready"'
	b=v-$kind
	send1 v "{\"type\":\"run\",\"batch\":\"$b\",\"tasks\":[
	    {\"id\":\"text\",\"task\":\"emit\",\"args\":\"text\"},
	    {\"id\":\"empty\",\"task\":\"emit\",\"args\":\"empty\"},
	    {\"id\":\"json\",\"task\":\"emit\",\"args\":\"json\"},
	    {\"id\":\"number\",\"task\":\"emit\",\"args\":\"number\"},
	    {\"id\":\"zeros\",\"task\":\"emit\",\"args\":\"zeros\"},
	    {\"id\":\"badutf8\",\"task\":\"emit\",\"args\":\"badutf8\"},
	    {\"id\":\"utf8\",\"task\":\"emit\",\"args\":\"utf8\"},
	    {\"id\":\"stderr\",\"task\":\"emit\",\"args\":\"stderr\"},
	    {\"id\":\"huge\",\"task\":\"emit\",\"args\":\"huge\"},
	    {\"id\":\"nulesc\",\"task\":\"emit\",\"args\":\"nulesc\"},
	    {\"id\":\"args\",\"task\":\"echo\",\"args\":{\"x\":[1,\"y z\",true],\"n\":null}},
	    {\"id\":\"noargs\",\"task\":\"echo\"}]}"
	expect v "\"type\":\"done\",\"batch\":\"$b\""
	R="^\\{\"type\":\"result\",\"batch\":\"$b\",\"id\""
	has_line v "$R:\"text\",\"ok\":true,\"exit\":0,\"value\":\"hello world\",$MS\\}\$" \
	    "$kind: text -> a JSON string, trailing white space removed"
	has_line v "$R:\"empty\",\"ok\":true,\"exit\":0,\"value\":null,$MS\\}\$" \
	    "$kind: white space only -> null"
	has_line v "$R:\"json\",\"ok\":true,\"exit\":0,\"value\":\\{\"a\":\\[1,2.5,\"x\"\\],\"b\":null\\},$MS\\}\$" \
	    "$kind: a JSON document -> that value, re-encoded compactly"
	has_line v "$R:\"number\",\"ok\":true,\"exit\":0,\"value\":42,$MS\\}\$" \
	    "$kind: 42 -> the number 42"
	has_line v "$R:\"zeros\",\"ok\":true,\"exit\":0,\"value\":\"007\",$MS\\}\$" \
	    "$kind: 007 (not JSON) -> the string \"007\""
	has_fixed v "$(printf '"id":"badutf8","ok":true,"exit":0,"value":"ok\357\277\275\357\277\275end\357\277\275x","ms":')" \
	    "$kind: \\377 \\376 and NUL each become U+FFFD (exact bytes)"
	has_fixed v "$(printf '"id":"utf8","ok":true,"exit":0,"value":"\303\251t\303\251 \342\202\254","ms":')" \
	    "$kind: valid UTF-8 is kept as is"
	has_line v "$R:\"stderr\",\"ok\":false,\"error\":\"exit status 2\",\"exit\":2,\"value\":\"out\",$MS,\"stderr\":\"some error text\\\\n\"\\}\$" \
	    "$kind: a failure keeps its value and the stderr tail"
	has_line v "$R:\"huge\",\"ok\":true,\"exit\":0,\"value\":\"1e400\",$MS\\}\$" \
	    "$kind: 1e400 (beyond a double) -> the string, not null"
	has_fixed v '"id":"nulesc","ok":true,"exit":0,"value":"{\"a\":\"x\\u0000y\"}","ms":' \
	    "$kind: JSON with \\u0000 (cJSON would cut it) -> the text as a string"
	has_line v "$R:\"args\",\"ok\":true,\"exit\":0,\"value\":\\{\"x\":\\[1,\"y z\",true\\],\"n\":null\\},$MS\\}\$" \
	    "$kind: stdin is the args as JSON text"
	has_line v "$R:\"noargs\",\"ok\":true,\"exit\":0,\"value\":null,$MS\\}\$" \
	    "$kind: no args -> empty stdin"
	close_client v
done
T_CLIENT_KIND=c

# ---------------------------------------------------------------- contract
client h "?session=contract"
expect h '"type":"ready"'
send h '{"type":"run","batch":"env","tasks":[{"id":"e1","task":"penv"},{"id":"ps","task":"procstate"}]}'
expect h '"type":"done","batch":"env"'
has_fixed h "\"id\":\"e1\",\"ok\":true,\"exit\":0,\"value\":\"PATH=/usr/local/bin:/usr/bin:/bin\\nWSTASK_BATCH=env\\nWSTASK_PROGRESS_FD=3\\nWSTASK_SESSION=contract\\nWSTASK_TASK=penv\\nWSTASK_TASK_ID=e1\\nWT_DIR=$WT_DIR\",\"ms\":" \
    "the environment is exactly PATH, WSTASK_*, and the --pass-env ones"
ps=$(result_line h env ps)
case $ps in *'"fds":"0 1 2 3",'*) ok "a handler has fds 0, 1, 2 and 3 (progress) only" ;;
*) fail "a handler has fds 0, 1, 2 and 3 (progress) only" "$ps" ;; esac
case $ps in *'"sigblk":"0000000000000000",'*) ok "a handler's signal mask is empty" ;;
*) fail "a handler's signal mask is empty" "$ps" ;; esac
# perl itself sets SIGFPE (bit 0x80) to SIG_IGN at start-up; nothing else
# may be ignored (not even glibc's internal signals 32 and 33).
ign=$(printf '%s\n' "$ps" | sed -n 's/.*"sigign":"\([0-9a-f]*\)".*/\1/p')
if [ -n "$ign" ] && [ $((0x$ign & ~0x80)) = 0 ]; then
	ok "a handler inherits no ignored signal"
else
	fail "a handler inherits no ignored signal" "$ps" \
	    "(SigIgn bit 0x80 is perl's own SIGFPE and is allowed)"
fi
case $ps in *'"pgid_is_pid":true,'*) ok "a handler leads its own process group" ;;
*) fail "a handler leads its own process group" "$ps" ;; esac
case $ps in *"\"cwd\":\"$HDIR\""[,\}]*) ok "a handler's cwd is the tasks dir" ;;
*) fail "a handler's cwd is the tasks dir" "$ps" ;; esac

# ---------------------------------------------------------------- timeouts
send1 h '{"type":"run","batch":"to","tasks":[
    {"id":"t300","task":"sleep","args":5,"timeout_ms":300},
    {"id":"stub","task":"stubborn","timeout_ms":300},
    {"id":"tbig","task":"sleep","args":5,"timeout_ms":5000},
    {"id":"tnone","task":"sleep","args":5},
    {"id":"short","task":"sleep","args":0.1,"timeout_ms":5000}]}'
expect h '"type":"done","batch":"to"' 15
R='^\{"type":"result","batch":"to","id"'
has_line h "$R:\"t300\",\"ok\":false,\"error\":\"timed out after 300 ms\",\"signal\":\"SIGTERM\",\"value\":null,$MS,\"stderr\":\"[^\"]*\"\\}\$" \
    'timeout_ms 300: "timed out after 300 ms", SIGTERM'
ms=$(result_line h to t300 | sed -n 's/.*"ms":\([0-9]*\).*/\1/p')
check "... it ran at least 300 ms and was stopped well before 5 s" \
    test "${ms:-0}" -ge 300 -a "${ms:-0}" -lt 4500
has_line h "$R:\"stub\",\"ok\":false,\"error\":\"timed out after 300 ms\",\"signal\":\"SIGKILL\"," \
    'a task ignoring SIGTERM gets SIGKILL after --kill-grace'
ms=$(result_line h to stub | sed -n 's/.*"ms":\([0-9]*\).*/\1/p')
check "... not before timeout_ms 300 + --kill-grace 200 (ms ${ms:-none} >= 500, < 4500)" \
    test "${ms:-0}" -ge 500 -a "${ms:-0}" -lt 4500
pids=$(awk '$1 == "start" && $3 == "contract" && $4 == "to" { print $2 }' \
    "$WT_DIR/records" | paste -sd' ')
# shellcheck disable=SC2086
check "the timed-out handlers are gone" assert_dead 5 $pids
has_line h "$R:\"tbig\",\"ok\":false,\"error\":\"timed out after 2000 ms\",\"signal\":\"SIGTERM\"," \
    '--task-timeout 2 beats a larger timeout_ms 5000'
has_line h "$R:\"tnone\",\"ok\":false,\"error\":\"timed out after 2000 ms\",\"signal\":\"SIGTERM\"," \
    '--task-timeout 2 applies without timeout_ms'
has_line h "$R:\"short\",\"ok\":true,\"exit\":0,\"value\":\\{\"slept\":0.1\\},$MS\\}\$" \
    'a task within its timeout succeeds'
has_line h '^\{"type":"done","batch":"to","ok":1,"failed":4,' 'done counts the timeouts as failed'

# ---------------------------------------------------------------- output
send h '{"type":"run","batch":"out","tasks":[{"id":"over","task":"bigout","args":1001},{"id":"exact","task":"bigout","args":1000},{"id":"huge","task":"bigout","args":1000000}]}'
expect h '"type":"done","batch":"out"' 15
has_line h '^\{"type":"result","batch":"out","id":"over","ok":false,"error":"output exceeded 1000 bytes",' \
    '1001 bytes over --max-output 1000: fails'
has_line h '^\{"type":"result","batch":"out","id":"huge","ok":false,"error":"output exceeded 1000 bytes",' \
    '1000000 bytes: killed and fails (not stuck on a full pipe)'
x1000=$(printf 'x%.0s' $(seq 1000))
has_fixed h "\"id\":\"exact\",\"ok\":true,\"exit\":0,\"value\":\"$x1000\",\"ms\":" \
    'exactly --max-output bytes succeeds, all of them kept'
has_line h '^\{"type":"done","batch":"out","ok":1,"failed":2,' 'done: ok 1, failed 2'
close_client h
stop_wstaskd

# ------------------------------------------- --pass-env PATH, background child
PATH=$PATH:/opt/wstaskd-test-bin T_EXTRA='a b' start_wstaskd --spare 1 \
    --pass-env PATH --pass-env T_EXTRA
dpath=$PATH:/opt/wstaskd-test-bin
client p "?session=passenv"
expect p '"type":"ready"'
send p '{"type":"run","batch":"pe","tasks":[{"id":"e2","task":"penv"}]}'
has_fixed p "\"id\":\"e2\",\"ok\":true,\"exit\":0,\"value\":\"PATH=$dpath\\nT_EXTRA=a b\\nWSTASK_BATCH=pe\\nWSTASK_PROGRESS_FD=3\\nWSTASK_SESSION=passenv\\nWSTASK_TASK=penv\\nWSTASK_TASK_ID=e2\\nWT_DIR=$WT_DIR\",\"ms\":" \
    "--pass-env PATH passes the daemon's PATH (and the other named ones)"

t0=$(t_now_ms)
send p '{"type":"run","batch":"bg","tasks":[{"id":"b","task":"bgchild"}]}'
if expect p '^\{"type":"result","batch":"bg","id":"b","ok":true,"exit":0,"value":"bye",' 6; then
	t1=$(t_now_ms)
	check "a background child holding stdout does not hold the result back" \
	    test $((t1 - t0)) -lt 6000
else
	fail "a background child holding stdout does not hold the result back" \
	    "$(cat "$WT_DIR/p.out")"
fi
bg=$(awk '$1 == "bg" && $3 == "passenv" { print $2 }' "$WT_DIR/records" |
    paste -sd' ')
# shellcheck disable=SC2086
check "... and it was killed with the task's group" assert_dead 5 $bg
has_line p '^\{"type":"done","batch":"bg","ok":1,"failed":0,' '... and the batch is done'
close_client p
