"""Unlocking instead of resetting: a verified user whose sign-in is locked may
lift the lock and keep the password, and only then; the flow ends, an audit row
lands and the user is told, with the "this wasn't me" link."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from sspr import clock
from sspr.extensions import db
from sspr.models import AuditEvent, User
from tests import pages
from tests.conftest import BASE_URL, PASSWORD
from tests.wizard import Wizard

UNLOCK = "/password-reset/unlock"
OFFER = "Unlock my account and keep my password"


def set_columns(app, **values):
    with app.app_context():
        db.session.execute(update(User).where(User.username == "alice").values(**values))
        db.session.commit()


def lock(app, minutes=15):
    """Alice's sign-in locked as after ten wrong passwords, for this many minutes from now."""
    set_columns(app, failed_logins=10, locked_until=clock.now() + timedelta(minutes=minutes))


@pytest.fixture
def alice(make_user):
    return make_user("alice", alternate_email="alice@mail.example.org")


@pytest.fixture
def verify(app, alice, client, smtp, deliver):
    """Walk alice's wizard up to the password page (as things stand when called); the wizard."""

    def walk():
        wizard = Wizard(client)
        wizard.username("alice")
        wizard.method("email")
        deliver()
        wizard.code(pages.code_in(smtp.wait_for("alice@mail.example.org").text))
        smtp.inbox.clear()
        return wizard

    return walk


def signs_in(app, password=PASSWORD):
    return pages.sign_in(app.test_client(), "alice", password).status_code == 302


def test_a_locked_user_is_offered_the_unlock_beside_the_unchanged_password_form(app, verify):
    """Locked and verified: the password page has a second form with its own button and
    the same step token, and the password form keeps its fields and autocomplete tokens."""
    lock(app)

    page = verify().page

    body = page.get_data(as_text=True)
    assert OFFER in body
    assert pages.hidden(page, UNLOCK)["token"] == pages.hidden(page, "/password-reset/password")["token"]
    inputs = pages.form(page, "/password-reset/password")["inputs"]
    assert [(i.get("name"), i.get("autocomplete")) for i in inputs if i.get("type") == "password"] == [
        ("password", "new-password"),
        ("confirm", "new-password"),
    ]


def test_unlocking_keeps_the_password_and_lifts_the_lock(app, verify, stored_user):
    """The unlock shows the done page; the old password signs in again, the count of
    wrong passwords starts over, and the hash is the one from before."""
    lock(app)
    wizard = verify()
    before = stored_user("alice").password_hash

    done = wizard.post(UNLOCK)

    after = stored_user("alice")
    assert done.status_code == 200
    assert "Your account is unlocked" in done.get_data(as_text=True)
    assert (after.password_hash, after.locked_until, after.failed_logins) == (before, None, 0)
    assert signs_in(app)


def test_unlocking_finishes_the_flow(app, verify):
    """After the unlock, the password page's forms are dead: neither a new password
    nor a second unlock goes through (the 409 page of a used step)."""
    lock(app)
    wizard = verify()
    password_page = wizard.page
    wizard.post(UNLOCK)
    lock(app)

    again = pages.submit(wizard.client, password_page, UNLOCK)
    new = "a perfectly good long passphrase"
    password = pages.submit(wizard.client, password_page, "/password-reset/password", password=new, confirm=new)

    assert again.status_code == password.status_code == 409
    assert not signs_in(app)
    assert not signs_in(app, new)


def test_unlocking_is_audited_and_the_user_told_with_the_not_me_link(app, verify, smtp, deliver):
    """A reset.unlocked row lands, and a mail says the account was unlocked, carrying
    the "this wasn't me" link, which opens."""
    lock(app)
    wizard = verify()

    wizard.post(UNLOCK)
    deliver()

    notice = smtp.wait_for("alice@mail.example.org")
    links = [u for u in re.findall(r"https?://\S+", notice.text) if "/not-me/" in u]
    assert "unlocked" in notice.text
    assert "password was not changed" in notice.text
    assert len(links) == 1
    assert app.test_client().get(links[0].removeprefix(BASE_URL)).status_code == 200
    with app.app_context():
        events = db.session.scalars(select(AuditEvent.event)).all()
    assert "reset.unlocked" in events
    assert "reset.completed" not in events


@pytest.mark.policy(notify_user_on_reset=False)
def test_no_unlock_notice_when_the_policy_says_so(app, verify, deliver):
    """With notify_user_on_reset off, the unlock sends no mail, as a reset sends none."""
    lock(app)
    wizard = verify()

    wizard.post(UNLOCK)

    assert deliver() == 0


def never_locked(app):
    """Nothing to do: the account was never locked."""


def lock_ran_out(app):
    set_columns(app, failed_logins=10, locked_until=clock.now() - timedelta(minutes=1))


def must_change(app):
    lock(app)
    set_columns(app, must_change_password=True)


def expired(app):
    lock(app)
    set_columns(app, password_changed_at=clock.now() - timedelta(days=31))


@pytest.mark.policy(password_expiry_days=30)
@pytest.mark.parametrize("state", [never_locked, lock_ran_out, must_change, expired])
def test_no_unlock_without_a_live_lock_or_with_a_password_that_must_change(app, verify, stored_user, state):
    """Not locked (or the lock ran out), or a password that must change or has expired:
    no offer, and a forged post of the unlock form is refused with a 400, changing nothing."""
    state(app)
    wizard = verify()
    before = stored_user("alice")

    forged = wizard.client.post(UNLOCK, data=pages.hidden(wizard.page, "/password-reset/password"))

    after = stored_user("alice")
    assert OFFER not in wizard.page.get_data(as_text=True)
    assert forged.status_code == 400
    assert (after.locked_until, after.failed_logins) == (before.locked_until, before.failed_logins)


def test_no_unlock_for_an_account_blocked_meanwhile(app, verify):
    """Blocked by an admin after the checks were passed: the unlock is refused (400) and
    the lock stays, so the page never says "unlocked" of an account that cannot sign in."""
    lock(app)
    wizard = verify()
    set_columns(app, blocked=True)

    refused = wizard.post(UNLOCK)

    assert refused.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(User.failed_logins).where(User.username == "alice")) == 10


def test_no_unlock_before_the_checks_are_passed(app, alice, client):
    """The code page's token posted to the unlock is refused (400) and the lock stays."""
    lock(app)
    wizard = Wizard(client)
    wizard.username("alice")
    wizard.method("email")

    forged = client.post(UNLOCK, data=pages.hidden(wizard.page, "/password-reset/code"))

    assert forged.status_code == 400
    assert not signs_in(app)


@pytest.mark.settings(RATELIMIT_WIZARD="1 per minute")
def test_unlock_posts_are_rate_limited(app, verify):
    """The unlock counts like every wizard post: over the limit, a 429 page."""
    lock(app)
    wizard = verify()
    page = wizard.page
    pages.submit(wizard.client, page, UNLOCK, token="not a token")

    limited = pages.submit(wizard.client, page, UNLOCK)

    assert limited.status_code == 429
