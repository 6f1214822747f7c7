#!/usr/bin/env bash
# The benchmark command: installs what is missing (eng/install-prereqs.sh), builds the benchmark program and the
# services (Release), and runs bench/Benchmarks, which starts its own PostgreSQL + pgvector and RabbitMQ on free
# ports, runs every part and writes docs/benchmarks.md, docs/benchmarks-throughput.svg and bench/results/latest.json
# (service logs under bench/results/logs/). Needs root (the servers run as their own users).
#   bench/run.sh [--size tiny|default|large] [--parts ingest,model,search] [--out DIR]
# Default size: under 20 minutes on a 2-core machine. --size large adds the 1M-chunk corpus level.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

"$repo/eng/install-prereqs.sh"
echo "[bench] building (Release)"
dotnet build "$repo/bench/Benchmarks/Benchmarks.csproj" -c Release -nologo -v quiet -clp:ErrorsOnly
start=$(date +%s)
dotnet "$repo/bench/Benchmarks/bin/Release/net10.0/Benchmarks.dll" --command "bench/run.sh $*" "$@"
echo "[bench] finished in $(( ($(date +%s) - start) / 60 )) min $(( ($(date +%s) - start) % 60 )) s"
