"""Typed records that cross module boundaries (store <-> library <-> CLI/pages)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

Message = dict[str, str]  # {"role": "user" | "assistant" | "system", "content": "..."}


def _json(value: Any) -> Any:
    if value is None or isinstance(value, (dict, list)):
        return value
    return json.loads(value)


@dataclass
class Project:
    id: int
    name: str
    created_at: datetime
    teacher: str
    student: str
    taxonomy: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass
class Sample:
    id: int
    project_id: int
    mode: str
    instruction: str
    response: str
    messages: list[Message]
    status: str = "pending"
    node_path: str | None = None
    task_type: str | None = None
    difficulty: str | None = None
    persona: str | None = None
    context: str | None = None
    reasoning: str | None = None
    teacher: str | None = None
    instruction_teacher: str | None = None
    template: str | None = None
    params: dict[str, Any] | None = None
    seed: int | None = None
    raw: dict[str, Any] | None = None
    job_id: int | None = None
    item_key: str | None = None
    source: str | None = None
    parent_id: int | None = None
    created_at: datetime | None = None
    scores: dict[str, float | None] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["node"] = d.pop("node_path")
        d["created_at"] = self.created_at.isoformat() if self.created_at else None
        return d


@dataclass
class NewSample:
    """A sample about to be written (no id yet)."""

    mode: str
    instruction: str
    response: str
    messages: list[Message]
    node_path: str | None = None
    task_type: str | None = None
    difficulty: str | None = None
    persona: str | None = None
    context: str | None = None
    reasoning: str | None = None
    teacher: str | None = None
    instruction_teacher: str | None = None
    template: str | None = None
    params: dict[str, Any] | None = None
    seed: int | None = None
    raw: dict[str, Any] | None = None
    job_id: int | None = None
    item_key: str | None = None
    source: str | None = None
    parent_id: int | None = None


@dataclass
class Score:
    scorer: str
    scorer_version: str
    metric: str
    value: float | None
    details: dict[str, Any] | None = None


@dataclass
class Job:
    id: int
    project_id: int | None
    kind: str
    params: dict[str, Any]
    status: str
    total: int
    done: int
    failed: int
    tokens: int
    busy_s: float
    pid: int | None
    pid_started: float | None
    heartbeat_at: datetime | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    cancel_requested: bool
    error: str | None
    log_path: str | None
    result: dict[str, Any] | None = None

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed", "cancelled")

    @property
    def tokens_per_s(self) -> float | None:
        return self.tokens / self.busy_s if self.busy_s > 0 else None

    @property
    def eta_s(self) -> float | None:
        if self.status != "running" or not self.started_at or self.done + self.failed == 0:
            return None
        elapsed = (datetime.now() - self.started_at).total_seconds()
        left = self.total - self.done - self.failed
        return elapsed / (self.done + self.failed) * left

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("heartbeat_at", "created_at", "started_at", "finished_at"):
            d[k] = d[k].isoformat() if d[k] else None
        d["tokens_per_s"] = self.tokens_per_s
        return d


@dataclass
class JobItem:
    job_id: int
    key: str
    position: int
    payload: dict[str, Any]
    status: str
    attempts: int
    error: str | None
    raw: str | None
    sample_id: int | None


@dataclass
class SampleFilter:
    """Which samples a list, a queue or a bulk action covers. Empty fields do not filter."""

    status: str | None = None
    node: str | None = None            # the node and its subtree
    search: str | None = None          # words in instruction or response
    flags: list[str] = field(default_factory=list)      # has any of these flags
    without_flags: bool = False        # has no flag at all
    score_ranges: list[tuple[str, float | None, float | None]] = field(default_factory=list)
    # ("scorer.metric", low, high): a sample without that score does not match
    ids: list[int] | None = None


@dataclass
class ReviewEvent:
    id: int
    project_id: int
    sample_id: int
    reviewer: str
    action: str          # approve reject edit undo
    reason: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["created_at"] = self.created_at.isoformat()
        return d


@dataclass
class VersionRow:
    split: str           # train eval
    sample_id: int | None
    origin: str          # project mix
    node_path: str | None
    messages: list[Message]
    row_hash: str


@dataclass
class DatasetVersion:
    id: int
    project_id: int
    name: str
    content_hash: str
    created_at: datetime
    train_ids: list[int]
    eval_ids: list[int]
    lineage: dict[str, Any]
    counts: dict[str, int] = field(default_factory=dict)  # rows per split

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["created_at"] = self.created_at.isoformat()
        return d
