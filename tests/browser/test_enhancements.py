"""What sspr.js adds, in a real browser, in English and Danish: a show/hide button
on every password input, the live password check (the server's own rules and
words), a code pasted with a space, sent by itself once all its digits are in;
and with JavaScript off, the same pages without any of it, still working."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.people import Wizard, exactly
from tests.conftest import PASSWORD

ALICE_MAIL = "alice@mail.example.org"
GOOD_PASSWORD = "violet lamp harbour seventeen"


@pytest.fixture
def alice(make_user):
    return make_user("alice", alternate_email=ALICE_MAIL)


def new_password_field(page, t):
    return page.get_by_label(t("New password"), exact=True)


def code_field(page, t):
    return page.get_by_label(t("Verification code"), exact=True)


def live_check(page, field):
    """The region the live check speaks in: the last of the ids the input is described by."""
    described = field.get_attribute("aria-describedby")
    assert described, "the new password input is described by nothing"
    return page.locator("#" + described.split()[-1])


def too_short(t, length):
    return t.plural(
        "Use at least %(num)d characters; this one has %(length)d.",
        "Use at least %(num)d characters; this one has %(length)d.",
        15,
        length=length,
    )


def is_code_post(request):
    return request.method == "POST" and request.url.endswith("/password-reset/code")


def code_posts(page):
    """The posts of the code form this page makes from now on."""
    posts = []
    page.on("request", lambda r: posts.append(r) if is_code_post(r) else None)
    return posts


def test_show_password_toggles_the_type_and_aria_pressed(page, t):
    """The button beside the password shows it (type=text, aria-pressed=true) and hides it again."""
    page.goto("/login")
    field = page.get_by_label(t("Password"), exact=True)
    field.fill(PASSWORD)
    button = page.get_by_role("button", name=t("Show password"), exact=True)
    expect(button).to_have_attribute("aria-pressed", "false")

    button.click()
    expect(field).to_have_attribute("type", "text")
    expect(button).to_have_attribute("aria-pressed", "true")
    button.click()

    expect(field).to_have_attribute("type", "password")
    expect(button).to_have_attribute("aria-pressed", "false")
    expect(field).to_have_value(PASSWORD)


def test_every_password_input_gets_a_show_button(page, t, alice, sign_in):
    """/account's five password inputs (two contact forms' checks, the current, the new one twice) each get one."""
    sign_in(page, "alice", PASSWORD)
    page.goto("/account")

    inputs = page.locator("input[type=password]")
    expect(inputs).to_have_count(5)
    expect(page.get_by_role("button", name=t("Show password"), exact=True)).to_have_count(5)


def test_live_check_lists_too_short_then_clears_as_the_password_grows(page, t, wizard, alice):
    """On the wizard's password step, a short password shows the server's "too short" words in a
    polite live region tied to the input; a long, unusual one replaces them with "meets the rules"."""
    wizard.to_password("alice", "email", ALICE_MAIL)
    field = new_password_field(page, t)
    region = live_check(page, field)
    expect(region).to_have_attribute("aria-live", "polite")

    field.press_sequentially("violet")
    expect(region).to_contain_text(too_short(t, 6))
    field.fill(GOOD_PASSWORD)

    expect(region).to_have_text(exactly(t("This password meets the rules.")))
    expect(region.get_by_text(too_short(t, 6))).to_have_count(0)


def test_live_check_knows_the_user_name_on_the_wizards_password_step(page, t, wizard, alice):
    """The check gets the verified user's name from the page: a password with it in says so before it is sent."""
    wizard.to_password("alice", "email", ALICE_MAIL)
    field = new_password_field(page, t)

    field.fill("alice violet harbour lamp")

    expect(live_check(page, field)).to_contain_text(t("Do not use your user name in your password."))


def test_only_the_first_new_password_gets_the_live_check(page, t, wizard, alice):
    """The confirmation is described by nothing the script added: one live check per form."""
    wizard.to_password("alice", "email", ALICE_MAIL)

    confirm = page.get_by_label(t("New password again"), exact=True)

    expect(page.locator("[aria-live=polite]")).to_have_count(1)
    assert confirm.get_attribute("aria-describedby") is None


