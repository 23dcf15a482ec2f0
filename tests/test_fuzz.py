"""Every form, fed whatever hypothesis makes up: arbitrary Unicode (NUL included),
huge values, missing and repeated fields, numbers where text belongs, a file or
a JSON body instead of a form, and garbled CSRF, step and link tokens.

Each example first walks to the form as a browser would (signed in, at the
right wizard step, with a live link), so the input reaches past the CSRF and
token checks.  Whatever comes, the answer is never a 5xx nor a stack trace,
and no password changes, except the one user a legitimate post of that form
may change (the wizard's password step, an admin's reset).

The table below must name every route that takes a POST and every GET route
with a path argument: a new route fails test_every_form_route_is_fuzzed until
it has a row.  SQLite only: the property is about the views, not the backend,
and the file runs in about half a minute.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from werkzeug.datastructures import MultiDict
from werkzeug.test import TestResponse

from sspr import clock, config, policy, setup, tokens
from sspr.admin.accounts import ACTIONS
from sspr.admin.forms import ROLE_LABELS
from sspr.admin.outbox_queue import ACTIONS as ACTIONS_ON_MESSAGES
from sspr.admin.outbox_queue import STATES
from sspr.admin.queries import FILTERS
from sspr.extensions import db
from sspr.models import User
from sspr.reveal import service as reveal
from sspr.verification import outbox
from tests import pages
from tests.admin.browser import controls
from tests.conftest import BASE_URL, PASSWORD
from tests.wizard import Wizard

# Every rate limit far above what the fuzz posts, so that it meets the forms and not a 429 page.
LIMITS = dict.fromkeys(config.RATE_LIMITS, "100000 per minute")
pytestmark = [pytest.mark.backends("sqlite"), pytest.mark.settings(LOGIN_LOCKOUT_THRESHOLD=100_000, **LIMITS)]

# A field left out of the post altogether.
MISSING = object()
# Lone surrogates cannot be encoded by any browser (or by werkzeug): everything else goes.
TEXT = st.text(st.characters(exclude_categories=["Cs"]) | st.sampled_from("\x00\r\n\t\u202e\ufeff"), max_size=30)
# Just over the fields' limits (150, 320, 1024, 2000 characters) and, in a post,
# beyond the request body limit (64 KiB).  A URL stays under what a server takes (8 KiB).
LONG = [151, 321, 1025, 2001]
FILLER = st.sampled_from(["a", "é", "\x00", "😀", "9"])
HUGE_IN_URL = st.builds(lambda ch, n: ch * n, FILLER, st.sampled_from(LONG))
HUGE_IN_BODY = st.builds(lambda ch, n: ch * n, FILLER, st.sampled_from([*LONG, 66_000]))
NUMBER = st.integers(-(2**70), 2**70).map(str)
# What may replace a token or an id: never a usable one.
GARBAGE = st.one_of(TEXT, NUMBER, st.sampled_from(["0", "-1", str(2**31), str(2**63), str(10**30), "None", "[]"]))
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)
# Names of exceptions and the traceback header: none of them may reach a page.
LEAK = re.compile(r"Traceback|\b\w+(?:Error|Exception)\b|\bStopIteration\b")
CSRF_REFUSED = "The form has expired"


@dataclass
class Visit:
    """A browser at a form: the address it posts to and what the form holds as the page left it."""

    client: FlaskClient
    path: str
    values: MultiDict[str, str] = field(default_factory=MultiDict)
    # The token or id in the path, which the garbled variants replace.
    secret: str = ""
    # Hidden fields that carry a step or link token.
    tokens: tuple[str, ...] = ()
    # Users whose password a legitimate post of this form changes.
    may_change: frozenset[str] = frozenset()


class Site:
    """The app's users, made on first use, and browsers at its forms."""

    def __init__(self, app: Flask, make_user: Callable[..., User], smtp: Any, deliver: Callable[[], int]) -> None:
        self.app, self.make_user, self.smtp, self.deliver = app, make_user, smtp, deliver
        self.ids: dict[str, int] = {}
        self.serial = itertools.count()
        self.admin_browser: FlaskClient | None = None

    def user(self, name: str, **fields: Any) -> int:
        if name not in self.ids:
            self.ids[name] = self.make_user(name, **fields).id
        return self.ids[name]

    def fresh_user(self) -> str:
        """A user of its own for one example: the per-name and per-address code limits never bite."""
        name = f"walker{next(self.serial)}"
        self.user(name, alternate_email=f"{name}@mail.example.org")
        return name

    def browser(self, name: str | None = None, role: str = "user") -> FlaskClient:
        client = self.app.test_client()
        if name is not None:
            self.user(name, role=role)
            assert pages.sign_in(client, name, PASSWORD).status_code == 302
        return client

    def admin(self) -> FlaskClient:
        """One global admin's browser for every example: nothing the admin forms take signs it out."""
        if self.admin_browser is None:
            self.admin_browser = self.browser("root", role="global-admin")
        return self.admin_browser

    def hashes(self) -> dict[str, str]:
        with self.app.app_context():
            return dict(db.session.execute(select(User.username, User.password_hash)).all())

    def mail_to(self, address: str) -> str:
        self.smtp.inbox.clear()
        self.deliver()
        return str(self.smtp.wait_for(address).text)


