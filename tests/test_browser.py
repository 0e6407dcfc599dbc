"""End to end in a real browser: `streamlit run app.py` + system Chromium driven by Playwright.

Checks what AppTest cannot: the page really renders in a browser, teacher text that contains
HTML is shown as text and never executed, and images in it are never loaded.
"""

from __future__ import annotations

import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from lumina import jobs, projects
from lumina.projects import samples
from lumina.records import NewSample
from lumina.store import connect
from lumina.store import jobs as store_jobs
from lumina.taxonomy.tree import SEP

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
# A fence opened inside a list item, then raw HTML after it (closed, then unclosed), then images
# pointing at a server the test watches: nothing may run and nothing may be fetched.
PIXEL_INSTRUCTION = "pixelcheck: write the steps ![inline pixel]({pixel}/instruction.png)"
PIXEL_RESPONSE = ("Steps:\n\n- Open the page\n  ```html\n  <b>inside the fence</b>\n  ```\n"
                  '<img src=x onerror="window.__xss=5">\n\n'
                  "- Then\n  ```\n  an unclosed fence\n"
                  '<img src=x onerror="window.__xss=6">\n\n'
                  "![tracking pixel]({pixel}/p.png) and ![by reference][px]\n\n[px]: {pixel}/ref.png\n")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _seed_data(pixel: str) -> int:
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
        instruction, response = PIXEL_INSTRUCTION.format(pixel=pixel), PIXEL_RESPONSE.format(pixel=pixel)
        samples.write(con, p.id, NewSample(
            mode="taxonomy", instruction=instruction, response=response,
            messages=[{"role": "user", "content": instruction}, {"role": "assistant", "content": response}],
            node_path=f"Physics{SEP}Optics", task_type="explanation", difficulty="beginner", teacher=TEACHER,
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


class _PixelHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        self.server.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/gif")
        self.end_headers()
        self.wfile.write(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")

    def log_message(self, *args):
        pass


@pytest.fixture
def pixel():
    """An image server on 127.0.0.1 that records every request: (base URL, paths requested)."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _PixelHandler)
    httpd.hits = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", httpd.hits
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def server(lumina_home, pixel):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (install it with: apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    import httpx

    job_id = _seed_data(pixel[0])
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


def test_hostile_markdown_stays_inert_in_chromium(server, pixel, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    url, _ = server
    pixel_url, hits = pixel
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors: list[str] = []
            requested: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("request", lambda request: requested.append(request.url))

            page.goto(f"{url}/samples")
            expect(page.get_by_role("heading", name="Sample 1")).to_be_visible(timeout=30_000)
            search = page.get_by_label("Search instruction and response")
            search.fill("pixelcheck")
            search.press("Enter")
            expect(page.get_by_role("heading", name="Sample 2")).to_be_visible(timeout=30_000)
            page.get_by_text("Render Markdown").click()

            markdown = page.locator('[data-testid="stMain"]').get_by_test_id("stMarkdownContainer")
            response = markdown.filter(has_text="an unclosed fence")
            expect(response).to_contain_text('<img src=x onerror="window.__xss=5">', timeout=30_000)
            expect(response).to_contain_text('<img src=x onerror="window.__xss=6">')
            expect(response).to_contain_text(f"[image: tracking pixel]({pixel_url}/p.png)")
            expect(response).to_contain_text(f"[image: by reference]({pixel_url}/ref.png)")
            expect(response.locator("code").filter(has_text="<b>inside the fence</b>")).to_be_visible()
            expect(markdown.filter(has_text="pixelcheck")).to_contain_text(
                f"[image: inline pixel]({pixel_url}/instruction.png)")
            page.wait_for_timeout(1000)  # time for any image to be requested
            _shot(page, tmp_path, "pixel")

            assert page.locator(f'img[src^="{pixel_url}"]').count() == 0
            assert page.locator('[data-testid="stMain"] img[src="x"]').count() == 0
            assert page.evaluate("typeof window.__xss") == "undefined"
            assert [u for u in requested if u.startswith(pixel_url)] == [] and hits == []
            # The control: this page can reach the pixel server, so the silence above means something.
            page.evaluate("src => new Promise(done => { const i = new Image(); i.onload = i.onerror = done; "
                          "i.src = src; })", f"{pixel_url}/control.gif")
            assert hits == ["/control.gif"]
            assert page.locator('[data-testid="stException"]').count() == 0
            assert not errors, errors
        finally:
            browser.close()
