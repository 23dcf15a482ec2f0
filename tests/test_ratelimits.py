"""Rate limits per client address and per target account (the user name typed,
the signed-in user): a clear 429 page with Retry-After, in the user's language,
and counters shared by several app servers through Redis."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import limits
import pytest
import requests
from limits.strategies import FixedWindowRateLimiter

from sspr.ratelimits import MemoryCounters
from tests import pages
from tests.conftest import PASSWORD
from tests.servers import free_port

REDIS_URL = "redis://127.0.0.1:6379/15"
WRONG = "wrong password here"


@pytest.mark.settings(RATELIMIT_WIZARD="3 per minute")
def test_fourth_post_in_a_minute_gets_a_429_page(app, client):
    """Over the limit, the wizard answers 429 with Retry-After and a page saying to wait."""
    for _ in range(3):
        assert pages.submit(client, client.get("/password-reset"), "/password-reset", username="x").status_code == 303

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


@pytest.mark.settings(RATELIMIT_WIZARD="2 per minute;5 per hour", RATELIMIT_HEADERS_ENABLED=True)
def test_headers_when_asked_tell_the_tightest_limit(app, client):
    """With SSPR_RATELIMIT_HEADERS_ENABLED a counted post says how many are left of
    the limit nearest its end, and when it starts afresh; a page, counted by nothing, says nothing."""
    form = client.get("/password-reset")
    first = pages.submit(client, form, "/password-reset", username="x")
    second = pages.submit(client, client.get("/password-reset"), "/password-reset", username="x")

    assert "X-RateLimit-Limit" not in form.headers
    assert [(r.headers["X-RateLimit-Limit"], r.headers["X-RateLimit-Remaining"]) for r in (first, second)] == [
        ("2", "1"),
        ("2", "0"),
    ]
    assert 0 < int(first.headers["X-RateLimit-Reset"]) - time.time() <= 61


def test_headers_are_off_by_default(app, client):
    posted = pages.submit(client, client.get("/password-reset"), "/password-reset", username="x")

    assert posted.status_code == 303
    assert not [name for name, _ in posted.headers.items() if name.startswith("X-RateLimit")]


def test_memory_counters_start_no_thread_and_sweep_expired_counters(time_machine):
    """The in-process counters count and expire as limits' own, but sweep expired
    counters from a count now and then instead of from a timer thread started anew
    every 10 ms (the name-mangled hook this relies on is still called: else no sweep)."""
    time_machine.move_to("2026-11-26 08:00:00", tick=False)
    counters = MemoryCounters()
    window = FixedWindowRateLimiter(counters)
    two_a_minute = limits.parse("2 per minute")
    counters.timer.join()  # the one-shot timer limits starts at creation
    first_timer = counters.timer

    hits = []
    for name in ("a", "a", "a", "b"):
        hits.append(window.hit(two_a_minute, name))
        time.sleep(0.02)  # past the 10 ms after which limits would start another timer
    time_machine.shift(61)
    again = window.hit(two_a_minute, "a")
    counters.next_sweep = 0  # a sweep is due
    window.hit(two_a_minute, "c")

    assert hits == [True, True, False, True]
    assert again is True
    assert counters.timer is first_timer
    assert sorted(counters.storage) == sorted(two_a_minute.key_for(n) for n in ("a", "c"))


# Nothing listens on port 1: every use of this storage fails at once.
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


@pytest.mark.settings(RATELIMIT_STORAGE_URL=UNREACHABLE_REDIS, RATELIMIT_WIZARD="2 per minute")
def test_without_its_storage_a_counted_post_fails_and_changes_nothing(app, client, caplog):
    """Redis down and no fallback: the post gets the error page, its view does not run
    (no name kept for the method page), and pages still open."""
    page = pages.submit(client, client.get("/password-reset"), "/password-reset", username="x")

    assert page.status_code == 500
    assert "Nothing was changed" in page.get_data(as_text=True)
    assert client.get("/password-reset/method").headers["Location"] == "/password-reset"
    assert client.get("/password-reset").status_code == 200


@pytest.mark.settings(
    RATELIMIT_STORAGE_URL=UNREACHABLE_REDIS, RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True, RATELIMIT_WIZARD="2 per minute"
)
def test_without_its_storage_the_fallback_counts_in_memory(app, client, caplog):
    """With SSPR_RATELIMIT_IN_MEMORY_FALLBACK_ENABLED the limit still holds, counted in
    the process, and the log says so once for the while it lasts."""
    statuses = [
        pages.submit(client, client.get("/password-reset"), "/password-reset", username="x").status_code
        for _ in range(3)
    ]

    assert statuses == [303, 303, 429]
    assert len([r for r in caplog.records if "rate-limit storage unreachable" in r.getMessage()]) == 1


# Per target account: the user name typed, or the signed-in user, from any address.


def client_at(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def start_from(app, address, username):
    client = client_at(app, address)
    return pages.submit(client, client.get("/password-reset"), "/password-reset", username=username)


@pytest.mark.settings(RATELIMIT_WIZARD="1 per minute")
def test_opening_pages_uses_no_limit(app, client):
    """Only posts count: opening the wizard's pages again and again leaves the post its
    turn, and the next post is over the limit."""
    statuses = {client.get("/password-reset").status_code for _ in range(5)}

    posted = pages.submit(client, client.get("/password-reset"), "/password-reset", username="x")
    method_pages = {client.get("/password-reset/method").status_code for _ in range(5)}
    again = pages.submit(client, client.get("/password-reset"), "/password-reset", username="x")

    assert statuses == method_pages == {200}
    assert (posted.status_code, again.status_code) == (303, 429)


@pytest.fixture(params=["known", "unknown"])
def target(request, make_user):
    """A user name to aim at: one that exists, or one that does not."""
    if request.param == "known":
        make_user("alice")
        return "alice"
    return "nobody-here"


@pytest.mark.settings(RATELIMIT_WIZARD_PER_ACCOUNT="3 per hour")
def test_wizard_limit_per_account_holds_across_addresses(app, target):
    """Three starts for one name from three addresses use up its limit: a fourth
    address gets the 429 page, known name or not, while another name goes on."""
    statuses = [start_from(app, f"127.0.1.{n}", target).status_code for n in range(3)]

    page = start_from(app, "127.0.1.9", target)
    other = start_from(app, "127.0.1.9", "someone-else")

    assert statuses == [303, 303, 303]
    assert page.status_code == 429
    assert int(page.headers["Retry-After"]) > 0
    assert "Too many attempts" in page.get_data(as_text=True)
    assert other.status_code == 303


@pytest.mark.settings(RATELIMIT_WIZARD_PER_ACCOUNT="3 per hour")
def test_per_account_count_ignores_how_the_name_is_typed(app):
    """ "alice", " ALICE" and "alice" typed with a full-width A are one name, and share one count."""
    for n, typed in enumerate(["alice", " ALICE", "\uff21lice"]):
        start_from(app, f"127.0.2.{n}", typed)

    page = start_from(app, "127.0.2.9", "Alice")

    assert page.status_code == 429


@pytest.mark.settings(RATELIMIT_SIGNIN_PER_ACCOUNT="3 per hour")
def test_signin_limit_per_account_holds_across_addresses(app, target):
    """Three sign-ins for one name from three addresses use up its limit: a fourth
    address gets the 429 page, known name or not."""
    statuses = [pages.sign_in(client_at(app, f"127.0.3.{n}"), target, WRONG).status_code for n in range(3)]

    page = pages.sign_in(client_at(app, "127.0.3.9"), target, WRONG)

    assert statuses == [400, 400, 400]
    assert page.status_code == 429
    assert int(page.headers["Retry-After"]) > 0


@pytest.mark.settings(RATELIMIT_ACCOUNT_PER_USER="2 per hour")
def test_account_limit_per_user_holds_across_addresses(app, make_user):
    """A signed-in user's posts to /account count together whatever address they come
    from; another user's posts from the same addresses do not."""
    make_user("alice")
    make_user("bob")
    alice, bob = app.test_client(), app.test_client()
    pages.sign_in(alice, "alice", PASSWORD)
    pages.sign_in(bob, "bob", PASSWORD)
    statuses = []
    for n in range(3):
        alice.environ_base["REMOTE_ADDR"] = f"127.0.4.{n}"
        statuses.append(pages.submit(alice, alice.get("/account"), "/account/details-still-right").status_code)

    bobs = pages.submit(bob, bob.get("/account"), "/account/details-still-right")

    assert statuses == [302, 302, 429]
    assert bobs.status_code == 302


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
    """Two gunicorn processes on one database, sharing the rate-limit storage given;
    @pytest.mark.settings(...) adds config, as SSPR_* variables."""
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
    for marker in request.node.iter_markers("settings"):
        env.update({f"SSPR_{key}": str(value) for key, value in marker.kwargs.items()})
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


def post_start(session: requests.Session, port: int, username: str = "x", forwarded_for: str | None = None) -> int:
    """Open the wizard on this server and post a user name (from this address, behind a
    trusted proxy); the status."""
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    form = session.get(f"http://127.0.0.1:{port}/password-reset", timeout=5).text
    token = form.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    return session.post(
        f"http://127.0.0.1:{port}/password-reset",
        data={"csrf_token": token, "username": username},
        headers=headers,
        timeout=5,
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


@pytest.mark.settings(TRUSTED_PROXIES=1, RATELIMIT_WIZARD_PER_ACCOUNT="2 per minute")
@pytest.mark.parametrize("two_servers", [REDIS_URL], indirect=True)
def test_redis_shares_the_per_account_count_between_servers(two_servers):
    """Two starts for one name, from two addresses on two servers, use up its limit:
    a third address on the first server is refused (each server alone has seen one or two)."""
    first, second = two_servers
    statuses = [
        post_start(requests.Session(), first, "victim", "198.51.100.1"),
        post_start(requests.Session(), second, "victim", "198.51.100.2"),
    ]

    status = post_start(requests.Session(), first, "victim", "198.51.100.3")

    assert statuses == [200, 200]
    assert status == 429
