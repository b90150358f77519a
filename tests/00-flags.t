#!/bin/bash
# The command line (SPEC 5): --help, --version, a one-line message naming
# the flag and exit 64 for every bad flag or value, root refusal.
. "$(dirname "$0")/lib.sh"

bad=(
	"--limit 0|--limit"
	"--limit 1001|--limit"
	"--limit abc|--limit"
	"--max-batch 0|--max-batch"
	"--max-message 10|--max-message"
	"--max-output 0|--max-output"
	"--kill-grace -1|--kill-grace"
	"--task-timeout x|--task-timeout"
	"--ping-interval 0|--ping-interval"
	"--ping-timeout 70000|--ping-timeout"
	"--ping-interval 10 --ping-timeout 10|--ping-timeout"
	"--spare -1|--spare"
	"--max-sessions 0|--max-sessions"
	"--listen 127.0.0.1|--listen"
	"--listen 1.2.3:80|--listen"
	"--listen 127.0.0.1:99999|--listen"
	"--listen [::1]80|--listen"
	"--listen unix:|--listen"
	"--origin example.com|--origin"
	"--pass-env 1BAD|--pass-env"
	"--pass-env WSTASK_SESSION|--pass-env"
	"--path stream|--path"
	"--tasks /nonexistent|--tasks"
	"--www /nonexistent|--www"
	"--no-such-flag|--no-such-flag"
	"-Z|-Z"
	"--limit|--limit"
	"--user no-such-user-wt00|--user"
	"--user nobody --group no-such-group-wt00|--group"
	"--group nogroup|--group"
	"--credential nocolon|--credential"
	"--ssl-cert /nonexistent/cert.pem|--ssl-cert"
	"--ssl-key /nonexistent/key.pem|--ssl-key"
)

for case in "${bad[@]}"; do
	args=${case%|*}
	flag=${case#*|}
	# shellcheck disable=SC2086
	# timeout: a value wrongly taken would leave a daemon running.
	out=$(timeout 5 "$WSTASKD" -l 127.0.0.1:0 -t "$T_HANDLERS" -w '' \
	    --allow-root $args 2>&1 >/dev/null)
	status=$?
	check "$args: exit 64" test "$status" = 64
	lines=$(printf '%s\n' "$out" | wc -l)
	case $out in
	*"$flag"*) check "$args: one line naming $flag" test "$lines" = 1 ;;
	*) fail "$args: one line naming $flag" "got: $out" ;;
	esac
done

help=$("$WSTASKD" --help)
check "--help exits 0" test $? = 0
for f in --listen --tasks --www --path --limit --max-batch; do
	check "--help names $f" grep -qF -e "$f" <<< "$help"
done
check "--version prints the version" sh -c "'$WSTASKD' --version | grep -q '^wstaskd [0-9]'"

if [ "$(id -u)" = 0 ]; then
	out=$("$WSTASKD" -t "$T_HANDLERS" -w '' -l 127.0.0.1:0 2>&1)
	status=$?
	check "as root without --allow-root: exit 1" test "$status" = 1
	case $out in *--allow-root*) ok "the refusal names --allow-root" ;;
	*) fail "the refusal names --allow-root" "$out" ;; esac
else
	ok "# SKIP not root"
	ok "# SKIP not root"
fi

start_wstaskd --limit 3 --max-batch 5 --spare 0
client c "?session=flags"
send c '{"type":"run","limit":50,"tasks":["echo"]}'
check "--limit caps a batch's limit" expect c '"type":"accepted","batch":"1","tasks":1,"limit":3'
