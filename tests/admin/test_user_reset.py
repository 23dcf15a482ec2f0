"""Resetting one user's password from the console: generated or typed (the
wizard's rules), a change required at next sign-in by default, the user's
sessions ended, password admins kept off global admins, and an audit row."""

from __future__ import annotations

import json
import re

import pytest

from sspr.admin import resets
from tests import pages
from tests.admin.browser import post_form
from tests.conftest import PASSWORD

GENERATED = re.compile(r"<code>([A-Za-z0-9]{5}(?:-[A-Za-z0-9]{5}){3})</code>")
GOOD = "a sturdy kettle hums beside seven quiet lanterns"


def reset_url(user_id):
    return f"/admin/users/{user_id}/reset"


def reset(browser, user_id, **changes):
    """Open the user's page and post its reset form as a browser would, with these changes."""
    page = browser.get(f"/admin/users/{user_id}")
    assert page.status_code == 200
    return post_form(browser, page, reset_url(user_id), **changes)


def shown_password(response):
    found = GENERATED.findall(response.get_data(as_text=True))
    assert len(found) == 1, response.get_data(as_text=True)
    return found[0]


@pytest.fixture
def root(admin_browser):
    return admin_browser("root")


@pytest.fixture
def alice(make_user):
    return make_user("alice")


def test_a_generated_password_is_shown_once_and_must_be_changed_at_sign_in(root, alice, signs_in):
    """The default reset shows a generated password; it signs in, straight to /password."""
    browser, _admin = root

    done = reset(browser, alice.id)

    assert done.status_code == 200
    assert signs_in("alice", shown_password(done)) == "/password"
    assert signs_in("alice", PASSWORD) is None


def test_a_typed_password_that_passes_the_policy_is_set(root, alice, signs_in):
    """A typed password is set as typed; without "require a change" the sign-in goes on to /account."""
    browser, _admin = root

    done = reset(browser, alice.id, mode="type", password=GOOD, confirm=GOOD, require_change=None)

    assert done.status_code == 200
    assert signs_in("alice", GOOD) == "/account"


@pytest.mark.parametrize(
    ("typed", "confirm", "message"),
    [
        ("password123", "password123", "Use at least 15 characters"),
        ("alice-alice-alice-alice", "alice-alice-alice-alice", "Do not use your user name"),
        (GOOD, GOOD + "!", "The two passwords are not the same."),
        ("", "", "Type the new password"),
    ],
    ids=["too-short", "user-name", "mismatch", "empty"],
)
def test_a_typed_password_that_breaks_the_policy_changes_nothing(root, alice, stored_user, typed, confirm, message):
    """A typed password goes through the wizard's checks; refused, the user keeps the old one."""
    browser, _admin = root
    before = stored_user("alice")

    refused = reset(browser, alice.id, mode="type", password=typed, confirm=confirm)

    after = stored_user("alice")
    assert refused.status_code == 400
    assert message in refused.get_data(as_text=True)
    assert (after.password_hash, after.session_version) == (before.password_hash, before.session_version)


def test_the_users_other_sessions_end(root, alice, app):
    """Alice, signed in elsewhere, is signed out by the reset."""
    browser, _admin = root
    elsewhere = app.test_client()
    pages.sign_in(elsewhere, "alice", PASSWORD)
    assert elsewhere.get("/account").status_code == 200

    reset(browser, alice.id)

    assert elsewhere.get("/account").location.startswith("/login")


def test_the_reset_is_audited_without_the_password(root, alice, audit_rows):
    """One admin.reset row names the admin and the user, and holds no password."""
    browser, admin = root

    done = reset(browser, alice.id)

    (row,) = audit_rows("admin.reset")
    assert (row.actor_id, row.subject_id) == (admin.id, alice.id)
    assert json.loads(row.details) == {"require_change": True, "via": "console"}
    assert shown_password(done) not in row.details


def test_the_user_is_told_by_mail_and_the_mail_holds_no_password(root, alice, deliver, smtp):
    """Per policy (notify_user_on_reset) the user gets a notice; it never carries the password."""
    browser, _admin = root
    password = shown_password(reset(browser, alice.id))

    deliver()

    mail = smtp.wait_for("alice@mail.example.org")
    assert "An administrator reset the password" in mail.text
    assert password not in mail.text and password not in mail.html


def test_an_admin_cannot_reset_their_own_password_here(root, stored_user):
    """Your own password changes on /account: your page offers no reset, and a posted one is refused."""
    browser, admin = root
    before = stored_user("root").password_hash
    page = browser.get(f"/admin/users/{admin.id}")
    token = pages.hidden(page, f"/admin/users/{admin.id}/contacts")["csrf_token"]

    refused = browser.post(reset_url(admin.id), data={"csrf_token": token, "mode": "generate", "delivery": "show"})

    assert reset_url(admin.id) not in page.get_data(as_text=True)
    assert refused.status_code == 400
    assert "your account page" in refused.get_data(as_text=True)
    assert stored_user("root").password_hash == before


def test_a_password_admin_cannot_reset_a_global_admin(admin_browser, make_user, stored_user):
    """A password admin gets 403 for a global admin's page and reset, and nothing changes."""
    browser, _helper = admin_browser("helper", role="password-admin")
    boss = make_user("boss", role="global-admin")
    before = stored_user("boss").password_hash
    csrf = pages.hidden(browser.get("/admin/users"), "/logout")["csrf_token"]

    page = browser.get(f"/admin/users/{boss.id}")
    posted = browser.post(reset_url(boss.id), data={"csrf_token": csrf, "mode": "generate", "delivery": "show"})

    assert page.status_code == 403
    assert posted.status_code == 403
    assert stored_user("boss").password_hash == before


def test_a_password_admin_may_reset_another_password_admin(admin_browser, make_user, signs_in):
    """Password admins manage users and each other."""
    browser, _helper = admin_browser("helper", role="password-admin")
    other = make_user("deputy", role="password-admin")

    done = reset(browser, other.id)

    assert signs_in("deputy", shown_password(done)) == "/password"


def test_reset_needs_the_csrf_token(root, alice, stored_user):
    """A cross-site POST without the token is refused and changes nothing."""
    browser, _admin = root
    before = stored_user("alice").password_hash

    forged = browser.post(reset_url(alice.id), data={"mode": "generate", "delivery": "show"})

    assert forged.status_code == 400
    assert stored_user("alice").password_hash == before


def test_an_unknown_user_is_404(root):
    """No user with that id: 404."""
    browser, _admin = root

    assert browser.get("/admin/users/999999").status_code == 404


def test_a_failed_reset_says_nothing_changed(root, alice, monkeypatch, stored_user):
    """If hashing fails, the page says so (500) and Alice keeps her password."""
    browser, _admin = root
    before = stored_user("alice").password_hash

    def broken(plain, progress=None, parameters=None):
        raise OSError("cannot start a worker")

    monkeypatch.setattr(resets, "hash_all", broken)

    failed = reset(browser, alice.id)

    assert failed.status_code == 500
    assert "nothing was changed" in failed.get_data(as_text=True)
    assert stored_user("alice").password_hash == before
