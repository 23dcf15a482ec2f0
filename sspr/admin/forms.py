"""The console's forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, SubmitField
from wtforms.validators import InputRequired

from sspr.forms import PASSWORD_INPUT_MAX, PlainText


class ReauthForm(FlaskForm):
    password = PasswordField(
        _l("Your password"),
        validators=[InputRequired(_l("Enter your password.")), PlainText(PASSWORD_INPUT_MAX)],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField(validators=[PlainText(500)])
    submit = SubmitField(_l("Confirm"))
