#!/bin/bash
# The defaults of SPEC 5 as behaviour (a daemon started without the
# harness's timing flags), --help against the SPEC 5 flag list and its
# defaults, the flags no other test exercises (-q, -V, -h, --user with
# --group, binding before the privilege drop, a TLS
# listener over --max-sessions), and the architecture of SPEC 1 (the
# supervisor has no libwebsockets, common/ depends on neither role, the
# runtime libraries, a spare worker is a fork without exec that does not
# hold the listening socket).
. "$(dirname "$0")/lib.sh"

# Flags of SPEC 5 ("short|long|metavar"; metavar "-" takes none, "+" takes
# one the spec does not name) and the defaults it gives.
SPEC_FLAGS=(
	"l|listen|ADDR" "t|tasks|DIR" "w|www|DIR" "|path|PATH" "|limit|N"
	"|max-sessions|N" "|max-batch|N" "|max-message|BYTES"
	"|max-output|BYTES" "|task-timeout|SECS" "|kill-grace|MS"
	"|ping-interval|SECS" "|ping-timeout|SECS" "|origin|ORIGIN"
	"|pass-env|NAME" "|spare|N" "|ssl-cert|+" "|ssl-key|+"
	"|credential|USER:PASS" "|user|+" "|group|+" "|allow-root|-"
	"D|daemonize|-" "|pidfile|FILE" "|syslog|-" "v|verbose|-" "q|quiet|-"
	"V|version|-" "h|help|-"
)
SPEC_DEFAULTS=(
	"limit|10" "max-sessions|256" "max-batch|1000" "max-message|1048576"
	"max-output|1048576" "kill-grace|2000" "ping-interval|10"
	"ping-timeout|25" "task-timeout|0" "spare|2" "listen|127.0.0.1:8080"
)

# ------------------------------------------------------------ helpers
# Daemons started here, without start_wstaskd's fast timings; each logs to
# $WT_DIR/d-NAME.log, appended to daemon.log at the end so that the
# harness's sanitizer scan sees every one of them.
D_PIDS=
dstart() {
	local name=$1
	shift
	D_LOG=$WT_DIR/d-$name.log
	: > "$D_LOG"
	(
		t_close_client_fds
		# shellcheck disable=SC2086
		exec ${WSTASKD_WRAP:-} "$WSTASKD" "$@" 2>> "$D_LOG"
	) &
	D_PID=$!
	D_PIDS="$D_PIDS $D_PID"
}
dstop() {
	kill -TERM "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	# shellcheck disable=SC2086
	D_PIDS=$(printf '%s\n' $D_PIDS | grep -vx "$1" | paste -sd' ')
}
d_cleanup() {
	local p
	for p in $D_PIDS; do kill -TERM "$p" 2>/dev/null; done
	for p in $D_PIDS; do wait "$p" 2>/dev/null; done
	D_PIDS=
	cat "$WT_DIR"/d-*.log >> "$WT_DIR/daemon.log" 2>/dev/null
	return 0
}
at_exit d_cleanup

# log_port LOG: the port of the first event=listen addr=127.0.0.1:N line.
log_port() {
	grep -o 'event=listen addr=127.0.0.1:[0-9]*' "$1" | head -n 1 | sed 's/.*://'
}
has_listen() { grep -q 'event=listen addr=127.0.0.1:' "$1"; }
use_port() {
	T_PORT=$1
	T_URL="ws://127.0.0.1:$T_PORT/stream"
	T_HTTP="http://127.0.0.1:$T_PORT"
}

