#!/bin/bash
# Progress on fd 3 and live log lines (SPEC 7.1, 7.2): fd 3 and
# WSTASK_PROGRESS_FD in a handler, nothing above; the line rules (JSON or
# string, trimming, empty lines ignored, a last line without newline, the
# 4096-byte cut at a character boundary, invalid UTF-8 and NUL repaired);
# coalescing (count and last value), at most one report per 50 ms, the
# first at once, the last before the result; a handler that closes fd 3;
# "log": a boolean, every line in order and none dropped, long lines in
# pieces, the stderr tail unchanged; the ordering (after started, before
# result, nothing after done or cancelled, a cancel drops what is unsent);
# memory bounded under a flood of fd 3 and under a client that does not
# read while a handler floods stderr (which then blocks).
# Under ASan freed memory is held in a quarantine (256 MB by default),
# which the RSS bounds below would measure instead of the worker.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:quarantine_size_mb=4}
. "$(dirname "$0")/lib.sh"

# pdata NAME BATCH ID: the data of ID's progress events, one a line.
pdata() {
	sed -n "s/^{\"type\":\"progress\",\"batch\":\"$2\",\"id\":\"$3\",\"data\":\\(.*\\)}\$/\\1/p" \
	    "$WT_DIR/$1.out"
}

# plines NAME BATCH ID: the lines of ID's log events, one a line.
plines() {
	sed -n "s/^{\"type\":\"log\",\"batch\":\"$2\",\"id\":\"$3\",\"line\":\"\\(.*\\)\"}\$/\\1/p" \
	    "$WT_DIR/$1.out"
}

# is NAME BATCH ID EXPECTED DESC: ID's progress data, all of it, is EXPECTED.
is() {
	local got
	got=$(pdata "$1" "$2" "$3")
	if [ "$got" = "$4" ]; then ok "$5"; else fail "$5" "expected: $4" "got: $got"; fi
}

