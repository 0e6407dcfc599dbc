"""Dataset versions: freeze approved samples into an immutable, content-hashed version with a
train/eval split stratified by taxonomy node, optionally mixed with a general SFT dataset; diff
two versions; export them (with a dataset card) in the formats trainers read.

A version copies each row's text when it is frozen, so later edits and reviews never change it.
LuminaSFT found synthetic data alone did worse than a general SFT set and helped mixed with one;
``mix_ratio`` is the share of the *train* split that comes from the general set (eval stays
in-domain: the forgetting check uses an imported eval set instead).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

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
    target = round(len(items) * eval_fraction)
    if eval_fraction > 0 and len(items) >= 2:
        target = max(1, min(target, len(items) - 1))
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
    from lumina.importers import read_rows, row_to_sample

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

EXPORT_FORMATS = ("jsonl", "parquet", "hf", "llamafactory")


def _export_row(r: VersionRow) -> dict[str, Any]:
    return {"messages": r.messages, "id": r.sample_id, "node": r.node_path or "", "origin": r.origin}


@access.requires("curator", action="export a version")
def export_version(project: str, name: str, fmt: str, out: str | Path,
                   progress: Callable[[str], None] = lambda m: None, force: bool = False) -> Path:
    """Write the version to the folder ``out``: one file (or `datasets` split) per split, in chat
    ``messages`` form (ShareGPT for LLaMA-Factory), and README.md, the dataset card. A non-empty
    ``out`` is refused unless ``force``, which replaces only a previous export's files
    (``export.write_folder``)."""
    import datasets as hf

    from lumina.export import sharegpt_row, write_folder

    out = access.check_path(out, "write")  # the app writes only inside the allowed folders

    if fmt not in EXPORT_FORMATS:
        raise InvalidInputError(f"Unknown export format '{fmt}' (use one of: {', '.join(EXPORT_FORMATS)}).")
    v = get_version(project, name)
    with connect() as con:
        rows = store_datasets.rows(con, v.id)
    out = Path(out).expanduser()
    if out.exists() and not out.is_dir():
        raise InvalidInputError(f"{out} is a file; a version exports to a folder (one file per split).")
    splits = {s: [r for r in rows if r.split == s] for s in SPLITS}
    used = [s for s, rs in splits.items() if rs]
    if fmt == "llamafactory":  # the names written, which --force may replace in a folder without manifest
        writes = {"dataset_info.json", *(f"{project}_{name}_{s}.json" for s in used)}
    elif fmt == "hf":
        writes = {"dataset_dict.json", *used}
    else:
        writes = {f"{s}.{fmt}" for s in used}
    writes.add("README.md")

    def write(folder: Path) -> None:
        files: dict[str, str] = {}
        if fmt == "llamafactory":
            info = {}
            for s, rs in splits.items():
                if not rs:
                    continue
                fname = f"{project}_{name}_{s}.json"
                (folder / fname).write_text(json.dumps([sharegpt_row(r.messages) for r in rs], ensure_ascii=False,
                                                       indent=1), encoding="utf-8")
                info[f"{project}_{name}_{s}"] = {
                    "file_name": fname, "formatting": "sharegpt",
                    "columns": {"messages": "conversations", "system": "system"},
                    "tags": {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt"}}
                files[s] = fname
            (folder / "dataset_info.json").write_text(json.dumps(info, indent=2, ensure_ascii=False), encoding="utf-8")
        elif fmt == "hf":
            dd = hf.DatasetDict({s: hf.Dataset.from_list([_export_row(r) for r in rs])
                                 for s, rs in splits.items() if rs})
            dd.save_to_disk(str(folder))
            files = {s: s for s in dd}
        else:
            for s, rs in splits.items():
                if not rs:
                    continue
                ds = hf.Dataset.from_list([_export_row(r) for r in rs])
                fname = f"{s}.{fmt}"
                if fmt == "jsonl":
                    ds.to_json(str(folder / fname), lines=True, force_ascii=False)
                else:
                    ds.to_parquet(str(folder / fname))
                files[s] = fname
            progress(f"wrote {', '.join(files.values())}")
        (folder / "README.md").write_text(card(project, name, files=files, fmt=fmt), encoding="utf-8")

    return write_folder(out, force, write, writes.__contains__)


def _quantiles(values: list[float]) -> dict[str, float]:
    import numpy as np

    a = np.asarray(values, dtype=float)
    q = np.quantile(a, [0.1, 0.5, 0.9])
    return {"n": int(a.size), "mean": float(a.mean()), "p10": float(q[0]), "p50": float(q[1]), "p90": float(q[2])}


def card_facts(project: str, name: str) -> dict[str, Any]:
    """Everything the dataset card states, as data (the Datasets page shows the same)."""
    v = get_version(project, name)
    with connect() as con:
        rows = store_datasets.rows(con, v.id)
        ids = [r.sample_id for r in rows if r.sample_id is not None]
        scores = store_datasets.score_values(con, ids)
        flags = store_datasets.flag_counts(con, ids)
    per_node: dict[str, dict[str, int]] = {}
    for r in rows:
        if r.origin != "project":
            continue
        d = per_node.setdefault(r.node_path or "(none)", {"train": 0, "eval": 0})
        d[r.split] += 1
    n_project = sum(d["train"] + d["eval"] for d in per_node.values())
    coverage = [{"node": n, **d, "share": (d["train"] + d["eval"]) / n_project if n_project else 0.0}
                for n, d in sorted(per_node.items())]
    return {
        "version": v, "rows": len(rows), "train": v.counts.get("train", 0), "eval": v.counts.get("eval", 0),
        "mixed_rows": sum(r.origin == "mix" for r in rows), "coverage": coverage,
        "scores": {k: _quantiles(vals) for k, vals in scores.items()}, "flags": flags,
    }


def card(project: str, name: str, files: dict[str, str] | None = None, fmt: str = "jsonl") -> str:
    """The dataset card (README.md with Hugging Face metadata), rendered from a template file."""
    from huggingface_hub import DatasetCard, DatasetCardData

    facts = card_facts(project, name)
    v: DatasetVersion = facts["version"]
    configs = None
    if files and fmt in ("jsonl", "parquet"):
        configs = [{"config_name": "default",
                    "data_files": [{"split": s, "path": f} for s, f in files.items()]}]
    data = DatasetCardData(
        language=None, license=None, task_categories=["text-generation"],
        tags=["synthetic", "sft", "lumina"], pretty_name=f"{project} {name}", configs=configs,
        size_categories=_size_category(facts["rows"]))
    template = Path(__file__).parent / "cards" / "dataset_card.md.j2"
    rendered = DatasetCard.from_template(
        data, template_path=str(template), project=project, name=name, v=v, facts=facts,
        lineage=v.lineage, files=files or {}, fmt=fmt,
        lineage_json=json.dumps(v.lineage, indent=2, ensure_ascii=False, default=str))
    return str(rendered)


def _size_category(n: int) -> list[str]:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return [label]
    return ["n>1M"]


@access.requires("owner", action="publish a version")
def push_to_hub(project: str, name: str, repo_id: str, token: str | None = None, private: bool = True) -> str:
    """Upload the version (train/eval splits and the card) to the Hugging Face Hub."""
    import os

    import datasets as hf
    from huggingface_hub import DatasetCard

    if os.environ.get("HF_HUB_OFFLINE") == "1":
        raise InvalidInputError("Pushing needs the network, but HF_HUB_OFFLINE=1 is set here. "
                                "Export the version and upload it from a machine with access.")
    token = token or os.environ.get("HF_TOKEN")
    if not token:
        raise InvalidInputError("Pushing needs a Hugging Face token: pass --token or set HF_TOKEN.")
    rows = version_rows(project, name)
    dd = hf.DatasetDict({s: hf.Dataset.from_list([_export_row(r) for r in rows if r.split == s])
                         for s in SPLITS if any(r.split == s for r in rows)})
    dd.push_to_hub(repo_id, token=token, private=private)
    DatasetCard(card(project, name)).push_to_hub(repo_id, token=token, repo_type="dataset")
    return f"https://huggingface.co/datasets/{repo_id}"


def save_general_upload(file_name: str, data: bytes) -> Path:
    """Keep a browser-uploaded general dataset under ``$LUMINA_HOME/general`` (the versions that
    mix it record its path and hash, so it is kept, not a temporary copy)."""
    from lumina.config import settings
    from lumina.uploads import _safe_name

    cfg = settings()
    if not data:
        raise InvalidInputError(f"{file_name} is empty.")
    if len(data) > cfg.max_upload_mb * 1024**2:
        raise InvalidInputError(
            f"{file_name} ({len(data) / 1024**2:,.0f} MB) exceeds the {cfg.max_upload_mb} MB upload limit; "
            "give its path on this machine instead (or use `lumina dataset freeze --mix PATH`).")
    folder = cfg.home / "general"
    folder.mkdir(parents=True, exist_ok=True)
    used = {p.name.lower() for p in folder.iterdir()}
    digest = hashlib.sha256(data).hexdigest()
    for p in folder.iterdir():  # the same file uploaded again is the same source
        if p.is_file() and p.stat().st_size == len(data) and _file_sha256(p) == digest:
            return p
    path = folder / _safe_name(file_name, used)
    path.write_bytes(data)
    return path


def export_folder(project: str, name: str, fmt: str) -> Path:
    """Where the Datasets page writes an export: ``$LUMINA_HOME/exports/PROJECT/VERSION-FORMAT``."""
    from lumina.config import settings
    from lumina.uploads import _safe_name

    return settings().home / "exports" / _safe_name(project, set()) / f"{name}-{fmt}"


def zip_folder(folder: Path) -> bytes:
    """The export folder as a zip, for a browser download."""
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                z.write(p, p.relative_to(folder.parent))
    return buf.getvalue()
