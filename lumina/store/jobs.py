"""Jobs and their work items."""

from __future__ import annotations

import json
from typing import Any, Sequence

import duckdb


from lumina.errors import NotFoundError
from lumina.records import Job, JobItem
from lumina.store.db import registered

_COLS = (
    "id, project_id, kind, params, status, total, done, failed, tokens, busy_s, pid, pid_started,"
    " heartbeat_at, created_at, started_at, finished_at, cancel_requested, error, log_path, result"
)
ACTIVE = ("queued", "running")


def _row(r: tuple) -> Job:
    names = [c.strip() for c in _COLS.split(",")]
    d = dict(zip(names, r))
    d["params"] = json.loads(d["params"]) if d["params"] else {}
    d["result"] = json.loads(d["result"]) if d["result"] else None
    return Job(**d)


def create(con: duckdb.DuckDBPyConnection, kind: str, project_id: int | None, params: dict[str, Any]) -> Job:
    r = con.execute(
        f"INSERT INTO jobs (kind, project_id, params, status) VALUES (?, ?, ?, 'queued') RETURNING {_COLS}",
        [kind, project_id, json.dumps(params)],
    ).fetchone()
    return _row(r)


def get(con: duckdb.DuckDBPyConnection, job_id: int) -> Job:
    r = con.execute(f"SELECT {_COLS} FROM jobs WHERE id = ?", [job_id]).fetchone()
    if not r:
        raise NotFoundError(f"No job with id {job_id}.")
    return _row(r)


def list_jobs(con: duckdb.DuckDBPyConnection, project_id: int | None = None, limit: int = 100) -> list[Job]:
    sql = f"SELECT {_COLS} FROM jobs"
    params: list[Any] = []
    if project_id is not None:
        sql += " WHERE project_id = ?"
        params.append(project_id)
    sql += " ORDER BY id DESC LIMIT ?"
    params.append(limit)
    return [_row(r) for r in con.execute(sql, params).fetchall()]


def update(con: duckdb.DuckDBPyConnection, job_id: int, **fields: Any) -> None:
    if not fields:
        return
    sets = ", ".join(f"{k} = ?" for k in fields)
    values = [json.dumps(v) if k in ("params", "result") else v for k, v in fields.items()]
    con.execute(f"UPDATE jobs SET {sets} WHERE id = ?", [*values, job_id])


def mark_started(con: duckdb.DuckDBPyConnection, job_id: int, pid: int, pid_started: float) -> None:
    # cancel_requested is left as it is: a cancel that arrives while the worker is starting up
    # must still stop it (resume() clears the flag before relaunching).
    con.execute(
        "UPDATE jobs SET status = 'running', pid = ?, pid_started = ?, error = NULL,"
        " started_at = coalesce(started_at, current_timestamp), heartbeat_at = current_timestamp,"
        " finished_at = NULL WHERE id = ?",
        [pid, pid_started, job_id],
    )


def heartbeat(con: duckdb.DuckDBPyConnection, job_id: int) -> bool:
    """Touch the heartbeat; return whether cancellation was requested."""
    r = con.execute(
        "UPDATE jobs SET heartbeat_at = current_timestamp WHERE id = ? RETURNING cancel_requested",
        [job_id],
    ).fetchone()
    return bool(r and r[0])


def finish(con: duckdb.DuckDBPyConnection, job_id: int, status: str, error: str | None = None) -> None:
    con.execute(
        "UPDATE jobs SET status = ?, error = ?, finished_at = current_timestamp,"
        " heartbeat_at = current_timestamp WHERE id = ?",
        [status, error, job_id],
    )


def add_items(con: duckdb.DuckDBPyConnection, job_id: int, items: Sequence[tuple[str, dict[str, Any]]]) -> int:
    rows = [(job_id, key, i, json.dumps(payload)) for i, (key, payload) in enumerate(items)]
    if rows:
        con.executemany("INSERT INTO job_items (job_id, key, position, payload) VALUES (?, ?, ?, ?)", rows)
    con.execute(
        "UPDATE jobs SET total = (SELECT count(*) FROM job_items WHERE job_id = ?) WHERE id = ?",
        [job_id, job_id],
    )
    return len(rows)


def item_count(con: duckdb.DuckDBPyConnection, job_id: int) -> int:
    return con.execute("SELECT count(*) FROM job_items WHERE job_id = ?", [job_id]).fetchone()[0]


def _item(r: tuple) -> JobItem:
    return JobItem(job_id=r[0], key=r[1], position=r[2], payload=json.loads(r[3]), status=r[4],
                   attempts=r[5], error=r[6], raw=r[7], sample_id=r[8])


_ITEM_COLS = "job_id, key, position, payload, status, attempts, error, raw, sample_id"