def at(client: FlaskClient, page: TestResponse, action: str, **visit: Any) -> Visit:
    """The form posting to ``action`` on this page, as a browser would send it untouched."""
    return Visit(client, action, controls(page, action), **visit)


# -- walking to each form -------------------------------------------------------------------------------


def wizard_start(site: Site) -> Visit:
    client = site.browser()
    return at(client, client.get("/password-reset"), "/password-reset")


def at_code_step(site: Site) -> tuple[Wizard, str]:
    name = site.fresh_user()
    wizard = Wizard(site.browser())
    wizard.username(name)
    wizard.method("email")
    return wizard, name


def wizard_method(site: Site) -> Visit:
    wizard = Wizard(site.browser())
    page = wizard.username(site.fresh_user())
    return at(wizard.client, page, "/password-reset/method", tokens=("token",))


def wizard_destination(site: Site) -> Visit:
    wizard = Wizard(site.browser())
    wizard.username(site.fresh_user())
    page = wizard.method("email")
    return at(wizard.client, page, "/password-reset/destination", tokens=("token",))


def wizard_step(action: str) -> Callable[[Site], Visit]:
    def reach(site: Site) -> Visit:
        wizard, _name = at_code_step(site)
        assert wizard.page is not None
        return at(wizard.client, wizard.page, action, tokens=("token",))

    return reach


def at_password_step(site: Site, **fields: Any) -> tuple[Wizard, str]:
    wizard, name = at_code_step(site)
    if fields:
        with site.app.app_context():
            db.session.execute(update(User).where(User.username == name).values(**fields))
            db.session.commit()
    wizard.code(pages.code_in(site.mail_to(f"{name}@mail.example.org")))
    return wizard, name


def wizard_password(site: Site) -> Visit:
    wizard, name = at_password_step(site)
    assert wizard.page is not None
    return at(wizard.client, wizard.page, "/password-reset/password", tokens=("token",), may_change=frozenset({name}))


def wizard_unlock(site: Site) -> Visit:
    """The password page of a user locked out by wrong passwords offers to unlock instead."""
    wizard, _name = at_password_step(site, locked_until=clock.now() + timedelta(hours=1))
    assert wizard.page is not None
    return at(wizard.client, wizard.page, "/password-reset/unlock", tokens=("token",))


def mailed_link(site: Site) -> tuple[FlaskClient, str]:
    wizard, name = at_code_step(site)
    found = re.search(re.escape(BASE_URL) + r"(/password-reset/link/\S+)", site.mail_to(f"{name}@mail.example.org"))
    assert found
    return wizard.client, found.group(1)


def wizard_link_page(site: Site) -> Visit:
    client, path = mailed_link(site)
    return Visit(client, path, secret=path.rsplit("/", 1)[1])


def wizard_link_post(site: Site) -> Visit:
    client, path = mailed_link(site)
    return at(client, client.get(path), "/password-reset/link", tokens=("link",))


def login_page(site: Site) -> Visit:
    return Visit(site.browser(), "/login")


def login_post(site: Site) -> Visit:
    site.user("alice")
    client = site.browser()
    return at(client, client.get("/login"), "/login")


