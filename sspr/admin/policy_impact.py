"""Who would lose self-service under a proposed policy, shown before a stricter
policy is saved.

It reuses the dashboard's "cannot reset their own password" condition for
both policies, so the page, the dashboard and the users list always agree on
who can self-serve.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, select

from sspr.admin.queries import cannot_self_serve
from sspr.extensions import db
from sspr.models import User
from sspr.policy import Policy

# The page names at most this many users; the count is always complete.
LIST_LIMIT = 200


@dataclass(frozen=True)
class Impact:
    count: int
    # The first LIST_LIMIT of them, by user name.
    users: list[User]


def narrows(before: Policy, after: Policy) -> bool:
    """Whether the change can take self-service away from someone: a method
    turned off, more methods required, or self-service limited further."""
    if set(before.methods) - set(after.methods) or after.methods_required > before.methods_required:
        return True
    if after.self_service == "nobody":
        return before.self_service != "nobody"
    if after.self_service == "group":
        return before.self_service == "everyone" or (
            before.self_service == "group"
            and before.self_service_group.casefold() != after.self_service_group.casefold()
        )
    return False


def _losing(before: Policy, after: Policy, now: datetime) -> ColumnElement[bool]:
    return and_(~cannot_self_serve(before, now), cannot_self_serve(after, now))


def losers(before: Policy, after: Policy, now: datetime) -> Impact:
    """The users who can reset their own password now but could not after the change."""
    who = _losing(before, after, now)
    count = db.session.scalar(select(func.count()).select_from(User).where(who)) or 0
    users = list(db.session.scalars(select(User).where(who).order_by(User.username_key).limit(LIST_LIMIT)))
    return Impact(count, users)
