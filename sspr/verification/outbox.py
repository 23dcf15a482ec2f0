"""The durable outbox: messages are queued in the database with what caused them
and delivered off the request path, with retries and back-off.

Any number of senders (threads in app processes, `sspr worker` processes) may
run at once: each message is claimed with a lease (SENDER_LEASE_SECONDS), so
only one sender holds it; a sender that dies leaves a lease that runs out, and
another sender takes the message then.  A sender told to stop finishes the
message in hand and gives the rest of its leases back.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, Response, current_app, g, has_app_context, has_request_context
from sqlalchemy import ColumnElement, event, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from sspr import audit, clock, contacts
from sspr.errors import DeliveryFailed
from sspr.extensions import db
from sspr.models import OutboxMessage
from sspr.verification.email import MailBatch, MailSender
from sspr.verification.sms import SmsBatch, SmsSender

log = logging.getLogger(__name__)

BATCH = 20
BACKOFF_FIRST_SECONDS = 5
BACKOFF_MAX_SECONDS = 15 * 60
WAKE_KEY = "sspr.outbox.queued"
CHORES_EVERY_SECONDS = 600

# Periodic work the sender does besides delivery (purging, reminders): takes "now", returns a count.
Chore = Callable[[datetime], int]


def enqueue(
    channel: str,
    recipient: str,
    *,
    kind: str = "",
    subject: str = "",
    text: str,
    html: str = "",
    not_after: datetime | None = None,
) -> OutboxMessage:
    """Stage a message in the current transaction; senders wake when it commits."""
    message = OutboxMessage(
        channel=channel,
        recipient=recipient,
        kind=kind,
        subject=subject,
        body_text=text,
        body_html=html,
        not_after=not_after,
    )
    db.session.add(message)
    db.session.info[WAKE_KEY] = True
    return message


def backoff(attempts: int) -> timedelta:
    """5 s, 10 s, 20 s, ... up to 15 minutes between tries."""
    return timedelta(seconds=min(BACKOFF_FIRST_SECONDS * 2 ** (attempts - 1), BACKOFF_MAX_SECONDS))


def _free(now: datetime) -> ColumnElement[bool]:
    """Held by no sender: never claimed, given back, or its lease ran out."""
    return or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now)


def lease() -> timedelta:
    """How long a claim holds the messages it took (SENDER_LEASE_SECONDS)."""
    return timedelta(seconds=current_app.config["SENDER_LEASE_SECONDS"])


def claim_due(now: datetime, limit: int = BATCH) -> list[int]:
    """Ids of due messages this sender now holds, each until ``now + lease()``.

    On PostgreSQL the look-up locks the rows it finds and passes over rows another
    sender has locked (FOR UPDATE SKIP LOCKED): senders neither wait for each other
    nor pick the same rows.  SQLite has no row locks (SQLAlchemy leaves the clause
    out) but one writer at a time, and the UPDATE takes only rows still free, so a
    rival that claimed first between the look-up and the UPDATE keeps its rows."""
    free = _free(now)
    candidates = db.session.scalars(
        select(OutboxMessage.id)
        .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now, free)
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    claimed: list[int] = []
    if candidates:
        claimed = sorted(
            db.session.scalars(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(candidates), OutboxMessage.status == "pending", free)
                .values(claimed_until=now + lease())
                .returning(OutboxMessage.id),
                execution_options={"synchronize_session": False},
            )
        )
    db.session.commit()
    return claimed


def release(message_ids: Sequence[int], held_until: datetime) -> None:
    """Give back leases not used (committed), so another sender may take the messages
    at once; a lease that ran out and was taken since is left to its new holder."""
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(message_ids), OutboxMessage.claimed_until == held_until)
        .values(claimed_until=None),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()


def _finish(message: OutboxMessage, status: str) -> None:
    """Close a message for good; its body (maybe a code) is erased."""
    message.status = status
    message.body_text = message.body_html = ""
    message.claimed_until = None


def _give_up(message: OutboxMessage) -> None:
    """Dead: no more tries unless an admin asks for one (so the body stays, until
    retention erases it once ``not_after`` has passed); audited, to alert on."""
    message.status = "dead"
    message.claimed_until = None
    audit.record(
        "outbox.dead",
        message=message.id,
        kind=message.kind,
        channel=message.channel,
        recipient=contacts.mask(message.channel, message.recipient),
        attempts=message.attempts,
        error=message.last_error,
    )


def retry_now(message_id: int, now: datetime) -> bool:
    """Make a waiting or dead message due at once (staged); False when there is no such
    message or a sender holds it.  A dead message gets one more try: its attempts stay
    counted, so if that try fails too it is dead again, not retried for hours."""
    return _change(message_id, now, status="pending", next_attempt_at=now)


def discard(message_id: int, now: datetime) -> bool:
    """Give a waiting or dead message up for good, erasing its body (staged); False when
    there is no such message or a sender holds it."""
    return _change(message_id, now, status="discarded", body_text="", body_html="")


def _change(message_id: int, now: datetime, **values: Any) -> bool:
    # One conditional UPDATE: a sender that claims the message at the same moment wins,
    # and the admin is told, rather than both acting on it.
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status.in_(("pending", "dead")), _free(now))
        .values(**values),
        execution_options={"synchronize_session": False},
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def deliver(message: OutboxMessage, now: datetime, senders: Mapping[str, MailBatch | SmsBatch]) -> None:
    """Try one claimed message once and record the outcome (committed), before the next
    message: a sender that dies can have sent at most this one without recording it."""
    if message.not_after is not None and now >= message.not_after:
        _finish(message, "expired")
        log.info("%s %d to %s expired before it could be sent", message.channel, message.id, message.recipient)
        db.session.commit()
        return
    message.attempts += 1
    try:
        senders[message.channel].send(message)
    except DeliveryFailed as exc:
        _failed(message, now, str(exc))
    except Exception as exc:
        # A message the sender chokes on (a bug, or data no server takes) must not stop the
        # sender and every message behind it: it fails like any other, until given up.
        log.exception("%s %d to %s: unexpected error", message.channel, message.id, message.recipient)
        _failed(message, now, f"unexpected error: {exc!r}")
    else:
        message.sent_at = now
        message.last_error = ""
        _finish(message, "sent")
    db.session.commit()


def _failed(message: OutboxMessage, now: datetime, error: str) -> None:
    """Record a failed try: another after the back-off, or given up after the last."""
    message.last_error = error[:500]
    message.claimed_until = None
    if message.attempts >= current_app.config["SENDER_MAX_ATTEMPTS"]:
        _give_up(message)
        log.error(
            "%s %d to %s given up after %d attempts: %s",
            message.channel,
            message.id,
            message.recipient,
            message.attempts,
            error,
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
            error,
        )


@contextlib.contextmanager
def _kept_after_commit() -> Iterator[None]:
    """Loaded rows stay loaded across commits: the batch's messages are read once, not
    read again after each one's commit.  What is read cannot change meanwhile: no one
    changes a message another sender holds."""
    session = db.session()
    expiring = session.expire_on_commit
    session.expire_on_commit = False
    try:
        yield
    finally:
        session.expire_on_commit = expiring


def deliver_due(stopping: threading.Event | None = None) -> int:
    """Deliver what is due now; the number of messages tried.  Once ``stopping`` is
    set, the message in hand is finished and the leases on the rest are given back."""
    claimed_at = clock.now()
    claimed = claim_due(claimed_at)
    if not claimed:
        return 0
    held_until = claimed_at + lease()
    app_senders: dict[str, MailSender | SmsSender] = current_app.extensions["sspr.senders"]
    with _kept_after_commit(), contextlib.ExitStack() as batches:
        messages = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.id.in_(claimed)).order_by(OutboxMessage.id)
        ).all()
        # Each channel's connection opens at its first message and closes when the batch ends.
        senders = {channel: batches.enter_context(sender.batch()) for channel, sender in app_senders.items()}
        for index, message in enumerate(messages):
            # A message is started only in the first half of the lease, so that a slow send
            # ends before the lease does and another sender may take the message (and send it again).
            if (stopping is not None and stopping.is_set()) or clock.now() >= claimed_at + lease() / 2:
                release([m.id for m in messages[index:]], held_until)
                return index
            deliver(message, clock.now(), senders)
    return len(messages)


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
                    busy = deliver_due(self.stopping) > 0
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
