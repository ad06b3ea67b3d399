#!/usr/bin/env python3
"""Opens session-etl outputs with real BI clients (DuckDB, pyarrow, Polars and Apache Spark) and
checks that they read every table without any fix-up, through its Hive `date=` partitions, and
agree with each other and with _run.json.

usage: check_readers.py [--truth TRUTH_JSON] [--no-spark] OUTPUT_DIR...
With --truth (a `session-etl generate` truth.json, one OUTPUT_DIR), the aggregates must also
equal it. Spark starts once for all outputs (it takes seconds to start). Prints one line per
check and a closing 'N passed, M failed' line; exit 1 on any failure.
"""
import argparse
import json
import os
import sys
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

passed, failed = 0, 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name} {detail}")


def counts(values):
    """{value or '<null>': count}"""
    result = {}
    for v in values:
        key = "<null>" if v is None else str(v)
        result[key] = result.get(key, 0) + 1
    return result


def canonical(rows):
    """Rows as comparable tuples: dates as ISO text, floats rounded, sorted with None first."""
    out = []
    for r in rows:
        out.append(tuple(round(v, 9) if isinstance(v, float)
                         else v.isoformat() if hasattr(v, "isoformat") else v for v in r))
    return sorted(out, key=lambda r: tuple((v is not None, v) for v in r))


# The BI question every reader answers: per queue (menu path) and UTC day, the sessions, their
# average agent talk time, average CSAT and how many got a disposition. DuckDB and Spark run
# this SQL as written over views named after the tables; Polars and pyarrow use their own APIs.
BI_SQL = """
with talk as (
    select kind, session_id, sum(duration_s) as talk
    from segments where segment_kind = 'agent_handle' group by kind, session_id),
disposed as (
    select distinct kind, session_id from dispositions where code is not null)
select s.menu_path, cast(s.created_at as date) as day, count(*) as sessions,
       avg(t.talk) as avg_talk_s, avg(s.rating) as avg_csat, count(d.session_id) as dispositioned
from sessions s
left join talk t on t.kind = s.kind and t.session_id = s.session_id
left join disposed d on d.kind = s.kind and d.session_id = s.session_id
group by s.menu_path, cast(s.created_at as date)
"""
BI_TABLES = ("sessions", "segments", "dispositions")


class DuckDB:
    name = "duckdb"

    def __init__(self, out, tables):
        self.con = duckdb.connect()
        self.con.execute("set TimeZone = 'UTC'")
        for t in tables:
            self.con.execute(f"create view {t} as select * from read_parquet("
                             f"'{out / t}/**/*.parquet', hive_partitioning = true)")

    def q(self, sql):
        return self.con.execute(sql).fetchall()

    def rows(self, t):
        return self.q(f"select count(*) from {t}")[0][0]

    def types(self):
        t = {r[0]: r[1] for r in self.q("describe sessions")}
        return (t["created_at"] == "TIMESTAMP WITH TIME ZONE", t["session_id"] == "BIGINT",
                t["status"] == "VARCHAR")

    def group_count(self, t, col):
        return dict((("<null>" if k is None else k), n)
                    for k, n in self.q(f"select {col}, count(*) from {t} group by 1"))

    def sessions_by_date(self):
        if "date" not in {r[0] for r in self.q("describe sessions")}:
            return {}
        return dict(self.q("select strftime(\"date\", '%Y-%m-%d'), count(*) from sessions group by 1"))

    def sum_duration(self):
        return self.q("select coalesce(sum(duration_s), 0) from sessions")[0][0]

    def created_range(self):
        return tuple(self.q("select epoch_us(min(created_at)), epoch_us(max(created_at)) from sessions")[0])

    def bi(self):
        return self.q(BI_SQL)


