#!/usr/bin/env bash
# Measures optgate against the SMSC simulator it fronts, on this machine,
# and writes the results as Markdown to docs/benchmarks-latest.md (and to
# stdout). Scenarios, each with the same binds, window and message mix:
#
#   direct         ESME -> simulator, the baseline
#   embedded       ESME -> optgate (embedded bbolt store) -> simulator
#   redis          ESME -> optgate (redis-server store) -> simulator
#   http           HTTP API -> optgate (embedded store) -> simulator
#   "@ N msg/s"    direct and embedded again at a fixed rate, to compare
#                  latency at equal load
#   SIP            sipp MESSAGE -> optgate (embedded store) -> simulator at
#                  fixed rates, and sipp calls answered with the greeting;
#                  skipped when sipp is not installed
#
# plus the consent package's decision benchmarks, the daemon's RSS idle
# and under load, and its time from start to ready.
#
# Needs go, curl and redis-server on PATH. Every process it starts listens
# on 127.0.0.1 on a free port and is stopped when the script exits.
#
# Settings (environment):
#   BENCH_QUICK=1         run each scenario for 3s and each Go benchmark briefly
#   BENCH_DURATION=20s    length of each load scenario
#   BENCH_WARMUP=3s       load sent before each scenario and left out of it
#   BENCH_BINDS=2         SMPP binds (HTTP: binds x window requests in flight)
#   BENCH_WINDOW=10       messages in flight per bind
#   BENCH_MIX=...         message mix, default gsm7=80,ucs2=10,long=10
#   BENCH_FIXED_RATE=200  rate of the fixed-rate scenarios, msg/s; 0 skips them
#   BENCH_BENCHTIME=2s    -benchtime of the consent benchmarks
#   BENCH_OUT=FILE        Markdown output, default docs/benchmarks-latest.md;
#                         "-" prints it only
#   BENCH_KEEP=1          keep the work directory (logs, configs, JSON reports)
#   BENCH_SIP_RATES="500 1000 2000"  MESSAGE rates of the SIP runs, msg/s
#   BENCH_SIP_CALL_RATES="20 40"     call rates of the SIP runs, calls/s
set -euo pipefail
cd "$(dirname "$0")/.."
log_prefix=bench
pids=()
source scripts/lib.sh
use_ports_from 10000

quick=${BENCH_QUICK:-0}
if [[ $quick == 1 ]]; then
  duration=${BENCH_DURATION:-3s}
  warmup=${BENCH_WARMUP:-1s}
  benchtime=${BENCH_BENCHTIME:-200ms}
else
  duration=${BENCH_DURATION:-20s}
  warmup=${BENCH_WARMUP:-3s}
  benchtime=${BENCH_BENCHTIME:-2s}
fi
binds=${BENCH_BINDS:-2}
window=${BENCH_WINDOW:-10}
mix=${BENCH_MIX:-gsm7=80,ucs2=10,long=10}
fixed_rate=${BENCH_FIXED_RATE:-200}
out=${BENCH_OUT:-docs/benchmarks-latest.md}
recipients=+12015550000-+12015559999
operator_token=bench-operator-token

require_tools go curl redis-server