# in_order NAME: every progress and log event comes after its task's
# started and before its result, and no event names a batch after its
# done or cancelled.
in_order() {
	awk '
	!match($0, /"batch":"[^"]*"/) { next }
	{
		b = substr($0, RSTART + 9, RLENGTH - 10)
		if (b in ended) { print "after the end: " $0; bad = 1 }
		t = ""; id = ""
		if (match($0, /^\{"type":"[a-z]*"/)) t = substr($0, RSTART + 9, RLENGTH - 10)
		if (match($0, /"id":"[^"]*"/)) id = substr($0, RSTART + 6, RLENGTH - 7)
		k = b SUBSEP id
		if (t == "done" || t == "cancelled") ended[b] = 1
		else if (t == "started") st[k] = 1
		else if (t == "result") res[k] = 1
		else if (t == "progress" || t == "log") {
			n++
			if (!(k in st) || (k in res)) { print "out of order: " $0; bad = 1 }
		}
	}
	END { if (n == 0) { print "no progress or log event at all"; bad = 1 }; exit bad }
	' "$WT_DIR/$1.out"
}

# vmhwm PID: the peak resident set of PID in KiB.
vmhwm() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# rss_bound PID: KiB a worker may use: 24 MiB, 64 under ASan (its shadow
# and quarantine); without backpressure a flood takes hundreds.
rss_bound() {
	if grep -q libasan "/proc/$1/maps" 2>/dev/null; then echo 65536; else echo 24576; fi
}

# Long pings: a stopped client must not be dropped for want of pongs.
start_wstaskd --spare 1 --limit 20 --ping-interval 30 --ping-timeout 60 || exit 1

# ------------------------------------------------------------- the lines
client p "?session=lines"
expect p '"type":"ready"'
t() { printf '{"id":"%s","task":"progress","args":["%s"%s]}' "$1" "$2" "${3:+,$3}"; }
send p "{\"type\":\"run\",\"batch\":\"L\",\"limit\":20,\"tasks\":[$(t j json),$(t t text),$(t n number),$(t z zeros),$(t e empty),$(t ea emptyafter),$(t nn nonl),$(t u badutf8),$(t lo long),$(t lj longjson),$(t c closed),$(t f fd3),{\"id\":\"ps\",\"task\":\"procstate\"}]}"
check "the batch of line rules completes" expect p '"type":"done","batch":"L","ok":13,"failed":0'

is p L j '{"done":3,"total":10}' "a line that is JSON is that value (white space around it trimmed)"
is p L t '"copying files"' "a line that is not JSON is a string, trailing white space (tab, space, CR) removed"
is p L n '42' "a number line is the number"
is p L z '"007"' "\"007\" is not JSON: a string (the strict rules of value)"
is p L e '' "empty and blank lines are ignored: no event"
is p L ea '"kept"' "an empty line does not replace the report before it"
is p L nn '"first"
"last without newline"' "a last line without newline counts when the leader exits"
check "invalid UTF-8 and NUL on fd 3 become U+FFFD" \
    grep -qaF '"id":"u","data":"a'$'\xef\xbf\xbd''b'$'\xef\xbf\xbd''c"}' "$WT_DIR/p.out"
a4095=$(head -c 4095 /dev/zero | tr '\0' a)
is p L lo "\"$a4095\"" "a line over 4096 bytes is cut to 4096 at a character boundary (4095 bytes before a 2-byte character)"
lj=$(pdata p L lj)
case $lj in
"\"[1,1,1,"*) check "a JSON line over 4096 bytes is cut and sent as a string of 4096 bytes (${#lj} - 2)" test "${#lj}" = 4098 ;;
*) fail "a JSON line over 4096 bytes is cut and sent as a string" "got: ${lj:0:80}" ;;
esac
check "a handler that closes fd 3 works as before: its value, no progress" \
    eval 'grep -q "\"id\":\"c\",\"ok\":true,\"exit\":0,\"value\":\"closed\"" "$WT_DIR/p.out" && [ -z "$(pdata p L c)" ]'
check "fd 3 in a handler is a pipe" \
    grep -qE '"id":"f","ok":true,"exit":0,"value":"pipe:\[[0-9]+\]"' "$WT_DIR/p.out"
check "a handler has fds 0, 1, 2, 3 and nothing above" \
    grep -qF '"id":"ps","ok":true,"exit":0,"value":{"fds":"0 1 2 3",' "$WT_DIR/p.out"
check "lines: every progress event after its started, before its result" in_order p

# --------------------------------------------------- coalescing, the gap
send p "{\"type\":\"run\",\"batch\":\"M\",\"tasks\":[$(t m many 100000),$(t pc paced 100)]}"
check "100,000 reports as fast as awk writes them, and 100 five ms apart" \
    expect p '"type":"done","batch":"M","ok":2' 60
n=$(pdata p M m | wc -l)
ms=$(grep -o '"type":"result","batch":"M","id":"m",.*"ms":[0-9]*' "$WT_DIR/p.out" | sed 's/.*"ms"://')
check "coalesced: $n progress events for 100,000 lines in $ms ms (at most one per 50 ms)" \
    test "$n" -ge 1 -a "$n" -le $((ms / 50 + 2))
check "the last of them is the last line written" \
    test "$(pdata p M m | tail -n 1)" = '{"done":100000,"total":100000}'
last=$(grep -n '"batch":"M","id":"m"' "$WT_DIR/p.out" | tail -n 2 | head -n 1)
case $last in *'"type":"progress"'*'"done":100000'*) ok "it comes right before the result" ;;
*) fail "it comes right before the result" "got: $last" ;; esac
n=$(pdata p M pc | wc -l)
ms=$(grep -o '"type":"result","batch":"M","id":"pc",.*"ms":[0-9]*' "$WT_DIR/p.out" | sed 's/.*"ms"://')
check "paced: $n events for 100 lines over $ms ms: more than one, at most one per 50 ms" \
    test "$n" -ge 2 -a "$n" -le $((ms / 50 + 2))
