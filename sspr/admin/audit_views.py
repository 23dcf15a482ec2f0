"""The audit log page and its CSV export (any admin)."""

from __future__ import annotations

from flask import Response, render_template, request, stream_with_context
from flask.typing import ResponseReturnValue

from sspr import clock
from sspr.admin import audit_log
from sspr.admin.forms import AuditFilterForm
from sspr.i18n import gettext as _


def _filter_form() -> AuditFilterForm:
    return AuditFilterForm(request.args).offer(audit_log.events(), _("All events"))


def log() -> ResponseReturnValue:
    """A page of the log, newest first, filtered by the query string."""
    form = _filter_form()
    if not form.validate():
        return render_template("admin/audit.html", form=form, page=None, query={}), 400
    page = audit_log.page(form.filters(), request.args.get("page", 1, type=int) or 1)
    return render_template("admin/audit.html", form=form, page=page, query=form.query())


def export() -> ResponseReturnValue:
    """Every row the filters select, as a CSV download."""
    form = _filter_form()
    if not form.validate():
        return render_template("admin/audit.html", form=form, page=None, query={}), 400
    name = f"audit-{clock.now():%Y%m%d-%H%M%S}.csv"
    return Response(
        stream_with_context(audit_log.csv_lines(form.filters())),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
