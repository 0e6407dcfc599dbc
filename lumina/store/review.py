"""Review events (append-only) and the sample state they derive, plus the review queue's queries.

``samples.status`` and the sample's text are a cache of the events: each event is written in
the same transaction as the change it describes, so the two never disagree.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Sequence

import duckdb

from lumina.records import ReviewEvent, SampleFilter
from lumina.store.db import registered
from lumina.store.filters import where

_EVENT_COLS = "id, project_id, sample_id, reviewer, action, reason, before, after, created_at"


def _event(r: tuple) -> ReviewEvent:
    d = dict(zip([c.strip() for c in _EVENT_COLS.split(",")], r))
    for k in ("before", "after"):
        d[k] = json.loads(d[k]) if d[k] is not None else None
    return ReviewEvent(**d)


def append(con: duckdb.DuckDBPyConnection, project_id: int, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Append events (dicts with sample_id, reviewer, action, reason, before, after) in one
    statement; returns their ids in order."""
    import pyarrow as pa

    if not rows:
        return []
    ids = [r[0] for r in con.execute("SELECT nextval('review_event_ids') FROM range(?)", [len(rows)]).fetchall()]
    table = pa.table({
        "id": pa.array(ids, type=pa.int64()),
        "project_id": pa.array([project_id] * len(rows), type=pa.int64()),
        "sample_id": pa.array([r["sample_id"] for r in rows], type=pa.int64()),
        "reviewer": [r["reviewer"] for r in rows],
        "action": [r["action"] for r in rows],
        "reason": pa.array([r.get("reason") for r in rows], type=pa.string()),
        "before": pa.array([json.dumps(r["before"], ensure_ascii=False) if r.get("before") is not None else None
                            for r in rows], type=pa.string()),
        "after": pa.array([json.dumps(r["after"], ensure_ascii=False) if r.get("after") is not None else None
                           for r in rows], type=pa.string()),
    })
    with registered(con, "new_events", table):
        con.execute("INSERT INTO review_events (id, project_id, sample_id, reviewer, action, reason, before, after)"
                    " SELECT id, project_id, sample_id, reviewer, action, reason, before, after FROM new_events")
    return ids


def statuses(con: duckdb.DuckDBPyConnection, project_id: int, ids: Sequence[int]) -> dict[int, str]:
    rows = con.execute("SELECT id, status FROM samples WHERE project_id = ? AND id IN (SELECT unnest(?))",
                       [project_id, list(ids)]).fetchall()
    return dict(rows)


def last_events(con: duckdb.DuckDBPyConnection, ids: Sequence[int],
                actions: Sequence[str] = ("approve", "reject", "edit", "undo")) -> dict[int, ReviewEvent]:
    """Each sample's latest event of these kinds (who changed it last, for a conflict's message)."""
    rows = con.execute(
        f"SELECT {_EVENT_COLS} FROM review_events WHERE sample_id IN (SELECT unnest(?))"
        " AND action IN (SELECT unnest(?)) QUALIFY row_number() OVER (PARTITION BY sample_id ORDER BY id DESC) = 1",
        [list(ids), list(actions)]).fetchall()
    return {e.sample_id: e for e in map(_event, rows)}


def set_statuses(con: duckdb.DuckDBPyConnection, changes: Sequence[tuple[int, str]]) -> None:
    import pyarrow as pa

    if not changes:
        return
    table = pa.table({"id": pa.array([c[0] for c in changes], type=pa.int64()),
                      "status": [c[1] for c in changes]})
    with registered(con, "status_changes", table):
        con.execute("UPDATE samples SET status = c.status FROM status_changes c WHERE samples.id = c.id")


def text_of(con: duckdb.DuckDBPyConnection, sample_id: int) -> dict[str, Any] | None:
    r = con.execute("SELECT instruction, response, messages, status FROM samples WHERE id = ?",
                    [sample_id]).fetchone()
    if not r:
        return None
    return {"instruction": r[0], "response": r[1], "messages": json.loads(r[2]), "status": r[3]}


