"""Teacher backend: Hugging Face transformers ``generate``, in this process.

The slowest backend but the one that always works (no server, no vLLM). Requests are grouped by
their parameters without the seed (``GenParams.without_seed()``); each group is cut into batches
of ``batch_size`` rows and every batch is one left-padded ``model.generate`` call on prompts
built with the tokenizer's chat template.

Seeds: a batch shares one random stream, so ``torch.manual_seed`` is set from the first seeded
request of the batch. A given request list therefore reproduces exactly, but the same request in
a different batch can sample differently.

Structured output: when ``params.json_schema`` is set, decoding is constrained with xgrammar's
Hugging Face logits processor (one compiled grammar per schema, shared by the rows of a batch).
Without xgrammar the request runs unconstrained; callers validate every output anyway.

Options (keyword arguments):
    batch_size  rows per ``generate`` call (default 16)
    device      "auto" (cuda if available, else cpu), "cpu", "cuda", "cuda:1", ...
    dtype       "auto", "float32", "bfloat16", "float16". Auto is bfloat16 on GPU (float16 where
                the GPU lacks bf16). On CPU auto is bfloat16 where the CPU has native bf16
                (avx512_bf16 / amx_bf16 on x86, bf16 on Arm), else float32: measured on 2 Xeon
                cores with AMX, SmolLM2-135M, 16 prompts x 64 new tokens, bf16 ran 174 tok/s
                greedy / 144 sampled against fp32's 103 / 99, with text of the same quality
                (fp32 parsed 16/16 JSON outputs, bf16 15/16). Without native bf16 the emulated
                bf16 matmuls are slower than fp32, hence the check.
    top_k       0 (off, like vLLM and OpenAI servers; transformers would default to 50)
    compact_json  True: JSON output without free whitespace (a 135M model otherwise can emit
                  runs of newlines inside the object until it hits max_tokens)

CPU contention: torch's OpenMP threads (libgomp) spin-wait between parallel regions by default.
When anything else is busy on the cores (another job, a test run, the app), generation slows down
many times over: a batch of 8 prompts x 32 tokens took 50-66 s instead of 2 s on 2 cores with
another torch process running. With ``OMP_WAIT_POLICY=PASSIVE`` the same batch took 2.2-2.3 s
under the same load. The price on idle cores: 16 x 64 greedy tokens at ~170 tok/s instead of
~295 (GOMP_SPINCOUNT=30000 keeps ~295 idle but still collapses next to another spinning torch
process). Robustness wins, so the backend sets OMP_WAIT_POLICY=PASSIVE with setdefault -- only
if torch is not imported yet, because libgomp reads it once at load. Export
OMP_WAIT_POLICY=ACTIVE before starting a process that has the cores to itself.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import sys
import threading
import time
from typing import Any

from lumina.errors import TeacherError, first_line
from lumina.teachers.spec import BACKENDS, Backend
from lumina.teachers.base import ChatRequest, Completion, GenParams

log = logging.getLogger(__name__)



def prefer_passive_omp() -> bool:
    """Set OMP_WAIT_POLICY=PASSIVE if torch is not imported yet; True if the policy is passive."""
    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return os.environ.get("OMP_WAIT_POLICY", "").upper() == "PASSIVE"


def cpu_has_native_bf16() -> bool:
    """True where the CPU advertises bf16 arithmetic (Linux /proc/cpuinfo flags)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            words = set(f.read(1 << 20).split())
    except OSError:
        return False
    return bool(words & {"avx512_bf16", "amx_bf16", "bf16"})


def default_cpu_dtype() -> str:
    """bfloat16 where the CPU does it natively (faster, same text), else float32."""
    return "bfloat16" if cpu_has_native_bf16() else "float32"

_KNOWN_OPTIONS = {"batch_size", "device", "dtype", "top_k", "compact_json", "progress"}


