"""Old reset flows, their codes and delivered messages are deleted; recent ones stay."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlalchemy import func, select

from sspr import clock, retention
from sspr.extensions import db
from sspr.models import Challenge, OutboxMessage, ResetFlow
from sspr.verification import outbox
from tests.wizard import Wizard


def counts(app):
    with app.app_context():
        return [db.session.scalar(select(func.count()).select_from(m)) for m in (ResetFlow, Challenge, OutboxMessage)]


def test_purge_keeps_a_day_of_flows(app, make_user, deliver):
    """Flows and codes younger than a day are kept, older ones go; sent mail stays 30 days."""
    make_user("alice")
    wizard = Wizard(app.test_client())
    wizard.username("alice")
    wizard.method("email")
    deliver()

    with app.app_context(), time_machine.travel(clock.now() + timedelta(hours=23)):
        retention.purge(clock.now())
    kept = counts(app)
    with app.app_context(), time_machine.travel(clock.now() + timedelta(days=2)):
        retention.purge(clock.now())
    after_two_days = counts(app)
    with app.app_context(), time_machine.travel(clock.now() + timedelta(days=31)):
        retention.purge(clock.now())

    assert kept == [1, 1, 1]
    assert after_two_days == [0, 0, 1]
    assert counts(app) == [0, 0, 0]


def test_a_dead_message_keeps_its_body_only_while_it_can_matter(app):
    """A dead message keeps its body for an admin's retry until its not_after; after
    that the purge erases it (it may hold a code), and the row stays for the console."""
    now = clock.now()
    with app.app_context():
        message = outbox.enqueue("email", "bob@mail.example.org", text="123456", not_after=now + timedelta(minutes=10))
        message.status = "dead"
        db.session.commit()
        message_id = message.id
    bodies = []
    for later in (timedelta(minutes=9), timedelta(minutes=11)):
        with app.app_context(), time_machine.travel(now + later):
            retention.purge(clock.now())
            bodies.append(db.session.get(OutboxMessage, message_id).body_text)

    assert bodies == ["123456", ""]
