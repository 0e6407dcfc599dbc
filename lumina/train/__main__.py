"""``python -m lumina.train RUN_DIR``: run (or resume) the training run in RUN_DIR.

Reads ``RUN_DIR/request.json`` (``{"config": {...}}``), ``RUN_DIR/data/train.jsonl`` and
``RUN_DIR/data/eval.jsonl`` (optional). Prints one JSON line per logged step to stdout and, last,
``{"result": {...}}``. Running the same command again after a kill resumes from the newest
checkpoint.

Exit status: 0 when the run finished or was stopped cleanly (SIGTERM/SIGINT: a checkpoint is
saved first; ``result.json`` says ``"cancelled"``), 1 on any error (the reason is on stderr and
in ``RUN_DIR/error.json``).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import traceback
from pathlib import Path

from lumina.errors import InvalidInputError, LuminaError, first_line


def read_jsonl(path: Path) -> list[dict]:
    rows = []
    if not path.exists():
        return rows
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"{path}, line {n}: not valid JSON ({exc.msg}).") from None
    return rows


def load_request(run_dir: Path):
    from lumina.train.config import TrainConfig

    req_file = run_dir / "request.json"
    if not req_file.exists():
        raise InvalidInputError(f"{req_file} is missing: it must hold {{\"config\": {{...}}}}.")
    try:
        request = json.loads(req_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{req_file}: not valid JSON ({exc.msg}).") from None
    config = TrainConfig.from_dict(request.get("config") or {})
    train_file = run_dir / "data" / "train.jsonl"
    if not train_file.exists():
        raise InvalidInputError(f"{train_file} is missing.")
    return config, read_jsonl(train_file), read_jsonl(run_dir / "data" / "eval.jsonl")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] in ("-h", "--help"):
        print(__doc__, file=sys.stderr)
        return 1 if len(args) != 1 else 0
    run_dir = Path(args[0]).resolve()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Before torch loads (libgomp reads it once): keeps CPU training usable next to other work.
    from lumina.teachers.backends.transformers_backend import prefer_passive_omp

    prefer_passive_omp()
    _quiet_progress_bars()

    stop = threading.Event()

    def on_signal(signum, frame):  # the Trainer callback sees it at the end of the current step
        print(f"received signal {signum}: saving a checkpoint and stopping", file=sys.stderr, flush=True)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def emit(line: dict) -> None:
        print(json.dumps(line), flush=True)

    error_file = run_dir / "error.json"
    error_file.unlink(missing_ok=True)
    try:
        from lumina.train.runner import train

        config, train_rows, eval_rows = load_request(run_dir)
        result = train(run_dir, train_rows, eval_rows, config, on_log=emit, should_stop=stop.is_set)
    except LuminaError as exc:  # the user's to fix: one line, no traceback
        _record_error(error_file, first_line(exc, 500), exc)
        return 1
    except Exception as exc:  # a bug or an environment failure (out of memory): keep the traceback
        traceback.print_exc()
        _record_error(error_file, f"{type(exc).__name__}: {first_line(exc, 500)}", exc)
        return 1
    emit({"result": result.to_dict()})
    return 0


def _quiet_progress_bars() -> None:
    # Progress bars would interleave with the metrics lines a supervising process reads.
    import datasets
    import transformers

    datasets.disable_progress_bars()
    transformers.utils.logging.disable_progress_bar()


def _record_error(error_file: Path, msg: str, exc: BaseException) -> None:
    print(f"error: {msg}", file=sys.stderr, flush=True)
    if error_file.parent.is_dir() and int(os.environ.get("RANK", "0")) == 0:
        error_file.write_text(json.dumps({"error": msg, "type": type(exc).__name__}) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
