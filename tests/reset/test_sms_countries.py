"""The SMS country allow-list (a guard against SMS pumping): by default only the
deployment's own region (SSPR_PHONE_REGION, DK in the tests) gets text messages."""

from __future__ import annotations

import pytest

from sspr import policy
from sspr.extensions import db
from tests import pages
from tests.conftest import PASSWORD
from tests.wizard import Wizard


def test_registering_a_foreign_number_is_refused(app, make_user, client, deliver):
    """At /account, a Swedish number is refused under the default (DK only), and nothing is sent."""
    make_user("alice")
    pages.sign_in(client, "alice", PASSWORD)

    page = pages.submit(client, client.get("/account"), "/account/phone", phone="+46701234567", password=PASSWORD)

    assert page.status_code == 400
    assert "cannot be sent to numbers from SE" in page.get_data(as_text=True)
    assert deliver() == 0


@pytest.mark.policy(sms_countries=("DK", "SE"))
def test_allowed_country_can_be_registered(app, make_user, client, twilio, deliver):
    """With SE on the list, the Swedish number gets its confirmation code."""
    make_user("alice")
    pages.sign_in(client, "alice", PASSWORD)

    pages.submit(client, client.get("/account"), "/account/phone", phone="+46701234567", password=PASSWORD)
    deliver()

    assert twilio.wait_for("+46701234567").to == "+46701234567"


def test_cli_refuses_a_number_outside_the_list(runner):
    """`sspr users add --phone` with a US number fails with one line under the default list."""
    result = runner.invoke(args=["users", "add", "bob", "--password", PASSWORD, "--phone", "+12025550123"])

    assert result.exit_code == 1
    assert "cannot be sent to numbers from US" in result.stderr


@pytest.mark.policy(sms_countries=("DK", "SE"))
def test_no_code_goes_to_a_number_the_list_no_longer_allows(app, make_user, client, deliver):
    """A number registered while allowed gets no code once its country is taken off the list."""
    make_user("alice", phone="+46701234567")
    with app.app_context():
        policy.save({"sms_countries": ("DK",)})
        db.session.commit()
    wizard = Wizard(client)
    wizard.username("alice")

    page = wizard.method("sms")

    assert page.status_code == 200
    assert deliver() == 0
