"""The main journeys in a real browser, in English and Danish, as a person
reads them: the wizard by e-mail and by SMS (at desktop and phone sizes),
sign-in, /account's contact registration, and the admin console's policy,
single and bulk resets (these at desktop size).  Fields are found by their
labels and buttons by their names, so each journey also proves its inputs are
labelled.  With --screenshots they save the main pages into docs/screenshots/."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from sspr.extensions import db
from sspr.models import User
from tests.browser.conftest import VIEWPORTS
from tests.browser.people import METHOD_LABELS, Wizard, enter_code, exactly, follow, press
from tests.conftest import PASSWORD

NEW_PASSWORD = "a fresh passphrase for spring"
# The notice at sign-in for a user without contact details (sspr/auth/service.py).
REGISTER_PROMPT = (
    "Add an alternate e-mail address or a mobile phone below, so that you can reset your "
    "password yourself if you forget it."
)
# Every date the console shows, for screenshots that stay the same from run to run.
SHOWN_DATE = datetime(2025, 3, 3, 9, 30, tzinfo=UTC)


@pytest.fixture
def alice(make_user):
    return make_user("alice", display_name="Alice Jensen", phone="+4520123456")


@pytest.fixture
def bob(make_user):
    """A user with a mobile phone only."""
    return make_user("bob", display_name="Bob Nielsen", alternate_email=None, phone="+4520998877")


@pytest.fixture
def root(make_user):
    return make_user("root", display_name="Rita Admin", role="global-admin", alternate_email="rita@mail.example.org")


@pytest.fixture
def team(make_user, bob):
    """More users for the console's list: bob (a phone only), one with no way to reset, a password admin."""
    make_user("carol", display_name="Carol Berg", alternate_email=None, phone=None)
    make_user("dave", display_name="Dave Holm", role="password-admin", phone=None)


@pytest.fixture
def still_dates(app):
    """Set every user's sign-in and password dates to one fixed moment."""

    def fix() -> None:
        with app.app_context():
            db.session.execute(update(User).values(last_login_at=SHOWN_DATE, password_changed_at=SHOWN_DATE))
            db.session.commit()

    return fix


def heading(page):
    return page.get_by_role("heading", level=1)


def alert(page):
    return page.get_by_role("alert")


def progress(t, n, total=4):
    return t("Step %(n)d of %(total)d", n=n, total=total)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_wizard_by_email(page, wizard, t, alice, code_sent_to, sign_in, shot):
    """Every step says where the user is (step n of 4) and what to do; a code mailed
    through the SMTP server gets the user a new password, which then signs in."""
    wizard.open()
    expect(heading(page)).to_have_text(exactly(t("Forgot your password?")))
    expect(page.get_by_text(progress(t, 1))).to_be_visible()
    shot(page, "wizard-1-username")

    wizard.username("alice")
    expect(heading(page)).to_have_text(exactly(t("How should we send your code?")))
    expect(page.get_by_text(progress(t, 2))).to_be_visible()
    shot(page, "wizard-2-method")

    wizard.method("email")
    expect(heading(page)).to_have_text(exactly(t("Enter the code we sent")))
    expect(page.get_by_text(progress(t, 3))).to_be_visible()
    lifetime = t.plural("The code is valid for %(num)d minute.", "The code is valid for %(num)d minutes.", 10)
    expect(page.get_by_text(lifetime)).to_be_visible()
    shot(page, "wizard-3-code")

    wizard.code(code_sent_to("alice@mail.example.org"))
    expect(heading(page)).to_have_text(exactly(t("Choose a new password")))
    expect(page.get_by_text(progress(t, 4))).to_be_visible()
    shot(page, "wizard-4-password")

    wizard.password(NEW_PASSWORD)
    expect(heading(page)).to_have_text(exactly(t("Your password is changed")))
    shot(page, "wizard-5-done")

    sign_in(page, "alice", NEW_PASSWORD)
    expect(heading(page)).to_have_text(exactly(t("Your account")))


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_wizard_by_sms_after_a_wrong_code(page, wizard, t, bob, code_sent_to, sign_in):
    """By SMS through the Twilio endpoint: a wrong code is refused with an alert that
    says how many tries are left, the right one (typed after it) goes on to a new password."""
    wizard.to_code("bob", "sms")
    code = code_sent_to("+4520998877")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    wizard.code(wrong)
    tries_left = t.plural(
        "That code is not right. You can try %(num)d more time.",
        "That code is not right. You can try %(num)d more times.",
        4,
    )
    expect(alert(page)).to_have_text(exactly(tries_left))
    expect(page.get_by_text(progress(t, 3))).to_be_visible()
    wizard.code(code)
    wizard.password(NEW_PASSWORD)

    expect(heading(page)).to_have_text(exactly(t("Your password is changed")))
    sign_in(page, "bob", NEW_PASSWORD)
    expect(heading(page)).to_have_text(exactly(t("Your account")))