def test_code_pasted_with_a_space_is_cleaned_and_sent_by_itself(make_page, t, alice, code_sent_to):
    """Pasting "123 456" (the code as a mail may space it) leaves only the digits in the field,
    and the form goes without a press: the post carries the bare code, and the password step follows."""
    page = make_page(permissions=["clipboard-read", "clipboard-write"])
    walk = Wizard(page, t, code_sent_to)
    walk.to_code("alice", "email")
    code = code_sent_to(ALICE_MAIL)
    page.evaluate("text => navigator.clipboard.writeText(text)", f"{code[:3]} {code[3:]}")
    code_field(page, t).focus()

    with page.expect_request(is_code_post) as sent, page.expect_navigation():
        page.keyboard.press("Control+V")

    assert f"code={code}&" in (sent.value.post_data or "") + "&"
    expect(page.get_by_role("heading", level=1)).to_have_text(exactly(t("Choose a new password")))


def test_after_a_wrong_code_the_next_one_waits_for_the_button(page, t, wizard, alice, code_sent_to):
    """A wrong code goes by itself and comes back with an error; on that page a whole code is
    sent only by pressing Verify (each wrong try counts), and then exactly once."""
    wizard.to_code("alice", "email")
    code = code_sent_to(ALICE_MAIL)
    with page.expect_navigation():
        code_field(page, t).fill("000000" if code != "000000" else "111111")
    expect(code_field(page, t)).to_have_attribute("aria-invalid", "true")
    posts = code_posts(page)

    code_field(page, t).fill(code)
    expect(code_field(page, t)).to_have_value(code)
    with page.expect_navigation():
        page.get_by_role("button", name=t("Verify"), exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(exactly(t("Choose a new password")))
    assert len(posts) == 1


def test_without_javascript_there_is_no_toggle_nor_check_and_the_wizard_works(make_page, t, alice, code_sent_to):
    """With JavaScript off: no show button, no live region; a code typed with a space is sent by the
    button (the server takes the space), and the new password is set."""
    page = make_page(java_script_enabled=False)
    walk = Wizard(page, t, code_sent_to, scripts=False)
    walk.to_code("alice", "email")
    code = code_sent_to(ALICE_MAIL)
    walk.code(f"{code[:3]} {code[3:]}")
    expect(page.get_by_role("heading", level=1)).to_have_text(exactly(t("Choose a new password")))

    expect(page.get_by_role("button", name=t("Show password"), exact=True)).to_have_count(0)
    expect(page.locator("[aria-live]")).to_have_count(0)
    assert new_password_field(page, t).get_attribute("aria-describedby") is None
    walk.password(GOOD_PASSWORD)

    expect(page.get_by_role("heading", level=1)).to_have_text(exactly(t("Your password is changed")))


def test_without_javascript_sign_in_has_no_toggle_and_works(make_page, t, alice, sign_in):
    """The sign-in page without JavaScript: a plain masked password input, and the sign-in goes through."""
    page = make_page(java_script_enabled=False)
    page.goto("/login")

    expect(page.get_by_role("button", name=t("Show password"), exact=True)).to_have_count(0)
    expect(page.get_by_label(t("Password"), exact=True)).to_have_attribute("type", "password")
    sign_in(page, "alice", PASSWORD)

    expect(page.get_by_role("heading", level=1)).to_have_text(exactly(t("Your account")))


def test_live_check_on_the_admin_reset_knows_the_users_name(page, t, make_user, sign_in):
    """An admin typing a password for robert is told, before sending it, that it contains his name
    (the form holds no user name input: the page names him to the script)."""
    make_user("root", role="global-admin")
    robert = make_user("robert")
    sign_in(page, "root", PASSWORD)
    page.goto(f"/admin/users/{robert.id}")
    field = page.get_by_label(t("Password"), exact=True)

    field.fill("robert violet harbour lamp")

    expect(live_check(page, field)).to_contain_text(t("Do not use your user name in your password."))
