"""`sspr worker` in a process of its own: it delivers the outbox, and SIGTERM
stops it cleanly, losing nothing."""

from __future__ import annotations

import signal
import subprocess

import pytest

from sspr.extensions import db
from sspr.models import OutboxMessage
from sspr.verification import outbox
from tests.servers import start_worker

RECIPIENTS = [f"user{n}@mail.example.org" for n in range(3)]


@pytest.fixture
def queued(app):
    """Three mails in the outbox (committed): their ids."""
    with app.app_context():
        messages = [outbox.enqueue("email", to, subject="Notice", text=f"For {to}.") for to in RECIPIENTS]
        db.session.commit()
        return [m.id for m in messages]


def states(app, ids):
    """(status, attempts, claimed_until) of each message, in order."""
    with app.app_context():
        return [(m.status, m.attempts, m.claimed_until) for m in (db.session.get(OutboxMessage, i) for i in ids)]


@pytest.mark.settings(SENDER_POLL_SECONDS=0.1)
def test_sigterm_finishes_the_message_in_hand_and_gives_the_rest_back(app, app_env, queued, smtp, deliver, tmp_path):
    """SIGTERM in the middle of a send: the worker waits for that send, records it,
    gives back its leases on the messages it had not started (so another sender takes
    them at once, not minutes later) and exits with status 0."""
    with smtp.holding() as held:
        worker = start_worker(app_env, tmp_path / "worker.log")
        try:
            held.wait(timeout=30)
            worker.send_signal(signal.SIGTERM)
            with pytest.raises(subprocess.TimeoutExpired):
                worker.wait(0.5)  # still in the send, which the held server has not answered
            smtp.hold.clear()
            status = worker.wait(10)
        finally:
            worker.kill()
            worker.wait(10)
    after_stop = states(app, queued)

    delivered_later = deliver()

    assert status == 0
    assert after_stop == [("sent", 1, None), ("pending", 0, None), ("pending", 0, None)]
    assert [m.recipients for m in smtp.inbox.items] == [[to] for to in RECIPIENTS]
    assert delivered_later == 2
    assert "worker: stopped" in (tmp_path / "worker.log").read_text()
