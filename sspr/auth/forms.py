from __future__ import annotations

from wtforms import HiddenField, PasswordField, StringField, SubmitField
from wtforms.validators import InputRequired

from sspr.forms import PASSWORD_INPUT_MAX, PlainText, SsprForm
from sspr.i18n import lazy_gettext as _l


def _username(label: object = None) -> StringField:
    return StringField(
        label or _l("User name"),
        validators=[InputRequired(_l("Enter your user name.")), PlainText(150)],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )


def _password(label: object, autocomplete: str, required: object) -> PasswordField:
    return PasswordField(
        label,
        validators=[InputRequired(required), PlainText(PASSWORD_INPUT_MAX)],
        render_kw={"autocomplete": autocomplete},
    )


class LoginForm(SsprForm):
    username = _username()
    password = _password(_l("Password"), "current-password", _l("Enter your password."))
    next = HiddenField(validators=[PlainText(500)])
    submit = SubmitField(_l("Sign in"))


class NewPasswordForm(SsprForm):
    """A new password, typed twice: shared by the forced change, /account and setup."""

    password = _password(_l("New password"), "new-password", _l("Enter a new password."))
    confirm = _password(_l("New password again"), "new-password", _l("Type the new password again."))


class ChangePasswordForm(NewPasswordForm):
    current = _password(_l("Current password"), "current-password", _l("Enter your current password."))
    submit = SubmitField(_l("Change password"))


class SetupForm(NewPasswordForm):
    username = _username()
    display_name = StringField(_l("Display name"), validators=[PlainText(200)], render_kw={"autocomplete": "name"})
    submit = SubmitField(_l("Create administrator"))


class LogoutForm(SsprForm):
    submit = SubmitField(_l("Sign out"))


class ReportForm(SsprForm):
    submit = SubmitField(_l("Lock my account"))
