#!/bin/bash
# The concurrency limit (SPEC 2.2, 5): a batch's "limit" holds exactly (it
# is reached and never exceeded), seen both by the handlers themselves
# (tests/handlers/conc records how many run at its start) and from the
# process table (the worker's children, sampled while the batch runs);
# --limit caps a larger batch limit and is the limit of a batch without
# one; limit 1 runs the tasks strictly one after another.
. "$(dirname "$0")/lib.sh"

# conc_tasks N SECS: a JSON list of N conc tasks holding a slot SECS each.
conc_tasks() {
	local sep=
	printf '['
	for _ in $(seq "$1"); do
		printf '%s{"task":"conc","args":%s}' "$sep" "$2"
		sep=,
	done
	printf ']'
}

# conc_reset: forget what earlier batches recorded.
conc_reset() { rm -rf "$WT_DIR/concurrency" "$WT_DIR/running"; }

# conc_max: the highest concurrency a conc task saw at its start.
conc_max() { sort -n "$WT_DIR/concurrency" 2>/dev/null | tail -n 1; }

# live_children PID: PID's children still PID's children after the whole
# scan.  A scan of /proc is no snapshot: it can read a task that was then
# reaped and, further on, the task started after it; the second look drops
# the first, since its successor exists only once it is gone.  The second
# look checks the parent, not only that the pid is alive: on a busy machine
# (pid_max 32768) a reaped task's pid can already be someone else's.
live_children() {
	local p line fields
	for p in $(children "$1"); do
		{ read -r line < "/proc/$p/stat"; } 2>/dev/null || continue
		read -ra fields <<< "${line##*) }"
		[ "${fields[1]}" = "$1" ] && echo "$p"
	done
	return 0
}

# sample_children PID NAME BATCH: until NAME has BATCH's done, count PID's
# children; prints the highest count and the number of samples.
sample_children() {
	local max=0 n=0 c
	while ! grep -q "\"type\":\"done\",\"batch\":\"$3\"" "$WT_DIR/$2.out"; do
		c=$(live_children "$1" | wc -l)
		[ "$c" -gt "$max" ] && max=$c
		n=$((n + 1))
		[ "$n" -ge 400 ] && break
	done
	echo "$max $n"
}

start_wstaskd --spare 1

# ------------------------------------------------- limit 3, 12 tasks
conc_reset
client a "?session=lim3"
expect a '"type":"ready"'
w=$(worker_of lim3)
send a "{\"type\":\"run\",\"batch\":\"b12\",\"limit\":3,\"tasks\":$(conc_tasks 12 0.5)}"
check "limit 3: accepted shows it" \
    expect a '^\{"type":"accepted","batch":"b12","tasks":12,"limit":3\}$'
read -r pmax samples <<< "$(sample_children "$w" a b12)"
expect a '"type":"done","batch":"b12"' 20
check "limit 3: all 12 results ok" \
    test "$(grep -c '"type":"result","batch":"b12",.*"ok":true' "$WT_DIR/a.out")" = 12
check "limit 3: done ok 12" expect a '"type":"done","batch":"b12","ok":12,"failed":0,'
m=$(conc_max)
check "limit 3: the handlers saw exactly 3 at most (saw ${m:-nothing})" test "${m:-0}" = 3
check "limit 3: 12 starts recorded" test "$(wc -l < "$WT_DIR/concurrency")" = 12
if [ -n "$w" ] && [ "$pmax" -ge 1 ] && [ "$pmax" -le 3 ]; then
	ok "limit 3: the worker never had more than 3 children ($pmax in $samples samples)"
else
	fail "limit 3: the worker never had more than 3 children" \
	    "worker '$w': max $pmax in $samples samples"
fi
close_client a

# ------------------------------------------------- limit 1
conc_reset
client o "?session=lim1"
expect o '"type":"ready"'
send o "{\"type\":\"run\",\"batch\":\"one\",\"limit\":1,\"tasks\":$(conc_tasks 5 0.1)}"
check "limit 1: accepted shows it" \
    expect o '^\{"type":"accepted","batch":"one","tasks":5,"limit":1\}$'
expect o '"type":"done","batch":"one"' 20
check "limit 1: the handlers never saw another running" \
    test "$(sort -u "$WT_DIR/concurrency" | paste -sd' ')" = 1
