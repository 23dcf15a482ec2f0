"""Admin resets: temporary passwords for one user or thousands.

Hashing is the slow part, so it runs first, spread over the machine's cores,
and only then are all users changed in one transaction: either every user is
reset or none is.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import argon2
from flask import current_app
from flask_babel import gettext as _

from sspr import audit, notifications, passwords, policy, users
from sspr.extensions import db
from sspr.models import User

# No 0/O, 1/l/I: a temporary password is read off a screen and typed.
ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
GROUPS, GROUP_LENGTH = 4, 5  # 20 characters, about 115 bits
PARALLEL_FROM = 32  # below this many users a process pool costs more than it saves

Progress = Callable[[int], object]


class ResetRefused(ValueError):
    """The reset cannot be done as asked; str() says why, for people."""


def temporary_password() -> str:
    return "-".join("".join(secrets.choice(ALPHABET) for _ in range(GROUP_LENGTH)) for _ in range(GROUPS))


def _hash_batch(parameters: argon2.Parameters, batch: list[str]) -> list[str]:
    hasher = argon2.PasswordHasher.from_parameters(parameters)
    return [hasher.hash(p) for p in batch]


def hash_all(plain: list[str], progress: Progress | None = None) -> list[str]:
    """argon2 hashes of every password, in order, using every core for large lists."""
    hasher = passwords.hasher()
    workers = os.cpu_count() or 1
    if len(plain) < PARALLEL_FROM or workers == 1:
        hashes = []
        for p in plain:
            hashes.append(hasher.hash(p))
            if progress:
                progress(1)
        return hashes
    parameters = argon2.extract_parameters(hasher.hash(""))
    size = max(1, min(64, len(plain) // (workers * 4)))
    batches = [plain[i : i + size] for i in range(0, len(plain), size)]
    hashes = []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for done in pool.map(_hash_batch, [parameters] * len(batches), batches):
            hashes.extend(done)
            if progress:
                progress(len(done))
    return hashes


def reset_passwords(
    targets: list[User],
    *,
    password: str | None,
    require_change: bool,
    actor: User | None,
    progress: Progress | None = None,
) -> list[tuple[str, str]]:
    """Reset every target in one transaction; (username, new password) rows to hand on."""
    if password is not None:
        for user in targets:
            problems = users.password_problems(user.username, password, password)
            if problems:
                raise ResetRefused(_("%(name)s: %(problems)s", name=user.username, problems=" ".join(problems)))
    plain = [password or temporary_password() for _user in targets]
    hashes = hash_all(plain, progress)
    notify = policy.current().notify_user_on_reset
    for user, password_hash in zip(targets, hashes, strict=True):
        users.set_password_hash(user, password_hash, must_change=require_change)
        audit.record(
            "admin.reset", actor=actor, subject=user, require_change=require_change, via="console" if actor else "cli"
        )
        if notify:
            notifications.password_changed(user, "admin")
    db.session.commit()
    current_app.logger.info("reset %d passwords", len(targets))
    return [(u.username, p) for u, p in zip(targets, plain, strict=True)]
