"""Users: finding, creating, authenticating, and changing passwords.

Functions stage changes in the current transaction; the caller commits, so a
step's changes land together or not at all.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import literal, select
from sqlalchemy.orm.attributes import flag_modified

from sspr import clock, contacts, passwords, policy
from sspr.extensions import db
from sspr.i18n import gettext as _
from sspr.models import ROLES, User, new_session_version


class UserError(ValueError):
    """A user cannot be created or changed as asked; str() says why, for people."""


def self_service_user(username: str, pol: policy.Policy) -> User | None:
    """The user of this name if they may use the reset wizard (not blocked, in the
    policy's self-service scope); else None.  The same query whether such a user
    exists or not: the typed name left-joined to the users gives exactly one row
    either way (a plain look-up returns a row for a known name only, measurably
    slower), and the scope is checked for every name."""
    typed = select(literal(contacts.username_key(username)).label("key")).subquery()
    user = db.session.execute(
        select(User, typed.c.key).select_from(typed.outerjoin(User, User.username_key == typed.c.key))
    ).one()[0]
    allowed = pol.allows_self_service(user.groups if user is not None else "")
    return user if user is not None and allowed and not user.blocked else None


def find(username: str) -> User | None:
    key = contacts.username_key(username)
    if not key:
        return None
    return db.session.scalar(select(User).where(User.username_key == key))


def create(
    username: str,
    password: str,
    *,
    display_name: str = "",
    alternate_email: str | None = None,
    phone: str | None = None,
    role: str = "user",
    must_change_password: bool = False,
) -> User:
    """A new user with verified contact details (an operator typed them)."""
    try:
        name = contacts.clean_username(username)
        email = contacts.normalise_email(alternate_email) if alternate_email else None
        region = current_app.config["PHONE_REGION"]
        number = contacts.normalise_mobile(phone, region, policy.current().sms_regions(region)) if phone else None
    except contacts.InvalidContact as exc:
        raise UserError(str(exc)) from exc
    if role not in ROLES:
        raise UserError(_("Unknown role %(role)s.", role=role))
    if find(name) is not None:
        raise UserError(_("A user named %(name)s already exists.", name=name))
    user = User(
        username=name,
        username_key=contacts.username_key(name),
        display_name=display_name.strip(),
        password_hash=passwords.hash_password(password),
        role=role,
        alternate_email=email,
        phone=number,
        must_change_password=must_change_password,
    )
    db.session.add(user)
    db.session.flush()
    return user


def set_password_hash(user: User, password_hash: str, *, must_change: bool = False) -> None:
    """Store a new password and end every session and link made under the old one."""
    user.password_hash = password_hash
    user.password_changed_at = clock.now()
    user.must_change_password = must_change
    user.session_version = new_session_version()
    # The lockout protected the old password; a new one starts afresh.
    unlock(user)
    # Written even when unchanged: of two password changes racing (a reset and an admin's),
    # the row then holds the whole of the last one, never one's hash with the other's flags.
    for name in ("must_change_password", "locked_until", "failed_logins"):
        flag_modified(user, name)


def locked(user: User, now: datetime) -> bool:
    """Whether sign-in is locked after too many wrong passwords in a row."""
    return user.locked_until is not None and now < user.locked_until


def unlock(user: User) -> None:
    """Lift the sign-in lockout; the count of wrong passwords starts over."""
    user.locked_until = None
    user.failed_logins = 0


def may_unlock(user: User, pol: policy.Policy, now: datetime) -> bool:
    """Whether a user who proved it is them may lift the lock and keep the password:
    only while locked, not blocked, and with a password that may stay (not expired,
    not to be changed); otherwise a new password is the way out."""
    return locked(user, now) and not user.blocked and not must_change(user, pol, now)


def authenticate(username: str, password: str) -> tuple[User | None, bool]:
    """The user the name belongs to (None if nobody), and whether the password is
    theirs.  Unknown names cost the same time (a decoy hash is verified)."""
    user = find(username)
    if user is None:
        passwords.decoy_verify(password)
        return None, False
    if not passwords.verify(user.password_hash, password):
        if passwords.needs_rehash(user.password_hash):
            # A lighter hash (an admin's generated password, or old parameters) fails
            # faster: a decoy tops it up, so timing does not tell such accounts apart.
            passwords.decoy_verify(password)
        return user, False
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    return user, True


def policy_problems(
    username: str, new: str, *, current: str | None = None, current_hash: str | None = None
) -> list[passwords.Problem]:
    """What the policy finds wrong with a new password: the one check behind every
    password form and the live check as it is typed (which passes no current password)."""
    pol = policy.current()
    return passwords.check_new_password(
        new,
        username=username,
        min_length=pol.password_min_length,
        banned_words=pol.banned_words,
        current=current,
        current_hash=current_hash,
    )


def password_problems(
    username: str, new: str, confirm: str, *, current: str | None = None, current_hash: str | None = None
) -> list[str]:
    """What is wrong with a new password typed twice, in plain words; empty when it is fine."""
    problems = [p.message for p in policy_problems(username, new, current=current, current_hash=current_hash)]
    if new != confirm:
        problems.append(_("The two passwords are not the same."))
    return problems


def change_password(user: User, new: str, confirm: str, *, current: str | None) -> list[str]:
    """Check and stage the user's own password change; the problems, in plain words, if refused.
    ``current`` is the password the user typed to prove it is them (None when already proven)."""
    if current is not None:
        if not passwords.verify(user.password_hash, current):
            return [_("Your current password is not right.")]
        problems = password_problems(user.username, new, confirm, current=current)
    else:
        # Proven another way (the wizard's codes), so "the same as now" costs an argon2
        # verification on top of the hash: spent only where keeping the password would
        # defeat a rule, an expired password or an admin's "change at next sign-in".
        keeping_defeats_a_rule = must_change(user, policy.current(), clock.now())
        current_hash = user.password_hash if keeping_defeats_a_rule else None
        problems = password_problems(user.username, new, confirm, current_hash=current_hash)
    if not problems:
        set_password_hash(user, passwords.hash_password(new))
    return problems


def password_expires_at(user: User, pol: policy.Policy) -> datetime | None:
    """When the user's password expires under the policy; None when it never does."""
    if pol.password_expiry_days == 0 or user.password_never_expires:
        return None
    return user.password_changed_at + timedelta(days=pol.password_expiry_days)


def must_change(user: User, pol: policy.Policy, now: datetime) -> bool:
    """Whether the user has to set a new password before going on: told to, or expired."""
    expires = password_expires_at(user, pol)
    return user.must_change_password or (expires is not None and now >= expires)
