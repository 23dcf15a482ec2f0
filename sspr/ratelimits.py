"""Request rate limits per client address (Flask-Limiter), on every form post of
the wizard, sign-in and /account.  Counters live in SSPR_RATELIMIT_STORAGE_URL:
memory:// for one process, redis:// so that several app servers share them.

These limits slow down one address; the per-account guards (codes per name an
hour, wrong tries per flow, the sign-in lockout) live in the database.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app
from flask.typing import ResponseReturnValue

from sspr.extensions import limiter

View = Callable[..., ResponseReturnValue]


def posts(config_key: str) -> Callable[[View], View]:
    """Limit the POSTs of a view per client address by the limits in this config key."""

    def limits() -> str:
        return str(current_app.config[config_key])

    return limiter.limit(limits, methods=["POST"])


def init_app(app: Flask) -> None:
    limiter.init_app(app)
