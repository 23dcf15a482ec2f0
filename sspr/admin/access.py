"""Who may do what in the console.

global-admin: everything.  password-admin: resets and the like for users and
other password admins, never for global admins, and no policy changes.
Everyone else: 403 on every /admin URL.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, current_app, redirect, request, url_for
from flask.typing import ResponseReturnValue

from sspr import sessions
from sspr.models import User

View = Callable[..., ResponseReturnValue]


def admin_required(role: str = "password-admin") -> Callable[[View], View]:
    """Signed in with at least this role ("password-admin" or "global-admin"), else 403."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> ResponseReturnValue:
            user = sessions.current_user()
            if user is None:
                return redirect(url_for("auth.login", next=request.path))
            if not user.is_admin or (role == "global-admin" and user.role != "global-admin"):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorate


def fresh_auth_required(view: View) -> View:
    """Dangerous actions ask for the password again when the last sign-in is too old.
    The form and its POST share one URL, so after the password the form shows again
    (a POST is never replayed).  The query string comes back too: a bulk action's
    selection travels in it."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        if sessions.auth_age() > current_app.config["ADMIN_REAUTH_SECONDS"]:
            here = request.full_path.rstrip("?")
            return redirect(url_for("admin.reauth", next=here))
        return view(*args, **kwargs)

    return wrapped


def may_manage(actor: User, target: User) -> bool:
    """Whether the actor may reset or change this user: password admins never touch global admins."""
    return actor.role == "global-admin" or target.role != "global-admin"
