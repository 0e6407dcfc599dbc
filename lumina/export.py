"""Export samples in the formats trainers read: chat ``messages`` rows (TRL's conversational
format) as JSONL, Parquet or a `datasets` folder, and LLaMA-Factory's ShareGPT layout."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from lumina.errors import InvalidInputError
from lumina.records import Sample

FORMATS = ("jsonl", "parquet", "hf", "llamafactory")


def to_row(s: Sample) -> dict[str, Any]:
    messages = list(s.messages)
    return {
        "messages": messages,
        "id": s.id,
        "node": s.node_path or "",
        "mode": s.mode,
        "task_type": s.task_type or "",
        "difficulty": s.difficulty or "",
        "teacher": s.teacher or "",
    }


def _sharegpt(s: Sample) -> dict[str, Any]:
    return sharegpt_row(s.messages)


def sharegpt_row(messages: list[dict[str, str]]) -> dict[str, Any]:
    """LLaMA-Factory's ShareGPT row: human/gpt turns, the system prompt apart."""
    role = {"user": "human", "assistant": "gpt"}
    system = next((m["content"] for m in messages if m["role"] == "system"), None)
    row: dict[str, Any] = {"conversations": [{"from": role[m["role"]], "value": m["content"]}
                                             for m in messages if m["role"] in role]}
    if system:
        row["system"] = system
    return row


def export(samples: list[Sample], fmt: str, out: str | Path, name: str = "lumina") -> Path:
    """Write ``samples`` to ``out`` (a file for jsonl/parquet, a folder for hf/llamafactory)."""
    import datasets

    if fmt not in FORMATS:
        raise InvalidInputError(f"Unknown export format '{fmt}' (use one of: {', '.join(FORMATS)}).")
    if not samples:
        raise InvalidInputError("Nothing to export: no samples match.")
    out = Path(out).expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "llamafactory":
        out.mkdir(parents=True, exist_ok=True)
        data_file = out / f"{name}.json"
        data_file.write_text(json.dumps([_sharegpt(s) for s in samples], ensure_ascii=False, indent=1), encoding="utf-8")
        info = {name: {"file_name": data_file.name, "formatting": "sharegpt",
                       "columns": {"messages": "conversations", "system": "system"},
                       "tags": {"role_tag": "from", "content_tag": "value",
                                "user_tag": "human", "assistant_tag": "gpt"}}}
        (out / "dataset_info.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
        return out
    ds = datasets.Dataset.from_list([to_row(s) for s in samples])
    if fmt == "jsonl":
        ds.to_json(str(out), lines=True, force_ascii=False)
    elif fmt == "parquet":
        ds.to_parquet(str(out))
    else:
        if out.exists():
            shutil.rmtree(out)
        ds.save_to_disk(str(out))
    return out
