"""Bulk resets from the console: the users ticked or everyone but the acting
admin, all in one transaction (a failure half-way changes nobody), passwords
shown once with a CSV download or sent as reveal links, behind a fresh password."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from urllib.parse import unquote

import argon2
import pytest
import time_machine
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from sspr import clock, passwords, users
from sspr.admin import resets
from sspr.extensions import db
from sspr.models import OutboxMessage
from tests import pages
from tests.admin.browser import post_form
from tests.conftest import PASSWORD

ROW = re.compile(r"<tr>\s*<td>([^<]+)</td>\s*<td>(?:<code>([^<]+)</code>|([^<]+))</td>")


def bulk_url(*ids, everyone=False):
    return "/admin/users/reset?" + ("all=1" if everyone else "&".join(f"user={i}" for i in ids))


def confirm_action(page):
    """The confirm page's POST form posts back to its own URL, selection included."""
    (form,) = [f for f in pages.forms(page) if f["method"] == "post" and f["action"].startswith("/admin/users/")]
    return form["action"]


def bulk_reset(browser, url, **changes):
    page = browser.get(url)
    assert page.status_code == 200, page.get_data(as_text=True)
    return post_form(browser, page, confirm_action(page), **changes)


def results(response):
    """{user name: password shown (or the link note)} from the result table."""
    html = response.get_data(as_text=True).split("<tbody>", 1)[1]
    return {name: shown or note for name, shown, note in ROW.findall(html)}


@pytest.fixture
def root(admin_browser):
    return admin_browser("root")


@pytest.fixture
def team(make_user):
    """Three users: {name: user}."""
    return {name: make_user(name) for name in ("alice", "bob", "carol")}


def test_the_users_ticked_are_reset_and_the_others_are_not(root, team, signs_in):
    """Alice and Bob ticked: both get shown passwords that must be changed; Carol keeps hers."""
    browser, _admin = root

    done = bulk_reset(browser, bulk_url(team["alice"].id, team["bob"].id))

    shown = results(done)
    assert done.status_code == 200
    assert sorted(shown) == ["alice", "bob"]
    assert all(signs_in(name, password) == "/password" for name, password in shown.items())
    assert signs_in("carol", PASSWORD) == "/account"


def test_all_except_me_resets_everyone_but_the_acting_admin(root, team, signs_in, audit_rows):
    """ "All users" resets every other user, never the admin doing it; each reset is audited."""
    browser, admin = root

    done = bulk_reset(browser, bulk_url(everyone=True))

    assert sorted(results(done)) == ["alice", "bob", "carol"]
    assert signs_in("root", PASSWORD) == "/account"
    rows = audit_rows("admin.reset")
    assert len(rows) == 3 and {r.actor_id for r in rows} == {admin.id}
    assert admin.id not in {r.subject_id for r in rows}
    assert all(json.loads(r.details)["via"] == "console-bulk" for r in rows)


def test_an_admin_who_ticks_themself_is_left_out(root, team, signs_in):
    """Ticking yourself with others resets the others; the page says you were left out."""
    browser, admin = root
    page = browser.get(bulk_url(admin.id, team["alice"].id))

    done = post_form(browser, page, confirm_action(page))

    assert "You are left out" in page.get_data(as_text=True)
    assert list(results(done)) == ["alice"]
    assert signs_in("root", PASSWORD) == "/account"


def test_ticking_only_yourself_is_refused(root):
    """A selection of just the acting admin has nobody to reset."""
    browser, admin = root

    page = browser.get(bulk_url(admin.id))

    assert page.status_code == 400
    assert "other than yourself" in page.get_data(as_text=True)


def test_a_password_admin_cannot_tick_a_global_admin(admin_browser, team, make_user, signs_in):
    """A password admin whose selection holds a global admin is refused whole: nobody is reset."""
    browser, _helper = admin_browser("helper", role="password-admin")
    boss = make_user("boss", role="global-admin")
    url = bulk_url(team["alice"].id, boss.id)
    page = browser.get(url)
    token = pages.hidden(browser.get("/admin/users"), "/logout")["csrf_token"]

    posted = browser.post(url, data={"csrf_token": token, "require_change": "y", "delivery": "show"})

    assert page.status_code == posted.status_code == 400
    assert "Only a global admin may change global admins (boss)" in page.get_data(as_text=True)
    assert signs_in("alice", PASSWORD) == "/account" and signs_in("boss", PASSWORD) == "/account"


