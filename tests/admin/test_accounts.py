"""What admins change on an account besides the password: a forced change,
"password never expires", unlocking, blocking, contact details and roles.
Each change is audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import update

from sspr import clock
from sspr.extensions import db
from sspr.models import User
from tests import pages
from tests.admin.browser import post_form
from tests.conftest import PASSWORD


@pytest.fixture
def root(admin_browser):
    return admin_browser("root")


@pytest.fixture
def alice(make_user):
    return make_user("alice", alternate_email="alice@mail.example.org", phone="+4520111111")


def act(browser, user_id, action):
    """Post one of the account buttons' forms from the user's page (each is a hidden ``action``)."""
    url = f"/admin/users/{user_id}/account"
    data = pages.hidden(browser.get(f"/admin/users/{user_id}"), url)
    data["action"] = action
    return browser.post(url, data=data)


def set_columns(app, username, **values):
    with app.app_context():
        db.session.execute(update(User).where(User.username == username).values(**values))
        db.session.commit()


def test_force_change_sends_the_user_to_the_password_page(root, alice, stored_user, signs_in):
    """After "require a new password", Alice's sign-in leads to /password."""
    browser, _admin = root

    done = act(browser, alice.id, "force-change")

    assert done.status_code == 302
    assert stored_user("alice").must_change_password
    assert signs_in("alice", PASSWORD) == "/password"


@pytest.mark.policy(password_expiry_days=30)
def test_never_expire_spares_an_old_password_from_the_expiry_policy(root, alice, make_user, signs_in):
    """With passwords expiring after 30 days, 31 days on Bob must change his; Alice, marked
    "never expires", signs in as usual."""
    browser, _admin = root
    make_user("bob")
    act(browser, alice.id, "never-expire")

    with time_machine.travel(clock.now() + timedelta(days=31), tick=False):
        alice_lands = signs_in("alice", PASSWORD)
        bob_lands = signs_in("bob", PASSWORD)

    assert alice_lands == "/account"
    assert bob_lands == "/password"


@pytest.mark.policy(password_expiry_days=30)
def test_never_expire_can_be_cleared(root, alice, signs_in):
    """Clearing the flag puts the password back under the expiry policy."""
    browser, _admin = root
    act(browser, alice.id, "never-expire")

    act(browser, alice.id, "expire-normally")

    with time_machine.travel(clock.now() + timedelta(days=31), tick=False):
        assert signs_in("alice", PASSWORD) == "/password"


def test_unlock_clears_the_lockout(root, alice, app, stored_user, audit_rows):
    """A locked-out user is listed as locked; unlocking clears locked_until and the failure count."""
    browser, admin = root
    set_columns(app, "alice", locked_until=clock.now() + timedelta(hours=1), failed_logins=5)
    page = browser.get(f"/admin/users/{alice.id}")

    act(browser, alice.id, "unlock")

    user = stored_user("alice")
    assert "locked out" in page.get_data(as_text=True)
    assert user.locked_until is None and user.failed_logins == 0
    assert [(r.actor_id, r.subject_id) for r in audit_rows("admin.unlock")] == [(admin.id, alice.id)]


def test_block_stops_sign_in_and_ends_sessions_and_unblock_restores_it(root, alice, app, signs_in):
    """Blocked, Alice cannot sign in and her open session ends; unblocked, she signs in again."""
    browser, _admin = root
    elsewhere = app.test_client()
    pages.sign_in(elsewhere, "alice", PASSWORD)

    act(browser, alice.id, "block")
    blocked = pages.sign_in(app.test_client(), "alice", PASSWORD)
    session_after_block = elsewhere.get("/account")
    act(browser, alice.id, "unblock")

    assert blocked.status_code == 400 and "blocked" in blocked.get_data(as_text=True)
    assert session_after_block.location.startswith("/login")
    assert signs_in("alice", PASSWORD) == "/account"


def test_an_admin_cannot_block_themself(root, stored_user):
    """Blocking yourself is refused (it would end the session doing it)."""
    browser, admin = root

    refused = act(browser, admin.id, "block")

    assert refused.status_code == 400
    assert not stored_user("root").blocked


@pytest.mark.parametrize(
    ("action", "event"),
    [
        ("unlock", "admin.unlock"),
        ("block", "admin.block"),
        ("unblock", "admin.unblock"),
        ("force-change", "admin.force_change"),
        ("end-sessions", "admin.end_sessions"),
        ("never-expire", "admin.never_expire"),
        ("expire-normally", "admin.expire_normally"),
    ],
)
def test_every_account_action_is_audited(root, alice, audit_rows, action, event):
    """Each button writes one audit row naming the admin and the user."""
    browser, admin = root

    act(browser, alice.id, action)

    assert [(r.actor_id, r.subject_id) for r in audit_rows(event)] == [(admin.id, alice.id)]


