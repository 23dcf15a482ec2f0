"""Sign-in, sign-out, the forced password change and the first-admin setup page."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale

from sspr import audit, clock, passwords, policy, ratelimits, sessions, setup, users
from sspr.auth import not_me as report
from sspr.auth import service
from sspr.auth.forms import ChangePasswordForm, LoginForm, LogoutForm, ReportForm, SetupForm
from sspr.extensions import db
from sspr.i18n import gettext as _

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str | None:
    """Only a local path may be a redirect target: never another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


def login_required(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
    """Signed in, and not owing a forced password change."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        user = sessions.current_user()
        if user is None:
            return redirect(url_for("auth.login", next=request.path))
        if users.must_change(user, policy.current(), clock.now()):
            return redirect(url_for("auth.change_password"))
        return view(*args, **kwargs)

    return wrapped


@bp.route("/login", methods=["GET", "POST"])
@ratelimits.posts("RATELIMIT_SIGNIN")
@ratelimits.posts_per_account("RATELIMIT_SIGNIN_PER_ACCOUNT")
def login() -> ResponseReturnValue:
    form = LoginForm(next=request.args.get("next", ""))
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), 400 if form.is_submitted() else 200
    try:
        user = service.attempt(form.username.data, form.password.data, clock.now())
    except service.SignInRefused as refused:
        db.session.commit()
        form.password.errors = [str(refused)]
        return render_template("auth/login.html", form=form), 400
    sessions.sign_in(user)
    user.locale = str(get_locale())
    audit.record("login.succeeded", actor=user, subject=user)
    db.session.commit()
    endpoint, notices = service.landing(user, clock.now())
    for notice in notices:
        flash(notice)
    if endpoint == "account.index":
        return redirect(safe_next(form.next.data) or url_for(endpoint))
    return redirect(url_for(endpoint))


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    LogoutForm().validate_on_submit()
    sessions.sign_out()
    flash(_("You are signed out."))
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@ratelimits.posts("RATELIMIT_SIGNIN")
def change_password() -> ResponseReturnValue:
    """Where a user who must change the password (new or reset by an admin) lands."""
    user = sessions.current_user()
    if user is None:
        return redirect(url_for("auth.login", next=request.path))
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return render_template(
            "auth/change_password.html", form=form, user=user, advice=passwords.advice()
        ), 400 if form.is_submitted() else 200
    problems = users.change_password(user, form.password.data, form.confirm.data, current=form.current.data)
    if problems:
        form.password.errors = problems
        db.session.rollback()
        return render_template("auth/change_password.html", form=form, user=user, advice=passwords.advice()), 400
    audit.record("password.changed", actor=user, subject=user)
    sessions.refresh(user)
    db.session.commit()
    flash(_("Your password is changed."))
    return redirect(url_for("account.index"))


@bp.route("/setup/<token>", methods=["GET", "POST"])
@ratelimits.posts("RATELIMIT_SIGNIN")
def first_admin(token: str) -> ResponseReturnValue:
    """The one-time page, linked from the console at first start, that makes the first global admin."""
    setup.check_link(token)
    form = SetupForm()
    if not form.validate_on_submit():
        return render_template(
            "auth/setup.html", form=form, advice=passwords.advice()
        ), 400 if form.is_submitted() else 200
    result = setup.create_first_admin(
        token, form.username.data, form.display_name.data or "", form.password.data, form.confirm.data
    )
    if isinstance(result, list):
        form.password.errors = result
        return render_template("auth/setup.html", form=form, advice=passwords.advice()), 400
    sessions.sign_in(result)
    db.session.commit()
    return redirect(url_for("account.index"))


@bp.route("/not-me/<token>", methods=["GET", "POST"])
@ratelimits.posts("RATELIMIT_SIGNIN")
def not_me(token: str) -> ResponseReturnValue:
    """ "This wasn't me": the GET only asks (mail scanners open links); the POST locks the account."""
    user = report.user_for(token)
    form = ReportForm()
    if not form.validate_on_submit():
        return render_template("auth/not_me.html", form=form, user=user, done=False)
    sessions.sign_out()
    return render_template("auth/not_me.html", form=form, user=report.report(token), done=True)
