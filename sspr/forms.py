"""Form pieces shared by every blueprint: field limits and the text validator."""

from __future__ import annotations

import unicodedata
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, Form
from wtforms.validators import ValidationError

# Longest value any text field takes; longer input is refused, never cut.
TEXT_MAX = 320
# Passwords longer than the policy's 256 are refused by the policy, with its message.
PASSWORD_INPUT_MAX = 1024


class PlainText:
    """Refuse control characters (NUL and the like) and over-long values in a text field."""

    def __init__(self, max_length: int = TEXT_MAX) -> None:
        self.max_length = max_length

    def __call__(self, form: Form, field: Field) -> None:
        value: Any = field.data or ""
        if len(value) > self.max_length:
            raise ValidationError(_l("This is too long: at most %(num)d characters.", num=self.max_length))
        if any(unicodedata.category(ch) == "Cc" for ch in value):
            raise ValidationError(_l("This contains characters that cannot be typed, such as control characters."))


class ActionForm(FlaskForm):
    """A button that does one thing: the form carries only its CSRF token."""
