#!/usr/bin/env bash
# Kept for old habits: runs the AppHost, the one way to run VectorPipeline (see README "Run").
# Arguments go to the AppHost, e.g. eng/run-local.sh --Parameters:embed-worker-replicas=3
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
exec dotnet run --project "$repo/AppHost" -- "$@"
