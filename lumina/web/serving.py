"""How the web app is served: on which address, with which sign-in, refusing unsafe set-ups.

Lumina serves on 127.0.0.1 unless told otherwise. Serving on any other address is for a team
and needs a sign-in, one of:
- ``oidc``: Streamlit's own OpenID Connect login (``st.login``), configured in an ``[auth]``
  section of ``.streamlit/secrets.toml`` (redirect_uri, cookie_secret, client_id, client_secret,
  server_metadata_url);
- ``header``: a reverse proxy that signs users in (oauth2-proxy, Pomerium, an identity-aware
  proxy) and passes the user's e-mail in a header named by ``LUMINA_TRUSTED_HEADER``. Reached
  through anything but loopback, the proxy must also send ``LUMINA_PROXY_SECRET`` in
  ``X-Lumina-Proxy-Secret``, so that a client who reaches the port directly cannot forge the
  header.
``LUMINA_AUTH`` picks one (``oidc``, ``header`` or ``none``); unset, it is ``oidc`` when secrets
have an ``[auth]`` section, ``header`` when LUMINA_TRUSTED_HEADER is set, else ``none``.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from lumina.config import REPO_ROOT, settings
from lumina.errors import InvalidInputError

AUTH_MODES = ("oidc", "header", "none")
PROXY_SECRET_HEADER = "X-Lumina-Proxy-Secret"
_OIDC_KEYS = ("redirect_uri", "cookie_secret")
_PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")


@dataclass(frozen=True)
class AuthConfig:
    mode: str
    header: str | None = None        # header mode: the header holding the user's login
    proxy_secret: str | None = None  # header mode: what the proxy sends in X-Lumina-Proxy-Secret
    provider: str | None = None      # oidc: the [auth.NAME] provider to sign in with, if several


def is_loopback(address: str | None) -> bool:
    """Whether a bind address reaches only this machine (no address: Streamlit binds them all)."""
    if not address:
        return False
    host = address.strip().strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def secrets_files(extra: list[str] | None = None) -> list[Path]:
    """Where Streamlit will look for secrets: the files given (which replace its defaults), else
    its defaults, the later taking precedence."""
    if extra:
        return [Path(p) for p in reversed(extra)]
    return [Path.cwd() / ".streamlit" / "secrets.toml", REPO_ROOT / ".streamlit" / "secrets.toml",
            Path.home() / ".streamlit" / "secrets.toml"]


def oidc_section(files: list[Path]) -> dict | None:
    """The ``[auth]`` section of the first secrets file that has one, checked for completeness."""
    for f in files:
        if not f.is_file():
            continue
        try:
            data = tomllib.loads(f.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise InvalidInputError(f"Cannot read the secrets file {f}: {exc}") from None
        auth = data.get("auth")
        if isinstance(auth, dict):
            return auth
    return None


def check_oidc(auth: dict) -> None:
    missing = [k for k in _OIDC_KEYS if not auth.get(k)]
    providers = [v for v in auth.values() if isinstance(v, dict)] or [auth]
    if not any(all(p.get(k) for k in _PROVIDER_KEYS) for p in providers):
        missing.append("client_id/client_secret/server_metadata_url")
    if missing:
        raise InvalidInputError(f"The [auth] section of the secrets lacks {', '.join(missing)} (see docs/deploying.md).")


def auth_config(has_oidc: bool) -> AuthConfig:
    mode = os.environ.get("LUMINA_AUTH", "").strip().lower()
    header = os.environ.get("LUMINA_TRUSTED_HEADER", "").strip() or None
    if not mode:
        mode = "oidc" if has_oidc else "header" if header else "none"
    if mode not in AUTH_MODES:
        raise InvalidInputError(f"LUMINA_AUTH must be one of {', '.join(AUTH_MODES)} (got '{mode}').")
    if mode == "oidc" and not has_oidc:
        raise InvalidInputError("LUMINA_AUTH=oidc needs an [auth] section in .streamlit/secrets.toml "
                                "(see docs/deploying.md).")
    if mode == "header" and not header:
        raise InvalidInputError("LUMINA_AUTH=header needs LUMINA_TRUSTED_HEADER, the header your proxy "
                                "puts the user's e-mail in (e.g. X-Forwarded-Email).")
    return AuthConfig(mode, header=header, proxy_secret=os.environ.get("LUMINA_PROXY_SECRET") or None,
                      provider=os.environ.get("LUMINA_OIDC_PROVIDER") or None)


def refusal(address: str | None, config: AuthConfig) -> str | None:
    """Why the app must not serve this way, or None when it may."""
    if is_loopback(address):
        return None
    where = address or "every network interface"
    if config.mode == "none":
        return (f"Lumina is served on {where} without a sign-in: anyone who reaches the port could act as "
                "any reviewer. Configure a sign-in (LUMINA_AUTH=oidc or header, see docs/deploying.md) or "
                "serve on 127.0.0.1.")
    if config.mode == "header" and not config.proxy_secret:
        return (f"Lumina trusts the {config.header} header but is served on {where}: a client reaching the "
                "port directly could forge it. Set LUMINA_PROXY_SECRET (sent by the proxy in "
                f"{PROXY_SECRET_HEADER}) or serve on 127.0.0.1 behind the proxy.")
    return None


def header_user(headers: dict[str, str], config: AuthConfig) -> str | None:
    """The login a trusted proxy passed, or None when the request did not come through it."""
    lower = {k.lower(): v for k, v in headers.items()}
    if config.proxy_secret:
        sent = lower.get(PROXY_SECRET_HEADER.lower(), "")
        if not hmac.compare_digest(sent.encode(), config.proxy_secret.encode()):
            return None
    value = (lower.get((config.header or "").lower()) or "").strip()
    return value or None


def streamlit_args(host: str, port: int, secrets: list[str] | None = None) -> list[str]:
    """``streamlit run`` arguments: beyond loopback, visitors see no tracebacks; the server takes
    uploads up to LUMINA_MAX_UPLOAD_MB, the limit the library enforces and the upload boxes show."""
    args = [sys.executable, "-m", "streamlit", "run", str(REPO_ROOT / "app.py"),
            "--server.address", host, "--server.port", str(port),
            "--server.maxUploadSize", str(settings().max_upload_mb)]
    if not is_loopback(host):
        args += ["--client.showErrorDetails", "none"]
    if secrets:
        args += ["--secrets.files", ",".join(secrets)]
    return args


def check_launch(host: str, secrets: list[str] | None = None) -> AuthConfig:
    """Everything ``lumina serve`` checks before it starts the server (InvalidInputError if unsafe)."""
    auth = oidc_section(secrets_files(secrets))
    config = auth_config(auth is not None)
    if config.mode == "oidc":
        check_oidc(auth or {})
    reason = refusal(host, config)
    if reason:
        raise InvalidInputError(reason)
    return config
