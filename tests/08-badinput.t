#!/bin/bash
# Bad input (SPEC 2.2, 2.3): bad_json and bad_message for every kind of
# malformed message (the connection stays open); every kind of invalid batch
# gets one bad_batch (or too_large) error naming it and runs nothing, and a
# running batch is not disturbed by one; {"type":"cancel"} with nothing
# running is ignored; a message over --max-message closes with 1009 (no
# event first) and the daemon keeps serving; fragmented messages are
# reassembled; invalid UTF-8 in a text frame closes with 1007.
. "$(dirname "$0")/lib.sh"

MSG='"message":"([^"\\]|\\.)*"'

nlines() { wc -l < "$WT_DIR/$1.out"; }

# more_lines NAME N: NAME's output has more than N lines (a function, so
# that wait_for counts afresh at every poll).
more_lines() { [ "$(nlines "$1")" -gt "$2" ]; }

# count_at_least NAME REGEX N: at least N lines match.
count_at_least() { [ "$(grep -cE -- "$2" "$WT_DIR/$1.out")" -ge "$3" ]; }

# next_event NAME N DESC REGEX: wait for NAME's output to have more than N
# lines; the first new line must match REGEX.
next_event() {
	local line
	if wait_for 10 more_lines "$1" "$2"; then
		line=$(sed -n "$(($2 + 1))p" "$WT_DIR/$1.out")
		if printf '%s\n' "$line" | grep -qE -- "$4"; then
			ok "$3"
		else
			fail "$3" "got: $line" "want: $4"
		fi
	else
		fail "$3" "no event came; want: $4"
	fi
}

start_wstaskd --spare 1 --max-batch 5 --max-message 4096

# ---------------------------------------------------------------- messages
client m "?session=bad"
expect m '"type":"ready"'

n=$(nlines m)
send m '{"type":"cancel"}'
sleep 1
check 'cancel with nothing running: no event at all (1 s)' test "$(nlines m)" = "$n"