def test_all_for_a_password_admin_leaves_global_admins_out(admin_browser, team, make_user, signs_in):
    """ "All users" from a password admin resets everyone but global admins (and themself), and says so."""
    browser, _helper = admin_browser("helper", role="password-admin")
    make_user("boss", role="global-admin")
    page = browser.get(bulk_url(everyone=True))

    done = post_form(browser, page, confirm_action(page))

    assert "1 global admin is left out" in page.get_data(as_text=True)
    assert sorted(results(done)) == ["alice", "bob", "carol"]
    assert signs_in("boss", PASSWORD) == "/account"


def test_a_failure_half_way_changes_nobody(root, team, monkeypatch, app, stored_user, audit_rows):
    """The database failing at the second user rolls back the first: everyone keeps their
    password and sessions, no mail is queued, and the page lists each user as not changed."""
    browser, _admin = root
    before = {name: stored_user(name).password_hash for name in team}
    real = users.set_password_hash
    calls = []

    def fail_second(user, password_hash, **kwargs):
        calls.append(user.username)
        if len(calls) == 2:
            raise OperationalError("UPDATE users", {}, Exception("connection lost"))
        real(user, password_hash, **kwargs)

    monkeypatch.setattr(users, "set_password_hash", fail_second)

    failed = bulk_reset(browser, bulk_url(everyone=True))

    html = failed.get_data(as_text=True)
    assert failed.status_code == 500
    assert "Nothing was changed" in html and html.count("not changed") == 3
    assert {name: stored_user(name).password_hash for name in team} == before
    assert audit_rows("admin.reset") == [] and len(audit_rows("admin.reset_failed")) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_a_hashing_failure_changes_nobody(root, team, monkeypatch, stored_user):
    """If hashing fails (a worker process dies, argon2 errors), nothing is saved."""
    browser, _admin = root
    before = {name: stored_user(name).password_hash for name in team}

    def broken(plain, progress=None):
        raise argon2.exceptions.HashingError("out of memory")

    monkeypatch.setattr(resets, "hash_all", broken)

    failed = bulk_reset(browser, bulk_url(everyone=True))

    assert failed.status_code == 500
    assert {name: stored_user(name).password_hash for name in team} == before


def test_the_csv_download_holds_exactly_the_passwords_shown(root, team, make_user):
    """The download link carries a CSV of the shown rows; a name a spreadsheet would run
    as a formula is quoted."""
    browser, _admin = root
    make_user("=sum")

    done = bulk_reset(browser, bulk_url(everyone=True))

    html = done.get_data(as_text=True)
    href = re.search(r'href="data:text/csv;charset=utf-8,([^"]+)" download', html).group(1)
    rows = list(csv.reader(io.StringIO(unquote(href))))
    shown = results(done)
    assert rows[0] == ["username", "password"]
    assert {name.removeprefix("'"): password for name, password in rows[1:]} == shown
    assert ["'=sum", shown["=sum"]] in rows


def test_links_go_to_users_with_an_address_and_the_others_are_shown(root, make_user, smtp, deliver):
    """With reveal links, a user with an alternate e-mail gets a link (no password on the page);
    a user without one has the password shown."""
    browser, _admin = root
    make_user("alice", alternate_email="alice@mail.example.org")
    make_user("dave", alternate_email=None)

    done = bulk_reset(browser, bulk_url(everyone=True), delivery="link")
    deliver()

    shown = results(done)
    mail = smtp.inbox.wait(lambda m: "temporary password" in m.message["Subject"])
    assert shown["alice"] == "link mailed to alice@mail.example.org"
    assert re.fullmatch(r"[\w-]{23}", shown["dave"])
    assert "/reveal/" in mail.text


def test_a_larger_batch_is_hashed_in_parallel_and_all_of_it_lands(root, bulk_users, signs_in):
    """40 users (enough for the process pool): every shown password is the one stored."""
    browser, _admin = root
    bulk_users(40)

    done = bulk_reset(browser, bulk_url(everyone=True))

    shown = results(done)
    assert len(shown) == 40
    assert all(signs_in(name, password) == "/password" for name, password in list(shown.items())[::8])