def test_sign_out_everywhere_ends_the_users_sessions(root, alice, app):
    """ "Sign out everywhere" on Alice's page ends her signed-in session on the next request."""
    browser, _admin = root
    alices = app.test_client()
    pages.sign_in(alices, "alice", PASSWORD)
    assert alices.get("/account").status_code == 200

    done = act(browser, alice.id, "end-sessions")

    assert done.status_code == 302
    assert alices.get("/account").location.startswith("/login")


def test_ending_your_own_sessions_here_is_refused(root):
    """The console refuses to sign its own admin out; the admin's session goes on."""
    browser, admin = root

    refused = act(browser, admin.id, "end-sessions")

    assert refused.status_code == 400
    assert browser.get("/admin").status_code == 200


def test_an_unknown_action_is_refused(root, alice):
    """A forged action name changes nothing and gets 400."""
    browser, _admin = root

    assert act(browser, alice.id, "delete").status_code == 400


def test_contact_details_are_saved_and_the_old_address_is_told(root, alice, stored_user, smtp, deliver, audit_rows):
    """A new alternate e-mail and phone are saved normalised; the replaced address gets a notice."""
    browser, _admin = root
    page = browser.get(f"/admin/users/{alice.id}")

    saved = post_form(
        browser,
        page,
        f"/admin/users/{alice.id}/contacts",
        display_name="Alice Andersen",
        alternate_email="alice.new@Mail.Example.org",
        phone="20 99 88 77",
    )
    deliver()

    user = stored_user("alice")
    assert saved.status_code == 302
    assert (user.display_name, user.alternate_email, user.phone) == (
        "Alice Andersen",
        "alice.new@mail.example.org",
        "+4520998877",
    )
    assert smtp.wait_for("alice@mail.example.org")
    (row,) = audit_rows("admin.contacts_changed")
    assert "alternate_email" in row.details and "alice.new" not in row.details


def test_a_bad_phone_number_is_refused_by_its_field(root, alice, stored_user):
    """An invalid number is refused next to the phone field; nothing is saved."""
    browser, _admin = root
    page = browser.get(f"/admin/users/{alice.id}")

    refused = post_form(browser, page, f"/admin/users/{alice.id}/contacts", display_name="New", phone="12")

    assert refused.status_code == 400
    assert "Enter a valid phone number" in refused.get_data(as_text=True)
    assert stored_user("alice").display_name == ""


def test_a_global_admin_changes_a_role(root, alice, stored_user, audit_rows):
    """A global admin makes Alice a password admin; the change is audited with from and to."""
    browser, _admin = root
    page = browser.get(f"/admin/users/{alice.id}")

    post_form(browser, page, f"/admin/users/{alice.id}/role", role="password-admin")

    assert stored_user("alice").role == "password-admin"
    (row,) = audit_rows("admin.role_changed")
    assert '"new": "password-admin"' in row.details and '"old": "user"' in row.details


def test_a_global_admin_cannot_change_their_own_role(root, stored_user):
    """Nobody changes their own role (so the last global admin cannot demote themself)."""
    browser, admin = root
    token = pages.hidden(browser.get("/admin/users"), "/logout")["csrf_token"]

    refused = browser.post(f"/admin/users/{admin.id}/role", data={"csrf_token": token, "role": "user"})

    assert refused.status_code == 400
    assert stored_user("root").role == "global-admin"


def test_a_password_admin_cannot_change_roles(admin_browser, alice, stored_user):
    """The role form is not offered to a password admin, and posting it anyway is 403."""
    browser, _helper = admin_browser("helper", role="password-admin")
    page = browser.get(f"/admin/users/{alice.id}")
    token = pages.hidden(page, f"/admin/users/{alice.id}/contacts")["csrf_token"]

    posted = browser.post(f"/admin/users/{alice.id}/role", data={"csrf_token": token, "role": "global-admin"})

    assert f"/admin/users/{alice.id}/role" not in page.get_data(as_text=True)
    assert posted.status_code == 403
    assert stored_user("alice").role == "user"


def test_a_password_admin_cannot_touch_a_global_admins_account(admin_browser, make_user, stored_user):
    """Blocking (or any other action on) a global admin is 403 for a password admin."""
    browser, _helper = admin_browser("helper", role="password-admin")
    boss = make_user("boss", role="global-admin")
    token = pages.hidden(browser.get("/admin/users"), "/logout")["csrf_token"]

    posted = browser.post(f"/admin/users/{boss.id}/account", data={"csrf_token": token, "action": "block"})

    assert posted.status_code == 403
    assert not stored_user("boss").blocked
