"""Grounded reasoning: questions about imported passages, answered from the passage with the
reasoning shown (LuminaSFT's DROP-style data).

Per item: a passage and a question type. The instruction teacher writes a question the passage
answers; the answer teacher replies with step-by-step reasoning, a verbatim quote of the passage
as evidence, and the final answer. The quote is checked against the passage: one that is not
there flags the sample ``uncited`` (kept for a reviewer, not silently trusted). The passage stays
with the sample as its context and opens the user turn the student learns from.
"""

from __future__ import annotations

import random

from pydantic import BaseModel, Field, create_model, field_validator

from lumina.errors import InvalidInputError
from lumina.generate import MODES
from lumina.generate.base import GenerationMode, ItemOutcome, ModeContext, NoOptions, item_seed
from lumina.generate.novelty import normalise
from lumina.generate.params import GenerateParams
from lumina.generate.steps import recorded_params
from lumina.records import JobItem, NewSample, Project
from lumina.store import connect
from lumina.store import inputs as store_inputs
from lumina.teachers.base import ChatRequest
from lumina.teachers.postprocess import split_reasoning
from lumina.teachers.structured import chat_structured

CITATION_MATCH = 0.8  # share of the quote's word trigrams that must occur in the passage
# DROP-style reading comprehension asks for more than look-ups: mix the kinds of question.
QUESTION_TYPES = ("factual recall", "multi-step reasoning", "numerical reasoning", "comparison",
                  "cause and effect")


class GroundedOptions(NoOptions):
    question_types: list[str] = Field(
        default_factory=lambda: list(QUESTION_TYPES), min_length=1,
        description="kinds of question asked about each passage, in turn",
        json_schema_extra={"label": "Question types", "key": "qtypes", "choices": list(QUESTION_TYPES),
                           "allow_new": True})
    show_reasoning: bool = Field(True, description="the answer shows its reasoning and evidence "
                                                   "(chain of thought); off: the final answer only",
                                 json_schema_extra={"label": "Show reasoning in answers"})

    @field_validator("question_types")
    @classmethod
    def _clean_types(cls, v: list[str]) -> list[str]:
        v = [" ".join(t.split()) for t in v if t and t.strip()]
        if not v:
            raise ValueError("give at least one question type")
        return v


class QuestionOut(BaseModel):
    question: str = Field(min_length=8)


class GroundedAnswer(BaseModel):
    reasoning: str = Field(min_length=1)
    evidence: str = Field(min_length=1)
    answer: str = Field(min_length=1)


def question_schema(max_tokens: int) -> type[QuestionOut]:
    return create_model("QuestionOut", __base__=QuestionOut,
                        question=(str, Field(min_length=8, max_length=max(64, max_tokens * 3))))


def answer_schema(max_tokens: int) -> type[GroundedAnswer]:
    """Each field capped so a constrained decoder closes the object inside the token budget."""
    cap = max(240, max_tokens * 3)
    return create_model(
        "GroundedAnswer", __base__=GroundedAnswer,
        reasoning=(str, Field(min_length=1, max_length=int(cap * 0.55))),
        evidence=(str, Field(min_length=1, max_length=max(80, int(cap * 0.2)))),
        answer=(str, Field(min_length=1, max_length=max(80, int(cap * 0.25)))),
    )


def _trigrams(text: str) -> set[tuple[str, ...]]:
    w = normalise(text).split()
    return {tuple(w[i:i + 3]) for i in range(len(w) - 2)} or ({tuple(w)} if w else set())


def cited(evidence: str, passage: str) -> bool:
    """Whether the quote is in the passage: verbatim after normalising case, punctuation and
    spacing, or with nearly all its word trigrams there (a quote with an ellipsis or a typo)."""
    ev, ps = normalise(evidence), normalise(passage)
    if not ev:
        return False
    if ev in ps:
        return True
    grams = _trigrams(evidence)
    return bool(grams) and len(grams & _trigrams(passage)) / len(grams) >= CITATION_MATCH


_PASSAGE = "The Nile is about 6,650 km long."


