#!/usr/bin/env bash
# Whole-run throughput benchmark: session-etl against the physical floor and against DuckDB,
# on generated corpora, in one invocation. Writes benches/results.json, benches/RESULTS.md and
# benches/throughput.png.
#
#   benches/throughput.sh            # 20,000 and 200,000 sessions (7-10 minutes on 2 cores)
#   benches/throughput.sh --quick    # 20,000 sessions only (about 3 minutes)
#
# Measured per corpus, page cache warm (every file is read once before timing):
#   session-etl run      all tables, zstd, events (defaults); wall, files/s, MB/s, peak RSS
#                        (/usr/bin/time -v), median of RUNS runs, at --threads 2 and 1
#   floor                benches/floor.rs: walk + read + serde_json IgnoredAny, in parallel
#   duckdb               benches/duckdb_job.py: the same job in DuckDB SQL (sessions and
#                        participants), on a corpus without bad files, which DuckDB needs, with
#                        each of its two JSON readers (read_json; read_json_objects + from_json);
#                        it is also run once on the corpus with bad files to show it abort
# Corpora and the Python environment are cached under target/bench/ between runs.
set -euo pipefail
cd "$(dirname "$0")/.."

sizes=(20000 200000)
if [ "${1:-}" = "--quick" ]; then sizes=(20000); fi
runs=${RUNS:-3}
work=target/bench
mkdir -p "$work"

