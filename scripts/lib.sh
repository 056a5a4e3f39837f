# Shell helpers shared by scripts/bench.sh and scripts/soak.sh. Source it
# from the repository root after setting:
#   log_prefix      the script's name, which starts every message
#   pids            an array that collects the processes to stop at exit
# The daemon helpers also read optgate (the built binary), operator_token,
# and the ports and sizes that write_demo_config names below. Linux only,
# because free_port reads /proc and the port checks use bash's /dev/tcp.

log() { echo "$log_prefix: $*" >&2; }

# require_tools TOOL... exits with status 2 when a tool is not on PATH.
require_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { log "$tool not found on PATH; install it first"; exit 2; }
  done
}

# seconds DURATION converts a Go-style duration of whole h, m and s units
# (1h, 90s, 1h30m) to seconds.
seconds() {
  local d=$1 total=0 n unit
  if [[ ! $d =~ ^([0-9]+[hms])+$ ]]; then
    log "invalid duration $d, want whole hours, minutes or seconds such as 1h, 30m or 60s"
    return 1
  fi
  while [[ $d =~ ^([0-9]+)([hms])(.*)$ ]]; do
    n=${BASH_REMATCH[1]} unit=${BASH_REMATCH[2]} d=${BASH_REMATCH[3]}
    case $unit in
      h) total=$((total + n * 3600)) ;;
      m) total=$((total + n * 60)) ;;
      s) total=$((total + n)) ;;
    esac
  done
  echo "$total"
}

# use_ports_from LOW makes free_port pick from LOW up to the start of the
# kernel's ephemeral range (/proc/sys/net/ipv4/ip_local_port_range). Any
# outgoing connection on the machine may take a port in that range as its
# local port between the pick and the bind. When the range starts less
# than 1000 ports above LOW, free_port picks from 20000 to 32767 and takes
# that risk.
used_ports=" "
use_ports_from() {
  local ephemeral_low
  ephemeral_low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  if ((ephemeral_low > $1 + 1000)); then
    port_low=$1 port_span=$((ephemeral_low - $1))
  else
    port_low=20000 port_span=12768
  fi
}
use_ports_from 20000

# free_port prints a loopback TCP port nothing listens on and that this
# script has not handed out yet.
free_port() {
  local port
  for _ in $(seq 200); do
    port=$((port_low + RANDOM % port_span))
    [[ $used_ports == *" $port "* ]] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      used_ports+="$port "
      echo "$port"
      return 0
    fi
  done
  log "no free port found"
  return 1
}

# wait_port PORT waits up to 10s until something accepts connections on
# 127.0.0.1:PORT.
wait_port() {
  for _ in $(seq 500); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.02
  done
  log "nothing listens on 127.0.0.1:$1 after 10s"
  return 1
}

# stop_pid PID sends SIGTERM to a process this script started and waits
# for it to exit.
stop_pid() {
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# stop_started stops every process in pids that still runs.
stop_started() {
  local pid
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null && stop_pid "$pid"
  done
  return 0
}

# write_demo_config FILE SECTIONS writes a daemon configuration and checks
# it with optgate config check. It has SMPP and HTTP listeners on
# $smpp_port and $http_port, SIP and the built-in simulator off, the given
# top-level SECTIONS (at least store), and the demo account with its
# public credentials (password demopass, token demo-token) allowed $binds
# binds. Its only carrier is the simulator on $sim_port with $binds binds
# and a window of twice $window.
write_demo_config() {
  cat >"$1" <<YAML
listeners:
  smpp: {addr: "127.0.0.1:$smpp_port"}
  http: {addr: "127.0.0.1:$http_port"}
  sip: {enabled: false}
  simulator: {enabled: false}
$2
logging: {level: info, format: json}
accounts:
  - id: demo
    business_name: Demo Coffee Co.
    toll_free:
      - number: "+18005550100"
        greeting: builtin:demo
        voicemail: {enabled: true}
    esme:
      - system_id: demo
        password_hash: \$2a\$10\$Po9C.dIEP.RsQfRJvKqeIOK.wZWQjQqF8z2AwF4s8pFrQG3Q2FqdW
        max_binds: $binds
    api_tokens:
      - name: demo
        hash: \$2a\$10\$sEgKhmjOKtBZbs1zBs5dSOSztdP7UHk56cqlIBB950QsK3RRuCQq.
carriers:
  - name: sim
    address: "127.0.0.1:$sim_port"
    system_id: optgate
    password: simpass
    binds: $binds
    window: $((window * 2))
    routes: ["+"]
YAML
  "$optgate" config check "$1" >/dev/null
}

# start_optgate CONFIG LOG starts optgate run with CONFIG and stderr to
# LOG, sets daemon_pid and adds it to pids. It then waits up to 15s for
# a 200 from /readyz on $http_port, and returns 1 when the daemon exits
# first or is not ready by then.
start_optgate() {
  local code=""
  OPTGATE_OPERATOR_TOKEN=$operator_token "$optgate" run -config "$1" 2>"$2" &
  daemon_pid=$!
  pids+=("$daemon_pid")
  for _ in $(seq 1500); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http_port/readyz" || true)
    [[ $code == 200 ]] && return 0
    if ! kill -0 "$daemon_pid" 2>/dev/null; then
      log "optgate run exited: $(tail -n 5 "$2")"
      return 1
    fi
    sleep 0.01
  done
  log "optgate run not ready after 15s"
  return 1
}