# The admin was busy all along: the sign-in's age is at issue here, not idleness.
@pytest.mark.settings(ADMIN_IDLE_SECONDS=3600)
def test_a_bulk_reset_asks_for_the_password_when_the_sign_in_is_old(root, team):
    """16 minutes after sign-in the bulk page asks for the password again, then comes back
    to the same selection."""
    browser, _admin = root
    url = bulk_url(team["alice"].id, team["bob"].id)

    with time_machine.travel(clock.now() + timedelta(minutes=16), tick=False):
        asked = browser.get(url)
        prompt = browser.get(asked.location)
        back = pages.submit(browser, prompt, "/admin/reauth", password=PASSWORD)
        page = browser.get(back.location)

    assert asked.status_code == 302
    assert asked.location.startswith("/admin/reauth?next=")
    assert back.location == url
    assert "2 users selected" in page.get_data(as_text=True)


# The admin was busy all along: the sign-in's age is at issue here, not idleness.
@pytest.mark.settings(ADMIN_IDLE_SECONDS=3600)
def test_a_stale_post_is_not_carried_out(root, team, stored_user):
    """A confirm posted after the password's freshness ran out goes to the prompt and resets nobody."""
    browser, _admin = root
    url = bulk_url(team["alice"].id)
    page = browser.get(url)
    before = stored_user("alice").password_hash

    with time_machine.travel(clock.now() + timedelta(minutes=16), tick=False):
        posted = post_form(browser, page, confirm_action(page))

    assert posted.status_code == 302 and posted.location.startswith("/admin/reauth")
    assert stored_user("alice").password_hash == before


def test_force_change_for_the_users_ticked(root, team, stored_user, signs_in, audit_rows):
    """The bulk "require a new password" marks the ticked users (not the admin), who then go to /password."""
    browser, admin = root
    page = browser.get(f"/admin/users/force-change?user={team['alice'].id}&user={admin.id}")

    done = post_form(browser, page, confirm_action(page))

    assert done.status_code == 302
    assert stored_user("alice").must_change_password
    assert not stored_user("root").must_change_password and not stored_user("bob").must_change_password
    assert signs_in("alice", PASSWORD) == "/password"
    assert [r.subject_id for r in audit_rows("admin.force_change")] == [team["alice"].id]


def test_force_change_for_everyone_but_me(root, team, stored_user):
    """ "All users" marks every other user."""
    browser, _admin = root
    page = browser.get("/admin/users/force-change?all=1")

    post_form(browser, page, confirm_action(page))

    assert all(stored_user(name).must_change_password for name in team)
    assert not stored_user("root").must_change_password


def test_sign_out_everywhere_for_the_users_ticked(root, team, app, audit_rows):
    """The bulk "sign out everywhere" ends the ticked users' sessions, not the others' nor the admin's."""
    browser, admin = root
    alices, bobs = app.test_client(), app.test_client()
    pages.sign_in(alices, "alice", PASSWORD)
    pages.sign_in(bobs, "bob", PASSWORD)
    page = browser.get(f"/admin/users/end-sessions?user={team['alice'].id}&user={admin.id}")

    done = post_form(browser, page, confirm_action(page))

    assert done.status_code == 302
    assert alices.get("/account").location.startswith("/login")
    assert bobs.get("/account").status_code == 200
    assert browser.get("/admin").status_code == 200
    assert [r.subject_id for r in audit_rows("admin.end_sessions")] == [team["alice"].id]


def test_generated_passwords_get_a_light_hash_that_is_upgraded_at_sign_in(root, team, app, stored_user):
    """A generated password (115 random bits) is stored with the light profile; the user's
    first sign-in re-hashes it with the configured one."""
    browser, _admin = root
    shown = results(bulk_reset(browser, bulk_url(team["alice"].id)))

    light = stored_user("alice").password_hash
    pages.sign_in(app.test_client(), "alice", shown["alice"])
    upgraded = stored_user("alice").password_hash

    assert argon2.extract_parameters(light) == resets.GENERATED_PROFILE
    with app.app_context():
        assert not passwords.needs_rehash(upgraded)
        assert passwords.verify(upgraded, shown["alice"])


def test_a_wrong_password_against_a_light_hash_costs_a_decoy_too(root, team, app, monkeypatch):
    """Sign-in timing does not give away which accounts hold a generated password: a wrong
    password against a light hash is topped up with a decoy verification."""
    browser, _admin = root
    bulk_reset(browser, bulk_url(team["alice"].id))
    decoys = []
    real = passwords.decoy_verify
    monkeypatch.setattr(passwords, "decoy_verify", lambda password: decoys.append(1) or real(password))

    pages.sign_in(app.test_client(), "alice", "not the password")
    pages.sign_in(app.test_client(), "bob", "not the password")

    assert decoys == [1]
