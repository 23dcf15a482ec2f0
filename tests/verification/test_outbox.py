"""The outbox: messages survive refusals and are retried after a back-off,
expire when too late to matter, are given up after a number of attempts, lose
their body once closed, and are never held by two senders at once."""

from __future__ import annotations

import email
import email.policy
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine
from sqlalchemy import event, select

from sspr import clock
from sspr.extensions import db
from sspr.models import AuditEvent, OutboxMessage
from sspr.verification import outbox

START = datetime(2031, 3, 4, 9, 0, tzinfo=UTC)
MAILBOX = "bob@mail.example.org"
NUMBER = "+4520998877"


@pytest.fixture
def frozen():
    """The clock stopped at START; ``frozen.shift(timedelta)`` moves it on."""
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def queue(app):
    """Stage and commit one message; its id."""

    def put(channel="email", recipient=MAILBOX, **fields):
        fields.setdefault("subject", "Your code")
        fields.setdefault("text", "123456 is your code.")
        with app.app_context():
            message = outbox.enqueue(channel, recipient, **fields)
            db.session.commit()
            return message.id

    return put


@pytest.fixture
def stored(app):
    """The message as the database holds it now (detached)."""

    def load(message_id):
        with app.app_context():
            message = db.session.get(OutboxMessage, message_id)
            db.session.expunge(message)
            return message

    return load


def test_a_refused_mail_stays_pending_with_a_retry_time(frozen, queue, stored, smtp, deliver):
    """An SMTP server answering 451 leaves the mail queued with the time of the
    next try and the reason, and its body kept for that try."""
    message_id = queue()
    smtp.refuse = True

    deliver()

    message = stored(message_id)
    assert message.status == "pending"
    assert message.attempts == 1
    assert message.next_attempt_at == START + outbox.backoff(1)
    assert "451" in message.last_error
    assert message.body_text == "123456 is your code."


def test_a_refused_mail_is_delivered_after_the_back_off(frozen, queue, stored, smtp, deliver):
    """Once the server is back and the back-off has passed, the mail is delivered, not lost."""
    message_id = queue()
    smtp.refuse = True
    deliver()
    smtp.refuse = False
    tried_too_early = deliver()
    frozen.shift(outbox.backoff(1))

    tried = deliver()

    assert tried_too_early == 0
    assert tried == 1
    assert smtp.wait_for(MAILBOX).text.strip() == "123456 is your code."
    assert stored(message_id).status == "sent"


def test_a_failing_twilio_request_is_retried(frozen, queue, stored, twilio, deliver):
    """An SMS that Twilio answers with 500 stays queued and goes out after the back-off."""
    message_id = queue("sms", NUMBER, subject="")
    twilio.fail_status = 500
    deliver()
    after_failure = stored(message_id)
    twilio.fail_status = 0
    frozen.shift(outbox.backoff(1))

    deliver()

    assert (after_failure.status, after_failure.attempts) == ("pending", 1)
    assert "Twilio" in after_failure.last_error
    assert twilio.wait_for(NUMBER).body == "123456 is your code."
    assert stored(message_id).status == "sent"


def test_a_message_past_its_time_expires_unsent(frozen, queue, stored, smtp, deliver):
    """A message still queued at its not_after (an expired code) is never sent, and its body is erased."""
    message_id = queue(html="<p>123456 is your code.</p>", not_after=START + timedelta(minutes=10))
    frozen.shift(timedelta(minutes=10))

    deliver()

    message = stored(message_id)
    assert message.status == "expired"
    assert message.attempts == 0
    assert (message.body_text, message.body_html) == ("", "")
    assert smtp.inbox.items == []


@pytest.mark.settings(SENDER_MAX_ATTEMPTS=3)
def test_a_message_that_keeps_failing_is_given_up(app, frozen, queue, stored, smtp, deliver):
    """After SENDER_MAX_ATTEMPTS failures the message is "dead": never tried again by
    itself, its body kept for an admin's retry, and an audit row to alert on."""
    message_id = queue(html="<p>123456 is your code.</p>", kind="code")
    smtp.refuse = True
    for attempt in (1, 2, 3):
        deliver()
        frozen.shift(outbox.backoff(attempt))

    tried_after = deliver()

    message = stored(message_id)
    assert (message.status, message.attempts, tried_after) == ("dead", 3, 0)
    assert message.body_html == "<p>123456 is your code.</p>"
    assert "451" in message.last_error
    with app.app_context():
        [details] = db.session.scalars(select(AuditEvent.details).where(AuditEvent.event == "outbox.dead")).all()
    assert json.loads(details) | {"error": ""} == {
        "message": message_id,
        "kind": "code",
        "channel": "email",
        "recipient": "b…@mail.example.org",
        "attempts": 3,
        "error": "",
    }


