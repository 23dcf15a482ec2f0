"""sspr's base form renders its inputs with a faster attribute formatter: the markup
must be exactly what WTForms' own widgets make."""

from __future__ import annotations

import pytest
from markupsafe import Markup
from wtforms import RadioField, widgets

from sspr import forms
from sspr.forms import html_params
from sspr.reset.forms import MethodForm, PasswordForm, UsernameForm


@pytest.mark.parametrize(
    "attributes",
    [
        {"name": "username", "id": "username", "type": "text", "value": ""},
        {"value": 'say "hi" & <bye>', "class_": "button", "for_": "x"},
        {"value": Markup('already "safe" <b>'), "data_sspr_code": 6, "aria_describedby": "a-hint a-errors"},
        {"required": True, "checked": False, "maxlength": 1024, "aria_invalid": "true", "data_sspr_username": False},
    ],
)
def test_html_params_matches_wtforms(attributes):
    """Sorted, escaped (Markup values too: their quotes), True bare, False left out, data_/aria_ hyphenated."""
    assert html_params(**attributes) == widgets.html_params(**attributes)


def test_wizard_inputs_render_as_wtforms_renders_them(app):
    """Each kind of input the wizard has (CSRF token, step token, text, password, submit,
    radio) renders with sspr's widget exactly as with WTForms' default one."""
    extra = {"aria_describedby": "x-hint", "aria-invalid": "true", "class": "button", "maxlength": 1024}
    with app.test_request_context("/password-reset"):
        username = UsernameForm()
        method = MethodForm(formdata=None, token='a "token" & more').offer(("email", "sms"))
        password = PasswordForm(formdata=None, token="t")
        inputs = [username.username, username.submit, method.token, password.password]
        options = list(method.method)
        ours = [field(**extra) for field in inputs] + [option(checked=True) for option in options]
        widgets_used = {type(field.widget) for field in inputs + options}

        for field in inputs:
            field.widget = type(field).widget
        for option in options:
            option.widget = RadioField.option_widget
        theirs = [field(**extra) for field in inputs] + [option(checked=True) for option in options]

    assert widgets_used == {
        forms.HiddenInput,
        forms.TextInput,
        forms.SubmitInput,
        forms.PasswordInput,
        forms.RadioInput,
    }
    assert ours == theirs
