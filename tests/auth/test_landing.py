"""Where sign-in leads: expired passwords to a forced change, and the prompts the policy asks for."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from sspr import clock
from tests import pages
from tests.conftest import PASSWORD


def sign_in(client, username="alice"):
    return pages.submit(client, client.get("/login"), "/login", username=username, password=PASSWORD)


@pytest.mark.policy(password_expiry_days=30)
def test_expired_password_must_be_changed(app, make_user, client):
    """31 days after the last change, sign-in leads to the change page and /account waits."""
    make_user("alice")

    with time_machine.travel(clock.now() + timedelta(days=31)):
        landing = sign_in(client)
        account = client.get("/account")

    assert landing.headers["Location"].endswith("/password")
    assert account.headers["Location"].endswith("/password")


@pytest.mark.policy(password_expiry_days=30, expiry_warning_days=14)
def test_expiry_warning_at_sign_in(app, make_user, client):
    """Within the warning window, the account page says how many days are left."""
    make_user("alice")

    with time_machine.travel(clock.now() + timedelta(days=20)):
        sign_in(client)
        page = client.get("/account")

    assert "expires in 9 days" in page.get_data(as_text=True)


def test_user_without_methods_is_asked_to_register_one(app, make_user, client):
    """A user with no address and no phone is asked to add one."""
    make_user("alice", alternate_email=None, phone=None)

    sign_in(client)

    assert "Add an alternate e-mail address or a mobile phone" in client.get("/account").get_data(as_text=True)


@pytest.mark.policy(reconfirm_days=90)
def test_reconfirming_details_stops_the_prompt(app, make_user, client):
    """With reconfirm_days set, the prompt shows until the user confirms the details."""
    make_user("alice")
    sign_in(client)
    prompted = client.get("/account").get_data(as_text=True)

    pages.submit(client, client.get("/account"), "/account/details-still-right")
    again = app.test_client()
    sign_in(again)

    assert "still right" in prompted
    assert "Please check" not in again.get("/account").get_data(as_text=True)
