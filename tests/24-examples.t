#!/bin/bash
# The example handlers (issue 11): sha256 parses its args as JSON and
# fails clearly on bad ones; the handlers wstaskd(7) shows (disk-free,
# sum) ship as examples/handlers/disk-free and examples/sum.c, the same
# text as the man page, and give the output the man page prints.
#
# Handlers are run directly (args on stdin, as the daemon gives them)
# and, for the man page's session, through a daemon with the client
# message the man page shows.
. "$(dirname "$0")/lib.sh"

EX=$T_ROOT/examples
MAN=$T_ROOT/man/wstaskd.7

# man_block REGEX: the first .Bd -literal block after a line of the man
# page source that matches REGEX, with its roff escapes (\e, \&) undone;
# fails on any other escape, which this would not undo.
man_block() {
	awk -v re="$1" '
	!armed && $0 ~ re { armed = 1; next }
	armed && !inblk && /^\.Bd -literal/ { inblk = 1; next }
	inblk && /^\.Ed$/ { exit }
	inblk { print }' "$MAN" |
	    perl -pe 's/\\(?:(e)|(&)|(.))/defined $3 ? die("escape \\$3\n") :
	        defined $1 ? "\\" : ""/ge'
}

# run_h HANDLER ARGS: run it with ARGS on stdin; H_ST, H_OUT, H_ERR.
run_h() {
	printf '%s' "$2" > "$WT_DIR/h.in"
	"$1" < "$WT_DIR/h.in" > "$WT_DIR/h.out" 2> "$WT_DIR/h.err"
	H_ST=$?
	H_OUT=$(cat "$WT_DIR/h.out")
	H_ERR=$(cat "$WT_DIR/h.err")
}

# --- sha256 ------------------------------------------------------------
# digest_of: {"sha256":...,"bytes":...} of stdin, by sha256sum and wc.
digest_of() {
	cat > "$WT_DIR/d.in"
	printf '{"sha256":"%s","bytes":%d}' \
	    "$(sha256sum < "$WT_DIR/d.in" | cut -d' ' -f1)" \
	    "$(wc -c < "$WT_DIR/d.in")"
}
# hashes NAME ARGS BYTES: sha256 with ARGS gives the digest of BYTES
# (a printf format).
hashes() {
	local want
	# shellcheck disable=SC2059
	want=$(printf "$3" | digest_of)
	run_h "$EX/handlers/sha256" "$2"
	if [ "$H_ST" = 0 ] && [ "$H_OUT" = "$want" ] && [ -z "$H_ERR" ]; then
		ok "sha256 $1"
	else
		fail "sha256 $1" "args $2: exit $H_ST, out $H_OUT, err $H_ERR;" \
		    "want $want"
	fi
}
hashes 'of a text with an escaped quote' '{"text":"a\"b"}' 'a"b'
hashes 'of a text with every JSON escape' \
    '{"text":"q\" b\\\\ s\/ \b\f\n\r\t"}' 'q" b\\\\ s/ \b\f\n\r\t'
hashes 'of a text with \u escapes and raw UTF-8 (hashed as UTF-8)' \
    '{"text":"h\u00e9llo \ud83d\ude00 \u00fc ü"}' \
    'h\303\251llo \360\237\230\200 \303\274 \303\274'
hashes 'of an empty text' '{"text":""}' ''
hashes 'with white space around the JSON' $' \n{ "text" : "x" }\n' 'x'
GPL=/usr/share/common-licenses/GPL-3
want=$(digest_of < "$GPL")
run_h "$EX/handlers/sha256" "{\"file\":\"$GPL\"}"
check "sha256 of a file under /usr/share, as sha256sum says" \
    eval '[ "$H_ST" = 0 ] && [ "$H_OUT" = "$want" ]'

# refuses NAME ARGS REGEX: exit 2, nothing on stdout, one line on
# stderr that matches REGEX.
refuses() {
	run_h "$EX/handlers/sha256" "$2"
	if [ "$H_ST" = 2 ] && [ -z "$H_OUT" ] &&
	    [ "$(wc -l < "$WT_DIR/h.err")" = 1 ] && grep -qE -- "$3" <<< "$H_ERR"; then
		ok "sha256 refuses $1"
	else
		fail "sha256 refuses $1" "args $2: exit $H_ST, out $H_OUT, err $H_ERR"
	fi
}
USAGE='^sha256: args must be \{"file":"/usr/share/\.\.\."\} or \{"text":"\.\.\."\}$'
refuses 'args with neither file nor text' '{}' "$USAGE"
refuses 'args with another key' '{"path":"/usr/share/x"}' "$USAGE"
refuses 'args with both file and text' "{\"file\":\"$GPL\",\"text\":\"x\"}" "$USAGE"
refuses 'an array' '["x"]' "$USAGE"
refuses 'a string' '"x"' "$USAGE"
refuses 'a text that is not a string' '{"text":1}' "$USAGE"
refuses 'no args at all' '' "$USAGE"
refuses 'args that are not JSON' '{"text":"x"' '^sha256: args are not JSON \(.*\); args must be'
refuses 'a text with a lone surrogate (not Unicode)' '{"text":"\ud800"}' \
    '^sha256: the text is not valid Unicode'
refuses 'a file outside /usr/share' '{"file":"/etc/passwd"}' \
    '^sha256: /etc/passwd: only files below /usr/share are hashed$'
refuses 'a way out of /usr/share with ..' '{"file":"/usr/share/../../etc/passwd"}' \
    'only files below /usr/share are hashed$'
refuses 'a missing file' '{"file":"/usr/share/no/such/file"}' \
    '^sha256: /usr/share/no/such/file: No such file or directory$'
refuses 'a directory' '{"file":"/usr/share/common-licenses"}' \
    'not a regular file$'

