"""The dataset card (README.md) of a version: its facts and lineage through huggingface_hub.DatasetCard."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lumina.datasets.versions import get_version
from lumina.records import DatasetVersion
from lumina.store import connect
from lumina.store import datasets as store_datasets


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