work=$(mktemp -d -t optgate-bench.XXXXXX)
keep_work=0 # set when a daemon died, so its log survives
cleanup() {
  stop_started
  if [[ ${BENCH_KEEP:-0} == 1 || $keep_work == 1 ]]; then
    log "work directory kept: $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# commands collects the exact commands run, for the report. The work
# directory is shown as $WORK.
commands=()
note_command() {
  local arg line="" sq="'"
  for arg in "$@"; do
    arg=${arg//$work/\$WORK}
    if [[ ! $arg =~ ^[A-Za-z0-9_./:=,+@%\$-]+$ ]]; then
      arg="'${arg//$sq/$sq\\$sq$sq}'" # shell-quote: ' becomes '\''
    fi
    line+="${line:+ }$arg"
  done
  commands+=("$line")
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# rss_kb prints the resident set size of a process in KiB, from
# /proc/PID/status.
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

mib() { awk -v kb="$1" 'BEGIN { printf "%.1f MiB", kb / 1024 }'; }

loadavg() { cut -d' ' -f1 /proc/loadavg; }
load_start=$(loadavg)

log "building optgate into $work"
go build -o "$work/optgate" ./cmd/optgate
optgate=$work/optgate

# Common load flags of every scenario.
load_flags=(-binds "$binds" -window "$window" -warmup "$warmup" -duration "$duration" -mix "$mix"
  -to "$recipients" -json)

# run_bench NAME PID [FLAGS...] runs one load scenario into $work/NAME.json,
# observing the CPU time and RSS of the process PID under test. It notes
# the load average at the start of the scenario.
scenario_load=()
run_bench() {
  local name=$1 pid=$2
  shift 2
  note_command optgate bench "$@" "${load_flags[@]}" -pid '$PID'
  scenario_load+=("$name $(loadavg)")
  log "scenario $name (load average $(loadavg))"
  if ! "$optgate" bench "$@" "${load_flags[@]}" -pid "$pid" >"$work/$name.json" 2>"$work/$name.err"; then
    log "scenario $name failed: $(tail -n 3 "$work/$name.err")"
    skipped+=("$name: the load run failed: $(tail -n 1 "$work/$name.err")")
    rm -f "$work/$name.json"
    return 1
  fi
}

# json_number FILE KEY prints the first number stored under KEY in a
# report that optgate bench -json wrote, or 0.
json_number() {
  awk -F': ' -v key="\"$2\"" 'index($1, key) { gsub(/[ ,]/, "", $2); print $2; found = 1; exit }
    END { if (!found) print 0 }' "$1" 2>/dev/null || echo 0
}

# start_daemon NAME CONFIG starts optgate run, waits for /readyz and sets
# daemon_pid, ready_ms (start to ready) and idle_rss (KiB, 1s after ready).
# When another process took the SMPP or HTTP port after free_port picked
# it, it moves the daemon to new ports and tries again, up to 3 times.
start_daemon() {
  local name=$1 config=$2 attempt old new
  commands+=("OPTGATE_OPERATOR_TOKEN=\$TOKEN optgate run -config ${config//$work/\$WORK}")
  for attempt in 1 2 3; do
    start_daemon_once "$name" "$config" && return 0
    grep -q 'address already in use' "$work/$name-daemon.log" || return 1
    log "optgate run ($name): a port was taken after it was picked; retrying on new ports"
    for old in "${smpp_port:-}" "${http_port:-}"; do
      [[ -n $old ]] || continue
      new=$(free_port)
      sed -i "s/127\.0\.0\.1:$old\"/127.0.0.1:$new\"/" "$config"
      if [[ $old == "${smpp_port:-}" ]]; then smpp_port=$new; else http_port=$new; fi
    done
    optgate_flags=(-target "127.0.0.1:${smpp_port:-}" -system-id demo -password demopass)
  done
  return 1
}

start_daemon_once() {
  local start
  start=$(now_ms)
  start_optgate "$2" "$work/$1-daemon.log" || return 1
  ready_ms=$(($(now_ms) - start))
  sleep 1
  idle_rss=$(rss_kb "$daemon_pid")
}

# daemon_alive NAME reports whether the daemon started by start_daemon NAME
# still runs. When it has exited, it notes the exit status and the last log
# line in the report and keeps the work directory.
dead_daemon=""
daemon_alive() {
  kill -0 "$daemon_pid" 2>/dev/null && return 0
  [[ $dead_daemon == "$daemon_pid" ]] && return 1
  dead_daemon=$daemon_pid
  local status=0
  wait "$daemon_pid" 2>/dev/null || status=$?
  skipped+=("optgate run ($1) exited with status $status during the load; last log line: $(tail -n 1 "$work/$1-daemon.log")")
  log "optgate run ($1) exited with status $status; its log is $work/$1-daemon.log"
  keep_work=1
  return 1
}

# resources collects one table row per daemon: NAME SMPP_REPORT
# [HTTP_REPORT].
resources=()
add_resources() {
  local smpp_peak=- http_peak=-
  [[ -f $2 ]] && smpp_peak=$(mib "$(json_number "$2" peak_rss_kib)")
  [[ -n ${3:-} && -f $3 ]] && http_peak=$(mib "$(json_number "$3" peak_rss_kib)")
  resources+=("| $1 | ${ready_ms} ms | $(mib "$idle_rss") | $smpp_peak | $http_peak |")
}

# The simulator is shared by every scenario.
sim_port=$(free_port)
note_command optgate smsc-sim -addr "127.0.0.1:$sim_port" -control ""
"$optgate" smsc-sim -addr "127.0.0.1:$sim_port" -control "" >/dev/null 2>"$work/sim.log" &
sim_pid=$!
pids+=("$sim_pid")
wait_port "$sim_port"
direct_flags=(-target "127.0.0.1:$sim_port" -system-id optgate -password simpass)

rows=()
skipped=()
run_bench direct "$sim_pid" "${direct_flags[@]}" && rows+=("direct=$work/direct.json")
if ((fixed_rate > 0)); then
  run_bench direct-fixed "$sim_pid" "${direct_flags[@]}" -rate "$fixed_rate" &&
    rows+=("direct @ $fixed_rate msg/s=$work/direct-fixed.json")
fi

if ! "$optgate" help run >/dev/null 2>&1; then
  skipped+=("skipped: optgate run not available")
  log "skipped: optgate run not available"
else
  smpp_port=$(free_port)
  http_port=$(free_port)
  optgate_flags=(-target "127.0.0.1:$smpp_port" -system-id demo -password demopass)

  # Embedded store, filled straight into the file before the daemon opens it.
  write_demo_config "$work/embedded.yaml" "store: {type: embedded, embedded: {path: \"$work/embedded.db\"}}"
  note_command optgate bench -prepare-only -store "$work/embedded.db" -to "$recipients"
  if ! "$optgate" bench -prepare-only -store "$work/embedded.db" -to "$recipients" >&2; then
    skipped+=("optgate embedded and HTTP: importing the opted-in numbers into the store file failed")
  elif ! start_daemon embedded "$work/embedded.yaml"; then
    skipped+=("optgate embedded and HTTP: optgate run did not become ready")
  else
    run_bench embedded "$daemon_pid" "${optgate_flags[@]}" -also-pids "$sim_pid" &&
      rows+=("optgate embedded=$work/embedded.json")
    if ((fixed_rate > 0)) && daemon_alive embedded; then
      run_bench embedded-fixed "$daemon_pid" "${optgate_flags[@]}" -also-pids "$sim_pid" -rate "$fixed_rate" &&
        rows+=("optgate embedded @ $fixed_rate msg/s=$work/embedded-fixed.json")
    fi
    if daemon_alive embedded; then
      run_bench http "$daemon_pid" -http "http://127.0.0.1:$http_port" -token demo-token -also-pids "$sim_pid" &&
        rows+=("HTTP -> optgate embedded=$work/http.json")
    fi
    add_resources "optgate run, embedded store" "$work/embedded.json" "$work/http.json"
    daemon_alive embedded && stop_pid "$daemon_pid"
  fi

  # Redis store, filled through the HTTP API once the daemon is up.
  redis_port=$(free_port)
  note_command redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no
  redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no --dir "$work" \
    >"$work/redis.log" 2>&1 &
  redis_pid=$!
  pids+=("$redis_pid")
  wait_port "$redis_port"
  write_demo_config "$work/redis.yaml" "store: {type: redis, redis: {addr: \"127.0.0.1:$redis_port\"}}"
  if start_daemon redis "$work/redis.yaml"; then
    commands+=("optgate bench -prepare-only -api http://127.0.0.1:$http_port -operator-token \$TOKEN -to $recipients")
    if "$optgate" bench -prepare-only -api "http://127.0.0.1:$http_port" -operator-token "$operator_token" \
      -to "$recipients" >&2; then
      run_bench redis "$daemon_pid" "${optgate_flags[@]}" -also-pids "$sim_pid,$redis_pid" &&
        rows+=("optgate redis=$work/redis.json")
      add_resources "optgate run, redis store" "$work/redis.json"
    else
      skipped+=("optgate redis: importing the opted-in numbers through the HTTP API failed")
    fi
    daemon_alive redis && stop_pid "$daemon_pid"
  else
    skipped+=("optgate redis: optgate run did not become ready")
  fi
  stop_pid "$redis_pid"
fi

# SIP: texts from a PBX (sipp) -> optgate -> simulator at a fixed rate, and
# calls answered with the greeting. A sipp "call" is one MESSAGE and its
# 202, or one call to the toll-free number held for 1 s; optgate's 503 (too
# many MESSAGE requests at once) and 486 (too many calls at once) fail it.
sip_rows=()
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
clk_tck=$(getconf CLK_TCK)

# free_udp_port prints a loopback UDP port that nothing was bound to a
# moment ago.
free_udp_port() {
  python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# write_sip_config FILE writes the daemon configuration of the SIP runs:
# the demo account with a trunk allowed from 127.0.0.1, the embedded
# store, the simulator as carrier with a window of 100 per bind (the SIP
# front end takes up to 512 MESSAGE requests at once), SMPP off.
write_sip_config() {
  cat >"$1" <<CONF
listeners:
  smpp: {enabled: false}
  http: {addr: "127.0.0.1:$http_port", pprof: true}
  sip: {udp_addr: "127.0.0.1:$sip_port", tcp_addr: ""}
  simulator: {enabled: false}
store: {type: embedded, embedded: {path: "$work/sip.db"}}
logging: {level: info, format: json}
accounts:
  - id: demo
    business_name: Demo Coffee Co.
    toll_free:
      - number: "+18005550100"
        greeting: builtin:demo
        voicemail: {enabled: true}
    sip_trunks:
      - {name: bench, allowed_cidrs: ["127.0.0.1/32"]}
    delivery: {type: sip, sip_uri: "sip:pbx@127.0.0.1:9"}
carriers:
  - name: sim
    address: "127.0.0.1:$sim_port"
    system_id: optgate
    password: simpass
    binds: $binds
    window: 100
    routes: ["+"]
CONF
  "$optgate" config check "$1" >/dev/null
}

# run_sipp NAME LABEL RATE CALLS SCENARIO [SIPP_FLAGS...] makes CALLS sipp
# calls at RATE a second against the daemon and adds a row to sip_rows:
# successful calls a second over the whole run, failed calls, the
# response time percentiles of sipp's rtd timer, and the CPU time per
# successful call of optgate and of the simulator. A run in which no call
# succeeds gets a row of zeros and a line under "Not measured".
run_sipp() {
  local name=$1 label=$2 rate=$3 calls=$4 scenario=$5
  shift 5
  local args start end d0 d1 s0 s1 ok failed rtt
  args=("127.0.0.1:$sip_port" -sf "$PWD/test/sip/$scenario" -t u1 -i 127.0.0.1
    -p "$(free_udp_port)" -mp "$(free_udp_port)" -r "$rate" -l $((rate * 5)) -m "$calls"
    -timeout $((calls / rate + 60))s -nostdin -trace_rtt -rtt_freq 1 "$@")
  note_command sipp "${args[@]/#"$PWD"\//}"
  log "scenario $name ($rate a second, $calls calls, load average $(loadavg))"
  d0=$(cpu_ticks "$daemon_pid") s0=$(cpu_ticks "$sim_pid") start=$(now_ms)
  (cd "$work" && sipp "${args[@]}" >"$work/$name.sipp" 2>&1) || true
  end=$(now_ms) d1=$(cpu_ticks "$daemon_pid") s1=$(cpu_ticks "$sim_pid")
  ok=$(awk -F'|' '/Successful call/ {v = $3} END {gsub(/ /, "", v); print v + 0}' "$work/$name.sipp")
  failed=$(awk -F'|' '/Failed call/ {v = $3} END {gsub(/ /, "", v); print v + 0}' "$work/$name.sipp")
  if ((ok == 0)); then
    # A run with no successful call still gets its row, so one failed rate
    # neither hides the others nor stops the script under set -e.
    sip_rows+=("| $label | $rate | 0 | $failed | - | - | - |")
    skipped+=("$name: no sipp call succeeded: $(grep -m1 -i 'error\|unexpected' "$work/$name.sipp" || tail -n 1 "$work/$name.sipp")")
    rm -f "$work/${scenario%.xml}"_*_rtt.csv
    return 0
  fi
  # sipp writes SCENARIO_PID_rtt.csv: date_ms;response_time_ms;rtd_no.
  rtt=$(cat "$work/${scenario%.xml}"_*_rtt.csv 2>/dev/null | awk -F';' '$2 ~ /^[0-9.]+$/ {print $2}' |
    sort -n | awk '{v[NR] = $1} END {
      if (!NR) { print "-"; exit }
      i = int(NR * 0.99); if (i < 1) i = 1
      printf "%.1f / %.1f / %.1f", v[int((NR + 1) / 2)], v[i], v[NR] }')
  rm -f "$work/${scenario%.xml}"_*_rtt.csv
  sip_rows+=("$(awk -v l="$label" -v r="$rate" -v ok="$ok" -v f="$failed" -v ms=$((end - start)) -v rtt="$rtt" \
    -v d=$((d1 - d0)) -v s=$((s1 - s0)) -v hz="$clk_tck" 'BEGIN {
      printf "| %s | %d | %.0f | %d | %s | %.0f | %.0f |", l, r, ok / (ms / 1000), f, rtt,
        d / hz * 1e6 / ok, s / hz * 1e6 / ok }')")
}

if ! command -v sipp >/dev/null; then
  skipped+=("SIP: sipp not found on PATH; install it with apt-get install sipp")
elif ! command -v python3 >/dev/null; then
  skipped+=("SIP: python3 (used to pick free UDP ports) not found on PATH")
else
  http_port=$(free_port)
  sip_port=$(free_udp_port)
  secs=$(seconds "$duration" 2>/dev/null) || secs=20
  write_sip_config "$work/sip.yaml"
  (echo SEQUENTIAL && seq -f '+1201555%04g' 0 9999) >"$work/recipients.csv"
  note_command optgate bench -prepare-only -store "$work/sip.db" -to "$recipients"
  if ! "$optgate" bench -prepare-only -store "$work/sip.db" -to "$recipients" >&2; then
    skipped+=("SIP: importing the opted-in numbers into the store file failed")
  elif ! start_daemon sip "$work/sip.yaml"; then
    skipped+=("SIP: optgate run did not become ready")
  else
    for rate in ${BENCH_SIP_RATES:-500 1000 2000}; do
      daemon_alive sip || break
      run_sipp "sip-message-$rate" "MESSAGE -> optgate -> simulator" "$rate" $((rate * secs)) message_load.xml \
        -inf "$work/recipients.csv" -key from +18005550100
    done
    for rate in ${BENCH_SIP_CALL_RATES:-20 40}; do
      daemon_alive sip || break
      run_sipp "sip-call-$rate" "call answered with the greeting, held 1 s" "$rate" $((rate * secs)) \
        call_load.xml -key from +12015550101 -key to +18005550100
    done
    daemon_alive sip && stop_pid "$daemon_pid"
  fi
fi

# The consent package's decision benchmarks. BenchmarkRedisDecisions
# starts its own redis-server.
consent_cmd=(go test ./consent -run '^$' -bench 'CheckMT|RedisDecisions/(Get|GetParallel)$' -benchtime "$benchtime" -count 1)
note_command "${consent_cmd[@]}"
log "consent benchmarks"
consent_table=""
if "${consent_cmd[@]}" >"$work/consent.txt" 2>&1; then
  consent_table=$(awk '
    /^Benchmark/ {
      name = $1; sub(/^Benchmark/, "", name); sub(/-[0-9]+$/, "", name)
      metrics = ""
      for (i = 3; i < NF; i += 2) {
        if ($(i+1) == "ns/op") { nsop = $i; continue }
        if ($(i+1) ~ /^(decisions|cpu-ns)/) metrics = metrics (metrics == "" ? "" : ", ") $i " " $(i+1)
      }
      printf "| %s | %s | %s |\n", name, nsop, metrics
    }' "$work/consent.txt")
else
  skipped+=("consent benchmarks: go test failed: $(tail -n 3 "$work/consent.txt" | tr -s '\t\n' '  ')")
fi

# Redis memory per consent record: one common record (opted in after one
# request, sparse US numbers) loaded at each count, used_memory before and
# after. The test starts its own redis-server.
memory_counts=(1000000 10000000)
[[ $quick == 1 ]] && memory_counts=(100000)
memory_rows=()
for n in "${memory_counts[@]}"; do
  memory_cmd=(go test ./consent -run '^TestRedisMemoryPerRecord$/^sparse_US$/^opted_in,_one_request$' -v -count 1 -timeout 20m)
  note_command OPTGATE_REDIS_MEMORY=1 OPTGATE_REDIS_MEMORY_RECORDS=$n "${memory_cmd[@]}"
  log "redis memory per record, $n records"
  if OPTGATE_REDIS_MEMORY=1 OPTGATE_REDIS_MEMORY_RECORDS=$n "${memory_cmd[@]}" >"$work/memory-$n.txt" 2>&1; then
    per=$(grep -o '[0-9.]* bytes per record ([^)]*)' "$work/memory-$n.txt" | head -n 1)
    if [[ -n $per ]]; then
      details=${per#* bytes per record (}
      memory_rows+=("| $n | ${per%% bytes per record*} | ${details%)} |")
    else
      skipped+=("redis memory, $n records: no result line in the test output")
    fi
  else
    skipped+=("redis memory, $n records: go test failed: $(tail -n 3 "$work/memory-$n.txt" | tr -s '\t\n' '  ')")
  fi
done

# The report.
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -n $(git status --porcelain 2>/dev/null) ]] && commit+=" with uncommitted changes"
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
mem=$(awk '/^MemTotal:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
report=$(
  echo "# optgate benchmark results"
  echo
  echo "Measured $(date -u +%Y-%m-%dT%H:%MZ) by scripts/bench.sh$([[ $quick == 1 ]] && echo " (BENCH_QUICK=1)") at $commit."
  echo
  echo "- CPU: ${cpu:-unknown}, $(nproc) cores"
  echo "- Memory: $mem"
  echo "- OS: $(uname -sr), $(go version | awk '{print $3}')"
  echo "- Load average (1 minute, /proc/loadavg) at the start and the end: $load_start and $(loadavg)"
  echo "- Load: $binds binds x window $window, mix $mix, $duration per scenario after a"
  echo "  $warmup warm-up, recipients $recipients all opted in, sender +18005550100,"
  echo "  no receipts requested."
  echo "  The load tool, the simulator, optgate and Redis share the machine's cores."
  echo
  echo "## Throughput and latency"
  echo
  echo "Latency is per message: from its first submit_sm to the response to its last, or one"
  echo "POST /v1/messages. Ratios compare acknowledged messages a second with the direct run."
  echo "CPU µs/msg is the CPU time of the process under test (the simulator in direct runs,"
  echo "optgate in the others) per acknowledged message, from /proc/PID/stat: other work on"
  echo "the machine slows the rates far more than it changes this figure. All CPU µs/msg adds"
  echo "the load tool and every process the message passes through (the simulator, and"
  echo "redis-server in the Redis run). When the cores are busy, throughput is about the"
  echo "cores' CPU time a second divided by that figure."
  echo
  if ((${#scenario_load[@]})); then
    echo "Load average (1 minute) at the start of each scenario: $(printf '%s, ' "${scenario_load[@]}" | sed 's/, $//')."
    echo
  fi
  if ((${#rows[@]})); then
    "$optgate" bench table -baseline direct "${rows[@]}"
  else
    echo "No scenario finished."
  fi
  if ((${#resources[@]})); then
    echo
    echo "## Daemon resources"
    echo
    echo "Start to ready runs from starting optgate run to the first 200 from /readyz. RSS is"
    echo "VmRSS from /proc/PID/status: idle is 1 s after ready, and the peaks are the largest of"
    echo "the samples taken every 0.1 s during the measured SMPP and HTTP runs."
    echo
    echo "| daemon | start to ready | RSS idle | RSS peak, SMPP load | RSS peak, HTTP load |"
    echo "|---|---:|---:|---:|---:|"
    printf '%s\n' "${resources[@]}"
  fi
  if ((${#sip_rows[@]})); then
    echo
    echo "## SIP"
    echo
    echo "sipp sends at a fixed rate for the scenario's duration; each MESSAGE expects 202 and"
    echo "each call 200 OK. Successful/s divides sipp's successful calls by the wall time of"
    echo "the run. Response ms are the p50 / p99 / max of sipp's rtd timer: MESSAGE to 202, or"
    echo "INVITE to 200 OK. CPU µs are per successful MESSAGE or call, from /proc/PID/stat."
    echo
    echo "| scenario | offered /s | successful /s | failed | response ms p50 / p99 / max | optgate CPU µs | simulator CPU µs |"
    echo "|---|---:|---:|---:|---|---:|---:|"
    printf '%s\n' "${sip_rows[@]}"
  fi
  if [[ -n $consent_table ]]; then
    echo
    echo "## Consent decisions"
    echo
    echo "From the consent package benchmarks; the batch benchmark's ns/op is per batch of 100."
    echo "decisions/cpu-s counts decisions per second of process CPU time, which other work on"
    echo "the machine does not inflate."
    echo
    echo "| benchmark | ns/op | other metrics |"
    echo "|---|---:|---|"
    echo "$consent_table"
  fi
  if ((${#memory_rows[@]})); then
    echo
    echo "## Redis memory per consent record"
    echo
    echo "Records opted in after one request, sparse US numbers, Redis used_memory before and"
    echo "after loading them with the store's settings. Target: at most 32 bytes per record."
    echo
    echo "| records | bytes per record | details |"
    echo "|---:|---:|---|"
    printf '%s\n' "${memory_rows[@]}"
  fi
  if ((${#skipped[@]})); then
    echo
    echo "## Not measured"
    echo
    printf -- '- %s\n' "${skipped[@]}"
  fi
  echo
  echo "## Commands"
  echo
  echo "\$WORK is a temporary directory; the ports are free loopback ports picked at run time."
  echo
  echo '```sh'
  printf '%s\n' "${commands[@]}"
  echo '```'
)
echo "$report"
if [[ $out != - ]]; then
  mkdir -p "$(dirname "$out")"
  echo "$report" >"$out"
  log "wrote $out"
fi
