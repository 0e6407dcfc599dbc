"""Judge, IFD and the v3 heuristics.

The judge is tested against a scripted OpenAI-compatible server (good, malformed and
out-of-range answers) and with the bundled SmolLM2 as a real transformers teacher; IFD runs the
bundled SmolLM2 as the student.
"""

from __future__ import annotations

import json
import math
import statistics

import pytest

from lumina.quality import heuristics, ifd, judge, textstats
from lumina.teachers import GenParams, build_teacher
from tests.helpers import completion_json, scripted_server

GOOD = {"rationale": "Accurate and complete.", "correctness": 5, "helpfulness": 4,
        "instruction_following": 5, "complexity": 2}
SAMPLES = [
    (11, "What is the boiling point of water at sea level in Celsius?", "Water boils at 100 °C at sea level."),
    (12, "Name a prime number between 20 and 30.", "23 is a prime number between 20 and 30."),
]


def _teacher(url):
    return build_teacher(f"openai:{url}#judge-model", max_retries=0)


def _by_sample(answers):
    """A script answering by which sample the prompt is about: answers[marker] = list per attempt."""
    seen: dict[str, int] = {}

    def script(n, body):
        prompt = body["messages"][-1]["content"]
        marker = next(m for m in answers if m in prompt)
        k = seen.get(marker, 0)
        seen[marker] = k + 1
        seq = answers[marker]
        return 200, completion_json(seq[min(k, len(seq) - 1)]), 0
    return script


def test_judge_parses_a_good_answer_and_sends_a_constrained_schema():
    with scripted_server(_by_sample({"boiling": [json.dumps(GOOD)], "prime": [json.dumps(GOOD)]})) as (url, calls):
        outcomes = judge.judge(_teacher(url), SAMPLES)
    assert [o.sample_id for o in outcomes] == [11, 12]
    o = outcomes[0]
    assert o.ok and o.error is None and o.attempts == 1
    assert o.scores == {k: v for k, v in GOOD.items() if k != "rationale"}
    assert o.rationale == "Accurate and complete." and o.template == "judge/rubric@v1"
    schema = calls[0]["body"]["response_format"]["json_schema"]["schema"]
    for dim in judge.DIMENSIONS:
        assert schema["properties"][dim] == {"type": "integer", "minimum": 1, "maximum": 5}
    assert set(schema["required"]) == {"rationale", *judge.DIMENSIONS}
    prompt = calls[0]["body"]["messages"][-1]["content"]
    assert "INSTRUCTION:" in prompt and ("boiling point" in prompt or "prime number" in prompt)
    scores = {s.metric: s for s in judge.to_scores(o)}
    assert set(scores) == {*judge.DIMENSIONS, "overall"}
    assert scores["overall"].value == 4.0 and scores["overall"].scorer == "judge"
    assert scores["correctness"].scorer_version == "1+judge/rubric@v1"
    assert scores["overall"].details["rationale"] == "Accurate and complete."


def test_malformed_output_is_retried_then_recorded_as_failed_with_raw_text():
    answers = {"boiling": ["Sure! I'd give it a 5.", '{"correctness": 5, "helpfulness"', "five out of five"],
               "prime": ["not json", json.dumps(GOOD)]}
    with scripted_server(_by_sample(answers)) as (url, calls):
        bad, recovered = judge.judge(_teacher(url), SAMPLES, retries=2)
    assert len(calls) == 3 + 2
    assert not bad.ok and bad.scores is None and bad.rationale is None
    assert "malformed JSON after 3 attempt" in bad.error and bad.attempts == 3
    assert bad.raw == "five out of five"
    assert recovered.ok and recovered.attempts == 2 and recovered.scores["complexity"] == 2
    failed = judge.to_scores(bad)
    assert {s.metric for s in failed} == {*judge.DIMENSIONS, "overall"}
    assert all(s.value is None and "malformed" in s.details["error"] for s in failed)
    assert next(s for s in failed if s.metric == "overall").details["raw"] == "five out of five"


