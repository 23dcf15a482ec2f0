"""The durable outbox: messages are queued in the database with what caused them
and delivered off the request path, with retries and back-off.

Any number of senders (threads in app processes, `sspr worker` processes) may
run at once: each message is claimed by a conditional UPDATE with a lease, so
only one sender holds it; a sender that dies leaves a lease that runs out.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, Response, current_app, g, has_app_context, has_request_context
from sqlalchemy import event, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from sspr import clock
from sspr.errors import DeliveryFailed
from sspr.extensions import db
from sspr.models import OutboxMessage
from sspr.verification.email import MailSender
from sspr.verification.sms import SmsSender

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
BATCH = 20
BACKOFF_FIRST_SECONDS = 5
BACKOFF_MAX_SECONDS = 15 * 60
WAKE_KEY = "sspr.outbox.queued"
CHORES_EVERY_SECONDS = 600

# Periodic work the sender does besides delivery (purging, reminders): takes "now", returns a count.
Chore = Callable[[datetime], int]


def enqueue(
    channel: str, recipient: str, *, subject: str = "", text: str, html: str = "", not_after: datetime | None = None
) -> OutboxMessage:
    """Stage a message in the current transaction; senders wake when it commits."""
    message = OutboxMessage(
        channel=channel, recipient=recipient, subject=subject, body_text=text, body_html=html, not_after=not_after
    )
    db.session.add(message)
    db.session.info[WAKE_KEY] = True
    return message


def backoff(attempts: int) -> timedelta:
    """5 s, 10 s, 20 s, ... up to 15 minutes between tries."""
    return timedelta(seconds=min(BACKOFF_FIRST_SECONDS * 2 ** (attempts - 1), BACKOFF_MAX_SECONDS))


def claim_due(now: datetime, limit: int = BATCH) -> list[int]:
    """Ids of due messages this sender now holds a lease on."""
    free = or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now)
    candidates = db.session.scalars(
        select(OutboxMessage.id)
        .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now, free)
        .order_by(OutboxMessage.id)
        .limit(limit)
    ).all()
    claimed = []
    for message_id in candidates:
        result = db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status == "pending", free)
            .values(claimed_until=now + LEASE)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(message_id)
    db.session.commit()
    return claimed


def _finish(message: OutboxMessage, status: str) -> None:
    """Close a message for good; its body (maybe a code) is erased."""
    message.status = status
    message.body_text = message.body_html = ""
    message.claimed_until = None


def deliver(message: OutboxMessage, now: datetime) -> None:
    """Try one claimed message once and record the outcome (committed)."""
    if message.not_after is not None and now >= message.not_after:
        _finish(message, "expired")
        log.info("%s %d to %s expired before it could be sent", message.channel, message.id, message.recipient)
        db.session.commit()
        return
    senders: dict[str, MailSender | SmsSender] = current_app.extensions["sspr.senders"]
    message.attempts += 1
    try:
        senders[message.channel].send(message)
    except DeliveryFailed as exc:
        message.last_error = str(exc)[:500]
        message.claimed_until = None
        if message.attempts >= current_app.config["SENDER_MAX_ATTEMPTS"]:
            _finish(message, "dead")
            log.error(
                "%s %d to %s given up after %d attempts: %s",
                message.channel,
                message.id,
                message.recipient,
                message.attempts,
                exc,
            )
        else:
            message.next_attempt_at = now + backoff(message.attempts)
            log.warning(
                "%s %d to %s failed (attempt %d), retrying at %s: %s",
                message.channel,
                message.id,
                message.recipient,
                message.attempts,
                message.next_attempt_at.isoformat(),
                exc,
            )
    else:
        message.sent_at = now
        message.last_error = ""
        _finish(message, "sent")
    db.session.commit()


def deliver_due() -> int:
    """Deliver what is due now; the number of messages tried."""
    claimed = claim_due(clock.now())
    for message_id in claimed:
        message = db.session.get(OutboxMessage, message_id)
        if message is not None:
            deliver(message, clock.now())
    return len(claimed)


class Sender:
    """Delivers the outbox in a loop until stopped; woken early when a message is queued."""

    def __init__(self, app: Flask, chores: Sequence[Chore] = ()) -> None:
        self.app = app
        self.chores = chores
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self.starting = threading.Lock()
        self.next_chores = 0.0

    def run(self) -> None:
        poll = self.app.config["SENDER_POLL_SECONDS"]
        while not self.stopping.is_set():
            with self.app.app_context():
                try:
                    busy = deliver_due() > 0
                    self._chores_now_and_then()
                except SQLAlchemyError:
                    log.exception("outbox: database unavailable; trying again shortly")
                    db.session.rollback()
                    busy = False
                finally:
                    db.session.remove()
            if not busy:
                self.wake.wait(poll)
                self.wake.clear()

    def _chores_now_and_then(self) -> None:
        if time.monotonic() >= self.next_chores:
            self.next_chores = time.monotonic() + CHORES_EVERY_SECONDS
            for chore in self.chores:
                chore(clock.now())

    def start_thread(self) -> None:
        with self.starting:
            if self.thread is None:
                self.thread = threading.Thread(target=self.run, name="sspr-outbox-sender", daemon=True)
                self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        if self.thread is not None:
            self.thread.join(timeout=30)


def _wake_after_commit(session: Session) -> None:
    """Wake the sender for what was just queued.  In a request, only once the
    response has gone out: a sender busy while the page is still being built
    would make pages that send a message slower than decoy pages that do not."""
    if not (session.info.pop(WAKE_KEY, False) and has_app_context()):
        return
    if has_request_context():
        g.sspr_wake_sender = True
    else:
        current_app.extensions["sspr.sender"].wake.set()


def _forget_after_rollback(session: Session) -> None:
    session.info.pop(WAKE_KEY, None)


def init_app(app: Flask, chores: Sequence[Chore] = ()) -> None:
    sender = Sender(app, chores)
    app.extensions["sspr.sender"] = sender
    if not event.contains(Session, "after_commit", _wake_after_commit):
        event.listen(Session, "after_commit", _wake_after_commit)
        event.listen(Session, "after_rollback", _forget_after_rollback)

    @app.after_request
    def wake_once_sent(response: Response) -> Response:
        if g.pop("sspr_wake_sender", False):
            response.call_on_close(sender.wake.set)
        return response

    if app.config["SENDER_THREAD"]:

        @app.before_request
        def start_sender() -> Any:
            sender.start_thread()
