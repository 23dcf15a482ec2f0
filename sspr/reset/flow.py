"""The reset wizard's steps, free of request objects.

The first step only makes a start for the browser session to keep.  Every
later step takes the token of the page that was posted and returns the next
page to show (with a fresh token); sspr.reset.state loads and moves the flow.

No enumeration: the first step looks no name up; from the method on, an
unknown user name, or a user without the chosen method, walks the same steps
on a decoy flow (no user) that never verifies.  Every page says the same for
both.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from sspr import audit, clock, contacts, message_limits, notifications, policy, tokens, users
from sspr.errors import FlowReplayed, FlowTampered, LinkExpired, LinkInvalid, LinkUsed, TooManyWrongCodes
from sspr.extensions import db
from sspr.i18n import gettext as _
from sspr.i18n import ngettext
from sspr.models import Challenge, ResetFlow
from sspr.reset import state
from sspr.reset.state import (
    CODE,
    DEAD,
    DESTINATION,
    DONE,
    METHOD,
    PASSWORD,
    UNLOCKED,
    Page,
    WrongInput,
    commit_step,
    digest,
    load,
    next_page,
    one_step,
    required,
)
from sspr.verification import codes

LINK_MAX_AGE = 3600  # the longest code lifetime the policy allows; the challenge's own expiry is checked too


def _subject_key(username: str) -> str:
    """Keyed digest of the typed name: limits count per name, known or not."""
    return hmac.new(tokens.subkey("sspr.subject"), contacts.username_key(username).encode(), hashlib.sha256).hexdigest()


# -- the steps --------------------------------------------------------------------------------------------


def start(username: str, locale: str | None) -> dict[str, str | None]:
    """Step 1: a user name.  Nothing is looked up or written: every name gets the
    same answer in the same time, and a flood of names fills no table.  Returns
    the start for the browser session to keep until a method is chosen."""
    return state.new_start(username, locale)


@one_step
def choose_method(token: str, binding: str | None, method: str, started: object) -> Page:
    """Step 2: the method.  Only methods the policy offers and not yet used count.
    On the first method page this makes the flow, for the name the session's
    start holds: known or not, in scope or not; a blocked user, or one the
    policy leaves out of self-service, walks the decoy path."""
    payload = state.read(token, METHOD)
    start = state.kept_start(token, started)
    flow = _begin(payload, start, binding) if start else state.loaded(payload, binding, METHOD)
    pol = policy.current()
    if method not in pol.methods or method in flow.verified():
        db.session.rollback()
        raise FlowTampered(f"method {method!r} not offered")
    flow.current_method = method
    if pol.confirm_destination:
        return next_page(flow, DESTINATION)
    notice = _send_code(flow, pol, _destination(flow, pol, method))
    return next_page(flow, CODE, notice=notice)


def _begin(payload: dict[str, Any], start: dict[str, Any], binding: str | None) -> ResetFlow:
    """The flow a start names, bound to this browser session.  A start works once:
    of two posts of it, the second finds the flow's id taken."""
    if binding is None:
        raise FlowTampered("start without a browser-session binding")
    flow = ResetFlow(
        id=payload["f"],
        # The user is read with the flow (a lazy load later would be a query for known names only).
        user=users.self_service_user(start["username"], policy.current()),
        subject_key=_subject_key(start["username"]),
        binding=digest(binding),
        step=METHOD,
        step_nonce=payload["n"],
        methods_verified="",
        locale=start.get("locale"),
    )
    db.session.add(flow)
    try:
        db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        raise FlowReplayed("start already used") from exc
    return flow


@one_step
def confirm_destination(token: str, binding: str | None, typed: str) -> Page:
    """Step 3 (when the policy asks): the full address or number.  A code goes
    out only when it matches what is stored; the page is the same either way."""
    flow = load(token, binding, DESTINATION)
    pol = policy.current()
    method = flow.current_method or ""
    stored = _destination(flow, pol, method)
    notice = _send_code(flow, pol, stored if stored and _same_destination(method, typed, stored) else None)
    return next_page(flow, CODE, notice=notice)


def _destination(flow: ResetFlow, pol: policy.Policy, method: str) -> str | None:
    """Where this flow's code may go: what is stored for the account, if anything,
    and for SMS only numbers of the regions the policy allows (no SMS pumping)."""
    stored = flow.user.destination(method) if flow.user else None
    if (
        stored
        and method == "sms"
        and not contacts.sms_allowed(stored, pol.sms_regions(current_app.config["PHONE_REGION"]))
    ):
        return None
    return stored


def _same_destination(method: str, typed: str, stored: str) -> bool:
    if method == "email":
        return contacts.same_email(typed, stored)
    try:
        return contacts.normalise_phone(typed, current_app.config["PHONE_REGION"]) == stored
    except contacts.InvalidContact:
        return False


@one_step
def resend(token: str, binding: str | None) -> Page:
    """A new code replaces the old one; the count of wrong tries stays."""
    flow = load(token, binding, CODE)
    pol = policy.current()
    notice = _send_code(flow, pol, _destination(flow, pol, flow.current_method or ""))
    return next_page(flow, CODE, notice=notice or "resent")


