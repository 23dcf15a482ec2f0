"""The mail's link: built from SSPR_BASE_URL only, opened without being used up,
used once by the user's POST; used and expired links get their own pages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine

from sspr import clock
from tests import pages
from tests.conftest import BASE_URL
from tests.wizard import Wizard


@pytest.fixture
def alice(make_user):
    return make_user("alice", alternate_email="alice@mail.example.org")


def mailed_link(client, smtp, deliver):
    wizard = Wizard(client)
    wizard.username("alice")
    wizard.method("email")
    deliver()
    mail = smtp.wait_for("alice@mail.example.org")
    links = re.findall(r"https?://\S+", mail.text)
    assert len(links) == 1
    return links[0], mail


def test_link_comes_from_the_base_url_not_the_host_header(alice, app, smtp, deliver):
    """Host and X-Forwarded-Host of the request never make it into a link."""
    client = app.test_client()
    client.environ_base.update(HTTP_HOST="evil.example", HTTP_X_FORWARDED_HOST="evil.example")

    link, mail = mailed_link(client, smtp, deliver)

    assert link.startswith(BASE_URL + "/password-reset/link/")
    assert "evil.example" not in mail.text
    assert "evil.example" not in mail.html


def test_opening_the_link_uses_nothing_up(alice, client, smtp, deliver):
    """Two GETs (a mail scanner, then the user) still leave the link working for the POST."""
    link, _ = mailed_link(client, smtp, deliver)
    path = link.removeprefix(BASE_URL)
    client.get(path)
    page = client.get(path)

    continued = pages.submit(client, page, "/password-reset/link")

    assert page.status_code == 200
    assert pages.form(continued, "/password-reset/password")


def test_link_works_once(alice, client, smtp, deliver):
    """After the POST, the same link shows the "already used" page."""
    link, _ = mailed_link(client, smtp, deliver)
    path = link.removeprefix(BASE_URL)
    pages.submit(client, client.get(path), "/password-reset/link")

    again = client.get(path)

    assert again.status_code == 410
    assert "already been used" in again.get_data(as_text=True)


def test_expired_link_has_its_own_page_and_sends_nothing(alice, client, smtp, deliver):
    """An expired link says so and does not send a new mail by itself."""
    link, _ = mailed_link(client, smtp, deliver)
    smtp.inbox.clear()

    with time_machine.travel(clock.now() + timedelta(minutes=11)):
        page = client.get(link.removeprefix(BASE_URL))
        sent = deliver()

    assert page.status_code == 410
    assert "expired" in page.get_data(as_text=True)
    assert sent == 0


def test_link_continues_in_another_browser(alice, app, client, smtp, deliver):
    """Opened on another device, the link carries the flow there (the mailbox holder holds it)."""
    link, _ = mailed_link(client, smtp, deliver)
    phone = app.test_client()

    page = pages.submit(phone, phone.get(link.removeprefix(BASE_URL)), "/password-reset/link")

    assert pages.form(page, "/password-reset/password")


def test_forged_link_is_refused(alice, client):
    """A made-up link gets the "not valid" page, not an error."""
    page = client.get("/password-reset/link/not-a-real-token")

    assert page.status_code == 404
    assert "not valid" in page.get_data(as_text=True)
