#!/bin/bash
# metrics.sh - `make bench-metrics`: the price of SPEC 9.1, measured.
#
#   1. GET /metrics with SESSIONS (default 1,000) sessions open: the
#      median and the worst of 20 response times, and the page's size.
#   2. The per-task reports (MSG_TASK, MSG_BATCH_END) on the throughput
#      figure: the bench's throughput phase against a daemon built with
#      -DWSTASKD_NO_REPORTS (no report sent) and against the normal one,
#      ROUNDS times each, alternating.
#
# Run by the Makefile target under the reaper; everything listens on
# 127.0.0.1 and is stopped by pid.  Figures only: nothing here fails on
# a time.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${1:-$root/build/wstaskd}
NOREP=${2:-$root/build-noreports/wstaskd}
BENCH=$root/build/tests/bench/bench
HANDLERS=$root/build/tests/bench/handlers
SESSIONS=${SESSIONS:-1000}
ROUNDS=${ROUNDS:-3}
PY=/usr/bin/python3
dir=$(mktemp -d /tmp/wstaskd-bench-metrics.XXXXXX)
DPID=
HPID=
cleanup() {
	[ -z "$HPID" ] || kill -TERM "$HPID" 2>/dev/null
	[ -z "$HPID" ] || wait "$HPID" 2>/dev/null
	[ -z "$DPID" ] || kill -TERM "$DPID" 2>/dev/null
	[ -z "$DPID" ] || wait "$DPID" 2>/dev/null
}
trap cleanup EXIT

echo "== GET /metrics with $SESSIONS sessions open"
"$BIN" -l 127.0.0.1:0 -t "$HANDLERS" -w '' --allow-root --metrics \
    --max-sessions $((SESSIONS + 100)) --spare 2 --ping-interval 600 \
    --ping-timeout 1200 2> "$dir/daemon.log" &
DPID=$!
for _ in $(seq 50); do
	grep -q 'event=listen addr=127.0.0.1:' "$dir/daemon.log" && break
	sleep 0.1
done
port=$(grep -o 'event=listen addr=127.0.0.1:[0-9]*' "$dir/daemon.log" | sed 's/.*://')
[ -n "$port" ] || { echo "wstaskd did not start" >&2; exit 1; }
# Holds SESSIONS sessions (50 connecting at once) until stdin closes.
mkfifo "$dir/hold.in"
cat > "$dir/hold.py" <<'EOF'
import asyncio, sys, websockets
port, n = int(sys.argv[1]), int(sys.argv[2])
async def one(i, sem, held):
    async with sem:
        ws = await websockets.connect(
            "ws://127.0.0.1:%d/stream?session=m%d" % (port, i),
            subprotocols=["wstask.v1"], ping_interval=None, max_queue=None)
        await ws.recv()
        held.append(ws)
async def main():
    held, sem = [], asyncio.Semaphore(50)
    await asyncio.gather(*(one(i, sem, held) for i in range(n)))
    print("held", len(held), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for ws in held:
        await ws.close()
asyncio.run(main())
EOF
"$PY" "$dir/hold.py" "$port" "$SESSIONS" < "$dir/hold.in" > "$dir/hold.out" &
HPID=$!
exec {hold}> "$dir/hold.in"
for _ in $(seq 600); do
	grep -q '^held' "$dir/hold.out" && break
	sleep 0.1
done
echo "sessions: $(cat "$dir/hold.out")"
for _ in $(seq 20); do
	curl -s -o "$dir/page" -w '%{time_total}\n' "http://127.0.0.1:$port/metrics"
done | sort -n > "$dir/times"
echo "response time: median $(sed -n 10p "$dir/times") s, worst $(tail -n 1 "$dir/times") s (20 requests)"
echo "page: $(wc -c < "$dir/page") bytes, $(grep -c '^wstaskd' "$dir/page") samples;" \
    "$(grep '^wstaskd_sessions ' "$dir/page")"
exec {hold}>&-
wait "$HPID"
HPID=
kill -TERM "$DPID"
wait "$DPID"
DPID=

echo "== throughput: the per-task reports on and off ($ROUNDS rounds each)"
tp() {	# BINARY: the wstaskd tasks/s of one quick throughput phase
	"$BENCH" -d "$1" -t "$HANDLERS" -q -p throughput -o "$dir/tp.json" \
	    > "$dir/tp.out" 2>&1
	"$PY" -c 'import json,sys
t = json.load(open(sys.argv[1]))["measurements"]["throughput"]
print(round(t["wstaskd_median"]))' "$dir/tp.json" 2>/dev/null ||
	    grep -o 'wstaskd [0-9]*/s' "$dir/tp.out" | head -n 1 | tr -dc 0-9
}
on=
off=
for r in $(seq "$ROUNDS"); do
	off="$off $(tp "$NOREP")"
	on="$on $(tp "$BIN")"
done
med() { tr ' ' '\n' | sed '/^$/d' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
echo "without reports (tasks/s):$off; median $(echo "$off" | med)"
echo "with reports (tasks/s):   $on; median $(echo "$on" | med)"
[ -n "${KEEP:-}" ] || rm -rf "$dir"
