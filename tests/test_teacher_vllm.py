"""The vLLM teacher on the real bundled model.

vLLM spawns worker processes, so the engine runs in a child script with a ``__main__`` guard
(exactly how the app must use it), started once for the whole module (~40-70 s on 2 cores).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from lumina.errors import NotFoundError
from lumina.teachers import ChatRequest, GenParams, build_teacher, vllm_available
from lumina.teachers.backends.vllm_backend import VLLMTeacher

pytestmark = pytest.mark.skipif(not vllm_available(), reason="vLLM is not installed")

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

SCRIPT = textwrap.dedent('''
    import json, sys, time
    from lumina.teachers import ChatRequest, GenParams
    from lumina.teachers.backends.vllm_backend import VLLMTeacher

    SCHEMA, BOUNDED = json.loads(sys.argv[2]), json.loads(sys.argv[3])
    ASK = "Write one instruction a user might give an assistant about {}. Answer in JSON with the key instruction."

    def req(text, **p):
        return ChatRequest([{"role": "user", "content": text}], GenParams(**p))

    if __name__ == "__main__":
        t = VLLMTeacher(sys.argv[1])
        t0 = time.monotonic()
        t.load()
        load_s = time.monotonic() - t0
        reqs = [
            req("What is the capital of France?", max_tokens=32, temperature=0.0),
            req("Name three colours.", max_tokens=32, temperature=0.0),
            req("Say hello in Spanish.", max_tokens=32, temperature=0.7, seed=7),
            req("Write a long story about a dragon.", max_tokens=5, temperature=0.0),
            req(ASK.format("cooking pasta"), max_tokens=200, temperature=0.0, json_schema=BOUNDED),
            req(ASK.format("learning Python"), max_tokens=200, temperature=0.7, seed=3, json_schema=BOUNDED),
            req("Tell me a fun fact about cats.", max_tokens=20, temperature=1.0, seed=1234),
            req("Tell me a fun fact about cats.", max_tokens=20, temperature=1.0, seed=1234),
            req("Count from 1 to 10, separated by commas.", max_tokens=40, temperature=0.0, stop=[","]),
            req("word " * 3000, max_tokens=8),  # longer than max_model_len: a per-request error
            req(ASK.format("gardening"), max_tokens=200, temperature=0.0, json_schema=SCHEMA),
        ]
        out = t.chat(reqs)
        t.close()
        sp = VLLMTeacher.sampling_params(GenParams(max_tokens=12, temperature=0.3, seed=5, stop=["\\n"],
                                                   json_schema=SCHEMA))
        mapping = {"max_tokens": sp.max_tokens, "seed": sp.seed, "stop": sp.stop,
                   "json": sp.structured_outputs.json,
                   "plain_structured": VLLMTeacher.sampling_params(GenParams()).structured_outputs}
        print("RESULT " + json.dumps({"load_s": load_s, "max_model_len": t.max_model_len,
                                      "mapping": mapping,
                                      "loaded_after_close": t.loaded,
                                      "completions": [c.to_dict() for c in out]}))
''')


@pytest.fixture(scope="module")
def vllm_run(bundled_model_dir, tmp_path_factory):
    script = tmp_path_factory.mktemp("vllm") / "run_vllm_teacher.py"
    script.write_text(SCRIPT)
    proc = subprocess.run(
        [sys.executable, str(script), str(bundled_model_dir), json.dumps(SCHEMA), json.dumps(BOUNDED)],
        capture_output=True, text=True, timeout=400,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, (
        f"vLLM script failed (rc {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    return json.loads(lines[-1][len("RESULT "):])


@pytest.mark.slow
def test_plain_batch(vllm_run):
    cs = vllm_run["completions"]
    assert len(cs) == 11
    assert vllm_run["max_model_len"] == 2048 and vllm_run["loaded_after_close"] is False
    for c in cs[:3]:
        assert c["error"] is None
        assert c["text"].strip()
        assert "<|im_end|>" not in c["text"]
        assert c["prompt_tokens"] > 0 and c["completion_tokens"] > 0
        assert c["finish_reason"] in ("stop", "length")
    assert cs[3]["finish_reason"] == "length" and cs[3]["completion_tokens"] == 5


@pytest.mark.slow
def test_json_schema(vllm_run):
    cs = vllm_run["completions"]
    for c in cs[4:6] + cs[10:]:
        assert c["error"] is None
        assert c["text"].startswith('{"instruction":"'), c  # compact JSON, forced by the grammar
    for c in cs[4:6]:
        assert c["finish_reason"] == "stop", c
        data = json.loads(c["text"])
        assert isinstance(data, dict) and set(BOUNDED["required"]) <= set(data)
        assert len(data["instruction"]) <= 100
    if cs[10]["finish_reason"] == "stop":
        assert "instruction" in json.loads(cs[10]["text"])


@pytest.mark.slow
def test_per_request_seed_stop_and_errors(vllm_run):
    cs = vllm_run["completions"]
    assert cs[6]["text"] == cs[7]["text"]  # same seed, same text, even within one batch
    assert "," not in cs[8]["text"] and cs[8]["finish_reason"] == "stop"
    assert cs[9]["text"] == "" and "maximum context length" in cs[9]["error"]


@pytest.mark.slow
def test_sampling_params_mapping(vllm_run):
    m = vllm_run["mapping"]
    assert m["max_tokens"] == 12 and m["seed"] == 5 and m["stop"] == ["\n"]
    assert m["json"] == SCHEMA and m["plain_structured"] is None


def test_engine_args_on_cpu():
    t = build_teacher("vllm:smollm2-135m-instruct", max_model_len=1024)
    assert isinstance(t, VLLMTeacher) and not t.loaded
    args = t.engine_args()
    assert args["enforce_eager"] is True and args["dtype"] == "bfloat16" and args["max_model_len"] == 1024
    assert VLLMTeacher("x", enforce_eager=False).engine_args()["enforce_eager"] is False


def test_unknown_model_is_a_not_found_error():
    with pytest.raises(NotFoundError):
        VLLMTeacher("no-such-model-anywhere").chat(
            [ChatRequest([{"role": "user", "content": "hi"}], GenParams(max_tokens=4))])
