"""Bad input gets a clear page with a 4xx status: never a 500, never a stack
trace, never a changed password."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from sspr.extensions import db
from sspr.models import User
from tests import pages
from tests.wizard import Wizard

HUGE = "x" * 10_000
ODD = ["", HUGE, "a\x00b", "\u202e\u0000", "\ud7ff\ufeff\u200b", "🙂" * 300, "' OR 1=1 --", "<script>x</script>"]


@pytest.fixture
def alice(make_user):
    return make_user("alice")


def assert_clear_refusal(page):
    text = page.get_data(as_text=True)
    assert 400 <= page.status_code < 500, page.status_code
    assert "Traceback" not in text
    assert "<h1>" in text


def password_hash(app):
    with app.app_context():
        return db.session.scalar(select(User.password_hash).where(User.username == "alice"))


@pytest.mark.parametrize("value", ODD, ids=["empty", "10kB", "nul", "bidi-nul", "invisible", "emoji", "sql", "html"])
def test_odd_user_names_get_a_clear_page(alice, client, value):
    """Any value in the user name field gets a page, not a crash (4xx when refused)."""
    wizard = Wizard(client)
    wizard.open()

    page = wizard.post("/password-reset", username=value)

    text = page.get_data(as_text=True)
    assert page.status_code in (200, 400)
    assert "Traceback" not in text
    assert "<script>x</script>" not in text


@pytest.mark.parametrize("field", ["token", "method"])
@pytest.mark.parametrize("value", ODD, ids=["empty", "10kB", "nul", "bidi-nul", "invisible", "emoji", "sql", "html"])
def test_odd_method_step_values_are_refused(alice, client, field, value):
    """Odd tokens or methods at the method step get a 4xx page."""
    wizard = Wizard(client)
    wizard.username("alice")
    data = pages.hidden(wizard.page, "/password-reset/method") | {"method": "email"} | {field: value}

    page = client.post("/password-reset/method", data=data)

    assert_clear_refusal(page)


@pytest.mark.parametrize("value", ODD, ids=["empty", "10kB", "nul", "bidi-nul", "invisible", "emoji", "sql", "html"])
def test_odd_codes_are_refused(alice, client, value):
    """Odd codes get the code page again with a 400 (or the too-many page), never a 500."""
    wizard = Wizard(client)
    wizard.username("alice")
    wizard.method("email")

    page = wizard.code(value)

    assert_clear_refusal(page)


@pytest.mark.parametrize("value", ODD[1:4], ids=["10kB", "nul", "bidi-nul"])
def test_odd_new_passwords_change_nothing(alice, app, client, smtp, deliver, value):
    """Odd new passwords are refused with a 400 and the stored hash stays."""
    wizard = Wizard(client)
    wizard.username("alice")
    wizard.method("email")
    deliver()
    wizard.code(pages.code_in(smtp.wait_for("alice@mail.example.org").text))
    before = password_hash(app)

    page = wizard.password(value)

    assert_clear_refusal(page)
    assert password_hash(app) == before


def test_missing_fields_are_refused(alice, client):
    """A post with only the CSRF token gets a 4xx page at every step."""
    wizard = Wizard(client)
    wizard.username("alice")
    csrf = pages.hidden(wizard.page, "/password-reset/method")["csrf_token"]

    for action in (
        "/password-reset",
        "/password-reset/method",
        "/password-reset/code",
        "/password-reset/password",
        "/password-reset/resend",
        "/password-reset/link",
    ):
        assert_clear_refusal(client.post(action, data={"csrf_token": csrf}))


def test_missing_csrf_token_is_refused(alice, client):
    """A form posted without its CSRF token is refused with a 400 page."""
    wizard = Wizard(client)
    wizard.username("alice")
    data = pages.hidden(wizard.page, "/password-reset/method") | {"method": "email"}
    del data["csrf_token"]

    page = client.post("/password-reset/method", data=data)

    assert_clear_refusal(page)
    assert "The form has expired" in page.get_data(as_text=True)


def test_csrf_token_of_another_session_is_refused(alice, app, client):
    """A CSRF token from another browser does not pass."""
    foreign = pages.hidden(app.test_client().get("/password-reset"), "/password-reset")["csrf_token"]
    client.get("/password-reset")

    page = client.post("/password-reset", data={"csrf_token": foreign, "username": "alice"})

    assert_clear_refusal(page)


def test_oversized_body_gets_413(client):
    """A body over the configured maximum (64 kB) is refused before any form is read."""
    page = client.post("/password-reset", data={"username": "x" * 70_000})

    assert page.status_code == 413
    assert "Traceback" not in page.get_data(as_text=True)


def test_get_of_a_step_url_is_a_clear_page(client):
    """Typing a step's URL into the address bar gets a 405 page, not a stack trace."""
    page = client.get("/password-reset/code")

    assert page.status_code == 405
    assert "<h1>" in page.get_data(as_text=True)