def logout(site: Site) -> Visit:
    client = site.browser("carol")
    return at(client, client.get("/account"), "/logout")


def change_password(site: Site) -> Visit:
    client = site.browser("carol")
    return at(client, client.get("/password"), "/password")


def password_check(site: Site) -> Visit:
    """What sspr.js posts as a new password is typed: the page's CSRF token, the password, the user name."""
    client = site.browser()
    token = pages.hidden(client.get("/password-reset"), "/password-reset")["csrf_token"]
    values = MultiDict({"csrf_token": token, "password": "violet lamp harbour seventeen", "username": "alice"})
    return Visit(client, "/password-check", values)


def setup_link(site: Site) -> str:
    with site.app.app_context():
        return setup.link().removeprefix(BASE_URL)


def setup_page(site: Site) -> Visit:
    path = setup_link(site)
    return Visit(site.browser(), path, secret=path.rsplit("/", 1)[1])


def setup_post(site: Site) -> Visit:
    """Once a post made an admin (a valid name and password, twice), the link is dead: a 404 with no form."""
    client, path = site.browser(), setup_link(site)
    page = client.get(path)
    values = controls(page, path) if page.status_code == 200 else MultiDict()
    return Visit(client, path, values, secret=path.rsplit("/", 1)[1])


def not_me_link(site: Site) -> str:
    user_id = site.user("alice")
    with site.app.app_context():
        return "/not-me/" + tokens.dump(tokens.NOT_ME, {"u": user_id})


def not_me_page(site: Site) -> Visit:
    path = not_me_link(site)
    return Visit(site.browser(), path, secret=path.rsplit("/", 1)[1])


def not_me_post(site: Site) -> Visit:
    client, path = site.browser(), not_me_link(site)
    return at(client, client.get(path), path, secret=path.rsplit("/", 1)[1])


def reveal_link(site: Site) -> str:
    """A live one-time link for a temporary password of the target's (the password itself stays)."""
    user_id = site.user("target")
    with site.app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None
        secret = reveal.create(user, "a temporary password shown once", clock.now())
        db.session.commit()
    return "/reveal/" + secret


def reveal_page(site: Site) -> Visit:
    path = reveal_link(site)
    return Visit(site.browser(), path, secret=path.rsplit("/", 1)[1])


def reveal_post(site: Site) -> Visit:
    client, path = site.browser(), reveal_link(site)
    return at(client, client.get(path), path, secret=path.rsplit("/", 1)[1])


def account_form(action: str) -> Callable[[Site], Visit]:
    def reach(site: Site) -> Visit:
        client = site.browser("carol")
        return at(client, client.get("/account"), action)

    return reach


def account_confirm(site: Site) -> Visit:
    """The code form shows while a new address waits for its code."""
    client = site.browser("carol")
    asked = pages.submit(
        client,
        client.get("/account"),
        "/account/email",
        email=f"carol{next(site.serial)}@new.example.org",
        password=PASSWORD,
    )
    assert asked.status_code == 302
    return at(client, client.get("/account"), "/account/confirm")


def admin_page(path: str) -> Callable[[Site], Visit]:
    def reach(site: Site) -> Visit:
        return Visit(site.admin(), path)

    return reach


def admin_form(path: str) -> Callable[[Site], Visit]:
    def reach(site: Site) -> Visit:
        client = site.admin()
        return at(client, client.get(path), path)

    return reach


def target_page(site: Site) -> Visit:
    client, target = site.admin(), str(site.user("target"))
    return Visit(client, f"/admin/users/{target}", secret=target)


def target_form(action: str, may_change: frozenset[str] = frozenset()) -> Callable[[Site], Visit]:
    """A form on the target user's page (each account action is a form of its own: the
    first); the id in its address is what the garbled variants replace."""

    def reach(site: Site) -> Visit:
        client, target = site.admin(), str(site.user("target"))
        path, page = f"/admin/users/{target}/{action}", client.get(f"/admin/users/{target}")
        values = MultiDict(pages.hidden(page, path)) if action == "account" else controls(page, path)
        return Visit(client, path, values, secret=target, may_change=may_change)

    return reach