def set_text(con: duckdb.DuckDBPyConnection, sample_id: int, instruction: str, response: str,
             messages: list[dict[str, str]]) -> None:
    con.execute("UPDATE samples SET instruction = ?, response = ?, messages = ? WHERE id = ?",
                [instruction, response, json.dumps(messages, ensure_ascii=False), sample_id])


def get_event(con: duckdb.DuckDBPyConnection, event_id: int) -> ReviewEvent | None:
    r = con.execute(f"SELECT {_EVENT_COLS} FROM review_events WHERE id = ?", [event_id]).fetchone()
    return _event(r) if r else None


def last_undoable(con: duckdb.DuckDBPyConnection, project_id: int, reviewer: str) -> ReviewEvent | None:
    """The reviewer's latest decision that no undo has reversed yet."""
    r = con.execute(
        f"SELECT {_EVENT_COLS} FROM review_events e WHERE project_id = ? AND reviewer = ? AND action <> 'undo'"
        " AND id NOT IN (SELECT CAST(json_extract(after, '$.undoes') AS BIGINT) FROM review_events"
        "                WHERE project_id = ? AND action = 'undo')"
        " ORDER BY id DESC LIMIT 1",
        [project_id, reviewer, project_id],
    ).fetchone()
    return _event(r) if r else None


def later_events(con: duckdb.DuckDBPyConnection, sample_id: int, after_id: int) -> list[ReviewEvent]:
    """Events on the sample after ``after_id`` that still stand (not undone, not undos)."""
    rows = con.execute(
        f"SELECT {_EVENT_COLS} FROM review_events WHERE sample_id = ? AND id > ? AND action <> 'undo'"
        " AND id NOT IN (SELECT CAST(json_extract(after, '$.undoes') AS BIGINT) FROM review_events"
        "                WHERE sample_id = ? AND action = 'undo') ORDER BY id",
        [sample_id, after_id, sample_id],
    ).fetchall()
    return [_event(r) for r in rows]


def history(con: duckdb.DuckDBPyConnection, sample_id: int) -> list[ReviewEvent]:
    rows = con.execute(f"SELECT {_EVENT_COLS} FROM review_events WHERE sample_id = ? ORDER BY id",
                       [sample_id]).fetchall()
    return [_event(r) for r in rows]


def recent(con: duckdb.DuckDBPyConnection, project_id: int, reviewer: str | None = None,
           limit: int = 50) -> list[ReviewEvent]:
    sql = f"SELECT {_EVENT_COLS} FROM review_events WHERE project_id = ?"
    params: list[Any] = [project_id]
    if reviewer:
        sql += " AND reviewer = ?"
        params.append(reviewer)
    rows = con.execute(sql + " ORDER BY id DESC LIMIT ?", [*params, limit]).fetchall()
    return [_event(r) for r in rows]


# --- the queue -------------------------------------------------------------------------------

JUDGE_METRIC = ("judge", "overall")  # the LLM judge's mean grade, 1-5

ORDERS = {
    "oldest": "s.id",
    "newest": "s.id DESC",
    "lowest judge score": "j.value ASC NULLS LAST, s.id",
    # A mid-scale grade is where the judge itself was least sure whether to keep the sample.
    "most uncertain": "abs(j.value - 3) ASC NULLS LAST, s.id",
    "by node": "s.node_path NULLS LAST, s.id",
    "random": "hash(s.id + ?) , s.id",
}


