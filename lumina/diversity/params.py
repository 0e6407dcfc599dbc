"""The `map` job's settings: light to import (the CLI reads its defaults and help from here)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from pydantic import Field
from pydantic.dataclasses import dataclass


@dataclass
class MapParams:
    refit: bool = Field(False, description="rebuild the UMAP projection from all samples")
    embedder: str | None = Field(None, description="sentence-transformers name or path (default: the bundled MiniLM)")
    clusters: str = Field("kmeans", description="kmeans | hdbscan")
    k: int | None = Field(None, description="kmeans: clusters (default: best silhouette in 2..12)")
    n_neighbors: int = Field(15, description="UMAP neighbours (local vs global structure)")
    min_dist: float = Field(0.1, description="UMAP minimum distance between placed points")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