def _dtype(torch: Any, name: str) -> Any:
    table = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16,
             "bf16": torch.bfloat16, "float16": torch.float16, "fp16": torch.float16}
    if name not in table:
        raise TeacherError(f"Unknown dtype '{name}' for the transformers teacher "
                           "(use auto, float32, bfloat16 or float16).")
    return table[name]


def _make_grammar_processor(compiled: Any) -> Any:
    """A fresh xgrammar HF logits processor (it is single-use: one per ``generate`` call).

    Subclassed only to be tolerant of rows that ``generate`` already finished by other means
    (a stop string, or padding after EOS): xgrammar's own version asserts on every token.
    """
    import xgrammar as xgr
    from xgrammar.contrib.hf import LogitsProcessor

    class _TolerantGrammarProcessor(LogitsProcessor):
        def __call__(self, input_ids, scores):  # type: ignore[override]
            if len(self.matchers) == 0:
                self.batch_size = input_ids.shape[0]
                if len(self.compiled_grammars) == 1:
                    self.compiled_grammars = self.compiled_grammars * self.batch_size
                self.matchers = [xgr.GrammarMatcher(g) for g in self.compiled_grammars]
                self.token_bitmask = xgr.allocate_token_bitmask(self.batch_size, self.full_vocab_size)
                self._dead = [False] * self.batch_size
            if not self.prefilled:
                self.prefilled = True
            else:
                for i in range(self.batch_size):
                    m = self.matchers[i]
                    if self._dead[i] or m.is_terminated():
                        continue
                    if not m.accept_token(int(input_ids[i][-1].item())):
                        self._dead[i] = True  # row ended some other way; leave it alone
            for i in range(self.batch_size):
                if not self._dead[i] and not self.matchers[i].is_terminated():
                    self.matchers[i].fill_next_token_bitmask(self.token_bitmask, i)
            vocab = scores.shape[-1]
            device = scores.device
            work = scores if device.type in ("cpu", "cuda") else scores.to("cpu")
            # Rows that are done keep whatever mask they had; generate pads them anyway.
            xgr.apply_token_bitmask_inplace(work, self.token_bitmask.to(work.device),
                                          vocab_size=min(vocab, self.full_vocab_size))
            return work if work.device == device else work.to(device)

    return _TolerantGrammarProcessor(compiled)


