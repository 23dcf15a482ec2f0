"""The user lists the console shows, as SQL conditions: the dashboard counts
them, and the users page filters by them, so the two always agree."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, and_, case, false, func, or_, select, true

from sspr.extensions import db
from sspr.models import User
from sspr.policy import Policy

Condition = Callable[[Policy, datetime], ColumnElement[bool]]


def _verified_methods(pol: Policy) -> ColumnElement[int]:
    """How many of the methods the policy enables each user has registered."""
    email = case((User.alternate_email.is_not(None), 1), else_=0) if "email" in pol.methods else 0
    sms = case((User.phone.is_not(None), 1), else_=0) if "sms" in pol.methods else 0
    return email + sms  # type: ignore[return-value]


def cannot_self_serve(pol: Policy, now: datetime) -> ColumnElement[bool]:
    """Fewer verified methods than the wizard asks of them (admins need two), or left out by the policy."""
    needed = case((User.role.in_(("password-admin", "global-admin")), 2), else_=pol.required_for(len(pol.methods)))
    scope: ColumnElement[bool]
    if pol.self_service == "nobody":
        scope = true()
    elif pol.self_service == "group":
        groups = "," + func.lower(func.replace(User.groups, " ", "")) + ","
        scope = ~groups.contains("," + pol.self_service_group.lower().replace(" ", "") + ",")
    else:
        scope = false()
    return or_(_verified_methods(pol) < needed, scope, User.blocked)


def locked(pol: Policy, now: datetime) -> ColumnElement[bool]:
    return or_(User.locked_until > now, User.blocked)


def _expiring(pol: Policy) -> ColumnElement[bool]:
    return and_(true() if pol.password_expiry_days > 0 else false(), ~User.password_never_expires)


def expired(pol: Policy, now: datetime) -> ColumnElement[bool]:
    cutoff = now - timedelta(days=pol.password_expiry_days)
    return and_(_expiring(pol), User.password_changed_at <= cutoff)


def expiring_soon(pol: Policy, now: datetime) -> ColumnElement[bool]:
    """Expiring within the next 14 days (and not yet expired)."""
    cutoff = now - timedelta(days=pol.password_expiry_days)
    return and_(
        _expiring(pol), User.password_changed_at > cutoff, User.password_changed_at <= cutoff + timedelta(days=14)
    )


def must_change(pol: Policy, now: datetime) -> ColumnElement[bool]:
    return User.must_change_password.is_(True)


FILTERS: dict[str, tuple[object, Condition]] = {
    "cannot-self-serve": (_l("Cannot reset their own password"), cannot_self_serve),
    "locked": (_l("Locked out or blocked"), locked),
    "expired": (_l("Password expired"), expired),
    "expiring": (_l("Password expires within 14 days"), expiring_soon),
    "must-change": (_l("Must change password at next sign-in"), must_change),
}


def counts(pol: Policy, now: datetime) -> dict[str, int]:
    """How many users each list holds, in one query."""
    columns = [
        func.count().filter(condition(pol, now)).label(name.replace("-", "_"))
        for name, (_label, condition) in FILTERS.items()
    ]
    row = db.session.execute(select(*columns).select_from(User)).one()
    return {name: int(value) for name, value in zip(FILTERS, row, strict=True)}
