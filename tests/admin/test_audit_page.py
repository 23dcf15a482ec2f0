"""/admin/audit: what real actions wrote, filtered by user, event and date,
a page at a time and as CSV, and never a secret."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from sspr import audit, clock
from sspr.extensions import db
from sspr.models import AuditEvent
from tests import pages
from tests.admin.browser import post_form, sign_in_as
from tests.conftest import PASSWORD
from tests.wizard import Wizard

URL = "/admin/audit"
NEW_PASSWORD = "a brand new passphrase for autumn"


@pytest.fixture
def admin(client, make_user):
    """A password admin (any admin may read the log), signed in in ``client``."""
    return sign_in_as(client, make_user, "helper", "password-admin")


@pytest.fixture
def alice(make_user):
    return make_user("alice", alternate_email="alice@mail.example.org", phone="+4520111111")


@pytest.fixture
def other(app):
    """Another browser, for the actions the log records."""
    return app.test_client()


@pytest.fixture
def wizard_reset(other, smtp, deliver):
    """Reset alice's password through the wizard; the secrets the reset used (code, link, passwords)."""

    def run():
        wizard = Wizard(other)
        wizard.username("alice")
        wizard.method("email")
        deliver()
        mail = smtp.wait_for("alice@mail.example.org").text
        code = pages.code_in(mail)
        wizard.code(code)
        done = wizard.password(NEW_PASSWORD)
        assert done.status_code == 200, done.get_data(as_text=True)
        return [code, *pages.URL_RE.findall(mail), NEW_PASSWORD, PASSWORD]

    return run


@pytest.fixture
def record(app):
    """Write audit rows as the app does (audit.record), at a chosen time."""

    def write(event, count=1, at=None, **details):
        with app.app_context(), time_machine.travel(at or clock.now(), tick=False):
            for n in range(count):
                audit.record(event, n=n, **details)
            db.session.commit()

    return write


def rows(page):
    """The table's rows as lists of cell texts (tags dropped, spaces squeezed)."""
    html = page.get_data(as_text=True)
    body = html[html.find("<tbody>") : html.find("</tbody>")]
    return [
        [" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def events(page):
    return [row[1] for row in rows(page)]


def csv_rows(response):
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_rows_from_real_actions_show_up(app, admin, client, alice, other, make_user, wizard_reset):
    """A wizard reset, a failed sign-in and a policy change appear, newest first, with who and whom."""
    wizard_reset()
    pages.sign_in(other, "alice", "not her password")
    boss = app.test_client()
    sign_in_as(boss, make_user, "boss", "global-admin")
    post_form(boss, boss.get("/admin/policy"), "/admin/policy", code_lifetime_minutes="5")

    page = client.get(URL)

    shown = rows(page)
    assert page.status_code == 200
    assert events(page)[:3] == ["policy.changed", "login.succeeded", "login.failed"]
    assert shown[0][2:5] == ["boss", "—", "127.0.0.1"]
    assert "code_lifetime_minutes from 10 to 5" in shown[0][5]
    assert shown[2][2:4] == ["—", "alice"]
    assert ["reset.completed", "—", "alice"] in [row[1:4] for row in shown]


def test_the_user_filter_matches_actor_or_subject(admin, client, alice, other, make_user):
    """?user= keeps the rows where that user acted or was acted on, whatever the case typed."""
    make_user("bob")
    pages.sign_in(other, "bob", "wrong")
    pages.sign_in(other, "alice", "wrong")
    pages.sign_in(other, "alice", PASSWORD)

    page = client.get(URL, query_string={"user": "ALICE"})

    assert events(page) == ["login.succeeded", "login.failed"]
    assert {row[3] for row in rows(page)} == {"alice"}


def test_the_event_filter_offers_the_events_in_the_log(admin, client, alice, other):
    """The event select lists each event once, and choosing one keeps only its rows."""
    pages.sign_in(other, "alice", "wrong")
    pages.sign_in(other, "alice", "wrong again")

    page = client.get(URL, query_string={"event": "login.failed"})

    html = page.get_data(as_text=True)
    assert events(page) == ["login.failed", "login.failed"]
    assert re.findall(r'<option[^>]*value="(login\.\w+)"', html) == ["login.failed", "login.succeeded"]
    assert '<option selected value="login.failed">' in html


def test_the_date_filter_keeps_whole_days_in_utc(admin, client, record):
    """From and to are whole UTC days, both included."""
    start = (clock.now() - timedelta(days=40)).replace(hour=12)
    for offset in (0, 10, 11, 20):
        record(f"test.day{offset}", at=start + timedelta(days=offset))
    since, until = (start + timedelta(days=10)).date(), (start + timedelta(days=11)).date()

    page = client.get(URL, query_string={"since": since.isoformat(), "until": until.isoformat()})

    assert events(page) == ["test.day11", "test.day10"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"since": "last tuesday"}, "Not a valid date value"),
        ({"since": "2024-05-02", "until": "2024-05-01"}, "The end date is before the start date."),
    ],
    ids=["not-a-date", "backwards"],
)
def test_a_bad_date_filter_is_refused(admin, client, query, message):
    """A filter that cannot be read gets a 400 with the message by its field."""

    page = client.get(URL, query_string=query)

    assert page.status_code == 400
    assert message in page.get_data(as_text=True)


def test_pages_of_fifty_newest_first_keep_the_filter(admin, client, record):
    """120 rows make three pages; the links between them keep the filter."""
    record("test.row", count=120)

    first = client.get(URL, query_string={"event": "test.row"})
    last = client.get(URL, query_string={"event": "test.row", "page": 3})

    html = first.get_data(as_text=True)
    assert len(rows(first)) == 50 and len(rows(last)) == 20
    assert "n 119" in rows(first)[0][5] and "n 0" in rows(last)[-1][5]
    assert "Page 1 of 3" in html
    assert 'href="/admin/audit?page=2&amp;event=test.row"' in html


def test_the_csv_export_has_the_filtered_rows(admin, client, alice, other):
    """The CSV is an attachment with every row the filters select."""
    pages.sign_in(other, "alice", "wrong")
    pages.sign_in(other, "alice", PASSWORD)

    response = client.get("/admin/audit.csv", query_string={"user": "alice"})

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert [(r["event"], r["actor"], r["subject"]) for r in csv_rows(response)] == [
        ("login.succeeded", "alice", "alice"),
        ("login.failed", "", "alice"),
    ]


def test_the_csv_export_neutralises_formulas(admin, client, make_user, other):
    """A display name a spreadsheet would run as a formula is exported as plain text."""
    make_user("mallory", display_name="=cmd()")
    pages.sign_in(other, "mallory", PASSWORD)

    response = client.get("/admin/audit.csv", query_string={"user": "mallory"})

    [row] = csv_rows(response)
    assert row["actor_name"] == row["subject_name"] == "'=cmd()"


def test_no_secret_is_in_the_audit_log_after_a_full_reset(app, admin, client, alice, wizard_reset):
    """Neither the code, the mail link, nor the old or new password is in any audit row or the export."""
    secrets = wizard_reset()

    exported = client.get("/admin/audit.csv").get_data(as_text=True)

    with app.app_context():
        stored = [" ".join(map(str, (r.event, r.ip, r.details))) for r in db.session.scalars(select(AuditEvent))]
    assert any("reset.completed" in text for text in stored)
    for secret in secrets:
        assert not any(secret in text for text in stored), secret
        assert secret not in exported
