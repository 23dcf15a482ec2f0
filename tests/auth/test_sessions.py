"""Sessions: a new one at each sign-in, sharing nothing with the one before; a
captured cookie dies with "sign out everywhere", a password change and a reset;
an idle session ends (sooner for admins) and an active one still ends at its
lifetime; the cookie is HttpOnly, SameSite=Lax and Secure under https://, and
is sent again only when it changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from sspr import clock
from sspr.extensions import db
from sspr.models import AuditEvent
from tests import pages
from tests.conftest import BASE_URL, PASSWORD
from tests.wizard import Wizard

COOKIE = "sspr_session"
NEW_PASSWORD = "a fresh passphrase for spring"


@pytest.fixture
def alice(make_user):
    return make_user("alice", alternate_email="alice@mail.example.org")


def signed_in(app, username="alice"):
    client = app.test_client()
    assert pages.sign_in(client, username, PASSWORD).status_code == 302
    return client


def with_cookie(app, value):
    """A new browser holding only this session cookie (a copy someone captured)."""
    client = app.test_client()
    client.set_cookie(COOKIE, value)
    return client


def is_signed_in(client):
    return client.get("/account").status_code == 200


def session_of(client):
    with client.session_transaction() as session:
        return dict(session)


def test_the_session_after_sign_in_shares_nothing_with_the_one_before(app, alice, client):
    """A wizard started before sign-in leaves its binding (and its CSRF token) behind:
    the signed-in session holds none of the values from before, and the wizard's page
    from before no longer posts."""
    wizard = Wizard(client)
    method_page = wizard.username("alice")
    before = session_of(client)

    pages.sign_in(client, "alice", PASSWORD)

    after = session_of(client)
    assert "reset_binding" in before
    assert not set(before) & set(after)
    assert pages.submit(client, method_page, "/password-reset/method", method="email").status_code == 400


def test_a_cookie_captured_before_sign_in_gives_no_access_after(app, alice, client):
    """Someone who copied the browser's cookie before the sign-in (session fixation)
    is not signed in by it afterwards."""
    client.get("/login")
    captured = client.get_cookie(COOKIE).value

    pages.sign_in(client, "alice", PASSWORD)

    assert is_signed_in(client)
    assert not is_signed_in(with_cookie(app, captured))


def sign_out_everywhere(app, client, smtp, deliver):
    pages.submit(client, client.get("/account"), "/account/sign-out-everywhere")


def change_password(app, client, smtp, deliver):
    new = NEW_PASSWORD
    pages.submit(client, client.get("/account"), "/account/password", current=PASSWORD, password=new, confirm=new)


def reset_password(app, client, smtp, deliver):
    wizard = Wizard(app.test_client())
    wizard.username("alice")
    wizard.method("email")
    deliver()
    wizard.code(pages.code_in(smtp.wait_for("alice@mail.example.org").text))
    assert wizard.password(NEW_PASSWORD).status_code == 200


@pytest.mark.parametrize("end", [sign_out_everywhere, change_password, reset_password])
def test_a_captured_signed_in_cookie_stops_working(app, alice, smtp, deliver, end):
    """A copy of a signed-in cookie is worthless after "sign out everywhere", after a
    password change in that very browser (which itself stays signed in) and after a
    self-service reset."""
    client = signed_in(app)
    captured = client.get_cookie(COOKIE).value
    assert is_signed_in(with_cookie(app, captured))

    end(app, client, smtp, deliver)

    assert not is_signed_in(with_cookie(app, captured))


def test_sign_out_everywhere_ends_this_and_every_other_session(app, alice):
    """The button ends the session that pressed it and one in another browser, says so
    on the sign-in page, writes an audit row, and the password still signs in."""
    here, elsewhere = signed_in(app), signed_in(app)

    response = pages.submit(here, here.get("/account"), "/account/sign-out-everywhere")

    assert response.status_code == 302
    assert response.location == "/login"
    assert "You are signed out on every device" in here.get("/login").get_data(as_text=True)
    assert not is_signed_in(here)
    assert not is_signed_in(elsewhere)
    with app.app_context():
        assert db.session.scalar(select(AuditEvent.event).where(AuditEvent.event == "account.signed_out_everywhere"))
    assert pages.sign_in(app.test_client(), "alice", PASSWORD).status_code == 302


def test_sign_out_everywhere_needs_the_form(app, alice):
    """Neither a link (GET) nor a cross-site POST without the CSRF token ends any session."""
    client = signed_in(app)

    followed_link = client.get("/account/sign-out-everywhere")
    forged_post = client.post("/account/sign-out-everywhere")

    assert followed_link.status_code == 405
    assert forged_post.status_code == 400
    assert is_signed_in(client)


def later(minutes):
    return time_machine.travel(clock.now() + timedelta(minutes=minutes), tick=False)


@pytest.mark.settings(SESSION_IDLE_SECONDS=600)
def test_an_idle_session_ends_and_the_sign_in_page_says_why(app, alice):
    """Past SSPR_SESSION_IDLE_SECONDS without a request the session is over, and the
    sign-in page it leads to says how long the idle limit is."""
    client = signed_in(app)

    with later(9):
        still = client.get("/account")
    with later(9 + 11):
        idle = client.get("/account")
        page = client.get(idle.location)

    assert still.status_code == 200
    assert idle.status_code == 302
    assert idle.location.startswith("/login")
    assert "You were signed out after 10 minutes without activity." in page.get_data(as_text=True)


def test_requests_keep_a_session_alive(app, alice):
    """A request every 20 minutes keeps a session with the 30-minute idle limit going for over an hour."""
    client = signed_in(app)

    statuses = []
    for minutes in (20, 40, 60, 80):
        with later(minutes):
            statuses.append(client.get("/account").status_code)

    assert statuses == [200, 200, 200, 200]


def test_admins_go_idle_sooner(app, alice, make_user):
    """After 16 quiet minutes an admin (15-minute limit) is signed out, a user (30) is not."""
    make_user("root", role="global-admin")
    user, admin = signed_in(app, "alice"), signed_in(app, "root")

    with later(16):
        user_still, admin_still = is_signed_in(user), is_signed_in(admin)

    assert user_still
    assert not admin_still


@pytest.mark.settings(PERMANENT_SESSION_LIFETIME=3600)
def test_activity_does_not_stretch_a_session_past_its_lifetime(app, alice):
    """However busy, a session ends at its absolute lifetime from the sign-in, without
    the idle notice (it was not idle)."""
    client = signed_in(app)
    busy = []
    for minutes in (20, 40, 59):
        with later(minutes):
            busy.append(is_signed_in(client))

    with later(61):
        ended = client.get("/account")
        page = client.get(ended.location)

    assert all(busy)
    assert ended.location.startswith("/login")
    assert "without activity" not in page.get_data(as_text=True)


def test_an_admin_session_ends_after_an_hour_however_busy(app, make_user):
    """An admin active every ten minutes is still signed out an hour after signing in."""
    make_user("root", role="global-admin")
    client = signed_in(app, "root")

    busy = []
    for minutes in (10, 20, 30, 40, 50, 59):
        with later(minutes):
            busy.append(is_signed_in(client))
    with later(61):
        after = is_signed_in(client)

    assert all(busy)
    assert not after


@pytest.mark.settings(BASE_URL="https://reset.example.test")
def test_the_signed_in_cookie_is_http_only_lax_and_secure(app, alice):
    """The cookie set by the sign-in (the one that matters) keeps scripts and other sites
    out and travels over HTTPS only."""
    client = app.test_client()
    page = client.get("/login", base_url=BASE_URL)
    data = pages.hidden(page, "/login") | {"username": "alice", "password": PASSWORD}

    response = client.post("/login", data=data, base_url=BASE_URL)

    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(COOKIE + "=")]
    assert response.status_code == 302
    assert len(cookies) == 1
    flags = [part.strip() for part in cookies[0].split(";")]
    assert "HttpOnly" in flags
    assert "SameSite=Lax" in flags
    assert "Secure" in flags


def test_the_cookie_is_sent_again_only_when_the_idle_mark_moves(app, alice):
    """Requests within a minute of the last mark get no Set-Cookie; a request a few
    minutes on moves the mark, and only that one sends the cookie again."""
    client = signed_in(app)
    client.get("/account")

    soon = client.get("/account")
    with later(3):
        moved = client.get("/account")
        right_after = client.get("/account")

    assert "Set-Cookie" not in soon.headers
    assert moved.headers.get("Set-Cookie", "").startswith(COOKIE + "=")
    assert "Set-Cookie" not in right_after.headers
