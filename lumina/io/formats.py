"""Export samples in the formats trainers read: chat ``messages`` rows (TRL's conversational
format) as JSONL, Parquet or a `datasets` folder, and LLaMA-Factory's ShareGPT layout."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

from lumina.errors import InvalidInputError
from lumina.records import Sample

FORMATS = ("jsonl", "parquet", "hf", "llamafactory")
MANIFEST = ".lumina-export.json"  # what an export wrote: all that a later --force may remove


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


def export(samples: list[Sample], fmt: str, out: str | Path, name: str = "lumina", force: bool = False) -> Path:
    """Write ``samples`` to ``out`` (a file for jsonl/parquet, a folder for hf/llamafactory).

    Never replaces what is already there unless ``force``; see ``write_file`` and ``write_folder``."""
    import datasets

    if fmt not in FORMATS:
        raise InvalidInputError(f"Unknown export format '{fmt}' (use one of: {', '.join(FORMATS)}).")
    if not samples:
        raise InvalidInputError("Nothing to export: no samples match.")
    if fmt == "llamafactory":
        def write_lf(folder: Path) -> None:
            data_file = folder / f"{name}.json"
            data_file.write_text(json.dumps([_sharegpt(s) for s in samples], ensure_ascii=False, indent=1),
                                 encoding="utf-8")
            info = {name: {"file_name": data_file.name, "formatting": "sharegpt",
                           "columns": {"messages": "conversations", "system": "system"},
                           "tags": {"role_tag": "from", "content_tag": "value",
                                    "user_tag": "human", "assistant_tag": "gpt"}}}
            (folder / "dataset_info.json").write_text(json.dumps(info, indent=2), encoding="utf-8")

        return write_folder(out, force, write_lf, {f"{name}.json", "dataset_info.json"}.__contains__)
    ds = datasets.Dataset.from_list([to_row(s) for s in samples])
    if fmt == "hf":
        return write_folder(out, force, lambda folder: ds.save_to_disk(str(folder)), _saved_to_disk)
    if fmt == "jsonl":
        return write_file(out, force, lambda path: ds.to_json(str(path), lines=True, force_ascii=False))
    return write_file(out, force, lambda path: ds.to_parquet(str(path)))


def _saved_to_disk(name: str) -> bool:
    """The names ``Dataset.save_to_disk`` writes."""
    return name in ("dataset_info.json", "state.json") or bool(re.fullmatch(r"data-\d+-of-\d+\.arrow", name))


def write_file(out: str | Path, force: bool, write: Callable[[Path], Any]) -> Path:
    """Write one export file through a temporary sibling, so a failure leaves no half file; an
    existing file is replaced only with ``force``."""
    out = Path(out).expanduser()
    if out.is_dir():
        raise InvalidInputError(f"{out} is a folder; this export writes one file: name it, e.g. {out / 'data.jsonl'}.")
    if out.exists() and not force:
        raise InvalidInputError(f"{out} already exists: pass --force to replace it.")
    tmp = out.with_name(f".lumina-tmp-{os.getpid()}-{out.name}")  # keeps the suffix writers look at
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        os.replace(tmp, out)
    except OSError as exc:
        raise InvalidInputError(f"Cannot write {out}: {exc.strerror or exc}.") from None
    finally:
        tmp.unlink(missing_ok=True)
    return out


def _previous_export(folder: Path) -> set[str] | None:
    """The entries a previous export listed in its manifest (plain names only), or None."""
    try:
        listed = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["written"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(listed, list):
        return None
    return {n for n in listed if isinstance(n, str) and n not in ("", ".", "..") and Path(n).name == n}


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def write_folder(out: str | Path, force: bool, write: Callable[[Path], Any], writes: Callable[[str], bool]) -> Path:
    """Export into the folder ``out`` without ever deleting what Lumina did not write.

    A new or empty folder is written to. A non-empty one is refused unless ``force``; then the
    entries the previous export's manifest lists, and those this export writes, are replaced and
    anything else is kept. A folder without a manifest is replaced only when ``writes`` claims
    every entry in it (an export by a Lumina that kept no manifest). The export is staged inside
    ``out`` first, so a failed export removes nothing."""
    out = Path(out).expanduser()
    if out.exists() and not out.is_dir():
        raise InvalidInputError(f"{out} is a file; this format exports to a folder.")
    present = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    if present and not force:
        raise InvalidInputError(f"{out} is not empty: choose a new or empty folder, or pass --force to replace "
                                "a previous Lumina export there (only what Lumina wrote is removed).")
    previous = _previous_export(out) if present else set()
    foreign = [n for n in present if previous is None and n != MANIFEST and not writes(n)]
    if foreign:
        shown = ", ".join(foreign[:3]) + (" ..." if len(foreign) > 3 else "")
        raise InvalidInputError(f"{out} holds files no Lumina export wrote ({shown}); --force only replaces "
                                "a previous export: choose a new or empty folder.")
    try:
        out.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=".lumina-export-", dir=out))
    except OSError as exc:
        raise InvalidInputError(f"Cannot write to {out}: {exc.strerror or exc}.") from None
    try:
        write(stage)
        names = sorted(p.name for p in stage.iterdir())
        ours = set(names) | {MANIFEST} | (set(present) if previous is None else previous)
        for n in present:
            if n in ours:
                _remove(out / n)
        for n in names:
            (stage / n).rename(out / n)
        (out / MANIFEST).write_text(json.dumps({"written": names}, indent=1), encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"Cannot write to {out}: {exc.strerror or exc}.") from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return out