seq=$(grep -E '"batch":"one"' "$WT_DIR/o.out" |
    sed -n 's/^{"type":"\([a-z]*\)","batch":"one","id":"\([0-9]*\)".*/\1 \2/p' | paste -sd' ')
check "limit 1: started/result strictly alternate, in order" test "$seq" = \
    "started 0 result 0 started 1 result 1 started 2 result 2 started 3 result 3 started 4 result 4"
close_client o
stop_wstaskd

# ------------------------------------------------- --limit 2
start_wstaskd --spare 1 --limit 2
conc_reset
client c "?session=cap2"
expect c '"type":"ready"'
w=$(worker_of cap2)
send c "{\"type\":\"run\",\"batch\":\"ask5\",\"limit\":5,\"tasks\":$(conc_tasks 8 0.5)}"
check "--limit 2 caps a batch asking for 5 (accepted shows limit 2)" \
    expect c '^\{"type":"accepted","batch":"ask5","tasks":8,"limit":2\}$'
read -r pmax samples <<< "$(sample_children "$w" c ask5)"
expect c '"type":"done","batch":"ask5"' 20
m=$(conc_max)
check "--limit 2: the handlers saw exactly 2 at most (saw ${m:-nothing})" test "${m:-0}" = 2
if [ -n "$w" ] && [ "$pmax" -ge 1 ] && [ "$pmax" -le 2 ]; then
	ok "--limit 2: the worker never had more than 2 children ($pmax in $samples samples)"
else
	fail "--limit 2: the worker never had more than 2 children" \
	    "worker '$w': max $pmax in $samples samples"
fi
check "--limit 2: done ok 8" expect c '"type":"done","batch":"ask5","ok":8,"failed":0,'

conc_reset
send c "{\"type\":\"run\",\"batch\":\"nolim\",\"tasks\":$(conc_tasks 6 0.5)}"
check "a batch without limit gets --limit (accepted shows limit 2)" \
    expect c '^\{"type":"accepted","batch":"nolim","tasks":6,"limit":2\}$'
read -r pmax samples <<< "$(sample_children "$w" c nolim)"
expect c '"type":"done","batch":"nolim"' 20
m=$(conc_max)
check "no limit: the handlers saw exactly 2 at most (saw ${m:-nothing})" test "${m:-0}" = 2
if [ -n "$w" ] && [ "$pmax" -ge 1 ] && [ "$pmax" -le 2 ]; then
	ok "no limit: the worker never had more than 2 children ($pmax in $samples samples)"
else
	fail "no limit: the worker never had more than 2 children" \
	    "worker '$w': max $pmax in $samples samples"
fi
check "no limit: done ok 6" expect c '"type":"done","batch":"nolim","ok":6,"failed":0,'
close_client c

# A limit of any size is capped, not refused (SPEC 2.2), even past 32 bits.
client d "?session=huge"
expect d '"type":"ready"'
send d '{"type":"run","batch":"l3e9","limit":3000000000,"tasks":["echo"]}'
check "limit 3000000000 is capped at --limit 2" \
    expect d '^\{"type":"accepted","batch":"l3e9","tasks":1,"limit":2\}$'
send d '{"type":"run","batch":"l1e300","limit":1e300,"tasks":["echo"]}'
check "limit 1e300 is capped at --limit 2" \
    expect d '^\{"type":"accepted","batch":"l1e300","tasks":1,"limit":2\}$'
close_client d
stop_wstaskd

# ------------------------------------------------- --task-timeout, large
# Its limit times 1000 no longer fits 32 bits: it must not wrap to a
# short timeout (4294968 s wrapped to 704 ms once).
start_wstaskd --spare 1 --task-timeout 4294968
client e "?session=ttbig"
expect e '"type":"ready"'
send e '{"type":"run","batch":"tt","tasks":[{"id":"s","task":"sleep","args":1.0},{"id":"m","task":"sleep","args":0.2,"timeout_ms":2147483647}]}'
check "--task-timeout 4294968: a 1 s task is not timed out" \
    expect e '^\{"type":"result","batch":"tt","id":"s","ok":true,' 10
check "... nor one with the largest timeout_ms" \
    expect e '^\{"type":"result","batch":"tt","id":"m","ok":true,' 10
close_client e
