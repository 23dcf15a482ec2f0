"""The first step: posting a name looks nothing up and writes nothing; the browser
is sent on to the method page, and the flow is made when a method is chosen."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from sspr import clock, tokens
from sspr.extensions import db
from sspr.models import AuditEvent, Challenge, OutboxMessage, ResetFlow
from sspr.reset import state
from tests import pages
from tests.wizard import Wizard


@pytest.fixture
def alice(make_user):
    return make_user("alice", alternate_email="alice@mail.example.org")


def rows(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def post_name(client, name):
    return pages.submit(client, client.get("/password-reset"), "/password-reset", username=name)


@pytest.mark.parametrize("name", ["alice", "nobody"])
def test_posting_a_name_writes_nothing_and_redirects(alice, app, client, name):
    """Known or not, the post answers 303 to the method page and leaves no row behind."""
    client.environ_base.update(HTTP_HOST="evil.example", HTTP_X_FORWARDED_HOST="evil.example")

    answer = post_name(client, name)

    assert answer.status_code == 303
    assert answer.headers["Location"] == "/password-reset/method"
    assert (rows(app, ResetFlow), rows(app, Challenge), rows(app, AuditEvent)) == (0, 0, 0)


def test_reloading_the_method_page_posts_nothing_again(alice, app, client):
    """The method page can be opened again (a reload) with the same form; still no flow."""
    post_name(client, "alice")

    first, again = client.get("/password-reset/method"), client.get("/password-reset/method")

    assert first.status_code == again.status_code == 200
    assert pages.hidden(first, "/password-reset/method") == pages.hidden(again, "/password-reset/method")
    assert rows(app, ResetFlow) == 0


def test_method_page_without_a_name_sends_to_the_first_step(client):
    """Opened directly (a bookmark, the back button after finishing), it leads to the name form."""
    page = client.get("/password-reset/method")

    assert page.status_code == 303
    assert page.headers["Location"] == "/password-reset"


def test_choosing_a_method_makes_the_flow_and_ends_the_start(alice, app, client):
    """The first method post makes one flow and sends one code; after it the method page
    sends back to the name form, and its token cannot be posted again."""
    wizard = Wizard(client)
    wizard.username("alice")
    start_page = wizard.page

    page = wizard.method("email")
    again = pages.submit(client, start_page, "/password-reset/method", method="email")

    assert pages.form(page, "/password-reset/code")
    assert rows(app, ResetFlow) == rows(app, OutboxMessage) == 1
    assert again.status_code == 409
    assert client.get("/password-reset/method").headers["Location"] == "/password-reset"


def test_a_start_posted_twice_at_once_makes_one_flow(alice, app):
    """Two posts of the first method page from one browser session, at once (two tabs):
    one goes on, the other is told the step is done; one flow, one code."""
    first = app.test_client()
    post_name(first, "alice")
    page = first.get("/password-reset/method")
    second = app.test_client()
    second.set_cookie("sspr_session", first.get_cookie("sspr_session").value)
    barrier = threading.Barrier(2)
    statuses = []

    def post(client):
        barrier.wait()
        statuses.append(pages.submit(client, page, "/password-reset/method", method="email").status_code)

    threads = [threading.Thread(target=post, args=(c,)) for c in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200, 409]
    assert rows(app, ResetFlow) == rows(app, Challenge) == rows(app, OutboxMessage) == 1


def test_a_newer_name_replaces_the_start(alice, app, client):
    """Posting a name again (another tab) leaves the earlier method page unusable."""
    post_name(client, "alice")
    earlier = client.get("/password-reset/method")
    post_name(client, "alice")

    page = pages.submit(client, earlier, "/password-reset/method", method="email")

    assert page.status_code == 400
    assert "start again" in page.get_data(as_text=True).lower()
    assert rows(app, ResetFlow) == 0


def test_an_old_start_has_expired(alice, app, client):
    """Like any step, the method page expires 15 minutes after the name was posted."""
    post_name(client, "alice")
    page = client.get("/password-reset/method")

    with time_machine.travel(clock.now() + timedelta(minutes=16)):
        reopened = client.get("/password-reset/method")
        posted = pages.submit(client, page, "/password-reset/method", method="email")

    assert reopened.status_code == posted.status_code == 400
    assert "expired" in reopened.get_data(as_text=True)
    assert rows(app, ResetFlow) == 0


def test_no_method_chosen_shows_the_first_method_page_again(alice, app, client):
    """Posting the first method page without a choice shows it again (400), still usable."""
    post_name(client, "alice")
    page = client.get("/password-reset/method")

    refused = pages.submit(client, page, "/password-reset/method")
    chosen = pages.submit(client, refused, "/password-reset/method", method="email")

    assert refused.status_code == 400
    assert pages.form(refused, "/password-reset/method")
    assert chosen.status_code == 200
    assert pages.form(chosen, "/password-reset/code")


def test_the_name_leaves_the_session_with_the_start(alice, client):
    """The session keeps the typed name only until a method is chosen."""
    Wizard(client).username("alice")
    with client.session_transaction() as session:
        assert session["reset_start"]["username"] == "alice"

    pages.submit(client, client.get("/password-reset/method"), "/password-reset/method", method="email")

    with client.session_transaction() as session:
        assert "reset_start" not in session


def test_a_flow_begun_before_the_upgrade_goes_on(alice, app, client):
    """A flow whose first step ran on an earlier version (its row made at the name, its
    method page's token naming it, no start in the session) still takes its method."""
    binding = state.new_binding()
    with app.app_context():
        flow = ResetFlow(
            id="a" * 32,
            user_id=alice.id,
            subject_key="k" * 64,
            binding=state.digest(binding),
            step=state.METHOD,
            step_nonce="b" * 32,
            methods_verified="",
            locale="en",
        )
        db.session.add(flow)
        db.session.commit()
        token = tokens.dump(tokens.RESET_STEP, {"f": "a" * 32, "s": state.METHOD, "n": "b" * 32})
    form = client.get("/password-reset")
    with client.session_transaction() as session:
        session["reset_binding"] = binding
    data = pages.hidden(form, "/password-reset") | {"token": token, "method": "email"}

    page = client.post("/password-reset/method", data=data)

    assert page.status_code == 200
    assert pages.form(page, "/password-reset/code")
    assert rows(app, OutboxMessage) == 1
