"""Accessibility in a real browser, in English and Danish: an axe-core scan of
every page a person can reach (each wizard step and its error states, the
unlock offer, sign-in, /account, the forced password change, the pages behind
mailed links, every admin page, the error pages) finds nothing serious or critical under WCAG 2.2
A and AA (colour contrast included); each page declares its language; the wizard
works from the keyboard alone with a visible focus; errors are tied to their
fields and announced.  Scans run at desktop size: the pages have one layout
that only narrows on a phone, and the journeys walk the wizard at phone size."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect
from sqlalchemy import update

from sspr import clock, setup
from sspr.extensions import db
from sspr.models import User
from tests import pages
from tests.browser.people import METHOD_LABELS, enter_code, exactly, follow, press
from tests.conftest import PASSWORD

AXE = Axe()
# WCAG 2.0 to 2.2, levels A and AA, and axe's best practices (a landmark for everything, one h1, ...).
AXE_OPTIONS = {
    "resultTypes": ["violations"],
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]},
}
BLOCKING = ("serious", "critical")
WEAK_PASSWORD = "password"
NEW_PASSWORD = "a fresh passphrase for spring"


class Scanner:
    """Scans pages with axe-core and keeps the serious and critical violations per page."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.scanned: list[str] = []
        self.found: dict[str, list[dict[str, object]]] = {}

    def __call__(self, page: Page, name: str) -> None:
        page.wait_for_load_state("load")
        expect(page.locator("html")).to_have_attribute("lang", self.lang)
        violations = AXE.run(page, options=AXE_OPTIONS).response["violations"]
        self.scanned.append(name)
        blocking = [v for v in violations if v["impact"] in BLOCKING]
        if blocking:
            self.found[name] = blocking

    def report(self) -> str:
        lines = []
        for name, violations in self.found.items():
            for v in violations:
                lines.append(f"{name} [{self.lang}]: {v['id']} ({v['impact']}): {v['help']}")
                lines.extend(f"    {node['target']}: {node['failureSummary']!r}" for node in v["nodes"])  # type: ignore[attr-defined]
        return "\n".join(lines)

    def assert_clean(self) -> None:
        assert self.scanned, "no page scanned"
        assert not self.found, "accessibility violations:\n" + self.report()


@pytest.fixture
def scan(lang):
    return Scanner(lang)


@pytest.fixture
def alice(make_user):
    return make_user("alice", display_name="Alice Jensen", phone="+4520123456")


@pytest.fixture
def root(make_user):
    return make_user("root", display_name="Rita Admin", role="global-admin", alternate_email="rita@mail.example.org")


def link_in_mail(smtp, to, path):
    """The newest link to this path in the mails to ``to``, as a path on the live server."""
    texts = [m.text for m in smtp.inbox.items if to in m.recipients]
    links = [url for text in texts for url in pages.URL_RE.findall(text) if path in url]
    assert links, f"no {path} link in the mails to {to}"
    return links[-1][links[-1].index(path) :]


@pytest.mark.policy(confirm_destination=True)
def test_wizard_pages(page, make_page, wizard, t, alice, code_sent_to, smtp, deliver, scan):
    """Each wizard step (with confirm_destination on, all five), its error states,
    the page the mail's link opens, and the "was it not you?" page of the notice."""
    wizard.open()
    scan(page, "username")
    press(page, t, "Next")
    scan(page, "username: empty")
    wizard.username("alice")
    scan(page, "method")
    wizard.method("email")
    scan(page, "destination")
    press(page, t, "Send code")
    scan(page, "destination: empty")
    page.get_by_label(t("Alternate e-mail address"), exact=True).fill("alice@mail.example.org")
    press(page, t, "Send code")
    scan(page, "code")
    code = code_sent_to("alice@mail.example.org")
    link_page = make_page()
    link_page.goto(link_in_mail(smtp, "alice@mail.example.org", "/password-reset/link/"))
    scan(link_page, "link")
    wizard.code(f"{(int(code) + 1) % 1_000_000:06d}")
    scan(page, "code: wrong")
    wizard.code(code)
    scan(page, "password")
    wizard.password(WEAK_PASSWORD)
    scan(page, "password: weak")
    wizard.password(NEW_PASSWORD)
    scan(page, "done")
    deliver()
    page.goto(link_in_mail(smtp, "alice@mail.example.org", "/not-me/"))
    scan(page, "not me")
    press(page, t, "Lock my account")
    scan(page, "not me: locked")

    scan.assert_clean()


def test_unlock_pages(page, app, wizard, t, alice, scan):
    """A user locked out by wrong passwords who passes the code check: the offer to
    keep the password on the password step, and the page saying the account is unlocked."""
    with app.app_context():
        db.session.execute(update(User).values(locked_until=clock.now() + timedelta(minutes=15), failed_logins=10))
        db.session.commit()
    wizard.to_password("alice", "email", "alice@mail.example.org")
    expect(page.get_by_role("heading", name=t("Or keep your password"), exact=True)).to_be_visible()
    scan(page, "password: unlock offered")
    press(page, t, "Unlock my account and keep my password")
    expect(page.get_by_role("heading", level=1)).to_have_text(exactly(t("Your account is unlocked")))
    scan(page, "unlocked")

    scan.assert_clean()