def _send_code(flow: ResetFlow, pol: policy.Policy, destination: str | None) -> str | None:
    """Stage a challenge and, when there is a real destination, the message
    carrying it.  A decoy does all the same work (the challenge, the digests,
    the rendered message, the audit row) and only skips queueing, so the two
    paths take the same time.  A code the message limits hold back (its
    destination had its fill this hour, or the SMS ceiling is reached) goes the
    decoy's way.  Returns the code page's notice: "limited" when this name had
    its fill of codes for the hour."""
    now = clock.now()
    recent = db.session.scalar(
        select(func.count())
        .select_from(Challenge)
        .where(Challenge.subject_key == flow.subject_key, Challenge.created_at > now - timedelta(hours=1))
    )
    if recent >= current_app.config["CODES_PER_USER_PER_HOUR"]:
        audit.record("reset.code_limited", subject=flow.user, method=flow.current_method)
        return "limited"
    channel = flow.current_method or ""
    destination_key = _cleared(flow, channel, destination, now)
    if destination_key is None:
        destination = None
    db.session.execute(
        update(Challenge)
        .where(Challenge.flow_id == flow.id, Challenge.used_at.is_(None), Challenge.voided_at.is_(None))
        .values(voided_at=now)
    )
    challenge = Challenge(
        purpose="reset",
        flow_id=flow.id,
        user_id=flow.user_id if destination else None,
        subject_key=flow.subject_key,
        channel=channel,
        destination_key=destination_key,
        code_digest="",
        expires_at=now + timedelta(minutes=pol.code_lifetime_minutes),
    )
    db.session.add(challenge)
    db.session.flush()
    code, link_secret = codes.generate(current_app.config["CODE_DIGITS"]), codes.new_link_secret()
    key = tokens.subkey("sspr.codes")
    challenge.code_digest = codes.digest(key, f"c{challenge.id}", code)
    challenge.link_digest = codes.digest(key, f"l{challenge.id}", link_secret)
    link = None
    if channel == "email":
        link_token = tokens.dump(tokens.RESET_LINK, {"c": challenge.id, "k": link_secret})
        link = f"{current_app.config['BASE_URL']}/password-reset/link/{link_token}"
    message = notifications.verification_code(
        channel, destination or "", code, minutes=pol.code_lifetime_minutes, locale=flow.locale, link=link
    )
    if destination is not None:
        notifications.queue(message, not_after=challenge.expires_at)
    audit.record(
        "reset.code_requested", subject=flow.user if destination else None, method=channel, sent=destination is not None
    )
    return None


def _cleared(flow: ResetFlow, channel: str, destination: str | None, now: datetime) -> str | None:
    """The destination's key when its code may go out; None for a decoy, or when the
    message limits hold the code back (audited).  A held-back code shows the page a
    sent one shows (another page would tell that this name has that address), and a
    decoy runs the same queries."""
    key = message_limits.destination_key(channel, destination or "")
    refused = message_limits.refusal(channel, key, now)
    if destination is None:
        return None
    if refused == message_limits.DESTINATION:
        audit.record("reset.destination_limited", subject=flow.user, method=channel)
    elif refused == message_limits.SMS_CEILING:
        message_limits.ceiling_reached(flow.user, now)
    return key if refused is None else None


def _live_challenge(flow: ResetFlow) -> Challenge | None:
    return db.session.scalar(
        select(Challenge)
        .where(Challenge.flow_id == flow.id, Challenge.used_at.is_(None), Challenge.voided_at.is_(None))
        .order_by(Challenge.id.desc())
        .limit(1)
    )


@one_step
def enter_code(token: str, binding: str | None, typed: str) -> Page:
    """Step 4: the code.  Right: on to the next method or the new password.
    Wrong: counted, and after too many the flow is over."""
    flow = load(token, binding, CODE)
    pol = policy.current()
    challenge = _live_challenge(flow)
    now = clock.now()
    candidate = codes.clean_candidate(typed, current_app.config["CODE_DIGITS"])
    right = challenge is not None and codes.matches_any(
        tokens.subkeys("sspr.codes"), f"c{challenge.id}", challenge.code_digest, candidate
    )
    if challenge is not None and right and challenge.user_id is not None and now < challenge.expires_at:
        return _verified(flow, pol, challenge)
    if challenge is not None and right and now >= challenge.expires_at:
        raise WrongInput(next_page(flow, CODE, errors=[_("This code has expired. Ask for a new code below.")]))
    return _wrong_code(flow)


