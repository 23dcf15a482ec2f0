"""The messages sspr sends, composed from templates in the recipient's language
and queued in the outbox (in the caller's transaction)."""

from __future__ import annotations

from datetime import datetime

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from sspr.models import User
from sspr.verification import outbox


def _mail(
    template: str,
    recipient: str,
    subject: str,
    locale: str | None,
    not_after: datetime | None = None,
    **context: object,
) -> None:
    with force_locale(locale or current_app.config["LANGUAGES"][0]):
        context.update(site=current_app.config["SITE_NAME"], base_url=current_app.config["BASE_URL"])
        outbox.enqueue(
            "email",
            recipient,
            subject=str(subject_for(subject, context)),
            text=render_template(f"email/{template}.txt", **context),
            html=render_template(f"email/{template}.html", **context),
            not_after=not_after,
        )


def _sms(
    template: str, recipient: str, locale: str | None, not_after: datetime | None = None, **context: object
) -> None:
    with force_locale(locale or current_app.config["LANGUAGES"][0]):
        context.update(site=current_app.config["SITE_NAME"])
        outbox.enqueue(
            "sms", recipient, text=render_template(f"sms/{template}.txt", **context).strip(), not_after=not_after
        )


SUBJECTS = {
    "code": lambda c: _("Your %(site)s verification code", site=c["site"]),
    "password_changed": lambda c: _("Your %(site)s password was changed", site=c["site"]),
    "contact_changed": lambda c: _("Your %(site)s contact details were changed", site=c["site"]),
}


def subject_for(name: str, context: dict[str, object]) -> str:
    return SUBJECTS[name](context)


def verification_code(
    channel: str,
    destination: str,
    code: str,
    *,
    expires_at: datetime,
    minutes: int,
    locale: str | None,
    link: str | None = None,
) -> None:
    """A code (and, by mail, a link that continues the reset) that is no use after expires_at."""
    if channel == "email":
        _mail("code", destination, "code", locale, not_after=expires_at, code=code, minutes=minutes, link=link)
    else:
        _sms("code", destination, locale, not_after=expires_at, code=code, minutes=minutes)


def password_changed(user: User, how: str) -> None:
    """Tell the user their password changed, so a change they did not make is noticed."""
    context = {"user": user, "how": how, "when": user.password_changed_at}
    if user.alternate_email:
        _mail("password_changed", user.alternate_email, "password_changed", user.locale, **context)
    elif user.phone:
        _sms("password_changed", user.phone, user.locale, **context)


def contact_changed(user: User, channel: str, old_destination: str) -> None:
    """Tell the old address or number that it no longer receives codes."""
    context = {"user": user, "channel": channel}
    if channel == "email":
        _mail("contact_changed", old_destination, "contact_changed", user.locale, **context)
    else:
        _sms("contact_changed", old_destination, user.locale, **context)
