"""Signed, expiring tokens: one serializer per purpose, each with its own salt,
and the session cookie (Flask's, signed the same way).

Old keys in SECRET_KEY_FALLBACKS still verify tokens (rotation); new tokens
are always signed with SECRET_KEY.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache
from typing import Any

from flask import Flask, current_app
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode
from itsdangerous.serializer import Serializer

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


class UncompressedSerializer(URLSafeTimedSerializer):
    """Signs the payload without first trying zlib on it: payloads here are at most a
    few hundred bytes, which compression seldom shortens, and each try sets up a
    compressor (about 20 µs; three times in the wizard's first step).  Tokens
    compressed before still load."""

    def dump_payload(self, obj: Any) -> bytes:
        return base64_encode(Serializer.dump_payload(self, obj))


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    cfg = current_app.config
    return _serializer_for(purpose, (*cfg["SECRET_KEY_FALLBACKS"], cfg["SECRET_KEY"]))


# Made once per purpose and key set, not per token (a serializer holds no per-token state).
@lru_cache(maxsize=32)
def _serializer_for(purpose: str, keys: tuple[str, ...]) -> URLSafeTimedSerializer:
    return UncompressedSerializer(list(keys), salt=purpose)


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed cookie session (the same cookie), its serializer made once per
    key set instead of twice a request, and signing without compressing."""

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            return None
        return _cookie_serializer((*app.config["SECRET_KEY_FALLBACKS"], str(app.secret_key)))


@lru_cache(maxsize=8)
def _cookie_serializer(keys: tuple[str, ...]) -> URLSafeTimedSerializer:
    flask = SecureCookieSessionInterface
    return UncompressedSerializer(
        list(keys),
        salt=flask.salt,
        serializer=flask.serializer,
        signer_kwargs={"key_derivation": flask.key_derivation, "digest_method": flask.digest_method},
    )


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
