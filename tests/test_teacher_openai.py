"""The OpenAI-compatible teacher: fault injection against tiny scripted HTTP servers (fast), and
real generation against a real local vLLM OpenAI server (slow, one server start per module)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from lumina.errors import TeacherError
from lumina.teachers import ChatRequest, GenParams, Teacher, build_teacher, vllm_available
from lumina.teachers.backends.openai_backend import OpenAITeacher
from tests.helpers import completion_json as _completion_json
from tests.helpers import scripted_server

SCHEMA = {
    "type": "object",
    "properties": {"instruction": {"type": "string"}},
    "required": ["instruction"],
}
# With a length bound the grammar must close the string, so the output always completes; with
# the plain schema a 135M model may ramble inside the string until max_tokens.
BOUNDED = {
    "type": "object",
    "properties": {"instruction": {"type": "string", "maxLength": 100}},
    "required": ["instruction"],
}
ASK = "Write one instruction a user might give an assistant about {}. Answer in JSON with the key instruction."
FAST = {"backoff_s": 0.01, "max_backoff_s": 0.05}  # keep retry sleeps out of the test time


def _req(text: str, **params) -> ChatRequest:
    return ChatRequest([{"role": "user", "content": text}], GenParams(**params))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- fault injection (fast) ----------------------------------------------------------------

def test_retries_500_then_succeeds():
    def script(n, body):
        if n <= 2:
            return 500, {"error": {"message": f"boom {n}"}}, 0
        return 200, _completion_json('{"instruction": "Boil water."}'), 0

    with scripted_server(script) as (url, calls):
        t = OpenAITeacher("fake", base_url=url, max_retries=3, api_key="sk-test", **FAST)
        out = t.chat([_req("hi", max_tokens=50, temperature=0.0, seed=9, json_schema=SCHEMA)])
        t.close()
    c = out[0]
    assert c.ok, c.error
    assert json.loads(c.text) == {"instruction": "Boil water."}
    assert (c.finish_reason, c.prompt_tokens, c.completion_tokens) == ("stop", 11, 3)
    assert c.extra["attempts"] == 3 and len(calls) == 3
    body = calls[-1]["body"]
    assert calls[-1]["path"] == "/v1/chat/completions" and calls[-1]["auth"] == "Bearer sk-test"
    assert body["model"] == "fake" and body["seed"] == 9 and body["max_tokens"] == 50
    assert body["messages"] == [{"role": "user", "content": "hi"}]
    assert body["response_format"] == {
        "type": "json_schema", "json_schema": {"name": "output", "schema": SCHEMA, "strict": True}}


def test_gives_up_after_max_retries_with_a_per_request_error():
    with scripted_server(lambda n, b: (503, {"error": {"message": "overloaded"}}, 0)) as (url, calls):
        out = OpenAITeacher("fake", base_url=url, max_retries=2, **FAST).chat([_req("hi")])
    assert out[0].text == "" and "HTTP 503" in out[0].error and "overloaded" in out[0].error
    assert len(calls) == 3


def test_client_errors_are_not_retried_and_stay_per_request():
    def script(n, body):
        if body["messages"][0]["content"] == "bad":
            return 400, {"error": {"message": "schema not supported"}}, 0
        return 200, _completion_json("fine", finish="length"), 0

    with scripted_server(script) as (url, calls):
        out = OpenAITeacher("fake", base_url=url, concurrency=2, **FAST).chat(
            [_req("good"), _req("bad"), _req("good")])
    assert [c.ok for c in out] == [True, False, True]
    assert out[0].text == "fine" and out[0].finish_reason == "length"
    assert "HTTP 400" in out[1].error and "schema not supported" in out[1].error
    assert len(calls) == 3  # the 400 was not retried


def test_timeout_becomes_a_per_request_error_without_hanging():
    with scripted_server(lambda n, b: (200, _completion_json("late"), 3.0)) as (url, calls):
        t = OpenAITeacher("fake", base_url=url, timeout_s=0.4, max_retries=1, **FAST)
        t0 = time.monotonic()
        out = t.chat([_req("hi"), _req("there")])
        elapsed = time.monotonic() - t0
        assert t.ping() >= 0  # the server itself answers: a timeout is not "unreachable"
    assert elapsed < 3.0
    for c in out:
        assert c.text == "" and "timed out" in c.error


def test_unreachable_endpoint_raises_teacher_error_quickly():
    url = f"http://127.0.0.1:{_free_port()}/v1"  # nothing listens there any more
    t = OpenAITeacher("fake", base_url=url, max_retries=2, concurrency=4, **FAST)
    t0 = time.monotonic()
    with pytest.raises(TeacherError) as ei:
        t.chat([_req(f"q{i}") for i in range(40)])
    assert time.monotonic() - t0 < 5
    msg = str(ei.value)
    assert msg == f"Cannot reach the teacher at {url}: connection refused"
    assert "\n" not in msg
    with pytest.raises(TeacherError, match="connection refused"):
        t.ping()


def test_spec_and_protocol():
    t = build_teacher("openai:http://127.0.0.1:8000/v1/#served-name", concurrency=2)
    assert isinstance(t, OpenAITeacher) and isinstance(t, Teacher)
    assert t.backend == "openai" and t.model == "served-name"
    assert t.base_url == "http://127.0.0.1:8000/v1" and t.concurrency == 2
    assert t.chat([]) == []
    with pytest.raises(TeacherError):
        OpenAITeacher("m", base_url="localhost:8000")


# -- a real vLLM OpenAI server (slow) ------------------------------------------------------

SERVED = "smollm2"


@pytest.fixture(scope="module")
def vllm_server(bundled_model_dir, tmp_path_factory):
    if not vllm_available():
        pytest.skip("vLLM is not installed")
    port = _free_port()
    log_path = tmp_path_factory.mktemp("vllm-server") / "server.log"
    env = dict(os.environ, VLLM_CPU_NUM_OF_RESERVED_CPU=os.environ.get("VLLM_CPU_NUM_OF_RESERVED_CPU", "0"),
               VLLM_CPU_KVCACHE_SPACE=os.environ.get("VLLM_CPU_KVCACHE_SPACE", "1"))
    cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(bundled_model_dir),
           "--served-model-name", SERVED, "--host", "127.0.0.1", "--port", str(port),
           "--enforce-eager", "--max-model-len", "2048", "--dtype", "bfloat16"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def tail() -> str:
        return log_path.read_text(errors="replace")[-4000:]

    try:
        deadline = time.monotonic() + 240
        while True:
            if proc.poll() is not None:
                pytest.fail(f"vLLM server exited with {proc.returncode}:\n{tail()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"vLLM server not healthy after 240 s:\n{tail()}")
            time.sleep(1)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


@pytest.mark.slow
def test_real_server_plain_and_json(vllm_server):
    t = OpenAITeacher(SERVED, base_url=vllm_server, concurrency=4)
    assert t.ping() > 0
    assert SERVED in t.list_models()
    reqs = [
        _req("What is the capital of France?", max_tokens=32, temperature=0.0),
        _req("Name three colours.", max_tokens=32, temperature=0.7, seed=1),
        _req("Write a long story about a dragon.", max_tokens=5, temperature=0.0),
        _req(ASK.format("cooking pasta"), max_tokens=200, temperature=0.0, json_schema=BOUNDED),
        _req(ASK.format("learning Python"), max_tokens=200, temperature=0.7, seed=3, json_schema=BOUNDED),
        _req(ASK.format("gardening"), max_tokens=200, temperature=0.0, json_schema=SCHEMA),
    ]
    out = t.chat(reqs)
    for c in out:
        assert c.ok, c.error
        assert c.prompt_tokens > 0 and c.completion_tokens > 0
    for c in out[:2]:
        assert c.text.strip() and c.finish_reason in ("stop", "length")
    assert out[2].finish_reason == "length" and out[2].completion_tokens == 5
    for c in out[3:]:
        assert c.text.lstrip().startswith("{"), c  # the server's grammar forces JSON
    for c in out[3:5]:
        assert c.finish_reason == "stop", c
        data = json.loads(c.text)
        assert isinstance(data, dict) and set(BOUNDED["required"]) <= set(data)
        assert len(data["instruction"]) <= 100
    if out[5].finish_reason == "stop":
        assert "instruction" in json.loads(out[5].text)
    # An unknown served name is the server's 404: a per-request error, not an exception.
    wrong = OpenAITeacher("no-such-served-model", base_url=vllm_server, max_retries=0).chat([_req("hi")])
    assert not wrong[0].ok and "404" in wrong[0].error
    t.close()
