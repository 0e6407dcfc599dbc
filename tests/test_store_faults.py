"""The store under faults: a paid teacher answer survives a database held by another process, a
writer killed mid-batch leaves every committed batch and nothing half-written, and a read-only
or full disk gives one plain line (no raw DuckDB IOException) and an intact database after."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lumina.config import settings
from lumina.errors import LuminaError, StoreCorruptError
from lumina.store import cache, connect, transaction
from lumina.teachers import ChatRequest, GenParams
from lumina.teachers.cached import CachedTeacher
from lumina.teachers.spec import build_teacher
from tests.helpers import completion_json, hold_db_lock, scripted_server


def _req(text: str) -> ChatRequest:
    return ChatRequest([{"role": "user", "content": text}], GenParams(seed=1, max_tokens=8))


def test_a_paid_answer_survives_a_busy_database(monkeypatch):
    with connect():
        pass
    monkeypatch.setenv("LUMINA_DB_LOCK_TIMEOUT", "0.5")
    holders = []

    def script(n, body):
        if n == 1:  # while the teacher answers, another process takes the database for 3 s
            holders.append(hold_db_lock(settings().db_path, 3))
        return 200, completion_json(f"answer {n}"), 0

    with scripted_server(script) as (url, calls):
        spec = f"openai:{url}#fake"
        teacher = CachedTeacher(build_teacher(spec), spec)
        try:
            # Before, the cache write raised StoreBusyError here and the paid answer was gone.
            assert teacher.chat([_req("one")])[0].text == "answer 1"
            assert list(cache.spool_dir().glob("*.jsonl"))
            holders[0].wait(timeout=30)

            again = teacher.chat([_req("one")])[0]  # served from the spool: not paid twice
            assert again.cached and again.text == "answer 1" and len(calls) == 1
            teacher.chat([_req("two")])  # the next write that gets through merges the spool
            assert len(calls) == 2 and not list(cache.spool_dir().glob("*"))
            with connect() as con:
                assert cache.count(con) == 2
        finally:
            teacher.close()
            for h in holders:
                h.kill()


WRITER = textwrap.dedent("""
    import sys
    from lumina.store import connect, transaction
    from lumina.store import cache
    k = 0
    while True:
        with connect() as con, transaction(con):
            cache.put_many(con, [(f"{k}-{i}", "m", {"text": "x" * 200, "i": i}) for i in range(40)])
        print(k, flush=True)
        k += 1
""")


def test_sigkill_mid_write_keeps_every_committed_batch():
    with connect():
        pass
    proc = subprocess.Popen([sys.executable, "-c", WRITER], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    committed = [int(proc.stdout.readline()) for _ in range(5)]
    os.kill(proc.pid, signal.SIGKILL)  # most likely inside the next batch's transaction
    proc.wait(timeout=30)
    committed += [int(line) for line in proc.stdout.read().split()]
    with connect() as con:
        rows = con.execute("SELECT split_part(key, '-', 1)::INT AS k, count(*) FROM teacher_cache"
                           " GROUP BY k ORDER BY k").fetchall()
    batches = dict(rows)
    assert set(committed) <= set(batches)
    assert set(batches.values()) == {40}  # no batch half-written
    assert max(batches) <= max(committed) + 1


@pytest.fixture
def tmpfs(tmp_path, monkeypatch):
    """A small tmpfs as LUMINA_HOME (root can mount here; chmod alone does not stop root)."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()

    def mount(*opts: str) -> None:
        subprocess.run(["mount", *opts], check=True, capture_output=True)

    try:
        mount("-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mnt))
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot mount a tmpfs here: {exc}")
    monkeypatch.setenv("LUMINA_HOME", str(mnt))
    try:
        yield mnt, mount
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _put(n: int, size: int, prefix: str) -> None:
    with connect() as con, transaction(con):
        cache.put_many(con, [(f"{prefix}{i}", "m", {"text": os.urandom(size).hex()}) for i in range(n)])


def _count() -> int:
    with connect() as con:
        return cache.count(con)


def test_a_read_only_data_folder_gives_a_plain_error(tmpfs):
    mnt, mount = tmpfs
    _put(3, 10, "a")
    mount("-o", "remount,ro", str(mnt))
    with pytest.raises(LuminaError) as exc:
        _put(1, 10, "b")
    msg = str(exc.value)
    assert not isinstance(exc.value, StoreCorruptError)
    assert "read-only" in msg and "IO Error" not in msg and "\n" not in msg
    mount("-o", "remount,rw", str(mnt))
    assert _count() == 3


def test_a_full_disk_gives_a_plain_error_and_an_intact_database(tmpfs):
    _put(3, 10, "a")
    with pytest.raises(LuminaError) as exc:
        _put(8, 500_000, "big")  # ~8 MB of completions on a 3 MB disk
    msg = str(exc.value)
    assert "full" in msg and "No space left" not in msg and "\n" not in msg
    assert _count() == 3  # the failed batch left nothing behind; the file opens
    _put(1, 10, "c")
    assert _count() == 4
