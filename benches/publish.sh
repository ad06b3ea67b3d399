#!/usr/bin/env bash
# Publish throughput and memory against the local Exchange stand-in
# (tests/servers/exchange_server.py): bodies/s and events/s with no faults and with a fault
# rate, and the peak RSS of publishing BODIES bodies. Timed with farm-bench when it is on the
# PATH (several runs, medians), else once with /usr/bin/time.
#
#   benches/publish.sh [BODIES] [FAULT_RATE]        # defaults: 100000 bodies, 0.25
#   RUNS=1 benches/publish.sh 10000 0.25            # fewer, shorter runs
#
# The outbox is built from a generated corpus's real bodies, copied with a numbered suffix on
# each identifier value until there are BODIES distinct ones (a publish sends each body once,
# so every timed run gets a fresh copy of the output). The server is Python's threading HTTP
# server: at high rates it, not session-etl, is the limit; the CPU seconds of the publish
# process say what session-etl itself costs.
set -euo pipefail
cd "$(dirname "$0")/.."
bodies=${1:-100000}
faults=${2:-0.25}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

cargo build --release --quiet
bin=target/release/session-etl
"$bin" generate --sessions 20000 --out "$work/corpus" >/dev/null
"$bin" run --quiet --output "$work/base" "$work/corpus/sessions"
python3 - "$work/base" "$bodies" <<'PY'
import json, pathlib, sys
out, want = pathlib.Path(sys.argv[1]), int(sys.argv[2])
files = sorted((out / "exchange").glob("*.jsonl"))
real = [l for f in files for l in f.read_text().splitlines() if l]
for f in files:
    f.unlink()
with open(out / "exchange" / "bench-00000.jsonl", "w") as w:
    n = 0
    while n < want:
        for line in real:
            if n == want:
                break
            body = json.loads(line)
            for i in body["identifiers"]:
                i["value"] = f"{i['value']}.{n // len(real)}"
            w.write(json.dumps(body, separators=(",", ":")) + "\n")
            n += 1
PY
events=$(python3 -c "import json,sys; print(sum(len(json.loads(l)['events']) for l in open(sys.argv[1])))" "$work/base/exchange/bench-00000.jsonl")
echo "outbox: $bodies bodies, $events events"

start_server() {
  python3 tests/servers/exchange_server.py bench-key "$1" 7 > "$work/port" &
  for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
  head -1 "$work/port"
}
# One fresh copy of the output per timed run, so each run sends every body.
cat > "$work/once.sh" <<SH
#!/usr/bin/env bash
set -e
rm -rf "$work/copy" && cp -r "$work/base" "$work/copy"
SESSION_ETL_EXCHANGE_KEY=bench-key exec "$PWD/$bin" publish --exchange-url "http://127.0.0.1:\$1" --exchange-concurrency 16 "$work/copy"
SH
chmod +x "$work/once.sh"
rates=(0)
[ "$faults" != 0 ] && rates+=("$faults")
for rate in "${rates[@]}"; do
  port=$(start_server "$rate")
  echo "--- fault rate $rate (server on $port)"
  if command -v farm-bench >/dev/null; then
    farm-bench -n "${RUNS:-3}" --warmup 0 --timeout 3000 -- "$work/once.sh" "$port"
  else
    /usr/bin/time -v "$work/once.sh" "$port" 2>&1 | grep -E "Elapsed|Maximum resident"
  fi
  # The last run's own report: its rates exclude the copy of the output.
  python3 -c "import json,glob,sys; r=json.load(open(glob.glob(sys.argv[1])[0])); print({k: r[k] for k in ('ending','accepted','requests','retries','elapsed_s','bodies_per_s','events_per_s')})" "$work/copy/exchange/_ledger/*.json"
  kill %% 2>/dev/null || true
  wait 2>/dev/null || true
done
