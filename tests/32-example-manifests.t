#!/bin/bash
# The example handlers describe themselves (SPEC 8.1): every manifest in
# examples/handlers is valid (-n), has a title and a description, and its
# args schema takes what the handler takes and refuses what it refuses.
. "$(dirname "$0")/lib.sh"

ex=$T_ROOT/examples/handlers
out=$("$WSTASKD" -n -t "$ex" -w '' --allow-root 2>&1)
check "wstaskd -n: the example manifests are valid ($out)" test "$out" = "wstaskd: configuration ok"
for h in "$ex"/*; do
	case $h in *.json) continue ;; esac
	m=$h.json
	check "${h##*/} has a manifest with a title and a description" \
	    /usr/bin/python3 -c 'import json, sys; m = json.load(open(sys.argv[1])); sys.exit(not (m.get("title") and m.get("description")))' "$m"
done
start_wstaskd -t "$ex" --spare 0
body=$(curl -s "$T_HTTP/handlers/count")
check "/handlers/count shows its title and schema" \
    /usr/bin/python3 -c 'import json, sys; m = json.loads(sys.argv[1]); sys.exit(not (m["name"] == "count" and m["title"] == "Count" and m["args"]["maximum"] == 1000))' "$body"
client c "?session=examples"
expect c '"type":"ready"'
send c '{"type":"run","batch":"good","tasks":[{"task":"count","args":2},"count",{"task":"fail","args":3},{"task":"sleep","args":0.1},{"task":"echo","args":{"any":[1]}},{"task":"disk-free","args":"/"},"disk-usage",{"task":"sha256","args":{"text":"a\"b"}},"steps"]}'
check "args the handlers take pass their schemas" expect c '"type":"accepted","batch":"good","tasks":9'
check "... and the batch runs (fail fails on purpose)" expect c '"type":"done","batch":"good","ok":8,"failed":1' 20
bad() {
	send c "{\"type\":\"run\",\"batch\":\"$1\",\"tasks\":[$2]}"
	check "refused before running: $3" expect c "\"code\":\"bad_args\",\"message\":\"task 0: $4\",\"batch\":\"$1\""
}
bad b1 '{"task":"count","args":5000}' "count 5000" 'args: 5000 is greater than the maximum 1000'
bad b2 '{"task":"fail","args":0}' "fail 0" 'args: 0 is less than the minimum 1'
bad b3 '{"task":"sleep","args":"x"}' "sleep \\\"x\\\"" 'args: \\"x\\" is not of type number or null'
bad b4 '{"task":"sha256","args":{"path":"/etc/shadow"}}' "sha256 with an unknown member" '/path: property \\"path\\" is not allowed'
bad b5 '{"task":"disk-free","args":"relative"}' "disk-free with a relative path" 'args: \\"relative\\" does not match the pattern .*'
close_client c
stop_wstaskd