class TransformersTeacher:
    """Batched chat generation with ``AutoModelForCausalLM.generate``."""

    backend = "transformers"

    def __init__(self, model: str, **options: Any) -> None:
        unknown = set(options) - _KNOWN_OPTIONS
        if unknown:
            log.warning("transformers teacher: ignoring unknown options %s", sorted(unknown))
        prefer_passive_omp()  # before anything imports torch (see the module docstring)
        self.model = model
        self.batch_size = int(options.get("batch_size", 16))
        if self.batch_size < 1:
            raise TeacherError("batch_size must be at least 1.")
        self.device_option = str(options.get("device", "auto"))
        self.dtype_option = str(options.get("dtype", "auto"))
        self.top_k = int(options.get("top_k", 0))
        self.compact_json = bool(options.get("compact_json", True))
        self._progress = options.get("progress") or (lambda msg: None)
        self._lock = threading.RLock()
        self._model: Any = None
        self._tok: Any = None
        self._path: str | None = None
        self._device: str | None = None
        self._dtype_name: str | None = None
        self._eos_ids: list[int] = []
        self._pad_id: int | None = None
        self._grammar_compiler: Any = None
        self._grammars: dict[str, Any] = {}
        self._xgrammar_ok: bool | None = None
        self.load_seconds: float | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def device(self) -> str | None:
        return self._device

    @property
    def dtype(self) -> str | None:
        return self._dtype_name

    def load(self) -> "TransformersTeacher":
        """Resolve the model name and load tokenizer + weights (idempotent)."""
        with self._lock:
            if self._model is not None:
                return self
            from lumina import models

            path = models.resolve(self.model, progress=self._progress)  # NotFoundError if unknown
            t0 = time.monotonic()
            if not prefer_passive_omp():
                log.info("OMP_WAIT_POLICY is not PASSIVE and torch is already imported: CPU "
                         "generation can slow down many times over when other work shares the cores")
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer

            device = self.device_option
            if device == "auto":
                device = "cuda" if torch.cuda.is_available() else "cpu"
            on_gpu = device.startswith("cuda")
            if on_gpu and not torch.cuda.is_available():
                raise TeacherError("The transformers teacher was asked for cuda, but torch sees no GPU.")
            dtype_name = self.dtype_option
            if dtype_name == "auto":
                if on_gpu:
                    dtype_name = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
                else:
                    dtype_name = default_cpu_dtype()
            dtype = _dtype(torch, dtype_name)

            self._progress(f"loading {path} on {device} ({dtype_name})")
            try:
                tok = AutoTokenizer.from_pretrained(path)
                mdl = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
            except OSError as e:
                raise TeacherError(f"Cannot load model '{self.model}' from {path}: {first_line(e)}") from e
            mdl.to(device)
            mdl.eval()
            tok.padding_side = "left"
            if tok.chat_template is None:
                raise TeacherError(f"Model '{self.model}' has no chat template; the teacher needs an instruct model.")

            eos: list[int] = []
            gen_eos = getattr(mdl.generation_config, "eos_token_id", None)
            for v in (gen_eos if isinstance(gen_eos, list) else [gen_eos]) + [tok.eos_token_id]:
                if v is not None and int(v) not in eos:
                    eos.append(int(v))
            pad = tok.pad_token_id
            if pad is None:
                pad = getattr(mdl.generation_config, "pad_token_id", None)
            if pad is None:
                pad = eos[0] if eos else 0
                tok.pad_token_id = pad
            self._tok, self._model = tok, mdl
            self._path, self._device, self._dtype_name = path, device, dtype_name
            self._eos_ids, self._pad_id = eos, int(pad)
            self.load_seconds = time.monotonic() - t0
            self._progress(f"model loaded in {self.load_seconds:.1f} s")
        return self

    def close(self) -> None:
        with self._lock:
            if self._model is None:
                return
            on_gpu = bool(self._device and self._device.startswith("cuda"))
            self._model = None
            self._tok = None
            self._grammar_compiler = None
            self._grammars.clear()
            gc.collect()
            if on_gpu:
                import torch

                torch.cuda.empty_cache()

    def __enter__(self) -> "TransformersTeacher":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = f"{self._device}/{self._dtype_name}" if self.loaded else "not loaded"
        return f"TransformersTeacher({self.model!r}, {state})"

    # -- generation ------------------------------------------------------------------------

    def chat(self, requests: list[ChatRequest]) -> list[Completion]:
        if not requests:
            return []
        self.load()
        groups: dict[str, list[int]] = {}
        for i, r in enumerate(requests):
            groups.setdefault(r.params.without_seed(), []).append(i)
        out: list[Completion | None] = [None] * len(requests)
        with self._lock:
            for idxs in groups.values():
                for start in range(0, len(idxs), self.batch_size):
                    chunk = idxs[start:start + self.batch_size]
                    try:
                        results = self._generate([requests[i] for i in chunk])
                    except TeacherError:
                        raise
                    except Exception as e:  # one batch failing (e.g. out of memory) is per-request
                        log.exception("transformers teacher: batch failed")
                        msg = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}".strip()
                        results = [Completion(text="", error=msg) for _ in chunk]
                    for i, c in zip(chunk, results):
                        out[i] = c
        return [c for c in out if c is not None]

    def _grammar(self, schema: dict[str, Any]) -> Any:
        """Compiled xgrammar JSON-schema grammar, or None when xgrammar is unavailable."""
        if self._xgrammar_ok is False:
            return None
        key = json.dumps(schema, sort_keys=True)
        if key in self._grammars:
            return self._grammars[key]
        try:
            import xgrammar as xgr
            import xgrammar.contrib.hf  # noqa: F401  (needs transformers; checked here)
        except Exception as e:  # not installed or broken: run unconstrained
            log.warning("xgrammar unavailable (%s): JSON output will not be constrained", e)
            self._xgrammar_ok = False
            return None
        self._xgrammar_ok = True
        if self._grammar_compiler is None:
            vocab = int(getattr(self._model.config, "vocab_size", 0) or len(self._tok))
            info = xgr.TokenizerInfo.from_huggingface(self._tok, vocab_size=vocab, stop_token_ids=self._eos_ids)
            self._grammar_compiler = xgr.GrammarCompiler(info)
        kwargs: dict[str, Any] = {}
        if self.compact_json:
            kwargs = {"any_whitespace": False}
        compiled = self._grammar_compiler.compile_json_schema(key, **kwargs)
        self._grammars[key] = compiled
        return compiled

    def _generate(self, batch: list[ChatRequest]) -> list[Completion]:
        import torch

        params: GenParams = batch[0].params
        tok, mdl = self._tok, self._model
        prompts = [tok.apply_chat_template(r.messages, tokenize=False, add_generation_prompt=True)
                   for r in batch]
        enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(self._device)
        prompt_len = enc["input_ids"].shape[1]

        gen: dict[str, Any] = {
            "max_new_tokens": params.max_tokens,
            "pad_token_id": self._pad_id,
            "eos_token_id": self._eos_ids,
        }
        if params.temperature > 0:
            gen.update(do_sample=True, temperature=params.temperature, top_p=params.top_p, top_k=self.top_k)
        else:
            gen.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        stops = [s for s in (params.stop or []) if s]
        if stops:
            gen.update(stop_strings=stops, tokenizer=tok)
        constrained = False
        if params.json_schema is not None:
            compiled = self._grammar(params.json_schema)
            if compiled is not None:
                from transformers import LogitsProcessorList

                gen["logits_processor"] = LogitsProcessorList([_make_grammar_processor(compiled)])
                constrained = True
        seeds = [r.params.seed for r in batch if r.params.seed is not None]
        if seeds:
            torch.manual_seed(seeds[0])

        with torch.inference_mode():
            seq = mdl.generate(**enc, **gen)
        new = seq[:, prompt_len:].tolist()
        n_prompt = enc["attention_mask"].sum(dim=1).tolist()

        results = []
        ends = set(self._eos_ids) | {self._pad_id}
        for row, toks in enumerate(new):
            end = next((j for j, t in enumerate(toks) if t in ends), len(toks))
            text = tok.decode(toks[:end], skip_special_tokens=True)
            hit_stop = None
            for s in stops:
                k = text.find(s)
                if k >= 0 and (hit_stop is None or k < hit_stop):
                    hit_stop = k
            if hit_stop is not None:
                text = text[:hit_stop]
                finish = "stop"
            elif end < len(toks):
                finish = "stop"  # EOS
            elif len(toks) >= params.max_tokens:
                finish = "length"
            else:
                finish = "stop"
            n_completion = end + (1 if end < len(toks) and toks[end] in self._eos_ids else 0)
            extra: dict[str, Any] = {}
            if params.json_schema is not None:
                extra["constrained"] = constrained
            results.append(Completion(text=text, finish_reason=finish, prompt_tokens=int(n_prompt[row]),
                                      completion_tokens=int(n_completion), extra=extra))
        return results


def build(spec, **options: Any) -> TransformersTeacher:
    return TransformersTeacher(spec.model, **options)


BACKENDS.register(Backend(
    "transformers", factory=f"{__name__}:build", position=10,
    help="a Hugging Face model run in-process by transformers (slow, works anywhere): transformers:MODEL"))
