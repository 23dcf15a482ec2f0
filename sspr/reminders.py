"""Expiry reminders: when passwords expire, users are mailed a few days before
(the policy's reminder_days), once per password and offset, never twice, even
with several senders running (a unique row per reminder)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from sspr import notifications, policy, users
from sspr.extensions import db
from sspr.models import PasswordReminder, User

log = logging.getLogger(__name__)


def _due_offset(days_left: int, offsets: tuple[int, ...]) -> int | None:
    """The reminder due now: the smallest offset that days_left has reached.
    A user who comes into range late gets one reminder, not all the missed ones."""
    reached = [d for d in offsets if days_left <= d]
    return min(reached) if reached and days_left >= 0 else None


def send_due(now: datetime) -> int:
    """Queue the reminders due now (each committed with its marker row); how many."""
    pol = policy.load()
    if pol.password_expiry_days == 0 or not pol.reminder_days:
        return 0
    window_start = now - timedelta(days=pol.password_expiry_days)
    window_end = window_start + timedelta(days=max(pol.reminder_days) + 1)
    candidates = db.session.scalars(
        select(User).where(
            ~User.password_never_expires,
            ~User.blocked,
            User.password_changed_at > window_start,
            User.password_changed_at <= window_end,
        )
    ).all()
    sent = 0
    for user in candidates:
        expires = users.password_expires_at(user, pol)
        offset = _due_offset((expires - now).days, pol.reminder_days) if expires else None
        if offset is None or not user.verified_methods():
            continue
        db.session.add(
            PasswordReminder(user_id=user.id, password_changed_at=user.password_changed_at, days_before=offset)
        )
        notifications.expiry_reminder(user, (expires - now).days if expires else 0)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()  # already sent, by this or another sender
            continue
        sent += 1
    if sent:
        log.info("reminders: %d expiry reminders queued", sent)
    return sent
