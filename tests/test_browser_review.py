"""The Review page in real Chromium: teacher text with script tags, onerror handlers and
`javascript:` links renders as inert text, and the keyboard shortcuts decide and undo."""

from __future__ import annotations

import shutil

import pytest

from lumina import projects
from lumina.projects import samples
from lumina.records import NewSample
from lumina.projects.samples import list_for
from lumina.store import connect
from tests.helpers import CHROMIUM_ARGS, free_port, start_streamlit, stop, wait_for

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not shutil.which("chromium"), reason="needs Debian's chromium (make test installs it)")]

EVIL_INSTRUCTION = ('Explain <script>window.__xss=1</script> and <img src=x onerror="window.__xss=2"> '
                    'and [this link](javascript:window.__xss=3) please.')
EVIL_RESPONSE = ("Here: <iframe src=\"javascript:window.__xss=5\"></iframe> and "
                 "[click me](javascript:window.__xss=6) and ![pic](javascript:window.__xss=7)\n\n"
                 "```html\n<script>window.__xss=4</script>\n```\n")


def _seed() -> None:
    p = projects.create_project("xss-review", teacher="transformers:smollm2-135m-instruct", check_reachable=False)
    rows = [(EVIL_INSTRUCTION, EVIL_RESPONSE), ("What is the boiling point of water at sea level?", "100 °C."),
            ("Name the largest planet.", "Jupiter.")]
    with connect() as con:
        samples.write_many(con, p.id, [NewSample(
            mode="import", instruction=i, response=r, node_path="Web",
            messages=[{"role": "user", "content": i}, {"role": "assistant", "content": r}]) for i, r in rows])


def _status() -> dict[int, str]:
    return {s.id: s.status for s in list_for("xss-review")}


def test_review_page_is_inert_and_keyboard_driven(lumina_home):
    from playwright.sync_api import expect, sync_playwright

    _seed()
    port = free_port()
    server = start_streamlit(port, env={"LUMINA_HOME": str(lumina_home), "LUMINA_REVIEWER": "keyboard"})
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"http://127.0.0.1:{port}/review")
            main = page.locator('[data-testid="stMain"]')
            shown = main.get_by_test_id("stMarkdownContainer").filter(has_text="<script>window.__xss=1</script>")
            expect(shown).to_be_visible(timeout=30_000)
            expect(shown).to_contain_text('<img src=x onerror="window.__xss=2">')
            expect(main.get_by_text("1 / 3")).to_be_visible()
            # No element the teacher wrote became live: no img, iframe or javascript: link.
            assert main.locator("img[src='x'], iframe").count() == 0
            assert main.locator("a[href^='javascript' i]").count() == 0
            expect(main.locator("code").filter(has_text="<script>window.__xss=4</script>")).to_have_count(1)
            page.wait_for_timeout(500)
            assert page.evaluate("typeof window.__xss") == "undefined"

            # Raw text view too.
            main.get_by_text("Render Markdown").click()
            expect(main.get_by_test_id("stText").filter(has_text="[click me](javascript:window.__xss=6)")).to_be_visible()
            assert page.evaluate("typeof window.__xss") == "undefined"

            # Keyboard: A approves and shows the next sample; X rejects; U undoes.
            page.evaluate("document.activeElement && document.activeElement.blur()")  # keys go to the page
            page.keyboard.press("a")
            wait_for(lambda: _status()[1] == "approved", timeout=20, what="A to approve sample 1")
            expect(main.get_by_text("2 / 3")).to_be_visible(timeout=20_000)
            expect(main.get_by_text("What is the boiling point of water at sea level?").first).to_be_visible()
            page.keyboard.press("x")
            wait_for(lambda: _status()[2] == "rejected", timeout=20, what="X to reject sample 2")
            expect(main.get_by_text("3 / 3")).to_be_visible(timeout=20_000)
            expect(main.get_by_text("Name the largest planet.").first).to_be_visible(timeout=20_000)
            page.keyboard.press("u")
            wait_for(lambda: _status()[2] == "pending", timeout=20, what="U to undo the rejection")
            expect(main.get_by_text("2 / 3")).to_be_visible(timeout=20_000)
            expect(main.get_by_text("What is the boiling point of water at sea level?").first).to_be_visible(timeout=20_000)
            page.keyboard.press("s")  # skip: nothing recorded, the next sample shows
            expect(main.get_by_text("Name the largest planet.").first).to_be_visible(timeout=20_000)
            assert _status()[2] == "pending"
            assert page.locator('[data-testid="stException"]').count() == 0
            assert not errors, errors
            browser.close()
    finally:
        stop(server)


def test_diversity_map_selection_in_chromium(lumina_home, bundled_model_dir):
    """The map renders (WebGL) and a lasso over it selects samples for bulk actions."""
    from playwright.sync_api import expect, sync_playwright

    from lumina import jobs
    from lumina.diversity import map_job as mapping

    p = projects.create_project("map-check", teacher="transformers:smollm2-135m-instruct", check_reachable=False)
    texts = ["How do volcanoes form?", "What is a black hole?", "How do I bake sourdough?", "Why is the sea blue?",
             "How do vaccines work?", "What is inflation?", "How do I tune a guitar?", "Why do cats purr?"]
    with connect() as con:
        samples.write_many(con, p.id, [NewSample(
            mode="import", instruction=t, response=f"A short answer about: {t}", node_path=f"Topic {k % 3}",
            messages=[{"role": "user", "content": t}, {"role": "assistant", "content": "answer"}])
            for k, t in enumerate(texts)])
    assert jobs.wait(mapping.start_map("map-check", mapping.MapParams()).id, timeout_s=300).status == "done"
    port = free_port()
    server = start_streamlit(port, env={"LUMINA_HOME": str(lumina_home)})
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1200})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"http://127.0.0.1:{port}/diversity")
            drag = page.locator(".js-plotly-plot .nsewdrag").first
            expect(drag).to_be_attached(timeout=30_000)
            page.wait_for_timeout(1000)
            box = drag.bounding_box()
            x0, y0, w, h = box["x"] + 3, box["y"] + 3, box["width"] - 6, box["height"] - 6
            page.mouse.move(x0, y0)
            page.mouse.down()
            for x, y in ((x0 + w, y0), (x0 + w, y0 + h), (x0, y0 + h), (x0, y0 + 1)):
                page.mouse.move(x, y, steps=8)
            page.mouse.up()
            expect(page.get_by_text("Selected: 8 samples")).to_be_visible(timeout=20_000)
            page.get_by_role("button", name="Flag all").click()
            wait_for(lambda: all("check" in s.flags for s in list_for("map-check")), timeout=20,
                     what="the selection to be flagged")
            assert page.locator('[data-testid="stException"]').count() == 0
            assert not errors, errors
            browser.close()
    finally:
        stop(server)
