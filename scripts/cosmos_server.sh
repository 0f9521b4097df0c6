#!/usr/bin/env bash
# Local Cosmos DB NoSQL API for the contract tests: @vercel/cosmosdb-server (npm, MIT).
#
#   scripts/cosmos_server.sh start   # installs into .tools/ if missing, prints COSMOS_TEST_ENDPOINT=...
#   scripts/cosmos_server.sh stop    # kills the server started by `start` (by its pid file)
#   scripts/cosmos_server.sh status
#
# Port: COSMOS_SERVER_PORT (default 8011). Plain HTTP on loopback (--no-ssl) so the Python SDK
# needs no certificate; it must run with enable_endpoint_discovery=False (see docs/cosmos.md).
# The server keeps everything in memory: a restart starts empty.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools/cosmosdb-server"
# Pinned: the gap list in tests/contract/cosmos_backend.py was measured against this version.
VERSION="${COSMOS_SERVER_VERSION:-1.0.1}"
PORT="${COSMOS_SERVER_PORT:-8011}"
HOST=127.0.0.1
PID_FILE="$TOOLS/server.pid"
LOG_FILE="$TOOLS/server.log"
CLI="$TOOLS/node_modules/@vercel/cosmosdb-server/lib/cli.js"

installed_version() {
  node -p "require('$TOOLS/node_modules/@vercel/cosmosdb-server/package.json').version" \
    2>/dev/null || true
}

install() {
  if [[ "$(installed_version)" != "$VERSION" ]]; then
    mkdir -p "$TOOLS"
    npm install --silent --no-audit --no-fund --prefix "$TOOLS" \
      "@vercel/cosmosdb-server@$VERSION" >&2
  fi
}

running() {
  [[ -f "$PID_FILE" ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null
}

# Any HTTP answer from GET / (the database account) means the server is listening.
answers() {
  curl -s -o /dev/null --max-time 1 "http://$HOST:$PORT/"
}

start() {
  if running; then
    echo "COSMOS_TEST_ENDPOINT=http://$HOST:$PORT"
    return
  fi
  install
  if answers; then
    echo "port $PORT is already in use; set COSMOS_SERVER_PORT" >&2
    exit 1
  fi
  nohup node "$CLI" --host "$HOST" --port "$PORT" --no-ssl >"$LOG_FILE" 2>&1 &
  echo $! >"$PID_FILE"
  for _ in $(seq 1 100); do
    if answers; then
      echo "COSMOS_TEST_ENDPOINT=http://$HOST:$PORT"
      return
    fi
    if ! running; then
      break
    fi
    sleep 0.1
  done
  echo "cosmosdb-server did not start; see $LOG_FILE" >&2
  cat "$LOG_FILE" >&2
  stop
  exit 1
}

stop() {
  if [[ -f "$PID_FILE" ]]; then
    kill "$(cat "$PID_FILE")" 2>/dev/null || true
    rm -f "$PID_FILE"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status)
    if running; then echo "running: http://$HOST:$PORT (pid $(cat "$PID_FILE"))"; else
      echo "stopped"
      exit 1
    fi
    ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
