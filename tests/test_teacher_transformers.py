"""The transformers teacher on the real bundled SmolLM2-135M-Instruct (CPU, ~20 s in all)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from lumina.errors import NotFoundError
from lumina.teachers import ChatRequest, GenParams, Teacher, build_teacher
from lumina.teachers.backends.transformers_backend import TransformersTeacher

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


def _req(text: str, **params) -> ChatRequest:
    return ChatRequest([{"role": "user", "content": text}], GenParams(**params))


@pytest.fixture(scope="module")
def teacher(bundled_model_dir):
    t = TransformersTeacher(str(bundled_model_dir), batch_size=8)
    t.load()
    yield t
    t.close()


def test_heavy_libraries_not_imported_at_module_import():
    code = (
        "import sys; import lumina.teachers.backends.transformers_backend, lumina.teachers.backends.vllm_backend, "
        "lumina.teachers.backends.openai_backend; "
        "bad = [m for m in ('torch', 'transformers', 'vllm', 'openai', 'xgrammar', 'httpx') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_batch_of_different_prompts(teacher):
    prompts = ["What is the capital of France?", "Name three colours.", "Say hello in Spanish.",
               "What is 2 + 2?"]
    out = teacher.chat([_req(p, max_tokens=32, temperature=0.0) for p in prompts])
    assert len(out) == len(prompts)
    for c in out:
        assert c.ok, c.error
        assert c.text.strip()
        assert "<|im_end|>" not in c.text and "<|im_start|>" not in c.text
        assert c.prompt_tokens > 0 and 0 < c.completion_tokens <= 33
        assert c.finish_reason in ("stop", "length")
    # Left padding: the shorter prompts in the batch were padded on the left, so the prompt
    # token counts differ while every row still produced an answer.
    assert len({c.prompt_tokens for c in out}) > 1
    assert teacher.device == "cpu" and teacher.dtype in ("float32", "bfloat16")


def test_mixed_params_keep_order_and_length_finish(teacher):
    reqs = [
        _req("Write a long story about a dragon.", max_tokens=5, temperature=0.0),
        _req("What is the capital of France?", max_tokens=24, temperature=0.0),
        _req("Write a long poem about the sea.", max_tokens=5, temperature=0.0),
    ]
    out = teacher.chat(reqs)
    assert [c.finish_reason for c in (out[0], out[2])] == ["length", "length"]
    assert out[0].completion_tokens == 5 and out[2].completion_tokens == 5
    assert out[1].text.strip() and out[1].completion_tokens > 5
    # Left padding with the attention mask: the request alone starts its greedy answer the same
    # way as inside the mixed call (bf16 rounding may make long continuations drift apart).
    alone = teacher.chat([reqs[1]])[0]
    assert alone.text[:12] == out[1].text[:12]


def test_json_schema_output_parses(teacher):
    ask = "Write one instruction a user might give an assistant about {}. Answer in JSON with the key instruction."
    reqs = [
        _req(ask.format("cooking pasta"), max_tokens=160, temperature=0.0, json_schema=BOUNDED),
        _req(ask.format("learning Python"), max_tokens=160, temperature=0.7, seed=3, json_schema=BOUNDED),
        _req(ask.format("gardening"), max_tokens=160, temperature=0.0, json_schema=SCHEMA),
    ]
    out = teacher.chat(reqs)
    for c in out:
        assert c.ok, c.error
        assert c.extra.get("constrained") is True
        assert c.text.startswith('{"instruction": "'), c.text  # compact JSON, forced by the grammar
    for c in out[:2]:
        assert c.finish_reason == "stop", c
        data = json.loads(c.text)
        assert isinstance(data, dict) and set(BOUNDED["required"]) <= set(data)
        assert isinstance(data["instruction"], str) and len(data["instruction"]) <= 100
    if out[2].finish_reason == "stop":
        assert "instruction" in json.loads(out[2].text)


def test_seed_reproduces_and_stop_strings(teacher):
    r = _req("Tell me a fun fact about cats.", max_tokens=20, temperature=1.0, seed=1234)
    a, b = teacher.chat([r])[0], teacher.chat([r])[0]
    assert a.text == b.text
    stopped = teacher.chat([_req("Count from 1 to 10, separated by commas.", max_tokens=40,
                                 temperature=0.0, stop=[","])])[0]
    assert "," not in stopped.text and stopped.finish_reason == "stop"


def test_spec_builds_a_teacher_for_the_alias():
    t = build_teacher("transformers:smollm2-135m-instruct", batch_size=4)
    assert isinstance(t, TransformersTeacher) and isinstance(t, Teacher)
    assert t.backend == "transformers" and t.model == "smollm2-135m-instruct" and not t.loaded
    t.close()  # closing an unloaded teacher is a no-op


def test_unknown_model_is_a_not_found_error():
    t = TransformersTeacher("no-such-model-anywhere")
    with pytest.raises(NotFoundError):
        t.chat([_req("hi", max_tokens=4)])
    with pytest.raises(NotFoundError):
        TransformersTeacher("nobody/does-not-exist-xyz").load()
