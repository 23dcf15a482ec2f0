"""What a person does in the browser, by what they see: the labels, buttons and
headings of the pages in their language (never CSS selectors), so a test that
finds a field by its label also proves the field is labelled."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from flask_babel import force_locale, gettext, ngettext
from playwright.sync_api import Page, expect

# The method radios' labels (sspr/reset/forms.py).
METHOD_LABELS = {
    "email": "A code by e-mail to my alternate e-mail address",
    "sms": "A code by text message (SMS) to my mobile phone",
}


@dataclass(frozen=True)
class LiveServer:
    url: str
    app: Flask


class Texts:
    """The catalogue's translation of a message, as the app renders it in one language."""

    def __init__(self, app: Flask, lang: str) -> None:
        self.app = app
        self.lang = lang

    def __call__(self, message: str, **variables: object) -> str:
        with self.app.app_context(), force_locale(self.lang):
            return str(gettext(message, **variables))

    def plural(self, singular: str, plural: str, num: int, **variables: object) -> str:
        with self.app.app_context(), force_locale(self.lang):
            return str(ngettext(singular, plural, num, **variables))


def exactly(text: str) -> re.Pattern[str]:
    """A pattern matching this whole text and nothing longer (for headings and alerts)."""
    return re.compile(rf"^\s*{re.escape(text)}\s*$")


def sign_in_on(page: Page, t: Texts, username: str, password: str) -> None:
    """Open /login and sign in with the labelled fields and the button."""
    page.goto("/login")
    page.get_by_label(t("User name"), exact=True).fill(username)
    page.get_by_label(t("Password"), exact=True).fill(password)
    press(page, t, "Sign in")
    expect(page).not_to_have_url(re.compile(r"/login"))


def press(page: Page, t: Texts, label: str) -> None:
    """Press the button of this (translated) name and wait for the page it leads to."""
    with page.expect_navigation():
        page.get_by_role("button", name=t(label), exact=True).click()


def follow(page: Page, name: str) -> None:
    """Open the link of this accessible name and wait for the page it leads to."""
    with page.expect_navigation():
        page.get_by_role("link", name=name, exact=True).click()


def enter_code(page: Page, t: Texts, code: str, button: str, scripts: bool = True) -> None:
    """Type a verification code.  With sspr.js the form goes once all the digits
    are in (not after an error: then the user presses the button); without it, by the button."""
    field = page.get_by_label(t("Verification code"), exact=True)
    if scripts and field.get_attribute("aria-invalid") != "true":
        with page.expect_navigation():
            field.fill(code)
    else:
        field.fill(code)
        press(page, t, button)


class Wizard:
    """The reset wizard in the browser: each method fills a step's labelled
    fields and presses its button, and waits for the next page."""

    def __init__(self, page: Page, t: Texts, code_sent_to: Callable[[str], str], scripts: bool = True) -> None:
        self.page = page
        self.t = t
        self.code_sent_to = code_sent_to
        # Whether the page runs sspr.js, which sends the code form once all its digits are in.
        self.scripts = scripts

    def open(self) -> None:
        self.page.goto("/password-reset")

    def username(self, name: str) -> None:
        self.page.get_by_label(self.t("User name"), exact=True).fill(name)
        self._press("Next")

    def method(self, method: str) -> None:
        self.page.get_by_label(self.t(METHOD_LABELS[method]), exact=True).check()
        self._press("Send code")

    def code(self, code: str) -> None:
        enter_code(self.page, self.t, code, "Verify", self.scripts)

    def password(self, new: str, confirm: str | None = None) -> None:
        self.page.get_by_label(self.t("New password"), exact=True).fill(new)
        self.page.get_by_label(self.t("New password again"), exact=True).fill(new if confirm is None else confirm)
        self._press("Set new password")

    def to_code(self, username: str, method: str) -> None:
        """From the start to the code step: user name, then the method."""
        self.open()
        self.username(username)
        self.method(method)

    def to_password(self, username: str, method: str, destination: str) -> None:
        """From the start to the new-password step, with the code that reached ``destination``."""
        self.to_code(username, method)
        self.code(self.code_sent_to(destination))

    def _press(self, label: str) -> None:
        press(self.page, self.t, label)


class Screenshots:
    """Saves a page as ``<name>-<lang>-<viewport>.png`` in one folder."""

    def __init__(self, folder: Path, lang: str, viewport: str) -> None:
        self.folder = folder
        self.lang = lang
        self.viewport = viewport

    def __call__(self, page: Page, name: str) -> Path:
        page.wait_for_load_state("load")
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{name}-{self.lang}-{self.viewport}.png"
        # No caret or animation, so the same page gives the same picture.
        page.screenshot(path=path, animations="disabled", caret="hide")
        assert path.stat().st_size > 0
        return path
