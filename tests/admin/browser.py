"""Posting a whole form back as a browser does: every control's current value
(text, checked boxes and radios, textarea contents, the selected option),
with some of them changed, as a person would before pressing the button."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict
from werkzeug.test import TestResponse

from tests import pages
from tests.conftest import PASSWORD


class _Controls(HTMLParser):
    """The name/value pairs a browser would send for the form posting to ``action``."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action = action
        self.inside = self.found = False
        self.pairs: list[tuple[str, str]] = []
        self.textarea: str | None = None
        self.text = ""
        self.select: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("action") == self.action
            self.found = self.found or self.inside
        elif not self.inside or "disabled" in a:
            return
        elif tag == "input" and a.get("name") and a.get("type") not in ("submit", "button", "reset"):
            if a.get("type") not in ("checkbox", "radio") or "checked" in a:
                self.pairs.append((a["name"], a.get("value", "on" if a.get("type") == "checkbox" else "")))
        elif tag == "textarea":
            self.textarea, self.text = a.get("name"), ""
        elif tag == "select":
            self.select = {"name": a.get("name"), "first": None, "chosen": None}
        elif tag == "option" and self.select is not None:
            self.select["first"] = self.select["first"] if self.select["first"] is not None else a.get("value", "")
            if "selected" in a:
                self.select["chosen"] = a.get("value", "")

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "textarea" and self.textarea:
            # A browser drops the one line break that follows <textarea>.
            self.pairs.append((self.textarea, self.text.removeprefix("\r\n").removeprefix("\n")))
            self.textarea = None
        elif tag == "select" and self.select is not None:
            value = self.select["chosen"] if self.select["chosen"] is not None else self.select["first"]
            if self.select["name"] and value is not None:
                self.pairs.append((self.select["name"], value))
            self.select = None


def controls(response: TestResponse, action: str) -> MultiDict[str, str]:
    """What the form would send untouched."""
    parser = _Controls(action)
    parser.feed(response.get_data(as_text=True))
    assert parser.found, f"no form posting to {action} on the page"
    return MultiDict(parser.pairs)


def post_form(client: FlaskClient, response: TestResponse, action: str, **changes: Any) -> TestResponse:
    """Post the form as it is on the page, with these controls changed: a string
    sets a value, a list checks exactly those boxes, None leaves it out (unchecked)."""
    data = controls(response, action)
    for name, value in changes.items():
        data.poplist(name)
        for item in value if isinstance(value, list) else [] if value is None else [value]:
            data.add(name, item)
    return client.post(action, data=data)


def sign_in_as(client: FlaskClient, make_user: Any, username: str, role: str, **fields: Any) -> Any:
    """Make a user with this role and sign in as them in this client; the user."""
    user = make_user(username, role=role, **fields)
    response = pages.sign_in(client, username, PASSWORD)
    assert response.status_code == 302, response.get_data(as_text=True)
    return user
