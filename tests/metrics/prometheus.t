#!/bin/bash
# A real Prometheus server scraping wstaskd (SPEC 9.1), run by `make
# check-metrics` under the reaper: Debian's prometheus, started here on
# 127.0.0.1 only with its own storage in the test directory and a 1 s
# scrape interval, scrapes a wstaskd --metrics that ran a known sequence;
# then queries over its HTTP API give the counts that the test ran.
# shellcheck disable=SC2016
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
b=${WSTASKD_BUILD:-build}
case $b in /*) ;; *) b=$root/$b ;; esac
export WSTASKD_BUILD=$b
# shellcheck source=tests/lib.sh
. "$root/tests/lib.sh"
# shellcheck disable=SC2034 # lib.sh's
T_ROOT=$root
T_HANDLERS=$root/tests/handlers
PY=/usr/bin/python3
PROM=$(command -v prometheus || echo /usr/bin/prometheus)
[ -x "$PROM" ] || skip_all "prometheus is not installed (Debian package prometheus)"

start_wstaskd --metrics --spare 1

# The known sequence: 3 sessions; echo ok 4 times, fail failed twice,
# 2 batches done, 1 rejected, 1 cancelled (a termslow that ran).
for s in P1 P2; do
	client "$s" "?session=$s"
	expect "$s" "\"type\":\"ready\",\"session\":\"$s\""
	send "$s" '{"type":"run","batch":"b","tasks":["echo","echo","fail"]}'
	expect "$s" '"type":"done","batch":"b","ok":2,"failed":1'
done
send P1 '{"type":"run","batch":"r","tasks":["no-such-handler"]}'
expect P1 '"type":"error"'
client P3 "?session=P3"
expect P3 '"type":"ready","session":"P3"'
send P3 '{"type":"run","batch":"c","tasks":[{"task":"termslow","args":0.1}]}'
wait_for 5 records_ge start P3 c 1
send P3 '{"type":"cancel"}'
expect P3 '"type":"cancelled","batch":"c"'
for s in P1 P2 P3; do close_client "$s"; done

pport=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$WT_DIR/tsdb"
cat > "$WT_DIR/prometheus.yml" <<EOT
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: wstaskd
    static_configs:
      - targets: ['127.0.0.1:$T_PORT']
EOT
check "promtool accepts the configuration" \
    eval 'promtool check config "$WT_DIR/prometheus.yml" > /dev/null 2>&1'
"$PROM" --config.file="$WT_DIR/prometheus.yml" \
    --web.listen-address="127.0.0.1:$pport" \
    --storage.tsdb.path="$WT_DIR/tsdb" > "$WT_DIR/prometheus.log" 2>&1 &
PPID_PROM=$!
at_exit 'kill -TERM "$PPID_PROM" 2>/dev/null; wait "$PPID_PROM" 2>/dev/null'
check "prometheus listens on 127.0.0.1 only" \
    wait_for 20 eval 'ss -ltnp | grep -q "127.0.0.1:$pport .*pid=$PPID_PROM,"'
check "... and nowhere else" \
    eval '! ss -ltnp | grep "pid=$PPID_PROM," | grep -v "127.0.0.1:$pport "'

# query EXPR: the value of the instant vector EXPR ('' if none).
query() {
	curl -s -G "http://127.0.0.1:$pport/api/v1/query" --data-urlencode "query=$1" |
	    $PY -c 'import json,sys
d = json.load(sys.stdin)["data"]["result"]
print(d[0]["value"][1] if d else "")' 2>/dev/null
}
# scraped EXPR VALUE: the query gives VALUE (within 20 s of scrapes).
scraped() {
	local got expr=$1 want=$2
	if wait_for 20 eval '[ "$(query "$expr")" = "$want" ]'; then
		ok "Prometheus: $1 = $2"
	else
		got=$(query "$1")
		fail "Prometheus: $1 = $2" "got '$got'"
	fi
}
scraped 'up{job="wstaskd"}' 1
scraped 'wstaskd_tasks_total{handler="echo",outcome="ok"}' 4
scraped 'wstaskd_tasks_total{handler="fail",outcome="failed"}' 2
scraped 'wstaskd_tasks_total{handler="termslow",outcome="cancelled"}' 1
scraped 'sum(wstaskd_tasks_total)' 7
scraped 'wstaskd_batches_total{outcome="done"}' 2
scraped 'wstaskd_batches_total{outcome="rejected"}' 1
scraped 'wstaskd_batches_total{outcome="cancelled"}' 1
scraped 'wstaskd_task_duration_seconds_count{handler="echo"}' 4
scraped 'wstaskd_sessions' 0
scraped 'wstaskd_tasks_running' 0
scraped 'count(wstaskd_build_info)' 1
# Every scrape is a connection: more than the three sessions.
check "Prometheus: wstaskd_connections_total counts the sessions and the scrapes" \
    eval '[ "$(query "wstaskd_connections_total > 3")" != "" ]'
# A figure moves with what happens: one more session's tasks.
client P4 "?session=P4"
expect P4 '"type":"ready","session":"P4"'
send P4 '{"type":"run","batch":"b","tasks":["echo"]}'
expect P4 '"type":"done","batch":"b","ok":1'
close_client P4
scraped 'wstaskd_tasks_total{handler="echo",outcome="ok"}' 5
scraped 'wstaskd_batches_total{outcome="done"}' 3
