"""Small helpers shared by tests (no fixtures here: see conftest.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, NamedTuple


class CliResult(NamedTuple):
    """What one ``lumina`` invocation left: its exit status and its two output streams. The
    ``returncode`` / ``stdout`` / ``stderr`` aliases let a check take either this or a
    ``subprocess.CompletedProcess``."""
    code: int
    out: str
    err: str

    @property
    def returncode(self) -> int:
        return self.code

    @property
    def stdout(self) -> str:
        return self.out

    @property
    def stderr(self) -> str:
        return self.err


def run_cli(*args: str | Path, env: dict | None = None, input: str | None = None,
            check: bool = False) -> CliResult:
    """``lumina ARGS`` in this process: ``lumina.cli.main`` itself (the entry point's own mapping of
    errors to exit codes and one-line messages), with Typer's ``CliRunner`` isolating stdin, stdout,
    stderr and the environment overrides in ``env`` for the call. Far cheaper than :func:`lumina`,
    which pays a fresh interpreter's imports (seconds per call); keep that one for what only a
    real process shows (the exit status the OS sees, no traceback on a real stderr).

    An exception ``main`` lets escape is raised here, so the test fails with its traceback (a real
    process would print it and exit 1)."""
    from typer.testing import CliRunner

    from lumina import access
    from lumina.cli import main

    argv = [str(a) for a in args]
    resolver, access._resolver = access._resolver, None  # a fresh process has no web app's resolver
    try:
        with CliRunner().isolation(input=input, env=env) as (out, err, _):
            try:
                main(argv)
                raise AssertionError(f"lumina {' '.join(argv)}: main() returned instead of exiting")
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                if not isinstance(exc.code, (int, type(None))):
                    print(exc.code, file=sys.stderr)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
            result = CliResult(code, out.getvalue().decode("utf-8", "replace"),
                               err.getvalue().decode("utf-8", "replace"))
    finally:
        access._resolver = resolver
    if check and result.code != 0:
        raise AssertionError(f"lumina {' '.join(argv)} -> {result.code}\n{result.out}\n{result.err}")
    return result


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


def start_streamlit(port: int, env: dict | None = None, extra_args: list[str] | None = None) -> subprocess.Popen:
    """A real Streamlit server on the app, ready when its health endpoint answers."""
    import urllib.request

    repo = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(repo / "app.py"), "--server.port", str(port),
         "--server.headless", "true", "--browser.gatherUsageStats", "false", *(extra_args or [])],
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


# -- a scripted OpenAI-compatible server, for fault injection -----------------------------
def completion_json(text: str, finish: str = "stop") -> dict:
    return {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "fake",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                     "finish_reason": finish}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14},
    }


# -- a scripted HTTP server ----------------------------------------------------------------

Script = Callable[[int, dict], tuple[int, dict, float]]  # (call no., body) -> (status, json, delay)


@contextmanager
def scripted_server(script: Script):
    """Serve POST /v1/chat/completions and GET /v1/models from ``script`` in a thread."""
    calls: list[dict] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep pytest output clean
            pass

        def _send(self, status: int, payload: dict, headers: dict | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def do_GET(self):
            if self.path.endswith("/models"):
                self._send(200, {"object": "list", "data": [{"id": "fake", "object": "model"}]})
            else:
                self._send(404, {"error": {"message": "not found"}})

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            with lock:
                calls.append({"path": self.path, "body": body,
                              "auth": self.headers.get("Authorization")})
                n = len(calls)
            status, payload, delay = script(n, body)
            if delay:
                time.sleep(delay)
            self._send(status, payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", calls
    finally:
        server.shutdown()
        server.server_close()




# -- a real PDF file with text, written by hand (no PDF library needed) ----------------------
def write_pdf(path: Path, pages: list[str]) -> Path:
    """A valid PDF whose pages hold ``pages`` as Helvetica text, one line per text line."""
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    page_ids = []
    pages_id = len(objects) + 2 * len(pages) + 1
    for text in pages:
        lines = [ln.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") for ln in text.splitlines()]
        ops = "BT /F1 11 Tf 14 TL 50 780 Td " + " ".join(f"({ln}) Tj T*" for ln in lines) + " ET"
        stream = ops.encode("latin-1")
        content = add(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        page_ids.append(add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 842] /Contents %d 0 R"
                            b" /Resources << /Font << /F1 %d 0 R >> >> >>" % (pages_id, content, font)))
    kids = " ".join(f"{i} 0 R" for i in page_ids).encode()
    assert add(b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % len(page_ids)) == pages_id
    catalog = add(b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id)
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, catalog, xref)
    path.write_bytes(bytes(out))
    return path
