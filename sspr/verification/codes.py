"""Verification codes: generated from ``secrets``, kept only as a keyed digest.

Pure functions with the clock passed in, testable without an app.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from collections.abc import Sequence
from datetime import datetime


def generate(digits: int) -> str:
    """A uniformly random code of exactly ``digits`` digits (leading zeros kept)."""
    return f"{secrets.randbelow(10**digits):0{digits}d}"


def new_link_secret() -> str:
    """The secret of a mail's continue-link: 192 bits, URL-safe."""
    return secrets.token_urlsafe(24)


def digest(key: bytes, scope: str, secret: str) -> str:
    """Keyed digest of a code or link secret, bound to its challenge (scope)."""
    return hmac.new(key, f"{scope}\x00{secret}".encode(), hashlib.sha256).hexdigest()


def clean_candidate(typed: str, digits: int) -> str | None:
    """The code as typed, without spaces or dashes and with any Unicode digits
    made ASCII; None when it cannot be a code at all."""
    text = unicodedata.normalize("NFKC", typed)
    text = "".join(ch for ch in text if ch not in " -\u00a0\t")
    # NFKC folds full-width digits only; other scripts' digits (Arabic-Indic,
    # Devanagari, ...) are mapped by their decimal value.
    text = "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)
    if len(text) != digits or not text.isascii() or not text.isdigit():
        return None
    return text


def matches(key: bytes, scope: str, stored_digest: str, candidate: str | None) -> bool:
    """Constant-time comparison of a typed code with the stored digest."""
    if candidate is None:
        # Compare anyway, so a malformed code costs what a wrong one does.
        candidate = ""
    return hmac.compare_digest(digest(key, scope, candidate), stored_digest) and candidate != ""


def matches_any(keys: Sequence[bytes], scope: str, stored_digest: str, candidate: str | None) -> bool:
    """matches() under any of the keys (the current one, then those of a key rotation);
    each is tried, so the time does not tell which key matched, if any."""
    results = [matches(key, scope, stored_digest, candidate) for key in keys]  # all of them: no short cut
    return any(results)


def is_live(expires_at: datetime, used_at: datetime | None, voided_at: datetime | None, now: datetime) -> bool:
    return used_at is None and voided_at is None and now < expires_at
