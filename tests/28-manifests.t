#!/bin/bash
# Manifests (SPEC 8.1, 8.4): DIR/NAME.json describes handler NAME; it is
# read when used (an edit needs no restart), strict (an unknown member,
# a wrong type, a file that does not parse or is over 64 KiB makes it
# invalid) and fails closed (an invalid manifest makes its handler
# unusable: not listed, 404, bad_batch naming the problem, logged once per
# worker, named by -n).  Its timeout_ms joins the task time limits.
. "$(dirname "$0")/lib.sh"

dir=$(mktemp -d /tmp/wstaskd-manifests.XXXXXX)
chmod 755 "$dir"
for h in echo sleep; do cp "$T_HANDLERS/$h" "$dir/$h"; done
printf '#!/bin/sh\nexec sleep 30\n' > "$dir/forever"
for h in greet badjson unknown wrongtype big closed fifo; do
	cp "$T_HANDLERS/echo" "$dir/$h"
done
chmod 755 "$dir"/*
cat > "$dir/greet.json" <<'JSON'
{"title":"Greet","description":"Says hello.","progress":false,
 "args":{"type":"object","properties":{"name":{"type":"string"}}}}
JSON
printf '{"title":"x",' > "$dir/badjson.json"
printf '{"title":"x","colour":"red"}' > "$dir/unknown.json"
printf '{"title":5}' > "$dir/wrongtype.json"
/usr/bin/python3 -c 'import json; print(json.dumps({"description": "d" * 70000}))' > "$dir/big.json"
printf '{"users":["alice"]}' > "$dir/closed.json"
mkfifo "$dir/fifo.json"
printf '{"timeout_ms":300}' > "$dir/sleep.json"

out=$("$WSTASKD" -n -t "$dir" -w '' --allow-root 2>&1)
check "-n with invalid manifests exits non-zero" test $? != 0
for f in badjson unknown wrongtype big fifo; do
	case $out in *"$dir/$f.json: "*) ok "-n names $f.json" ;;
	*) fail "-n names $f.json" "$out" ;; esac
done
case $out in *'"colour"'*) ok "-n says why (the unknown member)" ;;
*) fail "-n says why (the unknown member)" "$out" ;; esac
case $out in *"$dir/closed.json: names users, but no users"*) ok "-n says a users-only handler is closed without users" ;;
*) fail "-n says a users-only handler is closed without users" "$out" ;; esac
case $out in *greet.json*|*sleep.json*) fail "-n names only the bad ones" "$out" ;;
*) ok "-n names only the bad ones" ;; esac

start_wstaskd -t "$dir" --spare 0 --task-timeout 2
body=$(curl -s "$T_HTTP/handlers")
check "/handlers lists the usable ones only" \
    test "$body" = '["echo","forever","greet","sleep"]'
body=$(curl -s "$T_HTTP/handlers/greet")
check "/handlers/NAME: the manifest plus its name" /usr/bin/python3 -c '
import json, sys
got = json.loads(sys.argv[1])
want = {"name": "greet", "title": "Greet", "description": "Says hello.", "progress": False,
        "args": {"type": "object", "properties": {"name": {"type": "string"}}}}
sys.exit(got != want)' "$body"
check "/handlers/NAME without a manifest: just the name" \
    test "$(curl -s "$T_HTTP/handlers/echo")" = '{"name":"echo"}'
for p in badjson closed nosuch greet.json ../echo; do
	code=$(curl -s -o /dev/null -w '%{http_code}' "$T_HTTP/handlers/$p")
	check "/handlers/$p: 404" test "$code" = 404
done

client c "?session=manifests"
expect c '"type":"ready"'
send c '{"type":"run","batch":"a","tasks":["echo","badjson"]}'
check "a run naming a handler with an invalid manifest: bad_batch saying why" \
    expect c '"code":"bad_batch","message":"task 1: handler \\"badjson\\" has an invalid manifest badjson.json: not JSON'
send c '{"type":"run","batch":"b","tasks":["unknown"]}'
check "... an unknown member" expect c 'invalid manifest unknown.json: unknown member \\"colour\\"'
send c '{"type":"run","batch":"b2","tasks":["unknown"]}'
expect c '"batch":"b2"'
check "the bad manifest is logged once per worker" \
    test "$(grep -c 'event=bad-manifest session=manifests handler=unknown' "$WT_DIR/daemon.log")" = 1
send c '{"type":"run","batch":"c","tasks":["closed"]}'
check "a users-only handler without users: refused, saying so" \
    expect c '"message":"task 0: handler \\"closed\\" is only for the users its manifest names, and the server has no users"'
printf '{"title":"fixed"}' > "$dir/unknown.json"
send c '{"type":"run","batch":"d","tasks":["unknown"]}'
check "a fixed manifest takes effect at the next run (no restart)" \
    expect c '"type":"done","batch":"d","ok":1'

send c '{"type":"run","batch":"t1","tasks":[{"task":"sleep","args":5}]}'
check "the manifest's timeout_ms bounds its tasks" \
    expect c '"batch":"t1","id":"0","ok":false,"error":"timed out after 300 ms"' 5
send c '{"type":"run","batch":"t2","tasks":[{"task":"sleep","args":5,"timeout_ms":100}]}'
check "a task's smaller timeout_ms wins" \
    expect c '"batch":"t2","id":"0","ok":false,"error":"timed out after 100 ms"' 5
send c '{"type":"run","batch":"t3","tasks":[{"task":"sleep","args":5,"timeout_ms":4000}]}'
check "a task's larger timeout_ms loses to the manifest's" \
    expect c '"batch":"t3","id":"0","ok":false,"error":"timed out after 300 ms"' 5
send c '{"type":"run","batch":"t4","tasks":["forever"]}'
check "--task-timeout bounds a task given as a bare name" \
    expect c '"batch":"t4","id":"0","ok":false,"error":"timed out after 2000 ms"' 6
close_client c
stop_wstaskd
rm -rf "$dir"
