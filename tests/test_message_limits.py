"""Message flood and SMS-pumping limits: an address or number gets at most
``codes_per_destination_per_hour`` codes an hour, however many user names name
it and whichever path asks (the wizard, /account); at most ``sms_per_hour`` SMS
codes go out in all, and the global admins hear of it once an hour.  The
wizard's pages never show that a code was held back."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from sspr import clock, policy
from sspr.extensions import db
from sspr.models import AuditEvent
from tests import pages
from tests.admin.browser import post_form, sign_in_as
from tests.conftest import PASSWORD
from tests.wizard import Wizard

VICTIM_MAIL = "victim@mail.example.org"
VICTIM_PHONE = "+4520999999"
CEILING_SUBJECT = "stopped sending text messages"


def ask_for_code(app, username, method):
    """Walk a fresh browser through the wizard to the code page; that page."""
    wizard = Wizard(app.test_client())
    wizard.username(username)
    return wizard.method(method)


def mails_to(smtp, address):
    return [m for m in smtp.inbox.items if address in [r.lower() for r in m.recipients]]


def texts_to(twilio, number):
    return [s for s in twilio.inbox.items if s.to == number]


def looks(page):
    """What the person at the browser sees: status and page, tokens aside."""
    return page.status_code, pages.text_without_tokens(page)


def ask_at_account(client, action, **fields):
    return pages.submit(client, client.get("/account"), action, password=PASSWORD, **fields)


@pytest.fixture
def audit_rows(app):
    """The details of each audit row of one event, oldest first."""

    def load(event):
        with app.app_context():
            rows = db.session.scalars(select(AuditEvent).where(AuditEvent.event == event).order_by(AuditEvent.id))
            return [json.loads(row.details) for row in rows]

    return load


@pytest.fixture
def sharing_the_address(make_user):
    """Five accounts whose alternate address is the victim's, as stored in several cases."""
    spellings = [VICTIM_MAIL, "Victim@mail.example.org", "VICTIM@MAIL.EXAMPLE.ORG", VICTIM_MAIL, VICTIM_MAIL]
    names = [f"name{n}" for n in range(len(spellings))]
    for name, address in zip(names, spellings, strict=True):
        make_user(name, alternate_email=address, phone=None)
    return names


@pytest.fixture
def sharing_the_number(make_user):
    """Five accounts whose mobile number is the victim's."""
    names = [f"phone{n}" for n in range(5)]
    for name in names:
        make_user(name, phone=VICTIM_PHONE)
    return names


@pytest.fixture
def admins(make_user):
    """Two global admins with alternate addresses, where alerts go."""
    return [make_user(name, role="global-admin", phone=None) for name in ("root", "boss")]


def test_an_address_many_names_share_gets_three_codes_an_hour(app, sharing_the_address, smtp, deliver, audit_rows):
    """Five names with one address (stored in different cases) ask for a code: three mails
    reach it, and the last two are audited as held back."""
    for name in sharing_the_address:
        ask_for_code(app, name, "email")

    deliver()

    assert len(mails_to(smtp, VICTIM_MAIL)) == 3
    assert audit_rows("reset.destination_limited") == [{"method": "email"}] * 2


def test_a_number_many_names_share_gets_three_codes_an_hour(app, sharing_the_number, twilio, deliver):
    """Five names with one mobile number ask for an SMS code: three texts reach it."""
    for name in sharing_the_number:
        ask_for_code(app, name, "sms")

    deliver()

    assert len(texts_to(twilio, VICTIM_PHONE)) == 3


