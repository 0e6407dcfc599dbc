"""Export a version in the formats trainers read (JSONL, Parquet, a datasets folder, LLaMA-Factory), with its card; zip a folder for download."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Callable

from lumina import access
from lumina.datasets.versions import SPLITS, _file_sha256, get_version
from lumina.datasets.card import card
from lumina.errors import InvalidInputError
from lumina.records import VersionRow
from lumina.store import connect
from lumina.store import datasets as store_datasets


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

    from lumina.io.formats import sharegpt_row, write_folder

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


def save_general_upload(file_name: str, data: bytes) -> Path:
    """Keep a browser-uploaded general dataset under ``$LUMINA_HOME/general`` (the versions that
    mix it record its path and hash, so it is kept, not a temporary copy)."""
    from lumina.config import settings
    from lumina.io.uploads import _safe_name

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
    from lumina.io.uploads import _safe_name

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
