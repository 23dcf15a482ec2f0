"""Limits on the verification codes sspr sends, whoever asks and by whichever path
(the reset wizard, /account):

- at most ``codes_per_destination_per_hour`` to one address or number, however
  many accounts name it, so nobody can flood someone's mailbox or phone through
  a crowd of user names;
- at most ``sms_per_hour`` SMS codes in all, against SMS pumping (a flood of
  paid texts to numbers whose operator pays the attacker a share).

Both count the challenges whose message was queued: each carries a keyed digest
of its destination (never the destination itself) and nothing else does.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select

from sspr import audit, contacts, notifications, policy, tokens
from sspr.extensions import db
from sspr.models import AuditEvent, Challenge, User

WINDOW = timedelta(hours=1)
# Why a code may not go out.
DESTINATION = "destination"
SMS_CEILING = "sms_ceiling"


def destination_key(channel: str, destination: str) -> str:
    """Keyed digest of the normalised address or number: one mailbox or phone, one key,
    whatever case an address was stored in."""
    normal = contacts.email_key(destination) if channel == "email" else destination.strip()
    return hmac.new(tokens.subkey("sspr.destination"), f"{channel}:{normal}".encode(), hashlib.sha256).hexdigest()


def refusal(channel: str, key: str, now: datetime) -> str | None:
    """Why no code may go now to the destination of this key (DESTINATION or
    SMS_CEILING), or None.  A decoy asks as well, with a key no challenge carries,
    so that it runs the same queries as a real request."""
    pol = policy.current()
    since = now - WINDOW
    to_destination = _count(Challenge, Challenge.destination_key == key, Challenge.created_at > since)
    if to_destination >= pol.codes_per_destination_per_hour:
        return DESTINATION
    if channel == "sms":
        sent = _count(
            Challenge, Challenge.channel == "sms", Challenge.destination_key.is_not(None), Challenge.created_at > since
        )
        if sent >= pol.sms_per_hour:
            return SMS_CEILING
    return None


def ceiling_reached(subject: User | None, now: datetime) -> None:
    """Audit an SMS code held back by the ceiling; the first in an hour also alerts
    the global admins (two requests at the same instant may both alert: a second
    mail is harmless, a lock on every SMS is not worth it)."""
    limit = policy.current().sms_per_hour
    audit.record("sms.ceiling_reached", subject=subject, limit=limit)
    if not _count(AuditEvent, AuditEvent.event == "sms.ceiling_alerted", AuditEvent.at > now - WINDOW):
        audit.record("sms.ceiling_alerted", limit=limit, admins=notifications.alert_sms_ceiling(limit))


def _count(table: type[Challenge] | type[AuditEvent], *conditions: ColumnElement[bool]) -> int:
    return db.session.scalar(select(func.count()).select_from(table).where(*conditions)) or 0
