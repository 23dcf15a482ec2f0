"""What admins change on accounts besides the password: contact details, role,
lockouts, blocks, a forced change, ended sessions and "password never expires".

Each change is staged with its audit row in the current transaction; the caller
commits.  Permission (may_manage, global-admin for roles) is checked by the
caller before: these functions only refuse what nobody may do.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app

from sspr import audit, contacts, notifications, policy, users
from sspr.i18n import gettext as _
from sspr.models import ROLES, User, new_session_version


class ChangeRefused(ValueError):
    """The change cannot be made as asked; str() says why, for people.
    ``field`` names the form field at fault, when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def update_contacts(actor: User, user: User, *, display_name: str, alternate_email: str, phone: str) -> list[str]:
    """Set the user's display name, alternate e-mail and phone as the admin typed them
    (empty clears); the names of the fields that changed.  A replaced address or number
    is told, as when users change their own: a quiet swap is how accounts get taken over."""
    try:
        email = contacts.normalise_email(alternate_email) if alternate_email.strip() else None
    except contacts.InvalidContact as exc:
        raise ChangeRefused(str(exc), field="alternate_email") from exc
    try:
        region = current_app.config["PHONE_REGION"]
        allowed = policy.current().sms_regions(region)
        number = contacts.normalise_mobile(phone, region, allowed) if phone.strip() else None
    except contacts.InvalidContact as exc:
        raise ChangeRefused(str(exc), field="phone") from exc
    changed = []
    if display_name.strip() != user.display_name:
        user.display_name = display_name.strip()
        changed.append("display_name")
    for field, channel, old, new in (
        ("alternate_email", "email", user.alternate_email, email),
        ("phone", "sms", user.phone, number),
    ):
        if old != new:
            setattr(user, field, new)
            changed.append(field)
            if old:
                notifications.contact_changed(user, channel, old)
    if changed:
        audit.record("admin.contacts_changed", actor=actor, subject=user, fields=changed)
    return changed


def set_role(actor: User, user: User, role: str) -> bool:
    """Give the user this role (the caller checked the actor is a global admin); whether it changed.
    Nobody changes their own role, so the last global admin cannot demote themselves by mistake."""
    if role not in ROLES:
        raise ChangeRefused(_("Unknown role %(role)s.", role=role), field="role")
    if user.id == actor.id:
        raise ChangeRefused(_("You cannot change your own role; ask another global admin."), field="role")
    if role == user.role:
        return False
    audit.record("admin.role_changed", actor=actor, subject=user, old=user.role, new=role)
    user.role = role
    return True


def _block(user: User) -> None:
    # Sign-in is refused and every session ends: sessions.current_user checks the flag.
    user.blocked = True


def _unblock(user: User) -> None:
    user.blocked = False


def _force_change(user: User) -> None:
    user.must_change_password = True


def _end_sessions(user: User) -> None:
    # Every signed-in browser of the user fails sessions.current_user's version check from now on.
    user.session_version = new_session_version()


def _never_expire(user: User) -> None:
    user.password_never_expires = True


def _expire_normally(user: User) -> None:
    user.password_never_expires = False


# The one-click actions on an account, by the name its form posts.
ACTIONS: dict[str, Callable[[User], None]] = {
    "unlock": users.unlock,
    "block": _block,
    "unblock": _unblock,
    "force-change": _force_change,
    "end-sessions": _end_sessions,
    "never-expire": _never_expire,
    "expire-normally": _expire_normally,
}


def _done(action: str, name: str) -> str:
    """What to tell the admin after the action."""
    messages = {
        "unlock": lambda: _("%(name)s is unlocked and may sign in again.", name=name),
        "block": lambda: _("%(name)s is blocked: sign-in and self-service are refused until unblocked.", name=name),
        "unblock": lambda: _("%(name)s is unblocked.", name=name),
        "force-change": lambda: _("%(name)s must change the password at next sign-in.", name=name),
        "end-sessions": lambda: _("%(name)s is signed out everywhere.", name=name),
        "never-expire": lambda: _("The password of %(name)s never expires now.", name=name),
        "expire-normally": lambda: _("The password of %(name)s follows the expiry policy again.", name=name),
    }
    return str(messages[action]())


def apply(actor: User, user: User, action: str) -> str:
    """Do one of ACTIONS to the user; the message to show.  Blocking yourself is refused:
    it would end the very session doing it, and so is ending your own sessions here."""
    if action not in ACTIONS:
        raise ChangeRefused(_("Unknown action."))
    if action == "block" and user.id == actor.id:
        raise ChangeRefused(_("You cannot block yourself."))
    if action == "end-sessions" and user.id == actor.id:
        raise ChangeRefused(_("Sign out everywhere from your own account page instead."))
    ACTIONS[action](user)
    audit.record(f"admin.{action.replace('-', '_')}", actor=actor, subject=user)
    return _done(action, user.username)


def force_change(actor: User, targets: list[User]) -> int:
    """Make every target change the password at next sign-in; how many."""
    for user in targets:
        _force_change(user)
        audit.record("admin.force_change", actor=actor, subject=user, via="console")
    return len(targets)


def end_sessions(actor: User, targets: list[User]) -> int:
    """Sign every target out on every device; how many."""
    for user in targets:
        _end_sessions(user)
        audit.record("admin.end_sessions", actor=actor, subject=user, via="console")
    return len(targets)
