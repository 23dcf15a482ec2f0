"""The audit trail: one row and one structured log line per event.

Nothing secret goes in: no password, code, token or link, ever.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import has_request_context, request

from sspr.extensions import db
from sspr.models import AuditEvent, User

log = logging.getLogger("sspr.audit")


def record(event: str, *, actor: User | None = None, subject: User | None = None, **details: Any) -> None:
    """Stage an audit row in the current transaction (it commits with the change it describes)."""
    ip = request.remote_addr if has_request_context() else None
    row = AuditEvent(
        event=event,
        actor_id=actor.id if actor else None,
        subject_id=subject.id if subject else None,
        ip=ip,
        details=json.dumps(details, sort_keys=True, default=str),
    )
    db.session.add(row)
    log.info(
        "%s",
        json.dumps(
            {
                "event": event,
                "actor": actor.username if actor else None,
                "subject": subject.username if subject else None,
                "ip": ip,
                **details,
            },
            sort_keys=True,
            default=str,
        ),
    )