def test_sign_in_after_a_wrong_password(page, t, alice, shot):
    """A wrong password shows a plain alert and keeps the user on /login; the right one leads to /account."""
    page.goto("/login")
    shot(page, "sign-in")
    page.get_by_label(t("User name"), exact=True).fill("alice")
    page.get_by_label(t("Password"), exact=True).fill("not the password")
    press(page, t, "Sign in")
    expect(alert(page)).to_have_text(exactly(t("The user name or password is not right.")))

    page.get_by_label(t("Password"), exact=True).fill(PASSWORD)
    press(page, t, "Sign in")

    expect(heading(page)).to_have_text(exactly(t("Your account")))
    expect(page.get_by_role("button", name=t("Sign out"), exact=True)).to_be_visible()


def test_account_registers_a_phone_and_an_address(page, t, make_user, code_sent_to, sign_in, shot):
    """A user with no contact details is asked to add one, and adds a phone and then
    an address, each confirmed with the code that reached it."""
    make_user("carol", display_name="Carol Berg", alternate_email=None, phone=None)
    sign_in(page, "carol", PASSWORD)
    expect(page.get_by_role("status")).to_contain_text(t(REGISTER_PROMPT))

    phone = page.get_by_role("region", name=t("Mobile phone"), exact=True)
    phone.get_by_label(t("New mobile phone number"), exact=True).fill("20 11 22 33")
    phone.get_by_label(t("Your password"), exact=True).fill(PASSWORD)
    press(page, t, "Send a code to this number")
    expect(page.get_by_role("status")).to_have_text(exactly(t("We sent a code. Type it below to confirm the change.")))
    enter_code(page, t, code_sent_to("+4520112233"), "Confirm")
    expect(page.get_by_role("status")).to_have_text(exactly(t("Your contact details are updated.")))

    email = page.get_by_role("region", name=t("Alternate e-mail address"), exact=True)
    email.get_by_label(t("New alternate e-mail address"), exact=True).fill("carol@mail.example.org")
    email.get_by_label(t("Your password"), exact=True).fill(PASSWORD)
    press(page, t, "Send a code to this address")
    enter_code(page, t, code_sent_to("carol@mail.example.org"), "Confirm")

    expect(page.get_by_role("status")).to_have_text(exactly(t("Your contact details are updated.")))
    details = page.get_by_role("definition")
    expect(details.filter(has_text="+4520112233")).to_have_count(1)
    expect(details.filter(has_text="carol@mail.example.org")).to_have_count(1)
    shot(page, "account")


