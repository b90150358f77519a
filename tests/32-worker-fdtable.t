#!/bin/bash
# A worker's fd table is its own, sized by the fds it has open (issue 17):
# fork copies the supervisor's table, sized for every connection the
# supervisor held, and a table never shrinks; at 10,000 sessions that was
# 64 KiB and more of kernel memory in every worker.
. "$(dirname "$0")/lib.sh"

fdsize() { awk '$1 == "FDSize:" { print $2 }' "/proc/$1/status"; }

start_wstaskd --spare 1
has_spare() { [ -n "$(spares "$T_DPID")" ]; }
check "a spare worker is forked" wait_for 5 has_spare
w=$(spares "$T_DPID" | head -n 1)
sup=$(fdsize "$T_DPID")
check "the supervisor's fd table has more than 64 slots (got $sup)" \
    test "${sup:-0}" -gt 64
wsz=$(fdsize "$w")
check "the spare's fd table has 64 slots, not the supervisor's (got $wsz)" \
    test "${wsz:-0}" -eq 64

# and one that served: the table is still its own
client c1 "?session=fdt1"
expect c1 '"type":"ready"'
send c1 '{"type":"run","batch":"b","tasks":["echo"]}'
expect c1 '"type":"done"'
w1=$(worker_of fdt1)
wsz=$(fdsize "${w1:-0}" 2>/dev/null)
check "a session's worker keeps a table of 64 slots (got $wsz)" \
    test "${wsz:-0}" -eq 64
close_client c1
stop_wstaskd
