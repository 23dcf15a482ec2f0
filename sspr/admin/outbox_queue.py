"""The outbox as the console shows it: the messages not delivered yet (waiting,
failing, dead), counted for the dashboard, and an admin's "retry now" and
"discard", audited.  A message's body is never shown: it may hold a code or a link."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select

from sspr import audit, contacts
from sspr.extensions import db
from sspr.i18n import lazy_gettext as _l
from sspr.models import MAX_ID, OutboxMessage, User
from sspr.verification import outbox

# At most this many messages are listed (the oldest first): in an outage of the
# mail relay thousands may wait, and the counts say how many.
LIMIT = 100

# The states the console lists: name, label, condition.
STATES: dict[str, tuple[object, ColumnElement[bool]]] = {
    "dead": (_l("Given up after repeated failures"), OutboxMessage.status == "dead"),
    "failing": (
        _l("Failed, to be tried again"),
        (OutboxMessage.status == "pending") & (OutboxMessage.attempts > 0),
    ),
    "waiting": (
        _l("Waiting to be sent"),
        (OutboxMessage.status == "pending") & (OutboxMessage.attempts == 0),
    ),
}

# What each kind of message is, in words (a kind is its template's name).
KINDS = {
    "code": _l("Verification code"),
    "password_changed": _l("Password changed notice"),
    "account_unlocked": _l("Account unlocked notice"),
    "contact_changed": _l("Contact details changed notice"),
    "expiry_reminder": _l("Password expiry reminder"),
    "reveal": _l("Link to a temporary password"),
    "admin_alert": _l("Security notice to admins"),
    "sms_ceiling": _l("Text messages stopped notice to admins"),
}

ACTIONS: dict[str, tuple[Callable[[int, datetime], bool], str]] = {
    "retry": (outbox.retry_now, "admin.outbox_retried"),
    "discard": (outbox.discard, "admin.outbox_discarded"),
}


@dataclass(frozen=True)
class Row:
    """One message as the console lists it."""

    id: int
    created_at: datetime
    kind: str
    channel: str
    recipient: str  # masked
    state: str
    attempts: int
    last_error: str
    next_attempt_at: datetime | None  # None when dead
    held: bool  # a sender is trying it now: no action until it is done
    retryable: bool  # not past the time it was worth sending


def counts() -> dict[str, int]:
    """How many messages are in each state, in one query."""
    columns = [func.count().filter(condition).label(name) for name, (_label, condition) in STATES.items()]
    row = db.session.execute(select(*columns).select_from(OutboxMessage)).one()
    return {name: int(value) for name, value in zip(STATES, row, strict=True)}


def _state(message: OutboxMessage) -> str:
    if message.status == "dead":
        return "dead"
    return "failing" if message.attempts else "waiting"


def listing(now: datetime, state: str = "") -> list[Row]:
    """The oldest LIMIT messages in this state (any of STATES when none is named)."""
    condition = STATES[state][1] if state else OutboxMessage.status.in_(("pending", "dead"))
    messages = db.session.scalars(select(OutboxMessage).where(condition).order_by(OutboxMessage.id).limit(LIMIT))
    return [
        Row(
            id=m.id,
            created_at=m.created_at,
            kind=str(KINDS.get(m.kind, m.kind or "—")),
            channel=m.channel,
            recipient=contacts.mask(m.channel, m.recipient),
            state=_state(m),
            attempts=m.attempts,
            last_error=m.last_error,
            next_attempt_at=None if m.status == "dead" else m.next_attempt_at,
            held=m.claimed_until is not None and m.claimed_until > now,
            retryable=m.not_after is None or m.not_after > now,
        )
        for m in messages
    ]


def act(actor: User, message_id: int, action: str, now: datetime) -> bool:
    """Retry or discard one message, with an audit row (staged; the caller commits).
    False when it is not waiting, failing or dead any more, or a sender holds it."""
    message = db.session.get(OutboxMessage, message_id) if message_id <= MAX_ID else None
    change, event = ACTIONS[action]
    if message is None or not change(message_id, now):
        return False
    # ``message`` still shows the row as it was before the change: what the audit row describes.
    audit.record(
        event,
        actor=actor,
        message=message.id,
        kind=message.kind,
        channel=message.channel,
        recipient=contacts.mask(message.channel, message.recipient),
        was=_state(message),
        attempts=message.attempts,
    )
    return True
