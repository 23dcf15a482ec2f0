"""The wizard's forms: one per page, each carrying the step token."""

from __future__ import annotations

from wtforms import HiddenField, PasswordField, RadioField, StringField, SubmitField
from wtforms.validators import InputRequired

from sspr.forms import PASSWORD_INPUT_MAX, PlainText, SsprForm
from sspr.i18n import lazy_gettext as _l

METHOD_LABELS = {
    "email": _l("A code by e-mail to my alternate e-mail address"),
    "sms": _l("A code by text message (SMS) to my mobile phone"),
}


class UsernameForm(SsprForm):
    username = StringField(
        _l("User name"),
        validators=[InputRequired(_l("Enter your user name.")), PlainText(150)],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    submit = SubmitField(_l("Next"))


class StepForm(SsprForm):
    token = HiddenField(validators=[InputRequired(), PlainText(2000)])


class MethodForm(StepForm):
    method = RadioField(
        _l("How should we check it is you?"),
        choices=[],
        validators=[InputRequired(_l("Choose how to receive a code."))],
    )
    submit = SubmitField(_l("Send code"))

    def offer(self, methods: tuple[str, ...]) -> MethodForm:
        self.method.choices = [(m, METHOD_LABELS[m]) for m in methods]
        return self


class DestinationForm(StepForm):
    destination = StringField(validators=[InputRequired(_l("Type the full address or number.")), PlainText()])
    submit = SubmitField(_l("Send code"))


class CodeForm(StepForm):
    code = StringField(
        _l("Verification code"),
        validators=[InputRequired(_l("Enter the code you received.")), PlainText(32)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "autocapitalize": "none"},
    )
    submit = SubmitField(_l("Verify"))


class ResendForm(StepForm):
    resend = SubmitField(_l("Send a new code"))


class PasswordForm(StepForm):
    password = PasswordField(
        _l("New password"),
        validators=[InputRequired(_l("Enter a new password.")), PlainText(PASSWORD_INPUT_MAX)],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[InputRequired(_l("Type the new password again.")), PlainText(PASSWORD_INPUT_MAX)],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField(_l("Set new password"))


class UnlockForm(StepForm):
    unlock = SubmitField(_l("Unlock my account and keep my password"))


class LinkForm(SsprForm):
    link = HiddenField(validators=[InputRequired(), PlainText(2000)])
    submit = SubmitField(_l("Continue"))
