#!/bin/bash
# A worker killed by a signal without a name (a real-time one) is logged
# as signal=SIG40, not with the NULL that sigabbrev_np() returns for it;
# named ones keep their name (signal=SIGKILL).
. "$(dirname "$0")/lib.sh"

has_spare() { [ -n "$(spares "$T_DPID")" ]; }
start_wstaskd --spare 1
wait_for 5 has_spare
w=$(spares "$T_DPID" | head -n 1)
kill -s 40 "$w"
check "a worker killed by signal 40 is logged as signal=SIG40" \
    wait_for 5 grep -qE "event=exit pid=$w session= signal=SIG40\$" \
    "$WT_DIR/daemon.log"
wait_for 5 has_spare
w=$(spares "$T_DPID" | head -n 1)
kill -KILL "$w"
check "one killed by SIGKILL as signal=SIGKILL" \
    wait_for 5 grep -qE "event=exit pid=$w session= signal=SIGKILL\$" \
    "$WT_DIR/daemon.log"
check "no signal is logged as (null)" \
    eval "! grep -q 'signal=(null)' '$WT_DIR/daemon.log'"
