"""One-time reveal links: the mail carries a link (built from BASE_URL), never
the password; opening the link (GET) only offers a button, so mail scanners do
not use it up; the POST shows the password once and erases it; a used,
expired or superseded link gets a clear 410 page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select
from werkzeug.test import EnvironBuilder

from sspr import clock
from sspr.extensions import db
from sspr.models import RevealLink
from tests import pages
from tests.admin.browser import post_form
from tests.conftest import BASE_URL, PASSWORD

LINK = re.compile(re.escape(BASE_URL) + r"(/reveal/[A-Za-z0-9_-]+)")
SHOWN = re.compile(r"<code>([^<]+)</code>")


@pytest.fixture
def root(admin_browser):
    browser, _admin = admin_browser("root")
    return browser


@pytest.fixture
def alice(make_user):
    return make_user("alice", alternate_email="alice@mail.example.org")


def reset_with_link(browser, user_id, **changes):
    page = browser.get(f"/admin/users/{user_id}")
    return post_form(browser, page, f"/admin/users/{user_id}/reset", delivery="link", **changes)


def reveal_mail(smtp, deliver, to):
    deliver()
    return smtp.inbox.wait(lambda m: to in m.recipients and "temporary password" in m.message["Subject"])


@pytest.fixture
def link(root, alice, smtp, deliver):
    """The path of the reveal link mailed to Alice after a reset."""
    reset_with_link(root, alice.id)
    mail = reveal_mail(smtp, deliver, "alice@mail.example.org")
    return LINK.search(mail.text).group(1)


def show(client, page, path):
    """Press "Show the password" on the link's page."""
    return pages.submit(client, page, path)


def test_get_twice_then_post_shows_the_password_once(app, link, signs_in, audit_rows):
    """Opening the link (twice, as a scanner and then the user) shows no password; the button does,
    and it is the password that now signs Alice in."""
    visitor = app.test_client()

    first = visitor.get(link)
    second = visitor.get(link)
    shown = show(visitor, second, link)

    password = SHOWN.search(shown.get_data(as_text=True)).group(1)
    assert first.status_code == second.status_code == 200
    assert "<code>" not in first.get_data(as_text=True)
    assert shown.status_code == 200
    assert signs_in("alice", password) == "/password"
    assert len(audit_rows("reveal.shown")) == 1 and password not in audit_rows("reveal.shown")[0].details


def test_after_it_is_shown_the_link_is_gone(app, link, stored_user):
    """A second POST and a later GET get 410, and the ciphertext is erased from the database."""
    visitor = app.test_client()
    page = visitor.get(link)
    show(visitor, page, link)

    again = show(visitor, page, link)
    later = visitor.get(link)

    assert again.status_code == later.status_code == 410
    assert "already been shown" in later.get_data(as_text=True)
    assert "<code>" not in again.get_data(as_text=True)
    with app.app_context():
        (row,) = db.session.scalars(select(RevealLink))
        assert row.ciphertext == "" and row.used_at is not None


def test_an_expired_link_is_410(app, link):
    """After 72 hours the link shows nothing: 410, for the GET and the POST."""
    visitor = app.test_client()

    with time_machine.travel(clock.now() + timedelta(hours=72, minutes=1), tick=False):
        opened = visitor.get(link)
        token = pages.hidden(visitor.get("/login"), "/login")["csrf_token"]
        posted = visitor.post(link, data={"csrf_token": token})

    assert opened.status_code == posted.status_code == 410
    assert "expired" in opened.get_data(as_text=True)


def test_a_link_dies_when_the_password_changes_again(app, root, alice, link):
    """A second reset makes the first link's password worthless, so the link says it has expired."""
    reset_with_link(root, alice.id)

    opened = app.test_client().get(link)

    assert opened.status_code == 410


def test_a_changed_link_is_not_found(app, link):
    """A link with its secret altered matches nothing: 404."""

    opened = app.test_client().get(link[:-3] + "xyz")

    assert opened.status_code == 404


def test_the_mail_holds_only_a_base_url_link_never_the_password(app, make_user, alice, smtp, deliver):
    """The link is built from BASE_URL (not the request's Host), and the mail does not contain the password."""
    make_user("root", role="global-admin")
    admin = app.test_client()
    admin.environ_base.update(HTTP_HOST="evil.example", HTTP_X_FORWARDED_HOST="evil.example")
    pages.sign_in(admin, "root", PASSWORD)
    done = reset_with_link(admin, alice.id)
    mail = reveal_mail(smtp, deliver, "alice@mail.example.org")
    path = LINK.search(mail.text).group(1)
    visitor = app.test_client()

    password = SHOWN.search(show(visitor, visitor.get(path), path).get_data(as_text=True)).group(1)

    assert "<code>" not in done.get_data(as_text=True)
    assert "evil.example" not in mail.text + mail.html
    assert all(url.startswith(BASE_URL) for url in pages.URL_RE.findall(mail.text))
    assert password not in mail.text and password not in mail.html


def test_the_link_can_go_to_an_address_the_admin_types(root, alice, smtp, deliver):
    """An address typed by the admin gets the link instead of the alternate e-mail."""

    reset_with_link(root, alice.id, link_to="alice.home@elsewhere.example")

    mail = reveal_mail(smtp, deliver, "alice.home@elsewhere.example")
    assert LINK.search(mail.text)


def test_without_any_address_the_link_is_refused_and_nothing_changes(root, make_user, stored_user):
    """A user with no alternate e-mail, and no address typed: refused, password unchanged."""
    bob = make_user("bob", alternate_email=None)
    before = stored_user("bob").password_hash

    refused = reset_with_link(root, bob.id)

    assert refused.status_code == 400
    assert "no alternate e-mail address" in refused.get_data(as_text=True)
    assert stored_user("bob").password_hash == before


def test_the_reveal_page_is_private(app, link):
    """The page is never cached and sends no Referer (which would carry the link's secret)."""

    page = app.test_client().get(link)

    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"


def test_the_links_secret_is_gone_from_the_environ_after_the_request(app, link):
    """What gunicorn's access log reads after the response holds no reveal secret."""
    environ = EnvironBuilder(path=link).get_environ()
    environ["RAW_URI"] = environ["REQUEST_URI"] = link + "?x=1"

    body = b"".join(app.wsgi_app(environ, lambda status, headers, exc_info=None: None))

    assert b"Show the password" in body
    assert environ["PATH_INFO"] == "/reveal/[redacted]"
    assert environ["RAW_URI"] == environ["REQUEST_URI"] == "/reveal/[redacted]?x=1"
