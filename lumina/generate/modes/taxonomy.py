"""Taxonomy mode: per leaf × task type × difficulty (× persona), an instruction, then its answer."""

from __future__ import annotations

from pydantic import BaseModel, Field, create_model

from lumina.taxonomy import tree as tx
from lumina.errors import InvalidInputError
from lumina.generate import MODES
from lumina.generate.base import GenerationMode, ItemOutcome, ModeContext, item_seed
from lumina.generate.params import GenerateParams
from lumina.generate.steps import Draft, answer_drafts
from lumina.records import JobItem, Project
from lumina.teachers.base import ChatRequest
from lumina.teachers.postprocess import split_reasoning
from lumina.teachers.structured import chat_structured


class InstructionOut(BaseModel):
    instruction: str = Field(min_length=8)


def instruction_schema(max_tokens: int) -> type[InstructionOut]:
    """The schema caps the string at ~3 characters per allowed token, so a constrained decoder
    closes the JSON before the token limit instead of being cut off mid-string (small teachers
    ramble inside strings)."""
    cap = max(64, max_tokens * 3)
    return create_model("InstructionOut", __base__=InstructionOut,
                        instruction=(str, Field(min_length=8, max_length=cap)))


class TaxonomyMode(GenerationMode):
    name = "taxonomy"
    position = 0
    help = "For each leaf × task type × difficulty (× persona) of the taxonomy: an instruction, then its answer."
    templates = [("taxonomy", "instruction"), ("taxonomy", "answer")]
    inputs = "taxonomy"
    examples = {
        "taxonomy/instruction": [{"topic": "Optics", "path": "Physics > Optics", "description": "light, lenses",
                                  "task_type": "explanation", "difficulty": "beginner", "persona": None},
                                 {"topic": "Optics", "path": "Physics > Optics", "description": None,
                                  "task_type": "explanation", "difficulty": "beginner", "persona": "a teenager"}],
        "taxonomy/answer": {"difficulty": "beginner"},
    }

    def plan(self, project: Project, params: GenerateParams, project_nodes: list[dict]) -> list[tuple[str, dict]]:
        tree = tx.from_store(project.taxonomy, project_nodes)
        if not tree.nodes:
            raise InvalidInputError(
                f"Project '{project.name}' has no taxonomy: create it with --taxonomy FILE first."
            )
        if not tree.task_types or not tree.difficulty:
            raise InvalidInputError(f"Project '{project.name}': the taxonomy needs task_types and difficulty.")
        combos = tx.plan(tree, params.n, params.seed)
        return [
            (f"{i:07d}", {"node_path": c.node_path, "node_description": c.node_description,
                          "task_type": c.task_type, "difficulty": c.difficulty, "persona": c.persona,
                          "seed": item_seed(params.seed, i)})
            for i, c in enumerate(combos)
        ]

    def run_batch(self, ctx: ModeContext, items: list[JobItem]) -> list[ItemOutcome]:
        t_inst = ctx.template("taxonomy", "instruction")
        t_ans = ctx.template("taxonomy", "answer")
        p_inst = ctx.params.instruction_params

        requests = []
        for it in items:
            pl = it.payload
            text = t_inst.render(
                topic=pl["node_path"].rsplit(tx.SEP, 1)[-1], path=pl["node_path"],
                description=pl.get("node_description"), task_type=pl["task_type"],
                difficulty=pl["difficulty"], persona=pl.get("persona"),
            )
            requests.append(ChatRequest([{"role": "user", "content": text}],
                                        p_inst.model_copy(update={"seed": pl["seed"]})))
        structured = chat_structured(ctx.instruction_teacher, requests,
                                     instruction_schema(p_inst.max_tokens), ctx.params.retries)

        outcomes: dict[str, ItemOutcome] = {}
        drafts = []
        for it, res in zip(items, structured):
            if not res.ok:
                outcomes[it.key] = ItemOutcome(it.key, error=f"instruction: {res.error}",
                                               raw="\n---\n".join(res.raw))
                continue
            _, instruction = split_reasoning(res.value.instruction)
            pl = it.payload
            drafts.append(Draft(
                it, instruction, system=t_ans.render(difficulty=pl["difficulty"]), raw_instruction=res.raw[-1],
                fields={"node_path": pl["node_path"], "task_type": pl["task_type"],
                        "difficulty": pl["difficulty"], "persona": pl.get("persona"),
                        "template": f"{t_inst.ref},{t_ans.ref}"},
            ))
        outcomes.update(answer_drafts(ctx, drafts, self.name))
        return [outcomes[it.key] for it in items]


MODES.register(TaxonomyMode())
