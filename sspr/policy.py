"""The self-service policy: what the wizard offers and which passwords it accepts.

It lives in the database (the settings table) so a change reaches every app
server at once.  The same parser serves `sspr policy set` and the admin console.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from flask import g
from sqlalchemy import select

from sspr import clock
from sspr.extensions import db
from sspr.models import Setting

METHODS = ("email", "sms")


class PolicyError(ValueError):
    """An unknown key or a value out of range; str() says which, for people."""


@dataclass(frozen=True)
class Policy:
    methods: tuple[str, ...] = METHODS
    methods_required: int = 1
    code_lifetime_minutes: int = 10
    notify_user_on_reset: bool = True
    notify_admins_on_admin_reset: bool = True
    password_min_length: int = 15
    password_expiry_days: int = 0
    # Ask the user to type the full address or number before a code goes to it.
    confirm_destination: bool = False
    # Shown in the wizard to people who cannot go on ("" shows nothing).
    helpdesk: str = ""
    # Who may use the wizard: "everyone", "group" (members of self_service_group) or "nobody".
    self_service: str = "everyone"
    self_service_group: str = ""
    # Words refused in new passwords (case-insensitive, also inside longer ones), beside the common list.
    banned_words: tuple[str, ...] = ()
    # Warn at sign-in this many days before a password expires.
    expiry_warning_days: int = 14
    # Reminder mails this many days before expiry.
    reminder_days: tuple[int, ...] = (14, 7, 3, 1)
    # Ask users without a verified method to register one when they sign in.
    register_prompt: bool = True
    # Ask users to confirm their contact details every N days (0: never).
    reconfirm_days: int = 0

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in TUPLES:
            data[key] = list(data[key])
        return data

    def required_for(self, available: int) -> int:
        """How many methods a flow must verify, never more than the policy offers."""
        return min(self.methods_required, max(available, 1))

    def allows_self_service(self, groups: str) -> bool:
        """Whether a user in these groups (comma list) may use the wizard."""
        if self.self_service == "group":
            return self.self_service_group.casefold() in {g.strip().casefold() for g in groups.split(",")}
        return self.self_service == "everyone"


TUPLES = ("methods", "banned_words", "reminder_days")


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("true", "yes", "on", "1"):
        return True
    if value in ("false", "no", "off", "0"):
        return False
    raise PolicyError("expected true or false")


def _int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise PolicyError(f"expected a whole number from {low} to {high}") from None
        if not low <= value <= high:
            raise PolicyError(f"expected a whole number from {low} to {high}")
        return value

    return parse


def _methods(raw: str) -> tuple[str, ...]:
    chosen = [m.strip().lower() for m in raw.split(",") if m.strip()]
    unknown = [m for m in chosen if m not in METHODS]
    if unknown or not chosen:
        raise PolicyError("expected a comma list of " + ", ".join(METHODS))
    return tuple(m for m in METHODS if m in chosen)


def _text(limit: int) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip()
        if len(value) > limit or any(ord(c) < 32 for c in value):
            raise PolicyError(f"expected one line of at most {limit} characters")
        return value

    return parse


def _choice(*values: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in values:
            raise PolicyError("expected one of " + ", ".join(values))
        return value

    return parse


def _words(raw: str) -> tuple[str, ...]:
    words = tuple(dict.fromkeys(w.strip() for w in raw.replace("\n", ",").split(",") if w.strip()))
    if len(words) > 500 or any(len(w) > 64 or any(ord(c) < 32 for c in w) for w in words):
        raise PolicyError("expected a comma list of at most 500 words of at most 64 characters")
    return words


def _days_list(raw: str) -> tuple[int, ...]:
    try:
        days = sorted({int(d) for d in raw.split(",") if d.strip()}, reverse=True)
    except ValueError:
        raise PolicyError("expected a comma list of whole numbers of days from 1 to 60") from None
    if len(days) > 10 or any(not 1 <= d <= 60 for d in days):
        raise PolicyError("expected a comma list of whole numbers of days from 1 to 60")
    return tuple(days)


PARSERS: dict[str, Callable[[str], Any]] = {
    "methods": _methods,
    "methods_required": _int_between(1, 2),
    "code_lifetime_minutes": _int_between(1, 60),
    "notify_user_on_reset": _bool,
    "notify_admins_on_admin_reset": _bool,
    "password_min_length": _int_between(8, 64),
    "password_expiry_days": _int_between(0, 730),
    "confirm_destination": _bool,
    "helpdesk": _text(300),
    "self_service": _choice("everyone", "group", "nobody"),
    "self_service_group": _text(100),
    "banned_words": _words,
    "expiry_warning_days": _int_between(0, 60),
    "reminder_days": _days_list,
    "register_prompt": _bool,
    "reconfirm_days": _int_between(0, 730),
}


def parse(key: str, raw: str) -> Any:
    """The typed value of one KEY=VALUE, or PolicyError."""
    if key not in PARSERS:
        raise PolicyError(f"unknown policy key {key!r} (known: {', '.join(PARSERS)})")
    try:
        return PARSERS[key](raw)
    except PolicyError as exc:
        raise PolicyError(f"{key}: {exc}") from None


def check(policy: Policy) -> Policy:
    """Refuse combinations that cannot work."""
    if policy.methods_required > len(policy.methods):
        raise PolicyError("methods_required cannot be more than the number of methods enabled")
    if policy.self_service == "group" and not policy.self_service_group:
        raise PolicyError("self_service=group needs self_service_group")
    return policy


def current() -> Policy:
    """The policy in force, read once per request."""
    if "sspr_policy" not in g:
        g.sspr_policy = load()
    return g.sspr_policy  # type: ignore[no-any-return]


def load() -> Policy:
    stored = {s.key: json.loads(s.value) for s in db.session.scalars(select(Setting)) if s.key in PARSERS}
    for key in TUPLES:
        if key in stored:
            stored[key] = tuple(stored[key])
    return replace(Policy(), **stored)


def save(changes: dict[str, Any]) -> tuple[Policy, Policy]:
    """Validate and stage changes in the current transaction; (before, after)."""
    before = load()
    after = check(replace(before, **changes))
    after_json = after.as_json()
    for key in changes:
        row = db.session.get(Setting, key)
        value = json.dumps(after_json[key])
        if row is None:
            db.session.add(Setting(key=key, value=value))
        else:
            row.value, row.updated_at = value, clock.now()
    g.pop("sspr_policy", None)
    return before, after
