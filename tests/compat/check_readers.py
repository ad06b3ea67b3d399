#!/usr/bin/env python3
"""Opens a session-etl output with real BI clients (DuckDB, pyarrow, Polars) and checks that they
read it without any fix-up and agree with each other and with _run.json.

usage: check_readers.py OUTPUT_DIR [TRUTH_JSON]
With TRUTH_JSON (a `session-etl generate` truth.json), the readers' aggregates must also equal it.
Prints one line per check and a closing 'N passed, M failed' line; exit 1 on any failure.
"""
import json
import sys
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds

out = Path(sys.argv[1])
summary = json.loads((out / "_run.json").read_text())
truth = json.loads(Path(sys.argv[2]).read_text()) if len(sys.argv) > 2 else None
passed, failed = 0, 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name} {detail}")


tables = sorted(summary["rows"])
folders = sorted(p.name for p in out.iterdir() if p.is_dir() and any(p.glob("*.parquet")))
check("one Parquet folder per table in _run.json", folders == tables, f"{folders} vs {tables}")
con = duckdb.connect()

# Every table opens in every reader with the row count the run summary reports.
arrow_tables = {}
polars_tables = {}
for table in tables:
    arrow_tables[table] = ds.dataset(out / table, format="parquet").to_table()
    polars_tables[table] = pl.scan_parquet(f"{out / table}/*.parquet").collect()
    duck_rows = con.execute(f"select count(*) from read_parquet('{out / table}/*.parquet')").fetchone()[0]
    expected = summary["rows"][table]
    polars_rows = polars_tables[table].height
    check(f"{table}: row count", arrow_tables[table].num_rows == duck_rows == polars_rows == expected,
          f"pyarrow={arrow_tables[table].num_rows} duckdb={duck_rows} polars={polars_rows} _run.json={expected}")

# Types come back as BI tools expect: UTC timestamps, signed 64-bit ids, plain strings.
sessions = arrow_tables["sessions"]
schema = sessions.schema
check("pyarrow: created_at is timestamp[us, UTC]", schema.field("created_at").type == pa.timestamp("us", tz="UTC"),
      str(schema.field("created_at").type))
check("pyarrow: session_id is int64", schema.field("session_id").type == pa.int64())
check("pyarrow: status is string", schema.field("status").type == pa.string())
check("pyarrow: column descriptions in field metadata",
      all(f.metadata and b"description" in f.metadata for f in schema))
duck_types = {r[0]: r[1] for r in con.execute(f"describe select * from read_parquet('{out}/sessions/*.parquet')").fetchall()}
check("duckdb: created_at is TIMESTAMP WITH TIME ZONE", duck_types["created_at"] == "TIMESTAMP WITH TIME ZONE",
      duck_types["created_at"])
check("duckdb: session_id is BIGINT", duck_types["session_id"] == "BIGINT")
check("duckdb: status is VARCHAR", duck_types["status"] == "VARCHAR")

polars_schema = polars_tables["sessions"].schema
check("polars: created_at is Datetime(us, UTC)", polars_schema["created_at"] == pl.Datetime("us", "UTC"),
      str(polars_schema["created_at"]))
check("polars: session_id is Int64", polars_schema["session_id"] == pl.Int64)
check("polars: status is String", polars_schema["status"] == pl.String)

# The same aggregates from every reader.
con.execute("set TimeZone = 'UTC'")
duck = lambda q: con.execute(q.replace("{out}", str(out))).fetchall()
by_status_duck = dict(duck("select coalesce(status, '<null>'), count(*) from read_parquet('{out}/sessions/*.parquet') group by 1"))
by_status_arrow = {}
for s in sessions.column("status").to_pylist():
    by_status_arrow[s or "<null>"] = by_status_arrow.get(s or "<null>", 0) + 1
by_status_polars = {r["status"] or "<null>": r["len"] for r in polars_tables["sessions"].group_by("status").len().to_dicts()}
check("sessions per status agree", by_status_duck == by_status_arrow == by_status_polars,
      f"{by_status_duck} vs {by_status_arrow} vs {by_status_polars}")