@pytest.mark.parametrize("bad_value", [7, 0, 3.5, "4", True])
def test_out_of_range_or_non_integer_scores_are_rejected(bad_value):
    wrong = json.dumps({**GOOD, "helpfulness": bad_value})
    with scripted_server(_by_sample({"boiling": [wrong], "prime": [wrong, json.dumps(GOOD)]})) as (url, _):
        never, later = judge.judge(_teacher(url), SAMPLES, retries=1)
    assert not never.ok and never.scores is None and "helpfulness" in never.error and never.raw == wrong
    assert later.ok and later.scores["helpfulness"] == 4  # the retry's valid answer, not the bad one


def test_a_custom_rubric_is_versioned_by_its_content():
    source = "Grade this.\n{{ instruction }}\n---\n{{ response }}\nJSON only."
    with scripted_server(_by_sample({"boiling": [json.dumps(GOOD)], "prime": [json.dumps(GOOD)]})) as (url, calls):
        [o, _] = judge.judge(_teacher(url), SAMPLES, rubric_template=source)
    assert o.template.startswith("judge/rubric@custom-") and len(o.template) == len("judge/rubric@custom-") + 8
    assert calls[0]["body"]["messages"][-1]["content"].startswith("Grade this.")


def test_judge_with_the_bundled_model_gives_valid_scores_or_recorded_failures(bundled_model_dir):
    teacher = build_teacher(f"transformers:{bundled_model_dir}", batch_size=4)
    try:
        outcomes = judge.judge(teacher, SAMPLES, retries=1,
                               params=GenParams(max_tokens=128, temperature=0.2, seed=0))
    finally:
        teacher.close()
    assert len(outcomes) == 2
    for o in outcomes:
        if o.ok:
            assert set(o.scores) == set(judge.DIMENSIONS)
            assert all(isinstance(v, int) and 1 <= v <= 5 for v in o.scores.values())
            assert o.error is None
        else:
            assert o.scores is None and o.error and o.attempts == 2
        assert o.raw  # the model's own text is kept either way


# -- IFD --------------------------------------------------------------------------------------

PAIRS = [
    ("What is the capital of France?", "The capital of France is Paris."),
    ("Name the three primary colours of paint.", "The three primary colours of paint are red, yellow and blue."),
    ("How many legs does a spider have?", "A spider has eight legs."),
    ("Translate 'thank you' into German.", "'Thank you' in German is 'Danke'."),
    ("What is 7 multiplied by 8?", "7 multiplied by 8 is 56."),
    ("Who wrote the novel Pride and Prejudice?", "Pride and Prejudice was written by Jane Austen."),
]


def test_ifd_is_lower_when_the_instruction_fits_the_response(bundled_model_dir):
    matched = [(f"m{i}", q, a) for i, (q, a) in enumerate(PAIRS)]
    # The same responses under someone else's instruction.
    shuffled = [(f"x{i}", PAIRS[(i + 3) % len(PAIRS)][0], a) for i, (_, a) in enumerate(PAIRS)]
    out = ifd.ifd_scores(str(bundled_model_dir), matched + shuffled + [("empty", "Say something.", "")],
                         batch_size=4)
    by_id = {o.sample_id: o for o in out}
    assert [o.sample_id for o in out][:len(PAIRS)] == [m[0] for m in matched]
    for o in out[:-1]:
        assert o.error is None and math.isfinite(o.ifd) and o.ifd > 0 and o.tokens > 0
        assert math.isclose(o.ifd, o.cond_loss / o.direct_loss)
    # The direct loss depends only on the response.
    for i in range(len(PAIRS)):
        assert math.isclose(by_id[f"m{i}"].direct_loss, by_id[f"x{i}"].direct_loss, rel_tol=1e-4)
    lower = sum(by_id[f"m{i}"].ifd < by_id[f"x{i}"].ifd for i in range(len(PAIRS)))
    assert lower >= len(PAIRS) - 1
    assert statistics.mean(o.ifd for o in out[:len(PAIRS)]) < statistics.mean(o.ifd for o in out[len(PAIRS):-1])
    assert by_id["empty"].ifd is None and "too short" in by_id["empty"].error
    kept = ifd.keep_top_percent(out, 25)
    assert len(kept) == math.ceil(len(out) * 0.25)
    assert all(not ifd.suspect(by_id[k].ifd) for k in kept)
    scores = {s.metric: s for s in ifd.to_scores(by_id["m0"], "smollm2")}
    assert scores["ifd"].scorer == "ifd" and scores["ifd"].scorer_version == "1+smollm2"