def test_a_sent_message_is_erased(frozen, queue, stored, smtp, deliver):
    """Once delivered, the stored message keeps no body (it may hold a code)."""
    message_id = queue(html="<p>123456 is your code.</p>")

    deliver()

    message = stored(message_id)
    assert (message.status, message.sent_at) == ("sent", START)
    assert (message.body_text, message.body_html) == ("", "")
    assert smtp.wait_for(MAILBOX).html.strip() == "<p>123456 is your code.</p>"


def test_two_senders_never_hold_the_same_message(app, queue):
    """Two senders claiming at the same moment, the second between the first's
    look-up and its claim, hold every message between them and none twice (on
    PostgreSQL the second skips the rows the first locked; on SQLite the first's
    UPDATE leaves the rows the second took)."""
    queued = [queue(recipient=f"user{n}@mail.example.org") for n in range(3)]
    now = clock.now()
    rival: list[int] = []
    rival_ran = threading.Event()

    def rival_claims_first(state):
        """Run a whole second sender right after this one's look-up of due messages."""
        if not state.is_select or rival_ran.is_set():
            return None
        rival_ran.set()
        looked_up = state.invoke_statement().freeze()
        with app.app_context():  # another app context: another session and connection
            rival.extend(outbox.claim_due(now))
        return looked_up()

    with app.app_context():
        event.listen(db.session(), "do_orm_execute", rival_claims_first)

        mine = outbox.claim_due(now)

    assert sorted(mine + rival) == queued
    assert set(mine).isdisjoint(rival)


@pytest.mark.backends("postgresql")
def test_a_sender_skips_the_messages_another_is_claiming(app, queue):
    """On PostgreSQL a sender does not wait for a row another sender has locked in
    the middle of its claim: it takes the other due messages at once (SKIP LOCKED)."""
    first, *others = [queue(recipient=f"user{n}@mail.example.org") for n in range(3)]
    claimed: list[int] = []

    def claim():
        with app.app_context():
            claimed.extend(outbox.claim_due(clock.now()))

    locker = sa.create_engine(app.config["DATABASE_URL"])
    with locker.connect() as rival:
        rival.execute(sa.text("SELECT id FROM outbox WHERE id = :id FOR UPDATE"), {"id": first})
        sender = threading.Thread(target=claim)
        sender.start()
        sender.join(5)
        finished_while_locked = not sender.is_alive()
        rival.rollback()
    sender.join(5)
    locker.dispose()

    assert finished_while_locked
    assert claimed == others


@pytest.mark.settings(SENDER_LEASE_SECONDS=60)
def test_a_batch_gives_back_what_it_cannot_start_in_the_first_half_of_its_lease(frozen, queue, stored, smtp, deliver):
    """When a slow send takes the batch past half its lease, the messages not started
    are given back at once rather than started late, when another sender may take them."""
    queued = [queue(recipient=f"user{n}@mail.example.org") for n in range(3)]
    tried: list[int] = []
    with smtp.holding() as held:
        sender = threading.Thread(target=lambda: tried.append(deliver()))
        sender.start()
        held.wait(timeout=5)
        frozen.shift(timedelta(seconds=30))
        smtp.hold.clear()
        sender.join(10)

    after = [stored(message_id) for message_id in queued]

    assert tried == [1]
    assert [(m.status, m.claimed_until) for m in after] == [("sent", None), ("pending", None), ("pending", None)]


