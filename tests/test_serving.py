"""Serving: loopback by default; another address refuses to run without a sign-in; visitors get
no tracebacks; the trusted header counts only with the proxy's secret."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lumina.web import serving
from lumina.errors import InvalidInputError
from tests.helpers import lumina

REPO_APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture(autouse=True)
def no_auth_env(monkeypatch):
    for var in ("LUMINA_AUTH", "LUMINA_TRUSTED_HEADER", "LUMINA_PROXY_SECRET", "LUMINA_OIDC_PROVIDER"):
        monkeypatch.delenv(var, raising=False)


@pytest.mark.parametrize("address,loopback", [
    ("127.0.0.1", True), ("localhost", True), ("::1", True), ("[::1]", True), ("127.8.9.1", True),
    ("0.0.0.0", False), ("::", False), ("", False), (None, False), ("10.1.2.3", False), ("lumina.example", False),
])
def test_loopback(address, loopback):
    assert serving.is_loopback(address) is loopback


def test_refusals(monkeypatch):
    none = serving.auth_config(has_oidc=False)
    assert none.mode == "none"
    assert serving.refusal("127.0.0.1", none) is None
    assert "without a sign-in" in serving.refusal("0.0.0.0", none)
    assert "every network interface" in serving.refusal(None, none)
    assert serving.refusal("0.0.0.0", serving.auth_config(has_oidc=True)) is None
    monkeypatch.setenv("LUMINA_TRUSTED_HEADER", "X-Forwarded-Email")
    header = serving.auth_config(has_oidc=False)
    assert header.mode == "header"
    assert "forge" in serving.refusal("0.0.0.0", header)
    monkeypatch.setenv("LUMINA_PROXY_SECRET", "s")
    assert serving.refusal("0.0.0.0", serving.auth_config(has_oidc=False)) is None
    monkeypatch.setenv("LUMINA_AUTH", "oidc")
    with pytest.raises(InvalidInputError, match=r"\[auth\] section"):
        serving.auth_config(has_oidc=False)
    monkeypatch.setenv("LUMINA_AUTH", "magic")
    with pytest.raises(InvalidInputError, match="LUMINA_AUTH must be one of"):
        serving.auth_config(has_oidc=False)


def test_header_user_needs_the_proxy_secret():
    cfg = serving.AuthConfig("header", header="X-Forwarded-Email", proxy_secret="s3cret")
    assert serving.header_user({"x-forwarded-email": "a@b.c"}, cfg) is None
    assert serving.header_user({"X-Forwarded-Email": "a@b.c", "X-Lumina-Proxy-Secret": "wrong"}, cfg) is None
    assert serving.header_user({"X-Forwarded-Email": " a@b.c ", "X-Lumina-Proxy-Secret": "s3cret"}, cfg) == "a@b.c"
    open_cfg = serving.AuthConfig("header", header="X-Forwarded-Email")
    assert serving.header_user({"X-Forwarded-Email": "a@b.c"}, open_cfg) == "a@b.c"
    assert serving.header_user({}, open_cfg) is None


def test_streamlit_args_hide_tracebacks_beyond_loopback():
    assert "--client.showErrorDetails" not in serving.streamlit_args("127.0.0.1", 8501)
    args = serving.streamlit_args("0.0.0.0", 8501)
    assert args[args.index("--client.showErrorDetails") + 1] == "none"
    assert args[args.index("--server.address") + 1] == "0.0.0.0"


def test_oidc_secrets_are_checked(tmp_path):
    f = tmp_path / "secrets.toml"
    f.write_text('[auth]\nredirect_uri = "http://x/oauth2callback"\ncookie_secret = "c"\n', encoding="utf-8")
    with pytest.raises(InvalidInputError, match="client_id/client_secret/server_metadata_url"):
        serving.check_launch("0.0.0.0", [str(f)])
    f.write_text('[auth]\nredirect_uri = "http://x/oauth2callback"\ncookie_secret = "c"\n'
                 '[auth.google]\nclient_id = "i"\nclient_secret = "s"\nserver_metadata_url = "https://x/.well-known"\n',
                 encoding="utf-8")
    assert serving.check_launch("0.0.0.0", [str(f)]).mode == "oidc"
    f.write_bytes(b"\xff\xfe not toml")
    with pytest.raises(InvalidInputError, match="Cannot read the secrets file"):
        serving.check_launch("0.0.0.0", [str(f)])


def test_lumina_serve_refuses_an_open_address_without_sign_in():
    r = lumina("serve", "--host", "0.0.0.0", "--check")
    assert r.returncode == 2, r.stderr
    assert "without a sign-in" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    ok = lumina("serve", "--check")
    assert ok.returncode == 0 and "this machine only" in ok.stderr


def test_the_app_refuses_to_run_beyond_loopback_without_sign_in(monkeypatch):
    from pages import _frame

    monkeypatch.setattr(_frame, "_served_on", lambda: "0.0.0.0")
    at = AppTest.from_file(REPO_APP, default_timeout=60).run()
    assert any("without a sign-in" in e.value for e in at.error)
    assert not at.selectbox  # nothing else rendered: no project picker, no page


def test_header_mode_without_the_header_shows_nothing(monkeypatch):
    monkeypatch.setenv("LUMINA_AUTH", "header")
    monkeypatch.setenv("LUMINA_TRUSTED_HEADER", "X-Forwarded-Email")
    at = AppTest.from_file(REPO_APP, default_timeout=60).run()
    assert any("did not identify you" in e.value for e in at.error)
