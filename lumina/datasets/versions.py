"""Freeze approved samples into an immutable, content-hashed version (stratified eval split, optional mix with a general set); read versions back."""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from lumina import __version__, access
from lumina.errors import InvalidInputError, NotFoundError
from lumina.records import DatasetVersion, VersionRow
from lumina.store import connect, transaction
from lumina.store import datasets as store_datasets
from lumina.store import projects as store_projects


NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SPLITS = ("train", "eval")


def row_hash(messages: list[dict[str, str]]) -> str:
    canon = json.dumps([[m["role"], m["content"]] for m in messages], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


def content_hash(rows: Iterable[VersionRow]) -> str:
    h = hashlib.sha256()
    for r in rows:
        h.update(f"{r.split}\t{r.origin}\t{r.node_path or ''}\t{r.row_hash}\n".encode("utf-8"))
    return h.hexdigest()


def check_name(name: str) -> str:
    name = (name or "").strip()
    if not NAME_RE.match(name):
        raise InvalidInputError(
            f"'{name}' is not a usable version name: use 1-64 letters, digits, '.', '_' or '-' "
            "(it names export folders), starting with a letter or digit, e.g. v1 or 2026-12-01.")
    return name


def eval_size(n: int, eval_fraction: float) -> int:
    """How many of ``n`` rows ``stratified_split`` puts in eval: round(n × fraction), but at least
    one and never all of them when a share is asked for and there are two rows or more."""
    target = round(n * eval_fraction)
    if eval_fraction > 0 and n >= 2:
        target = max(1, min(target, n - 1))
    return target


@dataclass(frozen=True)
class SplitPreview:
    """What freezing ``rows`` approved samples with ``asked`` as the eval share would give."""
    rows: int
    asked: float
    eval: int
    train: int
    warning: str | None  # the split is far from the share asked for, or leaves a side empty

    @property
    def share(self) -> float:
        return self.eval / self.rows if self.rows else 0.0

    def summary(self) -> str:
        return f"eval: {self.eval} of {self.rows} rows ({self.share:.0%}), train: {self.train}"


FAR_FROM_ASKED = 0.05  # an eval share further than this from the one asked for is worth a warning


def split_preview(rows: int, eval_fraction: float) -> SplitPreview:
    """The train/eval sizes ``freeze`` would produce for ``rows`` approved samples, before freezing."""
    if not 0.0 <= eval_fraction < 1.0:
        raise InvalidInputError("The eval share must be at least 0 and below 1 (e.g. 0.1 for 10%).")
    n_eval = eval_size(rows, eval_fraction)
    share = n_eval / rows if rows else 0.0
    warning = None
    if rows and n_eval == rows:
        warning = (f"Nothing is left for training: {rows} approved row{'s' * (rows != 1)} all go to eval. "
                   "Approve more samples or lower the eval share.")
    elif rows and eval_fraction > 0 and n_eval == 0:
        warning = (f"No row is held out: {rows} approved row is too few to split. "
                   "Approve more samples to get an eval split.")
    elif rows and abs(share - eval_fraction) > FAR_FROM_ASKED:
        warning = (f"You asked for {eval_fraction:.0%} but {rows} approved rows split into {n_eval} eval "
                   f"row{'s' * (n_eval != 1)} ({share:.0%}): too few rows to come closer. "
                   "Approve more samples for a share near the one asked for.")
    return SplitPreview(rows, eval_fraction, n_eval, rows - n_eval, warning)


def stratified_split(items: list[tuple[int, str | None]], eval_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Split (id, node) pairs so each node keeps about ``eval_fraction`` of its samples in eval.

    The eval total is round(n × fraction); it is shared among nodes by largest remainder, so small
    nodes are not all rounded down to zero. Deterministic for a seed.
    """
    if not 0.0 <= eval_fraction < 1.0:
        raise InvalidInputError("The eval share must be at least 0 and below 1 (e.g. 0.1 for 10%).")
    by_node: dict[str | None, list[int]] = {}
    for sid, node in items:
        by_node.setdefault(node, []).append(sid)
    rng = random.Random(seed)
    target = eval_size(len(items), eval_fraction)
    quotas = {n: len(v) * eval_fraction for n, v in by_node.items()}
    alloc = {n: int(q) for n, q in quotas.items()}
    by_remainder = sorted(by_node, key=lambda n: (-(quotas[n] - alloc[n]), -len(by_node[n]), str(n)))
    for n in by_remainder:
        if sum(alloc.values()) >= target:
            break
        if alloc[n] < len(by_node[n]):
            alloc[n] += 1
    train, evals = [], []
    for node in sorted(by_node, key=str):
        ids = sorted(by_node[node])
        rng.shuffle(ids)
        evals += ids[: alloc[node]]
        train += ids[alloc[node]:]
    return sorted(train), sorted(evals)


@dataclass
class MixSource:
    path: str
    ratio: float                       # share of the train split from this source
    columns: dict[str, str] | None = None


def _file_sha256(path: Path) -> str | None:
    if path.is_dir():
        return None
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _mix_rows(mix: MixSource, n_train: int, seed: int) -> tuple[list[VersionRow], dict[str, Any]]:
    """Draw the general rows the ratio asks for: a uniform sample (reservoir, seeded) of the
    file's usable rows; rows without a user and an assistant turn are skipped and counted."""
    from lumina.io.importers import read_rows, row_to_sample

    if not 0.0 < mix.ratio < 1.0:
        raise InvalidInputError("The mixing ratio is the general data's share of the train split: "
                                "give a number above 0 and below 1 (e.g. 0.5 for half).")
    want = round(n_train * mix.ratio / (1.0 - mix.ratio))
    if want < 1:
        raise InvalidInputError(f"A ratio of {mix.ratio} adds no general row to {n_train} train rows; raise it.")
    path = Path(mix.path).expanduser()
    rng = random.Random(seed)
    chosen: list[list[dict[str, str]]] = []
    usable = skipped = 0
    first_problem = None
    for k, row in enumerate(read_rows(path), 1):
        try:
            msgs = row_to_sample(row, f"{path.name} row {k}", str(path), mix.columns).messages
        except InvalidInputError as exc:
            skipped += 1
            first_problem = first_problem or str(exc)
            continue
        usable += 1
        if len(chosen) < want:
            chosen.append(msgs)
        else:
            j = rng.randrange(usable)
            if j < want:
                chosen[j] = msgs
    if usable < want:
        problem = f" ({skipped} skipped; the first: {first_problem})" if skipped else ""
        raise InvalidInputError(
            f"A ratio of {mix.ratio} with {n_train} train rows needs {want} general rows, but {path.name} has "
            f"{usable} usable ones{problem}. Lower the ratio to at most "
            f"{usable / (usable + n_train):.2f} or use a bigger general set.")
    rows = [VersionRow("train", None, "mix", None, m, row_hash(m)) for m in chosen]
    info = {"path": str(path.resolve()), "sha256": _file_sha256(path), "ratio": mix.ratio,
            "rows_available": usable, "rows_used": want, "rows_skipped": skipped,
            "first_skip_reason": first_problem}
    return rows, info


@access.requires("curator", action="freeze a version")
def freeze(project: str, name: str, eval_fraction: float = 0.1, seed: int = 0,
           mix: MixSource | None = None, created_by: str | None = None) -> DatasetVersion:
    """Snapshot the approved samples (their current, edited text) into version ``name``."""
    name = check_name(name)
    if mix is not None:  # the app may mix in only files from the allowed folders
        access.check_path(mix.path, "read")
    with connect() as con:
        p = store_projects.get(con, project)
        old = store_datasets.get(con, p.id, name)
        if old is not None:
            raise InvalidInputError(
                f"Version '{name}' already exists in '{project}' (frozen {old.created_at:%Y-%m-%d %H:%M}, "
                f"{sum(old.counts.values())} rows). Versions never change: pick a new name.")
        approved = store_datasets.approved(con, p.id)
        if not approved:
            raise InvalidInputError(
                f"'{project}' has no approved samples to freeze. Approve some on the Review page "
                "or with `lumina review approve`.")
        ids = [r[0] for r in approved]
        review = store_datasets.review_summary(con, p.id, ids)
    by_id = {r[0]: r for r in approved}
    train_ids, eval_ids = stratified_split([(r[0], r[1]) for r in approved], eval_fraction, seed)

    def row(split: str, sid: int) -> VersionRow:
        msgs = json.loads(by_id[sid][2])
        return VersionRow(split, sid, "project", by_id[sid][1], msgs, row_hash(msgs))

    rows = [row("train", i) for i in train_ids] + [row("eval", i) for i in eval_ids]
    mix_info = None
    if mix is not None:
        if not train_ids:
            raise InvalidInputError("Mixing needs at least one approved sample in the train split.")
        mixed, mix_info = _mix_rows(mix, len(train_ids), seed)
        # Interleave deterministically so a trainer that does not shuffle still sees both kinds.
        synthetic = [r for r in rows if r.split == "train"]
        merged = synthetic + mixed
        random.Random(seed + 1).shuffle(merged)
        rows = merged + [r for r in rows if r.split == "eval"]
    digest = content_hash(rows)
    lineage = {
        "project": project, "lumina": __version__, "created_by": created_by,
        "filter": "status = approved", "policies": review["policies"], "reviewers": review["reviewers"],
        "edited_samples": review["edited_samples"],
        "split": {"eval_fraction": eval_fraction, "seed": seed, "stratified_by": "taxonomy node"},
        "jobs": sorted({r[3] for r in approved if r[3] is not None}),
        "teachers": dict(Counter(r[4] for r in approved if r[4])),
        "templates": dict(Counter(t for r in approved if r[5] for t in str(r[5]).split(","))),
        "modes": dict(Counter(r[6] for r in approved)),
        "mix": mix_info,
        "teacher": p.teacher, "student": p.student,
    }
    with connect() as con:
        with transaction(con):
            if store_datasets.get(con, p.id, name) is not None:  # another freeze won the race
                raise InvalidInputError(f"Version '{name}' was just created by someone else; pick a new name.")
            same = store_datasets.with_hash(con, p.id, digest)
            if same:
                lineage["same_content_as"] = same
            store_datasets.create(con, p.id, name, digest, train_ids, eval_ids, lineage, rows)
            return store_datasets.get(con, p.id, name)


def list_versions(project: str) -> list[DatasetVersion]:
    with connect() as con:
        p = store_projects.get(con, project)
        return store_datasets.list_all(con, p.id)


def get_version(project: str, name: str) -> DatasetVersion:
    with connect() as con:
        p = store_projects.get(con, project)
        v = store_datasets.get(con, p.id, name)
        if v is None:
            known = [x.name for x in store_datasets.list_all(con, p.id)]
            hint = f" Versions: {', '.join(known)}." if known else " There are none yet: freeze one first."
            raise NotFoundError(f"No dataset version '{name}' in '{project}'.{hint}")
        return v


def version_rows(project: str, name: str, split: str | None = None) -> list[VersionRow]:
    v = get_version(project, name)
    with connect() as con:
        return store_datasets.rows(con, v.id, split)


def training_rows(project: str, name: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The version as TRL reads it: ``{"messages": [...]}`` rows for train and for eval."""
    rows = version_rows(project, name)
    return ([{"messages": r.messages} for r in rows if r.split == "train"],
            [{"messages": r.messages} for r in rows if r.split == "eval"])


# --- diff -------------------------------------------------------------------------------------
