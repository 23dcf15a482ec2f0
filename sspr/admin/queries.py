"""The user lists the console shows, as SQL conditions: the dashboard counts
them, and the users page filters by them, so the two always agree."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, false, func, or_, select, true

from sspr import contacts, users
from sspr.extensions import db
from sspr.i18n import gettext as _
from sspr.i18n import lazy_gettext as _l
from sspr.models import User
from sspr.policy import Policy

Condition = Callable[[Policy, datetime], ColumnElement[bool]]

# The dashboard's "expires soon" window.
EXPIRING_DAYS = 14


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
    """Expiring within the next EXPIRING_DAYS days (and not yet expired)."""
    cutoff = now - timedelta(days=pol.password_expiry_days)
    return and_(
        _expiring(pol),
        User.password_changed_at > cutoff,
        User.password_changed_at <= cutoff + timedelta(days=EXPIRING_DAYS),
    )


def must_change(pol: Policy, now: datetime) -> ColumnElement[bool]:
    return User.must_change_password.is_(True)


FILTERS: dict[str, tuple[object, Condition]] = {
    "cannot-self-serve": (_l("Cannot reset their own password"), cannot_self_serve),
    "locked": (_l("Locked out or blocked"), locked),
    "expired": (_l("Password expired"), expired),
    "expiring": (_l("Password expires within %(num)d days", num=EXPIRING_DAYS), expiring_soon),
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


PAGE_SIZE = 50


@dataclass(frozen=True)
class Page:
    users: list[User]
    number: int
    pages: int
    total: int


def search(pol: Policy, now: datetime, *, text: str = "", list_name: str = "", page: int = 1) -> Page:
    """One page of users, in user-name order: those in the named list (FILTERS) whose user name,
    display name or alternate e-mail contains the text, in any case.  A page past the end
    gives the last page."""
    query = select(User)
    if list_name:
        query = query.where(FILTERS[list_name][1](pol, now))
    if text.strip():
        folded = text.strip().lower()
        query = query.where(
            or_(
                # username_key is casefolded and NFKC'd: "ALICE" and a full-width "Alice" both match.
                User.username_key.contains(contacts.username_key(text), autoescape=True),
                func.lower(User.display_name).contains(folded, autoescape=True),
                func.lower(User.alternate_email).contains(folded, autoescape=True),
            )
        )
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    number = min(max(page, 1), pages)
    found = db.session.scalars(query.order_by(User.username_key).limit(PAGE_SIZE).offset((number - 1) * PAGE_SIZE))
    return Page(list(found), number, pages, total)


def flags(user: User, pol: Policy, now: datetime) -> list[str]:
    """The account states worth a glance in the list, in plain words."""
    shown = []
    if user.blocked:
        shown.append(_("blocked"))
    if user.locked_until is not None and user.locked_until > now:
        shown.append(_("locked out"))
    if user.must_change_password:
        shown.append(_("must change password"))
    expires = users.password_expires_at(user, pol)
    if expires is not None and expires <= now:
        shown.append(_("password expired"))
    if user.password_never_expires:
        shown.append(_("password never expires"))
    return shown
