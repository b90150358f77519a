#!/bin/bash
# A worker that cannot set itself up tells the supervisor why (MSG_SETUP)
# and exits; after 3 such failures in a row for one reason the supervisor
# logs one error line naming it (event=setup-fault), and not again until
# a worker has served a session (issue 11).  Provoked deterministically:
# the --tasks directory is reachable by nobody at the start (the
# start-time check passes), then its parent is made 0700 (root's) while
# the daemon runs, so every worker forked after that fails to open it.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ] || ! id nobody > /dev/null 2>&1; then
	for i in $(seq 9); do fail "needs root and a user nobody"; done
	exit 1
fi
chmod 755 "$WT_DIR"
PD=$WT_DIR/p
TD=$PD/tasks
mkdir -p "$TD"
cp "$T_HANDLERS/echo" "$TD/"
chmod 755 "$PD" "$TD" "$TD/echo"

n_faults() { grep -c 'event=setup-fault' "$WT_DIR/daemon.log"; }
n_failed() { grep -c "event=setup-failed pid=" "$WT_DIR/daemon.log"; }
failed_ge() { [ "$(n_failed)" -ge "$1" ]; }
faults_ge() { [ "$(n_faults)" -ge "$1" ]; }
has_spare() { [ -n "$(spares "$T_DPID")" ]; }

start_wstaskd --user nobody --spare 1 -t "$TD" -w ''
wait_for 5 has_spare
chmod 700 "$PD"
# The spare serves this request; the ones forked to replace it fail.
curl -s -o /dev/null "$T_HTTP/healthz"
check "the fault is named once 3 workers failed the same way" \
    wait_for 10 faults_ge 1
check "... as one error line naming the reason and the likely cause" \
    grep -qE "event=setup-fault count=3: workers fail at set-up: open $TD: Permission denied; check that --tasks and --www" \
    "$WT_DIR/daemon.log"
check "... after the third failure, not before" \
    test "$(grep -E 'event=setup-(failed|fault)' "$WT_DIR/daemon.log" |
    grep -n 'setup-fault' | cut -d: -f1)" = 4
check "more workers fail (they are still forked)" wait_for 10 failed_ge 6
retries=$(sed -n 's/.*event=fork-failed retry_ms=\([0-9]*\).*/\1/p' \
    "$WT_DIR/daemon.log" | paste -sd' ')
check "... with a back-off that grows, not every 100 ms ($retries)" \
    eval '[ "$(echo "$retries" | tr " " "\n" | sort -n | paste -sd" ")" = "$retries" ] &&
    [ "${retries##* }" -ge 800 ]'
check "... but the fault is not logged again" test "$(n_faults)" = 1

# A worker that serves a session makes the next fault news again.
chmod 755 "$PD"
sleep 0.5	# a worker forked before the chmod fails meanwhile
wait_for 10 has_spare
client c "?session=setupfault"
check "with the directory readable again, a session is served" \
    expect c '"type":"ready"'
chmod 700 "$PD"
close_client c
curl -s -o /dev/null "$T_HTTP/healthz"
check "after a served session, a new run of failures is named again" \
    wait_for 10 faults_ge 2
chmod 755 "$PD"
stop_wstaskd
check "the daemon stops cleanly" test "$T_DSTATUS" = 0
