"""The new password: NIST rules with plain-word feedback, nothing changed when
refused; after a reset every session ends, the user is told, an audit row lands."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from sspr import clock
from sspr.extensions import db
from sspr.models import AuditEvent, User
from tests import pages
from tests.conftest import PASSWORD
from tests.wizard import Wizard


@pytest.fixture
def at_password(make_user, client, smtp, deliver):
    make_user("alice", alternate_email="alice@mail.example.org")
    wizard = Wizard(client)
    wizard.username("alice")
    wizard.method("email")
    deliver()
    wizard.code(pages.code_in(smtp.wait_for("alice@mail.example.org").text))
    smtp.inbox.clear()
    return wizard


def set_columns(app, **values):
    with app.app_context():
        db.session.execute(update(User).where(User.username == "alice").values(**values))
        db.session.commit()


def stored_hash(app, username="alice"):
    with app.app_context():
        return db.session.scalar(select(User.password_hash).where(User.username == username))


def signs_in(app, username, password):
    client = app.test_client()
    page = pages.submit(client, client.get("/login"), "/login", username=username, password=password)
    return page.status_code == 302


@pytest.mark.parametrize(
    ("password", "confirm", "message"),
    [
        ("short one", None, "at least 15 characters"),
        ("passwordpassword", None, "too common"),
        ("alice-and-her-long-passphrase", None, "user name"),
        ("a fine long passphrase here", "a different passphrase here", "not the same"),
        ("x" * 257, None, "at most 256"),
    ],
    ids=["too-short", "common", "contains-username", "mismatch", "too-long"],
)
def test_weak_password_is_refused_and_nothing_changes(app, at_password, password, confirm, message):
    """Each rule refuses with a 400, says what to fix, and leaves the password as it was."""
    before = stored_hash(app)

    page = at_password.password(password, confirm)

    assert page.status_code == 400
    assert message in page.get_data(as_text=True)
    assert "passphrase" in page.get_data(as_text=True)
    assert stored_hash(app) == before
    assert signs_in(app, "alice", PASSWORD)


def test_the_current_password_may_be_set_again_when_no_rule_asks_for_a_new_one(app, at_password, stored_user):
    """Proven by a code, a user may choose the password they have (they had forgotten it):
    it is stored with a new salt and, as after any reset, other sessions end."""
    before = stored_user("alice")

    page = at_password.password(PASSWORD)

    after = stored_user("alice")
    assert page.status_code == 200
    assert after.password_hash != before.password_hash
    assert after.session_version != before.session_version
    assert signs_in(app, "alice", PASSWORD)


def told_to_change(app):
    set_columns(app, must_change_password=True)


def expired(app):
    set_columns(app, password_changed_at=clock.now() - timedelta(days=31))


@pytest.mark.policy(password_expiry_days=30)
@pytest.mark.parametrize("rule", [told_to_change, expired])
def test_the_current_password_is_refused_when_a_rule_asks_for_a_new_one(app, at_password, rule):
    """Told to change it, or expired: setting the same password again would defeat
    the rule, so the wizard refuses it and nothing changes."""
    rule(app)
    before = stored_hash(app)

    page = at_password.password(PASSWORD)

    assert page.status_code == 400
    assert "Choose a password different from your current one." in page.get_data(as_text=True)
    assert stored_hash(app) == before


def test_refused_password_can_be_retried(app, at_password):
    """After a refusal the page works again with its fresh token."""
    at_password.password("short")

    page = at_password.password("a perfectly good long passphrase")

    assert page.status_code == 200
    assert signs_in(app, "alice", "a perfectly good long passphrase")


def test_long_unicode_password_is_kept_whole(app, at_password):
    """256 characters of any script are accepted and never truncated."""
    password = ("æøå Ωμέγα 漢字 🙂 " * 40)[:256]

    at_password.password(password)

    assert signs_in(app, "alice", password)
    assert not signs_in(app, "alice", password[:255])


def test_reset_ends_every_session(app, at_password):
    """A browser signed in before the reset is signed out after it."""
    other = app.test_client()
    pages.submit(other, other.get("/login"), "/login", username="alice", password=PASSWORD)
    assert other.get("/account").status_code == 200

    at_password.password("a perfectly good long passphrase")

    assert other.get("/account").status_code == 302


def test_reset_notifies_the_user(app, at_password, smtp, deliver):
    """The user is told by mail that the password changed."""
    at_password.password("a perfectly good long passphrase")
    deliver()

    notice = smtp.wait_for("alice@mail.example.org")

    assert "was just changed" in notice.text


@pytest.mark.policy(notify_user_on_reset=False)
def test_no_notice_when_the_policy_says_so(app, at_password, smtp, deliver):
    """With notify_user_on_reset off, no mail follows the reset."""
    at_password.password("a perfectly good long passphrase")

    assert deliver() == 0


def test_reset_is_audited_without_secrets(app, at_password):
    """The reset writes an audit row, and no row holds the password or a code."""
    at_password.password("a perfectly good long passphrase")

    with app.app_context():
        events = db.session.scalars(select(AuditEvent)).all()
        assert "reset.completed" in [e.event for e in events]
        assert not any("passphrase" in e.details for e in events)