msgs=(
	'{"type":|bad_json|an unterminated object'
	'[1, 2|bad_json|an unterminated array'
	'{"type":"run",}|bad_json|a trailing comma'
	'not json at all|bad_json|plain text'
	'42|bad_message|a number'
	'"x"|bad_message|a string'
	'true|bad_message|true'
	'null|bad_message|null'
	'{}|bad_message|an object without type'
	'{"type":"nope"}|bad_message|an unknown type'
	'{"type":5}|bad_message|a type that is no string'
	'{"tasks":["echo"]}|bad_message|a run without type'
	'{"type":"run","tasks":[{"task":"echo","args":"a\u0000b"}]}|bad_json|\u0000 in a string (cJSON would cut it)'
	'{"type":"run","tasks":[{"task":"echo","args":1e400}]}|bad_json|a number beyond a double'
)
for c in "${msgs[@]}"; do
	text=${c%%|*}
	rest=${c#*|}
	code=${rest%%|*}
	n=$(nlines m)
	send m "$text"
	next_event m "$n" "${rest#*|}: $code" \
	    "^\\{\"type\":\"error\",\"code\":\"$code\",$MSG\\}\$"
done
n=$(nlines m)
cmd m 'binary {"type":"run","batch":"bin","tasks":["sleep"]}'
next_event m "$n" "a binary frame: bad_message" \
    "^\\{\"type\":\"error\",\"code\":\"bad_message\",$MSG\\}\$"

# ---------------------------------------------------------------- batches
# Each has a valid sleep task first: if any of it ran, sleep records it.
L65=$(printf 'a%.0s' $(seq 65))
batches=(
	'"tasks":["sleep","nope"]|an unknown handler'
	'"tasks":["sleep","../x"]|handler ../x'
	'"tasks":["sleep",".x"]|handler .x'
	'"tasks":["sleep","a/b"]|handler a/b'
	'"tasks":["sleep",""]|an empty handler name'
	"\"tasks\":[\"sleep\",\"$L65\"]|a 65-character handler name"
	'"tasks":["sleep","notexec"]|a non-executable file'
	'"tasks":[{"id":"a","task":"sleep"},{"id":"a","task":"sleep"}]|duplicate ids'
	'"tasks":["sleep","sleep",{"id":"1","task":"sleep"}]|id "1" clashing with the defaulted index 1'
	'"tasks":[{"id":1,"task":"sleep"},{"id":"1","task":"sleep"}]|integer id 1 clashing with "1"'
	'"tasks":[{"id":-0,"task":"sleep"},{"id":0,"task":"sleep"}]|integer id -0 clashing with 0'
	'"tasks":["sleep",5]|a task that is a number'
	'"tasks":["sleep",{"args":1}]|a task without "task"'
	'"limit":0,"tasks":["sleep"]|limit 0'
	'"limit":"3","tasks":["sleep"]|limit "3"'
	'"limit":1.5,"tasks":["sleep"]|limit 1.5'
	'"tasks":"sleep"|tasks "sleep"'
	'"limit":2|missing tasks'
	'"tasks":["sleep",{"task":"sleep","timeout_ms":0}]|timeout_ms 0'
	'"tasks":["sleep",{"task":"sleep","timeout_ms":"x"}]|timeout_ms "x"'
)
i=0
for c in "${batches[@]}"; do
	i=$((i + 1))
	n=$(nlines m)
	send m "{\"type\":\"run\",\"batch\":\"B$i\",${c%|*}}"
	next_event m "$n" "${c#*|}: bad_batch naming the batch" \
	    "^\\{\"type\":\"error\",\"code\":\"bad_batch\",$MSG,\"batch\":\"B$i\"\\}\$"
done
n=$(nlines m)
send m '{"type":"run","batch":5,"tasks":["sleep"]}'
next_event m "$n" 'batch 5 (not a string): bad_batch' \
    '^\{"type":"error","code":"bad_batch",'
n=$(nlines m)
send m '{"type":"run","batch":"TL","tasks":["sleep","echo","echo","echo","echo","echo"]}'
next_event m "$n" '6 tasks over --max-batch 5: too_large naming the batch' \
    "^\\{\"type\":\"error\",\"code\":\"too_large\",$MSG,\"batch\":\"TL\"\\}\$"

# Now valid ones: the connection is open and the recording works.
send m '{"type":"run","batch":"five","tasks":["sleep","echo","echo","echo","echo"]}'
check 'exactly --max-batch 5 tasks are accepted' \
    expect m '^\{"type":"accepted","batch":"five","tasks":5,'
check '... and run' expect m '"type":"done","batch":"five","ok":5,"failed":0'
sleep 0.3
check 'no rejected batch was accepted, started or got a result' \
    test "$(grep -cE '"type":"(accepted|started|result|done)","batch":"(B[0-9]+|TL|bin|5)"' "$WT_DIR/m.out")" = 0
starts=$(awk '$1 == "start" && $3 == "bad" { print $4 }' "$WT_DIR/records" | paste -sd' ')
check "only the valid batch's sleep ever started (records: $starts)" test "$starts" = five
check 'each rejected batch got exactly one event' \
    test "$(grep -cE '"batch":"B[0-9]+"' "$WT_DIR/m.out")" = "${#batches[@]}"

n=$(nlines m)
send m '{"type":"cancel"}'
sleep 1
check 'cancel after the batch is done: no event at all (1 s)' test "$(nlines m)" = "$n"

# ---------------------------------------------------------------- fragments
cmd m 'frag 3 {"type":"run","batch":"fr","tasks":[{"task":"echo","args":"abcdefghijklmnopqrstuvwxyz"}]}'
check 'a message in 3 fragments is reassembled' \
    expect m '^\{"type":"result","batch":"fr","id":"0","ok":true,"exit":0,"value":"abcdefghijklmnopqrstuvwxyz",'
close_client m

# ---------------------------------------------------------------- undisturbed
client r "?session=running"
expect r '"type":"ready"'
send r '{"type":"run","batch":"A","tasks":[{"task":"sleep","args":1.5},{"task":"sleep","args":1.5},{"task":"sleep","args":1.5}]}'
wait_for 10 count_at_least r '"type":"started","batch":"A"' 3
send r '{"type":"run","batch":"X","tasks":["sleep","nope"]}'
send r '{"type":'
send r '{"type":"run","batch":"A","tasks":["sleep"]}'
check 'an invalid run during a batch: bad_batch' \
    expect r '^\{"type":"error","code":"bad_batch",.*"batch":"X"\}$'
check 'a reused (running) batch name during a batch: bad_batch, no batch field' \
    expect r '^\{"type":"error","code":"bad_batch","message":"batch name already used on this connection"\}$'
check 'bad JSON during a batch: bad_json' expect r '"code":"bad_json"'
check 'the running batch still completes: done ok 3' \
    expect r '^\{"type":"done","batch":"A","ok":3,"failed":0,'
e=$(line_no r '"batch":"X"')
d=$(line_no r '"type":"done","batch":"A"')
check '... and the errors came while it was running' test "$e" -gt 0 -a "$e" -lt "$d"
check '... and it was never cancelled' no_line r '"type":"cancelled"'
ends=$(awk '$1 == "end" && $3 == "running" && $4 == "A"' "$WT_DIR/records" | wc -l)
starts=$(awk '$1 == "start" && $3 == "running"' "$WT_DIR/records" | wc -l)
check "... its 3 tasks ran to their end, and nothing else started" \
    test "$ends" = 3 -a "$starts" = 3
close_client r

# ---------------------------------------------------------------- size
# msg_of BATCH SIZE: a valid run of one echo task, SIZE bytes long.
msg_of() {
	local head='{"type":"run","batch":"'$1'","tasks":[{"task":"echo","args":"'
	local tail='"}]}' pad
	pad=$(printf 'x%.0s' $(seq $(($2 - ${#head} - ${#tail}))))
	printf '%s%s%s' "$head" "$pad" "$tail"
}
big=$(msg_of big 5000)
printf '%s' "$big" > "$WT_DIR/big.json"
msg_of small 4000 > "$WT_DIR/small.json"
check 'the test messages are 4000 and 5000 bytes' \
    test "$(wc -c < "$WT_DIR/small.json")" = 4000 -a "$(wc -c < "$WT_DIR/big.json")" = 5000

client s "?session=size"
expect s '"type":"ready"'
cmd s "sendfile $WT_DIR/small.json"
check 'a 4000-byte message under --max-message 4096 is accepted' \
    expect s '^\{"type":"result","batch":"small","id":"0","ok":true,'
expect s '"type":"done","batch":"small"'
n=$(nlines s)
cmd s "sendfile $WT_DIR/big.json"
check 'a 5000-byte message: close 1009' expect s '^close 1009'
check '... with no event before the close' \
    test "$(sed -n "$((n + 1))p" "$WT_DIR/s.out" | cut -c1-10)" = 'close 1009'
close_client s
check '... and nothing of it ran' no_line s '"batch":"big"'

client f "?session=size-frag"
expect f '"type":"ready"'
cmd f "frag 4 $big"
check 'a 5000-byte message in 4 small fragments: close 1009' expect f '^close 1009'
close_client f

client s2 "?session=size2"
check 'the daemon keeps serving: a new connection works' \
    expect s2 '"type":"ready","session":"size2"'
send s2 '{"type":"run","batch":"after","tasks":["echo"]}'
check '... and runs a batch' expect s2 '"type":"done","batch":"after","ok":1'
body=$(curl -s --max-time 10 "$T_HTTP/healthz")
check '... and /healthz answers ok' test "$body" = ok

# ---------------------------------------------------------------- UTF-8
# tests/rawframes.py: the client libraries will not send invalid UTF-8.
# The valid control first: proves the raw client frames correctly.
/usr/bin/python3 "$T_ROOT/tests/rawframes.py" -u '"type":"done"' "$T_PORT" /stream?session=rawok \
    $'{"type":"run","batch":"u","tasks":[{"task":"echo","args":"\xc3\xa9"}]}' \
    > "$WT_DIR/rawok.out" 2>&1
check 'raw client, valid UTF-8: the batch runs' \
    grep -qF "$(printf '"value":"\303\251"')" "$WT_DIR/rawok.out"
/usr/bin/python3 "$T_ROOT/tests/rawframes.py" "$T_PORT" /stream?session=rawbad \
    $'{"type":"run","batch":"u","tasks":["sleep",{"task":"echo","args":"\xff\xfe"}]}' \
    > "$WT_DIR/rawbad.out" 2>&1
check 'invalid UTF-8 in a text frame: close 1007' \
    grep -qx 'close 1007' "$WT_DIR/rawbad.out"
check '... and nothing of it ran' \
    eval "! grep -q '\"batch\":\"u\"' '$WT_DIR/rawbad.out' &&
        ! awk '\$1 == \"start\" && \$3 == \"rawbad\"' '$WT_DIR/records' | grep -q ."
send s2 '{"type":"run","batch":"after2","tasks":["echo"]}'
check 'the other connection is still served' expect s2 '"type":"done","batch":"after2","ok":1'

# ---------------------------------------------------------------- logs
# Names a client chose cannot forge key=value fields in the log.
send s2 '{"type":"run","batch":"b x=1 event=forged","tasks":[{"id":"i d=\"%","task":"echo"},"nosuch"]}'
expect s2 '"type":"error","code":"bad_batch"'
send s2 '{"type":"run","batch":"b y=2 event=forged","tasks":[{"id":"i d=\"%","task":"sleep","args":5,"timeout_ms":100}]}'
expect s2 '"type":"done","batch":"b y=2 event=forged"'
check 'log: a batch name with spaces and = is percent-encoded' \
    grep -q 'event=batch session=size2 batch=b%20y%3D2%20event%3Dforged ' "$WT_DIR/daemon.log"
check 'log: so is a task id with space, =, " and %' \
    grep -q 'event=timeout session=size2 batch=b%20y%3D2%20event%3Dforged id=i%20d%3D%22%25 ' "$WT_DIR/daemon.log"
check 'log: an error message keeps its quotes closed' \
    grep -q 'event=error session=size2 code=bad_batch batch=b%20x%3D1%20event%3Dforged message="task 1: unknown handler %22nosuch%22"' "$WT_DIR/daemon.log"
check 'log: no forged field anywhere' eval "! grep -q ' event=forged' '$WT_DIR/daemon.log'"
close_client s2