def _queue_where(project_id: int, f: SampleFilter, reviewer: str, double_fraction: float,
                 exclude: Sequence[int], now: datetime | None = None) -> tuple[str, list[Any]]:
    """Pending samples, plus (with double review) samples of the double-review share that
    someone else decided and this reviewer has not; minus those another reviewer holds a
    lease on."""
    base = SampleFilter(**{**f.__dict__, "status": None})
    cond, params = where(project_id, base, alias="s")
    wanted = "s.status = 'pending'"
    if double_fraction > 0:
        # ... until two different people have decided on it
        wanted = (f"({wanted} OR (hash(s.id) % 1000 < ? AND s.id NOT IN"
                  " (SELECT sample_id FROM review_events WHERE project_id = ? AND reviewer = ?"
                  "  AND action IN ('approve', 'reject'))"
                  " AND (SELECT count(DISTINCT reviewer) FROM review_events r WHERE r.project_id = ?"
                  "  AND r.sample_id = s.id AND r.action IN ('approve', 'reject')) < 2))")
        params += [int(double_fraction * 1000), project_id, reviewer, project_id]
    cond += f" AND {wanted}"
    cond += (" AND s.id NOT IN (SELECT sample_id FROM review_leases"
             " WHERE project_id = ? AND reviewer <> ? AND expires_at > ?)")
    params += [project_id, reviewer, now or datetime.now()]
    if exclude:
        cond += " AND s.id NOT IN (SELECT unnest(?))"
        params.append(list(exclude))
    return cond, params


def queue_ids(con: duckdb.DuckDBPyConnection, project_id: int, f: SampleFilter, order: str, reviewer: str,
              double_fraction: float = 0.0, exclude: Sequence[int] = (), seed: int = 0,
              limit: int = 1, now: datetime | None = None) -> list[int]:
    cond, params = _queue_where(project_id, f, reviewer, double_fraction, exclude, now)
    order_sql = ORDERS[order]
    join = ""
    if "j.value" in order_sql:
        join = "LEFT JOIN scores j ON j.sample_id = s.id AND j.scorer = ? AND j.metric = ?"
        params = [*JUDGE_METRIC, *params]
    order_params = [seed] if order == "random" else []
    rows = con.execute(f"SELECT s.id FROM samples s {join} WHERE {cond} ORDER BY {order_sql} LIMIT ?",
                       [*params, *order_params, limit]).fetchall()
    return [r[0] for r in rows]


def queue_count(con: duckdb.DuckDBPyConnection, project_id: int, f: SampleFilter, reviewer: str,
                double_fraction: float = 0.0, exclude: Sequence[int] = (), now: datetime | None = None) -> int:
    cond, params = _queue_where(project_id, f, reviewer, double_fraction, exclude, now)
    return con.execute(f"SELECT count(*) FROM samples s WHERE {cond}", params).fetchone()[0]


def filtered_ids(con: duckdb.DuckDBPyConnection, project_id: int, f: SampleFilter) -> list[int]:
    return list(filtered_statuses(con, project_id, f))


def filtered_statuses(con: duckdb.DuckDBPyConnection, project_id: int, f: SampleFilter) -> dict[int, str]:
    cond, params = where(project_id, f)
    return dict(con.execute(f"SELECT id, status FROM samples WHERE {cond} ORDER BY id", params).fetchall())


def lease(con: duckdb.DuckDBPyConnection, project_id: int, sample_id: int, reviewer: str,
          until: datetime, now: datetime) -> None:
    """The sample is the reviewer's until ``until``; a reviewer holds one lease per project (the
    head they are shown), and expired leases go."""
    con.execute("DELETE FROM review_leases WHERE sample_id <> ? AND (expires_at <= ?"
                " OR (project_id = ? AND reviewer = ?))", [sample_id, now, project_id, reviewer])
    con.execute("INSERT OR REPLACE INTO review_leases (sample_id, project_id, reviewer, expires_at)"
                " VALUES (?, ?, ?, ?)", [sample_id, project_id, reviewer, until])


def release(con: duckdb.DuckDBPyConnection, sample_ids: Sequence[int]) -> None:
    con.execute("DELETE FROM review_leases WHERE sample_id IN (SELECT unnest(?))", [list(sample_ids)])


def release_reviewer(con: duckdb.DuckDBPyConnection, project_id: int, reviewer: str) -> None:
    con.execute("DELETE FROM review_leases WHERE project_id = ? AND reviewer = ?", [project_id, reviewer])


