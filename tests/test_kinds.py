"""The seams every kind plugs in through: the registry, teacher backends, job kinds, plugins."""

from __future__ import annotations

import sys
import textwrap
from datetime import datetime

import pytest
from pydantic import BaseModel, Field

from lumina import jobs, plugins
from lumina.errors import InvalidInputError, TeacherError
from lumina.records import Job
from lumina.teachers import BACKENDS, Backend, backend_of, build_teacher, parse_spec
from lumina.teachers.options import for_spec
from lumina.teachers.probe import runs_in_process


@pytest.fixture
def fresh_plugins(monkeypatch):
    """Plugin modules are imported once per process; each test starts with none loaded."""
    monkeypatch.setattr(plugins, "_plugins_loaded", set())
    yield monkeypatch


def _job(kind: str, params: dict) -> Job:
    return Job(id=1, project_id=None, kind=kind, params=params, status="done", total=0, done=0, failed=0,
               tokens=0, busy_s=0.0, pid=None, pid_started=None, heartbeat_at=None, created_at=datetime.now(),
               started_at=None, finished_at=None, cancel_requested=False, error=None, log_path=None)


def test_registry_names_and_refusals():
    reg = plugins.Registry("widget", "lumina.jobs.kinds")  # any importable package works as the built-ins

    class W:
        def __init__(self, name):
            self.name = name

    a = reg.register(W("a"))
    assert reg.get("a") is a and "a" in reg and a in list(reg)
    reg.register(a)  # the same object again (a module imported twice) is harmless
    with pytest.raises(ValueError, match="Two widgets are named 'a'"):
        reg.register(type("Other", (), {"name": "a"})())
    with pytest.raises(InvalidInputError, match=r"Unknown widget 'zzz' \(available: .*a"):
        reg.get("zzz")
    with pytest.raises(ValueError, match="non-empty name"):
        reg.register(W(""))


def test_builtin_kinds_keep_their_stored_names():
    assert set(BACKENDS.names()) >= {"transformers", "vllm", "openai"}
    assert set(jobs.KINDS.names()) >= {"generate", "probe", "expand", "train", "eval", "playground", "score",
                                       "map", "import"}
    assert jobs.KINDS.get("train").cancel_grace_s >= 150  # a cancel never kills the trainer mid-save
    assert jobs.KINDS.get("score").control_role == "curator"
    assert jobs.describe(_job("generate", {"mode": "grounded", "n": 5})) == "generate · grounded · 5 samples"
    assert jobs.progress_unit(_job("score", {"scorer": "judge"})) == "samples"
    assert jobs.progress_unit(_job("train", {})) == "steps"
    assert jobs.describe(_job("gone-kind", {})) == "gone-kind"  # a job of a removed plugin still lists


def test_remote_is_declared_not_guessed():
    assert backend_of("openai:http://127.0.0.1:9/v1#m").remote and runs_in_process("openai:http://127.0.0.1:9/v1#m")
    assert not backend_of("transformers:smollm2-135m-instruct").remote
    assert for_spec("transformers:x", {"teacher_options": {"concurrency": 3}}) == {}
    assert for_spec("openai:http://h/v1#m", {"teacher_options": {"concurrency": 3}})["concurrency"] == 3
    assert str(parse_spec("openai:http://h:8000/v1/#m")) == "openai:http://h:8000/v1#m"
    with pytest.raises(TeacherError, match="Unknown teacher backend 'gpt'"):
        parse_spec("gpt:foo")


