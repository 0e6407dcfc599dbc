"""AppTest of the generation studio: the taxonomy editor and the Generate page's new parts."""

import json

from lumina import jobs, projects, prompts
from lumina.taxonomy import edit as taxonomy_edit
from lumina.taxonomy import ops
from lumina.taxonomy.tree import SEP
from tests.helpers import completion_json, scripted_server, write_pdf
from tests.test_app import EXAMPLE, GENERATE, TEACHER, make_project, run_page, text_of

REMOTE = "openai:http://127.0.0.1:9/v1#nobody"  # nobody serves it: nothing loads, nothing answers


def errors(at):
    return [e.value for e in at.error]


def test_taxonomy_editor_add_rename_move_delete():
    make_project()
    at = run_page("taxonomy")
    at.selectbox(key="tax_node").select("Physics").run()
    at.text_input(key="tax_add_name").input("Acoustics")
    at.text_input(key="tax_add_desc").input("sound, echoes")
    at.button(key="FormSubmitter:tax_add_form-Add").click().run()
    assert not at.exception and not errors(at), errors(at)
    assert "Added **Physics &gt; Acoustics**" in text_of(at)  # shown as Markdown, escaped
    assert ops.find(taxonomy_edit.load("science"), f"Physics{SEP}Acoustics").description == "sound, echoes"

    at.selectbox(key="tax_node").select(f"Physics{SEP}Optics").run()
    at.text_input(key=f"tax_name::science::Physics{SEP}Optics").input("Light")
    at.number_input(key=f"tax_weight::science::Physics{SEP}Optics").set_value(3.0)
    at.button(key="FormSubmitter:tax_node_form-Save node").click().run()
    assert not at.exception and not errors(at), errors(at)
    assert at.selectbox(key="tax_node").value == f"Physics{SEP}Light"
    df = at.dataframe[0].value
    assert df.loc[df["path"] == f"Physics{SEP}Light", "generated"].item() == 1  # its sample followed it
    assert df.loc[df["path"] == f"Physics{SEP}Light", "weight"].item() == 3

    at.checkbox(key=f"tax_delete_sure::science::Physics{SEP}Light").check().run()  # ticked here ...
    at.selectbox(key="tax_node").select("Chemistry").run()
    assert at.button(key="tax_delete").disabled  # ... does not arm the delete of another node
    at.selectbox(key="tax_node").select(f"Physics{SEP}Light").run()
    at.checkbox(key=f"tax_delete_sure::science::Physics{SEP}Light").uncheck().run()
    at.selectbox(key=f"tax_move_to::science::Physics{SEP}Light").select("Biology").run()
    at.button(key="tax_move").click().run()
    assert at.selectbox(key="tax_node").value == f"Biology{SEP}Light"
    assert at.button(key="tax_delete").disabled  # needs the confirmation box first
    at.checkbox(key=f"tax_delete_sure::science::Biology{SEP}Light").check().run()
    at.button(key="tax_delete").click().run()
    assert not at.exception and "Deleted 1 node(s)" in text_of(at)
    assert f"Biology{SEP}Light" not in at.selectbox(key="tax_node").options

    at.selectbox(key="tax_node").select("(top level)").run()
    at.text_input(key="tax_add_name").input("Biology")  # a duplicate: refused with a message
    at.button(key="FormSubmitter:tax_add_form-Add").click().run()
    assert "There is already a node 'Biology' at the top level." in errors(at)


