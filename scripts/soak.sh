#!/usr/bin/env bash
# Runs optgate under steady load for a long time and records its memory
# and goroutines, to show leaks that a short benchmark cannot. It starts
# the SMSC simulator (`optgate smsc-sim`), `optgate run` in front of it,
# and `optgate bench` at a fixed rate through optgate. The load requests a
# delivery receipt for every message, so that each id map record reaches
# its final state and is deleted receipts.keep_after_final later. Every
# SOAK_INTERVAL it writes a CSV row with optgate's resident set size
# (VmRSS of /proc/PID/status, split into anonymous memory and mapped
# files), its goroutines, Go heap and MT count from /metrics and, with the
# embedded store, the size of gateway.db. At the end it prints
# the samples at the start, the middle and the end.
#
# Needs go and curl on PATH, and redis-server with SOAK_STORE=redis. Every
# process it starts listens on 127.0.0.1 on a free port and is stopped
# when the script exits. Linux only, because it reads /proc.
#
# Settings (environment):
#   SOAK_DURATION=1h      length of the load
#   SOAK_RATE=2000        messages per second over all binds
#   SOAK_INTERVAL=60s     time between samples
#   SOAK_STORE=embedded   consent store: embedded or redis
#   SOAK_BINDS=2          SMPP binds of the load
#   SOAK_WINDOW=10        messages in flight per bind; optgate throttles a
#                         session with more than 10 submits in flight
#   SOAK_KEEP_AFTER_FINAL=1h  receipts.keep_after_final of optgate: how long
#                         a record is kept after its final receipt
#   SOAK_RECEIPTS=1       1 requests a receipt per message, 0 none
#   SOAK_CSV=FILE         sample file, default soak-YYYYmmdd-HHMMSS.csv in
#                         the work directory, which is then kept
set -euo pipefail
cd "$(dirname "$0")/.."
log_prefix=soak
pids=()
source scripts/lib.sh

duration=${SOAK_DURATION:-1h}
rate=${SOAK_RATE:-2000}
interval=${SOAK_INTERVAL:-60s}
store=${SOAK_STORE:-embedded}
binds=${SOAK_BINDS:-2}
window=${SOAK_WINDOW:-10}
keep_after_final=${SOAK_KEEP_AFTER_FINAL:-1h}
receipts=${SOAK_RECEIPTS:-1}
operator_token=soak-operator-token

tools=(go curl)
[[ $store == redis ]] && tools+=(redis-server)
require_tools "${tools[@]}"
case $store in
  embedded | redis) ;;
  *) echo "soak: SOAK_STORE is $store, want embedded or redis" >&2; exit 2 ;;
esac
case $receipts in
  0) receipt_flags=() ;;
  1) receipt_flags=(-receipts) ;;
  *) echo "soak: SOAK_RECEIPTS is $receipts, want 0 or 1" >&2; exit 2 ;;
esac

duration_s=$(seconds "$duration")
interval_s=$(seconds "$interval")