# sock_inodes PID: the inodes of PID's sockets.
sock_inodes() {
	local f l
	for f in /proc/"$1"/fd/*; do
		l=$(readlink "$f" 2>/dev/null) || continue
		case $l in socket:\[*\]) l=${l#socket:[}; echo "${l%]}" ;; esac
	done
}
# listen_of PID: "INODE PORT" of PID's listening TCP (v4) socket.
listen_of() {
	local inodes loc st inode
	inodes=" $(sock_inodes "$1" | paste -sd' ') "
	while read -r _ loc _ st _ _ _ _ _ inode _; do
		[ "$st" = 0A ] || continue
		case $inodes in *" $inode "*)
			echo "$inode $((16#${loc#*:}))"
			return 0 ;;
		esac
	done < /proc/net/tcp
	return 1
}
spares_eq() { [ "$(spares "$1" | wc -l)" = "$2" ]; }
# map_addr PID LIB: the start address of LIB's first mapping in PID.
map_addr() { grep -m 1 "/$2" "/proc/$1/maps" 2>/dev/null | cut -d- -f1; }
port_free() { [ -z "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; }
# json_num NAME KEY REGEX: the number KEY of NAME's first line matching REGEX.
json_num() {
	grep -E -- "$3" "$WT_DIR/$1.out" | head -n 1 | grep -o "\"$2\":[0-9]*" |
	    head -n 1 | cut -d: -f2
}

# -------------------------------------------------------- architecture
cd "$T_ROOT" || exit 1
check "the supervisor's sources use nothing of libwebsockets (no lws_, no include)" \
    eval '! grep -rn "lws_" supervisor/ && ! grep -rnE "#[[:space:]]*include[[:space:]]*<libwebsockets" supervisor/'
objs=$(ls "$T_BUILD"/supervisor/*.o 2>/dev/null)
check "... and its objects reference no lws_ symbol" \
    eval '[ -n "$objs" ] && ! nm -u $objs | grep -q "lws_"'
bad_inc=$(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^"]*(supervisor|worker)[^"]*"' common/*.[ch])
for h in supervisor/*.h worker/*.h; do
	bad_inc+=$(grep -nE "^[[:space:]]*#[[:space:]]*include[[:space:]]*[\"<]$(basename "$h")[\">]" common/*.[ch])
done
check "common/ includes nothing from supervisor/ or worker/ ${bad_inc:+($bad_inc)}" \
    test -z "$bad_inc"
deps=$(cat "$T_BUILD"/common/*.d 2>/dev/null)
cross=$(cat "$T_BUILD"/supervisor/*.d 2>/dev/null | grep -c 'worker/')
cross=$((cross + $(cat "$T_BUILD"/worker/*.d 2>/dev/null | grep -c 'supervisor/')))
check "compiled: common/ depends on no header of a role, the roles on none of each other" \
    eval '[ -n "$deps" ] && ! grep -qE "(^|[ /])(supervisor|worker)/" <<< "$deps" && [ "$cross" = 0 ]'
# The runtime libraries: libwebsockets, libbsd, libcjson, libcrypt (SPEC
# 8.5: passwords are checked with crypt_r), libc and what
# they pull in themselves.
libs_of() { ldd "$1" | awk '$2 == "=>" { print $1 } $2 != "=>" { print $1 }' | sed 's|.*/||'; }
allowed=$(
	# make check SANITIZE=1 adds the sanitizers' runtimes.
	san=
	ldd "$WSTASKD" | grep -q libasan && san='libasan libubsan'
	for l in linux-vdso libwebsockets libbsd libcjson libcrypt libc $san; do
		[ "$l" = linux-vdso ] && { echo linux-vdso.so.1; continue; }
		p=$(ldd "$WSTASKD" | awk -v l="$l" 'index($1, l ".so") == 1 { print $3 }')
		[ -n "$p" ] || continue
		basename "$p"
		libs_of "$p"
	done | LC_ALL=C sort -u
)
extra=$(libs_of "$WSTASKD" | LC_ALL=C sort -u | LC_ALL=C comm -23 - <(printf '%s\n' "$allowed") | paste -sd' ')
direct=$(ldd "$WSTASKD" | awk '{ print $1 }' | grep -cE '^lib(websockets|bsd|cjson|crypt|c)\.so')
check "ldd: only libwebsockets, libbsd, libcjson, libcrypt, libc and their dependencies ${extra:+(extra: $extra)}" \
    eval '[ -z "$extra" ] && [ "$direct" = 5 ]'

# ------------------------------------------------------ --help, -V, -h
help=$("$WSTASKD" --help)
hstatus=$?
for f in "${SPEC_FLAGS[@]}"; do
	IFS='|' read -r s l m <<< "$f"
	if [ -n "$s" ]; then lead="-$s, --$l"; else lead="    --$l"; fi
	case $m in
	-) re="^  $(printf '%s' "$lead" | sed 's/[.]/\\./g') +[a-z]" ;;
	+) re="^  $lead [A-Z][A-Z:]* " ;;
	*) re="^  $lead $m " ;;
	esac
	if grep -qE -- "$re" <<< "$help"; then
		ok "--help: ${lead# } ${m//[-+]/}"
	else
		fail "--help: ${lead# } ${m//[-+]/}" "no line matches: $re"
	fi
