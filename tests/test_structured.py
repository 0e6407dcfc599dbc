"""Structured output and the cache, with a scripted teacher for fault injection."""

from pydantic import BaseModel

from lumina.quality import heuristics
from lumina.teachers import ChatRequest, Completion, GenParams
from lumina.teachers.cached import CachedTeacher
from lumina.teachers.postprocess import split_reasoning
from lumina.teachers.structured import chat_structured


class Out(BaseModel):
    instruction: str


class Scripted:
    """Answers from a script, one entry per call; records what it was asked."""

    backend = "scripted"
    model = "script"

    def __init__(self, answers):
        self.answers = list(answers)
        self.calls = []

    def chat(self, requests):
        self.calls.append(requests)
        return [Completion(text=self.answers.pop(0), finish_reason="stop", completion_tokens=5) for _ in requests]

    def close(self):
        pass


def req(seed=1):
    return ChatRequest([{"role": "user", "content": "write one"}], GenParams(seed=seed))


def test_malformed_json_is_retried_with_a_new_seed_then_accepted():
    t = Scripted(["not json at all", '```json\n{"instruction": "Explain tides."}\n```'])
    [r] = chat_structured(t, [req()], Out, retries=2)
    assert r.ok and r.value.instruction == "Explain tides."
    assert len(r.raw) == 2
    assert t.calls[0][0].params.seed != t.calls[1][0].params.seed
    assert t.calls[0][0].params.json_schema["required"] == ["instruction"]


def test_persistently_malformed_json_is_a_failure_with_raw_text():
    t = Scripted(['{"instruction": ', "{}", "<think>hmm</think> nope"])
    [r] = chat_structured(t, [req()], Out, retries=2)
    assert not r.ok and "malformed JSON after 3 attempt" in r.error
    assert r.raw == ['{"instruction": ', "{}", "<think>hmm</think> nope"]


def test_cache_serves_repeated_calls_and_not_failures():
    t = Scripted(['{"instruction": "A"}', '{"instruction": "B"}'])
    cached = CachedTeacher(t, "scripted:script")
    first = cached.chat([req(1)])
    second = cached.chat([req(1)])
    assert first[0].text == second[0].text and second[0].cached
    assert len(t.calls) == 1 and cached.stats.cache_hits == 1
    cached.chat([req(2)])  # different seed: a new call
    assert len(t.calls) == 2


def test_reasoning_is_split_off():
    assert split_reasoning("<think>step 1</think>\nAnswer.") == ("step 1", "Answer.")
    assert split_reasoning("plan...</think>Final") == ("plan...", "Final")
    assert split_reasoning("<think>never finished") == ("never finished", "")
    assert split_reasoning("plain") == (None, "plain")


def test_heuristics_flag_what_they_should():
    _, flags = heuristics.score("Explain photosynthesis to a child.", "I'm sorry, but I can't help with that.")
    assert "refusal" in flags
    loop = "the cat sat on the mat " * 30
    scores, flags = heuristics.score("Describe a cat in detail please.", loop)
    assert "repetitive" in flags
    _, flags = heuristics.score("Write code that adds numbers.", "```python\nprint(1+", "length")
    assert "truncated" in flags
    scores, flags = heuristics.score("What is the boiling point of water at sea level?",
                                     "Water boils at 100 °C (212 °F) at sea level.")
    assert not flags
    assert {s.metric for s in scores} >= {"response_words", "repetition", "refusal", "truncated"}