@pytest.mark.settings(RATELIMIT_WIZARD_PER_ACCOUNT="1 per minute")
def test_error_pages(page, make_page, t, alice, sign_in, scan):
    """The 404, 403 and 429 pages, and a dead link's page, say what happened in words."""
    page.goto("/no-such-page")
    expect(page.get_by_role("heading", level=1)).to_have_text(exactly(t("Page not found")))
    scan(page, "404")
    sign_in(page, "alice", PASSWORD)
    page.goto("/admin")
    expect(page.get_by_role("heading", level=1)).to_have_text(exactly(t("Not allowed")))
    scan(page, "403")
    other = make_page()
    for _ in range(2):
        other.goto("/password-reset")
        other.get_by_label(t("User name"), exact=True).fill("alice")
        press(other, t, "Next")
    expect(other.get_by_role("heading", level=1)).to_have_text(exactly(t("Too many attempts")))
    scan(other, "429")
    other.goto("/password-reset/link/not-a-link")
    expect(other.get_by_role("heading", level=1)).to_have_text(exactly(t("This link is not valid")))
    scan(other, "bad link")

    scan.assert_clean()


def test_sign_in_and_account_pages(page, make_page, app, t, make_user, alice, sign_in, scan):
    """Sign-in and its error, /account with a notice, a pending confirmation and
    errors, the forced password change and its error, and the first-admin setup page."""
    page.goto("/login")
    scan(page, "login")
    page.get_by_label(t("User name"), exact=True).fill("alice")
    press(page, t, "Sign in")
    scan(page, "login: error")
    sign_in(page, "alice", PASSWORD)
    scan(page, "account")
    phone = page.get_by_role("region", name=t("Mobile phone"), exact=True)
    phone.get_by_label(t("New mobile phone number"), exact=True).fill("20 11 22 33")
    phone.get_by_label(t("Your password"), exact=True).fill("not the password")
    press(page, t, "Send a code to this number")
    scan(page, "account: wrong password")
    phone = page.get_by_role("region", name=t("Mobile phone"), exact=True)
    phone.get_by_label(t("Your password"), exact=True).fill(PASSWORD)
    press(page, t, "Send a code to this number")
    scan(page, "account: code sent")
    enter_code(page, t, "000000", "Confirm")
    scan(page, "account: wrong code")

    make_user("erik", must_change_password=True)
    forced = make_page()
    sign_in(forced, "erik", PASSWORD)
    expect(forced.get_by_role("heading", level=1)).to_have_text(exactly(t("Change your password")))
    scan(forced, "forced change")
    forced.get_by_label(t("Current password"), exact=True).fill(PASSWORD)
    forced.get_by_label(t("New password"), exact=True).fill(NEW_PASSWORD)
    forced.get_by_label(t("New password again"), exact=True).fill("something else entirely here")
    press(forced, t, "Change password")
    scan(forced, "forced change: error")
    with app.app_context():
        forced_link = setup.link()
    page.goto(forced_link[forced_link.index("/setup/") :])
    expect(page.get_by_role("heading", level=1)).to_have_text(exactly(t("Create the first administrator")))
    scan(page, "setup")

    scan.assert_clean()


def test_admin_pages(page, make_page, t, root, alice, make_user, smtp, deliver, sign_in, scan):
    """Every console page: overview, users, a user (and its reset's error), a reset
    by one-time link and the page that link opens, the policy (with an error, and
    the confirm step), the audit log, the outgoing messages, a bulk reset and its result, another bulk
    action's confirm page, and the password prompt before dangerous actions."""
    make_user("bob", display_name="Bob Nielsen", alternate_email=None, phone="+4520998877")
    sign_in(page, "root", PASSWORD)
    page.goto("/admin")
    scan(page, "dashboard")
    follow(page, t("Users"))
    scan(page, "users")
    follow(page, f"{t('Manage')} alice")
    scan(page, "user")
    page.get_by_label(t("Type a password"), exact=True).check()
    press(page, t, "Reset the password")
    scan(page, "user: reset error")
    page.get_by_label(t("Generate a strong temporary password"), exact=True).check()
    page.get_by_label(t("Mail a one-time link that shows it once"), exact=True).check()
    press(page, t, "Reset the password")
    scan(page, "reset done")
    deliver()
    reveal = make_page()
    reveal.goto(link_in_mail(smtp, "alice@mail.example.org", "/reveal/"))
    scan(reveal, "reveal")
    press(reveal, t, "Show the password")
    scan(reveal, "reveal: shown")

    follow(page, t("Self-service policy"))
    scan(page, "policy")
    page.get_by_label(t("Minimum password length"), exact=True).fill("3")
    press(page, t, "Save the policy")
    scan(page, "policy: error")
    page.get_by_label(t("Minimum password length"), exact=True).fill("15")
    page.get_by_label(t("A code by text message (SMS) to their mobile phone"), exact=True).uncheck()
    press(page, t, "Save the policy")
    expect(page.get_by_role("heading", level=1)).to_have_text(exactly(t("Confirm the stricter policy")))
    scan(page, "policy confirm")
    follow(page, t("Audit log"))
    scan(page, "audit")
    follow(page, t("Outgoing messages"))
    scan(page, "outbox")

    follow(page, t("Users"))
    page.get_by_role("checkbox", name="bob", exact=True).check()
    press(page, t, "Require a new password…")
    scan(page, "bulk confirm")
    page.go_back()
    page.get_by_role("checkbox", name="bob", exact=True).check()
    press(page, t, "Reset passwords…")
    scan(page, "bulk reset")
    press(page, t, "Reset these passwords")
    scan(page, "bulk reset done")
    page.goto("/admin/reauth?next=/admin/policy")
    scan(page, "reauth")

    scan.assert_clean()