def test_a_held_back_code_shows_the_pages_of_a_sent_one(app, sharing_the_address, deliver):
    """The page after a held-back code, and after its resend, is the page a sent code
    shows, and the page an unknown name gets: nothing tells that the name has that address."""
    sent = Wizard(app.test_client())
    sent.username(sharing_the_address[0])
    sent_pages = [sent.method("email"), sent.resend()]
    ask_for_code(app, sharing_the_address[1], "email")
    held = Wizard(app.test_client())
    held.username(sharing_the_address[2])
    held_pages = [held.method("email"), held.resend()]
    unknown = Wizard(app.test_client())
    unknown.username("nobody-here")

    unknown_pages = [unknown.method("email"), unknown.resend()]

    assert deliver() == 3
    assert [looks(p) for p in held_pages] == [looks(p) for p in sent_pages]
    assert [looks(p) for p in unknown_pages] == [looks(p) for p in sent_pages]


def test_account_says_plainly_when_an_address_had_its_fill(app, make_user, client, smtp, deliver):
    """An account asking /account to confirm someone else's address again and again gets three
    codes sent to it, then a clear refusal, and nothing more reaches the address."""
    make_user("mallory")
    pages.sign_in(client, "mallory", PASSWORD)
    answers = [ask_at_account(client, "/account/email", email=VICTIM_MAIL) for _ in range(4)]

    deliver()

    assert [a.status_code for a in answers] == [302, 302, 302, 400]
    assert "This address has had as many codes as it may get in an hour" in answers[3].get_data(as_text=True)
    assert len(mails_to(smtp, VICTIM_MAIL)) == 3


def test_account_and_wizard_count_toward_one_limit(app, make_user, sharing_the_address, client, smtp, deliver):
    """Codes asked at /account and codes asked in the wizard for one address share
    its hourly count: two of one and three of the other make three mails, not five."""
    make_user("mallory")
    pages.sign_in(client, "mallory", PASSWORD)
    for _ in range(2):
        ask_at_account(client, "/account/email", email=VICTIM_MAIL.upper())
    for name in sharing_the_address[:3]:
        ask_for_code(app, name, "email")

    deliver()

    assert len(mails_to(smtp, VICTIM_MAIL)) == 3


def test_an_address_gets_codes_again_an_hour_later(app, sharing_the_address, smtp, deliver):
    """The limit is per hour: an hour after the first three, a code goes out again."""
    for name in sharing_the_address[:4]:
        ask_for_code(app, name, "email")
    deliver()

    with time_machine.travel(clock.now() + timedelta(minutes=61)):
        ask_for_code(app, sharing_the_address[4], "email")
        deliver()

    assert len(mails_to(smtp, VICTIM_MAIL)) == 4


@pytest.mark.policy(sms_per_hour=2)
def test_the_sms_ceiling_stops_sms_for_everyone_and_alerts_admins_once(
    app, make_user, admins, smtp, twilio, deliver, audit_rows
):
    """Over the hourly ceiling no SMS code goes out, for anyone; each global admin
    gets one alert mail, however many codes are held back."""
    numbers = [f"+452011110{n}" for n in range(5)]
    for n, number in enumerate(numbers):
        make_user(f"user{n}", phone=number)
        ask_for_code(app, f"user{n}", "sms")

    deliver()

    assert [len(texts_to(twilio, number)) for number in numbers] == [1, 1, 0, 0, 0]
    for admin in admins:
        alerts = mails_to(smtp, admin.alternate_email)
        assert [CEILING_SUBJECT in m.message["Subject"] for m in alerts] == [True]
    assert len(audit_rows("sms.ceiling_reached")) == 3
    assert audit_rows("sms.ceiling_alerted") == [{"admins": 2, "limit": 2}]


@pytest.mark.policy(sms_per_hour=1)
def test_the_ceiling_alert_comes_at_most_once_an_hour(app, make_user, admins, smtp, deliver):
    """Still over the ceiling an hour later, the admins are alerted a second time, not before."""
    for n in range(4):
        make_user(f"user{n}", phone=f"+452011110{n}")
    for name in ("user0", "user1", "user2"):
        ask_for_code(app, name, "sms")
    deliver()
    first_hour = len(mails_to(smtp, admins[0].alternate_email))

    with time_machine.travel(clock.now() + timedelta(minutes=61)):
        for name in ("user3", "user0"):
            ask_for_code(app, name, "sms")
        deliver()

    assert first_hour == 1
    assert len(mails_to(smtp, admins[0].alternate_email)) == 2


