"""The console's list of mail and text messages not delivered yet (global admins)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from sspr import clock, sessions
from sspr.admin import outbox_queue
from sspr.admin.forms import OutboxActionForm
from sspr.extensions import db
from sspr.i18n import gettext as _


def _page(state: str, status: int = 200, errors: list[str] | None = None) -> ResponseReturnValue:
    return render_template(
        "admin/outbox.html",
        rows=outbox_queue.listing(clock.now(), state),
        counts=outbox_queue.counts(),
        states=outbox_queue.STATES,
        state=state,
        limit=outbox_queue.LIMIT,
        errors=errors or [],
    ), status


def queue() -> ResponseReturnValue:
    """?state= narrows the list to one of outbox_queue.STATES (the dashboard's tiles link here)."""
    state = request.args.get("state", "")
    if state and state not in outbox_queue.STATES:
        abort(400)
    return _page(state)


def act(message_id: int) -> ResponseReturnValue:
    """Retry now, or discard, one message."""
    form = OutboxActionForm()
    if not form.validate_on_submit():
        abort(400)
    if not outbox_queue.act(sessions.signed_in_user(), message_id, form.action.data, clock.now()):
        db.session.rollback()
        refusal = _("This message is being sent right now, or is no longer waiting. Nothing was changed.")
        return _page("", 409, [refusal])
    db.session.commit()
    retried = form.action.data == "retry"
    flash(_("The message will be sent again at once.") if retried else _("The message is discarded."))
    return redirect(url_for("admin.outbox"))
