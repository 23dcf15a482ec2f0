""""This wasn't me": the notice after a reset carries a link that locks the account."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from sspr.extensions import db
from sspr.models import Challenge, User
from tests import pages
from tests.conftest import BASE_URL, PASSWORD
from tests.wizard import Wizard

NEW = "a brand new passphrase here"


@pytest.fixture
def reset_notice(app, make_user, smtp, deliver):
    """alice resets her password through the wizard; the notice mail that follows."""
    make_user("root", role="global-admin", alternate_email="root@mail.example.org")
    make_user("alice", alternate_email="alice@mail.example.org")
    wizard = Wizard(app.test_client())
    wizard.username("alice")
    wizard.method("email")
    deliver()
    wizard.code(pages.code_in(smtp.wait_for("alice@mail.example.org").text))
    smtp.inbox.clear()
    wizard.password(NEW)
    deliver()
    return smtp.wait_for("alice@mail.example.org")


def not_me_path(mail):
    links = [u for u in re.findall(r"https?://\S+", mail.text) if "/not-me/" in u]
    assert len(links) == 1
    assert links[0].startswith(BASE_URL)
    return links[0].removeprefix(BASE_URL)


def signs_in(app, password):
    client = app.test_client()
    return pages.submit(client, client.get("/login"), "/login", username="alice", password=password).status_code == 302


def test_opening_the_link_changes_nothing(app, reset_notice):
    """A GET (a mail scanner) only shows the question."""
    page = app.test_client().get(not_me_path(reset_notice))

    assert page.status_code == 200
    assert "Lock my account" in page.get_data(as_text=True)
    assert signs_in(app, NEW)


def test_reporting_locks_the_account_and_ends_its_sessions(app, reset_notice):
    """After the POST nobody can sign in, and a session from before is over."""
    session = app.test_client()
    pages.submit(session, session.get("/login"), "/login", username="alice", password=NEW)
    client = app.test_client()
    path = not_me_path(reset_notice)

    done = pages.submit(client, client.get(path), path)

    assert done.status_code == 200
    assert "locked" in done.get_data(as_text=True)
    assert not signs_in(app, NEW)
    assert session.get("/account").status_code == 302


def test_reporting_alerts_the_global_admins(app, reset_notice, smtp, deliver):
    """Every global admin with an address hears of the report."""
    client = app.test_client()
    path = not_me_path(reset_notice)

    pages.submit(client, client.get(path), path)
    deliver()

    assert "not made by them" in smtp.wait_for("root@mail.example.org").text


def test_reporting_voids_pending_codes_and_blocks_the_wizard(app, reset_notice, smtp, deliver):
    """Codes already sent stop working, and the wizard sends no new ones."""
    wizard = Wizard(app.test_client())
    wizard.username("alice")
    wizard.method("email")
    client = app.test_client()
    path = not_me_path(reset_notice)

    pages.submit(client, client.get(path), path)

    with app.app_context():
        live = db.session.scalars(select(Challenge).where(Challenge.voided_at.is_(None), Challenge.used_at.is_(None)))
        assert [c for c in live if c.user_id is not None] == []
        assert db.session.scalar(select(User.blocked).where(User.username == "alice")) is True
    deliver()
    again = Wizard(app.test_client())
    again.username("alice")
    again.method("email")
    assert deliver() == 0


def test_forged_link_gets_a_clear_page(client):
    """A made-up link is a 404 page."""
    page = client.get("/not-me/forged")

    assert page.status_code == 404
    assert "not valid" in page.get_data(as_text=True)


def test_old_password_notice_is_sent_for_account_changes_too(app, make_user, smtp, deliver):
    """Changing the password at /account also sends the notice with the link."""
    make_user("alice", alternate_email="alice@mail.example.org")
    client = app.test_client()
    pages.submit(client, client.get("/login"), "/login", username="alice", password=PASSWORD)

    pages.submit(client, client.get("/account"), "/account/password", current=PASSWORD, password=NEW, confirm=NEW)
    deliver()

    assert "/not-me/" in smtp.wait_for("alice@mail.example.org").text
