"""/reveal/<secret>: the page a reveal link opens.  Outside /admin: the person
who opens it is the user, not an admin."""

from __future__ import annotations

from flask import Blueprint, Response, render_template
from flask.typing import ResponseReturnValue

from sspr import clock
from sspr.extensions import db
from sspr.reveal import service
from sspr.reveal.forms import RevealForm

bp = Blueprint("reveal", __name__)


@bp.after_request
def private(response: Response) -> Response:
    """The page shows a password: never cached, and no Referer carries the link's secret anywhere."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/reveal/<secret>", methods=["GET", "POST"])
def reveal(secret: str) -> ResponseReturnValue:
    """The GET only offers a button (mail scanners open links); the POST shows the password once."""
    service.find(secret, clock.now())
    form = RevealForm()
    if not form.validate_on_submit():
        return render_template("reveal/reveal.html", form=form), 400 if form.is_submitted() else 200
    user, password = service.reveal(secret, clock.now())
    db.session.commit()
    return render_template("reveal/reveal.html", form=form, user=user, password=password)