def outbox_form(site: Site) -> Visit:
    """A message's buttons at /admin/outbox (a new message each time: the last may be discarded);
    the message's id in the address is what the garbled variants replace."""
    with site.app.app_context():
        message = outbox.enqueue("email", "someone@mail.example.org", kind="code", text="123456")
        db.session.commit()
        message_id = str(message.id)
    client, path = site.admin(), f"/admin/outbox/{message_id}"
    return Visit(client, path, MultiDict(pages.hidden(client.get("/admin/outbox"), path)), secret=message_id)


def bulk_form(path: str, may_change: frozenset[str] = frozenset()) -> Callable[[Site], Visit]:
    """The confirm page of a bulk action for the target (the selection rides in the query string)."""

    def reach(site: Site) -> Visit:
        client, target = site.admin(), str(site.user("target"))
        full = f"{path}?user={target}"
        return at(client, client.get(full), full, secret=target, may_change=may_change)

    return reach


# -- the table ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Form:
    method: str
    rule: str
    reach: Callable[[Site], Visit]
    # The fields the fuzz changes (the rest stay as the page had them), and valid
    # values it mixes in so that it also gets past the first check.
    fields: tuple[str, ...] = ()
    good: dict[str, tuple[str, ...]] = field(default_factory=dict)
    policy: dict[str, Any] = field(default_factory=dict)

    def value(self, name: str) -> st.SearchStrategy[Any]:
        """Left out, any value, the field repeated, or a valid value."""
        value = st.one_of(TEXT, NUMBER, HUGE_IN_URL if self.method == "GET" else HUGE_IN_BODY)
        choices = [st.just(MISSING), value, st.lists(value, min_size=2, max_size=3)]
        if name in self.good:
            choices.append(st.sampled_from(self.good[name]))
        return st.one_of(choices)


NEXT = ("/account", "/admin/users", "//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:x")
POLICY_FIELDS = (*policy.PARSERS, "confirm", "basis")
TARGET_RESET = frozenset({"target"})