echo "== building (release)" >&2
cargo build --release --quiet
cargo bench --bench floor --no-run --quiet 2>/dev/null
floor_bin=$(cargo bench --bench floor --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "floor" and m.get("executable"):
        print(m["executable"])')
bin=target/release/session-etl

venv="$work/venv"
if [ ! -x "$venv/bin/python" ] || ! cmp -s benches/requirements.txt "$venv/.requirements"; then
  echo "== installing DuckDB and matplotlib into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r benches/requirements.txt
  cp benches/requirements.txt "$venv/.requirements"
fi
py="$venv/bin/python"

# generate SIZE BAD_FRACTION DIR: a corpus, reused when it was made with the same options.
generate() {
  local options="--sessions $1 --seed 1 --bad-fraction $2"
  if [ ! -f "$3/truth.json" ] || [ "$(cat "$3/.options" 2>/dev/null)" != "$options" ]; then
    echo "== generating $3 ($options)" >&2
    rm -rf "$3"
    # shellcheck disable=SC2086
    "$bin" generate $options --out "$3" >/dev/null
    echo "$options" >"$3/.options"
  fi
}

warm() { find "$1" -type f -print0 | xargs -0 cat >/dev/null; }

# time_run NAME -- COMMAND...: one JSON line with wall time and peak RSS of COMMAND.
time_run() {
  local name=$1; shift 2
  local stats="$work/time.txt"
  /usr/bin/time -v -o "$stats" "$@" >"$work/stdout.txt" 2>"$work/stderr.txt" || {
    echo "{\"name\": \"$name\", \"failed\": true}"
    return 0
  }
  python3 - "$name" "$stats" <<'EOF'
import json, re, sys
name, path = sys.argv[1], sys.argv[2]
text = open(path).read()
wall = text.split("Elapsed (wall clock) time (h:mm:ss or m:ss): ")[1].split()[0].split(":")
seconds = sum(float(p) * 60 ** i for i, p in enumerate(reversed(wall)))
rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
print(json.dumps({"name": name, "wall_s": seconds, "peak_rss_mb": rss_kb / 1024}))
EOF
}

results="$work/results.jsonl"
: >"$results"
record() { echo "$1" >>"$results"; }

# measure_etl CORPUS LABEL SESSIONS THREADS: one timed `session-etl run`, recorded with the
# file and byte counts and rows per table from its _run.json.
# A 1-thread run is pinned to one core (the first this process may use, with taskset when
# present): its writer thread would otherwise use a second core, and 1 -> 2 threads would
# not measure scaling over cores. The record says whether it was pinned.
measure_etl() {
  rm -rf "$work/out"
  local line pin=()
  if [ "$4" = 1 ] && command -v taskset >/dev/null; then
    pin=(taskset -c "$(python3 -c 'import os; print(min(os.sched_getaffinity(0)))')")
  fi
  line=$(time_run etl -- ${pin[@]+"${pin[@]}"} "$bin" run --quiet --threads "$4" --output "$work/out" "$1/sessions")
  record "$(python3 - "$line" "$work/out/_run.json" "$2" "$3" "$4" "${#pin[@]}" <<'EOF'
import json, sys
m = json.loads(sys.argv[1]); s = json.load(open(sys.argv[2]))
m.update(tool="session-etl", corpus=sys.argv[3], sessions=int(sys.argv[4]), threads=int(sys.argv[5]),
         pinned=sys.argv[6] != "0",
         files=s["files"]["seen"], bytes=s["files"]["bytes_read"], rows=s["rows"])
print(json.dumps(m))
EOF
)"
}

for size in "${sizes[@]}"; do
  corpus="$work/c$size"
  clean="$work/c$size-clean"
  generate "$size" 0.02 "$corpus"
  generate "$size" 0 "$clean"
  for c in "$corpus" "$clean"; do warm "$c/sessions"; done
  # One untimed run, so the first timed one does not pay for a cold binary or output folder.
  rm -rf "$work/out"
  "$bin" run --quiet --output "$work/out" "$corpus/sessions" >/dev/null

  for threads in 2 1; do
    n=$runs
    if [ "$threads" = 1 ]; then n=1; fi
    for i in $(seq "$n"); do
      echo "== session-etl, $size sessions, $threads threads, run $i" >&2
      measure_etl "$corpus" "bad 2%" "$size" "$threads"
    done
  done

  for i in $(seq "$runs"); do
    echo "== floor, $size sessions, run $i" >&2
    floor=$("$floor_bin" --threads 2 "$corpus/sessions")
    record "$(python3 -c 'import json,sys; m=json.loads(sys.argv[1]); m.update(tool="floor", corpus="bad 2%", sessions=int(sys.argv[2])); print(json.dumps(m))' "$floor" "$size")"
  done

  # DuckDB on the clean corpus, with session-etl on the same corpus for the ratio.
  for i in $(seq "$runs"); do
    echo "== session-etl, $size clean sessions, run $i" >&2
    measure_etl "$clean" clean "$size" 2
  done
  for reader in read_json json_objects; do
    echo "== duckdb ($reader), $size clean sessions" >&2
    rm -rf "$work/duckdb-out"
    line=$(time_run duckdb -- "$py" benches/duckdb_job.py "$clean/sessions" "$work/duckdb-out" --threads 2 --reader "$reader")
    record "$(python3 - "$line" "$work/stdout.txt" "$size" "$reader" <<'EOF'
import json, sys
m = json.loads(sys.argv[1])
job = json.loads(open(sys.argv[2]).read().strip().splitlines()[-1]) if not m.get("failed") else {}
m.update(job, tool="duckdb " + sys.argv[4], corpus="clean", sessions=int(sys.argv[3]), threads=2)
print(json.dumps(m))
EOF
)"
  done
  if [ "$size" = "${sizes[0]}" ]; then
    echo "== duckdb on the corpus with bad files (expected to abort)" >&2
    rm -rf "$work/duckdb-out"
    if "$py" benches/duckdb_job.py "$corpus/sessions" "$work/duckdb-out" --threads 2 --reader json_objects \
        >/dev/null 2>"$work/duckdb-bad.txt"; then aborted=false; else aborted=true; fi
    record "$(python3 -c 'import json,sys; print(json.dumps({"tool": "duckdb json_objects", "corpus": "bad 2%", "sessions": int(sys.argv[1]), "aborted": sys.argv[2] == "true", "error": open(sys.argv[3]).read().strip()[:600]}))' "$size" "$aborted" "$work/duckdb-bad.txt")"
  fi
done

"$py" benches/report.py "$results" benches
echo "== wrote benches/results.json, benches/RESULTS.md and benches/throughput.png" >&2
