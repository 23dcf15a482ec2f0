"""Fixtures for the tests in a real browser: sspr served over HTTP from a thread
(werkzeug, on SQLite, mail and SMS through the real SMTP and Twilio test
servers), Debian's Chromium driven by Playwright, and a fresh page per test at
a desktop or phone size, in English or Danish.

A test gets both languages by taking ``page`` (or ``lang``); it picks sizes with
``@pytest.mark.parametrize("viewport", VIEWPORTS)`` (desktop only otherwise)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright
from werkzeug.serving import make_server

from tests import pages
from tests.browser.people import LiveServer, Screenshots, Texts, Wizard, sign_in_on
from tests.servers import SmtpServer, TwilioEndpoint

CHROMIUM = os.environ.get("SSPR_TEST_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LANGUAGES = ("en", "da")
VIEWPORTS = ("desktop", "phone")
CONTEXT_OPTIONS: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 2,
    },
}
# Rate limits stay on (their 429 page is scanned too) but high enough for a person clicking through many pages.
BROWSER_LIMITS = {
    "RATELIMIT_WIZARD": "1000 per minute",
    "RATELIMIT_SIGNIN": "1000 per minute",
    "RATELIMIT_ACCOUNT": "1000 per minute",
    "RATELIMIT_WIZARD_PER_ACCOUNT": "1000 per minute",
    "RATELIMIT_SIGNIN_PER_ACCOUNT": "1000 per minute",
    "RATELIMIT_ACCOUNT_PER_USER": "1000 per minute",
}
# A step that takes longer than this on a local server is a failure, not a slow test.
TIMEOUT_MS = 10_000


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Browser tests run on SQLite only: what they prove is in the pages, and the
    app tests already cover both databases.  (Before tests/conftest.py reads the marker.)"""
    if metafunc.definition.get_closest_marker("backends") is None:
        metafunc.definition.add_marker(pytest.mark.backends("sqlite"))


@pytest.fixture
def live_server(app: Flask, request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    """The app behind a real HTTP server on a free loopback port, for the browser.
    Links in mails point at it; a 5xx answer to any request fails the test."""
    set_by_test = {key for marker in request.node.iter_markers("settings") for key in marker.kwargs}
    for key, value in BROWSER_LIMITS.items():
        if key not in set_by_test:
            app.config[key] = value
    failures: list[str] = []

    def watched(environ: Any, start_response: Any) -> Any:
        def start(status: str, headers: Any, exc_info: Any = None) -> Any:
            if status.startswith("5"):
                failures.append(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}: {status}")
            return start_response(status, headers, exc_info)

        return app(environ, start)

    server = make_server("127.0.0.1", 0, watched, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    # Plain HTTP on loopback: links in mails lead here, and the session cookie is not Secure-only.
    app.config.update(BASE_URL=url, SESSION_COOKIE_SECURE=False)
    thread = threading.Thread(target=server.serve_forever, name="sspr-live-server", daemon=True)
    thread.start()
    yield LiveServer(url=url, app=app)
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)
    assert not failures, f"the server answered with an error: {failures}"


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's Chromium (scripts/browser installs it), headless, once per test process."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: run scripts/browser (scripts/test does) or set SSPR_TEST_CHROMIUM")
    # Whole tiles are painted again on a change: with partial raster, antialiased edges
    # differed by a pixel from run to run, and screenshots with them.
    launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--disable-partial-raster"])
    yield launched
    launched.close()


@pytest.fixture(params=LANGUAGES)
def lang(request: pytest.FixtureRequest) -> str:
    """The browser's language, sent as Accept-Language: every test runs in English and in Danish."""
    return str(request.param)


@pytest.fixture
def viewport() -> str:
    """The screen size; tests that care parametrize it over VIEWPORTS."""
    return "desktop"


@pytest.fixture
def make_page(browser: Browser, live_server: LiveServer, lang: str, viewport: str) -> Iterator[Callable[..., Page]]:
    """A page in a fresh browser context (own cookies) at this language and size;
    keyword arguments go to the context (``java_script_enabled=False``, ...)."""
    contexts: list[BrowserContext] = []

    def make(**options: Any) -> Page:
        context = browser.new_context(base_url=live_server.url, locale=lang, **CONTEXT_OPTIONS[viewport] | options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(make_page: Callable[..., Page]) -> Page:
    return make_page()


@pytest.fixture
def t(app: Flask, lang: str) -> Texts:
    """The page's words in the test's language, from the catalogue the app uses:
    ``t("Sign in")``, ``t("Step %(n)d of %(total)d", n=2, total=4)``."""
    return Texts(app, lang)


@pytest.fixture
def code_sent_to(smtp: SmtpServer, twilio: TwilioEndpoint, deliver: Callable[[], int]) -> Callable[[str], str]:
    """Deliver the outbox now and read the newest code that reached this address or number."""

    def read(to: str) -> str:
        deliver()
        if to.startswith("+"):
            twilio.wait_for(to)
            return pages.code_in([m.body for m in twilio.inbox.items if m.to == to][-1])
        smtp.wait_for(to)
        return pages.code_in([m.text for m in smtp.inbox.items if to in m.recipients][-1])

    return read


@pytest.fixture
def wizard(page: Page, t: Texts, code_sent_to: Callable[[str], str]) -> Wizard:
    """The reset wizard, walked on ``page`` by its labels and buttons."""
    return Wizard(page, t, code_sent_to)


@pytest.fixture
def sign_in(t: Texts) -> Callable[[Page, str, str], None]:
    """Sign in on a page through /login, by its labels: ``sign_in(page, "alice", PASSWORD)``."""
    return lambda on, username, password: sign_in_on(on, t, username, password)


@pytest.fixture
def shot(request: pytest.FixtureRequest, tmp_path: Path, lang: str, viewport: str) -> Screenshots:
    """``shot(page, "wizard-1-username")``: a PNG named with the language and size, into
    docs/screenshots/ with --screenshots, else into the test's tmp_path."""
    folder = SCREENSHOTS if request.config.getoption("--screenshots") else tmp_path
    return Screenshots(folder, lang, viewport)
