#!/usr/bin/env bash
# The test command: installs what the tests need (eng/install-prereqs.sh --with-browser --with-mariadb), builds
# VectorPipeline.sln (every project, the AppHost included) and runs every test project. The integration,
# end-to-end and AppHost tests start their own PostgreSQL and RabbitMQ on free ports and remove them
# afterwards. Needs root. Extra arguments go to dotnet test.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
configuration=${VP_CONFIGURATION:-Release}

"$repo/eng/install-prereqs.sh" --with-browser --with-mariadb
rm -f "$repo/TestResults/end-to-end.txt"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
dotnet test "$repo/VectorPipeline.sln" -c "$configuration" -nologo "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

if [[ -f $repo/TestResults/end-to-end.txt ]]; then
  echo
  cat "$repo/TestResults/end-to-end.txt"
fi
# One closing line over all test assemblies, from dotnet test's per-assembly summaries.
grep -E '^(Passed|Failed)!' "$log" | sed -E 's/.*Failed: *([0-9]+), Passed: *([0-9]+), Skipped: *([0-9]+).*/\1 \2 \3/' \
  | awk '{f+=$1; p+=$2; s+=$3} END {printf "\n%d passed, %d failed, %d skipped\n", p, f, s}'
exit "$status"
