#!/bin/bash
# Supersede storm (issue 5, stress 1; SPEC 1 invariant): 50 concurrent
# clients open 2,000 connections in all over 5 session ids (a quarter of
# them name it by a hello message, the others by ?session=).  Each sends a
# run of 3 `monorec` tasks at once (they run until cancelled and take
# 0.1 s to clean up after SIGTERM, recording start, term and end with
# CLOCK_MONOTONIC times, the connection id and their worker's pid), holds
# the session 0.05-0.5 s after its `ready` and then closes (or, one time
# in five, vanishes: the TCP connection is dropped without a close),
# unless a newer connection of its id supersedes it first.  Then:
#   - the invariant, from the handlers' own records: per session id the
#     task intervals of two holders (connections) never overlap; no
#     holder's tasks ran through the whole time another connection of the
#     id waited for its `ready` (the clients' clock only bounds when
#     `ready` was sent: between connect and receipt); only granted
#     connections ran tasks, each on a worker of its own; every started
#     task recorded its end (cleaned up, not killed);
#   - every connection got `ready` and then 4001, or its own close answered
#     with 1000, or vanished itself; or 4001 without `ready`: nothing else
#     (no 1006 from the server, no refusal, no timeout);
#   - afterwards no handler process alive, no zombie child of the daemon,
#     only the spare workers left, and the supervisor's fd count back to
#     its value before the storm;
#   - the daemon log has no worker exit other than status 0 and no
#     protocol-violation.
# STRESS_STORM_CONNS (default 2000) scales it down for development.
# The checks given to eval expand their variables when they run.
# shellcheck disable=SC2016
# shellcheck source=tests/stress/common.sh
. "$(dirname "$0")/common.sh"

CONNS=${STRESS_STORM_CONNS:-2000}
CLIENTS=50
SESSIONS=5
SPARE=4

start_wstaskd --kill-grace 2000 --spare $SPARE --max-sessions 1000 \
    --ping-interval 5 --ping-timeout 20
quiet $SPARE
fds0=$(sup_fds)
rss0=$(sup_rss)
diag "supervisor before: fds=$fds0 rss_kb=$rss0 workers=$(sup_workers)"

t0=$(t_now_ms)
load storm --url "$T_URL" --pid "$T_DPID" --clients $CLIENTS \
    --conns "$CONNS" --sessions $SESSIONS --tasks 3 --clean 0.1 \
    --secs 400 --log "$WT_DIR/storm.jsonl"
check "the storm ran to its end ($(fig storm_conns) connections in $(fig storm_secs) s)" \
    test "$(fig storm_conns)" = "$CONNS"
check "every connection: ready then 4001, its own close or vanishing, or 4001 before ready ($(fig storm_bad) others)" \
    test "$(fig storm_bad)" = 0
check "the outcomes add up ($(fig storm_superseded_after_ready) superseded after ready, $(fig storm_closed_by_client) closed by the client, $(fig storm_aborted_by_client) vanished, $(fig storm_superseded_before_ready) superseded before ready)" \
    test $(($(fig storm_superseded_after_ready) + $(fig storm_closed_by_client) + \
    $(fig storm_aborted_by_client) + $(fig storm_superseded_before_ready))) = "$CONNS"
# Grants are paced by each old session's drain (its tasks take 0.1 s to
# clean up), not by the number of connections: about one per id every
# 0.1 s, 95 to 109 in a 2.2-2.4 s storm on this machine, with this build
# and the one before it.  The bound catches starvation (ids never or
# rarely granted), not the pace: at least 2%.
check "no id is starved: the connections granted ($(fig storm_ready) ready, >= 2%)" \
    test "$(fig storm_ready)" -ge $((CONNS / 50))

# Every holder closes by itself within 0.5 s of its ready, and its tasks
# take 0.1 s to clean up: wait until every process is gone.
quiet $SPARE 30
t1=$(t_now_ms)
S_LAST_STORM=$S_LAST
load check --records "$WT_DIR/records" --log "$WT_DIR/storm.jsonl" \
    --daemon-log "$WT_DIR/daemon.log" --pids "$WT_DIR/pids"
mapfile -t pids < <(cat "$WT_DIR/pids"; spawned_pids)
check "the handlers recorded the tasks of many holders ($(fig invariant_holders) holders, $(fig invariant_tasks) tasks)" \
    test "$(fig invariant_holders)" -ge $((CONNS / 40))
check "invariant: no two holders of one id ran tasks at once ($(fig invariant_overlaps) overlaps over $(fig invariant_sessions) ids; handover min $(fig invariant_handover_ms_min) ms, median $(fig invariant_handover_ms_median) ms)" \
    test "$(fig invariant_overlaps)" = 0
check "invariant: no ready while an earlier holder's tasks ran through the whole wait for it ($(fig invariant_ready_while_old_ran) violations)" \
    test "$(fig invariant_ready_while_old_ran)" = 0
check "only granted connections (ready, and a grant in the log) ran tasks, each on a worker of its own ($(fig invariant_violations) violations in all)" \
    test "$(fig invariant_violations)" = 0
check "every started task cleaned up and recorded its end ($(fig invariant_terms) got SIGTERM, $(fig invariant_missing_end) without end)" \
    test "$(fig invariant_missing_end)" = 0

S_LAST=$S_LAST_STORM
# pid_max may be small (32768 here): a pid of ours may already be another
# process's, so a live process counts as ours if its cwd is our handler
# directory (handlers run there, and so do their children).
check "zero orphans: of the ${#pids[@]} handler pids (spawned, recorded) none is alive in the handler directory ($(our_procs | wc -l) processes there)" \
    test -z "$(our_procs)"
check "zero zombies, only the $SPARE spare workers left ($(sup_workers) children, $(sup_zombies) zombies; peak $(fig storm_peak_workers) children)" \
    eval '[ "$(sup_workers)" = $SPARE ] && [ "$(sup_zombies)" = 0 ]'
fds1=$(sup_fds)
rss1=$(sup_rss)
check "the supervisor's fd count is back to its start value ($fds0 -> peak $(fig storm_sup_peak_fds) -> $fds1)" \
    test "$fds1" = "$fds0"
diag "supervisor after: rss_kb=$rss1 (before $rss0, peak $(fig storm_sup_peak_rss_kb)); quiet $((t1 - t0)) ms after the storm started"
check "no worker exited other than with status 0 ($(daemon_crashes) did)" \
    test "$(daemon_crashes)" = 0
check "no protocol violation in the daemon log" \
    eval '! grep -q protocol-violation "$WT_DIR/daemon.log"'
diag "daemon log: $(grep -c 'event=grant ' "$WT_DIR/daemon.log") grants, $(grep -c 'event=supersede ' "$WT_DIR/daemon.log") supersedes, $(grep -c 'event=spawn ' "$WT_DIR/daemon.log") tasks spawned"
