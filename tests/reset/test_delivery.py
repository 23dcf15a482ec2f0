"""Codes go only to the address or number stored for the account, never to one
taken from the request; delivery happens off the request path."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from werkzeug.datastructures import MultiDict

from sspr import clock
from tests import pages
from tests.wizard import Wizard


@pytest.fixture
def alice(make_user):
    return make_user("alice", alternate_email="alice@mail.example.org", phone="+4520111111")


def test_extra_and_duplicated_fields_do_not_redirect_the_mail(alice, client, smtp, deliver):
    """Fields naming another address, duplicated or not, are ignored."""
    wizard = Wizard(client)
    wizard.username("alice")
    data = pages.hidden(wizard.page, "/password-reset/method")
    body = MultiDict(
        [
            *data.items(),
            ("method", "email"),
            ("method", "sms"),
            ("email", "attacker@evil.example"),
            ("alternate_email", "attacker@evil.example"),
            ("to", "attacker@evil.example"),
        ]
    )

    client.post("/password-reset/method", data=body)
    deliver()

    mail = smtp.wait_for("alice@mail.example.org")
    assert mail.recipients == ["alice@mail.example.org"]
    assert all("evil.example" not in r for m in smtp.inbox.items for r in m.recipients)


def test_header_injection_in_the_user_name_sends_nothing(alice, client, smtp, deliver):
    """A user name with a line break and a Bcc header is refused, and nothing is sent."""
    wizard = Wizard(client)
    wizard.open()

    page = wizard.post("/password-reset", username="alice\r\nBcc: attacker@evil.example")

    assert page.status_code == 400
    assert deliver() == 0


def test_look_alike_user_name_gets_the_decoy(alice, client, smtp, deliver):
    """A Cyrillic a (U+0430) in "alice" makes another name: nothing goes to alice."""
    wizard = Wizard(client)
    wizard.username("\u0430lice")

    wizard.method("email")

    assert deliver() == 0


@pytest.mark.policy(confirm_destination=True)
def test_typed_address_must_match_the_stored_one(alice, client, smtp, deliver):
    """With the destination check on, a different address gets no code at all."""
    wizard = Wizard(client)
    wizard.username("alice")
    wizard.method("email")

    wizard.destination("attacker@evil.example")

    assert deliver() == 0


@pytest.mark.policy(confirm_destination=True)
def test_look_alike_address_does_not_match(alice, client, smtp, deliver):
    """An address with a Cyrillic a (U+0430) does not count as the stored one."""
    wizard = Wizard(client)
    wizard.username("alice")
    wizard.method("email")

    wizard.destination("\u0430lice@mail.example.org")

    assert deliver() == 0


@pytest.mark.policy(confirm_destination=True)
def test_matching_address_gets_the_code_at_the_stored_address(alice, client, smtp, deliver):
    """The right address, typed in another case, sends the code to the stored address."""
    wizard = Wizard(client)
    wizard.username("alice")
    wizard.method("email")

    wizard.destination("  Alice@Mail.Example.org ")
    deliver()

    assert smtp.wait_for("alice@mail.example.org").recipients == ["alice@mail.example.org"]


@pytest.mark.policy(confirm_destination=True)
def test_phone_typed_without_country_code_matches(alice, client, twilio, deliver):
    """A national number is read in the configured region (DK) and matches +45...."""
    wizard = Wizard(client)
    wizard.username("alice")
    wizard.method("sms")

    wizard.destination("20 11 11 11")
    deliver()

    assert twilio.wait_for("+4520111111").to == "+4520111111"


def test_dead_smtp_server_neither_breaks_the_page_nor_loses_the_code(alice, app, client, smtp, deliver):
    """With SMTP refusing, the page still answers and the code arrives once it is back."""
    smtp.refuse = True
    wizard = Wizard(client)
    wizard.username("alice")

    page = wizard.method("email")
    deliver()
    smtp.refuse = False
    with time_machine.travel(clock.now() + timedelta(seconds=30)):
        deliver()

    assert page.status_code == 200
    mail = smtp.wait_for("alice@mail.example.org")
    assert pages.form(wizard.code(pages.code_in(mail.text)), "/password-reset/password")