def test_admin_policy_change_takes_effect(page, wizard, t, root, alice, bob, sign_in, shot):
    """A global admin takes SMS out of the methods and sets a helpdesk: the confirm
    page names who loses self-service (bob, SMS only), and once saved the wizard
    offers e-mail only and shows the helpdesk."""
    sign_in(page, "root", PASSWORD)
    page.goto("/admin")
    follow(page, t("Self-service policy"))
    expect(heading(page)).to_have_text(exactly(t("Self-service policy")))
    shot(page, "admin-policy")

    page.get_by_label(t("A code by text message (SMS) to their mobile phone"), exact=True).uncheck()
    page.get_by_label(t("Helpdesk"), exact=True).fill("IT desk, phone 7010 2030")
    press(page, t, "Save the policy")
    expect(heading(page)).to_have_text(exactly(t("Confirm the stricter policy")))
    expect(page.get_by_role("list").filter(has_text="bob")).to_have_count(1)
    press(page, t, "Save the stricter policy")
    expect(page.get_by_role("status")).to_have_text(exactly(t("The policy is saved. It applies within a second.")))

    wizard.open()
    wizard.username("alice")
    expect(page.get_by_label(t(METHOD_LABELS["email"]), exact=True)).to_be_visible()
    expect(page.get_by_label(t(METHOD_LABELS["sms"]), exact=True)).to_have_count(0)
    expect(page.get_by_text(t("Stuck? Contact %(helpdesk)s", helpdesk="IT desk, phone 7010 2030"))).to_be_visible()


def test_admin_resets_one_password(page, make_page, t, root, alice, team, sign_in, still_dates, shot):
    """From the users list to one user's page, a generated password is shown once;
    it signs alice in, straight to the forced password change."""
    sign_in(page, "root", PASSWORD)
    still_dates()
    page.goto("/admin")
    follow(page, t("Users"))
    expect(heading(page)).to_have_text(exactly(t("Users")))
    shot(page, "admin-users")
    follow(page, f"{t('Manage')} alice")
    expect(heading(page)).to_have_text(exactly("alice"))
    shot(page, "admin-user")

    press(page, t, "Reset the password")
    expect(heading(page)).to_have_text(exactly(t("The password of %(username)s is reset", username="alice")))
    temporary = page.get_by_role("code").inner_text()

    other = make_page()
    sign_in(other, "alice", temporary)
    expect(other.get_by_role("heading", level=1)).to_have_text(exactly(t("Change your password")))
    expect(other.get_by_text(t("You must choose a new password before you go on."))).to_be_visible()


def test_admin_resets_ticked_users(page, make_page, t, root, alice, bob, sign_in):
    """Two users ticked on the list are reset together, each with a password of
    their own shown once; bob's signs him in, straight to the forced change."""
    sign_in(page, "root", PASSWORD)
    page.goto("/admin/users")
    page.get_by_role("checkbox", name="alice", exact=True).check()
    page.get_by_role("checkbox", name="bob", exact=True).check()
    press(page, t, "Reset passwords…")
    expect(heading(page)).to_have_text(exactly(t("Reset passwords")))
    expect(page.get_by_text(t.plural("%(num)d user selected.", "%(num)d users selected.", 2))).to_be_visible()

    press(page, t, "Reset these passwords")

    expect(heading(page)).to_have_text(exactly(t.plural("%(num)d password reset", "%(num)d passwords reset", 2)))
    rows = page.get_by_role("row")
    shown = {name: rows.filter(has_text=name).get_by_role("code").inner_text() for name in ("alice", "bob")}
    assert shown["alice"] != shown["bob"]
    other = make_page()
    sign_in(other, "bob", shown["bob"])
    expect(other.get_by_role("heading", level=1)).to_have_text(exactly(t("Change your password")))


def test_wizard_and_sign_in_without_javascript(make_page, t, alice, code_sent_to, sign_in):
    """With JavaScript off the wizard by e-mail and sign-in work all the same: every
    page is a plain form (and no script-made control, such as the show-password button, appears)."""
    page = make_page(java_script_enabled=False)
    wizard = Wizard(page, t, code_sent_to, scripts=False)

    wizard.to_password("alice", "email", "alice@mail.example.org")
    expect(page.get_by_role("button", name=t("Show password"))).to_have_count(0)
    wizard.password(NEW_PASSWORD)

    expect(heading(page)).to_have_text(exactly(t("Your password is changed")))
    sign_in(page, "alice", NEW_PASSWORD)
    expect(heading(page)).to_have_text(exactly(t("Your account")))