@pytest.mark.settings(MAIL_BACKEND="outbox")
def test_the_mail_outbox_writes_an_eml_with_text_and_html(app, queue, deliver):
    """With MAIL_BACKEND=outbox a mail becomes an .eml file with a text part and an HTML part."""
    queue(html="<p>123456 is your code.</p>")

    deliver()

    [path] = (Path(app.config["OUTBOX_DIR"]) / "mail").glob("*.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["To"] == MAILBOX
    assert message["Subject"] == "Your code"
    assert message.get_body(("plain",)).get_content().strip() == "123456 is your code."
    assert message.get_body(("html",)).get_content().strip() == "<p>123456 is your code.</p>"


@pytest.mark.settings(SMS_BACKEND="outbox")
def test_the_sms_outbox_writes_a_text_file(app, queue, deliver):
    """With SMS_BACKEND=outbox an SMS becomes a .txt file with its number and text."""
    queue("sms", NUMBER, subject="")

    deliver()

    [path] = (Path(app.config["OUTBOX_DIR"]) / "sms").glob("*.txt")
    assert path.read_text(encoding="utf-8") == f"To: {NUMBER}\n\n123456 is your code.\n"


@pytest.fixture
def sender(app):
    """The app's own sender thread, stopped at the end of the test."""
    running = app.extensions["sspr.sender"]
    yield running
    running.stop()


@pytest.mark.settings(SENDER_THREAD=True)
def test_the_sender_thread_delivers_without_being_asked(client, sender, queue, smtp):
    """With SENDER_THREAD on, the first request starts a thread that delivers what is queued."""
    client.get("/healthz")

    queue()

    assert smtp.wait_for(MAILBOX, timeout=10).text.strip() == "123456 is your code."
    assert sender.thread is not None and sender.thread.is_alive()


RECIPIENTS = [f"user{n}@mail.example.org" for n in range(3)]


def test_a_batch_goes_out_over_one_smtp_connection(frozen, queue, stored, smtp, deliver):
    """The mails claimed together go out one after another on one connection."""
    queued = [queue(recipient=to) for to in RECIPIENTS]

    tried = deliver()

    assert tried == 3
    assert [stored(message_id).status for message_id in queued] == ["sent"] * 3
    assert [m.recipients for m in smtp.inbox.items] == [[to] for to in RECIPIENTS]
    assert len(smtp.connections) == 1
    assert {m.connection for m in smtp.inbox.items} == set(smtp.connections)


def test_a_mail_refused_mid_batch_is_retried_and_the_others_go_out(frozen, queue, stored, smtp, deliver):
    """A recipient the server refuses (450) fails that mail alone: the others go out on the
    same connection, and the refused one after its back-off."""
    first, second, third = RECIPIENTS
    queued = [queue(recipient=to) for to in RECIPIENTS]
    smtp.refused.add(second)
    deliver()
    after_refusal = [stored(message_id) for message_id in queued]
    smtp.refused.clear()
    frozen.shift(outbox.backoff(1))

    deliver()

    assert [(m.status, m.attempts) for m in after_refusal] == [("sent", 1), ("pending", 1), ("sent", 1)]
    assert "450" in after_refusal[1].last_error
    assert stored(queued[1]).status == "sent"
    assert [m.recipients for m in smtp.inbox.items] == [[first], [third], [second]]
    assert smtp.inbox.items[0].connection == smtp.inbox.items[1].connection


def test_a_connection_dropped_mid_batch_is_reopened_for_the_rest(frozen, queue, stored, smtp, deliver):
    """A connection that breaks during a mail fails that mail (retried later: it may or may
    not have been taken) and the next mail goes out on a new connection."""
    first, second, third = RECIPIENTS
    queued = [queue(recipient=to) for to in RECIPIENTS]
    smtp.dropped.add(second)

    deliver()

    after = [stored(message_id) for message_id in queued]
    assert [(m.status, m.attempts) for m in after] == [("sent", 1), ("pending", 1), ("sent", 1)]
    assert after[1].next_attempt_at == START + outbox.backoff(1)
    assert [m.recipients for m in smtp.inbox.items] == [[first], [third]]
    assert len(smtp.connections) == 2
    assert [m.connection for m in smtp.inbox.items] == smtp.connections


def test_a_message_the_sender_chokes_on_fails_alone(frozen, queue, stored, smtp, deliver):
    """A mail that cannot even be built (here a recipient with a line break, which no
    form lets in) fails like a refused one, with the error kept; the sender goes on to
    the next mail instead of stopping."""
    broken = queue(recipient="bob@mail.example.org\nBcc: everyone@mail.example.org")
    fine = queue()

    tried = deliver()

    choked, sent = stored(broken), stored(fine)
    assert tried == 2
    assert (choked.status, choked.attempts, choked.next_attempt_at) == ("pending", 1, START + outbox.backoff(1))
    assert "unexpected error" in choked.last_error
    assert sent.status == "sent"
    assert [m.recipients for m in smtp.inbox.items] == [[MAILBOX]]
