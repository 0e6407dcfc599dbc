"""End to end in a real browser: `streamlit run app.py` + system Chromium driven by Playwright.

Checks what AppTest cannot: the page really renders in a browser, teacher text that contains
HTML is shown as text and never executed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lumina import jobs, projects, samples
from lumina.records import NewSample
from lumina.store import connect
from lumina.store import jobs as store_jobs
from lumina.taxonomy import SEP

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
# Flags verified on these machines (STACK.md); no `playwright install` needed.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
XSS_INSTRUCTION = ('Explain what this markup does: <script>window.__xss=1</script> and '
                   '<img src=x onerror="window.__xss=2"> on a web page.')
XSS_RESPONSE = ("The <b>script</b> tag runs code; an <img> with onerror runs code when loading fails.\n\n"
                "```html\n<script>window.__xss=4</script>\n```\n")
TEACHER = "transformers:smollm2-135m-instruct"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _seed_data() -> int:
    example = REPO / "data" / "examples" / "everyday-science.yaml"
    p = projects.create_project("xss-check", taxonomy_file=example, teacher=TEACHER,
                                check_reachable=False)
    with connect() as con:
        samples.write(con, p.id, NewSample(
            mode="taxonomy", instruction=XSS_INSTRUCTION, response=XSS_RESPONSE,
            messages=[{"role": "user", "content": XSS_INSTRUCTION},
                      {"role": "assistant", "content": XSS_RESPONSE}],
            node_path=f"Physics{SEP}Optics", task_type="explanation", difficulty="beginner",
            teacher=TEACHER, seed=7, raw={"answer": XSS_RESPONSE, "finish_reason": "stop"},
        ))
    job = jobs.submit("generate", p.id, {"n": 3, "seed": 0}, launch_worker=False)
    with connect() as con:
        store_jobs.add_items(con, job.id, [(f"item-{i}", {"node_path": f"Physics{SEP}Optics"})
                                           for i in range(3)])
        store_jobs.complete_item(con, job.id, "item-0", None)
        store_jobs.complete_item(con, job.id, "item-1", None)
        store_jobs.fail_item(con, job.id, "item-2", "answer was not valid JSON",
                             '{"answer": "<script>window.__xss=3</script>')
        store_jobs.refresh_counts(con, job.id, tokens=900, busy_s=3.0)
        store_jobs.finish(con, job.id, "done")
    return job.id


@pytest.fixture
def server(lumina_home):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (install it with: apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    import httpx

    job_id = _seed_data()
    port = _free_port()
    log = open(lumina_home / "streamlit.log", "wb")
    streamlit = [sys.executable, "-m", "streamlit"]
    if shutil.which("streamlit", path=str(Path(sys.executable).parent)):
        streamlit = [str(Path(sys.executable).parent / "streamlit")]
    proc = subprocess.Popen(
        [*streamlit, "run", "app.py", "--server.port", str(port), "--server.headless", "true",
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=REPO, env=dict(os.environ, LUMINA_HOME=str(lumina_home)), stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 45
        while True:
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("streamlit did not start:\n" + (lumina_home / "streamlit.log").read_text())
            time.sleep(0.25)
        yield url, job_id
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _shot(page, tmp_path: Path, name: str) -> None:
    folder = Path(os.environ.get("LUMINA_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def test_samples_and_jobs_pages_in_chromium(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    url, job_id = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))

            # A deep link as the server's first request: the frame (sidebar) must still render.
            page.goto(f"{url}/samples")
            expect(page.get_by_role("heading", name="Sample 1")).to_be_visible(timeout=30_000)
            sidebar = page.locator('[data-testid="stSidebar"]')
            expect(sidebar.get_by_role("combobox", name="Project")).to_have_value("xss-check")
            body = page.locator('[data-testid="stMain"]')
            shown = body.get_by_test_id("stText").filter(has_text="<script>window.__xss=1</script>")
            expect(shown).to_be_visible()
            expect(shown).to_contain_text('<img src=x onerror="window.__xss=2">')
            assert page.evaluate("typeof window.__xss") == "undefined"
            assert page.locator('[data-testid="stException"]').count() == 0
            expect(page.get_by_test_id("stDataFrame").first.locator("canvas").first).to_be_attached()
            page.wait_for_timeout(300)  # let the grid paint before the screenshot
            _shot(page, tmp_path, "samples")

            # Markdown rendering escapes HTML first: still shown as text, still not run.
            page.get_by_text("Render Markdown").click()
            rendered = body.get_by_test_id("stMarkdownContainer").filter(
                has_text="<script>window.__xss=1</script>")
            expect(rendered).to_be_visible()
            expect(rendered).to_contain_text('<img src=x onerror="window.__xss=2">')
            expect(body.get_by_test_id("stMarkdownContainer").locator("code").filter(
                has_text="<script>window.__xss=4</script>")).to_be_visible()
            page.wait_for_timeout(500)
            assert page.evaluate("typeof window.__xss") == "undefined"

            page.goto(f"{url}/jobs")
            expect(page.get_by_text(f"Job {job_id}", exact=False)).to_be_visible(timeout=30_000)
            expect(page.get_by_text("finished with 1 of 3 items failed")).to_be_visible()
            page.get_by_text("Failed items (1)").click()
            expect(page.get_by_text("answer was not valid JSON", exact=False)).to_be_visible()
            raw = page.get_by_test_id("stCode").filter(has_text="<script>window.__xss=3</script>")
            expect(raw).to_be_visible()
            assert page.evaluate("typeof window.__xss") == "undefined"
            assert page.locator('[data-testid="stException"]').count() == 0
            _shot(page, tmp_path, "jobs")
            assert not errors, errors
        finally:
            browser.close()
