"""Who is signed in.  The cookie session holds the user id and the user's
session version; rotating the version (on every password change, and on "sign
out everywhere") ends all sessions made before it, on every app server.  A
session also ends at its absolute lifetime and after a spell without requests
(both shorter for admins)."""

from __future__ import annotations

from flask import Flask, current_app, flash, g, request, session

from sspr import clock, tokens
from sspr.extensions import db
from sspr.i18n import ngettext
from sspr.models import User, new_session_version

# The idle timer's mark is rewritten at most this often (seconds): each rewrite sends the cookie again.
SEEN_EVERY = 60


def sign_in(user: User) -> None:
    """Start a fresh session for the user (nothing from before survives: no fixation)."""
    locale = session.get("locale")
    session.clear()
    session.permanent = True
    session["uid"] = user.id
    session["ver"] = user.session_version
    session["auth_at"] = session["seen"] = clock.now().timestamp()
    if locale:
        session["locale"] = locale
    user.last_login_at = clock.now()
    g.pop("sspr_user", None)


def refresh(user: User) -> None:
    """Keep this session alive across the user's own password change."""
    session["ver"] = user.session_version


def sign_out() -> None:
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    g.pop("sspr_user", None)


def sign_out_everywhere(user: User) -> None:
    """End every session of the user on every device, this one too: a new version
    fails every cookie made before (and the one-time reveal links bound to it)."""
    user.session_version = new_session_version()
    sign_out()


def current_user() -> User | None:
    """The signed-in user, or None when not signed in, ended by a new session version,
    blocked, past its absolute lifetime or idle too long (both shorter for admins)."""
    if "sspr_user" not in g:
        user = _session_user()
        g.sspr_user = None if user is None or _idle_for() > _idle_limit(user) else user
    return g.sspr_user  # type: ignore[no-any-return]


def _session_user() -> User | None:
    """The session's user unless the session ended for any reason but idleness."""
    uid = session.get("uid")
    if not isinstance(uid, int):
        return None
    user = db.session.get(User, uid)
    if user is None or session.get("ver") != user.session_version or user.blocked or auth_age() > _lifetime(user):
        return None
    return user


def _lifetime(user: User) -> float:
    if user.is_admin:
        return float(current_app.config["ADMIN_SESSION_SECONDS"])
    return current_app.permanent_session_lifetime.total_seconds()


def _idle_limit(user: User) -> int:
    key = "ADMIN_IDLE_SECONDS" if user.is_admin else "SESSION_IDLE_SECONDS"
    return int(current_app.config[key])


def _idle_for() -> float:
    """Seconds since this session's last marked request."""
    seen = session.get("seen")
    if not isinstance(seen, (int, float)):
        return float("inf")
    return clock.now().timestamp() - seen


def _mark_activity() -> None:
    """Before each request: a signed-in session idle too long ends here, with a notice
    for the next page shown (the sign-in page, as a rule); an active one is marked seen."""
    if request.endpoint == "static" or "uid" not in session:
        return
    user = _session_user()
    if user is None:
        return
    idle, limit = _idle_for(), _idle_limit(user)
    if idle > limit:
        sign_out()
        minutes = limit // 60
        flash(
            ngettext(
                "You were signed out after %(num)d minute without activity.",
                "You were signed out after %(num)d minutes without activity.",
                minutes,
            )
        )
    elif idle >= SEEN_EVERY:
        session["seen"] = clock.now().timestamp()


def auth_age() -> float:
    """Seconds since the password was last typed in this session."""
    auth_at = session.get("auth_at")
    if not isinstance(auth_at, (int, float)):
        return float("inf")
    return clock.now().timestamp() - auth_at


def reauthenticated() -> None:
    """The user just typed the password again: dangerous actions are open for a while."""
    session["auth_at"] = clock.now().timestamp()


def signed_in_user() -> User:
    """The signed-in user, in views that only run for one (behind login_required)."""
    user = current_user()
    if user is None:
        raise RuntimeError("signed_in_user() called without a signed-in user")
    return user


def init_app(app: Flask) -> None:
    app.session_interface = tokens.CookieSessions()
    app.jinja_env.globals["signed_in_user"] = current_user
    app.before_request(_mark_activity)
