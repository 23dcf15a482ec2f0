"""No enumeration: an unknown name, a user without the chosen method and a real
user get the same status and the same page (tokens aside) at every step."""

from __future__ import annotations

import pytest

from tests import pages
from tests.wizard import Wizard


def walk(client, username, method="sms", destination=None):
    """Status, token-free text and the readable shape of the step token of every page
    a wizard run shows, up to two wrong codes and a resend."""
    wizard = Wizard(client)
    seen = [wizard.open(), wizard.post("/password-reset", username=username), wizard.method(method)]
    if destination is not None:
        seen.append(wizard.destination(destination))
    seen += [wizard.code("000000"), wizard.resend(), wizard.code("000000")]
    return [(page.status_code, pages.text_without_tokens(page), token_shape(page)) for page in seen]


def token_shape(page):
    """The step token's payload with its random values reduced to their length."""
    for f in pages.forms(page):
        for i in f["inputs"]:
            if i.get("name") == "token":
                payload = pages.token_payload(i["value"])
                return {k: v if k == "s" else len(v) for k, v in payload.items()}
    return None


@pytest.fixture
def people(make_user):
    make_user("known", phone="+4520111111")
    make_user("nophone", phone=None)


def test_unknown_user_sees_what_a_real_user_sees(app, people):
    """Every page and status is the same for a real user and a name that does not exist."""
    real = walk(app.test_client(), "known")

    unknown = walk(app.test_client(), "nobody-here")

    assert unknown == real


def test_user_without_the_method_sees_what_a_real_user_sees(app, people):
    """A user with no phone choosing SMS gets the pages a user with a phone gets."""
    real = walk(app.test_client(), "known")

    without = walk(app.test_client(), "nophone")

    assert without == real


@pytest.mark.policy(confirm_destination=True)
def test_wrong_destination_sees_what_the_right_one_sees(app, people, twilio, deliver):
    """With the destination check on, a wrong number, the right one and an unknown user look alike."""
    right = walk(app.test_client(), "known", destination="+45 20 11 11 11")
    deliver()
    twilio.wait_for("+4520111111")

    wrong = walk(app.test_client(), "known", destination="+45 20 99 99 99")
    unknown = walk(app.test_client(), "nobody-here", destination="+45 20 11 11 11")

    assert wrong == right
    assert unknown == right
