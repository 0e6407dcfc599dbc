"""What a user sees after training, without training anew: a run marked done with a small
adapter folder (the version ``frozen`` from ``test_train_jobs``), eval and playground jobs with
stored results. The Evaluate page renders answers as Markdown beside the reference, marks a cut-off
answer and keeps the last playground answer across a reload; the Train page links a finished run
to Evaluate and offers its adapter as a zip."""

from __future__ import annotations

import io
import logging
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from markdown_it import MarkdownIt

from lumina import jobs
from lumina.errors import InvalidInputError
from lumina.evaluation import jobs as eval_runs
from lumina.store import connect
from lumina.store import jobs as store_jobs
from lumina.store import training as store_training
from lumina.train import job as train_runs
from tests.test_app import run_page, text_of
from tests.test_train_jobs import frozen, frozen_home  # noqa: F401  (fixtures)

FENCED = "Use a loop:\n\n```python\nfor i in range(3):\n    print(i)\n```\n\nThat prints **three** lines."
CONFIG = {"max_steps": 2, "max_length": 128, "batch_size": 4}


def done_run(project: str = "tr") -> int:
    """A training run as a finished one looks: status done, an adapter folder (fake weights)."""
    run, job = train_runs.start_training(project, "v1", CONFIG, launch_worker=False)
    adapter = Path(run.run_dir) / "adapter"
    adapter.mkdir(parents=True)
    (adapter / "adapter_config.json").write_text('{"r": 8}', encoding="utf-8")
    (adapter / "adapter_model.safetensors").write_bytes(b"\0" * 4096)
    with connect() as con:
        store_training.update(con, run.id, status="done", metrics={"steps": 2})
        store_jobs.finish(con, job.id, "done")
    return run.id


def finished_job(kind: str, run_id: int, params: dict, result: dict) -> int:
    run = train_runs.get_run("tr", run_id)
    job = jobs.submit(kind, run.project_id, {"run_id": run_id, **params}, launch_worker=False)
    with connect() as con:
        store_jobs.update(con, job.id, total=1, done=1, result=result)
        store_jobs.finish(con, job.id, "done")
    return job.id


def _markdown_with(at, needle: str) -> list[str]:
    return [m.value for m in at.markdown if needle in m.value]


def test_answers_render_as_markdown_beside_the_reference_with_the_cut_off_marked(frozen):
    run_id = done_run()
    finished_job("eval", run_id, {"prompts": 2, "max_new_tokens": 24, "judge": False}, {
        "run_id": run_id, "version": "v1", "eval_rows": 6, "max_new_tokens": 24,
        "domain": {"base": {"loss": 2.0, "perplexity": 7.39, "n": 6},
                   "tuned": {"loss": 1.0, "perplexity": 2.72, "n": 6}},
        "answers": [
            {"prompt": "How do I print 0 to 2?", "reference": "The reference says: call `print` in a loop.",
             "base": "Print them one by one and then keep going and going", "base_tokens": 24, "base_finish": "length",
             "tuned": FENCED, "tuned_tokens": 20, "tuned_finish": "stop"},
            # stored before finish reasons were recorded: shown, never marked
            {"prompt": "Old question", "reference": "Old reference", "base": "Old base", "tuned": "Old tuned"},
        ]})
    at = run_page("evaluate")
    assert not at.exception, at.exception
    text = text_of(at)

    [shown] = _markdown_with(at, "print(i)")
    tokens = MarkdownIt("commonmark").parse(shown)
    assert [t.content for t in tokens if t.type == "fence"] == ["for i in range(3):\n    print(i)\n"]
    inline = "".join(c.content for t in tokens if t.type == "inline" for c in t.children or [])
    assert "```" not in inline and "three" in inline  # the fence is markup, nothing shows it as text
    assert not [t.value for t in at.text if "```" in t.value]

    assert _markdown_with(at, "The reference says") and _markdown_with(at, "Old reference")
    assert text.count("reference") >= 2 and "Old tuned" in text
    assert text.count("truncated at 24 tokens") == 1  # the base answer of row 1 only


