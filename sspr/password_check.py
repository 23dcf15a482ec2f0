"""Live feedback on a new password while it is typed: sspr.js posts the password
and the user name around it, and gets back the problems the form's own check
would find, in the user's language.  No form needs it: with JavaScript off the
same problems show once the form is posted.

It never looks an account up, so it answers a known and an unknown name alike,
and it never compares with a current password (that takes an account and its
hash, and would make it an oracle for guessing them); the form does, on posting.
"""

from __future__ import annotations

from itertools import chain

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from wtforms import StringField
from wtforms.validators import InputRequired

from sspr import ratelimits, users
from sspr.forms import PASSWORD_INPUT_MAX, PlainText, SsprForm
from sspr.i18n import lazy_gettext as _l

bp = Blueprint("password_check", __name__)


class CheckForm(SsprForm):
    password = StringField(validators=[InputRequired(_l("Enter a new password.")), PlainText(PASSWORD_INPUT_MAX)])
    # The name the form around the password holds (typed, or the signed-in or verified user's);
    # the password must not contain it.
    username = StringField(validators=[PlainText(150)])


@bp.post("/password-check")
@ratelimits.posts("RATELIMIT_PASSWORD_CHECK")
def check() -> ResponseReturnValue:
    form = CheckForm()
    if not form.validate():
        return jsonify(errors=[str(e) for e in chain.from_iterable(form.errors.values())]), 400
    problems = users.policy_problems(form.username.data or "", form.password.data)
    return jsonify(problems=[{"code": p.code, "message": str(p.message)} for p in problems])
