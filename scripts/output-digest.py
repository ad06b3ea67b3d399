#!/usr/bin/env python3
"""Prints a digest of a session-etl output: what must stay byte-identical across a refactoring.

    .venv/bin/python scripts/output-digest.py OUT            # one line per part, then a total
    .venv/bin/python scripts/output-digest.py OUT_A OUT_B    # exit 1 and name the parts that differ

Every table is read back row by row, its files in path order with the run id taken out of their
names (`sessions/date=2026-03-23/<run-id>-00000.parquet` -> `sessions/date=2026-03-23/00000`),
each row rendered as JSON. `_run.json` is compared without what differs between any two runs
(run id, times, throughput, output path); `exchange/` bodies line by line, in bucket order.
Needs pyarrow (scripts/test.sh installs it into ./.venv).
"""

import hashlib
import json
import os
import re
import sys

import pyarrow.parquet as pq

PER_RUN_KEYS = ("run_id", "started_at", "wall_time_s", "throughput", "output")
RUN_ID = re.compile(r"^(?:.*-)?(\d{5})\.(parquet|jsonl)$")


def files_of(out):
    """(part, stable relative name, path) for every data file, in a stable order."""
    found = []
    for root, dirs, names in os.walk(out):
        dirs.sort()
        rel_root = os.path.relpath(root, out)
        if rel_root.split(os.sep)[0] in ("_state",):
            continue
        for name in sorted(names):
            match = RUN_ID.match(name)
            if not match:
                continue
            part = rel_root.split(os.sep)[0]
            stable = os.path.join(rel_root, match.group(1))
            found.append((part, stable, os.path.join(root, name)))
    found.sort(key=lambda f: f[1])
    return found


def digest(out):
    parts = {}
    for part, stable, path in files_of(out):
        h = parts.setdefault(part, hashlib.sha256())
        h.update(stable.encode() + b"\n")
        if path.endswith(".parquet"):
            table = pq.read_table(path)
            h.update(str(table.schema).encode())
            for row in table.to_pylist():
                h.update(json.dumps(row, default=str, sort_keys=True).encode() + b"\n")
        else:
            with open(path, "rb") as f:
                h.update(f.read())
    with open(os.path.join(out, "_run.json")) as f:
        summary = json.load(f)
    for key in PER_RUN_KEYS:
        summary.pop(key, None)
    for shard in summary.get("shards") or []:
        for key in PER_RUN_KEYS:
            shard.pop(key, None)
    parts["_run.json"] = hashlib.sha256(json.dumps(summary, sort_keys=True).encode())
    return {part: h.hexdigest()[:16] for part, h in sorted(parts.items())}


def main(args):
    if len(args) not in (1, 2):
        print(__doc__, file=sys.stderr)
        return 2
    digests = [digest(out) for out in args]
    if len(digests) == 1:
        for part, value in digests[0].items():
            print(f"{part:28} {value}")
        total = hashlib.sha256(json.dumps(digests[0], sort_keys=True).encode()).hexdigest()[:16]
        print(f"{'total':28} {total}")
        return 0
    a, b = digests
    differ = sorted(p for p in set(a) | set(b) if a.get(p) != b.get(p))
    for part in differ:
        print(f"differs: {part} ({a.get(part)} vs {b.get(part)})")
    if not differ:
        print(f"identical: {len(a)} parts")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