class PyArrow:
    name = "pyarrow"

    def __init__(self, out, tables):
        self.tables = {t: ds.dataset(out / t, format="parquet", partitioning="hive").to_table()
                       for t in tables}

    def rows(self, t):
        return self.tables[t].num_rows

    def types(self):
        s = self.tables["sessions"].schema
        return (s.field("created_at").type == pa.timestamp("us", tz="UTC"),
                s.field("session_id").type == pa.int64(), s.field("status").type == pa.string())

    def group_count(self, t, col):
        return counts(self.tables[t].column(col).to_pylist())

    def sessions_by_date(self):
        s = self.tables["sessions"]
        return counts(s.column("date").to_pylist()) if "date" in s.column_names else {}

    def sum_duration(self):
        return sum(v for v in self.tables["sessions"].column("duration_s").to_pylist() if v is not None)

    def created_range(self):
        c = self.tables["sessions"].column("created_at").cast(pa.int64())
        return (pc.min(c).as_py(), pc.max(c).as_py())

    def bi(self):
        sessions, segments, dispositions = (self.tables[t] for t in BI_TABLES)
        handles = segments.filter(pc.equal(segments["segment_kind"], "agent_handle"))
        talk = (handles.group_by(["kind", "session_id"]).aggregate([("duration_s", "sum")])
                .rename_columns(["kind", "session_id", "talk"]))
        coded = dispositions.filter(pc.is_valid(dispositions["code"]))
        disposed = coded.group_by(["kind", "session_id"]).aggregate([])
        disposed = disposed.append_column("disposed", pa.array([1] * disposed.num_rows, pa.int64()))
        joined = (sessions.select(["kind", "session_id", "menu_path", "created_at", "rating"])
                  .join(talk, keys=["kind", "session_id"], join_type="left outer")
                  .join(disposed, keys=["kind", "session_id"], join_type="left outer"))
        joined = joined.append_column("day", pc.cast(joined["created_at"], pa.date32()))
        answer = joined.group_by(["menu_path", "day"]).aggregate(
            [("session_id", "count"), ("talk", "mean"), ("rating", "mean"), ("disposed", "count")])
        return list(zip(answer["menu_path"].to_pylist(), answer["day"].to_pylist(),
                        answer["session_id_count"].to_pylist(), answer["talk_mean"].to_pylist(),
                        answer["rating_mean"].to_pylist(), answer["disposed_count"].to_pylist()))


class Polars:
    name = "polars"

    def __init__(self, out, tables):
        self.tables = {t: pl.scan_parquet(f"{out / t}/", hive_partitioning=True).collect() for t in tables}

    def rows(self, t):
        return self.tables[t].height

    def types(self):
        s = self.tables["sessions"].schema
        return (s["created_at"] == pl.Datetime("us", "UTC"), s["session_id"] == pl.Int64,
                s["status"] == pl.String)

    def group_count(self, t, col):
        return {("<null>" if r[col] is None else r[col]): r["len"]
                for r in self.tables[t].group_by(col).len().to_dicts()}

    def sessions_by_date(self):
        s = self.tables["sessions"]
        if "date" not in s.columns:
            return {}
        return {r["date"].isoformat(): r["len"] for r in s.group_by("date").len().to_dicts()}

    def sum_duration(self):
        return self.tables["sessions"]["duration_s"].sum() or 0

    def created_range(self):
        c = self.tables["sessions"]["created_at"].dt.epoch("us")
        return (c.min(), c.max())

    def bi(self):
        sessions, segments, dispositions = (self.tables[t] for t in BI_TABLES)
        talk = (segments.filter(pl.col("segment_kind") == "agent_handle")
                .group_by(["kind", "session_id"]).agg(pl.col("duration_s").sum().alias("talk")))
        disposed = (dispositions.filter(pl.col("code").is_not_null())
                    .select(["kind", "session_id"]).unique().with_columns(pl.lit(1).alias("disposed")))
        answer = (sessions.join(talk, on=["kind", "session_id"], how="left")
                  .join(disposed, on=["kind", "session_id"], how="left")
                  .with_columns(pl.col("created_at").dt.date().alias("day"))
                  .group_by(["menu_path", "day"])
                  .agg(pl.len().alias("sessions"), pl.col("talk").mean().alias("avg_talk_s"),
                       pl.col("rating").mean().alias("avg_csat"),
                       pl.col("disposed").count().alias("dispositioned")))
        return [(r["menu_path"], r["day"], r["sessions"], r["avg_talk_s"], r["avg_csat"], r["dispositioned"])
                for r in answer.to_dicts()]


