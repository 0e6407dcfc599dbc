"""AppTest smoke tests: every page runs without an exception, with and without real data."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lumina import jobs, projects
from lumina.projects import samples
from lumina.records import NewSample
from lumina.store import connect
from lumina.store import jobs as store_jobs
from lumina.store import samples as store_samples
from lumina.taxonomy.tree import SEP

APP = str(Path(__file__).resolve().parent.parent / "app.py")
EXAMPLE = Path(__file__).resolve().parent.parent / "data" / "examples" / "everyday-science.yaml"
TEACHER = "transformers:smollm2-135m-instruct"
PAGES = ["projects", "taxonomy", "generate", "samples", "jobs", "quality", "diversity", "review",
         "datasets", "train", "evaluate"]


def make_project(name: str = "science") -> int:
    p = projects.create_project(name, taxonomy_file=EXAMPLE, teacher=TEACHER, check_reachable=False)
    with connect() as con:
        for i, (node, inst, resp) in enumerate([
            (f"Physics{SEP}Optics", "Why is the sky blue during the day?",
             "Sunlight scatters off air molecules; blue light scatters most (Rayleigh scattering)."),
            (f"Biology{SEP}Human body", "How much sleep does a teenager need?",
             "Most teenagers need eight to ten hours of sleep a night."),
            (f"Chemistry{SEP}Kitchen chemistry", "What does baking soda do in a cake?",
             "It reacts with acids to release carbon dioxide, which makes the batter rise."),
        ]):
            samples.write(con, p.id, NewSample(
                mode="taxonomy", instruction=inst, response=resp,
                messages=[{"role": "user", "content": inst}, {"role": "assistant", "content": resp}],
                node_path=node, task_type="explanation", difficulty="beginner", teacher=TEACHER,
                template="taxonomy/instruction@v1,taxonomy/answer@v1", seed=i,
                params={"answer": {"max_tokens": 64}}, raw={"answer": resp, "finish_reason": "stop"},
            ))
    return p.id


def make_failed_job(project_id: int) -> int:
    job = jobs.submit("generate", project_id, {"n": 2, "seed": 0}, launch_worker=False)
    with connect() as con:
        store_jobs.add_items(con, job.id, [("item-0", {"node_path": f"Physics{SEP}Optics"}),
                                           ("item-1", {"node_path": f"Biology{SEP}Ecology"})])
        store_jobs.complete_item(con, job.id, "item-0", None)
        store_jobs.fail_item(con, job.id, "item-1", "answer was not valid JSON", "{not json <b>")
        store_jobs.refresh_counts(con, job.id, tokens=120, busy_s=2.0)
        store_jobs.finish(con, job.id, "done")
    return job.id


GENERATE = "gen_go"


def run_page(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception, at.exception
    if page != "projects":
        at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def text_of(at: AppTest) -> str:
    parts = []
    for kind in ("title", "subheader", "markdown", "caption", "text", "info", "warning", "error",
                 "success", "code", "metric"):
        for el in getattr(at, kind):
            parts.append(str(getattr(el, "value", "")) + " " + str(getattr(el, "label", "")))
    return "\n".join(parts)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_without_projects(page):
    at = run_page(page)
    assert not at.error, [e.value for e in at.error]
    text = text_of(at)
    if page in ("projects",):
        assert "No projects yet" in text
    elif page == "jobs":
        assert "No jobs" in text
    else:
        assert "lumina demo" in text


@pytest.mark.parametrize("page", PAGES)
def test_every_page_with_data(page):
    pid = make_project()
    job_id = make_failed_job(pid)
    at = run_page(page)
    assert not at.error, [e.value for e in at.error]
    assert at.session_state["project"] == "science"
    assert at.sidebar.selectbox[0].value == "science"
    text = text_of(at)
    expect = {
        "projects": ["science"],
        "taxonomy": ["Everyday science", "Task types"],
        "generate": ["Everyday science", "taxonomy/instruction@v", "taxonomy/answer@v"],
        "samples": ["Why is the sky blue during the day?", "Rayleigh scattering", "3 samples"],
        "jobs": [f"Job {job_id}", "answer was not valid JSON", "{not json <b>",
                 "finished with 1 of 2 items failed"],
        "review": ["1 / 3", "Why is the sky blue during the day?"],
        "quality": ["Heuristic flags", "Automatic policy"],
        "diversity": ["3 of 7", "No map yet"],
        "datasets": ["Approved samples a version would hold today", "No versions yet"],
        "train": ["smollm2-135m-instruct", "Freeze a dataset version"],
        "evaluate": ["smollm2-135m-instruct", "No finished training run yet"],
    }[page]
    for needle in expect:
        assert needle in text, f"{needle!r} not on page {page}"
    if page == "projects":
        assert at.dataframe[0].value["name"].tolist() == ["science"]
        assert at.dataframe[0].value["samples"].tolist() == [3]
    if page == "samples":
        assert len(at.dataframe[0].value) == 3
    if page == "taxonomy":
        df = at.dataframe[0].value
        assert df.loc[df["path"] == "Physics", "generated"].item() == 1


def test_samples_filters_and_search():
    make_project()
    at = run_page("samples")
    at.text_input(key="samples_search").input("baking soda").run()
    assert not at.exception
    assert len(at.dataframe[0].value) == 1
    assert "What does baking soda do in a cake?" in text_of(at)
    at.text_input(key="samples_search").input("").run()
    at.selectbox(key="samples_node").select("Physics").run()
    assert at.dataframe[0].value["node"].tolist() == [f"Physics{SEP}Optics"]
    at.selectbox(key="samples_status").select("approved").run()
    assert "No sample matches these filters" in text_of(at)


def test_samples_filters_by_flag_and_score_like_the_review_table():
    make_project()
    with connect() as con:
        store_samples.add_flags_many(con, [(2, "duplicate", "dedup", {"canonical": 1, "kind": "near"})])
    at = run_page("samples")
    at.multiselect(key="samples_flags").select("duplicate").run()
    assert not at.exception, at.exception
    assert at.dataframe[0].value["id"].tolist() == [2]
    assert "How much sleep does a teenager need?" in text_of(at)
    at.multiselect(key="samples_flags").unselect("duplicate").run()
    assert at.dataframe[0].value["id"].tolist() == [1, 2, 3]

    words = {s.id: s.scores["heuristics.response_words"] for s in samples.list_for("science")}
    most = max(words.values())
    at.selectbox(key="samples_metric").select("heuristics.response_words").run()
    at.number_input(key="samples_low").set_value(most).run()
    assert not at.exception, at.exception
    assert at.dataframe[0].value["id"].tolist() == [i for i, w in words.items() if w >= most]
    at.number_input(key="samples_high").set_value(most - 1).run()
    assert "No sample matches these filters" in text_of(at)


def test_create_project_form_with_example():
    at = run_page("projects")
    at.text_input(key="new_name").input("my-project")
    at.selectbox(key="new_example").select("everyday-science.yaml")
    at.text_input(key="new_teacher").input(TEACHER)
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert projects.names() == ["my-project"]
    assert at.session_state["project"] == "my-project"
    assert "Created project **my\\-project**" in text_of(at)
    assert projects.taxonomy_of(projects.get("my-project")).name == "Everyday science"


def test_create_project_form_shows_errors():
    at = run_page("projects")
    at.button[0].click().run()
    assert at.error and "needs a name" in at.error[0].value
    at.text_input(key="new_name").input("bad/name")  # form fields are sent with the submit
    at.button[0].click().run()
    assert not at.exception
    assert at.error and "'bad/name' must be 1-64 characters" in at.error[0].value
    at.text_input(key="new_name").input("ok-name")
    at.text_input(key="new_teacher").input("nonsense")
    at.button[0].click().run()
    assert not at.exception
    assert "BACKEND:MODEL" in at.error[0].value
    assert projects.names() == []


def test_jobs_cancel_queued_job():
    pid = make_project()
    job = jobs.submit("generate", pid, {"n": 4}, launch_worker=False)  # no worker: stays queued
    at = run_page("jobs")
    assert "queued" in text_of(at)
    at.button(key=f"cancel-{job.id}").click().run()
    assert not at.exception, at.exception
    assert jobs.get(job.id).status == "cancelled"
    assert at.button(key=f"resume-{job.id}")


def test_generate_rejects_bad_teacher_override():
    make_project()
    at = run_page("generate")
    at.text_input(key="gen_a_teacher").input("not-a-spec")
    at.button(key=GENERATE).click().run()
    assert not at.exception, at.exception
    assert at.error and "BACKEND:MODEL" in at.error[0].value
    assert jobs.list_jobs() == []  # nothing was started


def test_create_project_form_with_uploaded_yaml():
    at = run_page("projects")
    tree = "name: Tiny\ntask_types: [explanation]\ndifficulty: [easy]\nnodes:\n  - name: Cooking\n"
    at.text_input(key="new_name").input("uploaded")
    at.text_input(key="new_teacher").input(TEACHER)
    at.file_uploader(key="new_upload").upload("tiny.yaml", tree.encode(), "application/x-yaml")
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert projects.taxonomy_of(projects.get("uploaded")).name == "Tiny"

    at.text_input(key="new_name").input("broken")
    at.file_uploader(key="new_upload").set_value(("bad.yaml", b"nodes: [unclosed", "application/x-yaml"))
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert at.error and "not valid YAML" in at.error[0].value
    assert projects.names() == ["uploaded"]


def test_generate_starts_a_worker_job():
    # A teacher nobody serves: the worker starts, fails or is cancelled quickly, and no model loads.
    projects.create_project("remote", taxonomy_file=EXAMPLE, check_reachable=False,
                            teacher="openai:http://127.0.0.1:9/v1#nobody")
    at = run_page("generate")
    at.button(key=GENERATE).click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    (job,) = jobs.list_jobs()
    assert at.session_state["generate_job_id"] == ("remote", job.id)
    assert f"Job {job.id}" in text_of(at)
    final = jobs.wait(job.id, timeout_s=30)
    if final.status in ("queued", "running"):
        final = jobs.cancel(job.id, grace_s=3)  # never leave a worker behind in a deleted folder
    assert final.status in ("failed", "cancelled")
    at.run()
    assert not at.exception, at.exception
    assert final.status in text_of(at)
    if final.error:
        assert final.error in [w.value for w in at.warning]


def test_generate_page_modes(tmp_path):
    projects.create_project("modes", check_reachable=False, teacher="openai:http://127.0.0.1:9/v1#nobody")
    at = run_page("generate")
    at.radio(key="gen_mode").set_value("seeded").run()
    assert not at.exception, at.exception
    assert "--as seeds" in text_of(at)
    assert at.button(key=GENERATE).disabled  # nothing to generate from yet

    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text('{"instruction": "What is the tallest mountain on Earth?"}\n', encoding="utf-8")
    import lumina.io.importers

    lumina.io.importers.import_file("modes", seeds, "seeds")
    at.run()
    assert "seeded (1 seed tasks)" in [str(o) for o in at.radio(key="gen_mode").options]
    assert not at.button(key=GENERATE).disabled
    assert at.number_input(key="gen_seed_examples").value == 3
    assert "seeded/instruction@v1" in text_of(at)
    at.radio(key="gen_mode").set_value("regenerate").run()
    assert at.number_input(key="gen_max_turns").value == 3 and at.button(key=GENERATE).disabled


def test_generate_page_teacher_settings_and_probe():
    from tests.helpers import completion_json, scripted_server

    with scripted_server(lambda n, body: (200, completion_json("A rainbow is <b>light</b> split by drops."), 0)) as (url, _):
        projects.create_project("probe", check_reachable=False, teacher=f"openai:{url}#fake")
        at = run_page("generate")
        at.text_input(key="gen_teacher_spec::probe").set_value("gpt:nonsense")
        at.button(key="FormSubmitter:teacher_form-Save teacher").click().run()
        assert any("Unknown teacher backend" in e.value for e in at.error)
        assert projects.get("probe").teacher == f"openai:{url}#fake"  # nothing saved
        at.button(key="gen_probe").click().run()
        assert not at.exception, at.exception
        ok = [s.value for s in at.success]
        assert ok and "Answered in" in ok[0] and "&lt;b&gt;" in ok[0]  # teacher text shown inert


# --- blind inputs: teacher choices, upload limit, split preview, mix controls ----------------------


def test_create_project_teacher_choices_list_the_backends_and_the_bundled_model():
    from lumina.teachers import BACKENDS, BUNDLED_LLM, default_teacher_spec

    at = run_page("projects")
    box = at.selectbox(key="new_teacher_choice")
    options = [str(o) for o in box.options]
    for b in BACKENDS:
        assert any(o.startswith(f"{b.name}:") for o in options), (b.name, options)
        assert any(b.help.rpartition(": ")[0] in o for o in options)
    assert any(f"transformers:{BUNDLED_LLM}" in o for o in options)
    chosen = BACKENDS.get(box.value.partition(":")[0])  # the default runs on this machine
    assert not chosen.remote and not (chosen.unavailable and chosen.unavailable())
    assert box.value == default_teacher_spec()  # the library's default, when it runs here
    at.text_input(key="new_name").input("picked")
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert projects.get("picked").teacher == box.value


def test_create_project_checks_the_teacher_beside_the_field_first():
    at = run_page("projects")
    at.text_input(key="new_name").input("never")
    at.text_input(key="new_teacher").input("gpt:nonsense")
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert projects.names() == []
    (err,) = at.error
    assert "Unknown teacher backend 'gpt'" in err.value
    form = at.get("form")[0]  # shown inside the form, beside the teacher fields, not at the page top
    assert any("Unknown teacher backend" in e.value for e in form.error)

    at.text_input(key="new_teacher").input("")
    at.selectbox(key="new_teacher_choice").select("openai:")  # a remote backend needs its URL typed
    at.button[0].click().run()
    assert any("openai:http://HOST:PORT/v1#MODEL" in e.value for e in at.get("form")[0].error)
    assert projects.names() == []


def test_upload_limit_shown_is_the_enforced_limit(monkeypatch):
    from lumina.config import settings
    from lumina.errors import InvalidInputError
    from lumina.io.uploads import submit_uploads
    from lumina.web import serving

    def shown(at: AppTest) -> list[int]:
        return [u.proto.max_upload_size_mb for u in at.get("file_uploader")]

    at = run_page("projects")  # AppTest, like a server started without the repo's config: 200 MB
    assert shown(at) == [settings().max_upload_mb] == [100]
    monkeypatch.setenv("LUMINA_MAX_UPLOAD_MB", "1")
    make_project()
    at = run_page("generate")
    at.radio(key="gen_mode").set_value("seeded").run()
    assert shown(at) == [1]
    with pytest.raises(InvalidInputError, match="exceed the 1 MB limit"):
        submit_uploads("science", "seeds", [("big.jsonl", b"x" * (1024**2 + 1))])
    args = serving.streamlit_args("127.0.0.1", 8501)
    assert args[args.index("--server.maxUploadSize") + 1] == "1"  # the server agrees too


def _approve_all() -> None:
    from lumina import review

    review.decide("science", [s.id for s in samples.list_for("science")], "approve", "cli-owner")


def test_datasets_page_previews_the_split_before_freezing():
    make_project()
    _approve_all()
    at = run_page("datasets")
    assert not at.exception, at.exception
    assert "eval: 1 of 3 rows (33%), train: 2" in text_of(at)
    assert any("You asked for 10%" in w.value and "(33%)" in w.value for w in at.warning)
    at.slider(key="ds_eval_share").set_value(0.0).run()
    assert "eval: 0 of 3 rows (0%), train: 3" in text_of(at)
    assert not at.warning


def test_datasets_mix_ratio_waits_for_a_mix_file():
    make_project()
    _approve_all()
    at = run_page("datasets")
    assert at.slider(key="mix_ratio").disabled
    at.text_input(key="mix_path").input("general.jsonl").run()
    assert not at.slider(key="mix_ratio").disabled
    at.text_input(key="mix_path").input("").run()
    assert at.slider(key="mix_ratio").disabled
    at.file_uploader(key="mix_upload").upload("general.jsonl", b'{"instruction": "a", "response": "b"}\n',
                                              "application/json")
    at.run()
    assert not at.slider(key="mix_ratio").disabled