# --- progress and agreement -------------------------------------------------------------------

def standing_decisions(con: duckdb.DuckDBPyConnection, project_id: int) -> list[tuple[int, str, str, Any]]:
    """(sample, reviewer, approve|reject, time) of every decision not undone: each reviewer's last
    one per sample."""
    return con.execute(
        "SELECT sample_id, reviewer, action, created_at FROM ("
        "  SELECT *, row_number() OVER (PARTITION BY sample_id, reviewer ORDER BY id DESC) AS k"
        "  FROM review_events WHERE project_id = ? AND action IN ('approve', 'reject')"
        "  AND id NOT IN (SELECT CAST(json_extract(after, '$.undoes') AS BIGINT) FROM review_events"
        "                 WHERE project_id = ? AND action = 'undo')"
        ") WHERE k = 1 ORDER BY sample_id, created_at",
        [project_id, project_id],
    ).fetchall()


def decisions_since(con: duckdb.DuckDBPyConnection, project_id: int, since: Any,
                    reviewer: str | None = None) -> int:
    # A bulk action counts once: the rate is of a reviewer's decisions, not of rows touched.
    sql = ("SELECT count(DISTINCT coalesce(json_extract_string(after, '$.batch'), CAST(id AS VARCHAR)))"
           " FROM review_events WHERE project_id = ? AND action IN ('approve', 'reject', 'edit')"
           " AND created_at >= ?")
    params: list[Any] = [project_id, since]
    if reviewer:
        sql += " AND reviewer = ?"
        params.append(reviewer)
    return con.execute(sql, params).fetchone()[0]


def per_reviewer(con: duckdb.DuckDBPyConnection, project_id: int, since: Any) -> list[tuple[str, int, Any, Any]]:
    """(reviewer, decisions, first, last) per reviewer since ``since``; a bulk action counts once."""
    return con.execute(
        "SELECT reviewer, count(DISTINCT coalesce(json_extract_string(after, '$.batch'), CAST(id AS VARCHAR))),"
        " min(created_at), max(created_at) FROM review_events"
        " WHERE project_id = ? AND action IN ('approve', 'reject', 'edit') AND created_at >= ?"
        " GROUP BY reviewer ORDER BY 2 DESC",
        [project_id, since],
    ).fetchall()


def status_by_node(con: duckdb.DuckDBPyConnection, project_id: int) -> list[tuple[str | None, int, int, int]]:
    """(node, pending, approved, rejected) per node path."""
    return con.execute(
        "SELECT node_path, count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'approved'),"
        " count(*) FILTER (WHERE status = 'rejected') FROM samples WHERE project_id = ?"
        " GROUP BY node_path ORDER BY node_path NULLS LAST",
        [project_id],
    ).fetchall()


def batch_events(con: duckdb.DuckDBPyConnection, project_id: int, reviewer: str, batch: str) -> list[ReviewEvent]:
    """The reviewer's events of one bulk action that still stand."""
    rows = con.execute(
        f"SELECT {_EVENT_COLS} FROM review_events WHERE project_id = ? AND reviewer = ? AND action <> 'undo'"
        " AND json_extract_string(after, '$.batch') = ?"
        " AND id NOT IN (SELECT CAST(json_extract(after, '$.undoes') AS BIGINT) FROM review_events"
        "                WHERE project_id = ? AND action = 'undo') ORDER BY id",
        [project_id, reviewer, batch, project_id],
    ).fetchall()
    return [_event(r) for r in rows]


def recent_instructions(con: duckdb.DuckDBPyConnection, project_id: int, node: str | None,
                        limit: int) -> list[tuple[int, str]]:
    """(id, instruction) of the node's latest samples (any node when ``node`` is None)."""
    sql = "SELECT id, instruction FROM samples WHERE project_id = ?"
    params: list[Any] = [project_id]
    if node is not None:
        sql += " AND node_path = ?"
        params.append(node)
    return con.execute(sql + " ORDER BY id DESC LIMIT ?", [*params, limit]).fetchall()
