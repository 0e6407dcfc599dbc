"""Regenerate: keep imported prompts, let the teacher write every response anew.

Multi-turn chats are regenerated turn by turn (up to ``max_turns`` user turns): the answer to
turn k sees the teacher's own answers to turns 1..k-1, never the original assistant's. All items
of a batch advance one turn at a time, so each turn is one batched teacher call.
"""

from __future__ import annotations

from pydantic import Field

from lumina.errors import InvalidInputError
from lumina.generate import MODES
from lumina.generate.base import GenerationMode, ItemOutcome, ModeContext, NoOptions, item_seed
from lumina.generate.params import GenerateParams
from lumina.generate.steps import recorded_params
from lumina.records import JobItem, Message, NewSample, Project
from lumina.store import connect
from lumina.store import inputs as store_inputs
from lumina.teachers.base import ChatRequest
from lumina.teachers.postprocess import split_reasoning


class RegenerateOptions(NoOptions):
    # LuminaSFT regenerated up to 3 turns of multi-turn chats.
    max_turns: int = Field(3, ge=1, le=50, description="user turns answered per conversation",
                           json_schema_extra={"label": "Turns to regenerate"})


class RegenerateMode(GenerationMode):
    name = "regenerate"
    position = 2
    help = "Keep imported prompts (single- or multi-turn); the teacher writes every response anew, turn by turn."
    templates = [("regenerate", "system")]
    inputs = "prompts"
    Options = RegenerateOptions
    examples = {"regenerate/system": {}}
    teacher_steps = ("answer",)

    def calls_per_sample(self, params: GenerateParams) -> list[int]:
        return [params.answer_params.max_tokens] * self.options_of(params).max_turns

    def plan(self, project: Project, params: GenerateParams, project_nodes: list[dict]) -> list[tuple[str, dict]]:
        with connect() as con:
            found = store_inputs.list_inputs(con, project.id, "prompt", limit=params.n)
        if not found:
            raise InvalidInputError(
                f"Project '{project.name}' has no prompts to regenerate: import some with "
                f"`lumina import {project.name} FILE --as prompts`."
            )
        return [(f"p{pid:09d}", {"prompt_id": pid, "messages": d["messages"],
                                 "seed": item_seed(params.seed, i)})
                for i, (pid, d) in enumerate(found)]

    def run_batch(self, ctx: ModeContext, items: list[JobItem]) -> list[ItemOutcome]:
        t_sys = ctx.template("regenerate", "system")
        default_system = t_sys.render()
        p = ctx.params.answer_params
        max_turns = self.options_of(ctx.params).max_turns

        state = {}
        for it in items:
            msgs = it.payload["messages"]
            system = next((m["content"] for m in msgs if m["role"] == "system"), None)
            users = [m["content"] for m in msgs if m["role"] == "user"][:max_turns]
            state[it.key] = {"system": system, "users": users, "answers": [], "raw": [],
                             "reasoning": [], "finish": None}

        failed: dict[str, ItemOutcome] = {}
        for turn in range(max_turns):
            live = [it for it in items if it.key not in failed and turn < len(state[it.key]["users"])]
            if not live:
                break
            requests = []
            for it in live:
                s = state[it.key]
                history: list[Message] = [{"role": "system", "content": s["system"] or default_system}]
                for u, a in zip(s["users"], s["answers"]):
                    history += [{"role": "user", "content": u}, {"role": "assistant", "content": a}]
                history.append({"role": "user", "content": s["users"][turn]})
                # A per-turn seed: the same item replays the same conversation after a resume.
                requests.append(ChatRequest(history, p.model_copy(update={"seed": it.payload["seed"] + turn})))
            for it, c in zip(live, ctx.answer_teacher.chat(requests)):
                s = state[it.key]
                s["raw"].append(c.text)
                reasoning, answer = split_reasoning(c.text) if c.ok else (None, "")
                if not c.ok or not answer.strip():
                    why = c.error or "empty after removing reasoning"
                    failed[it.key] = ItemOutcome(it.key, error=f"turn {turn + 1}: {why}",
                                                 raw="\n---\n".join(s["raw"]))
                    continue
                s["answers"].append(answer)
                s["reasoning"].append(reasoning)
                s["finish"] = c.finish_reason

        out = []
        for it in items:
            if it.key in failed:
                out.append(failed[it.key])
                continue
            s = state[it.key]
            messages: list[Message] = [{"role": "system", "content": s["system"]}] if s["system"] else []
            for u, a in zip(s["users"], s["answers"]):
                messages += [{"role": "user", "content": u}, {"role": "assistant", "content": a}]
            thoughts = [r for r in s["reasoning"] if r]
            out.append(ItemOutcome(it.key, finish_reason=s["finish"], sample=NewSample(
                mode=self.name, instruction=s["users"][0], response=s["answers"][0], messages=messages,
                reasoning="\n\n".join(thoughts) or None, teacher=ctx.answer_teacher.identity,
                template=t_sys.ref if not s["system"] else None,
                # The first turn's seed (turn t is asked with seed + t), as the sample records it.
                params={"answer": recorded_params(p, it.payload["seed"]), "max_turns": max_turns},
                seed=it.payload["seed"], source=f"prompt:{it.payload['prompt_id']}",
                raw={"answers": s["raw"], "finish_reason": s["finish"]}, job_id=ctx.job_id, item_key=it.key,
            )))
        return out


MODES.register(RegenerateMode())
