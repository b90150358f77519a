#!/bin/bash
# Checked arguments (SPEC 8.3): with an args schema in its manifest, every
# task of a run naming the handler is checked (absent args as null)
# before anything of the batch starts; the first failure refuses the
# whole batch with bad_args naming the task id, a JSON Pointer into its
# args and the rule, and a running batch is not disturbed.  An unusable
# schema makes the manifest invalid (-n names it).
. "$(dirname "$0")/lib.sh"

dir=$(mktemp -d /tmp/wstaskd-args.XXXXXX)
chmod 755 "$dir"
cp "$T_HANDLERS/echo" "$dir/greet"
cp "$T_HANDLERS/echo" "$dir/opt"
cp "$T_HANDLERS/echo" "$dir/badschema"
cp "$T_HANDLERS/sleep" "$dir/sleep"
cat > "$dir/greet.json" <<'JSON'
{"title":"Greet","args":{"type":"object","required":["name"],
 "additionalProperties":false,
 "properties":{"name":{"type":"string","minLength":1,"maxLength":8,"pattern":"o"},
  "count":{"type":"integer","minimum":1,"maximum":100},
  "tags":{"type":"array","items":{"enum":["a","b"]},"maxItems":2},
  "a/b~c":{"type":"boolean"}}}}
JSON
printf '{"args":{"type":["object","null"]}}' > "$dir/opt.json"
printf '{"args":{"type":"object","minimum":"3"}}' > "$dir/badschema.json"

out=$("$WSTASKD" -n -t "$dir" -w '' --allow-root 2>&1)
case $out in *"$dir/badschema.json: args: /minimum: must be a number"*) ok "-n names a schema that cannot be used, and where" ;;
*) fail "-n names a schema that cannot be used, and where" "$out" ;; esac

start_wstaskd -t "$dir" --spare 0
client c "?session=args"
expect c '"type":"ready"'
send c '{"type":"run","batch":"long","tasks":[{"task":"sleep","args":20}]}'
expect c '"type":"started","batch":"long"'
rej() {		# rej NAME TASKS TASK PATH MESSAGE
	send c "{\"type\":\"run\",\"batch\":\"$1\",\"tasks\":$2}"
	check "bad_args: $5" expect c "^\\{\"type\":\"error\",\"code\":\"bad_args\",\"message\":\"task $3: $5\",\"batch\":\"$1\",\"task\":\"$3\",\"path\":\"$4\"\\}\$"
}
rej r1 '[{"task":"greet","args":{"name":"bob","count":120}}]' 0 /count \
    '/count: 120 is greater than the maximum 100'
rej r2 '[{"task":"greet","args":{"name":"bob"}},{"id":"x","task":"greet","args":{"count":2}}]' x '' \
    'args: the required property \\"name\\" is missing'
rej r3 '[{"task":"greet","args":{"name":"Bxb"}}]' 0 /name \
    '/name: \\"Bxb\\" does not match the pattern \\"o\\"'
rej r4 '[{"task":"greet","args":{"name":"bob","tags":["a","c"]}}]' 0 /tags/1 \
    '/tags/1: \\"c\\" is not one of the allowed values'
rej r5 '[{"task":"greet","args":{"name":"bob","a/b~c":1}}]' 0 '/a~1b~0c' \
    '/a~1b~0c: 1 is not of type boolean'
rej r6 '[{"task":"greet","args":{"name":"bob","x":1}}]' 0 /x \
    '/x: property \\"x\\" is not allowed'
rej r7 '["greet"]' 0 '' 'args: null is not of type object'
send c '{"type":"run","batch":"ok1","tasks":[{"task":"opt"},{"task":"opt","args":{}},{"task":"greet","args":{"name":"bob","count":3,"tags":["a"],"a/b~c":true}}]}'
check "a run whose args all pass: accepted (absent args checked as null)" \
    expect c '"type":"accepted","batch":"ok1","tasks":3'
check "... it replaced the running batch only once valid" \
    expect c '"type":"cancelled","batch":"long","reason":"replaced"'
check "... and runs" expect c '"type":"done","batch":"ok1","ok":3'
check "no refused batch started anything" \
    sh -c "! grep -q '\"type\":\"started\",\"batch\":\"r' '$WT_DIR/c.out'"
send c '{"type":"run","batch":"bs","tasks":["badschema"]}'
check "a handler whose schema cannot be used: refused as an invalid manifest" \
    expect c '"message":"task 0: handler \\"badschema\\" has an invalid manifest badschema.json: args: /minimum: must be a number'
close_client c
stop_wstaskd
rm -rf "$dir"
