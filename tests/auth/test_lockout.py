"""Sign-in lockout: every 10 wrong passwords in a row lock the account's sign-in,
15 minutes the first time and twice as long each time after; the right password
is told so, anyone else sees the usual refusal."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from sspr import clock
from tests import pages
from tests.conftest import PASSWORD
from tests.wizard import Wizard

WRONG = "not the password at all"
LOCKED = "locked for a while"
REFUSED = "The user name or password is not right."


def sign_in(app, password, username="alice"):
    client = app.test_client()
    return pages.sign_in(client, username, password)


def fail(app, times, username="alice"):
    for _ in range(times):
        assert sign_in(app, WRONG, username).status_code == 400


@pytest.fixture
def alice(make_user):
    return make_user("alice", alternate_email="alice@mail.example.org")


def test_nine_wrong_passwords_do_not_lock(app, alice):
    """Below the threshold the right password still signs in, and the count starts over."""
    fail(app, 9)

    assert sign_in(app, PASSWORD).status_code == 302
    fail(app, 9)
    assert sign_in(app, PASSWORD).status_code == 302


def test_tenth_wrong_password_locks_for_fifteen_minutes(app, alice):
    """After 10 wrong passwords the right one is refused, with the reason, for 15 minutes."""
    fail(app, 10)

    locked = sign_in(app, PASSWORD)
    with time_machine.travel(clock.now() + timedelta(minutes=14)):
        still = sign_in(app, PASSWORD)
    with time_machine.travel(clock.now() + timedelta(minutes=16)):
        after = sign_in(app, PASSWORD)

    assert locked.status_code == 400
    assert LOCKED in locked.get_data(as_text=True)
    assert still.status_code == 400
    assert after.status_code == 302


def test_wrong_password_while_locked_looks_like_any_wrong_password(app, alice):
    """During a lock, a wrong password gets the same page as an unknown user name."""
    fail(app, 10)

    wrong = sign_in(app, WRONG)
    unknown = sign_in(app, WRONG, username="nobody")

    assert wrong.status_code == unknown.status_code == 400
    assert REFUSED in wrong.get_data(as_text=True)
    assert LOCKED not in wrong.get_data(as_text=True)
    typed_back = pages.text_without_tokens(unknown).replace('value="nobody"', 'value="alice"')
    assert pages.text_without_tokens(wrong) == typed_back


def test_each_further_lock_is_twice_as_long(app, alice):
    """The second lock in a row lasts 30 minutes."""
    fail(app, 10)
    with time_machine.travel(clock.now() + timedelta(minutes=16)):
        fail(app, 10)

    with time_machine.travel(clock.now() + timedelta(minutes=16 + 29)):
        still = sign_in(app, PASSWORD)
    with time_machine.travel(clock.now() + timedelta(minutes=16 + 31)):
        after = sign_in(app, PASSWORD)

    assert still.status_code == 400
    assert after.status_code == 302


def test_self_service_reset_unlocks(app, alice, smtp, deliver):
    """A completed reset through the wizard lifts the lock at once."""
    fail(app, 10)
    wizard = Wizard(app.test_client())
    wizard.username("alice")
    wizard.method("email")
    deliver()
    wizard.code(pages.code_in(smtp.wait_for("alice@mail.example.org").text))

    wizard.password("a new passphrase after the lock")

    assert sign_in(app, "a new passphrase after the lock").status_code == 302
