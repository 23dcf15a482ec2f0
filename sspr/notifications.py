"""The messages sspr sends: composed from templates in the recipient's language,
then queued in the outbox (in the caller's transaction)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import select

from sspr import tokens
from sspr.extensions import db
from sspr.i18n import gettext as _
from sspr.models import User
from sspr.verification import outbox


@dataclass(frozen=True)
class Message:
    channel: str
    recipient: str
    subject: str
    text: str
    html: str = ""
    # The template's name: what the message is, for the console's list of undelivered ones.
    kind: str = ""


def _subject(template: str, site: str) -> str:
    subjects = {
        "code": lambda: _("Your %(site)s verification code", site=site),
        "password_changed": lambda: _("Your %(site)s password was changed", site=site),
        "account_unlocked": lambda: _("Your %(site)s account was unlocked", site=site),
        "contact_changed": lambda: _("Your %(site)s contact details were changed", site=site),
        "admin_alert": lambda: _("%(site)s security notice for administrators", site=site),
        "reveal": lambda: _("A temporary password for your %(site)s account", site=site),
        "expiry_reminder": lambda: _("Your %(site)s password expires soon", site=site),
        "sms_ceiling": lambda: _("%(site)s has stopped sending text messages for now", site=site),
    }
    return str(subjects[template]())


def compose(channel: str, template: str, recipient: str, locale: str | None, **context: object) -> Message:
    """Render a mail (subject, text and HTML) or an SMS in the given language."""
    site = current_app.config["SITE_NAME"]
    with force_locale(locale or current_app.config["LANGUAGES"][0]):
        context.update(site=site, base_url=current_app.config["BASE_URL"])
        if channel == "email":
            subject = _subject(template, site)
            context.update(subject=subject)
            return Message(
                channel,
                recipient,
                subject,
                render_template(f"email/{template}.txt", **context),
                render_template(f"email/{template}.html", **context),
                kind=template,
            )
        return Message(channel, recipient, "", render_template(f"sms/{template}.txt", **context).strip(), kind=template)


def queue(message: Message, not_after: datetime | None = None) -> None:
    outbox.enqueue(
        message.channel,
        message.recipient,
        kind=message.kind,
        subject=message.subject,
        text=message.text,
        html=message.html,
        not_after=not_after,
    )


def verification_code(
    channel: str, destination: str, code: str, *, minutes: int, locale: str | None, link: str | None = None
) -> Message:
    """A code (and, by mail, a link that continues the reset); composed, not yet queued."""
    return compose(channel, "code", destination, locale, code=code, minutes=minutes, link=link)


def _not_me_link(user: User) -> str:
    return f"{current_app.config['BASE_URL']}/not-me/{tokens.dump(tokens.NOT_ME, {'u': user.id})}"


def password_changed(user: User, how: str) -> None:
    """Tell the user their password changed, with a "this wasn't me" link, so a change
    they did not make is noticed and stopped."""
    not_me = _not_me_link(user)
    if user.alternate_email:
        queue(
            compose("email", "password_changed", user.alternate_email, user.locale, user=user, how=how, not_me=not_me)
        )
    elif user.phone:
        queue(compose("sms", "password_changed", user.phone, user.locale, user=user, how=how, not_me=not_me))


def account_unlocked(user: User) -> None:
    """Tell the user their locked account was unlocked through the reset wizard, with the
    same "this wasn't me" link: whoever can pass its checks could also have set a password."""
    not_me = _not_me_link(user)
    if user.alternate_email:
        queue(compose("email", "account_unlocked", user.alternate_email, user.locale, user=user, not_me=not_me))
    elif user.phone:
        queue(compose("sms", "account_unlocked", user.phone, user.locale, user=user, not_me=not_me))


def expiry_reminder(user: User, days_left: int) -> None:
    """Remind the user to change the password before it expires, with a link to do it."""
    link = f"{current_app.config['BASE_URL']}/password"
    if user.alternate_email:
        queue(
            compose("email", "expiry_reminder", user.alternate_email, user.locale, user=user, days=days_left, link=link)
        )
    elif user.phone:
        queue(compose("sms", "expiry_reminder", user.phone, user.locale, user=user, days=days_left, link=link))


def reveal_link(user: User, address: str, link: str, *, hours: int, not_after: datetime) -> None:
    """Mail the link that shows the user's temporary password once; never the password itself."""
    queue(compose("email", "reveal", address, user.locale, user=user, link=link, hours=hours), not_after=not_after)


def contact_changed(user: User, channel: str, old_destination: str) -> None:
    """Tell the old address or number that it no longer receives codes."""
    queue(compose(channel, "contact_changed", old_destination, user.locale, user=user, method=channel))


def alert_admins(subject: User, event: str) -> None:
    """Tell every other global admin (by their alternate e-mail) what happened to this account.
    ``event``: "self_reset" (an admin reset their own password) or "reported" ("this wasn't me")."""
    audit = _audit_link(user=subject.username)
    for admin in _global_admins(besides=subject):
        queue(
            compose(
                "email",
                "admin_alert",
                admin.alternate_email or "",
                admin.locale,
                admin=admin,
                user=subject,
                event=event,
                audit=audit,
            )
        )


def alert_sms_ceiling(limit: int) -> int:
    """Tell every global admin that SMS codes stopped at the hourly ceiling; how many were told."""
    admins = _global_admins()
    audit = _audit_link(event="sms.ceiling_reached")
    for admin in admins:
        queue(
            compose(
                "email", "sms_ceiling", admin.alternate_email or "", admin.locale, admin=admin, limit=limit, audit=audit
            )
        )
    return len(admins)


def _audit_link(**filters: str) -> str:
    """The admin console's audit log, filtered to what an alert is about."""
    return f"{current_app.config['BASE_URL']}/admin/audit?{urlencode(filters)}"


def _global_admins(besides: User | None = None) -> list[User]:
    """The global admins with an alternate e-mail address, where alerts go."""
    query = select(User).where(User.role == "global-admin", User.alternate_email.is_not(None))
    if besides is not None:
        query = query.where(User.id != besides.id)
    return list(db.session.scalars(query))
