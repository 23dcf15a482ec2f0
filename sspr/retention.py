"""Old working data is deleted: finished or abandoned reset flows with their
codes, delivered outbox rows and expired reveal links.  The audit log is kept."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, update

from sspr.extensions import db
from sspr.models import Challenge, OutboxMessage, ResetFlow, RevealLink

log = logging.getLogger(__name__)

# Long enough for the hourly code limit and for anyone looking into a fresh incident.
FLOWS_KEPT = timedelta(days=1)
OUTBOX_KEPT = timedelta(days=30)


def purge(now: datetime) -> int:
    """Delete what is past keeping (committed); the number of rows deleted."""
    deleted = 0
    for statement in (
        delete(Challenge).where(Challenge.created_at < now - FLOWS_KEPT),
        delete(ResetFlow).where(ResetFlow.created_at < now - FLOWS_KEPT),
        delete(OutboxMessage).where(OutboxMessage.status != "pending", OutboxMessage.created_at < now - OUTBOX_KEPT),
        # A dead message keeps its body for an admin's retry only while it can still matter.
        update(OutboxMessage)
        .where(OutboxMessage.status == "dead", OutboxMessage.not_after < now, OutboxMessage.body_text != "")
        .values(body_text="", body_html=""),
        # An expired reveal link's (encrypted) password is erased at once; the row stays a
        # while, so the link still says "expired" rather than "not valid".
        update(RevealLink).where(RevealLink.expires_at < now, RevealLink.ciphertext != "").values(ciphertext=""),
        delete(RevealLink).where(RevealLink.expires_at < now - OUTBOX_KEPT),
    ):
        deleted += db.session.execute(statement).rowcount  # type: ignore[attr-defined]
    db.session.commit()
    if deleted:
        log.info("retention: deleted %d old rows", deleted)
    return deleted
