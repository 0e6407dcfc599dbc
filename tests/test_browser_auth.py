"""Sign-in end to end: a real `streamlit run` with Streamlit's OIDC login against a real OIDC
provider on loopback (oidc-provider-mock), and the trusted-header mode behind a "proxy" (the
browser sends the header). A viewer cannot decide; a curator cannot change templates; nobody can
act under another reviewer's name."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import pytest

from lumina import access, review
from lumina.io import importers
from lumina.projects import create_project
from lumina.projects.samples import list_for
from tests.helpers import CHROMIUM_ARGS, free_port, start_streamlit, stop

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
ROWS = [("Why is the sky blue?", "Air scatters blue light more than red light."),
        ("What makes bread rise?", "Yeast releases carbon dioxide that inflates the dough.")]


def _project(tmp_path: Path) -> str:
    create_project("team", teacher="transformers:smollm2-135m-instruct", check_reachable=False)
    f = tmp_path / "rows.jsonl"
    f.write_text("\n".join(json.dumps({"instruction": i, "response": r}) for i, r in ROWS) + "\n", encoding="utf-8")
    importers.import_file("team", f)
    access.grant("team", "cora@example.org", "curator")
    access.grant("team", "olga@example.org", "owner")
    return "team"


def _browser(p):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (make test installs it)")
    return p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def _shot(page, tmp_path: Path, name: str) -> None:
    folder = Path(os.environ.get("LUMINA_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def _open_review(page, url: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{url}/review")
    expect(page.get_by_text("Reviewing as").first).to_be_visible(timeout=60_000)


def _statuses() -> dict[str, str]:
    return {s.instruction: s.status for s in list_for("team")}


def test_oidc_login_roles_and_identity(lumina_home, tmp_path):
    pytest.importorskip("oidc_provider_mock")
    from oidc_provider_mock import User, run_server_in_thread
    from playwright.sync_api import expect, sync_playwright

    _project(tmp_path)
    users = [User(sub="viv", claims={"email": "viv@example.org"}), User(sub="cora", claims={"email": "cora@example.org"})]
    port = free_port()
    with run_server_in_thread(user_claims=users) as idp:
        secrets_file = tmp_path / "secrets.toml"
        secrets_file.write_text(
            "[auth]\n"
            f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
            f'cookie_secret = "{secrets.token_hex(16)}"\n'
            'client_id = "lumina"\nclient_secret = "lumina-secret"\n'
            f'server_metadata_url = "http://localhost:{idp.server_port}/.well-known/openid-configuration"\n',
            encoding="utf-8")
        server = start_streamlit(port, env={"LUMINA_HOME": str(lumina_home)},
                                 extra_args=["--server.address", "127.0.0.1", "--secrets.files", str(secrets_file)])
        url = f"http://127.0.0.1:{port}"
        try:
            with sync_playwright() as p:
                browser = _browser(p)
                try:
                    def sign_in(who: str):
                        context = browser.new_context(viewport={"width": 1400, "height": 1000})
                        page = context.new_page()
                        page.goto(url)
                        page.get_by_role("button", name="Sign in").click(timeout=60_000)
                        page.get_by_role("button", name=who).click(timeout=30_000)  # the provider's user list
                        expect(page.get_by_text(f"Signed in as {who}@example.org")).to_be_visible(timeout=60_000)
                        return page

                    viv = sign_in("viv")   # not a member: a viewer by default
                    _open_review(viv, url)
                    expect(viv.get_by_text("Reviewing as viv@example.org")).to_be_visible()
                    expect(viv.get_by_role("textbox", name="Reviewer")).to_have_count(0)  # no name box to type another's
                    viv.get_by_role("button", name="Approve").first.click()
                    expect(viv.get_by_text("viv@example.org is a viewer of 'team'").first).to_be_visible(timeout=30_000)
                    _shot(viv, tmp_path, "auth-viewer-refused")
                    assert set(_statuses().values()) == {"pending"}

                    cora = sign_in("cora")
                    _open_review(cora, url)
                    cora.get_by_role("button", name="Approve").first.click()
                    expect(cora.get_by_text("Approved").first).to_be_visible(timeout=30_000)
                    assert sorted(_statuses().values()) == ["approved", "pending"]
                    events = review.recent("team")
                    assert [e.reviewer for e in events] == ["cora@example.org"]

                    cora.goto(f"{url}/generate")
                    cora.get_by_text("Prompt templates:").click(timeout=60_000)
                    editor = cora.get_by_role("textbox", name="taxonomy/answer")
                    editor.fill("Answer at the {{ difficulty }} level, briefly.")
                    editor.press("Control+Enter")
                    cora.locator("button:enabled", has_text="Save for this project").click(timeout=30_000)
                    expect(cora.get_by_text("cora@example.org is a curator of 'team'").first).to_be_visible(timeout=30_000)
                    _shot(cora, tmp_path, "auth-curator-templates-refused")
                finally:
                    browser.close()
        finally:
            stop(server)


def test_trusted_header_mode(lumina_home, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    _project(tmp_path)
    port = free_port()
    server = start_streamlit(port, env={"LUMINA_HOME": str(lumina_home), "LUMINA_AUTH": "header",
                                        "LUMINA_TRUSTED_HEADER": "X-Forwarded-Email",
                                        "LUMINA_PROXY_SECRET": "s3cret"},
                             extra_args=["--server.address", "127.0.0.1"])
    url = f"http://127.0.0.1:{port}"
    try:
        with sync_playwright() as p:
            browser = _browser(p)
            try:
                # Straight to the port, no proxy: nobody is signed in, nothing shows.
                page = browser.new_page()
                page.goto(f"{url}/review")
                expect(page.get_by_text("did not identify you")).to_be_visible(timeout=60_000)
                expect(page.get_by_role("button", name="Approve")).to_have_count(0)

                # A forged header without the proxy's secret is not believed either.
                forged = browser.new_context(extra_http_headers={"X-Forwarded-Email": "olga@example.org"})
                page = forged.new_page()
                page.goto(f"{url}/review")
                expect(page.get_by_text("did not identify you")).to_be_visible(timeout=60_000)

                viewer = browser.new_context(extra_http_headers={"X-Forwarded-Email": "viv@example.org",
                                                                 "X-Lumina-Proxy-Secret": "s3cret"})
                page = viewer.new_page()
                _open_review(page, url)
                page.get_by_role("button", name="Approve").first.click()
                expect(page.get_by_text("viv@example.org is a viewer of 'team'").first).to_be_visible(timeout=30_000)

                curator = browser.new_context(extra_http_headers={"X-Forwarded-Email": "cora@example.org",
                                                                  "X-Lumina-Proxy-Secret": "s3cret"})
                page = curator.new_page()
                _open_review(page, url)
                page.get_by_role("button", name="Reject").first.click()
                expect(page.get_by_text("Rejected").first).to_be_visible(timeout=30_000)
                _shot(page, tmp_path, "auth-header-curator")
                assert sorted(_statuses().values()) == ["pending", "rejected"]
                assert [e.reviewer for e in review.recent("team")] == ["cora@example.org"]
            finally:
                browser.close()
    finally:
        stop(server)
