"""Steps shared by the modes: answer a batch of instructions and turn answers into samples."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lumina.generate.base import ItemOutcome, ModeContext
from lumina.records import JobItem, Message, NewSample
from lumina.teachers.base import ChatRequest, GenParams
from lumina.teachers.postprocess import split_reasoning


@dataclass
class Draft:
    """An item whose instruction is written and whose answer is still to come."""

    item: JobItem
    instruction: str
    system: str | None
    fields: dict[str, Any] = field(default_factory=dict)  # extra NewSample fields (node, template...)
    raw_instruction: str | None = None


def recorded_params(params: GenParams, seed: int) -> dict[str, Any]:
    """Sampling parameters as a sample stores them: the job's settings with the item's own seed
    (the one sent to the teacher and kept in the sample's ``seed``), never the job-wide None."""
    return {**params.model_dump(exclude={"json_schema"}), "seed": seed}


def answer_drafts(ctx: ModeContext, drafts: list[Draft], mode: str) -> dict[str, ItemOutcome]:
    """Send every draft's instruction to the answer teacher; build samples or failures."""
    p_ans = ctx.params.answer_params
    requests = []
    for d in drafts:
        msgs: list[Message] = [{"role": "system", "content": d.system}] if d.system else []
        msgs.append({"role": "user", "content": d.instruction})
        requests.append(ChatRequest(msgs, p_ans.model_copy(update={"seed": d.item.payload["seed"]})))
    completions = ctx.answer_teacher.chat(requests) if requests else []
    out: dict[str, ItemOutcome] = {}
    for d, c in zip(drafts, completions):
        key = d.item.key
        if not c.ok:
            out[key] = ItemOutcome(key, error=f"answer: {c.error}", raw=c.text)
            continue
        reasoning, answer = split_reasoning(c.text)
        if not answer.strip():
            out[key] = ItemOutcome(key, error="answer: empty after removing reasoning", raw=c.text)
            continue
        seed = d.item.payload["seed"]
        params = {"answer": recorded_params(p_ans, seed)}
        if d.raw_instruction is not None:
            params["instruction"] = recorded_params(ctx.params.instruction_params, seed)
        out[key] = ItemOutcome(key, finish_reason=c.finish_reason, sample=NewSample(
            mode=mode, instruction=d.instruction, response=answer,
            messages=[{"role": "user", "content": d.instruction}, {"role": "assistant", "content": answer}],
            reasoning=reasoning, teacher=ctx.answer_teacher.identity,
            instruction_teacher=ctx.instruction_teacher.identity if d.raw_instruction is not None else None,
            params=params, seed=seed,
            raw={"instruction": d.raw_instruction, "answer": c.text, "finish_reason": c.finish_reason},
            job_id=ctx.job_id, item_key=key, **d.fields,
        ))
    return out