class Spark:
    name = "spark"
    session = None

    @classmethod
    def start(cls):
        from pyspark.sql import SparkSession
        cls.session = (SparkSession.builder.master("local[2]").appName("session-etl-compat")
                       .config("spark.ui.enabled", "false")
                       .config("spark.sql.session.timeZone", "UTC")
                       .config("spark.sql.shuffle.partitions", "4")
                       .config("spark.ui.showConsoleProgress", "false")
                       .getOrCreate())
        cls.session.sparkContext.setLogLevel("ERROR")
        print(f"spark {cls.session.version}, java {cls.session.sparkContext._jvm.System.getProperty('java.version')}")

    def __init__(self, out, tables):
        self.spark = Spark.session
        self.frames = {}
        for t in tables:
            self.frames[t] = self.spark.read.parquet(str(out / t))
            self.frames[t].createOrReplaceTempView(t)

    def q(self, sql):
        return [tuple(r) for r in self.spark.sql(sql).collect()]

    def rows(self, t):
        return self.frames[t].count()

    def types(self):
        from pyspark.sql import types as T
        s = self.frames["sessions"].schema
        return (isinstance(s["created_at"].dataType, T.TimestampType),
                isinstance(s["session_id"].dataType, T.LongType),
                isinstance(s["status"].dataType, T.StringType))

    def group_count(self, t, col):
        return {("<null>" if r[col] is None else r[col]): r["count"]
                for r in self.frames[t].groupBy(col).count().collect()}

    def sessions_by_date(self):
        s = self.frames["sessions"]
        if "date" not in s.columns:
            return {}
        return {r["date"].isoformat(): r["count"] for r in s.groupBy("date").count().collect()}

    def sum_duration(self):
        return self.q("select coalesce(sum(duration_s), 0) from sessions")[0][0]

    def created_range(self):
        return self.q("select unix_micros(min(created_at)), unix_micros(max(created_at)) from sessions")[0]

    def bi(self):
        return self.q(BI_SQL)


def agree(name, readers, answer, expected=None):
    """Checks every reader gives the same answer (and equals `expected`, if given)."""
    answers = {r.name: answer(r) for r in readers}
    values = list(answers.values())
    ok = all(v == values[0] for v in values) and (expected is None or values[0] == expected)
    detail = "; ".join(f"{k}={v}" for k, v in answers.items())
    if expected is not None:
        detail += f"; expected={expected}"
    check(name, ok, detail[:2000])
    return values[0]


def check_output(out, truth, use_spark):
    print(f"== {out}")
    summary = json.loads((out / "_run.json").read_text())
    tables = sorted(summary["rows"])
    folders = sorted(p.name for p in out.iterdir() if p.is_dir() and any(p.rglob("*.parquet")))
    check("one Parquet folder per table in _run.json", folders == tables, f"{folders} vs {tables}")
    kinds = [DuckDB, PyArrow, Polars] + ([Spark] if use_spark else [])
    readers = [k(out, tables) for k in kinds]

    # Every table opens in every reader, through its partitions, with the run summary's rows.
    for t in tables:
        agree(f"{t}: rows", readers, lambda r: r.rows(t), summary["rows"][t])
    # Types as BI tools expect: UTC timestamps, signed 64-bit ids, plain strings.
    for r in readers:
        check(f"{r.name}: created_at UTC timestamp, session_id int64, status string",
              r.types() == (True, True, True), str(r.types()))
    pyarrow = readers[1]
    check("pyarrow: column descriptions in field metadata",
          all(f.metadata and b"description" in f.metadata
              for f in pyarrow.tables["sessions"].schema if f.name != "date"))
    events = pyarrow.tables["events"].schema
    check("pyarrow: events.timestamp is timestamp[us, UTC] and duration int64",
          events.field("timestamp").type == pa.timestamp("us", tz="UTC")
          and events.field("duration").type == pa.int64())

    # The same aggregates from every reader.
    by_status = agree("sessions per status", readers, lambda r: r.group_count("sessions", "status"))
    total = agree("sum(duration_s)", readers, lambda r: r.sum_duration())
    if summary["rows"]["sessions"]:
        agree("min/max created_at", readers, lambda r: r.created_range())
    by_type = agree("participants per type", readers, lambda r: r.group_count("participants", "participant_type"))
    by_code_summary = {c: n for c, n in summary["events"]["by_code"].items() if n}
    by_code = agree("events per code", readers, lambda r: r.group_count("events", "code"), by_code_summary)
    by_date = agree("sessions per date partition", readers, lambda r: r.sessions_by_date())
    bi = agree("BI query: talk time, CSAT and dispositions by queue and day", readers,
               lambda r: canonical(r.bi()))
    check("BI query has an answer", len(bi) > 0 if summary["rows"]["sessions"] else True)

    # Partitions: a session's rows in every table sit under the UTC date of its created_at.
    duck = readers[0]
    if by_date:
        check("sessions partition = UTC date of created_at",
              duck.q("select count(*) from sessions where \"date\" <> cast(created_at as date)")[0][0] == 0)
        check("sessions per date partition add up", sum(by_date.values()) == summary["rows"]["sessions"])
        for t in tables:
            if t in ("sessions", "rejects") or not summary["rows"][t]:
                continue
            misplaced = duck.q(f"select count(*) from {t} c join sessions s using (kind, session_id) "
                               f"where c.\"date\" <> s.\"date\"")[0][0]
            orphans = duck.q(f"select count(*) from {t} c anti join sessions s using (kind, session_id)")[0][0]
            check(f"{t}: rows under their session's date, none without a session",
                  (misplaced, orphans) == (0, 0), f"misplaced={misplaced} orphans={orphans}")

    # The Exchange request bodies are JSON Lines DuckDB reads as they are.
    bodies = sorted((out / "exchange").glob("*.jsonl"))
    if summary["events"]["request_bodies"]:
        lines, n = duck.q(f"select count(*), coalesce(sum(len(events)), 0) from "
                          f"read_json('{out}/exchange/*.jsonl', format = 'newline_delimited')")[0]
        check("duckdb reads the request bodies",
              (lines, n) == (summary["events"]["request_bodies"], summary["events"]["events_in_bodies"]),
              f"{(lines, n)} vs {summary['events']}")
    else:
        check("no request bodies when no event is publishable",
              all(b.stat().st_size == 0 for b in bodies) and summary["events"]["events_in_bodies"] == 0)

    # A generated corpus: the aggregates equal what the generator wrote.
    if truth is not None:
        check("sessions per status = truth", by_status == truth["sessions_by_status"],
              f"{by_status} vs {truth['sessions_by_status']}")
        check("sum(duration_s) = truth", total == truth["sum_duration_s"], f"{total} vs {truth['sum_duration_s']}")
        first, last = duck.q("select strftime(min(created_at), '%Y-%m-%dT%H:%M:%SZ'), "
                             "strftime(max(created_at), '%Y-%m-%dT%H:%M:%SZ') from sessions")[0]
        check("min/max created_at = truth", (first, last) == (truth["min_created_at"], truth["max_created_at"]),
              f"{(first, last)} vs {(truth['min_created_at'], truth['max_created_at'])}")
        check("participants per type = truth", by_type == truth["participants_by_type"],
              f"{by_type} vs {truth['participants_by_type']}")
        truth_codes = {c: n for c, n in truth["events_by_code"].items() if n}
        check("events per code = truth", by_code == truth_codes, f"{by_code} vs {truth_codes}")
        check("rows per table = truth", {t: summary["rows"][t] for t in tables} == truth["rows"],
              f"{summary['rows']} vs {truth['rows']}")


