#!/bin/bash
# Fast handlers (a regression test): with handlers that exit within a
# millisecond, the worker once started each next task from inside its
# reap loop, found it already exited, and chained the whole batch in one
# callback: results were held back to the end and the pipes of finished
# tasks never closed, so later tasks lost their output.  Each result must
# carry its own output, and results must stream while the batch runs.
. "$(dirname "$0")/lib.sh"

# fastenv is a symbolic link to /usr/bin/env: a C program that prints its
# environment (with WSTASK_TASK_ID) and exits at once.  The batch is run
# as a user would, with wstask, whose --json output is every event.
start_wstaskd --max-batch 2000
# shellcheck disable=SC2046
timeout 60 "$WSTASK" -u "$T_URL" -s fast -l 10 --json $(printf 'fastenv %.0s' $(seq 1000)) \
    > "$WT_DIR/f.out" 2> "$WT_DIR/f.err"
st=$?
check "1000 fast tasks complete (wstask exits 0: $st)" \
    eval '[ "$st" = 0 ] && grep -q "\"type\":\"done\",\"batch\":\"1\",\"ok\":1000,\"failed\":0" "$WT_DIR/f.out"'
bad=$(grep '"type":"result","batch":"1"' "$WT_DIR/f.out" | awk '{
	if (match($0, /"id":"[0-9]+"/)) id = substr($0, RSTART + 6, RLENGTH - 7)
	if (index($0, "WSTASK_TASK_ID=" id "\\n") == 0) print id }' | head -n 5)
check "every result carries its own task's output" test -z "$bad"
first_result=$(line_no f '"type":"result","batch":"1"')
started_100=$(grep -n '"type":"started","batch":"1"' "$WT_DIR/f.out" | sed -n 100p | cut -d: -f1)
check "results stream while the batch runs (first result before the 100th start)" \
    test "$first_result" -lt "${started_100:-0}"
check "no pipe was refused by the event loop" \
    eval "! grep -q 'cannot adopt\\|no space' '$WT_DIR/daemon.log'"
