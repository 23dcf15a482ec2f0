"""The self-service policy: what the wizard offers and which passwords it accepts.

It lives in the database (the settings table) so that a change reaches every
app server.  Each app process reads it at most once every REREAD_SECONDS (every
page needs it, and a read is a query): a change counts at once in the process
that made it, and within REREAD_SECONDS on every other.  The same parser serves
`sspr policy set` and the admin console.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

import phonenumbers
from flask import Flask, current_app, g
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from sspr import clock
from sspr.extensions import db
from sspr.i18n import gettext as _
from sspr.models import Setting

METHODS = ("email", "sms")
# Seconds an app process goes on using the policy it read before it reads it again.
REREAD_SECONDS = 1.0
# Marks a database session that staged a policy change (Session.info).
_CHANGED = "sspr.policy_changed"


class PolicyError(ValueError):
    """An unknown key, a value out of range or a combination that cannot work.

    ``reason`` says what is wrong, for people; ``key`` names the setting it is
    about (None for an unknown key), so the console can show it by that field;
    str() has both, as the command line prints it."""

    def __init__(self, reason: str, key: str | None = None) -> None:
        super().__init__(f"{key}: {reason}" if key else reason)
        self.reason = reason
        self.key = key


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
    # Regions (ISO codes) whose phone numbers may receive SMS codes: a guard against
    # SMS pumping.  Empty: the deployment's own region (SSPR_PHONE_REGION).
    sms_countries: tuple[str, ...] = ()
    # Verification codes one address or number gets in an hour, however many accounts name it.
    codes_per_destination_per_hour: int = 3
    # SMS codes sent in an hour in all: over it none go out and the global admins are told.
    # 0 stops every SMS code (an emergency brake; to stop offering SMS, take it out of methods).
    sms_per_hour: int = 100

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in TUPLES:
            data[key] = list(data[key])
        return data

    def required_for(self, available: int) -> int:
        """How many methods a flow must verify, never more than the policy offers."""
        return min(self.methods_required, max(available, 1))

    def sms_regions(self, default_region: str) -> tuple[str, ...]:
        return self.sms_countries or (default_region,)

    def allows_self_service(self, groups: str) -> bool:
        """Whether a user in these groups (comma list) may use the wizard."""
        if self.self_service == "group":
            return self.self_service_group.casefold() in {g.strip().casefold() for g in groups.split(",")}
        return self.self_service == "everyone"


TUPLES = ("methods", "banned_words", "reminder_days", "sms_countries")


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("true", "yes", "on", "1"):
        return True
    if value in ("false", "no", "off", "0"):
        return False
    raise PolicyError(_("expected true or false"))


def _int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise PolicyError(_("expected a whole number from %(low)d to %(high)d", low=low, high=high)) from None
        if not low <= value <= high:
            raise PolicyError(_("expected a whole number from %(low)d to %(high)d", low=low, high=high))
        return value

    return parse


def _methods(raw: str) -> tuple[str, ...]:
    chosen = [m.strip().lower() for m in raw.split(",") if m.strip()]
    unknown = [m for m in chosen if m not in METHODS]
    if unknown or not chosen:
        raise PolicyError(_("expected one or more of %(methods)s", methods=", ".join(METHODS)))
    return tuple(m for m in METHODS if m in chosen)


def _text(limit: int) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip()
        if len(value) > limit or any(ord(c) < 32 for c in value):
            raise PolicyError(_("expected one line of at most %(num)d characters", num=limit))
        return value

    return parse


def _choice(*values: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in values:
            raise PolicyError(_("expected one of %(values)s", values=", ".join(values)))
        return value

    return parse


def _words(raw: str) -> tuple[str, ...]:
    words = tuple(dict.fromkeys(w.strip() for w in raw.replace("\n", ",").split(",") if w.strip()))
    if len(words) > 500 or any(len(w) > 64 or any(ord(c) < 32 for c in w) for w in words):
        raise PolicyError(_("expected a comma list of at most 500 words of at most 64 characters"))
    return words


def _days_list(raw: str) -> tuple[int, ...]:
    try:
        days = sorted({int(d) for d in raw.split(",") if d.strip()}, reverse=True)
    except ValueError:
        raise PolicyError(_("expected a comma list of at most 10 whole numbers of days from 1 to 60")) from None
    if len(days) > 10 or any(not 1 <= d <= 60 for d in days):
        raise PolicyError(_("expected a comma list of at most 10 whole numbers of days from 1 to 60"))
    return tuple(days)


def _regions(raw: str) -> tuple[str, ...]:
    regions = tuple(dict.fromkeys(r.strip().upper() for r in raw.split(",") if r.strip()))
    unknown = [r for r in regions if r not in phonenumbers.SUPPORTED_REGIONS]
    if unknown:
        raise PolicyError(
            _("unknown region codes %(codes)s; use two-letter codes such as DK, SE, DE", codes=", ".join(unknown))
        )
    return regions


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
    "sms_countries": _regions,
    "codes_per_destination_per_hour": _int_between(1, 20),
    "sms_per_hour": _int_between(0, 10000),
}


def parse(key: str, raw: str) -> Any:
    """The typed value of one KEY=VALUE, or PolicyError."""
    if key not in PARSERS:
        raise PolicyError(_("unknown policy key %(key)s (known: %(known)s)", key=repr(key), known=", ".join(PARSERS)))
    try:
        return PARSERS[key](raw)
    except PolicyError as exc:
        raise PolicyError(exc.reason, key) from None


def check(policy: Policy) -> Policy:
    """Refuse combinations that cannot work."""
    if policy.methods_required > len(policy.methods):
        raise PolicyError(_("cannot be more than the number of methods enabled"), "methods_required")
    if policy.self_service == "group" and not policy.self_service_group:
        raise PolicyError(_("a group is needed when self-service is limited to a group"), "self_service_group")
    return policy


class SharedCopy:
    """The policy as this process last read it, kept for ``seconds``.

    ``forget`` drops it; a read that began before ``forget`` is not kept, since
    it may hold the values from before the change."""

    def __init__(self, seconds: float = REREAD_SECONDS, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.monotonic = monotonic
        self._copy: tuple[Policy, float] | None = None
        self._generation = 0
        # No forget() may slip in between a read's check and its keeping.
        self._lock = threading.Lock()

    def get(self, read: Callable[[], Policy]) -> Policy:
        copy, now = self._copy, self.monotonic()
        if copy is not None and now - copy[1] < self.seconds:
            return copy[0]
        generation = self._generation
        policy = read()
        with self._lock:
            if generation == self._generation:
                self._copy = (policy, now)
        return policy

    def forget(self) -> None:
        with self._lock:
            self._generation += 1
            self._copy = None


def current() -> Policy:
    """The policy in force: one copy for the whole request, from this process's shared copy."""
    if "sspr_policy" not in g:
        g.sspr_policy = current_app.extensions["sspr.policy"].get(load)
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
    db.session.info[_CHANGED] = True
    current_app.extensions["sspr.policy"].forget()
    g.pop("sspr_policy", None)
    return before, after


def _transaction_ended(session: Session, *_: Any) -> None:
    """A policy change was committed or given up: this process reads the policy again.
    save() forgets too, but a read between it and the transaction's end may be kept:
    another request's, with the values from before, or this one's, with values a
    rollback voids."""
    if session.info.pop(_CHANGED, False):
        current_app.extensions["sspr.policy"].forget()


def init_app(app: Flask) -> None:
    app.extensions["sspr.policy"] = SharedCopy()
    for name in ("after_commit", "after_soft_rollback"):
        if not event.contains(db.session, name, _transaction_ended):
            event.listen(db.session, name, _transaction_ended)