def check_readme_examples(readme, out):
    """Runs every ```sql (DuckDB) and ```python block of the README's 'Querying the output'
    section on `out` (for `out/demo`): each must run and print or return rows."""
    import contextlib
    import io
    import re
    text = readme.read_text()
    section = text.split("### Querying the output", 1)[1]
    section = re.split(r"\n##", section, maxsplit=1)[0]
    blocks = re.findall(r"```(sql|python)\n(.*?)```", section, flags=re.S)
    check("README has a DuckDB, pyarrow, Polars and Spark example",
          [lang for lang, _ in blocks] == ["sql", "python", "python", "python"]
          and all(name in section.lower() for name in ("duckdb", "pyarrow", "pandas", "polars", "pyspark")),
          str([lang for lang, _ in blocks]))
    for i, (lang, code) in enumerate(blocks, 1):
        code = code.replace("out/demo", str(out))
        printed = io.StringIO()
        try:
            if lang == "sql":
                rows = duckdb.connect().execute(code).fetchall()
                ok, detail = len(rows) > 0, f"{len(rows)} rows"
            else:
                with contextlib.redirect_stdout(printed):
                    exec(compile(code, f"README example {i}", "exec"), {})
                ok, detail = printed.getvalue().strip() != "", printed.getvalue()[:500]
        except Exception as e:  # noqa: BLE001 - any failure of an example is reported
            ok, detail = False, f"{type(e).__name__}: {e}"
        check(f"README example {i} ({lang}) runs and answers", ok, detail)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("outputs", nargs="+", type=Path)
    parser.add_argument("--truth", type=Path)
    parser.add_argument("--no-spark", action="store_true", help="skip Spark (it needs Java 17)")
    parser.add_argument("--readme", type=Path, help="also run this README's example queries on the first output")
    args = parser.parse_args()
    truth = json.loads(args.truth.read_text()) if args.truth else None
    if truth is not None and len(args.outputs) != 1:
        parser.error("--truth goes with exactly one output")
    use_spark = not args.no_spark
    if use_spark:
        Spark.start()
    print(f"duckdb {duckdb.__version__}, pyarrow {pa.__version__}, polars {pl.__version__}")
    for out in args.outputs:
        check_output(out, truth, use_spark)
    if args.readme:
        check_readme_examples(args.readme, args.outputs[0])
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    main()
