#!/bin/bash
# Restart on one connection (SPEC 2.2, 2.4): a run while a batch runs
# cancels it first; `cancelled` comes only after every process of the old
# batch is reaped, and the new batch's `accepted` after that; `cancel`;
# several quick runs start only the newest, the skipped ones get
# cancelled/replaced/started 0 and never `accepted`; nothing names a
# batch after its `done` or `cancelled`.
. "$(dirname "$0")/lib.sh"

# termslow needs 0.3 s to clean up after SIGTERM: inside the grace.
start_wstaskd --kill-grace 3000

client c -T "?session=restart"
expect c '"type":"ready"'
send c '{"type":"run","batch":"A","limit":4,"tasks":[{"task":"termslow","args":0.3},{"task":"termslow","args":0.3},{"task":"termslow","args":0.3},{"task":"termslow","args":0.3},"termslow"]}'
expect_n c '"type":"started","batch":"A"' 4
wait_for 5 records_ge start restart A 4
a_pids=$(batch_pids restart A)
send c '{"type":"run","batch":"B","tasks":[{"task":"sleep","args":0.2},{"task":"sleep","args":0.2}]}'
check "the old batch is cancelled with reason replaced" \
    expect c '"type":"cancelled","batch":"A","reason":"replaced","finished":0,"started":4,"cancelled":5'
# shellcheck disable=SC2086
check "every old process is dead when cancelled is seen" all_dead $a_pids
check "the handlers' cleanup ran (SIGTERM first, not SIGKILL)" \
    test "$(n_records end restart A)" = 4
t_cancel=$(stamp c '"type":"cancelled","batch":"A"')
t_end=$(max_record_ns end restart A)
check "cancelled was sent after the last old handler ended" \
    test "$t_cancel" -gt "$t_end"
check "the new batch runs" expect c '"type":"done","batch":"B","ok":2,"failed":0'
check "accepted B comes after cancelled A" \
    test "$(line_no c '"type":"accepted","batch":"B"')" -gt "$(line_no c '"type":"cancelled","batch":"A"')"
t_bstart=$(min_record_ns start restart B)
check "no new handler started before the last old one ended" \
    test "$t_bstart" -gt "$t_end"
check "no result for a killed task" no_line c '"type":"result","batch":"A"'

# cancel
send c '{"type":"run","batch":"C","tasks":[{"task":"sleep","args":0.05},{"task":"termslow","args":0.2}]}'
expect c '"type":"result","batch":"C","id":"0","ok":true'
# Both handlers recorded their pids before the cancel: the check below
# would otherwise look at fewer of them.
wait_for 5 records_ge start restart C 2
send c '{"type":"cancel"}'
check "cancel: cancelled with reason cancel and the right counts" \
    expect c '"type":"cancelled","batch":"C","reason":"cancel","finished":1,"started":2,"cancelled":1'
c_pids=$(batch_pids restart C)
# shellcheck disable=SC2086
check "cancel: its processes are dead" all_dead $c_pids
send c '{"type":"cancel"}'
sleep 0.5
check "cancel with nothing running sends nothing" \
    test "$(tail -n 1 "$WT_DIR/c.out" | grep -c '"type":"cancelled","batch":"C"')" = 1
check "no done after cancelled" no_line c '"type":"done","batch":"C"'

# several quick runs: only the newest starts
send c '{"type":"run","batch":"D","tasks":[{"task":"termslow","args":0.3}]}'
expect c '"type":"started","batch":"D"'
# started may come before the exec (with --cgroup it does): wait until
# termslow is up, so that D's cancel takes its 0.3 s and E and F queue.
wait_for 5 records_ge start restart D 1
send c '{"type":"run","batch":"E","tasks":["echo","echo"]}'
send c '{"type":"run","batch":"F","tasks":["echo"]}'
send c '{"type":"run","batch":"G","tasks":[{"task":"sleep","args":0.1}]}'
check "the newest run of several runs" expect c '"type":"done","batch":"G","ok":1'
check "a skipped run: cancelled, replaced, started 0" \
    expect c '"type":"cancelled","batch":"E","reason":"replaced","finished":0,"started":0,"cancelled":2'
check "another skipped run too" \
    expect c '"type":"cancelled","batch":"F","reason":"replaced","finished":0,"started":0,"cancelled":1'
check "skipped runs never get accepted" \
    eval "no_line c '\"type\":\"accepted\",\"batch\":\"E\"' && no_line c '\"type\":\"accepted\",\"batch\":\"F\"'"
check "skipped runs never start a handler" \
    test "$(grep -cE ' restart (E|F) ' "$WT_DIR/records")" = 0
check "D was cancelled before G was accepted" \
    test "$(line_no c '"type":"cancelled","batch":"D"')" -lt "$(line_no c '"type":"accepted","batch":"G"')"

# a run after done starts at once, no cancelled
send c '{"type":"run","batch":"H","tasks":["echo"]}'
check "a run after done runs without a cancel" expect c '"type":"done","batch":"H"'
check "nothing cancelled H or G" \
    eval "no_line c '\"type\":\"cancelled\",\"batch\":\"(G|H)\"'"
# nothing names a batch after its done/cancelled
check "no event names a batch after its end" awk '
	{ sub(/^[0-9]+ /, "") }
	match($0, /"batch":"[^"]*"/) {
		b = substr($0, RSTART, RLENGTH)
		if (ended[b]) { print "after end: " $0; bad = 1 }
		if ($0 ~ /"type":"(done|cancelled)"/) ended[b] = 1
	}
	END { exit bad }' "$WT_DIR/c.out"

# A cancel does not restart the SIGKILL countdown of a task that has timed
# out: it dies at its timeout + --kill-grace (0.2 + 3 s), not at the
# cancel + --kill-grace (2.5 + 3 s).
client k "?session=tk"
expect k '"type":"ready"'
t0=$(date +%s%N)
send k '{"type":"run","batch":"K","tasks":[{"task":"stubborn","timeout_ms":200}]}'
expect k '"type":"started","batch":"K"'
sleep 2.5
send k '{"type":"cancel"}'
expect k '"type":"cancelled","batch":"K","reason":"cancel"' 10
ms=$((($(date +%s%N) - t0) / 1000000))
check "a cancel keeps a timed-out task's SIGKILL time (cancelled at $ms ms; ~3200, not ~5500)" \
    test "$ms" -ge 3000 -a "$ms" -lt 4700
