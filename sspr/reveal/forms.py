from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SubmitField

from sspr.forms import SsprForm


class RevealForm(SsprForm):
    submit = SubmitField(_l("Show the password"))
