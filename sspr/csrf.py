"""Flask-WTF's CSRF protection of every post, and the token field each form on a
page carries (``csrf_field()`` in templates).

It honours key rotation: a form's token signed with an earlier key in
SECRET_KEY_FALLBACKS still passes, as the session and sspr's own tokens do, so
a form opened just before the key changed still posts.  The token must still
match the one in the session and be within its time limit."""

from __future__ import annotations

from flask import Flask, current_app, request
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf, validate_csrf
from markupsafe import Markup, escape
from wtforms.validators import ValidationError


class RotatingCSRFProtect(CSRFProtect):
    def init_app(self, app: Flask) -> None:
        super().init_app(app)
        app.jinja_env.globals["csrf_field"] = hidden_field

    def protect(self, apply_exemptions: bool = False) -> None:
        try:
            super().protect(apply_exemptions)
        except CSRFError:
            if not self._signed_with_earlier_key():
                raise

    def _signed_with_earlier_key(self) -> bool:
        # Under WTF_CSRF_SSL_STRICT the parent's Referer checks follow the signature's, which
        # this would skip: there the current key alone counts.
        if request.is_secure and current_app.config["WTF_CSRF_SSL_STRICT"]:
            return False
        token = self._get_csrf_token()
        for key in current_app.config["SECRET_KEY_FALLBACKS"]:
            try:
                validate_csrf(token, secret_key=key)
            except ValidationError:
                continue
            return True
        return False


def hidden_field() -> Markup:
    """The hidden input with this request's CSRF token (made once per request, for every form)."""
    name = escape(current_app.config["WTF_CSRF_FIELD_NAME"])
    return Markup(f'<input name="{name}" type="hidden" value="{escape(generate_csrf())}">')  # noqa: S704 - escaped
