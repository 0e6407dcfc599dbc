"""A real job against a scripted OpenAI-compatible server that misbehaves per item: not JSON,
wrong schema, truncated, a <think> block. Bad answers are retried, then recorded as failures
with their raw text; the job goes on and reports the count."""

import json

from lumina.config import examples_dir
from tests.helpers import completion_json, lumina, scripted_server

GOOD = "Explain how a rainbow forms after rain."
BEHAVIOUR = {  # item index -> instruction-step answer (every attempt)
    0: (json.dumps({"instruction": GOOD}), "stop"),
    1: ("Sure! Here is a request: explain rainbows.", "stop"),
    2: (json.dumps({"question": "wrong key"}), "stop"),
    3: ('{"instruction": "Explain how lenses bend li', "length"),
    4: ('<think>The user wants optics.</think>{"instruction": "Why does a prism split white light?"}', "stop"),
}


def script(n, body):
    if "response_format" in body:  # the instruction step asks for JSON
        index = body["seed"] % 1_000_003  # retries add multiples of 1_000_003 to the item's seed
        text, finish = BEHAVIOUR[index]
        return 200, completion_json(text, finish), 0
    return 200, completion_json("<think>Recall dispersion.</think>Light of each colour bends differently."), 0


def test_malformed_answers_are_retried_then_failures_with_raw_text(tmp_path):
    with scripted_server(script) as (url, calls):
        lumina("project", "create", "faults", "--taxonomy", str(examples_dir() / "everyday-science.yaml"),
               "--teacher", f"openai:{url}#fake", check=True)
        proc = lumina("generate", "faults", "--n", "5", "--batch-size", "5", "--wait")
        shown = json.loads(lumina("jobs", "show", "1", "--json", check=True).stdout)
    assert proc.returncode == 1  # finished, but with failures: never reported as plain success
    assert "finished with 3 of 5 items failed" in proc.stdout
    assert shown["status"] == "done" and (shown["done"], shown["failed"]) == (2, 3)
    raws = {f["key"]: f for f in shown["failures"]}
    assert raws["0000001"]["raw"].count("Sure! Here is a request") == 3  # first try + 2 retries
    assert "malformed JSON" in raws["0000001"]["error"]
    assert "wrong key" in raws["0000002"]["raw"]
    assert "cut off at the length limit" in raws["0000003"]["error"]
    samples = [json.loads(line) for line in lumina("samples", "faults", "--json", check=True).stdout.splitlines()]
    by_instruction = {s["instruction"]: s for s in samples}
    assert set(by_instruction) == {GOOD, "Why does a prism split white light?"}
    for s in samples:  # <think> never leaks into instruction or answer; the reasoning is kept apart
        assert "<think>" not in s["instruction"] + s["response"]
        assert s["response"] == "Light of each colour bends differently."
        assert s["reasoning"] == "Recall dispersion."
    # 5 first tries + 2 retries for each of the 3 bad ones, then 2 answers
    assert len(calls) == 5 + 3 * 2 + 2


def test_project_teacher_options_limit_requests_in_flight():
    import threading

    state = {"now": 0, "most": 0}
    lock = threading.Lock()

    def slow(n, body):
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        import time

        time.sleep(0.3)
        with lock:
            state["now"] -= 1
        if "response_format" in body:
            return 200, completion_json(json.dumps({"instruction": GOOD})), 0
        return 200, completion_json("An answer."), 0

    with scripted_server(slow) as (url, calls):
        lumina("project", "create", "opts", "--taxonomy", str(examples_dir() / "everyday-science.yaml"),
               "--teacher", f"openai:{url}#fake", check=True)
        bad = lumina("project", "update", "opts", "--concurrency", "0")
        assert bad.returncode == 2 and "concurrency" in bad.stderr
        out = lumina("project", "update", "opts", "--concurrency", "1", "--timeout", "30", check=True).stdout
        assert "concurrency 1, timeout 30 s, 3 retries" in out
        proc = lumina("generate", "opts", "--n", "3", "--batch-size", "3", "--wait")
    assert proc.returncode == 0, proc.stderr
    assert len(calls) == 6 and state["most"] == 1  # one request at a time, as the project asked
