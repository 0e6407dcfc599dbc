"""Seeded self-instruct: new tasks in the domain and style of imported seeds, then answers.

Each item shows the teacher a few seed tasks (drawn per item, reproducibly) and asks for one new
task. A candidate that copies a seed (exactly or with small edits) is asked for again with a new
seed, then recorded as a failure: a copied seed is never stored as a new sample.
"""

from __future__ import annotations

import random

from pydantic import Field

from lumina.errors import InvalidInputError
from lumina.generate import MODES
from lumina.generate.base import GenerationMode, ItemOutcome, ModeContext, NoOptions, item_seed
from lumina.generate.novelty import CopyDetector
from lumina.generate.params import GenerateParams
from lumina.generate.steps import Draft, answer_drafts
from lumina.generate.modes.taxonomy import instruction_schema
from lumina.records import JobItem, Project
from lumina.store import connect
from lumina.store import inputs as store_inputs
from lumina.teachers.base import ChatRequest
from lumina.teachers.postprocess import split_reasoning
from lumina.teachers.structured import chat_structured

MAX_EXAMPLE_CHARS = 1500  # a long seed is shown shortened: the teacher needs its kind, not all of it


class SeededOptions(NoOptions):
    seed_examples: int = Field(3, ge=1, le=20, description="seed tasks shown to the teacher per new task",
                               json_schema_extra={"label": "Seed tasks shown per new task"})


class SeededMode(GenerationMode):
    name = "seeded"
    position = 1
    help = "Self-instruct from imported seed tasks: new tasks in their domain and style (never a copy), then answers."
    templates = [("seeded", "instruction"), ("seeded", "answer")]
    inputs = "seeds"
    Options = SeededOptions
    examples = {
        "seeded/instruction": {"examples": ["What is the capital of Australia?", "Who wrote Emma?"]},
        "seeded/answer": {},
    }

    def _seeds(self, project: Project) -> list[tuple[int, dict]]:
        with connect() as con:
            seeds = store_inputs.list_inputs(con, project.id, "seed")
        if not seeds:
            raise InvalidInputError(
                f"Project '{project.name}' has no seed tasks: import some with "
                f"`lumina import {project.name} FILE --as seeds`."
            )
        return seeds

    def plan(self, project: Project, params: GenerateParams, project_nodes: list[dict]) -> list[tuple[str, dict]]:
        seeds = self._seeds(project)
        rng = random.Random(params.seed)
        k = min(self.options_of(params).seed_examples, len(seeds))
        return [
            (f"{i:07d}", {"seed_ids": [sid for sid, _ in rng.sample(seeds, k)],
                          "seed": item_seed(params.seed, i)})
            for i in range(params.n)
        ]

    def run_batch(self, ctx: ModeContext, items: list[JobItem]) -> list[ItemOutcome]:
        if "seeds" not in ctx.extra:  # once per job: every seed, for the copy check
            seeds = self._seeds(ctx.project)
            ctx.extra["seeds"] = {sid: d["instruction"] for sid, d in seeds}
            ctx.extra["copies"] = CopyDetector([d["instruction"] for _, d in seeds])
        seed_text: dict[int, str] = ctx.extra["seeds"]
        detector: CopyDetector = ctx.extra["copies"]
        t_inst = ctx.template("seeded", "instruction")
        t_ans = ctx.template("seeded", "answer")
        p_inst = ctx.params.instruction_params
        schema = instruction_schema(p_inst.max_tokens)

        def request(it: JobItem, attempt: int) -> ChatRequest:
            examples = [_shorten(seed_text[s]) for s in it.payload["seed_ids"] if s in seed_text]
            text = t_inst.render(examples=examples)
            seed = it.payload["seed"] + attempt * 7_919  # a fresh draw when a copy is refused
            return ChatRequest([{"role": "user", "content": text}], p_inst.model_copy(update={"seed": seed}))

        outcomes: dict[str, ItemOutcome] = {}
        pending = list(items)
        accepted: dict[str, tuple[str, str]] = {}
        raws: dict[str, list[str]] = {it.key: [] for it in items}
        for attempt in range(2):
            if not pending:
                break
            results = chat_structured(ctx.instruction_teacher, [request(it, attempt) for it in pending],
                                      schema, ctx.params.retries)
            again = []
            for it, res in zip(pending, results):
                raws[it.key].extend(res.raw)
                if not res.ok:
                    outcomes[it.key] = ItemOutcome(it.key, error=f"instruction: {res.error}",
                                                   raw="\n---\n".join(raws[it.key]))
                    continue
                _, instruction = split_reasoning(res.value.instruction)
                copied = detector.copied_from(instruction)
                if copied is None:
                    accepted[it.key] = (instruction, res.raw[-1])
                    outcomes.pop(it.key, None)
                else:
                    outcomes[it.key] = ItemOutcome(
                        it.key, error=f"instruction: copies the seed task {copied[:120]!r}",
                        raw="\n---\n".join(raws[it.key]))
                    again.append(it)
            pending = again

        drafts = [
            Draft(it, accepted[it.key][0], system=t_ans.render(), raw_instruction=accepted[it.key][1],
                  fields={"template": f"{t_inst.ref},{t_ans.ref}", "source": "seeds:" + ",".join(
                      str(s) for s in it.payload["seed_ids"])})
            for it in items if it.key in accepted
        ]
        outcomes.update(answer_drafts(ctx, drafts, self.name))
        return [outcomes[it.key] for it in items]


MODES.register(SeededMode())


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_EXAMPLE_CHARS else text[:MAX_EXAMPLE_CHARS] + " …"
