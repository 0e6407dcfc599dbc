"""Evaluation: loss/perplexity and answers on the bundled model; the pairwise judge against a real
local HTTP server with planted verdicts (and once with the bundled model as judge)."""

from __future__ import annotations

import json
import math
import re
import threading

import pytest

from lumina.errors import InvalidInputError
from lumina.evaluation import answers, forgetting, loss_and_perplexity, pairwise, wilson_interval
from lumina.teachers import build_teacher
from tests.helpers import completion_json, scripted_server

ROWS = [
    {"messages": [{"role": "user", "content": "What is the capital of France?"},
                  {"role": "assistant", "content": "The capital of France is Paris."}]},
    {"messages": [{"role": "system", "content": "Answer in one word."},
                  {"role": "user", "content": "What colour is the sky on a clear day?"},
                  {"role": "assistant", "content": "Blue."}]},
    {"messages": [{"role": "user", "content": "Name a prime number."}, {"role": "assistant", "content": "Seven."},
                  {"role": "user", "content": "Another one?"},
                  {"role": "assistant", "content": "Eleven is also a prime number."}]},
]


def test_loss_and_perplexity_count_only_the_final_answer(bundled_model_dir):
    from transformers import AutoTokenizer

    out = loss_and_perplexity(str(bundled_model_dir), ROWS, max_length=256, batch_size=2)
    assert math.isfinite(out["loss"]) and 0 < out["loss"] < 10
    assert out["perplexity"] == pytest.approx(math.exp(out["loss"]))
    assert out["n"] == 3
    tok = AutoTokenizer.from_pretrained(bundled_model_dir)
    expected = 0
    for r in ROWS:
        prompt = tok.apply_chat_template(r["messages"][:-1], tokenize=True, return_dict=True,
                                         add_generation_prompt=True)["input_ids"]
        full = tok.apply_chat_template(r["messages"], tokenize=True, return_dict=True)["input_ids"]
        assert full[:len(prompt)] == prompt
        expected += len(full) - len(prompt)  # the answer, <|im_end|> and "\n": what training scores
    assert out["tokens"] == expected
    # Batching must not change the number: one row at a time gives the same mean.
    single = loss_and_perplexity(str(bundled_model_dir), ROWS, max_length=256, batch_size=1)
    assert single["loss"] == pytest.approx(out["loss"], rel=1e-4) and single["tokens"] == out["tokens"]
    with pytest.raises(InvalidInputError):
        loss_and_perplexity(str(bundled_model_dir), [])


