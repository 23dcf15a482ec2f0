"""Walks the reset wizard through its pages like a person with a browser."""

from __future__ import annotations

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests import pages


class Wizard:
    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.page: TestResponse | None = None

    def open(self) -> TestResponse:
        self.page = self.client.get("/password-reset")
        return self.page

    def post(self, action: str, **fields: str) -> TestResponse:
        """Post the page's form and land where a browser would (the first step redirects)."""
        assert self.page is not None, "open the wizard first"
        self.page = pages.submit(self.client, self.page, action, follow=True, **fields)
        return self.page

    def username(self, name: str) -> TestResponse:
        self.open()
        return self.post("/password-reset", username=name)

    def method(self, method: str) -> TestResponse:
        return self.post("/password-reset/method", method=method)

    def destination(self, value: str) -> TestResponse:
        return self.post("/password-reset/destination", destination=value)

    def code(self, code: str) -> TestResponse:
        return self.post("/password-reset/code", code=code)

    def resend(self) -> TestResponse:
        return self.post("/password-reset/resend")

    def password(self, new: str, confirm: str | None = None) -> TestResponse:
        return self.post("/password-reset/password", password=new, confirm=new if confirm is None else confirm)

    @property
    def token(self) -> str:
        assert self.page is not None
        for action in (
            "/password-reset/method",
            "/password-reset/destination",
            "/password-reset/code",
            "/password-reset/password",
        ):
            try:
                return pages.hidden(self.page, action)["token"]
            except AssertionError:
                continue
        raise AssertionError("no step token on the page")