check "and the last one is line 100" test "$(pdata p M pc | tail -n 1)" = 100
# "A", then "B" 30 ms later: the first report goes at once, so both come;
# were it held for the gap, "B" would replace it.  Up to three tries, in
# case the machine is too busy to read fd 3 within 30 ms.
first=no
for try in 1 2 3; do
	send p "{\"type\":\"run\",\"batch\":\"F$try\",\"tasks\":[$(t tw twice)]}"
	expect p "\"type\":\"done\",\"batch\":\"F$try\"" 10
	if [ "$(pdata p "F$try" tw | paste -sd' ')" = '"A" "B"' ]; then
		first=yes
		break
	fi
done
check "the first report goes at once (then the next after the gap)" test $first = yes
check "coalescing: events in order" in_order p

# ---------------------------------------------------------------- cancel
send p "{\"type\":\"run\",\"batch\":\"C\",\"log\":true,\"tasks\":[$(t tm term)]}"
expect p '"type":"log","batch":"C","id":"tm","line":"before"'
expect p '"type":"progress","batch":"C","id":"tm","data":"before"'
send p '{"type":"cancel"}'
check "a cancel: cancelled" expect p '"type":"cancelled","batch":"C"'
sleep 0.5
check "what the handler writes on fd 3 and stderr once cancelled is never sent" \
    eval '! grep -q after-term "$WT_DIR/p.out"'
check "... though it did write it (else this tests nothing)" \
    grep -q '^trapped [0-9]* lines C' "$WT_DIR/records"
check "cancel: events in order, nothing after cancelled" in_order p

# ------------------------------------------------------------------- log
send p '{"type":"run","batch":"Y","log":"yes","tasks":["echo"]}'
check '"log":"yes" is bad_batch' expect p '"type":"error","code":"bad_batch","message":"log must be true or false","batch":"Y"'
send p '{"type":"run","batch":"Y1","log":1,"tasks":["echo"]}'
check '"log":1 is bad_batch' expect p '"code":"bad_batch","message":"log must be true or false","batch":"Y1"'
send p "{\"type\":\"run\",\"batch\":\"G\",\"log\":true,\"tasks\":[$(t lg logs 2000),$(t ll longlog),$(t u badutf8),{\"id\":\"eb\",\"task\":\"errbig\"}]}"
check "a batch with log completes" expect p '"type":"done","batch":"G","ok":3,"failed":1' 30
check "2,000 stderr lines: 2,000 log events, in order, none dropped" \
    eval 'plines p G lg | awk '\''$0 != "line " NR { bad = 1 } END { exit bad || NR != 2000 }'\'''
b4094=$(head -c 4094 /dev/zero | tr '\0' b)
b906=$(head -c 906 /dev/zero | tr '\0' b)
c4096=$(head -c 4096 /dev/zero | tr '\0' c)
expected=$(printf '%s\n' "$a4095" "é$b4094" "$b906" "$c4096" tail)
got=$(plines p G ll)
check "long lines go in pieces of at most 4096 bytes, cut at a character boundary; a line of 4096 is one piece; a last line without newline counts" \
    test "$got" = "$expected"
check "invalid UTF-8 and NUL on stderr become U+FFFD in log lines" \
    grep -qaF '"id":"u","line":"a'$'\xef\xbf\xbd''b'$'\xef\xbf\xbd''c"}' "$WT_DIR/p.out"
tail2045=$(head -c 2045 /dev/zero | tr '\0' y)END
check "with log, a failed result's stderr is the same last 2 KiB" \
    grep -qF "\"id\":\"eb\",\"ok\":false,\"error\":\"exit status 1\",\"exit\":1,\"value\":null,\"ms\":" "$WT_DIR/p.out"
