"""Signed, expiring tokens: one serializer per purpose, each with its own salt.

Old keys in SECRET_KEY_FALLBACKS still verify tokens (rotation); new tokens
are always signed with SECRET_KEY.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

RESET_STEP = "sspr.reset.step"
RESET_LINK = "sspr.reset.link"
SETUP = "sspr.setup"
NOT_ME = "sspr.not-me"
# How long the "this wasn't me" link in a notice works.
NOT_ME_DAYS = 14


class TokenInvalid(Exception):
    """Forged, damaged or made for another purpose."""


class TokenExpired(TokenInvalid):
    """Genuine but older than its purpose allows."""


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    cfg = current_app.config
    keys = [*cfg["SECRET_KEY_FALLBACKS"], cfg["SECRET_KEY"]]
    return URLSafeTimedSerializer(keys, salt=purpose)


def dump(purpose: str, payload: dict[str, Any]) -> str:
    return _serializer(purpose).dumps(payload)


def load(purpose: str, token: str, max_age: int) -> dict[str, Any]:
    """The payload of a token made for this purpose within max_age seconds."""
    try:
        payload = _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise TokenExpired(purpose) from exc
    except BadSignature as exc:
        raise TokenInvalid(purpose) from exc
    if not isinstance(payload, dict):
        raise TokenInvalid(purpose)
    return payload


def subkey(purpose: str) -> bytes:
    """A key for one purpose (code digests, name digests), derived from SECRET_KEY."""
    return _derive(current_app.config["SECRET_KEY"], purpose)


def subkeys(purpose: str) -> list[bytes]:
    """The purpose's key from SECRET_KEY, then from each of SECRET_KEY_FALLBACKS: a code
    digested just before a key rotation still matches after it."""
    cfg = current_app.config
    return [_derive(key, purpose) for key in [cfg["SECRET_KEY"], *cfg["SECRET_KEY_FALLBACKS"]]]


def _derive(key: str, purpose: str) -> bytes:
    return hmac.new(str(key).encode(), purpose.encode(), hashlib.sha256).digest()
