"""Who is signed in.  The cookie session holds the user id and the user's
session version; rotating the version (on every password change) ends all
sessions made before it, on every app server."""

from __future__ import annotations

from flask import Flask, current_app, g, session

from sspr import clock
from sspr.extensions import db
from sspr.models import User


def sign_in(user: User) -> None:
    """Start a fresh session for the user (nothing from before survives: no fixation)."""
    locale = session.get("locale")
    session.clear()
    session.permanent = True
    session["uid"] = user.id
    session["ver"] = user.session_version
    session["auth_at"] = clock.now().timestamp()
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


def current_user() -> User | None:
    """The signed-in user, or None when not signed in, ended by a password change,
    or past its absolute lifetime (shorter for admins)."""
    if "sspr_user" not in g:
        user = None
        uid = session.get("uid")
        if isinstance(uid, int):
            user = db.session.get(User, uid)
            if user is not None and (
                session.get("ver") != user.session_version or user.blocked or auth_age() > _lifetime(user)
            ):
                user = None
        g.sspr_user = user
    return g.sspr_user  # type: ignore[no-any-return]


def _lifetime(user: User) -> float:
    if user.is_admin:
        return float(current_app.config["ADMIN_SESSION_SECONDS"])
    return current_app.permanent_session_lifetime.total_seconds()


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
    app.jinja_env.globals["signed_in_user"] = current_user
