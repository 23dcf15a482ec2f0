"""Headers every page carries, and link secrets kept out of access logs."""

from __future__ import annotations

import pytest
from werkzeug.test import EnvironBuilder


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
