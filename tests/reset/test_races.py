"""Requests that race a password change, on real threads against the app: no
500, one password stored whole (hash and flags from the same writer), and the
user's sessions from before ended."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from sspr import passwords
from sspr.extensions import db
from sspr.models import User
from tests import pages
from tests.admin.browser import post_form
from tests.conftest import PASSWORD
from tests.wizard import Wizard

RESET = "a passphrase chosen in the wizard"
OTHER = "a passphrase chosen somewhere else"


@pytest.fixture
def alice(make_user):
    return make_user("alice", alternate_email="alice@mail.example.org")


@pytest.fixture
def at_password(app, alice, smtp, deliver):
    """A browser with alice's wizard at the password page."""
    wizard = Wizard(app.test_client())
    wizard.username("alice")
    wizard.method("email")
    deliver()
    wizard.code(pages.code_in(smtp.wait_for("alice@mail.example.org").text))
    return wizard


def signed_in(app, username="alice"):
    client = app.test_client()
    assert pages.sign_in(client, username, PASSWORD).status_code == 302
    return client


def at_once(*posts):
    """Run each post on its own thread, released together; their responses, in order."""
    barrier = threading.Barrier(len(posts))
    responses = [None] * len(posts)

    def run(index, post):
        barrier.wait()
        responses[index] = post()

    threads = [threading.Thread(target=run, args=(i, p)) for i, p in enumerate(posts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return responses


def stored(app):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "alice"))
        db.session.expunge(user)
        return user


def verifies(app, password_hash, password):
    with app.app_context():
        return passwords.verify(password_hash, password)


def test_two_concurrent_password_posts_of_one_token_one_wins(app, at_password):
    """The password page posted twice at once with different passwords: one gets the
    done page, the other the 409 page, and the stored password is the winner's."""
    before = signed_in(app)
    data = pages.hidden(at_password.page, "/password-reset/password")
    cookie = at_password.client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value

    def post(password):
        def send():
            browser = app.test_client()
            browser.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
            return browser.post("/password-reset/password", data=data | {"password": password, "confirm": password})

        return send

    first, second = at_once(post(RESET), post(OTHER))

    user = stored(app)
    assert sorted([first.status_code, second.status_code]) == [200, 409]
    winner = RESET if first.status_code == 200 else OTHER
    loser = OTHER if winner == RESET else RESET
    assert verifies(app, user.password_hash, winner)
    assert not verifies(app, user.password_hash, loser)
    assert before.get("/account").status_code == 302


def test_a_reset_racing_an_account_password_change(app, at_password):
    """The wizard's new password and a signed-in change at /account land at once:
    both answer without a 500, the stored password is exactly one of the two, the
    browser that changed it stays signed in only if its change is the one stored,
    and a session from before is over either way."""
    before = signed_in(app)
    changer = signed_in(app)
    account = changer.get("/account")
    reset_data = pages.hidden(at_password.page, "/password-reset/password") | {"password": RESET, "confirm": RESET}
    change_data = pages.hidden(account, "/account/password") | {
        "current": PASSWORD,
        "password": OTHER,
        "confirm": OTHER,
    }

    reset, change = at_once(
        lambda: at_password.client.post("/password-reset/password", data=reset_data),
        lambda: changer.post("/account/password", data=change_data),
    )

    user = stored(app)
    assert reset.status_code == 200
    assert change.status_code == 302
    reset_won = verifies(app, user.password_hash, RESET)
    assert reset_won != verifies(app, user.password_hash, OTHER)
    assert (changer.get("/account").status_code == 200) == (not reset_won)
    assert before.get("/account").status_code == 302


def test_a_reset_racing_an_admin_reset(app, alice, at_password, make_user):
    """The wizard's new password and an admin's typed one (change required at next
    sign-in) land at once: no 500, exactly one password stored, the "must change"
    flag is the stored password's, and alice's session from before is over."""
    make_user("root", role="global-admin")
    admin = signed_in(app, "root")
    before = signed_in(app)
    user_page = admin.get(f"/admin/users/{alice.id}")
    reset_data = pages.hidden(at_password.page, "/password-reset/password") | {"password": RESET, "confirm": RESET}
    action = f"/admin/users/{alice.id}/reset"

    reset, admin_reset = at_once(
        lambda: at_password.client.post("/password-reset/password", data=reset_data),
        lambda: post_form(admin, user_page, action, mode="type", password=OTHER, confirm=OTHER),
    )

    user = stored(app)
    assert reset.status_code == 200
    assert admin_reset.status_code == 200
    admin_won = verifies(app, user.password_hash, OTHER)
    assert admin_won != verifies(app, user.password_hash, RESET)
    assert user.must_change_password == admin_won
    assert before.get("/account").status_code == 302