def _wrong_code(flow: ResetFlow) -> Page:
    flow.wrong_tries += 1
    audit.record("reset.code_wrong", subject=flow.user, tries=flow.wrong_tries)
    if flow.wrong_tries >= current_app.config["CODE_MAX_WRONG_TRIES"]:
        db.session.execute(
            update(Challenge)
            .where(Challenge.flow_id == flow.id, Challenge.used_at.is_(None))
            .values(voided_at=clock.now())
        )
        commit_step(flow, DEAD)
        raise TooManyWrongCodes(f"{flow.wrong_tries} wrong codes")
    left = current_app.config["CODE_MAX_WRONG_TRIES"] - flow.wrong_tries
    raise WrongInput(
        next_page(
            flow,
            CODE,
            errors=[
                ngettext(
                    "That code is not right. You can try %(num)d more time.",
                    "That code is not right. You can try %(num)d more times.",
                    left,
                )
            ],
        )
    )


def _verified(flow: ResetFlow, pol: policy.Policy, challenge: Challenge) -> Page:
    challenge.used_at = clock.now()
    flow.methods_verified = ",".join([*flow.verified(), challenge.channel])
    audit.record("reset.code_verified", subject=flow.user, method=challenge.channel)
    if len(flow.verified()) < required(pol, flow):
        return next_page(flow, METHOD)
    return next_page(flow, PASSWORD)


@one_step
def set_password(token: str, binding: str | None, new: str, confirm: str) -> Page:
    """Step 5: the new password, twice.  Everything lands in one transaction:
    the hash, ended sessions, the finished flow, the audit row and the notice."""
    flow = load(token, binding, PASSWORD)
    user = flow.user
    pol = policy.current()
    if user is None or len(flow.verified()) < required(pol, flow):
        raise FlowTampered("password step without verified methods")
    problems = users.change_password(user, new, confirm, current=None)
    if problems:
        raise WrongInput(next_page(flow, PASSWORD, errors=problems))
    user.locale = flow.locale or user.locale
    flow.completed_at = clock.now()
    audit.record("reset.completed", subject=user, methods=flow.methods_verified)
    if pol.notify_user_on_reset:
        notifications.password_changed(user, "self-service")
    if user.is_admin and pol.notify_admins_on_admin_reset:
        notifications.alert_admins(user, "self_reset")
    commit_step(flow, DONE)
    return Page(DONE)


@one_step
def unlock(token: str, binding: str | None) -> Page:
    """Step 5, the other way out: a verified user whose sign-in is locked after too
    many wrong passwords lifts the lock and keeps the password.  Refused unless the
    password page offered it (locked, and a password that need not change).  Like a
    reset it finishes the flow in one transaction, with an audit row and a notice
    carrying "this wasn't me"; sessions stay, since the password did not change."""
    flow = load(token, binding, PASSWORD)
    user = flow.user
    pol = policy.current()
    if user is None or len(flow.verified()) < required(pol, flow):
        raise FlowTampered("unlock without verified methods")
    if not users.may_unlock(user, pol, clock.now()):
        raise FlowTampered("unlock asked for an account that is not locked or must change its password")
    users.unlock(user)
    user.locale = flow.locale or user.locale
    flow.completed_at = clock.now()
    audit.record("reset.unlocked", subject=user, methods=flow.methods_verified)
    if pol.notify_user_on_reset:
        notifications.account_unlocked(user)
    commit_step(flow, DONE)
    return Page(UNLOCKED)


# -- the link in the mail -------------------------------------------------------------------------------


def _link_challenge(link_token: str) -> tuple[Challenge, ResetFlow, str]:
    try:
        payload = tokens.load(tokens.RESET_LINK, link_token, LINK_MAX_AGE)
    except tokens.TokenExpired as exc:
        raise LinkExpired("link token expired") from exc
    except tokens.TokenInvalid as exc:
        raise LinkInvalid("link token invalid") from exc
    challenge = db.session.get(Challenge, payload.get("c")) if isinstance(payload.get("c"), int) else None
    secret = payload.get("k")
    if (
        challenge is None
        or not isinstance(secret, str)
        or challenge.link_digest is None
        or not codes.matches_any(tokens.subkeys("sspr.codes"), f"l{challenge.id}", challenge.link_digest, secret)
    ):
        raise LinkInvalid("no challenge for this link")
    flow = db.session.get(ResetFlow, challenge.flow_id)
    if challenge.used_at is not None or flow is None or flow.completed_at is not None:
        raise LinkUsed(f"challenge {challenge.id} already used")
    if challenge.voided_at is not None or flow.step == DEAD or clock.now() >= challenge.expires_at:
        raise LinkExpired(f"challenge {challenge.id} expired or replaced")
    return challenge, flow, secret


def check_link(link_token: str) -> None:
    """Opening a link (a GET, as mail scanners do) only checks it; nothing is used up."""
    _link_challenge(link_token)


@one_step
def use_link(link_token: str, binding: str) -> Page:
    """The user's POST from the link page: counts as the right code, and the flow
    continues in this browser (whoever holds the mailbox holds the flow)."""
    challenge, flow, _secret = _link_challenge(link_token)
    if flow.step != CODE or flow.current_method != challenge.channel:
        raise LinkUsed("flow has moved past this code")
    flow.binding = digest(binding)
    return _verified(flow, policy.current(), challenge)
