#!/usr/bin/env bash
# Starts or stops a PostgreSQL 15 server (with pgvector available) whose data lives in DIR.
#   eng/postgres.sh start DIR PORT [DATABASE]   initialises DIR on first use, starts the server on
#                                               127.0.0.1:PORT, creates DATABASE (default vectordb)
#   eng/postgres.sh stop DIR                    fast shutdown; no-op when not running
#   eng/postgres.sh run DIR PORT                initialises DIR on first use and runs the server in the
#                                               foreground (what an Aspire executable resource wants); SIGTERM
#                                               or SIGINT ends it with a fast shutdown. The AppHost creates
#                                               the database once the server accepts connections.
# The server runs as the postgres user (initdb refuses root); DIR is owned by that user.
# VP_POSTGRES_OPTIONS, when set, adds server options to start (for example the benchmark's
# "-c shared_preload_libraries=pg_stat_statements").
set -euo pipefail
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
cmd=${1:?usage: postgres.sh start|stop|run DIR [PORT] [DATABASE]}
dir=${2:?data directory required}

as_postgres() {
  if [[ $(id -un) == postgres ]]; then "$@"; else setpriv --reuid=postgres --regid=postgres --init-groups "$@"; fi
}

init_once() {
  if [[ ! -f $dir/PG_VERSION ]]; then
    mkdir -p "$dir"
    chown postgres:postgres "$dir"
    chmod 700 "$dir"
    as_postgres "$PG_BIN/initdb" -D "$dir" -A trust -U postgres -E UTF8 --locale=C >"$dir.initdb.log" 2>&1 \
      || { cat "$dir.initdb.log" >&2; exit 1; }
    rm -f "$dir.initdb.log"
  fi
}

case $cmd in
  start)
    port=${3:?port required}
    db=${4:-vectordb}
    init_once
    if as_postgres "$PG_BIN/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
      echo "PostgreSQL already running from $dir" >&2
    else
      as_postgres "$PG_BIN/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200 ${VP_POSTGRES_OPTIONS:-}" start >/dev/null \
        || { tail -20 "$dir/server.log" >&2; exit 1; }
    fi
    if ! "$PG_BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
      "$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres "$db"
    fi
    ;;
  run)
    port=${3:?port required}
    init_once
    # A server killed without a shutdown (power loss, SIGKILL) leaves its pid file; postgres itself checks
    # whether that pid still runs, so the file is left for it to judge.
    # Started directly (not through as_postgres, a function, which would run in a subshell) so that $! is the server.
    if [[ $(id -un) == postgres ]]; then as=(); else as=(setpriv --reuid=postgres --regid=postgres --init-groups); fi
    "${as[@]}" "$PG_BIN/postgres" -D "$dir" -p "$port" -k "$dir" \
      -c listen_addresses=127.0.0.1 -c max_connections=200 &
    server=$!
    # postgres treats SIGTERM as a smart shutdown (waits for every client); SIGINT is the fast one.
    trap 'kill -INT "$server" 2>/dev/null' TERM INT
    status=0
    while kill -0 "$server" 2>/dev/null; do
      wait "$server" && status=0 || status=$?
    done
    exit "$status"
    ;;
  stop)
    if [[ -f $dir/postmaster.pid ]]; then
      as_postgres "$PG_BIN/pg_ctl" -D "$dir" -m fast -w -t 60 stop >/dev/null 2>&1 || true
    fi
    ;;
  *)
    echo "usage: postgres.sh start|stop|run DIR [PORT] [DATABASE]" >&2
    exit 2
    ;;
esac
