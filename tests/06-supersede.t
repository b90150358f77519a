#!/bin/bash
# Restart from a new connection (SPEC 1, 2.1, 2.4.4): a second connection
# with the same session id supersedes the first: the old client gets a
# best-effort `cancelled` (reason superseded) and close 4001, every old
# process is gone before the new `ready` ("superseded":true), and the
# newest of several quick claims alone is granted.
. "$(dirname "$0")/lib.sh"

start_wstaskd --kill-grace 3000

claims_ge() { [ "$(grep -c "event=claim session=$1 " "$WT_DIR/daemon.log")" -ge "$2" ]; }

run4='{"type":"run","batch":"old","limit":4,"tasks":[{"task":"termslow","args":0.3},{"task":"termslow","args":0.3},{"task":"termslow","args":0.3},{"task":"termslow","args":0.3}]}'

client a -T "?session=S1"
expect a '"type":"ready","session":"S1","superseded":false'
send a "$run4"
wait_for 5 records_ge start S1 old 4
old_pids=$(batch_pids S1 old)
old_worker=$(worker_of S1)

client b -T "?session=S1"
check "the new connection is granted, superseded:true" \
    expect b '"type":"ready","session":"S1","superseded":true'
# shellcheck disable=SC2086
check "every old handler is dead when the new ready is seen" all_dead $old_pids
check "the old worker is gone too" all_dead "$old_worker"
t_ready=$(stamp b '"type":"ready"')
t_end=$(max_record_ns end S1 old)
check "the old handlers cleaned up on SIGTERM (4 end records)" \
    test "$(n_records end S1 old)" = 4
check "ready was sent after the last old handler ended" test "$t_ready" -gt "$t_end"
check "the old client got cancelled with reason superseded" \
    expect a '"type":"cancelled","batch":"old","reason":"superseded","finished":0,"started":4,"cancelled":4'
check "the old client was closed with 4001" expect a '^[0-9]+ close 4001'
send b '{"type":"run","batch":"new","tasks":["echo"]}'
check "the new session runs batches" expect b '"type":"done","batch":"new","ok":1'
close_client a

# A message sent right after connecting waits for the grant.  The holder
# b drains slowly (its handler takes 1 s to exit after SIGTERM), so the
# run is in before the grant and has to wait for the old session's end.
send b '{"type":"run","batch":"slow","tasks":[{"task":"termslow","args":1}]}'
wait_for 5 records_ge start S1 slow 1
slow_pids=$(batch_pids S1 slow)
b_worker=$(worker_of S1)
client c -T "?session=S1"
send c '{"type":"run","batch":"early","tasks":["echo"]}'
# shellcheck disable=SC2086
if expect c '"type":"ready","session":"S1","superseded":true' 10 &&
    test -n "$slow_pids" && test -n "$b_worker" &&
    all_dead $slow_pids "$b_worker"; then
	ok "the new ready comes once the slow old holder's processes are dead"
else
	fail "the new ready comes once the slow old holder's processes are dead" \
	    "old pids '$slow_pids' worker '$b_worker'" "$(cat "$WT_DIR/c.out")"
fi
check "a run sent before the grant comes after ready" \
    expect c '"type":"done","batch":"early"'
check "... ready is the first event" \
    test "$(line_no c '"type":"ready"')" = 2
c_open=$(stamp c ' open ')
c_ready=$(stamp c '"type":"ready"')
c_acc=$(stamp c '"type":"accepted","batch":"early"')
slow_end=$(max_record_ns end S1 slow)
if [ -n "$c_open" ] && [ -n "$c_ready" ] && [ -n "$c_acc" ] &&
    [ "$(n_records end S1 slow)" = 1 ] &&
    [ $((c_ready - c_open)) -ge 700000 ] &&
    [ "$c_acc" -gt "$c_ready" ] && [ "$c_acc" -gt "$slow_end" ]; then
	ok "... the run waited: accepted after ready and after the old handler's end ($(((c_ready - c_open) / 1000)) ms wait)"
else
	fail "... the run waited: accepted after ready and after the old handler's end" \
	    "open $c_open ready $c_ready accepted $c_acc old end $slow_end" \
	    "$(cat "$WT_DIR/c.out")"
fi
check "... and the previous holder was closed with 4001" expect b 'close 4001'

# Supersede by hello; the old one ignores SIGTERM: SIGKILL after the grace.
stop_wstaskd
start_wstaskd --kill-grace 300
client d ""
send d '{"type":"hello","session":"S2"}'
expect d '"type":"ready","session":"S2"'
send d '{"type":"run","batch":"st","tasks":["stubborn","stubborn"]}'
wait_for 5 records_ge start S2 st 2
st_pids=$(batch_pids S2 st)
client e ""
send e '{"type":"hello","session":"S2"}'
check "hello supersedes too" expect e '"type":"ready","session":"S2","superseded":true'
# shellcheck disable=SC2086
check "SIGTERM-ignoring handlers were SIGKILLed before ready" all_dead $st_pids
check "the hello-superseded client got 4001" expect d 'close 4001'

# Three quick claims: only the newest is granted.  The holder takes 2 s
# to clean up, so both later claims arrive while it drains.
stop_wstaskd
start_wstaskd --kill-grace 5000
client e "?session=S2"
expect e '"type":"ready","session":"S2"'
send e '{"type":"run","batch":"hold","tasks":[{"task":"termslow","args":2}]}'
wait_for 5 records_ge start S2 hold 1
client f "?session=S2"
wait_for 5 claims_ge S2 2	# e, f: f claims before g connects
hold_pids=$(batch_pids S2 hold)
e_worker=$(worker_of S2)
client g "?session=S2"
check "the newest of three claims is granted" \
    expect g '"type":"ready","session":"S2","superseded":true'
# shellcheck disable=SC2086
check "... only once the first holder's handler and worker are dead" \
    all_dead $hold_pids "$e_worker"
check "the middle claimant is closed with 4001" expect f 'close 4001'
check "the middle claimant never got ready" no_line f '"type":"ready"'
check "the first holder is closed with 4001" expect e 'close 4001'
grants=$(grep -c 'event=grant session=S2 ' "$WT_DIR/daemon.log")
check "the supervisor granted S2 exactly twice (e, g)" test "$grants" = 2

# The independent client sees the same.
T_CLIENT_KIND=py
client p "?session=S3"
expect p '"type":"ready","session":"S3"'
client q "?session=S3"
expect q '"type":"ready","session":"S3","superseded":true'
check "python3-websockets sees close 4001 on the superseded side" expect p '^close 4001'
T_CLIENT_KIND=c

# A claim that waits past --ping-timeout (2 s here) while the old session
# drains for the whole kill grace is not dropped: the wait is the server's,
# and the client's pongs are not read meanwhile.
stop_wstaskd
start_wstaskd --kill-grace 4000
client h "?session=S4"
expect h '"type":"ready","session":"S4"'
send h '{"type":"run","batch":"lw","tasks":["stubborn"]}'
wait_for 5 records_ge start S4 lw 1
client i "?session=S4"
check "a claim that waits 4 s, past --ping-timeout 2, still gets ready" \
    expect i '"type":"ready","session":"S4","superseded":true' 15
check "... and it was not closed meanwhile" no_line i '^close'
