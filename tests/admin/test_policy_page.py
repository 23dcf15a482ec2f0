"""/admin/policy: global admins change the policy the wizard follows, at once;
a stricter policy shows who it leaves out and waits for a confirm; bad values
are refused by their field; each change is audited with its from and to."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from sspr import clock, policy, users
from sspr.extensions import db
from sspr.models import AuditEvent
from tests import pages
from tests.admin.browser import controls, post_form, sign_in_as
from tests.conftest import PASSWORD
from tests.wizard import Wizard

URL = "/admin/policy"


@pytest.fixture
def admin(client, make_user):
    """A global admin, signed in just now in ``client``."""
    return sign_in_as(client, make_user, "root", "global-admin")


@pytest.fixture
def alice(make_user):
    """A user with both methods registered."""
    return make_user("alice", alternate_email="alice@mail.example.org", phone="+4520111111")


@pytest.fixture
def visitor(app):
    """Someone else's browser, for the wizard."""
    return app.test_client()


@pytest.fixture
def policy_now(app):
    def load():
        with app.app_context():
            return policy.load()

    return load


@pytest.fixture
def audit_rows(app):
    def load(event):
        with app.app_context():
            return list(db.session.scalars(select(AuditEvent).where(AuditEvent.event == event)))

    return load


def change(client, **changes):
    """Open the policy page and post its form with these controls changed."""
    page = client.get(URL)
    assert page.status_code == 200
    return post_form(client, page, URL, **changes)


def change_and_confirm(client, **changes):
    """Change the policy through the confirm step a stricter policy asks for."""
    confirm_page = change(client, **changes)
    assert confirm_page.status_code == 200
    return pages.submit(client, confirm_page, URL)


def offered(page):
    return [i["value"] for i in pages.form(page, "/password-reset/method")["inputs"] if i.get("name") == "method"]


def listed(page):
    """The user names the confirm step lists as losing self-service."""
    html = page.get_data(as_text=True)
    start = html.find('class="impact-list"')
    return re.findall(r"<li>([^<\s]+)", html[start : html.find("</ul>", start)]) if start != -1 else []


def error_by(page, key):
    """The messages shown by the field of this key."""
    html = page.get_data(as_text=True)
    start = html.find(f'id="{key}-errors"')
    assert start != -1, f"no errors by {key}"
    return html[start : html.find("</ul>", start)]


@pytest.mark.policy(methods=("email",), code_lifetime_minutes=5, banned_words=("acme", "spring"))
def test_the_form_shows_the_policy_in_force(admin, client):
    """Each field shows the stored value, one field per policy key."""

    page = client.get(URL)

    shown = controls(page, URL)
    assert page.status_code == 200
    assert set(policy.PARSERS) <= {i.get("name") for i in pages.form(page, URL)["inputs"]}
    assert shown.getlist("methods") == ["email"]
    assert shown["code_lifetime_minutes"] == "5"
    assert shown["banned_words"].split() == ["acme", "spring"]
    assert shown["notify_user_on_reset"] == "y"


def test_turning_sms_off_takes_effect_in_the_wizard_at_once(admin, client, alice, visitor, deliver):
    """With SMS turned off on the page, the wizard offers only e-mail and refuses a forged method=sms."""
    change_and_confirm(client, methods=["email"])
    wizard = Wizard(visitor)
    page = wizard.username("alice")

    forged = wizard.method("sms")

    assert offered(page) == ["email"]
    assert forged.status_code == 400
    assert deliver() == 0


def test_two_methods_required_makes_one_code_not_enough(admin, client, alice, visitor, smtp, deliver):
    """After the change, the first right code leads to the second method, not to the new password."""
    change_and_confirm(client, methods_required="2")
    wizard = Wizard(visitor)
    wizard.username("alice")
    wizard.method("email")
    deliver()

    after_one = wizard.code(pages.code_in(smtp.wait_for("alice@mail.example.org").text))

    assert offered(after_one) == ["sms"]
    assert "/password-reset/password" not in [f["action"] for f in pages.forms(after_one)]


def test_a_looser_change_is_saved_at_once(admin, client, alice, visitor, policy_now):
    """A change that takes self-service from nobody needs no confirm step, and the wizard follows it."""

    response = change(client, code_lifetime_minutes="5", notify_user_on_reset=None, helpdesk="help@example.org")

    wizard = Wizard(visitor)
    wizard.username("alice")
    code_page = wizard.method("email")
    assert response.status_code == 302
    assert response.location == URL
    assert (policy_now().code_lifetime_minutes, policy_now().notify_user_on_reset) == (5, False)
    assert "valid for 5 minutes" in code_page.get_data(as_text=True)
    assert "help@example.org" in code_page.get_data(as_text=True)


def test_the_impact_step_lists_who_would_lose_self_service(admin, client, alice, make_user, policy_now):
    """Requiring two methods first shows the users with only one, and saves nothing."""
    make_user("bob", alternate_email="bob@mail.example.org", phone=None, display_name="Bob Builder")
    make_user("carol", alternate_email=None, phone=None)  # cannot self-serve already

    response = change(client, methods_required="2")

    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "1 user can reset their own password now and could not after this change" in text
    assert listed(response) == ["bob"]
    assert "Bob Builder" in text
    assert policy_now().methods_required == 1