def test_answers_are_greedy_batched_and_in_order(bundled_model_dir):
    prompts = [[{"role": "user", "content": "What is the capital of France?"}],
               [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello."}],
               [{"role": "user", "content": "What is the capital of France?"}]]
    out = answers(str(bundled_model_dir), prompts, max_new_tokens=12, batch_size=2)
    assert len(out) == 3 and all(isinstance(a, str) for a in out)
    assert sum(bool(a.strip()) for a in out) >= 2
    assert out[0] == out[2]  # greedy: the same prompt gives the same answer wherever it sits
    assert "<|im_end|>" not in "".join(out)
    with pytest.raises(InvalidInputError, match="ending with a user turn"):
        answers(str(bundled_model_dir), [[{"role": "assistant", "content": "x"}]])


# -- the judge, against a scripted server ------------------------------------------------------

PLAN = {0: "prefer B", 1: "prefer A", 2: "always first", 3: "tie", 4: "malformed", 5: "malformed once, then B"}


def _judge_script():
    seen: dict[tuple[int, str], int] = {}
    lock = threading.Lock()

    def script(n: int, body: dict):
        text = body["messages"][0]["content"]
        i = int(re.search(r"question number (\d+)", text).group(1))
        first = re.search(r'Response 1:\n"""\n(\w+)', text).group(1)  # "ALPHA" or "BRAVO"
        b_pos = "1" if first == "BRAVO" else "2"
        a_pos = "2" if b_pos == "1" else "1"
        with lock:
            key = (i, first)
            seen[key] = seen.get(key, 0) + 1
            attempt = seen[key]
        plan = PLAN[i]
        if plan == "malformed" or (plan == "malformed once, then B" and attempt == 1):
            return 200, completion_json('{"reason": "cut off'), 0
        winner = {"prefer B": b_pos, "prefer A": a_pos, "always first": "1", "tie": "tie",
                  "malformed once, then B": b_pos}[plan]
        return 200, completion_json(json.dumps({"reason": f"plan {plan}", "winner": winner})), 0

    return script


def test_pairwise_swaps_positions_combines_votes_and_records_failures():
    prompts = [f"This is question number {i}." for i in PLAN]
    a = [f"ALPHA answer {i}" for i in PLAN]
    b = [f"BRAVO answer {i}" for i in PLAN]
    with scripted_server(_judge_script()) as (url, calls):
        teacher = build_teacher(f"openai:{url}#judge", max_retries=0, backoff_s=0.01)
        result = pairwise(teacher, prompts, a, b, retries=2)
        teacher.close()

    outcomes = {it.index: it.outcome for it in result.items}
    assert outcomes == {0: "win", 1: "loss", 2: "tie", 3: "tie", 4: "failed", 5: "win"}
    assert (result.wins, result.ties, result.losses, result.failed, result.n) == (2, 2, 1, 1, 6)
    assert result.items[2].votes == ["a", "b"]  # position bias shows up as a contradiction -> tie
    assert result.items[0].votes == ["b", "b"] and result.items[0].score == 1.0
    assert result.items[3].score == 0.5
    failed = result.items[4]
    assert failed.votes == [None, None] and failed.score is None and "malformed JSON after 3 attempt" in failed.error
    assert [len(r) for r in failed.raw] == [3, 3]  # every attempt's raw text is kept
    assert result.template == "judge_pairwise/verdict@v1"

    # Both orders reached the server for every item, the first attempt greedy, retries sampled.
    bodies = [c["body"] for c in calls]
    for i in PLAN:
        firsts = {re.search(r'Response 1:\n"""\n(\w+)', bd["messages"][0]["content"]).group(1)
                  for bd in bodies if f"question number {i}." in bd["messages"][0]["content"]}
        assert firsts == {"ALPHA", "BRAVO"}, i
    assert len(calls) == 4 * 2 + 2 * 3 + 2 * 2
    assert all(bd["response_format"]["type"] == "json_schema" for bd in bodies)
    assert sorted({bd["temperature"] for bd in bodies}) == [0.0, 0.7]

    assert result.win_rate == pytest.approx((2 + 0.5 * 2) / 5)
    lo, hi = wilson_interval(0.6, 5)
    assert (result.ci_low, result.ci_high) == pytest.approx((lo, hi))
    assert 0 <= result.ci_low < result.win_rate < result.ci_high <= 1
    assert result.ci_low == pytest.approx(0.2307, abs=1e-3) and result.ci_high == pytest.approx(0.8824, abs=1e-3)
    assert result.consistency == pytest.approx(4 / 5)  # every judged item but the position-biased one
    json.dumps(result.to_dict())  # serialisable as is, for the store


def test_pairwise_rejects_mismatched_lists_and_handles_nothing_judged():
    with pytest.raises(InvalidInputError, match="one answer of each model per prompt"):
        pairwise(None, ["q"], ["a"], [])
    with scripted_server(lambda n, b: (200, completion_json("no json"), 0)) as (url, calls):
        teacher = build_teacher(f"openai:{url}#judge", max_retries=0)
        result = pairwise(teacher, ["q"], ["a"], ["b"], retries=0)
    assert result.failed == 1 and result.win_rate is None and result.ci_low is None and len(calls) == 2


def test_wilson_interval_and_forgetting():
    assert wilson_interval(0.5, 0) == (0.0, 1.0)
    lo, hi = wilson_interval(1.0, 10)
    assert hi == pytest.approx(1.0) and lo == pytest.approx(0.7225, abs=1e-3)
    ok = forgetting({"loss": 2.0}, {"loss": 2.05})
    assert not ok["forgetting"] and ok["warning"] is None and ok["relative_change"] == pytest.approx(0.025)
    bad = forgetting({"loss": 2.0}, {"loss": 2.5}, threshold=0.05)
    assert bad["forgetting"] and "25.0% worse" in bad["warning"]
    assert forgetting({"perplexity": 10.0}, {"perplexity": 9.0}, key="perplexity")["warning"] is None
    with pytest.raises(InvalidInputError, match="need 'loss'"):
        forgetting({}, {"loss": 1.0})


def test_pairwise_with_the_bundled_model_as_judge_gives_verdicts_or_recorded_failures(bundled_model_dir):
    teacher = build_teacher(f"transformers:{bundled_model_dir}", batch_size=4)
    try:
        result = pairwise(teacher, ["What is 2 + 2?", "Name a colour."], ["4", "Blue."], ["Five.", "Red."],
                          retries=1, max_tokens=96)
    finally:
        teacher.close()
    assert result.n == 2 and result.wins + result.ties + result.losses + result.failed == 2
    for it in result.items:
        if it.outcome == "failed":
            assert it.error and it.score is None and any(it.raw)
        else:
            assert it.outcome in ("win", "tie", "loss") and all(v in ("a", "b", "tie") for v in it.votes)


def test_generate_answers_say_whether_the_token_limit_cut_them_off(bundled_model_dir):
    from lumina.evaluation import generate_answers

    prompts = [[{"role": "user", "content": "Write a long story about the sea, with many details."}],
               [{"role": "user", "content": "What is the capital of France?"}]]
    short = generate_answers(str(bundled_model_dir), prompts, max_new_tokens=4)
    assert [a["finish_reason"] for a in short] == ["length", "length"] and [a["tokens"] for a in short] == [4, 4]
    long = generate_answers(str(bundled_model_dir), prompts[1:], max_new_tokens=96)
    [a] = long
    assert a["text"] and "<|im_end|>" not in a["text"]
    assert (a["finish_reason"], a["tokens"] < 96) in (("stop", True), ("length", False))
    assert answers(str(bundled_model_dir), prompts[1:], max_new_tokens=96) == [a["text"]]