def test_taxonomy_outline_lists_and_yaml():
    projects.create_project("blank", teacher=TEACHER, check_reachable=False)
    at = run_page("taxonomy")
    assert "no taxonomy yet" in text_of(at)
    at.text_area(key="tax_outline").input("1. Knives\n1.1 Sharpening .... 3\n2. Pans\n").run()
    at.button(key="tax_outline_go").click().run()
    assert not at.exception and not errors(at), errors(at)
    assert [leaf for leaf, _, _ in taxonomy_edit.load("blank").leaves()] == [f"Knives{SEP}Sharpening", "Pans"]
    rev = next(k for k in at.session_state if k.startswith("tax_task_types::")).split("::")[1]
    at.text_area(key=f"tax_task_types::{rev}").input("recipe\ntip\n\nrecipe")
    at.text_area(key=f"tax_personas::{rev}").input("a home cook")
    at.button(key="FormSubmitter:tax_lists-Save").click().run()
    tree = taxonomy_edit.load("blank")
    assert tree.task_types == ["recipe", "tip"] and tree.personas == ["a home cook"]
    yaml_text = EXAMPLE.read_text(encoding="utf-8")
    at.file_uploader(key="tax_yaml_upload").upload("science.yaml", yaml_text.encode(), "application/x-yaml").run()
    at.button(key="tax_yaml_go").click().run()
    assert not errors(at) and taxonomy_edit.load("blank").name == "Everyday science"
    at.file_uploader(key="tax_yaml_upload").set_value(("bad.yaml", b"\xff\xfe nodes", "application/x-yaml")).run()
    at.button(key="tax_yaml_go").click().run()
    assert "bad.yaml is UTF-16 (or UTF-32) text; re-save it as UTF-8." in errors(at)  # its BOM says so
    assert taxonomy_edit.load("blank").name == "Everyday science"  # a bad file changed nothing


def test_teacher_proposals_are_reviewed_before_they_are_added():
    answer = json.dumps({"subtopics": [{"name": "Lenses", "description": "focusing light"},
                                       {"name": "Mirrors", "description": "reflection"},
                                       {"name": "Lasers", "description": "coherent light"}]})
    with scripted_server(lambda n, body: (200, completion_json(answer), 0)) as (url, _):
        projects.create_project("sci", taxonomy_file=EXAMPLE, teacher=f"openai:{url}#fake")
        at = run_page("taxonomy")
        at.selectbox(key="tax_node").select(f"Physics{SEP}Optics").run()
        at.number_input(key="tax_suggest_n").set_value(3)
        at.button(key="tax_suggest").click().run()
    assert not at.exception and not errors(at), errors(at)
    assert "Proposed sub-topics for Physics &gt; Optics" in text_of(at)
    # Reject one, rename another, keep the third: what a reviewer does with each proposal.
    name_keys = sorted(k for k in at.session_state if k.startswith("tax_prop_name_"))
    token = name_keys[0].rsplit("_", 1)[1]
    at.text_input(key=f"tax_prop_name_0_{token}").input("Lenses and prisms")
    at.checkbox(key=f"tax_prop_add_1_{token}").uncheck().run()
    at.button(key="tax_accept").click().run()
    assert not at.exception and not errors(at), errors(at)
    kids = [c.name for c in ops.find(taxonomy_edit.load("sci"), f"Physics{SEP}Optics").children]
    assert kids == ["Lenses and prisms", "Lasers"]
    assert "Added 2 sub-topic(s)" in text_of(at)


def test_expand_to_depth_starts_a_job_that_can_be_cancelled():
    slow = json.dumps({"subtopics": [{"name": "Part one"}, {"name": "Part two"}]})
    with scripted_server(lambda n, body: (200, completion_json(slow), 1.0)) as (url, calls):
        projects.create_project("grow", taxonomy_file=EXAMPLE, teacher=f"openai:{url}#fake")
        at = run_page("taxonomy")
        at.number_input(key="tax_expand_depth").set_value(4)
        at.button(key="tax_expand_go").click().run()
        assert not at.exception and not errors(at), errors(at)
        (job,) = jobs.list_jobs()
        assert job.kind == "expand" and job.params["depth"] == 4
        assert f"Job {job.id}" in text_of(at)
        from tests.helpers import wait_for

        wait_for(lambda: calls, timeout=60, what="the first teacher call")
        at.run()
        at.button(key=f"cancel-{job.id}").click().run()
        final = jobs.wait(job.id, timeout_s=60)
    assert final.status == "cancelled", final
    assert len(taxonomy_edit.load("grow").leaves()) >= 8  # what was added before the cancel stays


def _wait_for_import(at) -> None:
    """Uploads are imported by a worker (an ``import`` job): wait for it, then let the page show it."""
    (job,) = [j for j in jobs.list_jobs() if j.kind == "import"]
    assert job.params["names"], job.params
    final = jobs.wait(job.id, timeout_s=120)
    assert final.status == "done", (final.error, jobs.log_tail(final))
    at.run()
    assert not at.exception, at.exception


