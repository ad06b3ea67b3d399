#!/usr/bin/env python3
"""DuckDB reference implementation of the core session-etl job, for benchmark comparison.

    python benches/duckdb_job.py CORPUS_DIR OUT_DIR [--threads N] [--reader json_objects]

Reads every `*.json` and `*.json.gz` under CORPUS_DIR (recursively, hidden entries skipped, like
session-etl) with DuckDB's `read_json` and explicit columns, and does in SQL what session-etl does
for the two main tables:

* kind (`call`/`chat`) from the document's `call_type`/`call_uuid` vs `chat_type`/`chat_uuid`
  keys, then `session_type_v2`/`session_type` (`Voice ...`/`Messaging ...`), then the file name
  prefix (`call-`, `chat-`); files whose kind cannot be decided are dropped;
* status → canonical name + numeric code (the table of src/normalize/status.rs; names match up to
  ASCII case and ` `/`-` for `_`, `cancelled` → `canceled`, unknown values kept as written);
* `created_at`/`updated_at`/`ends_at` and participant times → UTC TIMESTAMPTZ;
* durations (numbers or numeric strings) → BIGINT whole seconds, fractions rounded;
* dedup by (kind, id): newest `updated_at` wins, ties to the path that sorts last;
* OUT_DIR/sessions.parquet and OUT_DIR/participants.parquet, zstd.

Prints one JSON line: {"files", "sessions", "participants", "wall_s", "duckdb"}. Wall time covers
the whole job (connect, file listing, reading, writing). If DuckDB fails (e.g. on a malformed
file) its error goes to stderr and the exit status is 1.

Deliberate simplifications relative to session-etl (which rejects a bad file and goes on):
a duration that is negative or not a number becomes NULL instead of rejecting the file; a
timestamp without a UTC offset is read as UTC instead of rejecting the file; any JSON syntax or
timestamp error aborts the whole job (DuckDB's read_json has no per-file reject table); a
document with a non-integer `id` is dropped (read_json: aborts) rather than listed as a reject.

`--reader json_objects` reads the same files with `read_json_objects` and extracts the same
columns with `from_json`: same output, same abort on malformed JSON, but without read_json's
per-file cost, which dominates on a tree of thousands of small pretty-printed files.
"""

import argparse
import json
import os
import sys
import time

import duckdb

# (name, code) from src/normalize/status.rs; code NULL for the names without a published code.
STATUSES = [
    ("scheduled", 0), ("queued", 1), ("assigned", 2), ("connecting", 3), ("switching", 4),
    ("connected", 5), ("finished", 8), ("failed", 9), ("recovered", 10), ("deflected", 11),
    ("selecting", 12), ("va_assigned", 13), ("va_connected", 14), ("preview_pending", 15),
    ("preview_ready", 16), ("campaign_connecting", 17), ("campaign_connected", 18),
    ("requeued", 19), ("predictive_waiting", 20), ("progressive_waiting", 21),
    ("preview_waiting", 22), ("campaign_dialing", 23), ("voicemail", 80),
    ("voicemail_received", 81),
    ("canceled", None), ("action_only", None), ("action_only_finished", None),
    ("voicemail_read", None),
]

# Only the fields the two tables need; everything else in the documents is skipped. Timestamps
# are read as text and cast in SQL (a strict cast: an impossible date aborts the job with both
# readers; `from_json` alone would turn it into NULL silently).
PARTICIPANT = (
    "STRUCT(id BIGINT, type VARCHAR, connected_at VARCHAR, ended_at VARCHAR, "
    "finished_at VARCHAR, call_duration VARCHAR, chat_duration VARCHAR)[]"
)
COLUMNS = {
    "id": "BIGINT",
    "call_type": "VARCHAR",
    "call_uuid": "VARCHAR",
    "chat_type": "VARCHAR",
    "chat_uuid": "VARCHAR",
    "session_type": "VARCHAR",
    "session_type_v2": "VARCHAR",
    "status": "VARCHAR",  # a JSON number 8 arrives as the text '8'
    "created_at": "VARCHAR",
    "updated_at": "VARCHAR",
    "ends_at": "VARCHAR",
    "call_duration": "VARCHAR",  # numbers or numeric strings
    "chat_duration": "VARCHAR",
    "wait_duration": "VARCHAR",
    "agent_info": "STRUCT(id BIGINT)",
    "menu_path": "STRUCT(name VARCHAR)",
    "participants": PARTICIPANT,
}