def test_ifd_truncates_long_pairs_alike(bundled_model_dir):
    long_response = "Rivers carry sediment to the sea. " * 60
    [o] = ifd.ifd_scores(str(bundled_model_dir), [(1, "Describe what rivers do.", long_response)], max_length=64)
    assert o.truncated and math.isfinite(o.ifd) and o.tokens < 64


def test_ifd_helpers():
    assert ifd.suspect(1.2) and not ifd.suspect(0.8) and not ifd.suspect(None)
    outs = [ifd.IfdOutcome(i, v, 1.0, 1.0) for i, v in enumerate([0.2, 0.9, 1.3, None, 0.5])]
    assert ifd.keep_top_percent(outs, 40) == {1, 4}  # 2 of 5; 1.3 is suspect, None failed
    assert ifd.keep_top_percent(outs, 0) == set()
    with pytest.raises(Exception):
        ifd.keep_top_percent(outs, 150)


# -- textstats (heuristics v3) ----------------------------------------------------------------

def test_language_detection():
    cases = {
        "The weather was cold, and the roads were covered with ice for most of the week.": "en",
        "Le chat est sur la table et il dort depuis le matin, mais il a faim.": "fr",
        "Der Hund ist nicht im Garten, weil es draußen sehr kalt und nass ist.": "de",
        "El perro está en la casa porque hace mucho frío y no quiere salir.": "es",
        "Il gatto è sul tavolo e non vuole scendere perché ha paura del cane.": "it",
        "O gato está na mesa e não quer descer porque tem medo do cão.": "pt",
        "Het weer is vandaag niet zo mooi, maar we gaan toch naar het strand.": "nl",
        "Москва — столица России и крупнейший город страны.": "ru",
        "Київ є столицею України.": "uk",
        "東京は日本の首都です。": "ja",
        "北京是中国的首都。": "zh",
        "서울은 한국의 수도입니다.": "ko",
        "القاهرة هي عاصمة مصر.": "ar",
    }
    for text, code in cases.items():
        assert textstats.detect_language(text).code == code, text
    assert textstats.detect_language("42 + 17").code == "und"
    assert textstats.detect_language("```python\nprint('hi')\n```").code == "und"  # code is not prose


def _flags(instruction, response):
    return textstats.extra_heuristics(instruction, response)[1]


def test_language_mismatch_flag():
    inst = "Explain in a few sentences why the sea is salty and where the salt comes from."
    assert "language_mismatch" in _flags(inst, "La mer est salée parce que les rivières y apportent des "
                                               "minéraux et que l'eau s'évapore.")
    assert "language_mismatch" not in _flags(inst, "The sea is salty because rivers carry dissolved minerals "
                                                   "into it and the water evaporates.")
    assert "language_mismatch" not in _flags("Translate into French: the cat is on the table and it is asleep.",
                                             "Le chat est sur la table et il dort.")


def test_length_ratio_flags():
    long_inst = ("Please write a detailed, step-by-step explanation of how to set up a home network, covering "
                 "the router, the modem, wifi security settings, guest networks, parental controls, firmware "
                 "updates and how to troubleshoot a slow connection for the whole family.")
    assert "terse_answer" in _flags(long_inst, "Plug in the router.")
    assert "terse_answer" not in _flags(long_inst, " ".join(["Connect the modem to the router, then secure it."] * 4))
    assert "bloated_answer" in _flags("What is 2 + 2?", "Four. " + "Numbers are fun to think about. " * 130)
    assert "bloated_answer" not in _flags("What is 2 + 2?", "2 + 2 = 4.")


