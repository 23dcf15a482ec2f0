"""Signed tokens and the session cookie: sspr signs their payloads without
compressing them, and still opens the ones it compressed before (itsdangerous
and Flask try zlib on every payload and keep it when shorter)."""

from __future__ import annotations

import base64
import json

from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

from sspr import tokens

# Repetitive enough that zlib shortens it: the old way gives a compressed token.
PAYLOAD = {"f": "a" * 120, "s": "method"}


def test_a_compressed_step_token_from_before_still_loads(app):
    with app.test_request_context():
        before = URLSafeTimedSerializer([app.config["SECRET_KEY"]], salt=tokens.RESET_STEP).dumps(PAYLOAD)

        assert before.startswith(".")
        assert tokens.load(tokens.RESET_STEP, before, max_age=60) == PAYLOAD


def test_tokens_made_now_are_signed_uncompressed(app):
    with app.test_request_context():
        token = tokens.dump(tokens.RESET_STEP, PAYLOAD)

        payload = token.split(".")[0]
        assert json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))) == PAYLOAD
        assert tokens.load(tokens.RESET_STEP, token, max_age=60) == PAYLOAD


def test_a_compressed_session_cookie_from_before_still_opens(app, client):
    """A browser holding a cookie from before the upgrade keeps its session (here, its language)."""
    before = SecureCookieSessionInterface().get_signing_serializer(app)
    assert before is not None
    cookie = before.dumps({"locale": "da", "note": "x" * 300})
    client.set_cookie("sspr_session", cookie)

    page = client.get("/password-reset")

    assert cookie.startswith(".")
    assert '<html lang="da">' in page.get_data(as_text=True)


def test_the_session_cookie_made_now_is_signed_uncompressed(app, client):
    now = app.session_interface.get_signing_serializer(app)
    cookie = now.dumps({"locale": "da", "note": "x" * 300})
    client.set_cookie("sspr_session", cookie)

    page = client.get("/password-reset")

    assert not cookie.startswith(".")
    assert '<html lang="da">' in page.get_data(as_text=True)
