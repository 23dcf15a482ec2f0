"""What happens at sign-in: who gets in, and where they are sent first."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from flask_babel import ngettext

from sspr import audit, policy, users
from sspr.models import User


class SignInRefused(Exception):
    """Sign-in refused; str() is the message for the page."""


def attempt(username: str, password: str) -> User:
    """The user, when the password is right and the account may sign in.
    Wrong and unknown look the same; "blocked" is said only after the right password."""
    user, right = users.authenticate(username, password)
    if user is None or not right:
        audit.record("login.failed", subject=user)
        raise SignInRefused(_("The user name or password is not right."))
    if user.blocked:
        audit.record("login.blocked", subject=user)
        raise SignInRefused(_("This account is blocked. Contact your IT support."))
    return user


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
