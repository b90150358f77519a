#!/bin/bash
# Churn soak (issue 5, stress 2): 200 sessions connect, run, cancel,
# replace and leave in a loop for STRESS_SOAK_SECS seconds (default 180;
# shorter for development).  Each iteration of a session is one
# connection: after `ready` it runs a batch to its end (echo + monorec
# 0.2 s), or runs two long monorec tasks and then cancels them, replaces
# them with a new run, or leaves with them running; then it closes with
# 1000.  Every expected event is checked (ready, done ok, cancelled with
# reason cancel / replaced, close echoed with 1000) and any other event or
# close is a loss.
#
# The run is cut into 6 phases; after each one every session stops after
# its current iteration, and at that quiet point (only the spare workers
# left, no zombie, the fd count stable) the supervisor's RSS and fd count
# are sampled (and during the phases every 0.5 s, for the peaks).  The
# sample after the first third of the run (the first minute of 3) and the
# last one must agree:
#   - fds equal: at a quiet point the supervisor holds its listener, its
#     signalfd, epoll and log, and one control socket per spare; any other
#     fd left is a leak;
#   - RSS within +256 KiB: glibc keeps up to 128 KiB (M_TRIM_THRESHOLD) of
#     free heap top untrimmed and the peak concurrency of a phase decides
#     how far the heap grew, so two quiet points can differ by that much
#     with nothing leaked; a leak of only 32 bytes per connection over the
#     last two thirds (thousands of connections) would exceed it.
# The checks given to eval expand their variables when they run.
# shellcheck disable=SC2016
# shellcheck source=tests/stress/common.sh
. "$(dirname "$0")/common.sh"

SECS=${STRESS_SOAK_SECS:-180}
SESSIONS=200
SPARE=2
RSS_SLACK_KB=256

start_wstaskd --spare $SPARE --max-sessions 1000 --kill-grace 1000 \
    --ping-interval 5 --ping-timeout 20
quiet $SPARE
load soak --url "$T_URL" --pid "$T_DPID" --sessions $SESSIONS --secs "$SECS" \
    --phase "$(awk -v s="$SECS" 'BEGIN { print s / 6 }')" --spare $SPARE --pause 2
check "$SESSIONS sessions churned for $(fig soak_secs) s: $(fig soak_conns) connections, $(fig soak_batches) batches, $(fig soak_started) tasks started, $(fig soak_done) batches done, $(fig soak_cancels) cancels, $(fig soak_replaces) replaces, $(fig soak_leaves) leaves" \
    test "$(fig soak_conns)" -ge $((SESSIONS * 3))
check "every iteration went as expected (ready, done / cancelled / replaced, close 1000): $(fig soak_bad) anomalies" \
    test "$(fig soak_bad)" = 0
check "the supervisor's fd count is the same at every quiet point: $(fig soak_start_fds) at the start, $(fig soak_ref_fds) after $(fig soak_ref_t) s, $(fig soak_last_fds) at the end (peak $(fig soak_sup_peak_fds) under load)" \
    eval '[ "$(fig soak_ref_fds)" = "$(fig soak_last_fds)" ] && [ "$(fig soak_start_fds)" = "$(fig soak_last_fds)" ]'
check "the supervisor's RSS does not grow: $(fig soak_ref_rss_kb) KiB after $(fig soak_ref_t) s, $(fig soak_last_rss_kb) KiB at the end (<= +$RSS_SLACK_KB KiB; $(fig soak_start_rss_kb) KiB before the load, peak $(fig soak_sup_peak_rss_kb) KiB)" \
    le "$(fig soak_last_rss_kb)" $(($(fig soak_ref_rss_kb) + RSS_SLACK_KB))
check "at the end only the $SPARE spares are left ($(fig soak_last_workers); peak $(fig soak_peak_workers) children under load)" \
    test "$(fig soak_last_workers)" = $SPARE
mapfile -t pids < <(spawned_pids)
# pid_max may be small (32768 here) and the soak spawns tens of thousands
# of processes: a live process counts as ours if its cwd is our handler
# directory (handlers run there, and so do their children).
check "zero orphans: of the ${#pids[@]} handlers spawned none is alive in the handler directory ($(our_procs | wc -l) processes there)" \
    test -z "$(our_procs)"
check "zero zombies" test "$(sup_zombies)" = 0
check "no worker exited other than with status 0 ($(daemon_crashes) did)" \
    test "$(daemon_crashes)" = 0
check "no protocol violation in the daemon log" \
    eval '! grep -q protocol-violation "$WT_DIR/daemon.log"'
check "the daemon serves at the end" test "$(curl -s "$T_HTTP/healthz")" = ok
