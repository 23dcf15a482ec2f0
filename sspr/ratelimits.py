"""Request rate limits on every form post of the wizard, sign-in and /account:
per client address, and per target account from any address (the user name
typed into the wizard's first step or sign-in, the signed-in user at /account).

The `limits` library does the counting, in fixed windows kept in
SSPR_RATELIMIT_STORAGE_URL: memory:// for one process, redis:// so that several
app servers share them.  The Flask side is this module, not Flask-Limiter, whose
resolution of default, application, blueprint and meta limits on every request
cost about a quarter of a millisecond a post (a third of the wizard's first
step) for what here is a fixed list of limits on a few views.

Per-account counters are keyed by a keyed digest of the normalised user name,
so the storage never holds a name, and a name that exists counts exactly like
one that does not.  The other per-account guards (codes per name and per
destination an hour, wrong tries per flow, the sign-in lockout) live in the
database.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import time
from collections.abc import Callable
from functools import wraps
from typing import TypeVar

import limits
from flask import Flask, Response, current_app, g, request, session
from flask.typing import ResponseReturnValue
from limits.errors import StorageError
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

from sspr import contacts, tokens
from sspr.config import RATE_LIMITS

log = logging.getLogger(__name__)

View = Callable[..., ResponseReturnValue]
# Who a post counts against; None: this post is not counted by that limit.
Key = Callable[[], str | None]
T = TypeVar("T")


class MemoryCounters(MemoryStorage):
    """limits' in-process counters (memory://), swept of expired ones by a count at
    most every SWEEP_SECONDS.  limits sweeps from a timer thread that each count
    starts anew once the last one has ended, 10 ms on: under load a thread start
    every 10 ms, about 5% of a counted post's time.  A counter past its window is
    dropped when it is next read either way (limits does that itself)."""

    SWEEP_SECONDS = 10.0

    def __init__(self) -> None:
        super().__init__()
        self.next_sweep = time.monotonic() + self.SWEEP_SECONDS

    # The (name-mangled) hook limits' counting calls each time; tests/test_ratelimits.py
    # checks that it still is, so that an upgrade of limits cannot bring the threads back.
    def _MemoryStorage__schedule_expiry(self) -> None:
        if time.monotonic() >= self.next_sweep:
            self.next_sweep = time.monotonic() + self.SWEEP_SECONDS
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]


class Counters:
    """Each app's limits and their counters.  With SSPR_RATELIMIT_IN_MEMORY_FALLBACK_ENABLED,
    counting goes on in this process's memory while the storage cannot be reached."""

    STORAGE_RETRY_SECONDS = 30.0

    def __init__(self, config: dict[str, object]) -> None:
        self.limits = {key: limits.parse_many(str(config[key])) for key in RATE_LIMITS}
        self.prefix = str(config["RATELIMIT_KEY_PREFIX"])
        self.headers = bool(config["RATELIMIT_HEADERS_ENABLED"])
        url = str(config["RATELIMIT_STORAGE_URL"])
        storage = MemoryCounters() if url.startswith("memory://") else storage_from_string(url, wrap_exceptions=True)
        self._shared = FixedWindowRateLimiter(storage)
        fallback = config["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"]
        self._local = FixedWindowRateLimiter(MemoryCounters()) if fallback else None
        self._shared_down_until = 0.0

    def identifiers(self, key: str, scope: str) -> tuple[str, ...]:
        # Flask-Limiter's layout, so counters in Redis carry over an upgrade.
        return (self.prefix, key, scope) if self.prefix else (key, scope)

    def hit(self, item: limits.RateLimitItem, ids: tuple[str, ...]) -> bool:
        """Count one post; False when it goes over the limit."""
        return bool(self._use(lambda counter: counter.hit(item, *ids)))

    def standing(self, item: limits.RateLimitItem, ids: tuple[str, ...]) -> tuple[int, int]:
        """(posts left, seconds until the window starts afresh)."""
        stats = self._use(lambda counter: counter.get_window_stats(item, *ids))
        return stats.remaining, max(1, math.ceil(stats.reset_time - time.time()))

    def _use(self, operation: Callable[[FixedWindowRateLimiter], T]) -> T:
        if self._local is not None and time.monotonic() < self._shared_down_until:
            return operation(self._local)
        try:
            return operation(self._shared)
        except StorageError:
            if self._local is None:
                raise
            log.warning("rate-limit storage unreachable: counting in this process for %d s", self.STORAGE_RETRY_SECONDS)
            self._shared_down_until = time.monotonic() + self.STORAGE_RETRY_SECONDS
            return operation(self._local)


def _counters() -> Counters:
    counters: Counters = current_app.extensions["sspr.ratelimits"]
    return counters


def _limited(config_key: str, key: Key, scope: str = "") -> Callable[[View], View]:
    """Count each POST to the view against ``key`` under the limits in ``config_key``;
    over one of them, the 429 page with Retry-After and the view does not run."""

    def decorate(view: View) -> View:
        @wraps(view)
        def limited(*args: object, **kwargs: object) -> ResponseReturnValue:
            if request.method == "POST":
                _count(config_key, key, scope)
            return view(*args, **kwargs)

        return limited

    return decorate


def _count(config_key: str, key: Key, scope: str) -> None:
    who = key()
    if who is None:
        return
    counters = _counters()
    ids = counters.identifiers(who, f"{request.endpoint}:{scope}" if scope else str(request.endpoint))
    for item in counters.limits[config_key]:
        if counters.headers:
            g.setdefault("sspr_limits_hit", []).append((item, ids))
        if not counters.hit(item, ids):
            log.info("rate limit %s exceeded at %s", item, request.endpoint)
            raise TooManyRequests(retry_after=counters.standing(item, ids)[1])


def posts(config_key: str) -> Callable[[View], View]:
    """Limit the POSTs of a view per client address by the limits in this config key."""
    return _limited(config_key, _client_address)


def posts_per_account(config_key: str) -> Callable[[View], View]:
    """Limit the POSTs of a view per user name posted (its ``username`` field), from
    any address: one account cannot be worked on from a crowd of addresses."""
    return _limited(config_key, _posted_account, scope="account")


def posts_per_user(config_key: str) -> Callable[[View], View]:
    """Limit the POSTs of a view per signed-in user, from any address.  Posts without
    a sign-in are not counted here: the view sends them to sign in."""
    return _limited(config_key, _session_user, scope="user")


def _client_address() -> str:
    return request.remote_addr or "127.0.0.1"


def _posted_account() -> str:
    name = contacts.username_key(request.form.get("username", ""))
    digest = hmac.new(tokens.subkey("sspr.ratelimit.account"), name.encode(), hashlib.sha256).hexdigest()
    return f"account:{digest}"


def _session_user() -> str | None:
    uid = session.get("uid")
    return f"user:{uid}" if isinstance(uid, int) else None


def _report(response: Response) -> Response:
    """X-RateLimit-* headers for the tightest limit this request counted against
    (SSPR_RATELIMIT_HEADERS_ENABLED: each costs a read of its counter)."""
    hit = g.pop("sspr_limits_hit", None)
    if hit:
        counters = _counters()
        (left, reset), item = min(((counters.standing(item, ids), item) for item, ids in hit), key=lambda s: s[0][0])
        response.headers["X-RateLimit-Limit"] = str(item.amount)
        response.headers["X-RateLimit-Remaining"] = str(left)
        response.headers["X-RateLimit-Reset"] = str(int(time.time()) + reset)
    return response


def init_app(app: Flask) -> None:
    counters = Counters(app.config)
    app.extensions["sspr.ratelimits"] = counters
    if counters.headers:
        app.after_request(_report)
