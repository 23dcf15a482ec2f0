"""Validation and normal forms of user names, e-mail addresses and phone numbers."""

from __future__ import annotations

import unicodedata

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from sspr.i18n import gettext as _

MAX_USERNAME = 150


class InvalidContact(ValueError):
    """The value is not a usable user name, address or number; str() says why, for people."""


def username_key(username: str) -> str:
    """The form user names are compared in: NFKC, then casefold, then NFKC again
    (casefolding can undo normalisation), so a full-width "Alice" and "alice" are one name."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username.strip()).casefold())


def clean_username(username: str) -> str:
    name = unicodedata.normalize("NFKC", username.strip())
    if not name:
        raise InvalidContact(_("Enter a user name."))
    if len(name) > MAX_USERNAME:
        raise InvalidContact(_("A user name has at most %(num)d characters.", num=MAX_USERNAME))
    if any(unicodedata.category(ch).startswith(("C", "Z")) and ch != " " for ch in name):
        raise InvalidContact(_("A user name cannot contain control characters or unusual spaces."))
    return name


def normalise_email(address: str) -> str:
    """A syntactically valid address, normalised (no DNS look-up)."""
    try:
        result = validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidContact(_("Enter a valid e-mail address, such as name@example.com.")) from exc
    return str(result.normalized)


def email_key(address: str) -> str:
    """The form addresses are compared in: one mailbox as people type it (NFKC, case ignored)."""
    return unicodedata.normalize("NFKC", address.strip()).casefold()


def same_email(a: str, b: str) -> bool:
    """Whether two addresses are the same mailbox as people type them (case ignored)."""
    return email_key(a) == email_key(b)


def region_of(e164: str) -> str:
    """The region (ISO code) a stored number belongs to, e.g. "DK" for +45."""
    return str(phonenumbers.region_code_for_number(phonenumbers.parse(e164)))


def sms_allowed(e164: str, regions: tuple[str, ...]) -> bool:
    return region_of(e164) in regions


def normalise_mobile(number: str, default_region: str, allowed_regions: tuple[str, ...]) -> str:
    """A valid number (E.164) from a region that may receive SMS codes."""
    e164 = normalise_phone(number, default_region)
    if not sms_allowed(e164, allowed_regions):
        raise InvalidContact(
            _(
                "Text messages cannot be sent to numbers from %(region)s here. Allowed: %(allowed)s.",
                region=region_of(e164),
                allowed=", ".join(allowed_regions),
            )
        )
    return e164


def normalise_phone(number: str, region: str) -> str:
    """E.164 (+4520123456) of a valid number; without +country the region's is assumed."""
    try:
        parsed = phonenumbers.parse(unicodedata.normalize("NFKC", number.strip()), region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidContact(_("Enter a valid phone number, such as +45 20 12 34 56.")) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidContact(_("Enter a valid phone number, such as +45 20 12 34 56."))
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def mask(channel: str, destination: str) -> str:
    """An address or number shown in part, enough to tell lists apart without
    handing them out: "b…@mail.example.org", "+45……77"."""
    if channel == "email":
        local, at, domain = destination.rpartition("@")
        return f"{local[:1]}…{at}{domain}" if at else "…"
    return f"{destination[:3]}……{destination[-2:]}" if len(destination) > 6 else "…"
