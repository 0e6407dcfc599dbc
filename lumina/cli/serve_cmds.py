"""lumina serve: start the web app, refusing set-ups that would expose it without a sign-in."""

from __future__ import annotations

import os

import typer

from lumina.cli.common import err


def serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on; anything but loopback needs a sign-in "
                                              "(LUMINA_AUTH, docs/deploying.md)"),
    port: int = typer.Option(8501, min=1, max=65535, help="port to listen on"),
    secrets: list[str] = typer.Option([], "--secrets", help="secrets.toml with the [auth] section "
                                                             "(default: Streamlit's own places)"),
    check: bool = typer.Option(False, "--check", help="only check the set-up, do not start"),
) -> None:
    """Serve the app (streamlit run app.py) on HOST:PORT."""
    from lumina.web import serving

    config = serving.check_launch(host, secrets or None)
    where = "this machine only" if serving.is_loopback(host) else f"the network, sign-in: {config.mode}"
    err(f"==> Lumina on http://{host}:{port} ({where}); data in {os.environ.get('LUMINA_HOME', 'data')}")
    if check:
        return
    args = serving.streamlit_args(host, port, secrets or None)
    os.execv(args[0], args)
