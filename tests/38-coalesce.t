#!/bin/bash
# The worker frames small events itself and writes several in one send
# (worker/conn.c, conn_write_some); a large one goes alone through
# libwebsockets.  Whatever the mix, each client receives every event
# whole and in order: events of every frame-length class (7-bit, 16-bit,
# 64-bit) and on both sides of the 16 KiB coalescing bound, in bursts
# (an "accepted" and ten "started" are queued at once).
. "$(dirname "$0")/lib.sh"
plan 6

start_wstaskd

sizes="1 40 45 50 120 1000 16000 16300 17000 70000"
tasks=
for r in 1 2 3 4; do
	for n in $sizes; do
		tasks="$tasks{\"id\":\"s$n.$r\",\"task\":\"echo\",\"args\":\"$(
		    head -c "$n" /dev/zero | tr '\0' x)\"},"
	done
done
printf '%s' "{\"type\":\"run\",\"batch\":\"mix\",\"limit\":10,\"tasks\":[${tasks%,}]}" \
    > "$WT_DIR/run.json"

# check_events NAME: accepted, 40 started, 40 whole results, done; each
# result's value is its id's size in x's, each after its own started.
check_events() {
	/usr/bin/python3 - "$WT_DIR/$1.out" <<'EOF'
import json, sys
seen, started, done = [], set(), False
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if not line.startswith("{"):
        continue
    e = json.loads(line)
    t = e["type"]
    assert not done, "an event after done: " + t
    if t == "started":
        started.add(e["id"])
    elif t == "result":
        assert e["id"] in started, "result before started: " + e["id"]
        want = int(e["id"][1:].split(".")[0])
        assert e["ok"] and e["value"] == "x" * want, "bad value " + e["id"]
    elif t == "done":
        done = True
    seen.append(t)
assert seen[:2] == ["ready", "accepted"], seen[:2]
assert seen.count("started") == 40 and seen.count("result") == 40, seen
assert done and e["ok"] == 40, "no done with 40 ok"
EOF
}

for kind in c py; do
	T_CLIENT_KIND=$kind
	client "$kind" "?session=C$kind"
	check "$kind client: ready" expect "$kind" '"type":"ready"'
	cmd "$kind" "sendfile $WT_DIR/run.json"
	expect "$kind" '"type":"done"' 30
	check "$kind client: 40 results whole and in order" check_events "$kind"
	close_client "$kind"
	check "$kind client: the connection closed cleanly" \
	    grep -q '^close 1000' "$WT_DIR/$kind.out"
done
