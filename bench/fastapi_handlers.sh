#!/usr/bin/env bash
# Measure what README's "Sync def handlers in FastAPI" section reports, on this machine:
#   def          fastapi_books as shipped: sync handlers, sessions capped at the pool's size
#   async-def    the same with the book handlers rewritten as `async def`
#   def-uncapped the shipped handlers without the session cap (max_concurrency)
# For each: GET /books at 32 connections (three runs) and at 256 (one run), then a GET sent
# while a POST waits for SQLite's write lock. Server pinned to CPU 0, wrk to CPU 1.
# Usage: bash bench/fastapi_handlers.sh   (needs wrk: apt-get install wrk; takes about 3 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install wrk" >&2; exit 1; }
python=$PWD/.venv/bin/python
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT

variant() {  # NAME SED-SCRIPT FILE: a copy of the package, changed by sed
  mkdir -p "$work/$1"
  cp -r fastapi_books shared_fixtures "$work/$1/"
  [ -z "$2" ] || sed -i -E "$2" "$work/$1/fastapi_books/$3"
}
variant def "" ""
variant async-def 's/^def (read_books|read_book|create_book|update_book|patch_book|delete_book)\(/async def \1(/' routes/books.py
variant def-uncapped 's/Depends\(get_session, max_concurrency=[^)]*\)/Depends(get_session)/' db.py

port=9190  # the servers take 9191-9193
for name in def async-def def-uncapped; do
  port=$((port + 1))
  export DATABASE_URL="sqlite:///$work/$name.sqlite3" BOOKS_API_TOKEN=bench
  (cd "$work/$name" && "$python" -m fastapi_books.initial_data)
  # From the variant's folder: `python -m` puts the working directory first on sys.path.
  (cd "$work/$name" && exec taskset -c 0 "$python" -m uvicorn fastapi_books.main:app --port $port --log-level error) 2>"$work/$name.log" &
  server=$!
  until curl -sf "http://127.0.0.1:$port/health" >/dev/null; do kill -0 $server; sleep 0.1; done
  url="http://127.0.0.1:$port/books"
  taskset -c 1 wrk -t1 -c32 -d3s "$url" >/dev/null  # warm-up
  for run in 1 2 3; do
    printf '%-13s GET /books, 32 connections, run %s: ' $name $run
    taskset -c 1 wrk -t1 -c32 -d8s --latency "$url" | awk '/Requests\/sec/{r=$2} / 99%/{p=$2} END{print r " req/s, p99 " p}'
  done
  printf '%-13s GET /books, 256 connections: ' $name
  taskset -c 1 wrk -t1 -c256 -d8s --latency "$url" | awk '/Requests\/sec/{r=$2} / 99%/{p=$2} /Non-2xx|Socket errors/{e=e" "$0} END{print r " req/s, p99 " p e}'
  printf '%-13s server errors so far: %s\n' $name "$(grep -c 'Exception in ASGI application' "$work/$name.log" || true)"
  printf '%-13s ' $name
  "$python" bench/lock_wait.py "$work/$name.sqlite3" "http://127.0.0.1:$port" bench
  kill $server; wait $server 2>/dev/null || true
done
