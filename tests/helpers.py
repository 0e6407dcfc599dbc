"""Small helpers shared by tests (no fixtures here: see conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path


def lumina(*args: str, env: dict | None = None, timeout: float = 600, check: bool = False) -> subprocess.CompletedProcess:
    """Run the real CLI in a subprocess (the way users and scripts do)."""
    proc = subprocess.run(
        [sys.executable, "-m", "lumina.cli", *args], capture_output=True, text=True,
        env={**os.environ, **(env or {})}, timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"lumina {' '.join(args)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def hold_db_lock(db_path: Path, seconds: float) -> subprocess.Popen:
    """Another process that opens the DuckDB file and keeps it for ``seconds``."""
    code = textwrap.dedent(f"""
        import duckdb, sys, time
        con = duckdb.connect({str(db_path)!r})
        con.execute("CREATE TABLE IF NOT EXISTS _holder (x INT)")
        print("locked", flush=True)
        time.sleep({seconds})
        con.close()
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def wait_for(predicate, timeout: float, interval: float = 0.5, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_streamlit(port: int, env: dict | None = None) -> subprocess.Popen:
    """A real Streamlit server on the app, ready when its health endpoint answers."""
    import urllib.request

    repo = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(repo / "app.py"), "--server.port", str(port),
         "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=repo, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    )

    def healthy():
        if proc.poll() is not None:
            raise AssertionError(f"streamlit exited: {proc.stdout.read().decode()[-2000:]}")
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).status == 200
        except OSError:
            return False

    wait_for(healthy, timeout=60, what="streamlit to start")
    return proc


def stop(proc: subprocess.Popen) -> None:
    import signal

    if proc.poll() is None:
        try:
            os.killpg(os.getpgid(proc.pid), signal.SIGTERM)
            proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(os.getpgid(proc.pid), signal.SIGKILL)


CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
