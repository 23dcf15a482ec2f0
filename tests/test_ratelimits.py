"""Rate limits per client address: a clear 429 page with Retry-After, in the
user's language, and counters shared by several app servers through Redis."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests import pages
from tests.servers import free_port

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.mark.settings(RATELIMIT_WIZARD="3 per minute")
def test_fourth_post_in_a_minute_gets_a_429_page(app, client):
    """Over the limit, the wizard answers 429 with Retry-After and a page saying to wait."""
    for _ in range(3):
        assert pages.submit(client, client.get("/password-reset"), "/password-reset", username="x").status_code == 200

    page = pages.submit(client, client.get("/password-reset"), "/password-reset", username="x")

    assert page.status_code == 429
    assert int(page.headers["Retry-After"]) > 0
    assert "Too many attempts" in page.get_data(as_text=True)


@pytest.mark.settings(RATELIMIT_WIZARD="1 per minute")
def test_limit_page_speaks_the_users_language(app, client):
    """The 429 page is in Danish for a Danish browser."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "da"
    pages.submit(client, client.get("/password-reset"), "/password-reset", username="x")

    page = pages.submit(client, client.get("/password-reset"), "/password-reset", username="x")

    assert page.status_code == 429
    assert '<html lang="da">' in page.get_data(as_text=True)


@pytest.mark.settings(RATELIMIT_SIGNIN="2 per minute")
def test_each_address_has_its_own_count(app):
    """Another client address is not held back by the first one's posts."""
    first, second = app.test_client(), app.test_client()
    first.environ_base["REMOTE_ADDR"] = "127.0.0.2"
    second.environ_base["REMOTE_ADDR"] = "127.0.0.3"
    for _ in range(3):
        pages.sign_in(first, "nobody", "wrong password here")

    page = pages.sign_in(second, "nobody", "wrong password here")

    assert page.status_code == 400


def sign_in_from(app, forwarded_for):
    client = app.test_client()
    client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return pages.sign_in(client, "nobody", "wrong password here")


@pytest.mark.settings(TRUSTED_PROXIES=1, RATELIMIT_SIGNIN="2 per minute")
def test_behind_a_trusted_proxy_each_forwarded_address_counts(app):
    """With SSPR_TRUSTED_PROXIES=1, each X-Forwarded-For address has its own count."""
    for _ in range(3):
        sign_in_from(app, "198.51.100.1")

    page = sign_in_from(app, "198.51.100.2")

    assert page.status_code == 400


@pytest.mark.settings(RATELIMIT_SIGNIN="2 per minute")
def test_without_a_proxy_a_made_up_forwarded_address_changes_nothing(app):
    """By default X-Forwarded-For is ignored: a client cannot dodge the limit by making one up."""
    for _ in range(3):
        sign_in_from(app, "198.51.100.1")

    page = sign_in_from(app, "198.51.100.2")

    assert page.status_code == 429


def start_server(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    command = [gunicorn, "--bind", f"127.0.0.1:{port}", "--workers", "1", "--no-control-socket", "sspr:create_app()"]
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603


def wait_ready(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.2)
    raise AssertionError(f"server on {port} did not start")


@pytest.fixture
def two_servers(tmp_path, request):
    """Two gunicorn processes on one database, sharing the rate-limit storage given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSPR_")}
    env.update(
        {
            "SSPR_SECRET_KEY": secrets.token_hex(32),
            "SSPR_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "SSPR_OUTBOX_DIR": str(tmp_path / "outbox"),
            "SSPR_RATELIMIT_WIZARD": "3 per minute",
            "SSPR_RATELIMIT_STORAGE_URL": request.param,
            "SSPR_SENDER_THREAD": "false",
            "SSPR_RATELIMIT_KEY_PREFIX": "sspr-test-" + secrets.token_hex(4),
            "SSPR_ARGON2_PROFILE": "CHEAPEST",
            "SSPR_TESTING": "true",
        }
    )
    ports = [free_port(), free_port()]
    procs = [start_server(env, port, tmp_path / f"server-{port}.log") for port in ports]
    try:
        for port in ports:
            wait_ready(port)
        yield ports
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)


def post_start(session: requests.Session, port: int) -> int:
    """Open the wizard on this server and post a user name; the status."""
    form = session.get(f"http://127.0.0.1:{port}/password-reset", timeout=5).text
    token = form.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    return session.post(
        f"http://127.0.0.1:{port}/password-reset", data={"csrf_token": token, "username": "x"}, timeout=5
    ).status_code


@pytest.mark.parametrize("two_servers", [REDIS_URL], indirect=True)
def test_redis_shares_the_count_between_servers(two_servers):
    """Three posts on one server use up the limit on the other as well."""
    first, second = two_servers
    session = requests.Session()
    statuses = [post_start(session, first) for _ in range(3)]

    status = post_start(session, second)

    assert statuses == [200, 200, 200]
    assert status == 429


@pytest.mark.parametrize("two_servers", ["memory://"], indirect=True)
def test_memory_storage_keeps_a_count_per_server(two_servers):
    """The control: with memory:// each server counts on its own (hence Redis for several servers)."""
    first, second = two_servers
    session = requests.Session()
    for _ in range(3):
        post_start(session, first)

    status = post_start(session, second)

    assert status == 200