sum_duck = duck("select coalesce(sum(duration_s), 0) from read_parquet('{out}/sessions/*.parquet')")[0][0]
sum_arrow = sum(v for v in sessions.column("duration_s").to_pylist() if v is not None)
sum_polars = polars_tables["sessions"]["duration_s"].sum() or 0
check("sum(duration_s) agrees", sum_duck == sum_arrow == sum_polars, f"{sum_duck} vs {sum_arrow} vs {sum_polars}")

if sessions.num_rows:
    mn, mx = duck("select epoch_us(min(created_at)), epoch_us(max(created_at)) from read_parquet('{out}/sessions/*.parquet')")[0]
    created = sessions.column("created_at").cast(pa.int64()).to_pylist()
    created_polars = polars_tables["sessions"]["created_at"].dt.epoch("us")
    polars_range = (created_polars.min(), created_polars.max())
    check("min/max created_at agree", (mn, mx) == (min(created), max(created)) == polars_range,
          f"{(mn, mx)} vs {(min(created), max(created))} vs {polars_range}")

participants = arrow_tables["participants"]
by_type_duck = dict(duck("select coalesce(participant_type, '<null>'), count(*) from read_parquet('{out}/participants/*.parquet') group by 1"))
by_type_arrow = {}
for t in participants.column("participant_type").to_pylist():
    by_type_arrow[t or "<null>"] = by_type_arrow.get(t or "<null>", 0) + 1
by_type_polars = {r["participant_type"] or "<null>": r["len"]
                  for r in polars_tables["participants"].group_by("participant_type").len().to_dicts()}
check("participants per type agree", by_type_duck == by_type_arrow == by_type_polars,
      f"{by_type_duck} vs {by_type_arrow} vs {by_type_polars}")

# Derived events: the same counts per code from both readers and _run.json.
events = arrow_tables["events"]
by_code_duck = dict(duck("select code, count(*) from read_parquet('{out}/events/*.parquet') group by 1"))
by_code_arrow = {}
for c in events.column("code").to_pylist():
    by_code_arrow[c] = by_code_arrow.get(c, 0) + 1
by_code_summary = {c: n for c, n in summary["events"]["by_code"].items() if n}
by_code_polars = {r["code"]: r["len"] for r in polars_tables["events"].group_by("code").len().to_dicts()}
check("events per code agree", by_code_duck == by_code_arrow == by_code_polars == by_code_summary,
      f"{by_code_duck} vs {by_code_arrow} vs {by_code_polars} vs {by_code_summary}")
check("pyarrow: events.timestamp is timestamp[us, UTC] and duration int64",
      events.schema.field("timestamp").type == pa.timestamp("us", tz="UTC")
      and events.schema.field("duration").type == pa.int64())
milestones = arrow_tables["milestones"]
check("pyarrow: milestones.timestamp is timestamp[us, UTC]",
      milestones.schema.field("timestamp").type == pa.timestamp("us", tz="UTC"))

# The Exchange request bodies are JSON Lines DuckDB reads as they are.
bodies = sorted((out / "exchange").glob("*.jsonl"))
if summary["events"]["request_bodies"]:
    lines, events_in_bodies = duck("select count(*), coalesce(sum(len(events)), 0) from read_json('{out}/exchange/*.jsonl', format = 'newline_delimited')")[0]
    check("duckdb reads the request bodies", (lines, events_in_bodies) == (summary["events"]["request_bodies"], summary["events"]["published_events"]),
          f"{(lines, events_in_bodies)} vs {summary['events']}")
else:
    check("no request bodies when no event is publishable", all(b.stat().st_size == 0 for b in bodies) and summary["events"]["published_events"] == 0)

