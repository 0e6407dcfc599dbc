"""Map one row of someone else's file to a sample, seed task, prompt or eval item, by its columns (any of their common names, or an explicit mapping)."""

from __future__ import annotations

import json
from typing import Any

from lumina.errors import InvalidInputError
from lumina.records import NewSample


INSTRUCTION_COLS = ("instruction", "prompt", "question", "query", "input", "text", "problem")
RESPONSE_COLS = ("response", "output", "answer", "completion", "chosen", "solution", "target")
CONTEXT_COLS = ("context", "passage", "document", "input_context")
ROLE_MAP = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
            "model": "assistant", "bot": "assistant", "system": "system"}

def _cols(row: dict[str, Any]) -> str:
    names = [str(k)[:60] for k in list(row)[:20]]
    return ", ".join(names) + (f" … {len(row):,} in all" if len(row) > 20 else "")


def _check_mapping(row: dict[str, Any], columns: dict[str, str], where: str) -> None:
    # A context column may be absent from some rows (not every task has a passage).
    missing = [f"{role} column '{col}'" for role, col in columns.items()
               if col and col not in row and role != "context"]
    if missing:
        raise InvalidInputError(f"{where}: no {', '.join(missing)} (columns: {_cols(row)}).")


def _pick(row: dict[str, Any], names: tuple[str, ...], mapping: str | None) -> Any:
    if mapping:
        return row.get(mapping)
    lower = {k.lower(): k for k in row}
    for n in names:
        if n in lower and row[lower[n]] not in (None, ""):
            return row[lower[n]]
    return None


def _messages(value: Any) -> list[dict[str, str]] | None:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return None
    if not isinstance(value, list) or not value:
        return None
    out = []
    for m in value:
        if not isinstance(m, dict):
            return None
        role = ROLE_MAP.get(str(m.get("role", m.get("from", ""))).lower())
        content = m.get("content", m.get("value"))
        if role is None or not isinstance(content, str):
            return None
        out.append({"role": role, "content": content})
    return out


MESSAGES_COLS = ("messages", "conversations", "conversation", "chat")


def _row_messages(row: dict[str, Any], columns: dict[str, str]) -> list[dict[str, str]] | None:
    """The row's chat turns (OpenAI ``messages`` or ShareGPT ``conversations``), if it has any."""
    return _messages(_pick(row, MESSAGES_COLS, columns.get("messages")))


def _text_field(value: Any) -> str | None:
    """Other people's files put numbers, lists or NaN where Lumina keeps text (difficulty 3)."""
    if value is None or (isinstance(value, float) and value != value) or value == "":
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) else str(value)


def row_to_sample(row: dict[str, Any], where: str, source: str, columns: dict[str, str] | None = None) -> NewSample:
    columns = columns or {}
    _check_mapping(row, columns, where)
    msgs = _row_messages(row, columns)
    context = _pick(row, CONTEXT_COLS, columns.get("context"))
    if msgs:
        users = [m["content"] for m in msgs if m["role"] == "user"]
        answers = [m["content"] for m in msgs if m["role"] == "assistant"]
        if not users or not answers:
            raise InvalidInputError(f"{where}: the conversation needs a user and an assistant turn.")
        instruction, response = users[0], answers[-1]
    else:
        instruction = _pick(row, INSTRUCTION_COLS, columns.get("instruction"))
        response = _pick(row, RESPONSE_COLS, columns.get("response"))
        if instruction is None or response is None:
            raise InvalidInputError(
                f"{where}: no instruction/response found (columns: {_cols(row)}). "
                "Name them instruction/response (or prompt/completion, question/answer), or give a messages column."
            )
        instruction, response = str(instruction), str(response)
        if context and isinstance(context, str) and context.strip():
            user = f"{context.strip()}\n\n{instruction}"
        else:
            user = instruction
        msgs = [{"role": "user", "content": user}, {"role": "assistant", "content": response}]
    # Lumina's own exports (samples --json) carry provenance: keep it.
    return NewSample(
        mode=_text_field(row.get("mode")) or "import", instruction=instruction, response=response, messages=msgs,
        node_path=_text_field(row.get("node") or row.get("node_path")), task_type=_text_field(row.get("task_type")),
        difficulty=_text_field(row.get("difficulty")), persona=_text_field(row.get("persona")),
        context=context if isinstance(context, str) else None, reasoning=_text_field(row.get("reasoning")),
        teacher=_text_field(row.get("teacher")), instruction_teacher=_text_field(row.get("instruction_teacher")),
        template=_text_field(row.get("template")), params=row.get("params") if isinstance(row.get("params"), dict) else None,
        seed=row.get("seed") if isinstance(row.get("seed"), int) else None,
        raw=row.get("raw") if isinstance(row.get("raw"), dict) else None, source=source,
    )


