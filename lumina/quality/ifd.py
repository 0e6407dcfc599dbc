"""Instruction-Following Difficulty (IFD), from "From Quantity to Quality" (Li et al., NAACL 2024).

With the student model, compare the loss of a response conditioned on its instruction (chat
template: user = instruction, assistant = response) with the loss of the response alone:

    IFD = loss(response | instruction) / loss(response)

Near 1: the instruction barely helps predict the answer (a hard sample — or a mismatched pair);
well under 1: the answer follows easily from the instruction. Above 1 the instruction makes the
answer *less* likely: the pair is suspect (``suspect``). The paper keeps the top few percent by
IFD after dropping those over 1 (``keep_top_percent``).

Both losses are the mean token cross-entropy over the same response tokens, tokenised once, so
the ratio compares like with like. The first response token is left out of both: alone, it has
nothing to be predicted from (the paper's code scores it after a BOS token, which models like
SmolLM2 do not use). When a pair is longer than ``max_length`` the instruction is cut from the
left to at most half the budget and the response keeps the rest, in both conditions alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Hashable, Iterable, Sequence

from lumina.errors import InvalidInputError, NotFoundError, first_line
from lumina.records import Score

SCORER = "ifd"
VERSION = "1"
Id = Hashable


@dataclass
class IfdOutcome:
    sample_id: Id
    ifd: float | None  # None when it could not be computed (see error)
    cond_loss: float | None
    direct_loss: float | None
    tokens: int = 0  # response tokens scored
    truncated: bool = False
    error: str | None = None


def suspect(ifd: float | None, limit: float = 1.0) -> bool:
    """True when the instruction does not help predict the response (IFD over ``limit``)."""
    return ifd is not None and ifd > limit


def keep_top_percent(outcomes: Iterable[IfdOutcome], pct: float) -> set[Id]:
    """Ids of the ``pct`` percent of all outcomes with the highest IFD, among those with an IFD
    of at most 1 (suspect and failed ones are never kept)."""
    if not 0 <= pct <= 100:
        raise InvalidInputError(f"The percentage to keep must be between 0 and 100, not {pct}.")
    outcomes = list(outcomes)
    valid = [o for o in outcomes if o.ifd is not None and not suspect(o.ifd)]
    n = math.ceil(len(outcomes) * pct / 100)
    ranked = sorted(valid, key=lambda o: (-o.ifd, str(o.sample_id)))  # type: ignore[operator]
    return {o.sample_id for o in ranked[:n]}


def to_scores(outcome: IfdOutcome, model: str) -> list[Score]:
    """ifd, cond_loss, direct_loss for the store; the version names the student model, since
    IFD is only comparable within one model."""
    version = f"{VERSION}+{model}"
    if outcome.ifd is None:
        details = {"error": outcome.error}
        return [Score(SCORER, version, m, None, details) for m in ("ifd", "cond_loss", "direct_loss")]
    details = {"tokens": outcome.tokens, "truncated": outcome.truncated}
    return [Score(SCORER, version, "ifd", round(outcome.ifd, 6), details),
            Score(SCORER, version, "cond_loss", round(outcome.cond_loss, 6), None),  # type: ignore[arg-type]
            Score(SCORER, version, "direct_loss", round(outcome.direct_loss, 6), None)]  # type: ignore[arg-type]


class IfdScorer:
    """A loaded causal LM that scores (id, instruction, response) rows. Load once, score many."""

    def __init__(self, model_path: str, device: str = "auto", dtype: str = "float32") -> None:
        from lumina import models
        from lumina.teachers.backends.transformers_backend import _dtype, prefer_passive_omp

        prefer_passive_omp()  # see transformers_backend: spinning OpenMP threads starve others
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.model_name = model_path
        path = models.resolve(model_path)
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        try:
            self.tok = AutoTokenizer.from_pretrained(path)
            # float32 by default: a loss ratio of two close numbers is where bf16's 8 bits of
            # mantissa show.
            self.model = AutoModelForCausalLM.from_pretrained(path, dtype=_dtype(torch, dtype)).to(device)
        except OSError as exc:
            raise NotFoundError(f"Cannot load the student model '{model_path}' from {path}: {first_line(exc)}") from exc
        self.model.eval()
        if self.tok.chat_template is None:
            raise InvalidInputError(f"Model '{model_path}' has no chat template; IFD needs an instruct model.")
        self.device = device
        pad = self.tok.pad_token_id
        if pad is None:
            pad = self.tok.eos_token_id if self.tok.eos_token_id is not None else 0
        self.pad_id = int(pad)

    def _prompt_ids(self, instruction: str) -> list[int]:
        text = self.tok.apply_chat_template([{"role": "user", "content": instruction}], tokenize=False,
                                            add_generation_prompt=True)
        return self.tok(text, add_special_tokens=False)["input_ids"]

    def _losses(self, seqs: list[tuple[list[int], int]], batch_size: int) -> list[float]:
        """Mean cross-entropy of each sequence's tokens from position ``start`` on."""
        import torch

        losses: list[float] = [math.nan] * len(seqs)
        order = sorted(range(len(seqs)), key=lambda i: len(seqs[i][0]))  # less padding per batch
        for b in range(0, len(order), batch_size):
            idx = order[b:b + batch_size]
            width = max(len(seqs[i][0]) for i in idx)
            ids = torch.full((len(idx), width), self.pad_id, dtype=torch.long)
            mask = torch.zeros((len(idx), width), dtype=torch.long)
            labels = torch.full((len(idx), width), -100, dtype=torch.long)
            for row, i in enumerate(idx):
                toks, start = seqs[i]
                ids[row, :len(toks)] = torch.tensor(toks)
                mask[row, :len(toks)] = 1
                labels[row, start:len(toks)] = torch.tensor(toks[start:])
            with torch.inference_mode():
                logits = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device)).logits
                logits = logits[:, :-1].float()
                target = labels[:, 1:].to(self.device)
                ce = torch.nn.functional.cross_entropy(logits.transpose(1, 2), target, ignore_index=-100,
                                                       reduction="none")
                counts = (target != -100).sum(dim=1)
                per_row = (ce.sum(dim=1) / counts.clamp(min=1)).tolist()
            for row, i in enumerate(idx):
                losses[i] = per_row[row]
        return losses

    def score(self, rows: Sequence[tuple[Id, str, str]], batch_size: int = 8,
              max_length: int = 512) -> list[IfdOutcome]:
        if max_length < 8:
            raise InvalidInputError(f"max_length must be at least 8 tokens, not {max_length}.")
        cond: list[tuple[list[int], int]] = []
        direct_index: dict[tuple[int, ...], int] = {}  # response tokens -> row of `direct`
        direct_row: list[int] = []  # per scored row
        plan: list[tuple[Id, int, bool, str | None]] = []  # (id, response tokens scored, truncated, error)
        for sid, instruction, response in rows:
            resp = self.tok(response, add_special_tokens=False)["input_ids"] if response.strip() else []
            if len(resp) < 2:
                plan.append((sid, 0, False, "response too short to score (under 2 tokens)"))
                continue
            prompt = self._prompt_ids(instruction)
            truncated = False
            if len(prompt) + len(resp) > max_length:
                truncated = True
                prompt = prompt[-min(len(prompt), max_length // 2):]  # keeps the assistant header
                resp = resp[:max_length - len(prompt)]
            # The first response token is scored in neither condition (see the module doc).
            cond.append((prompt + resp, len(prompt) + 1))
            # The same response under several instructions is scored alone only once.
            direct_row.append(direct_index.setdefault(tuple(resp), len(direct_index)))
            plan.append((sid, len(resp) - 1, truncated, None))
        direct = [(list(toks), 1) for toks in direct_index]
        cond_l = self._losses(cond, batch_size) if cond else []
        direct_l = self._losses(direct, batch_size) if direct else []
        out, k = [], 0
        for sid, n_tok, truncated, error in plan:
            if error:
                out.append(IfdOutcome(sid, None, None, None, 0, False, error))
                continue
            c, d = cond_l[k], direct_l[direct_row[k]]
            k += 1
            if not (math.isfinite(c) and math.isfinite(d)) or d <= 0:
                out.append(IfdOutcome(sid, None, c, d, n_tok, truncated, "loss is not finite or zero"))
                continue
            out.append(IfdOutcome(sid, c / d, c, d, n_tok, truncated))
        return out

    def close(self) -> None:
        self.model = None  # type: ignore[assignment]


def ifd_scores(model_path: str, rows: Sequence[tuple[Id, str, str]], batch_size: int = 8,
               max_length: int = 512, device: str = "auto", dtype: str = "float32") -> list[IfdOutcome]:
    """Load ``model_path`` (a bundled alias, folder or hub id), score ``rows``, one outcome each."""
    if not rows:
        return []
    scorer = IfdScorer(model_path, device=device, dtype=dtype)
    try:
        return scorer.score(rows, batch_size=batch_size, max_length=max_length)
    finally:
        scorer.close()
