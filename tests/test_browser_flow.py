"""A new user's whole loop in real Chromium against a real `streamlit run app.py`: create a
project, edit its taxonomy, generate with the bundled teacher, score, map, review with the
keyboard, freeze a version, train a few steps and evaluate — every step through the UI, checked
on what the page shows, and at the end against what the library stored."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from tests.helpers import CHROMIUM_ARGS, free_port, start_streamlit, stop

CHROMIUM = "/usr/bin/chromium"
TEACHER = "transformers:smollm2-135m-instruct"
PROJECT = "flow-science"
REVIEWER = "flow-tester"
N_SAMPLES = 4
TRAIN_STEPS = 2

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.timeout(1800),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium (make test installs it)"),
]

MINUTE = 60_000


class Flow:
    """The browser page plus the few moves every step uses."""

    def __init__(self, page, shots: Path):
        self.page = page
        self.shots = shots
        self.main = page.locator('[data-testid="stMain"]')
        self.sidebar = page.locator('[data-testid="stSidebar"]')
        self.n_shot = 0
        self.names: list[str] = []

    def settle(self, timeout: float = 30_000) -> None:
        """Wait until the script run a click or key started is over (the app is idle)."""
        self.page.wait_for_timeout(150)
        self.page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(
            state="attached", timeout=timeout)

    def shot(self, name: str) -> None:
        from playwright.sync_api import Error

        self.n_shot += 1
        fname = f"{self.n_shot:02d}-{name}.png"
        self.page.mouse.move(1, 1)  # no tooltip over the picture
        self.page.wait_for_timeout(300)  # let charts and grids paint
        try:
            self.page.screenshot(path=str(self.shots / fname), full_page=True)
        except Error:  # a page re-rendering mid-capture: try once more
            self.page.wait_for_timeout(500)
            self.page.screenshot(path=str(self.shots / fname), full_page=True)
        self.names.append(fname)

    def open(self, title: str) -> None:
        """Go to a page the way a user does: its link in the sidebar (the session is kept)."""
        from playwright.sync_api import expect

        self.sidebar.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
        expect(self.main.get_by_role("heading", name=title, level=1)).to_be_visible(timeout=MINUTE)
        self.settle()

    def pick(self, label: str, option: str, scope=None) -> None:
        """Choose ``option`` in the select box labelled ``label``."""
        from playwright.sync_api import expect

        box = (scope or self.main).get_by_role("combobox", name=label, exact=True)
        box.click()
        self.page.get_by_role("option", name=option, exact=True).click()
        expect(box).to_have_value(option)
        self.settle()

    def number(self, label: str, value: int | float, scope=None) -> None:
        """Type into a number input and commit it (Enter), as a user does."""
        from playwright.sync_api import expect

        box = (scope or self.main).get_by_label(label, exact=True)
        box.fill(str(value))
        box.press("Enter")
        self.settle()
        expect(box).to_have_value(str(value))

    def flash(self, text: str | re.Pattern, timeout: float = 30_000):
        """The success message a step shows after its rerun."""
        from playwright.sync_api import expect

        box = self.main.get_by_test_id("stAlertContentSuccess").filter(has_text=text)
        expect(box).to_be_visible(timeout=timeout)
        return box

    def no_exception(self) -> None:
        assert self.page.get_by_test_id("stException").count() == 0, self.page.get_by_test_id(
            "stException").first.inner_text()


def _job_id(text: str) -> int:
    return int(re.search(r"job (\d+)", text, re.IGNORECASE).group(1))


def _metric(ui: Flow, label: str):
    """The value of the st.metric labelled ``label``."""
    return ui.main.get_by_test_id("stMetric").filter(
        has=ui.page.get_by_text(label, exact=True)).get_by_test_id("stMetricValue")


def _job_card(ui: Flow, job_id: int):
    """The bordered panel of one job (the innermost block holding its "Job N" title)."""
    return ui.main.get_by_test_id("stVerticalBlock").filter(
        has=ui.page.get_by_text(f"Job {job_id}", exact=True)).last


# ---------------------------------------------------------------- the steps, in order

def step_project(ui: Flow, url: str) -> None:
    from playwright.sync_api import expect

    main = ui.main
    ui.page.goto(url)
    expect(main.get_by_role("heading", name="Projects", level=1)).to_be_visible(timeout=MINUTE)
    expect(main.get_by_text("No projects yet.", exact=False)).to_be_visible()
    form = main.get_by_test_id("stForm")
    expect(form.get_by_label("Name", exact=True)).to_be_visible()
    form.get_by_label("Name", exact=True).fill(PROJECT)
    ui.pick("Taxonomy from an example", "everyday-science.yaml", scope=form)
    form.get_by_label("Teacher", exact=True).fill(TEACHER)
    expect(form.get_by_label("Student", exact=True)).to_have_value("smollm2-135m-instruct")
    form.get_by_role("button", name="Create project").click()
    ui.flash(f"Created project {PROJECT} with 7 taxonomy leaves. Next: Generate.")
    expect(ui.sidebar.get_by_role("combobox", name="Project", exact=True)).to_have_value(PROJECT)
    expect(main.get_by_text(f"Current project: {PROJECT}", exact=False)).to_be_visible()
    ui.no_exception()
    ui.shot("project-created")


def step_taxonomy(ui: Flow) -> None:
    from playwright.sync_api import expect

    main = ui.main
    ui.open("Taxonomy")
    leaves = _metric(ui, "Leaves")
    expect(leaves).to_have_text("7")
    # Add a leaf under Physics.
    ui.pick("Node", "Physics")
    add_form = main.get_by_test_id("stForm").filter(has_text="Add a node under")
    expect(add_form).to_contain_text("Add a node under Physics")
    add_form.get_by_label("New node name", exact=True).fill("Astronomy")
    add_form.get_by_label("Description (optional)", exact=True).fill("stars, planets, telescopes")
    add_form.get_by_role("button", name="Add").click()
    ui.flash("Added Physics > Astronomy.")
    expect(leaves).to_have_text("8")
    # Rename a leaf.
    ui.pick("Node", "Chemistry > Materials")
    node_form = main.get_by_test_id("stForm").filter(has=ui.page.get_by_role("button", name="Save node"))
    name_box = node_form.get_by_label("Name", exact=True)
    expect(name_box).to_have_value("Materials")
    name_box.fill("Materials science")
    node_form.get_by_role("button", name="Save node").click()
    ui.flash("Saved Chemistry > Materials science.")
    expect(main.get_by_role("combobox", name="Node", exact=True)).to_have_value("Chemistry > Materials science")
    expect(leaves).to_have_text("8")
    main.get_by_role("tab", name="YAML").click()
    yaml_code = main.get_by_test_id("stCode").filter(has_text="Astronomy")
    expect(yaml_code).to_be_visible()
    expect(yaml_code).to_contain_text("Materials science")
    ui.no_exception()
    ui.shot("taxonomy-edited")


def step_generate(ui: Flow) -> int:
    """Returns how many samples the job wrote."""
    from playwright.sync_api import expect

    from lumina import jobs

    main = ui.main
    ui.open("Generate")
    expect(main.get_by_text(f"teacher {TEACHER}", exact=False).first).to_be_visible()
    expect(main.get_by_role("radiogroup").get_by_text("taxonomy (8 taxonomy leaves)", exact=True)).to_be_visible()
    expect(main.get_by_text("Taxonomy: Everyday science (8 leaves)", exact=True)).to_be_visible()
    ui.number("Samples", N_SAMPLES)
    ui.number("Batch size", N_SAMPLES)
    # Short teacher answers keep this quick on a CPU; the code path is the same.
    ui.number("Max tokens", 96, scope=main.locator(".st-key-gen_i_tokens"))
    ui.number("Max tokens", 48, scope=main.locator(".st-key-gen_a_tokens"))
    expect(main.get_by_text("Budget:", exact=False)).to_be_visible()
    main.get_by_role("button", name="Generate", exact=True).click()
    expect(main.get_by_role("heading", name="This run")).to_be_visible()
    title = main.get_by_text(re.compile(r"^Job \d+$"))
    expect(title).to_be_visible()
    gen_job = int(title.inner_text().split()[1])
    card = _job_card(ui, gen_job)
    expect(card).to_contain_text(f"generate · taxonomy · {N_SAMPLES} samples · {PROJECT}")
    ui.shot("generate-started")
    expect(card.get_by_text(re.compile(r"^finished"))).to_be_visible(timeout=8 * MINUTE)
    ui.settle()
    job = jobs.get(gen_job)
    assert job.status == "done" and job.done + job.failed == N_SAMPLES, jobs.log_tail(job)
    assert job.done >= 3, f"only {job.done} of {N_SAMPLES} generated:\n{jobs.log_tail(job)}"
    expect(card.get_by_test_id("stProgress")).to_contain_text(
        f"{N_SAMPLES} / {N_SAMPLES} items" + (f" ({job.failed} failed)" if job.failed else ""))
    expect(card.get_by_text(re.compile(r"took \d+"))).to_be_visible()
    expect(main.get_by_role("radiogroup").get_by_text(f"evolve ({job.done} samples)", exact=True)).to_be_visible()
    ui.no_exception()
    ui.shot("generate-done")
    return job.done


def step_score(ui: Flow, n_gen: int) -> None:
    from playwright.sync_api import expect

    main = ui.main
    ui.open("Quality")
    score_jobs = []
    for scorer in ("heuristics", "dedup"):
        main.get_by_role("button", name=re.compile(rf"^{scorer}")).click()
        score_job = _job_id(ui.flash(re.compile(rf"Started {scorer} as job \d+\.")).inner_text())
        score_jobs.append(score_job)
        ui.settle()  # the run that shows the job's panel is over
        # The panel shows while the job is queued or running, and goes when it is over.
        expect(main.get_by_text(f"Job {score_job}", exact=True)).to_be_hidden(timeout=5 * MINUTE)
        ui.settle()
    expect(main.get_by_role("button", name="heuristics (up to date)")).to_be_visible()
    expect(main.get_by_role("heading", name="Distributions")).to_be_visible()
    expect(main.get_by_test_id("stPlotlyChart").first).to_be_visible()
    expect(main.get_by_text("pending samples match", exact=False)).to_be_visible()
    ui.no_exception()
    ui.shot("quality-scored")
    # The Jobs page keeps every run: both scorers finished.
    ui.open("Jobs")
    for job_id, scorer in zip(score_jobs, ("heuristics", "dedup")):
        card = _job_card(ui, job_id)
        expect(card).to_contain_text(f"score · {scorer} · {PROJECT}")
        expect(card.get_by_text("finished", exact=True)).to_be_visible()
    ui.no_exception()
    ui.shot("jobs")


def step_map(ui: Flow, n_gen: int) -> None:
    from playwright.sync_api import expect

    main = ui.main
    ui.open("Diversity map")
    # The taxonomy edit counts here too: 8 leaves, a few of them with samples.
    expect(_metric(ui, "Taxonomy leaves with at least one sample")).to_have_text(re.compile(r"^[1-4] of 8$"))
    expect(main.get_by_text(f"0 of {n_gen} samples on the map", exact=False)).to_be_visible()
    main.get_by_role("button", name="Update map").click()
    ui.flash(re.compile(r"Map job \d+ started\."))
    expect(main.get_by_role("heading", name="Diversity", exact=True)).to_be_visible(timeout=5 * MINUTE)
    ui.settle()
    expect(main.get_by_text(f"{n_gen} of {n_gen} samples on the map", exact=False)).to_be_visible()
    expect(_metric(ui, "Vendi score")).to_have_text(re.compile(r"^\d+\.\d$"))
    expect(main.locator(".js-plotly-plot").first).to_be_visible()
    ui.no_exception()
    ui.shot("diversity-map")


def step_review(ui: Flow, n_gen: int) -> None:
    """A approves the first sample, X rejects the second, A approves the rest."""
    from playwright.sync_api import expect

    main, page = ui.main, ui.page
    ui.open("Review")
    expect(ui.sidebar.get_by_label("Reviewer", exact=True)).to_have_value(REVIEWER)
    position = main.get_by_text(re.compile(r"^\d+ / \d+$"))
    expect(position).to_have_text(f"1 / {n_gen}")
    ui.shot("review-queue")
    keys = ["a", "x"] + ["a"] * (n_gen - 2)
    for k, key in enumerate(keys):
        meta = main.get_by_text(re.compile(r"^sample \d+ · status pending")).first
        expect(meta).to_be_visible()
        sid = int(re.match(r"sample (\d+)", meta.inner_text()).group(1))
        page.evaluate("document.activeElement && document.activeElement.blur()")  # keys go to the page
        page.keyboard.press(key)
        page.wait_for_timeout(200)
        ui.flash(f"{'Approved' if key == 'a' else 'Rejected'} sample {sid}.")
        if k + 1 < n_gen:
            expect(position).to_have_text(f"{k + 2} / {n_gen}")
        ui.settle()
    expect(main.get_by_text("Nothing left to review here.", exact=False)).to_be_visible()
    ui.shot("review-done")
    main.get_by_test_id("stButtonGroup").get_by_text("Progress", exact=True).click()  # the view switch
    ui.settle()
    for label, value in (("Pending review", 0), ("Approved", n_gen - 1), ("Rejected", 1)):
        expect(_metric(ui, label)).to_have_text(str(value))
    ui.no_exception()
    ui.shot("review-progress")


def step_freeze(ui: Flow, n_approved: int, n_eval: int) -> None:
    from playwright.sync_api import expect

    main = ui.main
    ui.open("Datasets")
    expect(main.get_by_text(f"Approved samples a version would hold today: {n_approved}.",
                            exact=False)).to_be_visible()
    form = main.get_by_test_id("stForm")
    expect(form.get_by_label("Version name", exact=True)).to_have_value("v1")
    form.get_by_role("button", name="Freeze").click()
    ui.flash(f"Froze v1: {n_approved - n_eval} train, {n_eval} eval.")
    expect(main.get_by_role("heading", name="Versions")).to_be_visible()
    expect(main.get_by_role("combobox", name="Version", exact=True)).to_have_value("v1")
    expect(form.get_by_label("Version name", exact=True)).to_have_value("v2")
    ui.no_exception()
    ui.shot("dataset-frozen")


def step_train(ui: Flow, n_train: int, n_eval: int) -> int:
    """Returns the run id."""
    from playwright.sync_api import expect

    main = ui.main
    ui.open("Train")
    expect(main.get_by_role("combobox", name="Dataset version", exact=True)).to_have_value("v1")
    expect(main.get_by_role("combobox", name="Preset", exact=True)).to_have_value("quick check")
    main.get_by_text("Settings", exact=True).click()
    ui.number("Max steps (-1 = by epochs)", TRAIN_STEPS)
    ui.number("Max length (tokens)", 128)
    expect(_metric(ui, "Steps")).to_have_text(str(TRAIN_STEPS))
    expect(_metric(ui, "Train / eval rows")).to_have_text(f"{n_train} / {n_eval}")
    main.get_by_role("button", name="Start training").click()
    box = ui.flash(re.compile(r"Run \d+ started \(job \d+\)\."))
    run_id = int(re.search(r"Run (\d+)", box.inner_text()).group(1))
    ui.shot("train-started")
    expect(main.get_by_text(re.compile(r"^status done"))).to_be_visible(timeout=8 * MINUTE)
    ui.settle()
    expect(main.get_by_text(re.compile(rf"^status done · lora on .* · step {TRAIN_STEPS} · loss \d"))).to_be_visible()
    expect(main.get_by_text("finished", exact=True).first).to_be_visible()
    expect(main.get_by_test_id("stPlotlyChart").first).to_be_visible()
    ui.no_exception()
    ui.shot("train-done")
    return run_id


def step_evaluate(ui: Flow, run_id: int, n_eval: int) -> int:
    """Returns the evaluation's job id."""
    from playwright.sync_api import expect

    main = ui.main
    ui.open("Evaluate")
    expect(main.get_by_role("combobox", name="Run", exact=True)).to_have_value(
        re.compile(rf"^run {run_id} · v1 · lora on "))
    ui.number("Prompts to answer", 1)
    judge = main.get_by_role("switch", name="Pairwise judge")
    expect(judge).to_be_checked()
    main.get_by_text("Pairwise judge", exact=True).click()
    expect(judge).not_to_be_checked()
    ui.settle()
    main.get_by_role("button", name="Evaluate", exact=True).click()
    eval_job = _job_id(ui.flash(re.compile(r"Evaluation started \(job \d+\)\.")).inner_text())
    ui.shot("evaluate-started")
    expect(main.get_by_role("heading", name=f"Results (job {eval_job})")).to_be_visible(timeout=8 * MINUTE)
    ui.settle()
    for label in ("Eval loss (own domain)", "Perplexity"):
        expect(_metric(ui, label)).to_have_text(re.compile(r"^\d+\.\d+$"))
    expect(_metric(ui, "Rows")).to_have_text(str(n_eval))
    expect(main.get_by_text("vs base", exact=False).first).to_be_visible()
    expect(main.get_by_text("Answers (1)", exact=True)).to_be_visible()
    ui.no_exception()
    ui.shot("evaluate-done")
    return eval_job


