"""Password hashing (argon2) and the new-password rules (NIST SP 800-63B).

One hasher per app, built from the configured parameter profile.  Checking a
new password returns every problem in plain words, so the form can say what
to fix rather than "invalid".
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache

import argon2
import argon2.profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from sspr import argon2_memory
from sspr.i18n import gettext as _
from sspr.i18n import ngettext

MAX_LENGTH = 256
# zxcvbn's run time grows fast with length; beyond this many characters a
# password is long enough that its guessability is judged on this prefix.
ZXCVBN_PREFIX = 64
MIN_ZXCVBN_SCORE = 3


def build_hasher(profile: str) -> argon2.PasswordHasher:
    return hasher_for(getattr(argon2.profiles, profile))


def hasher_for(parameters: argon2.Parameters) -> argon2.PasswordHasher:
    """A hasher for these parameters, with argon2's memory on reused huge pages where this system allows it."""
    if argon2_memory.works():
        return argon2_memory.HugePageHasher.from_parameters(parameters)
    return argon2.PasswordHasher.from_parameters(parameters)


def hasher() -> argon2.PasswordHasher:
    return current_app.extensions["sspr.hasher"]  # type: ignore[no-any-return]


def hash_password(password: str) -> str:
    return hasher().hash(normalise(password))


def verify(password_hash: str, password: str) -> bool:
    """True when the password matches; a broken stored hash counts as no match."""
    try:
        return hasher().verify(password_hash, normalise(password))
    except VerifyMismatchError:
        return False
    except (InvalidHashError, VerificationError):
        current_app.logger.warning("a stored password hash could not be read")
        return False


def needs_rehash(password_hash: str) -> bool:
    return hasher().check_needs_rehash(password_hash)


def decoy_verify(password: str) -> None:
    """Spend the same time as a real verification, for names that do not exist."""
    verify(_decoy_hash(hasher()), password)


@cache
def _decoy_hash(h: argon2.PasswordHasher) -> str:
    return h.hash("decoy password that no account has")


@dataclass(frozen=True)
class Problem:
    code: str
    message: str


def normalise(password: str) -> str:
    """NFKC, so the same password typed on another keyboard still matches: every
    password is normalised before it is hashed or checked (NIST SP 800-63B)."""
    return unicodedata.normalize("NFKC", password)


def check_new_password(
    password: str,
    *,
    username: str,
    min_length: int,
    banned_words: tuple[str, ...] = (),
    current: str | None = None,
    current_hash: str | None = None,
) -> list[Problem]:
    """Every way the new password breaks the rules; empty when it is acceptable.
    "The same as now" is checked against ``current``, the current password as the
    user typed and proved it (a plain comparison), or else against ``current_hash``
    (an argon2 verification, as costly as hashing)."""
    problems: list[Problem] = []
    length = len(password)
    if length < min_length:
        problems.append(
            Problem(
                "too_short",
                ngettext(
                    "Use at least %(num)d characters; this one has %(length)d.",
                    "Use at least %(num)d characters; this one has %(length)d.",
                    min_length,
                    length=length,
                ),
            )
        )
    if length > MAX_LENGTH:
        problems.append(Problem("too_long", _("Use at most %(num)d characters.", num=MAX_LENGTH)))
        return problems
    folded = normalise(password).casefold()
    name = normalise(username).casefold()
    if name and (folded == name or (len(name) >= 4 and name in folded)):
        problems.append(Problem("contains_username", _("Do not use your user name in your password.")))
    if folded in _common_passwords() or _too_guessable(password, username):
        problems.append(Problem("common", _("This password is too common or easy to guess.")))
    banned = [w for w in banned_words if w and w.casefold() in folded]
    if banned:
        problems.append(Problem("banned_word", _("Do not use the word “%(word)s” in your password.", word=banned[0])))
    if not problems and _same_as_current(password, current, current_hash):
        problems.append(Problem("same_as_current", _("Choose a password different from your current one.")))
    return problems


def _same_as_current(password: str, current: str | None, current_hash: str | None) -> bool:
    if current is not None:
        return normalise(password) == normalise(current)
    if not current_hash:
        return False
    return verify(current_hash, password)


def advice() -> str:
    """The hint shown with every password form and after every refusal."""
    # TRANSLATORS: an example passphrase of four unrelated everyday words in your language;
    # not a famous one (those are on every cracking list).
    example = _("violet lamp harbour seventeen")
    return str(
        _(
            "Tip: a passphrase of four or more unrelated words, such as “%(example)s”, is long, "
            "easy to remember and hard to guess.",
            example=example,
        )
    )


@cache
def _common_passwords() -> frozenset[str]:
    """zxcvbn's list of the 30,000 most used passwords."""
    return frozenset(FREQUENCY_LISTS["passwords"])


def _too_guessable(password: str, username: str) -> bool:
    result = zxcvbn(password[:ZXCVBN_PREFIX], user_inputs=[username])
    return int(result["score"]) < MIN_ZXCVBN_SCORE
