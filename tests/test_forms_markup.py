"""What the pages' markup promises: every password input is masked and can be
filled by a password manager (no paste blocking, the right autocomplete token),
every signed-in page offers sign-out, and finishing a reset signs nobody in."""

from __future__ import annotations

import pytest

from sspr import setup
from tests import pages
from tests.conftest import BASE_URL, PASSWORD
from tests.wizard import Wizard

AUTOCOMPLETE = {"current-password", "new-password"}
# Inline handlers that would block paste or copy (a CSP without 'unsafe-inline' would not run them anyway).
PASTE_BLOCKERS = ("onpaste", "oncopy", "oncut", "ondrop")


def password_inputs(page):
    return [i for f in pages.forms(page) for i in f["inputs"] if i.get("type") == "password"]


def assert_fillable(page):
    found = password_inputs(page)
    assert found, "no password input on the page"
    for field in found:
        assert field.get("autocomplete") in AUTOCOMPLETE, field
        assert not any(handler in field for handler in PASTE_BLOCKERS), field
        assert int(field.get("maxlength", 256)) >= 64, field
    return found


@pytest.fixture
def alice(make_user):
    return make_user("alice", alternate_email="alice@mail.example.org")


def test_sign_in_password_is_masked_and_fillable(client):
    """/login's password input is type=password with autocomplete=current-password."""
    (field,) = assert_fillable(client.get("/login"))

    assert field["autocomplete"] == "current-password"


def test_account_password_inputs_are_masked_and_fillable(client, alice):
    """Every password input on /account (the password change and the contact forms' password checks)."""
    pages.sign_in(client, "alice", PASSWORD)

    found = assert_fillable(client.get("/account"))

    assert {f["autocomplete"] for f in found} == AUTOCOMPLETE


def test_wizard_password_step_is_masked_and_fillable(client, alice, smtp, deliver):
    """The wizard's new password and its confirmation are type=password with autocomplete=new-password."""
    wizard = Wizard(client)
    wizard.username("alice")
    wizard.method("email")
    deliver()
    page = wizard.code(pages.code_in(smtp.wait_for("alice@mail.example.org").text))

    found = assert_fillable(page)

    assert [f["autocomplete"] for f in found] == ["new-password", "new-password"]


def test_admin_and_setup_password_inputs_are_masked_and_fillable(app, client, make_user):
    """The setup link's form, the console's re-authentication and its typed-reset form."""
    with app.app_context():
        setup_path = setup.link().removeprefix(BASE_URL)
    assert_fillable(client.get(setup_path))
    make_user("root", role="global-admin")
    target = make_user("bob")
    pages.sign_in(client, "root", PASSWORD)

    assert_fillable(client.get("/admin/reauth"))
    assert_fillable(client.get(f"/admin/users/{target.id}"))


@pytest.mark.parametrize(
    ("role", "paths"),
    [
        ("user", ["/account"]),
        ("global-admin", ["/account", "/admin", "/admin/users", "/admin/policy", "/admin/audit", "/admin/users/{id}"]),
    ],
)
def test_every_signed_in_page_offers_sign_out(client, make_user, role, paths):
    """Each page a signed-in person sees carries the sign-out form (a POST to /logout)."""
    someone = make_user("someone", role=role)
    pages.sign_in(client, "someone", PASSWORD)

    for path in paths:
        page = client.get(path.format(id=someone.id))
        assert page.status_code == 200, path
        assert pages.form(page, "/logout")["method"] == "post", path


def test_finishing_a_reset_signs_nobody_in(client, alice, smtp, deliver):
    """After the new password is set the browser is not signed in: /account sends it to /login."""
    wizard = Wizard(client)
    wizard.username("alice")
    wizard.method("email")
    deliver()
    wizard.code(pages.code_in(smtp.wait_for("alice@mail.example.org").text))

    done = wizard.password("a fresh passphrase for spring")

    assert done.status_code == 200
    assert client.get("/account").location.startswith("/login")
