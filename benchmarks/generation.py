"""Generation throughput: the raw backend library vs Lumina's generation loop, same prompts.

For each backend (transformers, and vLLM where installed) one model is loaded once; then
- raw:    the library call itself (`model.generate` on a left-padded chat batch / `LLM.chat`),
- lumina: the loop's path for the same requests — cache lookup, the backend through Lumina's
          Teacher, reasoning split, sample + heuristic scores written to DuckDB per batch.
Prints tokens/s of each and the ratio lumina/raw (goal >= 0.9). Outputs are sampled, so each
side's token count is its own; the ratio compares rates. Then, with the same loaded teacher,
each generation mode's samples/min over one batch (instruction + answer steps, or every turn).

    python benchmarks/generation.py [--prompts 32] [--max-tokens 64] [--batch 16] [--backends transformers,vllm]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("VLLM_CPU_NUM_OF_RESERVED_CPU", "0")
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")


def prompts(n: int) -> list[list[dict]]:
    from lumina.taxonomy import tree as tx
    from lumina.config import examples_dir

    tree = tx.load(examples_dir() / "everyday-science.yaml")
    out = []
    for c in tx.plan(tree, n, seed=0):
        topic = c.node_path.split(tx.SEP)[-1]
        out.append([{"role": "user", "content": f"Give a {c.difficulty} {c.task_type} about {topic}."}])
    return out


def raw_transformers(teacher, convs, params, batch):
    import torch

    tok, model = teacher._tok, teacher._model
    tokens, t0 = 0, time.monotonic()
    for i in range(0, len(convs), batch):
        texts = [tok.apply_chat_template(c, tokenize=False, add_generation_prompt=True) for c in convs[i:i + batch]]
        enc = tok(texts, return_tensors="pt", padding=True, padding_side="left").to(model.device)
        torch.manual_seed(0)
        with torch.inference_mode():
            out = model.generate(**enc, max_new_tokens=params.max_tokens, do_sample=True,
                                 temperature=params.temperature, top_p=params.top_p, pad_token_id=tok.pad_token_id)
        new = out[:, enc["input_ids"].shape[1]:]
        eos = set(teacher._eos_ids)
        for row in new.tolist():
            n = next((k for k, t in enumerate(row) if t in eos), len(row))
            tokens += n
    return tokens, time.monotonic() - t0


def raw_vllm(teacher, convs, params, batch):
    llm = teacher._llm
    sp = teacher.sampling_params(params)
    tokens, t0 = 0, time.monotonic()
    for i in range(0, len(convs), batch):
        outs = llm.chat(convs[i:i + batch], sampling_params=sp, use_tqdm=False)
        tokens += sum(len(o.outputs[0].token_ids) for o in outs)
    return tokens, time.monotonic() - t0


def lumina_loop(teacher, spec, convs, params, batch):
    from lumina.projects import samples as sample_service
    from lumina.projects import create_project
    from lumina.records import NewSample
    from lumina.store import connect, transaction
    from lumina.teachers import ChatRequest
    from lumina.teachers.cached import CachedTeacher
    from lumina.teachers.postprocess import split_reasoning

    project = create_project(f"bench-{spec.split(':')[0]}-{time.time_ns()}", teacher=spec, check_reachable=False)
    cached = CachedTeacher(teacher, identity=spec)
    tokens, t0 = 0, time.monotonic()
    for i in range(0, len(convs), batch):
        reqs = [ChatRequest(c, params.model_copy(update={"seed": i + k})) for k, c in enumerate(convs[i:i + batch])]
        comps = cached.chat(reqs)
        new = []
        for r, c in zip(reqs, comps):
            tokens += c.completion_tokens
            _, answer = split_reasoning(c.text)
            msgs = [*r.messages, {"role": "assistant", "content": answer}]
            new.append(NewSample(mode="bench", instruction=r.messages[-1]["content"], response=answer or "-",
                                 messages=msgs, teacher=spec, seed=r.params.seed))
        with connect() as con, transaction(con):  # one transaction per batch, as the job runner writes
            sample_service.write_many(con, project.id, new, [c.finish_reason for c in comps])
    return tokens, time.monotonic() - t0


def mode_rates(teacher, spec: str, n: int, max_tokens: int) -> dict[str, tuple[int, int, float]]:
    """One batch of ``n`` items per mode through ``Mode.run_batch`` (what a job worker runs)."""
    import json

    from lumina.io import importers
    from lumina.config import examples_dir
    from lumina.generate import get_mode
    from lumina.generate.base import ModeContext
    from lumina.generate.params import GenerateParams
    from lumina.projects import create_project
    from lumina.store import connect
    from lumina.store import projects as store_projects
    from lumina.teachers import GenParams
    from lumina.teachers.cached import CachedTeacher

    name = f"modes-{spec.split(':')[0]}-{time.time_ns()}"
    project = create_project(name, examples_dir() / "everyday-science.yaml", teacher=spec, check_reachable=False)
    rows = Path(os.environ["LUMINA_HOME"]) / f"{name}.jsonl"
    rows.write_text("\n".join(json.dumps({"messages": [{"role": "user", "content": c[0]["content"]}]})
                              for c in prompts(n)), encoding="utf-8")
    importers.import_file(name, rows, "seeds")
    importers.import_file(name, rows, "prompts")
    samples_file = Path(os.environ["LUMINA_HOME"]) / f"{name}-samples.jsonl"
    samples_file.write_text("\n".join(json.dumps({"instruction": c[0]["content"], "response": "A short answer."})
                                      for c in prompts(n)), encoding="utf-8")
    importers.import_file(name, samples_file, "samples")  # parents for evolve
    doc = Path(os.environ["LUMINA_HOME"]) / f"{name}.md"
    doc.write_text("\n\n".join(f"{t.name}: {t.description or ''}. " * 6 for t in _topics()), encoding="utf-8")
    importers.import_documents(name, doc, chunk_chars=400)
    with connect() as con:
        nodes = store_projects.nodes(con, project.id)
    cached = CachedTeacher(teacher, identity=spec)
    out = {}
    for mode_name in ("taxonomy", "seeded", "regenerate", "grounded", "evolve"):
        params = GenerateParams(mode=mode_name, n=n, seed=1, max_turns=1,
                                instruction_params=GenParams(max_tokens=max_tokens, temperature=1.0),
                                answer_params=GenParams(max_tokens=max_tokens, temperature=0.7))
        mode = get_mode(mode_name)
        from lumina.records import JobItem

        items = [JobItem(0, k, i, p, "pending", 0, None, None, None)
                 for i, (k, p) in enumerate(mode.plan(project, params, nodes))]
        ctx = ModeContext(project=project, params=params, instruction_teacher=cached,
                          answer_teacher=cached, job_id=0)
        t0 = time.monotonic()
        outcomes = mode.run_batch(ctx, items)
        out[mode_name] = (sum(o.sample is not None for o in outcomes), len(items), time.monotonic() - t0)
    return out


def _topics():
    from lumina.taxonomy import tree as tx
    from lumina.config import examples_dir

    tree = tx.load(examples_dir() / "everyday-science.yaml")
    return [n for root in tree.nodes for n in root.children]


def bench(backend: str, n: int, max_tokens: int, batch: int) -> None:
    from lumina import models
    from lumina.teachers import GenParams, build_teacher

    spec = f"{backend}:{models.SMOLLM2}"
    params = GenParams(max_tokens=max_tokens, temperature=0.7)
    teacher = build_teacher(spec)
    teacher.load()
    convs = prompts(n)
    warm = convs[:2]
    (raw_vllm if backend == "vllm" else raw_transformers)(teacher, warm, params, batch)  # warm-up
    raw = (raw_vllm if backend == "vllm" else raw_transformers)(teacher, convs, params, batch)
    lum = lumina_loop(teacher, spec, convs, params, batch)
    modes = mode_rates(teacher, spec, batch, params.max_tokens)
    teacher.close()
    r_rate, l_rate = raw[0] / raw[1], lum[0] / lum[1]
    print(f"{backend:12} raw {r_rate:8.1f} tok/s ({raw[0]} tok, {raw[1]:.1f} s)   "
          f"lumina {l_rate:8.1f} tok/s ({lum[0]} tok, {lum[1]:.1f} s)   ratio {l_rate / r_rate:.2f}", flush=True)
    for name, (n_ok, n_all, secs) in modes.items():
        print(f"{'':12} mode {name:10} {60 * n_ok / secs:7.1f} samples/min ({n_ok}/{n_all} ok in {secs:.1f} s)",
              flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prompts", type=int, default=32)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--backends", default="transformers,vllm")
    args = ap.parse_args()
    os.environ["LUMINA_HOME"] = tempfile.mkdtemp(prefix="lumina-bench-")
    if not os.environ.get("LUMINA_MODELS_DIR"):
        os.environ["LUMINA_MODELS_DIR"] = str(Path(__file__).resolve().parent.parent / "data" / "models")
    from lumina.teachers import vllm_available

    print(f"{args.prompts} prompts x {args.max_tokens} new tokens, batch {args.batch}, temperature 0.7")
    for backend in args.backends.split(","):
        if backend == "vllm" and not vllm_available():
            print("vllm         skipped: not installed")
            continue
        bench(backend, args.prompts, args.max_tokens, args.batch)


if __name__ == "__main__":
    main()
