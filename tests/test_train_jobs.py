"""Training and evaluation as Lumina runs them: from a frozen version, as background jobs, from
the CLI (`--json`) and the Train / Evaluate pages; a killed training job resumes from its
checkpoint; bad settings fail before any process starts."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from pathlib import Path

import pytest

from lumina import datasets, jobs, review
from lumina.evaluation import jobs as eval_runs
from lumina.io import importers
from lumina.train import job as train_runs
from lumina.projects import create_project
from tests.helpers import run_cli, wait_for
from tests.test_app import run_page, text_of

NAMES = ["Freedonia", "Sylvania", "Latveria", "Genovia", "Wakanda", "Zubrowka", "Elbonia", "Ruritania",
         "Borduria", "Syldavia", "Krakozhia", "Markovia", "Qumar", "Bialya", "Kasnia", "Corto", "Narnia",
         "Oceania", "Panem", "Florin", "Guilder", "Vulgaria", "Fenwick", "Agrabah"]
FAST = ["--max-steps", "6", "--lr", "1e-3", "--max-length", "128", "--batch-size", "4", "--save-steps", "3"]


@pytest.fixture(scope="module")
def frozen_home(tmp_path_factory, bundled_model_dir):
    """A home with project 'tr' whose approved samples (a very regular made-up domain) are frozen
    as v1, plus a general eval set: built once, copied per test (nothing in it names its folder)."""
    base = tmp_path_factory.mktemp("frozen")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LUMINA_HOME", str(base / "home"))
        create_project("tr", teacher="transformers:smollm2-135m-instruct", check_reachable=False)
        f = base / "codes.jsonl"
        f.write_text("\n".join(json.dumps({
            "instruction": f"What is the capital code of {n}?",
            "response": f"The capital code of {n} is {n[:3].upper()}-{len(n)}.",
            "node": "Codes > " + ("North" if k % 2 else "South")}) for k, n in enumerate(NAMES)), encoding="utf-8")
        importers.import_file("tr", f)
        g = base / "general.jsonl"
        g.write_text("\n".join(json.dumps({"question": f"What is {i} plus {i}?",
                                           "answer": f"{i} plus {i} is {2 * i}."}) for i in range(12)),
                     encoding="utf-8")
        importers.import_evalset("tr", g, name="arith")
        review.decide("tr", range(1, len(NAMES) + 1), "approve", "ann")
        datasets.freeze("tr", "v1", eval_fraction=0.25)
    return base / "home"


@pytest.fixture
def frozen(frozen_home, lumina_home):
    """This test's own copy of ``frozen_home``: project 'tr' with v1 frozen and eval set 'arith'."""
    shutil.copytree(frozen_home, lumina_home)
    return "tr"


def test_train_and_evaluate_from_the_cli_and_the_evaluate_page(frozen):
    r = run_cli("train", frozen, "v1", *FAST, "--dry-run", "--json", check=True)
    plan = json.loads(r.stdout)
    assert plan["train_rows"] == 18 and plan["estimate"]["steps"] == 6

    r = run_cli("train", frozen, "v1", *FAST, "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["status"] == "done" and out["metrics"]["steps"] == 6
    assert out["metrics"]["train_loss_last"] < out["metrics"]["train_loss_first"]
    assert "adapter" in out["artefacts"] and "environment.json" in out["artefacts"]
    env = json.loads(Path(out["artefacts"]["environment.json"]).read_text())
    assert env["dataset_sha256"] and env["versions"]["trl"]
    request = json.loads((Path(out["run_dir"]) / "request.json").read_text())
    assert request["version_hash"] == datasets.get_version(frozen, "v1").content_hash
    run_id = out["run_id"]

    r = run_cli("eval", frozen, str(run_id), "--evalset", "arith", "--prompts", "3", "--max-new-tokens", "24",
               "--no-judge", "--json")
    assert r.returncode == 0, r.stderr
    ev = json.loads(r.stdout)
    assert ev["status"] == "done"
    d = ev["domain"]
    assert d["tuned"]["loss"] < d["base"]["loss"]  # better on its own domain
    g = ev["general"]["arith"]
    assert g["base"]["loss"] > 0 and g["tuned"]["loss"] > 0 and "forgetting" in g
    assert isinstance(ev["warnings"], list)

    at = run_page("evaluate")
    assert not at.exception, at.exception
    text = text_of(at)
    assert "Eval loss (own domain)" in text and "Playground" in text
    assert at.dataframe[0].value["eval set"].tolist() == ["arith"]

    r = run_cli("runs", "list", frozen, "--json", check=True)
    assert json.loads(r.stdout.splitlines()[0])["status"] == "done"


def test_a_killed_training_job_resumes_from_its_checkpoint(frozen):
    run, job = train_runs.start_training("tr", "v1", {
        "max_steps": 8, "learning_rate": 1e-3, "max_length": 128, "batch_size": 4, "save_steps": 2})
    ckpts = Path(run.run_dir) / "checkpoints"
    # A complete checkpoint: trainer_state.json is written last (a half-written one is discarded on resume).
    wait_for(lambda: ckpts.is_dir() and any((p / "trainer_state.json").exists() for p in ckpts.iterdir()),
             timeout=300, what="the first complete checkpoint")
    worker = jobs.get(job.id)
    os.killpg(os.getpgid(worker.pid), signal.SIGKILL)  # the worker and the trainer, no chance to save
    wait_for(lambda: not jobs.is_alive(jobs.get(job.id)), timeout=30, what="the worker to die")
    time.sleep(0.5)
    jobs.recover()
    assert jobs.get(job.id).status == "interrupted"
    assert train_runs.get_run("tr", run.id).status == "interrupted"
    jobs.resume(job.id)
    final = jobs.wait(job.id, timeout_s=600)
    assert final.status == "done", final.error
    done = train_runs.get_run("tr", run.id)
    assert done.status == "done" and done.metrics["steps"] == 8
    assert done.metrics["resumed_from_step"] and done.metrics["resumed_from_step"] >= 2
    assert (Path(run.run_dir) / "adapter").is_dir()


def test_bad_settings_fail_before_any_process(frozen):
    for args, message in (
        (["v1", "--lora-r", "0"], "LoRA rank"),
        (["v9"], "No dataset version 'v9'"),
        (["v1", "--base", "no/such-model-xyz"], "no/such-model-xyz"),
        (["v1", "--method", "qlora"], "QLoRA"),
        (["v1", "--batch-size", "100000", "--max-length", "8192", "--method", "full"], "GB"),
    ):
        r = run_cli("train", "tr", *args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert message in r.stderr, (args, r.stderr)
    assert jobs.list_jobs() == [] and train_runs.list_runs("tr") == []
    r = run_cli("eval", "tr", "99")
    assert r.returncode == 2 and "No training run 99" in r.stderr


def test_train_page_launches_and_cancels(frozen):
    at = run_page("train")
    assert not at.exception, at.exception
    assert "Start training" in [b.label for b in at.button]
    at.number_input(key="tr_len_quick check").set_value(128).run()
    next(b for b in at.button if b.key == "tr_start").click().run()
    assert not at.exception, at.exception
    [run] = train_runs.list_runs("tr")
    assert f"Run {run.id} started" in text_of(at)
    cancel = next(b for b in at.button if b.key == f"cancel-{run.job_id}")
    cancel.click().run()
    final = jobs.wait(run.job_id, timeout_s=180)
    assert final.status == "cancelled"
    assert train_runs.get_run("tr", run.id).status == "cancelled"
    at.run()
    assert not at.exception, at.exception
    assert "Resume" in [b.label for b in at.button]
