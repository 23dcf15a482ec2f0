"""What happens at sign-in: who gets in, and where they are sent first."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app

from sspr import audit, policy, users
from sspr.i18n import gettext as _
from sspr.i18n import ngettext
from sspr.models import User


class SignInRefused(Exception):
    """Sign-in refused; str() is the message for the page."""


MAX_LOCK = timedelta(days=1)


def attempt(username: str, password: str, now: datetime) -> User:
    """The user, when the password is right and the account may sign in.
    Wrong and unknown look the same, locked or not (the password is checked
    either way, so the time is the same too); "blocked" and "locked" are said
    only to someone who typed the right password."""
    user, right = users.authenticate(username, password)
    if user is None or not right:
        audit.record("login.failed", subject=user)
        if user is not None:
            _count_failure(user, now)
        raise SignInRefused(_("The user name or password is not right."))
    if user.blocked:
        audit.record("login.blocked", subject=user)
        raise SignInRefused(_("This account is blocked. Contact your IT support."))
    if users.locked(user, now):
        audit.record("login.locked_out", subject=user)
        raise SignInRefused(
            _(
                "This account is locked for a while after too many wrong passwords. Try again "
                "later, or reset your password to unlock it now."
            )
        )
    users.unlock(user)
    return user


def _count_failure(user: User, now: datetime) -> None:
    """Count a wrong password; every THRESHOLD in a row locks sign-in, each lock twice the last."""
    cfg = current_app.config
    user.failed_logins += 1
    threshold = cfg["LOGIN_LOCKOUT_THRESHOLD"]
    if user.failed_logins % threshold == 0:
        locks = user.failed_logins // threshold
        length = min(timedelta(minutes=cfg["LOGIN_LOCKOUT_MINUTES"] * 2 ** min(locks - 1, 16)), MAX_LOCK)
        user.locked_until = now + length
        audit.record("login.lockout", subject=user, minutes=int(length.total_seconds() // 60))


def landing(user: User, now: datetime) -> tuple[str, list[str]]:
    """The endpoint to send a freshly signed-in user to, and the notices to show there."""
    pol = policy.current()
    if users.must_change(user, pol, now):
        if user.must_change_password:
            return "auth.change_password", []
        return "auth.change_password", [_("Your password has expired. Choose a new one to go on.")]
    notices = []
    expires = users.password_expires_at(user, pol)
    if expires is not None and (expires - now).days < pol.expiry_warning_days:
        days = max((expires - now).days, 0)
        notices.append(
            ngettext("Your password expires in %(num)d day.", "Your password expires in %(num)d days.", days)
        )
    if pol.register_prompt and not user.verified_methods():
        notices.append(
            _(
                "Add an alternate e-mail address or a mobile phone below, so that you can reset your "
                "password yourself if you forget it."
            )
        )
    elif pol.reconfirm_days and (
        user.contacts_confirmed_at is None or (now - user.contacts_confirmed_at).days >= pol.reconfirm_days
    ):
        notices.append(_("Please check that your alternate e-mail address and mobile phone below are still right."))
    return "account.index", notices
