"""Evolve (Evol-Instruct, Xu et al. 2023): turn chosen samples into harder variants.

Each item takes a parent sample and one operation (deepen, add constraints, concretise, more
reasoning steps, broaden). The teacher rewrites the instruction, then answers the new one. A
failed evolution is dropped with its reason, as the paper's elimination step does:
  - unchanged: the rewrite adds nothing to the parent (same text, or nearly all its word
    trigrams taken from it);
  - refused: the rewrite, or its answer, is a refusal;
  - degenerate: too short, looping, rambling far beyond the parent, or leaking the prompt's own
    words ("rewritten prompt", "original instruction").
The evolved sample keeps the parent's node, task type and difficulty, and links to it.
"""

from __future__ import annotations

import random
import re

from pydantic import Field, field_validator

from lumina.errors import InvalidInputError
from lumina.generate import MODES
from lumina.generate.base import GenerationMode, ItemOutcome, ModeContext, NoOptions, item_seed
from lumina.generate.novelty import normalise
from lumina.generate.params import SAMPLE_STATUSES, GenerateParams
from lumina.generate.steps import Draft, answer_drafts
from lumina.generate.modes.taxonomy import instruction_schema
from lumina.quality import heuristics
from lumina.records import JobItem, Project, Sample
from lumina.store import connect
from lumina.store import samples as store_samples
from lumina.teachers.base import ChatRequest
from lumina.teachers.postprocess import split_reasoning
from lumina.teachers.structured import chat_structured

# Evol-Instruct's in-depth operations plus its in-breadth one (Xu et al., WizardLM).
EVOLVE_OPERATIONS = ("deepen", "constraints", "concretise", "reasoning", "broaden")
UNCHANGED_SHARE = 0.9  # of the rewrite's word trigrams found in the parent
_LEAK = re.compile(r"#\s*(?:given|rewritten|created|new)\s+(?:prompt|instruction)\s*#|"
                   r"\b(?:rewritten|original|given) (?:prompt|instruction)\b|\{\s*\"instruction\"",
                   re.IGNORECASE)


def _trigrams(words: list[str]) -> set[tuple[str, ...]]:
    return {tuple(words[i:i + 3]) for i in range(len(words) - 2)}


def why_dropped(parent: str, child: str) -> str | None:
    """The reason an evolved instruction is unusable, or None when it is a real evolution."""
    p_norm, c_norm = normalise(parent), normalise(child)
    c_words = c_norm.split()
    if c_norm == p_norm:
        return "unchanged: the same instruction as its parent"
    grams = _trigrams(c_words)
    if grams and len(grams & _trigrams(p_norm.split())) / len(grams) >= UNCHANGED_SHARE:
        return "unchanged: the rewrite adds nothing to its parent"
    if heuristics.is_refusal(child):
        return "refused: the teacher declined to rewrite it"
    if len(c_words) < 4:
        return f"degenerate: only {len(c_words)} words"
    if heuristics.repetition(c_words) > 0.3:
        return "degenerate: the rewrite repeats itself"
    if _LEAK.search(child):
        return "degenerate: it repeats the rewriting prompt's own words"
    if len(c_words) > 8 * max(len(p_norm.split()), 1) + 60:
        return f"degenerate: {len(c_words)} words, far longer than its parent"
    return None


def answer_dropped(answer: str) -> str | None:
    """Evol-Instruct's second filter: an evolution too hard (or too odd) to answer."""
    words = heuristics.words(answer)
    if heuristics.is_refusal(answer) and len(words) < 80:
        return "refused: the teacher would not answer the evolved instruction"
    if not any(len(w) > 3 for w in words):
        return "degenerate: the answer holds no content words"
    return None


class EvolveOptions(NoOptions):
    operations: list[str] = Field(default_factory=lambda: list(EVOLVE_OPERATIONS), min_length=1,
                                  description="how instructions are made harder, in turn",
                                  json_schema_extra={"label": "Operations", "key": "ops",
                                                     "choices": list(EVOLVE_OPERATIONS)})
    source_status: str | None = Field(None, description="only samples of this status",
                                      json_schema_extra={"label": "Samples", "key": "src_status",
                                                         "choices": list(SAMPLE_STATUSES), "none_label": "all"})
    source_ids: list[int] | None = Field(None, title="Sample ids", description="the samples to evolve (default: all)",
                                         json_schema_extra={"label": "Only these sample ids", "key": "src_ids",
                                                            "placeholder": "e.g. 3, 8, 12 (blank: all)"})

    @field_validator("operations")
    @classmethod
    def _known_operations(cls, v: list[str]) -> list[str]:
        bad = [o for o in v if o not in EVOLVE_OPERATIONS]
        if bad:
            raise ValueError(f"unknown operation(s) {', '.join(bad)}; use {', '.join(EVOLVE_OPERATIONS)}")
        return v

    @field_validator("source_status")
    @classmethod
    def _known_status(cls, v: str | None) -> str | None:
        if v is not None and v not in SAMPLE_STATUSES:
            raise ValueError(f"status must be one of {', '.join(SAMPLE_STATUSES)}")
        return v


