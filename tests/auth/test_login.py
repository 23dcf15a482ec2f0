"""Sign-in and sign-out: one answer for every failure, user names as people type
them, a fresh session at each sign-in, local redirects only, hashes kept up to
date, and the forced password change."""

from __future__ import annotations

from urllib.parse import urlencode

import argon2
import pytest
from sqlalchemy import update

from sspr import passwords
from sspr.extensions import db
from sspr.models import User
from tests import pages
from tests.conftest import PASSWORD

NEW_PASSWORD = "a fresh passphrase for spring"


def full_width(text: str) -> str:
    """The same letters as typed on an East Asian keyboard (U+FF21 and on)."""
    return "".join(chr(ord(ch) + 0xFEE0) for ch in text)


def without(response, typed_name):
    """The page with its tokens blanked and the echoed user name taken out."""
    return pages.text_without_tokens(response).replace(typed_name, "<name>")


def test_sign_in_leads_to_the_account(client, make_user):
    """The right user name and password sign in and lead to /account."""
    make_user("alice")

    response = pages.sign_in(client, "alice", PASSWORD)

    assert response.status_code == 302
    assert response.location == "/account"
    assert client.get("/account").status_code == 200


def test_wrong_password_and_unknown_user_get_the_same_answer(app, make_user):
    """A wrong password and a name nobody has get the same status and page, so
    the form cannot be used to find out who has an account."""
    make_user("alice")

    wrong_password = pages.sign_in(app.test_client(), "alice", "not the password of anyone")
    unknown_user = pages.sign_in(app.test_client(), "nobody", PASSWORD)

    assert wrong_password.status_code == unknown_user.status_code == 400
    assert without(wrong_password, "alice") == without(unknown_user, "nobody")
    assert "The user name or password is not right." in wrong_password.get_data(as_text=True)


@pytest.mark.parametrize("typed", ["ALICE", full_width("Alice")], ids=["upper-case", "full-width"])
def test_user_names_match_whatever_their_case_or_width(client, make_user, typed):
    """User names are compared case-insensitively and after NFKC normalisation."""
    make_user("alice")

    response = pages.sign_in(client, typed, PASSWORD)

    assert response.status_code == 302
    assert response.location == "/account"


def test_sign_in_starts_a_fresh_session(client, make_user):
    """Nothing put in the session before sign-in survives it but the language:
    a session planted by someone else is not the one that gets signed in."""
    make_user("alice")
    page = client.get("/login")
    with client.session_transaction() as before:
        before["planted"] = "by someone else"
        before["locale"] = "da"
    cookie_before = client.get_cookie("sspr_session").value

    response = pages.submit(client, page, "/login", username="alice", password=PASSWORD)

    with client.session_transaction() as after:
        kept = dict(after)
    assert response.status_code == 302
    assert client.get_cookie("sspr_session").value != cookie_before
    assert "planted" not in kept
    assert kept["locale"] == "da"
    assert isinstance(kept["uid"], int)


def test_sign_out_ends_the_session(client, make_user):
    """The sign-out form (a POST with its CSRF token) ends the session."""
    make_user("alice")
    pages.sign_in(client, "alice", PASSWORD)
    account = client.get("/account")

    response = pages.submit(client, account, "/logout")

    assert response.status_code == 302
    assert response.location == "/login"
    assert client.get("/account").location.startswith("/login")


def test_sign_out_needs_the_form(client, make_user):
    """Neither a link (GET) nor a cross-site POST without the CSRF token signs anyone out."""
    make_user("alice")
    pages.sign_in(client, "alice", PASSWORD)

    followed_link = client.get("/logout")
    forged_post = client.post("/logout")

    assert followed_link.status_code == 405
    assert forged_post.status_code == 400
    assert client.get("/account").status_code == 200


@pytest.mark.parametrize(
    ("target", "landing"),
    [
        ("/account?tab=phone", "/account?tab=phone"),
        ("https://evil.example", "/account"),
        ("//evil.example", "/account"),
        ("/\\evil.example", "/account"),
    ],
    ids=["local-path", "absolute-url", "scheme-relative", "backslash"],
)
def test_next_leads_only_to_a_local_path(client, make_user, target, landing):
    """After sign-in, next= is followed only when it is a path on this site."""
    make_user("alice")

    response = pages.sign_in(client, "alice", PASSWORD, path="/login?" + urlencode({"next": target}))

    assert response.status_code == 302
    assert response.location == landing


def test_a_hash_made_with_other_parameters_is_upgraded_at_sign_in(app, client, make_user, stored_user):
    """A stored hash with other argon2 parameters is replaced by one with the
    current parameters once the password is known, and still verifies."""
    user = make_user("alice")
    old_hash = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    with app.app_context():
        db.session.execute(update(User).where(User.id == user.id).values(password_hash=old_hash))
        db.session.commit()

    pages.sign_in(client, "alice", PASSWORD)

    new_hash = stored_user("alice").password_hash
    assert new_hash != old_hash
    assert argon2.PasswordHasher().verify(new_hash, PASSWORD)
    with app.app_context():
        assert not passwords.needs_rehash(new_hash)


def test_a_forced_change_holds_the_user_at_the_password_page(client, make_user):
    """A user who must change the password is sent to /password at sign-in,
    and /account sends them back there until it is done."""
    make_user("alice", must_change_password=True)

    signed_in = pages.sign_in(client, "alice", PASSWORD)
    account = client.get("/account")

    assert signed_in.location == "/password"
    assert account.status_code == 302
    assert account.location == "/password"


def test_after_the_forced_change_the_account_opens_and_the_new_password_works(app, client, make_user):
    """Once the new password is set, /account opens and the new password signs in."""
    make_user("alice", must_change_password=True)
    pages.sign_in(client, "alice", PASSWORD)
    page = client.get("/password")

    changed = pages.submit(client, page, "/password", current=PASSWORD, password=NEW_PASSWORD, confirm=NEW_PASSWORD)

    assert changed.location == "/account"
    assert client.get("/account").status_code == 200
    assert pages.sign_in(app.test_client(), "alice", NEW_PASSWORD).location == "/account"
    assert pages.sign_in(app.test_client(), "alice", PASSWORD).status_code == 400


def test_the_forced_change_refuses_the_password_it_replaces(app, client, make_user, stored_user):
    """Told to change the password, the user cannot type the same one again."""
    make_user("alice", must_change_password=True)
    pages.sign_in(client, "alice", PASSWORD)
    before = stored_user("alice")

    refused = pages.submit(
        client, client.get("/password"), "/password", current=PASSWORD, password=PASSWORD, confirm=PASSWORD
    )

    assert refused.status_code == 400
    assert "Choose a password different from your current one." in refused.get_data(as_text=True)
    assert stored_user("alice").password_hash == before.password_hash
    assert stored_user("alice").must_change_password