# --- the man page's examples ---------------------------------------------
man_block '^\.Pa disk-free ,$' > "$WT_DIR/disk-free" &&
    man_block '^\.Pa sum ,$' > "$WT_DIR/sum.c"
check "wstaskd(7): both handler examples extracted" \
    eval '[ -s "$WT_DIR/disk-free" ] && [ -s "$WT_DIR/sum.c" ]'
check "examples/handlers/disk-free is the man page's text" \
    diff -u "$WT_DIR/disk-free" "$EX/handlers/disk-free"
check "... and executable" test -x "$EX/handlers/disk-free"
check "examples/sum.c is the man page's text" \
    diff -u "$WT_DIR/sum.c" "$EX/sum.c"
mkdir -p "$WT_DIR/mh"
cp "$EX/handlers/disk-free" "$WT_DIR/mh/"
check "sum.c builds with its comment's command, without a warning" \
    cc -O2 -Wall -Wextra -Werror -o "$WT_DIR/mh/sum" "$EX/sum.c"

# The man page's session: its client message, its received messages.
man_block 'the client sends$' > "$WT_DIR/sent"
man_block '^and receives$' > "$WT_DIR/received"
check "the session example: one message sent, nine received" \
    eval '[ "$(wc -l < "$WT_DIR/sent")" = 1 ] &&
    [ "$(wc -l < "$WT_DIR/received")" = 9 ]'
# tasks_of ID: the args of task ID in the man page's message.
args_of() {
	/usr/bin/python3 -c '
import json, sys
msg = json.load(open(sys.argv[1]))
for i, t in enumerate(msg["tasks"]):
    if str(t.get("id", i)) == sys.argv[2]:
        print(json.dumps(t["args"], separators=(",", ":")))' "$WT_DIR/sent" "$1"
}
# result_of ID KEY: that field of task ID's result in the man page.
result_of() {
	/usr/bin/python3 -c '
import json, sys
for line in open(sys.argv[1]):
    m = json.loads(line)
    if m["type"] == "result" and m["id"] == sys.argv[2]:
        print(json.dumps(m[sys.argv[3]], separators=(",", ":")))' \
	    "$WT_DIR/received" "$1" "$2"
}
run_h "$WT_DIR/mh/sum" "$(args_of a)"
check "sum with the man page's args for task a: its value" \
    eval '[ "$H_ST" = 0 ] && [ "$H_OUT" = "$(result_of a value)" ]'
run_h "$WT_DIR/mh/sum" "$(args_of 2)"
check "sum with the man page's args for task 2: exit 2 and its stderr" \
    eval '[ "$H_ST" = 2 ] && [ -z "$H_OUT" ] &&
    [ "$(printf "%s\n" "$H_ERR" | /usr/bin/python3 -c "import json,sys; print(json.dumps(sys.stdin.read()))")" = "$(result_of 2 stderr)" ]'
run_h "$WT_DIR/mh/disk-free" "$(args_of 7)"
df_total=$(df -P -k /tmp | awk 'NR == 2 { print $2 }')
check "disk-free with the man page's args for task 7: the same keys, df's size" \
    eval '[ "$H_ST" = 0 ] &&
    [ "$(sed "s/[0-9][0-9]*/N/g" <<< "$H_OUT")" = "$(result_of 7 value | sed "s/[0-9][0-9]*/N/g")" ] &&
    grep -q "\"kb_total\":$df_total," <<< "$H_OUT"'
run_h "$WT_DIR/mh/disk-free" ''
check "disk-free without args: the root file system" \
    grep -q '^{"path":"/","kb_total":[0-9]*,"kb_used":[0-9]*,"kb_avail":[0-9]*}$' "$WT_DIR/h.out"
run_h "$WT_DIR/mh/disk-free" '"a\\b"'
check "disk-free with a backslash: exit 2 and why" \
    eval '[ "$H_ST" = 2 ] && grep -q "backslashes are not supported" <<< "$H_ERR"'

# The whole session through a daemon: the same messages, but for the
# times (ms) and the file system's figures, and in an order that may
# differ where tasks run at once.
normalize() {
	grep '^{' | /usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if "ms" in m:
        m["ms"] = 0
    v = m.get("value")
    if isinstance(v, dict) and "kb_total" in v:
        for k in ("kb_total", "kb_used", "kb_avail"):
            v[k] = 0
    print(json.dumps(m, separators=(",", ":")))' | LC_ALL=C sort
}
start_wstaskd -t "$WT_DIR/mh"
client a "?session=demo"
send a "$(cat "$WT_DIR/sent")"
expect a '"type":"done"'
normalize < "$WT_DIR/a.out" > "$WT_DIR/got"
normalize < "$WT_DIR/received" > "$WT_DIR/want"
check "the man page's session gives the messages it prints" \
    diff -u "$WT_DIR/want" "$WT_DIR/got"
close_client a
stop_wstaskd

# sha256 through the daemon: a result, and a failure's stderr.
start_wstaskd -t "$EX/handlers"
client b "?session=sha"
send b '{"type":"run","batch":"s","tasks":[{"id":"t","task":"sha256","args":{"text":"a\"b"}},{"id":"n","task":"sha256","args":{}}]}'
expect b '"type":"done","batch":"s"'
check "through the daemon: sha256 of a\"b" \
    grep -qF "\"id\":\"t\",\"ok\":true,\"exit\":0,\"value\":$(printf 'a"b' | digest_of)" "$WT_DIR/b.out"
check "... and {} fails with exit 2 and the one-line reason" \
    grep -qE '"id":"n","ok":false,"error":"exit status 2","exit":2,.*"stderr":"sha256: args must be' "$WT_DIR/b.out"
close_client b
