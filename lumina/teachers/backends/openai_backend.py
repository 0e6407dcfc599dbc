"""Teacher backend: any OpenAI-compatible chat-completions server (vLLM, llama.cpp, TGI, OpenAI...).

Talks plain HTTP with ``httpx`` (POST ``{base_url}/chat/completions``), so retries, timeouts and
error messages are under our control and no particular ``openai`` client version is needed. The
model name is passed through as the server's served name (it is not resolved locally).

Requests run concurrently on a thread pool. Each retries on connection errors, timeouts, HTTP
429 and 5xx with exponential backoff plus jitter (honouring ``Retry-After``); other HTTP errors
fail that request at once. A request that still fails comes back as ``Completion(text="",
error=...)``. If no request got through at all because the server could not be reached, ``chat``
raises ``TeacherError("Cannot reach the teacher at URL: connection refused")`` instead: that is a
setup problem, not a per-request one. Once a request has used up its retries on connection errors
before the server answered anything, the remaining requests fail fast instead of each waiting out
its own retries.

``params.json_schema`` is sent as
``response_format={"type": "json_schema", "json_schema": {"name": "output", "schema": ..., "strict": True}}``.

Options (keyword arguments):
    concurrency   parallel requests (default 8)
    max_retries   retries after the first attempt (default 3)
    timeout_s     read timeout per attempt, seconds (default 120)
    connect_timeout_s  (default min(10, timeout_s))
    backoff_s     first backoff, doubled per retry, times a jitter in [0.5, 1.5) (default 0.5)
    max_backoff_s cap on one backoff (default 20)
    api_key       default $OPENAI_API_KEY when the host is listed in $LUMINA_API_KEY_HOSTS, else "EMPTY"
    extra_body    dict merged into every request body (e.g. {"top_k": 20} for vLLM)
    headers       extra HTTP headers
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from lumina.errors import TeacherError
from lumina.teachers.options import RemoteOptions
from lumina.teachers.spec import BACKENDS, Backend, parse_url_spec
from lumina.teachers.base import ChatRequest, Completion, GenParams

log = logging.getLogger(__name__)

_KNOWN_OPTIONS = {
    "concurrency", "max_retries", "timeout_s", "connect_timeout_s", "backoff_s", "max_backoff_s",
    "api_key", "extra_body", "headers",
}
_RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
# Servers that are only mostly OpenAI-compatible name these differently (TGI, some proxies).
_FINISH = {"eos": "stop", "eos_token": "stop", "stop_sequence": "stop", "end_turn": "stop",
           "max_tokens": "length", "max_length": "length"}


@dataclass
class _Outcome:
    completion: Completion
    kind: str  # "ok" | "connect" | "timeout" | "http" | "bad_response" | "skipped"
    reason: str = ""


def _connect_reason(e: BaseException) -> str:
    """'connection refused', 'name or service not known', ... from an httpx transport error."""
    text = str(e) or repr(e)
    cause = e.__cause__ or e.__context__
    if not str(e) and cause is not None:
        text = str(cause) or text
    text = text.strip().splitlines()[0] if text.strip() else type(e).__name__
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", text)
    return text[:1].lower() + text[1:]


def _short(s: str, n: int = 300) -> str:
    s = " ".join(str(s).split())
    return s if len(s) <= n else s[: n - 1] + "…"


def _http_error_message(resp: Any) -> str:
    detail = ""
    try:
        body = resp.json()
        err = body.get("error") if isinstance(body, dict) else None
        if isinstance(err, dict):
            detail = err.get("message") or ""
        elif isinstance(err, str):
            detail = err
        elif isinstance(body, dict):
            detail = body.get("message") or body.get("detail") or ""
    except Exception:
        detail = resp.text
    return f"HTTP {resp.status_code}" + (f": {_short(detail)}" if detail else "")


_KEY_HINT = (" (OPENAI_API_KEY is set but is not sent to this host: list it in LUMINA_API_KEY_HOSTS "
             "if the key belongs to it)")


def request_body(model: str, messages: list[dict[str, str]], params: GenParams) -> dict[str, Any]:
    """The chat-completions JSON body for one request."""
    body: dict[str, Any] = {
        "model": model,
        "messages": list(messages),
        "max_tokens": params.max_tokens,
        "temperature": params.temperature,
        "top_p": params.top_p,
    }
    if params.seed is not None:
        body["seed"] = params.seed
    if params.stop:
        body["stop"] = list(params.stop)
    if params.json_schema is not None:
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "output", "schema": params.json_schema, "strict": True},
        }
    return body


class OpenAITeacher:
    """Chat completions over HTTP against an OpenAI-compatible server."""

    backend = "openai"

    def __init__(self, model: str, base_url: str, **options: Any) -> None:
        unknown = set(options) - _KNOWN_OPTIONS - {"progress"}
        if unknown:
            log.warning("openai teacher: ignoring unknown options %s", sorted(unknown))
        if not base_url or not str(base_url).startswith(("http://", "https://")):
            raise TeacherError(f"The OpenAI teacher needs a base URL like http://HOST:PORT/v1 (got '{base_url}').")
        self.model = model
        self.base_url = str(base_url).rstrip("/")
        self.concurrency = max(1, int(options.get("concurrency", 8)))
        self.max_retries = max(0, int(options.get("max_retries", 3)))
        self.timeout_s = float(options.get("timeout_s", 120))
        self.connect_timeout_s = float(options.get("connect_timeout_s", min(10.0, self.timeout_s)))
        self.backoff_s = float(options.get("backoff_s", 0.5))
        self.max_backoff_s = float(options.get("max_backoff_s", 20))
        from lumina import access

        # The server's key goes only to hosts the operator listed, never to any URL typed in.
        self.api_key = options.get("api_key") or access.api_key_for(self.base_url) or "EMPTY"
        self._key_withheld = not options.get("api_key") and access.key_withheld(self.base_url)
        self.extra_body = dict(options.get("extra_body") or {})
        self.headers = dict(options.get("headers") or {})
        self._client: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OpenAITeacher({self.model!r}, base_url={self.base_url!r})"

    # -- lifecycle -------------------------------------------------------------------------

    def _http(self) -> Any:
        with self._lock:
            if self._client is None:
                import httpx

                self._client = httpx.Client(
                    timeout=httpx.Timeout(self.timeout_s, connect=self.connect_timeout_s),
                    limits=httpx.Limits(max_connections=self.concurrency,
                                        max_keepalive_connections=self.concurrency),
                    headers={"Authorization": f"Bearer {self.api_key}", **self.headers},
                    trust_env=False,  # a local server must not be sent through a proxy
                )
            return self._client

    def load(self) -> "OpenAITeacher":
        """Nothing to load; checks that the server answers (raises TeacherError if not)."""
        self.ping()
        return self

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def __enter__(self) -> "OpenAITeacher":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def ping(self) -> float:
        """Round-trip seconds of ``GET {base_url}/models``; TeacherError if unreachable or refused."""
        import httpx

        t0 = time.monotonic()
        try:
            resp = self._http().get(f"{self.base_url}/models",
                                    timeout=httpx.Timeout(min(self.timeout_s, 10.0),
                                                          connect=self.connect_timeout_s))
        except httpx.TimeoutException as e:
            raise TeacherError(f"Cannot reach the teacher at {self.base_url}: timed out ({type(e).__name__})") from e
        except httpx.TransportError as e:
            raise TeacherError(f"Cannot reach the teacher at {self.base_url}: {_connect_reason(e)}") from e
        if resp.status_code >= 400:
            hint = _KEY_HINT if resp.status_code in (401, 403) and self._key_withheld else ""
            raise TeacherError(f"The teacher at {self.base_url} answered {_http_error_message(resp)}{hint}")
        return time.monotonic() - t0

    test_connection = ping

    def list_models(self) -> list[str]:
        """Served model names from ``GET {base_url}/models`` (TeacherError if unreachable)."""
        self.ping()
        resp = self._http().get(f"{self.base_url}/models")
        try:
            return [m["id"] for m in resp.json().get("data", [])]
        except Exception as e:
            raise TeacherError(f"The teacher at {self.base_url} sent an unexpected /models answer.") from e

    # -- generation ------------------------------------------------------------------------

    def chat(self, requests: list[ChatRequest]) -> list[Completion]:
        if not requests:
            return []
        self._http()
        state = {"reachable": False, "unreachable": None}
        state_lock = threading.Lock()

        def run(r: ChatRequest) -> _Outcome:
            return self._one(r, state, state_lock)

        workers = min(self.concurrency, len(requests))
        if workers == 1:
            outcomes = [run(r) for r in requests]
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lumina-openai") as pool:
                outcomes = list(pool.map(run, requests))
        if all(o.kind in ("connect", "skipped") for o in outcomes):
            reason = next((o.reason for o in outcomes if o.kind == "connect"), "connection failed")
            raise TeacherError(f"Cannot reach the teacher at {self.base_url}: {reason}")
        return [o.completion for o in outcomes]

    def _sleep(self, attempt: int, retry_after: float | None = None) -> None:
        delay = min(self.max_backoff_s, self.backoff_s * (2 ** attempt)) * (0.5 + random.random())
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.max_backoff_s))
        time.sleep(delay)

    def _one(self, req: ChatRequest, state: dict[str, Any], state_lock: threading.Lock) -> _Outcome:
        import httpx

        client = self._http()
        url = f"{self.base_url}/chat/completions"
        body = request_body(self.model, req.messages, req.params)
        body.update(self.extra_body)
        last_kind, last_reason = "connect", ""
        retry_after: float | None = None
        t0 = time.monotonic()
        for attempt in range(self.max_retries + 1):
            with state_lock:
                unreachable = state["unreachable"] if not state["reachable"] else None
            if unreachable is not None:
                return _Outcome(Completion(text="", error=f"Cannot reach the teacher at {self.base_url}: {unreachable}"),
                                "skipped", unreachable)
            if attempt:
                self._sleep(attempt - 1, retry_after)
            retry_after = None
            try:
                resp = client.post(url, json=body)
            except httpx.ConnectTimeout:
                last_kind, last_reason = "connect", f"connect timed out after {self.connect_timeout_s:g} s"
                continue
            except httpx.TimeoutException as e:  # connected, then no answer in time
                self._mark_reachable(state, state_lock)
                last_kind, last_reason = "timeout", f"timed out after {self.timeout_s:g} s ({type(e).__name__})"
                continue
            except (httpx.ConnectError, httpx.UnsupportedProtocol, httpx.ProxyError) as e:
                last_kind, last_reason = "connect", _connect_reason(e)
                if isinstance(e, httpx.UnsupportedProtocol):
                    break
                continue
            except httpx.TransportError as e:  # server hung up mid-answer, protocol errors
                last_kind, last_reason = "http", f"transport error: {_connect_reason(e)}"
                continue
            self._mark_reachable(state, state_lock)  # any HTTP answer: the server is there
            if resp.status_code in _RETRY_STATUS or resp.status_code >= 500:
                last_kind, last_reason = "http", _http_error_message(resp)
                try:
                    retry_after = float(resp.headers.get("retry-after", ""))
                except ValueError:
                    retry_after = None
                continue
            if resp.status_code >= 400:
                hint = _KEY_HINT if resp.status_code in (401, 403) and self._key_withheld else ""
                return self._failed("http", _http_error_message(resp) + hint, attempt, t0, state, state_lock)
            return self._parse(resp, attempt, t0)
        if last_kind == "timeout":
            last_reason = f"request {last_reason}"
        return self._failed(last_kind, last_reason, self.max_retries, t0, state, state_lock)

    @staticmethod
    def _mark_reachable(state: dict[str, Any], state_lock: threading.Lock) -> None:
        with state_lock:
            state["reachable"] = True

    def _failed(self, kind: str, reason: str, attempt: int, t0: float,
                state: dict[str, Any], state_lock: threading.Lock) -> _Outcome:
        if kind == "connect":
            with state_lock:
                if not state["reachable"] and state["unreachable"] is None:
                    state["unreachable"] = reason
            msg = f"Cannot reach the teacher at {self.base_url}: {reason}"
        else:
            msg = reason
        tries = attempt + 1
        return _Outcome(Completion(text="", error=f"{msg} (after {tries} attempt{'s' if tries > 1 else ''})",
                                   extra={"attempts": tries, "latency_s": round(time.monotonic() - t0, 3)}),
                        kind, reason)

    def _parse(self, resp: Any, attempt: int, t0: float) -> _Outcome:
        extra = {"attempts": attempt + 1, "latency_s": round(time.monotonic() - t0, 3)}
        try:
            data = resp.json()
            choice = data["choices"][0]
            msg = choice.get("message") or {}
            text = msg.get("content")
            usage = data.get("usage") or {}
        except Exception:
            return _Outcome(Completion(text="", error=f"Unexpected answer from the teacher: {_short(resp.text, 200)}",
                                       extra=extra), "bad_response")
        error = None
        if text is None:
            text = ""
            if msg.get("refusal"):
                error = f"refused: {_short(msg['refusal'])}"
        finish = choice.get("finish_reason")
        finish = _FINISH.get(finish, finish)
        if data.get("model"):
            extra["served_model"] = data["model"]
        return _Outcome(Completion(
            text=text,
            finish_reason=finish,
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            error=error,
            extra=extra,
        ), "ok")


def _parse(backend: str, spec: str, rest: str):
    return parse_url_spec(backend, spec, rest, what="OpenAI teacher spec")


def build(spec, **options: Any) -> OpenAITeacher:
    return OpenAITeacher(spec.model, base_url=spec.base_url, **options)


BACKENDS.register(Backend(
    "openai", factory=f"{__name__}:build", position=30, remote=True, options=RemoteOptions, parse=_parse,
    help="any OpenAI-compatible server (vLLM serve, llama.cpp, an API): openai:http://HOST:PORT/v1#MODEL"))
