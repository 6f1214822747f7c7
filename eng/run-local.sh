#!/usr/bin/env bash
# Runs the whole pipeline on this machine without Docker:
#   PostgreSQL + pgvector and RabbitMQ with their data under .data/ in the checkout (reused by the next run),
#   Ingest.Api on http://127.0.0.1:5110, two Embed.Worker processes, Search.Api on http://127.0.0.1:5120.
# Waits until every service reports healthy, prints what runs where, and stops everything on Ctrl-C.
# Needs root (it installs missing Debian packages and runs the servers as their own users).
# Settings (environment): VP_DATA_DIR, VP_PG_PORT (55432), VP_RABBITMQ_PORT (55672),
# VP_RABBITMQ_MANAGEMENT_PORT (15672), VP_WORKERS (2), VP_CONFIGURATION (Release), VP_BUILD_ARGS (extra dotnet build
# arguments, for example -p:OnnxRuntimeGpu=true for the CUDA build of ONNX Runtime); Auth__* and RateLimit__* are
# passed to the services (without keys: Auth__Mode=none and no rate limit).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
data=${VP_DATA_DIR:-$repo/.data}
pg_port=${VP_PG_PORT:-55432}
rabbit_port=${VP_RABBITMQ_PORT:-55672}
management_port=${VP_RABBITMQ_MANAGEMENT_PORT:-15672}
workers=${VP_WORKERS:-2}
configuration=${VP_CONFIGURATION:-Release}
ingest_url=http://127.0.0.1:5110
search_url=http://127.0.0.1:5120

log() { printf '[run-local] %s\n' "$*"; }

"$repo/eng/install-prereqs.sh"
log "building ($configuration)"
# shellcheck disable=SC2086 # VP_BUILD_ARGS is a list of arguments
dotnet build "$repo/VectorPipeline.Offline.slnf" -c "$configuration" -nologo -v quiet -clp:ErrorsOnly ${VP_BUILD_ARGS:-}

mkdir -p "$data/logs"
chmod 755 "$data"
pids=()
stopping=0
stop_all() {
  [[ $stopping -eq 1 ]] && return
  stopping=1
  log "stopping services"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for ((i = 0; i < 80; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  log "stopping RabbitMQ"
  "$repo/eng/rabbitmq.sh" stop "$data/rabbitmq"
  log "stopping PostgreSQL"
  "$repo/eng/postgres.sh" stop "$data/postgres"
  log "stopped; data kept in $data"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

log "starting PostgreSQL on 127.0.0.1:$pg_port (data $data/postgres)"
"$repo/eng/postgres.sh" start "$data/postgres" "$pg_port" vectordb
log "starting RabbitMQ on 127.0.0.1:$rabbit_port (data $data/rabbitmq)"
"$repo/eng/rabbitmq.sh" start "$data/rabbitmq" "$rabbit_port" "${VP_RABBITMQ_DIST_PORT:-25672}" "${VP_RABBITMQ_EPMD_PORT:-$((rabbit_port + 1))}" "$management_port"

export ConnectionStrings__vectordb="Host=127.0.0.1;Port=$pg_port;Database=vectordb;Username=postgres"
export ConnectionStrings__messaging="amqp://guest:guest@127.0.0.1:$rabbit_port/"
export ASPNETCORE_ENVIRONMENT=${ASPNETCORE_ENVIRONMENT:-Production}
# Local development: no API keys and no rate limit unless you configure them (export Auth__ApiKeys__0__Key=...,
# Auth__ApiKeys__0__Role=admin before starting; see README "Security"). The services log a warning when keys are off.
if [[ -z "${Auth__Mode:-}" && -z "${Auth__ApiKeys__0__Key:-}" && -z "${Auth__ApiKeys__0__KeyHash:-}" ]]; then
  export Auth__Mode=none
fi
export RateLimit__PermitLimit=${RateLimit__PermitLimit:-0}

start_service() { # name project url
  local name=$1 project=$2 url=$3
  local bin="$repo/$project/bin/$configuration/net10.0"
  OTEL_SERVICE_NAME=${OTEL_SERVICE_NAME_OVERRIDE:-$name} \
    dotnet "$bin/$project.dll" --urls "$url" --contentRoot "$bin" >"$data/logs/$name.log" 2>&1 &
  pids+=($!)
  names+=("$name")
  urls+=("$url")
}
names=()
urls=()
start_service ingest-api Ingest.Api "$ingest_url"
for ((w = 1; w <= workers; w++)); do
  start_service "embed-worker-$w" Embed.Worker "http://127.0.0.1:$((5130 + w))"
done
start_service search-api Search.Api "$search_url"

log "waiting for every service to report healthy"
for i in "${!names[@]}"; do
  healthy=0
  for ((t = 0; t < 240; t++)); do
    if curl -fsS "${urls[$i]}/health" >/dev/null 2>&1; then healthy=1; break; fi
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then break; fi
    sleep 0.25
  done
  if [[ $healthy -ne 1 ]]; then
    log "${names[$i]} did not become healthy; last lines of $data/logs/${names[$i]}.log:"
    tail -20 "$data/logs/${names[$i]}.log" >&2
    exit 1
  fi
done

cat <<INFO

  VectorPipeline is running (Ctrl-C stops everything)

  Ingest.Api        $ingest_url          POST /documents, GET|DELETE /documents/{id}
  Search.Api        $search_url          POST /search
$(for ((w = 1; w <= workers; w++)); do printf '  Embed.Worker #%-3s http://127.0.0.1:%s    /health, /alive\n' "$w" $((5130 + w)); done)
  PostgreSQL        127.0.0.1:$pg_port           database vectordb, user postgres
  RabbitMQ          amqp://127.0.0.1:$rabbit_port     management http://127.0.0.1:$management_port (guest/guest)
  Logs              $data/logs/

INFO

# Stay in the foreground until Ctrl-C or until a service dies.
while true; do
  for i in "${!pids[@]}"; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
      log "${names[$i]} exited; see $data/logs/${names[$i]}.log"
      exit 1
    fi
  done
  sleep 1
done
