"""The one-time link that creates the first global admin: it works while there
is none, and is a dead "not valid" page otherwise."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from sspr import clock, setup, tokens
from tests import pages
from tests.conftest import BASE_URL, PASSWORD

ADMIN_PASSWORD = "a fresh passphrase for spring"
NOT_VALID = "This setup link is not valid"


@pytest.fixture
def setup_path(app):
    """The path of the setup link the console shows."""
    with app.app_context():
        return setup.link().removeprefix(BASE_URL)


def create_admin(client, path, **fields):
    """Open the setup page and post its form (it posts back to its own address)."""
    return pages.submit(client, client.get(path), path, **fields)


def test_the_setup_link_creates_the_first_admin_and_signs_in(client, setup_path, stored_user):
    """While no global admin exists, the link makes one and signs them in."""

    response = create_admin(client, setup_path, username="root", password=ADMIN_PASSWORD, confirm=ADMIN_PASSWORD)

    assert response.status_code == 302
    assert response.location == "/account"
    assert stored_user("root").role == "global-admin"
    assert client.get("/account").status_code == 200


def test_the_setup_link_refuses_a_weak_password(client, setup_path, stored_user):
    """A guessable password is refused, with the reason, and no admin is made."""

    response = create_admin(
        client, setup_path, username="root", password="passwordpassword", confirm="passwordpassword"
    )

    assert response.status_code == 400
    assert "This password is too common or easy to guess." in response.get_data(as_text=True)
    assert stored_user("root") is None


def test_the_setup_link_is_dead_once_an_admin_exists(client, setup_path, make_user):
    """With a global admin in place the link shows the "not valid" page."""
    make_user("boss", role="global-admin")

    response = client.get(setup_path)

    assert response.status_code == 404
    assert NOT_VALID in response.get_data(as_text=True)


def test_the_setup_link_works_once(app, client, setup_path, stored_user):
    """A setup page left open in another browser cannot make a second admin."""
    other = app.test_client()
    other_page = other.get(setup_path)
    create_admin(client, setup_path, username="root", password=ADMIN_PASSWORD, confirm=ADMIN_PASSWORD)
    data = pages.hidden(other_page, setup_path) | {"username": "mallory", "password": PASSWORD, "confirm": PASSWORD}

    response = other.post(setup_path, data=data)

    assert response.status_code == 404
    assert stored_user("mallory") is None


@pytest.fixture(params=["garbage", "other-purpose"])
def forged_path(request, app):
    """A setup path whose token is not one the console made: random text, or a
    genuine signature made for another purpose."""
    if request.param == "garbage":
        return "/setup/eyJwIjoiZmlyc3QtYWRtaW4ifQ.forged.signature"
    with app.app_context():
        return "/setup/" + tokens.dump(tokens.RESET_LINK, {"p": "first-admin"})


def test_a_forged_setup_link_is_not_valid(client, forged_path):
    """A token the console did not make shows the "not valid" page."""

    response = client.get(forged_path)

    assert response.status_code == 404
    assert NOT_VALID in response.get_data(as_text=True)


def test_an_expired_setup_link_is_not_valid(app, client, setup_path):
    """The link stops working SETUP_LINK_SECONDS after it was made."""
    later = clock.now() + timedelta(seconds=app.config["SETUP_LINK_SECONDS"] + 1)

    with time_machine.travel(later, tick=False):
        response = client.get(setup_path)

    assert response.status_code == 404
    assert NOT_VALID in response.get_data(as_text=True)
