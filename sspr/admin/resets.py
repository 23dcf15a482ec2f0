"""Admin resets: temporary passwords for one user or thousands.

Hashing is the slow part, so it runs first, spread over the machine's cores,
and only then are all users changed in one transaction: either every user is
reset or none is.  A temporary password reaches the user through the admin
(shown once, or the CLI's output) or through a one-time reveal link by mail;
never in a mail itself.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime

import argon2
from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from sspr import audit, clock, contacts, notifications, passwords, policy, users
from sspr.admin.access import may_manage
from sspr.admin.selection import Selection
from sspr.extensions import db
from sspr.i18n import gettext as _
from sspr.models import User
from sspr.reveal import service as reveal

log = logging.getLogger(__name__)

# No 0/O, 1/l/I: a temporary password is read off a screen and typed.
ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
GROUPS, GROUP_LENGTH = 4, 5  # 20 characters, about 115 bits
PARALLEL_FROM = 32  # below this many users a process pool costs more than it saves
# The argon2id profile for *generated* passwords.  They carry about 115 random bits,
# which no guessing attack gets near, so they do not need the memory-hard profile
# that protects passwords people choose, and that profile (about 0.35 s a hash, on
# several cores at once) is what made a reset of 1,000 users take six minutes.  This
# one takes about 2 ms.  The configured profile takes over at the user's first
# sign-in (verify, then re-hash) and with the password they then choose; a wrong
# password against a light hash is topped up with a decoy (users.authenticate), so
# sign-in timing does not tell which accounts hold one.  Typed passwords always get
# the configured profile.
GENERATED_PROFILE = argon2.Parameters(
    type=argon2.Type.ID, version=19, salt_len=16, hash_len=32, time_cost=1, memory_cost=2048, parallelism=1
)
LINK_HOURS = int(reveal.LIFETIME.total_seconds() // 3600)

Progress = Callable[[int], object]


class ResetRefused(ValueError):
    """The reset cannot be done as asked; str() says why, for people.
    ``field`` names the form field at fault, when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ResetFailed(RuntimeError):
    """Hashing or saving failed part-way.  The transaction was rolled back: nobody was changed."""


@dataclass(frozen=True)
class Outcome:
    """One user's reset as the console reports it: the password to show once, or where its link went."""

    username: str
    password: str | None
    link_sent_to: str | None


def temporary_password() -> str:
    return "-".join("".join(secrets.choice(ALPHABET) for _ in range(GROUP_LENGTH)) for _ in range(GROUPS))


def _hash_batch(parameters: argon2.Parameters, batch: list[str]) -> list[str]:
    hasher = passwords.hasher_for(parameters)
    return [hasher.hash(p) for p in batch]