work=$(mktemp -d -t optgate-soak.XXXXXX)
csv=${SOAK_CSV:-$work/soak-$(date -u +%Y%m%d-%H%M%S).csv}
cleanup() {
  stop_started
  log "logs and samples kept in $work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# memory_kib PID prints VmRSS, RssAnon and RssFile of /proc/PID/status in
# KiB, comma-separated. RssFile counts the pages of bbolt's mapped files,
# which the kernel can drop under memory pressure. RssAnon is the memory
# the process allocated itself.
memory_kib() {
  awk '/^VmRSS:/ {t = $2} /^RssAnon:/ {a = $2} /^RssFile:/ {f = $2}
    END { printf "%d,%d,%d", t, a, f }' "/proc/$1/status" 2>/dev/null || echo "0,0,0"
}

# metrics prints three values from optgate's /metrics, comma-separated:
# the go_goroutines gauge, the Go heap in use in KiB and the count of MT
# messages sent to a carrier. A value missing from /metrics prints empty.
metrics() {
  curl -s --max-time 5 "http://127.0.0.1:$http_port/metrics" |
    awk '/^go_goroutines / {g = $2}
      /^go_memstats_heap_inuse_bytes / {h = sprintf("%d", $2 / 1024)}
      /^optgate_gateway_messages_total\{/ && /direction="mt"/ && /outcome="sent"/ {m += $2; seen = 1}
      END { printf "%s,%s,%s", g, h, seen ? sprintf("%d", m) : "" }'
}

log "building optgate into $work"
go build -o "$work/optgate" ./cmd/optgate
optgate=$work/optgate

sim_port=$(free_port)
smpp_port=$(free_port)
http_port=$(free_port)
"$optgate" smsc-sim -addr "127.0.0.1:$sim_port" -control "" >/dev/null 2>"$work/sim.log" &
sim_pid=$!
pids+=("$sim_pid")
wait_port "$sim_port"

store_yaml="store:
  embedded: {path: \"$work/consent.db\"}"
if [[ $store == redis ]]; then
  redis_port=$(free_port)
  redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no --dir "$work" \
    >"$work/redis.log" 2>&1 &
  pids+=($!)
  wait_port "$redis_port"
  store_yaml="store:
  type: redis
  embedded: {path: \"$work/consent.db\"}
  redis: {addr: \"127.0.0.1:$redis_port\", key_prefix: \"soak:\"}"
fi

write_demo_config "$work/optgate.yaml" "$store_yaml
receipts: {keep_after_final: $keep_after_final}"

start_optgate "$work/optgate.yaml" "$work/optgate.log" || exit 1

recipients=+12015550000-+12015559999
"$optgate" bench -prepare-only -prepare -operator-token "$operator_token" \
  -api "http://127.0.0.1:$http_port" -to "$recipients" >/dev/null 2>"$work/prepare.log"

log "optgate pid $daemon_pid, $store store, keep_after_final $keep_after_final; $rate msg/s for $duration," \
  "a sample every $interval into $csv"
"$optgate" bench -target "127.0.0.1:$smpp_port" -binds "$binds" -window "$window" -rate "$rate" \
  -duration "$duration" -to "$recipients" "${receipt_flags[@]}" -json >"$work/bench.json" 2>"$work/bench.log" &
bench_pid=$!
pids+=("$bench_pid")

# gateway_db_kib prints the size of the embedded gateway store, which sits
# next to the consent file, or nothing with the redis store.
gateway_db_kib() {
  [[ $store == embedded ]] || return 0
  local bytes
  bytes=$(stat -c %s "$work/gateway.db" 2>/dev/null || echo 0)
  echo $((bytes / 1024))
}

echo "elapsed_s,rss_kib,rss_anon_kib,rss_file_kib,goroutines,heap_inuse_kib,mt_sent,gateway_db_kib" >"$csv"
sample() {
  local elapsed=$1
  echo "$elapsed,$(memory_kib "$daemon_pid"),$(metrics),$(gateway_db_kib)" >>"$csv"
}
begin=$(date +%s)
sample 0
while kill -0 "$bench_pid" 2>/dev/null; do
  # Sleep in short steps, so the end of the load is noticed at once.
  next=$(($(date +%s) + interval_s))
  while (($(date +%s) < next)) && kill -0 "$bench_pid" 2>/dev/null; do
    sleep 1
  done
  kill -0 "$daemon_pid" 2>/dev/null || { log "optgate run died: $(tail -n 5 "$work/optgate.log")"; exit 1; }
  sample $(($(date +%s) - begin))
done
bench_status=0
wait "$bench_pid" || bench_status=$?
if ((bench_status != 0)); then
  log "optgate bench failed ($bench_status): $(tail -n 3 "$work/bench.log")"
fi

# Start, middle and end of the samples.
awk -F, -v dur="$duration_s" 'NR == 1 { next } { row[++n] = $0 }
  END {
    if (n == 0) { print "soak: no samples" > "/dev/stderr"; exit 1 }
    mid = int((n + 1) / 2)
    printf "| point | elapsed | RSS | of it anonymous | of it mapped files | Go heap | goroutines | MT sent/s since the last sample | gateway.db |\n"
    printf "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    point("start", 1); point("middle", mid); point("end", n)
  }
  function point(name, i,    r, p, rate) {
    split(row[i], r, ",")
    rate = "-"
    if (i > 1) {
      split(row[i - 1], p, ",")
      if (r[7] != "" && p[7] != "" && r[1] > p[1]) rate = sprintf("%d", (r[7] - p[7]) / (r[1] - p[1]))
    }
    printf "| %s | %d s | %.1f MiB | %.1f MiB | %.1f MiB | %.1f MiB | %s | %s | %.1f MiB |\n",
      name, r[1], r[2] / 1024, r[3] / 1024, r[4] / 1024, r[6] / 1024, r[5], rate, r[8] / 1024
  }' "$csv"
# The load's own totals, from the JSON report of optgate bench.
awk -F': ' '/^  "(submitted|acked|failed|acked_per_s|receipts)":/ { gsub(/[ ,"]/, "", $1); gsub(/[ ,]/, "", $2); printf "%s=%s ", $1, $2 }
  END { print "" }' "$work/bench.json" || true
exit "$bench_status"