FORMS = [
    Form("POST", "/password-reset", wizard_start, ("username",), {"username": ("alice", "ghost", " ALICE ")}),
    Form("POST", "/password-reset/method", wizard_method, ("method",), {"method": ("email", "sms")}),
    Form(
        "POST",
        "/password-reset/destination",
        wizard_destination,
        ("destination",),
        {"destination": ("walker0@mail.example.org", "+4520123456")},
        policy={"confirm_destination": True},
    ),
    Form("POST", "/password-reset/code", wizard_step("/password-reset/code"), ("code",), {"code": ("000000",)}),
    Form("POST", "/password-reset/resend", wizard_step("/password-reset/resend"), ("resend",)),
    Form("POST", "/password-reset/password", wizard_password, ("password", "confirm")),
    Form("POST", "/password-reset/unlock", wizard_unlock, ("unlock",)),
    Form("GET", "/password-reset/link/<link_token>", wizard_link_page),
    Form("POST", "/password-reset/link", wizard_link_post, ("submit",)),
    Form("GET", "/login", login_page, ("next",), {"next": NEXT}),
    Form(
        "POST",
        "/login",
        login_post,
        ("username", "password", "next"),
        {"username": ("alice", "ghost"), "password": (PASSWORD,), "next": NEXT},
    ),
    Form("POST", "/logout", logout, ("submit",)),
    # The current password is never offered here and at /account/password: no change is legitimate.
    Form("POST", "/password", change_password, ("current", "password", "confirm")),
    Form(
        "POST",
        "/password-check",
        password_check,
        ("password", "username"),
        {"password": ("short one", PASSWORD), "username": ("alice", "ghost")},
    ),
    Form("GET", "/setup/<token>", setup_page),
    Form("POST", "/setup/<token>", setup_post, ("username", "display_name", "password", "confirm")),
    Form("GET", "/not-me/<token>", not_me_page),
    Form("POST", "/not-me/<token>", not_me_post, ("submit",)),
    Form("GET", "/reveal/<secret>", reveal_page),
    Form("POST", "/reveal/<secret>", reveal_post, ("submit",)),
    Form(
        "POST",
        "/account/email",
        account_form("/account/email"),
        ("email", "password"),
        {"email": ("carol@new.example.org",), "password": (PASSWORD,)},
    ),
    Form(
        "POST",
        "/account/phone",
        account_form("/account/phone"),
        ("phone", "password"),
        {"phone": ("+4520998877", "+1 202 555 0100"), "password": (PASSWORD,)},
    ),
    Form("POST", "/account/confirm", account_confirm, ("code",), {"code": ("000000",)}),
    Form("POST", "/account/password", account_form("/account/password"), ("current", "password", "confirm")),
    Form("POST", "/account/details-still-right", account_form("/account/details-still-right"), ("submit",)),
    Form("POST", "/account/sign-out-everywhere", account_form("/account/sign-out-everywhere"), ("submit",)),
    Form("GET", "/admin/reauth", admin_page("/admin/reauth"), ("next",), {"next": NEXT}),
    Form(
        "POST",
        "/admin/reauth",
        admin_form("/admin/reauth"),
        ("password", "next"),
        {"password": (PASSWORD,), "next": NEXT},
    ),
    Form(
        "POST",
        "/admin/policy",
        admin_form("/admin/policy"),
        POLICY_FIELDS,
        {"self_service": ("everyone", "group", "nobody"), "methods": ("email", "sms"), "confirm": ("yes",)},
    ),
    Form(
        "GET",
        "/admin/users",
        admin_page("/admin/users"),
        ("q", "filter", "page"),
        {"filter": tuple(FILTERS), "page": ("1", "2", "0")},
    ),
    Form("GET", "/admin/users/<int:user_id>", target_page),
    Form(
        "POST",
        "/admin/users/<int:user_id>/reset",
        target_form("reset", TARGET_RESET),
        ("mode", "password", "confirm", "require_change", "delivery", "link_to"),
        {"mode": ("generate", "type"), "delivery": ("show", "link"), "link_to": ("someone@example.org",)},
    ),
    Form(
        "POST",
        "/admin/users/<int:user_id>/contacts",
        target_form("contacts"),
        ("display_name", "alternate_email", "phone"),
        {"phone": ("+4520123456",)},
    ),
    Form("POST", "/admin/users/<int:user_id>/role", target_form("role"), ("role",), {"role": tuple(ROLE_LABELS)}),
    Form("POST", "/admin/users/<int:user_id>/account", target_form("account"), ("action",), {"action": tuple(ACTIONS)}),
    Form("GET", "/admin/users/reset", admin_page("/admin/users/reset"), ("user", "all"), {"all": ("1",)}),
    Form(
        "POST",
        "/admin/users/reset",
        bulk_form("/admin/users/reset", TARGET_RESET),
        ("require_change", "delivery"),
        {"delivery": ("show", "link")},
    ),
    Form("GET", "/admin/users/force-change", admin_page("/admin/users/force-change"), ("user", "all"), {"all": ("1",)}),
    Form("POST", "/admin/users/force-change", bulk_form("/admin/users/force-change"), ("submit",)),
    Form("GET", "/admin/users/end-sessions", admin_page("/admin/users/end-sessions"), ("user", "all"), {"all": ("1",)}),
    Form("POST", "/admin/users/end-sessions", bulk_form("/admin/users/end-sessions"), ("submit",)),
    Form(
        "GET",
        "/admin/audit",
        admin_page("/admin/audit"),
        ("user", "event", "since", "until", "page"),
        {"since": ("2024-01-31",), "until": ("2024-01-01", "2999-12-31"), "event": ("reset.completed",)},
    ),
    Form("GET", "/admin/outbox", admin_page("/admin/outbox"), ("state",), {"state": tuple(STATES)}),
    Form("POST", "/admin/outbox/<int:message_id>", outbox_form, ("action",), {"action": tuple(ACTIONS_ON_MESSAGES)}),
    Form(
        "GET",
        "/admin/audit.csv",
        admin_page("/admin/audit.csv"),
        ("user", "event", "since", "until"),
        {"since": ("2024-01-31",), "until": ("2024-01-01",)},
    ),
]


# -- sending --------------------------------------------------------------------------------------------


