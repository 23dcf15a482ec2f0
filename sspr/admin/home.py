"""The dashboard, and the password prompt before dangerous actions."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from sspr import audit, clock, passwords, policy, sessions
from sspr.admin import outbox_queue, queries
from sspr.admin.forms import ReauthForm
from sspr.auth.views import safe_next
from sspr.extensions import db
from sspr.i18n import gettext as _


def dashboard() -> ResponseReturnValue:
    counts = queries.counts(policy.current(), clock.now())
    # The outbox's counts are for those who may open its page (global admins).
    outbox = outbox_queue.counts() if sessions.signed_in_user().role == "global-admin" else None
    return render_template(
        "admin/dashboard.html",
        counts=counts,
        filters=queries.FILTERS,
        outbox=outbox,
        outbox_states=outbox_queue.STATES,
    )


def reauth() -> ResponseReturnValue:
    """Type the password again; then back to the page that asked for it."""
    user = sessions.signed_in_user()
    form = ReauthForm(next=request.args.get("next", ""))
    if not form.validate_on_submit():
        return render_template("admin/reauth.html", form=form), 400 if form.is_submitted() else 200
    if not passwords.verify(user.password_hash, form.password.data):
        audit.record("admin.reauth_failed", actor=user, subject=user)
        db.session.commit()
        form.password.errors = [_("Your password is not right.")]
        return render_template("admin/reauth.html", form=form), 400
    sessions.reauthenticated()
    return redirect(safe_next(form.next.data) or url_for("admin.dashboard"))
