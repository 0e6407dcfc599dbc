"""The DuckDB store. All SQL in Lumina lives in this package."""

from lumina.store.db import connect, migrate, transaction

__all__ = ["connect", "migrate", "transaction"]