check "... exactly" grep -qF "\"stderr\":\"$tail2045\"}" "$WT_DIR/p.out"
check "... and its 5003 bytes without newline came as pieces of 4096 and 907" \
    test "$(plines p G eb | awk '{ print length($0) }' | paste -sd' ')" = "4096 907"
check "log: events in order" in_order p
send p "{\"type\":\"run\",\"batch\":\"N\",\"log\":false,\"tasks\":[$(t lg logs 20)]}"
expect p '"type":"done","batch":"N"'
check "without log (false, or absent) no stderr line is sent" \
    eval '! grep -q "\"type\":\"log\",\"batch\":\"N\"" "$WT_DIR/p.out"'

# ---------------------------------------------------------- fd 3 flood
client fl "?session=flood"
expect fl '"type":"ready"'
client o "?session=other"
expect o '"type":"ready"'
send fl "{\"type\":\"run\",\"batch\":\"FL\",\"tasks\":[$(t fa flood 100000000),$(t fb floodline 100000000)]}"
expect fl '"type":"started","batch":"FL","id":"fb"'
send o '{"type":"run","batch":"O","tasks":[{"task":"echo","args":"meanwhile"}]}'
check "another session meanwhile: its result" expect o '"type":"result","batch":"O","id":"0","ok":true,"exit":0,"value":"meanwhile"' 10
wpid=$(worker_of flood)
check "100 MB of lines and 100 MB of one line on fd 3: both end, the handler never blocks" \
    expect fl '"type":"done","batch":"FL","ok":2,"failed":0' 60
hwm=$(vmhwm "$wpid")
bound=$(rss_bound "$wpid")
check "the worker's peak RSS stays under $((bound / 1024)) MiB: ${hwm} KiB" test "${hwm:-999999}" -lt "$bound"
check "the cut line's last report is 4096 \"x\"" \
    test "$(pdata fl FL fb | tail -n 1)" = "\"$(head -c 4096 /dev/zero | tr '\0' x)\""

# ------------------------------------------------------ log backpressure
client bp "?session=bp"
expect bp '"type":"ready"'
send bp "{\"type\":\"run\",\"batch\":\"BP\",\"log\":true,\"tasks\":[$(t fl logflood),$(t lf latefl 20000000)]}"
expect bp '"type":"log","batch":"BP"'
kill -STOP "$(client_pid bp)"
check "a client that does not read chokes the worker" \
    wait_for 20 grep -q 'event=choke session=bp' "$WT_DIR/daemon.log"
hpid=$(awk '$1 == "start" && $3 == "bp" && $5 == "fl" { print $2 }' "$WT_DIR/records")
wchar() { awk '/^wchar:/ { print $2 }' "/proc/$hpid/io"; }
sleep 1
w1=$(wchar)
sleep 1
w2=$(wchar)
check "the handler flooding stderr blocks ($w1 -> $w2 bytes written over a second)" \
    test -n "$w1" -a "$w1" = "$w2"
: > "$WT_DIR/go-BP"
check "meanwhile a handler writes 20 MB on fd 3 and ends: fd 3 is read on while choked" \
    wait_for 20 grep -q '^end [0-9]* bp BP lf ' "$WT_DIR/records"
wpid=$(worker_of bp)
hwm=$(vmhwm "$wpid")
bound=$(rss_bound "$wpid")
check "the worker's peak RSS stays under $((bound / 1024)) MiB: ${hwm} KiB" test "${hwm:-999999}" -lt "$bound"
kill -CONT "$(client_pid bp)"
send bp '{"type":"cancel"}'
check "reading again, the client gets its cancelled" expect bp '"type":"cancelled","batch":"BP"' 30
check "log lines in order up to the cancel, nothing after" in_order bp
check "... and the fd-3 flooder's result came, before the cancelled" \
    grep -q '"type":"result","batch":"BP","id":"lf","ok":true' "$WT_DIR/bp.out"