def hash_all(
    plain: list[str], progress: Progress | None = None, parameters: argon2.Parameters | None = None
) -> list[str]:
    """argon2 hashes of every password, in order, using every core for large lists;
    with the configured profile unless ``parameters`` are given."""
    plain = [passwords.normalise(p) for p in plain]
    hasher = passwords.hasher() if parameters is None else passwords.hasher_for(parameters)
    workers = os.cpu_count() or 1
    if len(plain) < PARALLEL_FROM or workers == 1:
        hashes = []
        for p in plain:
            hashes.append(hasher.hash(p))
            if progress:
                progress(1)
        return hashes
    parameters = parameters or argon2.extract_parameters(hasher.hash(""))
    size = max(1, min(64, len(plain) // (workers * 4)))
    batches = [plain[i : i + size] for i in range(0, len(plain), size)]
    hashes = []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for done in pool.map(_hash_batch, [parameters] * len(batches), batches):
            hashes.extend(done)
            if progress:
                progress(len(done))
    return hashes


def estimate_seconds(count: int) -> float:
    """Roughly how long a bulk reset of this many users takes here: a few hashes
    timed now, plus what saving, auditing and notifying cost each user (measured:
    about 3 ms, 5 ms with reveal links).  Shown before a bulk reset."""
    hasher = passwords.hasher_for(GENERATED_PROFILE)
    started = time.perf_counter()
    for _sample in range(3):
        hasher.hash(temporary_password())
    one = (time.perf_counter() - started) / 3
    workers = (os.cpu_count() or 1) if count >= PARALLEL_FROM else 1
    return count * (one / workers + 0.005)


def reset_passwords(
    targets: list[User],
    *,
    password: str | None,
    require_change: bool,
    actor: User | None,
    progress: Progress | None = None,
    links: Mapping[int, str] | None = None,
    via: str | None = None,
) -> list[tuple[str, str]]:
    """Reset every target in one transaction; (username, new password) rows to hand on.
    ``links`` maps user ids to addresses that get a one-time link showing that user's
    password.  Any failure (ResetFailed) rolls back the lot: nobody is changed."""
    if password is not None:
        for user in targets:
            problems = users.password_problems(user.username, password, password)
            if problems:
                raise ResetRefused(_("%(name)s: %(problems)s", name=user.username, problems=" ".join(problems)))
    plain = [password or temporary_password() for _user in targets]
    names = [u.username for u in targets]  # read now: after the commit each would be a query
    via = via or ("console" if actor else "cli")
    try:
        hashes = hash_all(plain, progress, GENERATED_PROFILE if password is None else None)
    except (argon2.exceptions.HashingError, BrokenProcessPool, OSError) as exc:
        _record_failure(targets, actor, via, "hashing")
        raise ResetFailed("hashing failed") from exc
    try:
        _stage(targets, hashes, plain, require_change=require_change, actor=actor, links=links or {}, via=via)
        db.session.commit()
    except SQLAlchemyError as exc:
        db.session.rollback()
        _record_failure(targets, actor, via, "saving")
        raise ResetFailed("saving failed") from exc
    current_app.logger.info("reset %d passwords", len(targets))
    return list(zip(names, plain, strict=True))


def _stage(
    targets: list[User],
    hashes: list[str],
    plain: list[str],
    *,
    require_change: bool,
    actor: User | None,
    links: Mapping[int, str],
    via: str,
) -> None:
    """Every change, audit row and message of a reset, in the current transaction."""
    notify = policy.current().notify_user_on_reset
    now = clock.now()
    for user, password_hash, password in zip(targets, hashes, plain, strict=True):
        users.set_password_hash(user, password_hash, must_change=require_change)
        address = links.get(user.id)
        details = {"reveal_link_to": address} if address else {}
        audit.record("admin.reset", actor=actor, subject=user, require_change=require_change, via=via, **details)
        if notify:
            notifications.password_changed(user, "admin")
        if address:
            _send_link(user, password, address, now)


def _send_link(user: User, password: str, address: str, now: datetime) -> None:
    secret = reveal.create(user, password, now)
    notifications.reveal_link(user, address, reveal.url(secret), hours=LINK_HOURS, not_after=now + reveal.LIFETIME)


def _record_failure(targets: list[User], actor: User | None, via: str, stage: str) -> None:
    """Log and audit a reset that changed nobody.  Saving the audit row may fail too
    (the database being the cause): that is logged, and the page still says what happened."""
    log.error("reset of %d users failed while %s; nobody was changed", len(targets), stage, exc_info=True)
    try:
        audit.record("admin.reset_failed", actor=actor, users=len(targets), stage=stage, via=via)
        db.session.commit()
    except SQLAlchemyError:
        log.exception("could not record the failed reset in the audit log")
        db.session.rollback()


def reset_one(
    actor: User,
    target: User,
    *,
    password: str | None,
    confirm: str | None,
    require_change: bool,
    send_link: bool,
    link_to: str | None,
) -> Outcome:
    """Reset one user from the console: a generated password (``password`` None) or one the
    admin typed twice, which must pass the same policy as the wizard."""
    if target.id == actor.id:
        raise ResetRefused(_("Change your own password on your account page, not here."))
    if not may_manage(actor, target):
        raise ResetRefused(_("Only a global admin may reset the password of a global admin."))
    if password is not None:
        problems = users.password_problems(target.username, password, confirm or "")
        if problems:
            raise ResetRefused(" ".join(problems), field="password")
    address = _link_address(target, link_to) if send_link else None
    links = {target.id: address} if address else None
    ((username, plain),) = reset_passwords(
        [target], password=password, require_change=require_change, actor=actor, links=links
    )
    return Outcome(username, None if address else plain, address)


def _link_address(target: User, typed: str | None) -> str:
    """Where the reveal link goes: the address the admin typed, else the user's alternate e-mail."""
    if typed and typed.strip():
        try:
            return contacts.normalise_email(typed)
        except contacts.InvalidContact as exc:
            raise ResetRefused(str(exc), field="link_to") from exc
    if target.alternate_email:
        return target.alternate_email
    raise ResetRefused(
        _("%(name)s has no alternate e-mail address: type where the link should go.", name=target.username),
        field="link_to",
    )


def reset_many(actor: User, selection: Selection, *, require_change: bool, send_links: bool) -> list[Outcome]:
    """Reset every selected user at once with generated passwords.  With ``send_links`` each
    user who has an alternate e-mail gets a reveal link there; the others' passwords are shown."""
    targets = selection.users
    links = {u.id: u.alternate_email for u in targets if u.alternate_email} if send_links else {}
    rows = reset_passwords(
        targets, password=None, require_change=require_change, actor=actor, links=links, via="console-bulk"
    )
    return [
        Outcome(name, None if user.id in links else plain, links.get(user.id))
        for user, (name, plain) in zip(targets, rows, strict=True)
    ]
