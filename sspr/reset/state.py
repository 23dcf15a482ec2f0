"""The wizard's plumbing: the pages it shows, and the flow behind a posted page.

Each page carries a signed, expiring token naming the flow, the step and the
flow's version.  Loading checks all three and the browser session the flow is
bound to; moving on bumps the version (an optimistic lock), so each token
works once and of two concurrent posts of one page only one can succeed.

The first method page comes before any flow: posting a name leaves a start in
the browser session (that page's token, the name and the locale), and choosing
a method makes the flow.  So posting a name looks nothing up and writes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, ParamSpec

from flask import current_app
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from sspr import clock, policy, tokens, users
from sspr.errors import FlowError, FlowExpired, FlowReplayed, FlowTampered
from sspr.extensions import db
from sspr.models import ResetFlow

# The pages of the wizard, in order.
METHOD, DESTINATION, CODE, PASSWORD, DONE = "method", "destination", "code", "password", "done"
DEAD = "dead"
# The last page when a locked-out user unlocked the account instead of setting a password.
UNLOCKED = "unlocked"
METHODS = policy.METHODS


@dataclass
class Page:
    """What the view renders next."""

    step: str
    token: str = ""
    methods: tuple[str, ...] = ()
    method: str | None = None
    round: int = 1
    rounds: int = 1
    minutes: int = 0
    errors: list[str] = field(default_factory=list)
    notice: str | None = None
    # The password page also offers "unlock my account and keep my password".
    unlock: bool = False
    # The password page's user name: a password manager files the new password under it,
    # and the live check refuses passwords that contain it.
    username: str = ""

    @property
    def status(self) -> int:
        return 400 if self.errors else 200


Step = Callable[[], Page]


class WrongInput(Exception):
    """The posted values are refused; the page to show again (with its errors)."""

    def __init__(self, page: Page) -> None:
        super().__init__(page.step)
        self.page = page


P = ParamSpec("P")


def one_step(function: Callable[P, Page]) -> Callable[P, Page]:
    """Run a step as one transaction.  When a concurrent request moved the flow
    first, any flush fails on the flow's version: nothing of this one lands."""

    @wraps(function)
    def step(*args: P.args, **kwargs: P.kwargs) -> Page:
        try:
            return function(*args, **kwargs)
        except StaleDataError as exc:
            db.session.rollback()
            raise FlowReplayed("another request advanced this flow first") from exc

    return step


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_binding() -> str:
    """A nonce for the browser session that a flow is bound to."""
    return secrets.token_urlsafe(24)


# -- loading and advancing ------------------------------------------------------------------------------


def read(token: str, step: str) -> dict[str, Any]:
    """The payload of a genuine, fresh token for this step."""
    try:
        payload = tokens.load(tokens.RESET_STEP, token, current_app.config["FLOW_STEP_SECONDS"])
    except tokens.TokenExpired as exc:
        raise FlowExpired("step token expired") from exc
    except tokens.TokenInvalid as exc:
        raise FlowTampered("step token invalid") from exc
    if payload.get("s") != step or not isinstance(payload.get("f"), str) or not isinstance(payload.get("n"), str):
        raise FlowTampered(f"token for step {payload.get('s')!r} posted to {step!r}")
    return payload


def new_start(username: str, locale: str | None) -> dict[str, str | None]:
    """What posting a name leaves in the browser session: the first method page's
    token (random values and the step, like every step token, naming the flow
    that choosing a method will make) and the name and locale to make it for."""
    payload = {"f": secrets.token_hex(16), "s": METHOD, "n": secrets.token_hex(16)}
    return {"token": tokens.dump(tokens.RESET_STEP, payload), "username": username, "locale": locale}


def session_start(started: object) -> dict[str, Any] | None:
    """The start a browser session keeps, if it has the shape ``new_start`` gives."""
    if (
        isinstance(started, dict)
        and isinstance(started.get("token"), str)
        and isinstance(started.get("username"), str)
        and isinstance(started.get("locale"), str | None)
    ):
        return started
    return None


def kept_start(token: str, started: object) -> dict[str, Any] | None:
    """The start this browser session keeps, if ``token`` is its token."""
    start = session_start(started)
    if start is not None and hmac.compare_digest(start["token"].encode(), token.encode()):
        return start
    return None