# A generated corpus: every reader's aggregates equal what the generator wrote.
if truth is not None:
    check("sessions per status = truth", by_status_duck == truth["sessions_by_status"],
          f"{by_status_duck} vs {truth['sessions_by_status']}")
    check("sum(duration_s) = truth", sum_duck == truth["sum_duration_s"], f"{sum_duck} vs {truth['sum_duration_s']}")
    first, last = duck("select strftime(min(created_at), '%Y-%m-%dT%H:%M:%SZ'), strftime(max(created_at), '%Y-%m-%dT%H:%M:%SZ') from read_parquet('{out}/sessions/*.parquet')")[0]
    check("min/max created_at = truth", (first, last) == (truth["min_created_at"], truth["max_created_at"]),
          f"{(first, last)} vs {(truth['min_created_at'], truth['max_created_at'])}")
    check("participants per type = truth", by_type_duck == truth["participants_by_type"],
          f"{by_type_duck} vs {truth['participants_by_type']}")
    truth_codes = {c: n for c, n in truth["events_by_code"].items() if n}
    check("events per code = truth", by_code_duck == truth_codes, f"{by_code_duck} vs {truth_codes}")
    check("rows per table = truth", {t: arrow_tables[t].num_rows for t in tables} == truth["rows"],
          f"{ {t: arrow_tables[t].num_rows for t in tables} } vs {truth['rows']}")

# A realistic join: average handle time and CSAT by queue and day.
q = """
select s.menu_path, cast(s.created_at as date) as day, count(*) as sessions,
       avg(h.talk) as avg_talk_s, avg(s.rating) as avg_csat
from read_parquet('{out}/sessions/*.parquet') s
left join (select kind, session_id, sum(duration_s) as talk from read_parquet('{out}/segments/*.parquet')
           where segment_kind = 'agent_handle' group by all) h using (kind, session_id)
group by all order by all
"""
duck_answer = duck(q)
check("join query runs in duckdb", len(duck_answer) > 0 if sessions.num_rows else True)


def canonical(rows):
    """Rows as comparable tuples: floats rounded, None sorted first."""
    out = []
    for r in rows:
        out.append(tuple(round(v, 9) if isinstance(v, float) else v for v in r))
    return sorted(out, key=lambda r: tuple((v is not None, v) for v in r))


# The same question asked through Polars' and pyarrow's own APIs gives the same answer.
segments = polars_tables["segments"]
talk = (segments.filter(pl.col("segment_kind") == "agent_handle")
        .group_by(["kind", "session_id"]).agg(pl.col("duration_s").sum().alias("talk")))
polars_answer = (polars_tables["sessions"].join(talk, on=["kind", "session_id"], how="left")
                 .with_columns(pl.col("created_at").dt.date().alias("day"))
                 .group_by(["menu_path", "day"])
                 .agg(pl.len().alias("sessions"), pl.col("talk").mean().alias("avg_talk_s"),
                      pl.col("rating").mean().alias("avg_csat")))
polars_rows = [(r["menu_path"], r["day"], r["sessions"], r["avg_talk_s"], r["avg_csat"])
               for r in polars_answer.to_dicts()]
check("BI query: polars = duckdb", canonical(polars_rows) == canonical(duck_answer),
      f"{canonical(polars_rows)[:3]} vs {canonical(duck_answer)[:3]}")

import pyarrow.compute as pc
arrow_segments = arrow_tables["segments"]
handles = arrow_segments.filter(pc.equal(arrow_segments["segment_kind"], "agent_handle"))
arrow_talk = (handles.group_by(["kind", "session_id"]).aggregate([("duration_s", "sum")])
              .rename_columns(["kind", "session_id", "talk"]))
joined = sessions.join(arrow_talk, keys=["kind", "session_id"], join_type="left outer")
joined = joined.append_column("day", pc.cast(joined["created_at"], pa.date32()))
arrow_answer = joined.group_by(["menu_path", "day"]).aggregate(
    [("session_id", "count"), ("talk", "mean"), ("rating", "mean")])
arrow_rows = list(zip(arrow_answer["menu_path"].to_pylist(), arrow_answer["day"].to_pylist(),
                      arrow_answer["session_id_count"].to_pylist(), arrow_answer["talk_mean"].to_pylist(),
                      arrow_answer["rating_mean"].to_pylist()))
check("BI query: pyarrow = duckdb", canonical(arrow_rows) == canonical(duck_answer),
      f"{canonical(arrow_rows)[:3]} vs {canonical(duck_answer)[:3]}")

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
