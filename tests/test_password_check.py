"""POST /password-check, which sspr.js asks while a new password is typed: the
same problems as the forms' own check, in the user's language, behind the CSRF
token and a rate limit, the same for any user name, and a 4xx for bad input."""

from __future__ import annotations

import pytest

from sspr import passwords, users
from tests import pages
from tests.conftest import PASSWORD

CHECK = "/password-check"
BANNED = ("acme", "spring")


def csrf_token(client):
    """The CSRF token the pages hold, as sspr.js reads it from the form around the password."""
    return pages.hidden(client.get("/password-reset"), "/password-reset")["csrf_token"]


def ask(client, password, username=""):
    return client.post(CHECK, data={"csrf_token": csrf_token(client), "password": password, "username": username})


def server_problems(app, password, username, **headers):
    """What the forms' check says, in the language these request headers pick."""
    with app.test_request_context(headers=headers):
        return [
            {"code": p.code, "message": p.message}
            for p in passwords.check_new_password(password, username=username, min_length=15, banned_words=BANNED)
        ]


CASES = [
    pytest.param("short one", "alice", id="too short"),
    pytest.param("password1234567890", "alice", id="common"),
    pytest.param("alice-violet-harbour-lamp", "alice", id="contains the user name"),
    pytest.param("violet acme harbour seventeen", "alice", id="banned word"),
    pytest.param("x" * 300, "alice", id="too long"),
    pytest.param("violet lamp harbour seventeen", "alice", id="fine"),
    pytest.param("violet lamp harbour seventeen", "", id="no user name"),
]


@pytest.mark.policy(banned_words=BANNED)
@pytest.mark.parametrize(("password", "username"), CASES)
def test_answers_the_problems_the_forms_check_finds(app, client, password, username):
    """For each kind of problem (and none), the answer lists exactly what check_new_password finds, word for word."""
    expected = server_problems(app, password, username)

    answer = ask(client, password, username)

    assert answer.status_code == 200
    assert answer.json == {"problems": expected}


def test_each_problem_kind_is_found(app, client):
    """The cases above are not all empty: too short, common and the user name each show up by their code."""
    codes = {
        password: [p["code"] for p in ask(client, password, "alice").json["problems"]]
        for password in ("short one", "password1234567890", "alice-violet-harbour-lamp")
    }

    assert "too_short" in codes["short one"]
    assert "common" in codes["password1234567890"]
    assert "contains_username" in codes["alice-violet-harbour-lamp"]


def test_answers_in_the_users_language(app, client):
    """A Danish browser gets the problems in Danish: the messages the Danish form shows."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "da"
    expected = server_problems(app, "kort", "alice", **{"Accept-Language": "da"})

    answer = ask(client, "kort", "alice")

    assert answer.json == {"problems": expected}
    assert answer.json["problems"] != server_problems(app, "kort", "alice")


def test_a_name_that_exists_gets_the_answer_one_that_does_not_got(app, client, make_user):
    """The answer for a user name is the same before and after an account of that name
    exists: the check never looks an account up."""
    before = ask(client, "alice-violet-harbour-lamp", "alice")
    make_user("alice")

    after = ask(client, "alice-violet-harbour-lamp", "alice")

    assert (after.status_code, after.json) == (before.status_code, before.json)


def test_never_compares_with_the_current_password(app, client, make_user):
    """Signed in, the user's current password passes the live check, though the form refuses
    it: the endpoint is no oracle for anyone's password."""
    alice = make_user("alice")
    pages.sign_in(client, "alice", PASSWORD)
    with app.test_request_context():
        on_posting = users.password_problems("alice", PASSWORD, PASSWORD, current_hash=alice.password_hash)

    answer = ask(client, PASSWORD, "alice")

    assert on_posting == ["Choose a password different from your current one."]
    assert answer.json == {"problems": []}


def test_needs_the_csrf_token(app, client):
    """Without the pages' CSRF token the answer is the 400 "form has expired" page, with no problems in it."""
    answer = client.post(CHECK, data={"password": "short one", "username": "alice"})

    assert answer.status_code == 400
    assert answer.json is None
    assert "The form has expired" in answer.get_data(as_text=True)


@pytest.mark.settings(RATELIMIT_PASSWORD_CHECK="2 per minute")
def test_is_rate_limited_per_address(app, client):
    """Over SSPR_RATELIMIT_PASSWORD_CHECK the answer is 429 with Retry-After."""
    for _ in range(2):
        assert ask(client, "short one").status_code == 200

    answer = ask(client, "short one")

    assert answer.status_code == 429
    assert int(answer.headers["Retry-After"]) > 0


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"username": "alice"}, id="no password"),
        pytest.param({"password": ""}, id="empty password"),
        pytest.param({"password": "x" * 1025}, id="password over the input limit"),
        pytest.param({"password": "violet\x00lamp harbour seventeen"}, id="control character"),
        pytest.param({"password": "violet lamp harbour seventeen", "username": "a" * 151}, id="user name too long"),
    ],
)
def test_bad_input_gets_a_400_that_says_why(app, client, fields):
    """Input no form could send is refused with 400 and the field's message, never a 500."""
    answer = client.post(CHECK, data={"csrf_token": csrf_token(client), **fields})

    assert answer.status_code == 400
    assert answer.json["errors"]
    assert "problems" not in answer.json


def test_takes_only_what_a_form_posts(app, client):
    """A JSON body is refused (415) and a GET is not allowed (405): the check is asked like a form posts."""
    token = csrf_token(client)

    as_json = client.post(CHECK, json={"password": "short one"}, headers={"X-CSRFToken": token})
    as_get = client.get(CHECK)

    assert as_json.status_code == 415
    assert as_get.status_code == 405
