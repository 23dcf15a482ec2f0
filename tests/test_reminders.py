"""Expiry reminders go out at the policy's offsets, once each, never twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from sspr import clock, reminders
from sspr.extensions import db


def run(app, days_later=0):
    with app.app_context(), time_machine.travel(clock.now() + timedelta(days=days_later)):
        count = reminders.send_due(clock.now())
        db.session.remove()
        return count


@pytest.mark.policy(password_expiry_days=30)
def test_one_reminder_per_offset(app, make_user, smtp, deliver):
    """16 days in (14 left) one reminder goes; again at once, none; at 7 left, the next one."""
    make_user("alice", alternate_email="alice@mail.example.org")

    first, again = run(app, 16), run(app, 16)
    later = run(app, 23)
    with time_machine.travel(clock.now() + timedelta(days=23)):
        deliver()

    assert (first, again, later) == (1, 0, 1)
    mail = smtp.wait_for("alice@mail.example.org")
    assert "expires in" in mail.text
    assert "https://reset.example.test/password" in mail.text


@pytest.mark.policy(password_expiry_days=30)
def test_late_comer_gets_one_reminder_not_all(app, make_user):
    """A user first seen 2 days before expiry gets the 3-day reminder only."""
    make_user("alice")

    assert run(app, 28) == 1
    assert run(app, 28) == 0


@pytest.mark.policy(password_expiry_days=30)
def test_no_reminder_when_the_password_never_expires(app, make_user):
    """"Password never expires" users get no reminders."""
    user = make_user("alice")
    with app.app_context():
        db.session.get(type(user), user.id).password_never_expires = True
        db.session.commit()

    assert run(app, 20) == 0


def test_no_reminders_without_expiry(app, make_user):
    """With expiry off (the default), nothing is sent."""
    make_user("alice")

    assert run(app, 400) == 0