def garble(visit: Visit, data: st.DataObject) -> tuple[str, MultiDict[str, str], bool]:
    """The path and values with none, some or all of the CSRF token, the step or link token
    and the path's token or id replaced by garbage; whether anything was."""
    parts = data.draw(st.sets(st.sampled_from(["csrf", "token", "path"])), label="garbled")
    values, path = MultiDict(visit.values), visit.path
    if "csrf" in parts and "csrf_token" in values:
        values.setlist("csrf_token", [data.draw(GARBAGE, label="csrf")])
    if "token" in parts:
        for name in visit.tokens:
            values.setlist(name, [data.draw(GARBAGE, label=name)])
    if "path" in parts and visit.secret:
        path = path.replace(visit.secret, quote(data.draw(GARBAGE, label="path"), safe=""), 1)
    return path, values, path != visit.path or values != visit.values


def fill(form: Form, values: MultiDict[str, str], data: st.DataObject) -> None:
    """Change some of the fields: leave out, set, or repeat."""
    changes = data.draw(st.fixed_dictionaries({}, optional={name: form.value(name) for name in form.fields}))
    for name, value in changes.items():
        if value is MISSING:
            values.poplist(name)
        else:
            values.setlist(name, value if isinstance(value, list) else [value])


def post(client: FlaskClient, path: str, values: MultiDict[str, str], data: st.DataObject) -> TestResponse:
    """As a form, as multipart with a file in one field, or as JSON of any shape (the CSRF token in its header)."""
    body = data.draw(st.sampled_from(["form", "form", "multipart", "json"]), label="body")
    if body == "form":
        return client.post(path, data=values)
    if body == "multipart":
        name = data.draw(st.sampled_from(sorted({*values, "file"})), label="file field")
        parts: MultiDict[str, Any] = MultiDict(values)
        parts.add(name, (io.BytesIO(data.draw(st.binary(max_size=100))), "upload.txt"))
        return client.post(path, data=parts, content_type="multipart/form-data")
    payload: Any = {name: items[0] if len(items) == 1 else items for name, items in values.lists()}
    payload.update(data.draw(st.fixed_dictionaries({}, optional=dict.fromkeys(payload, JSON)), label="json"))
    if data.draw(st.booleans(), label="not an object"):
        payload = data.draw(JSON)
    return client.post(path, json=payload, headers={"X-CSRFToken": values.get("csrf_token", "")})


@pytest.mark.parametrize(
    "form",
    [
        pytest.param(f, id=f"{f.method} {f.rule}", marks=[pytest.mark.policy(**f.policy)] if f.policy else [])
        for f in FORMS
    ],
)
def test_no_input_breaks_a_form(form, app, make_user, smtp, deliver):
    """Any input to this form gets a 2xx, 3xx or 4xx page without a stack trace, and
    changes no password but the one a legitimate post may change; and some
    examples get past the CSRF check and the limits to a real answer."""
    site = Site(app, make_user, smtp, deliver)
    answers: list[tuple[int, bool]] = []

    # The examples share the fixtures (set up once, out here) and the walk to the form is
    # part of each; the assertions after the run see every answer.
    @settings(max_examples=25, derandomize=True, database=None, deadline=None)
    @given(st.data())
    def any_input(data: st.DataObject) -> None:
        visit = form.reach(site)
        path, values, garbled = garble(visit, data)
        fill(form, values, data)
        before = site.hashes()

        if form.method == "GET":
            answer = visit.client.get(path, query_string=values)
        else:
            answer = post(visit.client, path, values, data)

        body = answer.get_data(as_text=True)
        assert answer.status_code < 500, body[:2000]
        assert not LEAK.search(body), body[:2000]
        after = site.hashes()
        changed = {name for name, hashed in before.items() if after.get(name) != hashed}
        assert changed <= visit.may_change
        answers.append((answer.status_code, not garbled and CSRF_REFUSED not in body))

    any_input()

    assert any(status != 429 for status, _ in answers)
    assert any(reached for _, reached in answers)


def test_every_form_route_is_fuzzed(app):
    """Every route that takes a POST, and every GET route with a path argument, has a row in the table."""
    table = {(f.method, f.rule) for f in FORMS}
    routes = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in ("GET", "POST")
        if method in (rule.methods or ()) and rule.endpoint != "static" and (method == "POST" or rule.arguments)
    }

    assert routes - table == set()
