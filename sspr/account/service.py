"""Changing one's own contact details: a code goes to the new address or number,
and only once it is typed back does the change count (and the old one is told)."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import update

from sspr import audit, clock, contacts, message_limits, notifications, passwords, policy, tokens
from sspr.extensions import db
from sspr.i18n import gettext as _
from sspr.models import Challenge, User
from sspr.verification import codes

FIELDS = {"email": "alternate_email", "sms": "phone"}


class ContactRefused(ValueError):
    """The change cannot go ahead; str() says why, for people.  ``about_password``:
    the password was wrong (the message belongs under that field, not the address)."""

    def __init__(self, message: str, *, about_password: bool = False) -> None:
        super().__init__(message)
        self.about_password = about_password


def _key() -> bytes:
    return tokens.subkey("sspr.contact-codes")


def _keys() -> list[bytes]:
    """The key, and those of a key rotation: a code sent just before it still works."""
    return tokens.subkeys("sspr.contact-codes")


def request_change(user: User, channel: str, typed: str, password: str) -> Challenge:
    """Stage a challenge for a new address or number and send it a code."""
    if not passwords.verify(user.password_hash, password):
        raise ContactRefused(_("Your password is not right."), about_password=True)
    region = current_app.config["PHONE_REGION"]
    try:
        value = (
            contacts.normalise_email(typed)
            if channel == "email"
            else contacts.normalise_mobile(typed, region, policy.current().sms_regions(region))
        )
    except contacts.InvalidContact as exc:
        raise ContactRefused(str(exc)) from exc
    now = clock.now()
    key = _cleared(user, channel, value, now)
    db.session.execute(
        update(Challenge)
        .where(
            Challenge.user_id == user.id,
            Challenge.purpose == "contact",
            Challenge.used_at.is_(None),
            Challenge.voided_at.is_(None),
        )
        .values(voided_at=now)
    )
    minutes = policy.current().code_lifetime_minutes
    challenge = Challenge(
        purpose="contact",
        user_id=user.id,
        subject_key=f"user:{user.id}",
        channel=channel,
        pending_destination=value,
        destination_key=key,
        code_digest="",
        expires_at=now + timedelta(minutes=minutes),
    )
    db.session.add(challenge)
    db.session.flush()
    code = codes.generate(current_app.config["CODE_DIGITS"])
    challenge.code_digest = codes.digest(_key(), f"c{challenge.id}", code)
    message = notifications.verification_code(channel, value, code, minutes=minutes, locale=user.locale)
    notifications.queue(message, not_after=challenge.expires_at)
    audit.record("account.contact_code_sent", actor=user, subject=user, method=channel)
    return challenge


def _cleared(user: User, channel: str, value: str, now: datetime) -> str:
    """The new address or number's key, when the message limits let a code go to it.
    When they do not: audited, and ContactRefused saying why, plainly (the user asks
    for their own new address, so there is nothing to hide).  The audit row is
    committed here, as the caller rolls back what a refused change staged."""
    key = message_limits.destination_key(channel, value)
    refused = message_limits.refusal(channel, key, now)
    if refused is None:
        return key
    if refused == message_limits.DESTINATION:
        audit.record("account.destination_limited", actor=user, subject=user, method=channel)
        message = (
            _("This address has had as many codes as it may get in an hour. Try again later.")
            if channel == "email"
            else _("This number has had as many codes as it may get in an hour. Try again later.")
        )
    else:
        message_limits.ceiling_reached(user, now)
        message = _("Text messages cannot be sent right now. Try again later, or add an e-mail address instead.")
    db.session.commit()
    raise ContactRefused(message)


def confirm_change(user: User, challenge_id: int, typed: str) -> str:
    """Apply the pending change when the code is right; the method it changed."""
    challenge = db.session.get(Challenge, challenge_id)
    now = clock.now()
    if (
        challenge is None
        or challenge.user_id != user.id
        or challenge.purpose != "contact"
        or not codes.is_live(challenge.expires_at, challenge.used_at, challenge.voided_at, now)
    ):
        raise ContactRefused(_("This code is no longer valid. Ask for a new one."))
    candidate = codes.clean_candidate(typed, current_app.config["CODE_DIGITS"])
    if not codes.matches_any(_keys(), f"c{challenge.id}", challenge.code_digest, candidate):
        challenge.wrong_tries += 1
        if challenge.wrong_tries >= current_app.config["CODE_MAX_WRONG_TRIES"]:
            challenge.voided_at = now
        db.session.commit()
        raise ContactRefused(_("That code is not right."))
    challenge.used_at = now
    field = FIELDS[challenge.channel]
    old = getattr(user, field)
    setattr(user, field, challenge.pending_destination)
    user.contacts_confirmed_at = now
    if old and old != challenge.pending_destination:
        notifications.contact_changed(user, challenge.channel, old)
    audit.record("account.contact_changed", actor=user, subject=user, method=challenge.channel)
    return challenge.channel