# A focus ring as the browser draws it: outline and box shadow, as computed.
RING = "el => { const s = getComputedStyle(el); return [s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow]; }"
# WCAG 1.4.11: what shows a state (focus) stands out 3:1 from what is around it.
NON_TEXT_CONTRAST = 3.0


def contrast_with_white(css_color: str) -> float:
    """The WCAG contrast ratio of an ``rgb(r, g, b)`` colour against white."""
    channels = [int(c) / 255 for c in re.findall(r"\d+", css_color)[:3]]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return 1.05 / (luminance + 0.05)


def tab_to(page: Page, target) -> None:
    """Press Tab (only) until ``target`` has the focus, then check the focus shows:
    it matches :focus-visible and its ring differs from the unfocused element's."""
    unfocused = target.evaluate(RING)
    for _ in range(40):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            break
    else:
        raise AssertionError(f"Tab never reached {target}")
    assert target.evaluate("el => el.matches(':focus-visible')")
    focused = target.evaluate(RING)
    style, width, color, _shadow = focused
    assert focused != unfocused, f"no visible change on focus: {focused}"
    assert style != "none" and width != "0px", f"no focus ring: {focused}"
    assert contrast_with_white(color) >= NON_TEXT_CONTRAST, f"focus ring too faint on the white page: {color}"


def test_wizard_by_keyboard_alone(page, t, alice, code_sent_to):
    """Tab, typing and Enter take a person through the whole wizard (the skip
    link first), and every control they land on shows a focus ring."""
    page.goto("/password-reset")
    tab_to(page, page.get_by_role("link", name=t("Skip to content"), exact=True))
    tab_to(page, page.get_by_label(t("User name"), exact=True))
    page.keyboard.type("alice")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    tab_to(page, page.get_by_label(t(METHOD_LABELS["email"]), exact=True))
    tab_to(page, page.get_by_role("button", name=t("Send code"), exact=True))
    with page.expect_navigation():
        page.keyboard.press("Enter")

    tab_to(page, page.get_by_label(t("Verification code"), exact=True))
    with page.expect_navigation():
        page.keyboard.type(code_sent_to("alice@mail.example.org"))

    tab_to(page, page.get_by_label(t("New password"), exact=True))
    page.keyboard.type(NEW_PASSWORD)
    tab_to(page, page.get_by_label(t("New password again"), exact=True))
    page.keyboard.type(NEW_PASSWORD)
    tab_to(page, page.get_by_role("button", name=t("Set new password"), exact=True))
    with page.expect_navigation():
        page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text(exactly(t("Your password is changed")))
    tab_to(page, page.get_by_role("link", name=t("Go to sign-in"), exact=True))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(exactly(t("Sign in")))


def test_errors_are_tied_to_their_fields_and_announced(page, wizard, t, alice, code_sent_to):
    """A wrong code and a weak password each mark their input invalid, describe it
    by the error (aria-describedby) and show the error as an alert."""
    wizard.to_code("alice", "email")
    code = code_sent_to("alice@mail.example.org")
    wizard.code(f"{(int(code) + 1) % 1_000_000:06d}")
    wrong = t.plural(
        "That code is not right. You can try %(num)d more time.",
        "That code is not right. You can try %(num)d more times.",
        4,
    )
    field = page.get_by_label(t("Verification code"), exact=True)
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(re.compile(re.escape(wrong)))
    expect(page.get_by_role("alert")).to_have_text(exactly(wrong))

    wizard.code(code)
    wizard.password(WEAK_PASSWORD)

    too_short = t.plural(
        "Use at least %(num)d characters; this one has %(length)d.",
        "Use at least %(num)d characters; this one has %(length)d.",
        15,
        length=len(WEAK_PASSWORD),
    )
    field = page.get_by_label(t("New password"), exact=True)
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(re.compile(re.escape(too_short)))
    expect(page.get_by_role("alert")).to_contain_text(too_short)
