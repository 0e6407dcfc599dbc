"""Roles are enforced by the library for signed-in users; the web app's paths and teacher URLs
are confined; the server's API key goes only to the hosts the operator listed."""

from __future__ import annotations

import json
import os

import pytest

from lumina import access, jobs, prompts, review
from lumina.io import importers
from lumina.taxonomy import edit as taxonomy_edit
from lumina import projects as lp
from lumina.access import Actor, acting_as
from lumina.errors import NotFoundError, PermissionDeniedError
from lumina.projects import create_project, update_project
from lumina.projects.samples import list_for
from lumina.teachers import GenParams
from lumina.teachers.base import ChatRequest
from lumina.teachers.backends.openai_backend import OpenAITeacher
from tests.helpers import completion_json, scripted_server

ANN, BOB, EVE = Actor.login("ann@example.org"), Actor.login("bob@example.org"), Actor.login("eve@example.org")


@pytest.fixture
def proj(tmp_path, monkeypatch):
    monkeypatch.delenv("LUMINA_ADMINS", raising=False)
    monkeypatch.delenv("LUMINA_DEFAULT_ROLE", raising=False)
    access._forget_roles()
    create_project("team", teacher="transformers:smollm2-135m-instruct", check_reachable=False)
    f = tmp_path / "rows.jsonl"
    f.write_text("\n".join(json.dumps({"instruction": f"Question {i}?", "response": f"Answer {i}.", "node": "A"})
                           for i in range(4)) + "\n", encoding="utf-8")
    importers.import_file("team", f)
    access.grant("team", ANN.name, "owner")      # the command line acts as owner
    access.grant("team", BOB.name, "curator")
    yield "team"
    access._forget_roles()


def _ids(project):
    return [s.id for s in list_for(project)]


def test_a_viewer_reads_but_cannot_decide_edit_or_change_anything(proj):
    ids = _ids(proj)
    with acting_as(EVE):  # not a member: the default role, viewer
        assert lp.get(proj).name == proj and proj in lp.names()
        assert review.queue_page(proj, EVE.name) is not None
        for attempt in (
            lambda: review.decide(proj, ids[:1], "approve", EVE.name),
            lambda: review.edit(proj, ids[0], EVE.name, response="mine now"),
            lambda: review.undo(proj, EVE.name),
            lambda: prompts.save_override(proj, "taxonomy", "answer", "Answer at {{ difficulty }} level."),
            lambda: taxonomy_edit.add_node(proj, None, "Sneaky"),
            lambda: update_project(proj, student="smollm2-135m-instruct"),
            lambda: lp.delete(proj),
            lambda: access.grant(proj, EVE.name, "owner"),
        ):
            with pytest.raises(PermissionDeniedError, match="eve@example.org is a viewer of 'team'"):
                attempt()
    assert {s.status for s in list_for(proj)} == {"pending"}
    assert lp.exists(proj)


def test_a_curator_reviews_as_themself_only_and_cannot_change_templates(proj):
    ids = _ids(proj)
    with acting_as(BOB):
        review.decide(proj, ids[:1], "approve", BOB.name)
        with pytest.raises(PermissionDeniedError, match="signed in as bob@example.org and cannot act as 'ann@example.org'"):
            review.decide(proj, ids[1:2], "reject", ANN.name)
        with pytest.raises(PermissionDeniedError, match="cannot act as"):
            review.undo(proj, ANN.name)
        with pytest.raises(PermissionDeniedError, match="bob@example.org is a curator of 'team'.*an owner"):
            prompts.save_override(proj, "taxonomy", "answer", "Answer at {{ difficulty }} level.")
        with pytest.raises(PermissionDeniedError, match="an owner"):
            taxonomy_edit.add_node(proj, None, "Sneaky")
    with acting_as(ANN):
        prompts.save_override(proj, "taxonomy", "answer", "Answer at {{ difficulty }} level.")
        access.grant(proj, EVE.name, "curator")
    access._forget_roles()
    with acting_as(EVE):
        review.decide(proj, ids[1:2], "reject", EVE.name)
    statuses = {s.id: s.status for s in list_for(proj)}
    assert statuses[ids[0]] == "approved" and statuses[ids[1]] == "rejected"


def test_the_last_owner_stays_and_default_role_none_hides_projects(proj, monkeypatch):
    with pytest.raises(Exception, match="only owner"):
        access.revoke(proj, ANN.name)
    monkeypatch.setenv("LUMINA_DEFAULT_ROLE", "none")
    access._forget_roles()
    with acting_as(EVE):
        assert lp.names() == []
        with pytest.raises(NotFoundError):
            lp.get(proj)
    with acting_as(BOB):
        assert lp.names() == [proj]
    monkeypatch.setenv("LUMINA_ADMINS", "Eve@Example.org")
    with acting_as(EVE):
        assert access.role_in(lp.get(proj).id) == "owner"


def test_nobody_signed_in_has_no_role(proj):
    with acting_as(access.NOBODY):
        assert lp.names() == []
        with pytest.raises(PermissionDeniedError):
            review.decide(proj, _ids(proj)[:1], "approve", access.NOBODY.name)