done
for d in "${SPEC_DEFAULTS[@]}"; do
	flag=${d%|*}
	want=${d#*|}
	got=$(grep -E -- "--$flag " <<< "$help" | grep -o '(default [^)]*)' | head -n 1)
	check "--help: --$flag $got, SPEC: (default $want)" test "$got" = "(default $want)"
done
short_h=$("$WSTASKD" -h)
st=$?
check "-h exits 0 and prints the usage, the same as --help" \
    eval '[ "$st" = 0 ] && [ "$hstatus" = 0 ] && [ "${short_h%%$'"'\n'"'*}" = "usage: wstaskd [options]" ] && [ "$short_h" = "$help" ]'
short_v=$("$WSTASKD" -V)
st=$?
check "-V exits 0 and prints \"wstaskd VERSION\" ($short_v)" \
    eval '[ "$st" = 0 ] && [[ $short_v =~ ^wstaskd\ [0-9]+\.[0-9]+ ]] && [ "$short_v" = "$("$WSTASKD" --version)" ]'

# ------------------------------------------------------ the defaults
dstart def -l 127.0.0.1:0 -t "$T_HANDLERS" -w "$T_ROOT/www" --allow-root \
    --pass-env WT_DIR -v
DEF_PID=$D_PID
DEF_LOG=$D_LOG
wait_for 5 has_listen "$DEF_LOG" || diag "no listen line:" "$(cat "$DEF_LOG")"
use_port "$(log_port "$DEF_LOG")"


check "--spare 2: two spare workers wait, no more" \
    eval 'wait_for 5 spares_eq "$DEF_PID" 2 && sleep 0.3 && spares_eq "$DEF_PID" 2'

# The spare is a fork without exec and holds no listening socket.
read -r linode lport < <(listen_of "$DEF_PID")
sp=$(spares "$DEF_PID" | head -n 1)
check "the supervisor holds its listening socket (inode ${linode:-?}, port ${lport:-?})" \
    test -n "$linode" -a "$lport" = "$T_PORT"
check "a spare worker ($sp) does not hold the listening socket" \
    eval '[ -n "$sp" ] && [ -d "/proc/$sp/fd" ] && ! sock_inodes "$sp" | grep -qx "$linode"'
a_sup=$(map_addr "$DEF_PID" libcrypto.so)
a_sp=$(map_addr "$sp" libcrypto.so)
w_sup=$(map_addr "$DEF_PID" libwebsockets.so)
w_sp=$(map_addr "$sp" libwebsockets.so)
[ "$(cat /proc/sys/kernel/randomize_va_space 2>/dev/null)" = 0 ] &&
    diag "ASLR is off: equal addresses would not prove a fork without exec"
check "a spare maps libcrypto and libwebsockets where the supervisor does ($a_sup, $w_sup)" \
    eval '[ -n "$a_sup" ] && [ "$a_sup" = "$a_sp" ] && [ -n "$w_sup" ] && [ "$w_sup" = "$w_sp" ]'

# A raw client that sends nothing and never answers a ping.
/usr/bin/python3 "$T_ROOT/tests/rawping.py" "$T_PORT" /stream?session=noping \
    silent 20 > "$WT_DIR/noping.out" 2>&1 &
NOPING=$!

# --limit 10 and --max-batch 1000.
client k "?session=batch"
expect k '"type":"ready"'
tasks=$(printf '"echo",%.0s' $(seq 1000))
send k "{\"type\":\"run\",\"batch\":\"k1000\",\"limit\":50,\"tasks\":[${tasks%,}]}"
# --kill-grace 2000 (its own connection, so it runs alongside).
client g -T "?session=grace"
expect g '"type":"ready"'
g0=$(t_now_ms)
send g '{"type":"run","batch":"kg","tasks":[{"task":"stubborn","timeout_ms":300}]}'
# --max-output 1048576.
client o "?session=output"
expect o '"type":"ready"'
send o '{"type":"run","batch":"bo","limit":1,"tasks":[{"id":"a","task":"bigout","args":1048576},{"id":"b","task":"bigout","args":1048577}]}'

check "--limit 10: a batch asking for 50 is accepted with limit 10; --max-batch 1000: 1000 tasks are accepted" \
    expect k '^\{"type":"accepted","batch":"k1000","tasks":1000,"limit":10\}$'
send k "{\"type\":\"run\",\"batch\":\"k1001\",\"tasks\":[${tasks}\"echo\"]}"
check "--max-batch 1000: 1001 tasks are too_large" \
    expect k '^\{"type":"error","code":"too_large","message":"[^"]*","batch":"k1001"\}$'
check "... the 1000 run to done, ok 1000, and the refused batch never started" \
    eval 'expect k "^\\{\"type\":\"done\",\"batch\":\"k1000\",\"ok\":1000,\"failed\":0," 40 &&
        no_line k "\"(accepted|started|result|done)\",\"batch\":\"k1001\""'

# --max-message 1048576: a message of exactly that many bytes, and one more.
# msg_file FILE BATCH SIZE: a valid run of one env task, SIZE bytes long.
msg_file() {
	local head='{"type":"run","batch":"'$2'","tasks":[{"task":"env","args":"'
	local tail='"}]}'
	{
		printf '%s' "$head"
		head -c $(($3 - ${#head} - ${#tail})) /dev/zero | tr '\0' x
		printf '%s' "$tail"
	} > "$1"
}
msg_file "$WT_DIR/m0.json" mm0 1048576
msg_file "$WT_DIR/m1.json" mm1 1048577
client m "?session=message"
expect m '"type":"ready"'
cmd m "sendfile $WT_DIR/m0.json"
check "--max-message 1048576: a message of exactly $(wc -c < "$WT_DIR/m0.json") bytes is processed" \
    expect m '^\{"type":"done","batch":"mm0","ok":1,"failed":0,' 20
n=$(wc -l < "$WT_DIR/m.out")
cmd m "sendfile $WT_DIR/m1.json"
check "... one of $(wc -c < "$WT_DIR/m1.json") bytes: close 1009, no event before it, nothing of it ran" \
    eval 'expect m "^close 1009" 20 &&
        [ "$(sed -n "$((n + 1))p" "$WT_DIR/m.out" | cut -c1-10)" = "close 1009" ] &&
        no_line m "\"batch\":\"mm1\""'
close_client m

check "--max-output 1048576: 1048576 bytes of output are a result, ok" \
    expect o '^\{"type":"result","batch":"bo","id":"a","ok":true,"exit":0,"value":"x+","ms":' 20
vlen=$(grep -E '"id":"a","ok":true' "$WT_DIR/o.out" | grep -o '"value":"x*"' | head -n 1 | tr -cd x | wc -c)
check "... with the whole output as its value ($vlen bytes)" test "$vlen" = 1048576
check "... 1048577 bytes fail: output exceeded 1048576 bytes" \
    expect o '^\{"type":"result","batch":"bo","id":"b","ok":false,"error":"output exceeded 1048576 bytes",' 20

check "--kill-grace 2000: a stubborn task with timeout_ms 300 ends by SIGKILL" \
    expect g '"type":"result","batch":"kg","id":"0","ok":false,"error":"timed out after 300 ms","signal":"SIGKILL",' 10
ms=$(json_num g ms '"type":"result","batch":"kg"')
gt=$(( $(stamp g '"type":"result","batch":"kg"') / 1000 - g0 ))
check "... after timeout + grace: ms $ms >= 2200 (< 4000), $gt ms seen by the client" \
    eval '[ -n "$ms" ] && [ "$ms" -ge 2200 ] && [ "$ms" -lt 4000 ] && [ "$gt" -ge 2200 ]'
close_client g
close_client k
close_client o

# ------------------------------------------------------ -q
dstart quiet -l 127.0.0.1:0 -t "$T_HANDLERS" -w '' --allow-root \
    --pass-env WT_DIR --max-sessions 1 --spare 1 -q
Q_PID=$D_PID
Q_LOG=$D_LOG
wait_for 5 listen_of "$Q_PID" >/dev/null
read -r _ qport < <(listen_of "$Q_PID")
use_port "$qport"
client q "?session=quiet"
send q '{"type":"run","tasks":["echo","echo"]}'
check "-q: a batch runs" expect q '"type":"done","batch":"1","ok":2'
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$T_HTTP/healthz")
check "-q: over --max-sessions 1: 503, and the warning is logged" \
    eval '[ "$code" = 503 ] && wait_for 2 grep -q "refusing connections: --max-sessions" "$Q_LOG"'
close_client q
dstop "$Q_PID"
check "-q: no informational event in the log (listen, start, grant, batch)" \
    eval '! grep -qE "event=(listen|start|accept|claim|grant|batch|done|session-over|worker|stop|exit)" "$Q_LOG"'

# ------------------------------------------------------ --user, --group
nobody_gid=$(id -g nobody 2>/dev/null)
grp=
for g in daemon users bin sys; do
	gid=$(getent group "$g" | cut -d: -f3)
	if [ -n "$gid" ] && [ "$gid" != "$nobody_gid" ] && [ "$gid" != 0 ]; then
		grp=$g
		break
	fi
done
lowport=
for p in 1023 1022 1021 1019 1013 999; do
	port_free "$p" && { lowport=$p; break; }
done
if [ "$(id -u)" = 0 ] && [ -n "$nobody_gid" ] && [ -n "$grp" ] && [ -n "$lowport" ]; then
	pub=$(public_copy nobody)
	dstart user -l "127.0.0.1:$lowport" -t "$pub/handlers" -w '' \
	    --user nobody --group "$grp" --spare 1
	U_PID=$D_PID
	wait_for 5 grep -q "event=listen addr=127.0.0.1:$lowport" "$D_LOG"
	use_port "$lowport"
	body=$(curl -s --max-time 5 "$T_HTTP/healthz")
	check "--user nobody -l 127.0.0.1:$lowport: binds before dropping, serves /healthz" \
	    eval '[ "$body" = ok ] && [ "$(awk "/^Uid:/ { print \$2 }" /proc/$U_PID/status)" = "$(id -u nobody)" ]'
	client u "?session=user"
	send u '{"type":"run","tasks":["procstate"]}'
	check "--group $grp: handlers run with gid $gid (uid nobody)" \
	    expect u "\"uid\":$(id -u nobody),\"gid\":$gid\\}"
	w=$(grep -o 'event=grant session=user pid=[0-9]*' "$D_LOG" | tail -n 1 | sed 's/.*=//')
	check "--group $grp: the worker's groups are $gid alone (Gid: and Groups:)" \
	    eval '[ -n "$w" ] && awk -v g="$gid" "/^Gid:/ { ok = \$2 == g && \$3 == g && \$4 == g && \$5 == g }
	        /^Groups:/ { gr = \$2 \"|\" NF } END { exit !(ok && gr == g \"|2\") }" "/proc/$w/status"'
	close_client u
	dstop "$U_PID"
else
	for i in 1 2 3; do ok "# SKIP needs root, user nobody, a group and a free port < 1024"; done
fi

# ------------------------------------------------------ TLS over --max-sessions
pki=$WT_DIR/pki
mkdir -p "$pki"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$pki/key.pem" -out "$pki/cert.pem" -days 2 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 > "$WT_DIR/pki.out" 2>&1
dstart tls -l 127.0.0.1:0 -t "$T_HANDLERS" -w '' --allow-root --spare 1 \
    --ssl-cert "$pki/cert.pem" --ssl-key "$pki/key.pem" --max-sessions 1
T_PID=$D_PID
T_LOG=$D_LOG
wait_for 5 has_listen "$T_LOG"
use_port "$(log_port "$T_LOG")"
T_URL="wss://127.0.0.1:$T_PORT/stream"
client s -k "?session=tls"
check "TLS, --max-sessions 1: one wss session is served" expect s '"type":"ready","session":"tls"'
code=$(curl -sk -o "$WT_DIR/tls-body" -w '%{http_code}' --max-time 5 "https://127.0.0.1:$T_PORT/healthz")
check "... a second TLS connection is closed, no 503 (http_code $code)" \
    eval '[ "$code" = 000 ] && ! grep -qs 503 "$WT_DIR/tls-body"'
check "... and the log names --max-sessions" \
    wait_for 2 grep -q 'refusing connections: --max-sessions' "$T_LOG"
close_client s
tls_ok() { [ "$(curl -sk --max-time 2 "https://127.0.0.1:$T_PORT/healthz")" = ok ]; }
check "... once the session is over, TLS requests are served again" wait_for 5 tls_ok
dstop "$T_PID"

# ------------------------------------------------------ --ping-interval 10
wait "$NOPING"
pt=$(sed -n 's/^first-ping //p' "$WT_DIR/noping.out")
check "--ping-interval 10: a silent client's first ping comes after ${pt:-no ping} s (9 to 16)" \
    eval '[ -n "$pt" ] && awk -v t="$pt" "BEGIN { exit !(t >= 9 && t < 16) }"'
check "... and the client had its session (its ready, one text frame)" \
    grep -qx 'text 1' "$WT_DIR/noping.out"
dstop "$DEF_PID"

# ------------------------------------------------------ -l default
# Without -l: 127.0.0.1:8080, on this host if the port is free, else in a
# network namespace of its own.
cat > "$WT_DIR/l8080.sh" <<EOF
log=\$1
"$WSTASKD" -t "$T_HANDLERS" -w '' --allow-root --spare 0 2> "\$log" &
pid=\$!
for i in \$(seq 250); do
	grep -q 'event=listen' "\$log" && break
	sleep 0.02
done
curl -s --max-time 5 http://127.0.0.1:8080/healthz > "\$log.body"
kill -TERM \$pid
wait \$pid
EOF
if port_free 8080; then
	where="this host"
	bash "$WT_DIR/l8080.sh" "$WT_DIR/d-8080.log"
elif unshare -n true 2>/dev/null; then
	where="a new network namespace"
	unshare -n bash -c 'ip link set lo up && bash "$1" "$2"' - \
	    "$WT_DIR/l8080.sh" "$WT_DIR/d-8080.log"
else
	where=
fi
if [ -n "$where" ]; then
	check "no -l: listens on 127.0.0.1:8080 only ($where)" \
	    eval '[ "$(grep -o "event=listen addr=[^ ]*" "$WT_DIR/d-8080.log" | paste -sd" ")" = "event=listen addr=127.0.0.1:8080" ]'
	check "... and serves /healthz there" test "$(cat "$WT_DIR/d-8080.log.body")" = ok
else
	fail "no -l: 8080 is taken and unshare -n is not possible here"
	fail "... and serves /healthz there"
fi
