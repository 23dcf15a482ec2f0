"""A small browser over http.client: a cookie jar, the forms on the last page,
and posting a form back with its hidden inputs (csrf_token, token).

http.client rather than requests: the load generator shares two cores with
the servers, so the cheaper the client, the more of the machine the servers get.
gunicorn's sync workers close every connection, so each request connects anew,
as each request from a separate browser would.
"""

from __future__ import annotations

import email
import email.policy
import html
import http.client
import itertools
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

FORM_RE = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
INPUT_RE = re.compile(r"<input\b([^>]*)>", re.I)
ATTR_RE = re.compile(r'([\w-]+)="([^"]*)"')
CODE_RE = re.compile(r"(?<!\d)\d{6,8}(?!\d)")
URL_RE = re.compile(r"https?://\S+")

_ids = itertools.count()


def _attrs(text: str) -> dict[str, str]:
    return {k.lower(): html.unescape(v) for k, v in ATTR_RE.findall(text)}


@dataclass
class Response:
    status: int
    body: str
    seconds: float
    request_id: str
    path: str = ""  # a form with no action posts back to the page's own path
    location: str | None = None  # where a redirect sends the browser

    def hidden(self, action: str) -> dict[str, str]:
        """The hidden inputs of the form posting to ``action``."""
        for attrs, inner in FORM_RE.findall(self.body):
            if _attrs(attrs).get("action", self.path) == action:
                inputs = [_attrs(i) for i in INPUT_RE.findall(inner)]
                return {i["name"]: i.get("value", "") for i in inputs if i.get("type") == "hidden" and "name" in i}
        raise AssertionError(f"no form posting to {action} on this page (status {self.status})")

    def has_form(self, action: str) -> bool:
        return any(_attrs(attrs).get("action", self.path) == action for attrs, _inner in FORM_RE.findall(self.body))


class Browser:
    """One browser session: its cookies and the page it is on."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port
        self.cookies: dict[str, str] = {}
        self.page: Response | None = None

    def clone(self) -> Browser:
        """A second browser with this one's cookies (the session cookie is signed, not stored server-side)."""
        other = Browser(self.port, self.host)
        other.cookies = dict(self.cookies)
        other.page = self.page
        return other

    def request(self, method: str, path: str, fields: dict[str, str] | None = None) -> Response:
        request_id = f"{os.getpid()}-{next(_ids)}"
        headers = {"X-Bench-Id": request_id, "Host": f"{self.host}:{self.port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if fields is not None:
            body = urlencode(fields)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        start = time.perf_counter()
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers)
            reply = conn.getresponse()
            data = reply.read()
        finally:
            conn.close()
        seconds = time.perf_counter() - start
        for header in reply.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if value and "max-age=0" not in header.lower():
                self.cookies[name.strip()] = value
            else:
                self.cookies.pop(name.strip(), None)
        self.page = Response(
            reply.status, data.decode("utf-8", "replace"), seconds, request_id, path, reply.getheader("Location")
        )
        return self.page

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def submit(self, action: str, **fields: str) -> Response:
        """Post the form with this action from the current page, hidden inputs included."""
        assert self.page is not None, "open a page first"
        data = self.page.hidden(action)
        data.update(fields)
        return self.request("POST", action, data)

    def follow(self) -> Response:
        """Go where the current page redirects to, as a browser does (same host only)."""
        assert self.page is not None and self.page.location, "no redirect to follow"
        target = urlsplit(self.page.location)
        return self.get(target.path + (f"?{target.query}" if target.query else ""))


class Outbox:
    """Reads the codes the outbox backends wrote: mail/*.eml and sms/*.txt."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.seen: set[Path] = set()
        self.codes: dict[str, list[str]] = {}

    def _scan(self) -> None:
        for path in sorted([*self.folder.glob("mail/*.eml"), *self.folder.glob("sms/*.txt")]):
            if path in self.seen:
                continue
            recipient, text = self._read(path)
            found = set(CODE_RE.findall(URL_RE.sub(" ", text)))
            if len(found) == 1:  # a code message
                self.codes.setdefault(recipient.lower(), []).append(found.pop())
                self.seen.add(path)
            elif time.time() - path.stat().st_mtime > 2:  # a notice without a code, not a half-written file
                self.seen.add(path)

    @staticmethod
    def _read(path: Path) -> tuple[str, str]:
        if path.suffix == ".eml":
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            part = message.get_body(("plain",))
            return str(message["To"]), part.get_content() if part else ""  # type: ignore[union-attr]
        head, _, text = path.read_text(encoding="utf-8").partition("\n\n")
        return head.removeprefix("To: ").strip(), text

    def code_for(self, recipient: str, timeout: float = 15.0) -> str:
        """The next code sent to ``recipient``, waiting (bounded) for the sender thread to write it."""
        deadline = time.monotonic() + timeout
        while True:
            self._scan()
            waiting = self.codes.get(recipient.lower())
            if waiting:
                return waiting.pop(0)
            if time.monotonic() > deadline:
                raise AssertionError(f"no code for {recipient} within {timeout:.0f} s")
            time.sleep(0.005)
