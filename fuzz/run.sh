#!/usr/bin/env bash
# Coverage-guided fuzzing of one target for N minutes: fuzz/run.sh TARGET MINUTES [--save]
#
# Builds fuzz/Fuzz.Targets and copies it into fuzz/out/bin, instruments the product's and the parsers' assemblies there with
# SharpFuzz (the local tool in .config/dotnet-tools.json), runs afl-fuzz (Debian's afl++) on the seeds in
# fuzz/corpora/TARGET under `nice -n 19`, then prints executions, paths (corpus size), crashes and hangs. Findings are
# in fuzz/out/findings/TARGET (crashes/, hangs/, queue/); replay one with
#   dotnet fuzz/out/bin/VectorPipeline.Fuzz.Targets.dll replay TARGET FILE
# --save replaces fuzz/corpora/TARGET with the queue minimised by afl-cmin, 50 inputs (256 KiB) of it at most, spread
# over their sizes (what CI replays).
# Targets: splitter-chars splitter-tokens format markdown html docx ndjson document-json multipart filter dify
set -euo pipefail

if [[ $# -lt 2 ]]; then
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi

target=$1
minutes=$2
save=${3:-}
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/fuzz/out
bin=$out/bin
seeds=$root/fuzz/corpora/$target
findings=$out/findings/$target

[[ -d $seeds ]] || { echo "no seed corpus $seeds" >&2; exit 2; }
command -v afl-fuzz >/dev/null || { echo "afl-fuzz not found: apt-get install -y afl++" >&2; exit 2; }

cd "$root"
# Instrument a fresh build only when the sources changed since the last one (FUZZ_REUSE_BIN=1: never, for a queue of
# runs while the sources are being edited).
stamp=$out/instrumented.stamp
rebuild=0
if [[ ! -f $stamp ]]; then
  rebuild=1
elif [[ ${FUZZ_REUSE_BIN:-} != 1 ]] && [[ -n $(find Ingest.Api Search.Api VectorStore ServiceDefaults fuzz/Fuzz.Targets Directory.Packages.props \
      -newer "$stamp" \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' \) -not -path '*/obj/*' -not -path '*/bin/*' -print -quit) ]]; then
  rebuild=1
fi
if [[ $rebuild == 1 ]]; then
  rm -rf "$bin" "$out/instrument.log"
  mkdir -p "$out"
  nice -n 19 dotnet tool restore >/dev/null
  nice -n 19 dotnet build fuzz/Fuzz.Targets/Fuzz.Targets.csproj -c Release -v q -nologo >"$out/build.log" 2>&1 || { tail -20 "$out/build.log" >&2; exit 1; }
  cp -r fuzz/Fuzz.Targets/bin/Release/net10.0 "$bin"
  for dll in Ingest.Api Search.Api VectorPipeline.VectorStore VectorPipeline.ServiceDefaults Markdig AngleSharp DocumentFormat.OpenXml System.IO.Packaging; do
    nice -n 19 dotnet tool run sharpfuzz "$bin/$dll.dll" >>"$out/instrument.log" 2>&1 || { tail -20 "$out/instrument.log" >&2; exit 1; }
  done
  touch "$stamp"
fi

rm -rf "$findings"
mkdir -p "$findings"
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
dict=()
[[ -f $root/fuzz/dictionaries/$target.dict ]] && dict=(-x "$root/fuzz/dictionaries/$target.dict")
# -t: per input, in ms (the first inputs also pay for the JIT); -V: seconds to run; -m none: .NET reserves much virtual memory.
nice -n 19 afl-fuzz -i "$seeds" -o "$findings" -t 5000 -m none -V $((minutes * 60)) "${dict[@]}" \
  -- dotnet "$bin/VectorPipeline.Fuzz.Targets.dll" "$target" >"$findings/afl.log" 2>&1 || {
  echo "afl-fuzz failed; last lines of $findings/afl.log:" >&2
  tail -20 "$findings/afl.log" >&2
  exit 1
}

stats=$findings/default/fuzzer_stats
value() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$stats"; }
crashes=$(find "$findings/default/crashes" -type f -name 'id:*' | wc -l)
hangs=$(find "$findings/default/hangs" -type f -name 'id:*' | wc -l)
echo "target $target: $(value run_time) s, executions $(value execs_done) ($(value execs_per_sec)/s), paths (corpus) $(value corpus_count), edges $(value edges_found), crashes $crashes, hangs $hangs"

if [[ $save == --save ]]; then
  rm -rf "$out/cmin/$target"
  nice -n 19 afl-cmin -i "$findings/default/queue" -o "$out/cmin/$target" -t 5000 -m none \
    -- dotnet "$bin/VectorPipeline.Fuzz.Targets.dll" "$target" >"$findings/cmin.log" 2>&1
  # Keep CI's replay small: at most 50 of the minimised inputs, spread over their sizes from the smallest, and at most
  # 256 KiB in all.
  rm -rf "$seeds"
  mkdir -p "$seeds"
  mapfile -t files < <(find "$out/cmin/$target" -type f -printf '%s %p\n' | sort -n)
  step=$(( (${#files[@]} + 49) / 50 ))
  i=0
  total=0
  for ((k = 0; k < ${#files[@]}; k += step)); do
    size=${files[k]%% *}
    (( total + size > 262144 )) && break
    cp "${files[k]#* }" "$seeds/$(printf 'min-%04d' "$i")"
    i=$((i + 1))
    total=$((total + size))
  done
  echo "saved $i minimised inputs to fuzz/corpora/$target ($(du -sh --apparent-size "$seeds" | cut -f1))"
fi
