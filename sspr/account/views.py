"""/account: the signed-in user's details, contact changes and password change."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, session, url_for
from flask.typing import ResponseReturnValue

from sspr import audit, clock, notifications, passwords, ratelimits, sessions, users
from sspr.account import service
from sspr.account.forms import ConfirmForm, EmailForm, PhoneForm
from sspr.auth.forms import ChangePasswordForm
from sspr.auth.views import login_required
from sspr.extensions import db
from sspr.forms import ActionForm
from sspr.i18n import gettext as _
from sspr.models import Challenge

bp = Blueprint("account", __name__, url_prefix="/account")


def _page(status: int = 200, **forms: object) -> ResponseReturnValue:
    user = sessions.signed_in_user()
    pending = db.session.get(Challenge, session.get("contact_challenge") or 0)
    if pending is not None and (pending.user_id != user.id or pending.used_at or pending.voided_at):
        pending = None
    context: dict[str, object] = {
        "email_form": EmailForm(formdata=None),
        "phone_form": PhoneForm(formdata=None),
        "confirm_form": ConfirmForm(formdata=None),
        "password_form": ChangePasswordForm(formdata=None),
    }
    context.update(forms)
    return render_template(
        "account/index.html", user=user, pending=pending, advice=passwords.advice(), **context
    ), status


@bp.get("")
@login_required
def index() -> ResponseReturnValue:
    return _page()


def _request_change(channel: str, form: EmailForm | PhoneForm, typed: str) -> ResponseReturnValue:
    field_name = "email_form" if channel == "email" else "phone_form"
    if not form.validate_on_submit():
        return _page(400, **{field_name: form})
    try:
        challenge = service.request_change(sessions.signed_in_user(), channel, typed, form.password.data)
    except service.ContactRefused as refused:
        db.session.rollback()
        value_field = form.email if isinstance(form, EmailForm) else form.phone
        (form.password if refused.about_password else value_field).errors = [str(refused)]
        return _page(400, **{field_name: form})
    db.session.commit()
    session["contact_challenge"] = challenge.id
    flash(_("We sent a code. Type it below to confirm the change."))
    return redirect(url_for("account.index"))


@bp.post("/email")
@ratelimits.posts("RATELIMIT_ACCOUNT")
@ratelimits.posts_per_user("RATELIMIT_ACCOUNT_PER_USER")
@login_required
def change_email() -> ResponseReturnValue:
    form = EmailForm()
    return _request_change("email", form, form.email.data or "")


@bp.post("/phone")
@ratelimits.posts("RATELIMIT_ACCOUNT")
@ratelimits.posts_per_user("RATELIMIT_ACCOUNT_PER_USER")
@login_required
def change_phone() -> ResponseReturnValue:
    form = PhoneForm()
    return _request_change("sms", form, form.phone.data or "")


@bp.post("/confirm")
@ratelimits.posts("RATELIMIT_ACCOUNT")
@ratelimits.posts_per_user("RATELIMIT_ACCOUNT_PER_USER")
@login_required
def confirm() -> ResponseReturnValue:
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _page(400, confirm_form=form)
    try:
        service.confirm_change(sessions.signed_in_user(), session.get("contact_challenge") or 0, form.code.data)
    except service.ContactRefused as refused:
        form.code.errors = [str(refused)]
        return _page(400, confirm_form=form)
    db.session.commit()
    session.pop("contact_challenge", None)
    flash(_("Your contact details are updated."))
    return redirect(url_for("account.index"))


@bp.post("/password")
@ratelimits.posts("RATELIMIT_ACCOUNT")
@ratelimits.posts_per_user("RATELIMIT_ACCOUNT_PER_USER")
@login_required
def change_password() -> ResponseReturnValue:
    form = ChangePasswordForm()
    user = sessions.signed_in_user()
    if not form.validate_on_submit():
        return _page(400, password_form=form)
    problems = users.change_password(user, form.password.data, form.confirm.data, current=form.current.data)
    if problems:
        db.session.rollback()
        form.password.errors = problems
        return _page(400, password_form=form)
    audit.record("password.changed", actor=user, subject=user)
    notifications.password_changed(user, "account")
    sessions.refresh(user)
    db.session.commit()
    flash(_("Your password is changed. You were signed out everywhere else."))
    return redirect(url_for("account.index"))


@bp.post("/sign-out-everywhere")
@ratelimits.posts("RATELIMIT_ACCOUNT")
@ratelimits.posts_per_user("RATELIMIT_ACCOUNT_PER_USER")
@login_required
def sign_out_everywhere() -> ResponseReturnValue:
    """End every session of the user, this one too (a lost phone, a shared computer)."""
    if ActionForm().validate_on_submit():
        user = sessions.signed_in_user()
        audit.record("account.signed_out_everywhere", actor=user, subject=user)
        sessions.sign_out_everywhere(user)
        db.session.commit()
        flash(_("You are signed out on every device, this one too."))
        return redirect(url_for("auth.login"))
    return redirect(url_for("account.index"))


@bp.post("/details-still-right")
@ratelimits.posts("RATELIMIT_ACCOUNT")
@ratelimits.posts_per_user("RATELIMIT_ACCOUNT_PER_USER")
@login_required
def details_still_right() -> ResponseReturnValue:
    """The user confirms the contact details shown are current (the policy may ask every N days)."""
    if ActionForm().validate_on_submit():
        user = sessions.signed_in_user()
        user.contacts_confirmed_at = clock.now()
        audit.record("account.details_confirmed", actor=user, subject=user)
        db.session.commit()
        flash(_("Thank you. Your contact details are confirmed."))
    return redirect(url_for("account.index"))
