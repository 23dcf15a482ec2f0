"""Both reset paths end to end: the code travels through the real SMTP server
or the twilio library, and only the new password signs in afterwards."""

from __future__ import annotations

from tests import pages
from tests.conftest import PASSWORD, TWILIO_FROM
from tests.wizard import Wizard

NEW_PASSWORD = "a fresh passphrase for spring"


def sign_in(client, username, password):
    page = client.get("/login")
    return pages.submit(client, page, "/login", username=username, password=password)


def test_reset_by_email(app, client, make_user, smtp, deliver):
    """A code mailed to the alternate address lets the user set a new password."""
    make_user("alice", alternate_email="alice@mail.example.org")
    wizard = Wizard(client)
    wizard.username("alice")
    wizard.method("email")
    deliver()
    mail = smtp.wait_for("alice@mail.example.org")

    wizard.code(pages.code_in(mail.text))
    done = wizard.password(NEW_PASSWORD)

    assert done.status_code == 200
    assert "/login" in done.get_data(as_text=True)
    assert sign_in(app.test_client(), "alice", NEW_PASSWORD).status_code == 302
    assert sign_in(app.test_client(), "alice", PASSWORD).status_code == 400


def test_reset_by_sms(app, client, make_user, twilio, deliver):
    """A code sent by SMS through the Twilio API lets the user set a new password."""
    make_user("bob", phone="+4520998877")
    wizard = Wizard(client)
    wizard.username("bob")
    wizard.method("sms")
    deliver()
    sms = twilio.wait_for("+4520998877")

    wizard.code(pages.code_in(sms.body))
    done = wizard.password(NEW_PASSWORD)

    assert done.status_code == 200
    assert sms.from_ == TWILIO_FROM
    assert sms.body.startswith(pages.code_in(sms.body))
    assert sign_in(app.test_client(), "bob", NEW_PASSWORD).status_code == 302
    assert sign_in(app.test_client(), "bob", PASSWORD).status_code == 400
