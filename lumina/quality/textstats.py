"""Heuristics v3 (now v4): the v2 signals of ``heuristics.py`` plus the ones below, all cheap and pure.

Added in v3 (none of them repeats a v2 metric; v2's tokeniser and n-gram helpers are reused):
- language: a *heuristic* detector (no language-id library is installed): the dominant Unicode
  script, then for Latin-script text a vote of very common function words among en, fr, de,
  es, it, pt, nl. "und" when it cannot tell. Scripts map to their main language (Arabic script
  -> "ar", Devanagari -> "hi", ...), so Persian or Marathi are reported as those. Flags an answer in another language than its
  instruction (unless the instruction asks for a translation).
- terse / bloated answers: v2 computes the length ratio; v3 flags the extremes.
- sentence repetition: share of sentences (or lines) that repeat an earlier one; v2's word
  3-gram rate is diluted when a few identical lines repeat inside a long answer, this is not.
- soft refusals: apologies and "cannot fulfil" phrasings v2's refusal pattern does not cover.
- truncation v3: unclosed brackets, or an ending on a comma, a conjunction or an article.
- broken code blocks: an odd number of fence lines (v2 folds this into "truncated"; here it is
  its own flag so a reviewer sees why).
- leftover template text: Jinja markers, chat-template tokens, "[INSERT ...]" placeholders,
  "As an AI" boilerplate, raw "### Response:" headers.
- v4: a bare placeholder (``<the request>``, ``[topic]``, ``{topic}``, ``{{ instruction }}``) that
  is (most of) the instruction or the response, outside code.
- restated instruction: the share of the instruction's word 3-grams repeated in the response.

``score`` is the drop-in v3 of ``heuristics.score`` (same arguments, same return shape);
``extra_heuristics`` returns only what v3 adds.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from lumina.quality import heuristics
from lumina.quality.heuristics import words
from lumina.records import Score

SCORER = heuristics.SCORER
VERSION = "4"  # v2 + this module (same numbering as heuristics.VERSION); 4: bare placeholders,
#                also in the instruction

# -- language ---------------------------------------------------------------------------------

_STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset("the and of to is in that it for are was with as be on this have not you by "
                    "or from at which but they can an what how why there their would should".split()),
    "fr": frozenset("le la les des est et un une du que qui dans pour pas sur au avec ce sont "
                    "il elle nous vous mais ou ces leur plus comment pourquoi".split()),
    "de": frozenset("der die das und ist nicht ein eine zu den mit von sich des auf für im dem "
                    "auch es wie ich sie wir aber oder wird werden warum".split()),
    "es": frozenset("el la los las de que y en un una es por con para del se no su al lo como "
                    "más pero sus son este esta qué cómo porque".split()),
    "it": frozenset("il lo la gli le di che e un una è per non con del della sono si come anche "
                    "ma nel alla questo questa perché cosa degli".split()),
    "pt": frozenset("o a os as de que e do da em um uma é para com não no na se por mais como "
                    "mas dos das ao seu sua são porque".split()),
    "nl": frozenset("de het een en van is dat niet in op te zijn met voor er aan ook als maar "
                    "om dan wat hoe waarom worden deze".split()),
}

_SCRIPTS = (  # (language or script code, first code point, last code point)
    ("ru", 0x0400, 0x04FF), ("el", 0x0370, 0x03FF), ("he", 0x0590, 0x05FF), ("ar", 0x0600, 0x06FF),
    ("hi", 0x0900, 0x097F), ("th", 0x0E00, 0x0E7F), ("ko", 0xAC00, 0xD7AF), ("ko", 0x1100, 0x11FF),
    ("kana", 0x3040, 0x30FF), ("han", 0x4E00, 0x9FFF), ("han", 0x3400, 0x4DBF),
)
_FENCED = re.compile(r"```.*?(?:```|\Z)", re.DOTALL)
_UKRAINIAN = set("іїєґІЇЄҐ")


@dataclass(frozen=True)
class LanguageGuess:
    code: str  # ISO 639-1, or "und" (undetermined)
    confidence: float  # 0..1, the winner's share of the evidence


def detect_language(text: str, min_words: int = 3) -> LanguageGuess:
    """A heuristic language guess (script first, then function words for Latin script)."""
    text = _FENCED.sub(" ", text)  # code is English-looking whatever the prose language
    counts: Counter[str] = Counter()
    latin = 0
    for ch in text:
        if not ch.isalpha():
            continue
        cp = ord(ch)
        if cp < 0x0250:
            latin += 1
            continue
        for code, lo, hi in _SCRIPTS:
            if lo <= cp <= hi:
                counts[code] += 1
                break
    letters = latin + sum(counts.values())
    if not letters:
        return LanguageGuess("und", 0.0)
    script, n = counts.most_common(1)[0] if counts else ("latin", 0)
    if n > latin:
        share = n / letters
        if script in ("han", "kana"):
            # Japanese mixes kana into Han text; Chinese has none.
            return LanguageGuess("ja" if counts["kana"] >= 0.1 * (counts["han"] + counts["kana"]) else "zh",
                                 share)
        if script == "ru" and any(c in _UKRAINIAN for c in text):
            return LanguageGuess("uk", share)
        return LanguageGuess(script, share)
    votes = Counter()
    for w in words(text):
        for code, stop in _STOPWORDS.items():
            if w in stop:
                votes[code] += 1
    if sum(votes.values()) < min_words:
        return LanguageGuess("und", 0.0)
    (best, top), *rest = votes.most_common(2) + [("", 0)]
    second = rest[0][1]
    if top == second:
        return LanguageGuess("und", 0.0)
    return LanguageGuess(best, round(top / sum(votes.values()), 3))


_TRANSLATE = re.compile(r"translat|traduc|tradu[iz]|übersetz|vertaal|перевед|翻译|翻訳", re.IGNORECASE)


def language_mismatch(instruction: str, response: str) -> tuple[LanguageGuess, LanguageGuess, bool]:
    """(instruction guess, response guess, whether they differ and both are determined)."""
    a, b = detect_language(instruction), detect_language(response)
    differ = a.code != "und" and b.code != "und" and a.code != b.code and not _TRANSLATE.search(instruction)
    return a, b, differ


# -- length ---------------------------------------------------------------------------------------

def length_flag(instruction_words: int, response_words: int) -> str | None:
    """"terse_answer" for a one-liner to a long, detailed instruction; "bloated_answer" for a
    wall of text to a short question. The ratio itself is v2's length_ratio."""
    if instruction_words >= 40 and response_words < max(5, instruction_words // 10):
        return "terse_answer"
    if instruction_words <= 15 and response_words > 60 * max(instruction_words, 1) and response_words > 600:
        return "bloated_answer"
    return None


# -- repetition -----------------------------------------------------------------------------------

_SENTENCE_SPLIT = re.compile(r"(?<=[.!?。！？])\s+|\n+")


def sentence_repetition(text: str, min_words: int = 3) -> float:
    """Share of sentences (3+ words) that repeat an earlier one, compared after normalising."""
    seen: set[str] = set()
    total = repeats = 0
    for part in _SENTENCE_SPLIT.split(text):
        ws = words(part)
        if len(ws) < min_words:
            continue
        key = " ".join(ws)
        total += 1
        if key in seen:
            repeats += 1
        seen.add(key)
    return repeats / total if total else 0.0


# -- refusals -------------------------------------------------------------------------------------

_SOFT_REFUSAL = re.compile(
    r"\b(I apologi[sz]e,? but|I(?: am|'m) afraid I can(?:no|')t|I can(?:no|')t (?:fulfil+|answer|write|"
    r"create|generate|comply|share|give)|I(?: am|'m) not (?:allowed|permitted|comfortable)|"
    r"(?:it is|it's) not appropriate for me|against my (?:guidelines|programming|policy)|"
    r"I do(?: not|n't) have (?:access to|the ability to)|I(?: am|'m) (?:just )?an? (?:AI|language model))\b",
    re.IGNORECASE,
)


def is_soft_refusal(text: str) -> bool:
    """Refusal phrasings beyond v2's ``heuristics.is_refusal`` (checked only where v2 says no)."""
    return not heuristics.is_refusal(text) and bool(_SOFT_REFUSAL.search(text))


# -- truncation and broken code -------------------------------------------------------------------

_FENCE_LINE = re.compile(r"^\s*(```|~~~)", re.MULTILINE)
_DANGLING = re.compile(r"(?:[,\-–(\[{]|\b(?:and|or|but|the|a|an|of|to|with|for|because|which|that|is|are|"
                       r"in|on|by|as|if|then|so))\s*$", re.IGNORECASE)
_PAIRS = {")": "(", "]": "[", "}": "{"}


def code_fences_balanced(text: str) -> bool:
    return len(_FENCE_LINE.findall(text)) % 2 == 0


def unclosed_brackets(text: str) -> int:
    """Brackets opened but never closed, outside fenced code (whose brackets the fence check
    owns). Stray closers are ignored: list markers like "1)" are common prose."""
    prose = _FENCED.sub(" ", text)
    stack: list[str] = []
    for ch in prose:
        if ch in "([{":
            stack.append(ch)
        elif ch in _PAIRS and stack and stack[-1] == _PAIRS[ch]:
            stack.pop()
    return len(stack)


def ends_mid_sentence(text: str) -> bool:
    """True when prose stops on a comma, a dash, an open bracket or a word that cannot end a
    sentence ("and", "the", "of", ...)."""
    stripped = text.rstrip()
    if not stripped or stripped.endswith("```"):
        return False
    return bool(_DANGLING.search(stripped[-40:]))


# -- leftover template text -----------------------------------------------------------------------

_LEFTOVERS = (
    ("jinja", re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{\{|\{%")),
    ("chat_token", re.compile(r"<\|(?:im_start|im_end|endoftext|eot_id|start_header_id|end_header_id|"
                              r"assistant|user|system)\|>|\[/?INST\]|<</?SYS>>|</?s>")),
    ("placeholder", re.compile(r"\[(?:INSERT|YOUR|ADD|PLACEHOLDER|TODO)[^\]]*\]|<(?:INSERT|PLACEHOLDER)[^>]*>|"
                               r"\bLorem ipsum\b", re.IGNORECASE)),
    ("ai_boilerplate", re.compile(r"\bAs an AI\b", re.IGNORECASE)),
    ("prompt_header", re.compile(r"^\s*#{2,}\s*(?:Instruction|Response|Input|Output)\s*:|^\s*(?:Human|Assistant|"
                                 r"User)\s*:", re.IGNORECASE | re.MULTILINE)),
)


# A bare placeholder: <the request>, <instruction>, [INSERT TOPIC], [topic], {topic}, {{ x }}.
# Angle brackets must hug a word ("a < b > c" is maths), a bracketed word must not be a link.
# Every part is bounded: a text full of unclosed '{{' costs linear time.
_BARE = re.compile(r"\{\{[^\n]{0,200}?\}\}|\{%[^\n]{0,200}?%\}|\{\s?[A-Za-z_][\w.\-]+\s?\}|"
                   r"\[(?:[A-Za-z][\w'’ \-]{0,60}\w)\](?!\()|<(?P<angle>[A-Za-z](?:[\w'’ \-]{0,60}\w)?)>")
_HTML_TAGS = frozenset("a abbr b blockquote body br caption code col dd del details div dl dt em footer form h1 h2 "
                       "h3 h4 h5 h6 head header hr html i img input ins kbd label li main nav ol option p pre q s "
                       "samp script section select small span strong style sub summary sup table tbody td th "
                       "thead title tr u ul var".split())
_INLINE_CODE = re.compile(r"(`+)[^\n]+?\1")  # one line at most: no quadratic scans
PLACEHOLDER_SHARE = 0.5  # placeholders cover at least this share of the (non-code) text


def placeholder_only(text: str) -> bool:
    """True when bare placeholders are (most of) ``text``: ``<the request>``, "Instruction:
    <instruction>", ``{{ instruction }}``. Code (fenced or inline) is left out, so are HTML tag
    names (``<br>``), type arguments (``List<String>``) and, in text holding markup (a closing
    tag), single-word ``<tags>``."""
    prose = _INLINE_CODE.sub(" ", _FENCED.sub(" ", text))
    total = sum(not c.isspace() for c in prose)
    if not total:
        return False
    markup = "</" in prose or "/>" in prose
    covered = 0
    for m in _BARE.finditer(prose):
        angle = m.group("angle")
        if angle is not None and (m.start() and prose[m.start() - 1].isalnum() or " " not in angle and (
                markup or len(angle) < 3 or angle.lower() in _HTML_TAGS)):
            continue  # a type argument (List<String>), a tag or a one-letter variable
        covered += sum(not c.isspace() for c in m.group(0))
    return covered / total >= PLACEHOLDER_SHARE


def template_leftovers(text: str) -> list[str]:
    """Names of the kinds of template/boilerplate text left in ``text`` (empty = clean)."""
    found = [name for name, rx in _LEFTOVERS if rx.search(text)]
    if "placeholder" not in found and placeholder_only(text):
        found.append("placeholder")
    return found


def instruction_leftovers(instruction: str) -> list[str]:
    """Template text left as the instruction: only a bare placeholder counts (an instruction may
    well ask about Jinja, chat tokens or "As an AI" phrasing)."""
    return ["placeholder"] if placeholder_only(instruction) else []


# -- restated instruction -------------------------------------------------------------------------

def instruction_echo(instruction: str, response: str, n: int = 3) -> float:
    """Share of the instruction's word n-grams that reappear in the response (1 = it copies the
    whole instruction). Below n words there is nothing to compare: 0."""
    iw, rw = words(instruction), words(response)
    grams = {tuple(iw[i:i + n]) for i in range(len(iw) - n + 1)}
    if not grams:
        return 0.0
    rgrams = {tuple(rw[i:i + n]) for i in range(len(rw) - n + 1)}
    return len(grams & rgrams) / len(grams)


# -- the v3 scorer --------------------------------------------------------------------------------

ECHO_FLAG = 0.8
SENTENCE_REPEAT_FLAG = 0.3


def _extras(instruction: str, response: str) -> tuple[list[Score], dict[str, dict]]:
    inst_lang, resp_lang, mismatch = language_mismatch(instruction, response)
    srep = sentence_repetition(response)
    soft = is_soft_refusal(response)
    unclosed = unclosed_brackets(response)
    dangling = ends_mid_sentence(response)
    fences = len(_FENCE_LINE.findall(response))
    leftovers = template_leftovers(response)
    inst_leftovers = instruction_leftovers(instruction)
    kinds: dict = {"kinds": leftovers + [k for k in inst_leftovers if k not in leftovers]}
    if inst_leftovers:
        kinds["instruction"] = inst_leftovers
    echo = instruction_echo(instruction, response)
    n_inst, n_resp = len(words(instruction)), len(words(response))
    values: list[tuple[str, float, dict | None]] = [
        ("language_match", 0.0 if mismatch else 1.0,
         {"instruction": inst_lang.code, "response": resp_lang.code, "confidence": resp_lang.confidence}),
        ("sentence_repetition", round(srep, 4), None),
        ("soft_refusal", float(soft), None),
        ("unclosed_brackets", float(unclosed), None),
        ("ends_mid_sentence", float(dangling), None),
        ("code_fences_balanced", float(fences % 2 == 0), None),
        ("template_leftover", float(bool(kinds["kinds"])), kinds if kinds["kinds"] else None),
        ("instruction_echo", round(echo, 4), None),
    ]
    flags: dict[str, dict] = {}
    if mismatch:
        flags["language_mismatch"] = {"instruction": inst_lang.code, "response": resp_lang.code}
    lf = length_flag(n_inst, n_resp)
    if lf:
        flags[lf] = {"instruction_words": n_inst, "response_words": n_resp}
    if srep > SENTENCE_REPEAT_FLAG:
        flags["repeated_sentences"] = {"sentence_repetition": round(srep, 3)}
    if soft:
        flags["refusal"] = {"soft": True}
    if unclosed or dangling:
        flags["truncated"] = {"unclosed_brackets": unclosed, "ends_mid_sentence": dangling}
    if fences % 2:
        flags["broken_code_block"] = {"fences": fences}
    if kinds["kinds"]:
        flags["template_leftover"] = kinds
    if echo >= ECHO_FLAG and n_inst >= 6:
        flags["restates_instruction"] = {"instruction_echo": round(echo, 3)}
    return [Score(SCORER, VERSION, m, v, d) for m, v, d in values], flags


def extra_heuristics(instruction: str, response: str) -> tuple[list[Score], list[str]]:
    """Only what v3 adds to v2: (scores with scorer "heuristics" version "3", flag names)."""
    scores, flags = _extras(instruction, response)
    return scores, list(flags)


def score(instruction: str, response: str, finish_reason: str | None = None,
          context: str | None = None) -> tuple[list[Score], dict[str, dict]]:
    """Heuristics v3 = v2 (``heuristics.score``) + ``extra_heuristics``: same shape as v2's
    ``score``, every score labelled version "3"."""
    base, flags = heuristics.score(instruction, response, finish_reason, context)
    extra, extra_flags = _extras(instruction, response)
    scores = [Score(s.scorer, VERSION, s.metric, s.value, s.details) for s in base] + extra
    merged = dict(flags)
    for name, details in extra_flags.items():  # a flag both raise keeps both sets of details
        merged[name] = {**details, **merged.get(name, {})}
    return scores, merged