def test_confirming_saves_the_stricter_policy(admin, client, make_user, policy_now):
    """The confirm step's button saves exactly the values shown."""
    make_user("bob", alternate_email="bob@mail.example.org", phone=None)
    confirm_page = change(client, methods_required="2", code_lifetime_minutes="7")

    response = pages.submit(client, confirm_page, URL)

    assert response.status_code == 302
    assert (policy_now().methods_required, policy_now().code_lifetime_minutes) == (2, 7)


def test_limiting_to_a_group_lists_everyone_outside_it(app, admin, client, alice, make_user, policy_now):
    """Narrowing self-service to a group lists the users not in it (the admin too)."""
    make_user("bob")
    with app.app_context():
        users.find("alice").groups = "staff, it"
        db.session.commit()

    response = change(client, self_service="group", self_service_group="Staff")

    assert "2 users can reset" in response.get_data(as_text=True)
    assert listed(response) == ["bob", "root"]
    assert policy_now().self_service == "everyone"


def test_a_confirm_for_a_policy_changed_meanwhile_asks_again(app, admin, client, alice, policy_now):
    """If someone changed the policy after the impact was counted, the confirm shows the impact again."""
    confirm_page = change(client, self_service="nobody")
    with app.app_context():
        policy.save({"code_lifetime_minutes": 3})
        db.session.commit()

    response = pages.submit(client, confirm_page, URL)

    assert response.status_code == 200
    assert "changed by someone else" in response.get_data(as_text=True)
    assert policy_now().self_service == "everyone"


@pytest.mark.parametrize(
    ("changes", "key", "message"),
    [
        ({"code_lifetime_minutes": "0"}, "code_lifetime_minutes", "Expected a whole number from 1 to 60"),
        ({"password_min_length": "twelve"}, "password_min_length", "Expected a whole number from 8 to 64"),
        ({"methods": []}, "methods", "Expected one or more of email, sms"),
        (
            {"methods": ["email"], "methods_required": "2"},
            "methods_required",
            "Cannot be more than the number of methods enabled",
        ),
        (
            {"self_service": "group", "self_service_group": ""},
            "self_service_group",
            "A group is needed when self-service is limited to a group",
        ),
        ({"reminder_days": "14, 90"}, "reminder_days", "whole numbers of days from 1 to 60"),
    ],
    ids=["lifetime-0", "length-not-a-number", "no-method", "two-of-one", "group-without-name", "reminder-too-far"],
)
def test_a_bad_value_is_refused_by_its_field(admin, client, policy_now, audit_rows, changes, key, message):
    """A value or combination the CLI refuses gets a 400 with the message by its field,
    and nothing is saved, not even a good value posted with it."""
    before = policy_now()

    response = change(client, **{"code_lifetime_minutes": "5", **changes})

    assert response.status_code == 400
    assert message in error_by(response, key)
    assert policy_now() == before
    assert audit_rows("policy.changed") == []


def test_saving_the_same_values_says_nothing_changed(admin, client, audit_rows):
    """Posting the form untouched stores nothing, writes no audit row, and says so."""

    response = change(client)

    assert response.status_code == 200
    assert "Nothing was changed" in response.get_data(as_text=True)
    assert audit_rows("policy.changed") == []


def test_the_audit_row_says_who_changed_what_from_what_to_what(admin, client, audit_rows):
    """One policy.changed row with the admin as actor and only the changed keys, each with from and to."""

    change(client, code_lifetime_minutes="5", banned_words="acme\r\nspring")

    [row] = audit_rows("policy.changed")
    assert row.actor_id == admin.id
    assert json.loads(row.details) == {
        "via": "console",
        "changes": {
            "code_lifetime_minutes": {"from": 10, "to": 5},
            "banned_words": {"from": [], "to": ["acme", "spring"]},
        },
    }


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_password_admin_gets_403(client, make_user, method):
    """The policy is for global admins only: a password admin is refused, read or write."""
    sign_in_as(client, make_user, "helper", "password-admin")
    token = pages.hidden(client.get("/account"), "/logout")["csrf_token"]

    response = client.open(URL, method=method, data={"csrf_token": token} if method == "POST" else None)

    assert response.status_code == 403


# The admin was busy all along: the sign-in's age is at issue here, not idleness.
@pytest.mark.settings(ADMIN_IDLE_SECONDS=3600)
def test_an_old_sign_in_types_the_password_again_first(admin, client, policy_now):
    """Past 15 minutes since the password was typed, the page sends to /admin/reauth, then shows again."""
    page = client.get(URL)

    with time_machine.travel(clock.now() + timedelta(minutes=16)):
        late_post = post_form(client, page, URL, code_lifetime_minutes="5")
        late_get = client.get(URL)
        reauth = client.get(late_get.location)
        back = pages.submit(client, reauth, "/admin/reauth", password=PASSWORD)

    assert late_post.status_code == 302
    assert late_post.location.startswith("/admin/reauth?next=")
    assert late_get.location == "/admin/reauth?next=/admin/policy"
    assert back.location == URL
    assert policy_now().code_lifetime_minutes == 10