@pytest.mark.policy(sms_per_hour=1)
def test_over_the_ceiling_the_wizard_shows_the_sent_page(app, make_user, deliver):
    """A user whose SMS code the ceiling holds back sees the page of a sent code."""
    make_user("first", phone="+4520111100")
    make_user("second", phone="+4520111101")
    sent = ask_for_code(app, "first", "sms")

    held = ask_for_code(app, "second", "sms")

    assert deliver() == 1
    assert looks(held) == looks(sent)


@pytest.mark.policy(sms_per_hour=0)
def test_account_says_plainly_that_sms_is_not_available(app, make_user, client, deliver, audit_rows):
    """At /account a new number gets a clear refusal while SMS is stopped; an address still works."""
    make_user("alice", phone=None)
    pages.sign_in(client, "alice", PASSWORD)

    by_sms = ask_at_account(client, "/account/phone", phone="+45 20 55 55 55")
    by_mail = ask_at_account(client, "/account/email", email="alice@new.example.org")

    assert by_sms.status_code == 400
    assert "Text messages cannot be sent right now" in by_sms.get_data(as_text=True)
    assert by_mail.status_code == 302
    assert deliver() == 1
    assert len(audit_rows("sms.ceiling_reached")) == 1


# The policy keys, at the command line and on the console.


def test_policy_set_takes_the_message_limits(runner, app):
    """`sspr policy set` stores both keys, 0 included for the ceiling (every SMS stopped)."""

    result = runner.invoke(args=["policy", "set", "codes_per_destination_per_hour=5", "sms_per_hour=0"])

    assert result.exit_code == 0, result.stderr
    with app.app_context():
        assert (policy.load().codes_per_destination_per_hour, policy.load().sms_per_hour) == (5, 0)


@pytest.mark.parametrize(
    "assignment",
    [
        "codes_per_destination_per_hour=0",
        "codes_per_destination_per_hour=21",
        "sms_per_hour=-1",
        "sms_per_hour=10001",
        "sms_per_hour=lots",
    ],
)
def test_policy_set_refuses_message_limits_out_of_range(runner, app, assignment):
    """A limit out of its range fails with one line naming the key, and nothing is stored."""

    result = runner.invoke(args=["policy", "set", assignment])

    assert result.exit_code != 0
    assert len(result.stderr.strip().splitlines()) == 1
    assert assignment.split("=")[0] in result.stderr
    with app.app_context():
        assert policy.load() == policy.Policy()


@pytest.fixture
def admin_client(app, make_user):
    client = app.test_client()
    sign_in_as(client, make_user, "root", "global-admin")
    return client


def test_policy_page_saves_the_message_limits(app, admin_client):
    """The console shows both keys and saves new values at once."""
    page = admin_client.get("/admin/policy")

    response = post_form(admin_client, page, "/admin/policy", codes_per_destination_per_hour="4", sms_per_hour="500")

    assert response.status_code == 302
    with app.app_context():
        assert (policy.load().codes_per_destination_per_hour, policy.load().sms_per_hour) == (4, 500)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("codes_per_destination_per_hour", "50", "Expected a whole number from 1 to 20"),
        ("sms_per_hour", "many", "Expected a whole number from 0 to 10000"),
    ],
)
def test_policy_page_refuses_a_bad_message_limit(app, admin_client, key, value, message):
    """A value out of range gets a 400 with the message by its field; nothing is saved."""
    page = admin_client.get("/admin/policy")

    response = post_form(admin_client, page, "/admin/policy", **{key: value})

    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in html[html.find(f'id="{key}-errors"') :]
    with app.app_context():
        assert policy.load() == policy.Policy()