def pending_items(con: duckdb.DuckDBPyConnection, job_id: int, limit: int) -> list[JobItem]:
    rows = con.execute(
        f"SELECT {_ITEM_COLS} FROM job_items WHERE job_id = ? AND status = 'pending'"
        " ORDER BY position LIMIT ?",
        [job_id, limit],
    ).fetchall()
    return [_item(r) for r in rows]


def failed_items(con: duckdb.DuckDBPyConnection, job_id: int, limit: int = 1000) -> list[JobItem]:
    rows = con.execute(
        f"SELECT {_ITEM_COLS} FROM job_items WHERE job_id = ? AND status = 'failed' ORDER BY position LIMIT ?",
        [job_id, limit],
    ).fetchall()
    return [_item(r) for r in rows]


def complete_item(con: duckdb.DuckDBPyConnection, job_id: int, key: str, sample_id: int | None) -> None:
    con.execute(
        "UPDATE job_items SET status = 'done', sample_id = ?, attempts = attempts + 1, error = NULL,"
        " raw = NULL, updated_at = current_timestamp WHERE job_id = ? AND key = ?",
        [sample_id, job_id, key],
    )


def fail_item(con: duckdb.DuckDBPyConnection, job_id: int, key: str, error: str, raw: str | None) -> None:
    con.execute(
        "UPDATE job_items SET status = 'failed', attempts = attempts + 1, error = ?, raw = ?,"
        " updated_at = current_timestamp WHERE job_id = ? AND key = ?",
        [error, raw, job_id, key],
    )


def complete_items(con: duckdb.DuckDBPyConnection, job_id: int, done: Sequence[tuple[str, int | None]]) -> None:
    """Mark items done with their sample ids, in one statement."""
    import pyarrow as pa

    if not done:
        return
    batch = pa.table({"key": [k for k, _ in done], "sample_id": pa.array([s for _, s in done], type=pa.int64())})
    with registered(con, "done_items", batch):
        con.execute(
            "UPDATE job_items SET status = 'done', sample_id = d.sample_id, attempts = attempts + 1,"
            " error = NULL, raw = NULL, updated_at = current_timestamp"
            " FROM done_items d WHERE job_items.job_id = ? AND job_items.key = d.key", [job_id])


def fail_items(con: duckdb.DuckDBPyConnection, job_id: int, failed: Sequence[tuple[str, str, str | None]]) -> None:
    """Mark items failed with their error and raw teacher text, in one statement."""
    import pyarrow as pa

    if not failed:
        return
    batch = pa.table({"key": [k for k, _, _ in failed], "error": [e for _, e, _ in failed],
                      "raw": pa.array([r for _, _, r in failed], type=pa.string())})
    with registered(con, "failed_items", batch):
        con.execute(
            "UPDATE job_items SET status = 'failed', attempts = attempts + 1, error = f.error, raw = f.raw,"
            " updated_at = current_timestamp FROM failed_items f WHERE job_items.job_id = ? AND job_items.key = f.key",
            [job_id])


def retry_failed(con: duckdb.DuckDBPyConnection, job_id: int) -> int:
    (n,) = con.execute(
        "SELECT count(*) FROM job_items WHERE job_id = ? AND status = 'failed'", [job_id]
    ).fetchone()
    con.execute("UPDATE job_items SET status = 'pending' WHERE job_id = ? AND status = 'failed'", [job_id])
    refresh_counts(con, job_id)
    return n


def refresh_counts(con: duckdb.DuckDBPyConnection, job_id: int, tokens: int = 0, busy_s: float = 0.0) -> None:
    """Recount done/failed from the items (the items are the truth) and add throughput."""
    con.execute(
        """
        UPDATE jobs SET
          done = (SELECT count(*) FROM job_items WHERE job_id = ? AND status = 'done'),
          failed = (SELECT count(*) FROM job_items WHERE job_id = ? AND status = 'failed'),
          tokens = tokens + ?, busy_s = busy_s + ?, heartbeat_at = current_timestamp
        WHERE id = ?
        """,
        [job_id, job_id, tokens, busy_s, job_id],
    )


def active(con: duckdb.DuckDBPyConnection) -> list[Job]:
    return [_row(r) for r in con.execute(
        f"SELECT {_COLS} FROM jobs WHERE status IN ('queued', 'running')"
    ).fetchall()]


def finished_with_throughput(con: duckdb.DuckDBPyConnection, kinds: Sequence[str], limit: int = 200) -> list[Job]:
    """Recent jobs of these kinds that measured something (tokens and busy time), newest first."""
    return [_row(r) for r in con.execute(
        f"SELECT {_COLS} FROM jobs WHERE kind IN (SELECT unnest(?)) AND tokens > 0 AND busy_s > 0"
        " ORDER BY id DESC LIMIT ?", [list(kinds), limit]).fetchall()]
