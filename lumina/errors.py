"""User-facing errors.

A ``LuminaError`` carries a message written for the person at the keyboard: the CLI prints it
on one line and exits with status 2, the app shows it in an error box. Anything else that
escapes is a bug and keeps its traceback.
"""

from __future__ import annotations


class LuminaError(Exception):
    """An error caused by input or environment, explained in one line."""

    exit_code = 2


class NotFoundError(LuminaError):
    """A named thing (project, job, model, file) does not exist."""


class InvalidInputError(LuminaError):
    """A file, setting or argument is malformed."""


class StoreBusyError(LuminaError):
    """The database stayed locked by another process past the retry budget."""


class StoreCorruptError(LuminaError):
    """The database file cannot be opened as a DuckDB database."""


class TeacherError(LuminaError):
    """A teacher backend cannot be built or reached."""


class TrainingError(LuminaError):
    """A training or evaluation process failed (out of memory, a broken model folder...)."""

    exit_code = 1


def first_line(exc: BaseException, limit: int = 200) -> str:
    """The first line of an exception's message (its type name when it has none), for messages."""
    text = str(exc).strip()
    return text.splitlines()[0][:limit] if text else type(exc).__name__


class PermissionDeniedError(LuminaError):
    """The acting user's role in a project does not allow this action (or a path/URL is not allowed)."""


class ConflictError(LuminaError):
    """What the user saw has changed since (another reviewer decided or edited first)."""
