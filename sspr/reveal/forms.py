from __future__ import annotations

from wtforms import SubmitField

from sspr.forms import SsprForm
from sspr.i18n import lazy_gettext as _l


class RevealForm(SsprForm):
    submit = SubmitField(_l("Show the password"))
