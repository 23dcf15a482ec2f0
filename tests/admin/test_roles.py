"""Who may use which /admin URL, for every /admin rule in the app's URL map
and each method it takes: a route added later is checked as soon as it exists.

The table is GLOBAL_ONLY: the endpoints only global admins may use.  Every
other /admin endpoint is for any admin.  A new global-only route fails the
password-admin test until it is listed here.
"""

from __future__ import annotations

import re
import tempfile
import uuid

import pytest

from sspr import create_app
from tests import pages
from tests.admin.browser import sign_in_as

# Changing the self-service policy, giving or taking admin roles, and the outbox (it holds mail to global admins).
GLOBAL_ONLY = {"admin.policy", "admin.change_role", "admin.outbox", "admin.outbox_action"}
CONVERTER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?\w+>")


def admin_rules() -> list[tuple[str, str, str]]:
    """(method, rule, endpoint) for every /admin rule, read from an app built
    only for this: parametrising needs the list before any fixture runs."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "route-listing-only-" + "x" * 32,
            "DATABASE_URL": "sqlite://",
            "AUTO_MIGRATE": False,
            "SENDER_THREAD": False,
            "ARGON2_PROFILE": "CHEAPEST",
            "OUTBOX_DIR": tempfile.gettempdir(),
        }
    )
    return sorted(
        (method, rule.rule, rule.endpoint)
        for rule in app.url_map.iter_rules()
        if rule.rule == "/admin" or rule.rule.startswith("/admin/")
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    )


RULES = admin_rules()
IDS = [f"{method} {rule}" for method, rule, _endpoint in RULES]


def concrete(rule: str, user_id: int) -> str:
    """The rule with a value for each converter: the id of a real (plain) user for
    <int:...>, so that admins reach the view itself rather than a 404."""

    def value(match: re.Match[str]) -> str:
        return {"int": str(user_id), "uuid": str(uuid.uuid4()), "float": "1.0"}.get(match.group(1) or "", "x")

    return CONVERTER.sub(value, rule)


@pytest.fixture
def target(make_user):
    """A plain user, whom any admin may manage."""
    return make_user("target")


@pytest.fixture
def visit(client, target):
    """Open the rule as this client, a POST carrying the session's CSRF token."""

    def open_rule(method, rule):
        # The sign-in form carries the session's token, signed in or not.
        token = pages.hidden(client.get("/login"), "/login")["csrf_token"]
        data = {"csrf_token": token} if method != "GET" else None
        return client.open(concrete(rule, target.id), method=method, data=data)

    return open_rule


def as_role(client, make_user, role):
    sign_in_as(client, make_user, "me", role)


@pytest.mark.parametrize(("method", "rule", "endpoint"), RULES, ids=IDS)
def test_anonymous_is_sent_to_sign_in(visit, method, rule, endpoint):
    """Without a session every /admin URL leads to the sign-in page."""

    response = visit(method, rule)

    assert response.status_code == 302
    assert response.location.startswith("/login")


@pytest.mark.parametrize(("method", "rule", "endpoint"), RULES, ids=IDS)
def test_a_plain_user_gets_the_403_page(client, make_user, visit, method, rule, endpoint):
    """A signed-in user without an admin role gets the "not allowed" page."""
    as_role(client, make_user, "user")

    response = visit(method, rule)

    assert response.status_code == 403
    assert "You do not have access to this page." in response.get_data(as_text=True)


@pytest.mark.parametrize(("method", "rule", "endpoint"), RULES, ids=IDS)
def test_a_password_admin_is_refused_only_global_routes(client, make_user, visit, method, rule, endpoint):
    """A password admin gets 403 exactly on the global-only endpoints, and no error elsewhere."""
    as_role(client, make_user, "password-admin")

    response = visit(method, rule)

    assert (response.status_code == 403) == (endpoint in GLOBAL_ONLY), response.status_code
    assert response.status_code < 500


@pytest.mark.parametrize(("method", "rule", "endpoint"), RULES, ids=IDS)
def test_a_global_admin_is_never_refused(client, make_user, visit, method, rule, endpoint):
    """A global admin may use every /admin URL (a bare POST may be a 400, never a 403 or an error)."""
    as_role(client, make_user, "global-admin")

    response = visit(method, rule)

    assert response.status_code != 403
    assert response.status_code < 500