def test_a_plugin_backend_is_one_file(tmp_path, fresh_plugins):
    (tmp_path / "echo_backend.py").write_text(textwrap.dedent('''
        from pydantic import BaseModel, Field
        from lumina.teachers import Backend, BACKENDS, Completion
        from lumina.teachers.spec import parse_url_spec

        class EchoOptions(BaseModel):
            prefix: str = Field("echo: ", description="put before every answer")

        class Echo:
            name = "echo"
            def __init__(self, model, base_url, prefix="echo: ", **_):
                self.model, self.base_url, self.prefix = model, base_url, prefix
            def chat(self, requests):
                return [Completion(text=self.prefix + r.messages[-1]["content"]) for r in requests]

        def build(spec, **options):
            return Echo(spec.model, spec.base_url, **options)

        BACKENDS.register(Backend("echo", factory=f"{__name__}:build", remote=True, options=EchoOptions,
                                  parse=parse_url_spec, help="repeats the prompt"))
    '''))
    fresh_plugins.syspath_prepend(str(tmp_path))
    fresh_plugins.setenv("LUMINA_PLUGINS", "echo_backend")
    try:
        spec = parse_spec("echo:http://127.0.0.1:1/v1#parrot")
        assert (spec.backend, spec.model, spec.base_url) == ("echo", "parrot", "http://127.0.0.1:1/v1")
        opts = for_spec(str(spec), {"teacher_options": {"prefix": ">> "}})
        teacher = build_teacher(spec, **opts)
        from lumina.teachers import ChatRequest, GenParams

        out = teacher.chat([ChatRequest([{"role": "user", "content": "hi"}], GenParams())])
        assert out[0].text == ">> hi" and runs_in_process(str(spec))
    finally:
        BACKENDS.unregister("echo")
        sys.modules.pop("echo_backend", None)


def test_a_broken_plugin_is_named_in_one_line(fresh_plugins):
    fresh_plugins.setenv("LUMINA_PLUGINS", "no_such_lumina_plugin_xyz")
    for _ in range(2):  # every lookup says so, not only the first: a long-lived server must not go quiet
        with pytest.raises(InvalidInputError, match="plugin 'no_such_lumina_plugin_xyz'.*could not be imported"):
            BACKENDS.get("transformers")


def test_job_params_are_checked_on_submit(tmp_path, fresh_plugins):
    class Toy(BaseModel):
        count: int = Field(1, ge=1, le=5)

    kind = jobs.JobKind("toy-check", handler="x:y", params=f"{__name__}:_ToyParams")
    globals()["_ToyParams"] = Toy
    jobs.KINDS.register(kind)
    try:
        with pytest.raises(InvalidInputError, match="Invalid toy-check job settings: count"):
            jobs.submit("toy-check", None, {"count": 99}, launch_worker=False)
        job = jobs.submit("toy-check", None, {}, launch_worker=False)
        assert job.params == {"count": 1}  # stored with its defaults: a later version reads the same
    finally:
        jobs.KINDS.unregister("toy-check")
    with pytest.raises(InvalidInputError, match="Unknown job kind 'nope'"):
        jobs.submit("nope", None, {}, launch_worker=False)


def test_a_plugin_job_kind_runs_in_a_real_worker(tmp_path, fresh_plugins):
    """One new file declares a kind; the worker (another process) finds it through LUMINA_PLUGINS
    and hands its handler the typed context."""
    (tmp_path / "count_job.py").write_text(textwrap.dedent('''
        from pydantic import BaseModel, Field
        from lumina.jobs import KINDS, JobKind
        from lumina.store import connect
        from lumina.store import jobs as store_jobs

        class CountParams(BaseModel):
            upto: int = Field(3, ge=1, le=100, description="count to this")

        def run(ctx):
            for i in range(ctx.params.upto):
                ctx.checkpoint()
            with connect() as con:
                store_jobs.update(con, ctx.job_id, total=ctx.params.upto, done=ctx.params.upto,
                                  result={"counted": ctx.params.upto, "project": ctx.project})

        KINDS.register(JobKind("count", handler=f"{__name__}:run", params=f"{__name__}:CountParams",
                               describe=lambda j: f"count to {j.params['upto']}"))
    '''))
    fresh_plugins.syspath_prepend(str(tmp_path))
    fresh_plugins.setenv("PYTHONPATH", str(tmp_path))
    fresh_plugins.setenv("LUMINA_PLUGINS", "count_job")
    try:
        job = jobs.submit("count", None, {"upto": 4})
        final = jobs.wait(job.id, timeout_s=120)
        assert final.status == "done", jobs.log_tail(final)
        assert final.result == {"counted": 4, "project": None}
        assert (final.done, final.total) == (4, 4) and jobs.describe(final) == "count to 4"
    finally:
        jobs.KINDS.unregister("count")
        sys.modules.pop("count_job", None)


def test_a_job_of_an_unknown_kind_still_has_its_controls():
    job = _job("kind-of-a-removed-plugin", {})
    assert jobs.kind_of(job).control_role == "owner" and jobs.progress_unit(job) == "items"
