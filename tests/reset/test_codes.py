"""Codes: single use, expiring, at most 5 wrong tries, a new code voids the old
one without resetting the tries, a handful per user name an hour, and two
concurrent posts of one code cannot both win."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
import time_machine

from sspr import clock
from tests import pages
from tests.wizard import Wizard


@pytest.fixture
def alice(make_user):
    return make_user("alice", alternate_email="alice@mail.example.org")


def mailed_code(smtp, deliver, address="alice@mail.example.org"):
    smtp.inbox.clear()
    deliver()
    return pages.code_in(smtp.wait_for(address).text)


def at_code_step(client, username="alice"):
    wizard = Wizard(client)
    wizard.username(username)
    wizard.method("email")
    return wizard


def test_fifth_wrong_code_ends_the_flow(alice, client, smtp, deliver):
    """After 5 wrong codes the flow is over, and the right code no longer helps."""
    wizard = at_code_step(client)
    code = mailed_code(smtp, deliver)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(4):
        assert wizard.code(wrong).status_code == 400

    fifth = wizard.code(wrong)

    assert fifth.status_code == 429
    assert "Too many wrong codes" in fifth.get_data(as_text=True)
    assert not any(f["action"] == "/password-reset/code" for f in pages.forms(fifth))


def test_wrong_code_page_says_how_many_tries_are_left(alice, client, smtp, deliver):
    """A wrong code is refused with a 400 and the number of tries left."""
    wizard = at_code_step(client)
    code = mailed_code(smtp, deliver)

    page = wizard.code("000000" if code != "000000" else "111111")

    assert page.status_code == 400
    assert "4 more times" in page.get_data(as_text=True)


def test_new_code_voids_the_old_one(alice, client, smtp, deliver):
    """After "send a new code" the first code is refused and the second works."""
    wizard = at_code_step(client)
    first = mailed_code(smtp, deliver)
    wizard.resend()
    second = mailed_code(smtp, deliver)

    refused = wizard.code(first) if first != second else None
    accepted = wizard.code(second)

    assert refused is None or refused.status_code == 400
    assert pages.form(accepted, "/password-reset/password")


def test_new_code_does_not_reset_the_wrong_tries(alice, client, smtp, deliver):
    """Asking for a new code after 4 wrong tries leaves one try, not five."""
    wizard = at_code_step(client)
    mailed_code(smtp, deliver)
    for _ in range(4):
        wizard.code("12345678")
    wizard.resend()
    code = mailed_code(smtp, deliver)

    last = wizard.code("000000" if code != "000000" else "111111")

    assert last.status_code == 429


def test_code_works_once(alice, client, smtp, deliver):
    """Posting the code page again after it succeeded is refused."""
    wizard = at_code_step(client)
    code = mailed_code(smtp, deliver)
    code_page = wizard.page
    wizard.code(code)

    again = pages.submit(client, code_page, "/password-reset/code", code=code)

    assert again.status_code == 409


def test_expired_code_is_refused(alice, client, smtp, deliver):
    """A right code typed after its lifetime (10 minutes by default) does not verify."""
    wizard = at_code_step(client)
    code = mailed_code(smtp, deliver)

    with time_machine.travel(clock.now() + timedelta(minutes=11)):
        page = wizard.code(code)

    assert page.status_code == 400
    assert "expired" in page.get_data(as_text=True)
    assert not any(f["action"] == "/password-reset/password" for f in pages.forms(page))


@pytest.mark.policy(code_lifetime_minutes=2)
def test_code_lifetime_follows_the_policy(alice, client, smtp, deliver):
    """The policy's lifetime is the one that counts, and the page and mail say it."""
    wizard = at_code_step(client)
    mail_text = smtp.wait_for("alice@mail.example.org").text if deliver() else ""
    code = pages.code_in(mail_text)

    with time_machine.travel(clock.now() + timedelta(minutes=3)):
        page = wizard.code(code)

    assert "2 minutes" in mail_text
    assert page.status_code == 400


@pytest.mark.policy(codes_per_destination_per_hour=20)
def test_codes_per_name_are_capped_each_hour(alice, app, smtp, deliver):
    """However many flows ask, a name gets at most 5 codes an hour; then the page says so.
    (Its address could take more, so the cap met is the name's.)"""
    for _ in range(5):
        at_code_step(app.test_client())
    sent = deliver()

    sixth = at_code_step(app.test_client()).page
    sent_after = deliver()

    assert sent == 5
    assert sent_after == 0
    assert "no new one was sent" in sixth.get_data(as_text=True)