class EvolveMode(GenerationMode):
    name = "evolve"
    position = 4
    help = ("Evol-Instruct: rewrite chosen samples into harder or broader variants (deepen, add constraints, "
            "concretise, more reasoning, broaden), then answer them; failed evolutions are dropped with a reason.")
    templates = [("evolve", "instruction")]
    inputs = "samples"
    Options = EvolveOptions
    examples = {"evolve/instruction": {"instruction": "Explain photosynthesis.",
                                       "response": "Plants turn light into sugar.", "operation": "deepen"}}

    def _parents(self, project: Project, opts: EvolveOptions) -> list[int]:
        with connect() as con:
            ids = store_samples.select_ids(con, project.id, status=opts.source_status, ids=opts.source_ids)
        if not ids:
            which = (f" with status '{opts.source_status}'" if opts.source_status else "") + \
                    (" among the given ids" if opts.source_ids is not None else "")
            raise InvalidInputError(
                f"Project '{project.name}' has no samples{which} to evolve: generate or import some first."
            )
        if opts.source_ids is not None:
            missing = sorted(set(opts.source_ids) - set(ids))
            if missing:
                shown = ", ".join(map(str, missing[:10])) + (" …" if len(missing) > 10 else "")
                raise InvalidInputError(f"Samples {shown} are not in project '{project.name}'"
                                        + (f" with status '{opts.source_status}'." if opts.source_status else "."))
        return ids

    def plan(self, project: Project, params: GenerateParams, project_nodes: list[dict]) -> list[tuple[str, dict]]:
        opts = self.options_of(params)
        parents = self._parents(project, opts)
        rng = random.Random(params.seed)
        order = list(parents)
        rng.shuffle(order)
        ops = list(opts.operations)
        start = rng.randrange(len(ops))
        # Every parent once before any twice; a parent's next evolution uses the next operation.
        return [
            (f"{i:07d}", {"parent_id": order[i % len(order)],
                          "operation": ops[(start + i % len(order) + i // len(order)) % len(ops)],
                          "seed": item_seed(params.seed, i)})
            for i in range(params.n)
        ]

    def run_batch(self, ctx: ModeContext, items: list[JobItem]) -> list[ItemOutcome]:
        t_inst = ctx.template("evolve", "instruction")
        p_inst = ctx.params.instruction_params
        with connect() as con:
            parents: dict[int, Sample] = store_samples.get_many(con, [it.payload["parent_id"] for it in items])
        outcomes: dict[str, ItemOutcome] = {}
        live = []
        for it in items:
            if it.payload["parent_id"] in parents:
                live.append(it)
            else:
                outcomes[it.key] = ItemOutcome(it.key, error=f"sample {it.payload['parent_id']} no longer exists")
        requests = [
            ChatRequest([{"role": "user", "content": t_inst.render(
                instruction=parents[it.payload["parent_id"]].instruction,
                response=parents[it.payload["parent_id"]].response, operation=it.payload["operation"])}],
                p_inst.model_copy(update={"seed": it.payload["seed"]}))
            for it in live
        ]
        results = chat_structured(ctx.instruction_teacher, requests, instruction_schema(p_inst.max_tokens),
                                  ctx.params.retries)
        drafts = []
        for it, res in zip(live, results):
            raw = "\n---\n".join(res.raw)
            if not res.ok:
                outcomes[it.key] = ItemOutcome(it.key, error=f"instruction: {res.error}", raw=raw)
                continue
            parent = parents[it.payload["parent_id"]]
            _, child = split_reasoning(res.value.instruction)
            reason = why_dropped(parent.instruction, child)
            if reason:
                outcomes[it.key] = ItemOutcome(it.key, error=f"dropped, {reason}", raw=raw)
                continue
            drafts.append(Draft(
                it, child.strip(), system=None, raw_instruction=res.raw[-1],
                fields={"node_path": parent.node_path, "task_type": parent.task_type,
                        "difficulty": parent.difficulty, "persona": parent.persona, "parent_id": parent.id,
                        "template": t_inst.ref, "source": f"evolve:{it.payload['operation']}:{parent.id}"},
            ))
        for key, o in answer_drafts(ctx, drafts, self.name).items():
            reason = answer_dropped(o.sample.response) if o.sample else None
            if reason:
                raw = o.sample.raw
                o = ItemOutcome(key, error=f"dropped, {reason}", raw=f"{raw['instruction']}\n---\n{raw['answer']}")
            outcomes[key] = o
        return [outcomes[it.key] for it in items]


MODES.register(EvolveMode())
