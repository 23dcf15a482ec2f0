"""Response headers every page gets (no framing, no sniffing, a strict CSP), posts
taken only as HTML forms send them, and no link secrets left in what access logs read."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask import Flask, Response, abort, request
from werkzeug.middleware.proxy_fix import ProxyFix

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)

# Browser features no page of sspr uses, turned off for it and anything it could be made to load.
PERMISSIONS = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
# What every response gets, unless its view set a header of the same name.
HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("Permissions-Policy", PERMISSIONS),
)

# What an HTML form posts (no body at all, for a button with no fields, counts too).
FORM_BODIES = ("", "application/x-www-form-urlencoded")

LINK_PREFIX = "/password-reset/link/"
REVEAL_PREFIX = "/reveal/"
# Paths that end in a secret from a mail: a reset link, a one-time password reveal link.
SECRET_PREFIXES = (LINK_PREFIX, REVEAL_PREFIX)
LINK_SECRET = re.compile("(" + "|".join(re.escape(p) for p in SECRET_PREFIXES) + r")[^/?#\s]*")


def init_app(app: Flask) -> None:
    app.wsgi_app = RedactLinkTokens(app.wsgi_app)  # type: ignore[method-assign]
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies:
        # The client's address (for rate limits and the audit log) and scheme as the proxy saw them.
        # Never the host: links come from SSPR_BASE_URL only.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]

    @app.before_request
    def form_posts_only() -> None:
        """Every form is a plain HTML form.  Flask-WTF would read a JSON body, or a
        file in a multipart one, as form data: values that are not text, which no
        validator expects.  Refuse them before any form sees them."""
        if request.method == "POST" and request.mimetype not in FORM_BODIES:
            abort(415)

    @app.after_request
    def security_headers(response: Response) -> Response:
        headers = [*HEADERS]
        if request.endpoint != "static":
            # Every page holds a CSRF token, personal data or a step token: nothing stays in a
            # cache, and the back button after sign-out shows no signed-in page.
            headers.append(("Cache-Control", "no-store"))
        if request.is_secure:
            headers.append(("Strict-Transport-Security", "max-age=31536000"))
        # One pass over the names already set (setdefault would scan them once per header).
        present = {name.lower() for name, _value in response.headers}
        response.headers.extend([(name, value) for name, value in headers if name.lower() not in present])
        return response


class RedactLinkTokens:
    """WSGI middleware: once a request is handled, the secret in a mail link's
    path is replaced in the WSGI environ, so access logs written from it
    afterwards (gunicorn's) never hold a usable link."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        try:
            return self.app(environ, start_response)
        finally:
            for key in ("PATH_INFO", "RAW_URI", "REQUEST_URI"):
                value = environ.get(key)
                if isinstance(value, str) and any(prefix in value for prefix in SECRET_PREFIXES):
                    environ[key] = LINK_SECRET.sub(r"\1[redacted]", value)
