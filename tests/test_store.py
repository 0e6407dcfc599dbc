import time

import duckdb
import pytest

from lumina.config import settings
from lumina.errors import StoreBusyError, StoreCorruptError
from lumina.store import connect, migrate, transaction
from lumina.store.migrations import MIGRATIONS
from tests.helpers import hold_db_lock

TABLES = {"inputs", "projects", "taxonomy_nodes", "jobs", "job_items", "samples", "scores", "flags",
          "review_events", "dataset_versions", "training_runs", "teacher_cache", "imports"}


def test_blank_database_is_migrated_once():
    with connect() as con:
        names = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        assert TABLES <= names
        applied = con.execute("SELECT id FROM _migrations ORDER BY id").fetchall()
        assert [a[0] for a in applied] == [m[0] for m in MIGRATIONS]
        assert migrate(con) == 0  # idempotent


def test_migrations_are_numbered_and_append_only():
    numbers = [m[0] for m in MIGRATIONS]
    assert numbers == list(range(1, len(numbers) + 1))


def test_transaction_is_all_or_nothing():
    with connect() as con:
        con.execute("INSERT INTO projects (name, teacher, student) VALUES ('a', 't', 's')")
        with pytest.raises(RuntimeError):
            with transaction(con):
                con.execute("INSERT INTO projects (name, teacher, student) VALUES ('b', 't', 's')")
                raise RuntimeError("boom")
        assert [r[0] for r in con.execute("SELECT name FROM projects").fetchall()] == ["a"]


def test_connect_waits_for_another_process_lock():
    with connect():
        pass
    holder = hold_db_lock(settings().db_path, 1.5)
    t0 = time.monotonic()
    with connect() as con:
        assert con.execute("SELECT count(*) FROM projects").fetchone()[0] == 0
    assert time.monotonic() - t0 > 0.5  # it really waited rather than failing
    holder.wait(timeout=10)


def test_lock_held_too_long_gives_a_plain_error(monkeypatch):
    with connect():
        pass
    monkeypatch.setenv("LUMINA_DB_LOCK_TIMEOUT", "0.5")
    holder = hold_db_lock(settings().db_path, 5)
    try:
        with pytest.raises(StoreBusyError) as exc:
            with connect():
                pass
        msg = str(exc.value)
        assert "busy" in msg and "Could not set lock" not in msg and "\n" not in msg
    finally:
        holder.kill()


def test_corrupt_file_gives_a_plain_error():
    path = settings().db_path
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database" * 1000)
    with pytest.raises(StoreCorruptError) as exc:
        with connect():
            pass
    assert "not a readable DuckDB file" in str(exc.value)


def test_an_older_schema_file_opens(tmp_path):
    """A file that only has migration 1 applied (the oldest schema) is brought forward."""
    path = settings().db_path
    path.parent.mkdir(parents=True)
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE _migrations (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
                " applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp)")
    MIGRATIONS[0][2](con)
    con.execute("INSERT INTO _migrations (id, name) VALUES (1, 'initial')")
    con.close()
    with connect() as con:
        assert con.execute("SELECT max(id) FROM _migrations").fetchone()[0] == MIGRATIONS[-1][0]
