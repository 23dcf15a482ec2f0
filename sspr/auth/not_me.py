""" "This wasn't me": the link in every "your password was changed" notice.

Opening it (a GET, which mail scanners also do) only asks; the POST locks the
account until an admin unblocks it, ends its sessions, voids its pending codes,
links and temporary passwords, and alerts the global admins.
"""

from __future__ import annotations

from sqlalchemy import update

from sspr import audit, clock, notifications, tokens
from sspr.errors import ReportLinkInvalid
from sspr.extensions import db
from sspr.models import Challenge, ResetFlow, RevealLink, User, new_session_version


def user_for(token: str) -> User:
    try:
        payload = tokens.load(tokens.NOT_ME, token, tokens.NOT_ME_DAYS * 24 * 3600)
    except tokens.TokenInvalid as exc:
        raise ReportLinkInvalid("not-me token invalid or expired") from exc
    user = db.session.get(User, payload.get("u")) if isinstance(payload.get("u"), int) else None
    if user is None:
        raise ReportLinkInvalid("not-me token for a deleted user")
    return user


def report(token: str) -> User:
    """Lock the account and alert the admins (committed).  Reporting twice is harmless."""
    user = user_for(token)
    now = clock.now()
    already = user.blocked
    user.blocked = True
    user.session_version = new_session_version()
    db.session.execute(
        update(Challenge)
        .where(Challenge.user_id == user.id, Challenge.used_at.is_(None), Challenge.voided_at.is_(None))
        .values(voided_at=now)
    )
    db.session.execute(
        update(ResetFlow)
        .where(ResetFlow.user_id == user.id, ResetFlow.completed_at.is_(None))
        .values(step="dead", version=ResetFlow.version + 1)
    )
    db.session.execute(
        update(RevealLink)
        .where(RevealLink.user_id == user.id, RevealLink.used_at.is_(None))
        .values(used_at=now, ciphertext="")
    )
    audit.record("user.reported_not_me", subject=user, already_blocked=already)
    if not already:
        notifications.alert_admins(user, "reported")
    db.session.commit()
    return user
