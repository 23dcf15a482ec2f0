"""Rotating SSPR_SECRET_KEY with the old key in SSPR_SECRET_KEY_FALLBACKS: what was
signed or digested under the old key keeps working for its lifetime (sessions,
forms, step tokens, codes, mail links), and stops once the old key is dropped."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from sspr import create_app
from sspr.config import DEFAULTS
from sspr.extensions import db
from tests import pages
from tests.conftest import BASE_URL, PASSWORD
from tests.wizard import Wizard

NEW_KEY = "the-key-after-rotation-" + "n" * 32
NEW_PASSWORD = "a passphrase set after the rotation"


@pytest.fixture
def alice(make_user):
    return make_user("alice", alternate_email="alice@mail.example.org")


@pytest.fixture
def rotated(app: Flask):
    """The same deployment after a key rotation: SECRET_KEY new, the old one a fallback
    (``keep_old=False``: the old key dropped)."""

    made: list[Flask] = []

    def rotate(keep_old: bool = True) -> Flask:
        config = {key: app.config[key] for key in DEFAULTS} | {"TESTING": True, "SECRET_KEY": NEW_KEY}
        config["SECRET_KEY_FALLBACKS"] = [app.config["SECRET_KEY"]] if keep_old else []
        made.append(create_app(config))
        return made[-1]

    yield rotate
    for application in made:
        with application.app_context():
            db.engine.dispose()


def at_code_step(client):
    wizard = Wizard(client)
    wizard.username("alice")
    wizard.method("email")
    return wizard


def test_a_reset_begun_before_a_rotation_finishes_after_it(alice, client, rotated, smtp, deliver):
    """Code page, session, CSRF token, step token and the code's digest all made under
    the old key: the code and the new password are taken after the rotation."""
    wizard = at_code_step(client)
    deliver()
    code = pages.code_in(smtp.wait_for("alice@mail.example.org").text)
    client.application = rotated()  # the same browser, now served by the rotated deployment

    password_page = wizard.code(code)
    done = wizard.password(NEW_PASSWORD)

    assert pages.form(password_page, "/password-reset/password")
    assert done.status_code == 200
    assert pages.sign_in(client, "alice", NEW_PASSWORD).status_code == 302


def test_a_mail_link_sent_before_a_rotation_still_works(alice, client, rotated, smtp, deliver):
    """The link in a mail sent under the old key continues the reset after the rotation."""
    at_code_step(client)
    deliver()
    [link] = re.findall(r"https?://\S+", smtp.wait_for("alice@mail.example.org").text)
    client.application = rotated()

    page = pages.submit(client, client.get(link.removeprefix(BASE_URL)), "/password-reset/link")

    assert pages.form(page, "/password-reset/password")


def test_a_session_from_before_a_rotation_stays_signed_in(alice, client, rotated):
    """A user signed in under the old key is still signed in after the rotation."""
    pages.sign_in(client, "alice", PASSWORD)
    client.application = rotated()

    page = client.get("/account")

    assert page.status_code == 200


def test_once_the_old_key_is_dropped_its_forms_and_codes_stop_working(alice, client, rotated, smtp, deliver):
    """The control: without the old key in the fallbacks, the code page made under it
    is refused (its form's CSRF token no longer verifies)."""
    wizard = at_code_step(client)
    deliver()
    code = pages.code_in(smtp.wait_for("alice@mail.example.org").text)
    client.application = rotated(keep_old=False)

    refused = wizard.code(code)

    assert refused.status_code == 400
    assert "The form has expired" in refused.get_data(as_text=True)
