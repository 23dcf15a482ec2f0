"""Reading pages the way a browser does: forms with their hidden inputs, and
posting them back (CSRF token included), so tests run with CSRF on."""

from __future__ import annotations

import base64
import json
import re
import zlib
from html.parser import HTMLParser
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

CODE_RE = re.compile(r"(?<!\d)\d{6,8}(?!\d)")
URL_RE = re.compile(r"https?://\S+")


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "method": a.get("method", "get"), "inputs": []})
        elif tag in ("input", "select", "textarea") and self.forms:
            self.forms[-1]["inputs"].append(a)


def _html(page: TestResponse | str) -> str:
    """A page as text: a test client's response, or the text of one from a real server."""
    return page if isinstance(page, str) else page.get_data(as_text=True)


def forms(response: TestResponse | str) -> list[dict[str, Any]]:
    parser = _Forms()
    parser.feed(_html(response))
    return parser.forms


def form(response: TestResponse | str, action: str) -> dict[str, Any]:
    for f in forms(response):
        if f["action"] == action:
            return f
    raise AssertionError(f"no form posting to {action} on the page: {[f['action'] for f in forms(response)]}")


def hidden(response: TestResponse | str, action: str) -> dict[str, str]:
    return {
        i["name"]: i.get("value", "")
        for i in form(response, action)["inputs"]
        if i.get("type") == "hidden" and i.get("name")
    }


def submit(
    client: FlaskClient, response: TestResponse, action: str, *, follow: bool = False, **fields: Any
) -> TestResponse:
    """Post the form with this action as a browser would: its hidden inputs plus the
    fields given; ``follow`` goes on to the page a redirect names, as a browser does."""
    data = hidden(response, action)
    data.update(fields)
    return client.post(action, data=data, follow_redirects=follow)


def text_without_tokens(response: TestResponse | str) -> str:
    """The page with every hidden value blanked: what must match for known and unknown users."""
    html = _html(response)
    return re.sub(r'(type="hidden"[^>]*value=")[^"]*"|(value=")[^"]*("[^>]*type="hidden")', r'\1\2"\3', html)


def code_in(text: str) -> str:
    """The one run of 6 to 8 digits outside links, as the contract promises."""
    found = CODE_RE.findall(URL_RE.sub(" ", text))
    assert len(set(found)) == 1, f"expected one code in {text!r}"
    return found[0]


def sign_in(client: FlaskClient, username: str, password: str, path: str = "/login") -> TestResponse:
    """Open the sign-in page (``path`` may carry ?next=) and post the form on it."""
    page = client.get(path)
    return submit(client, page, "/login", username=username, password=password)


def token_payload(token: str) -> dict[str, Any]:
    """What anyone can read in a signed (not encrypted) token; a leading "." marks a zlib-compressed payload."""
    body = token.removeprefix(".").split(".")[0]
    data = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    return json.loads(zlib.decompress(data) if token.startswith(".") else data)  # type: ignore[no-any-return]