def test_sentence_repetition():
    looped = "Drink more water every day. " * 5 + "Sleep well at night."
    assert textstats.sentence_repetition(looped) == pytest.approx(4 / 6)
    assert "repeated_sentences" in _flags("Give health tips.", looped)
    varied = "Drink more water. Sleep eight hours. Walk after meals. Eat vegetables daily."
    assert textstats.sentence_repetition(varied) == 0.0
    assert "repeated_sentences" not in _flags("Give health tips.", varied)


def test_soft_refusals_beyond_v2():
    for text in ["I apologize, but I cannot fulfill this request.", "I'm just an AI, so I don't know that.",
                 "That is against my guidelines."]:
        assert textstats.is_soft_refusal(text), text
        assert "refusal" in _flags("Tell me a story about dragons.", text)
    assert not textstats.is_soft_refusal("I can't help with that.")  # v2 already catches it
    assert heuristics.is_refusal("I can't help with that.")
    assert not textstats.is_soft_refusal("Dragons hoard gold because they love shiny things.")


def test_truncation_signals():
    assert textstats.unclosed_brackets("The values (for example 3, 4 and") == 1
    assert textstats.unclosed_brackets("Use a list [1, 2, 3] and a call f(x).") == 0
    assert textstats.unclosed_brackets("Steps: 1) mix 2) bake.") == 0  # list markers are not brackets
    assert textstats.ends_mid_sentence("Mix the flour with the")
    assert textstats.ends_mid_sentence("First preheat the oven,")
    assert not textstats.ends_mid_sentence("Bake for twenty minutes.")
    assert not textstats.ends_mid_sentence("Bake until golden")  # no terminal stop, but a whole clause
    assert "truncated" in _flags("How do I bake bread?", "Mix the flour with the")
    assert "truncated" not in _flags("How do I bake bread?", "Mix, knead, prove and bake at 220 °C.")


def test_broken_code_blocks():
    assert not textstats.code_fences_balanced("Here:\n```python\nprint(1)\n")
    assert textstats.code_fences_balanced("Here:\n```python\nprint(1)\n```\nDone.")
    assert "broken_code_block" in _flags("Print one in Python.", "```python\nprint(1)\n")
    assert "broken_code_block" not in _flags("Print one in Python.", "```python\nprint(1)\n```")


def test_template_leftovers():
    bad = {
        "Dear {{ name }}, thanks for your order.": "jinja",
        "{% if premium %}Welcome back!{% endif %}": "jinja",
        "The answer is 4.<|im_end|>": "chat_token",
        "[INST] say hi [/INST] Hi!": "chat_token",
        "Best regards, [Your Name]": "placeholder",
        "Call us at [INSERT PHONE NUMBER].": "placeholder",
        "As an AI, I find this question interesting.": "ai_boilerplate",
        "### Response: The capital is Rome.": "prompt_header",
    }
    for text, kind in bad.items():
        assert kind in textstats.template_leftovers(text), text
        assert "template_leftover" in _flags("Write something.", text)
    for text in ["Use a dict like {'a': 1} in Python.", "The set {1, 2} has two elements.",
                 "Regards, Alex"]:
        assert textstats.template_leftovers(text) == [], text


PLACEHOLDERS = ["<the request>", "<your answer here>", "[INSERT TOPIC]", "{topic}", "{{ instruction }}",
                "<instruction>", "Instruction: <the request>", "<the request>?", "Answer: <your answer here>",
                "[topic]", "<YOUR_ANSWER_HERE>", '"<the user\'s request>"', "Question: {{ instruction }}"]
