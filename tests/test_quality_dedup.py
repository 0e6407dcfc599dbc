"""Dedup and decontamination on realistic samples with planted duplicates and leaked eval items.

Real parts: datasketch MinHash LSH, the bundled MiniLM embedder, and a scripted
OpenAI-compatible server standing in for the judge that confirms borderline contamination.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lumina.errors import NotFoundError
from lumina.quality import dedup
from lumina.quality.decontam import (
    EvalItem, NgramIndex, confirm_with_judge, embedding_matches, find_contamination,
)
from lumina.diversity.embeddings import Embedder, get_embedder
from lumina.teachers import build_teacher
from tests.helpers import completion_json, scripted_server

CLEAN = [  # 40 distinct instruction/response pairs on unrelated subjects
    ("How do I keep basil alive on a windowsill?",
     "Give it at least six hours of direct sun, water when the top centimetre of soil is dry, and pinch off the flower buds so the plant keeps producing leaves."),
    ("What is the difference between a Roth IRA and a traditional IRA?",
     "Contributions to a traditional IRA are usually tax-deductible and withdrawals are taxed; Roth contributions are made after tax, and qualified withdrawals in retirement are tax-free."),
    ("Write a Python function that reverses the words in a sentence.",
     "def reverse_words(sentence):\n    return ' '.join(reversed(sentence.split()))\n\nSplitting on whitespace gives a list of words, which is reversed and joined back with single spaces."),
    ("Why do cats knead blankets with their paws?",
     "Kneading is a leftover kitten behaviour: nursing kittens press on their mother to stimulate milk flow, and adult cats repeat it when they feel safe and content."),
    ("Suggest a three-day itinerary for Lisbon on a budget.",
     "Day one: Alfama on foot and the São Jorge castle viewpoints. Day two: tram 28 to Belém for the monastery and pastéis. Day three: a train to Sintra and its palaces, with a picnic lunch."),
    ("How often should I change the oil in a modern petrol car?",
     "Most current engines using synthetic oil need a change every 10,000 to 15,000 kilometres or once a year, whichever comes first; check the interval in your owner's manual."),
    ("Explain what a hash table is to a beginner programmer.",
     "A hash table stores values under keys. A hash function turns each key into an index in an array, so looking up, inserting or deleting a key takes about the same time no matter how many items are stored."),
    ("What are the early signs of dehydration in toddlers?",
     "Watch for fewer wet nappies, a dry mouth, no tears when crying, unusual sleepiness or irritability, and a sunken soft spot on the head in babies; call a doctor if these appear."),
    ("Translate 'good morning, how are you?' into Spanish.",
     "Buenos días, ¿cómo estás? Use '¿cómo está usted?' instead when speaking formally."),
    ("Give me a simple recipe for a vegetable stir-fry.",
     "Heat oil in a wok, fry garlic and ginger for thirty seconds, add sliced peppers, broccoli and carrots, toss for four minutes, then stir in soy sauce, a little honey and sesame oil and serve over rice."),
    ("What caused the 2008 financial crisis?",
     "A housing bubble fed by subprime mortgages, which banks bundled into complex securities; when house prices fell, losses on those securities spread through highly leveraged institutions and credit froze."),
    ("How can I improve my sleep without medication?",
     "Keep a fixed wake-up time, get daylight in the morning, avoid caffeine after noon, keep the bedroom cool and dark, and put screens away an hour before bed."),
    ("What does the 'git rebase' command do?",
     "It replays your branch's commits on top of another base commit, producing a linear history instead of a merge commit; avoid rebasing commits that others have already pulled."),
    ("Describe the rules of chess castling.",
     "The king moves two squares towards a rook and the rook jumps to the square the king crossed. Neither piece may have moved before, the squares between them must be empty, and the king may not be in, pass through or land in check."),
    ("Why is the Dead Sea so salty?",
     "Water flows in from the Jordan River but has no outlet; in the hot, dry climate it evaporates quickly and leaves the dissolved minerals behind, so the salt concentration keeps rising."),
    ("Recommend some exercises for lower back pain.",
     "Gentle cat-cow stretches, pelvic tilts, bird-dogs and glute bridges strengthen the core and hips; walk daily and see a physiotherapist if the pain lasts more than a few weeks."),
    ("How do vaccines train the immune system?",
     "A vaccine shows the immune system a harmless piece or weakened form of a pathogen, so it makes antibodies and memory cells; a later real infection is then recognised and fought off quickly."),
    ("Write a haiku about autumn rain.",
     "Cold rain on red leaves,\nthe gutter hums a low song,\nlamps come on at four."),
    ("What is the capital gains tax rate for long-term investments in the US?",
     "For assets held more than a year the federal rate is 0%, 15% or 20% depending on taxable income, plus a 3.8% net investment income tax for high earners."),
    ("How do I remove a red wine stain from a carpet?",
     "Blot, don't rub. Pour cold water or soda water on the stain, blot again, then apply a paste of baking soda and water, let it dry and vacuum it up."),
    ("Explain the offside rule in football.",
     "A player is offside if, when the ball is played to them, they are in the opponent's half and nearer the goal line than both the ball and the second-last defender; being level is onside."),
    ("What's a good way to learn a new language as an adult?",
     "Combine spaced-repetition vocabulary practice, a little grammar, and lots of listening to material you enjoy; speak with a tutor or exchange partner from the first weeks."),
    ("How does a refrigerator keep food cold?",
     "A compressor pumps refrigerant through coils: it evaporates inside the fridge, absorbing heat, and condenses in the coils at the back, releasing that heat into the kitchen."),
    ("Write a SQL query that finds the ten customers with the highest total order value.",
     "SELECT customer_id, SUM(amount) AS total FROM orders GROUP BY customer_id ORDER BY total DESC LIMIT 10;"),
    ("What should I pack for a week of winter hiking in Norway?",
     "Layers: merino base layers, a fleece, a down jacket and a waterproof shell, plus insulated boots, microspikes, a headlamp for the short days, and a thermos."),
    ("Why do onions make you cry?",
     "Cutting an onion breaks its cells and releases enzymes that produce a volatile sulphur compound; it reaches your eyes and irritates them, so they make tears to wash it away."),
    ("How do I negotiate a higher salary in a job offer?",
     "Research the market range for the role, thank them for the offer, name a specific number near the top of the range with your reasons, and consider the whole package, not just base pay."),
    ("What is the difference between weather and climate?",
     "Weather is the state of the atmosphere over hours or days; climate is the average and variability of weather in a region over decades."),
    ("Summarise the plot of Romeo and Juliet in two sentences.",
     "Two young lovers from feuding families in Verona marry in secret. A chain of misunderstandings ends with both taking their own lives, which finally reconciles their families."),
    ("How can a small café reduce its food waste?",
     "Track what is thrown away for a month, shrink the menu, prep in smaller batches, sell day-old pastries at a discount, and give leftovers to a food-sharing app."),
    ("Explain what inflation is and why central banks target about two percent.",
     "Inflation is the general rise in prices over time. A low, steady rate leaves room to cut interest rates in a downturn and avoids the harm of falling prices, so many central banks aim for around two percent."),
    ("What is a good beginner routine for running a 5k?",
     "Run three times a week, alternating one minute of jogging with ninety seconds of walking, and lengthen the jogging intervals each week; after eight or nine weeks most people can run thirty minutes."),
    ("How do noise-cancelling headphones work?",
     "Microphones pick up ambient sound and the headphones play an inverted copy of it; the two waves cancel each other out, which works best for steady low-frequency noise like engines."),
    ("Write a short, polite email declining a meeting invitation.",
     "Hi Sam, thank you for the invitation. Unfortunately I can't make it on Thursday because of a prior commitment. Could you share the notes afterwards? Best regards, Alex"),
    ("What are the main causes of coral reef bleaching?",
     "Mostly marine heatwaves: corals under heat stress expel the algae living in their tissue, lose their colour and their main food source; pollution and acidification add to the stress."),
    ("How do I calculate the area of a circle?",
     "Multiply pi by the radius squared: A = πr². For a radius of 3 cm the area is about 28.3 square centimetres."),
    ("Which houseplants are safe for dogs?",
     "Spider plants, Boston ferns, parlour palms, calatheas and African violets are non-toxic to dogs, unlike lilies, sago palms and pothos."),
    ("What is the role of mitochondria in a cell?",
     "Mitochondria produce most of the cell's ATP through aerobic respiration, and they also help regulate cell death and calcium levels."),
    ("Give tips for photographing the night sky with a phone.",
     "Use a tripod, turn on night mode or a manual mode with a long exposure, set focus to infinity, switch off the flash, and shoot away from city lights on a moonless night."),
    ("How did the printing press change Europe?",
     "Gutenberg's movable type made books far cheaper, spreading literacy, scientific ideas and the Protestant Reformation, and helping standardise languages."),
]

CLEAN_IDS = list(range(1, len(CLEAN) + 1))  # CLEAN[k] has id k + 1


def text(k: int) -> str:
    instruction, response = CLEAN[k]
    return f"{instruction}\n{response}"


# Planted duplicates: id -> (text, the clean sample it copies)
EXACT_CASE = 101  # CLEAN[5] with case and whitespace changes
EXACT_BETTER = 102  # CLEAN[19] with whitespace changes; it has the better score, so it stays
NEAR_1 = 103  # CLEAN[13] with two words changed
NEAR_2 = 104  # CLEAN[31] with two words changed
PARA_1 = 105  # CLEAN[0] reworded
PARA_2 = 106  # CLEAN[16] reworded

PLANTED = {
    EXACT_CASE: ("HOW OFTEN should I change the oil in a modern petrol car?\n\n"
                 "Most current engines using synthetic oil need a change every 10,000 to 15,000 kilometres  or "
                 "once a year, WHICHEVER comes first; check the interval in your owner's manual.", 5),
    EXACT_BETTER: ("  How do I remove a red wine stain from a carpet?\n Blot, don't rub.   Pour cold water or soda "
                   "water on the stain, blot again, then apply a paste of baking soda and water, let it dry and "
                   "vacuum it up.  ", 19),
    NEAR_1: ("Describe the rules of chess castling.\nThe king moves two squares towards a rook and the rook jumps "
             "to the square the king crossed. Neither piece may have moved earlier, the squares between them must "
             "be empty, and the king must not be in, pass through or land in check.", 13),
    NEAR_2: ("What is a good beginner routine for running a 5k?\nRun three times a week, alternating one minute of "
             "jogging with ninety seconds of walking, and extend the jogging intervals each week; after eight or "
             "nine weeks most people can run for thirty minutes.", 31),
    PARA_1: ("How can I keep a basil plant alive on my windowsill?\nGive it six or more hours of direct sunlight, "
             "water it once the top centimetre of soil is dry, and pinch off any flower buds so the plant keeps "
             "making leaves.", 0),
    PARA_2: ("How does a vaccine train the immune system?\nVaccines show the immune system a harmless fragment or "
             "a weakened version of a pathogen, so the body makes antibodies and memory cells; when the real "
             "infection comes later it is recognised and fought off fast.", 16),
}


def items() -> list[tuple[int, str]]:
    return [(i, text(k)) for k, i in enumerate(CLEAN_IDS)] + [(i, t) for i, (t, _) in PLANTED.items()]


def scores() -> dict[int, float | None]:
    # Originals score 4 unless said otherwise; EXACT_BETTER outscores its original.
    s: dict[int, float | None] = {i: 4.0 for i in CLEAN_IDS}
    s[EXACT_CASE] = 3.0
    s[EXACT_BETTER] = 4.5
    s[NEAR_1] = None  # no score: the scored original stays
    s[NEAR_2] = 4.0  # a tie: the lower id (the original) stays
    s[PARA_1] = 2.0
    s[PARA_2] = 1.0
    return s


@pytest.fixture(scope="module")
def embedder():
    return get_embedder()


@pytest.fixture(scope="module")
def vectors(embedder):
    return embedder.encode([t for _, t in items()])


def test_embedder_is_the_bundled_minilm_loaded_once(embedder):
    assert get_embedder() is embedder and get_embedder("all-minilm-l6-v2") is embedder
    assert embedder.name == "all-minilm-l6-v2" and embedder.dim == 384
    seen = []
    v = embedder.encode([CLEAN[0][0], CLEAN[1][0], CLEAN[0][0]], progress=lambda done, total: seen.append((done, total)))
    assert v.shape == (3, 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert np.allclose(v[0], v[2], atol=1e-6) and seen == [(3, 3)]
    assert embedder.encode([]).shape == (0, 384)
    with pytest.raises(NotFoundError, match="offline"):
        Embedder("no-such-org/no-such-model")
    with pytest.raises(NotFoundError, match="no sentence-transformers model"):
        Embedder(str(Path(__file__).parent))  # a folder, but no model in it


def test_normalise_and_exact_groups():
    assert dedup.normalise("  ¡Hola,   MUNDO!  ") == "hola, mundo"
    assert dedup.normalise("ﬁne\u00a0print…") == "fine print"  # NFKC folds the ligature and the nbsp
    groups = dedup.exact_groups(items())
    assert groups == [[6, EXACT_CASE], [20, EXACT_BETTER]]


def test_near_duplicates_are_grouped_and_clean_samples_are_not():
    groups = dedup.near_duplicate_groups(items(), threshold=0.8)
    as_sets = [set(g) for g in groups]
    for planted in (EXACT_CASE, EXACT_BETTER, NEAR_1, NEAR_2):
        original = CLEAN_IDS[PLANTED[planted][1]]
        assert {original, planted} in as_sets, (planted, groups)
    # Paraphrases share words but not enough characters to be near duplicates.
    assert len(groups) == 4
    for planted in (NEAR_1, NEAR_2):
        original = PLANTED[planted][1]
        assert 0.8 <= dedup.jaccard(PLANTED[planted][0], text(original)) < 1.0


def test_word_shingles_are_available_and_stricter():
    pair = [(1, text(13)), (2, PLANTED[NEAR_1][0])]
    assert dedup.near_duplicate_groups(pair, threshold=0.8) == [[1, 2]]
    assert dedup.near_duplicate_groups(pair, threshold=0.8, unit="word") == []  # two words break 10 5-grams


def test_semantic_groups_find_paraphrases_blockwise(vectors):
    ids = [i for i, _ in items()]
    groups = dedup.semantic_groups(ids, vectors, threshold=0.92, block=7)  # tiny blocks: crosses boundaries
    assert dedup.semantic_groups(ids, vectors, threshold=0.92) == groups
    as_sets = [set(g) for g in groups]
    for planted in (PARA_1, PARA_2):
        assert {CLEAN_IDS[PLANTED[planted][1]], planted} <= set().union(*as_sets)
        assert any({CLEAN_IDS[PLANTED[planted][1]], planted} <= g for g in as_sets)
    flagged = set().union(*as_sets)
    planted_and_originals = set(PLANTED) | {CLEAN_IDS[k] for _, k in PLANTED.values()}
    assert flagged <= planted_and_originals, flagged - planted_and_originals


def test_find_duplicates_flags_each_planted_copy_once_with_kind_and_canonical(vectors):
    flags = dedup.find_duplicates(items(), scores(), vectors)
    got = {f.sample_id: (f.canonical_id, f.kind) for f in flags}
    assert got == {
        EXACT_CASE: (6, "exact"),
        20: (EXACT_BETTER, "exact"),  # the copy scored better, so the original is the one flagged
        NEAR_1: (14, "near"),
        NEAR_2: (32, "near"),
        PARA_1: (1, "semantic"),
        PARA_2: (17, "semantic"),
    }
    by_id = {f.sample_id: f for f in flags}
    assert by_id[EXACT_CASE].similarity == 1.0
    assert 0.8 <= by_id[NEAR_1].similarity < 1.0
    assert by_id[PARA_1].similarity >= 0.92
    # No clean sample is flagged except the one whose copy outscored it.
    assert {f.sample_id for f in flags} & set(CLEAN_IDS) == {20}


def test_choose_canonical_rules():
    assert dedup.choose_canonical([5, 3, 9], {5: 0.9, 3: 0.5, 9: None}) == 5
    assert dedup.choose_canonical([5, 3, 9], {5: 0.9, 3: 0.9}) == 3  # tie -> lowest id
    assert dedup.choose_canonical([5, 3, 9], {}) == 3  # nothing scored -> lowest id
    assert dedup.choose_canonical([5, 3], {5: 0.1, 3: None}) == 5  # any number beats no score
    flags = dedup.flags_for([[4, 2, 7]], {7: 1.0}, "near", similarity=lambda a, b: 0.85)
    assert [(f.sample_id, f.canonical_id, f.kind, f.similarity) for f in flags] == [
        (4, 7, "near", 0.85), (2, 7, "near", 0.85)]


def test_minhash_signatures_are_deterministic():
    a = dedup.minhashes(["the quick brown fox jumps over the lazy dog"])[0]
    b = dedup.minhashes(["The quick  brown fox jumps over the lazy dog."])[0]
    assert np.array_equal(a.hashvalues, b.hashvalues)  # normalised text, CRC32: same everywhere


# -- decontamination ----------------------------------------------------------------------------

EVAL = [
    EvalItem("e1", "A train leaves the station at 3 pm travelling at 60 miles per hour; how far has it "
                   "gone by 5:30 pm?"),
    EvalItem("e2", "Which element has the chemical symbol Fe and what is its atomic number?"),
    EvalItem("e3", "Who painted the ceiling of the Sistine Chapel between 1508 and 1512?"),
    EvalItem("e4", "What is the largest desert in the world by area, including polar deserts?"),
    EvalItem("e5", "If a rectangle has a perimeter of 30 cm and one side of 6 cm, what is its area?"),
    EvalItem("e6", "Explain why the sky appears blue during the day but red at sunset."),
    EvalItem("e7", "In which year did the Berlin Wall fall, and what led to its opening?"),
    EvalItem("e8", "Define entropy."),  # too short for n-grams: embeddings only
]
VERBATIM = 201  # holds e5 word for word inside a longer request
PARAPHRASE = 202  # e3 reworded (cosine ~0.95)
BORDERLINE = 203  # e3 reworded further (cosine ~0.83: in the borderline band)
CONTAMINATED = {
    VERBATIM: "My daughter brought this home from school: If a rectangle has a perimeter of 30 cm and one "
              "side of 6 cm, what is its area? Can you walk me through it step by step?",
    PARAPHRASE: "Which artist was responsible for painting the Sistine Chapel's ceiling from 1508 to 1512?",
    BORDERLINE: "Which painter created the frescoes on the Sistine Chapel ceiling in the early 1500s?",
}


def decontam_samples() -> list[tuple[int, str]]:
    # Instructions are what leaks from a benchmark; the answers would only dilute the match.
    return [(i, CLEAN[k][0]) for k, i in enumerate(CLEAN_IDS)] + list(CONTAMINATED.items())


def test_ngram_index_finds_the_verbatim_copy_only():
    index = NgramIndex(EVAL, n=13)
    assert index.skipped == ["e8"] and len(index) == 7
    found = {sid: index.matches(t) for sid, t in decontam_samples()}
    hits = {sid: ms for sid, ms in found.items() if ms}
    assert list(hits) == [VERBATIM]
    [m] = hits[VERBATIM]
    assert m.eval_id == "e5" and m.kind == "ngram" and m.overlap == 1.0 and len(m.ngram.split()) == 13
    # Items between min_tokens and n words match as a whole.
    short = NgramIndex([EvalItem("s", "Name the capital city of Australia, please.")], n=13, min_tokens=6)
    assert [m.eval_id for m in short.matches("Quick: name the capital city of Australia, please!")] == ["s"]
    assert short.matches("Name the capital city of Austria, please.") == []
    assert NgramIndex(EVAL, n=8).matches(CONTAMINATED[VERBATIM])[0].eval_id == "e5"


def test_find_contamination_with_embeddings(embedder):
    flags = find_contamination(decontam_samples(), EVAL, embedder=embedder, n=13)
    got = {(f.sample_id, f.eval_id): f for f in flags}
    assert set(got) == {(VERBATIM, "e5"), (PARAPHRASE, "e3"), (BORDERLINE, "e3")}, got
    assert got[(VERBATIM, "e5")].kind == "ngram" and got[(VERBATIM, "e5")].score == 1.0
    assert got[(PARAPHRASE, "e3")].kind == "embedding" and got[(PARAPHRASE, "e3")].score >= 0.85
    assert got[(BORDERLINE, "e3")].kind == "embedding_borderline"
    assert 0.75 <= got[(BORDERLINE, "e3")].score < 0.85
    assert got[(PARAPHRASE, "e3")].eval_text == EVAL[2].text
    # n-grams alone: only the verbatim copy.
    assert [(f.sample_id, f.kind) for f in find_contamination(decontam_samples(), EVAL)] == [(VERBATIM, "ngram")]


def test_embedding_matches_marks_the_borderline_band(embedder):
    s = embedder.encode([CONTAMINATED[PARAPHRASE], CONTAMINATED[BORDERLINE], CLEAN[0][0]])
    e = embedder.encode([x.text for x in EVAL])
    ms = embedding_matches([1, 2, 3], s, [x.id for x in EVAL], e, threshold=0.85, borderline=(0.75, 0.85))
    assert [(m.sample_id, m.eval_id, m.borderline) for m in ms] == [(1, "e3", False), (2, "e3", True)]


def _judge_server(verdict):
    """A scripted judge: ``verdict(call_no)`` is the content of each answer."""
    def script(n, body):
        assert body["response_format"]["json_schema"]["schema"]["properties"]["same_item"]["type"] == "boolean"
        return 200, completion_json(verdict(n)), 0
    return scripted_server(script)


@pytest.mark.parametrize("answers,kind", [
    (lambda n: '{"same_item": true, "reason": "same painter, same dates"}', "embedding+judge"),
    (lambda n: '{"same_item": false, "reason": "different question"}', None),
    (lambda n: "I think so?", "embedding_borderline"),  # malformed every time: stays unconfirmed
], ids=["confirmed", "rejected", "malformed"])
def test_borderline_pairs_are_confirmed_by_a_judge(embedder, answers, kind):
    with _judge_server(answers) as (url, calls):
        teacher = build_teacher(f"openai:{url}#fake", max_retries=0)
        flags = find_contamination(decontam_samples(), EVAL, embedder=embedder, teacher=teacher, retries=1)
    borderline = [f for f in flags if f.sample_id == BORDERLINE]
    assert [f.kind for f in borderline] == ([kind] if kind else [])
    assert len(calls) == (2 if kind == "embedding_borderline" else 1)  # only the borderline pair is asked
    prompt = calls[0]["body"]["messages"][-1]["content"]
    assert EVAL[2].text in prompt and CONTAMINATED[BORDERLINE] in prompt
    # The clear matches do not depend on the judge.
    assert {(f.sample_id, f.kind) for f in flags if f.sample_id != BORDERLINE} == {
        (VERBATIM, "ngram"), (PARAPHRASE, "embedding")}


def test_confirm_with_judge_returns_none_for_failures():
    def script(n, body):
        prompt = body["messages"][-1]["content"]
        return 200, completion_json('{"same_item": true, "reason": "r"}' if "ALPHA" in prompt else "{oops"), 0
    with scripted_server(script) as (url, _):
        teacher = build_teacher(f"openai:{url}#fake", max_retries=0)
        assert confirm_with_judge(teacher, [("ALPHA text", "eval"), ("BETA text", "eval")], retries=1) == [True, None]
    assert confirm_with_judge(teacher, []) == []