def test_unknown_name_is_capped_like_a_real_one(app, make_user):
    """The hourly cap shows the same notice for a name that does not exist."""
    for _ in range(5):
        at_code_step(app.test_client(), "ghost")

    sixth = at_code_step(app.test_client(), "ghost").page

    assert "no new one was sent" in sixth.get_data(as_text=True)


def test_two_concurrent_posts_of_one_code_one_wins(alice, app, client, smtp, deliver):
    """The same code page posted twice at once: exactly one reaches the password step."""
    wizard = at_code_step(client)
    code = mailed_code(smtp, deliver)
    data = pages.hidden(wizard.page, "/password-reset/code") | {"code": code}
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    statuses = []
    barrier = threading.Barrier(2)

    def post():
        other = app.test_client()
        other.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
        barrier.wait()
        statuses.append(other.post("/password-reset/code", data=data).status_code)

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(statuses) == [200, 409]


# Request limits per address and per name set far up: what is counted below is what
# holds even for an attacker with many addresses, the guards in the database.
GUESSING = pytest.mark.settings(RATELIMIT_WIZARD="1000 per minute", RATELIMIT_WIZARD_PER_ACCOUNT="1000 per minute")


def wrong_for(*codes):
    """A code of the right shape that is none of these."""
    return next(guess for guess in (f"{n:06d}" for n in range(10)) if guess not in codes)


@GUESSING
@pytest.mark.settings(CODE_MAX_WRONG_TRIES=3)
def test_a_flow_checks_exactly_the_allowed_wrong_codes_then_dies(alice, app, client, smtp, deliver):
    """CODE_MAX_WRONG_TRIES wrong codes are checked (the code page again, 400), the last
    of them ends the flow (429), and after it neither the right code, nor a new code,
    nor the mail's link gets anywhere."""
    tries = app.config["CODE_MAX_WRONG_TRIES"]
    wizard = at_code_step(client)
    smtp.inbox.clear()
    deliver()
    mail = smtp.wait_for("alice@mail.example.org").text
    code, link = pages.code_in(mail), re.search(r"/password-reset/link/\S+", mail).group(0)
    answers = [wizard.code(wrong_for(code)) for _ in range(tries)]
    last_form = answers[-2]

    right = pages.submit(client, last_form, "/password-reset/code", code=code)
    resent = pages.submit(client, last_form, "/password-reset/resend")
    sent = deliver()
    opened = client.get(link)

    assert [a.status_code for a in answers] == [400] * (tries - 1) + [429]
    assert all(pages.form(a, "/password-reset/code") for a in answers[:-1])
    assert "Too many wrong codes" in answers[-1].get_data(as_text=True)
    assert right.status_code == 400
    assert not any(f["action"] == "/password-reset/password" for f in pages.forms(right))
    assert resent.status_code == 400
    assert sent == 0
    assert opened.status_code == 410


@GUESSING
@pytest.mark.policy(codes_per_destination_per_hour=20)
def test_a_name_gets_codes_per_hour_times_tries_guesses_in_all(alice, app, smtp, deliver):
    """Flow after flow, a name gets CODES_PER_USER_PER_HOUR codes an hour, each flow
    checks CODE_MAX_WRONG_TRIES guesses: 5 x 5 = 25 guesses against a live code by
    default.  Then a new flow and its "send a new code" send nothing, and none of the
    codes mailed before is accepted in a new flow."""
    codes_allowed, tries = app.config["CODES_PER_USER_PER_HOUR"], app.config["CODE_MAX_WRONG_TRIES"]
    mailed, checked, endings = [], 0, []
    for _ in range(codes_allowed):
        wizard = at_code_step(app.test_client())
        mailed.append(mailed_code(smtp, deliver))
        for _ in range(tries + 1):  # one guess more than allowed, which must not be checked
            answer = wizard.code(wrong_for(*mailed))
            checked += 1
            if answer.status_code != 400:
                break
        endings.append(answer.status_code)

    late = at_code_step(app.test_client())
    late.resend()
    sent_late = deliver()
    retried = [at_code_step(app.test_client()).code(code) for code in mailed]

    assert checked == codes_allowed * tries == 25
    assert endings == [429] * codes_allowed
    assert sent_late == 0
    assert "no new one was sent" in late.page.get_data(as_text=True)
    assert [page.status_code for page in retried] == [400] * codes_allowed
    assert not any(f["action"] == "/password-reset/password" for page in retried for f in pages.forms(page))
