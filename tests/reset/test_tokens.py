"""Step tokens: signed, expiring, for one step, one flow and one browser session."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from sspr import clock
from tests import pages
from tests.wizard import Wizard


@pytest.fixture
def at_method(make_user, client):
    make_user("alice")
    wizard = Wizard(client)
    wizard.username("alice")
    return wizard


def post_method(client, page, **overrides):
    data = pages.hidden(page, "/password-reset/method") | {"method": "email"} | overrides
    return client.post("/password-reset/method", data=data)


def test_tampered_token_is_refused(at_method, client):
    """A token with one character changed gets a clear 400 page."""
    token = at_method.token
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")

    page = post_method(client, at_method.page, token=forged)

    assert page.status_code == 400
    assert "start again" in page.get_data(as_text=True).lower()


def test_missing_token_is_refused(at_method, client):
    """Leaving the token out is a 400, not a crash."""
    page = post_method(client, at_method.page, token="")

    assert page.status_code == 400


def test_token_from_another_browser_is_refused(at_method, app):
    """A step token is bound to the browser session that started the flow."""
    other = app.test_client()
    other.get("/password-reset")
    data = pages.hidden(at_method.page, "/password-reset/method")
    csrf = pages.hidden(other.get("/password-reset"), "/password-reset")["csrf_token"]

    page = other.post("/password-reset/method", data=data | {"csrf_token": csrf, "method": "email"})

    assert page.status_code == 400
    assert "another browser" in page.get_data(as_text=True)


def test_expired_token_is_refused(at_method, client):
    """A step posted more than 15 minutes after its page was shown has expired."""
    with time_machine.travel(clock.now() + timedelta(minutes=16)):
        page = post_method(client, at_method.page)

    assert page.status_code == 400
    assert "expired" in page.get_data(as_text=True)


def test_token_for_one_step_is_refused_at_another(at_method, client):
    """The method page's token cannot skip ahead to the password step."""
    data = pages.hidden(at_method.page, "/password-reset/method")

    page = client.post("/password-reset/password", data=data | {"password": "x" * 20, "confirm": "x" * 20})

    assert page.status_code == 400


def test_used_token_is_refused(at_method, client):
    """Posting a page's token a second time is refused: each token works once."""
    page = at_method.page
    post_method(client, page)

    again = post_method(client, page)

    assert again.status_code == 409


def test_token_reveals_no_user(app, make_user):
    """The token's readable payload holds only random values and the step, for a real user and an unknown one."""
    make_user("alice")
    real, unknown = Wizard(app.test_client()), Wizard(app.test_client())
    real.username("alice")
    unknown.username("nobody")

    payloads = [pages.token_payload(real.token), pages.token_payload(unknown.token)]

    assert [p.keys() for p in payloads] == [{"f", "s", "n"}, {"f", "s", "n"}]
    assert [p["s"] for p in payloads] == ["method", "method"]
    assert all(len(p["f"]) == len(p["n"]) == 32 for p in payloads)
