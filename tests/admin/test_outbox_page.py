"""The console's list of mail and SMS not delivered yet (global admins): what each
message is and where it goes (masked), never what it says; "retry now" and
"discard", both audited; its counts on the dashboard."""

from __future__ import annotations

import json
import re

import pytest
import time_machine
from sqlalchemy import select

from sspr import clock
from sspr.extensions import db
from sspr.models import MAX_ID, AuditEvent, OutboxMessage
from sspr.verification import outbox
from tests import pages

MAILBOX = "bob@mail.example.org"
NUMBER = "+4520998877"


@pytest.fixture
def root(admin_browser):
    browser, _admin = admin_browser("root")
    return browser


@pytest.fixture
def queue(app):
    """Stage and commit one verification code; its id."""

    def put(channel="email", recipient=MAILBOX):
        with app.app_context():
            message = outbox.enqueue(channel, recipient, kind="code", subject="Your code", text="123456 is your code.")
            db.session.commit()
            return message.id

    return put


@pytest.fixture
def given_up(app, queue, smtp, deliver):
    """A mail refused until the sender gave it up (SENDER_MAX_ATTEMPTS tries, the
    back-off passed on a frozen clock); its id."""
    message_id = queue()
    smtp.refuse = True
    with time_machine.travel(clock.now(), tick=False) as traveller:
        for attempt in range(1, app.config["SENDER_MAX_ATTEMPTS"] + 1):
            deliver()
            traveller.shift(outbox.backoff(attempt))
    smtp.refuse = False
    return message_id


@pytest.fixture
def stored(app):
    """(status, attempts, body) of the message as the database holds it now."""

    def load(message_id):
        with app.app_context():
            message = db.session.get(OutboxMessage, message_id)
            return message.status, message.attempts, message.body_text

    return load


def press(browser, message_id, action, page=None):
    """Post a message's button from the outbox page (or from the page given, opened earlier)."""
    url = f"/admin/outbox/{message_id}"
    data = pages.hidden(page or browser.get("/admin/outbox"), url) | {"action": action}
    return browser.post(url, data=data)


def audited(app, event):
    """(actor id, details) of each audit row of this event."""
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.event == event)).all()
        return [(row.actor_id, json.loads(row.details)) for row in rows]


@pytest.mark.settings(SENDER_MAX_ATTEMPTS=1)
def test_the_list_shows_what_and_where_but_never_what_a_message_says(root, given_up, queue):
    """A dead mail and a waiting SMS are listed by kind, masked recipient, tries and
    last error; neither the code in them nor the full address or number shows."""
    queue("sms", NUMBER)

    page = root.get("/admin/outbox").get_data(as_text=True)

    assert "Verification code" in page
    assert "b…@mail.example.org" in page
    assert "+45……77" in page
    assert "451" in page
    assert "123456" not in page
    assert MAILBOX not in page
    assert NUMBER not in page


@pytest.mark.settings(SENDER_MAX_ATTEMPTS=1)
def test_the_dashboard_counts_undelivered_messages_for_global_admins(root, admin_browser, given_up, queue):
    """A global admin's overview counts dead and waiting messages, each linking to its
    list; a password admin's overview has no such tiles (the list is not theirs)."""
    queue("sms", NUMBER)
    helper, _user = admin_browser("helper", role="password-admin")

    overview = root.get("/admin").get_data(as_text=True)
    helpers = helper.get("/admin").get_data(as_text=True)

    counts = dict(re.findall(r'href="/admin/outbox\?state=(\w+)">\s*<span class="count">(\d+)</span>', overview))
    assert counts == {"dead": "1", "failing": "0", "waiting": "1"}
    assert "/admin/outbox" not in helpers


@pytest.mark.settings(SENDER_MAX_ATTEMPTS=2)
def test_retry_now_sends_a_dead_message_after_all(app, root, given_up, stored, smtp, deliver):
    """"Retry now" makes a dead mail due at once; the sender delivers it, and the
    audit log says which admin asked."""
    done = press(root, given_up, "retry")
    retried = stored(given_up)

    deliver()

    assert done.status_code == 302
    assert retried == ("pending", 2, "123456 is your code.")
    assert smtp.wait_for(MAILBOX).text.strip() == "123456 is your code."
    [(actor, details)] = audited(app, "admin.outbox_retried")
    assert actor is not None
    assert details == {
        "message": given_up,
        "kind": "code",
        "channel": "email",
        "recipient": "b…@mail.example.org",
        "was": "dead",
        "attempts": 2,
    }


@pytest.mark.settings(SENDER_MAX_ATTEMPTS=2)
def test_a_retried_message_that_fails_again_is_dead_again_at_once(root, given_up, stored, smtp, deliver):
    """A retry is one more try, not SENDER_MAX_ATTEMPTS more: refused again, the mail is dead again."""
    press(root, given_up, "retry")
    smtp.refuse = True

    deliver()

    assert stored(given_up)[:2] == ("dead", 3)


@pytest.mark.settings(SENDER_MAX_ATTEMPTS=1)
def test_discard_gives_a_message_up_for_good(app, root, given_up, stored, deliver):
    """"Discard" closes the message with its body erased: it leaves the list, is never
    tried again, and the audit log says which admin did it."""
    done = press(root, given_up, "discard")

    tried = deliver()

    assert done.status_code == 302
    assert stored(given_up) == ("discarded", 1, "")
    assert tried == 0
    assert "b…@mail.example.org" not in root.get("/admin/outbox").get_data(as_text=True)
    assert [details["was"] for _actor, details in audited(app, "admin.outbox_discarded")] == ["dead"]


def test_a_message_a_sender_holds_is_left_alone(app, root, queue, stored):
    """A message a sender claimed after the page was opened cannot be discarded: the
    admin gets a 409 page saying nothing changed, and nothing did."""
    message_id = queue()
    page = root.get("/admin/outbox")
    with app.app_context():
        outbox.claim_due(clock.now())

    refused = press(root, message_id, "discard", page)

    assert refused.status_code == 409
    assert "Nothing was changed." in refused.get_data(as_text=True)
    assert stored(message_id) == ("pending", 0, "123456 is your code.")
    assert audited(app, "admin.outbox_discarded") == []


@pytest.mark.parametrize(
    ("message_id", "action", "status"),
    [(1, "explode", 400), (1, "", 400), (MAX_ID + 1, "discard", 409), (424242, "retry", 409)],
)
def test_bad_posts_get_a_clear_answer(root, queue, message_id, action, status):
    """An unknown action is a 400; a message that does not exist (even past the largest
    id the database holds) is the 409 page, never a 500."""
    queue()
    token = pages.hidden(root.get("/admin/outbox"), "/admin/outbox/1")["csrf_token"]

    response = root.post(f"/admin/outbox/{message_id}", data={"csrf_token": token, "action": action})

    assert response.status_code == status
