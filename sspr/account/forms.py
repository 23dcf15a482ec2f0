from __future__ import annotations

from wtforms import EmailField, PasswordField, StringField, SubmitField, TelField
from wtforms.validators import InputRequired

from sspr.forms import PASSWORD_INPUT_MAX, PlainText, SsprForm
from sspr.i18n import lazy_gettext as _l


def _current_password(field_id: str) -> PasswordField:
    """The password check of a contact form.  /account shows several forms with a
    field named "password": each gets its own id, so each label names its own input."""
    return PasswordField(
        _l("Your password"),
        id=field_id,
        validators=[InputRequired(_l("Enter your password.")), PlainText(PASSWORD_INPUT_MAX)],
        render_kw={"autocomplete": "current-password"},
    )


class EmailForm(SsprForm):
    email = EmailField(
        _l("New alternate e-mail address"),
        validators=[InputRequired(_l("Enter an address.")), PlainText()],
        render_kw={"autocomplete": "email"},
    )
    password = _current_password("email-password")
    submit = SubmitField(_l("Send a code to this address"))


class PhoneForm(SsprForm):
    phone = TelField(
        _l("New mobile phone number"),
        validators=[InputRequired(_l("Enter a number.")), PlainText(40)],
        render_kw={"autocomplete": "tel"},
    )
    password = _current_password("phone-password")
    submit = SubmitField(_l("Send a code to this number"))


class ConfirmForm(SsprForm):
    code = StringField(
        _l("Verification code"),
        validators=[InputRequired(_l("Enter the code you received.")), PlainText(32)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )
    submit = SubmitField(_l("Confirm"))
