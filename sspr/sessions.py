"""Who is signed in.  The cookie session holds the user id and the user's
session version; rotating the version (on every password change) ends all
sessions made before it, on every app server."""

from __future__ import annotations

from flask import Flask, g, session

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
    """The signed-in user, or None when not signed in or the session was ended."""
    if "sspr_user" not in g:
        user = None
        uid = session.get("uid")
        if isinstance(uid, int):
            user = db.session.get(User, uid)
            if user is None or session.get("ver") != user.session_version:
                user = None
        g.sspr_user = user
    return g.sspr_user  # type: ignore[no-any-return]


def signed_in_user() -> User:
    """The signed-in user, in views that only run for one (behind login_required)."""
    user = current_user()
    if user is None:
        raise RuntimeError("signed_in_user() called without a signed-in user")
    return user


def init_app(app: Flask) -> None:
    app.jinja_env.globals["signed_in_user"] = current_user
