"""Settings: where Lumina keeps its data, and knobs read from ``LUMINA_*`` environment variables.

Everything is resolved at call time (not import time) so tests and the CLI can point
``LUMINA_HOME`` somewhere else without re-importing modules.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    home: Path
    db_lock_timeout_s: float  # how long a connect waits for another process's lock

    @property
    def db_path(self) -> Path:
        return self.home / "lumina.duckdb"

    models_override: Path | None = None  # LUMINA_MODELS_DIR: share prepared models across homes
    # LUMINA_MAX_UPLOAD_MB: browser uploads are held in the server's memory several times over;
    # bigger files go through `lumina import PATH`, which streams them.
    max_upload_mb: int = 100
    # LUMINA_MAX_FIELD_MB: the most one JSONL line, CSV record, JSON array element or Parquet /
    # datasets row may hold; the reader holds several copies of one at a time, never of a file.
    max_field_mb: int = 8

    @property
    def models_dir(self) -> Path:
        return self.models_override or self.home / "models"

    @property
    def jobs_dir(self) -> Path:
        return self.home / "jobs"

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"


def settings() -> Settings:
    home = Path(os.environ.get("LUMINA_HOME", "data")).expanduser().resolve()
    return Settings(
        home=home,
        db_lock_timeout_s=float(os.environ.get("LUMINA_DB_LOCK_TIMEOUT", "30")),
        models_override=Path(os.environ["LUMINA_MODELS_DIR"]).expanduser().resolve()
        if os.environ.get("LUMINA_MODELS_DIR") else None,
        max_upload_mb=int(os.environ.get("LUMINA_MAX_UPLOAD_MB", "100")),
        max_field_mb=max(1, int(os.environ.get("LUMINA_MAX_FIELD_MB", "8"))),
    )


def examples_dir() -> Path:
    """Example taxonomies and the shipped demo samples (``data/examples`` in the repo)."""
    return REPO_ROOT / "data" / "examples"
