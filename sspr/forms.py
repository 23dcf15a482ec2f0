"""Form pieces shared by every blueprint: field limits, the text validator and the base form."""

from __future__ import annotations

import unicodedata
from typing import Any

from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import Field, Form, HiddenField, PasswordField, RadioField, StringField, SubmitField, widgets
from wtforms.fields.core import UnboundField
from wtforms.validators import ValidationError
from wtforms.widgets.core import clean_key

from sspr.i18n import WTFORMS_MESSAGES, WTFormsMessages
from sspr.i18n import lazy_gettext as _l

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


def html_params(**attributes: Any) -> Markup:
    """WTForms' html_params, to the same markup (sorted, escaped, True bare, False
    left out), without the Markup.format that takes most of a widget's time."""
    params = []
    for key, value in sorted(attributes.items()):
        if value is False:
            continue
        name = escape(clean_key(key))
        params.append(name if value is True else f'{name}="{str(escape(value)).replace(chr(34), "&quot;")}"')
    return Markup(" ".join(params))  # noqa: S704 - every name and value is escaped above


class TextInput(widgets.TextInput):
    html_params = staticmethod(html_params)


class PasswordInput(widgets.PasswordInput):
    html_params = staticmethod(html_params)


class HiddenInput(widgets.HiddenInput):
    html_params = staticmethod(html_params)


class SubmitInput(widgets.SubmitInput):
    html_params = staticmethod(html_params)


class RadioInput(widgets.RadioInput):
    html_params = staticmethod(html_params)


# The widget each plain field of an SsprForm renders with, unless it names its own.
FAST_WIDGETS: dict[type[Field], tuple[str, object]] = {
    StringField: ("widget", TextInput()),
    PasswordField: ("widget", PasswordInput()),
    HiddenField: ("widget", HiddenInput()),
    SubmitField: ("widget", SubmitInput()),
    RadioField: ("option_widget", RadioInput()),
}


class SsprForm(FlaskForm):
    """The base of sspr's forms: WTForms' own messages come from a catalogue read once
    per process, and plain inputs render faster (FAST_WIDGETS), to the same markup.

    A form has no CSRF field of its own: CSRFProtect checks the token of every post
    before any view runs, so the form's check was the same one again, and making a
    form signed a fresh token in every post, shown or not.  Pages put the token in
    each form with ``csrf_field()``."""

    class Meta:
        csrf = False

        def get_translations(self, form: Form) -> WTFormsMessages:
            return WTFORMS_MESSAGES

        def bind_field(self, form: Form, unbound_field: UnboundField, options: dict[str, Any]) -> Field:
            fast = FAST_WIDGETS.get(unbound_field.field_class)
            if fast is not None and fast[0] not in unbound_field.kwargs:
                options = {**options, fast[0]: fast[1]}
            return super().bind_field(form, unbound_field, options)  # type: ignore[misc]


class ActionForm(SsprForm):
    """A button that does one thing: the form posts only its CSRF token."""
