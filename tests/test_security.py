"""Headers every page carries, and link secrets kept out of access logs."""

from __future__ import annotations

import re

import pytest
from werkzeug.test import EnvironBuilder

from sspr import clock, setup, tokens
from sspr.extensions import db
from sspr.models import User
from sspr.reveal import service as reveal
from tests import pages
from tests.conftest import BASE_URL, PASSWORD
from tests.wizard import Wizard

NEW_PASSWORD = "a fresh passphrase for spring"


def header_problems(page):
    """What is missing of: no framing, no MIME sniffing, no Referer to other sites,
    a CSP that runs no inline script, no cross-origin openers or embedders, no
    device features, and no page kept in a cache."""
    csp = {
        directive.split()[0]: directive.split()[1:]
        for directive in page.headers.get("Content-Security-Policy", "").split(";")
        if directive.strip()
    }
    checks = {
        "CSP script-src without 'unsafe-inline'": "'unsafe-inline'" not in csp.get("script-src", ["'unsafe-inline'"]),
        "CSP frame-ancestors 'none'": csp.get("frame-ancestors") == ["'none'"],
        "X-Frame-Options DENY": page.headers.get("X-Frame-Options") == "DENY",
        "X-Content-Type-Options nosniff": page.headers.get("X-Content-Type-Options") == "nosniff",
        "Referrer-Policy no-referrer or same-origin": page.headers.get("Referrer-Policy")
        in ("no-referrer", "same-origin"),
        "Cross-Origin-Opener-Policy same-origin": page.headers.get("Cross-Origin-Opener-Policy") == "same-origin",
        "Cross-Origin-Resource-Policy same-origin": page.headers.get("Cross-Origin-Resource-Policy") == "same-origin",
        "Permissions-Policy camera=()": "camera=()" in page.headers.get("Permissions-Policy", ""),
    }
    if page.mimetype == "text/html":
        # Pages hold CSRF tokens, step tokens or personal data; the back button after sign-out shows none.
        checks["Cache-Control no-store"] = page.headers.get("Cache-Control") == "no-store"
    return [name for name, ok in checks.items() if not ok]


@pytest.fixture
def route_arguments(app, make_user, smtp, deliver):
    """Live values for the path arguments of every GET route, by rule: the only list kept
    by hand (a new route with arguments fails the test below until it is here)."""
    alice = make_user("alice", alternate_email="alice@mail.example.org")
    wizard = Wizard(app.test_client())
    wizard.username("alice")
    wizard.method("email")
    deliver()
    link = re.search(r"/password-reset/link/(\S+)", smtp.wait_for("alice@mail.example.org").text).group(1)
    with app.app_context():
        secret = reveal.create(db.session.get(User, alice.id), "a temporary password", clock.now())
        db.session.commit()
        not_me, setup_token = tokens.dump(tokens.NOT_ME, {"u": alice.id}), setup.link().rsplit("/", 1)[1]
    return {
        "/admin/users/<int:user_id>": {"user_id": alice.id},
        "/password-reset/link/<link_token>": {"link_token": link},
        "/not-me/<token>": {"token": not_me},
        "/reveal/<secret>": {"secret": secret},
        "/setup/<token>": {"token": setup_token},
        "/static/<path:filename>": {"filename": "sspr.css"},
    }


def test_every_page_has_the_security_headers(app, make_user, route_arguments):
    """Every GET route in the app, opened by a signed-in global admin (so that the
    console and /account show themselves): the security headers, and never a 5xx."""
    make_user("root", role="global-admin")
    admin = app.test_client()
    assert pages.sign_in(admin, "root", PASSWORD).status_code == 302
    rules = [rule for rule in app.url_map.iter_rules() if "GET" in (rule.methods or ())]
    builder = app.url_map.bind("localhost")

    untabled = {rule.rule for rule in rules if rule.arguments} - set(route_arguments)
    problems = {}
    for rule in rules:
        path = builder.build(rule.endpoint, route_arguments.get(rule.rule, {}), method="GET")
        page = admin.get(path)
        found = header_problems(page) + ([f"status {page.status_code}"] if page.status_code >= 500 else [])
        page.close()  # a static file is streamed from an open file
        if found:
            problems[path] = found

    assert untabled == set()
    assert len(rules) > 20
    assert problems == {}


def test_every_post_needs_its_own_sessions_csrf_token(app, make_user):
    """Forms hold no CSRF check of their own, so CSRFProtect is the one check: on every
    POST route a signed-in global admin's post without the token, or with another
    session's, gets the "form has expired" page before the view runs, and does nothing
    (the admin is still signed in: not even sign-out went through)."""
    make_user("root", role="global-admin")
    admin = app.test_client()
    assert pages.sign_in(admin, "root", PASSWORD).status_code == 302
    foreign = pages.hidden(app.test_client().get("/login"), "/login")["csrf_token"]
    rules = [rule for rule in app.url_map.iter_rules() if "POST" in (rule.methods or ())]
    builder = app.url_map.bind("localhost")

    answers = {}
    for rule in rules:
        path = builder.build(rule.endpoint, dict.fromkeys(rule.arguments, "1"), method="POST")
        for token in ([], [foreign]):
            page = admin.post(path, data={"csrf_token": token, "username": "root", "password": PASSWORD})
            answers[path, bool(token)] = (page.status_code, "The form has expired" in page.get_data(as_text=True))

    assert len(rules) > 20
    assert set(answers.values()) == {(400, True)}
    assert admin.get("/admin").status_code == 200


