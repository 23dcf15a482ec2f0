"""/account: a new address or number counts only once the code sent to it is
typed back (and the old one is told); the password changes only with the
current one, and a change signs out every other session."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests import pages
from tests.conftest import PASSWORD

NEW_PASSWORD = "a fresh passphrase for spring"


@dataclass(frozen=True)
class Channel:
    action: str
    field: str
    attribute: str
    old: str
    new: str


EMAIL = Channel("/account/email", "email", "alternate_email", "alice@mail.example.org", "alice@new.example.org")
SMS = Channel("/account/phone", "phone", "phone", "+4520123456", "+4520998877")


@pytest.fixture(params=[EMAIL, SMS], ids=["email", "sms"])
def channel(request):
    return request.param


@pytest.fixture
def signed_in(client, make_user):
    """A client signed in as alice, whose contact details are EMAIL.old and SMS.old."""
    make_user("alice", alternate_email=EMAIL.old, phone=SMS.old)
    pages.sign_in(client, "alice", PASSWORD)
    return client


@pytest.fixture
def received(smtp, twilio, deliver):
    """Run the outbox, then the text of what reached this address or number."""

    def read(destination):
        deliver()
        if "@" in destination:
            return smtp.wait_for(destination).text
        return twilio.wait_for(destination).body

    return read


def ask_for_code(client, channel, value, password=PASSWORD):
    return pages.submit(client, client.get("/account"), channel.action, password=password, **{channel.field: value})


def type_code(client, code):
    return pages.submit(client, client.get("/account"), "/account/confirm", code=code)


def a_wrong(code):
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


def test_the_account_page_needs_sign_in(client):
    """Without a session, /account sends the visitor to sign in and back."""

    response = client.get("/account")

    assert response.status_code == 302
    assert response.location.startswith("/login?next=")


def test_a_new_contact_counts_only_after_its_code(signed_in, channel, received, stored_user):
    """The code goes to the new address or number, and the change is made only
    when that code is typed back."""
    ask_for_code(signed_in, channel, channel.new)
    code = pages.code_in(received(channel.new))
    before_confirming = getattr(stored_user("alice"), channel.attribute)

    response = type_code(signed_in, code)

    assert response.status_code == 302
    assert before_confirming == channel.old
    assert getattr(stored_user("alice"), channel.attribute) == channel.new


def test_the_old_contact_is_told_of_the_change(signed_in, channel, received):
    """Once the change is confirmed, the old address or number gets a notice
    (and no code), so a change its owner did not make is noticed."""
    ask_for_code(signed_in, channel, channel.new)
    code = pages.code_in(received(channel.new))

    type_code(signed_in, code)

    notice = received(channel.old)
    assert "no longer" in notice
    assert code not in notice


def test_a_contact_change_needs_the_password(signed_in, channel, deliver, stored_user):
    """With a wrong password no code is sent and nothing changes."""

    response = ask_for_code(signed_in, channel, channel.new, password="not my password at all")

    assert response.status_code == 400
    assert "Your password is not right." in response.get_data(as_text=True)
    assert deliver() == 0
    assert getattr(stored_user("alice"), channel.attribute) == channel.old


def test_a_wrong_code_changes_nothing(signed_in, channel, received, stored_user):
    """A wrong code is refused with a clear message and the old contact stays."""
    ask_for_code(signed_in, channel, channel.new)
    code = pages.code_in(received(channel.new))

    response = type_code(signed_in, a_wrong(code))

    assert response.status_code == 400
    assert "That code is not right." in response.get_data(as_text=True)
    assert getattr(stored_user("alice"), channel.attribute) == channel.old


@pytest.mark.parametrize(
    ("chosen", "typed", "message"),
    [
        (EMAIL, "alice at example", "Enter a valid e-mail address"),
        (SMS, "12", "Enter a valid phone number"),
    ],
    ids=["email", "sms"],
)
def test_an_unusable_contact_is_refused(signed_in, deliver, stored_user, chosen, typed, message):
    """A malformed address or number gets a 400 saying what is wrong; no code is sent."""

    response = ask_for_code(signed_in, chosen, typed)

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert deliver() == 0
    assert getattr(stored_user("alice"), chosen.attribute) == chosen.old


def change_password(client, current, new, confirm=None):
    fields = {"current": current, "password": new, "confirm": new if confirm is None else confirm}
    return pages.submit(client, client.get("/account"), "/account/password", **fields)


def test_a_password_change_needs_the_current_password(app, signed_in):
    """With a wrong current password the password stays as it was."""

    response = change_password(signed_in, "not my password at all", NEW_PASSWORD)

    assert response.status_code == 400
    assert "Your current password is not right." in response.get_data(as_text=True)
    assert pages.sign_in(app.test_client(), "alice", PASSWORD).status_code == 302


def test_a_weak_new_password_is_refused(app, signed_in, stored_user):
    """A guessable new password is refused with the reason; nothing changes."""
    before = stored_user("alice")

    response = change_password(signed_in, PASSWORD, "passwordpassword")

    after = stored_user("alice")
    assert response.status_code == 400
    assert "This password is too common or easy to guess." in response.get_data(as_text=True)
    assert (after.password_hash, after.session_version) == (before.password_hash, before.session_version)
    assert pages.sign_in(app.test_client(), "alice", PASSWORD).status_code == 302


def test_the_current_password_is_refused_as_the_new_one(app, signed_in, stored_user):
    """The same password again is no change: refused, compared with what was typed as the
    current password (no second argon2 verification), after NFKC as every password is."""
    before = stored_user("alice")

    fullwidth_first_letter = chr(ord(PASSWORD[0]) + 0xFEE0) + PASSWORD[1:]  # NFKC folds it back

    response = change_password(signed_in, PASSWORD, fullwidth_first_letter)

    assert response.status_code == 400
    assert "Choose a password different from your current one." in response.get_data(as_text=True)
    assert stored_user("alice").password_hash == before.password_hash


def test_a_password_change_signs_out_every_other_session(app, signed_in):
    """Changing the password ends the sessions of every other browser, and
    keeps this one signed in."""
    other = app.test_client()
    pages.sign_in(other, "alice", PASSWORD)

    response = change_password(signed_in, PASSWORD, NEW_PASSWORD)

    assert response.status_code == 302
    assert other.get("/account").location.startswith("/login")
    assert signed_in.get("/account").status_code == 200