def test_the_playground_answer_outlives_a_reload(frozen):
    run_id = done_run()
    finished_job("playground", run_id, {"prompt": "Name a colour.", "max_new_tokens": 8}, {
        "prompt": "Name a colour.", "run_id": run_id, "max_new_tokens": 8,
        "base": "Blue is a colour that many", "base_tokens": 8, "base_finish": "length",
        "tuned": "**Red.**", "tuned_tokens": 3, "tuned_finish": "stop"})
    at = run_page("evaluate")  # a fresh session: nothing in session_state points at the job
    assert not at.exception, at.exception
    text = text_of(at)
    assert "Name a colour." in text and "Blue is a colour that many" in text
    assert _markdown_with(at, "**Red.**")
    assert "truncated at 8 tokens" in text


def test_a_finished_run_links_to_evaluate_and_downloads_its_adapter(frozen, monkeypatch):
    first, second = done_run(), done_run()
    at = run_page("train")
    at.selectbox(key="tr_run").set_value(first).run()
    assert not at.exception, at.exception
    downloads = at.get("download_button")
    assert [d.proto.label for d in downloads] and "Download adapter" in downloads[0].proto.label
    evaluate = next(b for b in at.button if b.key == f"tr_evaluate_{first}")
    assert evaluate.label == "Evaluate this run →"
    evaluate.click().run()
    assert not at.exception, at.exception
    assert at.selectbox(key="ev_run").value == first != second  # not the newest, which is the default
    assert "Evaluate" in [t.value for t in at.title]

    monkeypatch.setattr(train_runs, "DOWNLOAD_LIMIT", 100)
    at = run_page("train")
    assert not at.get("download_button")
    assert "over the 0 MB download limit" in text_of(at)


def test_weights_zip_holds_the_adapter_folder_and_refuses_a_big_one(frozen):
    run = train_runs.get_run("tr", done_run())
    with zipfile.ZipFile(io.BytesIO(train_runs.weights_zip(run))) as z:
        assert sorted(z.namelist()) == ["adapter/adapter_config.json", "adapter/adapter_model.safetensors"]
    with pytest.raises(InvalidInputError, match="download limit"):
        train_runs.weights_zip(run, limit=100)


def test_the_eval_job_records_how_each_answer_ended(frozen, monkeypatch):
    """The job as the worker runs it, with the models replaced: finish reasons land on the rows."""
    import lumina.evaluation as ev

    run_id = done_run()
    monkeypatch.setattr(ev, "loss_and_perplexity",
                        lambda *a, **k: {"loss": 1.5, "perplexity": 4.48, "tokens": 9, "n": 1})
    monkeypatch.setattr(ev, "generate_answers", lambda path, prompts, adapter_dir=None, max_new_tokens=128: [
        {"text": f"{'tuned' if adapter_dir else 'base'} {k}", "tokens": max_new_tokens if k == 0 else 2,
         "finish_reason": "length" if k == 0 else "stop"} for k in range(len(prompts))])
    req = eval_runs.EvalRequest(run_id, [], False, 2, 16)
    job = jobs.submit("eval", train_runs.get_run("tr", run_id).project_id, req.to_dict(), launch_worker=False)
    worker = SimpleNamespace(log=logging.getLogger("test"), checkpoint=lambda: None)
    eval_runs.run_eval_job(SimpleNamespace(job_id=job.id, worker=worker, params=req))
    res = jobs.get(job.id).result
    assert res["max_new_tokens"] == 16
    first, second = res["answers"]
    assert first["base_finish"] == first["tuned_finish"] == "length" and first["tuned_tokens"] == 16
    assert eval_runs.truncated(first, "base") == 16 and eval_runs.truncated(second, "tuned") is None
    assert first["reference"].startswith("The capital code of")
    assert eval_runs.truncated({"base": "old"}, "base", 16) is None  # old results stay readable
