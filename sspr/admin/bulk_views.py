"""Bulk actions on many users: reset their passwords, or make them change them.

The list page's selection (ticked ``user`` ids, or ``all=1`` for everyone but
the acting admin) arrives in the query string of a GET, which only shows what
would happen; the confirming POST goes to the same URL, so the selection it acts
on is the one that was shown.
"""

from __future__ import annotations

import csv
import io
from urllib.parse import quote

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import ngettext

from sspr import sessions
from sspr.admin import accounts, resets, selection
from sspr.admin.forms import BulkResetForm, ForceChangeForm
from sspr.extensions import db

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
    form = ForceChangeForm()
    try:
        chosen = _selection()
    except selection.SelectionRefused as refused:
        return render_template("admin/force_change.html", form=form, chosen=None, errors=[str(refused)]), 400
    if not form.validate_on_submit():
        return render_template(
            "admin/force_change.html", form=form, chosen=chosen, names_shown=NAMES_SHOWN
        ), 400 if form.is_submitted() else 200
    count = accounts.force_change(sessions.signed_in_user(), chosen.users)
    db.session.commit()
    flash(
        ngettext(
            "%(num)d user must change the password at next sign-in.",
            "%(num)d users must change the password at next sign-in.",
            count,
        )
    )
    return redirect(url_for("admin.users"))