NOT_PLACEHOLDERS = [
    "```html\n<instruction>Do it</instruction>\n<br>\n```",  # HTML/XML in code
    "Write an HTML page with a <div>, a <span> and a <p>Hello</p>.",
    "<note><to>Tove</to><from>Jani</from></note>",  # markup without fences
    "First line<br>second line<br>third line", "<br>",  # <br> in a markdown answer
    "If a < b > c then b lies between a and c.", "a<b>c", "x < y",  # maths
    "```java\nList<String> xs = new ArrayList<>();\n```", "Use `List<String>` here.", "List<String>",
    "Map<String, List<Integer>>", "See [the docs](https://example.org) for more.", "- [x] done",
    "What does f'{name}' print in Python when name is Bob?", "Use a dict like {'a': 1} in Python.",
    "Write a short story about {topic} for children who love dragons and castles.",  # a slip, not most of it
]


def test_bare_placeholders_in_the_instruction_or_the_response():
    for text in PLACEHOLDERS:
        assert textstats.placeholder_only(text), text
        assert "placeholder" in textstats.template_leftovers(text), text
        assert textstats.instruction_leftovers(text) == ["placeholder"], text
        answer = "Here is a clear and complete answer to the question."
        flag = textstats.score(text, answer)[1]["template_leftover"]  # the instruction is the placeholder
        assert flag == {"kinds": ["placeholder"], "instruction": ["placeholder"]}, text
        assert "placeholder" in textstats.score("Explain how rainbows form.", text)[1]["template_leftover"]["kinds"]
    for text in NOT_PLACEHOLDERS:
        assert not textstats.placeholder_only(text), text
        assert textstats.template_leftovers(text) == [] and textstats.instruction_leftovers(text) == [], text
        assert "template_leftover" not in _flags(text, "A plain answer in a full sentence."), text
    # An instruction about Jinja or chat tokens is no leftover; the same text as an answer still is.
    assert textstats.instruction_leftovers("What does {{ name }} do in a Jinja template?") == []
    assert textstats.instruction_leftovers("Explain the <|im_end|> token.") == []
    scores, flags = textstats.score("<the request>", "Sure, here is a helpful answer for you.")
    [leftover] = [s for s in scores if s.metric == "template_leftover"]
    assert leftover.value == 1.0 and leftover.details == {"kinds": ["placeholder"], "instruction": ["placeholder"]}
    assert flags["template_leftover"]["instruction"] == ["placeholder"]


def test_restated_instruction():
    inst = "Explain how a rainbow forms after a summer storm."
    assert textstats.instruction_echo(inst, inst) == 1.0
    assert "restates_instruction" in _flags(inst, "Explain how a rainbow forms after a summer storm. Sure.")
    answer = "Sunlight is refracted, reflected and dispersed inside raindrops, splitting it into colours."
    assert textstats.instruction_echo(inst, answer) == 0.0
    assert "restates_instruction" not in _flags(inst, answer)


def test_v3_score_is_v2_plus_the_extras():
    inst, resp = "Write a greeting card message for a friend.", "Happy birthday, {{ name }}! I apologize, but"
    v2_scores, v2_flags = heuristics.score(inst, resp)
    scores, flags = textstats.score(inst, resp)
    extra, extra_flags = textstats.extra_heuristics(inst, resp)
    assert {s.metric for s in scores} == {s.metric for s in v2_scores} | {s.metric for s in extra}
    assert not {s.metric for s in v2_scores} & {s.metric for s in extra}  # nothing computed twice
    assert all(s.scorer == "heuristics" and s.scorer_version == textstats.VERSION == "4" for s in scores)
    assert set(v2_flags) <= set(flags) and set(extra_flags) <= set(flags)
    assert {"template_leftover", "refusal", "truncated"} <= set(flags)
    _, both = textstats.score("How do I bake bread?", "Mix the flour with the", "length")
    assert both["truncated"]["finish_reason"] == "length" and both["truncated"]["ends_mid_sentence"] is True
    clean_scores, clean_flags = textstats.score(
        "Write a greeting card message for a friend who is moving abroad.",
        "Wishing you courage and joy in your new home. We will miss you, so write often!")
    assert clean_flags == {}
