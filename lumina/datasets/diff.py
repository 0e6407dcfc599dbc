"""What changed between two versions of a project's dataset."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from lumina.datasets.versions import version_rows


@dataclass
class VersionDiff:
    a: str
    b: str
    added: list[int] = field(default_factory=list)      # sample ids in b only
    removed: list[int] = field(default_factory=list)    # sample ids in a only
    edited: list[int] = field(default_factory=list)     # in both, text changed
    unchanged: int = 0
    moved_split: list[int] = field(default_factory=list)
    mix: dict[str, int] = field(default_factory=dict)   # general rows: a, b, shared
    coverage: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


def diff(project: str, a: str, b: str) -> VersionDiff:
    ra, rb = version_rows(project, a), version_rows(project, b)
    pa = {r.sample_id: r for r in ra if r.sample_id is not None}
    pb = {r.sample_id: r for r in rb if r.sample_id is not None}
    out = VersionDiff(a, b)
    out.added = sorted(set(pb) - set(pa))
    out.removed = sorted(set(pa) - set(pb))
    for sid in sorted(set(pa) & set(pb)):
        if pa[sid].row_hash != pb[sid].row_hash:
            out.edited.append(sid)
        else:
            out.unchanged += 1
        if pa[sid].split != pb[sid].split:
            out.moved_split.append(sid)
    ma = Counter(r.row_hash for r in ra if r.origin == "mix")
    mb = Counter(r.row_hash for r in rb if r.origin == "mix")
    out.mix = {"a": sum(ma.values()), "b": sum(mb.values()), "shared": sum((ma & mb).values())}
    ca = Counter(r.node_path or "(none)" for r in ra if r.origin == "project")
    cb = Counter(r.node_path or "(none)" for r in rb if r.origin == "project")
    out.coverage = [{"node": n, a: ca.get(n, 0), b: cb.get(n, 0), "change": cb.get(n, 0) - ca.get(n, 0)}
                    for n in sorted(set(ca) | set(cb))]
    return out


# --- export and card --------------------------------------------------------------------------