class GroundedMode(GenerationMode):
    name = "grounded"
    position = 3
    help = ("Questions about passages of imported documents, answered from the passage with the reasoning "
            "and a quoted piece of evidence shown; the passage stays as context.")
    templates = [("grounded", "question"), ("grounded", "answer"), ("grounded", "user"), ("grounded", "response")]
    inputs = "passages"
    Options = GroundedOptions
    examples = {
        "grounded/question": {"passage": _PASSAGE, "title": "rivers.txt", "question_type": "factual"},
        "grounded/answer": {"passage": _PASSAGE, "question": "How long is the Nile?"},
        "grounded/user": {"passage": _PASSAGE, "question": "How long is the Nile?", "title": "rivers.txt"},
        "grounded/response": {"reasoning": "The passage gives the length.", "evidence": "about 6,650 km long",
                              "answer": "About 6,650 km."},
    }

    def _chunk_ids(self, project: Project) -> list[int]:
        with connect() as con:
            ids = store_inputs.ids(con, project.id, "chunk")
        if not ids:
            raise InvalidInputError(
                f"Project '{project.name}' has no documents: import some with "
                f"`lumina import {project.name} FILE_OR_FOLDER --as documents` (.txt, .md, .pdf)."
            )
        return ids

    def plan(self, project: Project, params: GenerateParams, project_nodes: list[dict]) -> list[tuple[str, dict]]:
        ids = self._chunk_ids(project)
        rng = random.Random(params.seed)
        order = list(ids)
        rng.shuffle(order)
        types = self.options_of(params).question_types
        # Every passage once before any twice; each new round asks the next kind of question.
        return [
            (f"{i:07d}", {"chunk_id": order[i % len(order)],
                          "question_type": types[(i % len(order) + i // len(order)) % len(types)],
                          "seed": item_seed(params.seed, i)})
            for i in range(params.n)
        ]

    def run_batch(self, ctx: ModeContext, items: list[JobItem]) -> list[ItemOutcome]:
        t_q = ctx.template("grounded", "question")
        t_a = ctx.template("grounded", "answer")
        t_user = ctx.template("grounded", "user")
        t_resp = ctx.template("grounded", "response")
        with connect() as con:
            chunks = store_inputs.get_many(con, [it.payload["chunk_id"] for it in items])
        outcomes: dict[str, ItemOutcome] = {}
        live = []
        for it in items:
            if it.payload["chunk_id"] in chunks:
                live.append(it)
            else:
                outcomes[it.key] = ItemOutcome(it.key, error="the passage was deleted after planning")

        p_q = ctx.params.instruction_params
        q_results = chat_structured(ctx.instruction_teacher, [
            ChatRequest([{"role": "user", "content": t_q.render(
                passage=chunks[it.payload["chunk_id"]]["text"], title=chunks[it.payload["chunk_id"]]["title"],
                question_type=it.payload["question_type"])}],
                p_q.model_copy(update={"seed": it.payload["seed"]}))
            for it in live], question_schema(p_q.max_tokens), ctx.params.retries)

        asked = []
        for it, res in zip(live, q_results):
            if not res.ok:
                outcomes[it.key] = ItemOutcome(it.key, error=f"question: {res.error}", raw="\n---\n".join(res.raw))
                continue
            asked.append((it, split_reasoning(res.value.question)[1], res.raw[-1]))

        p_a = ctx.params.answer_params
        a_results = chat_structured(ctx.answer_teacher, [
            ChatRequest([{"role": "user", "content": t_a.render(
                passage=chunks[it.payload["chunk_id"]]["text"], question=q)}],
                p_a.model_copy(update={"seed": it.payload["seed"]}))
            for it, q, _ in asked], answer_schema(p_a.max_tokens), ctx.params.retries)

        refs = ",".join(t.ref for t in (t_q, t_a, t_user, t_resp))
        for (it, question, raw_q), res in zip(asked, a_results):
            if not res.ok:
                outcomes[it.key] = ItemOutcome(it.key, error=f"answer: {res.error}",
                                               raw="\n---\n".join([raw_q, *res.raw]))
                continue
            chunk = chunks[it.payload["chunk_id"]]
            a = res.value
            thought, answer = split_reasoning(a.answer)
            reasoning = "\n\n".join(x for x in (split_reasoning(a.reasoning)[1].strip(), thought) if x)
            evidence = " ".join(a.evidence.split()).strip('"“” ')
            if not answer.strip():
                outcomes[it.key] = ItemOutcome(it.key, error="answer: empty after removing reasoning",
                                               raw="\n---\n".join([raw_q, *res.raw]))
                continue
            show = self.options_of(ctx.params).show_reasoning
            response = t_resp.render(reasoning=reasoning if show else None, evidence=evidence if show else None,
                                     answer=answer.strip())
            user = t_user.render(passage=chunk["text"], question=question, title=chunk["title"])
            found = cited(evidence, chunk["text"])
            last = res.completions[-1]
            outcomes[it.key] = ItemOutcome(
                it.key, finish_reason=last.finish_reason,
                flags={} if found else {"uncited": {"evidence": evidence[:300]}},
                sample=NewSample(
                    mode=self.name, instruction=question, response=response,
                    messages=[{"role": "user", "content": user}, {"role": "assistant", "content": response}],
                    context=chunk["text"], reasoning=reasoning or None, task_type=it.payload["question_type"],
                    teacher=ctx.answer_teacher.identity, instruction_teacher=ctx.instruction_teacher.identity,
                    template=refs, seed=it.payload["seed"],
                    params={"instruction": recorded_params(p_q, it.payload["seed"]),
                            "answer": recorded_params(p_a, it.payload["seed"]), "show_reasoning": show},
                    raw={"question": raw_q, "answer": res.raw[-1], "finish_reason": last.finish_reason,
                         "evidence": evidence, "citation_found": found},
                    source=f"document:{chunk['title']}#{chunk['index']}", job_id=ctx.job_id, item_key=it.key,
                ))
        return [outcomes[it.key] for it in items]


MODES.register(GroundedMode())