def source(reader: str) -> str:
    """The documents as rows of COLUMNS plus `filename`, read from getvariable('files')."""
    if reader == "read_json":
        columns = "{" + ", ".join(f"{k}: {lit(v)}" for k, v in COLUMNS.items()) + "}"
        return f"""
            SELECT * FROM read_json(getvariable('files'), columns = {columns},
                                    format = 'unstructured', records = true,
                                    filename = true, maximum_object_size = 67108864)"""
    # read_json_objects splits the files into one JSON value per document (same parser, same
    # gzip handling, same errors on malformed JSON); from_json then extracts the same columns.
    structure = json.dumps(COLUMNS)
    return f"""
            SELECT d.*, filename
            FROM (SELECT from_json(json, {lit(structure)}) AS d, filename
                  FROM read_json_objects(getvariable('files'), format = 'unstructured',
                                         filename = true, maximum_object_size = 67108864))"""


def lit(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def job(con: duckdb.DuckDBPyConnection, corpus: str, out: str, threads: int,
        reader: str = "read_json") -> dict:
    con.execute(f"SET threads = {int(threads)}")
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET preserve_insertion_order = false")

    con.execute(
        "CREATE TEMP TABLE status_map(name VARCHAR, code BIGINT, key VARCHAR)"
    )
    con.executemany(
        "INSERT INTO status_map VALUES (?, ?, ?)",
        [(n, c, n) for n, c in STATUSES] + [("canceled", None, "cancelled")],
    )

    # Duration text/number -> whole seconds (rounded half away from zero, like f64::round);
    # negative, non-finite or non-numeric -> NULL.
    con.execute(
        """
        CREATE TEMP MACRO secs(v) AS (
            CASE WHEN isfinite(try_cast(trim(v) AS DOUBLE)) AND try_cast(trim(v) AS DOUBLE) >= 0
                 THEN CAST(round(try_cast(trim(v) AS DOUBLE)) AS BIGINT) END)
        """
    )

    # The input list: *.json and *.json.gz under the corpus, no hidden entries (session-etl skips
    # `.name` files and folders). Listed in SQL so that an absent extension is not an error.
    root = corpus.rstrip("/") or "/"
    con.execute(
        f"""
        SET VARIABLE files = (
            SELECT coalesce(list(file ORDER BY file), [])
            FROM glob({lit(root + '/**')})
            WHERE (file LIKE '%.json' OR file LIKE '%.json.gz')
              AND NOT contains(substr(file, {len(root) + 1}), '/.'))
        """
    )
    n_files = con.execute("SELECT len(getvariable('files'))").fetchone()[0]
    if n_files == 0:
        raise FileNotFoundError(f"no *.json or *.json.gz files under {corpus}")

    con.execute(
        f"""
        CREATE TEMP TABLE raw AS
        WITH docs AS ({source(reader)}
        ), src AS (
            SELECT *, lower(regexp_extract(filename, '[^/]*$')) AS base,
                   trim(status) AS st,
                   regexp_full_match(trim(status), '[+-]?[0-9]+') AS st_is_int,
                   ltrim(lower(coalesce(session_type_v2, session_type))) AS stype
            FROM docs
        ), keyed AS (
            SELECT *,
                   CASE
                     WHEN (call_type IS NOT NULL OR call_uuid IS NOT NULL)
                          AND chat_type IS NULL AND chat_uuid IS NULL THEN 'call'
                     WHEN (chat_type IS NOT NULL OR chat_uuid IS NOT NULL)
                          AND call_type IS NULL AND call_uuid IS NULL THEN 'chat'
                     WHEN (call_type IS NOT NULL OR call_uuid IS NOT NULL) THEN NULL  -- both: reject
                     WHEN starts_with(stype, 'voice') THEN 'call'
                     WHEN starts_with(stype, 'messaging') THEN 'chat'
                     WHEN base LIKE 'call-%' OR base LIKE 'call\\_%' ESCAPE '\\' THEN 'call'
                     WHEN base LIKE 'chat-%' OR base LIKE 'chat\\_%' ESCAPE '\\' THEN 'chat'
                   END AS kind
            FROM src
        )
        SELECT k.kind, k.id AS session_id,
               coalesce(bycode.name, byname.name, k.st) AS status,
               coalesce(bycode.code, byname.code) AS status_code,
               CAST(k.created_at AS TIMESTAMPTZ) AS created_at,
               CAST(k.updated_at AS TIMESTAMPTZ) AS updated_at,
               CAST(k.ends_at AS TIMESTAMPTZ) AS ends_at,
               secs(coalesce(k.call_duration, k.chat_duration)) AS duration_s,
               secs(k.wait_duration) AS wait_duration_s,
               k.agent_info.id AS agent_id,
               k.menu_path.name AS menu_path,
               k.filename AS source_path,
               k.participants
        FROM keyed k
        LEFT JOIN status_map bycode
               ON k.st_is_int AND bycode.key = bycode.name
              AND bycode.code = try_cast(k.st AS BIGINT)
        LEFT JOIN status_map byname
               ON NOT k.st_is_int
              AND byname.key = lower(replace(replace(k.st, ' ', '_'), '-', '_'))
        WHERE k.kind IS NOT NULL AND k.id IS NOT NULL AND k.created_at IS NOT NULL
        """
    )

    con.execute(
        """
        CREATE TEMP TABLE sessions AS
        SELECT *, count(*) OVER w AS export_count
        FROM raw
        WINDOW w AS (PARTITION BY kind, session_id)
        QUALIFY row_number() OVER (PARTITION BY kind, session_id
                                   ORDER BY updated_at DESC NULLS LAST, source_path DESC) = 1
        """
    )

    n_sessions = con.execute(
        f"""
        COPY (SELECT kind, session_id, status, status_code, created_at, updated_at, ends_at,
                     duration_s, wait_duration_s, agent_id, menu_path, export_count, source_path
              FROM sessions ORDER BY kind, session_id)
        TO {lit(os.path.join(out, 'sessions.parquet'))} (FORMAT parquet, COMPRESSION zstd)
        """
    ).fetchone()[0]

    n_participants = con.execute(
        f"""
        COPY (SELECT s.kind, s.session_id,
                     p.id AS participant_id, p.type AS participant_type,
                     CAST(p.connected_at AS TIMESTAMPTZ) AS connected_at,
                     CAST(coalesce(p.ended_at, p.finished_at) AS TIMESTAMPTZ) AS left_at,
                     secs(coalesce(p.call_duration, p.chat_duration)) AS duration_s
              FROM sessions s, unnest(s.participants) AS u(p)
              ORDER BY s.kind, s.session_id)
        TO {lit(os.path.join(out, 'participants.parquet'))} (FORMAT parquet, COMPRESSION zstd)
        """
    ).fetchone()[0]

    return {"files": n_files, "sessions": n_sessions, "participants": n_participants}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", metavar="CORPUS_DIR")
    ap.add_argument("out", metavar="OUT_DIR")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--reader", choices=["read_json", "json_objects"], default="read_json",
        help="read_json with explicit columns (default), or read_json_objects + from_json "
        "(same columns and rules; much less per-file overhead on many small files)")
    args = ap.parse_args()
    if args.threads < 1:
        ap.error("--threads must be at least 1")

    start = time.perf_counter()
    try:
        os.makedirs(args.out, exist_ok=True)
        con = duckdb.connect(":memory:")
        try:
            counts = job(con, args.corpus, args.out, args.threads, args.reader)
        finally:
            con.close()
    except duckdb.Error as e:
        print(f"duckdb_job: DuckDB failed: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"duckdb_job: {e}", file=sys.stderr)
        return 1
    wall = time.perf_counter() - start
    print(json.dumps({**counts, "wall_s": round(wall, 3), "duckdb": duckdb.__version__}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