@pytest.mark.policy(confirm_destination=True)
def test_every_wizard_page_has_the_security_headers(app, client, make_user, smtp, deliver):
    """Each page of a whole reset, the mail's link page included, from the name to "done"."""
    make_user("alice", alternate_email="alice@mail.example.org")
    wizard = Wizard(client)
    seen = [wizard.open(), wizard.username("alice"), wizard.method("email")]
    seen.append(wizard.destination("alice@mail.example.org"))
    deliver()
    mail = smtp.wait_for("alice@mail.example.org").text
    seen.append(client.get(re.search(re.escape(BASE_URL) + r"(/password-reset/link/\S+)", mail).group(1)))
    seen += [wizard.code(pages.code_in(mail)), wizard.password(NEW_PASSWORD)]

    assert [page.status_code for page in seen] == [200] * len(seen)
    assert "/password-reset/password" not in seen[-1].get_data(as_text=True)
    assert [header_problems(page) for page in seen] == [[]] * len(seen)


def csrf_refused(app, make_user):
    return app.test_client().post("/login", data={"username": "alice", "password": PASSWORD})


def form_refused(app, make_user):
    client = app.test_client()
    return pages.submit(client, client.get("/password-reset"), "/password-reset", username="")


def flow_refused(app, make_user):
    client = app.test_client()
    page = pages.submit(client, client.get("/password-reset"), "/password-reset", follow=True, username="alice")
    return pages.submit(client, page, "/password-reset/method", method="email", token="forged")


def rate_limited(app, make_user):
    client = app.test_client()
    for _ in range(2):
        page = pages.submit(client, client.get("/password-reset"), "/password-reset", username="alice")
    return page


def not_an_admin(app, make_user):
    make_user("alice")
    client = app.test_client()
    pages.sign_in(client, "alice", PASSWORD)
    return client.get("/admin")


def too_large(app, make_user):
    return app.test_client().post("/login", data={"username": "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)})


def not_a_form(app, make_user):
    client = app.test_client()
    token = pages.hidden(client.get("/login"), "/login")["csrf_token"]
    return client.post("/login", json={"username": "alice"}, headers={"X-CSRFToken": token})


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        pytest.param(lambda app, make_user: app.test_client().get("/no-such-page"), 404, id="404"),
        pytest.param(lambda app, make_user: app.test_client().get("/logout"), 405, id="405"),
        pytest.param(csrf_refused, 400, id="csrf"),
        pytest.param(form_refused, 400, id="400-form"),
        pytest.param(flow_refused, 400, id="400-flow"),
        pytest.param(not_an_admin, 403, id="403"),
        pytest.param(too_large, 413, id="413"),
        pytest.param(not_a_form, 415, id="415"),
        pytest.param(rate_limited, 429, id="429", marks=pytest.mark.settings(RATELIMIT_WIZARD="1 per minute")),
    ],
)
def test_every_error_page_has_the_security_headers(app, make_user, answer, status):
    """Refusals and error pages carry the same headers as any page."""
    page = answer(app, make_user)

    assert page.status_code == status
    assert header_problems(page) == []


def test_link_secret_is_gone_from_the_environ_after_the_request(app):
    """What gunicorn's access log reads after the response has no link secret in it."""
    environ = EnvironBuilder(path="/password-reset/link/SECRET-TOKEN-123").get_environ()
    environ["RAW_URI"] = environ["REQUEST_URI"] = "/password-reset/link/SECRET-TOKEN-123?x=1"

    body = b"".join(app.wsgi_app(environ, lambda status, headers, exc_info=None: None))

    assert b"not valid" in body
    assert "SECRET" not in environ["PATH_INFO"] + environ["RAW_URI"] + environ["REQUEST_URI"]
    assert environ["RAW_URI"] == "/password-reset/link/[redacted]?x=1"


@pytest.mark.settings(BASE_URL="https://reset.example.test")
def test_wizard_works_over_https_without_a_referer(app, make_user):
    """Over HTTPS the wizard's pages send no Referer, and their posts still pass the CSRF check."""
    make_user("alice")
    client = app.test_client()
    page = client.get("/password-reset", base_url="https://reset.example.test")
    data = pages.hidden(page, "/password-reset") | {"username": "alice"}

    answer = client.post("/password-reset", data=data, base_url="https://reset.example.test")
    method_page = client.get(answer.headers["Location"], base_url="https://reset.example.test")

    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert answer.status_code == 303
    assert method_page.headers["Referrer-Policy"] == "no-referrer"
    assert pages.form(method_page, "/password-reset/method")


@pytest.mark.settings(BASE_URL="https://reset.example.test")
def test_https_pages_get_hsts_and_a_secure_cookie(app):
    """Served over HTTPS (BASE_URL https://), pages carry HSTS and the session cookie is Secure."""
    page = app.test_client().get("/password-reset", base_url="https://reset.example.test")

    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "Secure" in page.headers["Set-Cookie"]


@pytest.mark.settings(BASE_URL="http://127.0.0.1:5000")
def test_plain_http_gets_neither(client):
    """On the embedded default (http://), no HSTS and no Secure flag, or sign-in would break."""
    page = client.get("/password-reset")

    assert "Strict-Transport-Security" not in page.headers
    assert "Secure" not in page.headers["Set-Cookie"]
