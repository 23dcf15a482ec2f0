"""The console's routing table: every /admin URL, and who may use it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app
from flask_babel import lazy_gettext as _l

from sspr import sessions
from sspr.admin import home
from sspr.admin.access import admin_required

bp = Blueprint("admin", __name__, url_prefix="/admin")

ANY_ADMIN = admin_required("password-admin")
GLOBAL_ADMIN = admin_required("global-admin")


@bp.after_request
def private(response: Response) -> Response:
    """Console pages show personal data and one-time passwords: never cached."""
    response.headers["Cache-Control"] = "no-store"
    return response


# The console's sections in its menu: (endpoint, label, least role).
SECTIONS = [
    ("admin.users", _l("Users"), "password-admin"),
    ("admin.policy", _l("Self-service policy"), "global-admin"),
    ("admin.audit", _l("Audit log"), "password-admin"),
]


@bp.context_processor
def menu() -> dict[str, Any]:
    """The sections this admin may open (and that exist)."""
    user = sessions.current_user()
    shown = [
        (endpoint, label)
        for endpoint, label, role in SECTIONS
        if endpoint in current_app.view_functions
        and user is not None
        and (role == "password-admin" or user.role == "global-admin")
    ]
    return {"admin_sections": shown, "admin_endpoints": {e for e, _label in shown}}


bp.add_url_rule("", "dashboard", ANY_ADMIN(home.dashboard))
bp.add_url_rule("/reauth", "reauth", ANY_ADMIN(home.reauth), methods=["GET", "POST"])