def test_generate_grounded_import_template_override_and_budget(tmp_path):
    projects.create_project("docs", check_reachable=False, teacher=REMOTE)
    at = run_page("generate")
    at.radio(key="gen_mode").set_value("grounded").run()
    assert "No passages yet" in text_of(at) and at.button(key=GENERATE).disabled
    pdf = write_pdf(tmp_path / "lakes.pdf", ["Lake Baikal is the deepest lake on Earth."]).read_bytes()
    at.file_uploader(key="gen_import_documents_file_0").upload("lakes.pdf", pdf, "application/pdf").run()
    at.button(key="gen_import_documents_go").click().run()
    assert not at.exception and not errors(at), errors(at)
    _wait_for_import(at)
    assert "Imported 1 document(s) as 1 passages." in text_of(at)
    assert "grounded (1 passages)" in [str(o) for o in at.radio(key="gen_mode").options]
    assert not at.button(key=GENERATE).disabled
    assert "Budget: at most" in text_of(at) and "No speed measured yet" in text_of(at)

    key = next(k for k in at.session_state if k.startswith("tpl_grounded/question"))
    at.text_area(key=key).input("Ask about {{ passage }} with {{ undefined_thing }}").run()
    at.button(key="tpl_save_grounded/question").click().run()
    assert any("'undefined_thing' is undefined" in e for e in errors(at))
    at.text_area(key=key).input("Ask one {{ question_type }} question about:\n{{ passage }}\nJSON please.").run()
    at.button(key="tpl_save_grounded/question").click().run()
    assert not errors(at) and "grounded/question@p1" in text_of(at)
    pid = projects.get("docs").id
    assert prompts.for_project(pid, "grounded", "question").ref == "grounded/question@p1"
    at.button(key="tpl_reset_grounded/question").click().run()
    assert prompts.for_project(pid, "grounded", "question").ref == "grounded/question@v1"

    at.button(key=GENERATE).click().run()  # launch, then cancel: the Jobs contract from the page
    (job,) = [j for j in jobs.list_jobs() if j.kind == "generate"]
    assert job.params["mode"] == "grounded" and f"Job {job.id}" in text_of(at)
    at.button(key=f"cancel-{job.id}").click().run()
    final = jobs.wait(job.id, timeout_s=60)
    assert final.status in ("cancelled", "failed", "done")


def test_generate_evolve_settings_are_validated():
    make_project()
    at = run_page("generate")
    at.radio(key="gen_mode").set_value("evolve").run()
    assert "evolve (3 samples)" in [str(o) for o in at.radio(key="gen_mode").options]
    at.text_input(key="gen_src_ids").input("1, x").run()
    assert "Sample ids are whole numbers separated by commas." in errors(at)
    at.text_input(key="gen_src_ids").input("1, 99").run()
    at.button(key=GENERATE).click().run()
    assert any("Samples 99 are not in project 'science'" in e for e in errors(at))
    at.multiselect(key="gen_ops").set_value([]).run()
    assert any("operations" in e for e in errors(at)) and at.button(key=GENERATE).disabled
    assert jobs.list_jobs() == []


def test_grounded_run_from_the_page_with_the_bundled_teacher(tmp_path, bundled_model_dir):
    projects.create_project("page", teacher=TEACHER, check_reachable=False)
    at = run_page("generate")
    at.radio(key="gen_mode").set_value("grounded").run()
    text = ("The Nile is about 6,650 kilometres long and flows north into the Mediterranean Sea. "
            "Its two main tributaries meet at Khartoum.")
    at.file_uploader(key="gen_import_documents_file_0").upload("nile.txt", text.encode(), "text/plain").run()
    at.button(key="gen_import_documents_go").click().run()
    _wait_for_import(at)
    at.number_input(key="gen_n").set_value(2)
    at.number_input(key="gen_i_tokens").set_value(64)
    at.number_input(key="gen_a_tokens").set_value(160)
    at.button(key=GENERATE).click().run()
    assert not at.exception and not errors(at), errors(at)
    (job,) = [j for j in jobs.list_jobs() if j.kind == "generate"]
    final = jobs.wait(job.id, timeout_s=600)
    assert final.status == "done" and final.total == 2 and final.done >= 1, jobs.log_tail(final)
    from lumina.projects import samples

    got = samples.list_for("page")
    assert len(got) == final.done and all(s.mode == "grounded" and s.context == text for s in got)
    at.run()
    assert not at.exception and ("finished" in text_of(at))
