"""Request rate limits (Flask-Limiter) on every form post of the wizard, sign-in
and /account: per client address, and per target account from any address (the
user name typed into the wizard's first step or sign-in, the signed-in user at
/account).  Counters live in SSPR_RATELIMIT_STORAGE_URL: memory:// for one
process, redis:// so that several app servers share them.

Per-account counters are keyed by a keyed digest of the normalised user name,
so the storage never holds a name, and a name that exists counts exactly like
one that does not.  The other per-account guards (codes per name and per
destination an hour, wrong tries per flow, the sign-in lockout) live in the
database.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable

from flask import Flask, current_app, request, session
from flask.typing import ResponseReturnValue

from sspr import contacts, tokens
from sspr.extensions import limiter

View = Callable[..., ResponseReturnValue]


def _configured(config_key: str) -> Callable[[], str]:
    def limits() -> str:
        return str(current_app.config[config_key])

    return limits


def posts(config_key: str) -> Callable[[View], View]:
    """Limit the POSTs of a view per client address by the limits in this config key."""
    return limiter.limit(_configured(config_key), methods=["POST"])


def posts_per_account(config_key: str) -> Callable[[View], View]:
    """Limit the POSTs of a view per user name posted (its ``username`` field), from
    any address: one account cannot be worked on from a crowd of addresses."""
    return limiter.limit(_configured(config_key), key_func=_posted_account, methods=["POST"], scope="account")


def posts_per_user(config_key: str) -> Callable[[View], View]:
    """Limit the POSTs of a view per signed-in user, from any address.  Posts without
    a sign-in are not counted here: the view sends them to sign in."""
    return limiter.limit(
        _configured(config_key), key_func=_session_user, methods=["POST"], scope="user", exempt_when=_signed_out
    )


def _posted_account() -> str:
    name = contacts.username_key(request.form.get("username", ""))
    digest = hmac.new(tokens.subkey("sspr.ratelimit.account"), name.encode(), hashlib.sha256).hexdigest()
    return f"account:{digest}"


def _session_user() -> str:
    return f"user:{session.get('uid')}"


def _signed_out() -> bool:
    return not isinstance(session.get("uid"), int)


def retry_after() -> int:
    """Seconds until the limit this request went over lets the next one through."""
    broken = limiter.current_limit
    if broken is None:
        return 60
    return max(1, int(broken.reset_at - time.time()))


def _a_page() -> bool:
    return request.method in ("GET", "HEAD", "OPTIONS")


def init_app(app: Flask) -> None:
    limiter.init_app(app)
    # Every limit here is on posts: pages skip the limiter's per-request look-ups.
    limiter.request_filter(_a_page)
