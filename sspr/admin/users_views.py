"""The console's Users section: the list, one user's page and what can be done there.
The bulk actions (many users at once) are in bulk_views."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm

from sspr import clock, policy, sessions, users
from sspr.admin import accounts, queries, resets
from sspr.admin.access import may_manage
from sspr.admin.forms import ROLE_LABELS, AccountActionForm, ContactsForm, ResetForm, RoleForm
from sspr.extensions import db
from sspr.i18n import gettext as _
from sspr.models import MAX_ID, User


def users_list() -> ResponseReturnValue:
    """Searchable and paged; ?filter= takes the dashboard's list names, so its tiles link here."""
    actor = sessions.signed_in_user()
    list_name = request.args.get("filter", "")
    if list_name and list_name not in queries.FILTERS:
        abort(400)
    pol, now = policy.current(), clock.now()
    text = request.args.get("q", "")
    page = queries.search(pol, now, text=text, list_name=list_name, page=request.args.get("page", 1, type=int))
    return render_template(
        "admin/users.html",
        page=page,
        q=text,
        list_name=list_name,
        filters=queries.FILTERS,
        roles=ROLE_LABELS,
        flags=lambda user: queries.flags(user, pol, now),
        manageable=lambda user: may_manage(actor, user),
    )


def _target(user_id: int) -> User:
    """The user acted on: 404 when there is none, 403 when this admin may not manage them."""
    user = db.session.get(User, user_id) if user_id <= MAX_ID else None
    if user is None:
        abort(404)
    if not may_manage(sessions.signed_in_user(), user):
        abort(403)
    return user


def _user_page(
    user: User, status: int = 200, errors: list[str] | None = None, **forms: FlaskForm
) -> ResponseReturnValue:
    """The user's page with its forms; a form passed in (posted, with its errors) replaces the blank one."""
    pol, now = policy.current(), clock.now()
    context: dict[str, Any] = {
        "reset_form": ResetForm(formdata=None),
        "contacts_form": ContactsForm(formdata=None, obj=user),
        "role_form": RoleForm(formdata=None, role=user.role),
    }
    context.update(forms)
    return render_template(
        "admin/user.html",
        user=user,
        flags=queries.flags(user, pol, now),
        expires_at=users.password_expires_at(user, pol),
        locked=user.locked_until is not None and user.locked_until > now,
        roles=ROLE_LABELS,
        errors=errors or [],
        **context,
    ), status


def _refusal(form: FlaskForm, refused: resets.ResetRefused | accounts.ChangeRefused) -> None:
    """Show why by the field at fault, or above the form."""
    if refused.field:
        form[refused.field].errors = [*form[refused.field].errors, str(refused)]
    else:
        form.form_errors.append(str(refused))


def user_page(user_id: int) -> ResponseReturnValue:
    return _user_page(_target(user_id))


def reset_password(user_id: int) -> ResponseReturnValue:
    """Reset one user: the password is shown once on the page this POST returns (nothing keeps it)."""
    target = _target(user_id)
    form = ResetForm()
    if not form.validate_on_submit():
        return _user_page(target, 400, reset_form=form)
    try:
        outcome = resets.reset_one(
            sessions.signed_in_user(),
            target,
            password=form.typed(),
            confirm=form.confirm.data,
            require_change=form.require_change.data,
            send_link=form.delivery.data == "link",
            link_to=form.link_to.data,
        )
    except resets.ResetRefused as refused:
        db.session.rollback()
        _refusal(form, refused)
        return _user_page(target, 400, reset_form=form)
    except resets.ResetFailed:
        return _user_page(target, 500, errors=[_("The reset failed and nothing was changed. Try again.")])
    return render_template("admin/reset_done.html", user=target, outcome=outcome, link_hours=resets.LINK_HOURS)


def edit_contacts(user_id: int) -> ResponseReturnValue:
    target = _target(user_id)
    form = ContactsForm()
    if not form.validate_on_submit():
        return _user_page(target, 400, contacts_form=form)
    try:
        changed = accounts.update_contacts(
            sessions.signed_in_user(),
            target,
            display_name=form.display_name.data or "",
            alternate_email=form.alternate_email.data or "",
            phone=form.phone.data or "",
        )
    except accounts.ChangeRefused as refused:
        db.session.rollback()
        _refusal(form, refused)
        return _user_page(target, 400, contacts_form=form)
    db.session.commit()
    flash(_("The contact details are saved.") if changed else _("Nothing was changed."))
    return redirect(url_for("admin.user", user_id=target.id))


def change_role(user_id: int) -> ResponseReturnValue:
    """Global admins only (the routing table says so)."""
    target = _target(user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        return _user_page(target, 400, role_form=form)
    try:
        changed = accounts.set_role(sessions.signed_in_user(), target, form.role.data)
    except accounts.ChangeRefused as refused:
        db.session.rollback()
        _refusal(form, refused)
        return _user_page(target, 400, role_form=form)
    db.session.commit()
    flash(_("The role is changed.") if changed else _("Nothing was changed."))
    return redirect(url_for("admin.user", user_id=target.id))


def account_action(user_id: int) -> ResponseReturnValue:
    """Unlock, block, unblock, force a change, set or clear "never expires"."""
    target = _target(user_id)
    form = AccountActionForm()
    if not form.validate_on_submit():
        return _user_page(target, 400, errors=[_("The form was not complete. Try again.")])
    try:
        message = accounts.apply(sessions.signed_in_user(), target, form.action.data)
    except accounts.ChangeRefused as refused:
        db.session.rollback()
        return _user_page(target, 400, errors=[str(refused)])
    db.session.commit()
    flash(message)
    return redirect(url_for("admin.user", user_id=target.id))
