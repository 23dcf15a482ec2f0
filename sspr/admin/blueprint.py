"""The console's routing table: every /admin URL, and who may use it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app

from sspr import sessions
from sspr.admin import audit_views, bulk_views, home, outbox_views, policy_views, users_views
from sspr.admin.access import admin_required, fresh_auth_required
from sspr.i18n import lazy_gettext as _l

bp = Blueprint("admin", __name__, url_prefix="/admin")

ANY_ADMIN = admin_required("password-admin")
GLOBAL_ADMIN = admin_required("global-admin")


# The console's sections in its menu: (endpoint, label, least role).
SECTIONS = [
    ("admin.users", _l("Users"), "password-admin"),
    ("admin.policy", _l("Self-service policy"), "global-admin"),
    ("admin.audit", _l("Audit log"), "password-admin"),
    ("admin.outbox", _l("Outgoing messages"), "global-admin"),
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
# A policy change is dangerous: global admins only, with a fresh password (the form shows again after it).
bp.add_url_rule("/policy", "policy", GLOBAL_ADMIN(fresh_auth_required(policy_views.edit)), methods=["GET", "POST"])
bp.add_url_rule("/audit", "audit", ANY_ADMIN(audit_views.log))
bp.add_url_rule("/audit.csv", "audit_csv", ANY_ADMIN(audit_views.export))
# Mail and SMS not delivered yet: global admins only, as it holds mail to global admins, whom password admins never see.
bp.add_url_rule("/outbox", "outbox", GLOBAL_ADMIN(outbox_views.queue))
bp.add_url_rule("/outbox/<int:message_id>", "outbox_action", GLOBAL_ADMIN(outbox_views.act), methods=["POST"])
# Users: any admin; may_manage keeps password admins off global admins; roles are for global admins.
bp.add_url_rule("/users", "users", ANY_ADMIN(users_views.users_list))
bp.add_url_rule("/users/<int:user_id>", "user", ANY_ADMIN(users_views.user_page))
bp.add_url_rule("/users/<int:user_id>/reset", "reset_password", ANY_ADMIN(users_views.reset_password), methods=["POST"])
bp.add_url_rule(
    "/users/<int:user_id>/contacts", "edit_contacts", ANY_ADMIN(users_views.edit_contacts), methods=["POST"]
)
bp.add_url_rule("/users/<int:user_id>/role", "change_role", GLOBAL_ADMIN(users_views.change_role), methods=["POST"])
bp.add_url_rule(
    "/users/<int:user_id>/account", "account_action", ANY_ADMIN(users_views.account_action), methods=["POST"]
)
# A bulk reset is dangerous: a fresh password first (the selection is in the URL, so it survives the prompt).
bp.add_url_rule(
    "/users/reset", "bulk_reset", ANY_ADMIN(fresh_auth_required(bulk_views.bulk_reset)), methods=["GET", "POST"]
)
bp.add_url_rule(
    "/users/force-change", "bulk_force_change", ANY_ADMIN(bulk_views.bulk_force_change), methods=["GET", "POST"]
)
bp.add_url_rule(
    "/users/end-sessions", "bulk_end_sessions", ANY_ADMIN(bulk_views.bulk_end_sessions), methods=["GET", "POST"]
)