# ---------------------------------------------------------------- the test

def test_new_user_whole_loop_in_chromium(lumina_home, bundled_model_dir, tmp_path):
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    from playwright.sync_api import expect, sync_playwright

    from lumina import datasets
    from lumina.evaluation import jobs as eval_runs
    from lumina.projects import samples
    from lumina.train import job as train_runs

    shots = Path(os.environ.get("LUMINA_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = start_streamlit(port, env={"LUMINA_HOME": str(lumina_home), "LUMINA_REVIEWER": REVIEWER},
                             extra_args=["--server.address", "127.0.0.1", "--server.fileWatcherType", "none"])
    started = time.monotonic()
    timings: dict[str, float] = {}

    def lap(step: str) -> None:
        timings[step] = round(time.monotonic() - started)

    n_eval = 1  # eval share 0.1 of a few approved samples: one held out
    seen: dict[str, int] = {}  # what the UI reported, checked against the store below

    def run_steps(ui: Flow) -> None:
        step_project(ui, f"http://127.0.0.1:{port}/")
        lap("project")
        step_taxonomy(ui)
        lap("taxonomy")
        seen["generated"] = n_gen = step_generate(ui)
        lap("generate")
        step_score(ui, n_gen)
        lap("score")
        step_map(ui, n_gen)
        lap("map")
        step_review(ui, n_gen)
        lap("review")
        seen["approved"] = n_approved = n_gen - 1
        step_freeze(ui, n_approved, n_eval)
        lap("freeze")
        seen["run"] = step_train(ui, n_approved - n_eval, n_eval)
        lap("train")
        seen["eval_job"] = step_evaluate(ui, seen["run"], n_eval)
        lap("evaluate")

    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            page.set_default_timeout(30_000)
            expect.set_options(timeout=30_000)  # a busy 2-core machine renders slowly
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            ui = Flow(page, shots)
            try:
                run_steps(ui)
            except Exception:
                ui.shot("failure")  # what the page showed when a step gave up
                raise
            assert not errors, errors
            browser.close()
    finally:
        expect.set_options(timeout=5_000)  # Playwright's default again, for the tests after this one
        stop(server)
        print(f"\nflow timings (s since server start): {timings}")
        print("screenshots:", shots)

    # ---------------------------------------------------------------- what the library stored
    stored = samples.list_for(PROJECT)
    assert len(stored) == seen["generated"]
    statuses = sorted(s.status for s in stored)
    assert statuses == sorted(["approved"] * (seen["generated"] - 1) + ["rejected"])
    assert {s.mode for s in stored} == {"taxonomy"} and {s.teacher for s in stored} == {TEACHER}
    assert all(s.node_path and s.node_path.startswith(("Physics", "Biology", "Chemistry")) for s in stored)
    assert all(not s.node_path.startswith("Chemistry > Materials") or s.node_path == "Chemistry > Materials science"
               for s in stored)
    [version] = datasets.list_versions(PROJECT)
    assert version.name == "v1"
    assert version.counts == {"train": seen["generated"] - 1 - n_eval, "eval": n_eval}
    [run] = train_runs.list_runs(PROJECT)
    assert run.id == seen["run"] and run.status == "done"
    assert run.config.get("_version") == "v1" and run.config.get("max_steps") == TRAIN_STEPS
    assert run.metrics["steps"] == TRAIN_STEPS
    [ev] = [j for j in eval_runs.evaluations(PROJECT, seen["run"]) if j.id == seen["eval_job"]]
    assert ev.status == "done" and ev.result["domain"]["tuned"]["loss"] > 0
    assert not ev.result.get("judge")
