"""Training rows: chat conversations to TRL prompt/completion (the loss covers the final answer only), the dataset hash, a token estimate per row."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from lumina.errors import InvalidInputError

log = logging.getLogger(__name__)


_ROLES = ("system", "user", "assistant")
# -- rows ------------------------------------------------------------------------------------

def to_prompt_completion(row: dict[str, Any], index: int = 0, split: str = "train") -> dict[str, list]:
    """A chat row as TRL prompt/completion; raises with the row's number when it cannot train."""
    where = f"{split} row {index + 1}"
    msgs = row.get("messages") if isinstance(row, dict) else None
    if not isinstance(msgs, list) or not msgs:
        raise InvalidInputError(f"{where}: expected {{\"messages\": [{{\"role\", \"content\"}}, ...]}}.")
    clean = []
    for m in msgs:
        if not isinstance(m, dict) or m.get("role") not in _ROLES or not isinstance(m.get("content"), str):
            raise InvalidInputError(f"{where}: every message needs a role ({', '.join(_ROLES)}) and text content.")
        clean.append({"role": m["role"], "content": m["content"]})
    if clean[-1]["role"] != "assistant":
        raise InvalidInputError(f"{where}: the last turn is '{clean[-1]['role']}', not an assistant answer to "
                                "train on.")
    if not any(m["role"] == "user" for m in clean[:-1]):
        raise InvalidInputError(f"{where}: no user turn before the answer.")
    if not clean[-1]["content"].strip():
        raise InvalidInputError(f"{where}: the assistant answer is empty.")
    return {"prompt": clean[:-1], "completion": clean[-1:]}


def dataset_hash(train_rows: list[dict], eval_rows: list[dict]) -> str:
    """sha256 of the canonical JSON (sorted keys, no whitespace) of ``{"train": ..., "eval": ...}``."""
    blob = json.dumps({"train": train_rows, "eval": eval_rows}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def approx_tokens_per_row(rows: list[dict]) -> float:
    """~4 characters a token plus chat-template markup: good enough for the memory check."""
    if not rows:
        return 0.0
    chars = sum(len(m.get("content", "")) for r in rows for m in r.get("messages", []))
    turns = sum(len(r.get("messages", [])) for r in rows)
    return chars / 4.0 / len(rows) + 5.0 * turns / len(rows) + 20.0  # + the default system prompt
