"""Flask-WTF's CSRF protection, honouring key rotation: a form's token signed with
an earlier key in SECRET_KEY_FALLBACKS still passes, as the session and sspr's own
tokens do, so a form opened just before the key changed still posts.  The token
must still match the one in the session and be within its time limit."""

from __future__ import annotations

from flask import current_app, g, request
from flask_wtf.csrf import CSRFError, CSRFProtect, validate_csrf
from wtforms.validators import ValidationError


class RotatingCSRFProtect(CSRFProtect):
    def protect(self, apply_exemptions: bool = False) -> None:
        try:
            super().protect(apply_exemptions)
        except CSRFError:
            if not self._signed_with_earlier_key():
                raise
            g.csrf_valid = True  # what the parent sets on success: forms then skip their own check

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
