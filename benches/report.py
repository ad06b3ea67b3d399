#!/usr/bin/env python3
"""Turns the raw measurements of benches/throughput.sh into benches/results.json,
benches/RESULTS.md and benches/throughput.png.

usage: report.py RESULTS_JSONL OUT_DIR
"""
import datetime
import json
import platform
import statistics
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# "Near-linear" scaling from one core to two, read as at least 90 % of 2x.
TARGETS = {"vs_floor": 0.40, "vs_duckdb": 25.0, "threads_1_to_2": 1.8, "peak_rss_mb": 256.0, "rss_growth": 0.20}


def sh(command):
    try:
        return subprocess.run(command, shell=True, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""


def machine():
    cpu = sh("lscpu | sed -n 's/^Model name: *//p'") or platform.processor()
    return {
        "cpu": cpu,
        "cores": sh("nproc"),
        "memory": sh("free -h | awk '/^Mem:/ {print $2}'"),
        "kernel": platform.release(),
        "os": sh(". /etc/os-release && echo $PRETTY_NAME"),
        "rustc": sh("rustc -V"),
        "session_etl": sh("git rev-parse --short HEAD") + (" (dirty)" if sh("git status --porcelain --untracked-files=no") else ""),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def median_of(rows):
    """One summary per group: medians of wall time and peak RSS, throughput from the median wall."""
    wall = statistics.median(r["wall_s"] for r in rows)
    first = rows[0]
    out = {k: first[k] for k in ("tool", "corpus", "sessions", "threads", "pinned") if k in first}
    out.update(runs=len(rows), wall_s=round(wall, 3), files=first.get("files"), bytes=first.get("bytes"))
    if out["files"]:
        out["files_per_s"] = round(out["files"] / wall)
        out["sessions_per_s"] = round(first["sessions"] / wall)
    if out["bytes"]:
        out["mb_per_s"] = round(out["bytes"] / 1e6 / wall, 1)
    rss = [r["peak_rss_mb"] for r in rows if "peak_rss_mb" in r]
    if rss:
        out["peak_rss_mb"] = round(statistics.median(rss), 1)
    if "duckdb" in first:
        out["duckdb_version"] = first["duckdb"]
    return out


def main():
    raw = [json.loads(line) for line in Path(sys.argv[1]).read_text().splitlines() if line.strip()]
    out_dir = Path(sys.argv[2])
    groups = {}
    aborted = []
    for r in raw:
        if "aborted" in r:
            aborted.append(r)
            continue
        if r.get("failed"):
            raise SystemExit(f"a measured run failed: {r}")
        key = (r["tool"], r["corpus"], r["sessions"], r.get("threads", 2))
        groups.setdefault(key, []).append(r)
    summary = {key: median_of(rows) for key, rows in groups.items()}
    sizes = sorted({k[2] for k in summary})

    def get(tool, corpus, size, threads=2):
        return summary.get((tool, corpus, size, threads))

    ratios = []
    for size in sizes:
        etl, floor = get("session-etl", "bad 2%", size), get("floor", "bad 2%", size)
        etl_clean = get("session-etl", "clean", size)
        # Against DuckDB's faster reader: the comparison a sceptic would make.
        ducks = [d for d in (get("duckdb read_json", "clean", size), get("duckdb json_objects", "clean", size))
                 if d and d.get("files_per_s")]
        duck = max(ducks, key=lambda d: d["files_per_s"]) if ducks else None
        one = get("session-etl", "bad 2%", size, 1)
        ratios.append({
            "sessions": size,
            "vs_floor": round(etl["files_per_s"] / floor["files_per_s"], 3),
            "vs_duckdb": round(etl_clean["files_per_s"] / duck["files_per_s"], 1) if duck else None,
            "duckdb_reader": duck["tool"] if duck else None,
            "threads_1_to_2": round(etl["files_per_s"] / one["files_per_s"], 2) if one else None,
            "peak_rss_mb": etl["peak_rss_mb"],
        })
    growth = None
    if len(sizes) > 1:
        first, last = get("session-etl", "bad 2%", sizes[0]), get("session-etl", "bad 2%", sizes[-1])
        growth = round(last["peak_rss_mb"] / first["peak_rss_mb"] - 1, 3)

    info = machine()
    result = {"machine": info, "targets": TARGETS, "measurements": list(summary.values()),
              "ratios": ratios, "rss_growth": growth, "duckdb_on_bad_files": aborted}
    (out_dir / "results.json").write_text(json.dumps(result, indent=2) + "\n")
    write_markdown(out_dir / "RESULTS.md", result)
    plot(out_dir / "throughput.png", summary, sizes)


def fmt(v, unit=""):
    if v is None:
        return "—"
    if isinstance(v, float) and v < 100:
        return f"{v:,.2f}{unit}"
    return f"{v:,.0f}{unit}"


def pinning(measurements):
    """How the 1-thread runs were made, from their records."""
    ones = [m for m in measurements if m.get("tool") == "session-etl" and m.get("threads") == 1]
    if ones and all(m.get("pinned") for m in ones):
        return ("The 1-thread runs are pinned to one core (`taskset`), which the writer thread "
                "shares: 1 → 2 threads is one core → two.")
    return ("The 1-thread runs are **not** pinned (no `taskset`): their writer thread uses a second "
            "core, so 1 → 2 threads understates the scaling over cores.")


def verdict(ok):
    return "met" if ok else "**missed**"


def write_markdown(path, r):
    m = r["machine"]
    lines = [
        "# Throughput results",
        "",
        "Written by `benches/throughput.sh` (do not edit by hand); raw figures in `results.json`,",
        "chart in `throughput.png`. Page cache warm; median of the runs counted in the table.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory']} RAM, {m['os']}, Linux {m['kernel']}; "
        f"{m['rustc']}; session-etl {m['session_etl']}; measured {m['date']}.",
        "",
        "| tool | corpus | sessions | threads | runs | files | wall | files/s | sessions/s | MB/s | peak RSS |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    order = {"floor": 0, "session-etl": 1, "duckdb read_json": 2, "duckdb json_objects": 3}
    for s in sorted(r["measurements"], key=lambda s: (s["sessions"], s["corpus"], order[s["tool"]], -s["threads"])):
        lines.append(
            f"| {s['tool']} | {s['corpus']} | {s['sessions']:,} | {s['threads']} | {s['runs']} | {fmt(s.get('files'))} "
            f"| {s['wall_s']:.2f} s | {fmt(s.get('files_per_s'))} | {fmt(s.get('sessions_per_s'))} "
            f"| {fmt(s.get('mb_per_s'))} | {fmt(s.get('peak_rss_mb'), ' MB')} |")
    lines += [
        "",
        "`floor` walks, reads and parses every file into `serde::de::IgnoredAny` and nothing else",
        "(`benches/floor.rs`); `session-etl` writes every table with zstd, the events and the",
        "Exchange request bodies (defaults); `duckdb …` runs `benches/duckdb_job.py` (sessions and",
        "participants only) on a corpus generated without bad files, because it cannot skip them,",
        "with `read_json` (explicit columns) and with `read_json_objects` + `from_json`. The DuckDB",
        "ratio below is against the faster of the two. " + pinning(r["measurements"]),
        "",
        "## Targets",
        "",
        "| sessions | session-etl / floor (≥ 0.40) | session-etl / DuckDB (≥ 25×) | 1 → 2 threads (≥ 1.8×) | peak RSS (≤ 256 MB) |",
        "|---|---|---|---|---|",
    ]
    t = r["targets"]
    for x in r["ratios"]:
        duck = x["vs_duckdb"]
        lines.append(
            f"| {x['sessions']:,} | {x['vs_floor']:.2f} ({verdict(x['vs_floor'] >= t['vs_floor'])}) "
            f"| {fmt(duck, '×')} ({verdict(duck is not None and duck >= t['vs_duckdb'])}) "
            f"| {fmt(x['threads_1_to_2'], '×')} ({verdict(x['threads_1_to_2'] is not None and x['threads_1_to_2'] >= t['threads_1_to_2'])}) "
            f"| {x['peak_rss_mb']:.0f} MB ({verdict(x['peak_rss_mb'] <= t['peak_rss_mb'])}) |")
    if r["rss_growth"] is not None:
        lines += ["", f"Peak RSS growth from the smallest to the largest corpus: {r['rss_growth'] * 100:+.1f} % "
                  f"(target < +20 %: {verdict(r['rss_growth'] < t['rss_growth'])})."]
    for a in r["duckdb_on_bad_files"]:
        lines += ["", f"DuckDB (`read_json_objects`) on the {a['sessions']:,}-session corpus with 2 % bad files: "
                  + ("aborted, as expected:" if a["aborted"] else "did **not** abort."), ""]
        if a["error"]:
            lines += ["```", a["error"], "```"]
    path.write_text("\n".join(lines) + "\n")


def plot(path, summary, sizes):
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    tools = [("floor", "bad 2%"), ("session-etl", "bad 2%"), ("session-etl", "clean"),
             ("duckdb read_json", "clean"), ("duckdb json_objects", "clean")]
    width = 0.8 / len(tools)
    for i, (tool, corpus) in enumerate(tools):
        values = [(summary.get((tool, corpus, s, 2)) or {}).get("files_per_s", 0) for s in sizes]
        xs = [j + i * width for j in range(len(sizes))]
        bars = left.bar(xs, values, width, label=f"{tool} ({corpus})")
        left.bar_label(bars, labels=[f"{v:,.0f}" for v in values], fontsize=7)
    left.set_xticks([j + width * (len(tools) - 1) / 2 for j in range(len(sizes))])
    left.set_xticklabels([f"{s:,} sessions" for s in sizes])
    left.set_ylabel("files/s (2 threads)")
    left.set_title("Throughput: floor, session-etl, DuckDB")
    left.legend(fontsize=8)

    labels, files, rss = [], [], []
    for s in sizes:
        for threads in (1, 2):
            row = summary.get(("session-etl", "bad 2%", s, threads))
            if row:
                labels.append(f"{s // 1000}k, {threads}t")
                files.append(row["files_per_s"])
                rss.append(row["peak_rss_mb"])
    right.plot(labels, files, "o-", color="tab:orange", label="files/s")
    right.set_ylabel("files/s", color="tab:orange")
    right.set_ylim(bottom=0)
    twin = right.twinx()
    twin.plot(labels, rss, "s--", color="tab:blue", label="peak RSS")
    twin.set_ylabel("peak RSS (MB)", color="tab:blue")
    twin.set_ylim(bottom=0)
    twin.axhline(256, color="tab:blue", linewidth=0.8, linestyle=":")
    right.set_title("session-etl: threads 1→2, corpus 20k→200k")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
