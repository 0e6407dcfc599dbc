"""Evaluating a tuned student against its base: held-out loss / perplexity and greedy answers
(``metrics``), a position-swapped pairwise LLM judge and a forgetting check (``judge``).

Heavy libraries load inside the functions that need them.
"""

from lumina.evaluation.judge import PairwiseItem, PairwiseResult, forgetting, pairwise, wilson_interval
from lumina.evaluation.metrics import answers, generate_answers, loss_and_perplexity

__all__ = ["PairwiseItem", "PairwiseResult", "answers", "forgetting", "generate_answers", "loss_and_perplexity",
           "pairwise", "wilson_interval"]
