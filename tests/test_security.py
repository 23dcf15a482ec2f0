"""Headers every page carries, and link secrets kept out of access logs."""

from __future__ import annotations

import pytest
from werkzeug.test import EnvironBuilder

from tests import pages


@pytest.mark.parametrize("path", ["/login", "/password-reset", "/healthz", "/no-such-page"])
def test_every_page_has_the_security_headers(client, path):
    """No framing, no MIME sniffing, and a CSP without inline scripts, on every page."""
    page = client.get(path)

    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"]


def test_link_secret_is_gone_from_the_environ_after_the_request(app):
    """What gunicorn's access log reads after the response has no link secret in it."""
    environ = EnvironBuilder(path="/password-reset/link/SECRET-TOKEN-123").get_environ()
    environ["RAW_URI"] = environ["REQUEST_URI"] = "/password-reset/link/SECRET-TOKEN-123?x=1"

    body = b"".join(app.wsgi_app(environ, lambda status, headers, exc_info=None: None))

    assert b"not valid" in body
    assert "SECRET" not in environ["PATH_INFO"] + environ["RAW_URI"] + environ["REQUEST_URI"]
    assert environ["RAW_URI"] == "/password-reset/link/[redacted]?x=1"


@pytest.mark.settings(BASE_URL="https://reset.example.test")
def test_wizard_works_over_https_without_a_referer(app, make_user):
    """Over HTTPS the wizard's pages send no Referer, and their posts still pass the CSRF check."""
    make_user("alice")
    client = app.test_client()
    page = client.get("/password-reset", base_url="https://reset.example.test")
    data = pages.hidden(page, "/password-reset") | {"username": "alice"}

    answer = client.post("/password-reset", data=data, base_url="https://reset.example.test")

    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert answer.status_code == 200
    assert pages.form(answer, "/password-reset/method")


@pytest.mark.settings(BASE_URL="https://reset.example.test")
def test_https_pages_get_hsts_and_a_secure_cookie(app):
    """Served over HTTPS (BASE_URL https://), pages carry HSTS and the session cookie is Secure."""
    page = app.test_client().get("/password-reset", base_url="https://reset.example.test")

    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "Secure" in page.headers["Set-Cookie"]


@pytest.mark.settings(BASE_URL="http://127.0.0.1:5000")
def test_plain_http_gets_neither(client):
    """On the embedded default (http://), no HSTS and no Secure flag, or sign-in would break."""
    page = client.get("/password-reset")

    assert "Strict-Transport-Security" not in page.headers
    assert "Secure" not in page.headers["Set-Cookie"]