def test_jobs_are_controlled_by_role(proj):
    job = jobs.submit("map", lp.get(proj).id, {"refit": False}, launch_worker=False)
    with acting_as(EVE), pytest.raises(PermissionDeniedError, match="cancel a map job"):
        jobs.cancel(job.id, wait=False)
    with acting_as(BOB):
        assert jobs.cancel(job.id, wait=False).status == "cancelled"


def test_a_signed_in_user_creating_a_project_owns_it(monkeypatch):
    monkeypatch.setenv("LUMINA_ADMINS", "root@example.org")
    with acting_as(ANN), pytest.raises(PermissionDeniedError, match="Only the administrators"):
        create_project("mine", teacher="transformers:smollm2-135m-instruct", check_reachable=False)
    monkeypatch.delenv("LUMINA_ADMINS")
    with acting_as(ANN):
        create_project("mine", teacher="transformers:smollm2-135m-instruct", check_reachable=False)
        assert access.members("mine") == [(ANN.name, "owner", ANN.name)]


def test_server_paths_are_confined_in_the_app(lumina_home, tmp_path, monkeypatch):
    inside = lumina_home / "uploads" / "a.jsonl"
    inside.parent.mkdir(parents=True)
    inside.write_text("{}\n")
    link = lumina_home / "uploads" / "out.jsonl"
    link.symlink_to("/etc/passwd")
    assert access.check_path("/etc/passwd") == access.check_path("/etc/passwd")  # the CLI: any path
    with acting_as(Actor("me", "local")):
        assert access.check_path(inside) == inside.resolve()
        for bad in ("/etc/passwd", link, lumina_home / ".." / "x", str(lumina_home) + "-other/x"):
            with pytest.raises(PermissionDeniedError, match="LUMINA_ALLOWED_PATHS"):
                access.check_path(bad)
        monkeypatch.setenv("LUMINA_ALLOWED_PATHS", os.pathsep.join([str(lumina_home), str(tmp_path / "shared")]))
        assert access.check_path(tmp_path / "shared" / "x.csv") == (tmp_path / "shared" / "x.csv").resolve()


def test_teacher_urls_come_from_the_allow_list_for_signed_in_users(monkeypatch):
    monkeypatch.delenv("LUMINA_TEACHER_HOSTS", raising=False)
    with acting_as(ANN):
        for url in ("http://169.254.169.254/latest/v1", "http://127.0.0.1:8501/v1", "http://[::1]:22/v1"):
            with pytest.raises(PermissionDeniedError, match="allow-list"):
                lp.check_teacher(f"openai:{url}#m", reach=True)
        monkeypatch.setenv("LUMINA_TEACHER_HOSTS", "gpu-box:8000, https://api.example.com/v1")
        assert lp.check_teacher("openai:http://gpu-box:8000/v1#m", reach=False)
        assert lp.check_teacher("openai:https://api.example.com/v1#m", reach=False)
        with pytest.raises(PermissionDeniedError):
            lp.check_teacher("openai:http://gpu-box:9000/v1#m", reach=False)
        with pytest.raises(PermissionDeniedError):
            lp.check_teacher("openai:https://api.example.com.evil.net/v1#m", reach=False)
    assert lp.check_teacher("openai:http://169.254.169.254/v1#m", reach=False)  # the CLI decides for itself


def test_the_api_key_goes_only_to_listed_hosts(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    monkeypatch.delenv("LUMINA_API_KEY_HOSTS", raising=False)
    with scripted_server(lambda n, body: (401, {"error": {"message": "no key"}}, 0)) as (url, calls):
        teacher = OpenAITeacher("m", base_url=url, max_retries=0)
        out = teacher.chat([ChatRequest([{"role": "user", "content": "hi"}], GenParams(max_tokens=4))])
        assert calls[-1]["auth"] == "Bearer EMPTY"
        assert "not sent to this host" in out[0].error
        monkeypatch.setenv("LUMINA_API_KEY_HOSTS", "127.0.0.1")
        OpenAITeacher("m", base_url=url, max_retries=0).chat(
            [ChatRequest([{"role": "user", "content": "hi"}], GenParams(max_tokens=4))])
        assert calls[-1]["auth"] == "Bearer sk-secret"
    with scripted_server(lambda n, body: (200, completion_json("ok"), 0)) as (url, calls):
        OpenAITeacher("m", base_url=url, api_key="mine").chat(
            [ChatRequest([{"role": "user", "content": "hi"}], GenParams(max_tokens=4))])
        assert calls[-1]["auth"] == "Bearer mine"  # a key given for this teacher is the user's own


def test_the_datasets_page_refuses_a_server_path_outside_the_allowed_folders(proj):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from lumina import datasets

    review.decide(proj, _ids(proj), "approve", "cli-owner")
    app = str(Path(__file__).resolve().parent.parent / "app.py")
    at = AppTest.from_file(app, default_timeout=60).run()
    at.switch_page("pages/datasets.py").run()
    at.text_input(key="mix_path").input("/etc/passwd")
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert any("LUMINA_ALLOWED_PATHS" in e.value and "/etc/passwd" in e.value for e in at.error), \
        [e.value for e in at.error]
    assert datasets.list_versions(proj) == []
