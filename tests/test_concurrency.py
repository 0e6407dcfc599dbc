"""The web server, a running job and the CLI use the one DuckDB file at once: no lock error
reaches anyone and nothing is lost."""

import json
import shutil
import threading

import pytest

from lumina import jobs
from lumina.config import examples_dir
from lumina.generate.launch import start_generation
from lumina.generate.params import GenerateParams
from lumina.projects import create_project
from lumina.projects.samples import count_for
from lumina.teachers import GenParams
from tests.helpers import CHROMIUM_ARGS, free_port, lumina, start_streamlit, stop

pytestmark = pytest.mark.skipif(not shutil.which("chromium"), reason="needs Debian's chromium (make test installs it)")


def test_server_job_and_cli_share_the_store(bundled_model_dir, tmp_path):
    from playwright.sync_api import sync_playwright

    create_project("shared", examples_dir() / "everyday-science.yaml",
                   teacher="transformers:smollm2-135m-instruct")
    rows = tmp_path / "rows.jsonl"
    rows.write_text("\n".join(json.dumps({"instruction": f"Question number {i}?", "response": f"Answer {i}."})
                              for i in range(20)), encoding="utf-8")
    job = start_generation("shared", GenerateParams(
        n=4, batch_size=1, instruction_params=GenParams(max_tokens=64, temperature=1.0),
        answer_params=GenParams(max_tokens=32)))

    port = free_port()
    server = start_streamlit(port)
    cli_results: list = []

    def cli_loop():
        for _ in range(4):
            cli_results.append(lumina("import", "shared", str(rows), "--as", "samples"))
            cli_results.append(lumina("samples", "shared", "--json"))
            cli_results.append(lumina("jobs", "list"))

    t = threading.Thread(target=cli_loop)
    t.start()
    page_texts = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/", wait_until="networkidle")
            while t.is_alive() or len(page_texts) < 3:
                page.reload(wait_until="networkidle")
                # The app has rendered once the sidebar's project picker shows (slow on a busy machine).
                page.get_by_text("Project", exact=True).first.wait_for(timeout=60_000)
                page.wait_for_timeout(500)
                page_texts.append(page.inner_text("body"))
            browser.close()
        t.join()
        final = jobs.wait(job.id, timeout_s=600)
    finally:
        stop(server)

    for r in cli_results:
        assert r.returncode == 0, r.stderr
        assert "lock" not in r.stderr.lower()
    for text in page_texts:
        assert "Could not set lock" not in text and "IOException" not in text and "Traceback" not in text
    assert any("shared" in text for text in page_texts), page_texts[-1][:1500]
    assert final.status == "done" and final.done + final.failed == 4
    assert count_for("shared") == 4 * 20 + final.done  # every import and every generated sample landed