def row_to_seed(row: dict[str, Any], where: str, columns: dict[str, str] | None = None) -> dict[str, Any]:
    """A seed task: an instruction, optionally its response and context."""
    columns = columns or {}
    _check_mapping(row, columns, where)
    msgs = _row_messages(row, columns)
    if msgs:
        users = [m["content"] for m in msgs if m["role"] == "user"]
        answers = [m["content"] for m in msgs if m["role"] == "assistant"]
        instruction, response = (users[0] if users else None), (answers[0] if answers else None)
    else:
        instruction = _pick(row, INSTRUCTION_COLS, columns.get("instruction"))
        response = _pick(row, RESPONSE_COLS, columns.get("response"))
    if not isinstance(instruction, str) or not instruction.strip():
        raise InvalidInputError(
            f"{where}: no instruction found (columns: {_cols(row)}). "
            "Name it instruction (or prompt, question), or give a messages column."
        )
    context = _pick(row, CONTEXT_COLS, columns.get("context"))
    seed: dict[str, Any] = {"instruction": instruction.strip()}
    if response is not None and str(response).strip():
        seed["response"] = str(response).strip()
    if isinstance(context, str) and context.strip():
        seed["context"] = context.strip()
    return seed


def row_to_prompt(row: dict[str, Any], where: str, columns: dict[str, str] | None = None) -> dict[str, Any]:
    """A prompt to regenerate: its system and user turns (old assistant turns are dropped)."""
    columns = columns or {}
    _check_mapping(row, columns, where)
    msgs = _row_messages(row, columns)
    if msgs:
        kept = [m for m in msgs if m["role"] in ("system", "user")]
    else:
        instruction = _pick(row, INSTRUCTION_COLS, columns.get("instruction"))
        if not isinstance(instruction, str) or not instruction.strip():
            raise InvalidInputError(
                f"{where}: no prompt found (columns: {_cols(row)}). "
                "Give a messages column, or name the prompt column instruction / prompt / question."
            )
        context = _pick(row, CONTEXT_COLS, columns.get("context"))
        user = f"{context.strip()}\n\n{instruction}" if isinstance(context, str) and context.strip() else instruction
        kept = [{"role": "user", "content": user}]
    if not any(m["role"] == "user" and m["content"].strip() for m in kept):
        raise InvalidInputError(f"{where}: the conversation has no user turn.")
    return {"messages": kept}


CHOICES_COLS = ("choices", "options", "endings")
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def row_to_eval_item(row: dict[str, Any], where: str, set_name: str,
                     columns: dict[str, str] | None = None) -> dict[str, Any]:
    """One benchmark item: the question as the student sees it, its reference answer if the set
    has one, and ``text`` (question and answer) for contamination checks.

    Shapes other people's sets come in: chat ``messages``; question/answer (or prompt/completion,
    input/target...); multiple choice with a ``choices`` list and an ``answer`` index or letter
    (MMLU, ARC, HellaSwag style), shown lettered; or a bare ``text`` column.
    """
    columns = columns or {}
    _check_mapping(row, columns, where)
    msgs = _row_messages(row, columns)
    if msgs:
        prompt = [m for m in msgs if m["role"] != "assistant"]
        answers = [m["content"] for m in msgs if m["role"] == "assistant"]
        question = next((m["content"] for m in prompt if m["role"] == "user"), None)
        answer = answers[-1] if answers else None
        if question is None:
            raise InvalidInputError(f"{where}: the conversation has no user turn.")
    else:
        question = _pick(row, INSTRUCTION_COLS + ("ctx", "goal", "sentence"), columns.get("instruction"))
        answer = _pick(row, RESPONSE_COLS + ("answerkey", "label"), columns.get("response"))
        if not isinstance(question, str) or not question.strip():
            raise InvalidInputError(
                f"{where}: no question found (columns: {_cols(row)}). Name it question / "
                "prompt / instruction / input / text, or give a messages column.")
        choices = _pick(row, CHOICES_COLS, None)
        labels = None
        if isinstance(choices, dict) and isinstance(choices.get("text"), list):  # ARC: {"text": [...], "label": [...]}
            labels = [str(x) for x in choices.get("label") or []]
            choices = choices["text"]
        if isinstance(choices, list) and choices and all(isinstance(c, (str, int, float)) for c in choices):
            lettered = [f"{LETTERS[k]}. {c}" for k, c in enumerate(choices[:26])]
            question = question.strip() + "\n\n" + "\n".join(lettered)
            if labels and str(answer).strip() in labels:  # ARC names answers by its own labels ("C", or "3")
                answer = lettered[labels.index(str(answer).strip())]
            elif isinstance(answer, str) and answer.strip().isdigit() and 0 <= int(answer) < len(lettered):
                answer = lettered[int(answer)]  # HellaSwag's label "2": an index, as text
            elif isinstance(answer, (int, float)) and not isinstance(answer, bool) and 0 <= int(answer) < len(lettered):
                answer = lettered[int(answer)]
            elif isinstance(answer, str) and answer.strip().upper() in LETTERS[:len(lettered)]:
                answer = lettered[LETTERS.index(answer.strip().upper())]
        context = _pick(row, CONTEXT_COLS, columns.get("context"))
        if isinstance(context, str) and context.strip():
            question = f"{context.strip()}\n\n{question}"
        prompt = [{"role": "user", "content": question}]
        answer = _text_field(answer)
    item: dict[str, Any] = {"set": set_name, "prompt": prompt, "answer": answer,
                            "text": question + (f"\n{answer}" if answer else "")}
    return item
