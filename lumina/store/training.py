"""Training runs: one row per run (its config, device, status and summary metrics); the step
by step history lives in the run folder's metrics.jsonl, written by the training process."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

_COLS = "id, project_id, version_id, job_id, base_model, method, config, status, metrics, run_dir, device, created_at"


@dataclass
class TrainingRun:
    id: int
    project_id: int
    version_id: int
    job_id: int | None
    base_model: str
    method: str
    config: dict[str, Any]
    status: str
    metrics: dict[str, Any] = field(default_factory=dict)
    run_dir: str | None = None
    device: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        from dataclasses import asdict

        d = asdict(self)
        d["created_at"] = self.created_at.isoformat() if self.created_at else None
        return d


def _row(r: tuple) -> TrainingRun:
    d = dict(zip([c.strip() for c in _COLS.split(",")], r))
    for k in ("config", "metrics", "device"):
        d[k] = json.loads(d[k]) if d[k] is not None else {}
    return TrainingRun(**d)


def create(con: duckdb.DuckDBPyConnection, project_id: int, version_id: int, base_model: str, method: str,
           config: dict[str, Any], device: dict[str, Any]) -> int:
    (rid,) = con.execute(
        "INSERT INTO training_runs (project_id, version_id, base_model, method, config, status, device)"
        " VALUES (?, ?, ?, ?, ?, 'queued', ?) RETURNING id",
        [project_id, version_id, base_model, method, json.dumps(config), json.dumps(device)]).fetchone()
    return rid


def update(con: duckdb.DuckDBPyConnection, run_id: int, **fields: Any) -> None:
    allowed = {"job_id", "status", "metrics", "run_dir"}
    for key, value in fields.items():
        if key not in allowed:
            raise ValueError(f"cannot update training run field {key}")
        if key == "metrics":
            value = json.dumps(value, default=str)
        con.execute(f"UPDATE training_runs SET {key} = ? WHERE id = ?", [value, run_id])


def get(con: duckdb.DuckDBPyConnection, run_id: int) -> TrainingRun | None:
    r = con.execute(f"SELECT {_COLS} FROM training_runs WHERE id = ?", [run_id]).fetchone()
    return _row(r) if r else None


def list_for(con: duckdb.DuckDBPyConnection, project_id: int) -> list[TrainingRun]:
    rows = con.execute(f"SELECT {_COLS} FROM training_runs WHERE project_id = ? ORDER BY id DESC",
                       [project_id]).fetchall()
    return [_row(r) for r in rows]


def by_job(con: duckdb.DuckDBPyConnection, job_id: int) -> TrainingRun | None:
    r = con.execute(f"SELECT {_COLS} FROM training_runs WHERE job_id = ?", [job_id]).fetchone()
    return _row(r) if r else None
