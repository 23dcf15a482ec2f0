"""The policy shapes the wizard: which methods it offers and how many it needs."""

from __future__ import annotations

import pytest

from tests import pages
from tests.wizard import Wizard


@pytest.fixture
def alice(make_user):
    return make_user("alice", alternate_email="alice@mail.example.org", phone="+4520111111")


def offered(page):
    return [i["value"] for i in pages.form(page, "/password-reset/method")["inputs"] if i.get("name") == "method"]


@pytest.mark.policy(methods=("email",))
def test_sms_off_is_not_offered_and_a_forged_choice_is_refused(alice, client, deliver):
    """With SMS off the page offers only e-mail, and a posted method=sms is refused."""
    wizard = Wizard(client)
    page = wizard.username("alice")

    forged = wizard.method("sms")

    assert offered(page) == ["email"]
    assert forged.status_code == 400
    assert deliver() == 0


@pytest.mark.policy(methods_required=2)
def test_two_methods_required_one_is_not_enough(alice, client, smtp, twilio, deliver):
    """With two methods required, the first code leads to the second method, then the password."""
    wizard = Wizard(client)
    wizard.username("alice")
    wizard.method("email")
    deliver()
    second_choice = wizard.code(pages.code_in(smtp.wait_for("alice@mail.example.org").text))
    wizard.method("sms")
    deliver()

    final = wizard.code(pages.code_in(twilio.wait_for("+4520111111").body))

    assert offered(second_choice) == ["sms"]
    assert "Check 2 of 2" in second_choice.get_data(as_text=True)
    assert pages.form(final, "/password-reset/password")


@pytest.mark.policy(methods_required=2)
def test_second_round_cannot_reuse_the_first_method(alice, client, smtp, deliver):
    """The method already verified cannot be chosen again for the second check."""
    wizard = Wizard(client)
    wizard.username("alice")
    wizard.method("email")
    deliver()
    wizard.code(pages.code_in(smtp.wait_for("alice@mail.example.org").text))

    again = wizard.method("email")

    assert again.status_code == 400


def test_wizard_pages_are_private(alice, client):
    """Wizard pages are never cached and never leak a Referer."""
    page = Wizard(client).username("alice")

    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