def first_page(started: dict[str, Any], errors: list[str] | None = None) -> Page:
    """The method page that follows a posted name, while its start is fresh."""
    read(started["token"], METHOD)
    pol = policy.current()
    return Page(
        METHOD,
        started["token"],
        methods=pol.methods,
        rounds=rounds(pol),
        minutes=pol.code_lifetime_minutes,
        errors=errors or [],
    )


def load(token: str, binding: str | None, step: str) -> ResetFlow:
    """The flow behind a posted page, if the token is genuine, fresh, for this step,
    from the browser the flow is bound to, and not used before."""
    return loaded(read(token, step), binding, step)


def loaded(payload: dict[str, Any], binding: str | None, step: str) -> ResetFlow:
    """The flow a genuine token's payload names, checked as ``load`` says."""
    # The user comes with the flow: a lazy load later would flush mid-step.
    flow = db.session.get(ResetFlow, payload["f"], options=[joinedload(ResetFlow.user)])
    if flow is None or binding is None or not hmac.compare_digest(flow.binding, digest(binding)):
        raise FlowTampered("flow unknown or bound to another browser session")
    if flow.step == DEAD:
        raise FlowError("flow is dead")
    if flow.completed_at is not None:
        # Like any used token: of two posts of the last page, the one that finds the
        # flow finished already gets the same answer as one that lost the race.
        raise FlowReplayed("flow already completed")
    if not hmac.compare_digest(flow.step_nonce, payload["n"]) or flow.step != step:
        raise FlowReplayed(f"token for an earlier page of the flow (now at {flow.step})")
    return flow


def commit_step(flow: ResetFlow, step: str) -> str:
    """Move the flow to ``step`` and commit; the new page's token.  A concurrent
    post that got there first makes this one fail (the version is an optimistic
    lock).  The token names the page by a fresh random nonce, not by the version:
    the version counts flushes, which could differ between real and decoy flows,
    and a token's payload is readable."""
    flow.step = step
    flow.step_nonce = secrets.token_hex(16)
    # Read before the commit, which expires the flow: after it, reading costs a query.
    payload = {"f": flow.id, "s": step, "n": flow.step_nonce}
    db.session.commit()
    return tokens.dump(tokens.RESET_STEP, payload)


def rounds(pol: policy.Policy) -> int:
    """The checks the policy asks of everyone: what the pages may show in advance."""
    return pol.required_for(len(pol.methods))


def required(pol: policy.Policy, flow: ResetFlow) -> int:
    """The checks this flow needs: admins always pass two gates.  Only someone
    who already passed the first can see the difference, so it reveals nothing."""
    if flow.user is not None and flow.user.is_admin:
        return 2
    return rounds(pol)


def page_for(
    flow: ResetFlow, pol: policy.Policy, token: str, errors: list[str] | None = None, notice: str | None = None
) -> Page:
    """The page of the step the flow is at."""
    done = flow.verified()
    page = Page(
        flow.step,
        token,
        method=flow.current_method,
        round=len(done) + 1,
        rounds=rounds(pol),
        minutes=pol.code_lifetime_minutes,
        errors=errors or [],
        notice=notice,
    )
    if flow.step == METHOD:
        page.methods = tuple(m for m in pol.methods if m not in done)
    elif flow.step == PASSWORD and flow.user is not None:
        # Only verified flows get here (decoys never do), so the offer and the name
        # tell nobody anything about an account they have not proved is theirs.
        page.unlock = users.may_unlock(flow.user, pol, clock.now())
        page.username = flow.user.username
    return page


def next_page(flow: ResetFlow, step: str, errors: list[str] | None = None, notice: str | None = None) -> Page:
    """Commit the move to ``step``; its page, with a fresh token.  The page is made
    before the commit, from the flow as this step leaves it (no query to read it again)."""
    flow.step = step
    page = page_for(flow, policy.current(), "", errors, notice)
    page.token = commit_step(flow, step)
    return page


def reshow(token: str, binding: str | None, step: str, errors: list[str], started: object = None) -> Page:
    """The same page again with errors in its form; the token is checked but not used up."""
    start = kept_start(token, started) if step == METHOD else None
    if start is not None:
        return first_page(start, errors)
    flow = load(token, binding, step)
    page = page_for(flow, policy.current(), token, errors)
    db.session.rollback()
    return page
