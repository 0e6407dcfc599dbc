"""Two reviewers in two browser sessions decide with the keyboard on one project while a
generation job, a scoring job and CLI exports run on the same DuckDB file: no lock error reaches
anyone, each sees a different queue head (leases), no decision is lost, and the counts add up."""

from __future__ import annotations

import json
import shutil
import threading

import pytest

from lumina import datasets, jobs, review
from lumina.io import importers
from lumina.quality import score_job as scoring
from lumina.config import examples_dir
from lumina.generate.launch import start_generation
from lumina.generate.params import GenerateParams
from lumina.projects import create_project
from lumina.projects.samples import list_for
from lumina.store import connect
from lumina.teachers import GenParams
from tests.helpers import CHROMIUM_ARGS, free_port, lumina, start_streamlit, stop, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.browser,
              pytest.mark.skipif(not shutil.which("chromium"), reason="needs Debian's chromium (make test installs it)")]

DECISIONS = 6  # per reviewer


def _events(reviewer: str) -> list[tuple[int, str]]:
    with connect() as con:
        return con.execute("SELECT sample_id, action FROM review_events WHERE reviewer = ? ORDER BY id",
                           [reviewer]).fetchall()


def test_two_reviewers_jobs_and_cli_exports_at_once(bundled_model_dir, lumina_home, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    create_project("busy", examples_dir() / "everyday-science.yaml", teacher="transformers:smollm2-135m-instruct")
    rows = tmp_path / "rows.jsonl"
    rows.write_text("\n".join(json.dumps({"instruction": f"Question number {i}: why does thing {i} happen?",
                                          "response": f"Because of reason {i}, explained simply."})
                              for i in range(40)) + "\n", encoding="utf-8")
    importers.import_file("busy", rows)
    first = [s.id for s in list_for("busy")][:2]
    review.decide("busy", first, "approve", "setup")
    datasets.freeze("busy", "v1", eval_fraction=0.0)

    gen = start_generation("busy", GenerateParams(
        n=3, batch_size=1, instruction_params=GenParams(max_tokens=48, temperature=1.0),
        answer_params=GenParams(max_tokens=32)))
    score = scoring.start_scoring("busy", scoring.ScoreParams(scorer="heuristics"))
    exports: list = []

    def export_loop():
        for k in range(3):
            exports.append(lumina("dataset", "export", "busy", "v1", "--format", "jsonl",
                                  "--out", str(tmp_path / f"out-{k}")))

    port = free_port()
    server = start_streamlit(port, env={"LUMINA_HOME": str(lumina_home)},
                             extra_args=["--server.fileWatcherType", "none"])
    cli = threading.Thread(target=export_loop)
    texts: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
            pages = {}
            for who in ("ann", "bob"):
                page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
                page.goto(f"http://127.0.0.1:{port}/review")
                box = page.get_by_role("textbox", name="Reviewer")
                box.wait_for(timeout=90_000)
                box.fill(who)
                box.press("Enter")
                expect(page.locator('[data-testid="stMain"]').get_by_text(" / ").first).to_be_visible(timeout=60_000)
                page.wait_for_timeout(500)
                pages[who] = page
            cli.start()
            for k in range(DECISIONS):
                for who, key in (("ann", "a"), ("bob", "x")):
                    page = pages[who]
                    page.evaluate("document.activeElement && document.activeElement.blur()")
                    page.keyboard.press(key)
                    wait_for(lambda: len(_events(who)) == k + 1, timeout=90, what=f"{who}'s decision {k + 1}")
                    page.wait_for_timeout(300)
            for page in pages.values():
                page.wait_for_timeout(1000)
                texts.append(page.inner_text("body"))
                assert page.locator('[data-testid="stException"]').count() == 0
            browser.close()
        cli.join()
    finally:
        stop(server)

    for text in texts:
        for bad in ("Could not set lock", "IOException", "TransactionException", "Conflict on update", "Traceback",
                    "since you opened it"):
            assert bad not in text, (bad, text[:2000])
    ann, bob = _events("ann"), _events("bob")
    assert [a for _, a in ann] == ["approve"] * DECISIONS and [a for _, a in bob] == ["reject"] * DECISIONS
    assert not {s for s, _ in ann} & {s for s, _ in bob}, "the same sample was handed to both reviewers"
    status = {s.id: s.status for s in list_for("busy")}
    assert sum(v == "approved" for v in status.values()) == DECISIONS + len(first)
    assert sum(v == "rejected" for v in status.values()) == DECISIONS
    for r in exports:
        assert r.returncode == 0, r.stderr
    assert jobs.wait(score.id, timeout_s=600).status == "done"
    final = jobs.wait(gen.id, timeout_s=900)
    assert final.status == "done" and final.done + final.failed == 3
    assert len(list_for("busy")) == 40 + final.done
