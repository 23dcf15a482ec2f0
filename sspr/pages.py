"""The front door: / sends people where they most likely want to go."""

from __future__ import annotations

from flask import Blueprint, redirect, url_for
from flask.typing import ResponseReturnValue

from sspr import sessions

bp = Blueprint("pages", __name__)


@bp.get("/")
def home() -> ResponseReturnValue:
    return redirect(url_for("account.index") if sessions.current_user() else url_for("auth.login"))
