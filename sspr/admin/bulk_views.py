"""Bulk actions on many users: reset their passwords, make them change them, or
sign them out everywhere.

The list page's selection (ticked ``user`` ids, or ``all=1`` for everyone but
the acting admin) arrives in the query string of a GET, which only shows what
would happen; the confirming POST goes to the same URL, so the selection it acts
on is the one that was shown.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from urllib.parse import quote

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm

from sspr import sessions
from sspr.admin import accounts, resets, selection
from sspr.admin.forms import BulkResetForm, EndSessionsForm, ForceChangeForm
from sspr.extensions import db
from sspr.i18n import gettext as _
from sspr.i18n import ngettext
from sspr.models import User

# The confirm pages name this many of the selected users, then say how many more.
NAMES_SHOWN = 20
# Spreadsheets run a cell that starts with one of these as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _selection() -> selection.Selection:
    actor = sessions.signed_in_user()
    return selection.resolve(actor, request.args.getlist("user", type=int), request.args.get("all") == "1")


def bulk_reset() -> ResponseReturnValue:
    """Confirm, then reset everyone selected in one transaction; the result page shows the
    passwords once.  It runs in the request: 1,000 users took about 4 s on two cores
    (7 s with reveal links), thanks to the light hash of generated passwords (resets)."""
    form = BulkResetForm()
    try:
        chosen = _selection()
    except selection.SelectionRefused as refused:
        return render_template("admin/bulk_reset.html", form=form, chosen=None, errors=[str(refused)]), 400
    if not form.validate_on_submit():
        seconds = resets.estimate_seconds(len(chosen.users))
        return render_template(
            "admin/bulk_reset.html", form=form, chosen=chosen, names_shown=NAMES_SHOWN, seconds=seconds
        ), 400 if form.is_submitted() else 200
    names = [u.username for u in chosen.users]
    try:
        outcomes = resets.reset_many(
            sessions.signed_in_user(),
            chosen,
            require_change=form.require_change.data,
            send_links=form.delivery.data == "link",
        )
    except resets.ResetFailed:
        return render_template("admin/bulk_reset_done.html", outcomes=None, untouched=names), 500
    return render_template("admin/bulk_reset_done.html", outcomes=outcomes, csv_href=csv_href(outcomes))


def csv_href(outcomes: list[resets.Outcome]) -> str:
    """The passwords shown as a CSV file, as a data: URL for a download link.

    Why a data: URL: the passwords must not be kept anywhere after this response
    (sspr has no server-side session store, and a file or row holding them would be
    one more copy to steal).  The data: URL lives only inside this one page, which
    is served with Cache-Control: no-store, exactly like the table beside it: the
    download works while the page is open and is gone with it.  A POST that rebuilt
    the CSV from an encrypted blob in a hidden field would send the passwords back
    and forth again and could be replayed; this sends nothing.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["username", "password"])
    for outcome in outcomes:
        if outcome.password is not None:
            name = outcome.username
            writer.writerow(["'" + name if name.startswith(FORMULA_START) else name, outcome.password])
    return "data:text/csv;charset=utf-8," + quote(buffer.getvalue())


def bulk_force_change() -> ResponseReturnValue:
    """Confirm, then make everyone selected change their password at next sign-in."""
    return _confirm_then(
        ForceChangeForm(),
        accounts.force_change,
        title=_("Require a new password"),
        explanation=_(
            "Their passwords keep working until they next sign in; then they must choose a new one before going on."
        ),
        done=lambda count: ngettext(
            "%(num)d user must change the password at next sign-in.",
            "%(num)d users must change the password at next sign-in.",
            count,
        ),
    )


def bulk_end_sessions() -> ResponseReturnValue:
    """Confirm, then sign everyone selected out on every device."""
    return _confirm_then(
        EndSessionsForm(),
        accounts.end_sessions,
        title=_("Sign out everywhere"),
        explanation=_(
            "Their next click in sspr, on any device, finds them signed out; their passwords stay as they are."
        ),
        done=lambda count: ngettext(
            "%(num)d user is signed out everywhere.", "%(num)d users are signed out everywhere.", count
        ),
    )


def _confirm_then(
    form: FlaskForm,
    act: Callable[[User, list[User]], int],
    *,
    title: str,
    explanation: str,
    done: Callable[[int], str],
) -> ResponseReturnValue:
    """A bulk action other than the reset: the GET shows who it touches, the POST does it."""
    page = {"form": form, "title": title, "explanation": explanation}
    try:
        chosen = _selection()
    except selection.SelectionRefused as refused:
        return render_template("admin/bulk_confirm.html", chosen=None, errors=[str(refused)], **page), 400
    if not form.validate_on_submit():
        return render_template(
            "admin/bulk_confirm.html", chosen=chosen, names_shown=NAMES_SHOWN, **page
        ), 400 if form.is_submitted() else 200
    count = act(sessions.signed_in_user(), chosen.users)
    db.session.commit()
    flash(done(count))
    return redirect(url_for("admin.users"))
