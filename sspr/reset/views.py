"""The wizard's routes: parse the form, call the flow, render the next page."""

from __future__ import annotations

from itertools import chain

from flask import Blueprint, Response, redirect, render_template, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_wtf import FlaskForm

from sspr import passwords, policy, ratelimits
from sspr.errors import LinkInvalid
from sspr.reset import flow, state
from sspr.reset.forms import (
    CodeForm,
    DestinationForm,
    LinkForm,
    MethodForm,
    PasswordForm,
    ResendForm,
    UnlockForm,
    UsernameForm,
)

bp = Blueprint("reset", __name__, url_prefix="/password-reset")


@bp.after_request
def private_pages(response: Response) -> Response:
    """Wizard pages carry tokens: never cached, never sent on as a Referer."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _binding() -> str | None:
    value = session.get("reset_binding")
    return value if isinstance(value, str) else None


def _started() -> object:
    """The start the first step left in the session (checked where it is used)."""
    return session.get("reset_start")


def _errors(form: FlaskForm) -> list[str]:
    return [str(e) for e in chain.from_iterable(form.errors.values())]


def _show(page: state.Page) -> ResponseReturnValue:
    """Render the page a step led to, with its forms holding the fresh token."""
    context: dict[str, object] = {"page": page}
    if page.step == state.METHOD:
        context["form"] = MethodForm(formdata=None, token=page.token).offer(page.methods)
    elif page.step == state.DESTINATION:
        context["form"] = DestinationForm(formdata=None, token=page.token)
    elif page.step == state.CODE:
        context["form"] = form = CodeForm(formdata=None, token=page.token)
        form.code.errors = page.errors
        context["resend_form"] = ResendForm(formdata=None, token=page.token)
    elif page.step == state.PASSWORD:
        context["form"] = form = PasswordForm(formdata=None, token=page.token)
        form.password.errors = page.errors
        if page.unlock:
            context["unlock_form"] = UnlockForm(formdata=None, token=page.token)
    return _render(page.step, page.status, **context)


def _render(step: str, status: int = 200, **context: object) -> ResponseReturnValue:
    """A wizard page, with where it stands among the steps the policy makes."""
    steps = ["username", state.METHOD, state.DESTINATION, state.CODE, state.PASSWORD]
    pol = policy.current()
    if not pol.confirm_destination:
        steps.remove(state.DESTINATION)
    number = steps.index(step) + 1 if step in steps else len(steps)
    if step == state.PASSWORD:
        context["advice"] = passwords.advice()
    return render_template(f"reset/{step}.html", steps=steps, step_number=number, policy=pol, **context), status


def _run(step: str, form: FlaskForm, action: state.Step) -> ResponseReturnValue:
    """Validate the posted form, run the step; refused input shows the page again (400)."""
    if not form.validate():
        return _show(state.reshow(form.token.data or "", _binding(), step, _errors(form), _started()))
    try:
        return _show(action())
    except state.WrongInput as refused:
        return _show(refused.page)


@bp.get("")
def username() -> ResponseReturnValue:
    return _render("username", form=UsernameForm())


@bp.post("")
@ratelimits.posts("RATELIMIT_WIZARD")
@ratelimits.posts_per_account("RATELIMIT_WIZARD_PER_ACCOUNT")
def start() -> ResponseReturnValue:
    """The name is kept in the session and the browser sent on to the method page
    (post, redirect, get: reloading that page does not post the name again)."""
    form = UsernameForm()
    if not form.validate():
        return _render("username", 400, form=form)
    session["reset_binding"] = state.new_binding()
    session["reset_start"] = flow.start(form.username.data, str(get_locale()))
    return redirect(url_for("reset.methods"), 303)


@bp.get("/method")
def methods() -> ResponseReturnValue:
    """The first method page, for the name just posted; without one, the first step."""
    start = state.session_start(_started())
    if start is None:
        return redirect(url_for("reset.username"), 303)
    return _show(state.first_page(start))


@bp.post("/method")
@ratelimits.posts("RATELIMIT_WIZARD")
def method() -> ResponseReturnValue:
    form = MethodForm()
    form.method.choices = [(m, m) for m in policy.METHODS]
    started = _started()

    def choose() -> state.Page:
        page = flow.choose_method(form.token.data, _binding(), form.method.data, started)
        if state.kept_start(form.token.data, started):
            # Used up: the flow exists now, and the first method page is gone.
            session.pop("reset_start")
        return page

    return _run(state.METHOD, form, choose)


@bp.post("/destination")
@ratelimits.posts("RATELIMIT_WIZARD")
def destination() -> ResponseReturnValue:
    form = DestinationForm()
    return _run(
        state.DESTINATION, form, lambda: flow.confirm_destination(form.token.data, _binding(), form.destination.data)
    )


@bp.post("/code")
@ratelimits.posts("RATELIMIT_WIZARD")
def code() -> ResponseReturnValue:
    form = CodeForm()
    return _run(state.CODE, form, lambda: flow.enter_code(form.token.data, _binding(), form.code.data))


@bp.post("/resend")
@ratelimits.posts("RATELIMIT_WIZARD")
def resend() -> ResponseReturnValue:
    form = ResendForm()
    return _run(state.CODE, form, lambda: flow.resend(form.token.data, _binding()))


@bp.post("/password")
@ratelimits.posts("RATELIMIT_WIZARD")
def password() -> ResponseReturnValue:
    form = PasswordForm()
    return _run(
        state.PASSWORD,
        form,
        lambda: flow.set_password(form.token.data, _binding(), form.password.data, form.confirm.data),
    )


@bp.post("/unlock")
@ratelimits.posts("RATELIMIT_WIZARD")
def unlock() -> ResponseReturnValue:
    form = UnlockForm()
    return _run(state.PASSWORD, form, lambda: flow.unlock(form.token.data, _binding()))


@bp.get("/link/<link_token>")
def link(link_token: str) -> ResponseReturnValue:
    """Opening the mail's link only shows a button: scanners that GET it use nothing up."""
    flow.check_link(link_token)
    return render_template("reset/link.html", form=LinkForm(formdata=None, link=link_token))


@bp.post("/link")
@ratelimits.posts("RATELIMIT_WIZARD")
def use_link() -> ResponseReturnValue:
    form = LinkForm()
    if not form.validate():
        raise LinkInvalid("link form incomplete")
    if _binding() is None:
        session["reset_binding"] = state.new_binding()
    return _show(flow.use_link(form.link.data, session["reset_binding"]))
